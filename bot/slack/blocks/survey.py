"""The annual survey's modals: the questionnaire (radio buttons, checkboxes, selects, text), the
leaders' "hold back" reason, and the manager's cover message in French and English.

The invitation and the results are neutral messages (rituals/survey.py)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import survey as domain
from bot.errors import NotFound
from bot.i18n import Translator
from bot.numbers import row_id
from bot.slack.blocks.common import note, section
from bot.slack.echo import say
from bot.slack.text import typed

FORM_VIEW = "survey_form"
HOLD_VIEW = "survey_hold_view"
COVER_VIEW = "survey_cover_view"
ANSWER_ACTION = "answer"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"
COVER_FR, COVER_EN, COVER_INPUT = "cover_fr", "cover_en", "cover_input"
LABEL_MAX = 2000
OPTION_MAX = 75


def _pick(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or next(iter(texts.values()), "")


def _option(text: str, value: int) -> Option:
    return Option(text=text[:OPTION_MAX], value=str(value))


def _element(q: dict[str, Any], t: Translator, mine: domain.Answer | None) -> Any:
    score, comment = mine or (None, None)
    kind = q["kind"]
    if kind == "text":
        return PlainTextInputElement(
            action_id=ANSWER_ACTION,
            multiline=True,
            max_length=2000,
            initial_value=comment or None,
        )
    if kind == "multiple":
        options = [_option(_pick(o, t.language), i) for i, o in enumerate(q["options"])]
        picked = [options[i] for i in domain.options_of(score or 0) if i < len(options)]
        return CheckboxesElement(
            action_id=ANSWER_ACTION, options=options, initial_options=picked or None
        )
    if kind == "single":
        labels = [_pick(o, t.language) for o in q["options"]]
        values = list(range(len(labels)))
    else:
        values = list(range(q["min"], q["max"] + 1))
        labels = [str(v) for v in values]
    options = [_option(label, v) for label, v in zip(labels, values, strict=True)]
    initial = next((o for o, v in zip(options, values, strict=True) if v == score), None)
    if len(options) <= 5 or kind == "single":
        return RadioButtonsElement(action_id=ANSWER_ACTION, options=options, initial_option=initial)
    return StaticSelectElement(
        action_id=ANSWER_ACTION,
        options=options,
        initial_option=initial,
        placeholder=t("survey.pick"),
    )


def build_form(
    t: Translator,
    *,
    poll_id: int,
    community: str,
    closes: str,
    questions: list[dict[str, Any]],
    mine: dict[str, domain.Answer],
    min_answers: int,
) -> View:
    """Every question in one modal, prefilled with the member's answers while the survey is open."""
    blocks: list[Block] = [
        section(say(t, "survey.modal_intro", community=community, closes=closes))
    ]
    for q in questions:
        blocks.append(
            InputBlock(
                block_id=f"q_{q['key']}",
                label=_pick(q["text"], t.language)[:LABEL_MAX],
                element=_element(q, t, mine.get(q["key"])),
                optional=bool(q.get("optional")),
            )
        )
    blocks.append(note(t("survey.anonymous_note", min=min_answers)))
    return View(
        type="modal",
        callback_id=FORM_VIEW,
        private_metadata=str(poll_id),
        title=t("survey.modal_title"),
        submit=t("survey.send"),
        close=t("survey.cancel"),
        blocks=blocks,
    )


def parse_form(view: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(poll id, {question key: plain value}) from a submitted questionnaire."""
    try:
        poll_id = row_id(view.get("private_metadata") or "")
    except ValueError:
        raise NotFound("polls.not_found") from None
    values = (view.get("state") or {}).get("values") or {}
    given: dict[str, Any] = {}
    for block_id, actions in values.items():
        if not block_id.startswith("q_") or not isinstance(actions, dict):
            continue
        state = actions.get(ANSWER_ACTION) or {}
        kind = state.get("type")
        if kind == "plain_text_input":
            given[block_id[2:]] = typed(state.get("value"))
        elif kind == "checkboxes":
            given[block_id[2:]] = [o.get("value") for o in state.get("selected_options") or []]
        else:
            selected = state.get("selected_option")
            given[block_id[2:]] = selected.get("value") if selected else None
    return poll_id, given


def build_hold(t: Translator, *, poll_id: int) -> View:
    return View(
        type="modal",
        callback_id=HOLD_VIEW,
        private_metadata=str(poll_id),
        title=t("survey.hold_title"),
        submit=t("survey.send"),
        close=t("survey.cancel"),
        blocks=[
            InputBlock(
                block_id=REASON_BLOCK,
                label=t("survey.hold_label"),
                element=PlainTextInputElement(
                    action_id=REASON_INPUT, multiline=True, max_length=domain.REASON_MAX
                ),
            )
        ],
    )


def parse_hold(view: dict[str, Any]) -> tuple[int, str]:
    try:
        poll_id = row_id(view.get("private_metadata") or "")
    except ValueError:
        raise NotFound("polls.not_found") from None
    values = (view.get("state") or {}).get("values") or {}
    reason = typed(((values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}).get("value"))
    return poll_id, reason


def build_cover(t: Translator, *, year: int, cover: dict[str, str]) -> View:
    """The manager's cover message, prefilled with the campaign's (or app.yaml's)."""
    return View(
        type="modal",
        callback_id=COVER_VIEW,
        private_metadata=str(year),
        title=t("survey.cover_title"),
        submit=t("survey.send"),
        close=t("survey.cancel"),
        blocks=[
            note(t("survey.cover_hint")),
            *(
                InputBlock(
                    block_id=block,
                    label=t(label),
                    element=PlainTextInputElement(
                        action_id=COVER_INPUT,
                        multiline=True,
                        max_length=domain.COVER_MAX,
                        initial_value=cover.get(lang) or None,
                    ),
                )
                for block, label, lang in (
                    (COVER_FR, "survey.cover_fr", "fr"),
                    (COVER_EN, "survey.cover_en", "en"),
                )
            ),
        ],
    )


def parse_cover(view: dict[str, Any]) -> tuple[int, str, str]:
    try:
        year = row_id(view.get("private_metadata") or "")
    except ValueError:
        raise NotFound("polls.not_found") from None
    values = (view.get("state") or {}).get("values") or {}

    def text(block: str) -> str:
        return typed(((values.get(block) or {}).get(COVER_INPUT) or {}).get("value"))

    return year, text(COVER_FR), text(COVER_EN)
