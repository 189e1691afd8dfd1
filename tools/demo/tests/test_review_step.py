"""The demo's review step: reading the moderators' Slack message as delivered, taking the decision
input from its approve command, and judging what one decision and its repetition did."""
from __future__ import annotations

import copy
import json

import pytest

from tools.demo.deliveries import slack_message
from tools.demo.reviews import (
    command_input,
    decision_commands,
    decision_problems,
    expected_reviews,
    review_figure_problems,
)
from tools.demo.tests.test_narrative import sample_review

# An input as the notifier writes it (escape::inert_json): `'`, `<`, `>` and `&` as \u escapes.
INPUT = ('{"review":{"bucket":"demo1-media","decision":"approved","key":"videos/o\\u0027brien \\u0026 co/名字.mp4",'
         '"reviewer":"\\u003cyour name\\u003e","version_id":"v1"}}')


def slack_body(approve_input: str = INPUT) -> dict:
    """A review request as the notifier's Slack channel posts it (header, facts, link, commands, context)."""
    def command(decision_input: str) -> str:
        return f"aws lambda invoke --function-name ai-processor --payload '{decision_input}' /dev/stdout"

    return {
        "text": "[Warning] Video awaiting review: Violence 64.0 %",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "[Warning] Video awaiting review: Violence 64.0 %"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*File*\nvideos/launch-teaser.mp4"},
                                           {"type": "mrkdwn", "text": "*Link valid until*\n2026-12-01 17:04 UTC"}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "<http://127.0.0.1/m/v.mp4?a=1&amp;b=2|View the upload>"}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*Approve with*\n```{command(approve_input)}```"}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*Reject with*\n```{command(approve_input.replace('approved', 'rejected'))}```"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "`media.flagged` · 6c687d464464b29a76dbb4adc6b47113"}]},
        ],
    }


def test_a_slack_message_is_read_with_its_title_facts_link_commands_and_event():
    message = slack_message(slack_body())

    assert message["title"] == "[Warning] Video awaiting review: Violence 64.0 %"
    assert message["event_type"] == "media.flagged" and message["event_id"] == "6c687d464464b29a76dbb4adc6b47113"
    assert message["text"].startswith("[Warning] Video awaiting review: Violence 64.0 %\n\n*File*\nvideos/launch-teaser.mp4\n"
                                      "*Link valid until*\n2026-12-01 17:04 UTC\n\n<http://127.0.0.1/m/v.mp4?a=1&amp;b=2|")


def test_the_decision_input_is_read_back_exactly_from_the_approve_command():
    commands = decision_commands(slack_message(slack_body())["text"])

    assert set(commands) == {"Approve with", "Reject with"}
    decision = command_input(commands["Approve with"])
    assert decision == json.loads(INPUT)
    assert decision["review"]["key"] == "videos/o'brien & co/名字.mp4"
    assert decision["review"]["reviewer"] == "<your name>"
    assert command_input(commands["Reject with"])["review"]["decision"] == "rejected"


def test_a_command_without_a_decision_input_is_an_error():
    with pytest.raises(RuntimeError, match="no decision input"):
        command_input("aws lambda invoke --function-name ai-processor /dev/stdout")


def test_one_decision_recorded_tagged_audited_announced_once_and_a_repetition_without_effect_passes():
    assert decision_problems(sample_review()) == []


@pytest.mark.parametrize("change, problem", [
    (lambda r: r["answer"].update(outcome="already_recorded"), "the decision answered"),
    (lambda r: r["after"].update(tag="review"), "tag review -> review"),
    (lambda r: r["after"].update(verdict="review"), "document verdict review"),
    (lambda r: r["audit"].clear(), "audit trail []"),
    (lambda r: r["audit"][0].update(reviewer="someone else"), "audit trail"),
    (lambda r: r.update(events=2), "2 media.reviewed published"),
    (lambda r: r["delivered"].clear(), "reached the moderators 0 time(s)"),
    (lambda r: r["again"]["answer"].update(outcome="recorded"), "the same decision again answered"),
    (lambda r: r["again"].update(events=2), "after the same decision again: 1 audit entries, 2 media.reviewed"),
    (lambda r: r["again"].update(audit_entries=2), "2 audit entries"),
    (lambda r: r["again"].update(deliveries=1), "1 new messages"),
])
def test_a_decision_that_did_too_little_or_too_much_is_a_problem(change, problem):
    review = copy.deepcopy(sample_review())
    change(review)

    problems = decision_problems(review)

    assert any(problem in p for p in problems), problems


# --- the day's review figures: the daily rollup and the digest --------------------------------

EXPECTED = {"requested": 3, "approved": 1, "rejected": 0, "changed": 0, "first_decisions": 1, "withdrawn": 1,
            "waits_ms": [15812]}


def rollup_reviews() -> dict:
    return {"requested": 3, "approved": 1, "rejected": 0, "changed": 0, "first_decisions": 1, "withdrawn": 1,
            "wait_ms": {"count": 1, "min": 15812.0, "max": 15812.0, "p50": 15873.2, "p90": 15873.2, "p99": 15873.2},
            "pending": 1}


def digest_reviews() -> dict:
    return {"requested": 3, "approved": 1, "rejected": 0, "changed": 0, "withdrawn": 1, "pending": 1,
            "wait_ms_p50": 15873.2, "wait_ms_p95": 15873.2}


class PublishedEvents:
    """What `Demo.published` answers: the envelopes of a type seen on suite-events."""

    def __init__(self, events: list[dict]) -> None:
        self.events = events

    def published(self, event_type: str, subject_contains: str = "") -> list[dict]:
        return [e for e in self.events if e["type"] == event_type]


def test_the_expected_figures_come_from_the_requests_and_decisions_seen_once_each():
    flagged = [{"id": "a", "type": "media.flagged", "data": {"verdict": "review"}},
               {"id": "a", "type": "media.flagged", "data": {"verdict": "review"}},
               {"id": "b", "type": "media.flagged", "data": {"verdict": "review"}},
               {"id": "c", "type": "media.flagged", "data": {"verdict": "rejected"}}]
    deleted = [{"id": "x", "type": "media.deleted", "data": {"verdict": "review"}},
               {"id": "x", "type": "media.deleted", "data": {"verdict": "review"}},
               {"id": "y", "type": "media.deleted", "data": {"verdict": "approved"}}]
    reviewed = [{"id": "d", "type": "media.reviewed", "data": {"decision": "approved", "changed": False, "wait_ms": 15812}},
                {"id": "d", "type": "media.reviewed", "data": {"decision": "approved", "changed": False, "wait_ms": 15812}},
                {"id": "e", "type": "media.reviewed", "data": {"decision": "rejected", "changed": True, "wait_ms": 90000}}]

    expected = expected_reviews(PublishedEvents(flagged + reviewed + deleted))

    assert expected == {"requested": 2, "approved": 1, "rejected": 1, "changed": 1, "first_decisions": 1, "withdrawn": 1,
                        "waits_ms": [15812]}


def test_figures_that_match_within_the_sketch_s_accuracy_pass():
    assert review_figure_problems(EXPECTED, rollup_reviews(), digest_reviews()) == []


def test_a_digest_or_rollup_without_review_figures_fails():
    assert review_figure_problems(EXPECTED, rollup_reviews(), None)
    assert review_figure_problems(EXPECTED, None, digest_reviews())


@pytest.mark.parametrize("rollup, digest, problem", [
    ({"requested": 1}, {}, "rollup requested = 1, expected 3"),
    ({}, {"withdrawn": 0}, "digest withdrawn = 0, expected 1"),
    ({}, {"approved": 0}, "digest approved = 0, expected 1"),
    ({"first_decisions": 2}, {}, "rollup first_decisions = 2"),
    ({}, {"wait_ms_p50": None}, "digest wait p50 = None"),
    ({}, {"wait_ms_p95": 17000.0}, "digest wait p95 = 17000.0"),
    ({"wait_ms": {"p50": 9000.0}}, {}, "rollup wait p50 = 9000.0"),
    ({}, {"pending": 2}, "digest pending = 2, expected 1"),
    ({}, {"pending": None}, "digest pending = None, expected 1"),
    ({"pending": 0}, {}, "rollup pending = 0, expected 1"),
])
def test_a_figure_that_differs_from_what_happened_fails(rollup, digest, problem):
    problems = review_figure_problems(EXPECTED, {**rollup_reviews(), **rollup}, {**digest_reviews(), **digest})

    assert any(problem in p for p in problems), problems
