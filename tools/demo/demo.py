#!/usr/bin/env python3
"""`make demo`: sample uploads through every function against the local AWS.

Starts the local AWS (moto), provisions what infra/template.yaml declares (tools/provision.py),
builds the functions and serves each under `cargo lambda watch`, uploads sample media, and
feeds every function the messages the local AWS really produced:
  S3 notification -> media-ingest -> ai-processor -> suite-events -> notifications / stats-ingest
  -> notifier / stats-aggregator; then the scheduled functions (stats rollups, cost-guard).
Where the local AWS lacks a service the demo says so and uses a labelled local stand-in.
Writes target/demo/report.json and stops what it started.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools.demo import build_progress
from tools.demo.framework import (
    OUT,
    ROOT,
    VENV,
    CargoLambda,
    LocalAws,
    Steps,
    acknowledge,
    drain,
    print_table,
    sqs_event,
    write_json,
)
from tools.report import query as stats_query
from tools.report import report as stats_report
from tools.suite import FUNCTIONS

ENDPOINT = "demo-moderation"

# Sample uploads: key, content type, bytes, what the moderation stand-in answers (None: no moderation).
UPLOADS = [
    ("covers/sunset-beach.jpg", "image/jpeg", b"\xff\xd8\xff\xe0demo-jpeg",
     {"labels": [{"name": "Beach", "parent": "Outdoors", "confidence": 97.2}, {"name": "Sunset", "parent": "Sky", "confidence": 91.0}],
      "moderation_labels": []}),
    ("avatars/user-42/profile.png", "image/png", b"\x89PNG\r\n\x1a\ndemo-png",
     {"labels": [{"name": "Person", "parent": None, "confidence": 99.0}],
      "moderation_labels": [{"name": "Explicit Nudity", "parent": "Explicit", "confidence": 91.5},
                            {"name": "Explicit", "parent": None, "confidence": 91.5}]}),
    ("videos/launch-teaser.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42demo-video",
     {"labels": [{"name": "Crowd", "parent": "Person", "confidence": 88.0}],
      "moderation_labels": [{"name": "Violence", "parent": None, "confidence": 64.0, "timestamp_ms": 4200}]}),
    ("audio/podcast-episode-1.mp3", "audio/mpeg", b"ID3demo-audio", None),
]

TRANSCRIPT_TEXT = {
    "videos/": ("en-US", "Welcome to the launch. Today we show the new studio. Stay tuned for more."),
    "audio/": ("zh-CN", "大家好。欢迎收听第一期节目。今天我们聊聊媒体平台。"),
}


class WebhookReceiver:
    """Local stand-in for the DingTalk robot and a generic webhook: records what arrives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"path": self.path.split("?")[0], "body": json.loads(body or b"{}")})
                answer = b'{"errcode":0,"errmsg":"ok"}' if self.path.startswith("/dingtalk") else b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def boto(service: str, retries: bool = True):
    import boto3
    from botocore.config import Config

    config = None if retries else Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ.get("AWS_REGION", "us-east-1"), config=config)


def provision(steps: Steps) -> dict:
    out = OUT / "resources.json"
    with steps.step("provision the local AWS from infra/template.yaml") as s:
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "tools.provision", "--prefix", f"demo{int(time.time()) % 100000}",
             "--param", "ModerationBackend=sagemaker", "--param", f"SageMakerEndpointName={ENDPOINT}", "--out", str(out)],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )
        resources = json.loads(out.read_text())
        s["detail"] = f"{len(resources['resources'])} resources"
    return resources


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    steps = Steps()
    report: dict = {"steps": steps.steps, "stand_ins": []}

    def stand_in(text: str) -> None:
        steps.stand_in(text)
        report["stand_ins"].append(text)

    with steps.step("build every function (cargo build, progress below)") as s:
        built = [build_progress.build(ROOT, f, OUT / "cargo-build.log") for f in FUNCTIONS]
        s["detail"] = (f"{len(FUNCTIONS)} functions, {sum(b['compiled'] for b in built)} crate builds, "
                       f"{sum(b['crates'] - b['compiled'] for b in built)} already built")

    with LocalAws():
        resources = provision(steps)
        fns = resources["functions"]
        res = resources["resources"]
        region = resources["region"]
        s3, sqs, secrets = boto("s3"), boto("sqs"), boto("secretsmanager")
        events = boto("events", retries=False)  # a retried PutEvents would deliver the event again
        media_bucket = fns["ai-processor"]["environment"]["MEDIA_BUCKET"]
        results_bucket = fns["ai-processor"]["environment"]["RESULTS_BUCKET"]

        def queue(function: str, event: str) -> dict:
            return next(q for q in fns[function]["sqs_event_sources"] if q["event"] == event or q["queue"] == event)

        webhooks = WebhookReceiver()
        try:
            with steps.step("configure notifier channels and cost budgets") as s:
                ding = secrets.create_secret(Name=f"demo-{uuid.uuid4().hex[:8]}-dingtalk", SecretString=json.dumps(
                    {"url": f"http://127.0.0.1:{webhooks.port}/dingtalk/robot/send?access_token=demo", "secret": "SECdemo-signing"}))
                hook = secrets.create_secret(Name=f"demo-{uuid.uuid4().hex[:8]}-cms", SecretString=json.dumps(
                    {"url": f"http://127.0.0.1:{webhooks.port}/cms-hook", "secret": "demo-hmac"}))
                rules = {
                    "channels": {
                        "ops-dingtalk": {"kind": "dingtalk", "secret_id": ding["Name"], "language": "zh"},
                        "cms-hook": {"kind": "webhook", "secret_id": hook["Name"]},
                    },
                    "rules": [
                        {"types": ["*"], "min_severity": "warning", "channels": ["ops-dingtalk"]},
                        {"types": ["transcript.ready", "stats.digest", "cost.*"], "channels": ["cms-hook"]},
                    ],
                }
                uri = fns["notifier"]["environment"].get("NOTIFIER_RULES_S3_URI", "")
                env_overrides = {"notifier": {}, "cost-guard": {
                    "COST_BUDGETS": json.dumps({"currency": "USD", "monthly": 10, "daily": 0.33, "thresholds": [50, 80, 100]}),
                    "COST_GUARD_MODE": "dry-run"}}
                if uri.startswith("s3://"):
                    bucket, _, key = uri[5:].partition("/")
                    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(rules).encode(), ContentType="application/json")
                else:
                    env_overrides["notifier"]["NOTIFIER_RULES"] = json.dumps(rules)
                stand_in(f"DingTalk robot and CMS webhook are a local HTTP receiver on 127.0.0.1:{webhooks.port}")
                s["detail"] = "rules: warning+ -> DingTalk (zh); transcripts, digests, costs -> webhook"

            watchers = {}
            try:
                with steps.step("start every function under cargo lambda watch") as s:
                    for f in FUNCTIONS:
                        env = dict(fns[f]["environment"])
                        env.update(env_overrides.get(f, {}))
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
                run_pipeline(steps, report, stand_in, watchers, fns, res, region, s3, sqs, events, media_bucket, results_bucket, webhooks)
                write_stats_report(steps, report, stand_in, results_bucket, s3, env_overrides["cost-guard"]["COST_BUDGETS"])
            finally:
                for w in watchers.values():
                    w.__exit__(None, None, None)
        finally:
            webhooks.close()

    write_json(OUT / "report.json", report)
    print("\ncounts")
    print_table([[k, v] for k, v in report.get("counts", {}).items()] +
                [[f"dead letters in {k}", v] for k, v in report.get("dead_letter_queues", {}).items()], ["what", "count"])
    print("\nsummary")
    print_table([[s["step"], "ok" if s["ok"] else "FAILED", f"{s['seconds']:.2f}", s["detail"][:70]] for s in steps.steps],
                ["step", "result", "seconds", "detail"])
    print(f"\nrun summary: {OUT / 'report.json'}")
    if report.get("stats_report"):
        print("query the raw events: make query QUERY=uploads_by_verdict_per_day  (or SQL=\"SELECT ... FROM raw_events\")")
        print(f"report (open it in a browser, it needs no network): {report['stats_report']['page']}")
    return 0 if all(s["ok"] for s in steps.steps) else 1


def run_pipeline(steps, report, stand_in, watchers, fns, res, region, s3, sqs, events, media_bucket, results_bucket, webhooks):
    media_q = queue_of(fns, "ai-processor", "MediaIngestQueue")
    jobs_q = queue_of(fns, "ai-processor", "AiJobsQueue")
    notify_q = queue_of(fns, "notifier", "NotificationsQueue")
    stats_q = queue_of(fns, "stats-aggregator", "StatsIngestQueue")
    counts: dict = {}
    report["counts"] = counts

    def feed(function: str, q: dict, max_rounds: int = 4) -> tuple[int, int, int]:
        """Plays the SQS event source mapping: batches until the queue is empty; records the
        function reports as failed become visible again at once (instead of after the
        visibility timeout) and come back in the next round."""
        delivered, rounds, failed = 0, 0, 0
        for _ in range(max_rounds):
            messages = drain(sqs, q["queue_url"], wait_s=1)
            if not messages:
                break
            rounds += 1
            delivered += len(messages)
            r = watchers[function].invoke(function, sqs_event(messages, q["queue_arn"], region))
            failed = acknowledge(sqs, q["queue_url"], messages, r)
            returned = {f["itemIdentifier"] for f in (r or {}).get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] in returned:
                    sqs.change_message_visibility(QueueUrl=q["queue_url"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            if failed:
                steps.note(f"{function} handed {failed} record(s) back to SQS; delivering again")
        return delivered, rounds, failed

    with steps.step("upload sample media to the media bucket") as s:
        answers = [{"Body": json.dumps(a), "ContentType": "application/json"} for _, _, _, a in UPLOADS if a is not None]
        LocalAws.post_static("/moto-api/static/sagemaker/endpoint-results",
                             {"account_id": "123456789012", "region": region, "results": answers})
        stand_in("moto has no Rekognition moderation: the SageMaker backend answers from results queued in moto's endpoint")
        for key, content_type, body, _ in UPLOADS:
            s3.put_object(Bucket=media_bucket, Key=key, Body=body, ContentType=content_type)
        counts["uploads"] = len(UPLOADS)
        s["detail"] = ", ".join(k for k, *_ in UPLOADS)

    with steps.step("ai-processor: S3 notifications from media-ingest") as s:
        messages = drain(sqs, media_q["queue_url"])
        order = {k: i for i, (k, *_) in enumerate(UPLOADS)}

        def key_of(m):
            try:
                return json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"].replace("%2F", "/")
            except (KeyError, ValueError, IndexError):
                return ""
        messages.sort(key=lambda m: order.get(key_of(m), 99))
        failed = 0
        # One message per invocation, in upload order, so each image meets its queued stand-in answer.
        for m in messages:
            r = watchers["ai-processor"].invoke("ai-processor", sqs_event([m], media_q["queue_arn"], region))
            failed += acknowledge(sqs, media_q["queue_url"], [m], r)
        counts["media_ingest_messages"] = len(messages)
        counts["media_ingest_failed"] = failed
        s["detail"] = f"{len(messages)} S3 notifications, {failed} failed"

    verdicts = {}
    with steps.step("verdicts: analysis documents and tags") as s:
        for key, *_ in UPLOADS:
            doc = json.loads(s3.get_object(Bucket=results_bucket, Key=f"analysis/{key}.json")["Body"].read())
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=media_bucket, Key=key)["TagSet"]}
            verdicts[key] = {"verdict": doc.get("verdict"), "tag": tags.get("moderation-verdict"), "status": doc.get("status"),
                             "transcript": (doc.get("transcript") or {}).get("state")}
            steps.note(f"{key}: verdict={verdicts[key]['verdict']} tag={verdicts[key]['tag']} status={verdicts[key]['status']}")
        report["verdicts"] = verdicts
        s["detail"] = ", ".join(f"{k.split('/')[0]}={v['verdict'] or '-'}" for k, v in verdicts.items())

    with steps.step("Transcribe completions -> ai-jobs -> ai-processor") as s:
        stand_in("moto's Transcribe writes no transcript file: the demo writes one where Transcribe would")
        transcribe = boto("transcribe")
        sent = 0
        for key, *_ in UPLOADS:
            doc = json.loads(s3.get_object(Bucket=results_bucket, Key=f"analysis/{key}.json")["Body"].read())
            transcript = doc.get("transcript") or {}
            job = transcript.get("job_name")
            if not job:
                continue
            language, text = next(v for p, v in TRANSCRIPT_TEXT.items() if key.startswith(p))
            words = text.replace("。", " ").replace(".", " ").split()
            items = [{"type": "pronunciation", "start_time": f"{i * 0.6:.1f}", "end_time": f"{i * 0.6 + 0.5:.1f}",
                      "alternatives": [{"confidence": "0.97", "content": w}]} for i, w in enumerate(words)]
            s3.put_object(Bucket=results_bucket, Key=f"transcripts/{job}.json", Body=json.dumps(
                {"jobName": job, "accountId": "123456789012", "status": "COMPLETED",
                 "results": {"language_code": language, "transcripts": [{"transcript": text}], "items": items}}).encode())
            # moto moves a job QUEUED -> IN_PROGRESS -> COMPLETED as it is looked at.
            status = ""
            for _ in range(10):
                status = transcribe.get_transcription_job(TranscriptionJobName=job)["TranscriptionJob"]["TranscriptionJobStatus"]
                if status == "COMPLETED":
                    break
            steps.note(f"Transcribe job {job}: {status}")
            detail = {"TranscriptionJobName": job, "TranscriptionJobStatus": "COMPLETED"}
            before = queue_depth(sqs, jobs_q["queue_url"])
            try:
                events.put_events(Entries=[{"Source": "aws.transcribe", "DetailType": "Transcribe Job State Change",
                                            "Detail": json.dumps(detail)}])
            except Exception as e:  # moto fails on rule targets it does not implement
                steps.note(f"moto's PutEvents answered {type(e).__name__} (it cannot invoke the schedules' Lambda targets)")
            if not wait_for_depth(sqs, jobs_q["queue_url"], before + 1):
                stand_in("moto's EventBridge did not route the Transcribe event; "
                         "the demo puts the event EventBridge would deliver on ai-jobs itself")
                sqs.send_message(QueueUrl=jobs_q["queue_url"], MessageBody=json.dumps({
                    "version": "0", "id": str(uuid.uuid4()), "detail-type": "Transcribe Job State Change",
                    "source": "aws.transcribe", "account": "123456789012", "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": region, "resources": [], "detail": detail}))
            sent += 1
        n, rounds, failed = feed("ai-processor", jobs_q)
        counts["transcribe_completions"] = n
        counts["ai_jobs_failed"] = failed
        s["detail"] = f"{sent} jobs completed, {n} deliveries on ai-jobs in {rounds} round(s), {failed} failed"


    with steps.step("stats-aggregator: suite-events from stats-ingest") as s:
        n, _, failed = feed("stats-aggregator", stats_q)
        counts["stats_ingest_messages"], counts["stats_ingest_failed"] = n, failed
        s["detail"] = f"{n} events appended to raw NDJSON, {failed} failed"

    with steps.step("notifier: filtered suite-events from notifications") as s:
        before = len(webhooks.received)
        n, _, failed = feed("notifier", notify_q)
        counts["notifications_messages"] = n
        counts["notifications_failed"] = failed
        s["detail"] = f"{n} events, {len(webhooks.received) - before} deliveries, {failed} failed"

    now = dt.datetime.now(dt.UTC)
    with steps.step("stats-aggregator: hourly and daily rollups (scheduled events)") as s:
        # The events above are in the current hour, which has not ended: send the scheduled
        # events as EventBridge will at the next firing of each rule (HH+1:05 and 00:20).
        next_hour = now.replace(minute=5, second=0, microsecond=0) + dt.timedelta(hours=1)
        after_midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=20, second=0, microsecond=0)
        rules = {r["rule"]: r["name"] for r in fns["stats-aggregator"]["schedules"]}

        def scheduled(rule_name: str, at: dt.datetime) -> dict:
            return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                    "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
                    "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule_name}"], "detail": {}}
        steps.note(f"hourly rule fires as at {next_hour:%H:%M}Z, daily rule as at {after_midnight:%Y-%m-%d %H:%M}Z")
        r1 = watchers["stats-aggregator"].invoke("stats-aggregator", scheduled(rules["StatsHourlySchedule"], next_hour))
        r2 = watchers["stats-aggregator"].invoke("stats-aggregator", scheduled(rules["StatsDailySchedule"], after_midnight))
        key = f"stats/hourly/{now:%Y/%m/%d/%H}.json"
        rollup = json.loads(s3.get_object(Bucket=results_bucket, Key=key)["Body"].read())
        daily_key = f"stats/daily/{now:%Y/%m/%d}.json"
        daily = json.loads(s3.get_object(Bucket=results_bucket, Key=daily_key)["Body"].read())
        report["rollups"] = {"hourly_key": key, "hourly": rollup, "daily_key": daily_key, "daily": daily,
                             "hourly_response": r1, "daily_response": r2}
        s["detail"] = f"{key}, {daily_key}"

    with steps.step("cost-guard: scheduled run with sample costs over 80 %") as s:
        stand_in("moto's Cost Explorer answers from sample results loaded through its static-results API")
        queue_sample_costs(now.date().replace(day=1), now.date())
        scheduled = json.loads((ROOT / "events/cost-guard/scheduled.json").read_text())
        scheduled["time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        r = watchers["cost-guard"].invoke("cost-guard", scheduled)
        report["cost_guard"] = r
        s["detail"] = "month to date 8.60 USD of 10 USD"

    with steps.step("notifier: digest and cost alerts") as s:
        before = len(webhooks.received)
        n, _, failed = feed("notifier", notify_q)
        counts["notifications_messages"] += n
        counts["notifications_failed"] += failed
        s["detail"] = f"{n} events, {len(webhooks.received) - before} deliveries, {failed} failed"

    with steps.step("dead-letter queues") as s:
        dlqs = {}
        for logical, r in res.items():
            if logical.endswith("DLQ") and r.get("QueueUrl"):
                attrs = sqs.get_queue_attributes(QueueUrl=r["QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
                dlqs[logical] = int(attrs["ApproximateNumberOfMessages"])
        report["dead_letter_queues"] = dlqs
        s["detail"] = ", ".join(f"{k}={v}" for k, v in dlqs.items())

    report["deliveries"] = [{"channel": d["path"].split("/")[1], "title": summarize_delivery(d)} for d in webhooks.received]
    counts["deliveries"] = len(webhooks.received)
    print("\ndeliveries")
    print_table([[d["channel"], d["title"][:90]] for d in report["deliveries"]], ["channel", "message"])


# Sample spend: 8.60 USD spread over the month so far, 60 % App Runner, 40 % Lambda.
SAMPLE_MONTH_TO_DATE = 8.6


def queue_sample_costs(first: dt.date, last: dt.date) -> None:
    """Queues one Cost Explorer answer (moto's static results): daily spend by service."""
    today = dt.datetime.now(dt.UTC).date()
    per_day = SAMPLE_MONTH_TO_DATE / today.day
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    results = [{"TimePeriod": {"Start": f"{d:%Y-%m-%d}", "End": f"{d + dt.timedelta(days=1):%Y-%m-%d}"}, "Total": {},
                "Groups": [{"Keys": ["AWS App Runner"], "Metrics": {"UnblendedCost": {"Amount": f"{per_day * 0.6:.4f}", "Unit": "USD"}}},
                           {"Keys": ["AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": f"{per_day * 0.4:.4f}", "Unit": "USD"}}}],
                "Estimated": d >= today - dt.timedelta(days=1)} for d in days]
    LocalAws.post_static("/moto-api/static/ce/cost-and-usage-results", {"account_id": "123456789012", "results": [
        {"ResultsByTime": results, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]}]})


def write_stats_report(steps, report, stand_in, results_bucket: str, s3, budgets: str) -> None:
    """The HTML report of the last 7 days, and a copy of the statistics for `make query`."""
    with steps.step("report: charts of the rollups, spend and dead letters") as s:
        today = dt.datetime.now(dt.UTC).date()
        first = today - dt.timedelta(days=6)
        stand_in("moto's Cost Explorer answers the report from sample results too (the same daily spend)")
        queue_sample_costs(min(first, today.replace(day=1)), today)
        os.environ["RESULTS_BUCKET"] = results_bucket
        page = stats_report.write_report(ROOT / "target" / "report" / "index.html", first, today, budgets_json=budgets)
        copy = stats_query.CACHE / results_bucket
        for earlier in stats_query.CACHE.glob("demo*"):  # each demo makes a new stack; keep only its copy
            if earlier != copy:
                shutil.rmtree(earlier)
        counts = stats_query.copy_bucket(s3, results_bucket, copy)
        report["stats_report"] = {"page": str(page), "query_copy": str(copy.relative_to(ROOT))}
        s["detail"] = f"{first} to {today}; {counts['fetched']} statistics objects copied for make query"


def queue_depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def wait_for_depth(sqs, url: str, depth: int, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if queue_depth(sqs, url) >= depth:
            return True
        time.sleep(0.1)
    return False


def summarize_delivery(d: dict) -> str:
    body = d["body"]
    if "markdown" in body:
        return body["markdown"].get("title", "")
    if "notification" in body:
        return body["notification"].get("title", "")
    return json.dumps(body)[:90]


def queue_of(fns: dict, function: str, logical: str) -> dict:
    return next(q for q in fns[function]["sqs_event_sources"] if q["queue"] == logical)


if __name__ == "__main__":
    sys.exit(main())
