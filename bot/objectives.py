"""A charter's objectives of the year as rows that are followed up: a status each (in progress,
achieved, dropped) and, when the leaders pick one, the bot's figure that measures it (a key of
bot/figures.py) with an optional target.

Source 000 measures a community's effectiveness as « atteinte des objectifs »: saving a charter
syncs its objectives for their year (`sync`), the leaders set each status (`/cop charter
objectives`, the quarterly DM: rituals/objectives.py), and bot.kpis counts "objectives achieved"
at level 3 as achieved / (all − dropped).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import people
from bot.audit import record
from bot.errors import InvalidFields, InvalidInput, NotFound
from bot.models import CharterObjective, ObjectiveStatus
from bot.permissions import Action, Actor, require

# Figures that measure something one community can aim at (bot/figures.py keys): counts and
# rates of its own, never a programme-only figure nor the value by unit (a figure per unit).
INDICATORS: tuple[str, ...] = (
    "members",
    "new_members",
    "active_members",
    "active_rate",
    "messages",
    "replies",
    "reactions",
    "events_held",
    "attendance",
    "pulse",
    "enps",
    "response_rate",
    "stories",
)
RATES = frozenset({"active_rate", "response_rate"})  # shown and targeted as percentages
TARGET_MAX = Decimal("1000000000")
# two wordings this close are one objective reworded (« Lancer 4 webinaires » → « Lancer 6
# webinaires »): it keeps its status and indicator
REWORDED = 0.75


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    id: int
    community_id: int
    year: int
    position: int
    text: str
    status: ObjectiveStatus
    indicator: str | None
    target: Decimal | None
    updated_at: datetime


def _view(row: CharterObjective) -> ObjectiveView:
    return ObjectiveView(
        id=row.id,
        community_id=row.community_id,
        year=row.year,
        position=row.position,
        text=row.text,
        status=row.status,
        indicator=row.indicator,
        target=row.target,
        updated_at=row.updated_at,
    )


def _same(text: str) -> str:
    """Two writings of one objective: case and inner spaces do not make a new one."""
    return " ".join(text.split()).casefold()


async def sync(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    year: int,
    texts: tuple[str, ...],
    person_id: int | None = None,
) -> list[ObjectiveView]:
    """Make the rows of (community, year) the charter's objectives, in its order: an objective
    kept (same words) keeps its status and indicator, a new one starts in progress, one taken
    out of the charter goes. Other years are left as they are."""
    rows = list(
        await session.scalars(
            sa.select(CharterObjective)
            .where(CharterObjective.community_id == community_id, CharterObjective.year == year)
            .order_by(CharterObjective.position, CharterObjective.id)
        )
    )
    by_text: dict[str, list[CharterObjective]] = defaultdict(list)
    for row in rows:
        by_text[_same(row.text)].append(row)
    kept: dict[int, CharterObjective] = {}
    for position, text in enumerate(texts):  # the same words: the same objective
        found = by_text.get(_same(text))
        if found:
            row = found.pop(0)
            if row.position != position or row.text != text:
                row.position, row.text = position, text
            kept[position] = row
    # what is left of the old rows: one reworded (a typo fixed, a figure changed: close
    # enough in its words) keeps its status and indicator; the rest were taken out
    leftovers = [r for rows_ in by_text.values() for r in rows_]
    fresh = [p for p in range(len(texts)) if p not in kept]
    pairs = sorted(
        (
            (SequenceMatcher(None, _same(r.text), _same(texts[p])).ratio(), i, p)
            for i, r in enumerate(leftovers)
            for p in fresh
        ),
        reverse=True,
    )
    reworded: dict[int, CharterObjective] = {}
    used: set[int] = set()
    for score, i, p in pairs:
        if score >= REWORDED and i not in used and p not in reworded:
            reworded[p] = leftovers[i]
            used.add(i)
    for position in fresh:
        if position in reworded:
            row = reworded[position]
            row.text, row.position = texts[position], position
        else:
            row = CharterObjective(
                workspace_id=workspace_id,
                community_id=community_id,
                year=year,
                position=position,
                text=texts[position],
                status=ObjectiveStatus.IN_PROGRESS,
                updated_by_person_id=person_id,
            )
            session.add(row)
        kept[position] = row
    for i, gone in enumerate(leftovers):
        if i not in used:
            await session.delete(gone)
    await session.flush()
    return [_view(kept[p]) for p in sorted(kept)]


async def of_year(session: AsyncSession, *, community_id: int, year: int) -> list[ObjectiveView]:
    rows = await session.scalars(
        sa.select(CharterObjective)
        .where(CharterObjective.community_id == community_id, CharterObjective.year == year)
        .order_by(CharterObjective.position, CharterObjective.id)
    )
    return [_view(r) for r in rows]


async def _guarded(session: AsyncSession, *, actor: Actor, objective_id: int) -> CharterObjective:
    """The row, once the actor may follow up its community's objectives; an objective taken out
    of the charter meanwhile is "not found" (the message that showed it is out of date)."""
    row = await session.get(CharterObjective, objective_id, with_for_update=True)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound("objectives.gone")
    await require(
        session, actor=actor, action=Action.TRACK_OBJECTIVES, community_id=row.community_id
    )
    return row


async def _person_id(session: AsyncSession, actor: Actor) -> int:
    found = await people.ensure_many(
        session, workspace_id=actor.workspace_id, slack_user_ids=[actor.slack_user_id]
    )
    return found[actor.slack_user_id].id


async def _audit(
    session: AsyncSession, actor: Actor, row: CharterObjective, action: str, **detail: Any
) -> None:
    await record(
        session,
        workspace_id=actor.workspace_id,
        actor=actor.slack_user_id,
        action=action,
        community_id=row.community_id,
        detail={"objective": row.id, "year": row.year, **detail},
    )


@dataclass(frozen=True, slots=True)
class Changed:
    objective: ObjectiveView
    changed: bool  # False when it already was so (a double click, two leaders at once)


async def set_status(
    session: AsyncSession, *, actor: Actor, objective_id: int, status: ObjectiveStatus
) -> Changed:
    row = await _guarded(session, actor=actor, objective_id=objective_id)
    if row.status == status:
        return Changed(_view(row), changed=False)
    row.status = status
    row.updated_by_person_id = await _person_id(session, actor)
    await session.flush()
    await _audit(session, actor, row, "objective.status", status=status.value)
    return Changed(_view(row), changed=True)


def parse_target(text: str | None, *, indicator: str | None) -> Decimal | None:
    """A target as typed (« 40 », « 12,5 »); for a rate, always a percentage (« 60 » or
    « 60 % » is 60 %), stored as the ratio the figure is (0.6)."""
    raw = (text or "").strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not raw:
        return None
    raw = raw.removesuffix("%").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput("objectives.bad_target", field="target") from None
    if not value.is_finite() or value < 0 or value > TARGET_MAX:
        raise InvalidInput("objectives.bad_target", field="target")
    if indicator in RATES:
        if value > 100:
            raise InvalidInput("objectives.bad_rate_target", field="target")
        value = value / 100
    return value.quantize(Decimal("0.0001")).normalize()


def check_indicator(indicator: str | None, target: Decimal | None) -> None:
    errors = []
    if indicator is not None and indicator not in INDICATORS:
        errors.append(InvalidInput("error.invalid", field="indicator"))
    if indicator is None and target is not None:
        errors.append(InvalidInput("objectives.target_without_indicator", field="target"))
    if errors:
        raise InvalidFields(errors)


async def set_indicator(
    session: AsyncSession,
    *,
    actor: Actor,
    objective_id: int,
    indicator: str | None,
    target: Decimal | None,
) -> Changed:
    check_indicator(indicator, target)
    row = await _guarded(session, actor=actor, objective_id=objective_id)
    if row.indicator == indicator and row.target == target:
        return Changed(_view(row), changed=False)
    row.indicator, row.target = indicator, target
    row.updated_by_person_id = await _person_id(session, actor)
    await session.flush()
    await _audit(
        session,
        actor,
        row,
        "objective.indicator",
        indicator=indicator,
        target=None if target is None else str(target),
    )
    return Changed(_view(row), changed=True)


async def get(session: AsyncSession, *, actor: Actor, objective_id: int) -> ObjectiveView:
    """One objective, for whoever may follow it up (the indicator modal opens pre-filled)."""
    return _view(await _guarded(session, actor=actor, objective_id=objective_id))


@dataclass(frozen=True, slots=True)
class Tally:
    achieved: int
    counted: int  # all but the dropped ones

    @property
    def rate(self) -> float | None:
        return None if not self.counted else self.achieved / self.counted


def tally(items: list[ObjectiveView]) -> Tally:
    counted = [o for o in items if o.status != ObjectiveStatus.DROPPED]
    return Tally(sum(o.status == ObjectiveStatus.ACHIEVED for o in counted), len(counted))
