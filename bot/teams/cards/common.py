"""What every feature card shares: the card's frame, our sentences in Teams' markdown, dialogs.

Our catalogue sentences are written for Slack's mrkdwn (`*bold*`, `_aside_`, `:warning:`);
`say` turns them into what a TextBlock reads (`**bold**`, `_aside_`, ⚠️) *before* the text a
person typed goes in, escaped once by bot.teams.render.escape: a name with stars in it stays
stars, whatever the sentence around it does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.errors import CopError
from bot.i18n import Translator
from bot.teams import idiom
from bot.teams.render import escape

Json = dict[str, Any]
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
TEXT_MAX = 4000  # well inside a card's 28 KB; a TextBlock's text is cut here
_BOLD = re.compile(r"(?<![\\*\w])\*(?=\S)((?:\\.|[^*\\\n])+?)(?<=\S)\*(?![*\w])")
_EMOJI = {":warning:": "⚠️", ":white_check_mark:": "✅", ":x:": "❌", ":tada:": "🎉"}


def markdown(ours: str) -> str:
    """One of our sentences (Slack mrkdwn) as Teams markdown, naming Teams' commands."""
    ours = idiom.commands(ours)
    for code, emoji in _EMOJI.items():
        ours = ours.replace(code, emoji)
    return _BOLD.sub(r"**\1**", ours)


def say(t: Translator, key: str, *, typed: Mapping[str, str] | None = None, **ours: Any) -> str:
    """A sentence of ours, with what a person typed (`typed`) shown as typed."""
    holes: dict[str, str] = {}
    params = dict(ours)
    for name, value in (typed or {}).items():
        # the value's first letter stays in front of its hole, for French elision (« d'Agilité »)
        lead = value[:1] if value[:1].isalpha() else ""
        token = f"{lead}\x00{name}\x00"
        holes[token] = escape(value)
        params[name] = token
    text = markdown(t(idiom.key(key, t.language), **params))
    for token, value in holes.items():
        text = text.replace(token, value)
    return text


def refusal(t: Translator, exc: CopError) -> str:
    """An expected refusal (bot.errors), in the reader's language; its words taken from what a
    person typed (a name, a slug) shown as typed."""
    typed = {k: v for k, v in exc.params.items() if isinstance(v, str)}
    ours = {k: v for k, v in exc.params.items() if not isinstance(v, str)}
    return say(t, exc.key, typed=typed, **ours)


def card(body: list[Json], actions: list[Json] | None = None) -> Json:
    """An Adaptive Card 1.5, what Teams renders."""
    built: Json = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }
    if actions:
        built["actions"] = actions
    return built


def text(value: str, **style: Any) -> Json:
    return {"type": "TextBlock", "text": value[:TEXT_MAX] or " ", "wrap": True, **style}


def heading(value: str) -> Json:
    return text(value, weight="Bolder", size="Medium")


def note(value: str) -> Json:
    return text(value, isSubtle=True, size="Small")


def problem(value: str) -> Json:
    """A field's error, under the field, in the colour Teams keeps for them."""
    return text(value, color="Attention", size="Small", spacing="None")


def attachment(content: Json) -> Json:
    return {"contentType": ADAPTIVE_CARD, "content": content}


def message(content: Json, fallback: str) -> Json:
    """A message carrying one card (the text shows in notifications)."""
    return {"type": "message", "text": fallback, "attachments": [attachment(content)]}


def open_dialog(title: str, key: str, **data: Any) -> Json:
    """A button that opens the dialog `key` (invoke task/fetch with data.cop = key)."""
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {"msteams": {"type": "task/fetch"}, "cop": key, **data},
    }


def dialog(title: str, content: Json, *, size: str = "large") -> Json:
    """A task/fetch or task/submit answer: the dialog shows (or stays, with its errors)."""
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": title[:64],
                "width": size,
                "height": size,
                "card": attachment(content),
            },
        }
    }


def dialog_says(value: str) -> Json:
    """A dialog's answer that closes it on one line (a confirmation, a refusal)."""
    return {"task": {"type": "message", "value": value}}
