"""Keeping memberships in step with the channels, through the Directory port.

Memberships are written first from the channel's member list (fast, one transaction); names,
zones and languages are then learnt person by person, a few at a time, within rate limits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, people
from bot.communities import CommunityView, SyncReport
from bot.errors import InvalidInput
from bot.models import Community, Person
from bot.ports import Directory, UserInfo

logger = logging.getLogger(__name__)
LOOKUP_CONCURRENCY = 8


async def sync_community(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    community: CommunityView,
    *,
    bot_user_ids: Iterable[str] = (),
) -> SyncReport:
    member_ids = await directory.channel_members(community.channel_id)
    async with sessions.begin() as session:
        row = await session.get(Community, community.id)
        assert row is not None
        report = await communities.sync_members(
            session, community=row, member_ids=member_ids, bot_user_ids=bot_user_ids
        )
    await refresh_people(sessions, directory, community.workspace_id, report.added)
    return report


async def refresh_people(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    workspace_id: str,
    slack_user_ids: Iterable[str],
    *,
    only_unknown: bool = True,
) -> int:
    """Learn names, zones and languages; people found to be bots lose their memberships."""
    ids = sorted(set(slack_user_ids))
    if only_unknown and ids:
        async with sessions() as session:
            known = set(
                await session.scalars(
                    sa.select(Person.slack_user_id).where(
                        Person.workspace_id == workspace_id,
                        Person.slack_user_id.in_(ids),
                        Person.name != "",
                    )
                )
            )
        ids = [i for i in ids if i not in known]
    if not ids:
        return 0
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def lookup(uid: str) -> UserInfo | None:
        async with gate:
            try:
                return await directory.user(uid)
            except Exception:
                logger.warning("could not look up %s", uid, exc_info=True)
                return None

    infos = [i for i in await asyncio.gather(*(lookup(uid) for uid in ids)) if i is not None]
    async with sessions.begin() as session:
        for info in infos:
            # bots and deactivated accounts leave their communities there (bot.people.upsert)
            await people.upsert(session, workspace_id=workspace_id, info=info)
    return len(infos)


async def role_candidate(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    community: CommunityView,
    slack_user_id: str,
) -> UserInfo:
    """Slack's word that this id may be given a role here: someone who exists in the workspace,
    is a human (not a bot or an app), is not deactivated, and is in the community's channel.
    Raises InvalidInput with the reason; nothing is written either way."""
    info = await directory.user(slack_user_id)
    if info is None:
        raise InvalidInput("role.unknown_user", user=slack_user_id)
    if info.is_bot:
        raise InvalidInput("role.not_a_person", user=slack_user_id)
    if info.deleted:
        raise InvalidInput("role.deactivated", user=slack_user_id)
    async with sessions() as session:
        role = await communities.current_role(
            session,
            workspace_id=community.workspace_id,
            community_id=community.id,
            slack_user_id=slack_user_id,
        )
    # the roster follows the channel through events; one missed join is caught by asking Slack
    if role is None and slack_user_id not in await directory.channel_members(community.channel_id):
        raise InvalidInput("role.not_in_channel", user=slack_user_id)
    return info
