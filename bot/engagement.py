"""Engagement tiers: over a period, each community's members are core, active or peripheral by
what they did there, and how many of last period's active members are still active (retention).

A member's *participation* in one community over one period is counted from rows the bot already
keeps, never from message text:
- channel activity (bot.activity's daily counters): messages, replies, reactions, days active;
- events of that community attended (event attendance, events not cancelled, started in the
  period);
- stories and testimonials they shared there (not rejected), in the period.

Poll answers are left out on purpose: a ballot cannot be linked to the person who cast it
(docs/privacy.md, bot/polls.py), and counting them per person would break that promise.

The tiers (thresholds in app.yaml `engagement:`; docs/engagement.md):
- *core* (« cœur »): at least `core_contributions` contributions (messages, replies, events
  attended, stories shared; reactions are not contributions) on at least `core_days` different
  days active in the channel — or at least one event attended *and* one story shared;
- *active*: otherwise, at least `active_actions` actions of any kind (a reaction counts);
- *peripheral*: a member at the period's end with less than that.

Who is tiered: the community's members at the period's end, as the member figures count them
(bot.people.COUNTED). Periods are calendar periods in each community's own time zone (channel
activity is already kept by the community's local day). A person's tier is shown only to that
person; everyone else sees counts (core / active / peripheral) and retention.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities as communities_mod
from bot import people
from bot.config import Engagement
from bot.models import (
    ActivityDaily,
    ChannelStatus,
    Community,
    CommunityStatus,
    Event,
    EventAttendance,
    EventStatus,
    Membership,
    Person,
    StoryStatus,
    SuccessStory,
)
from bot.periods import Period, Window, period_end, previous, to_date

DEFAULTS = Engagement()


class Tier(enum.StrEnum):
    CORE = "core"
    ACTIVE = "active"
    PERIPHERAL = "peripheral"


@dataclass(frozen=True, slots=True)
class Participation:
    """What one member did in one community over one period (counts only)."""

    messages: int = 0
    replies: int = 0
    reactions: int = 0
    days: int = 0  # days with any activity in the channel
    events: int = 0  # events of the community attended
    stories: int = 0  # stories and testimonials shared (not rejected)

    @property
    def contributions(self) -> int:
        """What someone brought: a message, a reply, an event attended, a story shared."""
        return self.messages + self.replies + self.events + self.stories

    @property
    def actions(self) -> int:
        """Any sign of participation, a reaction included."""
        return self.contributions + self.reactions


NOTHING = Participation()


def tier_of(done: Participation, rule: Engagement = DEFAULTS) -> Tier:
    """The tier these counts earn under the programme's thresholds."""
    if (done.contributions >= rule.core_contributions and done.days >= rule.core_days) or (
        done.events >= 1 and done.stories >= 1
    ):
        return Tier.CORE
    if done.actions >= rule.active_actions:
        return Tier.ACTIVE
    return Tier.PERIPHERAL


def engaged(tier: Tier) -> bool:
    """Whether a tier counts as active for retention: core or active."""
    return tier != Tier.PERIPHERAL


@dataclass(frozen=True, slots=True)
class Counts:
    """One community's tiers as counts (what leaders, sponsors and managers see), and retention:
    of the members active (core or active) in the previous period, how many are active in this
    one."""

    core: int = 0
    active: int = 0
    peripheral: int = 0
    retained: int = 0
    retained_of: int = 0

    @property
    def members(self) -> int:
        return self.core + self.active + self.peripheral

    @property
    def retention(self) -> float | None:
        return None if not self.retained_of else self.retained / self.retained_of


def period_of(rule: Engagement) -> Period:
    return Period(rule.period)


def current(rule: Engagement, *, now: datetime, tz: str) -> Window:
    """The engagement period running at `now` in this zone, up to and including today there."""
    today = now.astimezone(ZoneInfo(tz)).date()
    return to_date(period_of(rule), today, tz)


def before(window: Window) -> Window:
    """The whole period before the window's (all of October for November, or for 1–12 November):
    retention's denominator, stable while the current period runs."""
    start = previous(window).start
    return Window(
        start, min(period_end(window.period, start), window.start), window.period, window.tz
    )


def _bounds(window: Window, tz: str) -> tuple[datetime, datetime]:
    return Window(window.start, window.end, window.period, tz).bounds()


Key = tuple[int, int]  # (community id, person id)


async def _zones(session: AsyncSession, *, communities: Any, default_tz: str) -> dict[str, Any]:
    """The communities in scope grouped by time zone, each group as a subquery of ids (a
    programme has a handful of zones, never one query per community)."""
    zone = sa.func.coalesce(Community.tz, default_tz)
    found = await session.scalars(sa.select(zone).where(Community.id.in_(communities)).distinct())
    return {
        str(tz): sa.select(Community.id)
        .where(Community.id.in_(communities), zone == tz)
        .scalar_subquery()
        for tz in found
    }


async def participation(
    session: AsyncSession,
    *,
    communities: Any,
    window: Window,
    default_tz: str,
    person_id: int | None = None,
) -> tuple[dict[Key, Participation], set[Key]]:
    """Each member's participation over the window's days (in their community's zone), and who
    the members are at its end. `communities`: a subquery (or list) of community ids;
    `person_id`: one person only (their own Home). Set-based: a few GROUP BYs per zone."""
    found: dict[Key, dict[str, int]] = defaultdict(dict)
    members: set[Key] = set()
    one = (lambda column: column == person_id) if person_id is not None else (lambda _c: sa.true())
    # channel activity: days are already the community's local days
    for cid, pid, msgs, replies, reactions, days in await session.execute(
        sa.select(
            ActivityDaily.community_id,
            ActivityDaily.person_id,
            sa.func.sum(ActivityDaily.messages),
            sa.func.sum(ActivityDaily.replies),
            sa.func.sum(ActivityDaily.reactions),
            sa.func.count(sa.distinct(ActivityDaily.day)),
        )
        .where(
            ActivityDaily.community_id.in_(communities),
            ActivityDaily.person_id.is_not(None),
            one(ActivityDaily.person_id),
            ActivityDaily.day >= window.start,
            ActivityDaily.day < window.end,
        )
        .group_by(ActivityDaily.community_id, ActivityDaily.person_id)
    ):
        found[(int(cid), int(pid or 0))].update(
            messages=int(msgs or 0),
            replies=int(replies or 0),
            reactions=int(reactions or 0),
            days=int(days),
        )
    for tz, here in (await _zones(session, communities=communities, default_tz=default_tz)).items():
        start, end = _bounds(window, tz)
        for cid, pid, n in await session.execute(
            sa.select(Event.community_id, EventAttendance.person_id, sa.func.count())
            .join(Event, Event.id == EventAttendance.event_id)
            .where(
                Event.community_id.in_(here),
                one(EventAttendance.person_id),
                Event.status != EventStatus.CANCELLED,
                Event.starts_at >= start,
                Event.starts_at < end,
            )
            .group_by(Event.community_id, EventAttendance.person_id)
        ):
            found[(int(cid), int(pid))]["events"] = int(n)
        for cid, pid, n in await session.execute(
            sa.select(SuccessStory.community_id, SuccessStory.author_person_id, sa.func.count())
            .where(
                SuccessStory.community_id.in_(here),
                SuccessStory.author_person_id.is_not(None),
                one(SuccessStory.author_person_id),
                SuccessStory.status != StoryStatus.REJECTED,
                SuccessStory.created_at >= start,
                SuccessStory.created_at < end,
            )
            .group_by(SuccessStory.community_id, SuccessStory.author_person_id)
        ):
            found[(int(cid), int(pid or 0))]["stories"] = int(n)  # authors only (NOT NULL)
        for cid, pid in await session.execute(
            sa.select(Membership.community_id, Membership.person_id)
            .join(Person, sa.and_(Person.id == Membership.person_id, people.COUNTED))
            .where(
                Membership.community_id.in_(here),
                one(Membership.person_id),
                Membership.joined_at < end,
                sa.or_(Membership.left_at.is_(None), Membership.left_at >= end),
            )
            .distinct()
        ):
            members.add((int(cid), int(pid)))
    return {key: Participation(**counts) for key, counts in found.items()}, members


def tiers(
    done: Mapping[Key, Participation], members: Iterable[Key], rule: Engagement
) -> dict[Key, Tier]:
    """Each member's tier (a member who did nothing is peripheral)."""
    return {key: tier_of(done.get(key, NOTHING), rule) for key in members}


async def counts(
    session: AsyncSession,
    *,
    communities: Any,
    window: Window,
    rule: Engagement,
    default_tz: str,
) -> dict[int, Counts]:
    """Per community: how many members in each tier over the window, and retention against the
    whole previous period (`before`). Counts only: nobody's name."""
    now_done, now_members = await participation(
        session, communities=communities, window=window, default_tz=default_tz
    )
    before_done, before_members = await participation(
        session, communities=communities, window=before(window), default_tz=default_tz
    )
    now_tiers = tiers(now_done, now_members, rule)
    before_engaged = {k for k, t in tiers(before_done, before_members, rule).items() if engaged(t)}
    tally: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (cid, _pid), tier in now_tiers.items():
        tally[cid][tier.value] += 1
    for key in before_engaged:
        tally[key[0]]["retained_of"] += 1
        if key in now_tiers and engaged(now_tiers[key]):
            tally[key[0]]["retained"] += 1
    return {cid: Counts(**dict(t)) for cid, t in tally.items()}


@dataclass(frozen=True, slots=True)
class Mine:
    """One person's own tier in one of their communities: shown to them alone."""

    community_id: int
    community_name: str
    window: Window
    tier: Tier
    done: Participation


async def mine(
    session: AsyncSession,
    *,
    person_id: int,
    communities: Iterable[tuple[int, str, str | None]],
    rule: Engagement,
    now: datetime,
    default_tz: str,
) -> list[Mine]:
    """The person's tier in each of these communities (id, name, zone) over the engagement
    period running now in that community's zone. Only ever asked for the person themself."""
    communities = list(communities)
    by_window: dict[Window, list[tuple[int, str]]] = defaultdict(list)
    for cid, name, tz in communities:
        by_window[current(rule, now=now, tz=tz or default_tz)].append((cid, name))
    out: list[Mine] = []
    for window, listed in by_window.items():
        ids = [cid for cid, _ in listed]
        done, members = await participation(
            session, communities=ids, window=window, default_tz=default_tz, person_id=person_id
        )
        for cid, name in listed:
            if (cid, person_id) not in members:
                continue
            did = done.get((cid, person_id), NOTHING)
            out.append(Mine(cid, name, window, tier_of(did, rule), did))
    order = {cid: i for i, (cid, _, _) in enumerate(communities)}
    return sorted(out, key=lambda m: order.get(m.community_id, 0))


async def mine_of(
    session: AsyncSession,
    *,
    workspace_id: str,
    slack_user_id: str,
    rule: Engagement,
    now: datetime,
    default_tz: str,
) -> list[Mine]:
    """The asking person's own tiers in their live communities (`/cop me`): there is no way to
    ask for anyone else's."""
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=slack_user_id)
    if person is None:
        return []
    rows = await communities_mod.memberships_of(session, person_id=person.id)
    live = [
        (c.id, c.name, c.tz)
        for _, c in rows
        if c.channel_status == ChannelStatus.OK and c.status != CommunityStatus.CLOSED
    ]
    return await mine(
        session, person_id=person.id, communities=live, rule=rule, now=now, default_tz=default_tz
    )
