"""The charter screens: the edit modal (and its state parser), the charter message, its history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.charters import (
    LIST_ITEM_MAX,
    LIST_MAX_ITEMS,
    TEXT_MAX,
    CharterDraft,
    CharterView,
    Roles,
    VersionSummary,
    lines,
)
from bot.i18n import Translator

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
}
_INPUT = "value"
_TEXTS = ("mission", "ambition", "values", "member_benefits", "organisation_benefits")
_LISTS = ("objectives", "indicators")
_ORDER = (
    "mission",
    "ambition",
    "objectives",
    "objectives_year",
    "values",
    "member_benefits",
    "organisation_benefits",
    "indicators",
)


def _mentions(ids: tuple[str, ...], t: Translator) -> str:
    return ", ".join(f"<@{u}>" for u in ids) if ids else t("charter.nobody")


def roles_text(t: Translator, roles: Roles) -> str:
    return "\n".join(
        t("charter.role_line", role=t(f"charter.role_{key}"), people=_mentions(ids, t))
        for key, ids in (
            ("leaders", roles.leaders),
            ("core_team", roles.core_team),
            ("sponsors", roles.sponsors),
        )
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
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=t("charter.modal_intro", name=community_name)))
    ]
    for name in _ORDER:
        block_id = FIELD_BLOCK[name]
        label = t(f"charter.field.{name}")
        if name == "objectives_year":
            chosen = draft.objectives_year or year
            years = sorted({year - 1, year, year + 1, chosen})
            options = [Option(value=str(y), text=str(y)) for y in years]
            element: Any = StaticSelectElement(
                action_id=_INPUT,
                options=options,
                initial_option=next(o for o in options if o.value == str(chosen)),
            )
            blocks.append(InputBlock(block_id=block_id, label=label, element=element))
            continue
        if name in _LISTS:
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
    blocks += [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=roles_text(t, roles))),
        ContextBlock(elements=[MarkdownTextObject(text=t("charter.roles_hint"))]),
    ]
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
    return int(json.loads(view.get("private_metadata") or "{}")["c"])


def parse(view: dict[str, Any]) -> CharterDraft:
    """view.state.values → the draft (field checks happen in the domain)."""
    values = view.get("state", {}).get("values", {})

    def raw(name: str) -> dict[str, Any]:
        return values.get(FIELD_BLOCK[name], {}).get(_INPUT, {}) or {}

    texts = {name: (raw(name).get("value") or "").strip() for name in _TEXTS}
    lists = {name: lines(raw(name).get("value")) for name in _LISTS}
    year_option = raw("objectives_year").get("selected_option") or {}
    year = int(year_option["value"]) if year_option.get("value") else None
    return CharterDraft(**texts, **lists, objectives_year=year)


def field_block(field: str | None) -> str:
    return FIELD_BLOCK.get(field or "", FIELD_BLOCK["mission"])


def _when(t: Translator, moment: datetime, tz: str) -> str:
    return t.date(moment.astimezone(ZoneInfo(tz)).date(), "long")


def build_charter(
    t: Translator,
    *,
    community_name: str,
    charter: CharterView | None,
    roles: Roles,
    year: int,
    tz: str,
) -> tuple[str, list[Block]]:
    """The charter as a message (ephemeral or posted in the channel)."""
    title = t("charter.title", name=community_name)
    if charter is None:
        return title, [
            HeaderBlock(text=title[:150]),
            SectionBlock(text=MarkdownTextObject(text=t("charter.none_yet"))),
            SectionBlock(text=MarkdownTextObject(text=roles_text(t, roles))),
        ]
    draft = charter.draft
    blocks: list[Block] = [HeaderBlock(text=title[:150])]
    if charter.needs_review(year=year):
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=t("charter.to_review", year=year)
                    if draft.objectives
                    else t("charter.to_review_no_objectives")
                )
            )
        )

    def section(name: str, body: str) -> None:
        if body:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(text=f"*{t(f'charter.field.{name}')}*\n{body}")
                )
            )

    section("mission", draft.mission)
    section("ambition", draft.ambition)
    if draft.objectives:
        heading = t("charter.objectives_of", year=draft.objectives_year or "—")
        bullets = "\n".join(f"• {o}" for o in draft.objectives)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{heading}*\n{bullets}")))
    section("values", draft.values)
    section("member_benefits", draft.member_benefits)
    section("organisation_benefits", draft.organisation_benefits)
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text=f"*{t('charter.field.roles')}*\n{roles_text(t, roles)}")
        )
    )
    section("indicators", "\n".join(f"• {i}" for i in draft.indicators))
    who = f"<@{charter.author_user_id}>" if charter.author_user_id else t("charter.nobody")
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=t(
                        "charter.version_line",
                        version=charter.version,
                        author=who,
                        date=_when(t, charter.created_at, tz),
                    )
                )
            ]
        )
    )
    return title, blocks


def build_history(
    t: Translator, *, community_name: str, versions: list[VersionSummary], tz: str
) -> tuple[str, list[Block]]:
    title = t("charter.history_title", name=community_name)
    if not versions:
        return title, [SectionBlock(text=MarkdownTextObject(text=t("charter.none_yet")))]
    rows = [
        t(
            "charter.history_line",
            version=v.version,
            author=f"<@{v.author_user_id}>" if v.author_user_id else t("charter.nobody"),
            date=t.datetime(v.created_at, tz),
        )
        for v in versions[:40]
    ]
    blocks: list[Block] = [HeaderBlock(text=title[:150])]
    chunk: list[str] = []
    for row in rows:
        if sum(len(r) + 1 for r in chunk) + len(row) > 2800:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(row)
    blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return title, blocks
