"""The « animation » checklist modal (bot.feedback): six items, yes / partly / no each, and an
optional comment; and its parser."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
)
from slack_sdk.models.views import View

from bot import feedback
from bot.i18n import Translator
from bot.numbers import row_id
from bot.slack.blocks.common import input_values, modal_metadata, note, section
from bot.slack.echo import say

MODAL = "event_feedback_modal"
_INPUT = "answer"
_BLOCK = "feedback:"  # + the item key
COMMENT = "feedback_comment"


def block_of(item: str | None) -> str:
    if item == "comment":
        return COMMENT
    return _BLOCK + (item if item in feedback.ITEMS else next(iter(feedback.ITEMS)))


def build_modal(
    t: Translator,
    *,
    event_id: int,
    event: str,
    community: str,
    mine: dict[str, str],
    comment: str | None,
    channel: str | None,
    ts: str | None,
) -> View:
    """The checklist pre-filled with the person's earlier answers; the DM it came from is in
    the metadata, so the submission can update it in place."""
    blocks: list[Block] = [
        section(say(t, "feedback.modal_intro", event=event, community=community)),
    ]
    for item in feedback.ITEMS:
        options = [
            Option(value=answer, text=t(f"feedback.answer.{answer}")) for answer in feedback.ANSWERS
        ]
        chosen = next((o for o in options if o.value == mine.get(item)), None)
        blocks.append(
            InputBlock(
                block_id=block_of(item),
                label=t(f"feedback.item.{item}"),
                element=RadioButtonsElement(
                    action_id=_INPUT, options=options, initial_option=chosen
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=COMMENT,
            label=t("feedback.comment"),
            element=PlainTextInputElement(
                action_id=_INPUT,
                multiline=True,
                max_length=feedback.COMMENT_MAX,
                initial_value=comment or None,
                placeholder=t("feedback.comment_placeholder"),
            ),
            optional=True,
        )
    )
    blocks.append(note(t("feedback.modal_note")))
    return View(
        type="modal",
        callback_id=MODAL,
        title=PlainTextObject(text=t("feedback.modal_title")),
        submit=PlainTextObject(text=t("feedback.save")),
        close=PlainTextObject(text=t("feedback.cancel")),
        private_metadata=json.dumps({"e": event_id, "ch": channel or "", "ts": ts or ""}),
        blocks=blocks,
    )


def event_of(view: dict[str, Any]) -> int:
    return row_id(modal_metadata(view).get("e"))


def dm_of(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """The DM the checklist was opened from (to update it in place), if known."""
    meta = modal_metadata(view)
    channel, ts = str(meta.get("ch") or ""), str(meta.get("ts") or "")
    return (channel or None, ts or None)


def parse(view: dict[str, Any]) -> tuple[dict[str, object], object]:
    """view.state.values → (item → the answer picked, the comment), checked by
    feedback.validate. Blocks the modal does not have are read too: a forged one is refused."""
    picked: dict[str, object] = {}
    values = view.get("state", {}).get("values", {}) or {}
    for block_id in values:
        if block_id.startswith(_BLOCK):
            option = input_values(view, block_id, _INPUT).get("selected_option") or {}
            picked[block_id[len(_BLOCK) :]] = option.get("value")
    comment = input_values(view, COMMENT, _INPUT).get("value")
    return picked, comment
