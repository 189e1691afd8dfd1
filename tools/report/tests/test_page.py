"""The page from rollup documents of any shape: fields missing, of another type, or new."""
from __future__ import annotations

import datetime as dt
import re

from tools.report import page
from tools.report.source import Budgets, Rollups, Spend

DAYS = ["2026-11-24", "2026-11-25"]


def render(daily: dict, hourly: dict | None = None, **kw) -> str:
    inp = page.ReportInput(
        bucket="b", rollups=Rollups(days=DAYS, daily=daily, hourly=hourly or {}),
        spend=kw.get("spend", Spend()), budgets=kw.get("budgets"), budgets_origin="COST_BUDGETS",
        dead_letters=kw.get("dead_letters", {}), dead_letters_problem=None,
        today=dt.date(2026, 11, 26), generated_at="now")
    return page.render(inp)


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section class="chart" id="{section_id}".*?</section>', html, re.DOTALL)
    assert match, section_id
    return match.group(0)


def test_fields_of_unexpected_shapes_read_as_no_data():
    odd = {
        "2026-11-24": {"schema_version": 1, "verdicts": "broken", "uploads": {"by_outcome": None, "total": "many"},
                       "transcription": {"by_language": {"en-US": 5, "zh-CN": {"duration_ms": 120000}}},
                       "latency_ms": {"p50": "fast", "p90": None}, "notifications": {"by_channel": [{"x": 1}]}},
        "2026-11-25": {},
    }
    html = render(odd, {"2026-11-24T03": {"verdicts": {"by_verdict": {"approved": "x", "review": 2}}},
                        "2026-11-24T04": {"verdicts": {"by_verdict": [{"approved": 1}], "by_category": ["Violence"]}},
                        "2026-11-24T05": [], "2026-11-24T06": {"uploads": 7, "verdicts": None}})
    assert 'data-series="review" data-x="2026-11-24T03" data-value="2"' in html
    assert 'data-series="zh-CN" data-x="2026-11-24" data-value="2"' in html  # minutes from duration_ms
    assert 'data-empty="true"' in section(html, "latency-per-day")
    assert "No deliveries" in section(html, "deliveries-by-channel")


def test_sections_other_producers_add_are_shown_when_present():
    docs = {"2026-11-24": {"reviews": {"decisions": 3, "by_decision": {"approve": 2, "reject": 1}},
                           "deletions": {"total": 4}, "moderation_appeals": {"opened": 1},
                           "uploads": {"by_outcome": {"skipped": 2}, "skipped_by_reason": {"too_large": 2}},
                           "notifications": {"review_decisions": {"approve": 5}}},
            "2026-11-25": {"reviews": {"decisions": 1, "by_decision": {"approve": 1}}}}
    html = render(docs)
    reviews = section(html, "section-reviews")
    assert 'data-path="reviews.decisions" data-value="4"' in reviews
    assert 'data-path="reviews.by_decision.approve" data-value="3"' in reviews
    assert 'data-path="deletions.total" data-value="4"' in section(html, "section-deletions")
    assert 'data-path="notifications.review_decisions.approve" data-value="5"' in reviews
    other = section(html, "section-other")
    assert 'data-path="moderation_appeals.opened" data-value="1"' in other
    assert 'data-path="uploads.skipped_by_reason.too_large" data-value="2"' in other
    assert "by_outcome" not in other


def test_a_section_of_zeros_says_no_data():
    docs = {"2026-11-24": {"reviews": {"requested": 0, "approved": 0, "wait_ms": {"count": 0, "p50": None}}}}
    reviews = section(render(docs), "section-reviews")
    assert 'data-empty="true"' in reviews and "No data" in reviews
    assert "data-path" not in reviews


def test_no_documents_is_a_page_of_sentences():
    html = render({}, spend=Spend(problem="Cost Explorer could not be read (AccessDeniedException)"))
    assert 'id="no-data"' in html
    assert html.count('data-empty="true"') >= 9
    assert "AccessDeniedException" in section(html, "spend-per-day")
    assert "AccessDeniedException" in section(html, "budgets")
    assert "No budgets" in section(render({}), "budgets")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_budgets_are_compared_with_month_to_date_spend_and_thresholds():
    spend = Spend(by_day={"2026-11-25": {"AWS Lambda": 2.0, "Amazon S3": 1.0}, "2026-11-26": {"AWS Lambda": 1.0},
                          "2026-10-31": {"AWS Lambda": 50.0}}, forecast=9.0, forecast_source="Cost Explorer")
    budgets = Budgets(currency="USD", monthly=5, daily=2, thresholds=[50, 80, 100], forecast_threshold=100,
                      services={"AWS Lambda": 2}, other=4)
    html = section(render({}, spend=spend, budgets=budgets), "budgets")
    assert 'data-x="monthly" data-value="80"' in html           # 4 of 5 this month, October left out
    assert 'data-x="forecast" data-value="180"' in html
    assert 'data-x="service:AWS Lambda" data-value="150"' in html
    assert 'data-x="other" data-value="25"' in html
    assert 'data-x="daily:2026-11-25" data-value="150"' in html
    assert re.search(r'<tr data-budget="monthly">.*?<td>80 %</td>', html)
