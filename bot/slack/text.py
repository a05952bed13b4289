"""Reading what people type in Slack: sub-command words, mentions, channel references."""

from __future__ import annotations

import html
import re
import shlex
import unicodedata

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
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return [word for word in map(typed, words) if word]  # a word of only "\u200b" is no word


def user_id(word: str) -> str | None:
    """<@U123|name>, <@U123>, U123 or @U123 → U123; anything else → None."""
    match = _USER_MENTION.match(word) or _BARE_USER.match(word)
    return match.group(1) if match else None


def channel_id(word: str) -> str | None:
    match = _CHANNEL_MENTION.match(word)
    return match.group(1) if match else None


# Characters that show nothing on their own: zero-width space/joiners, word joiner, BOM, soft
# hyphen, bidi marks and controls (all category Cf), control characters (Cc), combining grapheme
# joiner, Hangul fillers, braille blank, variation selectors. Next to letters they may matter
# (a joiner inside an emoji, a mark in Arabic text), so they are only judged when they are all
# a field holds.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)


def _invisible(char: str) -> bool:
    return (
        char.isspace()
        or unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp")
        or char in _INVISIBLE
        or 0xE0100 <= ord(char) <= 0xE01EF  # variation selectors supplement
    )


def typed(text: str | None) -> str:
    """What someone typed in a field, as the domain should see it: without NUL characters (no
    database can store them), and empty when nothing in it would show (only spaces, zero-width
    or bidi characters…), so a title of "\u200b" gets the same "required" answer as an empty one.
    Every modal parser and the command words go through here."""
    text = (text or "").replace("\x00", "")
    return "" if all(_invisible(char) for char in text) else text
