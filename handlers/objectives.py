"""`/cop charter objectives`: the year's charter objectives with a button per status and their
indicator; the same buttons in the leaders' quarterly DM (rituals/objectives.py). A click
updates the objective, then the message it came from, in place.

Careful cases: someone who may not follow the objectives up (a former leader clicking an old DM)
gets the standard refusal and the message stays as it was; a second click on the status an
objective already has changes nothing and redraws the same message; an objective taken out of
the charter meanwhile is said to be gone, and the message is redrawn without it.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import messages as m
from bot import objectives
from bot.deps import Deps
from bot.errors import CopError, InvalidFields, NotFound
from bot.models import ObjectiveStatus, utcnow
from bot.numbers import row_id
from bot.permissions import Action, require
from bot.slack.blocks import objectives as screens
from bot.slack.echo import say
from bot.slack.messages import render
from handlers.commands import CommandRequest
from handlers.context import Caller, caller_of, open_view, read_modal, zone_of
from rituals import objectives as ritual

logger = logging.getLogger(__name__)

WORDS = {"objectives", "objective", "objectifs", "objectif"}


def _value(raw: Any) -> tuple[int, int, int]:
    """(community, year, objective) from a button's value; anything else is "not found"."""
    parts = str(raw or "").split(":")
    if len(parts) != 3:
        raise NotFound("error.not_found")
    community_id, year, objective_id = (row_id(p) for p in parts)
    return community_id, year, objective_id


async def _board(deps: Deps, caller: Caller, *, community_id: int, year: int) -> ritual.Board:
    """The year's objectives of a community, for someone who may follow them up."""
    async with deps.sessions.begin() as session:
        await require(
            session, actor=caller.actor, action=Action.TRACK_OBJECTIVES, community_id=community_id
        )
        return await ritual.board(
            session,
            workspace_id=caller.workspace_id,
            community_id=community_id,
            year=year,
            today=deps.today(),
            default_tz=deps.programme.timezone,
            rule=deps.disclosure,
            question_kinds={q.key: q.kind for q in deps.programme.rituals.pulse.questions},
        )


async def _reader(deps: Deps, caller: Caller) -> m.Reader:
    return m.Reader(caller.language, await zone_of(deps, caller))


# --- /cop charter objectives ----------------------------------------------------------------------


async def handle_objectives(req: CommandRequest) -> None:
    """This year's objectives (in the community's zone) with their buttons, for its runners."""
    community = req.require_community()
    deps = req.deps
    year = utcnow().astimezone(ZoneInfo(community.tz or deps.programme.timezone)).year
    board = await _board(deps, req.caller, community_id=community.id, year=year)
    text, blocks = render(
        ritual.objectives_message(board, review=False), await _reader(deps, req.caller)
    )
    await req.show(text, blocks)


# --- the buttons ------------------------------------------------------------------------------------


def _is_ephemeral(body: dict[str, Any]) -> bool:
    container = body.get("container") or {}
    return bool(container.get("is_ephemeral")) or not container.get("message_ts")


async def _redraw(
    deps: Deps,
    client: AsyncWebClient,
    *,
    caller: Caller,
    board: ritual.Board,
    review: bool,
    place: dict[str, str],
    respond: AsyncRespond | None = None,
) -> None:
    """The message the click came from, drawn again: an ephemeral answer through its
    response_url, a DM (a message of the bot's) with chat.update."""
    text, blocks = render(
        ritual.objectives_message(board, review=review), await _reader(deps, caller)
    )
    try:
        if "ch" in place and "ts" in place:
            await client.chat_update(channel=place["ch"], ts=place["ts"], text=text, blocks=blocks)
        elif respond is not None:
            await respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=True
            )
        elif "u" in place:
            await AsyncWebhookClient(place["u"]).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=True
            )
    except SlackApiError:
        logger.warning("could not redraw the objectives of %s", board.community_id, exc_info=True)


def _place(body: dict[str, Any]) -> dict[str, str]:
    if _is_ephemeral(body):
        url = body.get("response_url")
        return {"u": url} if isinstance(url, str) else {}
    container = body["container"]
    return {"ch": str(container["channel_id"]), "ts": str(container["message_ts"])}


async def _tell(respond: AsyncRespond, caller: Caller, key: str, **params: Any) -> None:
    await respond(
        text=say(caller.t, key, **params), response_type="ephemeral", replace_original=False
    )


async def handle_status(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    await ack()
    caller = await caller_of(deps, body)
    gone = False
    try:
        status = ObjectiveStatus(str(action.get("action_id", "")).partition(":")[2])
        community_id, year, objective_id = _value(action.get("value"))
        async with deps.sessions.begin() as session:
            try:
                await objectives.set_status(
                    session, actor=caller.actor, objective_id=objective_id, status=status
                )
            except NotFound:
                gone = True
        board = await _board(deps, caller, community_id=community_id, year=year)
    except ValueError:
        await _tell(respond, caller, "error.not_found")
        return
    except CopError as exc:
        await _tell(respond, caller, exc.key, **exc.params)
        return
    ephemeral = _is_ephemeral(body)
    await _redraw(
        deps,
        client,
        caller=caller,
        board=board,
        review=not ephemeral,
        place={} if ephemeral else _place(body),
        respond=respond if ephemeral else None,
    )
    if gone:
        await _tell(respond, caller, "objectives.gone")


async def handle_indicator(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """Opens the indicator modal, pre-filled (the permission is checked again on saving)."""
    await ack()
    caller = await caller_of(deps, body)
    try:
        _, _, objective_id = _value(action.get("value"))
        async with deps.sessions.begin() as session:
            objective = await objectives.get(session, actor=caller.actor, objective_id=objective_id)
    except CopError as exc:
        await _tell(respond, caller, exc.key, **exc.params)
        return
    view = screens.build_modal(caller.t, objective=objective, place=_place(body))
    await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)


async def handle_indicator_submit(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Field errors go back in the modal (all at once); a valid choice is saved and the
    objectives message the modal came from is drawn again."""
    t, view = read_modal(deps, body)
    try:
        indicator, target = screens.parse(view)
        objective_id, community_id, year, place = screens.place_of(view)
    except InvalidFields as exc:
        errors: dict[str, str] = {}
        for error in exc.errors:
            errors.setdefault(screens.field_block(error.field), t(error.key, **error.params))
        await ack(response_action="errors", errors=errors)
        return
    except CopError as exc:
        await ack(response_action="errors", errors={screens.field_block(None): t(exc.key)})
        return
    await ack()
    caller = await caller_of(deps, body)
    try:
        async with deps.sessions.begin() as session:
            await objectives.set_indicator(
                session,
                actor=caller.actor,
                objective_id=objective_id,
                indicator=indicator,
                target=target,
            )
        board = await _board(deps, caller, community_id=community_id, year=year)
    except CopError as exc:
        await client.chat_postMessage(
            channel=caller.user_id, text=say(caller.t, exc.key, **exc.params)
        )
        return
    await _redraw(deps, client, caller=caller, board=board, review="ch" in place, place=place)


def register(app: AsyncApp) -> None:
    """Listeners of this feature (called from handlers.charters: objectives are the charter's)."""
    for status in ObjectiveStatus:
        app.action(f"{ritual.STATUS}:{status.value}")(handle_status)
    app.action(ritual.INDICATOR)(handle_indicator)
    app.view(screens.MODAL)(handle_indicator_submit)
