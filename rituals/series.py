"""Recurring series, at each tick: make the occurrences of the rolling horizon, and owe the
announcement of each `each`-mode occurrence now a week away (bot.series)."""

from __future__ import annotations

from datetime import datetime

from bot import series
from bot.deps import Deps
from rituals.outbox import enqueue


async def maintain(deps: Deps, *, now: datetime) -> int:
    """Returns how many announcements were owed."""
    async with deps.sessions.begin() as session:
        return await series.maintain(
            session,
            enqueue,
            now=now,
            default_tz=deps.programme.timezone,
            default_language=deps.programme.language,
        )
