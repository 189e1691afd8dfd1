"""What the channels received, as a person reads it: the notifier fed from `notifications` and the
messages the local receiver recorded (DingTalk markdown, the webhook's notification, Slack blocks)."""
from __future__ import annotations

import json
import re

from tools.demo.context import Demo


def slack_message(body: dict) -> dict:
    """A Slack message's title, text (its blocks' mrkdwn, one block after another), event type
    and id (the context block names them)."""
    title, parts, event_type, event_id = body.get("text", ""), [], None, None
    for block in body.get("blocks", []):
        if block.get("type") == "header":
            title = block["text"]["text"]
        elif block.get("type") == "section":
            parts.append("\n".join(f["text"] for f in block.get("fields", [])) or block.get("text", {}).get("text", ""))
        elif block.get("type") == "context":
            context = " ".join(e.get("text", "") for e in block.get("elements", []))
            parts.append(context)
            found = re.fullmatch(r"`([^`]+)` · (\S+)", context)
            if found:
                event_type, event_id = found.groups()
    return {"title": title, "text": "\n\n".join([title, *parts]), "event_type": event_type, "event_id": event_id}


def deliveries_since(demo: Demo, start: int, why: str) -> list[dict]:
    """The messages the channels received from `start` on, as a person reads them."""
    out = []
    for d in demo.webhooks.received[start:]:
        body = d["body"]
        event = body.get("event") or {}
        if "blocks" in body:
            message = slack_message(body)
        else:
            message = body.get("markdown") or body.get("notification") or {}
            message = {"title": message.get("title", ""), "text": message.get("text", json.dumps(body, ensure_ascii=False)[:300]),
                       "event_type": event.get("type"), "event_id": event.get("id")}
        out.append({"channel": d["path"].split("/")[1], "why": why, **message,
                    "threshold": (event.get("data") or {}).get("threshold")})
    demo.report.setdefault("deliveries", []).extend(out)
    demo.count("deliveries", len(out))
    return out


def notify(demo: Demo, why: str) -> tuple[int, int, list[dict]]:
    """The notifier on what `notifications` holds: (events, failed, the messages delivered)."""
    start = len(demo.webhooks.received)
    n, _, failed = demo.feed("notifier", "NotificationsQueue")
    return n, failed, deliveries_since(demo, start, why)
