"""Small builders for test data, written through the domain (never raw SQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, people
from bot.models import Community, CommunityKind, Role
from bot.ports import UserInfo
from bot.slack.emulator import SlackEmulator

WORKSPACE = "T0COP"


async def community(
    sessions: async_sessionmaker[AsyncSession],
    *,
    emulator: SlackEmulator | None = None,
    channel: str = "C0DATA",
    name: str = "Data Science",
    language: str | None = None,
    tz: str | None = None,
    leaders: tuple[str, ...] = (),
    core: tuple[str, ...] = (),
    sponsor: str | None = None,
    members: tuple[str, ...] | None = None,
    age_days: int = 0,
    workspace_id: str = WORKSPACE,
) -> Community:
    """A community whose members are the emulator channel's (or `members`), with names and zones;
    `age_days` makes it that old (health judges a community only once past its starting days)."""
    if members is None:
        members = tuple(emulator.workspace.channels[channel].members) if emulator else ()
    async with sessions.begin() as session:
        row = await communities.create(
            session,
            workspace_id=workspace_id,
            name=name,
            channel_id=channel,
            kind=CommunityKind.SPONTANEOUS,
            language=language,
            tz=tz,
        )
        if age_days:
            row.created_at = row.created_at - timedelta(days=age_days)
        if emulator is not None:
            for uid in {*members, *leaders, *core, *([sponsor] if sponsor else [])}:
                user = emulator.workspace.users[uid]
                await people.upsert(
                    session,
                    workspace_id=workspace_id,
                    info=UserInfo(
                        user_id=uid,
                        name=user.name,
                        real_name=user.real_name,
                        tz=user.tz,
                        locale=user.locale,
                        is_bot=user.is_bot,
                        deleted=user.deleted,
                    ),
                )
        await communities.sync_members(session, community=row, member_ids=members)
        for uid in leaders:
            await communities.set_role(session, community=row, slack_user_id=uid, role=Role.LEADER)
        for uid in core:
            await communities.set_role(
                session, community=row, slack_user_id=uid, role=Role.CORE_TEAM
            )
        if sponsor:
            await communities.set_role(
                session, community=row, slack_user_id=sponsor, role=Role.SPONSOR
            )
    return row
