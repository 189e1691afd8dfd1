#!/usr/bin/env python3
"""Moves messages from a dead-letter queue back to the queue whose redrive policy names it.

  python -m tools.redrive QUEUE [--source QUEUE] [--match TEXT] [--max N] [--dry-run]
  make redrive QUEUE=<dlq name, URL or ARN> [SOURCE=...] [MATCH=...] [MAX=N] [DRY_RUN=1]

Why not SQS's own StartMessageMoveTask: AWS China's SQS and the local AWS (moto) do not have it,
and it cannot filter. This uses only ReceiveMessage, SendMessage, DeleteMessage,
ChangeMessageVisibility, GetQueueUrl, GetQueueAttributes and ListDeadLetterSourceQueues, which
exist in every partition; ARNs are read from the queues, never built, so `aws-cn` works as `aws`.

Guarantees:
- a message is deleted from the dead-letter queue only after its copy was sent, so nothing is lost;
  the first send that fails (after the SDK's retries) stops the run, that message and every one
  not yet handled stay where they are, and a re-run carries on;
- the body and the producer's message attributes are sent unchanged (and the X-Ray trace header);
  `failure_reason` and `source_message_id`, which the functions add when they dead-letter a message,
  are dropped: they describe the last failure, and a message that fails again through the redrive
  policy (after maxReceiveCount) would otherwise reach the dead-letter queue carrying a stale reason;
  they also take two of SQS's ten attributes per message;
- messages left behind (skipped by --match, the dry run, a failed send) are made visible again when
  the run ends, so the operator sees them at once;
- the one duplicate possible is a message whose delete fails after its send succeeded: it is then
  in both queues, the run says so, and the functions' idempotency gives the second copy no effect.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

# Attributes the functions add when they move a poison message (shared/src/batch.rs).
FAILURE_ATTRIBUTES = ("failure_reason", "source_message_id")
# System attributes SendMessage accepts back.
KEPT_SYSTEM_ATTRIBUTES = ("AWSTraceHeader",)
# How long a received message stays hidden while the run decides about it; released at the end.
HOLD_SECONDS = 300
# Messages the redrive policy moved after maxReceiveCount carry no reason.
NO_REASON = "(no failure reason: moved by the redrive policy)"


class RedriveError(Exception):
    """The move cannot start: unknown queue, no or ambiguous source queue."""


@dataclass
class Queue:
    url: str
    arn: str

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


@dataclass
class Outcome:
    dead_letter_queue: Queue
    source: Queue
    dry_run: bool
    match: str | None
    moved: int = 0
    skipped: int = 0
    failed: int = 0
    failure: str | None = None
    # sent, but the delete from the dead-letter queue failed: in both queues now
    not_deleted: int = 0
    left: int | None = None
    reasons: Counter = field(default_factory=Counter)

    def sentence(self) -> str:
        dlq, source = self.dead_letter_queue.name, self.source.name
        verb = "would move" if self.dry_run else "moved"
        parts = [f"{'Dry run, nothing changed: ' if self.dry_run else ''}{verb} {plural(self.moved, 'message')} "
                 f"from {dlq} back to {source}"]
        if self.match is not None:
            parts.append(f"skipped {self.skipped} whose failure reason does not mention \"{self.match}\"")
        if self.failed:
            parts.append(f"{self.failed} could not be sent and stays in the dead-letter queue ({self.failure}); "
                         "the run stopped there, run it again once the cause is fixed")
        if self.not_deleted:
            parts.append(f"{self.not_deleted} sent but could not be deleted from the dead-letter queue, so "
                         "they are in both queues (the functions give the second copy no effect)")
        text = "; ".join(parts) + "."
        if self.left is not None:
            text += f" About {plural(self.left, 'message')} {'is' if self.left == 1 else 'are'} left in {dlq}."
        return text[0].upper() + text[1:]

    def reason_lines(self, limit: int = 5) -> list[str]:
        """The most frequent failure reasons of the messages that (would) move."""
        return [f"  {count} x {reason}" for reason, count in self.reasons.most_common(limit)]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- queues


def find_queue(sqs: Any, queue: str) -> Queue:
    """A queue by name, URL or ARN (its ARN is read from SQS, never built)."""
    try:
        if queue.startswith(("https://", "http://")):
            url = queue
        elif queue.startswith("arn:"):
            _, _, _, _, account, name = queue.split(":", 5)
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        else:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    except sqs.exceptions.QueueDoesNotExist:
        raise RedriveError(f"there is no queue {queue} in {sqs.meta.region_name}") from None
    return Queue(url=url, arn=arn)


def queue_key(url: str) -> tuple[str, str]:
    """(account, name) of a queue URL; endpoints differ in form, these two identify the queue."""
    account, name = urlparse(url).path.strip("/").split("/")[-2:]
    return account, name


def find_source(sqs: Any, dead_letter_queue: Queue, source: str | None) -> Queue:
    """The queue whose redrive policy names the dead-letter queue (or the one `source` picks)."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dead_letter_queue.url):
        urls.extend(page.get("queueUrls", []))
    names = sorted(queue_key(u)[1] for u in urls)
    if not urls:
        raise RedriveError(
            f"{dead_letter_queue.name} is no queue's dead-letter queue (no redrive policy names it), so there is "
            "no queue to move its messages back to"
        )
    if source is None:
        if len(urls) > 1:
            raise RedriveError(
                f"{dead_letter_queue.name} is the dead-letter queue of {len(urls)} queues ({', '.join(names)}); "
                "choose one with SOURCE=<name>"
            )
        return find_queue(sqs, urls[0])
    chosen = find_queue(sqs, source)
    if queue_key(chosen.url) not in {queue_key(u) for u in urls}:
        raise RedriveError(
            f"{chosen.name} does not send its dead letters to {dead_letter_queue.name}; "
            f"the queues that do: {', '.join(names)}"
        )
    return chosen


def messages_in(sqs: Any, queue: Queue) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


# --------------------------------------------------------------------------- messages


def failure_reason(message: dict) -> str:
    return message.get("MessageAttributes", {}).get("failure_reason", {}).get("StringValue", "")


def copy_request(message: dict, destination: Queue) -> dict:
    """SendMessage arguments that recreate the message as its producer sent it."""
    attributes = {}
    for name, value in message.get("MessageAttributes", {}).items():
        if name in FAILURE_ATTRIBUTES:
            continue
        # Receive also returns empty list members, which SendMessage refuses.
        attributes[name] = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
    request: dict[str, Any] = {"QueueUrl": destination.url, "MessageBody": message["Body"]}
    if attributes:
        request["MessageAttributes"] = attributes
    system = {
        name: {"DataType": "String", "StringValue": message["Attributes"][name]}
        for name in KEPT_SYSTEM_ATTRIBUTES
        if name in message.get("Attributes", {})
    }
    if system:
        request["MessageSystemAttributes"] = system
    return request


def error_text(error: Exception) -> str:
    """What went wrong, without request ids."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code', 'error')}: {response['Error'].get('Message', '')}".rstrip(": ")
    return str(error)


def redrive(
    sqs: Any,
    queue: str,
    *,
    source: str | None = None,
    match: str | None = None,
    max_messages: int | None = None,
    dry_run: bool = False,
    wait_seconds: int = 2,
) -> Outcome:
    """Moves (or with dry_run counts) the dead-letter queue's messages; see the module's docstring."""
    from botocore.exceptions import BotoCoreError, ClientError

    if max_messages is not None and max_messages < 1:
        raise RedriveError("MAX must be at least 1")
    dead_letter_queue = find_queue(sqs, queue)
    destination = find_source(sqs, dead_letter_queue, source)
    if destination.fifo or dead_letter_queue.fifo:
        raise RedriveError("FIFO queues are not supported (the suite has none): their order and deduplication "
                           "need a move that keeps each message group together")
    outcome = Outcome(dead_letter_queue, destination, dry_run, match)
    needle = match.casefold() if match is not None else None
    held: dict[str, str] = {}  # message id -> receipt handle of messages received and not deleted
    seen: set[str] = set()
    try:
        while max_messages is None or outcome.moved < max_messages:
            wanted = 10 if max_messages is None else min(10, max_messages - outcome.moved)
            messages = sqs.receive_message(
                QueueUrl=dead_letter_queue.url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=HOLD_SECONDS,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=list(KEPT_SYSTEM_ATTRIBUTES),
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            for message in messages:
                if message["MessageId"] in seen:  # hidden longer than HOLD_SECONDS and received again
                    held[message["MessageId"]] = message["ReceiptHandle"]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                reason = failure_reason(message)
                if needle is not None and needle not in reason.casefold():
                    outcome.skipped += 1
                    held[message["MessageId"]] = message["ReceiptHandle"]
                    continue
                if dry_run:
                    outcome.moved += 1
                    outcome.reasons[reason or NO_REASON] += 1
                    held[message["MessageId"]] = message["ReceiptHandle"]
                    continue
                try:
                    sqs.send_message(**copy_request(message, destination))
                except (ClientError, BotoCoreError) as error:
                    outcome.failed += 1
                    outcome.failure = error_text(error)
                    held[message["MessageId"]] = message["ReceiptHandle"]
                    # The cause (permissions, a deleted queue, an outage) most likely hits the rest too.
                    for rest in fresh[fresh.index(message) + 1:]:
                        held[rest["MessageId"]] = rest["ReceiptHandle"]
                    return outcome
                outcome.moved += 1
                outcome.reasons[reason or NO_REASON] += 1
                try:
                    sqs.delete_message(QueueUrl=dead_letter_queue.url, ReceiptHandle=message["ReceiptHandle"])
                except (ClientError, BotoCoreError):
                    outcome.not_deleted += 1
                    held[message["MessageId"]] = message["ReceiptHandle"]
        return outcome
    finally:
        release(sqs, dead_letter_queue, list(held.values()))
        outcome.left = messages_in(sqs, dead_letter_queue)


def release(sqs: Any, queue: Queue, receipt_handles: list[str]) -> None:
    """Makes messages the run held back visible again (best effort: they reappear anyway)."""
    from botocore.exceptions import BotoCoreError, ClientError

    for start in range(0, len(receipt_handles), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(receipt_handles[start:start + 10])
        ]
        # A failure costs only time: the messages become visible after HOLD_SECONDS regardless.
        with contextlib.suppress(ClientError, BotoCoreError):
            sqs.change_message_visibility_batch(QueueUrl=queue.url, Entries=entries)


# --------------------------------------------------------------------------- command line


def sqs_client() -> Any:
    import boto3
    from botocore.config import Config

    # Standard retries: throttling and 5xx are retried three times before a send counts as failed.
    return boto3.session.Session().client("sqs", config=Config(retries={"mode": "standard", "max_attempts": 3}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queue", help="the dead-letter queue: name, URL or ARN")
    parser.add_argument("--source", help="the queue to move to, when several queues share this dead-letter queue")
    parser.add_argument("--match", help="move only messages whose failure_reason contains this text (any case)")
    parser.add_argument("--max", type=int, dest="max_messages", help="move at most this many messages")
    parser.add_argument("--dry-run", action="store_true", help="count and show reasons, move nothing")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        outcome = redrive(
            sqs_client(),
            args.queue,
            source=args.source,
            match=args.match or None,
            max_messages=args.max_messages,
            dry_run=args.dry_run,
        )
    except RedriveError as error:
        print(f"redrive: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"redrive: AWS refused or could not be reached: {error_text(error)}", file=sys.stderr)
        return 1
    print(outcome.sentence())
    if args.dry_run and outcome.reasons:
        print("Their failure reasons, most frequent first:")
        print("\n".join(outcome.reason_lines()))
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
