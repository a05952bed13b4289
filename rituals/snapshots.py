"""The daily KPI snapshot job (filled in by the KPI feature)."""

from __future__ import annotations

from bot.deps import Deps


async def run(deps: Deps) -> None:
    """Compute today's KPI snapshots for every community and the programme."""
