"""What every step of the demo works with: the local stack, the running functions, the report."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field

from tools.demo.framework import CargoLambda, Steps, acknowledge, drain, sqs_event
from tools.demo.stand_ins import TextractTextProxy, WebhookReceiver


def boto(service: str, retries: bool = True):
    """A client of the local AWS (retries=False for calls whose retry would repeat an effect)."""
    import boto3
    from botocore.config import Config

    config = None if retries else Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ.get("AWS_REGION", "us-east-1"), config=config)


@dataclass
class Demo:
    """The provisioned stack (`resources` is tools/provision.py's output), the functions under
    `cargo lambda watch`, the local stand-ins and the report every step adds to."""

    steps: Steps
    report: dict
    resources: dict
    watchers: dict[str, CargoLambda]
    webhooks: WebhookReceiver
    textract: TextractTextProxy
    observer_url: str
    seen: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s3, self.sqs, self.sns, self.transcribe = boto("s3"), boto("sqs"), boto("sns"), boto("transcribe")
        self.eventbridge = boto("events", retries=False)  # a retried PutEvents would deliver the event again
        self.fns = self.resources["functions"]
        self.res = self.resources["resources"]
        self.region = self.resources["region"]
        env = self.fns["ai-processor"]["environment"]
        self.media_bucket, self.results_bucket = env["MEDIA_BUCKET"], env["RESULTS_BUCKET"]
        self.report.setdefault("stand_ins", [])
        self.counts = self.report.setdefault("counts", {})

    # --- reporting -------------------------------------------------------------------------
    def note(self, text: str) -> None:
        self.steps.note(text)

    def stand_in(self, text: str) -> None:
        """Says, on the console and in the report, what the demo does where moto cannot."""
        self.steps.stand_in(text)
        if text not in self.report["stand_ins"]:
            self.report["stand_ins"].append(text)

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    # --- queues and functions --------------------------------------------------------------
    def queue(self, function: str, logical: str) -> dict:
        """The event source of `function` on the template's queue `logical` (url, arn)."""
        return next(q for q in self.fns[function]["sqs_event_sources"] if q["queue"] == logical)

    def invoke(self, function: str, payload: dict | list) -> dict:
        return self.watchers[function].invoke(function, payload)

    def feed(self, function: str, logical: str, max_rounds: int = 4) -> tuple[int, int, int]:
        """Plays the SQS event source mapping on one queue: batches until it is empty.

        Records the function reports as failed become visible again at once (instead of after
        the visibility timeout) and come back in the next round. Counts the queue's messages
        and failures in the report; returns (messages delivered, rounds, records failed in the
        last round)."""
        q = self.queue(function, logical)
        delivered, rounds, failed = 0, 0, 0
        for _ in range(max_rounds):
            messages = drain(self.sqs, q["queue_url"], wait_s=1)
            if not messages:
                break
            rounds += 1
            delivered += len(messages)
            r = self.invoke(function, sqs_event(messages, q["queue_arn"], self.region))
            failed = acknowledge(self.sqs, q["queue_url"], messages, r)
            returned = {f["itemIdentifier"] for f in (r or {}).get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] in returned:
                    self.sqs.change_message_visibility(QueueUrl=q["queue_url"], ReceiptHandle=m["ReceiptHandle"],
                                                       VisibilityTimeout=0)
            if failed:
                self.note(f"{function} handed {failed} record(s) back to SQS; delivering again")
        self.count_queue(logical, delivered, failed)
        return delivered, rounds, failed

    def count_queue(self, logical: str, messages: int, failed: int) -> None:
        """`MediaIngestQueue` -> counts `media_ingest_messages`, `media_ingest_failed`."""
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", logical.removesuffix("Queue")).lower()
        self.count(f"{name}_messages", messages)
        self.count(f"{name}_failed", failed)

    def queue_depth(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

    def wait_for_depth(self, url: str, depth: int, seconds: float = 2.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.queue_depth(url) >= depth:
                return True
            time.sleep(0.1)
        return False

    # --- what the functions wrote and published ----------------------------------------------
    def document(self, key: str) -> dict | None:
        """The analysis document of an upload, None when there is none."""
        body = self.read(self.results_bucket, f"analysis/{key}.json")
        return json.loads(body) if body is not None else None

    def read(self, bucket: str, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def read_uri(self, uri: str) -> bytes | None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.read(bucket, key)

    def tags(self, key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=self.media_bucket, Key=key)["TagSet"]}

    def published(self, event_type: str, subject_contains: str = "") -> list[dict]:
        """Envelopes of that type published on suite-events so far (read from the demo's own
        queue subscribed to the topic, so the functions' queues are left to the functions)."""
        for m in drain(self.sqs, self.observer_url, wait_s=1, max_messages=1000):
            body = json.loads(m["Body"])
            self.seen.append(json.loads(body["Message"]) if "Message" in body else body)
            self.sqs.delete_message(QueueUrl=self.observer_url, ReceiptHandle=m["ReceiptHandle"])
        return [e for e in self.seen if e.get("type") == event_type and subject_contains in json.dumps(e, ensure_ascii=False)]
