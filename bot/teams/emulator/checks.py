"""What Teams checks in what a bot sends: Adaptive Cards against Microsoft's schema 1.5, the
message size, and the per-conversation rate limits.

Sources: the schema is Microsoft's own (adaptive-card-1.5.0.json, see SCHEMA-SOURCE.md); Teams
renders cards up to version 1.5; a message may be 100 KB in UTF-16 (over it the connector
answers 413 MessageSizeTooBig; older revisions of the page said 28 KB, then 40 KB); a bot may
send 7 messages per second, 8 per 2 s, 60 per 30 s and 1800 per hour in one conversation, and
read members 14/16/120/3600 in the same windows (learn.microsoft.com, Teams platform,
bots/how-to/rate-limit and bots/how-to/conversations/conversation-messages)."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MAX_CARD_VERSION = (1, 5)
MAX_MESSAGE_BYTES = 100 * 1024  # UTF-16
SEND_LIMITS = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
READ_LIMITS = ((1.0, 14), (2.0, 16), (30.0, 120), (3600.0, 3600))


@cache
def _validator() -> jsonschema.Draft6Validator:
    schema = json.loads((Path(__file__).parent / "adaptive-card-1.5.0.json").read_text())
    return jsonschema.Draft6Validator(schema)


def card_errors(card: Any) -> list[str]:
    """Why Teams would not render this card (empty when it would)."""
    if not isinstance(card, dict):
        return ["an Adaptive Card must be a JSON object"]
    problems = []
    version = str(card.get("version", ""))
    try:
        parts = tuple(int(p) for p in version.split("."))
    except ValueError:
        parts = ()
    if not parts or parts > MAX_CARD_VERSION:
        problems.append(f"card version {version!r}: Teams renders 1.0 to 1.5")
    problems += _msteams_problems(card.get("msteams"))
    # `msteams` is Teams' own property of a card (mentions, full width: learn.microsoft.com,
    # task-modules-and-cards/cards/cards-format), which Microsoft's schema does not list
    checked = {k: v for k, v in card.items() if k != "msteams"}
    error = best_match(_validator().iter_errors(checked))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "card"
        problems.append(f"{where}: {error.message[:300]}")
    return problems


def _msteams_problems(msteams: Any) -> list[str]:
    """Teams' `msteams` card property: `width` "Full", and `entities` mentions, each
    {"type": "mention", "text": "<at>…</at>", "mentioned": {"id", "name"}}."""
    if msteams is None:
        return []
    if not isinstance(msteams, dict):
        return ["msteams: must be an object"]
    problems = []
    if "width" in msteams and msteams["width"] not in ("Full", "full"):
        problems.append('msteams/width: only "Full" is known')
    for index, entity in enumerate(msteams.get("entities") or []):
        mentioned = entity.get("mentioned") if isinstance(entity, dict) else None
        if (
            not isinstance(entity, dict)
            or entity.get("type") != "mention"
            or not str(entity.get("text", "")).startswith("<at>")
            or not str(entity.get("text", "")).endswith("</at>")
            or not isinstance(mentioned, dict)
            or not mentioned.get("id")
            or not mentioned.get("name")
        ):
            problems.append(f"msteams/entities/{index}: not a mention Teams understands")
    return problems


def activity_errors(activity: Any) -> list[str]:
    """The cards of an outgoing activity that Teams would refuse."""
    if not isinstance(activity, dict):
        return ["the activity must be a JSON object"]
    problems = []
    for index, attachment in enumerate(activity.get("attachments") or []):
        if isinstance(attachment, dict) and attachment.get("contentType") == ADAPTIVE_CARD:
            problems += [
                f"attachments/{index}: {p}" for p in card_errors(attachment.get("content"))
            ]
    return problems


def too_big(body: str) -> bool:
    return len(body.encode("utf-16-le")) > MAX_MESSAGE_BYTES


class RateLimits:
    """Sliding windows per (conversation, kind of call): the seconds to wait, or 0."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def wait(self, conversation: str, kind: str, now: float) -> float:
        limits = SEND_LIMITS if kind == "send" else READ_LIMITS
        seen = self._seen[(conversation, kind)]
        while seen and now - seen[0] > limits[-1][0]:
            seen.popleft()
        for window, most in limits:
            recent = [t for t in seen if now - t < window]
            if len(recent) >= most:
                return max(0.001, window - (now - recent[0]))
        seen.append(now)
        return 0.0


def answer_errors(answer: Any) -> list[str]:
    """The cards in an invoke's answer that Teams would refuse: a dialog's card
    (`task.value.card`) or a card refreshed in place (`type` adaptive, `value`)."""
    if not isinstance(answer, dict):
        return []
    task = answer.get("task")
    if isinstance(task, dict) and isinstance(task.get("value"), dict):
        card = task["value"].get("card")
        if isinstance(card, dict) and card.get("contentType") == ADAPTIVE_CARD:
            return [f"task.value.card: {p}" for p in card_errors(card.get("content"))]
    if answer.get("type") == ADAPTIVE_CARD:
        return [f"value: {p}" for p in card_errors(answer.get("value"))]
    return []
