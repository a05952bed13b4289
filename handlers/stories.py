"""Success stories: the prompt's button, the modal, and `/cop stories` for leaders to validate and post."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, people, stories
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.i18n import Translator
from bot.numbers import row_id
from bot.permissions import Actor
from bot.slack.blocks import home as home_screens
from bot.slack.blocks import story as screens
from bot.slack.echo import say
from handlers.charters import answer_click, refusal
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_here, open_view, read_modal, stamped
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


def _form(caller: Caller, *, kind: str, community_id: int, name: str, own_name: str) -> View:
    if kind == "testimonial":
        return screens.build_testimonial_modal(
            caller.t, community_id=community_id, community=name, name=own_name
        )
    return screens.build_modal(caller.t, community_id=community_id, community=name)


async def _own_name(deps: Deps, caller: Caller) -> str:
    """The name a testimonial is signed with by default: the person's own."""
    async with deps.sessions() as session:
        me = await people.find(
            session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
        )
    return (me.real_name or me.name) if me is not None else ""


async def _open_form(
    deps: Deps,
    client: AsyncWebClient,
    caller: Caller,
    *,
    kind: str,
    community_id: int,
    trigger_id: str,
    push: bool = False,
) -> None:
    """The story (or testimonial) form of one community of this workspace; CopError if none."""
    async with deps.sessions() as session:
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        name = community.name
    own = await _own_name(deps, caller) if kind == "testimonial" else ""
    view = _form(caller, kind=kind, community_id=community_id, name=name, own_name=own)
    if push:
        view.private_metadata = stamped(view.private_metadata, caller.t)
        await client.views_push(trigger_id=trigger_id, view=view)
    else:
        await open_view(client, trigger_id=trigger_id, view=view, t=caller.t)


async def _any_day(req: CommandRequest, kind: str) -> None:
    """`/cop story` / `/cop testimonial`: in a community's channel, its form; elsewhere the
    person's communities to choose from (straight to the form when there is only one)."""
    caller = req.caller
    if caller.community is not None:
        community = req.require_community()
        await _open_form(
            req.deps,
            req.client,
            caller,
            kind=kind,
            community_id=community.id,
            trigger_id=req.trigger_id,
        )
        return
    choices = await stories.communities_of(req.deps.sessions, actor=caller.actor)
    if not choices:
        await req.say("stories.no_community")
    elif len(choices) == 1:
        await _open_form(
            req.deps,
            req.client,
            caller,
            kind=kind,
            community_id=choices[0][0],
            trigger_id=req.trigger_id,
        )
    else:
        text, blocks = screens.build_picker(req.t, kind=kind, choices=choices)
        await req.show(text, blocks)


async def handle_story(req: CommandRequest) -> None:
    await _any_day(req, "story")


async def handle_testimonial(req: CommandRequest) -> None:
    await _any_day(req, "testimonial")


async def handle_home_share(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """The Home's "Share a success story" / "Leave a testimonial": the form, or a picker."""
    await ack()
    caller = await caller_here(deps, body)
    kind = "testimonial" if action.get("value") == "testimonial" else "story"
    choices = await stories.communities_of(deps.sessions, actor=caller.actor)
    if not choices:
        await client.chat_postMessage(channel=caller.user_id, text=caller.t("stories.no_community"))
        return
    if len(choices) == 1:
        await _open_form(
            deps,
            client,
            caller,
            kind=kind,
            community_id=choices[0][0],
            trigger_id=body["trigger_id"],
        )
        return
    view = screens.build_picker_modal(caller.t, kind=kind, choices=choices)
    await open_view(client, trigger_id=body["trigger_id"], view=view, t=caller.t)


async def handle_pick(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """A community chosen in the picker: its form (pushed on top when the picker is a modal)."""
    await ack()
    caller = await caller_here(deps, body)
    kind = "testimonial" if ":testimonial:" in str(action.get("action_id", "")) else "story"
    try:
        community_id = row_id(action.get("value"))
        if community_id not in {
            cid for cid, _ in await stories.communities_of(deps.sessions, actor=caller.actor)
        }:
            raise CopError("stories.not_a_member")
        await _open_form(
            deps,
            client,
            caller,
            kind=kind,
            community_id=community_id,
            trigger_id=body["trigger_id"],
            push=body.get("container", {}).get("type") == "view",
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))


def _field_errors(t: Any, exc: CopError, *, default: str) -> dict[str, str]:
    """The modal's errors, each under its field (the first per field); the rest under `default`."""
    if not isinstance(exc, InvalidFields):
        return {default: t(exc.key, **exc.params)}
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(error.field or default, t(error.key, **error.params))
    return errors


async def handle_testimonial_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Fields checked before the ack, without the database; the testimonial saved after it."""
    t, view = read_modal(deps, body)
    try:
        community_id, data = screens.parse_testimonial(view)
        stories.check_testimonial(data)
    except CopError as exc:
        await ack(response_action="errors", errors=_field_errors(t, exc, default="sentence"))
        return
    await ack()
    caller = await caller_here(deps, body)
    try:
        await stories.share_testimonial(
            deps.sessions,
            actor=caller.actor,
            community_id=community_id,
            data=data,
            submission_key=f"{view.get('id', '')}:{view.get('hash', '')}"[:64] or None,
        )
    except CopError as exc:
        await client.chat_postMessage(channel=caller.user_id, text=caller.t(exc.key, **exc.params))
        return
    await client.chat_postMessage(
        channel=caller.user_id, text=caller.t("stories.testimonial_thanks")
    )


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Fields checked before the ack, without the database; the story is saved after it."""
    t, view = read_modal(deps, body)
    try:
        community_id, data = screens.parse_modal(view)
        stories.check(data)
    except CopError as exc:  # a field's mistakes, or metadata that is not ours
        await ack(response_action="errors", errors=_field_errors(t, exc, default="title"))
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
                deps.sessions,
                actor=caller.actor,
                story_id=story_id,
                validate=verb == "validate",
                showcase=stories.Showcase(
                    channel_id=deps.programme.showcase_channel,
                    language=deps.programme.language,
                    owe=enqueue,
                ),
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
    Subcommand(
        "story",
        handle_story,
        (HelpLine("stories.usage_story"),),
        aliases=("histoire", "recit", "récit"),
    ),
    Subcommand(
        "testimonial",
        handle_testimonial,
        (HelpLine("stories.usage_testimonial"),),
        aliases=("temoignage", "témoignage"),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.action(story_ritual.SHARE)(handle_share)
    app.view(screens.VIEW)(handle_submit)
    app.view(screens.TESTIMONIAL_VIEW)(handle_testimonial_submit)
    app.action(re.compile(rf"^{home_screens.STORY_SHARE}"))(handle_home_share)
    app.action(re.compile(rf"^{screens.PICK}:"))(handle_pick)
    app.action(re.compile(rf"^{screens.VALIDATE}:"))(handle_validate)
    app.action(re.compile(rf"^{screens.REJECT}:"))(handle_reject)
    app.action(re.compile(rf"^{screens.POST}:"))(handle_post)
