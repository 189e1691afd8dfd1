"""The demo's report for people (target/demo/report.md): what happened and how much, from report.json."""
from __future__ import annotations

import re

from tools.demo import narrative

INFERENCE = "84f6bb0955fc4e304f0cb7fa5bde1840"
RESULTS = "s3://demo1-dev-results-123456789012-us-east-1"


VERSION = "67975091-1e93-4e43-aa2d-fdeb518b5c0f"
APPROVE_INPUT = ('{"review":{"bucket":"demo1-media","decision":"approved","key":"videos/launch-teaser.mp4",'
                 f'"reviewer":"\\u003cyour name\\u003e","version_id":"{VERSION}"}}}}')
REVIEW_REQUEST = "\n\n".join([
    "[Warning] Video awaiting review: Violence 64.0 %",
    "*File*\nvideos/launch-teaser.mp4\n*Labels*\nViolence 64.0 %\n*Link valid until*\n2026-12-01 17:04 UTC",
    f"<http://127.0.0.1:4566/demo1-media/videos/launch-teaser.mp4?versionId={VERSION}&amp;X-Amz-Expires=86400|View the upload>",
    f"*Approve with*\n```aws lambda invoke --function-name ai-processor --payload '{APPROVE_INPUT}' /dev/stdout```",
    "*Reject with*\n```aws lambda invoke --function-name ai-processor --payload '{...}' /dev/stdout```",
    "`media.flagged` · 6c687d464464b29a76dbb4adc6b47113",
])
DECIDED_AT = "2026-11-30T17:04:24.204752479Z"


def sample_review() -> dict:
    """report.json's `review`: the video's request, the decision, its effects and its repetition."""
    entry = {"seq": 1, "decision": "approved", "reviewer": "mei.chen", "reason": "a crowd cheering; no one is hurt",
             "decided_at": DECIDED_AT, "from": "review", "to": "approved", "changed": False, "announced": True}
    answer = {"outcome": "recorded", "message": "recorded: the upload is approved", "verdict": "approved",
              "previous_verdict": "review", "changed": False, "reviewer": "mei.chen", "decided_at": DECIDED_AT}
    return {
        "key": "videos/launch-teaser.mp4", "version_id": VERSION, "verdict": "review", "labels": ["Violence 64 %"],
        "link_expires_at": "2026-12-01T17:04:14.457251833Z", "has_link": True, "link_ttl_seconds": 86400,
        "function_name": "ai-processor", "approve_command": f"aws lambda invoke --payload '{APPROVE_INPUT}' /dev/stdout",
        "request": {"channel": "moderators-slack", "why": "review request", "title": "[Warning] Video awaiting review: Violence 64.0 %",
                    "text": REVIEW_REQUEST, "event_type": "media.flagged", "event_id": "6c687d464464b29a76dbb4adc6b47113"},
        "decision": {"review": {"bucket": "demo1-media", "decision": "approved", "key": "videos/launch-teaser.mp4",
                                "reviewer": "mei.chen", "version_id": VERSION, "reason": "a crowd cheering; no one is hurt"}},
        "answer": answer,
        "before": {"tag": "review", "verdict": "review"}, "after": {"tag": "approved", "verdict": "approved"},
        "audit": [entry],
        "event": {"type": "media.reviewed", "id": "e176fbe295477eb7de48a9a5ad3a3d58", "severity": "info",
                  "data": {"decision": "approved", "reviewer": "mei.chen", "previous_verdict": "review", "changed": False,
                           "wait_ms": 15812, "decided_at": DECIDED_AT}},
        "events": 1,
        "delivered": [{"channel": "moderators-slack", "why": "review decision",
                       "title": "[Info] Approved by mei.chen after 15 s: videos/launch-teaser.mp4",
                       "text": "[Info] Approved by mei.chen after 15 s: videos/launch-teaser.mp4\n\n*Decision*\napproved",
                       "event_type": "media.reviewed", "event_id": "e176fbe295477eb7de48a9a5ad3a3d58"}],
        "again": {"answer": {**answer, "outcome": "already_recorded",
                             "message": f"already recorded: the upload was approved by mei.chen at {DECIDED_AT}; nothing changed"},
                  "audit_entries": 1, "events": 1, "deliveries": 0, "tag": "approved"},
    }


def sample_report() -> dict:
    """The parts of report.json a successful run writes (values as in a real run)."""
    return {
        "started": "2026-11-30 16:31 UTC",
        "steps": [{"step": "upload sample media", "ok": True, "detail": "5 uploads", "seconds": 0.04}],
        "stand_ins": ["moto's Transcribe writes no file: the demo writes them where Transcribe would"],
        "channels": {"dingtalk": "ops DingTalk robot (Chinese)", "cms-hook": "CMS webhook (English)",
                     "moderators-slack": "moderators' Slack channel (English)"},
        "uploads": {"videos/launch-teaser.mp4": {"kind": "video", "verdict": None, "tag": "pending", "status": "in_progress",
                                                 "moderation": "pending", "transcript": "pending", "text": "not_applicable"}},
        "async_video": {
            "key": "videos/launch-teaser.mp4", "endpoint": "demo-moderation-async", "inference_id": INFERENCE,
            "request_uri": f"{RESULTS}/sagemaker-async/requests/{INFERENCE}.json",
            "request": {"s3": {"bucket": "demo1-media", "key": "videos/launch-teaser.mp4"}, "kind": "video"},
            "answer_uri": "s3://sagemaker-output-1/response.json", "topic": "demo1-dev-sagemaker-async-success",
            "before": {"status": "in_progress", "tag": "pending", "moderation": "pending", "verdict": None},
            "after": {"verdict": "review", "tag": "review", "status": "in_progress", "moderation": "done",
                      "flagged": [{"name": "Violence", "category": "Violence", "confidence": 64.0, "verdict": "review"}],
                      "flagged_events": [{"severity": "warning"}]},
        },
        "document_text": {
            "key": "documents/contracts/service-agreement.pdf",
            "text_uri": f"{RESULTS}/text/documents/contracts/service-agreement.pdf.json", "pages": 2, "lines": 5,
            "language": "zh", "matched_terms": ["赌博"], "verdict": "review", "tag": "review",
            "first_lines": ["p.1: 服务合同", "p.2: 不涉及赌博"], "result_pages_read": 2, "announced": 1,
        },
        "subtitles": {"videos/launch-teaser.mp4": {
            "language": "en-US", "state": "done", "requested_formats": ["srt", "vtt"],
            "uris": [f"{RESULTS}/transcripts/job.srt", f"{RESULTS}/transcripts/job.vtt"],
            "first_cues": [{"start": "00:00:00,000", "end": "00:00:02,300", "text": "Welcome to the launch."}],
        }},
        "review": sample_review(),
        "deletions": [{"key": "videos/launch-teaser.mp4", "announced": 1, "removed_objects": 5, "delete_marker": False,
                       "objects": [{"what": "analysis document", "uri": f"{RESULTS}/analysis/videos/launch-teaser.mp4.json",
                                    "before": True, "after": False},
                                   {"what": "subtitles (SubRip)", "uri": f"{RESULTS}/transcripts/job.srt",
                                    "before": True, "after": False}]}],
        "cost_guard": {"currency": "USD"},
        "cost_crossings": [{"budget": "monthly", "period": "2026-11", "level": 80, "percent": 85.82, "spend": 8.582,
                            "amount": 10.0, "severity": "warning"},
                           {"budget": "daily", "period": "2026-11-30", "level": 50, "percent": 52.1212, "spend": 0.172,
                            "amount": 0.33, "severity": "info"}],
        "deliveries": [
            {"channel": "cms-hook", "why": "events", "title": "[Info] Daily budget 2026-11-30: 0.17 of 0.33 USD (52 %)",
             "text": "Spent 0.17 of 0.33 USD", "event_type": "cost.threshold", "threshold": 50},
            {"channel": "dingtalk", "why": "events", "title": "[信息] 每日预算 2026-11-30 已用 0.17 / 0.33 USD (52 %)",
             "text": "已用 0.17", "event_type": None, "threshold": None},
            {"channel": "dingtalk", "why": "events", "title": "[警告] 媒体内容需要审核 launch-teaser.mp4",
             "text": "审核", "event_type": None, "threshold": None},
        ],
        "digest": {
            "figures": {"period": "2026-11-30", "time_zone": "UTC", "uploads": 5, "flagged_uploads": 3,
                        "verdicts": {"approved": 1, "rejected": 1, "review": 2}, "transcription_jobs": 2,
                        "transcription_minutes": 0.2, "latency_ms": {"p50": 1200.0, "p95": 2724.9, "p99": 2724.9},
                        "notifications_delivered": 9, "notifications_failed": 0, "cost_alerts": 3,
                        "reviews": {"requested": 2, "approved": 1, "rejected": 0, "changed": 0, "pending": None,
                                    "wait_ms_p50": 15873.2, "wait_ms_p95": 15873.2}},
            "deliveries": [{"channel": "cms-hook", "why": "digest", "title": "[Info] Daily statistics 2026-11-30",
                            "text": "Uploads: 5 (3 flagged)\nAnalysis latency: p95 2.7 s", "event_type": "stats.digest"}],
        },
        "rollups": {"daily_key": "stats/daily/2026/11/30.json",
                    "daily": {"reviews": {"requested": 2, "approved": 1, "rejected": 0, "changed": 0, "first_decisions": 1,
                                          "wait_ms": {"count": 1, "p50": 15873.2}}}},
        "dead_letter_queues": {"AiJobsDLQ": 0, "MediaIngestDLQ": 0},
    }


def test_the_title_says_when_the_demo_ran():
    assert narrative.render(sample_report()).startswith("# What `make demo` did on 2026-11-30 16:31 UTC\n")


def test_the_asynchronous_video_is_pending_until_its_notification_then_has_its_verdict():
    text = narrative.render(sample_report())

    assert "## A video moderated on the asynchronous SageMaker endpoint" in text
    assert "the video was `in_progress` with tag `moderation-verdict=pending` and verdict none" in text
    assert "set the verdict **review** (Violence 64 %), tag `moderation-verdict=review`" in text
    assert "1 media.flagged, warning" in text


def test_the_document_s_text_uri_page_count_and_keywords_are_listed():
    text = narrative.render(sample_report())

    assert f"**2 pages**, 5 lines, language zh; the text is at {RESULTS}/text/documents/contracts/service-agreement.pdf.json" in text
    assert "matched 赌博; verdict **review**" in text
    assert "p.2: 不涉及赌博" in text


def test_subtitle_uris_and_first_cues_are_listed():
    text = narrative.render(sample_report())

    assert f"  - {RESULTS}/transcripts/job.srt" in text
    assert "00:00:00,000 --> 00:00:02,300  Welcome to the launch." in text


def review_section(report: dict) -> str:
    return narrative.render(report).split("## A moderator approves the video sent to review")[1].split("\n## ")[0]


def test_the_review_request_is_shown_as_the_moderators_received_it_with_expiry_and_commands():
    section = review_section(sample_report())

    assert (f"`videos/launch-teaser.mp4` (version `{VERSION}`) went to review (Violence 64 %). The moderators' Slack "
            "channel (English) received the request with a link to that version valid until 2026-12-01 17:04 UTC (24 h)") in section
    assert f"  *Approve with*\n  ```aws lambda invoke --function-name ai-processor --payload '{APPROVE_INPUT}'" in section


def test_the_commands_code_blocks_do_not_end_the_block_that_shows_the_message():
    lines = review_section(sample_report()).splitlines()

    opened = lines.index("  ````")
    block = "\n".join(lines[opened + 1:lines.index("  ````", opened + 1)])
    assert "*Reject with*" in block and block.endswith("`media.flagged` · 6c687d464464b29a76dbb4adc6b47113")


def test_the_decision_changes_the_tag_and_document_and_is_audited_and_announced_once():
    section = review_section(sample_report())

    assert "answer `recorded`, \"recorded: the upload is approved\"" in section
    assert "Tag `moderation-verdict`: `review` → `approved`; the analysis document's verdict review → **approved**" in section
    assert (f"  | 1 | mei.chen | {DECIDED_AT} | review | approved | a crowd cheering; no one is hurt | no | yes |") in section
    assert "`media.reviewed` published 1 time(s): approved by mei.chen, from review, 15.8 s from upload to decision" in section
    assert "moderators' Slack channel (English): **[Info] Approved by mei.chen after 15 s: videos/launch-teaser.mp4**" in section


def test_the_same_decision_again_is_shown_to_change_nothing():
    section = review_section(sample_report())

    assert ("The same decision sent again: answer `already_recorded`, \"already recorded: the upload was approved by "
            f"mei.chen at {DECIDED_AT}; nothing changed\"; still 1 audit entry, 1 `media.reviewed`, 0 new message(s), "
            "tag `approved`") in section


def test_a_run_that_stopped_after_the_review_request_shows_the_request_alone():
    report = sample_report()
    report["review"] = {k: v for k, v in report["review"].items()
                        if k in ("key", "version_id", "labels", "link_expires_at", "has_link", "link_ttl_seconds",
                                 "function_name", "request")}

    section = review_section(report)

    assert "*Approve with*" in section
    assert "Tag `moderation-verdict`" not in section and "same decision" not in section


def test_a_deletion_shows_each_derived_object_before_and_after():
    text = narrative.render(sample_report())

    assert "media.deleted published 1 time(s), 5 objects removed" in text
    assert "| analysis document | there | gone |" in text
    assert "| subtitles (SubRip) | there | gone |" in text


def test_the_50_percent_crossing_and_its_messages_as_delivered():
    text = narrative.render(sample_report())
    cost = text.split("## Cost alerts")[1].split("## ")[0]

    assert "daily budget 2026-11-30: 0.17 of 0.33 USD (52 %) crossed **50 %** (info)" in cost
    assert "monthly budget 2026-11: 8.58 of 10.00 USD (85 %) crossed **80 %** (warning)" in cost, "rounded down"
    assert "CMS webhook (English): **[Info] Daily budget 2026-11-30: 0.17 of 0.33 USD (52 %)**" in cost
    assert "ops DingTalk robot (Chinese): **[信息] 每日预算 2026-11-30" in cost
    assert "媒体内容需要审核" not in cost, "a moderation message is not a cost alert"


def test_the_digest_lists_its_figures_and_the_message_as_delivered():
    text = narrative.render(sample_report())
    digest = text.split("## The daily digest")[1].split("## ")[0]

    for figure in ("Day 2026-11-30 (UTC): 5 uploads, 3 flagged", "verdicts approved 1, rejected 1, review 2",
                   "p95 analysis latency 2.7 s", "0.2 transcription minutes (2 jobs)",
                   "9 notifications delivered, 0 failed", "3 cost alerts"):
        assert figure in digest
    assert "CMS webhook (English): **[Info] Daily statistics 2026-11-30**" in digest
    assert "Analysis latency: p95 2.7 s" in digest


def test_the_digest_shows_the_review_figures_and_the_rollup_that_counted_them():
    digest = narrative.render(sample_report()).split("## The daily digest")[1].split("## ")[0]

    assert ("Reviews: 2 requested, 1 approved, 0 rejected (0 changed), pending not known (no earlier day counted on this "
            "stack); upload to first decision p50 15.9 s, p95 15.9 s.") in digest
    assert ("The daily rollup `stats/daily/2026/11/30.json` counts them: 2 requested, 1 approved, 0 rejected, "
            "1 first decision(s), wait p50 15.9 s.") in digest


def test_a_known_pending_count_is_shown_and_a_digest_without_review_figures_has_no_review_line():
    report = sample_report()
    report["digest"]["figures"]["reviews"]["pending"] = 1
    assert "0 rejected (0 changed), 1 pending; upload" in narrative.render(report)

    del report["digest"]["figures"]["reviews"]
    assert "Reviews:" not in narrative.render(report).split("## The daily digest")[1]


def test_no_heading_names_an_internal_id_or_a_file():
    headings = [line for line in narrative.render(sample_report()).splitlines() if line.startswith("#")]

    assert len(headings) >= 10
    for heading in headings:
        assert not re.search(r"[0-9a-f]{16}|s3://|\.json|\.mp4|\.pdf", heading), heading


def test_a_failed_run_says_so_and_leaves_out_what_did_not_happen():
    report = {"steps": [{"step": "delete the video", "ok": False, "detail": "RuntimeError: no notification", "seconds": 2.2}],
              "stand_ins": []}

    text = narrative.render(report)

    assert text.startswith("# What `make demo` did (FAILED: see the steps)")
    assert "on " not in text.splitlines()[0], "no start time in the report, none in the title"
    assert "| delete the video | FAILED | 2.2 | RuntimeError: no notification |" in text
    assert "## Cost alerts" not in text and "## The daily digest" not in text
