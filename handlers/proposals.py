"""`/cop propose` (`/cop proposer`) and the "Propose a community" buttons: a member proposes a
community; every programme manager gets it by DM with Accept / Decline / Ask for more.

Accepting makes the channel (conversations.create, or the existing channel named), registers the
community at the préparation stage with the proposer as leader (bot.proposals), invites the
proposer and those interested, and starts the launch checklist (bot.lifecycle's, posted in the
channel and sent to the proposer). Every manager's copy then says who decided what.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import lifecycle, proposals, roster
from bot.communities import CommunityView
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.numbers import row_id
from bot.slack.blocks import proposals as screens
from bot.slack.blocks.common import blocks_json
from bot.slack.blocks.lifecycle import checklist_text
from bot.slack.echo import Mrkdwn, channel, mention, say
from handlers.charters import answer_click, community_translator, refusal, tell_user
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import (
    Caller,
    caller_here,
    caller_of,
    database_trouble,
    load_caller,
    open_view,
    read_modal,
    workspace_of,
)

logger = logging.getLogger(__name__)
# The registry is asked before the form's ack (a name already taken shows under the field);
# past this, the form is accepted and the same checks answer by DM instead (Slack's 3 s).
CHECK_PATIENCE = 1.5


# --- proposing ----------------------------------------------------------------------------------


async def handle_propose(req: CommandRequest) -> None:
    """`/cop propose [name]`: the form, the name started with what was typed."""
    name = " ".join(req.args)[: proposals.NAME_MAX]
    view = screens.build_modal(req.t, draft=proposals.Draft(name=name, purpose=""))
    await open_view(req.client, trigger_id=req.trigger_id, view=view, t=req.t)


async def handle_open(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The "Propose a community" button (Discover on the Home, `/cop communities`)."""
    await ack()
    caller = await caller_here(deps, body)
    name = " ".join(str(action.get("value") or "").split())[: proposals.NAME_MAX]
    view = screens.build_modal(caller.t, draft=proposals.Draft(name=name, purpose=""))
    await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)


async def handle_complete(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """The proposer's "Complete my proposal": the form again, prefilled."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        async with deps.sessions() as session:
            proposal = await proposals.mine_to_complete(
                session, actor=caller.actor, proposal_id=row_id(action.get("value"))
            )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    view = screens.build_modal(caller.t, draft=screens.draft_of(proposal), proposal_id=proposal.id)
    await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)


async def _registry_problems(
    deps: Deps, *, workspace_id: str, draft: proposals.Draft, proposal_id: int | None
) -> list[Any]:
    async with deps.sessions() as session:
        return await proposals.conflicts(
            session, workspace_id=workspace_id, draft=draft, proposal_id=proposal_id
        )


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The form: its fields, then what the registry holds (a short read, bounded), answered
    under the fields before the ack; the proposal is saved after it and the managers told."""
    t, view = read_modal(deps, body)
    user = str((body.get("user") or {}).get("id") or "")
    existing = False
    try:
        proposal_id, draft = screens.parse_modal(view)
        existing = draft.existing
        draft = proposals.check(draft, proposer=user)
    except CopError as exc:
        await ack(response_action="errors", errors=screens.field_errors(t, exc, existing=existing))
        return
    workspace_id = workspace_of(body)
    try:
        problems = await asyncio.wait_for(
            _registry_problems(
                deps, workspace_id=workspace_id, draft=draft, proposal_id=proposal_id
            ),
            CHECK_PATIENCE,
        )
    except Exception as exc:  # slow or unreachable: the save below checks again
        if not (isinstance(exc, TimeoutError) or database_trouble(exc)):
            raise
        problems = []
    if problems:
        errors = screens.field_errors(t, InvalidFields(problems), existing=existing)
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    caller = await caller_of(deps, body)
    try:
        async with deps.sessions.begin() as session:
            proposal, new = await proposals.submit(
                session,
                actor=caller.actor,
                draft=draft,
                submission_key=f"{view.get('id', '')}:{view.get('hash', '')}"[:64] or None,
                proposal_id=proposal_id,
            )
    except InvalidFields as exc:
        lines = [caller.t(e.key, **e.params) for e in exc.errors]
        await tell_user(client, user=caller.user_id, text="\n".join(lines))
        return
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    if not new:
        return  # the same form sent twice: already done
    told = await tell_managers(deps, client, proposal, again=proposal_id is not None)
    t = caller.t
    thanks = say(t, "proposal.thanks", name=proposal.name)
    if not told:
        thanks += Mrkdwn("\n") + say(t, "proposal.no_manager")
    await tell_user(client, user=caller.user_id, text=thanks)


async def tell_managers(
    deps: Deps, client: AsyncWebClient, proposal: proposals.Proposal, *, again: bool
) -> int:
    """A DM to each programme manager, in their language; where each went is kept (so every
    copy can say who decided). A manager Slack cannot reach is skipped."""
    posted: list[tuple[str, str, str]] = []
    for manager in sorted(deps.config.managers):
        reader = await load_caller(
            deps, workspace_id=proposal.workspace_id, user_id=manager, channel_id=None
        )
        text, blocks = screens.manager_blocks(reader.t, proposal, again=again)
        try:
            sent = await client.chat_postMessage(
                channel=manager, text=text, blocks=blocks_json(blocks)
            )
        except SlackApiError:
            logger.warning("could not tell %s of proposal %s", manager, proposal.id, exc_info=True)
            continue
        posted.append((str(sent["channel"]), str(sent["ts"]), manager))
    async with deps.sessions.begin() as session:
        await proposals.record_messages(
            session, workspace_id=proposal.workspace_id, proposal_id=proposal.id, messages=posted
        )
    return len(posted)


# --- deciding -----------------------------------------------------------------------------------


def _clicked(body: dict[str, Any]) -> tuple[str, str] | None:
    container = body.get("container") or {}
    if container.get("channel_id") and container.get("message_ts"):
        return str(container["channel_id"]), str(container["message_ts"])
    return None


async def handle_decide(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
    deps: Deps,
) -> None:
    """Accept (at once), Decline or Ask for more (a small form for the reason or the question
    first). Only programme managers (bot.permissions: DECIDE_PROPOSAL); a decided proposal
    answers who decided it."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        proposal_id = row_id(action.get("value"))
        if action.get("action_id") == screens.ACCEPT:
            text = await accept(
                deps, client, caller, proposal_id=proposal_id, bot_user_id=context.bot_user_id
            )
            await answer_click(client, respond, caller=caller, text=text)
            return
        async with deps.sessions() as session:
            proposal = await proposals.to_decide(
                session, actor=caller.actor, proposal_id=proposal_id
            )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    if proposal.status != proposals.ProposalStatus.PENDING:
        await answer_click(
            client, respond, caller=caller, text=screens.already_text(caller.t, proposal)
        )
        return
    decision = (
        proposals.Decision.DECLINE
        if action.get("action_id") == screens.DECLINE
        else proposals.Decision.MORE
    )
    view = screens.build_note_modal(caller.t, proposal, decision=decision, where=_clicked(body))
    await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)


async def handle_note_submit(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The reason (declining) or the question (asking for more): written once, the proposer
    told, every manager's copy redrawn."""
    t, view = read_modal(deps, body)
    try:
        proposal_id, decision, note, _ = screens.parse_note_modal(view)
        note = proposals.check_note(decision, note)
    except CopError as exc:
        await ack(response_action="errors", errors={screens.NOTE: t(exc.key, **exc.params)})
        return
    await ack()
    caller = await caller_of(deps, body)
    try:
        async with deps.sessions.begin() as session:
            decided = await proposals.decide(
                session,
                actor=caller.actor,
                proposal_id=proposal_id,
                decision=decision,
                note=note,
            )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    proposal = decided.proposal
    if decided.already:
        await tell_user(client, user=caller.user_id, text=screens.already_text(caller.t, proposal))
        return
    await redraw_copies(deps, proposal, client, who=caller.user_id)
    reader = await load_caller(
        deps, workspace_id=caller.workspace_id, user_id=proposal.proposer, channel_id=None
    )
    if decision == proposals.Decision.DECLINE:
        await tell_user(
            client,
            user=proposal.proposer,
            text=say(
                reader.t,
                "proposal.you_declined",
                who=mention(caller.user_id),
                name=proposal.name,
                note=proposal.decision_note,
            ),
        )
        done = say(
            caller.t, "proposal.declined_done", name=proposal.name, who=mention(proposal.proposer)
        )
    else:
        text, blocks = screens.more_blocks(reader.t, proposal, who=caller.user_id)
        await tell_user(client, user=proposal.proposer, text=text, blocks=blocks)
        done = say(
            caller.t, "proposal.more_done", name=proposal.name, who=mention(proposal.proposer)
        )
    await tell_user(client, user=caller.user_id, text=done)


async def redraw_copies(
    deps: Deps,
    proposal: proposals.Proposal,
    client: AsyncWebClient,
    *,
    who: str,
    community_channel: str | None = None,
) -> None:
    """Every manager's copy says who decided what, without its buttons (best effort)."""
    for where, ts, manager in proposal.manager_messages:
        reader = await load_caller(
            deps, workspace_id=proposal.workspace_id, user_id=manager or who, channel_id=None
        )
        text, blocks = screens.decided_blocks(
            reader.t, proposal, who=who, community_channel=community_channel
        )
        try:
            await client.chat_update(channel=where, ts=ts, text=text, blocks=blocks_json(blocks))
        except SlackApiError:
            logger.warning(
                "could not redraw proposal %s for %s", proposal.id, manager, exc_info=True
            )


# --- accepting ----------------------------------------------------------------------------------


_CHANNEL_REFUSALS = {
    "name_taken": "proposal.channel_taken",
    "invalid_name": "proposal.channel_refused",
    "invalid_name_specials": "proposal.channel_refused",
    "invalid_name_punctuation": "proposal.channel_refused",
    "invalid_name_maxlength": "proposal.channel_refused",
    "invalid_name_required": "proposal.channel_refused",
}


async def _channel_for(client: AsyncWebClient, proposal: proposals.Proposal) -> str:
    """The community's channel: made (conversations.create) or the existing one, the bot in it.
    A refusal from Slack is a CopError the manager reads."""
    if not proposal.existing_channel:
        try:
            made = await client.conversations_create(name=proposal.channel)
        except SlackApiError as exc:
            reason = str(exc.response.get("error") or "error")
            key = _CHANNEL_REFUSALS.get(reason, "proposal.channel_failed")
            raise CopError(key, name=proposal.channel, reason=reason) from None
        return str(made["channel"]["id"])
    try:
        info = (await client.conversations_info(channel=proposal.channel))["channel"]
    except SlackApiError:
        raise CopError("proposal.channel_gone", channel=channel(proposal.channel)) from None
    if info.get("is_archived"):
        raise CopError("proposal.channel_gone", channel=channel(proposal.channel))
    if not info.get("is_member"):
        if info.get("is_private"):
            raise CopError("proposal.channel_private", channel=channel(proposal.channel))
        try:
            await client.conversations_join(channel=proposal.channel)
        except SlackApiError as exc:
            reason = str(exc.response.get("error") or "error")
            raise CopError(
                "proposal.channel_failed", name=proposal.channel, reason=reason
            ) from None
    return proposal.channel


async def accept(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    *,
    proposal_id: int,
    bot_user_id: str | None,
) -> Mrkdwn:
    """Claim the proposal (one manager only), make or join its channel, register the community,
    invite people, start the launch checklist; the manager's confirmation is returned. If Slack
    refuses the channel, the proposal is pending again and the manager is told why."""
    t = caller.t
    async with deps.sessions.begin() as session:
        decided = await proposals.decide(
            session, actor=caller.actor, proposal_id=proposal_id, decision=proposals.Decision.ACCEPT
        )
    proposal = decided.proposal
    if decided.already:
        return screens.already_text(t, proposal)
    try:
        channel_id = await _channel_for(client, proposal)
        async with deps.sessions.begin() as session:
            proposal, row = await proposals.register(
                session, actor=caller.actor, proposal_id=proposal_id, channel_id=channel_id
            )
            community = CommunityView.of(row)
    except CopError as exc:
        async with deps.sessions.begin() as session:
            await proposals.release(
                session, actor=caller.actor, proposal_id=proposal_id, reason=exc.key
            )
        return (
            say(t, "proposal.accept_failed", name=proposal.name)
            + Mrkdwn(" ")
            + say(t, exc.key, **exc.params)
        )
    await _invite(client, channel_id, [proposal.proposer, *proposal.interested])
    await roster.sync_community(
        deps.sessions, deps.directory, community, bot_user_ids=[bot_user_id] if bot_user_id else []
    )
    await launch(deps, client, proposal, community, manager=caller.user_id)
    await redraw_copies(deps, proposal, client, who=caller.user_id, community_channel=channel_id)
    return say(
        t,
        "proposal.accepted_done",
        name=proposal.name,
        channel=channel(channel_id),
        who=mention(proposal.proposer),
    )


async def _invite(client: AsyncWebClient, channel_id: str, users: list[str]) -> None:
    """One by one: Slack refuses a whole list for one person already in or deactivated."""
    for user in dict.fromkeys(u for u in users if u):
        try:
            await client.conversations_invite(channel=channel_id, users=user)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                logger.info(
                    "could not invite %s to %s: %s", user, channel_id, exc.response.get("error")
                )


async def launch(
    deps: Deps,
    client: AsyncWebClient,
    proposal: proposals.Proposal,
    community: CommunityView,
    *,
    manager: str,
) -> None:
    """The launch checklist (bot.lifecycle's, ticked from the data): posted in the new channel,
    in the community's language, and sent to the proposer, in theirs."""
    async with deps.sessions() as session:
        facts = await lifecycle.facts(
            session,
            workspace_id=community.workspace_id,
            community_ids=[community.id],
            defaults=lifecycle.ritual_defaults(deps.programme),
        )
    checklist = lifecycle.checklist(facts[community.id])
    t = community_translator(deps, community.language)
    intro = say(
        t,
        "proposal.channel_welcome",
        name=community.name,
        who=mention(proposal.proposer),
        manager=mention(manager),
        purpose=proposal.purpose,
    )
    blocks = screens.checklist_blocks(intro, checklist_text(t, checklist), t=t)
    try:
        await client.chat_postMessage(
            channel=community.channel_id, text=intro, blocks=blocks_json(blocks)
        )
    except SlackApiError:
        logger.warning("could not post the checklist in %s", community.channel_id, exc_info=True)
    reader = await load_caller(
        deps, workspace_id=community.workspace_id, user_id=proposal.proposer, channel_id=None
    )
    mine = say(
        reader.t,
        "proposal.you_accepted",
        who=mention(manager),
        name=community.name,
        channel=channel(community.channel_id),
    )
    await tell_user(
        client,
        user=proposal.proposer,
        text=mine,
        blocks=screens.checklist_blocks(mine, checklist_text(reader.t, checklist), t=reader.t),
    )


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "propose",
        handle_propose,
        (HelpLine("proposal.usage"),),
        aliases=("proposer", "proposition", "proposal"),
    )
]


def register(app: AsyncApp) -> None:
    app.action(screens.PROPOSE)(handle_open)
    app.action(screens.COMPLETE)(handle_complete)
    for action_id in screens.DECIDE_ACTIONS:
        app.action(action_id)(handle_decide)
    app.view(screens.MODAL)(handle_submit)
    app.view(screens.NOTE_MODAL)(handle_note_submit)
