"""The named queries of infra/queries/, run by DuckDB over the raw events the real stats-aggregator
stored, agree with the rollup documents it wrote (and with the envelopes that were sent)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tools.report import query

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def con(stack, s3, tmp_path_factory):
    copy = tmp_path_factory.mktemp("query-copy")
    counts = query.copy_bucket(s3, stack.bucket, copy)
    assert counts["fetched"] > 0
    return query.connect(copy)


@pytest.fixture(scope="module")
def daily(stack, s3) -> dict[str, dict]:
    return {day: json.loads(s3.get_object(Bucket=stack.bucket, Key=f"stats/daily/{day.replace('-', '/')}.json")["Body"].read())
            for day in stack.days}


def rows(con, name: str) -> list[dict]:
    relation = con.sql(query.named_sql(name))
    return [dict(zip(relation.columns, row, strict=False)) for row in relation.fetchall()]


def test_uploads_by_verdict_per_day_agrees_with_the_daily_rollups(con, daily, stack):
    got = {(r["event_day"], r["verdict"]): r["uploads"] for r in rows(con, "uploads_by_verdict_per_day")}
    from_rollups = {(day, v): n for day, doc in daily.items() for v, n in doc["verdicts"]["by_verdict"].items()}
    assert got == from_rollups
    # And with what was sent: the envelope delivered twice counts once.
    sent = Counter((e["time"][:10], e["data"]["verdict"]) for e in stack.envelopes if e["type"] == "media.analyzed")
    assert got == dict(sent)
    assert got[(stack.days[0], "approved")] == 24


def test_p95_latency_per_day_lies_within_the_rollup_percentiles(con, daily, stack):
    result = {r["event_day"]: r for r in rows(con, "p95_latency_per_day")}
    assert sorted(result) == stack.days
    for day, doc in daily.items():
        latency, r = doc["latency_ms"], result[day]
        assert r["uploads"] == latency["count"]
        assert (r["min_latency_ms"], r["max_latency_ms"]) == (latency["min"], latency["max"])
        # The rollup's quantiles come from a DDSketch within 1 %: p90 <= p95 <= p99 up to that.
        assert latency["p90"] * 0.99 <= r["p95_latency_ms"] <= latency["p99"] * 1.01, (day, r, latency)
        # Nearest-rank p95 of the latencies that were sent (one sent as two times, not as latency_ms).
        sent = sorted(latency_of(e) for e in stack.envelopes if e["type"] == "media.analyzed" and e["time"][:10] == day)
        assert r["p95_latency_ms"] == sent[-(-95 * len(sent) // 100) - 1]


def latency_of(envelope: dict) -> float:
    data = envelope["data"]
    if "latency_ms" in data:
        return float(data["latency_ms"])
    import datetime as dt

    analyzed, uploaded = (dt.datetime.fromisoformat(data[k]) for k in ("analyzed_at", "uploaded_at"))
    return (analyzed - uploaded).total_seconds() * 1000


def test_transcription_minutes_by_language_agree_with_the_daily_rollups(con, daily):
    got = {(r["event_day"], r["transcript_language"]): r for r in rows(con, "transcription_minutes_by_language")}
    expected = {(day, lang): v for day, doc in daily.items() for lang, v in doc["transcription"]["by_language"].items()}
    assert set(got) == set(expected)
    for key, v in expected.items():
        assert got[key]["jobs"] == v["jobs"]
        assert got[key]["duration_ms"] == v["duration_ms"]
        assert got[key]["minutes"] == pytest.approx(v["minutes"], abs=1e-9)
    assert expected[(next(iter(daily)), "zh-CN")]["minutes"] == 2.0


def test_rollup_tables_read_the_documents(con, daily):
    relation = con.sql("SELECT period.id AS id, uploads.total AS uploads, verdicts.by_verdict['review'] AS review "
                       "FROM daily_rollups ORDER BY 1")
    assert relation.fetchall() == [(d, doc["uploads"]["total"], doc["verdicts"]["by_verdict"].get("review"))
                                   for d, doc in sorted(daily.items())]
    hours = con.sql("SELECT count(*), sum(events.total) FROM hourly_rollups").fetchall()
    assert hours[0] == (48, sum(doc["events"]["total"] for doc in daily.values()))


def test_make_query_prints_a_named_query_as_csv(stack):
    env = dict(stack.env())
    r = subprocess.run([sys.executable, "-m", "tools.report.query", "--named", "uploads_by_verdict_per_day", "--csv"],
                       cwd=ROOT, check=False, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "event_day,verdict,uploads"
    assert f"{stack.days[0]},approved,24" in lines


def test_a_wrong_query_is_a_clear_error_not_a_traceback(stack):
    r = subprocess.run([sys.executable, "-m", "tools.report.query", "--sql", "SELECT nope FROM raw_events"],
                       cwd=ROOT, check=False, capture_output=True, text=True, env=stack.env(), timeout=300)
    assert r.returncode == 1
    assert "nope" in r.stderr and "Traceback" not in r.stderr
