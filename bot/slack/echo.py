"""Safe echo: what a person typed shows in Slack exactly as typed — it never pings, never
poses as a link, whichever screen shows it.

Slack reads `<…>` in mrkdwn (section and context text, confirmation dialogs, the top-level
`text` of a message) as a broadcast (`<!channel>`, `<!here>`, `<!everyone>`), a group or a
person (`<!subteam^S…>`, `<@U…>`), a channel (`<#C…>`) or a masked link
(`<https://…|Official charter>`). Its documented escaping is `&` → `&amp;`, `<` → `&lt;`,
`>` → `&gt;`; Slack shows the escaped text as typed. plain_text (headers, buttons, modal
titles, options, input values) is never parsed and must stay raw, or it would show `&lt;`.

`Mrkdwn` marks text that is already safe: our own markup plus typed text escaped once. Every
edge that puts text into mrkdwn calls `echo()` — `mrkdwn()` for block text, and the senders
for a message's top-level `text` — which escapes a plain str and lets Mrkdwn through. So a
step forgotten upstream shows escaped markup; it never lets a ping through, and nothing is
escaped twice. Our own `<…>` sequences are made here only: `mention()` of a user id we chose,
`channel()`, and `link()` of an address `bot.links` accepts.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject

from bot.i18n import Translator
from bot.links import is_link

TEXT_MAX = 3000  # a section's or a context element's text
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


class Mrkdwn(str):
    """Slack mrkdwn safe to send as is. Adding or joining plain text escapes that text."""

    __slots__ = ()

    def __add__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(self, echo(other)))

    def __radd__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(echo(other), self))

    def join(self, parts: Iterable[str]) -> Mrkdwn:
        return Mrkdwn(str.join(self, (echo(p) for p in parts)))


def echo(text: object) -> Mrkdwn:
    """Text a person typed (or any plain text), escaped once for mrkdwn; Mrkdwn is left alone."""
    if isinstance(text, Mrkdwn):
        return text
    raw = "" if text is None else str(text)
    return Mrkdwn(raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _param(value: Any) -> Any:
    """A sentence's parameter: numbers as they are (plural rules and format specs read them),
    our Mrkdwn as it is, anything else escaped."""
    if isinstance(value, Mrkdwn | bool | int | float | Decimal):
        return value
    return echo(value)


def say(t: Translator, key: str, /, **params: Any) -> Mrkdwn:
    """A sentence of ours in the reader's language, with what people typed escaped in it.

    A translation is text, not markup (its `<name>` placeholders show as written): it is escaped
    too. Parameters that carry escapes or our own markup are set aside while the sentence is
    escaped, then put back as they are — behind a marker no one can type, drawn for this call."""
    return _compose(lambda **values: t(key, **values), params)


def fill(template: str, /, **params: Any) -> Mrkdwn:
    """A sentence the programme wrote (an app.yaml template, checked at load), escaped like a
    translation, with its `{placeholders}` set as `say` sets them."""
    return _compose(lambda **values: template.format(**values), params)


def _compose(render: Any, params: dict[str, Any]) -> Mrkdwn:
    nonce = secrets.token_hex(8)
    kept: dict[str, Mrkdwn] = {}
    values: dict[str, Any] = {}
    for name, value in params.items():
        value = _param(value)
        if isinstance(value, Mrkdwn) and any(c in value for c in "&<>"):
            marker = f"\x00{nonce}{len(kept)}\x00"
            # a leading letter stays in view, so the sentence can agree with it (« d'Agilité »)
            head = value[:1] if value[:1].isalpha() else ""
            kept[marker] = Mrkdwn(value[len(head) :])
            value = head + marker
        values[name] = value
    sentence = echo(render(**values))
    if not kept:
        return sentence
    return Mrkdwn(re.sub(f"\x00{nonce}\\d+\x00", lambda m: kept[m.group()], sentence))


def md(template: str, /, **params: Any) -> Mrkdwn:
    """Our own markup, written in code and kept as is (`"*{title}* — {when}"`, a `"> {quote}"`),
    around parameters escaped like `say`'s."""
    return Mrkdwn(template.format(**{name: _param(value) for name, value in params.items()}))


def mention(user_id: str) -> Mrkdwn:
    """`<@U…>` for a user id we chose to mention (never for a word someone typed)."""
    if not _USER_ID.fullmatch(user_id or ""):
        return echo(user_id)
    return Mrkdwn(f"<@{user_id}>")


def channel(channel_id: str) -> Mrkdwn:
    """`<#C…>` for a channel we chose to name."""
    if not _CHANNEL_ID.fullmatch(channel_id or ""):
        return echo(channel_id)
    return Mrkdwn(f"<#{channel_id}>")


def link(url: str | None, label: str | None = None) -> Mrkdwn:
    """A clickable link, only to an address `bot.links.is_link` accepts (`<url|label>` with the
    label escaped); anything else shows as plain text, not clickable."""
    if not url or not is_link(url):
        return echo(label or url or "")
    target = url.replace("&", "&amp;")
    return Mrkdwn(f"<{target}|{echo(label)}>" if label else f"<{target}>")


def cut(text: object, limit: int = TEXT_MAX) -> Mrkdwn:
    """Escaped text shortened to Slack's limit without ending inside `&lt;` or one of our
    `<…>` sequences (half a mention would show as raw markup)."""
    safe = echo(text)
    if len(safe) <= limit:
        return safe
    head = str.__getitem__(safe, slice(0, limit))
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    opening = head.rfind("<")
    if opening != -1 and ">" not in head[opening:]:
        head = head[:opening]
    return Mrkdwn(head)


def mrkdwn(text: object, limit: int = TEXT_MAX) -> MarkdownTextObject:
    """The one way to a mrkdwn text object: plain text is escaped, Mrkdwn kept, then cut."""
    return MarkdownTextObject(text=cut(text, limit))
