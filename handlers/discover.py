"""`/cop communities` (`/cop communautés`): discover the programme's communities and join one.

Join on a public channel: the bot invites the person and records the membership as Slack's
member_joined_channel event would (the event that follows finds it done). On a private
channel: the community's leaders get Accept / Decline by DM (bot.discover keeps the request in
the audit log), and the person is told the outcome.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, discover, roster
from bot.deps import Deps
from bot.errors import CopError
from bot.models import CommunityKind, utcnow
from bot.numbers import row_id
from bot.slack.blocks import discover as screens
from bot.slack.blocks.common import blocks_json, section
from bot.slack.echo import Mrkdwn, channel, mention, say
from handlers import home
from handlers.charters import answer_click, refusal, tell_user
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_here, load_caller, zone_of
from rituals import welcome

logger = logging.getLogger(__name__)

KIND_WORDS = {
    "piloted": CommunityKind.PILOTED,
    "pilotee": CommunityKind.PILOTED,
    "pilotée": CommunityKind.PILOTED,
    "pilotees": CommunityKind.PILOTED,
    "pilotées": CommunityKind.PILOTED,
    "spontaneous": CommunityKind.SPONTANEOUS,
    "spontanee": CommunityKind.SPONTANEOUS,
    "spontanée": CommunityKind.SPONTANEOUS,
    "spontanees": CommunityKind.SPONTANEOUS,
    "spontanées": CommunityKind.SPONTANEOUS,
}


def parse(args: list[str]) -> discover.Filters:
    """`data`, `--kind piloted data`, `--type pilotée`: words to search, and the kind."""
    kind, words, i = None, [], 0
    while i < len(args):
        word = args[i]
        if word.lower() in {"--kind", "--type"} and i + 1 < len(args):
            kind = KIND_WORDS.get(args[i + 1].lower(), kind)
            i += 2
            continue
        words.append(word)
        i += 1
    return discover.Filters(query=" ".join(words)[: discover.QUERY_MAX], kind=kind)


async def load(
    deps: Deps, caller: Caller, filters: discover.Filters, *, page_size: int = discover.PAGE_SIZE
) -> discover.Listing:
    async with deps.sessions() as session:
        return await discover.listing(
            session,
            workspace_id=caller.workspace_id,
            slack_user_id=caller.user_id,
            filters=filters,
            now=utcnow(),
            page_size=page_size,
        )


async def handle_communities(req: CommandRequest) -> None:
    listing = await load(req.deps, req.caller, parse(req.args))
    text, blocks = screens.build_listing(req.t, listing, tz=await zone_of(req.deps, req.caller))
    await req.show(text, blocks_json(blocks))


def _from_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view"


def _clicked_value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")


async def handle_browse(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """The kind filter or a page: the message is drawn again in place (the Home republished)."""
    await ack()
    caller = await caller_here(deps, body)
    filters = screens.decode(_clicked_value(body))
    if _from_home(body):
        await home.publish(
            deps, client, workspace_id=caller.workspace_id, user_id=caller.user_id, discover=filters
        )
        return
    listing = await load(deps, caller, filters)
    text, blocks = screens.build_listing(caller.t, listing, tz=await zone_of(deps, caller))
    if respond.response_url:
        await respond(
            text=text, blocks=blocks_json(blocks), response_type="ephemeral", replace_original=True
        )
    else:
        await tell_user(client, user=caller.user_id, text=text, blocks=blocks)


async def handle_open(ack: AsyncAck) -> None:
    """The Open button is a link: Slack opens the channel; the click only needs its ack."""
    await ack()


async def handle_join(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    await ack()
    caller = await caller_here(deps, body)
    try:
        text = await join(deps, client, caller, row_id(action.get("value")))
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    await answer_click(client, respond, caller=caller, text=text)
    if _from_home(body):
        await home.publish(deps, client, workspace_id=caller.workspace_id, user_id=caller.user_id)


async def join(deps: Deps, client: AsyncWebClient, caller: Caller, community_id: int) -> Mrkdwn:
    """In at once (a public channel), or a request to the leaders (a private one)."""
    t = caller.t
    async with deps.sessions() as session:
        community = await discover.joinable(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        view = communities.CommunityView.of(community)
        role = await communities.current_role(
            session,
            workspace_id=caller.workspace_id,
            community_id=community_id,
            slack_user_id=caller.user_id,
        )
    if role is not None:
        return say(t, "discover.already_in", name=view.name, channel=channel(view.channel_id))
    info = await deps.directory.channel(view.channel_id)
    if info is None or info.is_archived:
        raise CopError("discover.not_joinable", name=view.name)
    if info.is_private:
        return await ask_leaders(deps, client, caller, view)
    await invite(
        deps,
        client,
        workspace_id=view.workspace_id,
        community_id=view.id,
        channel_id=view.channel_id,
        name=view.name,
        user_id=caller.user_id,
    )
    return say(t, "discover.joined", name=view.name, channel=channel(view.channel_id))


async def invite(
    deps: Deps,
    client: AsyncWebClient,
    *,
    workspace_id: str,
    community_id: int,
    channel_id: str,
    name: str,
    user_id: str,
) -> None:
    """conversations.invite, then the membership recorded and the welcome sent as for Slack's
    member_joined_channel event (bot.communities.member_joined is idempotent: the event that
    follows changes nothing)."""
    try:
        await client.conversations_invite(channel=channel_id, users=user_id)
    except SlackApiError as exc:
        reason = str(exc.response.get("error") or "error")
        if reason != "already_in_channel":
            logger.warning("could not invite %s to %s: %s", user_id, channel_id, reason)
            raise CopError("discover.invite_failed", name=name, reason=reason) from None
    async with deps.sessions.begin() as session:
        row = await communities.get(session, workspace_id=workspace_id, community_id=community_id)
        joined = await communities.member_joined(session, community=row, slack_user_id=user_id)
    await roster.refresh_people(deps.sessions, deps.directory, workspace_id, [user_id])
    await welcome.on_join(deps, community_id=community_id, joined=joined)


async def ask_leaders(
    deps: Deps, client: AsyncWebClient, caller: Caller, community: communities.CommunityView
) -> Mrkdwn:
    t = caller.t
    async with deps.sessions.begin() as session:
        row = await discover.joinable(
            session, workspace_id=caller.workspace_id, community_id=community.id
        )
        leaders = await discover.leaders_of(session, community_id=community.id)
        if not leaders:
            raise CopError("discover.no_leader_to_ask", name=community.name)
        request_id, new = await discover.request(
            session, workspace_id=caller.workspace_id, community=row, requester=caller.user_id
        )
    if not new:
        return say(t, "discover.request_pending", name=community.name)
    posted: list[tuple[str, str, str]] = []
    for leader in leaders:
        reader = await load_caller(
            deps, workspace_id=caller.workspace_id, user_id=leader, channel_id=None
        )
        text, blocks = screens.request_blocks(
            reader.t,
            requester=caller.user_id,
            community_name=community.name,
            request_id=request_id,
        )
        try:
            sent = await client.chat_postMessage(
                channel=leader, text=text, blocks=blocks_json(blocks)
            )
        except SlackApiError:
            logger.warning("could not ask %s about request %s", leader, request_id, exc_info=True)
            continue
        posted.append((leader, str(sent["channel"]), str(sent["ts"])))
    async with deps.sessions.begin() as session:
        await discover.record_asked(
            session,
            workspace_id=caller.workspace_id,
            community_id=community.id,
            request_id=request_id,
            messages=posted,
        )
    return say(t, "discover.requested", name=community.name)


async def handle_decide(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """A leader's Accept or Decline: written once; a second click (theirs or another leader's)
    is told who decided first. The person is told the outcome, in their language."""
    await ack()
    caller = await caller_here(deps, body)
    t = caller.t
    accepted = action.get("action_id") == screens.ACCEPT
    wanted = discover.Decision.ACCEPTED if accepted else discover.Decision.DECLINED
    try:
        async with deps.sessions.begin() as session:
            request = await discover.decide(
                session, actor=caller.actor, request_id=row_id(action.get("value")), decision=wanted
            )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    if request.decided is not None:
        key = (
            "discover.already_accepted"
            if request.decided == discover.Decision.ACCEPTED
            else "discover.already_declined"
        )
        await answer_click(
            client, respond, caller=caller, text=say(t, key, who=mention(request.decided_by or ""))
        )
        return
    if accepted:
        try:
            await invite(
                deps,
                client,
                workspace_id=caller.workspace_id,
                community_id=request.community_id,
                channel_id=request.channel_id,
                name=request.community_name,
                user_id=request.requester,
            )
        except CopError as exc:
            # recorded as accepted, but Slack refused: the leader is told why, to invite by hand
            await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
            return
    done = screens.decided_text(
        t,
        accepted=accepted,
        who=caller.user_id,
        requester=request.requester,
        community_name=request.community_name,
    )
    if respond.response_url:
        await respond(text=done, response_type="in_channel", replace_original=True)
    await _redraw_others(deps, client, caller, request, accepted=accepted, body=body)
    requester = await load_caller(
        deps, workspace_id=caller.workspace_id, user_id=request.requester, channel_id=None
    )
    outcome = say(
        requester.t,
        "discover.you_are_accepted" if accepted else "discover.you_are_declined",
        name=request.community_name,
        channel=channel(request.channel_id),
    )
    await tell_user(client, user=request.requester, text=outcome)


async def _redraw_others(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    request: discover.Request,
    *,
    accepted: bool,
    body: dict[str, Any],
) -> None:
    """The other leaders' copies of the request say who decided, without buttons (best effort)."""
    clicked = (body.get("container") or {}).get("message_ts")
    async with deps.sessions() as session:
        messages = await discover.asked(
            session, community_id=request.community_id, request_id=request.id
        )
    for leader, where, ts in messages:
        if ts == clicked:
            continue
        reader = await load_caller(
            deps, workspace_id=caller.workspace_id, user_id=leader, channel_id=None
        )
        text = screens.decided_text(
            reader.t,
            accepted=accepted,
            who=caller.user_id,
            requester=request.requester,
            community_name=request.community_name,
        )
        try:
            await client.chat_update(
                channel=where, ts=ts, text=text, blocks=blocks_json([section(text)])
            )
        except SlackApiError:
            logger.warning("could not redraw request %s for %s", request.id, leader, exc_info=True)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "communities",
        handle_communities,
        (HelpLine("discover.usage"),),
        aliases=("communautés", "communautes", "discover", "découvrir", "decouvrir"),
    )
]


def register(app: AsyncApp) -> None:
    for action_id in screens.BROWSE_ACTIONS:
        app.action(action_id)(handle_browse)
    app.action(screens.OPEN)(handle_open)
    app.action(screens.JOIN)(handle_join)
    app.action(screens.ACCEPT)(handle_decide)
    app.action(screens.DECLINE)(handle_decide)
