"""The « animation » checklist after an event (bot.feedback): the DM's button opens the modal;
its submission is saved, feeds the compass, and the DM turns into a thank-you in place."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import feedback
from bot import messages as m
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.models import utcnow
from bot.numbers import row_id
from bot.slack.blocks import feedback as screens
from bot.slack.messages import render
from handlers.charters import field_errors, refusal, tell_user
from handlers.commands import Subcommand
from handlers.context import caller_here, caller_of, open_view, read_modal

logger = logging.getLogger(__name__)


async def handle_open(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The DM's button: the checklist, pre-filled with the person's earlier answers."""
    await ack()
    caller = await caller_here(deps, body)
    container = body.get("container") or {}
    try:
        event_id = row_id(action.get("value"))
        async with deps.sessions.begin() as session:
            found = await feedback.checklist(session, actor=caller.actor, event_id=event_id)
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    view = screens.build_modal(
        caller.t,
        event_id=found.event_id,
        event=found.event,
        community=found.community,
        mine=found.mine,
        comment=found.comment,
        channel=container.get("channel_id"),
        ts=container.get("message_ts"),
    )
    await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Checked before the ack (errors travel in it); saved after, then the DM updated."""
    t, view = read_modal(deps, body)
    try:
        picked, comment = screens.parse(view)
        answers, text = feedback.validate(picked, comment)
        event_id = screens.event_of(view)
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
    try:
        async with deps.sessions.begin() as session:
            event, changed = await feedback.answer(
                session,
                actor=caller.actor,
                event_id=event_id,
                answers=answers,
                comment=text,
                now=utcnow(),
            )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    thanks, blocks = render(
        feedback.thanks_message(
            event_id=event.id, event=event.title, answers=answers, changed=changed
        ),
        m.Reader(caller.language),
    )
    channel, ts = screens.dm_of(view)
    if channel and ts and await _own_dm(client, caller.user_id, channel):
        try:
            await client.chat_update(channel=channel, ts=ts, text=thanks, blocks=blocks)
            return
        except Exception:
            logger.warning("could not update the checklist DM", exc_info=True)
    await tell_user(client, user=caller.user_id, text=thanks, blocks=blocks)


async def _own_dm(client: AsyncWebClient, user_id: str, channel: str) -> bool:
    """The message to update is in the person's own DM with the bot (the metadata came back
    from Slack, but a forged one could name any message the bot posted)."""
    try:
        opened = await client.conversations_open(users=user_id)
    except Exception:
        return False
    return str((opened.get("channel") or {}).get("id") or "") == channel


SUBCOMMANDS: list[Subcommand] = []  # reached from the DM only


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.action(feedback.OPEN_ACTION)(handle_open)
    app.view(screens.MODAL)(handle_submit)
