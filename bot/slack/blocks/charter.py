"""The charter screens: the edit modal (and its state parser), the charter message, its history."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.charters import (
    LIST_FIELDS,
    LIST_ITEM_MAX,
    LIST_MAX_ITEMS,
    ORDER,
    STALE_DAYS,
    TEXT_MAX,
    CharterDraft,
    CharterState,
    CharterView,
    Roles,
    VersionSummary,
    draft_from,
    lines,
    offered_year,
)
from bot.i18n import Translator
from bot.models import utcnow
from bot.numbers import row_id
from bot.slack.blocks.common import (
    header,
    input_values,
    modal_metadata,
    note,
    section,
    sections_of_lines,
)
from bot.slack.echo import Mrkdwn, echo, md, mention, say
from bot.slack.text import typed

MODAL = "charter_modal"
FIELD_BLOCK = {
    "mission": "charter_mission",
    "ambition": "charter_ambition",
    "objectives": "charter_objectives",
    "objectives_year": "charter_year",
    "values": "charter_values",
    "member_benefits": "charter_member_benefits",
    "organisation_benefits": "charter_org_benefits",
    "indicators": "charter_indicators",
    "collective_benefits": "charter_collective_benefits",
    "stakeholders": "charter_stakeholders",
    "resource_needs": "charter_resource_needs",
    "animation_plan": "charter_animation_plan",
}
_INPUT = "value"


def _mentions(ids: tuple[str, ...], t: Translator) -> Mrkdwn:
    return Mrkdwn(", ").join(mention(u) for u in ids) if ids else echo(t("charter.nobody"))


def roles_text(t: Translator, roles: Roles) -> Mrkdwn:
    return Mrkdwn("\n").join(
        say(t, "charter.role_line", role=t(f"charter.role_{key}"), people=_mentions(ids, t))
        for key, ids in roles.listed()
    )


def build_modal(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    current: CharterDraft | None,
    roles: Roles,
    year: int,
) -> View:
    """The edit modal, pre-filled with the current version."""
    draft = current or CharterDraft()
    blocks: list[Block] = [section(t("charter.modal_intro", name=community_name))]
    for name in ORDER:
        block_id = FIELD_BLOCK[name]
        label = t(f"charter.field.{name}")
        if name == "objectives_year":
            chosen = offered_year(draft.objectives_year, year)
            years = sorted({year - 1, year, year + 1, chosen})
            options = [Option(value=str(y), text=str(y)) for y in years]
            element: Any = StaticSelectElement(
                action_id=_INPUT,
                options=options,
                initial_option=next(o for o in options if o.value == str(chosen)),
            )
            blocks.append(InputBlock(block_id=block_id, label=label, element=element))
            continue
        if name in LIST_FIELDS:
            initial = "\n".join(getattr(draft, name))
            hint = t("charter.hint_lines", max=LIST_MAX_ITEMS)
            max_length = LIST_MAX_ITEMS * (LIST_ITEM_MAX + 1)
        else:
            initial = getattr(draft, name)
            hint = t(f"charter.hint.{name}")
            max_length = TEXT_MAX
        blocks.append(
            InputBlock(
                block_id=block_id,
                label=label,
                hint=hint,
                optional=name != "mission",
                element=PlainTextInputElement(
                    action_id=_INPUT,
                    multiline=True,
                    max_length=max_length,
                    initial_value=initial or None,
                ),
            )
        )
    blocks += [DividerBlock(), section(roles_text(t, roles)), note(t("charter.roles_hint"))]
    return View(
        type="modal",
        callback_id=MODAL,
        title=PlainTextObject(text=t("charter.modal_title")),
        submit=PlainTextObject(text=t("charter.save")),
        close=PlainTextObject(text=t("charter.cancel")),
        private_metadata=json.dumps({"c": community_id}),
        blocks=blocks,
    )


def community_of(view: dict[str, Any]) -> int:
    """The community the modal was opened for (NotFound when the metadata is not ours)."""
    return row_id(modal_metadata(view).get("c"))


def parse(view: dict[str, Any]) -> CharterDraft:
    """view.state.values → the draft (field checks happen in the domain)."""

    def raw(name: str) -> dict[str, Any]:
        return input_values(view, FIELD_BLOCK[name], _INPUT)

    def text(name: str) -> str:
        return (raw(name).get("value") or "").strip()

    def listed(name: str) -> tuple[str, ...]:
        # a line of only invisible characters is a blank line, dropped like one
        return lines("\n".join(map(typed, (raw(name).get("value") or "").splitlines())))

    year_option = raw("objectives_year").get("selected_option") or {}
    picked = str(year_option.get("value") or "")
    return draft_from(text, listed, picked, this_year=utcnow().year)


def field_block(field: str | None) -> str:
    return FIELD_BLOCK.get(field or "", FIELD_BLOCK["mission"])


def _author(t: Translator, user_id: str | None) -> Mrkdwn:
    return mention(user_id) if user_id else echo(t("charter.nobody"))


def _when(t: Translator, moment: datetime, tz: str) -> str:
    return t.date(moment.astimezone(ZoneInfo(tz)).date(), "long")


def build_charter(
    t: Translator,
    *,
    community_name: str,
    charter: CharterView | None,
    roles: Roles,
    today: date,
    tz: str,
    stale_days: int = STALE_DAYS,
) -> tuple[Mrkdwn, list[Block]]:
    """The charter as a message (ephemeral or posted in the channel)."""
    title = t("charter.title", name=community_name)
    if charter is None:
        return echo(title), [
            header(title),
            section(t("charter.none_yet")),
            section(roles_text(t, roles)),
        ]
    draft = charter.draft
    blocks: list[Block] = [header(title)]
    state = charter.state(today=today, stale_days=stale_days)
    if state.to_review:
        blocks.append(
            section(
                t("charter.to_review", year=today.year)
                if state == CharterState.STALE
                else t("charter.to_review_no_objectives")
            )
        )

    def part(name: str, body: str) -> None:
        if body:
            blocks.append(
                section(md("*{label}*\n{body}", label=t(f"charter.field.{name}"), body=body))
            )

    part("mission", draft.mission)
    part("ambition", draft.ambition)
    if draft.objectives:
        heading = t("charter.objectives_of", year=draft.objectives_year or "—")
        bullets = "\n".join(f"• {o}" for o in draft.objectives)
        blocks.append(section(md("*{heading}*\n{bullets}", heading=heading, bullets=bullets)))
    part("values", draft.values)
    part("member_benefits", draft.member_benefits)
    part("collective_benefits", draft.collective_benefits)
    part("organisation_benefits", draft.organisation_benefits)
    part("stakeholders", draft.stakeholders)
    part("resource_needs", draft.resource_needs)
    part("animation_plan", draft.animation_plan)
    part("roles", roles_text(t, roles))
    part("indicators", "\n".join(f"• {i}" for i in draft.indicators))
    version = say(
        t,
        "charter.version_line",
        version=charter.version,
        author=_author(t, charter.author_user_id),
        date=_when(t, charter.created_at, tz),
    )
    blocks.append(note(version))
    return echo(title), blocks


def build_history(
    t: Translator, *, community_name: str, versions: list[VersionSummary], tz: str
) -> tuple[Mrkdwn, list[Block]]:
    title = t("charter.history_title", name=community_name)
    if not versions:
        return echo(title), [section(t("charter.none_yet"))]
    rows: list[str] = [
        say(
            t,
            "charter.history_line",
            version=v.version,
            author=_author(t, v.author_user_id),
            date=t.datetime(v.created_at, tz),
        )
        for v in versions[:40]
    ]
    return echo(title), [header(title), *sections_of_lines(rows)]
