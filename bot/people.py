"""People and workspaces: the Slack users the bot knows, kept to what it needs to address them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Membership, Person, Workspace, utcnow
from bot.ports import UserInfo
from bot.zones import find_zone

# Who counts as a person the bot serves: not a bot or an app, not deactivated in Slack, not
# erased. Rights (bot.permissions), counts and DMs all go through this one definition.
IS_PERSON = sa.and_(Person.is_bot.is_(False), Person.deleted.is_(False), Person.erased_at.is_(None))
# Who counts in member figures (the Home, /cop health, KPIs, snapshots, the report): a human not
# deactivated in Slack. An erased person's tombstone still counts: erasure removes who they
# were, not that they were a member (docs/privacy.md: member counts do not change).
COUNTED = sa.and_(Person.is_bot.is_(False), Person.deleted.is_(False))


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


def is_person(person: Person) -> bool:
    """The Python side of IS_PERSON, for a row already loaded."""
    return not (person.is_bot or person.deleted or person.erased_at is not None)


async def upsert(session: AsyncSession, *, workspace_id: str, info: UserInfo) -> Person:
    """Create or refresh a person from what the chat platform says about them.

    A bot, an app, or an account deactivated in Slack leaves every community at once: with no
    open membership it holds no role, is not counted and gets no ritual DM. Reactivated, they
    come back through a channel join or a roster sync, as members (roles are given again)."""
    person = await find(session, workspace_id=workspace_id, slack_user_id=info.user_id)
    if person is None:
        person = Person(workspace_id=workspace_id, slack_user_id=info.user_id)
        session.add(person)
    if person.erased_at is None:
        apply_info(person, info)
    await session.flush()
    if person.is_bot or person.deleted:  # (an erased tombstone keeps its stints: counts hold)
        await leave_everything(session, person_id=person.id)
    return person


async def leave_everything(session: AsyncSession, *, person_id: int) -> int:
    """Close the person's open memberships (history kept: they were members until now)."""
    result = await session.execute(
        sa.update(Membership)
        .where(Membership.person_id == person_id, Membership.left_at.is_(None))
        .values(left_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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


def display_name(person: Person) -> str:
    return person.real_name or person.name or person.slack_user_id


def now() -> datetime:
    return utcnow()
