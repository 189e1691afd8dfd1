"""make watch / make invoke (tools/local_function.py): choices, commands and provisioning on moto."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tools import local_function
from tools.suite import FUNCTIONS as SUITE_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
# The choices make watch / make invoke list, alphabetically.
FUNCTIONS = sorted(SUITE_FUNCTIONS)


def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture
def local_dir(tmp_path, monkeypatch):
    """Env files in a temporary folder, so the tests never touch target/local."""
    monkeypatch.setenv("LOCAL_ENV_DIR", str(tmp_path))
    return tmp_path


def test_the_functions_are_the_workspace_crates():
    assert local_function.functions() == sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))


def test_an_unknown_or_missing_function_is_refused_with_the_list_of_functions(local_dir):
    for command in ("watch", "invoke"):
        unknown = make(command, "F=notifer", "E=events/notifier/sqs-media-flagged.json", env={"LOCAL_ENV_DIR": str(local_dir)})
        assert unknown.returncode != 0
        assert f"make {command}: notifer is not a function of this suite; choose one of {', '.join(FUNCTIONS)}" in unknown.stderr
        missing = make(command)
        assert missing.returncode != 0
        assert f"say which function: make {command} F=<function>, one of {', '.join(FUNCTIONS)}" in missing.stderr
    assert list(local_dir.iterdir()) == [], "nothing was provisioned"


def test_invoke_without_a_usable_event_says_what_to_give(local_dir, tmp_path):
    missing = make("invoke", "F=notifier")
    assert "say which event to send: make invoke F=notifier E=<event file>, e.g. E=events/notifier/" in missing.stderr
    absent = make("invoke", "F=notifier", "E=events/notifier/nothing.json")
    assert "there is no event file events/notifier/nothing.json" in absent.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    not_json = make("invoke", "F=notifier", f"E={broken}")
    assert f"{broken} is not JSON" in not_json.stderr
    assert all(r.returncode != 0 for r in (missing, absent, not_json))


def test_watch_serves_the_function_with_its_generated_env_file(local_dir):
    dry = make("-n", "watch", "F=notifier")
    assert '-m tools.local_function watch "${F:-}"' in dry.stdout

    command = local_function.watch_command("notifier", 9123)
    assert command[0] == str(Path(sys.executable).parent / "cargo-lambda"), "the venv's cargo-lambda"
    assert os.access(command[0], os.X_OK)
    assert command[1:4] == ["lambda", "watch", "--package"]
    assert command[4] == "notifier"
    assert command[command.index("--env-file") + 1] == str(local_dir / "notifier.env")
    assert command[command.index("--invoke-port") + 1] == "9123"
    invoke = local_function.invoke_command("notifier", Path("/tmp/e.json"), 9123)
    assert invoke[1:] == ["lambda", "invoke", "notifier", "--data-file", "/tmp/e.json",
                          "--invoke-address", "127.0.0.1", "--invoke-port", "9123"]


def test_the_stack_is_provisioned_when_missing_or_stale_and_not_again_otherwise(local_dir):
    local_aws = local_function.start_local_aws()
    assert local_aws["AWS_ENDPOINT_URL"] == os.environ["AWS_ENDPOINT_URL"], "the running local AWS is reused"
    assert local_function.stale_reason("notifier", local_aws) == "not provisioned yet"

    local_function.ensure_provisioned("notifier", local_aws)

    env = local_function.read_env_file(local_dir / "notifier.env")
    assert env["AWS_ENDPOINT_URL"] == local_aws["AWS_ENDPOINT_URL"]
    assert env["RESULTS_BUCKET"]
    assert {p.name for p in local_dir.glob("*.env")} == {f"{f}.env" for f in FUNCTIONS}
    assert json.loads((local_dir / "resources.json").read_text())["functions"].keys() == set(FUNCTIONS)
    assert local_function.stale_reason("notifier", local_aws) is None

    assert local_function.stale_reason("notifier", {**local_aws, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}) == (
        "the local AWS was restarted"
    )
    template_time = local_function.TEMPLATE.stat().st_mtime
    os.utime(local_dir / "notifier.env", (template_time - 60, template_time - 60))
    assert local_function.stale_reason("notifier", local_aws) == "the template changed since the last provisioning"
    os.utime(local_dir / "notifier.env")

    s3 = boto3.session.Session(region_name=local_aws["AWS_REGION"]).client("s3")
    for version in s3.list_object_versions(Bucket=env["RESULTS_BUCKET"]).get("Versions", []):
        s3.delete_object(Bucket=env["RESULTS_BUCKET"], Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=env["RESULTS_BUCKET"])
    assert local_function.stale_reason("notifier", local_aws) == "the local AWS lost its resources"
    local_function.ensure_provisioned("notifier", local_aws)
    assert local_function.stale_reason("notifier", local_aws) is None


def test_invoke_finds_a_running_watch_and_ignores_a_stale_record(tmp_path, monkeypatch):
    monkeypatch.setattr(local_function, "WATCH_STATE", tmp_path)
    assert local_function.running_watch("notifier") is None
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        (tmp_path / "notifier.json").write_text(json.dumps({"pid": os.getpid(), "port": port}))
        assert local_function.running_watch("notifier") == port
    assert local_function.running_watch("notifier") is None, "nothing listens on the recorded port any more"
    (tmp_path / "notifier.json").write_text(json.dumps({"pid": 2**22 + 1, "port": port}))
    assert local_function.running_watch("notifier") is None, "the recorded process is gone"
