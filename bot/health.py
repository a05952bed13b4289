"""Community health: an explainable status (thriving, steady, at risk, dormant) with its reasons
and a suggested next action, beside the lifecycle stage people set (the suggestion of another
stage, and each stage's checklist, live in bot.lifecycle).

`gather` reads the few signals per community with set-based queries; `assess` is a pure
function of those signals and the app.yaml thresholds, so each rule is testable on its own.
A reason is a catalogue key and its parameters: the caller renders it in the reader's language.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import charters, communities, disclosure, figures, kpis, people, periods, programme
from bot.config import Engagement, HealthThresholds
from bot.errors import CopError, NotFound
from bot.i18n import Translator, collation_key
from bot.kpis import DEFAULT_QUESTION_KINDS, Kpis, ratio
from bot.models import (
    ActivityDaily,
    ChannelStatus,
    CharterVersion,
    Community,
    CommunityKind,
    CommunityStatus,
    Event,
    EventStatus,
    Membership,
    Person,
    Poll,
    PollDelivery,
    PollKind,
    Role,
    Stage,
    utcnow,
)
from bot.permissions import Action, Actor, require
from bot.programme import Workspaces
from bot.programme import where as in_workspaces
from bot.stories import value_phrases

if TYPE_CHECKING:
    from bot import lifecycle

PULSE_LOOKBACK_DAYS = 180


class Status(enum.StrEnum):
    THRIVING = "thriving"
    STEADY = "steady"
    STARTING = "starting"  # younger than health.starting_days: a first step, no verdict yet
    AT_RISK = "at_risk"
    DORMANT = "dormant"
    NO_DATA = "no_data"


# Higher is more worrying: the order /cop health ranks communities in.
CONCERN = {
    Status.DORMANT: 5,
    Status.AT_RISK: 4,
    Status.NO_DATA: 3,
    Status.STARTING: 2,
    Status.STEADY: 1,
    Status.THRIVING: 0,
}


@dataclass(frozen=True, slots=True)
class Signals:
    """What health looks at for one community, as of `today`."""

    community_id: int
    name: str
    slug: str
    today: date
    created: date
    stage: Stage = Stage.LAUNCH  # as a leader or a manager set it (bot.lifecycle)
    lifecycle_status: CommunityStatus = CommunityStatus.ACTIVE
    members: int = 0
    active_recent: int = 0
    active_previous: int = 0
    messages_recent: int = 0
    last_event: date | None = None
    next_event: date | None = None
    pulse_score: float | None = None
    response_rate: float | None = None
    charter_date: date | None = None
    charter_objectives_year: int | None = None
    charter_objectives: bool = True  # the latest version lists objectives
    workspace_id: str = ""  # its Slack workspace or Teams tenant (a programme may span both)

    @property
    def platform(self) -> str:
        """Slack or Teams (bot.installation.platform_of): a programme's views tag the
        communities of the other platform."""
        from bot.installation import platform_of

        return platform_of(self.workspace_id) if self.workspace_id else "slack"


@dataclass(frozen=True, slots=True)
class Reason:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Health:
    signals: Signals
    status: Status
    reasons: tuple[Reason, ...]
    action: Reason
    stage: Stage  # the stored one; bot.lifecycle.suggest says when the signals point elsewhere
    active_rate: float | None
    trend: float | None


def assess(signals: Signals, thresholds: HealthThresholds) -> Health:
    """The status, why, and what to do next."""
    s, th = signals, thresholds
    active_rate = ratio(s.active_recent, s.members)
    trend = ratio(s.active_recent - s.active_previous, s.active_previous)
    age = (s.today - s.created).days
    window_weeks = th.active_window_days // 7

    charter = charters.state_of(
        saved_on=s.charter_date,
        objectives=s.charter_objectives,
        objectives_year=s.charter_objectives_year,
        today=s.today,
        stale_days=th.charter_stale_days,
    )
    if 0 <= age < th.starting_days:
        return _starting(s, charter, age, th)

    nothing_yet = s.members == 0 and s.active_recent == 0 and s.last_event is None
    if age < 0 or (nothing_yet and s.pulse_score is None):
        return Health(
            s,
            Status.NO_DATA,
            (Reason("health.reason.no_data"),),
            Reason("health.action.no_data"),
            s.stage,
            None,
            None,
        )

    concerns: list[Reason] = []
    goods: list[Reason] = []
    if active_rate is not None:
        params = {"active": s.active_recent, "members": s.members, "weeks": window_weeks}
        if active_rate < th.dormant_active_rate:
            concerns.append(Reason("health.reason.inactive", params))
    if trend is not None and trend <= -th.at_risk_drop:
        concerns.append(
            Reason(
                "health.reason.active_drop",
                {
                    "drop": -trend,
                    "weeks": window_weeks,
                    "before": s.active_previous,
                    "now": s.active_recent,
                },
            )
        )
    elif trend is not None and trend >= th.thriving_growth:
        goods.append(
            Reason("health.reason.active_growth", {"growth": trend, "weeks": window_weeks})
        )
    elif s.active_previous == 0 and s.active_recent > 0:
        goods.append(Reason("health.reason.active_new", {"active": s.active_recent}))

    event_gap = (s.today - s.last_event).days if s.last_event else None
    no_recent_event = s.next_event is None and (event_gap is None or event_gap > th.event_gap_days)
    if no_recent_event and age > th.event_gap_days:
        if event_gap is None:
            concerns.append(Reason("health.reason.no_event_ever"))
        else:
            concerns.append(Reason("health.reason.no_event", {"days": event_gap}))
    elif s.next_event is not None:
        goods.append(Reason("health.reason.event_planned", {"day": s.next_event}))

    if s.pulse_score is not None and s.pulse_score < th.low_pulse:
        concerns.append(
            Reason("health.reason.low_pulse", {"score": s.pulse_score, "floor": th.low_pulse})
        )
    elif s.pulse_score is not None:
        goods.append(Reason("health.reason.good_pulse", {"score": s.pulse_score}))

    if (concern := _charter_reason(s, charter)) is not None:
        concerns.append(concern)

    dormant = (active_rate is None or active_rate < th.dormant_active_rate) and no_recent_event
    if dormant and age > th.event_gap_days:
        status = Status.DORMANT
    elif (
        any(r.key in {"health.reason.active_drop", "health.reason.inactive"} for r in concerns)
        or len(concerns) >= 2
    ):
        status = Status.AT_RISK
    elif not concerns and any(r.key == "health.reason.active_growth" for r in goods):
        status = Status.THRIVING
    else:
        status = Status.STEADY

    reasons = tuple(concerns + goods) if status != Status.THRIVING else tuple(goods + concerns)
    return Health(
        s,
        status,
        reasons,
        _next_action(status, concerns),
        s.stage,
        None if active_rate is None else min(active_rate, 1.0),
        trend,
    )


def _charter_reason(s: Signals, charter: charters.CharterState) -> Reason | None:
    """The charter's state as a concern (bot.charters.state_of: the Home says the same)."""
    if charter == charters.CharterState.MISSING:
        return Reason("health.reason.no_charter")
    if charter == charters.CharterState.DRAFT:
        return Reason("health.reason.charter_draft")
    if charter == charters.CharterState.STALE:
        return Reason("health.reason.charter_stale", {"day": s.charter_date})
    return None


def _starting(s: Signals, charter: charters.CharterState, age: int, th: HealthThresholds) -> Health:
    """A community younger than `starting_days`: no verdict yet, its age and the first step
    still to take (a charter, the first members, a first event)."""
    reasons = [Reason("health.reason.starting", {"days": age})]
    if (concern := _charter_reason(s, charter)) is not None:
        reasons.append(concern)
    if s.next_event is not None:
        reasons.append(Reason("health.reason.event_planned", {"day": s.next_event}))
    if charter in (charters.CharterState.MISSING, charters.CharterState.DRAFT):
        action = Reason("health.action.first_charter")
    elif s.members == 0:
        action = Reason("health.action.first_members")
    elif s.next_event is None and s.last_event is None:
        action = Reason("health.action.first_event")
    else:
        action = Reason("health.action.keep_going")
    active_rate = ratio(s.active_recent, s.members)
    return Health(
        s,
        Status.STARTING,
        tuple(reasons),
        action,
        s.stage,
        None if active_rate is None else min(active_rate, 1.0),
        None,
    )


def _next_action(status: Status, concerns: list[Reason]) -> Reason:
    if status == Status.DORMANT:
        return Reason("health.action.redesign")
    keys = [r.key for r in concerns]
    if "health.reason.no_event" in keys or "health.reason.no_event_ever" in keys:
        return Reason("health.action.plan_event")
    if "health.reason.active_drop" in keys or "health.reason.inactive" in keys:
        return Reason("health.action.reengage")
    if "health.reason.low_pulse" in keys:
        return Reason("health.action.listen")
    if {"health.reason.no_charter", "health.reason.charter_draft"} & set(keys) or (
        "health.reason.charter_stale" in keys
    ):
        return Reason("health.action.charter")
    if status == Status.THRIVING:
        return Reason("health.action.share_story")
    return Reason("health.action.keep_going")


async def gather(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    today: date,
    thresholds: HealthThresholds,
    community_ids: Iterable[int] | None = None,
    question_kinds: Mapping[str, str] | None = None,
    now: datetime | None = None,
    rule: disclosure.Rule,
) -> list[Signals]:
    """Signals of every live community (or the ones given, closed or not, as long as their
    channel is there), in a fixed number of queries. The pulse score is what the disclosure
    rule lets show (closed polls, k answers)."""
    now = now or utcnow()
    window = timedelta(days=thresholds.active_window_days)
    recent_from, previous_from = (
        today - window + timedelta(days=1),
        today - 2 * window + timedelta(days=1),
    )
    wanted = list(community_ids) if community_ids is not None else None
    here = sa.and_(
        in_workspaces(Community.workspace_id, workspace_id),
        Community.channel_status == ChannelStatus.OK if wanted is not None else communities.LIVE,
        *([Community.id.in_(wanted)] if wanted is not None else []),
    )
    query = sa.select(
        Community.id,
        Community.name,
        Community.slug,
        Community.created_at,
        Community.stage,
        Community.status,
        Community.workspace_id,
    ).where(here)
    base: dict[int, dict[str, Any]] = {  # each community's keyword arguments for Signals
        cid: {
            "community_id": cid,
            "name": name,
            "slug": slug,
            "today": today,
            "created": created.date(),
            "stage": stage,
            "lifecycle_status": status,
            "workspace_id": wid,
        }
        for cid, name, slug, created, stage, status, wid in await session.execute(query)
    }
    if not base:
        return []
    live = sa.select(Community.id).where(here).scalar_subquery()

    for cid, n in await session.execute(
        sa.select(Membership.community_id, sa.func.count(sa.distinct(Membership.person_id)))
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.community_id.in_(live),
            Membership.left_at.is_(None),
            people.COUNTED,
        )
        .group_by(Membership.community_id)
    ):
        base[cid]["members"] = int(n)

    recent = ActivityDaily.day >= recent_from
    for cid, active_recent, active_previous, messages in await session.execute(
        sa.select(
            ActivityDaily.community_id,
            sa.func.count(sa.distinct(sa.case((recent, ActivityDaily.person_id)))),
            sa.func.count(sa.distinct(sa.case((sa.not_(recent), ActivityDaily.person_id)))),
            sa.func.sum(sa.case((recent, ActivityDaily.messages + ActivityDaily.replies), else_=0)),
        )
        .where(
            ActivityDaily.community_id.in_(live),
            ActivityDaily.day >= previous_from,
            ActivityDaily.day <= today,
        )
        .group_by(ActivityDaily.community_id)
    ):
        base[cid] |= {
            "active_recent": int(active_recent),
            "active_previous": int(active_previous),
            "messages_recent": int(messages or 0),
        }

    for cid, last, upcoming in await session.execute(
        sa.select(
            Event.community_id,
            sa.func.max(sa.case((Event.starts_at < now, Event.starts_at))),
            sa.func.min(sa.case((Event.starts_at >= now, Event.starts_at))),
        )
        .where(Event.community_id.in_(live), Event.status != EventStatus.CANCELLED)
        .group_by(Event.community_id)
    ):
        base[cid] |= {"last_event": _as_date(last), "next_event": _as_date(upcoming)}

    kinds = question_kinds or DEFAULT_QUESTION_KINDS
    scale_keys = [k for k, v in kinds.items() if v == "scale"]
    pulse_from = now - timedelta(days=PULSE_LOOKBACK_DAYS)
    recent_polls = sa.and_(
        Poll.community_id.in_(live), Poll.kind == PollKind.PULSE, Poll.opens_at >= pulse_from
    )
    scale = disclosure.by_community(
        await disclosure.cells(session, where=recent_polls, question_keys=scale_keys), scale_keys
    )
    for cid, found in scale.items():
        figure = rule.for_community(found)
        if figure.shown and figure.mean is not None:
            base[cid]["pulse_score"] = round(figure.mean, 2)
    answered = await disclosure.respondents(session, where=recent_polls)
    delivered: dict[int, int] = {}
    respondents: dict[int, int] = {}
    for poll_id, cid, n in await session.execute(
        sa.select(Poll.id, Poll.community_id, sa.func.count(PollDelivery.delivered_at))
        .join(PollDelivery, PollDelivery.poll_id == Poll.id)
        .where(recent_polls)
        .group_by(Poll.id, Poll.community_id)
    ):
        delivered[cid] = delivered.get(cid, 0) + int(n)
        respondents[cid] = respondents.get(cid, 0) + answered.get(poll_id, 0)
    for cid, n in delivered.items():
        base[cid]["response_rate"] = ratio(respondents[cid], n)

    latest = (
        sa.select(CharterVersion.community_id, sa.func.max(CharterVersion.version).label("v"))
        .where(CharterVersion.community_id.in_(live))
        .group_by(CharterVersion.community_id)
        .subquery()
    )
    for cid, created, year, objectives in await session.execute(
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
        base[cid] |= {
            "charter_date": created.date(),
            "charter_objectives_year": year,
            "charter_objectives": bool(objectives),
        }
    return [Signals(**fields) for fields in base.values()]


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns MIN/MAX of a CASE as text
        return datetime.fromisoformat(value).date()
    return value.date() if isinstance(value, datetime) else value


async def overview(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    today: date,
    thresholds: HealthThresholds,
    community_ids: Iterable[int] | None = None,
    question_kinds: Mapping[str, str] | None = None,
    now: datetime | None = None,
    rule: disclosure.Rule,
) -> list[Health]:
    """Every community's health, most worrying first."""
    signals = await gather(
        session,
        workspace_id=workspace_id,
        today=today,
        thresholds=thresholds,
        community_ids=community_ids,
        question_kinds=question_kinds,
        now=now,
        rule=rule,
    )
    assessed = [assess(s, thresholds) for s in signals]
    return sorted(assessed, key=rank_key)


def rank_key(item: Health) -> tuple[int, int, float, tuple[str, str]]:
    """Most worrying first: status, then the number of reasons, then the lowest active rate."""
    return (
        -CONCERN[item.status],
        -len(item.reasons),
        item.active_rate or 0.0,
        collation_key(item.signals.name),
    )


def count_by_status(items: Iterable[Health]) -> dict[Status, int]:
    counts = dict.fromkeys(Status, 0)
    for item in items:
        counts[item.status] += 1
    return counts


# --- explaining and overviews -----------------------------------------------------------------

_PERCENT_PARAMS = frozenset({"drop", "growth", "rate"})
_NUMBER_PARAMS = frozenset({"score", "floor"})


def explain(t: Translator, reason: Reason) -> str:
    """A reason or action in the reader's language, its numbers and dates formatted by Babel."""
    params: dict[str, Any] = {}
    for name, value in reason.params.items():
        if isinstance(value, date):
            params[name] = t.date(value, "medium")
        elif name in _PERCENT_PARAMS:
            params[name] = t.percent(float(value))
        elif name in _NUMBER_PARAMS:
            params[name] = t.number(float(value))
        elif isinstance(value, int):
            params[name] = t.number(value)
        else:
            params[name] = value
    return t(reason.key, **params)


# The overview's sentences, in the reader's language and Slack's mrkdwn (Teams converts it): the
# same figures in the same words on both platforms.


def na(t: Translator, value: float | None, *, percent: bool = False) -> str:
    """A ratio or score, or "n/a" when there was nothing to compute it from."""
    if value is None:
        return t("health.na")
    return t.percent(value) if percent else t.number(value)


def values_text(t: Translator, kpis: Kpis) -> str:
    if not kpis.value_by_unit:
        return t("health.no_value")
    return ", ".join(value_phrases(t, kpis.value_by_unit, kpis.value_stories_by_unit))


def value_line(t: Translator, kpis: Kpis) -> str:
    """Validated stories and their value; submitted ones apart, since they do not count yet."""
    line = t("health.totals_value", stories=t.number(kpis.stories), values=values_text(t, kpis))
    if kpis.stories_pending:
        line += " · " + t("health.stories_pending", pending=t.number(kpis.stories_pending))
    if kpis.objectives_counted:
        line += " · " + t(
            "objectives.health_line",
            name=figures.name(t, "objectives_achieved"),
            figure=figures.objectives(t, kpis),
        )
    return line


def engagement_line(t: Translator, overview: Overview, *, charters: str, of: int | None) -> str:
    """Level 2, each figure by its name (bot/figures.py); `of`: the programme's communities,
    so a survey figure says how many of them its answers come from."""
    e = overview.engagement
    line = t(
        "health.totals_engagement",
        pulse_name=figures.name(t, "pulse"),
        pulse=figures.survey(t, e, "pulse", of=of),
        enps_name=figures.name(t, "enps"),
        enps=figures.survey(t, e, "enps", of=of),
        rate_name=figures.name(t, "response_rate"),
        rate=na(t, e.response_rate, percent=True),
        charters_name=figures.name(t, "charters"),
        charters=charters,
    )
    return f"{line} {t('health.since', day=t.date(overview.engagement_since, 'medium'))}"


def next_step(t: Translator, item: Health, review: lifecycle.Review | None = None) -> str:
    """What to do next at the community's stage, and the stage its review suggests, if any."""
    action = t(
        "health.next",
        action=explain(t, item.action),
        stage=t(f"health.stage.{item.stage.value}"),
    )
    if review is not None and review.suggestion is not None:
        suggested = t(f"health.stage.{review.suggestion.stage.value}")
        action += " " + t("lifecycle.next_suggested", stage=suggested)
    return action


def community_figures(t: Translator, k: Kpis) -> str:
    """A community's month in one sentence: members, arrivals and departures, activity, events."""
    return t(
        "health.community_figures",
        members=t.number(k.members),
        new=t.number(k.new_members),
        departed=t.number(k.departed_members),
        active=t.number(k.active_members),
        rate=na(t, k.active_rate, percent=True),
        messages=t.number(k.messages),
        replies=t.number(k.replies),
        reactions=t.number(k.reactions),
        events=t.number(k.events_held),
    )


@dataclass(frozen=True, slots=True)
class Overview:
    """What /cop health shows: the communities ranked by concern, the month's totals, the trend."""

    today: date
    items: list[Health]
    totals: kpis.ProgrammeKpis
    month: periods.Window
    trend: list[kpis.WeekPoint]
    from_snapshot: bool
    engagement: kpis.Kpis  # pulse, eNPS, response rate: year to date (polls are not monthly)
    engagement_since: date
    survey: Any = None  # the latest closed annual survey's results (bot.survey.Results), if any

    @property
    def counts(self) -> dict[Status, int]:
        return count_by_status(self.items)


async def build_overview(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    today: date,
    thresholds: HealthThresholds,
    tz: str = "UTC",
    community_ids: list[int] | None = None,
    question_kinds: Mapping[str, str] | None = None,
    now: datetime | None = None,
    rule: disclosure.Rule,
    engagement_rule: Engagement | None = None,
) -> Overview:
    """Health of every community (or the ones given), with the month-to-date totals.

    The programme's totals come from today's snapshot when the daily job has run, so a big
    programme answers fast; otherwise (or for one community) they are computed now. A programme
    spanning linked workspaces (bot.programme: Slack and Teams) is computed now: the daily
    snapshots are kept per workspace.
    """
    items = await overview(
        session,
        workspace_id=workspace_id,
        today=today,
        thresholds=thresholds,
        community_ids=community_ids,
        question_kinds=question_kinds,
        now=now,
        rule=rule,
    )
    month = periods.to_date(periods.Period.MONTH, today, tz)
    totals: kpis.ProgrammeKpis | None = None
    from_snapshot = False
    alone = isinstance(workspace_id, str) or len(workspace_id) == 1
    here = programme.first(workspace_id)
    if community_ids is None and alone:
        found = await kpis.latest_programme(
            session, workspace_id=here, period=periods.Period.MONTH, since=today
        )
        if found is not None:
            totals, from_snapshot = found[1], True
            # who is a member changes during the day (joins, leaves, deactivations): counted
            # now, as the Home counts them, while the heavier figures come from the snapshot
            counted = await kpis.count_members(
                session,
                live=sa.select(Community.id)
                .where(Community.workspace_id == here, communities.LIVE)
                .scalar_subquery(),
                end=month.bounds()[1],
            )
            totals = replace(
                totals,
                communities=len(items),
                members=sum(counted.per_community.values()),
                members_unique=counted.unique,
                overlap=counted.overlap,
            )
    if totals is None:
        report = await kpis.compute(
            session,
            workspace_id=workspace_id,
            window=month,
            question_kinds=question_kinds,
            community_ids=community_ids,
            now=now,
            rule=rule,
            charter_stale_days=thresholds.charter_stale_days,
            engagement_rule=engagement_rule,
        )
        totals = report.programme
    year = periods.to_date(periods.Period.YEAR, today, tz)
    engagement: kpis.Kpis | None = None
    if community_ids is None and alone:
        found = await kpis.latest_programme(
            session, workspace_id=here, period=periods.Period.YEAR, since=today
        )
        engagement = found[1] if found is not None else None
    if engagement is None and community_ids is not None:
        engagement = (
            await kpis.compute(
                session,
                workspace_id=workspace_id,
                window=year,
                question_kinds=question_kinds,
                community_ids=community_ids,
                now=now,
                rule=rule,
                charter_stale_days=thresholds.charter_stale_days,
            )
        ).programme
    if engagement is None:  # a big programme before its first snapshot: the month will do
        engagement, since = totals, month.start
    else:
        since = year.start
    last_full_week = periods.period_start(periods.Period.WEEK, today) - timedelta(days=1)
    trend = await kpis.weekly_trend(
        session, workspace_id=workspace_id, last_day=last_full_week, community_ids=community_ids
    )
    from bot import survey  # the annual survey's headline, through the disclosure rule

    scoped = list(community_ids) if community_ids is not None else None
    annual = (
        await survey.headline(  # the annual survey is run per workspace: the one asking
            session,
            workspace_id=here,
            rule=rule,
            community_id=scoped[0] if scoped else None,
        )
        if scoped is None or len(scoped) == 1
        else None
    )
    return Overview(
        today, items, totals, month, trend, from_snapshot, engagement, since, survey=annual
    )


# --- browsing: every community, filtered and paged ------------------------------------------

PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Filters:
    """What a programme manager narrows the ranking to; None is "any". The stage is the one the
    row shows (the stage people set), so a filter never hides what it seems to match."""

    status: Status | None = None
    stage: Stage | None = None
    kind: CommunityKind | None = None
    sponsor: str | None = None  # a sponsor's Slack user id
    lifecycle_status: CommunityStatus | None = None  # dormant as people declared it

    @property
    def any(self) -> bool:
        return any(
            v is not None
            for v in (self.status, self.stage, self.kind, self.sponsor, self.lifecycle_status)
        )


@dataclass(frozen=True, slots=True)
class Sponsor:
    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of the communities that match, most worrying first, and how many match."""

    items: list[Health]
    total: int
    page: int  # from 0, clamped to the last page
    pages: int
    size: int
    filters: Filters
    sponsor: Sponsor | None  # the sponsor filtered on, for its name

    @property
    def first(self) -> int:
        """The rank (from 1) of the first item on this page."""
        return self.page * self.size + 1


def _sponsor_name(name: str, real_name: str, user_id: str) -> str:
    return real_name or name or user_id


async def browse(
    session: AsyncSession,
    *,
    workspace_id: Workspaces,
    items: Sequence[Health],
    filters: Filters,
    page: int = 0,
    size: int | None = PAGE_SIZE,
) -> Listing:
    """The assessed communities that match `filters`, ranked by concern (`rank_key`), and the
    page asked for (clamped; `size` None: all of them on one page)."""
    ids = [h.signals.community_id for h in items]
    kinds: dict[int, CommunityKind] = {}
    if ids and filters.kind is not None:
        found = await session.execute(
            sa.select(Community.id, Community.kind).where(
                in_workspaces(Community.workspace_id, workspace_id), Community.id.in_(ids)
            )
        )
        kinds = dict(found.all())
    sponsored: set[int] | None = None
    sponsor: Sponsor | None = None
    if filters.sponsor is not None:
        sponsored = set()
        for cid, uid, name, real_name in await session.execute(
            sa.select(Membership.community_id, Person.slack_user_id, Person.name, Person.real_name)
            .join(Person, Person.id == Membership.person_id)
            .where(
                in_workspaces(Person.workspace_id, workspace_id),
                Person.slack_user_id == filters.sponsor,
                Membership.role == Role.SPONSOR,
                Membership.left_at.is_(None),
            )
        ):
            sponsored.add(cid)
            sponsor = Sponsor(uid, _sponsor_name(name, real_name, uid))
        if sponsor is None:
            sponsor = Sponsor(filters.sponsor, filters.sponsor)
    matching = sorted(
        (
            h
            for h in items
            if (filters.status is None or h.status == filters.status)
            and (filters.stage is None or h.stage == filters.stage)
            and (
                filters.lifecycle_status is None
                or h.signals.lifecycle_status == filters.lifecycle_status
            )
            and (filters.kind is None or kinds.get(h.signals.community_id) == filters.kind)
            and (sponsored is None or h.signals.community_id in sponsored)
        ),
        key=rank_key,
    )
    total = len(matching)
    per_page = size if size is not None and size > 0 else max(total, 1)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    shown = matching[page * per_page : (page + 1) * per_page]
    return Listing(shown, total, page, pages, per_page, filters, sponsor)


async def find_sponsors(
    session: AsyncSession, *, workspace_id: Workspaces, typed: str = "", limit: int = 100
) -> list[Sponsor]:
    """The people sponsoring a live community whose name or id starts a word with `typed`
    (the sponsor filter's type-ahead; the CLI's --sponsor), by name."""
    rows = await session.execute(
        sa.select(Person.slack_user_id, Person.name, Person.real_name)
        .join(Membership, Membership.person_id == Person.id)
        .join(Community, Community.id == Membership.community_id)
        .where(
            in_workspaces(Person.workspace_id, workspace_id),
            in_workspaces(Community.workspace_id, workspace_id),
            communities.LIVE,
            Membership.role == Role.SPONSOR,
            Membership.left_at.is_(None),
        )
        .distinct()
    )
    wanted = typed.strip().casefold()
    found = []
    for uid, name, real_name in rows:
        shown = _sponsor_name(name, real_name, uid)
        words = [uid.casefold(), *shown.casefold().split(), name.casefold()]
        if (
            not wanted
            or shown.casefold().startswith(wanted)
            or any(w.startswith(wanted) for w in words)
        ):
            found.append(Sponsor(uid, shown))
    found.sort(key=lambda s: collation_key(s.name))
    return found[:limit]


# --- whose health a request shows (Slack's /cop health and Teams' @cop santé alike) ---

PROGRAMME_WORDS = frozenset({"programme", "program", "all", "tout", "tous"})


@dataclass(frozen=True, slots=True)
class Scope:
    """The programme (community None) or one community, once the caller may see it."""

    workspace_id: str
    community_id: int | None
    name: str


async def resolve_scope(
    session: AsyncSession,
    *,
    workspace_id: str,
    actor: Actor,
    word: str | None,
    here: int | None,
    programme_name: str,
) -> Scope:
    """`health [programme|<slug>]`: which view the caller asked for — the programme's, a
    community's by its slug, else that of the channel they are in (`here`), else the
    programme's — and whether they may see it (NotAllowed otherwise)."""
    if word and word.lower() in PROGRAMME_WORDS:
        community = None
    elif word:
        community = await communities.by_slug(session, workspace_id=workspace_id, slug=word)
        if community is None:
            raise NotFound("health.not_found", slug=word[:80])
    elif here is not None:
        community = await communities.get(session, workspace_id=workspace_id, community_id=here)
    else:
        community = None
    if community is None:
        await require(session, actor=actor, action=Action.VIEW_PROGRAMME)
        return Scope(workspace_id, None, programme_name)
    return await community_view(session, actor=actor, community=community)


async def community_view(session: AsyncSession, *, actor: Actor, community: Community) -> Scope:
    """A community's health, if its channel is live and the caller may see it."""
    if community.channel_status != ChannelStatus.OK:
        raise CopError("command.community_archived", name=community.name)
    await require(
        session, actor=actor, action=Action.VIEW_COMMUNITY_HEALTH, community_id=community.id
    )
    return Scope(community.workspace_id, community.id, community.name)


def covered(scope: Scope, linked_to: Sequence[str]) -> Workspaces:
    """The workspaces a view covers, whatever the platform asking: the programme's covers its
    linked workspaces (Slack and Teams at once: bot.programme); a community's own view stays in
    its workspace."""
    if scope.community_id is not None:
        return scope.workspace_id
    return programme.linked(scope.workspace_id, linked_to)


async def programme_row(
    session: AsyncSession,
    *,
    actor: Actor,
    workspace_id: str,
    linked_to: Sequence[str],
    community_id: int,
) -> Scope:
    """One community of the programme's list, by id, once the caller may see its health: the row
    may be of a linked workspace (Slack and Teams at once), which only a programme manager may
    open (NotFound when it is in none of them)."""
    for where in programme.linked(workspace_id, linked_to):
        try:
            community = await communities.get(
                session, workspace_id=where, community_id=community_id
            )
        except NotFound:
            continue
        return await community_view(session, actor=actor, community=community)
    raise NotFound("community.not_found")
