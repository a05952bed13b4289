"""Slack redelivers events with the same event_id: each is acted on once.

`first_time` inserts the id inside the caller's transaction, so the effect of the event and the
record that it was handled commit together (or not at all): nothing lost, nothing doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Base, ProcessedEvent, utcnow


def upsert_for(session: AsyncSession) -> Callable[[type[Base]], sqlite.Insert | postgresql.Insert]:
    """The dialect's INSERT with ON CONFLICT support (SQLite and PostgreSQL share the syntax)."""
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


async def first_time(session: AsyncSession, *, event_id: str, workspace_id: str) -> bool:
    insert = upsert_for(session)
    result = await session.execute(
        insert(ProcessedEvent)
        .values(event_id=event_id, workspace_id=workspace_id, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget_older_than(
    session: AsyncSession, *, days: int = 7, now: datetime | None = None
) -> int:
    """Slack's last retry comes ~5 minutes after the first; a week of ids is plenty."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = await session.execute(
        sa.delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
