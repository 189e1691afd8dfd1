"""The upload path of `make bench`: ai-processor's real work on uploads, and upload-to-delivery latency.

Both run against the local AWS (moto) provisioned from infra/template.yaml with the SageMaker
moderation backend: moto has no Rekognition moderation, and its SageMaker runtime answers from
results the bench queues through moto's static-results API (as `make demo` and the ai-processor
tests do). The functions are the bench's binaries under runtime_emulator.py.

- upload_path: every S3-event sample of events/ai-processor is rewritten to name an object the
  bench uploaded to its own media bucket (a small generated file under the sample's key, with a
  run tag in the file name so each repetition is a new upload, not a duplicate), then invoked
  warm. The function does not log phase times; the analysis document records how long
  moderation took (`timings.moderation_ms`), so each sample reports that and the total.
- end_to_end: N image uploads through the local stack, S3 notification -> media-ingest ->
  ai-processor -> suite-events -> notifications -> notifier -> a webhook served by the bench.
  The bench plays Lambda's SQS event source mapping (long poll, batches of up to 10, one
  instance per function, failed records visible again at once) and times each hop from the
  S3 event time, the envelope time and its own receive times.
"""
from __future__ import annotations

import datetime as dt
import json
import mimetypes
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tools.bench.runtime_emulator import FunctionProcess
from tools.demo.framework import LocalAws, acknowledge, sqs_event

ENDPOINT = "bench-moderation"
ACCOUNT = "123456789012"
UPLOAD_PATH_REPETITIONS = int(os.environ.get("BENCH_UPLOAD_REPETITIONS", "5"))
END_TO_END_SIZES = [int(n) for n in os.environ.get("BENCH_E2E_SIZES", "10,50,200").split(",") if n]

# What the moderation stand-in answers for every image or video: one label over the default
# thresholds, so the upload is flagged and every publishing step (flagged, analyzed) runs.
FLAGGED_ANSWER = {
    "labels": [{"name": "Person", "parent": None, "confidence": 99.0}],
    "moderation_labels": [{"name": "Explicit Nudity", "parent": "Explicit", "confidence": 91.5},
                          {"name": "Explicit", "parent": None, "confidence": 91.5}],
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def boto(service: str):
    import boto3

    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ.get("AWS_REGION", "us-east-1"))


def provision(root: Path, out: Path) -> dict | None:
    """The template provisioned locally with the SageMaker backend (the one moto can answer)."""
    venv_python = Path(os.environ.get("SUITE_VENV", root / ".venv")) / "bin" / "python"
    r = subprocess.run(
        [str(venv_python), str(root / "tools" / "provision.py"), "--prefix", f"benchup{int(time.time()) % 100000}",
         "--param", "ModerationBackend=sagemaker", "--param", f"SageMakerEndpointName={ENDPOINT}",
         "--out", str(out), "--quiet"],
        check=False, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    if r.returncode != 0:
        log(f"provisioning for the upload path failed: {r.stderr[-1500:]}")
        return None
    return json.loads(out.read_text())


def queue_moderation_answers(region: str, count: int) -> None:
    if count:
        LocalAws.post_static("/moto-api/static/sagemaker/endpoint-results", {
            "account_id": ACCOUNT, "region": region,
            "results": [{"Body": json.dumps(FLAGGED_ANSWER), "ContentType": "application/json"}] * count})


def function_env(resources: dict, function: str, overrides: dict | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
           if k in os.environ}
    env.update(resources["functions"][function]["environment"])
    env.update(overrides or {})
    env.setdefault("LOG_LEVEL", "warn")
    return env


def summary(xs: list[float]) -> dict | None:
    if not xs:
        return None
    s = sorted(xs)

    def rank(p: float) -> float:
        return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]
    return {"p50": round(rank(50), 1), "p95": round(rank(95), 1), "min": round(s[0], 1), "max": round(s[-1], 1)}


# ---------------------------------------------------------------- upload path (issue 19.4)

def s3_samples(root: Path) -> list[Path]:
    """The ai-processor samples that carry S3 object-created notifications (in SQS records)."""
    out = []
    for p in sorted((root / "events" / "ai-processor").glob("*.json")):
        try:
            records = json.loads(p.read_text()).get("Records", [])
            bodies = [json.loads(r.get("body", "{}")) for r in records]
        except (ValueError, AttributeError):
            continue
        if any(str(s3.get("eventName", "")).startswith("ObjectCreated") for b in bodies for s3 in b.get("Records", [])):
            out.append(p)
    return out


def rewrite_sample(sample: dict, s3, bucket: str, tag: str) -> tuple[dict, list[str], int]:
    """The sample with every S3 record naming an object uploaded now to `bucket`.
    Returns the event, the uploaded keys and how many of them moderation will look at."""
    moderated = 0
    keys = []
    for outer in sample["Records"]:
        body = json.loads(outer["body"])
        for rec in body.get("Records", []):
            obj = rec["s3"]["object"]
            original = urllib.parse.unquote_plus(obj["key"])
            folder, _, name = original.rpartition("/")
            key = f"{folder}/{tag}-{name}" if folder else f"{tag}-{name}"
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            data = (b"bench-" + tag.encode()) * max(1, int(obj.get("size") or 64) // 16)
            put = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
            rec["s3"]["bucket"]["name"] = bucket
            rec["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
            obj["key"] = urllib.parse.quote_plus(key, safe="/")
            obj["size"] = len(data)
            obj["eTag"] = put["ETag"].strip('"')
            if put.get("VersionId"):
                obj["versionId"] = put["VersionId"]
            else:
                obj.pop("versionId", None)
            rec["eventTime"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            keys.append(key)
            if content_type.startswith(("image/", "video/")):
                moderated += 1
        outer["body"] = json.dumps(body)
    return sample, keys, moderated


def upload_path(root: Path, bootstrap_dir: Path, resources: dict) -> dict:
    env = function_env(resources, "ai-processor")
    region = resources["region"]
    media_bucket = env["MEDIA_BUCKET"]
    results_bucket = env["RESULTS_BUCKET"]
    s3 = boto("s3")
    fp = FunctionProcess(str(bootstrap_dir / "ai-processor"), "ai-processor", env, 256)
    results = []
    try:
        fp.wait_ready()
        for path in s3_samples(root):
            totals, moderation, failures, statuses = [], [], [], set()
            # One unmeasured round first: the first call of each SDK client opens its connection.
            for rep in range(UPLOAD_PATH_REPETITIONS + 1):
                tag = f"bench{uuid.uuid4().hex[:6]}"
                event, keys, moderated = rewrite_sample(json.loads(path.read_text()), s3, media_bucket, tag)
                queue_moderation_answers(region, moderated)
                r = fp.invoke(json.dumps(event).encode())
                answer = json.loads(r["body"] or "null") if r["ok"] else None
                failed = len((answer or {}).get("batchItemFailures", [])) if r["ok"] else len(event["Records"])
                if rep == 0:
                    continue
                totals.append(r["latency_ms"])
                failures.append(failed)
                for key in keys:
                    try:
                        doc = json.loads(s3.get_object(Bucket=results_bucket, Key=f"analysis/{key}.json")["Body"].read())
                    except s3.exceptions.NoSuchKey:
                        statuses.add("no document")
                        continue
                    statuses.add(str(doc.get("status")))
                    ms = (doc.get("timings") or {}).get("moderation_ms")
                    if ms is not None:
                        moderation.append(float(ms))
            results.append({
                "event": path.name,
                "repetitions": len(totals),
                "total_ms": {"median": round(statistics.median(totals), 2), "min": round(min(totals), 2),
                             "max": round(max(totals), 2)} if totals else None,
                "moderation_ms_median": round(statistics.median(moderation), 1) if moderation else None,
                "failed_records": sum(failures),
                "document_status": sorted(statuses),
            })
    finally:
        fp.stop()
    return {"repetitions": UPLOAD_PATH_REPETITIONS, "samples": results,
            "note": "moderation_ms from the analysis document; the rest of total_ms is the S3 reads, "
                    "the document write, the tags and the published events"}


# ---------------------------------------------------------------- end to end (issue 19.5 / 19.6)

def parse_time(text: str) -> float:
    """Epoch seconds of an RFC 3339 time with any number of fraction digits (moto: ms, the
    functions: ns)."""
    text = text.replace("Z", "+00:00")
    main, _, rest = text.partition(".")
    if rest:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{main}.{digits[:6].ljust(6, '0')}{zone}"
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


class Webhook:
    """The notifier's delivery target: records when each event arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, dict]] = {}
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                try:
                    event = json.loads(body).get("event", {})
                except ValueError:
                    event = {}
                with hook.lock:
                    hook.arrivals.setdefault(str(event.get("id")), (at, event))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "11")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class EventSourceMapping(threading.Thread):
    """Lambda's SQS poller for one queue and one function instance."""

    def __init__(self, fp: FunctionProcess, source: dict, region: str, on_receive) -> None:
        super().__init__(daemon=True)
        self.fp, self.source, self.region, self.on_receive = fp, source, region, on_receive
        self.stopping = threading.Event()
        self.invokes: list[float] = []
        self.failed_records = 0

    def run(self) -> None:
        sqs = boto("sqs")
        url = self.source["queue_url"]
        while not self.stopping.is_set():
            # Short polls every 20 ms rather than long polls: the local SQS holds a long poll
            # open for its whole wait time under load, which real SQS does not.
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, self.source.get("batch_size", 10)), WaitTimeSeconds=0,
                MessageAttributeNames=["All"], AttributeNames=["All"], VisibilityTimeout=300,
            ).get("Messages", [])
            if not messages:
                self.stopping.wait(0.02)
                continue
            received = time.time()
            for m in messages:
                self.on_receive(m, received)
            r = self.fp.invoke(json.dumps(sqs_event(messages, self.source["queue_arn"], self.region)).encode())
            self.invokes.append(r["latency_ms"])
            answer = (json.loads(r["body"] or "null") or {}) if r["ok"] else {
                "batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            self.failed_records += acknowledge(sqs, url, messages, answer)
            returned = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] in returned:
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)


def envelope_of(body: str) -> dict:
    """The envelope in a notifications-queue message (raw or wrapped in an SNS notification)."""
    try:
        value = json.loads(body)
        if isinstance(value, dict) and value.get("Type") == "Notification":
            value = json.loads(value.get("Message", "{}"))
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def s3_keys_of(body: str) -> list[tuple[str, str]]:
    try:
        records = json.loads(body).get("Records", [])
    except (ValueError, AttributeError):
        return []
    return [(urllib.parse.unquote_plus(r["s3"]["object"]["key"]), r.get("eventTime", ""))
            for r in records if "s3" in r]


def end_to_end(bootstrap_dir: Path, resources: dict, uploads: int) -> dict:
    region = resources["region"]
    fns = resources["functions"]
    media_bucket = fns["ai-processor"]["environment"]["MEDIA_BUCKET"]
    s3, secrets = boto("s3"), boto("secretsmanager")
    webhook = Webhook()
    run = uuid.uuid4().hex[:6]
    secret = secrets.create_secret(Name=f"bench-{run}-hook", SecretString=json.dumps(
        {"url": f"http://127.0.0.1:{webhook.port}/hook", "secret": "bench-signing"}))
    rules = {"channels": {"bench-hook": {"kind": "webhook", "secret_id": secret["Name"]}},
             "rules": [{"types": ["*"], "channels": ["bench-hook"]}]}
    notifier_overrides = {}
    uri = fns["notifier"]["environment"].get("NOTIFIER_RULES_S3_URI", "")
    if uri.startswith("s3://"):  # the deployed configuration: rules in S3
        bucket, _, key = uri[5:].partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(rules).encode(), ContentType="application/json")
    else:
        notifier_overrides["NOTIFIER_RULES"] = json.dumps(rules)

    ingest_seen: dict[str, tuple[float, str]] = {}
    notify_seen: dict[str, float] = {}

    def on_ingest(m: dict, at: float) -> None:
        for key, event_time in s3_keys_of(m["Body"]):
            ingest_seen.setdefault(key, (at, event_time))

    def on_notification(m: dict, at: float) -> None:
        notify_seen.setdefault(str(envelope_of(m["Body"]).get("id")), at)

    def source(function: str, queue: str) -> dict:
        return next(q for q in fns[function]["sqs_event_sources"] if q["queue"] == queue)

    processes = {
        "ai-processor": FunctionProcess(str(bootstrap_dir / "ai-processor"), "ai-processor",
                                        function_env(resources, "ai-processor"), 256),
        "notifier": FunctionProcess(str(bootstrap_dir / "notifier"), "notifier",
                                    function_env(resources, "notifier", notifier_overrides), 256),
    }
    mappings = []
    put_times: dict[str, tuple[float, float]] = {}
    try:
        for fp in processes.values():
            fp.wait_ready()
        mappings = [
            EventSourceMapping(processes["ai-processor"], source("ai-processor", "MediaIngestQueue"), region, on_ingest),
            EventSourceMapping(processes["notifier"], source("notifier", "NotificationsQueue"), region, on_notification),
        ]
        for m in mappings:
            m.start()
        queue_moderation_answers(region, uploads)
        body = b"\xff\xd8\xff\xe0bench-jpeg" * 8
        first_upload = time.time()
        for i in range(uploads):
            key = f"covers/bench-e2e/{run}-{uploads}-{i:04d}.jpg"
            started = time.time()
            s3.put_object(Bucket=media_bucket, Key=key, Body=body, ContentType="image/jpeg")
            put_times[key] = (started, time.time())
        deadline = time.time() + 60 + uploads * 0.5
        while time.time() < deadline:
            with webhook.lock:
                delivered = {e.get("data", {}).get("key") for _, e in webhook.arrivals.values()}
            if all(k in delivered for k in put_times):
                break
            time.sleep(0.05)
    finally:
        for m in mappings:
            m.stopping.set()
        for m in mappings:
            m.join(timeout=10)
        for fp in processes.values():
            fp.stop()
        webhook.close()

    hops: dict[str, list[float]] = {k: [] for k in (
        "upload_put", "s3_event_to_ingest_receive", "ai_processor_to_envelope",
        "envelope_to_notifications_receive", "notifier_to_webhook", "upload_to_delivery")}
    delivered_at = []
    for at, event in webhook.arrivals.values():
        key = event.get("data", {}).get("key")
        if key not in put_times or key not in ingest_seen:
            continue
        put_start, put_end = put_times[key]
        ingest_at, s3_time = ingest_seen[key]
        envelope_time = parse_time(event["time"])
        notify_at = notify_seen.get(str(event.get("id")), at)
        hops["upload_put"].append((put_end - put_start) * 1000)
        hops["s3_event_to_ingest_receive"].append((ingest_at - parse_time(s3_time)) * 1000)
        hops["ai_processor_to_envelope"].append((envelope_time - ingest_at) * 1000)
        hops["envelope_to_notifications_receive"].append((notify_at - envelope_time) * 1000)
        hops["notifier_to_webhook"].append((at - notify_at) * 1000)
        hops["upload_to_delivery"].append((at - put_start) * 1000)
        delivered_at.append(at)
    return {
        "uploads": uploads,
        "delivered": len(hops["upload_to_delivery"]),
        "wall_s": round(max(delivered_at) - first_upload, 2) if delivered_at else None,
        "latency_ms": {hop: summary(xs) for hop, xs in hops.items()},
        "invokes": {name: len(m.invokes) for name, m in zip(("ai-processor", "notifier"), mappings, strict=False)},
        "invoke_ms": {name: summary(m.invokes) for name, m in zip(("ai-processor", "notifier"), mappings, strict=False)},
        "records_per_invoke": {name: round(uploads / len(m.invokes), 1) if m.invokes else None
                               for name, m in zip(("ai-processor", "notifier"), mappings, strict=False)},
        "failed_records": {name: m.failed_records for name, m in zip(("ai-processor", "notifier"), mappings, strict=False)},
    }


def measure(root: Path, bootstrap_dir: Path, out_dir: Path) -> dict:
    resources = provision(root, out_dir / "resources-upload-path.json")
    if resources is None:
        return {"error": "local provisioning failed"}
    report: dict = {"conditions": "local AWS (moto) on this machine, SageMaker moderation stand-in, "
                                  "one instance per function, SQS polled as Lambda's event source mapping"}
    try:
        log(f"upload path: every S3 sample of ai-processor, {UPLOAD_PATH_REPETITIONS} uploads each")
        report["upload_path"] = upload_path(root, bootstrap_dir, resources)
    except Exception as e:
        report["upload_path"] = {"error": f"{type(e).__name__}: {e}"}
    report["end_to_end"] = []
    for n in END_TO_END_SIZES:
        log(f"end to end: {n} uploads")
        try:
            report["end_to_end"].append(end_to_end(bootstrap_dir, resources, n))
        except Exception as e:
            report["end_to_end"].append({"uploads": n, "error": f"{type(e).__name__}: {e}"})
    return report


if __name__ == "__main__":
    # Only the upload path and end-to-end parts (with the local AWS up): tools/with-moto.sh
    # .venv/bin/python -m tools.bench.pipeline [binary dir]
    root = Path(__file__).resolve().parents[2]
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    binaries = Path(sys.argv[1]) if len(sys.argv) > 1 else target / "release"
    out = target / "bench"
    out.mkdir(parents=True, exist_ok=True)
    result = measure(root, binaries, out)
    (out / "pipeline.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
