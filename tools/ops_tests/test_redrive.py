"""make redrive (tools/redrive.py) against the local AWS (a real moto server).

Faults moto cannot produce (a send or a delete failing part-way) are injected with botocore's
event hooks on the real client; the tests that do so say it in their names.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from tools import redrive

from .conftest import unique

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- helpers


def queue_arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def dead_letter_queue(sqs, name: str = "notifications-dlq") -> str:
    return sqs.create_queue(QueueName=unique(name), Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]


def work_queue(sqs, dlq_url: str, name: str = "notifications") -> str:
    """A queue whose redrive policy names the dead-letter queue, as in infra/template.yaml."""
    policy = {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": 5}
    return sqs.create_queue(
        QueueName=unique(name), Attributes={"VisibilityTimeout": "180", "RedrivePolicy": json.dumps(policy)}
    )["QueueUrl"]


def poison(sqs, dlq_url: str, body: str, reason: str) -> None:
    """A message as the functions dead-letter it (shared/src/batch.rs): body plus two attributes."""
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody=body,
        MessageAttributes={
            "failure_reason": {"DataType": "String", "StringValue": reason},
            "source_message_id": {"DataType": "String", "StringValue": f"id-of-{body}"},
        },
    )


def exhausted(sqs, dlq_url: str, body: str) -> None:
    """A message the redrive policy moved after maxReceiveCount: the producer's attributes, no reason."""
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody=body,
        MessageAttributes={
            "type": {"DataType": "String", "StringValue": "media.flagged"},
            "severity": {"DataType": "String", "StringValue": "warning"},
            "checksum": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )


def contents(sqs, url: str) -> list[dict]:
    """Every message in the queue, left visible afterwards."""
    found: dict[str, dict] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        for m in batch:
            found[m["MessageId"]] = m
    handles = [m["ReceiptHandle"] for m in found.values()]
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(handles[start:start + 10])],
        )
    return list(found.values())


def bodies(sqs, url: str) -> Counter:
    return Counter(m["Body"] for m in contents(sqs, url))


def hidden(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


def move(sqs, queue: str, **options) -> redrive.Outcome:
    return redrive.redrive(sqs, queue, wait_seconds=0, **options)


# --------------------------------------------------------------------------- moves


def test_every_message_moves_back_with_its_body_and_producer_attributes_but_not_the_failure_attributes(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i in range(3):
        poison(sqs, dlq, f"event-{i}", "webhook answered 503")
    exhausted(sqs, dlq, "flagged-event")

    outcome = move(sqs, dlq.rsplit("/", 1)[1])

    assert (outcome.moved, outcome.skipped, outcome.failed, outcome.left) == (4, 0, 0, 0)
    moved = {m["Body"]: m for m in contents(sqs, source)}
    assert sorted(moved) == ["event-0", "event-1", "event-2", "flagged-event"]
    assert contents(sqs, dlq) == []
    assert all("MessageAttributes" not in moved[f"event-{i}"] for i in range(3))
    kept = moved["flagged-event"]["MessageAttributes"]
    assert kept["type"]["StringValue"] == "media.flagged"
    assert kept["severity"]["StringValue"] == "warning"
    assert kept["checksum"]["BinaryValue"] == b"\x00\x01"
    name = lambda url: url.rsplit("/", 1)[1]  # noqa: E731
    assert outcome.sentence() == (
        f"Moved 4 messages from {name(dlq)} back to {name(source)}. About 0 messages are left in {name(dlq)}."
    )


def test_the_dead_letter_queue_is_found_by_name_url_or_arn(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i, queue in enumerate([dlq.rsplit("/", 1)[1], dlq, queue_arn(sqs, dlq)]):
        poison(sqs, dlq, f"event-{i}", "timeout")
        assert move(sqs, queue).moved == 1
    assert bodies(sqs, source) == Counter({"event-0": 1, "event-1": 1, "event-2": 1})


def test_match_moves_only_messages_whose_failure_reason_mentions_the_text_and_leaves_the_rest_visible(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i in range(3):
        poison(sqs, dlq, f"timeout-{i}", "dingtalk webhook timed out after 5000 ms")
    for i in range(2):
        poison(sqs, dlq, f"malformed-{i}", "malformed body: expected value at line 1 column 1")
    exhausted(sqs, dlq, "no-reason")

    outcome = move(sqs, dlq, match="TIMED OUT")

    assert (outcome.moved, outcome.skipped, outcome.failed, outcome.left) == (3, 3, 0, 3)
    assert bodies(sqs, source) == Counter({"timeout-0": 1, "timeout-1": 1, "timeout-2": 1})
    assert hidden(sqs, dlq) == 0, "skipped messages are visible again as soon as the run ends"
    assert bodies(sqs, dlq) == Counter({"malformed-0": 1, "malformed-1": 1, "no-reason": 1})
    assert 'skipped 3 whose failure reason does not mention "TIMED OUT"' in outcome.sentence()
    assert "About 3 messages are left in" in outcome.sentence()


def test_max_moves_at_most_that_many_and_a_second_run_moves_the_rest(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i in range(25):
        poison(sqs, dlq, f"event-{i}", "throttled")

    first = move(sqs, dlq, max_messages=12)
    assert (first.moved, first.left) == (12, 13)
    assert sum(bodies(sqs, source).values()) == 12
    assert hidden(sqs, dlq) == 0

    second = move(sqs, dlq, max_messages=100)
    assert (second.moved, second.left) == (13, 0)
    assert bodies(sqs, source) == Counter({f"event-{i}": 1 for i in range(25)})


def test_a_dry_run_changes_nothing_and_counts_what_would_move(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i in range(4):
        poison(sqs, dlq, f"timeout-{i}", "webhook timed out")
    poison(sqs, dlq, "malformed", "malformed body")
    exhausted(sqs, dlq, "no-reason")
    before = sorted((m["Body"], json.dumps(m.get("MessageAttributes"), sort_keys=True, default=str)) for m in contents(sqs, dlq))

    outcome = move(sqs, dlq, match="timed out", dry_run=True)

    assert (outcome.moved, outcome.skipped, outcome.left) == (4, 2, 6)
    after = sorted((m["Body"], json.dumps(m.get("MessageAttributes"), sort_keys=True, default=str)) for m in contents(sqs, dlq))
    assert after == before
    assert hidden(sqs, dlq) == 0
    assert contents(sqs, source) == []
    assert outcome.sentence().startswith("Dry run, nothing changed: would move 4 messages from ")
    assert outcome.reason_lines() == ["  4 x webhook timed out"]


# --------------------------------------------------------------------------- faults


def test_a_send_failing_half_way_loses_and_duplicates_nothing_injected_with_a_botocore_event_hook(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    everything = Counter({f"event-{i}": 1 for i in range(10)})
    for body in everything:
        poison(sqs, dlq, body, "webhook answered 503")

    attempts = []

    def network_down_after_four_sends(request, **_):
        attempts.append(request)
        if len(attempts) > 4:
            raise EndpointConnectionError(endpoint_url=request.url)

    sqs.meta.events.register("before-send.sqs.SendMessage", network_down_after_four_sends)
    try:
        outcome = move(sqs, dlq)
    finally:
        sqs.meta.events.unregister("before-send.sqs.SendMessage", network_down_after_four_sends)

    assert (outcome.moved, outcome.failed, outcome.left) == (4, 1, 6)
    assert len(attempts) == 4 + 4, "the failing send was tried once and retried three times by the SDK"
    in_source, in_dlq = bodies(sqs, source), bodies(sqs, dlq)
    assert sum(in_source.values()) == 4 and max(in_source.values()) == 1
    assert sum(in_dlq.values()) == 6 and max(in_dlq.values()) == 1
    assert in_source + in_dlq == everything, "every message is in exactly one queue"
    assert hidden(sqs, dlq) == 0, "what the run did not move is visible again at once"
    assert "1 could not be sent and stays in the dead-letter queue (Could not connect to the endpoint URL" in outcome.sentence()

    rerun = move(sqs, dlq)
    assert (rerun.moved, rerun.failed, rerun.left) == (6, 0, 0)
    assert bodies(sqs, source) == everything


def test_a_delete_failing_after_its_send_leaves_that_message_in_both_queues_and_says_so_injected_with_a_botocore_event_hook(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i in range(5):
        poison(sqs, dlq, f"event-{i}", "timeout")
    deletes = []

    class Refused:
        status_code = 500

    def second_delete_refused(**_):
        deletes.append(1)
        if len(deletes) == 2:
            return Refused(), {"Error": {"Code": "InternalError", "Message": "injected"}, "ResponseMetadata": {}}
        return None

    sqs.meta.events.register("before-call.sqs.DeleteMessage", second_delete_refused)
    try:
        outcome = move(sqs, dlq)
    finally:
        sqs.meta.events.unregister("before-call.sqs.DeleteMessage", second_delete_refused)

    assert (outcome.moved, outcome.not_deleted, outcome.failed, outcome.left) == (5, 1, 0, 1)
    in_source, in_dlq = bodies(sqs, source), bodies(sqs, dlq)
    assert in_source == Counter({f"event-{i}": 1 for i in range(5)})
    assert len(in_dlq) == 1 and set(in_dlq) <= set(in_source)
    assert "1 sent but could not be deleted from the dead-letter queue, so they are in both queues" in outcome.sentence()


# --------------------------------------------------------------------------- partitions and queue choice


def test_in_aws_china_the_queues_arns_are_read_not_built(sqs_china):
    dlq = dead_letter_queue(sqs_china)
    source = work_queue(sqs_china, dlq)
    arn = queue_arn(sqs_china, dlq)
    assert arn.startswith("arn:aws-cn:sqs:cn-northwest-1:")
    poison(sqs_china, dlq, "event", "timeout")

    outcome = move(sqs_china, arn)

    assert outcome.dead_letter_queue.arn == arn
    assert outcome.source.arn == queue_arn(sqs_china, source)
    assert bodies(sqs_china, source) == Counter({"event": 1})


def test_a_dead_letter_queue_of_several_queues_needs_source(sqs):
    dlq = dead_letter_queue(sqs, "shared-dlq")
    first, second = work_queue(sqs, dlq, "first"), work_queue(sqs, dlq, "second")
    poison(sqs, dlq, "event", "timeout")

    with pytest.raises(redrive.RedriveError) as error:
        move(sqs, dlq)
    for url in (first, second):
        assert url.rsplit("/", 1)[1] in str(error.value)
    assert "choose one with SOURCE=" in str(error.value)
    assert bodies(sqs, dlq) == Counter({"event": 1})

    assert move(sqs, dlq, source=second.rsplit("/", 1)[1]).moved == 1
    assert bodies(sqs, second) == Counter({"event": 1})
    assert contents(sqs, first) == []


def test_a_queue_that_is_no_dead_letter_queue_or_a_wrong_source_is_refused_before_anything_moves(sqs):
    lonely = dead_letter_queue(sqs, "scheduled-dlq")
    poison(sqs, lonely, "event", "timeout")
    with pytest.raises(redrive.RedriveError, match="is no queue's dead-letter queue"):
        move(sqs, lonely)

    dlq = dead_letter_queue(sqs)
    work_queue(sqs, dlq)
    other = work_queue(sqs, lonely, "other")
    with pytest.raises(redrive.RedriveError, match="does not send its dead letters to"):
        move(sqs, dlq, source=other)
    with pytest.raises(redrive.RedriveError, match="there is no queue no-such-queue-dlq"):
        move(sqs, "no-such-queue-dlq")
    assert bodies(sqs, lonely) == Counter({"event": 1})


# --------------------------------------------------------------------------- make redrive


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ, timeout=600)


def test_make_redrive_prints_a_sentence_a_person_reads(sqs):
    dlq = dead_letter_queue(sqs)
    source = work_queue(sqs, dlq)
    for i in range(2):
        poison(sqs, dlq, f"timeout-{i}", "webhook timed out after 5000 ms")
    poison(sqs, dlq, "malformed", "malformed body")
    dlq_name, source_name = dlq.rsplit("/", 1)[1], source.rsplit("/", 1)[1]

    dry = make("redrive", f"QUEUE={dlq_name}", "MATCH=timed out", "DRY_RUN=1")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"Dry run, nothing changed: would move 2 messages from {dlq_name} back to {source_name}; "
        f'skipped 1 whose failure reason does not mention "timed out". About 3 messages are left in {dlq_name}.',
        "Their failure reasons, most frequent first:",
        "  2 x webhook timed out after 5000 ms",
    ]

    real = make("redrive", f"QUEUE={dlq_name}", "MATCH=timed out", "MAX=1")
    assert real.returncode == 0, real.stderr
    assert real.stdout.strip() == (
        f"Moved 1 message from {dlq_name} back to {source_name}; skipped 0 whose failure reason does not "
        f'mention "timed out". About 2 messages are left in {dlq_name}.'
    )


def test_make_redrive_without_a_queue_or_with_an_unknown_one_says_what_to_do(sqs):
    usage = make("redrive")
    assert usage.returncode != 0
    assert "usage: make redrive QUEUE=" in usage.stderr

    unknown = make("redrive", "QUEUE=no-such-dlq")
    assert unknown.returncode != 0
    assert "redrive: there is no queue no-such-dlq in" in unknown.stderr
