"""KPIs on the three levels of the value model, per community and for the programme.

Level 1 (participation and adoption): members per community, summed and unique across the
programme with the overlap (people in 1, 2, 3+ communities), new and departed members, active
members and active rate, messages/replies/reactions, events held and attendance, charters up to
date. Level 2 (engagement, belonging and perceived usefulness): pulse score, eNPS, response
rate. Level 3 (tangible value): success stories and their quantified value by unit, grouped by
the kind of value they show. `compute` composes one small function per group of figures; the
calendar (periods, windows) is bot/periods.py.

Every figure comes from a handful of set-based queries (GROUP BY community), so a programme of
hundreds of communities and tens of thousands of members costs the same dozen round trips as a
small one. Ratios are None when their denominator is zero: "no data", never a division by zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charters, communities, disclosure, engagement, people, redelivery
from bot import events as events_mod
from bot import programme as programme_mod
from bot import stories as stories_mod
from bot.config import Engagement
from bot.i18n import collation_key
from bot.models import (
    ActivityDaily,
    ChannelStatus,
    CharterObjective,
    CharterVersion,
    Community,
    Delivery,
    Event,
    EventAttendance,
    EventKind,
    EventRsvp,
    EventStatus,
    KpiSnapshot,
    Membership,
    ObjectiveStatus,
    Person,
    Poll,
    PollDelivery,
    PollKind,
    RsvpAnswer,
    SuccessStory,
    utcnow,
)
from bot.periods import Period, Window, period_start, to_date
from bot.programme import Workspaces

DEFAULT_QUESTION_KINDS: Mapping[str, str] = {"value": "scale", "recommend": "nps"}
PROGRAMME_SCOPE = "programme"


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return None if not whole else part / whole


@dataclass
class KindValue:
    """Success stories showing one kind of value: how many, and their value by unit."""

    count: int = 0
    value: dict[str, float] = field(default_factory=dict)
    value_stories: dict[str, int] = field(default_factory=dict)  # the n behind each value


@dataclass
class Kpis:
    """The figures of one scope (a community or the programme) over one window."""

    members: int = 0
    new_members: int = 0
    departed_members: int = 0
    active_members: int = 0
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    events_held: int = 0
    attendance: int = 0
    charter_up_to_date: int = 0
    polls: int = 0
    polls_delivered: int = 0
    polls_answered: int = 0
    # survey figures as the disclosure rule lets them show (bot/disclosure.py), each with its n:
    # the number of answers behind it, or, when withheld ("open" / "too_few"), so far
    pulse_score: float | None = None
    pulse_answers: int = 0
    pulse_withheld: str | None = None
    pulse_communities: int = 0  # how many communities those answers come from
    enps: float | None = None
    enps_answers: int = 0
    enps_withheld: str | None = None
    enps_communities: int = 0
    stories: int = 0  # validated ones: the only stories that count as value (bot/stories.py)
    stories_pending: int = (
        0  # submitted, awaiting a leader's validation: shown apart, never counted
    )
    testimonials: int = 0  # validated one-sentence testimonials: counted apart from stories
    value_by_unit: dict[str, float] = field(default_factory=dict)  # a mean for AVERAGED_UNITS
    value_stories_by_unit: dict[str, int] = field(default_factory=dict)  # the n behind each
    stories_by_kind: dict[str, KindValue] = field(default_factory=dict)
    # the charters' objectives of the year of the window's last day (bot/objectives.py)
    objectives_achieved: int = 0
    objectives_counted: int = 0  # all but the dropped ones
    # engagement tiers over the window (bot/engagement.py): counts, never who; and retention,
    # members active (core or active) in the previous period who are active in this one
    engaged_core: int = 0
    engaged_active: int = 0
    engaged_peripheral: int = 0
    retained: int = 0
    retained_of: int = 0  # members active in the previous period
    # events apart by kind: webinars held (the rest of events_held are the other kinds)
    webinars_held: int = 0
    # attendance over RSVP: over the events that ended in the window with both an attendance
    # recorded and at least one "going" answer, those who came and those who said going
    rsvp_attended: int = 0
    rsvp_going: int = 0

    @property
    def other_events_held(self) -> int:
        """Events held that are not webinars (meetings, workshops, trainings, gatherings…)."""
        return self.events_held - self.webinars_held

    @property
    def attendance_rsvp(self) -> float | None:
        """Attended ÷ said "going", over the events that have both (None when none has)."""
        return ratio(self.rsvp_attended, self.rsvp_going)

    @property
    def active_rate(self) -> float | None:
        rate = ratio(self.active_members, self.members)
        return None if rate is None else min(rate, 1.0)

    @property
    def objectives_rate(self) -> float | None:
        """Objectives achieved over those not dropped (« atteinte des objectifs »)."""
        return ratio(self.objectives_achieved, self.objectives_counted)

    @property
    def response_rate(self) -> float | None:
        return ratio(self.polls_answered, self.polls_delivered)

    @property
    def retention(self) -> float | None:
        """Of the members active in the previous period, the share active in this one."""
        return ratio(self.retained, self.retained_of)

    @property
    def has_data(self) -> bool:
        return bool(
            self.members
            or self.messages
            or self.replies
            or self.reactions
            or self.events_held
            or self.polls_delivered
            or self.stories
            or self.stories_pending
        )

    def set_survey(self, pulse: disclosure.Figure, recommend: disclosure.Figure) -> None:
        self.pulse_score = pulse.mean if pulse.shown else None
        self.pulse_answers = pulse.answers
        self.pulse_withheld = pulse.withheld.value if pulse.withheld else None
        self.pulse_communities = pulse.communities
        self.enps = recommend.enps if recommend.shown else None
        self.enps_answers = recommend.answers
        self.enps_withheld = recommend.withheld.value if recommend.withheld else None
        self.enps_communities = recommend.communities

    def metrics(self) -> dict[str, Any]:
        data = asdict(self)
        data["active_rate"] = self.active_rate
        data["response_rate"] = self.response_rate
        data["objectives_rate"] = self.objectives_rate
        data["retention"] = self.retention
        data["other_events_held"] = self.other_events_held
        data["attendance_rsvp"] = self.attendance_rsvp
        return data

    @classmethod
    def from_metrics(cls, data: Mapping[str, Any]) -> Kpis:
        names = set(cls.__dataclass_fields__)
        kept = {k: v for k, v in data.items() if k in names}
        kept["stories_by_kind"] = {
            k: KindValue(**v) for k, v in (data.get("stories_by_kind") or {}).items()
        }
        return cls(**kept)


@dataclass
class CommunityKpis(Kpis):
    community_id: int = 0
    name: str = ""
    slug: str = ""


@dataclass
class ProgrammeKpis(Kpis):
    communities: int = 0
    members_unique: int = 0
    overlap: dict[str, int] = field(default_factory=lambda: {"1": 0, "2": 0, "3+": 0})

    @property
    def members_summed(self) -> int:
        return self.members

    @property
    def active_rate(self) -> float | None:
        """Active people over unique people: the summed figure would count the overlap twice."""
        rate = ratio(self.active_members, self.members_unique)
        return None if rate is None else min(rate, 1.0)


@dataclass
class WindowKpis:
    """The KPIs of one window: the programme's and each live community's (by name)."""

    window: Window
    programme: ProgrammeKpis
    communities: list[CommunityKpis]


def _num(value: Any) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


@dataclass(frozen=True, slots=True)
class MemberCount:
    per_community: dict[int, int]
    unique: int
    overlap: dict[str, int]


async def count_members(session: AsyncSession, *, live: Any, end: datetime) -> MemberCount:
    """Members of the communities in `live` (a subquery of ids) at `end`: per community, unique
    people and the overlap. Who counts is bot.people.COUNTED, as on the Home."""
    human = sa.and_(Person.id == Membership.person_id, people.COUNTED)
    active_at_end = sa.and_(
        Membership.community_id.in_(live),
        Membership.joined_at < end,
        sa.or_(Membership.left_at.is_(None), Membership.left_at >= end),
    )
    per_community = {
        int(cid): int(n)
        for cid, n in await session.execute(
            sa.select(Membership.community_id, sa.func.count(sa.distinct(Membership.person_id)))
            .join(Person, human)
            .where(active_at_end)
            .group_by(Membership.community_id)
        )
    }
    # one person once, even with a Slack and a Teams account (bot.people.IDENTITY)
    who = people.IDENTITY.label("who")
    per_person = (
        sa.select(who, sa.func.count(sa.distinct(Membership.community_id)).label("n"))
        .join(Person, human)
        .where(active_at_end)
        .group_by(who)
        .subquery()
    )
    unique, overlap = 0, {"1": 0, "2": 0, "3+": 0}
    for n, many in await session.execute(
        sa.select(per_person.c.n, sa.func.count()).group_by(per_person.c.n)
    ):
        unique += int(many)
        overlap["1" if n == 1 else "2" if n == 2 else "3+"] += int(many)
    return MemberCount(per_community, unique, overlap)


@dataclass
class _Scope:
    """What every group of figures reads and fills: the window, the live communities (a subquery
    of ids, so the database never gets a list of hundreds of ids) and the figures so far."""

    window: Window
    start: datetime
    end: datetime
    held_before: datetime  # events count once started, never in the future
    live: Any
    per: dict[int, CommunityKpis]
    programme: ProgrammeKpis


async def _communities_in_scope(
    session: AsyncSession, *, workspace_id: Workspaces, wanted: list[int] | None
) -> tuple[dict[int, CommunityKpis], Any]:
    """Empty figures for each live community (or the ones wanted: a closed community's own
    figures still read, its channel being there), and their ids as a subquery."""
    here = programme_mod.where(Community.workspace_id, workspace_id)
    live_here = sa.and_(here, communities.LIVE)
    query = sa.select(Community.id, Community.name, Community.slug)
    if wanted is not None:
        query = query.where(
            here,
            Community.channel_status == ChannelStatus.OK,
            Community.id.in_(wanted),
        )
    else:
        query = query.where(live_here)
    per = {
        cid: CommunityKpis(community_id=cid, name=name, slug=slug)
        for cid, name, slug in await session.execute(query.order_by(Community.name))
    }
    in_scope = Community.id.in_(list(per)) if wanted is not None else live_here
    return per, sa.select(Community.id).where(in_scope).scalar_subquery()


# --- level 1: participation and adoption -------------------------------------------------------


async def _add_members(session: AsyncSession, scope: _Scope) -> None:
    """Members at the window's end (summed, unique, overlap), people who joined and who left."""
    counted = await count_members(session, live=scope.live, end=scope.end)
    for cid, n in counted.per_community.items():
        scope.per[cid].members = n
    scope.programme.members_unique, scope.programme.overlap = counted.unique, counted.overlap

    human = sa.and_(Person.id == Membership.person_id, people.COUNTED)
    for column, attr in (
        (Membership.joined_at, "new_members"),
        (Membership.left_at, "departed_members"),
    ):
        for cid, n in await session.execute(
            sa.select(Membership.community_id, sa.func.count(sa.distinct(Membership.person_id)))
            .join(Person, human)
            .where(
                Membership.community_id.in_(scope.live),
                column >= scope.start,
                column < scope.end,
            )
            .group_by(Membership.community_id)
        ):
            setattr(scope.per[cid], attr, int(n))


async def _add_activity(session: AsyncSession, scope: _Scope) -> None:
    """Messages, replies, reactions and active people; the programme's active people once each."""
    in_window = sa.and_(
        ActivityDaily.community_id.in_(scope.live),
        ActivityDaily.day >= scope.window.start,
        ActivityDaily.day < scope.window.end,
    )
    for cid, msgs, replies, reactions, active in await session.execute(
        sa.select(
            ActivityDaily.community_id,
            sa.func.sum(ActivityDaily.messages),
            sa.func.sum(ActivityDaily.replies),
            sa.func.sum(ActivityDaily.reactions),
            sa.func.count(sa.distinct(ActivityDaily.person_id)),
        )
        .where(in_window)
        .group_by(ActivityDaily.community_id)
    ):
        c = scope.per[cid]
        c.messages, c.replies, c.reactions = int(msgs or 0), int(replies or 0), int(reactions or 0)
        c.active_members = int(active)
    scope.programme.active_members = int(
        await session.scalar(
            sa.select(sa.func.count(sa.distinct(people.IDENTITY)))
            .select_from(ActivityDaily)
            .join(Person, Person.id == ActivityDaily.person_id)
            .where(in_window)
        )
        or 0
    )


async def _add_events(session: AsyncSession, scope: _Scope) -> None:
    """Events held (not cancelled, already started) and their attendance."""
    attended = (
        sa.select(sa.func.count())
        .where(EventAttendance.event_id == Event.id)
        .correlate(Event)
        .scalar_subquery()
    )
    for cid, held, attendance in await session.execute(
        sa.select(
            Event.community_id,
            sa.func.count(Event.id),
            sa.func.sum(sa.func.coalesce(Event.attendance_count, attended)),
        )
        .where(
            Event.community_id.in_(scope.live),
            Event.status != EventStatus.CANCELLED,
            Event.starts_at >= scope.start,
            Event.starts_at < scope.held_before,
        )
        .group_by(Event.community_id)
    ):
        scope.per[cid].events_held, scope.per[cid].attendance = int(held), int(attendance or 0)


async def _add_events_by_kind(session: AsyncSession, scope: _Scope) -> None:
    """Webinars held, counted apart from the other events (the same rule as events_held)."""
    for cid, held in await session.execute(
        sa.select(Event.community_id, sa.func.count(Event.id))
        .where(
            Event.community_id.in_(scope.live),
            Event.status != EventStatus.CANCELLED,
            Event.kind == EventKind.WEBINAR,
            Event.starts_at >= scope.start,
            Event.starts_at < scope.held_before,
        )
        .group_by(Event.community_id)
    ):
        scope.per[cid].webinars_held = int(held)


async def _add_attendance_over_rsvp(session: AsyncSession, scope: _Scope) -> None:
    """Who came over who said "going", over the events that ended in the window (and before
    now), not cancelled, with an attendance recorded and at least one "going": an event over
    several days counts once, when it ends. The end is the start plus the duration, computed
    here (a week at most: the candidates started at most that long before the window)."""
    going = (
        sa.select(sa.func.count())
        .where(EventRsvp.event_id == Event.id, EventRsvp.answer == RsvpAnswer.GOING)
        .correlate(Event)
        .scalar_subquery()
    )
    rows = await session.execute(
        sa.select(
            Event.community_id,
            Event.starts_at,
            Event.duration_minutes,
            Event.attendance_count,
            going,
        ).where(
            Event.community_id.in_(scope.live),
            Event.status != EventStatus.CANCELLED,
            Event.attendance_count.is_not(None),
            Event.starts_at >= scope.start - timedelta(days=events_mod.DAYS_MAX),
            Event.starts_at < scope.held_before,
        )
    )
    for cid, starts_at, minutes, attended, said_going in rows:
        ends_at = starts_at + timedelta(minutes=minutes)
        if not said_going or not scope.start <= ends_at <= scope.held_before:
            continue
        scope.per[cid].rsvp_attended += int(attended)
        scope.per[cid].rsvp_going += int(said_going)


async def _add_charters(session: AsyncSession, scope: _Scope, *, stale_days: int) -> None:
    """Whether each community's latest charter before the window's end is up to date."""
    latest = (
        sa.select(CharterVersion.community_id, sa.func.max(CharterVersion.version).label("v"))
        .where(CharterVersion.community_id.in_(scope.live), CharterVersion.created_at < scope.end)
        .group_by(CharterVersion.community_id)
        .subquery()
    )
    last_day = scope.window.end - timedelta(days=1)
    for cid, saved, objectives_year, objectives in await session.execute(
        sa.select(
            CharterVersion.community_id,
            CharterVersion.created_at,
            CharterVersion.objectives_year,
            CharterVersion.objectives,
        ).join(
            latest,
            sa.and_(
                latest.c.community_id == CharterVersion.community_id,
                latest.c.v == CharterVersion.version,
            ),
        )
    ):
        state = charters.state_of(
            saved_on=saved.date(),
            objectives=bool(objectives),
            objectives_year=objectives_year,
            today=last_day,
            stale_days=stale_days,
        )
        scope.per[cid].charter_up_to_date = int(state == charters.CharterState.CURRENT)


# --- level 2: engagement, belonging and perceived usefulness ----------------------------------


def _polls_opened(scope: _Scope) -> Any:
    return sa.and_(
        Poll.community_id.in_(scope.live),
        Poll.kind == PollKind.PULSE,  # the annual survey has its own figures (bot/survey.py)
        Poll.opens_at >= scope.start,
        Poll.opens_at < scope.end,
    )


async def _add_poll_responses(session: AsyncSession, scope: _Scope) -> None:
    """Pulse polls opened in the window, how many were delivered and answered (the response
    rate's parts)."""
    polls_in = _polls_opened(scope)
    for cid, polls, delivered in await session.execute(
        sa.select(
            Poll.community_id,
            sa.func.count(sa.distinct(Poll.id)),
            sa.func.count(PollDelivery.delivered_at),
        )
        .select_from(Poll)
        .outerjoin(PollDelivery, PollDelivery.poll_id == Poll.id)
        .where(polls_in)
        .group_by(Poll.community_id)
    ):
        scope.per[cid].polls, scope.per[cid].polls_delivered = int(polls), int(delivered)
    answered = await disclosure.respondents(session, where=polls_in)
    if answered:
        # a rate of the asked: a poll posted in a channel asks nobody in particular
        for poll_id, cid in await session.execute(
            sa.select(Poll.id, Poll.community_id).where(
                Poll.id.in_(list(answered)), Poll.delivery == Delivery.DM
            )
        ):
            scope.per[cid].polls_answered += answered[poll_id]


async def _add_survey(
    session: AsyncSession,
    scope: _Scope,
    *,
    workspace_id: Workspaces,
    kinds: Mapping[str, str],
    rule: disclosure.Rule,
    chosen: bool,
) -> None:
    """Perceived value (pulse score) and recommendation (eNPS), through the disclosure rule."""
    scale_keys = [k for k, v in kinds.items() if v == "scale"]
    nps_keys = [k for k, v in kinds.items() if v == "nps"]
    found = await disclosure.cells(
        session, where=_polls_opened(scope), question_keys=[*scale_keys, *nps_keys]
    )
    scale, nps = (
        disclosure.by_community(found, scale_keys),
        disclosure.by_community(found, nps_keys),
    )
    for cid, c in scope.per.items():
        c.set_survey(
            rule.for_community(scale.get(cid, [])), rule.for_community(nps.get(cid, []), nps=True)
        )
    if chosen:
        # a chosen set of communities (one community's /cop health): what each may show alone,
        # never a roll-up of cells under k, which would show that community's small answers
        scope.programme.set_survey(
            rule.for_community([x for cs in scale.values() for x in cs]),
            rule.for_community([x for cs in nps.values() for x in cs], nps=True),
        )
    else:
        scope.programme.set_survey(
            rule.for_programme(
                [x for cs in scale.values() for x in cs],
                batches=await disclosure.batches(
                    session, rule=rule, workspace_id=workspace_id, question_keys=scale_keys
                ),
            ),
            rule.for_programme(
                [x for cs in nps.values() for x in cs],
                batches=await disclosure.batches(
                    session, rule=rule, workspace_id=workspace_id, question_keys=nps_keys
                ),
                nps=True,
            ),
        )


# --- level 3: tangible value -------------------------------------------------------------------


async def _add_validated_stories(session: AsyncSession, scope: _Scope) -> None:
    """Validated success stories and their value by unit, by kind of value; percentages are
    averaged, never summed (stories_mod.AVERAGED_UNITS)."""
    for cid, kind, unit, n, amount in await session.execute(
        sa.select(
            SuccessStory.community_id,
            SuccessStory.value_kind,
            SuccessStory.value_unit,
            sa.func.count(),
            sa.func.sum(SuccessStory.value_amount),
        )
        .where(
            SuccessStory.community_id.in_(scope.live),
            stories_mod.counted(),
            SuccessStory.created_at >= scope.start,
            SuccessStory.created_at < scope.end,
        )
        .group_by(SuccessStory.community_id, SuccessStory.value_kind, SuccessStory.value_unit)
    ):
        kind_key = str(kind.value if kind is not None else "unspecified")
        for target in (scope.per[cid], scope.programme):
            target.stories += int(n)
            by_kind = target.stories_by_kind.setdefault(kind_key, KindValue())
            by_kind.count += int(n)
            if unit and amount is not None:
                target.value_by_unit[unit] = round(
                    target.value_by_unit.get(unit, 0.0) + _num(amount), 2
                )
                target.value_stories_by_unit[unit] = target.value_stories_by_unit.get(
                    unit, 0
                ) + int(n)
                by_kind.value[unit] = round(by_kind.value.get(unit, 0.0) + _num(amount), 2)
                by_kind.value_stories[unit] = by_kind.value_stories.get(unit, 0) + int(n)
    for totals in (*scope.per.values(), scope.programme):
        pairs = [(totals.value_by_unit, totals.value_stories_by_unit)]
        pairs += [(k.value, k.value_stories) for k in totals.stories_by_kind.values()]
        for values, tallies in pairs:
            for unit in stories_mod.AVERAGED_UNITS & values.keys():
                values[unit] = round(values[unit] / max(tallies.get(unit, 1), 1), 2)


async def _add_testimonials(session: AsyncSession, scope: _Scope) -> None:
    """Validated testimonials (« témoignages »): counted apart, never as value."""
    await _count_stories(session, scope, stories_mod.testimonials_counted(), "testimonials")


async def _add_pending_stories(session: AsyncSession, scope: _Scope) -> None:
    """Stories awaiting a leader's validation: shown apart, never counted as value."""
    await _count_stories(session, scope, stories_mod.awaiting(), "stories_pending")


async def _count_stories(
    session: AsyncSession, scope: _Scope, which: sa.ColumnElement[bool], field: str
) -> None:
    """Stories matching `which`, created in the window, per community and for the programme."""
    for cid, n in await session.execute(
        sa.select(SuccessStory.community_id, sa.func.count())
        .where(
            SuccessStory.community_id.in_(scope.live),
            which,
            SuccessStory.created_at >= scope.start,
            SuccessStory.created_at < scope.end,
        )
        .group_by(SuccessStory.community_id)
    ):
        setattr(scope.per[cid], field, int(n))
        setattr(scope.programme, field, getattr(scope.programme, field) + int(n))


async def _add_objectives(session: AsyncSession, scope: _Scope) -> None:
    """Each community's objectives of the year of the window's last day: achieved, and all but
    the dropped ones (the denominator of "objectives achieved")."""
    year = (scope.window.end - timedelta(days=1)).year
    for cid, status, n in await session.execute(
        sa.select(CharterObjective.community_id, CharterObjective.status, sa.func.count())
        .where(
            CharterObjective.community_id.in_(scope.live),
            CharterObjective.year == year,
            CharterObjective.status != ObjectiveStatus.DROPPED,
        )
        .group_by(CharterObjective.community_id, CharterObjective.status)
    ):
        scope.per[cid].objectives_counted += int(n)
        if status == ObjectiveStatus.ACHIEVED:
            scope.per[cid].objectives_achieved += int(n)


async def _add_engagement(session: AsyncSession, scope: _Scope, *, rule: Engagement) -> None:
    """Engagement tiers as counts, and retention against the previous period's same days
    (bot/engagement.py; each community's period in its own zone)."""
    found = await engagement.counts(
        session, communities=scope.live, window=scope.window, rule=rule, default_tz=scope.window.tz
    )
    for cid, n in found.items():
        c = scope.per[cid]
        c.engaged_core, c.engaged_active, c.engaged_peripheral = n.core, n.active, n.peripheral
        c.retained, c.retained_of = n.retained, n.retained_of


# --- the programme: what adds up across communities --------------------------------------------

_SUMMED = (
    "members",
    "new_members",
    "departed_members",
    "messages",
    "replies",
    "reactions",
    "events_held",
    "attendance",
    "charter_up_to_date",
    "polls",
    "polls_delivered",
    "polls_answered",
    "objectives_achieved",
    "objectives_counted",
    "engaged_core",
    "engaged_active",
    "engaged_peripheral",
    "retained",
    "retained_of",
    "webinars_held",
    "rsvp_attended",
    "rsvp_going",
)


def _sum_into_programme(scope: _Scope) -> None:
    """The summed figures; unique members, active people, surveys and stories are not sums and
    were set by their own group."""
    for c in scope.per.values():
        for name in _SUMMED:
            setattr(scope.programme, name, getattr(scope.programme, name) + getattr(c, name))


async def compute(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    window: Window,
    question_kinds: Mapping[str, str] | None = None,
    community_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    rule: disclosure.Rule,
    charter_stale_days: int = charters.STALE_DAYS,
    engagement_rule: Engagement | None = None,
) -> WindowKpis:
    """All KPIs of the window, for every live community (or the ones given) and the programme.
    Survey figures go through the disclosure rule (closed polls, k answers per question).
    `workspace_id` may be the programme's linked workspaces (bot.programme): a programme on
    Slack and Teams at once is counted as one."""
    start, end = window.bounds()
    wanted = list(community_ids) if community_ids is not None else None
    per, live = await _communities_in_scope(session, workspace_id=workspace_id, wanted=wanted)
    programme = ProgrammeKpis(communities=len(per))
    if not per:
        return WindowKpis(window, programme, [])
    scope = _Scope(window, start, end, min(end, now or utcnow()), live, per, programme)

    await _add_members(session, scope)
    await _add_activity(session, scope)
    await _add_events(session, scope)
    await _add_charters(session, scope, stale_days=charter_stale_days)

    await _add_poll_responses(session, scope)
    await _add_survey(
        session,
        scope,
        workspace_id=workspace_id,
        kinds=dict(question_kinds or DEFAULT_QUESTION_KINDS),
        rule=rule,
        chosen=wanted is not None,
    )

    await _add_validated_stories(session, scope)
    await _add_pending_stories(session, scope)
    await _add_testimonials(session, scope)
    await _add_objectives(session, scope)
    await _add_engagement(session, scope, rule=engagement_rule or engagement.DEFAULTS)
    await _add_events_by_kind(session, scope)
    await _add_attendance_over_rsvp(session, scope)

    _sum_into_programme(scope)
    return WindowKpis(window, programme, sorted(per.values(), key=lambda c: collation_key(c.name)))


def community_scope(community_id: int) -> str:
    return f"community:{community_id}"


SNAPSHOT_PERIODS = (Period.DAY, Period.WEEK, Period.MONTH, Period.YEAR)


async def snapshot(
    session: AsyncSession,
    *,
    workspace_id: str,
    as_of: date,
    tz: str = "UTC",
    question_kinds: Mapping[str, str] | None = None,
    periods: Iterable[Period] = SNAPSHOT_PERIODS,
    now: datetime | None = None,
    rule: disclosure.Rule,
    charter_stale_days: int = charters.STALE_DAYS,
    engagement_rule: Engagement | None = None,
) -> int:
    """Write (or refresh) the day, week-, month- and year-to-date snapshots ending on `as_of`."""
    now = now or utcnow()
    rows: list[dict[str, Any]] = []
    for period in periods:
        window = to_date(period, as_of, tz)
        report = await compute(
            session,
            workspace_id=workspace_id,
            window=window,
            question_kinds=question_kinds,
            now=now,
            rule=rule,
            charter_stale_days=charter_stale_days,
            engagement_rule=engagement_rule,
        )
        base = {
            "workspace_id": workspace_id,
            "period": period.value,
            "period_start": window.start,
            "computed_at": now,
        }
        metrics = report.programme.metrics() | {"as_of": as_of.isoformat()}
        rows.append(base | {"community_id": None, "scope": PROGRAMME_SCOPE, "metrics": metrics})
        rows += [
            base
            | {
                "community_id": c.community_id,
                "scope": community_scope(c.community_id),
                "metrics": c.metrics() | {"as_of": as_of.isoformat()},
            }
            for c in report.communities
        ]
    insert = redelivery.upsert_for(session)
    statement = insert(KpiSnapshot)
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "scope", "period", "period_start"],
        set_={"metrics": statement.excluded.metrics, "computed_at": statement.excluded.computed_at},
    )
    for start in range(0, len(rows), 500):
        await session.execute(statement, rows[start : start + 500])
    return len(rows)


async def latest_programme(
    session: AsyncSession, *, workspace_id: str, period: Period, since: date
) -> tuple[date, ProgrammeKpis] | None:
    """The newest programme snapshot of this period computed on or after `since`, if any."""
    row = (
        await session.execute(
            sa.select(KpiSnapshot.period_start, KpiSnapshot.metrics)
            .where(
                KpiSnapshot.workspace_id == workspace_id,
                KpiSnapshot.scope == PROGRAMME_SCOPE,
                KpiSnapshot.period == period.value,
                KpiSnapshot.period_start >= period_start(period, since),
            )
            .order_by(KpiSnapshot.period_start.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    data = dict(row[1])
    if data.get("as_of", "") < since.isoformat():
        return None
    kpis = ProgrammeKpis.from_metrics(data)
    assert isinstance(kpis, ProgrammeKpis)  # from_metrics builds `cls`; its annotation says Kpis
    return row[0], kpis


@dataclass(frozen=True, slots=True)
class WeekPoint:
    start: date
    active: int
    messages: int
    replies: int
    reactions: int


async def weekly_trend(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    last_day: date,
    weeks: int = 12,
    community_ids: Iterable[int] | None = None,
) -> list[WeekPoint]:
    """Active people and messages per week over the last `weeks` weeks (one query, CASE buckets)."""
    first = period_start(Period.WEEK, last_day) - timedelta(weeks=weeks - 1)
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    bucket = sa.case(
        *[(ActivityDaily.day >= s, i) for i, s in reversed(list(enumerate(starts)))], else_=-1
    ).label("bucket")
    scope = (
        ActivityDaily.community_id.in_(list(community_ids))
        if community_ids is not None
        else ActivityDaily.community_id.in_(
            sa.select(Community.id).where(
                programme_mod.where(Community.workspace_id, workspace_id), communities.LIVE
            )
        )
    )
    rows = await session.execute(
        sa.select(
            bucket,
            sa.func.count(sa.distinct(ActivityDaily.person_id)),
            sa.func.sum(ActivityDaily.messages),
            sa.func.sum(ActivityDaily.replies),
            sa.func.sum(ActivityDaily.reactions),
        )
        .where(scope, ActivityDaily.day >= first, ActivityDaily.day <= last_day)
        .group_by(bucket)
    )
    found = {int(b): (int(a), int(m or 0), int(r or 0), int(x or 0)) for b, a, m, r, x in rows}
    return [WeekPoint(s, *found.get(i, (0, 0, 0, 0))) for i, s in enumerate(starts)]
