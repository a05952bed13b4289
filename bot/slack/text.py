"""Reading what people type in Slack: sub-command words, mentions, channel references."""

from __future__ import annotations

import html
import re
import shlex
from typing import Any

from bot.errors import NotFound
from bot.numbers import whole

_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_BARE_USER = re.compile(r"^@?([UW][A-Z0-9]{2,})$")
_CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")


def split_args(text: str) -> list[str]:
    """Words of a command (Slack escapes &, < and >), honouring quotes; an unbalanced quote falls back
    to plain splitting."""
    text = (
        html.unescape(text or "")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("\u00a0", " ")
    )
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def user_id(word: str) -> str | None:
    """<@U123|name>, <@U123>, U123 or @U123 → U123; anything else → None."""
    match = _USER_MENTION.match(word) or _BARE_USER.match(word)
    return match.group(1) if match else None


def channel_id(word: str) -> str | None:
    match = _CHANNEL_MENTION.match(word)
    return match.group(1) if match else None


ROW_ID_MAX = 2**31 - 1  # ids are 32-bit integers in the database


def row_id(raw: Any) -> int:
    """The id a button value or a modal's private_metadata carries. Slack sends back what we put
    there, so anything else (garbled, forged, of another type, out of range) is "not found"."""
    found = whole(raw, max_digits=10)
    if found is None or not 0 < found <= ROW_ID_MAX:
        raise NotFound("error.not_found")
    return found


def quiet(text: str) -> str:
    """Text people typed, safe to echo in a message: a typed <!channel>, <!here>, <!everyone> (or
    any other <!…> command) shows as typed instead of notifying the whole channel."""
    return text.replace("<!", "&lt;!")


def typed(text: str | None) -> str:
    """What someone typed in a field, minus NUL characters (no database can store them)."""
    return (text or "").replace("\x00", "")
