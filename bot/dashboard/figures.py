"""What the dashboard shows, read through the domain: bot.health for status, stage and the
overview that `/cop health` answers with, bot.kpis for each community's figures and weekly trend.
Nothing here computes a figure; it only gathers the ones those functions return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import disclosure, health, kpis, people, periods
from bot.config import Engagement, HealthThresholds
from bot.models import ChannelStatus, Community, Membership, Person, Role
from bot.programme import Workspaces
from bot.programme import where as in_workspaces

SPARKLINE_WEEKS = 12


@dataclass(frozen=True, slots=True)
class Context:
    """The same inputs `/cop health` passes to bot.health.build_overview."""

    workspace_id: Workspaces  # a programme's linked workspaces (Slack and Teams, bot.programme)
    today: date
    now: datetime
    tz: str
    thresholds: HealthThresholds
    question_kinds: Mapping[str, str]
    rule: disclosure.Rule
    engagement: Engagement | None = None  # app.yaml `engagement:` (bot/engagement.py)


@dataclass(frozen=True, slots=True)
class Row:
    """One community in the programme table: its health, its three levels, its last weeks."""

    health: health.Health
    kind: str
    sponsors: tuple[str, ...]
    month: kpis.Kpis  # level 1 (adoption, participation) and 3 (validated value), month to date
    year: kpis.Kpis  # level 2 (engagement): surveys, year to date as `/cop health` shows them
    trend: list[kpis.WeekPoint]

    @property
    def community_id(self) -> int:
        return self.health.signals.community_id


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    overview: health.Overview
    rows: list[Row]
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class CommunityView:
    """Exactly the overview `/cop health <community>` answers with, and who sponsors it."""

    overview: health.Overview
    kind: str
    sponsors: tuple[str, ...]


async def _overview(
    session: AsyncSession, ctx: Context, community_ids: list[int] | None
) -> health.Overview:
    return await health.build_overview(
        session,
        workspace_id=ctx.workspace_id,
        today=ctx.today,
        thresholds=ctx.thresholds,
        tz=ctx.tz,
        community_ids=community_ids,
        question_kinds=ctx.question_kinds,
        now=ctx.now,
        rule=ctx.rule,
        engagement_rule=ctx.engagement,
    )


async def _describe(
    session: AsyncSession, workspace_id: Workspaces, community_ids: list[int] | None
) -> tuple[dict[int, str], dict[int, tuple[str, ...]]]:
    """Each live community's kind and its sponsors' names (attributes, not figures)."""
    where = [
        in_workspaces(Community.workspace_id, workspace_id),
        Community.channel_status == ChannelStatus.OK,
    ]
    if community_ids is not None:
        where.append(Community.id.in_(community_ids))
    kinds = {
        int(cid): kind.value
        for cid, kind in await session.execute(
            sa.select(Community.id, Community.kind).where(*where)
        )
    }
    sponsors: dict[int, list[str]] = {}
    for cid, person in await session.execute(
        sa.select(Membership.community_id, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.community_id.in_(list(kinds)),
            Membership.role == Role.SPONSOR,
            Membership.left_at.is_(None),
            people.IS_PERSON,
        )
        .order_by(Person.real_name)
    ):
        sponsors.setdefault(int(cid), []).append(people.display_name(person))
    return kinds, {cid: tuple(names) for cid, names in sponsors.items()}


async def programme(session: AsyncSession, ctx: Context) -> ProgrammeView:
    """Every live community, most worrying first (bot.health's order), with its figures."""
    overview = await _overview(session, ctx, None)
    common: dict[str, Any] = {
        "workspace_id": ctx.workspace_id,
        "question_kinds": ctx.question_kinds,
        "now": ctx.now,
        "rule": ctx.rule,
        "charter_stale_days": ctx.thresholds.charter_stale_days,
        "engagement_rule": ctx.engagement,
    }
    month = await kpis.compute(session, window=overview.month, **common)
    year = await kpis.compute(
        session, window=periods.to_date(periods.Period.YEAR, ctx.today, ctx.tz), **common
    )
    by_month = {k.community_id: k for k in month.communities}
    by_year = {k.community_id: k for k in year.communities}
    kinds, sponsors = await _describe(session, ctx.workspace_id, None)
    last_full_week = periods.period_start(periods.Period.WEEK, ctx.today) - timedelta(days=1)
    rows = []
    for item in overview.items:
        cid = item.signals.community_id
        trend = await kpis.weekly_trend(
            session,
            workspace_id=ctx.workspace_id,
            last_day=last_full_week,
            weeks=SPARKLINE_WEEKS,
            community_ids=[cid],
        )
        rows.append(
            Row(
                item,
                kinds.get(cid, ""),
                sponsors.get(cid, ()),
                by_month.get(cid) or kpis.Kpis(),
                by_year.get(cid) or kpis.Kpis(),
                trend,
            )
        )
    return ProgrammeView(overview, rows, ctx.now)


async def community(session: AsyncSession, ctx: Context, community_id: int) -> CommunityView | None:
    """One live community as `/cop health <community>` shows it; None when it is not live."""
    overview = await _overview(session, ctx, [community_id])
    if not overview.items:
        return None
    kinds, sponsors = await _describe(session, ctx.workspace_id, [community_id])
    return CommunityView(overview, kinds.get(community_id, ""), sponsors.get(community_id, ()))
