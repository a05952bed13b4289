"""The audit log: who changed roles, charters, events, rituals and privacy data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditLog


async def record(
    session: AsyncSession,
    *,
    workspace_id: str,
    actor: str,
    action: str,
    community_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditLog(
            workspace_id=workspace_id,
            actor=actor,
            action=action,
            community_id=community_id,
            detail=detail or {},
        )
    )
