#!/usr/bin/env python3
"""`make bench`: cold start, memory, size and throughput of every function.

Measured the same way each time:
- release `bootstrap` of each function (host architecture) started fresh under
  runtime_emulator.py, COLD_STARTS times: init ms, first invoke ms, peak RSS;
- one warm process per function: every sample event in events/<function>/ invoked in turn;
- arm64 deployment zip size from `cargo lambda build --release --arm64 --output-format zip`;
- the throughput programs the function issues ask for (examples run with the `measure` profile);
- the upload path and upload-to-delivery latency (pipeline.py) with the same release binaries.
Writes target/bench/report.json and prints a table. Nothing here fails on a slow machine:
a missed target is reported with how much it was missed by.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tools.bench import pipeline
from tools.bench.runtime_emulator import FunctionProcess
from tools.suite import FUNCTIONS, ROOT

MEMORY_MB = {"ai-processor": 256, "notifier": 256, "stats-aggregator": 512, "cost-guard": 128}
TARGETS = {"init_ms": 20.0, "peak_rss_mb": 32.0, "zip_mb": 4.0}
COLD_STARTS = int(os.environ.get("BENCH_COLD_STARTS", "10"))
# `make bench BENCH_PARTS=cold,throughput` re-measures some parts (a quiet moment for cold starts,
# a new rollup) and keeps the others from the previous report.json.
PARTS = ("cold", "zips", "throughput", "pipeline")
THROUGHPUT = [
    ("stats-aggregator", "bench_rollup", ["10000", "100000", "1000000"]),
    ("notifier", "bench_batch", []),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=False, cwd=ROOT, text=True, **kw)


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def git_revision() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def local_environment() -> dict[str, dict[str, str]]:
    """Per-function environment from the local provisioning, so invokes hit real local resources."""
    out = target_dir() / "bench" / "resources.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    provision = ROOT / "tools" / "provision.py"
    venv_python = Path(os.environ.get("SUITE_VENV", ROOT / ".venv")) / "bin" / "python"
    if provision.exists():
        r = run([str(venv_python), "-m", "tools.provision", "--prefix", f"bench{int(time.time())}", "--out", str(out)])
        if r.returncode == 0:
            data = json.loads(out.read_text())
            envs = {name: dict(f.get("environment", {})) for name, f in data.get("functions", {}).items()}
            # The notifier as deployed: its routing rules are an object in the results bucket,
            # read on first use (not at init) and cached; route everything to the provisioned
            # alarm topic. Only without an S3 URI do the rules go inline.
            alarm_topic = data.get("resources", {}).get("AlarmTopic", {}).get("TopicArn")
            if "notifier" in envs and alarm_topic:
                rules = json.dumps({
                    "channels": {"alarms": {"kind": "sns", "topic_arn": alarm_topic}},
                    "rules": [{"types": ["*"], "channels": ["alarms"]}]})
                uri = envs["notifier"].get("NOTIFIER_RULES_S3_URI", "")
                if uri.startswith("s3://"):
                    bucket, _, key = uri[5:].partition("/")
                    pipeline.boto("s3").put_object(Bucket=bucket, Key=key, Body=rules.encode(), ContentType="application/json")
                    envs["notifier"]["NOTIFIER_RULES"] = ""
                else:
                    envs["notifier"]["NOTIFIER_RULES"] = rules
            return envs
        log("provisioning failed; functions run with only the endpoint set")
    return {}


def sample_events(function: str) -> list[Path]:
    return sorted(p for p in (ROOT / "events" / function).glob("*.json"))


def measure_function(function: str, env: dict[str, str]) -> dict:
    bootstrap = target_dir() / "release" / function
    samples = sample_events(function)
    first = samples[0].read_bytes() if samples else b"{}"
    base_env = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION") if k in os.environ}
    base_env.update(env)
    base_env.setdefault("LOG_LEVEL", "warn")
    inits, firsts, rss = [], [], []
    errors = []
    for _ in range(COLD_STARTS):
        fp = FunctionProcess(str(bootstrap), function, base_env, MEMORY_MB[function])
        try:
            inits.append(fp.wait_ready())
            r = fp.invoke(first)
            firsts.append(r["latency_ms"])
            kb = fp.peak_rss_kb()
            if kb:
                rss.append(kb / 1024)
        except Exception as e:  # reported, not fatal
            errors.append(str(e))
        finally:
            fp.stop()
    warm = []
    fp = FunctionProcess(str(bootstrap), function, base_env, MEMORY_MB[function])
    try:
        fp.wait_ready()
        for sample in samples:
            r = fp.invoke(sample.read_bytes())
            warm.append({"event": sample.name, "latency_ms": round(r["latency_ms"], 2), "ok": r["ok"]})
        warm_rss = (fp.peak_rss_kb() or 0) / 1024
    except Exception as e:  # reported, not fatal
        errors.append(str(e))
        warm_rss = None
    finally:
        fp.stop()

    def stats(xs):
        return {"median": round(statistics.median(xs), 2), "min": round(min(xs), 2), "max": round(max(xs), 2)} if xs else None

    return {
        "function": function,
        "cold_starts": len(inits),
        "init_ms": stats(inits),
        "first_invoke_ms": stats(firsts),
        "peak_rss_mb": stats(rss),
        "peak_rss_mb_after_all_samples": round(warm_rss, 2) if warm_rss else None,
        "warm_invokes": warm,
        "errors": errors,
    }


def zip_sizes() -> dict[str, float | None]:
    cargo_lambda = Path(os.environ.get("SUITE_VENV", ROOT / ".venv")) / "bin" / "cargo-lambda"
    run(["rustup", "target", "add", "aarch64-unknown-linux-gnu"], capture_output=True)
    # cargo-lambda cross-compiles with zig, which the `ziglang` package puts in the venv.
    env = dict(os.environ, PATH=f"{cargo_lambda.parent}:{os.environ.get('PATH', '')}")
    r = run([str(cargo_lambda), "lambda", "build", "--release", "--arm64", "--output-format", "zip", "--workspace"], env=env)
    sizes = {}
    for f in FUNCTIONS:
        z = target_dir() / "lambda" / f / "bootstrap.zip"
        sizes[f] = round(z.stat().st_size / 1_048_576, 3) if r.returncode == 0 and z.exists() else None
    return sizes


def throughput() -> list[dict]:
    results = []
    for crate, example, args in THROUGHPUT:
        if not (ROOT / "functions" / crate / "examples" / f"{example}.rs").exists():
            results.append({"name": f"{crate}/{example}", "error": "program not present"})
            continue
        r = run(["cargo", "run", "--quiet", "--profile", "measure", "-p", crate, "--example", example, "--", *args], capture_output=True)
        lines = [line for line in r.stdout.splitlines() if line.strip().startswith(("{", "["))]
        if r.returncode != 0 or not lines:
            results.append({"name": f"{crate}/{example}", "error": (r.stderr or "no output")[-2000:]})
            continue
        values = [json.loads(line) for line in lines]
        summaries = [v for v in values if isinstance(v, list)]
        # A program that ends with a summary array repeats its per-run lines in it.
        results.extend(summaries[-1] if summaries else values)
    return results


def judge(name: str, value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    if value <= target:
        return "ok"
    return f"MISSED by {value - target:.1f} ({(value / target - 1) * 100:.0f} %)"


def print_pipeline(p: dict) -> None:
    print("\nai-processor upload path (warm, ms):")
    for s in (p.get("upload_path") or {}).get("samples", []):
        t = s["total_ms"] or {}
        print(f"  {s['event']:<36} total {t.get('median', '-')!s:>7} (min {t.get('min', '-')}, max {t.get('max', '-')})"
              f"  moderation {s['moderation_ms_median'] if s['moderation_ms_median'] is not None else '-'}"
              f"  failed {s['failed_records']}  {','.join(s['document_status'])}")
    if "error" in (p.get("upload_path") or {}):
        print(f"  error: {p['upload_path']['error']}")
    print("\nend to end, upload -> webhook delivery (ms, p50 / p95):")
    for e in p.get("end_to_end", []):
        if "error" in e:
            print(f"  {e['uploads']:>4} uploads: error: {e['error'][:200]}")
            continue
        hops = "  ".join(f"{k} {v['p50']}/{v['p95']}" for k, v in e["latency_ms"].items() if v)
        print(f"  {e['uploads']:>4} uploads, {e['delivered']} delivered in {e['wall_s']} s: {hops}")


def selected_parts() -> set[str]:
    wanted = {p.strip() for p in os.environ.get("BENCH_PARTS", ",".join(PARTS)).split(",") if p.strip()}
    unknown = wanted - set(PARTS)
    if unknown:
        raise SystemExit(f"BENCH_PARTS: unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    return wanted


def main() -> int:
    parts = selected_parts()
    out_dir = target_dir() / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    previous_path = out_dir / "report.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() and parts != set(PARTS) else {}
    if parts & {"cold", "pipeline"}:
        r = run(["cargo", "build", "--release", *(arg for f in FUNCTIONS for arg in ("-p", f))])
        if r.returncode != 0:
            log("release build failed")
            return 1
    zips = zip_sizes() if "zips" in parts else {m["function"]: m.get("arm64_zip_mb") for m in previous.get("functions", [])}
    functions = []
    if "cold" in parts:
        envs = local_environment()
        for f in FUNCTIONS:
            log(f"measuring {f} ({COLD_STARTS} cold starts)")
            functions.append(measure_function(f, envs.get(f, {})))
    else:
        functions = [dict(m) for m in previous.get("functions", [])]
    for m in functions:
        m["arm64_zip_mb"] = zips.get(m["function"])
        m["targets"] = {
            "init_ms": judge("init", (m["init_ms"] or {}).get("median"), TARGETS["init_ms"]),
            "peak_rss_mb": judge("rss", (m["peak_rss_mb"] or {}).get("median"), TARGETS["peak_rss_mb"]),
            "arm64_zip_mb": judge("zip", m["arm64_zip_mb"], TARGETS["zip_mb"]),
        }
    revision, now = git_revision(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    measured_at = dict(previous.get("measured_at", {}))
    measured_at.update({part: {"git_revision": revision, "at": now, "load_average_1m": os.getloadavg()[0]} for part in parts})
    report = {
        "machine": {"cores": os.cpu_count(), "platform": sys.platform, "arch": os.uname().machine},
        "git_revision": revision,
        "generated_at": now,
        "measured_at": measured_at,
        "targets": TARGETS,
        "functions": functions,
        "throughput": throughput() if "throughput" in parts else previous.get("throughput", []),
        "upload_pipeline": pipeline.measure(ROOT, target_dir() / "release", out_dir) if "pipeline" in parts else previous.get("upload_pipeline", {}),
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))

    print(f"\n{'function':<18}{'init ms (med/min/max)':<26}{'first ms':>10}{'RSS MB':>9}{'zip MB':>9}  targets")
    for m in functions:
        i = m["init_ms"] or {}
        print(
            f"{m['function']:<18}{i.get('median', '-')!s:>7} / {i.get('min', '-')!s:>6} / {i.get('max', '-')!s:>6}"
            f"{(m['first_invoke_ms'] or {}).get('median', '-')!s:>10}{(m['peak_rss_mb'] or {}).get('median', '-')!s:>9}"
            f"{m['arm64_zip_mb']!s:>9}  {', '.join(f'{k}: {v}' for k, v in m['targets'].items())}"
        )
        for e in m["errors"][:3]:
            print(f"    error: {e[:200]}")
    print("\nthroughput:")
    for t in report["throughput"]:
        print("  " + json.dumps(t))
    print_pipeline(report["upload_pipeline"])
    print(f"\nreport: {out_dir / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
