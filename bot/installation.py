"""Whether the bot may still speak in a workspace: uninstalled, or its token revoked, it goes quiet.

When Slack tells us (`app_uninstalled`, `tokens_revoked`) or answers a call with a dead-token
error, the workspace is marked (`workspace.token_revoked_at`). From then on nothing is sent
there: the outbox leaves its messages pending without spending their attempts, and the scheduler
skips its rituals. Its data stays, and the retention rules (`cop privacy retain`) keep applying.

Sending resumes when Slack accepts the token again (auth.test answers for that workspace: the
scheduler asks at every tick while one is marked, so also at start-up). Messages that waited
longer than the rituals' grace period (app.yaml `rituals.grace_hours`, 24 h: the same rule as a
ritual missed while the bot was down) are dropped then rather than sent late; reminders of
events that have started expire (rituals/outbox/drain.py drops them at delivery).

Why hold rather than cancel at once: an uninstall is often a mistake put right within the hour,
and the welcome owed to the person who joined meanwhile is still worth sending; a week later it
is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, people
from bot.models import Outbox, OutboxStatus, Workspace, utcnow

STALE_AFTER = timedelta(hours=24)
STALE_REASON = "stale_after_reinstall"
# Slack's answers that mean our own token is dead (bot.slack.client.TOKEN_DEAD says the same).
TOKEN_DEAD = frozenset(
    {"account_inactive", "token_revoked", "invalid_auth", "not_authed", "team_not_found"}
)


def revoked_ids() -> sa.Select[str]:
    """The workspaces the bot may not speak in, as a subquery for `… .not_in(revoked_ids())`."""
    return sa.select(Workspace.id).where(Workspace.token_revoked_at.is_not(None))


async def revoked(session: AsyncSession) -> list[str]:
    return list(await session.scalars(revoked_ids().order_by(Workspace.id)))


async def mark_revoked(
    session: AsyncSession, *, workspace_id: str, reason: str, now: datetime | None = None
) -> bool:
    """Stop speaking in this workspace; True the first time (a conditional update, so two
    senders hitting the dead token together record it once)."""
    await people.ensure_workspace(session, workspace_id)
    result = await session.execute(
        sa.update(Workspace)
        .where(Workspace.id == workspace_id, Workspace.token_revoked_at.is_(None))
        .values(token_revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await audit.record(
        session,
        workspace_id=workspace_id,
        actor="slack",
        action="workspace.token_revoked",
        detail={"reason": reason[:64]},
    )
    return True


@dataclass(frozen=True, slots=True)
class Resumed:
    away_since: datetime
    dropped: int  # messages that waited too long, cancelled as stale
    kept: int  # messages still owed, sent from now on


async def resume(
    session: AsyncSession,
    *,
    workspace_id: str,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> Resumed | None:
    """Speak again in a workspace whose token works again; None when it was not marked.
    Messages owed for longer than `stale_after` are cancelled, not sent late."""
    now = now or utcnow()
    workspace = await session.get(Workspace, workspace_id, with_for_update=True)
    if workspace is None or workspace.token_revoked_at is None:
        return None
    away_since = workspace.token_revoked_at
    pending = (Outbox.workspace_id == workspace_id, Outbox.status == OutboxStatus.PENDING)
    dropped = await session.execute(
        sa.update(Outbox)
        .where(*pending, Outbox.created_at < now - stale_after)
        .values(status=OutboxStatus.CANCELLED, last_error=STALE_REASON)
        .execution_options(synchronize_session=False)
    )
    kept = await session.scalar(sa.select(sa.func.count()).select_from(Outbox).where(*pending))
    workspace.token_revoked_at = None
    report = Resumed(
        away_since=away_since,
        dropped=int(dropped.rowcount or 0),  # type: ignore[attr-defined]
        kept=int(kept or 0),
    )
    await audit.record(
        session,
        workspace_id=workspace_id,
        actor="slack",
        action="workspace.resumed",
        detail={"away_since": away_since.isoformat(), "dropped": report.dropped},
    )
    return report
