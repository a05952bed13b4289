"""Pulse poll buttons: answering, changing an answer (until close), the comment modal."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import polls
from bot.deps import Deps
from bot.errors import CopError
from bot.slack.blocks import poll as screens
from bot.slack.echo import say
from handlers.commands import Subcommand
from handlers.context import Caller, caller_of, open_view, read_modal
from rituals import pulse

SUBCOMMANDS: list[Subcommand] = []


async def _record(
    deps: Deps, caller: Caller, *, poll_id: int, key: str, score: int | None, comment: str | None
) -> None:
    async with deps.sessions.begin() as session:
        await polls.answer_as(
            session,
            key=deps.ballot_key,
            workspace_id=caller.workspace_id,
            user_id=caller.user_id,
            poll_id=poll_id,
            question_key=key,
            score=score,
            comment=comment,
        )


async def handle_answer(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    """A score button: stored against an unlinkable ballot; clicking again changes the answer."""
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        poll_id, key, score = pulse.parse_answer(action["value"])
        await _record(deps, caller, poll_id=poll_id, key=key, score=score, comment=None)
    except CopError as exc:
        await respond(
            text=say(t, exc.key, **exc.params), response_type="ephemeral", replace_original=False
        )
        return
    except ValueError:
        await respond(text=t("polls.bad_answer"), response_type="ephemeral", replace_original=False)
        return
    await respond(
        text=t("polls.thanks", score=t.number(score)),
        response_type="ephemeral",
        replace_original=False,
    )


async def handle_comment_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    await ack()
    caller = await caller_of(deps, body)
    try:
        poll_id, key = pulse.parse_question(action.get("value") or "")
        async with deps.sessions() as session:
            await polls.get(session, workspace_id=caller.workspace_id, poll_id=poll_id)
    except CopError as exc:
        await respond(
            text=say(caller.t, exc.key, **exc.params),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    await open_view(
        client,
        trigger_id=body["trigger_id"],
        view=screens.build_comment_modal(caller.t, poll_id=poll_id, key=key),
        t=caller.t,
    )


async def handle_comment_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The comment is checked before the ack (no database: its errors travel in the ack), then
    recorded; a refusal then (the poll closed meanwhile) comes by DM."""
    t, view = read_modal(deps, body)
    try:
        poll_id, key, comment = screens.parse_comment(view)
        polls.check_comment(comment)
    except CopError as exc:
        await ack(
            response_action="errors", errors={screens.COMMENT_BLOCK: t(exc.key, **exc.params)}
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        await _record(deps, caller, poll_id=poll_id, key=key, score=None, comment=comment)
    except CopError as exc:
        await client.chat_postMessage(channel=caller.user_id, text=t(exc.key, **exc.params))
        return
    await client.chat_postMessage(channel=caller.user_id, text=t("polls.comment_thanks"))


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.action(re.compile(rf"^{pulse.ANSWER}:"))(handle_answer)
    app.action(pulse.COMMENT)(handle_comment_button)
    app.view(screens.COMMENT_VIEW)(handle_comment_submit)
