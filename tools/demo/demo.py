#!/usr/bin/env python3
"""`make demo`: sample uploads through every function against the local AWS.

Starts the local AWS (moto), provisions what infra/template.yaml declares (tools/provision.py),
builds the functions and serves each under `cargo lambda watch`, then runs the story of
tools/demo/scenario.py (uploads, asynchronous video verdict, document text, subtitles, a
deletion, a 50 % cost alert, the daily digest), feeding every function the messages the local AWS
really produced. Where the local AWS lacks a service the demo says so and uses a labelled local
stand-in (tools/demo/stand_ins.py). Writes target/demo/report.json and report.md (what happened,
for people; tools/demo/narrative.py), the HTML statistics report, and stops what it started.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
import uuid

from tools.demo import build_progress, narrative, reviews, scenario
from tools.demo.context import Demo, boto
from tools.demo.framework import OUT, ROOT, VENV, CargoLambda, LocalAws, Steps, print_table, write_json
from tools.demo.stand_ins import TextractTextProxy, WebhookReceiver
from tools.report import query as stats_query
from tools.report import report as stats_report
from tools.suite import FUNCTIONS

COST_BUDGETS = json.dumps({"currency": "USD", "monthly": 10, "daily": 0.33, "thresholds": [50, 80, 100]})
# Who receives what (the notifier's routing rules; channel name -> how the report calls it).
CHANNELS = {"dingtalk": "ops DingTalk robot (Chinese)", "cms-hook": "CMS webhook (English)",
            reviews.MODERATORS: "moderators' Slack channel (English)"}


def provision(steps: Steps) -> dict:
    out = OUT / "resources.json"
    with steps.step("provision the local AWS from infra/template.yaml") as s:
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "tools.provision", "--prefix", f"demo{int(time.time()) % 100000}",
             "--param", "ModerationBackend=sagemaker", "--param", f"SageMakerEndpointName={scenario.REALTIME_ENDPOINT}",
             "--param", f"SageMakerAsyncEndpointName={scenario.ASYNC_ENDPOINT}", "--param", "OcrBackend=textract",
             "--param", f"OcrKeywords={scenario.OCR_KEYWORDS}", "--out", str(out)],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )
        resources = json.loads(out.read_text())
        s["detail"] = f"{len(resources['resources'])} resources"
    return resources


def configure(steps: Steps, report: dict, resources: dict, webhooks: WebhookReceiver) -> dict:
    """Notifier channels and rules, cost budgets; returns each function's environment overrides."""
    with steps.step("configure notifier channels and cost budgets") as s:
        s3, secrets = boto("s3"), boto("secretsmanager")
        fns = resources["functions"]
        ding = secrets.create_secret(Name=f"demo-{uuid.uuid4().hex[:8]}-dingtalk", SecretString=json.dumps(
            {"url": f"{webhooks.url}/dingtalk/robot/send?access_token=demo", "secret": "SECdemo-signing"}))
        hook = secrets.create_secret(Name=f"demo-{uuid.uuid4().hex[:8]}-cms", SecretString=json.dumps(
            {"url": f"{webhooks.url}/cms-hook", "secret": "demo-hmac"}))
        slack = secrets.create_secret(Name=f"demo-{uuid.uuid4().hex[:8]}-moderators", SecretString=json.dumps(
            {"url": f"{webhooks.url}/{reviews.MODERATORS}/services/demo"}))
        rules = {
            "channels": {
                "ops-dingtalk": {"kind": "dingtalk", "secret_id": ding["Name"], "language": "zh"},
                "cms-hook": {"kind": "webhook", "secret_id": hook["Name"]},
                reviews.MODERATORS: {"kind": "slack", "secret_id": slack["Name"], "language": "en"},
            },
            "rules": [
                # Not media.flagged: a review request carries a presigned link to the upload (a bearer
                # credential), so review requests go to the moderators alone.
                {"types": ["media.failed", "alarm.*"], "min_severity": "warning", "channels": ["ops-dingtalk"]},
                {"types": ["stats.digest", "cost.*"], "channels": ["ops-dingtalk"]},
                {"types": ["transcript.ready", "stats.digest", "cost.*"], "channels": ["cms-hook"]},
                {"types": ["media.flagged", "media.reviewed"], "channels": [reviews.MODERATORS]},
            ],
        }
        overrides = {"notifier": {}, "cost-guard": {"COST_BUDGETS": COST_BUDGETS, "COST_GUARD_MODE": "dry-run"}}
        uri = fns["notifier"]["environment"].get("NOTIFIER_RULES_S3_URI", "")
        if uri.startswith("s3://"):
            bucket, _, key = uri[5:].partition("/")
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(rules).encode(), ContentType="application/json")
        else:
            overrides["notifier"]["NOTIFIER_RULES"] = json.dumps(rules)
        report["channels"] = CHANNELS
        receiver = f"DingTalk robot, moderators' Slack and CMS webhook are a local HTTP receiver on {webhooks.url}"
        steps.stand_in(receiver)
        report["stand_ins"].append(receiver)
        s["detail"] = ("rules: failures, alarms -> DingTalk (zh); digests, costs -> DingTalk and webhook; transcripts -> webhook; "
                       "review requests and decisions -> moderators' Slack (en)")
    return overrides


def observer_queue(resources: dict) -> str:
    """A queue of the demo's own on suite-events: what the functions published, without taking
    messages from the queues the functions consume."""
    sqs, sns = boto("sqs"), boto("sns")
    url = sqs.create_queue(QueueName=f"{resources['stack_name']}-demo-observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=resources["resources"]["SuiteEventsTopic"]["TopicArn"], Protocol="sqs", Endpoint=arn)
    return url


def start_functions(steps: Steps, resources: dict, overrides: dict) -> dict[str, CargoLambda]:
    watchers: dict[str, CargoLambda] = {}
    with steps.step("start every function under cargo lambda watch") as s:
        for f in FUNCTIONS:
            env = dict(resources["functions"][f]["environment"])
            env.update(overrides.get(f, {}))
            env.update({k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")})
            env_file = OUT / f"{f}.env"
            # Single quotes: dotenv reads the value literally (JSON budgets and rules have spaces and quotes).
            env_file.write_text("".join(f"{k}='{v}'\n" for k, v in env.items()))
            watchers[f] = CargoLambda(env_file, package=f).__enter__()
        s["detail"] = ", ".join(f"{f}:{w.port}" for f, w in watchers.items())
    with steps.step("first invoke of every function (nothing to do: empty batches, a read-only report)") as s:
        # An empty SQS batch and a read-only report: no effects, but each binary is built.
        warm_up = {"ai-processor": {"Records": []}, "notifier": {"Records": []},
                   "stats-aggregator": {"Records": []}, "cost-guard": {"action": "report"}}
        for f in FUNCTIONS:
            watchers[f].invoke(f, warm_up[f])
        s["detail"] = ", ".join(FUNCTIONS)
    return watchers


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    steps = Steps()
    report: dict = {"started": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "steps": steps.steps, "stand_ins": []}

    with steps.step("build every function (cargo build, progress below)") as s:
        built = [build_progress.build(ROOT, f, OUT / "cargo-build.log") for f in FUNCTIONS]
        s["detail"] = (f"{len(FUNCTIONS)} functions, {sum(b['compiled'] for b in built)} crate builds, "
                       f"{sum(b['crates'] - b['compiled'] for b in built)} already built")

    with LocalAws(), contextlib.ExitStack() as stack:
        resources = provision(steps)
        webhooks = WebhookReceiver()
        stack.callback(webhooks.close)
        textract = TextractTextProxy(os.environ["AWS_ENDPOINT_URL"], scenario.DOCUMENT_PAGES)
        stack.callback(textract.close)
        overrides = configure(steps, report, resources, webhooks)
        overrides.setdefault("ai-processor", {})["AWS_ENDPOINT_URL_TEXTRACT"] = textract.url
        watchers: dict[str, CargoLambda] = {}
        stack.callback(lambda: [w.__exit__(None, None, None) for w in watchers.values()])
        watchers.update(start_functions(steps, resources, overrides))
        demo = Demo(steps, report, resources, watchers, webhooks, textract, observer_queue(resources))
        try:
            for title, step in scenario.STEPS:
                with steps.step(title) as s:
                    step(demo, s)
            write_stats_report(demo, COST_BUDGETS)
        except Exception:  # the failed step is recorded; the report is still written
            traceback.print_exc()

    write_json(OUT / "report.json", report)
    text = narrative.render(report)
    (OUT / "report.md").write_text(text)
    print("\n" + text)
    print_table([[k, v] for k, v in report.get("counts", {}).items()], ["what", "count"])
    print(f"\nwhat happened, for people: {OUT / 'report.md'}; everything: {OUT / 'report.json'}")
    if report.get("stats_report"):
        print("query the raw events: make query QUERY=uploads_by_verdict_per_day  (or SQL=\"SELECT ... FROM raw_events\")")
        print(f"report (open it in a browser, it needs no network): {report['stats_report']['page']}")
    return 0 if all(s["ok"] for s in steps.steps) else 1


def write_stats_report(demo: Demo, budgets: str) -> None:
    """The HTML report of the last 7 days, and a copy of the statistics for `make query`."""
    with demo.steps.step("report: charts of the rollups, spend and dead letters") as s:
        today = dt.datetime.now(dt.UTC).date()
        first = today - dt.timedelta(days=6)
        demo.stand_in("moto's Cost Explorer answers the report from sample results too (the same daily spend)")
        scenario.queue_sample_costs(min(first, today.replace(day=1)), today)
        os.environ["RESULTS_BUCKET"] = demo.results_bucket
        page = stats_report.write_report(ROOT / "target" / "report" / "index.html", first, today, budgets_json=budgets)
        copy = stats_query.CACHE / demo.results_bucket
        for earlier in stats_query.CACHE.glob("demo*"):  # each demo makes a new stack; keep only its copy
            if earlier != copy:
                shutil.rmtree(earlier)
        counts = stats_query.copy_bucket(demo.s3, demo.results_bucket, copy)
        demo.report["stats_report"] = {"page": str(page), "query_copy": str(copy.relative_to(ROOT))}
        s["detail"] = f"{first} to {today}; {counts['fetched']} statistics objects copied for make query"


if __name__ == "__main__":
    sys.exit(main())
