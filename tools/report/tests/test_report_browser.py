"""`make report` opened in a real browser (headless Chromium): every chart shows the data points
the rollup documents (and Cost Explorer, and the dead-letter queues) hold, drawn inside the chart,
and the page asks the network for nothing."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.report.browser import Browser
from tools.report.tests import stack as stack_module

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "target" / "report"

# Reads every chart of the page as the browser laid it out.
READ_PAGE = """(() => {
  const charts = {};
  for (const section of document.querySelectorAll('section.chart')) {
    const svg = section.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : null;
    charts[section.id] = {
      empty: section.dataset.empty === 'true',
      sentence: (section.querySelector('.empty') || {}).textContent || null,
      points: [...section.querySelectorAll('.point')].map(p => {
        const r = p.getBoundingClientRect();
        return {series: p.dataset.series, x: p.dataset.x, value: Number(p.dataset.value), width: r.width, height: r.height,
                inside: !!box && r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1};
      }),
      references: [...section.querySelectorAll('.reference')].map(l => [l.dataset.label, Number(l.dataset.value)]),
      figures: Object.fromEntries([...section.querySelectorAll('tr.figure')].map(r => [r.dataset.path, Number(r.dataset.value)])),
    };
  }
  const headline = Object.fromEntries([...document.querySelectorAll('#headline tr.figure')].map(r => [r.dataset.path, Number(r.dataset.value)]));
  return {charts, headline, noData: !!document.getElementById('no-data'), title: document.title};
})()"""


def run_report(stack, out: Path, *args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "tools.report.report", "--out", str(out), *args],
                       cwd=ROOT, check=False, capture_output=True, text=True, env=stack.env(), timeout=300)
    assert r.returncode == 0, r.stderr
    assert str(out) in r.stdout


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def page(stack, now, browser):
    today = now.date()
    stack_module.load_spend(stack, today - dt.timedelta(days=6), today, today)
    out = OUT / "browser-test" / "index.html"
    run_report(stack, out)  # the default range: the last 7 days
    browser.open(out.as_uri())
    seen = browser.evaluate(READ_PAGE)
    seen["requests"] = browser.requested_urls()
    shot = browser.screenshot(OUT / "browser-test.png")
    seen["screenshot"] = shot
    return seen


def rollup(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def points(chart: dict) -> dict[tuple[str, str], float]:
    return {(p["series"], p["x"]): p["value"] for p in chart["points"]}


def test_the_page_is_drawn_offline_and_photographed(page):
    assert all(url.startswith(("file:", "data:")) for url in page["requests"]), page["requests"]
    png = page["screenshot"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert "Media suite report" in page["title"]
    for chart_id, chart in page["charts"].items():
        for p in chart["points"]:
            assert p["inside"], (chart_id, p)
            assert p["value"] == 0 or p["width"] * p["height"] > 0, (chart_id, p)


def test_uploads_per_hour_show_every_verdict_of_every_hourly_rollup(page, stack, s3):
    expected = {}
    for day in stack.days:
        for hour in range(24):
            doc = rollup(s3, stack.bucket, f"stats/hourly/{day.replace('-', '/')}/{hour:02d}.json")
            for verdict, n in doc["verdicts"]["by_verdict"].items():
                expected[(verdict, f"{day}T{hour:02d}")] = n
            for outcome in ("failed", "skipped"):
                if doc["uploads"]["by_outcome"].get(outcome):
                    expected[(outcome, f"{day}T{hour:02d}")] = doc["uploads"]["by_outcome"][outcome]
    assert points(page["charts"]["uploads-per-hour"]) == expected
    assert expected[("approved", f"{stack.days[0]}T09")] == 12
    assert expected[("skipped", f"{stack.days[0]}T09")] == 1


def test_daily_charts_show_what_the_daily_rollups_hold(page, stack, s3):
    daily = {d: rollup(s3, stack.bucket, f"stats/daily/{d.replace('-', '/')}.json") for d in stack.days}
    charts = page["charts"]
    categories: dict = {}
    for doc in daily.values():
        for c, n in doc["verdicts"]["by_category"].items():
            categories[("uploads", c)] = categories.get(("uploads", c), 0) + n
    assert points(charts["flagged-categories"]) == categories
    assert categories[("uploads", "Tobacco")] == 2  # two labels of one category on one upload count once
    assert points(charts["latency-per-day"]) == {(q, d): doc["latency_ms"][q] for d, doc in daily.items() for q in ("p50", "p90", "p99")}
    assert points(charts["transcription-by-language"]) == {
        (lang, d): v["minutes"] for d, doc in daily.items() for lang, v in doc["transcription"]["by_language"].items()}
    deliveries: dict = {}
    for doc in daily.values():
        for channel, v in doc["notifications"]["by_channel"].items():
            for what in ("delivered", "failed"):
                deliveries[(what, channel)] = deliveries.get((what, channel), 0) + v[what]
    assert points(charts["deliveries-by-channel"]) == deliveries
    assert deliveries == {("delivered", "dingtalk"): 3, ("failed", "dingtalk"): 1, ("delivered", "webhook"): 2, ("failed", "webhook"): 0}
    assert page["headline"]["events"] == sum(doc["events"]["total"] for doc in daily.values()) == len(stack.envelopes)
    assert page["headline"]["uploads"] == sum(doc["uploads"]["total"] for doc in daily.values())


def test_spend_budgets_and_dead_letters_are_drawn(page, stack, now):
    today = now.date()
    days = [(today - dt.timedelta(days=i)).isoformat() for i in range(6, -1, -1)]
    charts = page["charts"]
    assert points(charts["spend-per-day"]) == {(s, d): a for d in days for s, a in stack.spend[d].items()}
    daily_budget = stack_module.BUDGETS["daily"]
    assert sorted(v for _, v in charts["spend-per-day"]["references"]) == pytest.approx([daily_budget * t / 100 for t in (50, 80, 100)])
    month = [d for d in stack.spend if d[:7] == today.isoformat()[:7] and d <= today.isoformat()]
    month_to_date = sum(sum(stack.spend[d].values()) for d in month)
    budgets = points(charts["budgets"])
    assert budgets[("percent", "monthly")] == pytest.approx(100 * month_to_date / stack_module.BUDGETS["monthly"])
    lambda_mtd = sum(stack.spend[d]["AWS Lambda"] for d in month)
    assert budgets[("percent", "service:AWS Lambda")] == pytest.approx(100 * lambda_mtd / 3)
    assert budgets[("percent", f"daily:{today}")] == pytest.approx(100 * sum(stack.spend[today.isoformat()].values()) / daily_budget)
    assert ("percent", "forecast") in budgets
    assert points(charts["dead-letters"]) == {("messages", q): n for q, n in stack.dead_letters.items()}


def test_review_requests_are_listed_and_sections_without_data_say_so(page, stack):
    requested = sum(e["type"] == "media.flagged" and e["data"].get("verdict") == "review" for e in stack.envelopes)
    reviews = page["charts"]["section-reviews"]
    assert requested and not reviews["empty"]
    assert reviews["figures"]["reviews.requested"] == requested
    assert reviews["figures"]["reviews.approved"] == 0
    for section in ("section-deletions", "section-other"):
        assert page["charts"][section]["empty"], section
        assert "No data" in page["charts"][section]["sentence"] or "No other" in page["charts"][section]["sentence"]


def test_a_period_without_statistics_is_a_page_of_empty_charts(stack, browser):
    out = OUT / "browser-test" / "empty.html"
    run_report(stack, out, "--from", "2020-01-01", "--to", "2020-01-07")
    browser.open(out.as_uri())
    seen = browser.evaluate(READ_PAGE)
    assert seen["noData"]
    for chart_id in ("uploads-per-hour", "flagged-categories", "latency-per-day", "transcription-by-language",
                     "deliveries-by-channel", "spend-per-day"):
        chart = seen["charts"][chart_id]
        assert chart["empty"] and chart["sentence"] and not chart["points"], chart_id
