#!/usr/bin/env python3
"""One function on the local AWS: `make watch F=<function>` and `make invoke F=<function> E=<event>`.

Both start the local AWS if it is not running (tools/moto.sh start, state in .local/moto/ where the
other commands find it), provision the suite from infra/template.yaml when the local stack is
missing or stale (python -m tools.provision --env-dir target/local), and run the function under the
venv's cargo-lambda with the generated target/local/<function>.env.

  watch   serves the function (rebuilt on every code change) until Ctrl-C; it records its
          invoke port in .local/watch/<function>.json so `invoke` finds it
  invoke  sends the event to the function's running `watch`; without one it starts a watch for
          this one invocation (the first build takes a while) and stops it afterwards

LOCAL_ENV_DIR moves target/local elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tools.suite import FUNCTIONS, ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"
PROVISION = ROOT / "tools" / "provision.py"
WATCH_STATE = ROOT / ".local" / "watch"
# cargo lambda watch compiles the function on its first invocation.
FIRST_INVOKE_TIMEOUT_S = 1200


class UsageError(Exception):
    """Wrong F or E: said to the user with the choices there are."""


def functions() -> list[str]:
    """The suite's functions in alphabetical order, as the choices are listed."""
    return sorted(FUNCTIONS)


def check_function(name: str, command: str) -> str:
    names = functions()
    if not name:
        raise UsageError(f"say which function: make {command} F=<function>, one of {', '.join(names)}")
    if name not in names:
        raise UsageError(f"{name} is not a function of this suite; choose one of {', '.join(names)}")
    return name


def check_event(function: str, event: str) -> Path:
    samples = sorted((ROOT / "events" / function).glob("*.json"))
    example = f", e.g. E={samples[0].relative_to(ROOT)}" if samples else ""
    if not event:
        raise UsageError(f"say which event to send: make invoke F={function} E=<event file>{example}")
    path = Path(event).resolve()
    if not path.is_file():
        raise UsageError(f"there is no event file {event}{example}")
    try:
        json.loads(path.read_text())
    except ValueError as error:
        raise UsageError(f"{event} is not JSON: {error}") from None
    return path


def env_dir() -> Path:
    return Path(os.environ.get("LOCAL_ENV_DIR") or ROOT / "target" / "local").resolve()


def env_file(function: str) -> Path:
    return env_dir() / f"{function}.env"


# --------------------------------------------------------------------------- local AWS


def start_local_aws() -> dict[str, str]:
    """Starts moto unless it runs (and leaves it running); the variables that point the SDKs at it."""
    moto = str(ROOT / "tools" / "moto.sh")
    was_running = subprocess.run([moto, "env"], capture_output=True, check=False).returncode == 0
    result = subprocess.run([moto, "start"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the local AWS did not start: {result.stderr.strip()}")
    if not was_running:
        print("started the local AWS; it keeps running for the next commands (make moto-stop ends it)",
              file=sys.stderr)
    variables = {}
    for line in result.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        if key and "${" not in value:  # the region lines defer to the caller's AWS_REGION
            variables[key] = value
    variables.setdefault("AWS_REGION", os.environ.get("AWS_REGION") or "us-east-1")
    variables.setdefault("AWS_DEFAULT_REGION", variables["AWS_REGION"])
    return variables


def read_env_file(path: Path) -> dict[str, str]:
    """provision.py's dotenv format: KEY='value' per line."""
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return values


def stale_reason(function: str, local_aws: dict[str, str]) -> str | None:
    """Why the local stack must be provisioned (again), or None if the function's env file fits."""
    path = env_file(function)
    if not path.is_file():
        return "not provisioned yet"
    if path.stat().st_mtime < max(TEMPLATE.stat().st_mtime, PROVISION.stat().st_mtime):
        return "the template changed since the last provisioning"
    env = read_env_file(path)
    if env.get("AWS_ENDPOINT_URL") != local_aws["AWS_ENDPOINT_URL"]:
        return "the local AWS was restarted"
    bucket = env.get("RESULTS_BUCKET")
    if bucket and not bucket_exists(bucket, local_aws):
        return "the local AWS lost its resources"
    return None


def bucket_exists(bucket: str, local_aws: dict[str, str]) -> bool:
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.session.Session(
        aws_access_key_id=local_aws.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=local_aws.get("AWS_SECRET_ACCESS_KEY"),
        region_name=local_aws["AWS_REGION"],
    ).client("s3", endpoint_url=local_aws["AWS_ENDPOINT_URL"])
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def ensure_provisioned(function: str, local_aws: dict[str, str]) -> None:
    reason = stale_reason(function, local_aws)
    if reason is None:
        return
    print(f"provisioning the local stack ({reason})", file=sys.stderr)
    directory = env_dir()
    subprocess.run(
        [sys.executable, "-m", "tools.provision", "--quiet", "--out", str(directory / "resources.json"),
         "--env-dir", str(directory)],
        cwd=ROOT, env={**os.environ, **local_aws}, check=True,
    )


# --------------------------------------------------------------------------- cargo lambda


def cargo_lambda() -> str:
    return str(Path(sys.executable).parent / "cargo-lambda")


def watch_command(function: str, port: int, *, reload: bool = True) -> list[str]:
    command = [cargo_lambda(), "lambda", "watch", "--package", function, "--env-file", str(env_file(function)),
               "--invoke-address", "127.0.0.1", "--invoke-port", str(port)]
    return command if reload else [*command, "--ignore-changes"]


def invoke_command(function: str, event: Path, port: int) -> list[str]:
    return [cargo_lambda(), "lambda", "invoke", function, "--data-file", str(event),
            "--invoke-address", "127.0.0.1", "--invoke-port", str(port)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def running_watch(function: str) -> int | None:
    """The invoke port of this function's `make watch`, if one is running."""
    state = WATCH_STATE / f"{function}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        recorded = json.loads(state.read_text())
        os.kill(recorded["pid"], 0)
        if listening(recorded["port"]):
            return int(recorded["port"])
    return None


def watch(function: str) -> None:
    local_aws = start_local_aws()
    ensure_provisioned(function, local_aws)
    port = free_port()
    WATCH_STATE.mkdir(parents=True, exist_ok=True)
    # exec keeps this process id, so `invoke` can tell a live watch from a stale record.
    (WATCH_STATE / f"{function}.json").write_text(json.dumps({"pid": os.getpid(), "port": port}))
    print(f"{function} is served on 127.0.0.1:{port}; in another terminal: make invoke F={function} E=<event file>",
          file=sys.stderr)
    os.execve(cargo_lambda(), watch_command(function, port), {**os.environ, **local_aws})


def invoke(function: str, event: Path) -> int:
    port = running_watch(function)
    if port is not None:
        return subprocess.run(invoke_command(function, event, port), check=False).returncode
    local_aws = start_local_aws()
    ensure_provisioned(function, local_aws)
    port = free_port()
    log = env_dir() / f"watch-{function}.log"
    print(f"no `make watch F={function}` is running: starting one for this invocation (output in {log})",
          file=sys.stderr)
    with open(log, "w") as out:
        server = subprocess.Popen(watch_command(function, port, reload=False), cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, env={**os.environ, **local_aws}, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"cargo lambda watch did not start; its output:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        result = subprocess.run(invoke_command(function, event, port), cwd=ROOT, check=False,
                                timeout=FIRST_INVOKE_TIMEOUT_S)
        return result.returncode
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    try:
        if command == "watch" and len(args) == 2:
            watch(check_function(args[1], "watch"))
            return 0
        if command == "invoke" and len(args) == 3:
            function = check_function(args[1], "invoke")
            return invoke(function, check_event(function, args[2]))
    except UsageError as error:
        print(f"make {command}: {error}", file=sys.stderr)
        return 2
    print("usage: python -m tools.local_function watch FUNCTION | invoke FUNCTION EVENT_FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
