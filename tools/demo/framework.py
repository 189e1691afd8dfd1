"""Plumbing of `make demo`: steps with timings, the local AWS, cargo lambda, SQS hand-off."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("SUITE_VENV", ROOT / ".venv"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
OUT = ROOT / "target" / "demo"


class Steps:
    """Prints each step with its timing as it goes and keeps them for the summary."""

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.t0 = time.perf_counter()

    @contextlib.contextmanager
    def step(self, name: str):
        record = {"step": name, "ok": True, "detail": ""}
        print(f"\n▶ {name}", flush=True)
        started = time.perf_counter()
        try:
            yield record
        except Exception as e:  # recorded, shown, and the demo fails at the end
            record["ok"] = False
            record["detail"] = f"{type(e).__name__}: {e}"
            raise
        finally:
            record["seconds"] = round(time.perf_counter() - started, 2)
            self.steps.append(record)
            mark = "✔" if record["ok"] else "✘"
            print(f"  {mark} {name} ({record['seconds']} s) {record['detail']}", flush=True)

    def note(self, text: str) -> None:
        print(f"  · {text}", flush=True)

    def stand_in(self, text: str) -> None:
        print(f"  ⚠ LOCAL STAND-IN: {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalAws:
    """Starts moto (unless one is already running) and stops what it started."""

    def __init__(self) -> None:
        self.started = False

    def __enter__(self) -> LocalAws:
        already = subprocess.run([str(ROOT / "tools/moto.sh"), "env"], capture_output=True, text=True)
        out = already.stdout
        if already.returncode != 0:
            r = subprocess.run([str(ROOT / "tools/moto.sh"), "start"], capture_output=True, text=True, check=True)
            out = r.stdout
            self.started = True
        for line in out.splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                if value.startswith("${"):
                    value = value.split(":-", 1)[1].rstrip("}")
                os.environ.setdefault(key, value) if key == "AWS_REGION" else os.environ.__setitem__(key, value)
        os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            subprocess.run([str(ROOT / "tools/moto.sh"), "stop"], check=False)

    @staticmethod
    def post_static(path: str, payload: dict) -> None:
        """Loads results into one of moto's static-result queues (SageMaker, Cost Explorer)."""
        req = urllib.request.Request(
            os.environ["AWS_ENDPOINT_URL"] + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(req, timeout=10).read()


class CargoLambda:
    """`cargo lambda watch` serving every function of the workspace, and `cargo lambda invoke`."""

    def __init__(self, env_file: Path, package: str) -> None:
        self.env_file = env_file
        self.package = package
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = OUT / f"cargo-lambda-watch-{package}.log"

    def bin(self) -> str:
        return str(VENV / "bin" / "cargo-lambda")

    def __enter__(self) -> CargoLambda:
        self.proc = subprocess.Popen(
            [self.bin(), "lambda", "watch", "--ignore-changes", "--invoke-address", "127.0.0.1",
             "--invoke-port", str(self.port), "--env-file", str(self.env_file), "--package", self.package],
            cwd=ROOT, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        for _ in range(600):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited; see {self.log}")
            time.sleep(0.5)
        raise RuntimeError("cargo lambda watch did not start in 300 s")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def invoke(self, function: str, payload: dict | list) -> dict:
        data_file = OUT / "payloads" / f"{function}-{hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]}.json"
        data_file.parent.mkdir(parents=True, exist_ok=True)
        data_file.write_text(json.dumps(payload))
        r = subprocess.run(
            [self.bin(), "lambda", "invoke", function, "--data-file", str(data_file),
             "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port), "--output-format", "json"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        if r.returncode != 0:
            raise RuntimeError(f"invoke {function} failed: {r.stderr.strip()[-1500:]}")
        text = r.stdout.strip()
        return json.loads(text) if text else {}


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event Lambda's SQS event source builds from received messages."""
    records = []
    for m in messages:
        attrs = {}
        for name, value in (m.get("MessageAttributes") or {}).items():
            attrs[name] = {
                "stringValue": value.get("StringValue"),
                "binaryValue": None,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
        records.append({
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": attrs,
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


def drain(sqs, queue_url: str, wait_s: int = 1, max_messages: int = 100) -> list[dict]:
    """Receives what is on a queue now (messages stay in flight until deleted)."""
    out: list[dict] = []
    while len(out) < max_messages:
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
            MessageAttributeNames=["All"], AttributeNames=["All"], VisibilityTimeout=300,
        ).get("Messages", [])
        if not got:
            break
        out.extend(got)
    return out


def acknowledge(sqs, queue_url: str, messages: list[dict], response: dict) -> int:
    """Deletes the records the function did not report as failed, as the event source mapping does."""
    failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    for m in done:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return len(failed)


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)))


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False))


def fail(msg: str) -> None:
    print(f"demo: {msg}", file=sys.stderr)
    sys.exit(1)
