#!/usr/bin/env python3
"""`make query`: SQL over the suite's raw events and rollups with DuckDB, locally.

  python -m tools.report.query --sql "SELECT ..."      (or --file infra/queries/NAME.sql, or --named NAME)

Copies `stats/raw/`, `stats/hourly/` and `stats/daily/` of the results bucket (local AWS, or an
account) into target/query/<bucket>/ — raw objects once (their keys are never rewritten), rollups
every time — and runs the SQL over three tables named as in Athena:

  raw_events       one row per raw event line: version, id, type, source, time, subject,
                   severity, data (struct of the fields below), and the partition columns
                   year, month, day, hour (strings, from the stats/raw/YYYY/MM/DD/HH/ layout)
  hourly_rollups   stats-aggregator's hourly documents (+ year, month, day)
  daily_rollups    its daily documents (+ year, month, day)

The named queries in infra/queries/ are written in Trino's dialect, which Athena runs; the two
Trino functions DuckDB lacks are defined here as macros (from_iso8601_timestamp,
approx_percentile, the latter computed exactly). Without a reachable bucket the last copy is used.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

from tools.report import source

QUERIES = source.ROOT / "infra" / "queries"
CACHE = source.ROOT / "target" / "query"

# The fields of `data` the queries and the rollups read (stats-aggregator's README lists them).
DATA_FIELDS = {
    "kind": "VARCHAR", "prefix": "VARCHAR", "size_bytes": "DOUBLE", "verdict": "VARCHAR",
    "moderation_labels": "JSON", "latency_ms": "DOUBLE", "uploaded_at": "VARCHAR", "analyzed_at": "VARCHAR",
    "language": "VARCHAR", "duration_seconds": "DOUBLE", "channel": "VARCHAR", "budget": "VARCHAR",
    "action": "VARCHAR", "mode": "VARCHAR", "key": "VARCHAR", "bucket": "VARCHAR",
}
RAW_COLUMNS = {
    "version": "INTEGER", "id": "VARCHAR", "type": "VARCHAR", "source": "VARCHAR", "time": "VARCHAR",
    "subject": "VARCHAR", "severity": "VARCHAR",
    "data": "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in DATA_FIELDS.items()) + ")",
}
COUNTS = "MAP(VARCHAR, BIGINT)"
ROLLUP_COLUMNS = {
    "schema_version": "INTEGER",
    "period": 'STRUCT(granularity VARCHAR, id VARCHAR, start VARCHAR, "end" VARCHAR)',
    "hours_with_data": "INTEGER",
    "sources": "STRUCT(objects BIGINT, lines BIGINT, malformed_lines BIGINT, unreadable_objects BIGINT, duplicate_events BIGINT)",
    "events": f"STRUCT(total BIGINT, by_type {COUNTS})",
    "uploads": f"STRUCT(total BIGINT, bytes BIGINT, by_outcome {COUNTS}, "
               "by_kind MAP(VARCHAR, STRUCT(count BIGINT, bytes BIGINT)), by_prefix MAP(VARCHAR, STRUCT(count BIGINT, bytes BIGINT)))",
    "verdicts": f"STRUCT(by_verdict {COUNTS}, by_category {COUNTS})",
    "transcription": "STRUCT(jobs BIGINT, duration_ms BIGINT, minutes DOUBLE, "
                     '"by_language" MAP(VARCHAR, STRUCT(jobs BIGINT, duration_ms BIGINT, minutes DOUBLE)))',
    "latency_ms": "STRUCT(count BIGINT, min DOUBLE, max DOUBLE, mean DOUBLE, p50 DOUBLE, p90 DOUBLE, p99 DOUBLE, "
                  "relative_accuracy DOUBLE, sketch VARCHAR)",
    "notifications": "STRUCT(delivered BIGINT, failed BIGINT, by_channel MAP(VARCHAR, STRUCT(delivered BIGINT, failed BIGINT)))",
    "cost": f"STRUCT(alerts BIGINT, alerts_by_severity {COUNTS}, alerts_by_budget {COUNTS}, actions BIGINT, "
            f"actions_by_action {COUNTS}, actions_by_mode {COUNTS})",
}
# Trino functions the named queries use that DuckDB names differently.
TRINO_MACROS = [
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO approx_percentile(x, p) AS quantile_disc(x, p)",
]
RAW_SUFFIXES = (".ndjson.zst", ".ndjson.gz", ".ndjson")


def local_path(key: str) -> Path | None:
    """Where an object of the bucket goes in the copy (hive-style directories), None if not ours."""
    parts = key.split("/")
    if key.startswith(source.RAW) and len(parts) == 7 and key.endswith(RAW_SUFFIXES):
        y, m, d, h, name = parts[2:]
        return Path("raw", f"year={y}", f"month={m}", f"day={d}", f"hour={h}", name)
    if key.startswith(source.HOURLY) and len(parts) == 6 and key.endswith(".json"):
        y, m, d, name = parts[2:]
        return Path("hourly", f"year={y}", f"month={m}", f"day={d}", name)
    if key.startswith(source.DAILY) and len(parts) == 5 and key.endswith(".json"):
        y, m, name = parts[2:]
        return Path("daily", f"year={y}", f"month={m}", f"day={name.removesuffix('.json')}", "rollup.json")
    return None


def copy_bucket(s3, bucket: str, dest: Path) -> dict[str, int]:
    """Mirrors the bucket's statistics into `dest`; returns how many objects were fetched / kept."""
    counts = {"fetched": 0, "kept": 0, "removed": 0}
    wanted: set[Path] = set()
    for prefix in (source.RAW, source.HOURLY, source.DAILY):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = local_path(obj["Key"])
                if rel is None:
                    continue
                wanted.add(rel)
                target = dest / rel
                # Raw objects are written once under a key derived from their content; rollups are rewritten.
                if rel.parts[0] == "raw" and target.exists() and target.stat().st_size == obj["Size"]:
                    counts["kept"] += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(target))
                counts["fetched"] += 1
    for old in [p for p in dest.rglob("*") if p.is_file() and p.relative_to(dest) not in wanted]:
        old.unlink()
        counts["removed"] += 1
    return counts


def _columns(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def _empty(columns: dict[str, str], partitions: list[str]) -> str:
    cols = [f"CAST(NULL AS {t}) AS \"{k}\"" for k, t in columns.items()] + [f"CAST(NULL AS VARCHAR) AS \"{p}\"" for p in partitions]
    return f"SELECT {', '.join(cols)} WHERE false"


def connect(copy: Path):
    """A DuckDB connection with raw_events, hourly_rollups and daily_rollups over the copy."""
    import duckdb

    con = duckdb.connect()
    for macro in TRINO_MACROS:
        con.execute(macro)
    raw = [str(copy / "raw" / "**" / f"*{suffix}") for suffix in RAW_SUFFIXES if any((copy / "raw").rglob(f"*{suffix}"))]
    if raw:
        con.execute(f"""CREATE VIEW raw_events AS SELECT * FROM read_json({raw!r}, format='newline_delimited',
            hive_partitioning=true, hive_types_autocast=false, columns={_columns(RAW_COLUMNS)})""")
    else:
        con.execute(f"CREATE VIEW raw_events AS {_empty(RAW_COLUMNS, ['year', 'month', 'day', 'hour'])}")
    for table, folder in (("hourly_rollups", "hourly"), ("daily_rollups", "daily")):
        if any((copy / folder).rglob("*.json")):
            con.execute(f"""CREATE VIEW {table} AS SELECT * FROM read_json('{copy / folder}/**/*.json', format='auto',
                hive_partitioning=true, hive_types_autocast=false, columns={_columns(ROLLUP_COLUMNS)})""")
        else:
            con.execute(f"CREATE VIEW {table} AS {_empty(ROLLUP_COLUMNS, ['year', 'month', 'day'])}")
    return con


def named_sql(name: str) -> str:
    path = QUERIES / f"{name.removesuffix('.sql')}.sql"
    if not path.exists():
        names = ", ".join(sorted(p.stem for p in QUERIES.glob("*.sql")))
        raise SystemExit(f"query: no named query {name!r}; there are: {names}")
    return path.read_text()


def refreshed_copy() -> Path:
    """Copies the bucket when one is reachable; else the newest earlier copy, saying so."""
    from botocore.exceptions import BotoCoreError, ClientError

    why = "no local AWS running, no AWS_PROFILE and no RESULTS_BUCKET"
    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_PROFILE") or os.environ.get("RESULTS_BUCKET"):
        try:
            s3 = source.session().client("s3")
            bucket = source.results_bucket(s3)
            dest = CACHE / bucket
            counts = copy_bucket(s3, bucket, dest)
            print(f"query: {counts['fetched']} objects copied, {counts['kept']} already here, "
                  f"{counts['removed']} no longer in the bucket", file=sys.stderr)
            return dest
        except SystemExit as e:
            why = str(e).removeprefix("report: ")
        except ClientError as e:
            why = f"AWS refused {e.operation_name}: {e.response.get('Error', {}).get('Code')}"
        except BotoCoreError as e:
            why = f"AWS could not be reached: {e}"
    copies = [p for p in CACHE.glob("*") if p.is_dir()] if CACHE.exists() else []
    if not copies:
        raise SystemExit(f"query: {why}, and no earlier copy in target/query/: run make demo first, "
                         "or point RESULTS_BUCKET (and AWS_PROFILE) at a results bucket")
    newest = max(copies, key=lambda p: p.stat().st_mtime)
    made = dt.datetime.fromtimestamp(newest.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"query: {why}; using the last copy of the statistics, made {made}", file=sys.stderr)
    return newest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--sql", help="the SQL to run")
    what.add_argument("--file", help="a file of SQL")
    what.add_argument("--named", help=f"a query of {QUERIES.relative_to(source.ROOT)}/ by name")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    args = parser.parse_args(argv)
    sql = args.sql or (Path(args.file).read_text() if args.file else named_sql(args.named))
    con = connect(refreshed_copy())
    import duckdb

    try:
        relation = con.sql(sql)
    except duckdb.Error as e:
        print(f"query: {e}", file=sys.stderr)
        return 1
    if relation is None:
        return 0
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(relation.columns)
        writer.writerows(relation.fetchall())
    else:
        relation.show(max_width=shutil.get_terminal_size((160, 20)).columns, max_rows=1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
