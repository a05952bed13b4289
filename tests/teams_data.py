"""Teams test data, written through the domain as tests/factories.py does for Slack: the tenant's
workspace, a community whose channel is the emulator's, and the emulator's members as people
with their e-mails (until the `before` listener and the roster record them from Teams)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, people
from bot.models import Community, Person, Role
from bot.ports import UserInfo
from bot.teams.emulator import CHANNEL, TeamsEmulator
from tests import factories


async def teams_community(
    sessions: async_sessionmaker[AsyncSession],
    teams: TeamsEmulator,
    *,
    name: str = "Data Science",
    channel: str = CHANNEL,
    leaders: tuple[str, ...] = (),
    core: tuple[str, ...] = (),
    age_days: int = 0,
    language: str | None = None,
) -> Community:
    """A community in the emulator's tenant whose members are the emulator's members."""
    members = tuple(m.id for m in teams.members)
    async with sessions.begin() as session:
        await people.ensure_workspace(session, teams.tenant_id, "Contoso")
        for member in teams.members:
            await people.upsert(
                session,
                workspace_id=teams.tenant_id,
                info=UserInfo(
                    user_id=member.id,
                    name=member.name,
                    real_name=member.name,
                    tz="Europe/Paris",
                    locale=None,
                    is_bot=False,
                    deleted=False,
                ),
            )
            # their e-mail, as the team's roster gives it (GET …/members: `email`); UserInfo
            # carries none yet (the roster's work in progress)
            await session.execute(
                sa.update(Person)
                .where(Person.workspace_id == teams.tenant_id, Person.slack_user_id == member.id)
                .values(email=member.email)
            )
    row = await factories.community(
        sessions,
        channel=channel,
        name=name,
        members=members,
        workspace_id=teams.tenant_id,
        age_days=age_days,
        language=language,
    )
    async with sessions.begin() as session:
        found = await communities.get(session, workspace_id=teams.tenant_id, community_id=row.id)
        for uid in leaders:
            await communities.set_role(
                session, community=found, slack_user_id=uid, role=Role.LEADER
            )
        for uid in core:
            await communities.set_role(
                session, community=found, slack_user_id=uid, role=Role.CORE_TEAM
            )
    return row
