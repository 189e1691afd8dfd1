"""What the report reads: rollup documents from the results bucket, spend from Cost Explorer,
budgets from the cost-guard configuration, dead-letter queue depths from SQS.

Works against the local AWS (AWS_ENDPOINT_URL, honoured by boto3) and a real account
(AWS_PROFILE / AWS_REGION). Anything that cannot be read becomes a sentence in the report,
never an exception: a report of a partly readable account is still a report.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOURLY = "stats/hourly/"
DAILY = "stats/daily/"
RAW = "stats/raw/"
# Where provisioning records the local stack (tools/provision.py --out).
RESOURCE_FILES = [ROOT / "target/local/resources.json", ROOT / "target/demo/resources.json"]


@dataclass
class Rollups:
    """The rollup documents of a range of UTC days; a missing document is absent, not zero."""

    days: list[str]
    daily: dict[str, dict] = field(default_factory=dict)
    hourly: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class Spend:
    """Cost Explorer's daily unblended cost by service, and the month-end forecast."""

    currency: str = "USD"
    by_day: dict[str, dict[str, float]] = field(default_factory=dict)
    estimated_days: set[str] = field(default_factory=set)
    forecast: float | None = None
    forecast_source: str = ""
    problem: str | None = None


@dataclass
class Budgets:
    """cost-guard's COST_BUDGETS as the report needs it."""

    currency: str
    monthly: float
    daily: float | None
    thresholds: list[int]
    forecast_threshold: int
    services: dict[str, float]
    other: float | None

    @staticmethod
    def parse(text: str) -> Budgets:
        doc = json.loads(text)
        return Budgets(
            currency=str(doc.get("currency", "USD")).upper(),
            monthly=float(doc["monthly"]),
            daily=float(doc["daily"]) if doc.get("daily") is not None else None,
            thresholds=sorted({int(t) for t in doc.get("thresholds") or [50, 80, 100]}),
            forecast_threshold=int(doc.get("forecast_threshold") or 100),
            services={str(k): float(v) for k, v in (doc.get("services") or {}).items()},
            other=float(doc["other"]) if doc.get("other") is not None else None,
        )


def days_between(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def day_path(day: str) -> str:
    return day.replace("-", "/")


def session():
    import boto3

    return boto3.session.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


def local_resources() -> dict | None:
    """The newest provisioned local stack, if any (only meaningful against the local AWS)."""
    files = [f for f in RESOURCE_FILES if f.exists()]
    if not files or not os.environ.get("AWS_ENDPOINT_URL"):
        return None
    return json.loads(max(files, key=lambda f: f.stat().st_mtime).read_text())


def results_bucket(s3) -> str:
    """RESULTS_BUCKET, else the provisioned local stack's, else the only `*-results-*` bucket."""
    if os.environ.get("RESULTS_BUCKET"):
        return os.environ["RESULTS_BUCKET"]
    resources = local_resources()
    if resources and "ResultsBucket" in resources.get("resources", {}):
        name = resources["resources"]["ResultsBucket"]["Ref"]
        if any(b["Name"] == name for b in s3.list_buckets().get("Buckets", [])):
            return name
    candidates = [b["Name"] for b in s3.list_buckets().get("Buckets", []) if "-results-" in b["Name"]]
    if len(candidates) == 1:
        return candidates[0]
    raise SystemExit("report: set RESULTS_BUCKET (the suite's results bucket); "
                     f"found {len(candidates)} buckets named *-results-*")


def _get_json(s3, bucket: str, key: str) -> tuple[dict | None, str | None]:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None, None
    except Exception as e:  # an unreadable document is reported, the rest goes on
        return None, f"could not be read ({type(e).__name__})"
    try:
        doc = json.loads(body)
    except ValueError:
        return None, "is not JSON"
    return (doc, None) if isinstance(doc, dict) else (None, "is not a JSON object")


def list_keys(s3, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)


def read_rollups(s3, bucket: str, days: list[str]) -> Rollups:
    """Daily and hourly documents of the days (hour ids `YYYY-MM-DDTHH`)."""
    out = Rollups(days=days)
    wanted: list[tuple[str, str, str]] = []
    for day in days:
        wanted.append(("daily", day, f"{DAILY}{day_path(day)}.json"))
        for key in list_keys(s3, bucket, f"{HOURLY}{day_path(day)}/"):
            hour = key.rsplit("/", 1)[-1].removesuffix(".json")
            if hour.isdigit():
                wanted.append(("hourly", f"{day}T{hour}", key))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda w: (w, _get_json(s3, bucket, w[2])), wanted))
    for (kind, period, _key), (doc, problem) in results:
        if problem:
            out.problems.append(f"the {kind} rollup of {period} {problem}")
        elif doc is not None:
            (out.daily if kind == "daily" else out.hourly)[period] = doc
    return out


def read_spend(ce, first: dt.date, last: dt.date, today: dt.date) -> Spend:
    """One GetCostAndUsage (DAILY, by SERVICE) from the earlier of `first` and the 1st of the
    month through `last`, and one GetCostForecast to month end: two billed requests on AWS."""
    spend = Spend()
    start = min(first, today.replace(day=1))
    try:
        pages, token = [], None
        while True:
            args = {"TimePeriod": {"Start": start.isoformat(), "End": (max(last, today) + dt.timedelta(days=1)).isoformat()},
                    "Granularity": "DAILY", "Metrics": ["UnblendedCost"],
                    "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]}
            if token:
                args["NextPageToken"] = token
            page = ce.get_cost_and_usage(**args)
            pages.append(page)
            token = page.get("NextPageToken")
            if not token:
                break
    except Exception as e:  # no permission, no Cost Explorer in the partition, ...
        spend.problem = f"Cost Explorer could not be read ({type(e).__name__})"
        return spend
    for page in pages:
        for result in page.get("ResultsByTime", []):
            day = result.get("TimePeriod", {}).get("Start", "")
            services = spend.by_day.setdefault(day, {})
            if result.get("Estimated"):
                spend.estimated_days.add(day)
            for group in result.get("Groups", []):
                metric = group.get("Metrics", {}).get("UnblendedCost", {})
                name = (group.get("Keys") or ["unknown"])[0]
                services[name] = services.get(name, 0.0) + float(metric.get("Amount") or 0)
                spend.currency = metric.get("Unit") or spend.currency
    month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    try:
        if today + dt.timedelta(days=1) < month_end:
            forecast = ce.get_cost_forecast(
                TimePeriod={"Start": (today + dt.timedelta(days=1)).isoformat(), "End": month_end.isoformat()},
                Metric="UNBLENDED_COST", Granularity="MONTHLY")
            spend.forecast = month_to_date(spend, today) + float(forecast["Total"]["Amount"])
            spend.forecast_source = "Cost Explorer"
    except Exception as e:  # refused with too little history, or not implemented locally
        spend.forecast_source = f"linear estimate: Cost Explorer's forecast was not available ({type(e).__name__})"
    if spend.forecast is None:
        days_in_month = (month_end - today.replace(day=1)).days
        spend.forecast = month_to_date(spend, today) / today.day * days_in_month
        spend.forecast_source = spend.forecast_source or "linear estimate from the month so far"
    return spend


def month_to_date(spend: Spend, today: dt.date) -> float:
    first = today.replace(day=1).isoformat()
    return sum(sum(s.values()) for day, s in spend.by_day.items() if first <= day <= today.isoformat())


def read_budgets(lambda_client=None, given: str | None = None) -> tuple[Budgets | None, str]:
    """`given`, else COST_BUDGETS, else the local stack's cost-guard environment, else the
    deployed function's (COST_GUARD_FUNCTION); the second value says where from or why none."""
    text, origin = given or os.environ.get("COST_BUDGETS"), "the cost-guard configuration (COST_BUDGETS)"
    if not text:
        resources = local_resources()
        text = ((resources or {}).get("functions", {}).get("cost-guard", {}).get("environment", {}).get("COST_BUDGETS"))
        origin = "the local stack's cost-guard configuration"
    if not text and os.environ.get("COST_GUARD_FUNCTION") and lambda_client is not None:
        try:
            config = lambda_client.get_function_configuration(FunctionName=os.environ["COST_GUARD_FUNCTION"])
            text = config.get("Environment", {}).get("Variables", {}).get("COST_BUDGETS")
            origin = "the deployed cost-guard's configuration"
        except Exception as e:  # any failure to read the configuration is reported as a sentence
            return None, f"the cost-guard configuration could not be read ({type(e).__name__})"
    if not text:
        return None, "no budgets known: set COST_BUDGETS or COST_GUARD_FUNCTION"
    try:
        return Budgets.parse(text), origin
    except (ValueError, KeyError, TypeError) as e:
        return None, f"the budgets are not readable ({type(e).__name__})"


def stack_prefix(bucket: str) -> str:
    """`media-suite-prod-` from `media-suite-prod-results-<account>-<region>` (the template's naming)."""
    head, sep, _ = bucket.partition("-results-")
    return head + "-" if sep else ""


def dead_letter_depths(sqs, bucket: str) -> tuple[dict[str, int], str | None]:
    """Messages waiting in each of the stack's `*-dlq` queues (visible plus in flight)."""
    prefix = stack_prefix(bucket)
    try:
        urls: list[str] = []
        for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix):
            urls.extend(page.get("QueueUrls", []))
        depths = {}
        for url in sorted(urls):
            name = url.rsplit("/", 1)[-1]
            if not name.endswith("-dlq"):
                continue
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            depths[name.removeprefix(prefix)] = int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
                attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
        return depths, None
    except Exception as e:  # any failure to read the queues is reported as a sentence
        return {}, f"the dead-letter queues could not be read ({type(e).__name__})"
