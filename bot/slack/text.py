"""Reading what people type in Slack: sub-command words, mentions, channel references."""

from __future__ import annotations

import html
import re
import shlex

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
