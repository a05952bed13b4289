"""The daily KPI snapshot job: day, week-, month- and year-to-date figures for every community
and the programme, so /cop health and the reports read them instead of recomputing."""

from __future__ import annotations

import logging
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot import kpis
from bot.deps import Deps
from bot.models import Community, utcnow
from rituals.cadence import LeadershipLost

logger = logging.getLogger(__name__)


async def run(deps: Deps) -> None:
    """Compute today's KPI snapshots for every community and the programme."""
    await run_for(deps)


async def run_for(deps: Deps, *, as_of: date | None = None) -> int:
    """One transaction per workspace, so one tenant's failure does not undo the others'."""
    now = utcnow()
    tz = deps.programme.timezone
    day = as_of or now.astimezone(ZoneInfo(tz)).date()
    kinds = {q.key: q.kind for q in deps.programme.rituals.pulse.questions}
    async with deps.sessions() as session:
        workspaces = list(await session.scalars(sa.select(Community.workspace_id).distinct()))
    written = 0
    for workspace_id in workspaces:
        try:
            async with deps.sessions.begin() as session:
                written += await kpis.snapshot(
                    session,
                    workspace_id=workspace_id,
                    as_of=day,
                    tz=tz,
                    question_kinds=kinds,
                    now=now,
                    rule=deps.disclosure,
                    charter_stale_days=deps.programme.health.charter_stale_days,
                    engagement_rule=deps.programme.engagement,
                )
        except LeadershipLost:
            raise  # another replica leads now: it writes the snapshots, this one stands down
        except Exception:
            logger.exception("KPI snapshots failed for workspace %s", workspace_id)
    logger.info("KPI snapshots for %s: %d rows", day, written)
    return written
