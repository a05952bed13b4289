"""`/cop rituals` (leaders: on/off, cadence; everyone: next runs) and `/cop mute` (a member's own DMs)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import audit, communities, preferences
from bot.deps import Deps
from bot.errors import CopError
from bot.i18n import Translator
from bot.models import Community, Ritual, utcnow
from bot.permissions import Action, Actor, may, require
from bot.slack.blocks import rituals as screens
from bot.slack.echo import say
from handlers import home
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_here
from rituals import digest
from rituals.cadence import CADENCES, change, settings_of, zone_of

logger = logging.getLogger(__name__)

ORDER = (
    Ritual.WELCOME,
    Ritual.REMINDERS,
    Ritual.PULSE,
    Ritual.STORIES,
    Ritual.DIGEST,
    Ritual.OBJECTIVES,  # the leaders' quarterly objectives review (rituals/objectives.py)
)


async def _screen(
    deps: Deps, *, t: Translator, actor: Actor, community_id: int
) -> tuple[str, list[Any]]:
    now = utcnow()
    async with deps.sessions.begin() as session:
        community = await session.get(Community, community_id)
        assert community is not None
        settings = await settings_of(
            session, community=community, programme=deps.programme, now=now
        )
        editable = await may(
            session, actor=actor, action=Action.MANAGE_RITUALS, community_id=community_id
        )
        lines = [
            screens.RitualLine(
                ritual=r.value,
                enabled=settings[r].enabled,
                cadence=settings[r].cadence,
                cadences=CADENCES.get(r, ()),
                next_run_at=settings[r].next_run_at,
                last_result=settings[r].last_result,
                share_summary=(
                    bool(settings[r].options.get("share_summary")) if r == Ritual.PULSE else None
                ),
            )
            for r in ORDER
        ]
        tz = str(zone_of(community, deps.programme))
        name = community.name
    return screens.build_rituals(
        t, community_id=community_id, community=name, tz=tz, lines=lines, may_edit=editable
    )


async def handle_rituals(req: CommandRequest) -> None:
    """`/cop rituals`: next runs and last results; leaders get buttons to change them."""
    community = req.require_community()
    text, blocks = await _screen(
        req.deps, t=req.t, actor=req.caller.actor, community_id=community.id
    )
    await req.show(text, blocks)


async def handle_mute(req: CommandRequest) -> None:
    """`/cop mute [ritual] [days|off|on]`: snooze or turn off one kind of ritual DM, reversibly.

    Without arguments: each kind with its state and a menu to change it (as in the App Home)."""
    ritual, choice = preferences.parse_mute(req.args)
    text, blocks = await _choose(req.deps, req.caller, ritual=ritual, choice=choice)
    await req.show(text, blocks)


async def _choose(
    deps: Deps, caller: Caller, *, ritual: Ritual | None, choice: str
) -> tuple[str, list[Any]]:
    """Apply a member's choice (when `ritual` is given) and return the `/cop mute` screen."""
    t = caller.t
    async with deps.sessions.begin() as session:
        chosen = await preferences.choose_for(
            session,
            workspace_id=caller.workspace_id,
            user_id=caller.user_id,
            default_tz=deps.programme.timezone,
            ritual=ritual,
            choice=choice,
        )
    tz = chosen.tz
    done = _confirmation(t, chosen.done, tz) if chosen.done else None
    return screens.build_mute_status(t, chosen.states, tz=tz, done=done)


def _confirmation(t: Translator, state: preferences.RitualState, tz: str) -> str:
    name = t(f"rituals.name.{state.ritual.value}")
    if state.state == "snoozed" and state.until is not None:
        return t(
            "rituals.snoozed", ritual=name, until=t.date(preferences.local_day(state.until, tz))
        )
    return t("rituals.muted_for_good" if state.state == "off" else "rituals.unmuted", ritual=name)


async def handle_mute_choice(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: Deps,
) -> None:
    """A choice in a ritual's menu, from the App Home (republished) or a `/cop mute` message
    (replaced by the updated screen)."""
    await ack()
    caller = await caller_here(deps, body)
    from_home = (body.get("view") or {}).get("type") == "home"
    try:
        ritual = screens.parse_ritual(str(action.get("action_id", "")).partition(":")[2])
        choice = str((action.get("selected_option") or {}).get("value") or "")
        text, blocks = await _choose(deps, caller, ritual=ritual, choice=choice)
    except CopError as exc:
        if from_home:  # no response_url on a Home; its menus offer only valid choices
            logger.info("refused a Home choice from %s: %s", caller.user_id, exc.key)
            return
        await _refuse(caller, respond, exc)
        return
    if from_home:
        await home.publish(deps, client, workspace_id=caller.workspace_id, user_id=caller.user_id)
        return
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


async def _refuse(caller: Caller, respond: AsyncRespond, exc: CopError) -> None:
    await respond(
        text=say(caller.t, exc.key, **exc.params), response_type="ephemeral", replace_original=False
    )


async def _apply(
    deps: Deps,
    caller: Caller,
    respond: AsyncRespond,
    *,
    community_id: int,
    ritual: Ritual,
    enabled: bool | None = None,
    cadence: str | None = None,
    share_summary: bool | None = None,
) -> None:
    t = caller.t
    try:
        async with deps.sessions.begin() as session:
            await require(
                session, actor=caller.actor, action=Action.MANAGE_RITUALS, community_id=community_id
            )
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            setting = await change(
                session,
                community=community,
                programme=deps.programme,
                ritual=ritual,
                now=utcnow(),
                enabled=enabled,
                cadence=cadence,
                share_summary=share_summary,
            )
            await audit.record(
                session,
                workspace_id=caller.workspace_id,
                actor=caller.user_id,
                action="ritual.changed",
                community_id=community_id,
                detail={
                    "ritual": ritual.value,
                    "enabled": setting.enabled,
                    "cadence": setting.cadence,
                },
            )
    except CopError as exc:
        await respond(
            text=say(t, exc.key, **exc.params), response_type="ephemeral", replace_original=False
        )
        return
    text, blocks = await _screen(deps, t=t, actor=caller.actor, community_id=community_id)
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


async def handle_toggle(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id, ritual, _ = screens.parse_target(action.get("value"))
    except CopError as exc:
        await _refuse(caller, respond, exc)
        return
    async with deps.sessions() as session:
        community = await session.get(Community, community_id)
        if community is not None and community.workspace_id != caller.workspace_id:
            community = None  # refused by _apply
        current = (
            (
                await settings_of(
                    session, community=community, programme=deps.programme, now=utcnow()
                )
            )[ritual].enabled
            if community
            else False
        )
    await _apply(
        deps,
        caller,
        respond,
        community_id=community_id,
        ritual=ritual,
        enabled=not current,
    )


async def handle_summary(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    """Leaders allow (or stop) a short summary of each pulse poll in the channel."""
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id, ritual, _ = screens.parse_target(action.get("value"))
    except CopError as exc:
        await _refuse(caller, respond, exc)
        return
    async with deps.sessions() as session:
        community = await session.get(Community, community_id)
        if community is not None and community.workspace_id != caller.workspace_id:
            community = None  # refused by _apply
        settings = (
            await settings_of(session, community=community, programme=deps.programme, now=utcnow())
            if community
            else {}
        )
    current = bool(settings[ritual].options.get("share_summary")) if settings else False
    await _apply(
        deps,
        caller,
        respond,
        community_id=community_id,
        ritual=ritual,
        share_summary=not current,
    )


async def handle_cadence(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, deps: Deps
) -> None:
    await ack()
    caller = await caller_here(deps, body)
    try:
        community_id, ritual, rest = screens.parse_target(
            (action.get("selected_option") or {}).get("value"), parts=3
        )
    except CopError as exc:
        await _refuse(caller, respond, exc)
        return
    await _apply(
        deps,
        caller,
        respond,
        community_id=community_id,
        ritual=ritual,
        cadence=rest[0],
    )


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "rituals",
        handle_rituals,
        (HelpLine("rituals.usage"),),
        aliases=("rituels", "ritual", "rituel"),
    ),
    Subcommand(
        "mute",
        handle_mute,
        (HelpLine("rituals.mute_usage_help"),),
        aliases=("sourdine", "snooze"),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.action(re.compile(rf"^{screens.TOGGLE}:"))(handle_toggle)
    app.action(re.compile(rf"^{screens.CADENCE}:"))(handle_cadence)
    app.action(re.compile(rf"^{screens.MUTE}:"))(handle_mute_choice)
    app.action(re.compile(rf"^{screens.SUMMARY}:"))(handle_summary)
    app.action(re.compile(rf"^{digest.GREET}:"))(_ack_only)


async def _ack_only(ack: AsyncAck) -> None:
    """The digest's greet button opens a DM (a link); Slack still sends the click."""
    await ack()
