"""Teams test data, written through the domain as tests/factories.py does for Slack: the tenant's
workspace, a community whose channel is the emulator's, and the emulator's members as people
with their e-mails (until the `before` listener and the roster record them from Teams)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import people
from bot.app import build_deps, close_teams
from bot.deps import Deps
from bot.models import Community, Event, EventRsvp, Person, RsvpAnswer
from bot.ports import UserInfo
from bot.teams import conversations
from bot.teams.emulator import CHANNEL, TeamsEmulator
from tests import factories

if TYPE_CHECKING:
    from tests.conftest import TeamsBot

# the emulator's members: Camille (fr, Paris), Alex (en, New York), Sam (fr), Lou (en, London),
# Noa (fr); Camille's 1:1 chat with the bot is the emulator's PERSONAL
CAMILLE, ALEX, SAM, LOU, NOA = (f"29:1emu-user-{i}" for i in range(1, 6))
SPOKEN = {
    CAMILLE: ("fr-FR", "Europe/Paris"),
    ALEX: ("en-US", "America/New_York"),
    SAM: ("fr-FR", "Europe/Paris"),
    LOU: ("en-GB", "Europe/London"),
    NOA: ("fr-FR", "Europe/Paris"),
}


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
    return await factories.community(
        sessions,
        channel=channel,
        name=name,
        members=members,
        leaders=leaders,
        core=core,
        workspace_id=teams.tenant_id,
        age_days=age_days,
        language=language,
    )


@contextlib.asynccontextmanager
async def composed_deps(tb: TeamsBot, *, quiet_hours: bool = False) -> AsyncIterator[Deps]:
    """The composition root's own deps (build_deps: Slack and Teams behind one messenger), with
    quiet hours as the test wants them."""
    config = tb.bot.deps.config
    settings = dataclasses.replace(config.settings, quiet_hours=quiet_hours)
    deps = build_deps(dataclasses.replace(config, settings=settings))
    try:
        yield deps
    finally:
        await close_teams(deps)
        await deps.engine.dispose()


async def spoken_community(
    tb: TeamsBot,
    *,
    members: tuple[str, ...] = (CAMILLE, ALEX, SAM, LOU),
    spoken: Mapping[str, tuple[str, str]] = SPOKEN,
) -> int:
    """A Teams community led by Camille: the tenant's workspace, its channel, people with their
    languages and zones (`spoken`: locale and zone by member), and the references Teams gave
    with Camille's messages (her 1:1 chat, the channel)."""
    teams = tb.teams
    async with tb.bot.sessions.begin() as session:
        for said in (teams.message("aide"), teams.message("aide", conversation=CHANNEL)):
            found = conversations.from_activity(said)
            assert found is not None
            await conversations.remember(session, **found)
        for member in teams.members:
            if member.id in members:
                locale, tz = spoken[member.id]
                await people.upsert(
                    session,
                    workspace_id=teams.tenant_id,
                    info=UserInfo(member.id, member.email, member.name, tz, locale, False, False),
                )
    community = await factories.community(
        tb.bot.sessions,
        channel=CHANNEL,
        members=members,
        leaders=(CAMILLE,),
        workspace_id=teams.tenant_id,
    )
    return community.id


async def event_going(
    tb: TeamsBot, community_id: int, *, title: str, going: str, link: str | None = None
) -> Event:
    """An event of the community in three days, which `going` (a member's id) said they attend."""
    teams = tb.teams
    async with tb.bot.sessions.begin() as session:
        event = Event(
            workspace_id=teams.tenant_id,
            community_id=community_id,
            title=title,
            starts_at=datetime.now(UTC) + timedelta(days=3),
            tz="Europe/Paris",
            link=link,
        )
        session.add(event)
        await session.flush()
        person = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == going))
        assert person is not None
        session.add(
            EventRsvp(
                workspace_id=teams.tenant_id,
                event_id=event.id,
                person_id=person,
                answer=RsvpAnswer.GOING,
            )
        )
    return event


async def dm_of(tb: TeamsBot, user: str) -> str | None:
    """The person's 1:1 conversation id, as the bot recorded it."""
    async with tb.bot.sessions() as session:
        return await session.scalar(
            sa.select(Person.dm_channel_id).where(Person.slack_user_id == user)
        )


def token_form(teams: TeamsEmulator) -> dict[str, str]:
    """The bot's client-credentials request for a Bot Connector token, as Microsoft's is asked."""
    return {
        "grant_type": "client_credentials",
        "client_id": teams.app_id,
        "client_secret": teams.app_password,
        "scope": "https://api.botframework.com/.default",
    }


async def connector_headers(http: httpx.AsyncClient, teams: TeamsEmulator) -> dict[str, str]:
    """The bot's Authorization header for the emulator's Bot Connector (a token asked for)."""
    token = (await http.post(teams.token_url, data=token_form(teams))).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
