"""The demo's report for people: what happened and how much, as Markdown (target/demo/report.md,
also printed at the end of `make demo`). Built from the run's report.json only.

Each section is a function of the report that returns its lines, or nothing when the run has no
such part; a step that adds a part of the report adds its section to SECTIONS.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable

Section = Callable[[dict], list[str]]


def _code(text: str) -> list[str]:
    """A fenced block, its fence longer than any run of backticks in the text (a Slack message
    carries its commands in ``` blocks)."""
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", text))])
    return [fence, *text.rstrip("\n").splitlines(), fence]


def _minute(timestamp: str | None) -> str:
    """`2026-12-01T17:04:14.457251833Z` -> `2026-12-01 17:04 UTC`."""
    found = re.match(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", timestamp or "")
    return f"{found[1]} {found[2]} UTC" if found and (timestamp or "").endswith("Z") else (timestamp or "unknown")


def _channel(report: dict, channel: str) -> str:
    return report.get("channels", {}).get(channel, channel)


def _as_delivered(report: dict, delivered: list[dict]) -> list[str]:
    """Each message with its channel, title and text, as the channel received it."""
    lines = ["", "As delivered:", ""]
    for d in delivered:
        lines += [f"- {_channel(report, d['channel'])}: **{d['title']}**", ""]
        lines += ["  " + line for line in _code(d.get("text", ""))]
    return lines


def _percent(value) -> str:
    return f"{value:.0f} %" if isinstance(value, int | float) else "-"


def uploads(report: dict) -> list[str]:
    rows = report.get("uploads")
    if not rows:
        return []
    lines = ["## The uploads, after their upload events", "",
             "| upload | kind | verdict | still waiting for |", "|---|---|---|---|"]
    for key, u in rows.items():
        waiting = [part for part in ("moderation", "transcript", "text") if u.get(part) == "pending"]
        lines.append(f"| `{key}` | {u.get('kind')} | {u.get('verdict') or u.get('tag') or '-'} | "
                     f"{', '.join(waiting) or '-'} |")
    return lines


def async_video(report: dict) -> list[str]:
    v = report.get("async_video")
    if not v:
        return []
    before, after = v.get("before", {}), v.get("after", {})
    request = v.get("request", {}).get("s3", {})
    lines = ["## A video moderated on the asynchronous SageMaker endpoint", "",
             f"- `{v['key']}` went to the asynchronous endpoint `{v['endpoint']}` (`InvokeEndpointAsync`): the request "
             f"the model reads names the upload (bucket `{request.get('bucket')}`, key `{request.get('key')}`, kind "
             f"`{v.get('request', {}).get('kind')}`), never its bytes: {v['request_uri']}.",
             f"- Until the endpoint answered, the video was `{before.get('status')}` with tag "
             f"`moderation-verdict={before.get('tag')}` and verdict {before.get('verdict') or 'none'}."]
    if after:
        flagged = ", ".join(f"{f.get('category')} {_percent(f.get('confidence'))}" for f in after.get("flagged", []))
        events = after.get("flagged_events", [])
        announced = f", and announced it ({len(events)} media.flagged, {events[0].get('severity')})" if events else ""
        lines += [f"- The endpoint's success notification on topic `{v.get('topic')}` reached `ai-jobs`; ai-processor "
                  f"read the answer ({v.get('answer_uri')}) and set the verdict **{after.get('verdict')}**"
                  f"{f' ({flagged})' if flagged else ''}, tag `moderation-verdict={after.get('tag')}`{announced}.",
                  f"- The video is `{after.get('status')}` now"
                  f"{' (its transcript was still running)' if after.get('status') == 'in_progress' else ''}."]
    return lines


def document_text(report: dict) -> list[str]:
    d = report.get("document_text")
    if not d:
        return []
    matched = ", ".join(d.get("matched_terms") or [])
    lines = ["## Text extracted from a document", "",
             f"- `{d['key']}`: **{d.get('pages')} pages**, {d.get('lines')} lines, language {d.get('language') or 'unknown'}; "
             f"the text is at {d['text_uri']} (read in {d.get('result_pages_read')} result pages).",
             f"- Keyword list: {'matched ' + matched if matched else 'nothing matched'}; verdict **{d.get('verdict')}**, "
             f"tag `moderation-verdict={d.get('tag')}`; document.text_ready published {d.get('announced')} time(s).",
             "- First lines:", ""]
    return lines + _code("\n".join(d.get("first_lines") or []))


def subtitles(report: dict) -> list[str]:
    found = report.get("subtitles")
    if not found:
        return []
    lines = ["## Subtitles of the transcripts", ""]
    for key, t in found.items():
        lines += [f"- `{key}` ({t.get('language') or 'language unknown'}): Transcribe was asked for "
                  f"{', '.join(t.get('requested_formats') or []) or 'no'} subtitles; the analysis document and "
                  "transcript.ready name:"]
        lines += [f"  - {uri}" for uri in t.get("uris", [])]
        lines += ["", "  First cues:", ""]
        lines += ["  " + line for line in _code("\n".join(f"{c['start']} --> {c['end']}  {c['text']}"
                                                            for c in t.get("first_cues", [])))]
        lines.append("")
    return lines


def _duration(ms) -> str:
    if not isinstance(ms, int | float):
        return "unknown"
    seconds = ms / 1000
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def review_decision(report: dict) -> list[str]:
    r = report.get("review")
    if not r:
        return []
    request = r.get("request") or {}
    ttl = r.get("link_ttl_seconds")
    link = (f"a link to that version valid until {_minute(r.get('link_expires_at'))} ({ttl / 3600:g} h)" if r.get("has_link")
            else "no link (none could be signed)")
    lines = ["## A moderator approves the video sent to review", "",
             f"- `{r['key']}` (version `{r.get('version_id')}`) went to review ({', '.join(r.get('labels') or []) or 'no labels'}). "
             f"The {_channel(report, request.get('channel', ''))} received the request with {link} and the exact "
             f"commands to approve or reject (function `{r.get('function_name')}`):", ""]
    lines += ["  " + line for line in _code(request.get("text", ""))]
    if "answer" not in r:
        return lines
    decision, answer = r.get("decision", {}).get("review", {}), r["answer"]
    before, after = r.get("before", {}), r.get("after", {})
    lines += ["", f"- {decision.get('reviewer')} sent the approve command's input, with their name and a reason, as a "
              f"direct invocation of ai-processor (`cargo lambda invoke`, as `aws lambda invoke` would): answer "
              f"`{answer.get('outcome')}`, \"{answer.get('message')}\".",
              f"- Tag `moderation-verdict`: `{before.get('tag')}` → `{after.get('tag')}`; the analysis document's verdict "
              f"{before.get('verdict')} → **{after.get('verdict')}**.",
              "- The audit trail in the analysis document (`reviews`):", "",
              "  | # | who | when | from | to | why | changed | announced |", "  |---|---|---|---|---|---|---|---|"]
    lines += [f"  | {e.get('seq')} | {e.get('reviewer')} | {e.get('decided_at')} | {e.get('from')} | {e.get('to')} | "
              f"{(e.get('reason') or '-').replace('|', '/')} | {'yes' if e.get('changed') else 'no'} | "
              f"{'yes' if e.get('announced') else 'no'} |" for e in r.get("audit", [])]
    event = (r.get("event") or {}).get("data", {})
    lines += ["", f"- `media.reviewed` published {r.get('events')} time(s): {event.get('decision')} by "
              f"{event.get('reviewer')}, from {event.get('previous_verdict')}, {_duration(event.get('wait_ms'))} from "
              "upload to decision."]
    lines += _as_delivered(report, r.get("delivered", []))
    again = r.get("again")
    if again:
        lines += ["", f"- The same decision sent again: answer `{again['answer'].get('outcome')}`, "
                  f"\"{again['answer'].get('message')}\"; still {again.get('audit_entries')} audit entry, "
                  f"{again.get('events')} `media.reviewed`, {again.get('deliveries')} new message(s), tag "
                  f"`{again.get('tag')}`."]
    return lines


def deletions(report: dict) -> list[str]:
    found = report.get("deletions")
    if not found:
        return []
    lines = ["## Deleting an upload clears what was derived from it", ""]
    for d in found:
        how = "got a delete marker" if d.get("delete_marker") else "was deleted (its only version)"
        lines += [f"`{d['key']}` {how}; media.deleted published {d.get('announced')} time(s), "
                  f"{d.get('removed_objects')} objects removed:", "",
                  "| derived object | before | after |", "|---|---|---|"]
        lines += [f"| {o['what']} | {'there' if o['before'] else 'absent'} | {'still there' if o['after'] else 'gone'} |"
                  for o in d["objects"]]
        lines.append("")
    return lines


def _is_cost(d: dict) -> bool:
    # The webhook carries the event's type; a DingTalk message only its text ("预算" = budget).
    return (d.get("event_type") or "").startswith("cost.") or (d.get("event_type") is None and "预算" in d.get("title", ""))


def cost_alerts(report: dict) -> list[str]:
    crossings = report.get("cost_crossings")
    if crossings is None:
        return []
    currency = (report.get("cost_guard") or {}).get("currency", "")
    lines = ["## Cost alerts", ""]
    # Whole percents rounded down, as the notifier writes them: a budget is never said to be
    # further spent than it is.
    lines += [f"- {c['budget']} budget {c['period']}: {c['spend']:.2f} of {c['amount']:.2f} {currency} "
              f"({math.floor(c['percent'])} %) crossed **{c['level']} %** ({c['severity']})" for c in crossings]
    return lines + _as_delivered(report, [d for d in report.get("deliveries", []) if _is_cost(d)])


def digest(report: dict) -> list[str]:
    found = report.get("digest")
    if not found:
        return []
    f = found.get("figures", {})
    latency = f.get("latency_ms") or {}
    p95 = latency.get("p95")
    verdicts = ", ".join(f"{k} {v}" for k, v in (f.get("verdicts") or {}).items())
    lines = ["## The daily digest", "",
             f"Day {f.get('period')} ({f.get('time_zone', 'UTC')}): {f.get('uploads')} uploads, "
             f"{f.get('flagged_uploads')} flagged; verdicts {verdicts or 'none'}; "
             f"p95 analysis latency {f'{p95 / 1000:.1f} s' if isinstance(p95, int | float) else 'none'}; "
             f"{f.get('transcription_minutes', 0):.1f} transcription minutes ({f.get('transcription_jobs')} jobs); "
             f"{f.get('notifications_delivered')} notifications delivered, {f.get('notifications_failed')} failed; "
             f"{f.get('cost_alerts')} cost alerts."]
    return lines + _review_figures(report) + _as_delivered(report, found.get("deliveries", []))


def _review_figures(report: dict) -> list[str]:
    """The digest's review figures and the daily rollup's count they come from."""
    figures = (report.get("digest") or {}).get("figures", {}).get("reviews")
    if not figures:
        return []
    pending = figures.get("pending")
    rollups = report.get("rollups") or {}
    counted = (rollups.get("daily") or {}).get("reviews") or {}
    lines = ["", f"Reviews: {figures.get('requested')} requested, {figures.get('approved')} approved, "
             f"{figures.get('rejected')} rejected ({figures.get('changed')} changed), "
             f"{str(figures.get('withdrawn')) + ' deleted undecided, ' if figures.get('withdrawn') else ''}"
             f"{pending if pending is not None else 'pending not known (no earlier day counted on this stack)'}"
             f"{' pending' if pending is not None else ''}; upload to first decision p50 "
             f"{_duration(figures.get('wait_ms_p50'))}, p95 {_duration(figures.get('wait_ms_p95'))}."]
    if counted:
        lines += ["", f"The daily rollup `{rollups.get('daily_key')}` counts them: {counted.get('requested')} requested, "
                  f"{counted.get('approved')} approved, {counted.get('rejected')} rejected, {counted.get('first_decisions')} "
                  f"first decision(s), wait p50 {_duration((counted.get('wait_ms') or {}).get('p50'))}."]
    return lines


def deliveries(report: dict) -> list[str]:
    found = report.get("deliveries")
    if not found:
        return []
    lines = ["## Every message delivered", "", "| channel | message |", "|---|---|"]
    return lines + [f"| {_channel(report, d['channel'])} | {d['title']} |" for d in found]


def stand_ins(report: dict) -> list[str]:
    found = report.get("stand_ins")
    return ["## Local stand-ins (where moto lacks a service)", "", *[f"- {s}" for s in found]] if found else []


def dead_letter_queues(report: dict) -> list[str]:
    found = report.get("dead_letter_queues")
    if found is None:
        return []
    total = sum(found.values())
    return ["## Dead-letter queues", "",
            f"{total} message(s) in {len(found)} dead-letter queues" + (": " + ", ".join(f"{k} {v}" for k, v in found.items() if v)
                                                                        if total else ".")]


def steps(report: dict) -> list[str]:
    found = report.get("steps")
    if not found:
        return []
    lines = ["## Steps", "", "| step | result | seconds | detail |", "|---|---|---|---|"]
    return lines + [f"| {s['step']} | {'ok' if s['ok'] else 'FAILED'} | {s.get('seconds', 0):.1f} | "
                    f"{s.get('detail', '').replace('|', '/')} |" for s in found]


SECTIONS: list[Section] = [uploads, async_video, document_text, subtitles, review_decision, deletions, cost_alerts, digest,
                           deliveries, dead_letter_queues, stand_ins, steps]


def render(report: dict) -> str:
    ok = all(s.get("ok") for s in report.get("steps", []))
    when = f" on {report['started']}" if report.get("started") else ""
    lines = [f"# What `make demo` did{when}{'' if ok else ' (FAILED: see the steps)'}", ""]
    for section in SECTIONS:
        part = section(report)
        if part:
            lines += [*part, ""]
    return "\n".join(lines)
