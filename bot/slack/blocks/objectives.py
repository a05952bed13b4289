"""The indicator modal of a charter objective: which of the bot's figures measures it (a static
select of bot.objectives.INDICATORS, named as every surface names them) and an optional target.
The objectives list itself is a neutral message (rituals/objectives.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import figures, objectives
from bot.errors import InvalidFields, InvalidInput
from bot.i18n import Translator
from bot.numbers import row_id
from bot.slack.blocks.common import input_values, modal_metadata, section
from bot.slack.text import typed

MODAL = "objective_indicator_modal"
INDICATOR_BLOCK = "objective_indicator"
TARGET_BLOCK = "objective_target"
_INPUT = "value"
NONE = "none"  # the select's "no indicator" option
TARGET_MAX_LENGTH = 20
OPTION_MAX = 75  # Block Kit: an option's text


def _target_text(t: Translator, target: Decimal | None, indicator: str | None) -> str | None:
    if target is None:
        return None
    if indicator in objectives.RATES:
        return t.percent(float(target))
    return t.number(int(target) if target == target.to_integral() else target)


METADATA_MAX = 3000  # Slack's limit on a view's private_metadata


def build_modal(
    t: Translator,
    *,
    objective: objectives.ObjectiveView,
    place: dict[str, str],
) -> View:
    """Pre-filled with the objective's indicator and target; `place` says which message to
    update once saved (a DM's channel and ts, or an ephemeral answer's response_url)."""
    options = [Option(value=NONE, text=t("objectives.no_indicator"))] + [
        Option(value=key, text=figures.name(t, key)[:OPTION_MAX]) for key in objectives.INDICATORS
    ]
    chosen = next((o for o in options if o.value == (objective.indicator or NONE)), options[0])
    blocks: list[Block] = [
        section(t("objectives.modal_intro", objective=objective.text)),
        InputBlock(
            block_id=INDICATOR_BLOCK,
            label=t("objectives.field.indicator"),
            hint=t("objectives.hint.indicator"),
            element=StaticSelectElement(action_id=_INPUT, options=options, initial_option=chosen),
        ),
        InputBlock(
            block_id=TARGET_BLOCK,
            label=t("objectives.field.target"),
            hint=t("objectives.hint.target"),
            optional=True,
            element=PlainTextInputElement(
                action_id=_INPUT,
                max_length=TARGET_MAX_LENGTH,
                initial_value=_target_text(t, objective.target, objective.indicator),
            ),
        ),
    ]
    meta: dict[str, Any] = {"o": objective.id, "c": objective.community_id, "y": objective.year}
    if len(json.dumps({**meta, **place})) <= METADATA_MAX:
        meta |= place  # else saved all the same, the message it came from just not redrawn
    return View(
        type="modal",
        callback_id=MODAL,
        title=PlainTextObject(text=t("objectives.modal_title")),
        submit=PlainTextObject(text=t("charter.save")),
        close=PlainTextObject(text=t("charter.cancel")),
        private_metadata=json.dumps(meta, separators=(",", ":")),
        blocks=blocks,
    )


def parse(view: dict[str, Any]) -> tuple[str | None, Decimal | None]:
    """(indicator, target); every field error at once, as the charter modal does."""
    picked = (input_values(view, INDICATOR_BLOCK, _INPUT).get("selected_option") or {}).get("value")
    indicator = None if picked in (None, NONE) else str(picked)
    errors: list[InvalidInput] = []
    if indicator is not None and indicator not in objectives.INDICATORS:
        errors.append(InvalidInput("error.invalid", field="indicator"))
        indicator = None
    target: Decimal | None = None
    try:
        target = objectives.parse_target(
            typed(input_values(view, TARGET_BLOCK, _INPUT).get("value") or ""),
            indicator=indicator,
        )
    except InvalidInput as exc:
        errors.append(exc)
    if not errors:
        try:
            objectives.check_indicator(indicator, target)
        except InvalidFields as exc:
            errors += exc.errors
    if errors:
        raise InvalidFields(errors)
    return indicator, target


def field_block(field: str | None) -> str:
    return TARGET_BLOCK if field == "target" else INDICATOR_BLOCK


def place_of(view: dict[str, Any]) -> tuple[int, int, int, dict[str, str]]:
    """(objective, community, year, where its message is) from the modal's metadata."""
    meta = modal_metadata(view)
    place = {k: str(meta[k]) for k in ("ch", "ts", "u") if isinstance(meta.get(k), str)}
    return row_id(meta.get("o")), row_id(meta.get("c")), row_id(meta.get("y")), place
