"""Community events: scheduling, RSVP, attendance, and the iCalendar (.ics) text for calendars.

Times are stored in UTC with the zone the leader chose; `sequence` grows with every change so a
calendar that imported an earlier .ics replaces its entry instead of adding a second one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, people
from bot.errors import Conflict, InvalidFields, InvalidInput, NotFound
from bot.i18n import Translator
from bot.links import LINK_MAX, is_link
from bot.models import (
    AuditLog,
    Community,
    Event,
    EventAttendance,
    EventKind,
    EventRsvp,
    EventStatus,
    Person,
    RsvpAnswer,
    utcnow,
)
from bot.zones import find_zone

TITLE_MAX = 150
DESCRIPTION_MAX = 2000
DURATION_MAX = 24 * 60
# An event given an end (a gathering over several days) lasts at most a week, wall clock
DAYS_MAX = 7
ATTENDANCE_MAX = 100_000
# An event is planned at most five years ahead (a programme plans a year or two; further is a slip
# of the date picker), and recorded at most five years back (older is before these programmes
# kept their events here). Beyond either, year 9999 or 0001 among them, the date is refused before
# anything is computed from it: 0001-01-01 in Paris is not even a UTC moment Python can hold.
YEARS_AROUND = 5


def date_window(now: datetime) -> tuple[date, date]:
    """The first and last day an event may be on (see YEARS_AROUND)."""
    today = now.date()

    def shifted(years: int) -> date:
        try:
            return today.replace(year=today.year + years)
        except ValueError:  # 29 February
            return today.replace(year=today.year + years, day=28)

    return shifted(-YEARS_AROUND), shifted(YEARS_AROUND)


@dataclass(frozen=True, slots=True)
class Gap:
    """Wall-clock times that do not exist: on `day`, the clocks jump from `start` to `end`."""

    day: date
    start: time
    end: time


def skipped(local: datetime) -> Gap | None:
    """The daylight-saving gap `local` (an aware wall time) falls in, or None when it exists.

    In a gap, fold=1 reads the time with the offset after the change and fold=0 with the one
    before, which gives two instants around the change; the change itself is found between them
    (to the second), and the gap is the hour(s) before its wall time."""
    zone = local.tzinfo
    assert zone is not None
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return None
    low, high = local.replace(fold=1).astimezone(UTC), local.replace(fold=0).astimezone(UTC)
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    end = high.replace(microsecond=0).astimezone(zone)
    jump = (after or timedelta()) - (low.astimezone(zone).utcoffset() or timedelta())
    start = (end.replace(tzinfo=None) - jump).time()
    return Gap(day=local.date(), start=start, end=end.time())


@dataclass(frozen=True, slots=True)
class EventDraft:
    """What a leader typed in the event modal: a local date and time in the chosen zone."""

    title: str
    kind: EventKind
    day: date | None
    start: time | None
    duration_minutes: int | None
    tz: str
    link: str = ""
    description: str = ""
    # an optional end (a multi-day event): when given, it sets the duration; a time alone ends
    # the same day
    end_day: date | None = None
    end_time: time | None = None

    @property
    def has_end(self) -> bool:
        return self.end_day is not None or self.end_time is not None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated draft: what gets stored."""

    title: str
    kind: EventKind
    starts_at: datetime
    duration_minutes: int
    tz: str
    link: str | None
    description: str


def validate(draft: EventDraft, *, now: datetime, allow_past: bool = False) -> Schedule:
    """Check every field and raise all problems together (field = the modal field)."""
    errors: list[InvalidInput] = []
    title = " ".join(draft.title.split())
    if not title:
        errors.append(InvalidInput("event.title_missing", field="title"))
    elif len(title) > TITLE_MAX:
        errors.append(InvalidInput("event.too_long", field="title", max=TITLE_MAX))
    zone = find_zone(draft.tz)
    if zone is None:
        errors.append(InvalidInput("common.bad_timezone", field="tz", value=draft.tz[:60]))
    duration = draft.duration_minutes
    if draft.has_end:
        duration = None  # the end sets it, once the start is known (below)
        if draft.end_time is None:
            errors.append(InvalidInput("event.end_time_missing", field="end_time"))
    elif duration is None:
        errors.append(InvalidInput("event.duration_or_end_missing", field="duration"))
    elif duration <= 0:
        errors.append(InvalidInput("event.end_before_start", field="duration"))
    elif duration > DURATION_MAX:
        errors.append(
            InvalidInput("event.too_long_minutes", field="duration", hours=24, days=DAYS_MAX)
        )
    if draft.day is None:
        errors.append(InvalidInput("event.date_missing", field="date"))
    if draft.start is None:
        errors.append(InvalidInput("event.time_missing", field="time"))
    link = draft.link.strip()
    if link:
        if len(link) > LINK_MAX:
            errors.append(InvalidInput("event.too_long", field="link", max=LINK_MAX))
        elif not is_link(link):
            errors.append(InvalidInput("event.bad_link", field="link"))
    description = draft.description.strip()
    if len(description) > DESCRIPTION_MAX:
        errors.append(InvalidInput("event.too_long", field="description", max=DESCRIPTION_MAX))
    starts_at = None
    first, last = date_window(now)
    if draft.day is not None and not first <= draft.day <= last:
        errors.append(InvalidInput("event.date_out_of_range", field="date", first=first, last=last))
    elif zone and draft.day and draft.start:
        # fold=0: a time the autumn change repeats (02:30 on the last Sunday of October in Paris)
        # is its first occurrence, still in summer time, as calendars read it
        local = datetime.combine(draft.day, draft.start, tzinfo=ZoneInfo(zone))
        gap = skipped(local)
        if gap is not None:
            errors.append(
                InvalidInput(
                    "event.time_skipped",
                    field="time",
                    tz=zone,
                    day=gap.day,
                    start=gap.start,
                    end=gap.end,
                )
            )
        else:
            starts_at = local.astimezone(UTC)
            if starts_at <= now and not allow_past:
                errors.append(InvalidInput("event.in_the_past", field="date"))
            if draft.has_end and draft.end_time is not None:
                duration = _span_minutes(draft, local, errors)
    if errors:
        raise InvalidFields(errors)
    assert starts_at is not None and zone is not None and duration is not None
    return Schedule(
        title=title,
        kind=draft.kind,
        starts_at=starts_at,
        duration_minutes=duration,
        tz=zone,
        link=link or None,
        description=description,
    )


def _span_minutes(draft: EventDraft, start: datetime, errors: list[InvalidInput]) -> int | None:
    """The minutes from `start` (aware, local) to the draft's end (its day, else the start's),
    or None after noting why it cannot be: an end before the start, or more than DAYS_MAX days
    later (counted on the wall clock, so a week across a clock change is still a week)."""
    assert draft.end_time is not None
    end = datetime.combine(draft.end_day or start.date(), draft.end_time, tzinfo=start.tzinfo)
    wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    if wall <= timedelta():
        errors.append(InvalidInput("event.end_not_after_start", field="end_date"))
        return None
    if wall > timedelta(days=DAYS_MAX):
        errors.append(InvalidInput("event.too_many_days", field="end_date", days=DAYS_MAX))
        return None
    minutes = int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)
    return max(minutes, 1)


def spans_days(starts_at: datetime, ends_at: datetime, tz: str) -> bool:
    """Whether an event is read over several days in `tz`: it ends on a later day there (an end
    at midnight sharp closes the day it started)."""
    zone = ZoneInfo(tz)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    last_day = (end - timedelta(microseconds=1)).date() if end.time() == time(0) else end.date()
    return last_day > start.date()


@dataclass(frozen=True, slots=True)
class Counts:
    going: int = 0
    maybe: int = 0
    declined: int = 0


@dataclass(frozen=True, slots=True)
class EventView:
    """An event as screens show it."""

    id: int
    community_id: int
    community_name: str
    community_tz: str
    community_language: str | None
    channel_id: str | None
    message_ts: str | None
    title: str
    kind: EventKind
    starts_at: datetime
    duration_minutes: int
    tz: str
    link: str | None
    description: str
    status: EventStatus
    sequence: int
    attendance_count: int | None
    attendees: tuple[str, ...] = ()
    counts: Counts = field(default_factory=Counts)
    series_id: int | None = None  # a session of a recurring series (bot.series)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    def started(self, now: datetime) -> bool:
        return self.starts_at <= now

    def spans_days(self, tz: str) -> bool:
        return spans_days(self.starts_at, self.ends_at, tz)

    def draft(self) -> EventDraft:
        local = self.starts_at.astimezone(ZoneInfo(self.tz))
        end = self.ends_at.astimezone(ZoneInfo(self.tz))
        days = self.spans_days(self.tz) or self.duration_minutes > DURATION_MAX
        return EventDraft(
            title=self.title,
            kind=self.kind,
            day=local.date(),
            start=local.time().replace(second=0, microsecond=0),
            # over several days, the end says it (the minutes field keeps its default)
            duration_minutes=None if days else self.duration_minutes,
            tz=self.tz,
            link=self.link or "",
            description=self.description,
            end_day=end.date() if days else None,
            end_time=end.time().replace(second=0, microsecond=0) if days else None,
        )


async def counts(session: AsyncSession, *, event_id: int) -> Counts:
    rows = await session.execute(
        sa.select(EventRsvp.answer, sa.func.count())
        .where(EventRsvp.event_id == event_id)
        .group_by(EventRsvp.answer)
    )
    found = {RsvpAnswer(a): n for a, n in rows}
    return Counts(
        going=found.get(RsvpAnswer.GOING, 0),
        maybe=found.get(RsvpAnswer.MAYBE, 0),
        declined=found.get(RsvpAnswer.DECLINED, 0),
    )


def community_zone(community: Community, default_tz: str) -> str:
    return community.tz or default_tz


async def view(session: AsyncSession, *, event: Event, default_tz: str) -> EventView:
    community = await session.get(Community, event.community_id)
    assert community is not None
    attendees = tuple(
        await session.scalars(
            sa.select(Person.slack_user_id)
            .join(EventAttendance, EventAttendance.person_id == Person.id)
            .where(EventAttendance.event_id == event.id)
            .order_by(Person.slack_user_id)
        )
    )
    return EventView(
        id=event.id,
        community_id=community.id,
        community_name=community.name,
        community_tz=community_zone(community, default_tz),
        community_language=community.language,
        channel_id=event.channel_id,
        message_ts=event.message_ts,
        title=event.title,
        kind=event.kind,
        starts_at=event.starts_at,
        duration_minutes=event.duration_minutes,
        tz=event.tz,
        link=event.link,
        description=event.description,
        status=event.status,
        sequence=event.sequence,
        series_id=event.series_id,
        attendance_count=event.attendance_count,
        attendees=attendees,
        counts=await counts(session, event_id=event.id),
    )


async def get(session: AsyncSession, *, workspace_id: str, event_id: int) -> Event:
    event = await session.get(Event, event_id)
    if event is None or event.workspace_id != workspace_id:
        raise NotFound("event.not_found")
    return event


@dataclass(frozen=True, slots=True)
class Created:
    event: Event
    created: bool  # False when this submission was already recorded (a modal sent twice)


async def create(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    schedule: Schedule,
    author_slack_user_id: str,
    submission_key: str | None = None,
) -> Created:
    """Record a new event once per submission key."""
    await communities.get(session, workspace_id=workspace_id, community_id=community_id)
    if submission_key:
        existing = await session.scalar(
            sa.select(Event).where(Event.submission_key == submission_key)
        )
        if existing is not None:
            return Created(event=existing, created=False)
    author = (
        await people.ensure_many(
            session, workspace_id=workspace_id, slack_user_ids=[author_slack_user_id]
        )
    )[author_slack_user_id]
    event = Event(
        workspace_id=workspace_id,
        community_id=community_id,
        title=schedule.title,
        kind=schedule.kind,
        starts_at=schedule.starts_at,
        duration_minutes=schedule.duration_minutes,
        tz=schedule.tz,
        link=schedule.link,
        description=schedule.description,
        created_by_person_id=author.id,
        submission_key=submission_key,
    )
    try:
        async with session.begin_nested():
            session.add(event)
            await session.flush()
    except IntegrityError:
        # the same submission, committed by a concurrent request a moment ago
        existing = await session.scalar(
            sa.select(Event).where(Event.submission_key == submission_key)
        )
        if existing is None:
            raise
        return Created(event=existing, created=False)
    return Created(event=event, created=True)


def _same(event: Event, schedule: Schedule) -> bool:
    return (
        event.title == schedule.title
        and event.kind == schedule.kind
        and event.starts_at == schedule.starts_at
        and event.duration_minutes == schedule.duration_minutes
        and event.tz == schedule.tz
        and (event.link or None) == schedule.link
        and event.description == schedule.description
    )


async def update(session: AsyncSession, *, event: Event, schedule: Schedule) -> bool:
    """Edit or reschedule; returns False (and changes nothing) when nothing differs."""
    if event.status == EventStatus.CANCELLED:
        raise Conflict("event.is_cancelled", title=event.title)
    if _same(event, schedule):
        return False
    event.title = schedule.title
    event.kind = schedule.kind
    event.starts_at = schedule.starts_at
    event.duration_minutes = schedule.duration_minutes
    event.tz = schedule.tz
    event.link = schedule.link
    event.description = schedule.description
    event.sequence += 1
    await session.flush()
    return True


def armed_since(event: Event) -> datetime:
    """When the event got its current start: its creation, or its last edit (a reschedule is an
    edit). A reminder whose moment came before this was not missed, so it is not owed: an event
    created 10 hours ahead gets no "24 h" reminder, and one moved by ten minutes after its
    24 h reminder went out does not get it again; moved a week later, its moment is ahead again."""
    return event.updated_at if event.sequence > 0 else event.created_at


async def cancel(session: AsyncSession, *, event: Event) -> bool:
    """Cancel (idempotent: False when it already was)."""
    if event.status == EventStatus.CANCELLED:
        return False
    event.status = EventStatus.CANCELLED
    event.sequence += 1
    await session.flush()
    return True


async def set_message(session: AsyncSession, *, event: Event, channel_id: str, ts: str) -> None:
    event.channel_id, event.message_ts = channel_id, ts
    await session.flush()


def ics_filename(event: EventView) -> str:
    """The calendar file's name says the event: 'webinaire-mlops-en-production.ics' — plain
    ASCII letters, digits and hyphens, whatever the title holds (slashes, quotes, emoji)."""
    slug = communities.slugify(event.title)
    plain = unicodedata.normalize("NFKD", event.title).encode("ascii", "ignore").decode()
    return f"{slug if any(c.isalnum() for c in plain) else 'event'}.ics"


async def rsvp(
    session: AsyncSession,
    *,
    event: Event,
    slack_user_id: str,
    answer: RsvpAnswer,
    now: datetime | None = None,
) -> bool:
    """Record a person's answer (one per person); returns False when it did not change.
    Once the event has started, answers are closed (who came is recorded as attendance)."""
    if event.status == EventStatus.CANCELLED:
        raise Conflict("event.rsvp_cancelled", title=event.title)
    if event.starts_at <= (now or utcnow()):
        raise Conflict("event.rsvp_started", title=event.title)
    person = (
        await people.ensure_many(
            session, workspace_id=event.workspace_id, slack_user_ids=[slack_user_id]
        )
    )[slack_user_id]
    row = await session.scalar(
        sa.select(EventRsvp).where(EventRsvp.event_id == event.id, EventRsvp.person_id == person.id)
    )
    if row is not None:
        if row.answer == answer:
            return False
        row.answer = answer
        await session.flush()
        return True
    try:
        async with session.begin_nested():
            session.add(
                EventRsvp(
                    workspace_id=event.workspace_id,
                    event_id=event.id,
                    person_id=person.id,
                    answer=answer,
                )
            )
            await session.flush()
    except IntegrityError:
        # a double click raced us; the other request wrote the row — make it this answer
        await session.execute(
            sa.update(EventRsvp)
            .where(EventRsvp.event_id == event.id, EventRsvp.person_id == person.id)
            .values(answer=answer, updated_at=utcnow())
        )
    return True


async def answer_of(session: AsyncSession, *, event_id: int, person_id: int) -> RsvpAnswer | None:
    return await session.scalar(
        sa.select(EventRsvp.answer).where(
            EventRsvp.event_id == event_id, EventRsvp.person_id == person_id
        )
    )


@dataclass(frozen=True, slots=True)
class Attendee:
    person_id: int
    slack_user_id: str
    tz: str | None
    locale: str | None


async def going(session: AsyncSession, *, event_id: int) -> list[Attendee]:
    """Those who said they are going: they hear about changes."""
    rows = await session.scalars(
        sa.select(Person)
        .join(EventRsvp, EventRsvp.person_id == Person.id)
        .where(
            EventRsvp.event_id == event_id,
            EventRsvp.answer == RsvpAnswer.GOING,
            Person.deleted.is_(False),
            Person.erased_at.is_(None),
        )
        .order_by(Person.id)
    )
    return [Attendee(p.id, p.slack_user_id, p.tz, p.locale) for p in rows]


def check_attendance(count: int | None, slack_user_ids: list[str]) -> list[str]:
    """A count, names, or both (the count then covers at least the names); returns the names."""
    names = sorted(set(slack_user_ids))
    if count is None and not names:
        raise InvalidFields([InvalidInput("event.attendance_missing", field="count")])
    if count is not None and not 0 <= count <= ATTENDANCE_MAX:
        raise InvalidFields(
            [InvalidInput("event.attendance_bad_count", field="count", max=ATTENDANCE_MAX)]
        )
    if count is not None and count < len(names):
        raise InvalidFields(
            [InvalidInput("event.attendance_count_below_names", field="count", names=len(names))]
        )
    return names


async def record_attendance(
    session: AsyncSession,
    *,
    event: Event,
    count: int | None,
    slack_user_ids: list[str],
    now: datetime | None = None,
) -> int:
    """Who came (names, count, or both); returns the count stored. Replaces a previous record."""
    now = now or utcnow()
    if event.status == EventStatus.CANCELLED:
        raise Conflict("event.is_cancelled", title=event.title)
    if event.starts_at > now:
        raise Conflict("event.not_started")
    names = check_attendance(count, slack_user_ids)
    persons = await people.ensure_many(
        session, workspace_id=event.workspace_id, slack_user_ids=names
    )
    await session.execute(sa.delete(EventAttendance).where(EventAttendance.event_id == event.id))
    session.add_all(
        EventAttendance(
            event_id=event.id,
            person_id=persons[uid].id,
            workspace_id=event.workspace_id,
            recorded_at=now,
        )
        for uid in names
    )
    event.attendance_count = count if count is not None else len(names)
    await session.flush()
    return event.attendance_count


async def upcoming(
    session: AsyncSession,
    *,
    community_ids: list[int],
    now: datetime,
    limit: int = 10,
    include_cancelled: bool = False,
) -> list[Event]:
    """Events not yet over, soonest first."""
    if not community_ids:
        return []
    query = sa.select(Event).where(
        Event.community_id.in_(community_ids),
        Event.starts_at >= now - timedelta(hours=24),
    )
    if not include_cancelled:
        query = query.where(Event.status == EventStatus.SCHEDULED)
    rows = list(await session.scalars(query.order_by(Event.starts_at).limit(limit * 2)))
    # events of more than a day that started earlier and are still under way (a week at most)
    rows = [
        *await session.scalars(
            sa.select(Event)
            .where(
                Event.community_id.in_(community_ids),
                Event.starts_at < now - timedelta(hours=24),
                Event.starts_at >= now - timedelta(days=DAYS_MAX),
                Event.duration_minutes > DURATION_MAX,
                *(() if include_cancelled else (Event.status == EventStatus.SCHEDULED,)),
            )
            .order_by(Event.starts_at)
        ),
        *rows,
    ]
    return [e for e in rows if e.starts_at + timedelta(minutes=e.duration_minutes) > now][:limit]


async def past(
    session: AsyncSession, *, community_ids: list[int], now: datetime, limit: int = 5
) -> list[Event]:
    """Held events (started before now), latest first."""
    if not community_ids:
        return []
    rows = await session.scalars(
        sa.select(Event)
        .where(
            Event.community_id.in_(community_ids),
            Event.starts_at < now,
            Event.status == EventStatus.SCHEDULED,
        )
        .order_by(Event.starts_at.desc())
        .limit(limit)
    )
    return list(rows)


# --- iCalendar (RFC 5545) ------------------------------------------------------------------------


def ics(
    event: EventView, *, domain: str, now: datetime, organiser: str = "", url: str | None = None
) -> str:
    """The event as an iCalendar file (written by `icalendar`: escaping, folding, CRLF); a
    cancelled event is a STATUS:CANCELLED update with a higher SEQUENCE."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//cop-bot//communities of practice//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if event.cancelled else "PUBLISH")
    entry = icalendar.Event()
    entry.add("uid", f"event-{event.id}@{domain}")
    entry.add("dtstamp", now.astimezone(UTC))
    entry.add("dtstart", event.starts_at.astimezone(UTC))
    entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("sequence", event.sequence)
    entry.add("summary", event.title)
    entry.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    description = event.description
    if event.link:
        description = f"{description}\n\n{event.link}".strip()
        entry.add("location", event.link)
        entry.add("url", event.link)
    elif url:
        entry.add("url", url)
    if description:
        entry.add("description", description)
    # iTIP (RFC 5546) wants an organiser on CANCEL; the community is the organiser. A quoted
    # parameter cannot hold a double quote nor a line break.
    name = (organiser or event.community_name).replace('"', "'").replace("\r", " ")
    entry.add(
        "organizer",
        icalendar.vCalAddress(f"mailto:noreply@{domain}"),
        parameters={"CN": name.replace("\n", " ")},
    )
    calendar.add_component(entry)
    return calendar.to_ical().decode("utf-8")


# --- summaries (App Home, KPIs) -------------------------------------------------------------------


async def count_between(
    session: AsyncSession, *, workspace_id: str, start: datetime, end: datetime
) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(Event)
            .where(
                Event.workspace_id == workspace_id,
                Event.status == EventStatus.SCHEDULED,
                Event.starts_at >= start,
                Event.starts_at < end,
            )
        )
        or 0
    )


# --- answers closed once an event has started ---------------------------------------------------

RSVP_CLOSED = "event.rsvp_closed"  # the audit action that says an announcement was re-rendered
CLOSING_LOOKBACK = timedelta(days=2)  # a bot down longer leaves older announcements as they are


def _closed_key(event_id: int, starts_at: datetime) -> str:
    return f"{event_id}@{starts_at.astimezone(UTC).isoformat()}"


async def started_unclosed(session: AsyncSession, *, now: datetime) -> list[Event]:
    """Announced, scheduled events that started (recently) and whose announcement still offers
    the answer buttons: those not yet recorded as closed for their current start."""
    since = now - CLOSING_LOOKBACK
    rows = list(
        await session.scalars(
            sa.select(Event)
            .where(
                Event.status == EventStatus.SCHEDULED,
                Event.message_ts.is_not(None),
                Event.starts_at <= now,
                Event.starts_at > since,
            )
            .order_by(Event.starts_at, Event.id)
        )
    )
    if not rows:
        return []
    done = {
        str((detail or {}).get("key"))
        for detail in await session.scalars(
            sa.select(AuditLog.detail).where(
                AuditLog.action == RSVP_CLOSED, AuditLog.at > since - timedelta(days=DAYS_MAX)
            )
        )
    }
    return [e for e in rows if _closed_key(e.id, e.starts_at) not in done]


async def mark_rsvp_closed(session: AsyncSession, *, event: Event) -> None:
    """Record that the announcement of `event` (at its current start) no longer offers answers."""
    session.add(
        AuditLog(
            workspace_id=event.workspace_id,
            actor="cop-bot",
            action=RSVP_CLOSED,
            community_id=event.community_id,
            detail={"event": event.id, "key": _closed_key(event.id, event.starts_at)},
        )
    )
    await session.flush()


# --- an event in words: the same sentences on Slack's blocks and Teams' cards --------------------

RSVP_EMOJI = {RsvpAnswer.GOING: "✅", RsvpAnswer.MAYBE: "🤔", RsvpAnswer.DECLINED: "❌"}


def duration_text(t: Translator, minutes: int) -> str:
    """« 45 min », « 2 h », « 1 h 30 »."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return t("event.minutes", minutes=rest)
    if not rest:
        return t("event.hours", hours=hours)
    return t("event.hours_minutes", hours=hours, minutes=f"{rest:02d}")


def span_text(t: Translator, starts_at: datetime, ends_at: datetime, tz: str) -> str:
    """An event over several days: « du mardi 12 mai 2026 à 09:00 au mercredi 13 mai à 17:00 »,
    "from Tuesday 12 May 2026, 09:00 to Wednesday 13 May, 17:00" (the end's year only when it
    differs): the announcement, the list and the home."""
    start, end = starts_at.astimezone(ZoneInfo(tz)), ends_at.astimezone(ZoneInfo(tz))
    last = t.date(end.date(), "EEEE d MMMM y" if end.year != start.year else "EEEE d MMMM")
    return t(
        "event.when_days",
        start_day=t.date(start.date(), "EEEE d MMMM y"),
        start=t.time(starts_at, tz),
        end_day=last,
        end=t.time(ends_at, tz),
    )


def when_text(t: Translator, event: EventView, tz: str, *, with_zone: bool) -> str:
    """« mardi 12 mai 2026 à 18:00 – 19:00 (Europe/Paris) », over several days « du … au … »."""
    if event.spans_days(tz):
        text = span_text(t, event.starts_at, event.ends_at, tz)
    else:
        text = t("event.when", start=t.datetime(event.starts_at, tz), end=t.time(event.ends_at, tz))
    return f"{text} ({tz})" if with_zone else text


def counts_text(t: Translator, event: EventView) -> str:
    """The answers so far, each with its emoji, its label and its count."""
    c = event.counts
    found = {RsvpAnswer.GOING: c.going, RsvpAnswer.MAYBE: c.maybe, RsvpAnswer.DECLINED: c.declined}
    return "   ".join(
        t(
            "event.count_item",
            emoji=RSVP_EMOJI[answer],
            label=t(f"event.rsvp.{answer.value}"),
            count=found[answer],
        )
        for answer in RsvpAnswer
    )
