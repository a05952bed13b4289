"""What a person's App Home shows: their communities and roles, events ahead, polls awaiting them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charters, communities, engagement, events, kpis, lifecycle, people, preferences
from bot import objectives as objectives_mod
from bot import polls as pulse_polls
from bot.config import Engagement
from bot.models import (
    ChannelStatus,
    Community,
    CommunityStatus,
    Membership,
    Person,
    Poll,
    PollDelivery,
    PollKind,
    PollStatus,
    Ritual,
    Role,
    RsvpAnswer,
)

RUNNERS = (Role.LEADER, Role.CORE_TEAM)
MAX_COMMUNITIES = 20  # a Home is one screen; the rest is counted, not listed


@dataclass(frozen=True, slots=True)
class HomeCommunity:
    id: int
    name: str
    channel_id: str
    role: Role | None  # None: a programme manager who is not a member
    may_run: bool
    charter: charters.CharterState
    # for those who run it: the stage people set and its checklist (bot.lifecycle)
    lifecycle: lifecycle.Checklist | None = None
    # for those who run it: this year's objectives, achieved of those still pursued
    objectives: objectives_mod.Tally | None = None
    objectives_year: int | None = None
    # the person's own engagement tier this period (bot.engagement): shown to them alone
    mine: engagement.Mine | None = None
    # for those who run it: the tiers as counts and retention, never who
    tiers: kpis.Kpis | None = None

    @property
    def charter_to_review(self) -> bool:
        return self.charter.to_review


@dataclass(frozen=True, slots=True)
class HomeEvent:
    id: int
    community_name: str
    channel_id: str | None
    message_ts: str | None
    title: str
    starts_at: datetime
    answer: RsvpAnswer | None
    ends_at: datetime | None = None  # shown when the event lasts several days

    def spans_days(self, tz: str) -> bool:
        return self.ends_at is not None and events.spans_days(self.starts_at, self.ends_at, tz)


@dataclass(frozen=True, slots=True)
class HomePoll:
    id: int
    community_name: str
    closes_at: datetime
    survey: bool = False  # the annual member survey's share, not a pulse


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
    more_communities: int = 0  # communities of the person beyond those listed
    # their ritual DMs, each on, snoozed or off (empty for someone the bot does not know yet)
    rituals: tuple[preferences.RitualState, ...] = ()
    # ever asked a poll: someone never polled is not told "no polls waiting, thanks for answering"
    polled: bool = False
    # the engagement period (app.yaml `engagement.period`: week, month or quarter), when shown
    engagement_period: str | None = None


async def programme_summary(
    session: AsyncSession, *, workspace_id: str, now: datetime
) -> ProgrammeSummary:
    active = (
        sa.select(Community.id)
        .where(Community.workspace_id == workspace_id, communities.LIVE)
        .scalar_subquery()
    )
    n_communities = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Community)
        .where(Community.workspace_id == workspace_id, communities.LIVE)
    )
    unique = await session.scalar(  # one person once, by e-mail across platforms
        sa.select(sa.func.count(sa.distinct(people.IDENTITY)))
        .select_from(Membership)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.left_at.is_(None),
            Membership.community_id.in_(active),
            people.COUNTED,
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
    max_communities: int = MAX_COMMUNITIES,
    ballot_key: bytes | None = None,
    today: date | None = None,
    charter_stale_days: int = charters.STALE_DAYS,
    ritual_defaults: Mapping[Ritual, bool] | None = None,
    engagement_rule: Engagement | None = None,
    tz: str = "UTC",
) -> Home:
    """Everything the Home tab of one person shows; managers also get the programme line.

    Those they run come first; past `max_communities` they are only counted (a manager may
    belong to hundreds, and each listed one costs a charter lookup and two blocks). Polls they
    have already answered are told apart with the ballot key (no table says who answered).
    """
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=slack_user_id)
    memberships = await communities.memberships_of(session, person_id=person.id) if person else []
    active = [
        (membership, community)
        for membership, community in memberships
        if community.channel_status == ChannelStatus.OK
        and community.status != CommunityStatus.CLOSED
    ]
    # stable sort: runners first, each group still by name
    active.sort(key=lambda row: not (is_manager or row[0].role in RUNNERS))
    mine: list[HomeCommunity] = []
    today = today or now.date()
    run = [
        community.id
        for membership, community in active[:max_communities]
        if is_manager or membership.role in RUNNERS
    ]
    stages = await lifecycle.facts(
        session,
        workspace_id=workspace_id,
        community_ids=run,
        defaults=ritual_defaults or {},
        now=now,
    )
    listed = [community for _, community in active[:max_communities]]
    own, counts = await _engagement(
        session,
        person_id=person.id if person else None,
        listed=listed,
        run=run,
        rule=engagement_rule,
        now=now,
        tz=tz,
    )
    for membership, community in active[:max_communities]:
        charter = await charters.current(session, community_id=community.id)
        tally = (
            objectives_mod.tally(
                await objectives_mod.of_year(session, community_id=community.id, year=today.year)
            )
            if community.id in run
            else None
        )
        mine.append(
            HomeCommunity(
                id=community.id,
                name=community.name,
                channel_id=community.channel_id,
                role=membership.role,
                may_run=is_manager or membership.role in RUNNERS,
                charter=charter.state(today=today, stale_days=charter_stale_days)
                if charter
                else charters.CharterState.MISSING,
                lifecycle=lifecycle.checklist(stages[community.id])
                if community.id in stages
                else None,
                objectives=tally,
                objectives_year=today.year if tally is not None else None,
                mine=own.get(community.id),
                tiers=counts.get(community.id),
            )
        )
    ids = [community.id for _, community in active]
    names = {community.id: community.name for _, community in active}
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
                ends_at=event.starts_at + timedelta(minutes=event.duration_minutes),
            )
        )
    polls: list[HomePoll] = []
    polled = False
    if person is not None:
        polled = (
            await session.scalar(
                sa.select(PollDelivery.poll_id).where(PollDelivery.person_id == person.id).limit(1)
            )
        ) is not None
        rows = (
            await session.execute(
                sa.select(Poll, Community.name)
                .join(PollDelivery, PollDelivery.poll_id == Poll.id)
                .join(Community, Community.id == Poll.community_id)
                .where(
                    PollDelivery.person_id == person.id,
                    Poll.status == PollStatus.OPEN,
                    Poll.closes_at > now,
                )
                .order_by(Poll.closes_at)
            )
        ).all()
        done = (
            await pulse_polls.answered(
                session, key=ballot_key, polls=[p for p, _ in rows], person_id=person.id
            )
            if ballot_key is not None
            else set()
        )
        polls = [
            HomePoll(
                id=p.id,
                community_name=name,
                closes_at=p.closes_at,
                survey=p.kind == PollKind.SURVEY,
            )
            for p, name in rows
            if p.id not in done
        ]
    summary = (
        await programme_summary(session, workspace_id=workspace_id, now=now) if is_manager else None
    )
    return Home(
        communities=tuple(mine),
        events=tuple(home_events),
        polls=tuple(polls),
        programme=summary,
        more_communities=len(active) - len(mine),
        rituals=await preferences.states(session, person_id=person.id, now=now) if person else (),
        polled=polled or bool(polls),
        engagement_period=engagement_rule.period if engagement_rule is not None else None,
    )


async def _engagement(
    session: AsyncSession,
    *,
    person_id: int | None,
    listed: list[Community],
    run: list[int],
    rule: Engagement | None,
    now: datetime,
    tz: str,
) -> tuple[dict[int, engagement.Mine], dict[int, kpis.Kpis]]:
    """The person's own tier in each listed community, and for the ones they run the counts and
    retention over the period running in that community's zone (bot.engagement)."""
    if rule is None or person_id is None or not listed:
        return {}, {}
    mine = {
        m.community_id: m
        for m in await engagement.mine(
            session,
            person_id=person_id,
            communities=[(c.id, c.name, c.tz) for c in listed],
            rule=rule,
            now=now,
            default_tz=tz,
        )
    }
    counts: dict[int, kpis.Kpis] = {}
    zones = {c.id: c.tz or tz for c in listed}
    by_zone: dict[str, list[int]] = {}
    for cid in run:
        by_zone.setdefault(zones[cid], []).append(cid)
    for zone, ids in by_zone.items():
        found = await engagement.counts(
            session,
            communities=ids,
            window=engagement.current(rule, now=now, tz=zone),
            rule=rule,
            default_tz=tz,
        )
        for cid in ids:
            n = found.get(cid, engagement.Counts())
            counts[cid] = kpis.Kpis(
                engaged_core=n.core,
                engaged_active=n.active,
                engaged_peripheral=n.peripheral,
                retained=n.retained,
                retained_of=n.retained_of,
            )
    return mine, counts


async def opened(
    session: AsyncSession, *, workspace_id: str, slack_user_id: str, now: datetime
) -> None:
    """They opened their Home: for a while, changes they would see there are pushed to it."""
    await session.execute(
        sa.update(Person)
        .where(Person.workspace_id == workspace_id, Person.slack_user_id == slack_user_id)
        .values(home_opened_at=now, updated_at=Person.updated_at)  # not a profile change
        .execution_options(synchronize_session=False)
    )


async def recent_viewers(
    session: AsyncSession,
    *,
    workspace_id: str,
    since: datetime,
    limit: int,
    community_id: int | None = None,
    runners_only: bool = False,
    among: tuple[str, ...] = (),
) -> list[str]:
    """Who opened their Home since `since` and would see the change there, most recent first, at
    most `limit`: the members (or runners) of `community_id`, and the people `among` (the author,
    whose own Home shows what they did). Anyone else gets a fresh Home when they next open it."""
    if limit <= 0:
        return []
    concerned = []
    if among:
        concerned.append(Person.slack_user_id.in_(among))
    if community_id is not None:
        members = sa.select(Membership.person_id).where(
            Membership.community_id == community_id, Membership.left_at.is_(None)
        )
        if runners_only:
            members = members.where(Membership.role.in_(RUNNERS))
        concerned.append(Person.id.in_(members))
    if not concerned:
        return []
    rows = await session.scalars(
        sa.select(Person.slack_user_id)
        .where(
            Person.workspace_id == workspace_id,
            Person.home_opened_at >= since,
            people.IS_PERSON,
            sa.or_(*concerned),
        )
        .order_by(Person.home_opened_at.desc(), Person.id)
        .limit(limit)
    )
    return list(rows)
