"""A small stack on the local AWS holding known statistics, made by the real stats-aggregator.

Known envelopes (two past UTC days, several hours, one envelope delivered twice) go through the
function's SQS ingest under `cargo lambda watch`, which writes the raw zstd NDJSON; daily
back-fills then write the hourly and daily rollups. Cost Explorer answers with known daily
spend (moto's static results) and two dead-letter queues hold known numbers of messages.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tools.demo.framework import OUT, CargoLambda, LocalAws

ROOT = Path(__file__).resolve().parents[3]

ACCOUNT = "123456789012"
BUDGETS = {"currency": "USD", "monthly": 10, "daily": 0.5, "thresholds": [50, 80, 100],
           "services": {"AWS Lambda": 3}, "other": 6}
SERVICES = {"AWS Lambda": 0.12, "Amazon Simple Storage Service": 0.07, "Amazon Rekognition": 0.2}


@dataclass
class Stack:
    prefix: str
    bucket: str
    days: list[str]
    envelopes: list[dict]
    duplicates: int
    spend: dict[str, dict[str, float]] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return dict(os.environ, RESULTS_BUCKET=self.bucket, COST_BUDGETS=json.dumps(BUDGETS))


def envelope(event_type: str, at: dt.datetime, data: dict, severity: str = "info") -> dict:
    return {"version": 1, "id": uuid.uuid4().hex, "type": event_type, "source": "report-test",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "subject": f"s3://media/{data.get('prefix', 'misc/')}x",
            "severity": severity, "data": data}


def known_envelopes(day_a: dt.datetime, day_b: dt.datetime) -> list[dict]:
    """Uploads with every verdict and latencies read both ways, transcripts in two languages,
    deliveries on two channels, a cost alert, a skipped and a failed upload."""
    out: list[dict] = []

    def analysed(at, verdict, latency_ms, labels=(), kind="image"):
        data = {"kind": kind, "prefix": f"{kind}s/", "size_bytes": 1000, "verdict": verdict,
                "moderation_labels": [{"name": n, "parent_name": p, "confidence": 90.0} for n, p in labels]}
        if latency_ms % 7 == 0:  # some producers send only the two times
            data["uploaded_at"] = (at - dt.timedelta(milliseconds=latency_ms)).isoformat().replace("+00:00", "Z")
            data["analyzed_at"] = at.isoformat().replace("+00:00", "Z")
        else:
            data["latency_ms"] = latency_ms
        out.append(envelope("media.analyzed", at, data))

    for hour, base in ((9, 0), (15, 40)):
        at = day_a.replace(hour=hour, minute=10)
        for i in range(12):
            analysed(at + dt.timedelta(seconds=i), "approved", 700 + 150 * i + base)
        analysed(at, "review", 4200, [("Smoking", "Tobacco"), ("Drinking", "Tobacco")])
        analysed(at, "rejected", 9100, [("Explicit Nudity", "Explicit")])
    at = day_a.replace(hour=9, minute=20)
    out.append(envelope("media.flagged", at, {"verdict": "review"}, "warning"))
    out.append(envelope("media.skipped", at, {"kind": "other", "prefix": "misc/", "size_bytes": 5}))
    out.append(envelope("media.failed", at, {"kind": "video", "prefix": "videos/"}, "warning"))
    out.append(envelope("transcript.ready", at, {"language": "zh-CN", "duration_seconds": 90.5}))
    out.append(envelope("transcript.ready", at.replace(hour=15), {"language": "en-US", "duration_seconds": 30}))
    out.append(envelope("transcript.ready", at.replace(hour=15), {"language": "zh-CN", "duration_seconds": 29.5}))
    for channel, delivered, failed in (("dingtalk", 3, 1), ("webhook", 2, 0)):
        out += [envelope("notification.delivered", at, {"channel": channel}) for _ in range(delivered)]
        out += [envelope("notification.failed", at, {"channel": channel}, "warning") for _ in range(failed)]
    out.append(envelope("cost.threshold", at, {"budget": "monthly", "level": 80}, "warning"))
    at = day_b.replace(hour=2, minute=30)
    for i in range(19):
        analysed(at, "approved", 300 + 250 * i, kind="video")
    analysed(at, "review", 12_000, [("Violence", "Violence")], kind="video")
    out.append(envelope("transcript.ready", at, {"language": "en-US", "duration_seconds": 61.25}))
    return out


def sqs_records(envelopes: list[dict], region: str) -> dict:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": json.dumps(e), "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{ACCOUNT}:report-test-stats-ingest", "awsRegion": region,
    } for e in envelopes]}


def build(now: dt.datetime) -> Stack:
    import boto3

    region = os.environ.get("AWS_REGION", "us-east-1")
    prefix = f"rpt{uuid.uuid4().hex[:6]}-dev"
    bucket = f"{prefix}-results-{ACCOUNT}-{region}"
    s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
    s3.create_bucket(Bucket=bucket)
    topic = sns.create_topic(Name=f"{prefix}-suite-events")["TopicArn"]
    day_a = (now - dt.timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_b = day_a + dt.timedelta(days=1)
    envelopes = known_envelopes(day_a, day_b)

    OUT.mkdir(parents=True, exist_ok=True)
    env_file = OUT / f"{prefix}-stats-aggregator.env"
    env = {"RESULTS_BUCKET": bucket, "EVENTS_TOPIC_ARN": topic, "AWS_REGION": region,
           **{k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}}
    env_file.write_text("".join(f"{k}='{v}'\n" for k, v in env.items()))
    # Built first, without a time limit: the invocations below then only wait for the function.
    subprocess.run(["cargo", "build", "--quiet", "--package", "stats-aggregator", "--bin", "stats-aggregator"], cwd=ROOT, check=True)
    with CargoLambda(env_file, package="stats-aggregator") as function:
        for i in range(0, len(envelopes), 10):
            answer = function.invoke("stats-aggregator", sqs_records(envelopes[i:i + 10], region))
            assert not answer.get("batchItemFailures"), answer
        # The same envelope delivered again in another batch (SNS delivered it twice).
        function.invoke("stats-aggregator", sqs_records([envelopes[0]], region))
        for day in (day_a, day_b):
            function.invoke("stats-aggregator", {
                "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                "account": ACCOUNT, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region, "resources": [],
                "detail": {"rollup": "daily", "period": f"{day:%Y-%m-%d}"}})
    env_file.unlink()

    stack = Stack(prefix=prefix, bucket=bucket, days=[f"{day_a:%Y-%m-%d}", f"{day_b:%Y-%m-%d}"],
                  envelopes=envelopes, duplicates=1)
    for name, depth in (("media-ingest-dlq", 2), ("stats-ingest-dlq", 0)):
        url = sqs.create_queue(QueueName=f"{prefix}-{name}")["QueueUrl"]
        for n in range(depth):
            sqs.send_message(QueueUrl=url, MessageBody=f"poison {n}")
        stack.dead_letters[name] = depth
    return stack


def load_spend(stack: Stack, first: dt.date, last: dt.date, today: dt.date) -> None:
    """Queues Cost Explorer's answer for the report's request: every day from the earlier of
    `first` and the 1st of the month through the later of `last` and today."""
    start = min(first, today.replace(day=1))
    day, results = start, []
    while day <= max(last, today):
        factor = 1 + (day.day % 3) / 10
        stack.spend[day.isoformat()] = {s: round(a * factor, 4) for s, a in SERVICES.items()}
        results.append({"TimePeriod": {"Start": day.isoformat(), "End": (day + dt.timedelta(days=1)).isoformat()},
                        "Total": {}, "Estimated": day >= today - dt.timedelta(days=1),
                        "Groups": [{"Keys": [s], "Metrics": {"UnblendedCost": {"Amount": f"{a}", "Unit": "USD"}}}
                                   for s, a in stack.spend[day.isoformat()].items()]})
        day += dt.timedelta(days=1)
    LocalAws.post_static("/moto-api/static/ce/cost-and-usage-results", {"account_id": ACCOUNT, "results": [
        {"ResultsByTime": results, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]}]})
