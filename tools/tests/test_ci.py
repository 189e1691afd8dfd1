"""The CI workflow (.github/workflows/ci.yml) is valid and runs only what the Makefile has (issue 17.5)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", (ROOT / "Makefile").read_text(), re.MULTILINE))


def run_lines(job: dict) -> list[str]:
    return [line for step in job["steps"] if "run" in step for line in step["run"].splitlines()]


def test_the_workflow_is_valid_yaml_with_the_three_jobs():
    wf = workflow()
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push", "pull_request", "workflow_dispatch"}
    assert triggers["workflow_dispatch"]["inputs"]["environment"]["options"] == ["dev", "staging", "prod", "prod-cn"]
    assert set(wf["jobs"]) == {"test", "package", "deploy"}
    for name, job in wf["jobs"].items():
        assert job["runs-on"].startswith("ubuntu"), name
        assert all(("uses" in s) != ("run" in s) for s in job["steps"]), name


def test_every_make_target_the_workflow_runs_exists():
    targets = make_targets()
    used = {m for job in workflow()["jobs"].values() for line in run_lines(job) for m in re.findall(r"\bmake\s+([\w-]+)", line)}
    assert used == {"test", "package", "deploy"}
    assert used <= targets, used - targets


def test_caches_artifacts_and_oidc_deploy():
    jobs = workflow()["jobs"]
    for name, job in jobs.items():
        cached = {tuple(s["with"]["path"].split()) for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")}
        assert ("~/.cargo/registry", "~/.cargo/git", "target") in cached and (".cache/venv",) in cached, name
    assert "make test" in run_lines(jobs["test"])
    assert jobs["package"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    (upload,) = [s for s in jobs["package"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["path"] == "target/lambda/*/bootstrap.zip"
    deploy = jobs["deploy"]
    assert deploy["permissions"]["id-token"] == "write" and deploy["if"] == "github.event_name == 'workflow_dispatch'"
    (creds,) = [s for s in deploy["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert "role-to-assume" in creds["with"] and "aws-access-key-id" not in creds["with"]
    assert run_lines(deploy)[-1].startswith("make deploy ENV=${{ inputs.environment }}")
