"""People and workspaces: the Slack users the bot knows, kept to what it needs to address them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Person, Workspace, utcnow
from bot.ports import UserInfo
from bot.zones import find_zone


async def ensure_workspace(session: AsyncSession, workspace_id: str, name: str = "") -> Workspace:
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        workspace = Workspace(id=workspace_id, name=name)
        session.add(workspace)
        await session.flush()
    elif name and workspace.name != name:
        workspace.name = name
    return workspace


async def find(session: AsyncSession, *, workspace_id: str, slack_user_id: str) -> Person | None:
    return await session.scalar(
        sa.select(Person).where(
            Person.workspace_id == workspace_id, Person.slack_user_id == slack_user_id
        )
    )


def apply_info(person: Person, info: UserInfo) -> None:
    person.name = info.name
    person.real_name = info.real_name
    person.tz = find_zone(info.tz)  # `localtime`, `Factory`…: unknown, the programme's is used
    person.locale = info.locale
    person.is_bot = info.is_bot
    person.deleted = info.deleted


async def upsert(session: AsyncSession, *, workspace_id: str, info: UserInfo) -> Person:
    """Create or refresh a person from what the chat platform says about them."""
    person = await find(session, workspace_id=workspace_id, slack_user_id=info.user_id)
    if person is None:
        person = Person(workspace_id=workspace_id, slack_user_id=info.user_id)
        session.add(person)
    if person.erased_at is None:
        apply_info(person, info)
    await session.flush()
    return person


async def ensure_many(
    session: AsyncSession, *, workspace_id: str, slack_user_ids: Iterable[str]
) -> dict[str, Person]:
    """Person rows for these ids, creating bare ones for ids not seen before (set-based)."""
    wanted = set(slack_user_ids)
    found: dict[str, Person] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await session.scalars(
            sa.select(Person).where(
                Person.workspace_id == workspace_id, Person.slack_user_id.in_(chunk)
            )
        )
        found.update({p.slack_user_id: p for p in rows})
    missing = wanted - found.keys()
    if missing:
        fresh = [Person(workspace_id=workspace_id, slack_user_id=uid) for uid in sorted(missing)]
        session.add_all(fresh)
        await session.flush()
        found.update({p.slack_user_id: p for p in fresh})
    return found


def needs_refresh(person: Person, *, older_than: datetime | None = None) -> bool:
    """A bare row (never looked up) or an old one is worth a directory lookup."""
    if person.erased_at is not None:
        return False
    if not person.name:
        return True
    return older_than is not None and person.updated_at < older_than


def display_name(person: Person) -> str:
    return person.real_name or person.name or person.slack_user_id


def now() -> datetime:
    return utcnow()
