"""The pulse poll's comment modal (the poll and its results are messages: rituals/pulse.py)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.i18n import Translator
from bot.slack.text import typed
from rituals import pulse

COMMENT_VIEW = "pulse_comment_view"
COMMENT_BLOCK = "comment"
COMMENT_INPUT = "comment_input"


def build_comment_modal(t: Translator, *, poll_id: int, key: str) -> View:
    return View(
        type="modal",
        callback_id=COMMENT_VIEW,
        private_metadata=f"{poll_id}|{key}",
        title=t("polls.comment_title"),
        submit=t("polls.send"),
        close=t("polls.cancel"),
        blocks=[
            InputBlock(
                block_id=COMMENT_BLOCK,
                label=t("polls.comment_label"),
                element=PlainTextInputElement(
                    action_id=COMMENT_INPUT, multiline=True, max_length=2000
                ),
            )
        ],
    )


def parse_comment(view: dict[str, Any]) -> tuple[int, str, str]:
    poll_id, key = pulse.parse_question(view.get("private_metadata") or "")
    values = (view.get("state") or {}).get("values") or {}
    value = typed(((values.get(COMMENT_BLOCK) or {}).get(COMMENT_INPUT) or {}).get("value"))
    return poll_id, key, value
