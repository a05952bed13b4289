"""/cop charter: the modal, versions, show and history (leaders' tools)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import charters, communities
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.i18n import Translator, translate
from bot.models import utcnow
from bot.numbers import row_id
from bot.permissions import Action, Actor, require
from bot.slack.blocks import charter as screens
from bot.slack.blocks.common import blocks_json
from bot.slack.blocks.home import CHARTER_EDIT
from bot.slack.echo import echo
from handlers import home
from handlers import objectives as objectives_handlers
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_of, open_view, read_modal, zone_of
from rituals import objectives as objectives_ritual

logger = logging.getLogger(__name__)

EDIT_WORDS = {"", "edit", "modifier", "editer", "éditer", "edition", "édition"}
SHOW_WORDS = {"show", "voir", "afficher"}
HISTORY_WORDS = {"history", "historique"}
PUBLIC_FLAGS = {"--public", "--publique", "--canal", "--channel"}


# --- helpers shared by the leaders' handlers --------------------------------------------------------


async def tell_user(
    client: AsyncWebClient,
    *,
    user: str,
    text: str,
    channel: str | None = None,
    blocks: list[Any] | None = None,
) -> None:
    """An ephemeral note in `channel` when the person is there, else a DM (e.g. from the Home tab).
    The note may quote what someone typed: it shows as typed (bot.slack.echo)."""
    payload: dict[str, Any] = {"text": echo(text)}
    if blocks:
        payload["blocks"] = blocks_json(blocks)
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, **payload)
            return
        except SlackApiError as exc:
            logger.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel, exc)
    try:
        await client.chat_postMessage(channel=user, **payload)
    except SlackApiError:
        logger.warning("could not reach %s", user, exc_info=True)


async def answer_click(
    client: AsyncWebClient, respond: AsyncRespond, *, caller: Caller, text: str
) -> None:
    """A private answer to whoever clicked: under the clicked message when Slack gave a
    response_url, else (a button on the Home tab) by DM."""
    text = echo(text)
    if respond.response_url:
        await respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        await tell_user(client, user=caller.user_id, text=text)


def refusal(caller: Caller, exc: CopError) -> str:
    """An expected refusal, in the caller's language."""
    return caller.t(exc.key, **exc.params)


ModalOpener = Callable[..., Awaitable[None]]


async def open_from_command(opener: ModalOpener, req: CommandRequest) -> None:
    """`/cop charter` or `/cop event` typed in a community channel: that community's modal."""
    await opener(
        req.deps,
        req.client,
        actor=req.caller.actor,
        t=req.t,
        community_id=req.require_community().id,
        trigger_id=req.trigger_id,
    )


async def open_from_button(
    opener: ModalOpener,
    *,
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
    **target: Any,
) -> None:
    """A button that opens a leaders' modal (charter, event). The button carries only ids (read
    here: a forged one is "not found"), so the opener checks the permission again; a refusal is
    answered privately."""
    await ack()
    caller = await caller_of(deps, body)
    try:
        await opener(
            deps,
            client,
            actor=caller.actor,
            t=caller.t,
            trigger_id=body["trigger_id"],
            **{name: row_id(value) for name, value in target.items()},
        )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))


def community_translator(deps: Deps, language: str | None) -> Translator:
    return translate(language or deps.programme.language)


def field_errors(t: Translator, exc: InvalidFields, block_of: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(block_of(error.field), t(error.key, **error.params))
    return errors


# --- opening the modal ------------------------------------------------------------------------


async def open_modal(
    deps: Deps,
    client: AsyncWebClient,
    *,
    actor: Actor,
    t: Translator,
    community_id: int,
    trigger_id: str,
) -> None:
    """Check the permission (again: a Home button carries only an id), then open the pre-filled modal."""
    async with deps.sessions.begin() as session:
        await require(session, actor=actor, action=Action.EDIT_CHARTER, community_id=community_id)
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=community_id
        )
        current = await charters.current(session, community_id=community_id)
        roles = await charters.roles(session, community_id=community_id)
        name = community.name
    view = screens.build_modal(
        t,
        community_id=community_id,
        community_name=name,
        current=current.draft if current else None,
        roles=roles,
        year=utcnow().year,
    )
    await open_view(client, trigger_id=trigger_id, view=view, t=t)


# --- /cop charter ------------------------------------------------------------------------------


async def handle_charter(req: CommandRequest) -> None:
    word = req.args[0].lower() if req.args else ""
    req.require_community()  # every sub-command answers in a community channel only
    if word in EDIT_WORDS:
        await open_from_command(open_modal, req)
    elif word in SHOW_WORDS:
        await show(req, public=any(a.lower() in PUBLIC_FLAGS for a in req.args[1:]))
    elif word in HISTORY_WORDS:
        await history(req)
    elif word in objectives_handlers.WORDS:
        await objectives_handlers.handle_objectives(req)
    else:
        await req.say("charter.usage_hint")


async def show(req: CommandRequest, *, public: bool) -> None:
    community = req.require_community()
    deps = req.deps
    async with deps.sessions() as session:
        charter = await charters.current(session, community_id=community.id)
        roles = await charters.roles(session, community_id=community.id)
    today = deps.today()
    stale_days = deps.programme.health.charter_stale_days
    if public:
        t = community_translator(deps, community.language)
        text, blocks = screens.build_charter(
            t,
            community_name=community.name,
            charter=charter,
            roles=roles,
            today=today,
            stale_days=stale_days,
            tz=community.tz or deps.programme.timezone,
        )
        try:
            await req.client.chat_postMessage(
                channel=community.channel_id, text=text, blocks=blocks_json(blocks)
            )
        except SlackApiError:
            logger.warning("could not post the charter in %s", community.channel_id, exc_info=True)
            await req.say("charter.post_failed")
            return
        await req.say("charter.posted")
        return
    text, blocks = screens.build_charter(
        req.t,
        community_name=community.name,
        charter=charter,
        roles=roles,
        today=today,
        stale_days=stale_days,
        tz=await zone_of(deps, req.caller),
    )
    await req.show(text, blocks_json(blocks))


async def history(req: CommandRequest) -> None:
    community = req.require_community()
    async with req.deps.sessions() as session:
        versions = await charters.history(session, community_id=community.id)
    text, blocks = screens.build_history(
        req.t,
        community_name=community.name,
        versions=versions,
        tz=await zone_of(req.deps, req.caller),
    )
    await req.show(text, blocks_json(blocks))


# --- the modal's submission ------------------------------------------------------------------------


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Field errors go back in the modal; a valid charter closes it and becomes a new version.

    The fields are checked before the ack, without the database (errors must travel in the ack);
    the permission and the save come after it, and their answer by message."""
    t, view = read_modal(deps, body)
    try:
        draft = charters.validate(screens.parse(view))
        community_id = screens.community_of(view)
    except InvalidFields as exc:
        await ack(response_action="errors", errors=field_errors(t, exc, screens.field_block))
        return
    except CopError as exc:  # metadata that is not ours
        await ack(
            response_action="errors", errors={screens.field_block(None): t(exc.key, **exc.params)}
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        saved = await charters.submit(
            deps.sessions, actor=caller.actor, community_id=community_id, draft=draft
        )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    if saved is None:  # the same modal sent twice at once: the other request answers
        return
    key = "charter.saved" if saved.created else "charter.unchanged"
    await tell_user(
        client,
        user=caller.user_id,
        channel=saved.channel_id,
        text=t(key, version=saved.version, name=saved.community_name),
    )
    if saved.created:
        # the "charter to review" flag on the Homes of those who run the community
        await home.refresh_community(
            deps,
            client,
            workspace_id=caller.workspace_id,
            community_id=community_id,
            author=caller.user_id,
            runners_only=True,
        )


def modal_button(opener: ModalOpener, target: str, doc: str) -> Any:
    """A Bolt listener for a button that opens a leaders' modal; its value is the `target` id."""

    async def handler(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        deps: Deps,
    ) -> None:
        await open_from_button(
            opener,
            ack=ack,
            body=body,
            client=client,
            respond=respond,
            deps=deps,
            **{target: action.get("value")},
        )

    handler.__doc__ = doc
    return handler


handle_home_edit = modal_button(
    open_modal,
    "community_id",
    "'Edit charter' on the App Home: no channel context, the button carries the community id.",
)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "charter",
        handle_charter,
        (
            HelpLine("charter.usage_edit", Action.EDIT_CHARTER),
            HelpLine("objectives.usage", Action.TRACK_OBJECTIVES),
            HelpLine("charter.usage"),
        ),
        aliases=("charte",),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.view(screens.MODAL)(handle_submit)
    app.action(CHARTER_EDIT)(handle_home_edit)
    app.action(objectives_ritual.WRITE)(handle_home_edit)  # "write them" under empty objectives
    objectives_handlers.register(app)
