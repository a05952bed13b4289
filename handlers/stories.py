"""Success stories: the prompt's button, the modal, and `/cop stories` for leaders to validate and post."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, stories
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.i18n import Translator
from bot.numbers import row_id
from bot.permissions import Actor
from bot.slack.blocks import story as screens
from bot.slack.echo import say
from handlers.charters import answer_click, refusal
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import caller_here, open_view, read_modal
from rituals import stories as story_ritual
from rituals.outbox.enqueueing import enqueue


async def handle_share(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """The prompt's button opens the story modal."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id = row_id(action.get("value"))
        async with deps.sessions() as session:
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            name = community.name
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    await open_view(
        client,
        trigger_id=body["trigger_id"],
        view=screens.build_modal(caller.t, community_id=community_id, community=name),
        t=caller.t,
    )


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Fields checked before the ack, without the database; the story is saved after it."""
    t, view = read_modal(deps, body)
    try:
        community_id, data = screens.parse_modal(view)
        stories.check(data)
    except InvalidFields as exc:
        errors: dict[str, str] = {}
        for error in exc.errors:
            errors.setdefault(error.field or "title", t(error.key, **error.params))
        await ack(response_action="errors", errors=errors)
        return
    except CopError as exc:  # metadata that is not ours
        await ack(response_action="errors", errors={"title": t(exc.key, **exc.params)})
        return
    await ack()
    caller = await caller_here(deps, body)
    t = caller.t
    try:  # the modal's community, in this workspace
        await stories.share(
            deps.sessions,
            actor=caller.actor,
            community_id=community_id,
            data=data,
            submission_key=f"{view.get('id', '')}:{view.get('hash', '')}"[:64] or None,
        )
    except CopError as exc:
        await client.chat_postMessage(channel=caller.user_id, text=t(exc.key, **exc.params))
        return
    await client.chat_postMessage(channel=caller.user_id, text=t("stories.thanks"))


async def _review(
    deps: Deps, *, t: Translator, actor: Actor, community_id: int
) -> tuple[str, list[Any]]:
    shown = await stories.review(deps.sessions, actor=actor, community_id=community_id)
    return screens.build_review(
        t, community=shown.community_name, stories=shown.stories, may_validate=shown.may_validate
    )


async def handle_stories(req: CommandRequest) -> None:
    """`/cop stories`: the community's stories; leaders validate and post them."""
    community = req.require_community()
    text, blocks = await _review(
        req.deps, t=req.t, actor=req.caller.actor, community_id=community.id
    )
    await req.show(text, blocks)


async def _decide(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    deps: Deps,
    *,
    verb: str,
) -> None:
    await ack()
    caller = await caller_here(deps, body)
    t = caller.t
    try:
        story_id = row_id(action.get("value"))
        if verb == "post":
            community_id = await stories.post(
                deps.sessions,
                enqueue,
                actor=caller.actor,
                story_id=story_id,
                language=caller.language,
            )
        else:
            community_id = await stories.judge(
                deps.sessions, actor=caller.actor, story_id=story_id, validate=verb == "validate"
            )
    except CopError as exc:
        await respond(
            text=say(t, exc.key, **exc.params), response_type="ephemeral", replace_original=False
        )
        return
    text, blocks = await _review(deps, t=t, actor=caller.actor, community_id=community_id)
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


async def handle_validate(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    await _decide(ack, body, action, respond, deps, verb="validate")


async def handle_reject(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    await _decide(ack, body, action, respond, deps, verb="reject")


async def handle_post(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    await _decide(ack, body, action, respond, deps, verb="post")


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "stories",
        handle_stories,
        (HelpLine("stories.usage"),),
        aliases=("histoires", "recits", "récits"),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.action(story_ritual.SHARE)(handle_share)
    app.view(screens.VIEW)(handle_submit)
    app.action(re.compile(rf"^{screens.VALIDATE}:"))(handle_validate)
    app.action(re.compile(rf"^{screens.REJECT}:"))(handle_reject)
    app.action(re.compile(rf"^{screens.POST}:"))(handle_post)
