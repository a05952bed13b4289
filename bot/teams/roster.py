"""A team's roster from the Bot Connector, made people and memberships.

`GET {serviceUrl}/v3/conversations/{teamId}/pagedmembers` pages until no continuationToken is
left (Microsoft: the unpaged /members is unreliable in large teams). The roster gives names and
e-mails, not languages or zones (those come with the person's own activities). A standard
channel's members are its team's, so every community whose channel is in the team gets the
team's members (bot.communities.sync_members, as a Slack channel's member list does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from bot import communities, people
from bot.communities import SyncReport
from bot.teams import conversations

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.teams.edge import TeamsEdge

logger = logging.getLogger(__name__)

PAGE_SIZE = 200  # Teams clamps to 50..500
MAX_PAGES = 500  # 100,000 members: a loop that never ends is a bug, not a big team


async def members(edge: TeamsEdge, *, service_url: str, team_id: str) -> list[dict[str, Any]]:
    """Every member of the team, page after page."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    base = f"{service_url.rstrip('/')}/v3/conversations/{quote(team_id, safe='')}/pagedmembers"
    for _ in range(MAX_PAGES):
        query = {"pageSize": PAGE_SIZE, **({"continuationToken": token} if token else {})}
        page = await edge.connector("GET", f"{base}?{urlencode(query)}")
        found += [m for m in page.get("members") or [] if isinstance(m, dict) and m.get("id")]
        token = page.get("continuationToken") or None
        if not token:
            return found
    logger.warning("team %s: roster still paging after %d pages; stopped", team_id, MAX_PAGES)
    return found


def seen(member: dict[str, Any]) -> people.Seen:
    name = member.get("name") or " ".join(
        str(p) for p in (member.get("givenName"), member.get("surname")) if p
    )
    return people.Seen(
        user_id=str(member["id"]),
        name=str(name) if name else None,
        email=str(member.get("email") or member.get("userPrincipalName") or "") or None,
    )


@dataclass(frozen=True, slots=True)
class TeamSync:
    people: int
    communities: dict[int, SyncReport]


async def sync_team(
    sessions: async_sessionmaker[AsyncSession],
    edge: TeamsEdge,
    *,
    workspace_id: str,
    team_id: str,
    service_url: str,
    bot_id: str | None = None,
) -> TeamSync:
    """The team's roster becomes people (names, e-mails) and the members of its communities."""
    roster = [
        m
        for m in await members(edge, service_url=service_url, team_id=team_id)
        if str(m["id"]) != bot_id and not str(m["id"]).startswith("28:")
    ]
    ids = [str(m["id"]) for m in roster]
    reports: dict[int, SyncReport] = {}
    async with sessions.begin() as session:
        await people.ensure_workspace(session, workspace_id)
        await people.learn(session, workspace_id=workspace_id, seen=[seen(m) for m in roster])
        for community in await conversations.communities_of_team(
            session, workspace_id=workspace_id, team_id=team_id
        ):
            reports[community.id] = await communities.sync_members(
                session, community=community, member_ids=ids
            )
    return TeamSync(people=len(ids), communities=reports)


async def sync_channels(
    sessions: async_sessionmaker[AsyncSession],
    edge: TeamsEdge,
    *,
    workspace_id: str,
    channel_ids: list[str],
) -> dict[str, int | None]:
    """Members for communities just made of these channels (`cop communities import`): each
    channel's team roster, when the bot has already seen the channel (its team and service URL
    are known); None for a channel not seen yet — its first message will bring them."""
    done: dict[str, int | None] = {}
    synced: dict[str, TeamSync] = {}
    for channel_id in channel_ids:
        async with sessions() as session:
            reference = await conversations.team_of(
                session, workspace_id=workspace_id, channel_id=channel_id
            )
            team_id = reference.team_id if reference is not None else None
            service_url = reference.service_url if reference is not None else ""
            community = await communities.by_channel(
                session, workspace_id=workspace_id, channel_id=channel_id
            )
        if team_id is None or community is None:
            done[channel_id] = None
            continue
        if team_id not in synced:
            synced[team_id] = await sync_team(
                sessions, edge, workspace_id=workspace_id, team_id=team_id, service_url=service_url
            )
        report = synced[team_id].communities.get(community.id)
        done[channel_id] = report.kept + len(report.added) if report is not None else 0
    return done
