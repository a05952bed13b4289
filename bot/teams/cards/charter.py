"""The charter in Teams: the card a channel sees, and the dialog's form (the Slack modal's fields
and limits, as Adaptive Card inputs) with its parser."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.charters import (
    LIST_FIELDS,
    LIST_ITEM_MAX,
    LIST_MAX_ITEMS,
    OBJECTIVES_YEAR_MIN,
    ORDER,
    STALE_DAYS,
    TEXT_FIELDS,
    TEXT_MAX,
    CharterDraft,
    CharterState,
    CharterView,
    Roles,
    draft_from,
    lines,
    offered_year,
)
from bot.errors import InvalidFields
from bot.i18n import Translator
from bot.teams.cards.common import (
    Json,
    card,
    heading,
    note,
    open_dialog,
    problem,
    say,
    text,
)
from bot.teams.render import escape

DIALOG = "charter"  # the key of the dialog's invokes (data.cop)
LISTS = LIST_FIELDS
TEXTS = TEXT_FIELDS


def _people(t: Translator, ids: tuple[str, ...], names: Mapping[str, str]) -> str:
    if not ids:
        return t("charter.nobody")
    return ", ".join(escape(names.get(i) or i) for i in ids)


def roles_text(t: Translator, roles: Roles, names: Mapping[str, str]) -> str:
    return "\n\n".join(
        say(t, "charter.role_line", role=t(f"charter.role_{key}"), people=_people(t, ids, names))
        for key, ids in roles.listed()
    )


def build_card(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    charter: CharterView | None,
    roles: Roles,
    names: Mapping[str, str],
    today: date,
    tz: str,
    editable: bool,
    stale_days: int = STALE_DAYS,
) -> Json:
    """The charter as a card; « Modifier la charte » only for those the guard lets edit it."""
    body: list[Json] = [heading(say(t, "charter.title", typed={"name": community_name}))]
    actions = [open_dialog(t("teams.charter.edit"), DIALOG, community=community_id)]
    if charter is None:
        body += [
            text(t("teams.charter.none_yet")),
            text(roles_text(t, roles, names)),
        ]
        return card(body, actions if editable else None)
    draft = charter.draft
    state = charter.state(today=today, stale_days=stale_days)
    if state.to_review:
        body.append(
            text(
                say(t, "charter.to_review", year=today.year)
                if state == CharterState.STALE
                else say(t, "charter.to_review_no_objectives"),
                color="Warning",
            )
        )

    def part(label: str, value: str) -> None:
        if value:
            body.append(text(label, weight="Bolder", spacing="Medium"))
            body.append(text(value, spacing="None"))

    def plain(name: str) -> None:
        part(t(f"charter.field.{name}"), escape(getattr(draft, name)))

    for name in ORDER:  # the texts and the objectives; the roles, then the indicators, last
        if name in TEXT_FIELDS:
            plain(name)
        elif name == "objectives" and draft.objectives:
            part(
                t("charter.objectives_of", year=draft.objectives_year or "—"),
                "\n".join(f"- {escape(o)}" for o in draft.objectives),
            )
    part(t("charter.field.roles"), roles_text(t, roles, names))
    part(t("charter.field.indicators"), "\n".join(f"- {escape(i)}" for i in draft.indicators))
    author = escape(charter.author_name) if charter.author_name else t("charter.nobody")
    body.append(
        note(
            t(
                "charter.version_line",
                version=charter.version,
                author=author,
                date=_when(t, charter.created_at, tz),
            )
        )
    )
    return card(body, actions if editable else None)


def _when(t: Translator, moment: datetime, tz: str) -> str:
    return t.date(moment.astimezone(ZoneInfo(tz)).date(), "long")


# --- the dialog ------------------------------------------------------------------------------


def values_of(draft: CharterDraft, *, year: int) -> dict[str, str]:
    """A saved charter as the form's values (what the dialog opens pre-filled with)."""
    values = {name: getattr(draft, name) for name in TEXTS}
    values |= {name: "\n".join(getattr(draft, name)) for name in LISTS}
    values["objectives_year"] = str(offered_year(draft.objectives_year, year))
    return values


def build_form(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    values: Mapping[str, str],
    year: int,
    errors: Mapping[str, str] | None = None,
) -> Json:
    """The charter form, filled with `values` (the saved charter, or what was just typed), each
    field's error under it."""
    errors = errors or {}
    body: list[Json] = [text(say(t, "charter.modal_intro", typed={"name": community_name}))]
    if errors:
        body.append(text(t("teams.form.fix"), color="Attention", weight="Bolder"))
    for name in ORDER:
        label = t(f"charter.field.{name}")
        if name == "objectives_year":
            chosen = values.get(name) or str(year)
            if not (chosen.isascii() and chosen.isdigit() and len(chosen) == 4) or not (
                OBJECTIVES_YEAR_MIN <= int(chosen) <= year + 1
            ):
                chosen = str(year)  # a forged year is not offered back
            years = sorted({str(y) for y in (year - 1, year, year + 1)} | {chosen})
            body.append(
                {
                    "type": "Input.ChoiceSet",
                    "id": name,
                    "label": label,
                    "style": "compact",
                    "value": chosen,
                    "choices": [{"title": y, "value": y} for y in years],
                }
            )
        else:
            if name in LISTS:
                hint = t("charter.hint_lines", max=LIST_MAX_ITEMS)
                limit = LIST_MAX_ITEMS * (LIST_ITEM_MAX + 1)
            else:
                hint = t(f"charter.hint.{name}")
                limit = TEXT_MAX
            field: Json = {
                "type": "Input.Text",
                "id": name,
                "label": label,
                "isMultiline": True,
                "maxLength": limit,
                "placeholder": hint,
                "value": values.get(name) or "",
            }
            if name == "mission":
                field |= {"isRequired": True, "errorMessage": t("charter.mission_missing")}
            body.append(field)
        if name in errors:
            body.append(problem(errors[name]))
    body.append(note(t("teams.charter.roles_hint")))
    submit = {
        "type": "Action.Submit",
        "title": t("charter.save"),
        "data": {"cop": DIALOG, "community": community_id},
    }
    return card(body, [submit])


def typed_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The form's inputs as typed (only ours, only text): what the dialog shows again."""
    return {
        name: str(data[name])[: 4 * TEXT_MAX]
        for name in ORDER
        if isinstance(data.get(name), str | int)
    }


def parse(values: Mapping[str, str], *, this_year: int) -> CharterDraft:
    """The form's values → the draft (the limits are the domain's: bot.charters.validate)."""

    def plain(name: str) -> str:
        return (values.get(name) or "").strip()

    def listed(name: str) -> tuple[str, ...]:
        return lines(values.get(name))

    return draft_from(plain, listed, plain("objectives_year"), this_year=this_year)


def field_errors(t: Translator, exc: InvalidFields) -> dict[str, str]:
    """Each field's first error, in the reader's language (one without a field goes on mission)."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(error.field or "mission", t(error.key, **error.params))
    return errors
