"""A success story in Teams: the card that opens the form (one button per community of the
person), and the dialog's form — the Slack modal's fields, choices and limits as Adaptive Card
inputs — with its parser (the checks are the domain's: bot.stories.check)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import InvalidFields
from bot.i18n import Translator
from bot.models import StoryKind, StoryStatus, SuccessStory, ValueKind
from bot.stories import TEXT_LIMITS, UNITS, StoryInput
from bot.teams.cards.common import Json, card, heading, note, open_dialog, problem, say, text
from bot.teams.render import escape

DIALOG = "story"
BUTTONS = 6  # communities offered on the card (the rest: ask in their channel)
AMOUNT_MAX = 20  # as the Slack modal's amount field
FIELDS = (
    "title",
    "context",
    "contribution",
    "benefit",
    "value_amount",
    "value_unit",
    "people_involved",
    "value_kind",
    "shareable",
)


def build_prompt(t: Translator, choices: list[tuple[int, str]]) -> Json:
    """What `@cop histoire` answers: a button opening the form, per community."""
    if len(choices) == 1:
        [(community_id, name)] = choices
        body = [text(say(t, "stories.modal_intro", typed={"community": name}))]
        actions = [open_dialog(t("teams.story.open"), DIALOG, community=community_id)]
        return card(body, actions)
    body = [text(t("stories.pick_community.story"))]
    actions = [
        open_dialog(name[:60], DIALOG, community=community_id)
        for community_id, name in choices[:BUTTONS]
    ]
    return card(body, actions)


def build_form(
    t: Translator,
    *,
    community_id: int,
    community: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Json:
    values, errors = values or {}, errors or {}

    def typed(name: str, *, multiline: bool = True, required: bool = True) -> Json:
        field: Json = {
            "type": "Input.Text",
            "id": name,
            "label": t(f"stories.field.{name}"),
            "isMultiline": multiline,
            "maxLength": TEXT_LIMITS.get(name, AMOUNT_MAX),
            "value": values.get(name) or "",
        }
        if required:
            field |= {"isRequired": True, "errorMessage": t("stories.required")}
        return field

    def chosen(name: str, choices: list[tuple[str, str]]) -> Json:
        field: Json = {
            "type": "Input.ChoiceSet",
            "id": name,
            "label": t(f"stories.field.{name}"),
            "style": "compact",
            "placeholder": t("stories.pick"),
            "choices": [{"title": title, "value": value} for title, value in choices],
        }
        if values.get(name) in {value for _, value in choices}:
            field["value"] = values[name]
        return field

    inputs = {
        "title": typed("title", multiline=False),
        "context": typed("context"),
        "contribution": typed("contribution"),
        "benefit": typed("benefit"),
        "value_amount": typed("value_amount", multiline=False, required=False),
        "value_unit": chosen("value_unit", [(t(f"stories.unit.{u}"), u) for u in UNITS]),
        "people_involved": typed("people_involved", required=False),
        "value_kind": chosen(
            "value_kind", [(t(f"stories.kind.{k.value}"), k.value) for k in ValueKind]
        ),
        "shareable": {
            "type": "Input.Toggle",
            "id": "shareable",
            "label": t("stories.field.shareable"),
            "title": t("stories.shareable_yes"),
            "valueOn": "yes",
            "valueOff": "no",
            "value": "yes" if values.get("shareable") == "yes" else "no",
        },
    }
    body: list[Json] = [text(say(t, "stories.modal_intro", typed={"community": community}))]
    if errors:
        body.append(text(t("teams.form.fix"), color="Attention", weight="Bolder"))
    for name in FIELDS:
        body.append(inputs[name])
        if name in errors:
            body.append(problem(errors[name]))
    submit = {
        "type": "Action.Submit",
        "title": t("stories.submit"),
        "data": {"cop": DIALOG, "community": community_id},
    }
    return card(body, [submit])


def typed_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The form's inputs as typed (only ours, only text): what the dialog shows again."""
    return {name: str(data[name])[:4000] for name in FIELDS if isinstance(data.get(name), str)}


def parse(values: Mapping[str, str]) -> StoryInput:
    def plain(name: str) -> str:
        return (values.get(name) or "").strip()

    return StoryInput(
        title=plain("title"),
        context=plain("context"),
        contribution=plain("contribution"),
        benefit=plain("benefit"),
        value_amount=plain("value_amount") or None,
        value_unit=plain("value_unit") or None,
        people_involved=plain("people_involved"),
        shareable=plain("shareable") == "yes",
        value_kind=plain("value_kind") or None,
    )


def field_errors(t: Translator, exc: InvalidFields) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(error.field or "title", t(error.key, **error.params))
    return errors


# --- the leaders' review ---------------------------------------------------------------------

REVIEW = "stories"  # the review dialog's key (data.cop)
REVIEWED = 20  # stories on a card (bot.stories.of_community gives the latest 20)


def _story(t: Translator, story: SuccessStory, author: str | None) -> list[Json]:
    """One story, what its author typed shown as typed."""
    if story.kind == StoryKind.TESTIMONIAL:
        lines = [
            say(
                t,
                "stories.testimonial_line",
                typed={"text": story.benefit, "name": story.people_involved},
            )
        ]
    else:
        lines = [f"**{escape(story.title)}**"]
        lines += [
            say(t, f"stories.line.{name}", typed={"text": getattr(story, name)[:500]})
            for name in ("context", "contribution", "benefit")
        ]
        if story.value_amount is not None:
            unit = t(f"stories.unit.{story.value_unit or 'other'}")
            lines.append(say(t, "stories.value", amount=t.number(story.value_amount), unit=unit))
        if story.value_kind:
            kind = t(f"stories.kind.{story.value_kind.value}")
            lines.append(say(t, "stories.line.kind", kind=kind))
    if author:
        lines.insert(1, say(t, "stories.by", typed={"author": author}))
    status = t(f"stories.status.{story.status.value}")
    return [text("\n\n".join(lines)), text(f"_{status}_", spacing="None", isSubtle=True)]


def build_review(
    t: Translator,
    *,
    community: str,
    shown: list[tuple[SuccessStory, str | None]],
    decide: bool,
    heading_note: str | None = None,
    pending: int = 0,
    community_id: int | None = None,
) -> Json:
    """The community's stories. `decide`: each submitted one with Valider / Refuser (the review
    dialog); `pending`: a button opening that dialog (the channel's card, for those who may)."""
    body: list[Json] = [heading(say(t, "stories.review_title", typed={"community": community}))]
    if heading_note:
        body.append(text(heading_note, color="Good", weight="Bolder"))
    if not shown:
        body.append(text(t("stories.none")))
    for story, author in shown[:REVIEWED]:
        container: Json = {
            "type": "Container",
            "separator": True,
            "items": _story(t, story, author),
        }
        if decide and story.status == StoryStatus.SUBMITTED:
            container["items"].append(
                {
                    "type": "ActionSet",
                    "actions": [
                        {
                            "type": "Action.Submit",
                            "title": t(f"stories.{verb}"),
                            "data": {"cop": REVIEW, "story": story.id, "verb": verb},
                        }
                        for verb in ("validate", "reject")
                    ],
                }
            )
        body.append(container)
    body.append(note(t("stories.review_hint")))
    actions = None
    if pending and community_id is not None:
        title = t("teams.stories.review", count=t.number(pending))
        actions = [open_dialog(title, REVIEW, community=community_id)]
    return card(body, actions)
