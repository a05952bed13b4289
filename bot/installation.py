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

Many workspaces (OAuth mode, bot/slack/oauth.py): each workspace, or each Enterprise Grid
organisation installed org-wide, has its own bot token (`SlackInstallation`). Every Slack call is
made for the workspace *in force* (`speaking_in`, a context variable): the request middleware sets
it from the payload, the outbox from each row, the scheduler for each community; the Slack client
takes that workspace's token, and refuses to call Slack when none is in force rather than use a
wrong one. In the single-token mode (SLACK_BOT_TOKEN) the workspace in force is not needed.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, people
from bot.models import (
    Outbox,
    OutboxStatus,
    SlackEnterpriseTeam,
    SlackInstallation,
    Workspace,
    utcnow,
)

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


# --- the workspace in force ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InForce:
    """The workspace the current work speaks for: a Slack team id, its Enterprise Grid
    organisation when known, and the bot token when the request already found it."""

    workspace_id: str
    enterprise_id: str = ""
    is_enterprise_install: bool = False
    token: str | None = None


_in_force: ContextVar[InForce | None] = ContextVar("cop_workspace_in_force", default=None)


def in_force() -> InForce | None:
    return _in_force.get()


Platform = Literal["slack", "teams"]


def platform_of(workspace_id: str) -> Platform:
    """Which chat platform a workspace is on, from its id alone: a Microsoft Teams workspace is
    its organisation's tenant, a GUID ("72f988bf-…"); Slack's team ids ("T0123…", "E0456…")
    never are. Every surface that must pick a platform (the outbox's messenger, the rituals,
    the reports) asks here."""
    try:
        uuid.UUID(workspace_id)
    except ValueError:
        return "slack"
    return "teams" if len(workspace_id) == 36 else "slack"


def enter(workspace: InForce | None) -> None:
    """Set the workspace for the rest of this task (and the tasks it starts): the request
    middleware's way, where each request is its own task."""
    _in_force.set(workspace)


@contextlib.contextmanager
def speaking_in(workspace_id: str, *, enterprise_id: str = "") -> Iterator[None]:
    """Speak for this workspace inside the block (the outbox per row, the rituals per
    community); the previous one is restored after."""
    current = _in_force.get()
    if current is not None and current.workspace_id == workspace_id:
        yield  # already (a request's own workspace, with its token): keep it
        return
    reset = _in_force.set(InForce(workspace_id=workspace_id, enterprise_id=enterprise_id))
    try:
        yield
    finally:
        _in_force.reset(reset)


# --- installations (OAuth mode) ----------------------------------------------------------------


def _key(*, enterprise_id: str | None, workspace_id: str | None, org_wide: bool) -> dict[str, str]:
    return {
        "enterprise_id": enterprise_id or "",
        "workspace_id": "" if org_wide else (workspace_id or ""),
    }


async def save_installation(session: AsyncSession, **fields: object) -> SlackInstallation:
    """Insert or replace the installation of a workspace (or of an organisation, org-wide); a
    workspace marked uninstalled speaks again (its messages owed for too long dropped)."""
    org_wide = bool(fields.get("is_enterprise_install"))
    key = _key(
        enterprise_id=str(fields.get("enterprise_id") or ""),
        workspace_id=str(fields.get("workspace_id") or ""),
        org_wide=org_wide,
    )
    row = await session.scalar(sa.select(SlackInstallation).filter_by(**key).with_for_update())
    if row is None:
        row = SlackInstallation(**key)
        session.add(row)
    for name, value in fields.items():
        if name not in key:
            setattr(row, name, value if value is not None else "")
    row.is_enterprise_install = org_wide
    row.installed_at = utcnow()
    await session.flush()
    if key["workspace_id"]:
        await people.ensure_workspace(session, key["workspace_id"])
        await resume(session, workspace_id=key["workspace_id"])
        await audit.record(
            session,
            workspace_id=key["workspace_id"],
            actor=str(fields.get("installer_user_id") or "slack"),
            action="workspace.installed",
            detail={"enterprise_id": key["enterprise_id"]},
        )
    return row


async def find_installation(
    session: AsyncSession, *, workspace_id: str | None, enterprise_id: str | None = None
) -> SlackInstallation | None:
    """The installation whose token speaks in this workspace: its own, else its organisation's
    org-wide one (the organisation from the request, else as recorded by `note_enterprise`)."""
    if workspace_id:
        own = await session.scalar(
            sa.select(SlackInstallation).where(
                SlackInstallation.workspace_id == workspace_id,
                SlackInstallation.is_enterprise_install.is_(False),
            )
        )
        if own is not None:
            return own
        if not enterprise_id:
            enterprise_id = await session.scalar(
                sa.select(SlackEnterpriseTeam.enterprise_id).where(
                    SlackEnterpriseTeam.workspace_id == workspace_id
                )
            )
    if not enterprise_id:
        return None
    return await session.scalar(
        sa.select(SlackInstallation).where(
            SlackInstallation.enterprise_id == enterprise_id,
            SlackInstallation.workspace_id == "",
        )
    )


async def note_enterprise(session: AsyncSession, *, workspace_id: str, enterprise_id: str) -> None:
    """Remember a workspace's organisation (background work knows only the workspace)."""
    found = await session.get(SlackEnterpriseTeam, workspace_id)
    if found is None:
        session.add(SlackEnterpriseTeam(workspace_id=workspace_id, enterprise_id=enterprise_id))
    elif found.enterprise_id != enterprise_id:
        found.enterprise_id = enterprise_id
        found.seen_at = utcnow()


async def delete_installation(
    session: AsyncSession,
    *,
    workspace_id: str | None,
    enterprise_id: str | None = None,
    org_wide: bool = False,
) -> int:
    """Forget a workspace's token (or an organisation's, org-wide) after an uninstall."""
    key = _key(enterprise_id=enterprise_id, workspace_id=workspace_id, org_wide=org_wide)
    stmt = sa.delete(SlackInstallation).where(SlackInstallation.workspace_id == key["workspace_id"])
    if not org_wide:
        stmt = stmt.where(SlackInstallation.is_enterprise_install.is_(False))
    else:
        stmt = stmt.where(SlackInstallation.enterprise_id == key["enterprise_id"])
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def workspaces_of(session: AsyncSession, *, enterprise_id: str) -> list[str]:
    """The workspaces of an organisation this bot has heard from (`note_enterprise`)."""
    return list(
        await session.scalars(
            sa.select(SlackEnterpriseTeam.workspace_id)
            .where(SlackEnterpriseTeam.enterprise_id == enterprise_id)
            .order_by(SlackEnterpriseTeam.workspace_id)
        )
    )


async def installed_workspaces(session: AsyncSession) -> list[str]:
    """The workspaces with a token of their own, or whose organisation installed org-wide."""
    own = sa.select(SlackInstallation.workspace_id).where(SlackInstallation.workspace_id != "")
    via_org = sa.select(SlackEnterpriseTeam.workspace_id).where(
        SlackEnterpriseTeam.enterprise_id.in_(
            sa.select(SlackInstallation.enterprise_id).where(
                SlackInstallation.is_enterprise_install.is_(True)
            )
        )
    )
    return sorted(set(await session.scalars(own)) | set(await session.scalars(via_org)))
