"""`/cop stage` (`/cop étape`): where a community stands in its lifecycle, its next actions, and
for its leaders and programme managers the means to move it (buttons, a modal, or typed)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, event_changes, health, lifecycle
from bot.deps import Deps
from bot.errors import CopError, InvalidInput
from bot.events import EventDraft
from bot.models import Community, CommunityStatus, EventKind, Stage, utcnow
from bot.numbers import row_id
from bot.permissions import Action, may, require
from bot.slack.blocks import event as event_screens
from bot.slack.blocks import lifecycle as screens
from bot.slack.blocks.common import blocks_json
from bot.slack.echo import Mrkdwn, mention, say
from handlers import home
from handlers.charters import answer_click, community_translator, refusal, tell_user
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_here, caller_of, open_view, read_modal, zone_of
from handlers.health import question_kinds

logger = logging.getLogger(__name__)
HISTORY_WORDS = {"history", "historique"}


async def screen(deps: Deps, caller: Caller, community_id: int) -> tuple[Mrkdwn, list[Any]]:
    """The community's stage, status, who set it, the suggestion and the checklist."""
    now = utcnow()
    today = now.astimezone(ZoneInfo(deps.programme.timezone)).date()
    async with deps.sessions.begin() as session:
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        items = await health.overview(
            session,
            workspace_id=caller.workspace_id,
            today=today,
            thresholds=deps.programme.health,
            community_ids=[community_id],
            question_kinds=question_kinds(deps),
            now=now,
            rule=deps.disclosure,
        )
        defaults = lifecycle.ritual_defaults(deps.programme)
        found = await lifecycle.reviews(
            session, workspace_id=caller.workspace_id, items=items, defaults=defaults, now=now
        )
        review = found.get(community_id)
        if review is None:  # not assessed (no live channel): the facts alone, no suggestion
            f = (
                await lifecycle.facts(
                    session,
                    workspace_id=caller.workspace_id,
                    community_ids=[community_id],
                    defaults=defaults,
                    now=now,
                )
            )[community_id]
            review = lifecycle.Review(f, lifecycle.checklist(f), None)
        data = screens.StageScreen(
            community_id=community_id,
            community_name=community.name,
            created=community.created_at.date(),
            facts=review.facts,
            last=await lifecycle.last_change(session, community_id=community_id),
            suggestion=review.suggestion,
            may_set=await may(
                session, actor=caller.actor, action=Action.SET_STAGE, community_id=community_id
            ),
        )
    text, blocks = screens.build_stage(caller.t, data)
    return text, blocks_json(blocks)


async def _steered(session: Any, caller: Caller, community_id: int) -> Community:
    """The community, for someone who may move it along its lifecycle (else the refusal)."""
    community = await communities.get(
        session, workspace_id=caller.workspace_id, community_id=community_id
    )
    await require(session, actor=caller.actor, action=Action.SET_STAGE, community_id=community_id)
    return community


def _parse_words(args: list[str]) -> tuple[Stage | None, CommunityStatus | None, str]:
    """`croissance [raison…]`, `en_sommeil`, `closed`: a stage or a status, then the reason."""
    word = args[0].lower()
    if len(args) > 1 and f"{word}_{args[1].lower()}" in lifecycle.STATUS_WORDS:
        word, args = f"{word}_{args[1].lower()}", [word, *args[2:]]  # « en sommeil », as typed
    if word in lifecycle.STAGE_WORDS:
        return lifecycle.STAGE_WORDS[word], None, " ".join(args[1:])
    if word in lifecycle.STATUS_WORDS:
        return None, lifecycle.STATUS_WORDS[word], " ".join(args[1:])
    raise InvalidInput("lifecycle.bad_stage", value=args[0][:40])


async def handle_stage(req: CommandRequest) -> None:
    """`/cop stage` shows; `/cop stage <stage|status> [reason]` changes (leaders, managers)."""
    community = req.require_community()
    if not req.args:
        text, blocks = await screen(req.deps, req.caller, community.id)
        await req.show(text, blocks)
        return
    if req.args[0].lower() in HISTORY_WORDS:
        async with req.deps.sessions() as session:
            steps = await lifecycle.history(session, community_id=community.id)
        text, built = screens.build_history(
            req.t,
            community_name=community.name,
            steps=steps,
            tz=await zone_of(req.deps, req.caller),
        )
        await req.show(text, blocks_json(built))
        return
    stage, status, reason = _parse_words(req.args)
    confirmation = await apply(
        req.deps,
        req.client,
        req.caller,
        community_id=community.id,
        stage=stage,
        status=status,
        reason=reason,
    )
    await req.respond(text=confirmation, response_type="ephemeral", replace_original=False)


async def apply(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    *,
    community_id: int,
    stage: Stage | None,
    status: CommunityStatus | None,
    reason: str = "",
    now: datetime | None = None,
) -> Mrkdwn:
    """Write the change (bot.lifecycle checks who may), tell the channel when the stage moved,
    refresh the runners' Homes; the caller's confirmation is returned."""
    async with deps.sessions.begin() as session:
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        change = await lifecycle.change(
            session,
            actor=caller.actor,
            community=community,
            stage=stage,
            status=status,
            reason=reason,
            now=now,
        )
        language = community.language
    announced = _announcement(deps, language, change, who=mention(caller.user_id))
    if announced is not None:
        try:
            await client.chat_postMessage(channel=change.channel_id, text=announced)
        except SlackApiError:
            logger.warning("could not announce the stage in %s", change.channel_id, exc_info=True)
    await home.refresh_community(
        deps,
        client,
        workspace_id=caller.workspace_id,
        community_id=community_id,
        author=caller.user_id,
        runners_only=True,
    )
    t = caller.t
    return say(
        t,
        "lifecycle.changed",
        name=change.community_name,
        stage=screens.stage_name(t, change.to_stage),
        status=screens.status_name(t, change.to_status),
    )


def _announcement(
    deps: Deps, language: str | None, change: lifecycle.Change, *, who: Mrkdwn
) -> Mrkdwn | None:
    """What the community's channel is told, in its language: a new stage, or the community
    closed or reopened (dormancy is the leaders' and the programme's business, not announced)."""
    t = community_translator(deps, language)
    closed = CommunityStatus.CLOSED
    if change.to_status == closed and change.from_status != closed:
        return say(t, "lifecycle.announce_closed", who=who)
    if change.from_status == closed and change.to_status != closed:
        return say(t, "lifecycle.announce_reopened", who=who)
    if not change.stage_moved:
        return None
    stage = screens.stage_name(t, change.to_stage)
    if change.reason:
        return say(t, "lifecycle.announce_reason", stage=stage, who=who, reason=change.reason)
    return say(t, "lifecycle.announce", stage=stage, who=who)


async def _redraw(deps: Deps, respond: AsyncRespond, caller: Caller, community_id: int) -> None:
    """The /cop stage message clicked in, drawn again with what changed."""
    if not respond.response_url:
        return
    text, blocks = await screen(deps, caller, community_id)
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


async def handle_open(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """The "change" button: the modal, for those who may change the stage."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id = row_id(action.get("value"))
        async with deps.sessions.begin() as session:
            community = await _steered(session, caller, community_id)
            may_close = await may(
                session,
                actor=caller.actor,
                action=Action.CLOSE_COMMUNITY,
                community_id=community_id,
            )
            view = screens.build_modal(
                caller.t,
                community_id=community_id,
                community_name=community.name,
                stage=community.stage,
                status=community.status,
                may_close=may_close,
            )
        await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The modal: the change is written after the ack, and confirmed privately."""
    t, view = read_modal(deps, body)
    try:
        submitted = screens.parse_modal(view)
    except CopError as exc:
        await ack(response_action="errors", errors={screens.STAGE_BLOCK: t(exc.key, **exc.params)})
        return
    await ack()
    caller = await caller_of(deps, body)
    try:
        text = await apply(
            deps,
            client,
            caller,
            community_id=submitted.community_id,
            stage=submitted.stage,
            status=submitted.status,
            reason=submitted.reason,
        )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    await tell_user(client, user=caller.user_id, text=text)


async def handle_apply(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """ "Move to <suggested stage>": one click, the same checks as the modal."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id, stage = screens.parse_apply(str(action.get("value") or ""))
        text = await apply(
            deps, client, caller, community_id=community_id, stage=stage, status=None
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    await answer_click(client, respond, caller=caller, text=text)
    await _redraw(deps, respond, caller, community_id)


async def handle_redesign(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """The reorientation checklist's conversation with the sponsor, recorded as held."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id = row_id(action.get("value"))
        async with deps.sessions.begin() as session:
            community = await _steered(session, caller, community_id)
            await lifecycle.record_redesign_talk(session, community=community, actor=caller.user_id)
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    await answer_click(client, respond, caller=caller, text=caller.t("lifecycle.redesign_recorded"))
    await _redraw(deps, respond, caller, community_id)


async def handle_kickoff(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """ "Schedule the kick-off": the event modal (its own submission creates the event), as a
    kick-off meeting whose description is the guides' outline."""
    await ack()
    caller = await caller_here(deps, body)
    t = caller.t
    try:
        shown = await event_changes.editor(
            deps.sessions,
            actor=caller.actor,
            community_id=row_id(action.get("value")),
            default_tz=deps.programme.timezone,
        )
        draft = EventDraft(
            title=t("lifecycle.kickoff_event_title"),
            kind=EventKind.KICK_OFF,
            day=None,
            start=None,
            duration_minutes=90,
            tz=shown.default_tz,
            description=screens.kickoff_outline(t),
        )
        view = event_screens.build_modal(
            t,
            community_id=shown.community_id,
            community_name=shown.community_name,
            default_tz=shown.default_tz,
            draft=draft,
        )
        await open_view(client, trigger_id=body["trigger_id"], view=view, t=t)
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "stage",
        handle_stage,
        (
            HelpLine("lifecycle.usage"),
            HelpLine("lifecycle.usage_history"),
            HelpLine("lifecycle.usage_set", Action.SET_STAGE),
        ),
        aliases=("étape", "etape", "cycle"),
    )
]


def register(app: AsyncApp) -> None:
    app.action(screens.OPEN)(handle_open)
    app.action(screens.APPLY)(handle_apply)
    app.action(screens.REDESIGN)(handle_redesign)
    app.action(screens.KICKOFF)(handle_kickoff)
    app.view(screens.MODAL)(handle_submit)
