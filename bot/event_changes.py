"""What leaders and members do to a community's events, each in its own transaction: plan, edit,
reschedule, cancel, answer, take attendance, and the notices owed to those who said going.

The handlers read the request and show the answer; the rules and the data are here. Every
function takes the programme's zone (`default_tz`) for the events whose community has none, and
those that owe notices the programme's language and an `Owe` (the outbox's `enqueue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, events, people
from bot import messages as m
from bot.audit import record
from bot.errors import CopError
from bot.events import EventDraft, EventView, Schedule
from bot.i18n import language_of
from bot.models import Event, EventStatus, RsvpAnswer, utcnow
from bot.permissions import Action, Actor, may, require
from bot.ports import Owe

Sessions = async_sessionmaker[AsyncSession]

CHANGE_KIND = "event_change"


async def _to_manage(session: AsyncSession, actor: Actor, event_id: int) -> Event:
    """The event, once the actor is allowed to manage its community's events."""
    event = await events.get(session, workspace_id=actor.workspace_id, event_id=event_id)
    await require(
        session, actor=actor, action=Action.MANAGE_EVENTS, community_id=event.community_id
    )
    return event


async def current(
    sessions: Sessions, *, workspace_id: str, event_id: int, default_tz: str
) -> EventView:
    """The event as it stands now (to refresh its announcement)."""
    async with sessions() as session:
        event = await events.get(session, workspace_id=workspace_id, event_id=event_id)
        return await events.view(session, event=event, default_tz=default_tz)


# --- the modal ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Editor:
    """What the create / edit modal needs: the community, the reader's zone, the event's draft."""

    community_id: int
    community_name: str
    default_tz: str
    draft: EventDraft | None


async def editor(
    sessions: Sessions,
    *,
    actor: Actor,
    community_id: int = 0,
    event_id: int | None = None,
    default_tz: str,
) -> Editor:
    """Check the permission (again, for Home and list buttons) before create or edit."""
    async with sessions.begin() as session:
        draft = None
        if event_id is not None:
            event = await events.get(session, workspace_id=actor.workspace_id, event_id=event_id)
            community_id = event.community_id
            if event.status == EventStatus.CANCELLED:
                raise CopError("event.is_cancelled", title=event.title)
            draft = (await events.view(session, event=event, default_tz=default_tz)).draft()
        await require(session, actor=actor, action=Action.MANAGE_EVENTS, community_id=community_id)
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=community_id
        )
        person = await people.find(
            session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
        )
        return Editor(
            community_id=community_id,
            community_name=community.name,
            default_tz=(person.tz if person else None) or community.tz or default_tz,
            draft=draft,
        )


@dataclass(frozen=True)
class Saved:
    event: EventView
    told: int  # notices owed to those who said going (an edit or a reschedule)


async def save(
    sessions: Sessions,
    owe: Owe,
    *,
    actor: Actor,
    event_id: int | None,
    community_id: int,
    schedule: Schedule,
    submission_key: str,
    default_tz: str,
    default_language: str,
) -> Saved | None:
    """The modal's submission: a new event in the community's channel (event_id None), or an
    edit / reschedule of which those who said going are owed a notice; audited. None when this
    submission was already recorded (the same modal sent twice). CopError when not allowed or
    nothing changed."""
    async with sessions.begin() as session:
        if event_id:
            event = await _to_manage(session, actor, event_id)
            if not await events.update(session, event=event, schedule=schedule):
                raise CopError("event.unchanged")
            shown = await events.view(session, event=event, default_tz=default_tz)
            told = await owe_notices(
                session,
                owe,
                shown,
                workspace_id=actor.workspace_id,
                cancelled=False,
                default_language=default_language,
            )
        else:
            await require(
                session, actor=actor, action=Action.MANAGE_EVENTS, community_id=community_id
            )
            community = await communities.get(
                session, workspace_id=actor.workspace_id, community_id=community_id
            )
            result = await events.create(
                session,
                workspace_id=actor.workspace_id,
                community_id=community_id,
                schedule=schedule,
                author_slack_user_id=actor.slack_user_id,
                submission_key=submission_key,
            )
            if not result.created:
                return None
            result.event.channel_id = community.channel_id
            shown = await events.view(session, event=result.event, default_tz=default_tz)
            told = 0
        await record(
            session,
            workspace_id=actor.workspace_id,
            actor=actor.slack_user_id,
            action="event.changed" if event_id else "event.created",
            community_id=shown.community_id,
            detail={"event": shown.id, "sequence": shown.sequence},
        )
    return Saved(event=shown, told=told)


async def announced(
    sessions: Sessions,
    *,
    workspace_id: str,
    event_id: int,
    channel_id: str,
    ts: str,
    default_tz: str,
) -> EventView:
    """Remember where the announcement was posted (its calendar file goes in its thread)."""
    async with sessions.begin() as session:
        row = await events.get(session, workspace_id=workspace_id, event_id=event_id)
        await events.set_message(session, event=row, channel_id=channel_id, ts=ts)
        return await events.view(session, event=row, default_tz=default_tz)


# --- notices --------------------------------------------------------------------------------------


def change_message(event: EventView, *, tz: str, cancelled: bool) -> m.Message:
    """The DM to someone who said they were going: the time in `tz`, which it names."""
    span = (
        m.Say(
            "event.when_days_dm",
            start=m.Moment(event.starts_at, tz),
            end=m.Moment(event.ends_at, tz),
        )
        if event.spans_days(tz)
        else m.Say(
            "event.when",
            start=m.Moment(event.starts_at, tz),
            end=m.Moment(event.ends_at, tz, "time"),
        )
    )
    when = m.Join([span, f" ({tz})"])
    text = m.Say(
        "event.notice_cancelled" if cancelled else "event.notice_changed",
        title=event.title,
        community=event.community_name,
        when=when,
    )
    return m.Message(text, [m.Paragraph(text)])


async def owe_notices(
    session: AsyncSession,
    owe: Owe,
    event: EventView,
    *,
    workspace_id: str,
    cancelled: bool,
    default_language: str,
) -> int:
    """Tell those who said going, by DM through the outbox, in their language and zone."""
    told = 0
    for person in await events.going(session, event_id=event.id):
        language = language_of(person.locale, event.community_language or default_language)
        tz = person.tz or event.community_tz
        if await owe(
            session,
            workspace_id=workspace_id,
            key=f"event:{event.id}:change:{event.sequence}:{person.person_id}",
            kind=CHANGE_KIND,
            message=change_message(event, tz=tz, cancelled=cancelled),
            reader=m.Reader(language, tz),
            person_id=person.person_id,
            community_id=event.community_id,
        ):
            told += 1
    return told


# --- listing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    may_manage: bool
    upcoming: list[EventView]
    past: list[EventView]


async def listing(
    sessions: Sessions, *, actor: Actor, community_id: int, default_tz: str, now: datetime
) -> Listing:
    """A community's coming and recent events; whether the actor may manage them."""
    async with sessions() as session:
        manage = await may(
            session, actor=actor, action=Action.MANAGE_EVENTS, community_id=community_id
        )
        ahead = [
            await events.view(session, event=e, default_tz=default_tz)
            for e in await events.upcoming(session, community_ids=[community_id], now=now)
        ]
        held = [
            await events.view(session, event=e, default_tz=default_tz)
            for e in await events.past(session, community_ids=[community_id], now=now)
        ]
    return Listing(may_manage=manage, upcoming=ahead, past=held)


# --- buttons --------------------------------------------------------------------------------------


async def answer(
    sessions: Sessions, *, actor: Actor, event_id: int, answer: RsvpAnswer, default_tz: str
) -> tuple[bool, EventView]:
    """One answer per person: (whether it changed anything, the event with its counts)."""
    async with sessions.begin() as session:
        event = await events.get(session, workspace_id=actor.workspace_id, event_id=event_id)
        changed = await events.rsvp(
            session, event=event, slack_user_id=actor.slack_user_id, answer=answer
        )
        return changed, await events.view(session, event=event, default_tz=default_tz)


async def attendance_sheet(
    sessions: Sessions, *, actor: Actor, event_id: int, default_tz: str
) -> tuple[EventView, tuple[str, ...]]:
    """A started, not cancelled event a manager takes attendance of, and who said going."""
    async with sessions() as session:
        event = await _to_manage(session, actor, event_id)
        if event.status == EventStatus.CANCELLED:
            raise CopError("event.is_cancelled", title=event.title)
        if event.starts_at > utcnow():
            raise CopError("event.not_started")
        shown = await events.view(session, event=event, default_tz=default_tz)
        suggested = tuple(p.slack_user_id for p in await events.going(session, event_id=event.id))
    return shown, suggested


async def take_attendance(
    sessions: Sessions,
    *,
    actor: Actor,
    event_id: int,
    count: int | None,
    names: list[str],
    default_tz: str,
) -> tuple[EventView, int]:
    """Record who came (audited): (the event, the count stored)."""
    async with sessions.begin() as session:
        event = await _to_manage(session, actor, event_id)
        stored = await events.record_attendance(
            session, event=event, count=count, slack_user_ids=names
        )
        await record(
            session,
            workspace_id=actor.workspace_id,
            actor=actor.slack_user_id,
            action="event.attendance",
            community_id=event.community_id,
            detail={"event": event.id, "count": stored},
        )
        return await events.view(session, event=event, default_tz=default_tz), stored


@dataclass(frozen=True)
class Attendable:
    """Someone an attendance form offers: their person id (a short key for a form's choices),
    their chat user id (what take_attendance records) and their name."""

    person_id: int
    user_id: str
    name: str


async def attendance_roll(
    sessions: Sessions, *, workspace_id: str, community_id: int, named: tuple[str, ...] = ()
) -> list[Attendable]:
    """Whom an attendance form offers: the community's members, then those already named (who
    said going, or were recorded) though they left since; by name."""
    async with sessions() as session:
        found = {
            person.slack_user_id: person
            for _, person in await communities.active_memberships(
                session, community_id=community_id
            )
            if people.is_person(person)
        }
        for user_id in named:
            if user_id not in found:
                person = await people.find(
                    session, workspace_id=workspace_id, slack_user_id=user_id
                )
                if person is not None:
                    found[user_id] = person
        roll = [
            Attendable(person.id, user_id, people.display_name(person))
            for user_id, person in found.items()
        ]
    return sorted(roll, key=lambda a: (a.name.casefold(), a.user_id))


@dataclass(frozen=True)
class Cancelled:
    changed: bool  # False when it was cancelled already
    event: EventView
    told: int


async def cancel(
    sessions: Sessions,
    owe: Owe,
    *,
    actor: Actor,
    event_id: int,
    default_tz: str,
    default_language: str,
) -> Cancelled:
    """Cancel an event; those who said going are owed a notice (audited)."""
    async with sessions.begin() as session:
        event = await _to_manage(session, actor, event_id)
        changed = await events.cancel(session, event=event)
        shown = await events.view(session, event=event, default_tz=default_tz)
        told = 0
        if changed:
            told = await owe_notices(
                session,
                owe,
                shown,
                workspace_id=actor.workspace_id,
                cancelled=True,
                default_language=default_language,
            )
            await record(
                session,
                workspace_id=actor.workspace_id,
                actor=actor.slack_user_id,
                action="event.cancelled",
                community_id=event.community_id,
                detail={"event": event.id},
            )
    return Cancelled(changed=changed, event=shown, told=told)
