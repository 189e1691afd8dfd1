#!/usr/bin/env python3
"""`make report`: the suite's statistics as one self-contained HTML page.

  python -m tools.report.report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--days N] [--out FILE]

Reads the rollup documents of the results bucket (RESULTS_BUCKET, else the local stack's),
spend from Cost Explorer, budgets from COST_BUDGETS (else the local stack's cost-guard, else
the deployed function named by COST_GUARD_FUNCTION) and the stack's dead-letter queues.
AWS_ENDPOINT_URL selects the local AWS; otherwise AWS_PROFILE / AWS_REGION select an account.
Days are UTC, as the rollups are. Default: the last 7 days, today included.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from tools.report import page, source

DEFAULT_OUT = source.ROOT / "target" / "report" / "index.html"


def day_range(first: str | None, last: str | None, days: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    end = dt.date.fromisoformat(last) if last else today
    start = dt.date.fromisoformat(first) if first else end - dt.timedelta(days=(days or 7) - 1)
    if start > end:
        raise SystemExit(f"report: the range starts ({start}) after it ends ({end})")
    if (end - start).days > 92:
        raise SystemExit("report: at most 93 days at once (hourly charts would be unreadable)")
    return start, end


def write_report(out: Path, start: dt.date, end: dt.date, budgets_json: str | None = None,
                 now: dt.datetime | None = None) -> Path:
    """Reads everything, renders the page, writes it to `out`; returns `out`."""
    now = now or dt.datetime.now(dt.UTC)
    aws = source.session()
    s3 = aws.client("s3")
    bucket = source.results_bucket(s3)
    # Cost Explorer has one endpoint per partition: us-east-1, or cn-northwest-1 in aws-cn.
    ce_region = "cn-northwest-1" if (aws.region_name or "").startswith("cn-") else "us-east-1"
    budgets, origin = source.read_budgets(aws.client("lambda"), budgets_json)
    dlqs, dlq_problem = source.dead_letter_depths(aws.client("sqs"), bucket)
    inp = page.ReportInput(
        bucket=bucket,
        rollups=source.read_rollups(s3, bucket, source.days_between(start, end)),
        spend=source.read_spend(aws.client("ce", region_name=ce_region), start, end, now.date()),
        budgets=budgets,
        budgets_origin=origin,
        dead_letters=dlqs,
        dead_letters_problem=dlq_problem,
        today=now.date(),
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page.render(inp), encoding="utf-8")
    return out


def write_report_or_explain(out: Path, start: dt.date, end: dt.date, now: dt.datetime) -> Path:
    """write_report, with AWS problems said in a sentence instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return write_report(out, start, end, now=now)
    except NoCredentialsError as e:
        raise SystemExit("report: no AWS credentials and no local AWS running: start the local AWS "
                         "(eval \"$(tools/moto.sh start)\") and run make demo, or set AWS_PROFILE") from e
    except ClientError as e:
        error = e.response.get("Error", {})
        raise SystemExit(f"report: AWS refused {e.operation_name}: {error.get('Code')} {error.get('Message', '')}".rstrip()) from e
    except BotoCoreError as e:
        raise SystemExit(f"report: AWS could not be reached: {e}") from e


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="first", default=os.environ.get("FROM") or None, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--to", dest="last", default=os.environ.get("TO") or None, help="last day, YYYY-MM-DD (default today)")
    parser.add_argument("--days", type=int, default=int(os.environ.get("DAYS") or 7), help="days up to --to (default 7)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    try:
        start, end = day_range(args.first, args.last, args.days, now.date())
    except ValueError as e:
        raise SystemExit(f"report: {e} (days are written YYYY-MM-DD)") from e
    out = write_report_or_explain(Path(args.out), start, end, now)
    print(f"report: {start} to {end} written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
