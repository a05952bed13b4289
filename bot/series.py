"""Recurring series of a community's events: every week, every two weeks, or every month on the
nth (or last) weekday; each occurrence an Event row (series_id) made ahead over a rolling horizon.

The rule is read in the organiser's zone (dateutil's rrule over the local wall time, each
occurrence then placed in the zone): a 12:30 meeting in Paris stays at 12:30 across the March
and October changes. Each occurrence keeps the slot the rule gave it (its original start) in its
`submission_key` (`s{series}@{UTC start}`): making the horizon twice, from two replicas, makes one
row; a cancelled slot stays cancelled (an EXDATE) and an occurrence edited on its own
(`series_detached`) is a RECURRENCE-ID override in the series' .ics.

Announcements: `each` — every occurrence gets its own announcement with RSVP buttons a week
before it (ANNOUNCE_AHEAD; the first at once when it is that close); `series` — one message
lists the next occurrences, each with its buttons, redrawn in place. Either way the series
message (the rule, the next dates) carries the series' .ics in its thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from dateutil import rrule
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, event_changes, events, people
from bot import messages as m
from bot.audit import record
from bot.errors import Conflict, CopError, InvalidFields, InvalidInput, NotFound
from bot.events import EventView, Schedule
from bot.models import (
    Community,
    Event,
    EventSeries,
    EventStatus,
    RsvpAnswer,
    SeriesAnnounce,
    SeriesFrequency,
)
from bot.permissions import Action, Actor, require
from bot.ports import Owe

Sessions = async_sessionmaker[AsyncSession]

MAX_OCCURRENCES = 52
MAX_SPAN = timedelta(days=366)  # one year from the first occurrence (its last day included)
HORIZON = timedelta(days=60)  # occurrences exist as Event rows this far ahead
AHEAD_AT_LEAST = 3  # and at least this many (a monthly series shows its next three dates)
ANNOUNCE_AHEAD = timedelta(days=7)  # `each`: an occurrence is announced a week before it
SHOWN = 4  # the series message lists this many coming occurrences
ANNOUNCE_KIND = "series_occurrence"
# the RSVP buttons' action ids (bot/slack/blocks/event.py RSVP: the same listener answers them)
RSVP_ACTIONS = {
    RsvpAnswer.GOING: "event_rsvp_going",
    RsvpAnswer.MAYBE: "event_rsvp_maybe",
    RsvpAnswer.DECLINED: "event_rsvp_declined",
}
_EMOJI = {RsvpAnswer.GOING: "✅", RsvpAnswer.MAYBE: "🤔", RsvpAnswer.DECLINED: "❌"}
_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
_ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Scope:
    """Editing an occurrence: this one only, or this one and all that follow."""

    ONE = "one"
    ALL = "all"


# --- the rule -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepeatDraft:
    """What the modal's "Repeat" section holds. `monthly` is "nth" (the nth weekday of the first
    date) or "last" (the last such weekday); `frequency` None means a single event."""

    frequency: SeriesFrequency | None
    last: bool = False  # monthly on the last weekday of the month
    until: date | None = None
    count: int | None = None
    announce: SeriesAnnounce = SeriesAnnounce.EACH


@dataclass(frozen=True, slots=True)
class Rule:
    frequency: SeriesFrequency
    nth: int | None  # monthly: 1..4, or -1 for the last
    until: date | None
    count: int | None
    announce: SeriesAnnounce


def nth_of(day: date) -> int:
    """Which of its month's weekdays `day` is: 1..5."""
    return (day.day - 1) // 7 + 1


def is_last(day: date) -> bool:
    return (day + timedelta(days=7)).month != day.month


def _rrule(
    *,
    frequency: SeriesFrequency,
    nth: int | None,
    local_start: datetime,
    until: date | None,
    count: int | None,
) -> rrule.rrule:
    """The rule over naive wall times in the organiser's zone."""
    end = datetime.combine(until, time(23, 59, 59)) if until else None
    if frequency == SeriesFrequency.MONTHLY:
        weekday = _DAYS[local_start.weekday()](nth or 1)
        return rrule.rrule(
            rrule.MONTHLY, dtstart=local_start, byweekday=weekday, until=end, count=count
        )
    interval = 2 if frequency == SeriesFrequency.BIWEEKLY else 1
    return rrule.rrule(rrule.WEEKLY, dtstart=local_start, interval=interval, until=end, count=count)


def local_slots(
    *,
    frequency: SeriesFrequency,
    nth: int | None,
    first: datetime,
    tz: str,
    until: date | None,
    count: int | None,
) -> list[datetime]:
    """Every occurrence's start (UTC), capped at MAX_OCCURRENCES: the wall time in `tz` each day
    (fold=0 on an autumn repeat, as calendars read it)."""
    zone = ZoneInfo(tz)
    local = first.astimezone(zone).replace(tzinfo=None)
    starts = []
    for wall in _rrule(frequency=frequency, nth=nth, local_start=local, until=until, count=count):
        starts.append(wall.replace(tzinfo=zone).astimezone(UTC))
        if len(starts) > MAX_OCCURRENCES:
            break
    return starts


def validate(draft: RepeatDraft, schedule: Schedule) -> Rule:
    """The repeat fields against the first occurrence; all problems together (InvalidFields)."""
    assert draft.frequency is not None
    errors: list[InvalidInput] = []
    first_day = schedule.starts_at.astimezone(ZoneInfo(schedule.tz)).date()
    nth: int | None = None
    if draft.frequency == SeriesFrequency.MONTHLY:
        if draft.last:
            if not is_last(first_day):
                errors.append(InvalidInput("series.not_last", field="repeat", day=first_day))
            nth = -1
        else:
            nth = nth_of(first_day)
            if nth == 5:
                errors.append(InvalidInput("series.fifth", field="repeat", day=first_day))
    if draft.until is None and draft.count is None:
        errors.append(InvalidInput("series.end_missing", field="until"))
    elif draft.until is not None and draft.count is not None:
        errors.append(InvalidInput("series.end_both", field="until"))
    elif draft.count is not None and not 1 <= draft.count <= MAX_OCCURRENCES:
        errors.append(InvalidInput("series.count_range", field="count", max=MAX_OCCURRENCES))
    elif draft.until is not None and draft.until < first_day:
        errors.append(InvalidInput("series.until_before", field="until", day=first_day))
    elif draft.until is not None and draft.until > first_day + MAX_SPAN - timedelta(days=1):
        errors.append(
            InvalidInput(
                "series.until_too_far",
                field="until",
                last=first_day + MAX_SPAN - timedelta(days=1),
                max=MAX_OCCURRENCES,
            )
        )
    if errors:
        raise InvalidFields(errors)
    rule = Rule(draft.frequency, nth, draft.until, draft.count, draft.announce)
    slots = slots_of(rule, first=schedule.starts_at, tz=schedule.tz)
    if not slots:
        raise InvalidFields([InvalidInput("series.none", field="until")])
    if len(slots) > MAX_OCCURRENCES:
        raise InvalidFields(
            [
                InvalidInput(
                    "series.too_many",
                    field="until",
                    count=len(slots) - 1,
                    max=MAX_OCCURRENCES,
                    last=slots[MAX_OCCURRENCES - 1].astimezone(ZoneInfo(schedule.tz)).date(),
                )
            ]
        )
    return rule


def slots_of(rule: Rule, *, first: datetime, tz: str) -> list[datetime]:
    return local_slots(
        frequency=rule.frequency,
        nth=rule.nth,
        first=first,
        tz=tz,
        until=rule.until,
        count=rule.count,
    )


def rule_of(series: EventSeries) -> Rule:
    return Rule(series.frequency, series.nth, series.until, series.count, series.announce)


def slot_key(series_id: int, start: datetime) -> str:
    return f"s{series_id}@{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def slot_of(event: Event) -> datetime | None:
    """The start the rule gave this occurrence (it differs from its start once moved alone)."""
    key = event.submission_key or ""
    if not key.startswith(f"s{event.series_id}@"):
        return None
    return datetime.strptime(key.split("@", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


# --- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence:
    event: EventView
    slot: datetime | None
    detached: bool


@dataclass(frozen=True, slots=True)
class SeriesView:
    """A series as its message and .ics show it."""

    id: int
    community_id: int
    community_name: str
    community_tz: str
    community_language: str | None
    channel_id: str | None
    message_ts: str | None
    title: str
    kind: str
    description: str
    link: str | None
    tz: str
    first_starts_at: datetime
    duration_minutes: int
    frequency: SeriesFrequency
    nth: int | None
    until: date | None
    count: int | None
    announce: SeriesAnnounce
    status: EventStatus
    sequence: int
    coming: tuple[Occurrence, ...]  # the next occurrences (not over), cancelled ones included
    exceptions: tuple[Occurrence, ...]  # cancelled or detached occurrences (for the .ics)
    last: datetime | None  # the last occurrence's start, when the series ends

    @property
    def cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    @property
    def weekday(self) -> int:
        return self.first_starts_at.astimezone(ZoneInfo(self.tz)).weekday()

    @property
    def local_time(self) -> time:
        return self.first_starts_at.astimezone(ZoneInfo(self.tz)).time()


async def _tell_cancelled(
    session: AsyncSession,
    owe: Owe,
    row: Event,
    changed: list[EventView],
    *,
    actor: Actor,
    default_tz: str,
    default_language: str,
) -> int:
    """An occurrence just cancelled: shown as such, and those going told (how many)."""
    shown = await events.view(session, event=row, default_tz=default_tz)
    changed.append(shown)
    return await event_changes.owe_notices(
        session,
        owe,
        shown,
        workspace_id=actor.workspace_id,
        cancelled=True,
        default_language=default_language,
    )


async def _occurrences(session: AsyncSession, series_id: int) -> list[Event]:
    return list(
        await session.scalars(
            sa.select(Event).where(Event.series_id == series_id).order_by(Event.starts_at, Event.id)
        )
    )


async def view(
    session: AsyncSession,
    *,
    series: EventSeries,
    default_tz: str,
    now: datetime,
    shown: int = SHOWN,
) -> SeriesView:
    community = await session.get(Community, series.community_id)
    assert community is not None
    rows = await _occurrences(session, series.id)
    coming: list[Occurrence] = []
    exceptions: list[Occurrence] = []
    for row in rows:
        slot = slot_of(row)
        ended = row.starts_at + timedelta(minutes=row.duration_minutes) <= now
        is_exception = row.status == EventStatus.CANCELLED or row.series_detached
        if not ended and len(coming) < shown:
            shown_view = await events.view(session, event=row, default_tz=default_tz)
            coming.append(Occurrence(shown_view, slot, row.series_detached))
        if is_exception and slot is not None and slot >= series.first_starts_at:
            exceptions.append(
                Occurrence(
                    await events.view(session, event=row, default_tz=default_tz),
                    slot,
                    row.series_detached,
                )
            )
    slots = slots_of(rule_of(series), first=series.first_starts_at, tz=series.tz)
    return SeriesView(
        id=series.id,
        community_id=community.id,
        community_name=community.name,
        community_tz=events.community_zone(community, default_tz),
        community_language=community.language,
        channel_id=series.channel_id,
        message_ts=series.message_ts,
        title=series.title,
        kind=series.kind.value,
        description=series.description,
        link=series.link,
        tz=series.tz,
        first_starts_at=series.first_starts_at,
        duration_minutes=series.duration_minutes,
        frequency=series.frequency,
        nth=series.nth,
        until=series.until,
        count=series.count,
        announce=series.announce,
        status=series.status,
        sequence=series.sequence,
        coming=tuple(coming),
        exceptions=tuple(exceptions),
        last=slots[-1] if slots and (series.until or series.count) else None,
    )


async def get(session: AsyncSession, *, workspace_id: str, series_id: int) -> EventSeries:
    series = await session.get(EventSeries, series_id)
    if series is None or series.workspace_id != workspace_id:
        raise NotFound("series.not_found")
    return series


# --- making the occurrences -----------------------------------------------------------------------


def _copy(series: EventSeries, event: Event) -> None:
    event.title = series.title
    event.kind = series.kind
    event.duration_minutes = series.duration_minutes
    event.tz = series.tz
    event.link = series.link
    event.description = series.description


async def materialise(session: AsyncSession, *, series: EventSeries, now: datetime) -> list[Event]:
    """Make the occurrences up to the horizon that are not rows yet; returns those made."""
    if series.status == EventStatus.CANCELLED:
        return []
    community = await session.get(Community, series.community_id)
    assert community is not None
    rows = await _occurrences(session, series.id)
    known = {row.submission_key for row in rows if row.submission_key}
    ahead = len([row for row in rows if row.starts_at > now])
    made = []
    for start in slots_of(rule_of(series), first=series.first_starts_at, tz=series.tz):
        if start > now + HORIZON and ahead >= AHEAD_AT_LEAST:
            break
        key = slot_key(series.id, start)
        if start <= now or key in known:
            continue
        ahead += 1
        event = Event(
            workspace_id=series.workspace_id,
            community_id=series.community_id,
            starts_at=start,
            channel_id=series.channel_id or community.channel_id,
            created_by_person_id=series.created_by_person_id,
            submission_key=key,
            series_id=series.id,
        )
        _copy(series, event)
        try:
            async with session.begin_nested():
                session.add(event)
                await session.flush()
        except IntegrityError:  # another replica made it a moment ago
            continue
        made.append(event)
    return made


# --- use cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    series: SeriesView
    announce_now: tuple[EventView, ...]  # `each`: occurrences to announce at once


async def create(
    sessions: Sessions,
    *,
    actor: Actor,
    community_id: int,
    schedule: Schedule,
    rule: Rule,
    submission_key: str,
    default_tz: str,
    now: datetime,
) -> Created | None:
    """A new series and its first occurrences (None: this submission was already recorded)."""
    async with sessions.begin() as session:
        await require(session, actor=actor, action=Action.MANAGE_EVENTS, community_id=community_id)
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=community_id
        )
        if await session.scalar(
            sa.select(EventSeries.id).where(EventSeries.submission_key == submission_key)
        ):
            return None
        author = (
            await people.ensure_many(
                session, workspace_id=actor.workspace_id, slack_user_ids=[actor.slack_user_id]
            )
        )[actor.slack_user_id]
        series = EventSeries(
            workspace_id=actor.workspace_id,
            community_id=community_id,
            title=schedule.title,
            kind=schedule.kind,
            description=schedule.description,
            link=schedule.link,
            tz=schedule.tz,
            first_starts_at=schedule.starts_at,
            duration_minutes=schedule.duration_minutes,
            frequency=rule.frequency,
            nth=rule.nth,
            until=rule.until,
            count=rule.count,
            announce=rule.announce,
            channel_id=community.channel_id,
            created_by_person_id=author.id,
            submission_key=submission_key,
        )
        try:
            async with session.begin_nested():
                session.add(series)
                await session.flush()
        except IntegrityError:  # the same submission, from a concurrent request
            return None
        made = await materialise(session, series=series, now=now)
        await record(
            session,
            workspace_id=actor.workspace_id,
            actor=actor.slack_user_id,
            action="series.created",
            community_id=community_id,
            detail={"series": series.id, "occurrences": len(made)},
        )
        shown = await view(session, series=series, default_tz=default_tz, now=now)
        announce = tuple(
            [
                await events.view(session, event=e, default_tz=default_tz)
                for e in made
                if rule.announce == SeriesAnnounce.EACH and e.starts_at <= now + ANNOUNCE_AHEAD
            ]
        )
    return Created(series=shown, announce_now=announce)


async def current(
    sessions: Sessions, *, workspace_id: str, series_id: int, default_tz: str, now: datetime
) -> SeriesView:
    async with sessions() as session:
        series = await get(session, workspace_id=workspace_id, series_id=series_id)
        return await view(session, series=series, default_tz=default_tz, now=now)


async def of_event(
    sessions: Sessions, *, workspace_id: str, event_id: int, default_tz: str, now: datetime
) -> SeriesView | None:
    """The series an event belongs to, or None for a single event."""
    async with sessions() as session:
        event = await session.get(Event, event_id)
        if event is None or event.workspace_id != workspace_id or event.series_id is None:
            return None
        series = await get(session, workspace_id=workspace_id, series_id=event.series_id)
        return await view(session, series=series, default_tz=default_tz, now=now)


async def posted(
    sessions: Sessions,
    *,
    workspace_id: str,
    series_id: int,
    channel_id: str,
    ts: str,
    default_tz: str,
    now: datetime,
) -> SeriesView:
    """Remember where the series message is (its .ics goes in its thread)."""
    async with sessions.begin() as session:
        series = await get(session, workspace_id=workspace_id, series_id=series_id)
        series.channel_id, series.message_ts = channel_id, ts
        await session.flush()
        return await view(session, series=series, default_tz=default_tz, now=now)


async def detach(sessions: Sessions, *, actor: Actor, event_id: int) -> None:
    """The occurrence was edited on its own: editing the whole series leaves it as it is."""
    async with sessions.begin() as session:
        event = await events.get(session, workspace_id=actor.workspace_id, event_id=event_id)
        await require(
            session, actor=actor, action=Action.MANAGE_EVENTS, community_id=event.community_id
        )
        if event.series_id is not None and not event.series_detached:
            event.series_detached = True
            series = await session.get(EventSeries, event.series_id)
            if series is not None:
                series.sequence += 1  # the series' .ics gains an override
            await session.flush()


@dataclass(frozen=True)
class Changed:
    series: SeriesView
    events: tuple[EventView, ...]  # occurrences whose announcement to redraw
    new: tuple[EventView, ...]  # occurrences made by the change (`each`: to announce if close)
    told: int


async def edit_following(
    sessions: Sessions,
    owe: Owe,
    *,
    actor: Actor,
    event_id: int,
    schedule: Schedule,
    default_tz: str,
    default_language: str,
    now: datetime,
) -> Changed:
    """ "This and all following": the series takes the new fields, and its rule now starts at
    this occurrence's new start (same frequency, same end; a count keeps the occurrences left).
    Every later occurrence not edited on its own follows; those going are told of a change."""
    async with sessions.begin() as session:
        event = await events.get(session, workspace_id=actor.workspace_id, event_id=event_id)
        await require(
            session, actor=actor, action=Action.MANAGE_EVENTS, community_id=event.community_id
        )
        if event.series_id is None:
            raise NotFound("series.not_found")
        series = await get(session, workspace_id=actor.workspace_id, series_id=event.series_id)
        if series.status == EventStatus.CANCELLED:
            raise Conflict("series.is_cancelled", title=series.title)
        rows = await _occurrences(session, series.id)
        pivot = slot_of(event) or event.starts_at
        before = [r for r in rows if (slot_of(r) or r.starts_at) < pivot]
        following = [r for r in rows if (slot_of(r) or r.starts_at) >= pivot]
        new_rule = rule_of(series)
        if series.count is not None:
            new_rule = replace(new_rule, count=max(1, series.count - len(before)))
        local_day = schedule.starts_at.astimezone(ZoneInfo(schedule.tz)).date()
        if new_rule.frequency == SeriesFrequency.MONTHLY:
            nth = -1 if new_rule.nth == -1 else nth_of(local_day)
            if nth == 5 or (nth == -1 and not is_last(local_day)):
                raise InvalidFields(
                    [InvalidInput("series.fifth", field="date", day=local_day)]
                    if nth == 5
                    else [InvalidInput("series.not_last", field="date", day=local_day)]
                )
            new_rule = replace(new_rule, nth=nth)
        if new_rule.until is not None and new_rule.until < local_day:
            raise InvalidFields([InvalidInput("series.until_before", field="date", day=local_day)])
        unchanged = (
            schedule.starts_at == event.starts_at
            and series.title == schedule.title
            and series.kind == schedule.kind
            and series.duration_minutes == schedule.duration_minutes
            and series.tz == schedule.tz
            and (series.link or None) == schedule.link
            and series.description == schedule.description
        )
        if unchanged and all(
            r.title == schedule.title and r.link == schedule.link for r in following
        ):
            raise CopError("event.unchanged")
        event.series_detached = False  # the occurrence edited follows the series again
        old_slots = [
            slot
            for slot in slots_of(rule_of(series), first=series.first_starts_at, tz=series.tz)
            if slot >= pivot
        ]
        series.title, series.kind = schedule.title, schedule.kind
        series.duration_minutes, series.tz = schedule.duration_minutes, schedule.tz
        series.link, series.description = schedule.link, schedule.description
        series.first_starts_at = schedule.starts_at
        series.nth, series.count = new_rule.nth, new_rule.count
        series.sequence += 1
        # the old rule's slots from this occurrence on map one to one onto the new rule's: an
        # occurrence keeps its place in the series (a detached one its RECURRENCE-ID, a
        # cancelled one its EXDATE, moved along), and the others take the new start
        new_slots = slots_of(new_rule, first=schedule.starts_at, tz=schedule.tz)
        place = {slot_key(series.id, old): i for i, old in enumerate(old_slots)}
        changed: list[EventView] = []
        told = 0
        for row in following:  # the slots move: free their keys first (they are unique)
            row.submission_key = f"~{row.id}:{row.submission_key or ''}"[:64]
        await session.flush()
        for row in following:
            index = place.get(row.submission_key.split(":", 1)[1] if row.submission_key else "")
            if index is None:
                continue
            if index >= len(new_slots):  # the new rule has fewer occurrences
                row.submission_key = None
                if row.status != EventStatus.SCHEDULED or row.starts_at <= now:
                    continue
                await events.cancel(session, event=row)
                told += await _tell_cancelled(
                    session,
                    owe,
                    row,
                    changed,
                    actor=actor,
                    default_tz=default_tz,
                    default_language=default_language,
                )
                continue
            start = new_slots[index]
            row.submission_key = slot_key(series.id, start)
            if row.series_detached or row.status != EventStatus.SCHEDULED or row.starts_at <= now:
                continue
            before_state = (row.starts_at, row.title, row.duration_minutes, row.link, row.kind)
            row.starts_at = start
            _copy(series, row)
            if before_state != (row.starts_at, row.title, row.duration_minutes, row.link, row.kind):
                row.sequence += 1
                await session.flush()
                shown = await events.view(session, event=row, default_tz=default_tz)
                changed.append(shown)
                told += await event_changes.owe_notices(
                    session,
                    owe,
                    shown,
                    workspace_id=actor.workspace_id,
                    cancelled=False,
                    default_language=default_language,
                )
        await session.flush()
        made = await materialise(session, series=series, now=now)
        await record(
            session,
            workspace_id=actor.workspace_id,
            actor=actor.slack_user_id,
            action="series.changed",
            community_id=series.community_id,
            detail={"series": series.id, "from_event": event.id, "sequence": series.sequence},
        )
        new = tuple(
            [
                await events.view(session, event=e, default_tz=default_tz)
                for e in made
                if series.announce == SeriesAnnounce.EACH and e.starts_at <= now + ANNOUNCE_AHEAD
            ]
        )
        shown_series = await view(session, series=series, default_tz=default_tz, now=now)
    return Changed(series=shown_series, events=tuple(changed), new=new, told=told)


async def cancel_series(
    sessions: Sessions,
    owe: Owe,
    *,
    actor: Actor,
    series_id: int,
    default_tz: str,
    default_language: str,
    now: datetime,
) -> Changed:
    """Cancel the series and every occurrence still to come (those going are told); audited."""
    async with sessions.begin() as session:
        series = await get(session, workspace_id=actor.workspace_id, series_id=series_id)
        await require(
            session, actor=actor, action=Action.MANAGE_EVENTS, community_id=series.community_id
        )
        changed: list[EventView] = []
        told = 0
        if series.status != EventStatus.CANCELLED:
            series.status = EventStatus.CANCELLED
            series.sequence += 1
            for row in await _occurrences(session, series.id):
                if row.starts_at <= now or not await events.cancel(session, event=row):
                    continue
                told += await _tell_cancelled(
                    session,
                    owe,
                    row,
                    changed,
                    actor=actor,
                    default_tz=default_tz,
                    default_language=default_language,
                )
            await record(
                session,
                workspace_id=actor.workspace_id,
                actor=actor.slack_user_id,
                action="series.cancelled",
                community_id=series.community_id,
                detail={"series": series.id},
            )
        shown_series = await view(session, series=series, default_tz=default_tz, now=now)
    return Changed(series=shown_series, events=tuple(changed), new=(), told=told)


async def occurrence_cancelled(sessions: Sessions, *, workspace_id: str, event_id: int) -> None:
    """One occurrence was cancelled (bot.event_changes.cancel): the series' .ics gains an EXDATE."""
    async with sessions.begin() as session:
        event = await session.get(Event, event_id)
        if event is None or event.workspace_id != workspace_id or event.series_id is None:
            return
        series = await session.get(EventSeries, event.series_id)
        if series is not None:
            series.sequence += 1


# --- the rituals' side: the horizon and the `each` announcements ---------------------------------


def occurrence_message(event: Event, *, series_title: str) -> m.Message:
    """An occurrence's announcement as the outbox posts it (a week before it); its first RSVP
    click redraws it as every event announcement is drawn."""
    when = m.Join(
        [
            m.Say(
                "event.when",
                start=m.Moment(event.starts_at),
                end=m.Moment(
                    event.starts_at + timedelta(minutes=event.duration_minutes), None, "time"
                ),
            ),
        ]
    )
    text = m.Say("series.occurrence_text", title=event.title, when=when)
    lines: list[m.Text] = [
        m.Say("series.occurrence_body", kind=m.Say(f"event.kind.{event.kind.value}"), when=when)
    ]
    if event.link:
        lines.append(m.Say("event.link_line", link=m.Link(event.link)))
    if event.description:
        lines.append(event.description)
    return m.Message(
        text,
        [
            m.Heading(m.Join(["📅 ", event.title])),
            m.Paragraph(m.Lines(lines)),
            m.Choices(
                [
                    m.Choice(
                        RSVP_ACTIONS[a],
                        m.Join([f"{_EMOJI[a]} ", m.Say(f"event.rsvp.{a.value}")]),
                        str(event.id),
                    )
                    for a in RsvpAnswer
                ],
                group=f"event_{event.id}_actions",
            ),
            m.Note(m.Say("series.occurrence_note", series=series_title)),
        ],
    )


def announce_key(event_id: int) -> str:
    return f"{ANNOUNCE_KIND}:{event_id}"


async def record_announced(session: AsyncSession, *, key: str, ts: str) -> None:
    """The outbox posted an occurrence's announcement: keep its ts (RSVPs redraw it in place)."""
    event_id = key.removeprefix(f"{ANNOUNCE_KIND}:")
    if event_id.isdigit():
        await session.execute(
            sa.update(Event).where(Event.id == int(event_id)).values(message_ts=ts)
        )


async def maintain(
    session: AsyncSession, owe: Owe, *, now: datetime, default_tz: str, default_language: str
) -> int:
    """Extend every live series' horizon; owe the `each` announcements now a week away.
    Returns how many announcements were owed."""
    owed = 0
    live = await session.scalars(
        sa.select(EventSeries)
        .join(Community, Community.id == EventSeries.community_id)
        .where(EventSeries.status == EventStatus.SCHEDULED, Community.archived_at.is_(None))
        .order_by(EventSeries.id)
    )
    for series in list(live):
        await materialise(session, series=series, now=now)
        if series.announce != SeriesAnnounce.EACH:
            continue
        community = await session.get(Community, series.community_id)
        assert community is not None
        due = await session.scalars(
            sa.select(Event).where(
                Event.series_id == series.id,
                Event.status == EventStatus.SCHEDULED,
                Event.message_ts.is_(None),
                Event.starts_at > now,
                Event.starts_at <= now + ANNOUNCE_AHEAD,
            )
        )
        for event in list(due):
            channel = event.channel_id or community.channel_id
            if await owe(
                session,
                workspace_id=series.workspace_id,
                key=announce_key(event.id),
                kind=ANNOUNCE_KIND,
                message=occurrence_message(event, series_title=series.title),
                reader=m.Reader(
                    community.language or default_language,
                    events.community_zone(community, default_tz),
                ),
                channel_id=channel,
                community_id=community.id,
            ):
                owed += 1
    return owed


# --- iCalendar ------------------------------------------------------------------------------------


def _ical_rule(series: SeriesView) -> dict[str, object]:
    rule: dict[str, object] = {"freq": "weekly"}
    if series.frequency == SeriesFrequency.BIWEEKLY:
        rule["interval"] = 2
    elif series.frequency == SeriesFrequency.MONTHLY:
        rule = {"freq": "monthly", "byday": f"{series.nth or 1}{_ICAL_DAYS[series.weekday]}"}
    if series.until is not None:
        end = datetime.combine(series.until, time(23, 59, 59), tzinfo=ZoneInfo(series.tz))
        rule["until"] = end.astimezone(UTC)
    elif series.count is not None:
        rule["count"] = series.count
    return rule


def ics(series: SeriesView, *, domain: str, now: datetime, organiser: str = "") -> str:
    """The series as one recurring VEVENT in its zone (TZID, VTIMEZONE): its RRULE, an EXDATE
    per cancelled occurrence, and an override (RECURRENCE-ID) per occurrence edited alone."""
    zone = ZoneInfo(series.tz)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//cop-bot//communities of practice//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if series.cancelled else "PUBLISH")
    uid = f"series-{series.id}@{domain}"
    name = (organiser or series.community_name).replace('"', "'").replace("\r", " ")
    name = name.replace("\n", " ")

    def vevent(
        *, start: datetime, minutes: int, title: str, description: str, link: str | None
    ) -> icalendar.Event:
        entry = icalendar.Event()
        entry.add("uid", uid)
        entry.add("dtstamp", now.astimezone(UTC))
        entry.add("dtstart", start.astimezone(zone))
        entry.add("dtend", (start + timedelta(minutes=minutes)).astimezone(zone))
        entry.add("sequence", series.sequence)
        entry.add("summary", title)
        text = description
        if link:
            text = f"{text}\n\n{link}".strip()
            entry.add("location", link)
            entry.add("url", link)
        if text:
            entry.add("description", text)
        entry.add(
            "organizer",
            icalendar.vCalAddress(f"mailto:noreply@{domain}"),
            parameters={"CN": name},
        )
        return entry

    main = vevent(
        start=series.first_starts_at,
        minutes=series.duration_minutes,
        title=series.title,
        description=series.description,
        link=series.link,
    )
    main.add("rrule", _ical_rule(series))
    main.add("status", "CANCELLED" if series.cancelled else "CONFIRMED")
    overrides = []
    for occurrence in series.exceptions:
        assert occurrence.slot is not None
        if occurrence.event.cancelled:
            main.add("exdate", occurrence.slot.astimezone(zone))
            continue
        shown = occurrence.event
        entry = vevent(
            start=shown.starts_at,
            minutes=shown.duration_minutes,
            title=shown.title,
            description=shown.description,
            link=shown.link,
        )
        entry.add("recurrence-id", occurrence.slot.astimezone(zone))
        entry.add("status", "CONFIRMED")
        overrides.append(entry)
    calendar.add_component(main)
    for entry in overrides:
        calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode("utf-8")


def ics_filename(series: SeriesView) -> str:
    slug = communities.slugify(series.title)
    return f"{slug or 'series'}.ics"
