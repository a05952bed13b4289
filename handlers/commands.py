"""The /cop slash command: acknowledge at once, then dispatch the sub-command.

Each sub-command is a `handle_<name>(req)` in the SUBCOMMANDS table; the table also feeds
`/cop help`, which lists only what the caller may use: each help line names the permission
(bot.permissions.Action) it needs, and the one permission table decides. French words work as
well as English.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import audit, communities, people, roster
from bot.deps import Deps
from bot.errors import CopError, InvalidInput, NotAllowed
from bot.i18n import Translator, translate
from bot.models import ChannelStatus, Role
from bot.permissions import PROGRAMME_WIDE, Action, may, require, role_in
from bot.slack.blocks import help as help_blocks
from bot.slack.echo import echo, mention, say
from bot.slack.text import split_args, user_id
from handlers.context import (
    Caller,
    database_trouble,
    language_hint,
    load_caller,
    unavailable_key,
    workspace_of,
)
from rituals import leaders_digest

logger = logging.getLogger(__name__)
QUEUE_PATIENCE = 20.0  # seconds a command may wait for a slot before being told the bot is busy


@dataclass
class CommandRequest:
    caller: Caller
    args: list[str]
    text: str
    trigger_id: str
    respond: AsyncRespond
    client: AsyncWebClient
    body: dict[str, Any] = field(default_factory=dict)
    bot_user_id: str | None = None

    @property
    def deps(self) -> Deps:
        return self.caller.deps

    @property
    def t(self) -> Translator:
        return self.caller.t

    async def say(self, key: str, /, **params: Any) -> None:
        """A sentence of ours; what people typed in its parameters shows as typed."""
        await self.respond(
            text=say(self.t, key, **params), response_type="ephemeral", replace_original=False
        )

    async def show(self, text: str, blocks: list[Any]) -> None:
        await self.respond(
            text=echo(text), blocks=blocks, response_type="ephemeral", replace_original=False
        )

    def require_community(self) -> communities.CommunityView:
        if self.caller.community is None:
            raise CopError("command.not_a_community")
        if self.caller.community.channel_status != ChannelStatus.OK:
            raise CopError("command.community_archived", name=self.caller.community.name)
        return self.caller.community


Handler = Callable[[CommandRequest], Awaitable[None]]


@dataclass(frozen=True)
class HelpLine:
    """One line of /cop help: its catalogue key, and the permission it needs (None: anyone)."""

    key: str
    needs: Action | None = None


@dataclass(frozen=True)
class Subcommand:
    name: str
    handler: Handler
    help: tuple[HelpLine, ...]
    aliases: tuple[str, ...] = ()


async def handle_help(req: CommandRequest) -> None:
    """List what this caller may do here, in their language: a line shows when
    bot.permissions grants its action to the caller in this channel's community."""
    caller = req.caller
    community_id = caller.community.id if caller.community is not None else None
    granted: dict[Action, bool] = {}
    role = None
    async with req.deps.sessions.begin() as session:
        if community_id is not None:
            role = await role_in(session, actor=caller.actor, community_id=community_id)
        for sub in all_subcommands():
            for line in sub.help:
                if line.needs is None or line.needs in granted:
                    continue
                if community_id is None and line.needs not in PROGRAMME_WIDE:
                    granted[line.needs] = False  # done in a community's channel, not here
                    continue
                granted[line.needs] = await may(
                    session, actor=caller.actor, action=line.needs, community_id=community_id
                )
    entries = [
        req.t(line.key)
        for sub in all_subcommands()
        for line in sub.help
        if line.needs is None or granted[line.needs]
    ]
    text, blocks = help_blocks.build_help(
        req.t, entries=entries, community=caller.community, role=role
    )
    await req.show(text, blocks)


async def handle_community(req: CommandRequest) -> None:
    """`/cop community create <name> [--kind piloted] [--lang en]`: this channel becomes a community."""
    args = req.args
    if not args or args[0].lower() not in {"create", "creer", "créer"}:
        raise InvalidInput("command.community_usage")
    words = args[1:]
    kind, language, name_words = "spontaneous", None, []
    i = 0
    while i < len(words):
        word = words[i]
        if word in {"--kind", "--type"} and i + 1 < len(words):
            kind = {
                "pilotee": "piloted",
                "pilotée": "piloted",
                "spontanee": "spontaneous",
                "spontanée": "spontaneous",
            }.get(words[i + 1].lower(), words[i + 1].lower())
            i += 2
        elif word in {"--lang", "--langue", "--language"} and i + 1 < len(words):
            language = words[i + 1].lower()
            i += 2
        else:
            name_words.append(word)
            i += 1
    if kind not in {"spontaneous", "piloted"}:
        raise InvalidInput("command.community_bad_kind", value=kind)
    caller = req.caller
    if not caller.channel_id or caller.channel_id.startswith("D"):
        raise CopError("command.community_needs_channel")
    async with req.deps.sessions.begin() as session:
        await require(session, actor=caller.actor, action=Action.CREATE_COMMUNITY)
        community = await communities.create(
            session,
            workspace_id=caller.workspace_id,
            name=" ".join(name_words),
            channel_id=caller.channel_id,
            kind=communities.CommunityKind(kind),
            language=language,
        )
        view = communities.CommunityView.of(community)
    report = await roster.sync_community(
        req.deps.sessions,
        req.deps.directory,
        view,
        bot_user_ids=[req.bot_user_id] if req.bot_user_id else [],
    )
    await req.say(
        "community.created", name=view.name, slug=view.slug, members=report.kept + len(report.added)
    )
    await leaders_digest.invite_soon(req.deps, workspace_id=caller.workspace_id)


ROLE_WORDS = {
    "leader": Role.LEADER,
    "animateur": Role.LEADER,
    "animatrice": Role.LEADER,
    "core": Role.CORE_TEAM,
    "core_team": Role.CORE_TEAM,
    "noyau": Role.CORE_TEAM,
    "sponsor": Role.SPONSOR,
    "member": Role.MEMBER,
    "membre": Role.MEMBER,
}


async def handle_role(req: CommandRequest) -> None:
    """`/cop role @someone leader|core|sponsor|member` in a community channel.

    Only someone Slack knows, human and in the channel may be named (bot.roster.role_candidate):
    a made-up id, a bot or a deactivated account is refused before anything is written."""
    if len(req.args) != 2:
        raise InvalidInput("command.role_usage")
    target = user_id(req.args[0])
    role = ROLE_WORDS.get(req.args[1].lower())
    if target is None or role is None:
        raise InvalidInput("command.role_usage")
    community = req.require_community()
    caller = req.caller
    async with req.deps.sessions() as session:
        await require(
            session, actor=caller.actor, action=Action.SET_ROLE, community_id=community.id
        )
    # asked only once the caller may set roles: nobody else can probe the directory this way
    try:
        info = await roster.role_candidate(req.deps.sessions, req.deps.directory, community, target)
    except InvalidInput as refused:
        if refused.key == "role.unknown_user":
            raise
        # the refusal names a real person: as a mention, so Slack shows their name
        raise InvalidInput(refused.key, user=mention(target)) from None
    async with req.deps.sessions.begin() as session:
        row = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community.id
        )
        await people.upsert(session, workspace_id=caller.workspace_id, info=info)
        await communities.set_role(session, community=row, slack_user_id=target, role=role)
        await audit.record(
            session,
            workspace_id=caller.workspace_id,
            actor=caller.user_id,
            action="role.set",
            community_id=community.id,
            detail={"user": target, "role": role.value},
        )
    await req.say(
        "role.set", user=mention(target), role=req.t(f"role.{role.value}"), community=community.name
    )
    if role in (Role.LEADER, Role.CORE_TEAM):  # the leaders' community opens its door
        await leaders_digest.invite_soon(req.deps, workspace_id=caller.workspace_id)


CORE: list[Subcommand] = [
    Subcommand("help", handle_help, (HelpLine("help.usage.help"),), aliases=("aide", "?")),
    Subcommand(
        "community",
        handle_community,
        (HelpLine("help.usage.community", Action.CREATE_COMMUNITY),),
        aliases=("communaute", "communauté"),
    ),
    Subcommand(
        "role", handle_role, (HelpLine("help.usage.role", Action.SET_ROLE),), aliases=("rôle",)
    ),
]


def all_subcommands() -> list[Subcommand]:
    """The core sub-commands, then each feature's, in the order /cop help lists them."""
    from handlers import FEATURES

    return [*CORE, *(sub for feature in FEATURES for sub in feature.SUBCOMMANDS)]


def find_subcommand(word: str) -> Subcommand | None:
    word = word.lower()
    for sub in all_subcommands():
        if word == sub.name or word in sub.aliases:
            return sub
    return None


async def handle_cop(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    deps: Deps,
) -> None:
    """Ack first (Slack's 3 s), then work; every refusal is an ephemeral answer in the caller's language.

    Work after the ack waits for one of a bounded number of slots, so a flood of commands queues
    instead of starving the database pool (and is told "busy" if it waits too long).
    """
    await ack()
    try:
        await asyncio.wait_for(deps.command_slots.acquire(), QUEUE_PATIENCE)
    except TimeoutError:
        await respond(text=_fallback_t(deps, command)("error.busy"), response_type="ephemeral")
        return
    try:
        await _run(command, respond, client, context, deps)
    finally:
        deps.command_slots.release()


async def _run(
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    deps: Deps,
) -> None:
    args = split_args(command.get("text", ""))
    sub = find_subcommand(args[0]) if args else find_subcommand("help")
    try:
        caller = await load_caller(
            deps,
            workspace_id=workspace_of(command),
            user_id=command["user_id"],
            channel_id=command.get("channel_id"),
        )
    except Exception as exc:
        if not database_trouble(exc):
            raise
        logger.warning("database %r while handling /cop", exc)
        await respond(
            text=_fallback_t(deps, command)(unavailable_key(exc)), response_type="ephemeral"
        )
        return
    req = CommandRequest(
        caller=caller,
        args=args[1:],
        text=command.get("text", ""),
        trigger_id=command.get("trigger_id", ""),
        respond=respond,
        client=client,
        body=command,
        bot_user_id=context.bot_user_id,
    )
    if sub is None:
        await req.say("command.unknown", word=args[0][:40])
        return
    try:
        await sub.handler(req)
    except NotAllowed as exc:
        await req.say(exc.key, **exc.params)
    except CopError as exc:
        await req.say(exc.key, **exc.params)
    except Exception as exc:
        if not database_trouble(exc):
            raise
        logger.warning("database %r during /cop %s", exc, sub.name)
        await req.say(unavailable_key(exc))


def _fallback_t(deps: Deps, command: dict[str, Any]) -> Translator:
    """Before the caller could be read: the language they were last answered in, if known."""
    return translate(language_hint(deps, command))


def register(app: AsyncApp) -> None:
    app.command("/cop")(handle_cop)
