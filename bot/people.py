"""People and workspaces: the Slack users the bot knows, kept to what it needs to address them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Membership, Person, Workspace, utcnow
from bot.ports import UserInfo
from bot.redelivery import upsert_for
from bot.zones import find_zone

# Who counts as a person the bot serves: not a bot or an app, not deactivated in Slack, not
# erased. Rights (bot.permissions), counts and DMs all go through this one definition.
IS_PERSON = sa.and_(Person.is_bot.is_(False), Person.deleted.is_(False), Person.erased_at.is_(None))
# Who counts in member figures (the Home, /cop health, KPIs, snapshots, the report): a human not
# deactivated in Slack. An erased person's tombstone still counts: erasure removes who they
# were, not that they were a member (docs/privacy.md: member counts do not change).
COUNTED = sa.and_(Person.is_bot.is_(False), Person.deleted.is_(False))
# Who one person is across the programme's platforms: their e-mail, in any case, when the
# platform gave it (Slack with users:read.email, Teams always), else the row itself. Someone in
# a Slack community and a Teams community is one of the programme's unique members, not two
# (an e-mail always holds "@", so it never equals a row's id). Needs a join on Person. No bound
# parameter in it: PostgreSQL must see the GROUP BY expression as the one selected.
IDENTITY = sa.func.coalesce(
    sa.func.lower(sa.func.nullif(Person.email, sa.literal_column("''"))),
    sa.cast(Person.id, sa.String),
)


async def ensure_workspace(session: AsyncSession, workspace_id: str, name: str = "") -> Workspace:
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        # two requests of a new workspace at once: both insert, one row, nobody fails
        await session.execute(
            upsert_for(session)(Workspace)
            .values(id=workspace_id, name=name, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["id"])
        )
        workspace = await session.get(Workspace, workspace_id, populate_existing=True)
        assert workspace is not None
    if name and workspace.name != name:
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
    if info.email:  # the platform may withhold it (a missing scope): never erase a known one
        person.email = info.email


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
        # someone new joining two channels at once: two events, one person, no duplicate-key
        now = utcnow()
        await session.execute(
            upsert_for(session)(Person)
            .values(
                workspace_id=workspace_id,
                slack_user_id=info.user_id,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"])
        )
        person = await find(session, workspace_id=workspace_id, slack_user_id=info.user_id)
        assert person is not None
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
    missing = sorted(wanted - found.keys())
    if missing:
        # set-based, and safe when another request creates the same people meanwhile (someone
        # new added to two channels at once): the loser of the race reads the winner's rows
        now = utcnow()
        insert = upsert_for(session)
        for start in range(0, len(missing), 500):
            await session.execute(
                insert(Person)
                .values(
                    [
                        {
                            "workspace_id": workspace_id,
                            "slack_user_id": uid,
                            "name": "",
                            "real_name": "",
                            "is_bot": False,
                            "deleted": False,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for uid in missing[start : start + 500]
                    ]
                )
                .on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"])
            )
            rows = await session.scalars(
                sa.select(Person).where(
                    Person.workspace_id == workspace_id,
                    Person.slack_user_id.in_(missing[start : start + 500]),
                )
            )
            found.update({p.slack_user_id: p for p in rows})
    return found


def display_name(person: Person) -> str:
    return person.real_name or person.name or person.slack_user_id


def now() -> datetime:
    return utcnow()


@dataclass(frozen=True, slots=True)
class Seen:
    """What a platform said about someone in passing (an activity's sender, a roster line):
    only the fields it gave; None means "not said", never "cleared"."""

    user_id: str
    name: str | None = None
    locale: str | None = None
    tz: str | None = None
    email: str | None = None
    dm_channel_id: str | None = None


def _changes(person: Person, seen: Seen) -> dict[str, str]:
    """The columns that differ from what was seen (an unknown zone is not a change)."""
    wanted: dict[str, str | None] = {
        "name": seen.name[:200] if seen.name else None,
        "real_name": seen.name[:200] if seen.name else None,
        "locale": seen.locale[:16] if seen.locale else None,
        "tz": find_zone(seen.tz) if seen.tz else None,
        "email": seen.email[:320].lower() if seen.email and "@" in seen.email else None,
        "dm_channel_id": seen.dm_channel_id or None,
    }
    return {k: v for k, v in wanted.items() if v is not None and getattr(person, k) != v}


async def learn(
    session: AsyncSession, *, workspace_id: str, seen: Iterable[Seen]
) -> dict[str, Person]:
    """Create the people not known yet and bring the others up to date with what was seen,
    set-based; a row whose fields already match is not written (an activity arrives with every
    message: most change nothing). An erased person's tombstone learns nothing."""
    latest = {s.user_id: s for s in seen if s.user_id}
    persons = await ensure_many(session, workspace_id=workspace_id, slack_user_ids=latest)
    for user_id, what in latest.items():
        person = persons[user_id]
        if person.erased_at is not None:
            continue
        for column, value in _changes(person, what).items():
            setattr(person, column, value)
    await session.flush()
    return persons
