"""Event reminders: before each event, one in the channel and a DM to those going or maybe.

Keys carry the event's current start (`reminder:{event}:{offset}:{starts_at}:…`), so a
rescheduled event owes new reminders and the stale ones are cancelled; a cancelled event's
pending reminders are cancelled too. A reminder is owed only if its moment comes after the event
got its current start (bot.events.armed_since): no instant "24 h" reminder for an event created
at short notice, and no second one for an event moved by a few minutes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import events
from bot import messages as m
from bot.deps import Deps
from bot.models import (
    Community,
    CommunityStatus,
    Event,
    EventRsvp,
    EventStatus,
    Outbox,
    OutboxStatus,
    Ritual,
    RsvpAnswer,
)
from rituals import recipients
from rituals.cadence import settings_of
from rituals.outbox import Owed, cancel, enqueue_many

logger = logging.getLogger(__name__)
LOOKBACK = timedelta(days=2)  # events that started since are still checked for stale rows


def reminder_message(*, title: str, starts_at: datetime, link: str | None) -> m.Message:
    """The event's title as its organiser typed it, the time in the reader's zone (which it
    names), and its link, clickable only when it is a web address."""
    text = m.Say("rituals.reminder", title=title, when=m.Moment(starts_at, with_zone=True))
    lines: list[m.Text] = [text]
    if link:
        lines.append(m.Say("rituals.reminder_link", link=m.Link(link)))
    return m.Message(text, [m.Paragraph(m.Lines(lines))])


async def plan(deps: Deps, *, now: datetime, community_id: int | None = None) -> int:
    """Owe the reminders that are due now; cancel those of rescheduled or cancelled events."""
    programme = deps.programme
    offsets_default = programme.rituals.reminders.offsets_hours
    owed_count = 0
    async with deps.sessions.begin() as session:
        stmt = sa.select(Event, Community).join(Community, Community.id == Event.community_id)
        # upcoming events, and recent ones (a reschedule or cancel may leave stale rows)
        stmt = stmt.where(Event.starts_at > now - LOOKBACK, Community.archived_at.is_(None))
        if community_id is not None:
            stmt = stmt.where(Event.community_id == community_id)
        rows = list(await session.execute(stmt))
        for event, community in rows:
            prefix = f"reminder:{event.id}:"
            current = f"{event.starts_at.isoformat()}"
            if event.status != EventStatus.SCHEDULED or community.status == CommunityStatus.CLOSED:
                await cancel(session, keys_like=prefix)  # a closed community meets no more
                continue
            # stale keys (an old start) are cancelled; keys of the current start are kept
            stale = await session.scalars(
                sa.select(Outbox.idempotency_key).where(
                    Outbox.idempotency_key.startswith(prefix, autoescape=True),
                    Outbox.status == OutboxStatus.PENDING,
                )
            )
            for key in stale:
                if current not in key:
                    await cancel(session, keys_like=key)
            if event.starts_at <= now:
                continue
            settings = await settings_of(session, community=community, programme=programme, now=now)
            setting = settings[Ritual.REMINDERS]
            if not setting.enabled:
                continue
            offsets = sorted(
                (float(h) for h in setting.options.get("offsets_hours", offsets_default)),
                reverse=True,
            )
            # the most recent offset already due (a bot down for a while sends one, not all);
            # one whose moment came before the event had its current start is not owed at all
            armed = events.armed_since(event)
            due = [h for h in offsets if armed <= event.starts_at - timedelta(hours=h) <= now]
            if not due:
                continue
            offset = due[-1]
            owed_count += await _owe(
                deps, session=session, event=event, community=community, offset=offset, now=now
            )
    return owed_count


async def _owe(
    deps: Deps,
    *,
    session: AsyncSession,
    event: Event,
    community: Community,
    offset: float,
    now: datetime,
) -> int:
    programme = deps.programme
    base = f"reminder:{event.id}:{offset:g}:{event.starts_at.isoformat()}"
    message = reminder_message(title=event.title, starts_at=event.starts_at, link=event.link)
    owed = [
        Owed(
            key=f"{base}:channel",
            kind="reminder_channel",
            message=message,
            reader=m.Reader(community.language or programme.language, event.tz),
            channel_id=event.channel_id or community.channel_id,
            expires_at=event.starts_at,
        )
    ]
    going = set(
        await session.scalars(
            sa.select(EventRsvp.person_id).where(
                EventRsvp.event_id == event.id,
                EventRsvp.answer.in_([RsvpAnswer.GOING, RsvpAnswer.MAYBE]),
            )
        )
    )
    if going:
        people, _ = await recipients.for_ritual_dm(
            session,
            community=community,
            ritual=Ritual.REMINDERS,
            default_language=programme.language,
            cap=10_000,  # a reminder the member asked for (going / maybe) is not capped
            now=now,
        )
        for person in people:
            if person.person_id not in going:
                continue
            owed.append(
                Owed(
                    key=f"{base}:{person.person_id}",
                    kind="reminder",
                    message=message,
                    reader=m.Reader(person.language, person.tz or event.tz),
                    person_id=person.person_id,
                    expires_at=event.starts_at,
                )
            )
    return await enqueue_many(
        session, workspace_id=event.workspace_id, community_id=community.id, messages=owed
    )
