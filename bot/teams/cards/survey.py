"""The annual survey's questionnaire in Teams, in the invitation's card itself.

The invitation is a neutral message (rituals.survey.invitation_message) whose « Répondre »
buttons the renderer makes `Action.Execute` (verb "survey_answer:<poll>"). Slack opens a modal
on that click; an Action.Execute cannot open a Teams dialog (its answer is a card or a
message), so the card refreshes in place — for the clicker alone — into the questionnaire:
the Slack modal's questions (every kind: single, multiple, scale, NPS, text) as Adaptive Card
inputs, prefilled with the member's own answers while the survey is open, sent by an
`Action.Execute` of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import survey as domain
from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.teams.cards.common import Json, card, heading, note, problem, say
from bot.teams.cards.common import text as text_block

SEND = "survey_send"  # the questionnaire's button: data {"cop", "value": "<poll id>"}
FIELD = "q_"  # + the question key: an input's id
TEXT_MAX = 2000  # a text answer, as Slack's modal allows
OPTION_MAX = 75
COMPACT_OVER = 5  # a scale of more levels than this is a drop-down (as Slack: the NPS's 0–10)


def _pick(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or next(iter(texts.values()), "")


def values_of(questions: list[Json], mine: Mapping[str, domain.Answer]) -> dict[str, str]:
    """The member's answers as the inputs' values (a multiple choice: its indexes, "0,2")."""
    values: dict[str, str] = {}
    for q in questions:
        score, comment = mine.get(q["key"]) or (None, None)
        if q["kind"] == "text":
            if comment:
                values[q["key"]] = comment
        elif q["kind"] == "multiple":
            if score:
                values[q["key"]] = ",".join(str(i) for i in domain.options_of(score))
        elif score is not None:
            values[q["key"]] = str(score)
    return values


def _input(t: Translator, q: Json, value: str | None) -> Json:
    key, kind = q["key"], q["kind"]
    field: Json = {"id": FIELD + key, "label": _pick(q["text"], t.language)}
    if kind == "text":
        field |= {"type": "Input.Text", "isMultiline": True, "maxLength": TEXT_MAX}
    else:
        if kind in ("single", "multiple"):
            labels = [_pick(o, t.language)[:OPTION_MAX] for o in q["options"]]
            choices = [{"title": label, "value": str(i)} for i, label in enumerate(labels)]
        else:
            choices = [{"title": str(v), "value": str(v)} for v in range(q["min"], q["max"] + 1)]
        compact = kind not in ("single", "multiple") and len(choices) > COMPACT_OVER
        field |= {
            "type": "Input.ChoiceSet",
            "choices": choices,
            "style": "compact" if compact else "expanded",
        }
        if compact:
            field["placeholder"] = t("survey.pick")
        if kind == "multiple":
            field["isMultiSelect"] = True
    if not q.get("optional"):
        field |= {"isRequired": True, "errorMessage": t("survey.required")}
    if value:
        field["value"] = value
    return field


def form(
    t: Translator,
    *,
    poll_id: int,
    community: str,
    closes: str,
    questions: list[Json],
    values: Mapping[str, str],
    min_answers: int,
    errors: Mapping[str, str] | None = None,
) -> Json:
    """Every question, filled with `values`, each error under its question."""
    errors = errors or {}
    body: list[Json] = [
        heading(t("survey.modal_title")),
        text_block(say(t, "survey.modal_intro", typed={"community": community}, closes=closes)),
    ]
    if errors:
        body.append(text_block(t("teams.form.fix"), color="Attention", weight="Bolder"))
    for q in questions:
        body.append(_input(t, q, values.get(q["key"])))
        if q["key"] in errors:
            body.append(problem(errors[q["key"]]))
    body.append(note(t("survey.anonymous_note", min=min_answers)))
    send = {
        "type": "Action.Execute",
        "verb": SEND,
        "title": t("survey.send"),
        "style": "positive",
        "data": {"cop": SEND, "value": str(poll_id)},
    }
    return card(body, [send])


def typed_values(data: Mapping[str, Any], questions: list[Json]) -> dict[str, str]:
    """The inputs as sent (only the questions', only text): what the card shows again."""
    return {
        q["key"]: str(data[FIELD + q["key"]])[: 2 * TEXT_MAX]
        for q in questions
        if isinstance(data.get(FIELD + q["key"]), str | int)
    }


def given(values: Mapping[str, str], questions: list[Json]) -> dict[str, Any]:
    """The inputs as `survey.check_answers` reads them (a multiple choice: a list of indexes)."""
    out: dict[str, Any] = {}
    for q in questions:
        value = values.get(q["key"])
        if value is None:
            continue
        if q["kind"] == "multiple":
            out[q["key"]] = [part for part in value.split(",") if part.strip()]
        elif q["kind"] == "text":
            out[q["key"]] = value.strip()
        else:
            out[q["key"]] = value
    return out


def field_error(t: Translator, exc: InvalidInput) -> dict[str, str]:
    return {str(exc.field): t(exc.key, **exc.params)}


def thanks(t: Translator, *, poll_id: int, community: str, answer_verb: str) -> Json:
    """The card after sending: the thanks, and the button that reopens the answers."""
    again = {
        "type": "Action.Execute",
        "verb": answer_verb,
        "title": t("teams.survey.edit"),
        "data": {"cop": answer_verb, "value": str(poll_id)},
    }
    return card(
        [
            heading(t("survey.modal_title")),
            text_block(say(t, "survey.thanks", typed={"community": community}), color="Good"),
        ],
        [again],
    )


# --- leaders: holding the results back ----------------------------------------------------------

HOLD_SEND = "survey_hold_send"  # the reason's button: data {"cop", "value": "<poll id>"}
REASON = "reason"


def with_hold_form(
    t: Translator, shown: Json, *, poll_id: int, typed: str = "", error: str | None = None
) -> Json:
    """The leaders' results card with the reason box at its end (Slack opens a modal), what was
    typed kept after an error."""
    box: Json = {
        "type": "Input.Text",
        "id": REASON,
        "label": t("survey.hold_label"),
        "isMultiline": True,
        "maxLength": domain.REASON_MAX,
        "isRequired": True,
        "errorMessage": t("survey.reason_empty"),
    }
    if typed:
        box["value"] = typed
    added: list[Json] = [heading(t("survey.hold_title")), box]
    if error:
        added.append(problem(error))
    send = {
        "type": "Action.Execute",
        "verb": HOLD_SEND,
        "title": t("survey.send"),
        "style": "destructive",
        "data": {"cop": HOLD_SEND, "value": str(poll_id)},
    }
    added.append({"type": "ActionSet", "actions": [send]})
    return {**shown, "body": [*shown["body"], *added]}
