"""The HTTP edge, from where an attacker (or Slack) comes: over real HTTP, to the real bot.

Size first (413), signature on the raw bytes next (401), one parse last (400), never a 500; and a
signed /cop help answered in time while unsigned 10 MB bodies pour in.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.slack.edge import MAX_BODY_BYTES, MAX_DEPTH
from tests import factories
from tests.conftest import Bot, eventually

FORM = "application/x-www-form-urlencoded"
TEN_MB = 10 * 1024 * 1024


async def post(
    bot: Bot,
    content: bytes | AsyncIterator[bytes],
    *,
    content_type: str = FORM,
    sign: bytes | None = None,
) -> httpx.Response:
    """POST /slack/events; `sign` is the body to sign (the bytes sent, unless a stream)."""
    headers = {"Content-Type": content_type}
    if sign is not None:
        headers.update(bot.slack.sign(sign))
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(f"{bot.url}/slack/events", content=content, headers=headers)


async def chunks(total: int, size: int = 64 * 1024, *, unit: bytes = b"a") -> AsyncIterator[bytes]:
    """A body with no Content-Length (chunked transfer encoding), `total` bytes of `unit`."""
    piece = unit * (size // len(unit))
    sent = 0
    while sent < total:
        yield piece[: total - sent]
        sent += len(piece)


def command_body(bot: Bot, text: str = "help", user: str = "U0LUCAS") -> bytes:
    return urlencode(
        {
            "command": "/cop",
            "text": text,
            "user_id": user,
            "channel_id": "C0GEN",
            "team_id": "T0COP",
            "response_url": bot.emulator.response_url(),
        }
    ).encode()


# --- 413: the cap, declared or counted ----------------------------------------------------------


async def test_a_declared_body_over_the_cap_gets_413_even_when_signed(bot: Bot) -> None:
    body = command_body(bot) + b"&pad=" + b"a" * MAX_BODY_BYTES
    response = await post(bot, body, sign=body)
    assert response.status_code == 413
    assert bot.emulator.calls == []


async def test_a_chunked_body_over_the_cap_gets_413_without_being_read_whole(bot: Bot) -> None:
    # no Content-Length: the bytes are counted as they arrive
    response = await post(bot, chunks(MAX_BODY_BYTES + 256 * 1024))
    assert response.status_code == 413
    assert bot.emulator.calls == []


async def test_a_body_that_declares_less_than_it_sends_is_not_read_past_its_length(
    bot: Bot,
) -> None:
    """A lying Content-Length: the server reads what was declared, which is under the cap and
    signed, and the rest is never part of the request."""
    body = command_body(bot)
    signed = bot.slack.sign(body)
    raw = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() + b"\r\n"
        b"X-Slack-Request-Timestamp: " + signed["X-Slack-Request-Timestamp"].encode() + b"\r\n"
        b"X-Slack-Signature: " + signed["X-Slack-Signature"].encode() + b"\r\n"
        b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
        + b"a" * (2 * MAX_BODY_BYTES)
    )
    host, port = bot.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(raw)
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status.startswith(b"HTTP/1.1 200"), status
    await eventually(lambda: bot.emulator.responses)


async def test_the_largest_modal_the_bot_opens_fits_under_the_cap(bot: Bot) -> None:
    """The cap is not too small for Slack: the charter modal (the biggest we open), opened over a
    charter filled to every limit and submitted filled to every limit with characters that cost
    the most once JSON-escaped and URL-encoded, is accepted."""
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",))
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("charte", user="U0LUCAS", channel="C0DATA")
    view = (await bot.emulator.wait_for("views.open", count=before + 1))[-1].response["view"]
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if element.get("type") == "plain_text_input":
            worst = "😀" * element["max_length"]  # \ud83d\ude00 then %5Cud83d%5Cude00: 16 bytes
            element["initial_value"] = worst  # as if the previous charter were as full
            values[block["block_id"]] = worst
    response = await bot.slack.submit_view(view["id"], user="U0LUCAS", values=values)
    size = len(response.request.content)
    print(
        f"\nlargest modal submission: {size / 1024:.0f} KiB (cap {MAX_BODY_BYTES / 1024:.0f} KiB)"
    )
    assert response.status_code == 200
    assert size < MAX_BODY_BYTES


# --- 401 before any parsing, 400 after ----------------------------------------------------------

DEEP = 100_000
HOSTILE = {
    "brackets_json": (b"[" * DEEP, "application/json"),
    "brackets_form": (b"[" * DEEP, FORM),
    "nested_json": (b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json"),
    "nested_payload": (b"payload=" + b"%5B" * DEEP + b"%5D" * DEEP, FORM),
    "past_max_depth": (
        json.dumps(
            {"type": "event_callback", "event": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}
        ).encode(),
        "application/json",
    ),
    "not_utf8": (b"command=/cop&text=\xff\xfe", FORM),
    "not_an_object": (b"[1, 2]", "application/json"),
    "form_without_command": (b"text=help&user_id=U0LUCAS", FORM),
    "json_body_in_a_form": (b'{"type": ', FORM),
    # signed, parseable, but not shaped like anything Slack sends
    "channel_a_number": (
        b'{"type":"event_callback","team_id":"T0COP","event_id":"Ev1","event":'
        b'{"type":"message","channel":123,"user":"U0LUCAS","ts":"1.1"}}',
        "application/json",
    ),
    "team_an_object": (
        b'{"type":"event_callback","team_id":{"x":1},"event":{"type":"reaction_added"}}',
        "application/json",
    ),
    "event_a_list": (
        b'{"type":"event_callback","team_id":"T0COP","event":[1]}',
        "application/json",
    ),
    "actions_empty": (
        b"payload="
        + b'{"type":"block_actions","team":{"id":"T0COP"},"user":{"id":"U0LUCAS"},"actions":[]}',
        FORM,
    ),
    "user_id_a_list": (
        b"payload=" + b'{"type":"block_actions","user":{"id":["U0LUCAS"]},"actions":[]}',
        FORM,
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_bodies_unsigned_get_401_and_signed_get_400_never_500(
    bot: Bot, name: str
) -> None:
    body, content_type = HOSTILE[name]
    unsigned = await post(bot, body, content_type=content_type)
    signed = await post(bot, body, content_type=content_type, sign=body)
    assert unsigned.status_code == 401, unsigned.text
    assert signed.status_code == 400, signed.text
    assert bot.emulator.calls == []
    # and the bot still serves
    response = await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
    assert response.status_code == 200
    await eventually(lambda: bot.emulator.responses)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Slack-Request-Timestamp": "\u00b2\u00b2", "X-Slack-Signature": "v0=0"}, 401),
        ({"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=0"}, 401),
        ({"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=\u00e9"}, 401),
        ({"Content-Length": "\u00b2"}, 400),
    ],
)
async def test_headers_no_slack_request_carries_are_refused_never_500(
    bot: Bot, headers: dict[str, str], status: int
) -> None:
    """Header values only an attacker sends (digits that are not ASCII, a timestamp longer than
    Python reads as a number): 401 or 400, never 500."""
    raw = [(b"content-type", FORM.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    body = command_body(bot)
    if "Content-Length" not in headers:
        raw.append((b"content-length", str(len(body)).encode()))
    reader, writer = await asyncio.open_connection(*bot.url.removeprefix("http://").split(":"))
    head = b"POST /slack/events HTTP/1.1\r\nhost: bot\r\nconnection: close\r\n"
    head += b"".join(k + b": " + v + b"\r\n" for k, v in raw)
    writer.write(head + b"\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.split(b" ", 2)[1] == str(status).encode(), answer[:200]


async def test_a_signature_over_other_bytes_is_refused(bot: Bot) -> None:
    """Signed on the raw bytes: the same text sent with a different encoding is not signed."""
    body = command_body(bot, text="aide é")
    other = body.replace(b"%C3%A9", "é".encode("latin-1"))
    response = await post(bot, other, sign=body)
    assert response.status_code == 401


async def test_a_command_that_mentions_payload_is_still_a_command(bot: Bot) -> None:
    """Bolt reads a form that merely contains the word "payload" as an interaction."""
    response = await bot.slack.command("help payload", user="U0LUCAS", channel="C0GEN")
    assert response.status_code == 200
    reply = await eventually(lambda: bot.emulator.responses)
    assert "Ce que vous pouvez faire avec /cop" in json.dumps(reply[-1], ensure_ascii=False)


# --- a signed /cop help while 10 MB bodies pour in ------------------------------------------------


async def test_signed_help_is_acked_under_1s_while_three_unsigned_10mb_bodies_arrive(
    bot: Bot,
) -> None:
    """Issue 10, point 6: this took 3.9 s before (the bodies were read and parsed before their
    signature was checked). Two bodies stream with no length, one declares its 10 MB."""
    # forms of 2.6 million fields: what made the old edge slow was parsing them before looking at
    # their signature
    fields = b"a=b&"
    flood = [
        asyncio.create_task(post(bot, chunks(TEN_MB, unit=fields))),
        asyncio.create_task(post(bot, chunks(TEN_MB, unit=fields))),
        asyncio.create_task(post(bot, fields * (TEN_MB // len(fields)))),
    ]
    await asyncio.sleep(0.1)  # the three are on the wire
    started = time.perf_counter()
    response = await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
    elapsed = time.perf_counter() - started
    print(f"\nsigned /cop help acked in {elapsed * 1000:.0f} ms while 3 × 10 MB arrived")
    assert response.status_code == 200
    assert elapsed < 1.0
    refused = await asyncio.gather(*flood, return_exceptions=True)
    # each flood request was refused for its size (or cut off while still sending): none served
    for outcome in refused:
        if isinstance(outcome, httpx.Response):
            assert outcome.status_code == 413
        else:
            assert isinstance(outcome, httpx.TransportError), outcome
    reply = await eventually(lambda: bot.emulator.responses)
    assert "Ce que vous pouvez faire avec /cop" in json.dumps(reply[-1], ensure_ascii=False)
