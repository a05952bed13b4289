"""Communities in Microsoft Teams: a community is a team's channel (Community.channel_id = the
channel's "19:…@thread.tacv2"). Thin, as handlers/membership.py and handlers/commands.py are for
Slack, and through the same domain functions:

- `@cop community create <name>` (« @cop communauté créer <nom> ») in the channel, by a
  programme manager: the channel becomes a community, its members are the team's roster;
- the bot added to a team (conversationUpdate naming it in membersAdded, or installationUpdate
  "add"): the roster becomes people (names, e-mails) and the team's communities' members;
- teamMemberAdded / teamMemberRemoved: a membership stint opened or closed in every community of
  the team (Slack's member_joined_channel / member_left_channel), each event once, and the
  newcomer's welcome owed (rituals/welcome.py), as in Slack;
- channelDeleted / channelRestored, teamArchived / teamUnarchived, teamDeleted: the community's
  channel marked gone, live or archived (Slack's channel_deleted / channel_archive…);
  channelCreated / channelRenamed: the channel's reference (its team, its name) kept.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot import communities, installation, people, redelivery
from bot import roster as roster_of_people
from bot.errors import CopError
from bot.models import ChannelStatus, CommunityKind
from bot.permissions import Action, require
from bot.teams import conversations, roster
from bot.teams.cards.common import refusal, say
from bot.teams.conversations import Reference
from handlers.teams.context import caller_of, tell
from rituals import welcome

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

logger = logging.getLogger(__name__)

CHANNEL_STATUS = {
    "channelDeleted": ChannelStatus.GONE,
    "channelRestored": ChannelStatus.OK,
    "teamArchived": ChannelStatus.ARCHIVED,
    "teamUnarchived": ChannelStatus.OK,
    "teamDeleted": ChannelStatus.GONE,
    "teamHardDeleted": ChannelStatus.GONE,
    "teamRestored": ChannelStatus.OK,
}
# what a team-wide "back" event undoes (a channel's own restore undoes its deletion)
RESTORES = {"teamUnarchived": ChannelStatus.ARCHIVED, "teamRestored": ChannelStatus.GONE}
CREATE_WORDS = {"create", "creer", "créer"}


def _data(turn: Turn) -> dict[str, Any]:
    data = turn.activity.get("channelData")
    return data if isinstance(data, dict) else {}


def _id_of(value: Any) -> str | None:
    return str(value["id"]) if isinstance(value, dict) and value.get("id") else None


def _accounts(turn: Turn, field: str) -> list[dict[str, Any]]:
    return [a for a in turn.activity.get(field) or [] if isinstance(a, dict) and a.get("id")]


def _bot_id(turn: Turn) -> str:
    return str((turn.activity.get("recipient") or {}).get("id") or "")


def _event_id(turn: Turn, what: str) -> str | None:
    return conversations.event_id(
        turn.tenant_id, turn.conversation_id, str(turn.activity.get("id") or ""), what=what
    )


async def sync_roster(deps: Deps, edge: TeamsEdge, turn: Turn, team_id: str) -> roster.TeamSync:
    return await roster.sync_team(
        deps.sessions,
        edge,
        workspace_id=turn.tenant_id,
        team_id=team_id,
        service_url=turn.service_url,
        bot_id=_bot_id(turn),
    )


def register(edge: TeamsEdge, deps: Deps) -> None:
    @edge.on("conversationUpdate")
    async def conversation_update(turn: Turn) -> None:
        tenant, data = turn.tenant_id, _data(turn)
        team_id, channel_id = _id_of(data.get("team")), _id_of(data.get("channel"))
        event = str(data.get("eventType") or "")
        if not tenant or not team_id:
            return  # a 1:1 or a group chat: no community there
        if channel_id and event.startswith("channel"):
            await _remember_channel(deps, turn, team_id, channel_id)
        bot = _bot_id(turn)
        added = [str(a["id"]) for a in _accounts(turn, "membersAdded")]
        removed = [str(a["id"]) for a in _accounts(turn, "membersRemoved")]
        if bot in added:
            report = await sync_roster(deps, edge, turn, team_id)
            logger.info("Teams team %s: %d people on the roster", team_id, report.people)
            added.remove(bot)
        if added or removed:
            await _members_changed(deps, turn, team_id, added=added, removed=removed)
        status = CHANNEL_STATUS.get(event)
        if status is not None:
            await _channel_status(deps, turn, team_id, channel_id, event, status)

    @edge.on("message")
    async def first_seen(turn: Turn) -> None:
        """A community made of a channel the bot had never seen (`cop communities import`):
        its first message tells whose team it is, and the team's roster becomes its members."""
        team_id = _id_of(_data(turn).get("team"))
        if not turn.info.get("reference_changed") or not team_id or turn.personal:
            return
        async with deps.sessions() as session:
            found = await communities.by_channel(
                session,
                workspace_id=turn.tenant_id,
                channel_id=conversations.channel_of(turn.conversation_id),
            )
        if found is not None and found.channel_status == ChannelStatus.OK:
            await sync_roster(deps, edge, turn, team_id)

    @edge.on("installationUpdate")
    async def installation_update(turn: Turn) -> None:
        team_id = _id_of(_data(turn).get("team"))
        if turn.tenant_id and team_id and turn.activity.get("action") in {"add", "add-upgrade"}:
            await sync_roster(deps, edge, turn, team_id)

    @edge.command("community", "communaute", "communauté")
    async def community(turn: Turn, rest: str) -> None:
        words = rest.split()
        if not words or words[0].casefold() not in CREATE_WORDS or len(words) < 2:
            await tell(turn, say(turn.t, "teams.community.usage"))
            return
        team_id = _id_of(_data(turn).get("team"))
        if turn.personal or not team_id:
            await tell(turn, say(turn.t, "teams.community.needs_channel"))
            return
        tenant = turn.tenant_id
        actor = (await caller_of(deps, turn)).actor  # a manager by Entra id or e-mail
        event_id = _event_id(turn, "community")
        try:
            async with deps.sessions.begin() as session:
                await require(session, actor=actor, action=Action.CREATE_COMMUNITY)
                if event_id and not await redelivery.first_time(
                    session, event_id=event_id, workspace_id=tenant
                ):
                    return  # Teams redelivered the command: it was done (or is being done)
                created = await communities.create(
                    session,
                    workspace_id=tenant,
                    name=" ".join(words[1:]),
                    channel_id=conversations.channel_of(turn.conversation_id),
                    kind=CommunityKind.SPONTANEOUS,
                )
                view = communities.CommunityView.of(created)
        except CopError as refused:
            await tell(turn, refusal(turn.t, refused))
            return
        report = await sync_roster(deps, edge, turn, team_id)
        synced = report.communities.get(view.id)
        members = synced.kept + len(synced.added) if synced else 0
        # the name as typed (escaped once, bot.teams.render.escape, through `say`)
        said = say(turn.t, "teams.community.created", typed={"name": view.name}, members=members)
        await tell(turn, said)


async def _remember_channel(deps: Deps, turn: Turn, team_id: str, channel_id: str) -> None:
    """A channel created or renamed: its team and name kept, so that a community made of it
    later knows whose roster is its own."""
    channel = _data(turn).get("channel") or {}
    where = Reference(
        conversation_id=channel_id,
        kind=conversations.CHANNEL,
        service_url=turn.service_url,
        team_id=team_id,
        name=str(channel.get("name") or ""),
    )
    async with deps.sessions.begin() as session:
        await conversations.keep(session, workspace_id=turn.tenant_id, reference=where)


async def _members_changed(
    deps: Deps, turn: Turn, team_id: str, *, added: list[str], removed: list[str]
) -> None:
    """People added to or removed from the team join or leave each of its communities, once
    (Teams redelivers: the activity id is recorded in the same transaction)."""
    tenant = turn.tenant_id
    event_id = _event_id(turn, "membership")
    names = {str(a["id"]): a.get("name") for a in _accounts(turn, "membersAdded")}
    added = [user for user in added if not user.startswith("28:")]
    joins: list[tuple[int, communities.JoinResult]] = []
    async with deps.sessions.begin() as session:
        if event_id and not await redelivery.first_time(
            session, event_id=event_id, workspace_id=tenant
        ):
            return
        newcomers = [people.Seen(user_id=u, name=names.get(u) or None) for u in added]
        await people.learn(session, workspace_id=tenant, seen=newcomers)
        for row in await conversations.communities_of_team(
            session, workspace_id=tenant, team_id=team_id
        ):
            for user in added:
                joined = await communities.member_joined(session, community=row, slack_user_id=user)
                joins.append((row.id, joined))
            for user in removed:
                await communities.member_left(session, community=row, slack_user_id=user)
    if not added:
        return
    # as Slack's member_joined_channel (handlers/membership.py): the newcomers' names from the
    # platform (Teams' events carry ids only), then the welcome each community owes them
    with installation.speaking_in(tenant):
        await roster_of_people.refresh_people(deps.sessions, deps.directory, tenant, added)
    for community_id, joined in joins:
        await welcome.on_join(deps, community_id=community_id, joined=joined)


async def _channel_status(
    deps: Deps,
    turn: Turn,
    team_id: str,
    channel_id: str | None,
    event: str,
    status: ChannelStatus,
) -> None:
    """A channel deleted or restored marks its community; a team archived, unarchived or
    deleted marks every community of the team."""
    tenant = turn.tenant_id
    async with deps.sessions.begin() as session:
        if event.startswith("channel"):
            found = (
                await communities.by_channel(session, workspace_id=tenant, channel_id=channel_id)
                if channel_id
                else None
            )
            rows = [found] if found is not None else []
        else:
            rows = await conversations.communities_of_team(
                session, workspace_id=tenant, team_id=team_id, live_only=False
            )
        restoring = RESTORES.get(event)
        for row in rows:
            if restoring is not None and row.channel_status != restoring:
                continue  # a team unarchived does not bring back a channel deleted before
            await communities.mark_channel(session, community=row, status=status)
