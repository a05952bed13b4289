"""A member's own choices about ritual DMs: snooze one kind for a while, or turn it off (reversibly)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput
from bot.models import PreferenceState, Ritual, RitualPreference, utcnow

# The ritual DMs a member may mute (the digest goes to leaders, who turn it off per community).
MUTABLE = (Ritual.WELCOME, Ritual.REMINDERS, Ritual.PULSE, Ritual.STORIES)


def parse_ritual(word: str) -> Ritual:
    aliases = {
        "welcome": Ritual.WELCOME,
        "bienvenue": Ritual.WELCOME,
        "reminders": Ritual.REMINDERS,
        "rappels": Ritual.REMINDERS,
        "pulse": Ritual.PULSE,
        "sondage": Ritual.PULSE,
        "sondages": Ritual.PULSE,
        "stories": Ritual.STORIES,
        "histoires": Ritual.STORIES,
        "recits": Ritual.STORIES,
        "récits": Ritual.STORIES,
    }
    ritual = aliases.get(word.lower())
    if ritual is None:
        raise InvalidInput("rituals.mute_unknown", word=word[:30])
    return ritual


async def set_preference(
    session: AsyncSession,
    *,
    workspace_id: str,
    person_id: int,
    ritual: Ritual,
    days: int | None,
    now: datetime | None = None,
) -> RitualPreference:
    """Snooze for `days`, or turn off when `days` is None."""
    now = now or utcnow()
    row = await session.scalar(
        sa.select(RitualPreference).where(
            RitualPreference.person_id == person_id, RitualPreference.ritual == ritual
        )
    )
    if row is None:
        row = RitualPreference(workspace_id=workspace_id, person_id=person_id, ritual=ritual)
        session.add(row)
    row.state = PreferenceState.OFF if days is None else PreferenceState.SNOOZED
    row.until = None if days is None else now + timedelta(days=days)
    await session.flush()
    return row


async def clear(session: AsyncSession, *, person_id: int, ritual: Ritual | None = None) -> int:
    stmt = sa.delete(RitualPreference).where(RitualPreference.person_id == person_id)
    if ritual is not None:
        stmt = stmt.where(RitualPreference.ritual == ritual)
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def of_person(
    session: AsyncSession, *, person_id: int, now: datetime | None = None
) -> dict[Ritual, RitualPreference]:
    now = now or utcnow()
    rows = await session.scalars(
        sa.select(RitualPreference).where(RitualPreference.person_id == person_id)
    )
    return {
        r.ritual: r
        for r in rows
        if r.state == PreferenceState.OFF or (r.until is not None and r.until > now)
    }


async def muted_people(session: AsyncSession, *, ritual: str, now: datetime) -> set[int]:
    """Everyone who has turned this ritual off or snoozed it past `now`."""
    rows = await session.scalars(
        sa.select(RitualPreference.person_id).where(
            RitualPreference.ritual == ritual,
            sa.or_(
                RitualPreference.state == PreferenceState.OFF,
                RitualPreference.until > now,
            ),
        )
    )
    return set(rows)
