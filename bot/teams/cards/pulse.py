"""The pulse poll's card as the clicker sees it after a click: the poll as it was sent (rendered
by bot.teams.render from rituals.pulse's neutral message) with a line for them alone, and the
comment form that the « Ajouter un commentaire » button opens in place (Slack opens a modal)."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from bot.polls import COMMENT_MAX

Json = dict[str, Any]
COMMENT_SEND = "pulse_comment_send"  # the form's button: data {"cop", "value": "<poll>|<key>"}
COMMENT_INPUT = "comment"


def with_line(card: Json, line: str, *, ok: bool) -> Json:
    """The card with `line` under its title (their answer, or why it was refused)."""
    note = {"type": "TextBlock", "text": line, "wrap": True, "color": "Good" if ok else "Attention"}
    return {**card, "body": [*card["body"][:1], note, *card["body"][1:]]}


def with_comment_form(t: Translator, card: Json, *, value: str, typed: str = "") -> Json:
    """The card with the comment box and its send button at the end; `typed` kept after an
    error."""
    box: Json = {
        "type": "Input.Text",
        "id": COMMENT_INPUT,
        "label": t("polls.comment_label"),
        "isMultiline": True,
        "maxLength": COMMENT_MAX,
    }
    if typed:
        box["value"] = typed
    send = {
        "type": "Action.Execute",
        "verb": COMMENT_SEND,
        "title": t("polls.send"),
        "data": {"cop": COMMENT_SEND, "value": value},
    }
    return {**card, "body": [*card["body"], box, {"type": "ActionSet", "actions": [send]}]}
