"""/cop compass (/cop boussole): the maturity self-assessment of a community, and the
programme's heatmap behind /cop health's « Boussole » button."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, compass
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.i18n import Translator
from bot.models import utcnow
from bot.permissions import Action, Actor, require
from bot.slack.blocks import compass as screens
from bot.slack.blocks.common import blocks_json, section
from bot.slack.echo import echo, say
from handlers.charters import field_errors, refusal, tell_user
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_here, caller_of, open_view, read_modal, zone_of

logger = logging.getLogger(__name__)

RESULT_WORDS = {"results", "result", "résultats", "resultats", "résultat", "show", "voir"}
PROGRAMME_WORDS = {"programme", "program", "heatmap", "carte"}


async def open_modal(
    deps: Deps,
    client: AsyncWebClient,
    *,
    actor: Actor,
    t: Translator,
    community_id: int,
    trigger_id: str,
) -> None:
    """Join the open round (or open one), then the questionnaire pre-filled with the person's
    answers in it."""
    now = utcnow()
    async with deps.sessions.begin() as session:
        asked = await compass.questionnaire(
            session,
            actor=actor,
            community_id=community_id,
            now=now,
            survey_rule=deps.disclosure,
        )
    name, current, found = asked.community_name, asked.current, asked.found
    mine, answered_on = asked.mine, asked.answered_on
    zone = asked.person_tz or deps.programme.timezone
    view = screens.build_modal(
        t,
        community_id=community_id,
        community_name=name,
        current=current,
        respondents=found.respondents if found else 0,
        mine=mine,
        answered_on=answered_on,
        tz=zone,
    )
    await open_view(client, trigger_id=trigger_id, view=view, t=t)


async def handle_compass(req: CommandRequest) -> None:
    """`/cop compass` opens the questionnaire; `/cop compass results` shows the round so far."""
    word = req.args[0].lower() if req.args else ""
    if word in PROGRAMME_WORDS:  # a refusal is answered by the dispatcher
        await req.show(*await heatmap_message(req.deps, req.caller))
        return
    community = req.require_community()
    if word in RESULT_WORDS:
        async with req.deps.sessions.begin() as session:
            await require(
                session,
                actor=req.caller.actor,
                action=Action.TAKE_COMPASS,
                community_id=community.id,
            )
        await send_result(
            req.deps,
            req.client,
            caller=req.caller,
            community_id=community.id,
            channel=req.caller.channel_id,
        )
        return
    await open_modal(
        req.deps,
        req.client,
        actor=req.caller.actor,
        t=req.t,
        community_id=community.id,
        trigger_id=req.trigger_id,
    )


async def send_result(
    deps: Deps,
    client: AsyncWebClient,
    *,
    caller: Caller,
    community_id: int,
    channel: str | None,
    lead: str | None = None,  # a catalogue key
) -> None:
    """The round's result as a private note (ephemeral in the channel, else a DM), then its
    radar chart in the person's DM (an ephemeral message cannot carry a file)."""
    t = caller.t
    now = utcnow()
    async with deps.sessions.begin() as session:
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        found = await compass.result(session, community_id=community_id, now=now)
        name = community.name
    if found is None or found.empty:
        await tell_user(
            client, user=caller.user_id, channel=channel, text=say(t, "compass.empty", name=name)
        )
        return
    text, built = screens.build_result(t, found, name=name, tz=await zone_of(deps, caller))
    if lead:  # "compass.saved" or "compass.changed", above the result
        text = say(t, lead, name=name)
        built = [section(text), *built]
    await tell_user(client, user=caller.user_id, channel=channel, text=text, blocks=built)
    try:
        png = await asyncio.to_thread(compass.radar_png, t, found, name=name)
        dm = await client.conversations_open(users=caller.user_id)
        await client.files_upload_v2(
            channel=str(dm["channel"]["id"]),
            content=png,
            filename="compass-radar.png",
            title=t("compass.chart_title", name=name),
            initial_comment=say(t, "compass.chart_comment", name=name),
        )
    except Exception:
        logger.warning("could not upload the compass radar", exc_info=True)


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Checked before the ack (errors travel in it); saved after, then the result."""
    t, view = read_modal(deps, body)
    try:
        scores = compass.validate(screens.parse(view))
        community_id = screens.community_of(view)
    except InvalidFields as exc:
        await ack(response_action="errors", errors=field_errors(t, exc, screens.block_of))
        return
    except CopError as exc:
        await ack(
            response_action="errors", errors={screens.block_of(None): t(exc.key, **exc.params)}
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    now = utcnow()
    try:
        async with deps.sessions.begin() as session:
            recorded, community = await compass.record_as(
                session, actor=caller.actor, community_id=community_id, scores=scores, now=now
            )
            channel = community.channel_id
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    await send_result(
        deps,
        client,
        caller=caller,
        community_id=community_id,
        channel=channel,
        lead="compass.changed" if recorded.replaced else "compass.saved",
    )


# --- the programme's heatmap ------------------------------------------------------------------


async def heatmap_message(deps: Deps, caller: Caller) -> tuple[str, list[Any]]:
    """Communities × dimensions for a programme manager (compass.heatmap, as the report and the
    dashboard show it); NotAllowed for anyone else."""
    async with deps.sessions.begin() as session:
        await require(session, actor=caller.actor, action=Action.VIEW_PROGRAMME)
        found = await compass.heatmap(session, workspace_id=caller.workspace_id)
    text, built = screens.build_heatmap(caller.t, found)
    return text, blocks_json(built)


async def handle_heatmap_button(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """/cop health's « Boussole » button: the heatmap, under the overview (or by DM)."""
    await ack()
    caller = await caller_here(deps, body)
    response_url = body.get("response_url")
    try:
        text, built = await heatmap_message(deps, caller)
    except CopError as exc:
        await _answer(client, response_url, caller, refusal(caller, exc), [])
        return
    await _answer(client, response_url, caller, text, built)


async def _answer(
    client: AsyncWebClient, response_url: str | None, caller: Caller, text: str, blocks: list
) -> None:
    if response_url:
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        await AsyncWebhookClient(response_url).send(
            text=echo(text),
            blocks=blocks or None,
            response_type="ephemeral",
            replace_original=False,
        )
    else:
        await tell_user(client, user=caller.user_id, text=text, blocks=blocks)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "compass",
        handle_compass,
        (
            HelpLine("compass.usage", Action.TAKE_COMPASS),
            HelpLine("compass.usage_programme", Action.VIEW_PROGRAMME),
        ),
        aliases=("boussole",),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.view(screens.MODAL)(handle_submit)
    app.action(screens.HEATMAP)(handle_heatmap_button)
