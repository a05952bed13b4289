"""What a person's App Home shows: their communities and roles, events ahead, polls awaiting them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charters, communities, events, people
from bot.models import (
    ChannelStatus,
    Community,
    Membership,
    Person,
    Poll,
    PollDelivery,
    PollStatus,
    Role,
    RsvpAnswer,
)

RUNNERS = (Role.LEADER, Role.CORE_TEAM)


@dataclass(frozen=True, slots=True)
class HomeCommunity:
    id: int
    name: str
    channel_id: str
    role: Role | None  # None: a programme manager who is not a member
    may_run: bool
    charter_to_review: bool


@dataclass(frozen=True, slots=True)
class HomeEvent:
    id: int
    community_name: str
    channel_id: str | None
    message_ts: str | None
    title: str
    starts_at: datetime
    answer: RsvpAnswer | None


@dataclass(frozen=True, slots=True)
class HomePoll:
    id: int
    community_name: str
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class ProgrammeSummary:
    communities: int
    unique_members: int
    events_next_30_days: int


@dataclass(frozen=True, slots=True)
class Home:
    communities: tuple[HomeCommunity, ...]
    events: tuple[HomeEvent, ...]
    polls: tuple[HomePoll, ...]
    programme: ProgrammeSummary | None


async def programme_summary(
    session: AsyncSession, *, workspace_id: str, now: datetime
) -> ProgrammeSummary:
    active = (
        sa.select(Community.id)
        .where(Community.workspace_id == workspace_id, Community.channel_status == ChannelStatus.OK)
        .scalar_subquery()
    )
    n_communities = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Community)
        .where(Community.workspace_id == workspace_id, Community.channel_status == ChannelStatus.OK)
    )
    unique = await session.scalar(
        sa.select(sa.func.count(sa.distinct(Membership.person_id)))
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.left_at.is_(None),
            Membership.community_id.in_(active),
            Person.is_bot.is_(False),
            Person.deleted.is_(False),
        )
    )
    upcoming = await events.count_between(
        session, workspace_id=workspace_id, start=now, end=now + timedelta(days=30)
    )
    return ProgrammeSummary(
        communities=int(n_communities or 0),
        unique_members=int(unique or 0),
        events_next_30_days=upcoming,
    )


async def load(
    session: AsyncSession,
    *,
    workspace_id: str,
    slack_user_id: str,
    is_manager: bool,
    now: datetime,
    max_events: int = 8,
) -> Home:
    """Everything the Home tab of one person shows; managers also get the programme line."""
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=slack_user_id)
    memberships = await communities.memberships_of(session, person_id=person.id) if person else []
    mine: list[HomeCommunity] = []
    for membership, community in memberships:
        if community.channel_status != ChannelStatus.OK:
            continue
        charter = await charters.current(session, community_id=community.id)
        mine.append(
            HomeCommunity(
                id=community.id,
                name=community.name,
                channel_id=community.channel_id,
                role=membership.role,
                may_run=is_manager or membership.role in RUNNERS,
                charter_to_review=charters.needs_review(
                    charter.draft if charter else None, year=now.year
                ),
            )
        )
    ids = [c.id for c in mine]
    names = {c.id: c.name for c in mine}
    ahead = await events.upcoming(session, community_ids=ids, now=now, limit=max_events)
    home_events = []
    for event in ahead:
        answer = (
            await events.answer_of(session, event_id=event.id, person_id=person.id)
            if person
            else None
        )
        home_events.append(
            HomeEvent(
                id=event.id,
                community_name=names[event.community_id],
                channel_id=event.channel_id,
                message_ts=event.message_ts,
                title=event.title,
                starts_at=event.starts_at,
                answer=answer,
            )
        )
    polls: list[HomePoll] = []
    if person is not None:
        rows = await session.execute(
            sa.select(Poll, Community.name)
            .join(PollDelivery, PollDelivery.poll_id == Poll.id)
            .join(Community, Community.id == Poll.community_id)
            .where(
                PollDelivery.person_id == person.id,
                PollDelivery.answered_at.is_(None),
                Poll.status == PollStatus.OPEN,
                Poll.closes_at > now,
            )
            .order_by(Poll.closes_at)
        )
        polls = [HomePoll(id=p.id, community_name=name, closes_at=p.closes_at) for p, name in rows]
    summary = (
        await programme_summary(session, workspace_id=workspace_id, now=now) if is_manager else None
    )
    return Home(
        communities=tuple(mine), events=tuple(home_events), polls=tuple(polls), programme=summary
    )
