"""The HTTP edge of `POST /slack/events`: what a request must pass before anything reads it.

The order is the point. (1) Size: the declared Content-Length first, then the bytes counted as
they arrive, so a body that lies about its length or comes chunked cannot grow past the cap
(413). (2) Slack's v0 signature over the raw bytes, within the replay window (401): nothing
unsigned is decoded or parsed, so an attacker's body costs one HMAC at most. (3) Only then one
parse, by the same rules Bolt applies, guarded against bad encodings, recursion errors and deep
nesting (400). Every refusal is a 4xx answer; none of this path can end in a 500.

Before, the body was read whole and parsed before the signature was checked: three unsigned
10 MB bodies held a signed `/cop help` for 3.9 s (Slack gives up at 3 s), and 100,000 `[`
answered 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from bot.numbers import whole

# The cap on a request body. Slack publishes no maximum, so it comes from what Slack sends us:
# the biggest is a view_submission, which echoes the whole modal (each block, its initial
# values) with the state of every input. Our largest modal, the charter filled to every
# max_length with characters that JSON-escape and then URL-encode to 16 bytes each, and
# opened over a previous charter as full, comes to 393 KiB (measured in
# tests/test_edge.py::test_the_largest_modal_the_bot_opens_fits_under_the_cap). Events are
# smaller (a message is at most 40,000 characters). 1 MiB leaves 2.6 times that while
# keeping what an unsigned sender can make us buffer small: three at once cost 3 MiB and one
# HMAC each, not a parse.
MAX_BODY_BYTES = 1 << 20

# How deep a signed JSON body may nest. Slack's deepest real payloads (rich text in a message
# or in a modal's state: payload → view → state → values → block → action → rich_text →
# elements → …) stay well under 20 levels; 64 is generous and keeps anything that walks a
# payload recursively (ours or Bolt's) far from Python's recursion limit (1,000).
MAX_DEPTH = 64

# Slack's replay window: a signed request older (or newer) than 5 minutes is refused.
REPLAY_WINDOW_SECONDS = 300


class Refused(Exception):
    """A request the edge answers itself: the HTTP status and a short reason (no detail leaks)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_capped(
    headers: Mapping[str, str], stream: AsyncIterator[bytes], limit: int = MAX_BODY_BYTES
) -> bytes:
    """The body, or Refused(413) as soon as it is known to be bigger than `limit`.

    A declared Content-Length over the cap is refused before a byte is read; the count while
    reading catches a body that declares less than it sends (the server stops at the declared
    length anyway) or declares nothing (chunked). What is left unread is discarded by the
    server (uvicorn drops a finished request's remaining body without buffering it)."""
    declared = headers.get("content-length")
    if declared is not None:
        length = whole(declared, max_digits=18)
        if length is None:
            raise Refused(400, "bad content-length")
        if length > limit:
            raise Refused(413, "request body too large")
    received = bytearray()
    async for chunk in stream:
        received += chunk
        if len(received) > limit:
            raise Refused(413, "request body too large")
    return bytes(received)


def signed(
    secret: bytes, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> bool:
    """Slack's v0 signature (HMAC-SHA256 of `v0:<timestamp>:<raw body>`), compared in constant
    time, and the replay window. Computed over the bytes as received: no decoding first, so a
    body that is not UTF-8 is simply unsigned, never an error."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    stamp = whole(timestamp, max_digits=12)  # ASCII digits only: "²" passes isdigit(), not int()
    if stamp is None or not signature.isascii():
        return False
    if abs((time.time() if now is None else now) - stamp) > REPLAY_WINDOW_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """The request's payload, parsed once and by Bolt's own rules (JSON when the content type is
    exactly application/json or the body starts with `{`; else a form, whose `payload` field is
    JSON), so that Bolt, which parses the same text again, cannot fail where this succeeded.
    One difference: Bolt takes a form for an interaction when its text merely contains the word
    "payload" (`/cop help payload` reached it as an empty body); here the field decides, and
    the composition root hands Bolt this payload when the two disagree.

    Refused(400) for anything that is not a Slack request: bad UTF-8, bad JSON, nesting deeper
    than MAX_DEPTH (or deep enough to exhaust the parser's recursion), a JSON value that is not
    an object, a form with neither command nor payload."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "request body is not UTF-8") from None
    media_type = content_type.split(";")[0]
    try:
        if media_type == "application/json" or text.startswith("{"):
            payload = _json(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" in form:  # an interaction: its JSON in one field
                payload = _json(form["payload"])
            else:
                payload = form if ("command" in form or "ssl_check" in form) else None
    except (ValueError, RecursionError):
        raise Refused(400, "malformed request body") from None
    if not isinstance(payload, dict) or not payload:
        raise Refused(400, "malformed request body")
    if _depth(payload) > MAX_DEPTH:
        raise Refused(400, "request body nested too deeply")
    if not _well_shaped(payload):
        raise Refused(400, "malformed request body")
    return payload


# What Bolt reads before any listener (its context: team, user, channel, thread…) must have the
# types Slack sends: text for ids, an object for `event`, and text ids inside the objects that
# name a user, a team, a channel or a container. A signed body with a number where Slack puts a
# channel id (seen: `"channel": 123`) made Bolt raise before any listener ran, and answer 500.
_TEXT = (
    "type", "team_id", "enterprise_id", "api_app_id", "event_id", "user_id", "channel_id",
    "command", "text", "trigger_id", "response_url", "token", "callback_id", "thread_ts", "ts",
    "event_ts",
)  # fmt: skip
_NAMED = ("user", "team", "channel", "enterprise", "container", "view", "message", "item")
_IDS = ("id", "team_id", "channel_id", "user_id", "enterprise_id", "type", "ts", "thread_ts")


def _well_shaped(payload: Mapping[str, Any]) -> bool:
    def fine(obj: Mapping[str, Any]) -> bool:
        if any(k in obj and not isinstance(obj[k], str | None) for k in _TEXT):
            return False
        for key in _NAMED:
            value = obj.get(key)
            if value is None or isinstance(value, str):
                continue
            if not isinstance(value, dict):
                return False
            if any(k in value and not isinstance(value[k], str | None) for k in _IDS):
                return False
        return True

    event = payload.get("event")
    if "event" in payload and not isinstance(event, dict):
        return False
    actions = payload.get("actions")
    if "actions" in payload and not (
        isinstance(actions, list) and actions and all(isinstance(a, dict) for a in actions)
    ):
        return False  # a click always carries the element clicked (Bolt reads actions[0])
    return fine(payload) and (event is None or fine(event))


def kind_of(payload: Mapping[str, Any]) -> str:
    """command / block_actions / view_submission / event_callback…: the label of its metrics."""
    if "command" in payload:
        return "command"
    if "ssl_check" in payload and "type" not in payload:
        return "ssl_check"
    return str(payload.get("type") or "unknown")[:40]


def _json(text: str) -> Any:
    return json.loads(text)


def _depth(value: Any) -> int:
    """How deeply containers nest in `value`, without recursion (a stack of (value, depth))."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest
