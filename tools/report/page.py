"""The report page: one self-contained HTML document (inline CSS and SVG, no script, no fetch).

Rollup documents are read as they are: any field may be missing (an older writer, a period with
nothing in it) or new (other producers add sections); a missing field reads as "no data", a
new top-level section is listed under "other figures", and nothing here raises on a key.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from tools.report import svg
from tools.report.source import Budgets, Rollups, Spend, month_to_date

VERDICTS = {"approved": "通过 approved", "review": "待复核 review", "rejected": "拒绝 rejected", "unknown": "未知 unknown"}
OUTCOMES = {"failed": "处理失败 failed", "skipped": "跳过 skipped"}
VERDICT_COLOURS = {"approved": "#4caf50", "review": "#f5a623", "rejected": "#d0021b", "unknown": "#9b9b9b",
                   "failed": "#6d4c41", "skipped": "#90a4ae"}
# Rollup fields this page draws (section -> fields; None: the whole section). Any other field,
# top-level or inside a known section, is listed under "other figures".
KNOWN_FIELDS: dict[str, set[str] | None] = {
    "schema_version": None, "period": None, "hours_with_data": None, "latency_ms": None,
    "sources": {"objects", "lines", "malformed_lines", "unreadable_objects", "duplicate_events"},
    "events": {"total", "by_type"},
    "uploads": {"total", "bytes", "by_outcome", "by_kind", "by_prefix"},
    "verdicts": {"by_verdict", "by_category"},
    "transcription": {"jobs", "duration_ms", "minutes", "by_language"},
    "notifications": {"delivered", "failed", "by_channel"},
    "cost": {"alerts", "alerts_by_severity", "alerts_by_budget", "actions", "actions_by_action", "actions_by_mode"},
}
# Sections other producers add, shown with their own heading when present.
NAMED_SECTIONS = [
    (("reviews", "review_decisions", "review"), "人工复核决定 · Review decisions"),
    (("deletions", "deleted"), "删除 · Deletions"),
]
MAX_SERIES = 8


@dataclass
class ReportInput:
    bucket: str
    rollups: Rollups
    spend: Spend
    budgets: Budgets | None
    budgets_origin: str
    dead_letters: dict[str, int]
    dead_letters_problem: str | None
    today: dt.date
    generated_at: str


def get(doc: dict | None, *path, default=None):
    """`doc[path[0]][path[1]]...`, or `default` when any step is missing or not an object."""
    value = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def mapping(doc: dict | None, *path) -> dict:
    """The object at `path`, or an empty one when it is missing or not an object."""
    value = get(doc, *path)
    return value if isinstance(value, dict) else {}


def number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def add_counts(total: dict, doc: dict) -> dict:
    """Adds the numbers of `doc` into `total` (nested objects merged, other values ignored)."""
    for key, value in doc.items():
        if isinstance(value, dict):
            if isinstance(total.setdefault(key, {}), dict):
                add_counts(total[key], value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] = number(total.get(key)) + value
    return total


def day_documents(rollups: Rollups) -> dict[str, dict]:
    """Per day: the daily document, else the sum of that day's hourly counts (no percentiles)."""
    out: dict[str, dict] = {}
    for day in rollups.days:
        if day in rollups.daily:
            out[day] = rollups.daily[day]
            continue
        hours = [doc for hour, doc in sorted(rollups.hourly.items()) if hour.startswith(day)]
        if hours:
            total: dict = {}
            for doc in hours:
                add_counts(total, {k: v for k, v in doc.items() if k not in ("latency_ms", "period", "schema_version")})
            out[day] = total
    return out


def label_totals(docs, *path) -> dict[str, float]:
    """Sums a label map (`{label: count}` or `{label: {field: n}}` read through `path`) over documents."""
    totals: dict[str, float] = {}
    for doc in docs:
        for label, value in mapping(doc, *path).items():
            totals[label] = totals.get(label, 0.0) + number(value)
    return totals


def ordered(labels, preferred) -> list[str]:
    return [p for p in preferred if p in labels] + sorted(set(labels) - set(preferred))


def figure(chart_id: str, title: str, body: str, empty: str | None, note: str = "") -> str:
    sentence = f'<p class="empty">{escape(empty)}</p>' if empty else ""
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return (f'<section class="chart" id="{chart_id}" data-chart="{chart_id}" data-empty="{"true" if empty else "false"}">'
            f"<h2>{escape(title)}</h2>{sentence}{body}{note_html}</section>")


def uploads_per_hour(inp: ReportInput) -> str:
    hours = [f"{day}T{h:02d}" for day in inp.rollups.days for h in range(24)]
    docs = [inp.rollups.hourly.get(h) for h in hours]
    verdicts = {v for d in docs for v in mapping(d, "verdicts", "by_verdict")}
    series = []
    for v in ordered(verdicts, list(VERDICTS)):
        series.append(svg.Series(v, VERDICTS.get(v, v), [number(get(d, "verdicts", "by_verdict", v)) or None for d in docs],
                                 VERDICT_COLOURS.get(v)))
    for outcome, label in OUTCOMES.items():
        values = [number(get(d, "uploads", "by_outcome", outcome)) or None for d in docs]
        if any(values):
            series.append(svg.Series(outcome, label, values, VERDICT_COLOURS[outcome]))
    labels = [h[5:10] if h.endswith("T00") else "" for h in hours] if len(hours) > 24 else [f"{h[11:]}:00" for h in hours]
    chart = svg.Chart(hours, series, unit="uploads", category_labels=labels)
    empty = None if any(s for s in series) else "此期间没有上传。No uploads in this period."
    title = "每小时上传 (按审核结果) · Uploads per hour by verdict"
    return figure("uploads-per-hour", title, svg.vertical_bars(chart, title), empty)


def flagged_categories(days: dict[str, dict]) -> str:
    totals = label_totals(days.values(), "verdicts", "by_category")
    labels = sorted(totals, key=lambda k: (-totals[k], k))
    chart = svg.Chart(labels, [svg.Series("uploads", "上传数 uploads", [totals[k] for k in labels], "#d0021b")], unit="")
    empty = None if labels else "没有被标记的类别。No upload was flagged in this period."
    title = "被标记的类别 · Flagged categories"
    return figure("flagged-categories", title, svg.horizontal_bars(chart, title), empty,
                  "Uploads with at least one moderation label of the category. 含该类别审核标签的上传数。")


def latency_per_day(inp: ReportInput, days: dict[str, dict]) -> str:
    series = []
    for q, colour in (("p50", "#2f7ed8"), ("p90", "#f28f43"), ("p99", "#c42525")):
        values = [get(inp.rollups.daily.get(d), "latency_ms", q) for d in inp.rollups.days]
        series.append(svg.Series(q, q, [number(v) if isinstance(v, (int, float)) else None for v in values], colour))
    chart = svg.Chart(inp.rollups.days, series, unit="ms", category_labels=[d[5:] for d in inp.rollups.days])
    has = any(v is not None for s in series for v in s.values)
    empty = None if has else "没有处理延迟数据。No upload was analysed in this period (or the daily rollup has not run yet)."
    partial = [d for d in inp.rollups.days if d in days and d not in inp.rollups.daily]
    note = ("Upload to analysis; percentiles from the daily rollups' DDSketch (within 1 %). 上传到分析完成的时间。"
            + (f" Days without a daily rollup yet (no percentiles): {', '.join(partial)}." if partial else ""))
    title = "处理延迟 p50 / p90 / p99 (每天) · Processing latency per day"
    return figure("latency-per-day", title, svg.lines(chart, title), empty, note)


def transcription_by_language(inp: ReportInput, days: dict[str, dict]) -> str:
    per_day = {d: mapping(days.get(d), "transcription", "by_language") for d in inp.rollups.days}
    languages = sorted({lang for v in per_day.values() for lang in v})

    def minutes(entry) -> float | None:
        if not isinstance(entry, dict):
            return None
        if isinstance(entry.get("minutes"), (int, float)):
            return float(entry["minutes"]) or None
        return number(entry.get("duration_ms")) / 60000 or None
    series = [svg.Series(lang, lang, [minutes(per_day[d].get(lang)) for d in inp.rollups.days]) for lang in languages]
    chart = svg.Chart(inp.rollups.days, series, unit="min", category_labels=[d[5:] for d in inp.rollups.days])
    empty = None if any(v for s in series for v in s.values) else "没有转写。No transcription in this period."
    title = "转写分钟数 (按语言) · Transcription minutes by language"
    return figure("transcription-by-language", title, svg.vertical_bars(chart, title), empty)


def deliveries_by_channel(days: dict[str, dict]) -> str:
    delivered: dict[str, float] = {}
    failed: dict[str, float] = {}
    for doc in days.values():
        for channel, counts in mapping(doc, "notifications", "by_channel").items():
            delivered[channel] = delivered.get(channel, 0.0) + number(get(counts, "delivered"))
            failed[channel] = failed.get(channel, 0.0) + number(get(counts, "failed"))
    channels = sorted(delivered, key=lambda c: (-(delivered[c] + failed[c]), c))
    chart = svg.Chart(channels, [svg.Series("delivered", "送达 delivered", [delivered[c] for c in channels], "#4caf50"),
                                 svg.Series("failed", "失败 failed", [failed[c] for c in channels], "#d0021b")])
    empty = None if channels else "没有投递记录。No deliveries or failures were counted in this period."
    title = "按渠道的投递与失败 · Deliveries and failures by channel"
    return figure("deliveries-by-channel", title, svg.horizontal_bars(chart, title), empty)


def spend_per_day(inp: ReportInput) -> str:
    spend, days = inp.spend, inp.rollups.days
    totals: dict[str, float] = {}
    for d in days:
        for service, amount in spend.by_day.get(d, {}).items():
            totals[service] = totals.get(service, 0.0) + amount
    top = sorted(totals, key=lambda s: (-totals[s], s))
    named, rest = top[:MAX_SERIES - 1], top[MAX_SERIES - 1:]
    series = [svg.Series(s, s, [spend.by_day.get(d, {}).get(s) or None for d in days]) for s in named]
    if rest:
        series.append(svg.Series("other services", "其他 other services",
                                 [sum(spend.by_day.get(d, {}).get(s, 0.0) for s in rest) or None for d in days]))
    references = []
    if inp.budgets and inp.budgets.daily:
        for t in inp.budgets.thresholds:
            references.append(svg.Reference(inp.budgets.daily * t / 100, f"每日预算 daily budget {t} %",
                                            "#c42525" if t >= 100 else "#f28f43"))
    chart = svg.Chart(days, series, unit=spend.currency, references=references, category_labels=[d[5:] for d in days])
    if spend.problem:
        empty = f"{spend.problem}. 无法读取费用。"
    elif not any(v for s in series for v in s.values):
        empty = "此期间没有费用。No spend in this period."
    else:
        empty = None
    estimated = sorted(d for d in spend.estimated_days if d in days)
    note = f"Cost Explorer, unblended cost by service. Estimated days 估算: {', '.join(estimated)}." if estimated else \
        "Cost Explorer, unblended cost by service."
    title = "每日费用 (按服务) · Spend per day by service"
    return figure("spend-per-day", title, svg.vertical_bars(chart, title), empty, note)


def budget_rows(inp: ReportInput) -> list[tuple[str, str, float, float, int]]:
    """(id, label, spend, budget amount, threshold in % that matters for the row)."""
    b, spend, today = inp.budgets, inp.spend, inp.today
    if b is None or spend.problem:
        return []
    month = today.strftime("%Y-%m")
    mtd = month_to_date(spend, today)
    top = max(b.thresholds)
    rows = [("monthly", f"月度 monthly {month}", mtd, b.monthly, top)]
    if spend.forecast is not None:
        rows.append(("forecast", f"月末预测 forecast {month}", spend.forecast, b.monthly, b.forecast_threshold))
    if b.daily:
        for day in (today - dt.timedelta(days=1), today):
            rows.append((f"daily:{day}", f"每日 daily {day}", sum(spend.by_day.get(day.isoformat(), {}).values()), b.daily, top))
    first = today.replace(day=1).isoformat()

    def service_mtd(names) -> float:
        return sum(amount for d, s in spend.by_day.items() if first <= d <= today.isoformat()
                   for service, amount in s.items() if service in names)
    for service, amount in sorted(b.services.items()):
        rows.append((f"service:{service}", service, service_mtd({service}), amount, top))
    if b.other:
        others = {s for day in spend.by_day.values() for s in day} - set(b.services)
        rows.append(("other", "其他服务 other services", service_mtd(others), b.other, top))
    return rows


def budgets_chart(inp: ReportInput) -> str:
    rows = budget_rows(inp)
    b = inp.budgets
    percents = [100 * spent / amount for _, _, spent, amount, _ in rows]
    chart = svg.Chart([r[0] for r in rows], [svg.Series("percent", "已用预算 % of budget", percents, "#2f7ed8")], unit=" %",
                      references=[svg.Reference(t, f"阈值 threshold {t} %", "#c42525" if t >= 100 else "#f28f43")
                                  for t in (b.thresholds if b else [])],
                      category_labels=[r[1] for r in rows])
    if inp.spend.problem:
        empty = f"{inp.spend.problem}. 无法读取费用。"
    elif b is None:
        empty = f"没有预算。No budgets: {inp.budgets_origin}."
    else:
        empty = None
    table = ""
    if rows:
        body = "".join(
            f'<tr data-budget="{escape(rid)}"><td>{escape(label)}</td><td>{spent:.2f}</td><td>{amount:.2f}</td>'
            f"<td>{100 * spent / amount:.1f} %</td><td>{reached(b, 100 * spent / amount, limit)}</td></tr>"
            for rid, label, spent, amount, limit in rows)
        table = (f"<table><thead><tr><th>预算 budget</th><th>费用 spend ({escape(b.currency)})</th><th>预算 amount</th>"
                 f"<th>%</th><th>已达阈值 threshold reached</th></tr></thead><tbody>{body}</tbody></table>")
    note = ""
    if b is not None:
        note = (f"Budgets from {inp.budgets_origin}; thresholds {', '.join(f'{t} %' for t in b.thresholds)}; "
                f"forecast alert at {b.forecast_threshold} % of the monthly budget. Forecast: {inp.spend.forecast_source}.")
    title = "预算使用 · Spend against budgets"
    return figure("budgets", title, svg.horizontal_bars(chart, title, axis_max=max([125.0, *percents])) + table, empty, note)


def reached(b: Budgets, percent: float, limit: int) -> str:
    levels = [t for t in b.thresholds if percent >= t]
    if limit not in b.thresholds and percent >= limit:
        levels.append(limit)
    return f"{max(levels)} %" if levels else "—"


def dead_letters(inp: ReportInput) -> str:
    queues = sorted(inp.dead_letters)
    chart = svg.Chart(queues, [svg.Series("messages", "消息 messages", [float(inp.dead_letters[q]) for q in queues], "#d0021b")])
    if inp.dead_letters_problem:
        empty = f"{inp.dead_letters_problem}. 无法读取死信队列。"
    elif not queues:
        empty = "没有找到死信队列。No dead-letter queues (*-dlq) were found for this stack."
    elif not any(inp.dead_letters.values()):
        empty = "死信队列为空。Every dead-letter queue is empty."
    else:
        empty = None
    title = "死信队列深度 · Dead-letter queue depths"
    return figure("dead-letters", title, svg.horizontal_bars(chart, title), empty, "Now, not over the period. 当前值。")


def flatten(value, prefix: str = "") -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [pair for k, v in sorted(value.items()) for pair in flatten(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [(prefix, float(value))]
    return []


def figures_table(section_id: str, title: str, rows: list[tuple[str, float]], empty: str) -> str:
    body = "".join(f'<tr class="figure" data-path="{escape(p)}" data-value="{svg.data_value(v)}"><td>{escape(p)}</td>'
                   f"<td>{escape(svg.fmt(v))}</td></tr>" for p, v in rows)
    table = f"<table><tbody>{body}</tbody></table>" if rows else ""
    return figure(section_id, title, table, None if rows else empty)


def unknown_fields(doc: dict) -> dict:
    """The parts of a rollup document this page does not draw (new producers' fields)."""
    out: dict = {}
    for key, value in doc.items():
        if key not in KNOWN_FIELDS:
            out[key] = value
        elif KNOWN_FIELDS[key] is not None and isinstance(value, dict):
            rest = {k: v for k, v in value.items() if k not in KNOWN_FIELDS[key]}
            if rest:
                out[key] = rest
    return out


def extra_sections(days: dict[str, dict]) -> str:
    """Fields other producers add: named ones (top level or one level down) with their heading,
    the rest as "other figures"."""
    summed: dict = {}
    for doc in days.values():
        add_counts(summed, {k: v for k, v in unknown_fields(doc).items() if isinstance(v, dict)})
    out = []
    for names, title in NAMED_SECTIONS:
        rows = []
        for parent in [None, *sorted(summed)]:
            holder = summed if parent is None else summed.get(parent)
            for name in names:
                if isinstance(holder, dict) and isinstance(holder.get(name), dict):
                    rows += flatten(holder.pop(name), name if parent is None else f"{parent}.{name}")
        # A producer that writes its section on every document (stats' review counts) writes
        # zeros on days without any: that is no data, not a table of zeros.
        if not any(v for _, v in rows):
            rows = []
        out.append(figures_table(f"section-{names[0]}", title, rows, "没有数据。No data in the rollups for this period."))
    rows = [pair for name in sorted(summed) for pair in flatten(summed[name], name)]
    out.append(figures_table("section-other", "其他数字 · Other figures in the rollups", rows,
                             "没有其他数据。No other figures in the rollups."))
    return "".join(out)


def headline(days: dict[str, dict]) -> str:
    docs = list(days.values())

    def total(*path) -> float:
        return sum(number(get(d, *path)) for d in docs)
    flagged = sum(label_totals(docs, "verdicts", "by_verdict").get(v, 0.0) for v in ("review", "rejected"))
    rows = [("events", "事件 events", total("events", "total")), ("uploads", "上传 uploads", total("uploads", "total")),
            ("flagged", "被标记 flagged (review + rejected)", flagged),
            ("transcription_jobs", "转写任务 transcription jobs", total("transcription", "jobs")),
            ("transcription_minutes", "转写分钟 transcription minutes", round(total("transcription", "duration_ms") / 60000, 3)),
            ("delivered", "送达 deliveries", total("notifications", "delivered")),
            ("failed", "投递失败 failed deliveries", total("notifications", "failed")),
            ("cost_alerts", "费用告警 cost alerts", total("cost", "alerts")),
            ("malformed_lines", "无效行 malformed lines", total("sources", "malformed_lines")),
            ("duplicate_events", "重复事件 duplicate events", total("sources", "duplicate_events"))]
    body = "".join(f'<tr class="figure" data-path="{key}" data-value="{svg.data_value(v)}"><td>{escape(label)}</td>'
                   f"<td>{escape(svg.fmt(v))}</td></tr>" for key, label, v in rows)
    return f'<section id="headline"><h2>总览 · At a glance</h2><table><tbody>{body}</tbody></table></section>'


STYLE = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:16px;margin:0 0 8px} .meta,.note{color:#666;font-size:12px}
section{border:1px solid #e3e3e3;border-radius:6px;padding:12px 16px;margin:16px 0}
.empty{color:#8a6d3b;background:#fcf8e3;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;font-size:13px;margin-top:8px} td,th{border-bottom:1px solid #eee;padding:4px 10px;text-align:left}
.problems{color:#a94442}
"""


def render(inp: ReportInput) -> str:
    days = day_documents(inp.rollups)
    first, last = inp.rollups.days[0], inp.rollups.days[-1]
    found = (f"{len(inp.rollups.daily)} daily and {len(inp.rollups.hourly)} hourly rollup documents"
             if days else "no rollup documents")
    banner = "" if days else ('<p class="empty" id="no-data">此期间没有统计数据。No statistics for these days: '
                              "the stats-aggregator has written no rollup for them.</p>")
    problems = "".join(f"<li>{escape(p)}</li>" for p in inp.rollups.problems)
    problems_html = f'<ul class="problems">{problems}</ul>' if problems else ""
    sections = [
        headline(days),
        uploads_per_hour(inp),
        flagged_categories(days),
        latency_per_day(inp, days),
        transcription_by_language(inp, days),
        deliveries_by_channel(days),
        spend_per_day(inp),
        budgets_chart(inp),
        dead_letters(inp),
        extra_sections(days),
    ]
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>媒体套件报告 · Media suite report {first} to {last}</title><style>{STYLE}</style></head><body>"
        f"<h1>媒体套件报告 · Media suite report</h1>"
        f'<p class="meta">{first} to {last} (UTC) · {escape(found)} · bucket {escape(inp.bucket)} · '
        f"generated {escape(inp.generated_at)}</p>{banner}{problems_html}"
        + "".join(sections) + "</body></html>\n"
    )
