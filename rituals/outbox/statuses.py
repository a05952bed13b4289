"""The outbox at a glance: rows by status, failures by reason (`cop rituals status`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Outbox, OutboxStatus


@dataclass(frozen=True, slots=True)
class StatusLine:
    status: str
    reason: str | None
    count: int


async def status(session: AsyncSession, *, community_id: int | None = None) -> list[StatusLine]:
    """The outbox by status, and failures by reason (`cop rituals status`)."""
    reason = sa.case((Outbox.status == OutboxStatus.FAILED, Outbox.last_error), else_=None)
    stmt = sa.select(Outbox.status, reason, sa.func.count()).group_by(Outbox.status, reason)
    if community_id is not None:
        stmt = stmt.where(Outbox.community_id == community_id)
    rows = await session.execute(stmt.order_by(Outbox.status, reason))
    return [StatusLine(status=s, reason=r, count=c) for s, r, c in rows]
