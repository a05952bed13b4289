"""A member's own choices about ritual DMs: snooze one kind for a while, or turn it off (reversibly)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import people
from bot.errors import CopError, InvalidInput
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


def parse_mute(args: Sequence[str]) -> tuple[Ritual | None, str]:
    """`mute [ritual] [days|off|on]`'s words, as typed in Slack or Teams: the ritual (None: only
    show the screen) and the choice (30 days when only the ritual is given)."""
    words = [a.lower() for a in args]
    if len(words) > 2:
        raise InvalidInput("rituals.mute_usage")
    ritual = parse_ritual(words[0]) if words else None  # the member's rituals only
    return ritual, words[1] if len(words) > 1 else "30"


@dataclass(frozen=True, slots=True)
class MemberChoices:
    """What the mute screen shows a member: each kind's state, in their zone, and the choice just
    applied (None when they only looked)."""

    states: tuple[RitualState, ...]
    tz: str
    done: RitualState | None


async def choose_for(
    session: AsyncSession,
    *,
    workspace_id: str,
    user_id: str,
    default_tz: str,
    ritual: Ritual | None,
    choice: str,
) -> MemberChoices:
    """Apply a member's choice (when `ritual` is given) and return their screen — the same for
    Slack's `/cop mute` and Teams' `@cop sourdine`. A person we do not know is refused."""
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=user_id)
    if person is None:
        raise CopError("rituals.mute_unknown_person")
    tz = person.tz or default_tz
    done = None
    if ritual is not None:
        done = await choose(
            session, workspace_id=workspace_id, person_id=person.id, ritual=ritual, choice=choice
        )
    return MemberChoices(await states(session, person_id=person.id), tz, done)


def local_day(moment: datetime, tz: str) -> date:
    """The day a moment falls on in a zone (a snooze ends on a day, not at a minute)."""
    return moment.astimezone(ZoneInfo(tz)).date()
