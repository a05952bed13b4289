"""A member's own choices about ritual DMs: snooze one kind for a while, or turn it off (reversibly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput
from bot.models import PreferenceState, Ritual, RitualPreference, utcnow
from bot.numbers import whole

# The ritual DMs a member may mute (the digest goes to leaders, who turn it off per community).
MUTABLE: tuple[Ritual, ...] = (
    Ritual.WELCOME,
    Ritual.REMINDERS,
    Ritual.PULSE,
    Ritual.STORIES,
    Ritual.SURVEY,
)
# an organiser of a weekly series may not want the « animation » checklist after each meeting
MUTABLE += (Ritual.EVENT_FEEDBACK,)
OFF_WORDS = {"off", "stop", "arret", "arrêt", "desactiver", "désactiver"}
ON_WORDS = {"on", "resume", "reprendre", "reactiver", "réactiver"}
MAX_SNOOZE_DAYS = 365


@dataclass(frozen=True, slots=True)
class RitualState:
    """One kind of ritual DM as a member has set it: on, snoozed until a date, or off."""

    ritual: Ritual
    state: str  # "on", "snoozed" or "off"
    until: datetime | None = None


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
        "survey": Ritual.SURVEY,  # the annual member survey
        "enquête": Ritual.SURVEY,
        "enquete": Ritual.SURVEY,
        "feedback": Ritual.EVENT_FEEDBACK,  # the organiser's checklist after an event
        "checklist": Ritual.EVENT_FEEDBACK,
        "retours": Ritual.EVENT_FEEDBACK,
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


async def states(
    session: AsyncSession, *, person_id: int | None, now: datetime | None = None
) -> tuple[RitualState, ...]:
    """Every mutable ritual with this member's current setting (a lapsed snooze is "on")."""
    current = await of_person(session, person_id=person_id, now=now) if person_id else {}
    result = []
    for ritual in MUTABLE:
        row = current.get(ritual)
        if row is None:
            result.append(RitualState(ritual, "on"))
        elif row.state == PreferenceState.OFF:
            result.append(RitualState(ritual, "off"))
        else:
            result.append(RitualState(ritual, "snoozed", row.until))
    return tuple(result)


async def choose(
    session: AsyncSession,
    *,
    workspace_id: str,
    person_id: int,
    ritual: Ritual,
    choice: str,
    now: datetime | None = None,
) -> RitualState:
    """Apply a member's choice for one ritual: "on", "off" (or their French words) or a number
    of days to snooze (1–365). The same rules for `/cop mute` and the App Home."""
    if ritual not in MUTABLE:
        raise InvalidInput("rituals.mute_unknown", word=ritual.value)
    choice = choice.strip().lower()
    if choice in ON_WORDS:
        await clear(session, person_id=person_id, ritual=ritual)
        return RitualState(ritual, "on")
    if choice in OFF_WORDS:
        await set_preference(
            session,
            workspace_id=workspace_id,
            person_id=person_id,
            ritual=ritual,
            days=None,
            now=now,
        )
        return RitualState(ritual, "off")
    days = whole(choice, max_digits=3)
    if days is not None and 1 <= days <= MAX_SNOOZE_DAYS:
        row = await set_preference(
            session,
            workspace_id=workspace_id,
            person_id=person_id,
            ritual=ritual,
            days=days,
            now=now,
        )
        return RitualState(ritual, "snoozed", row.until)
    raise InvalidInput("rituals.mute_usage")
