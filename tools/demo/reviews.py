"""A person's decision on a `review` verdict, in the demo: the review request as the moderators
receive it, the decision sent from its approve command, what it changed, and the day's review
figures the rollup and the digest must show."""
from __future__ import annotations

import json
import re

from tools.demo.context import Demo
from tools.demo.deliveries import notify

# The moderators' channel (routing rule: media.flagged and media.reviewed) and who decides there.
MODERATORS = "moderators-slack"
REVIEWER = "mei.chen"
REVIEW_REASON = "a crowd cheering at the launch; no one is hurt"


def decision_commands(text: str) -> dict[str, str]:
    """The commands of a Slack message, by their label (`*Approve with*` then a code block)."""
    return dict(re.findall(r"\*([^*\n]+)\*\n```(.+?)```", text, re.S))


def command_input(command: str) -> dict:
    """The JSON a decision command sends (`--payload '<json>'`)."""
    found = re.search(r"--payload '(\{.*\})'", command)
    if not found:
        raise RuntimeError(f"no decision input in the command: {command}")
    return json.loads(found.group(1))


def review_request(demo: Demo, s: dict) -> None:
    """The notifier delivers what is on `notifications` (as it would all along); the video's
    review request reaches the moderators with its link, expiry and decision commands."""
    video = demo.report["async_video"]["key"]
    requests = [e for e in demo.published("media.flagged", video) if e["data"].get("verdict") == "review"]
    if not requests or not requests[-1]["data"].get("review"):
        raise RuntimeError(f"no review request with a review aid was published for {video}: {requests}")
    event = requests[-1]
    data, aid = event["data"], event["data"]["review"]
    n, failed, delivered = notify(demo, "review request")
    message = next((d for d in delivered if d["channel"] == MODERATORS and d.get("event_id") == event["id"]), None)
    if message is None:
        raise RuntimeError(f"the review request of {video} did not reach the moderators' channel: "
                           f"{[(d['channel'], d['title']) for d in delivered]}")
    commands = decision_commands(message["text"])
    approve = commands.get("Approve with")
    if not approve or "Reject with" not in commands or "Link valid until" not in message["text"]:
        raise RuntimeError(f"the review request lacks its link expiry or decision commands: {message['text']}")
    if command_input(approve) != json.loads(aid["approve_input"]):
        raise RuntimeError(f"the approve command shown is not the event's decision input: {approve}")
    uploaded_version = demo.s3.head_object(Bucket=demo.media_bucket, Key=video).get("VersionId")
    if data.get("version_id") != uploaded_version:
        raise RuntimeError(f"the review request names version {data.get('version_id')}, the upload is {uploaded_version}")
    demo.report["review"] = {
        "key": video, "version_id": uploaded_version, "verdict": data.get("verdict"),
        "labels": [f"{f.get('name')} {f.get('confidence'):.0f} %" for f in data.get("labels") or []],
        "link_expires_at": aid.get("link_expires_at"), "has_link": bool(aid.get("link")),
        "link_ttl_seconds": int(demo.fns["ai-processor"]["environment"].get("REVIEW_LINK_TTL_SECONDS", 86400)),
        "function_name": aid.get("function_name"), "request": message, "approve_command": approve,
    }
    s["detail"] = (f"{n} events delivered ({failed} failed); {video} (version {uploaded_version}) awaiting review "
                   f"in {MODERATORS}, link valid until {aid.get('link_expires_at')}")


def decision_problems(review: dict) -> list[str]:
    """What differs from one decision recorded, tagged, audited and announced once, and its
    repetition changing nothing."""
    problems = []
    answer, before, after, again = review["answer"], review["before"], review["after"], review["again"]
    entry = review["audit"][-1] if review["audit"] else {}
    if answer.get("outcome") != "recorded":
        problems.append(f"the decision answered {answer}")
    if (before["tag"], after["tag"], after["verdict"]) != ("review", "approved", "approved"):
        problems.append(f"tag {before['tag']} -> {after['tag']}, document verdict {after['verdict']}")
    if len(review["audit"]) != 1 or (entry.get("from"), entry.get("to"), entry.get("reviewer")) != ("review", "approved", REVIEWER):
        problems.append(f"audit trail {review['audit']}")
    if review["event"] is None or review["events"] != 1:
        problems.append(f"{review['events']} media.reviewed published")
    if len(review["delivered"]) != 1:
        problems.append(f"media.reviewed reached the moderators {len(review['delivered'])} time(s)")
    if again["answer"].get("outcome") != "already_recorded":
        problems.append(f"the same decision again answered {again['answer']}")
    if (again["audit_entries"], again["events"], again["deliveries"], again["tag"]) != (1, 1, 0, "approved"):
        problems.append(f"after the same decision again: {again['audit_entries']} audit entries, {again['events']} "
                        f"media.reviewed, {again['deliveries']} new messages, tag {again['tag']}")
    return problems


def review_decision(demo: Demo, s: dict) -> None:
    """The moderator runs the approve command (their name and a reason filled in) as a direct
    invocation of ai-processor; then the same decision again, which must change nothing."""
    review = demo.report["review"]
    key = review["key"]
    decision = command_input(review["approve_command"])
    decision["review"].update(reviewer=REVIEWER, reason=REVIEW_REASON)
    before = {"tag": demo.tags(key).get("moderation-verdict"), "verdict": (demo.document(key) or {}).get("verdict")}
    answer = demo.invoke("ai-processor", decision)
    doc = demo.document(key) or {}
    after = {"tag": demo.tags(key).get("moderation-verdict"), "verdict": doc.get("verdict")}
    trail = doc.get("reviews") or []
    events = demo.published("media.reviewed", key)
    _, _, delivered = notify(demo, "review decision")
    announced = [d for d in delivered if d["channel"] == MODERATORS and d.get("event_type") == "media.reviewed"]

    again = demo.invoke("ai-processor", decision)
    trail_again = (demo.document(key) or {}).get("reviews") or []
    events_again = demo.published("media.reviewed", key)
    _, _, delivered_again = notify(demo, "repeated decision")
    review.update({
        "decision": decision, "answer": answer, "before": before, "after": after, "audit": trail,
        "event": events[-1] if events else None, "events": len(events), "delivered": announced,
        "again": {"answer": again, "audit_entries": len(trail_again), "events": len(events_again),
                  "deliveries": len(delivered_again), "tag": demo.tags(key).get("moderation-verdict")},
    })
    problems = decision_problems(review)
    if problems:
        raise RuntimeError("the review decision: " + "; ".join(problems))
    wait = (events[0].get("data") or {}).get("wait_ms")
    waited = f"{wait / 1000:.1f} s after the upload" if isinstance(wait, int | float) else "wait unknown"
    s["detail"] = (f"{key}: {before['tag']} -> {after['tag']} by {REVIEWER}, media.reviewed delivered to {MODERATORS} "
                   f"({waited}); the same decision again: {again.get('outcome')}, no second event")


def expected_reviews(demo: Demo) -> dict:
    """What the day's review figures must be, from the events the demo saw on suite-events:
    review requests (`media.flagged`, verdict review), decisions by outcome, the waits of first decisions,
    and uploads deleted while under review (`media.deleted`, verdict review), which leave the queue undecided."""
    requests = {e["id"] for e in demo.published("media.flagged") if (e.get("data") or {}).get("verdict") == "review"}
    decisions = list({e["id"]: e["data"] for e in demo.published("media.reviewed")}.values())
    withdrawn = {e["id"] for e in demo.published("media.deleted") if (e.get("data") or {}).get("verdict") == "review"}
    return {"requested": len(requests),
            "approved": sum(d.get("decision") == "approved" for d in decisions),
            "rejected": sum(d.get("decision") == "rejected" for d in decisions),
            "changed": sum(bool(d.get("changed")) for d in decisions),
            "first_decisions": sum(not d.get("changed") for d in decisions),
            "withdrawn": len(withdrawn),
            "waits_ms": sorted(d["wait_ms"] for d in decisions if not d.get("changed") and d.get("wait_ms") is not None)}


def review_figure_problems(expected: dict, rollup: dict | None, digest: dict | None) -> list[str]:
    """Where the daily rollup's `reviews` or the digest's review figures differ from `expected`.
    Waits are sketched (DDSketch, 1 % relative accuracy): a quantile must lie within the waits
    seen, give or take 1 %. `pending`: the requests neither decided nor deleted (yesterday, rolled
    this morning, had none)."""
    if not rollup or not digest:
        return [f"missing: daily rollup reviews {rollup}, digest reviews {digest}"]
    problems = [f"{where} {k} = {figures.get(k)}, expected {expected[k]}"
                for where, figures in (("rollup", rollup), ("digest", digest))
                for k in ("requested", "approved", "rejected", "changed", "withdrawn") if figures.get(k, 0) != expected[k]]
    if rollup.get("first_decisions") != expected["first_decisions"]:
        problems.append(f"rollup first_decisions = {rollup.get('first_decisions')}, expected {expected['first_decisions']}")
    waits = expected["waits_ms"]
    for where, value in (("rollup wait p50", (rollup.get("wait_ms") or {}).get("p50")),
                         ("digest wait p50", digest.get("wait_ms_p50")), ("digest wait p95", digest.get("wait_ms_p95"))):
        if not waits:
            if value is not None:
                problems.append(f"{where} = {value} without a decision")
        elif not isinstance(value, int | float) or not waits[0] * 0.99 <= value <= waits[-1] * 1.01:
            problems.append(f"{where} = {value}, waits were {waits} ms")
    pending = expected["requested"] - expected["first_decisions"] - expected["withdrawn"]
    for where, value in (("rollup", rollup.get("pending")), ("digest", digest.get("pending"))):
        if value != pending:
            problems.append(f"{where} pending = {value}, expected {pending}")
    return problems
