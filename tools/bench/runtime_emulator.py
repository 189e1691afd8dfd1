#!/usr/bin/env python3
"""A minimal Lambda Runtime API, used only to measure functions.

It starts a function's `bootstrap` as a fresh process with the environment Lambda sets,
records init time (process start to the first GET /runtime/invocation/next), hands out
events, records each invoke's latency (event handed out to response received), and reads
the process's peak RSS (VmHWM) from /proc.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

API = "/2018-06-01/runtime"


class _State:
    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.first_next_at: float | None = None
        self.first_next = threading.Event()
        self.handed_out: dict[str, float] = {}
        self.results: queue.Queue[dict] = queue.Queue()
        self.init_error: str | None = None


def _handler(state: _State, function_name: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _reply(self, code: int, body: bytes = b"", headers: dict | None = None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != f"{API}/invocation/next":
                return self._reply(404)
            if state.first_next_at is None:
                state.first_next_at = time.perf_counter()
                state.first_next.set()
            request_id, body = state.events.get()
            state.handed_out[request_id] = time.perf_counter()
            deadline = int(time.time() * 1000) + 60_000
            self._reply(
                200,
                body,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
                    "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
                },
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == f"{API}/init/error":
                state.init_error = body.decode("utf-8", "replace")
                state.first_next.set()
                return self._reply(202, b"{}")
            parts = self.path.split("/")
            if len(parts) >= 6 and parts[3] == "invocation":
                request_id, kind = parts[4], parts[5]
                done = time.perf_counter()
                started = state.handed_out.get(request_id, done)
                state.results.put(
                    {
                        "request_id": request_id,
                        "ok": kind == "response",
                        "latency_ms": (done - started) * 1000,
                        "body": body.decode("utf-8", "replace")[:65536],
                    }
                )
                return self._reply(202, b"{}")
            return self._reply(404)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A function process killed between cold starts drops its pending long poll.
        pass


def peak_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class FunctionProcess:
    """One cold process of a function under the emulator."""

    def __init__(self, bootstrap: str, function_name: str, env: dict[str, str], memory_mb: int = 256):
        self.state = _State()
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self.state, function_name))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        lambda_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
            "LAMBDA_TASK_ROOT": os.path.dirname(bootstrap),
            "_HANDLER": "bootstrap",
            "TZ": ":UTC",
        }
        lambda_env.update(env)
        self.started_at = time.perf_counter()
        # stderr to a file, not a pipe: a long run's warnings would fill a pipe nobody reads
        # and block the function.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [bootstrap], env=lambda_env, stdout=subprocess.DEVNULL, stderr=self.stderr
        )

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Init time in ms: process start to the first request for an event."""
        deadline = time.perf_counter() + timeout
        while not self.state.first_next.wait(0.05):
            if self.proc.poll() is not None:
                self.stderr.seek(0)
                err = self.stderr.read().decode("utf-8", "replace")
                raise RuntimeError(f"function exited during init (status {self.proc.returncode}): {err[-600:]}")
            if time.perf_counter() > deadline:
                raise RuntimeError("function never asked for an event")
        if self.state.init_error:
            raise RuntimeError(f"init error: {self.state.init_error}")
        return (self.state.first_next_at - self.started_at) * 1000

    def invoke(self, payload: bytes, timeout: float = 60.0) -> dict:
        request_id = str(uuid.uuid4())
        self.state.events.put((request_id, payload))
        result = self.state.results.get(timeout=timeout)
        return result

    def peak_rss_kb(self) -> int | None:
        return peak_rss_kb(self.proc.pid)

    def stop(self) -> None:
        self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        finally:
            self.server.shutdown()
            self.server.server_close()
            self.stderr.close()


if __name__ == "__main__":
    import argparse
    from pathlib import Path

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("bootstrap")
    p.add_argument("event_file")
    p.add_argument("--name", default="function")
    a = p.parse_args()
    fp = FunctionProcess(a.bootstrap, a.name, {})
    try:
        print(json.dumps({"init_ms": fp.wait_ready(), **fp.invoke(Path(a.event_file).read_bytes()), "peak_rss_kb": fp.peak_rss_kb()}))
    finally:
        fp.stop()
