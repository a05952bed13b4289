"""POST /api/messages: Microsoft Teams activities, authenticated, acknowledged at once, answered
through the Bot Connector at the activity's serviceUrl.

Order, as for Slack (bot/slack/edge.py): the bearer token first (bot.teams.auth; no body read
for a request without a valid one), then the body, capped and parsed once, then what the token
says about it (serviceUrl, channel), then 200 — Teams redelivers what is not acknowledged — and
the work after the answer: the handlers registered on the edge (handlers/teams/), and `@cop aide`
/ `@cop help`, an Adaptive Card listing the commands in the person's language (the activity's
`locale`); a word no handler knows gets « Je ne connais pas cette commande » and the same card.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.i18n import language_of, translate
from bot.ports import DeliveryError
from bot.teams.auth import (
    DEFAULT_TENANT,
    OPENID_METADATA_URL,
    TOKEN_URL,
    AuthUnavailable,
    InboundAuth,
    OutboundToken,
    Unauthorized,
)
from bot.teams.connector import Connector

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.deps import Deps

logger = logging.getLogger(__name__)

Json = dict[str, Any]
MAX_BODY = 256 * 1024  # an activity is at most ~100 KB (Teams' message limit)
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
_TYPED_AT = re.compile(r"^@cop(?:-bot)?(?:\s+|$)", re.IGNORECASE)
COMMANDS = (
    "help",
    "charter",
    "event",
    "health",
    "story",
    "stories",
    "mute",
    "home",
    "compass",
)  # what answers in Teams


class TeamsEdge:
    """The Teams side of one process: its authentication, its Connector client, its work."""

    def __init__(self, settings: Settings, *, default_language: str = "fr") -> None:
        app_id, password = settings.teams_app_id or "", settings.teams_app_password or ""
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
        self.auth = InboundAuth(
            app_id, self.http, openid_url=settings.teams_openid_url or OPENID_METADATA_URL
        )
        token_url = settings.teams_token_url or TOKEN_URL.format(
            tenant=settings.teams_tenant_id or DEFAULT_TENANT
        )
        self.token = OutboundToken(app_id, password, self.http, token_url=token_url)
        self.bot_connector = Connector(self.http, self.token)  # as the outbox messenger calls
        self.default_language = default_language
        self._work: set[asyncio.Task[None]] = set()
        self._before: list[Listener] = []
        self._listeners: dict[str, list[Listener]] = {}
        self._commands: dict[str, Command] = {}
        self._invokes: dict[tuple[str, str | None], Invoke] = {}
        self._prefixed: dict[str, list[tuple[str, Invoke]]] = {}

    async def messages(self, request: Request) -> Response:
        try:
            claims = await self.auth.verify(request.headers.get("authorization"))
        except Unauthorized as refused:
            logger.info("Teams request refused: %s", refused.reason)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        except AuthUnavailable as down:
            logger.warning("%s", down)
            return JSONResponse({"error": "authentication unavailable"}, status_code=503)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": "request too large"}, status_code=413)
        try:
            activity = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "malformed request body"}, status_code=400)
        if not isinstance(activity, dict):
            return JSONResponse({"error": "malformed request body"}, status_code=400)
        try:
            self.auth.check_activity(claims, activity)
        except Unauthorized as refused:
            logger.info("Teams request refused: %s", refused.reason)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if activity.get("type") == "invoke":
            # answered in the response (a dialog, a card updated in place): Teams waits for it
            try:
                answer = await self.answer_invoke(activity)
            except Exception:
                logger.exception("Teams invoke %s could not be answered", activity.get("name"))
                return JSONResponse({"error": "internal"}, status_code=500)
            if answer is None:
                return Response(status_code=200)
            return JSONResponse(answer)
        task = asyncio.create_task(self.handle(activity))
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return Response(status_code=200)

    # ------------------------------------------------------------------ registration
    # bot/app.py registers the handlers (handlers/teams/), as it does Bolt's listeners: the edge
    # names no feature.

    def before(self, fn: Listener) -> Listener:
        """Run for every authenticated activity, before anything else (where the bot may write
        back, who the person is); an exception stops the activity there."""
        self._before.append(fn)
        return fn

    def on(self, kind: str) -> Callable[[Listener], Listener]:
        """Run for every activity of this type ("conversationUpdate", "messageReaction",
        "installationUpdate", "message": every message, addressed to the bot or not)."""

        def register(fn: Listener) -> Listener:
            self._listeners.setdefault(kind, []).append(fn)
            return fn

        return register

    def command(self, *words: str) -> Callable[[Command], Command]:
        """`@cop <word> …` in a channel, or `<word> …` in the 1:1 chat; the handler gets the rest
        of the text. Words are matched without case or accents (« événement » = "evenement")."""

        def register(fn: Command) -> Command:
            for word in words:
                self._commands[_fold(word)] = fn
            return fn

        return register

    def invoke(
        self, name: str, key: str | None = None, *, prefix: str | None = None
    ) -> Callable[[Invoke], Invoke]:
        """An invoke activity ("task/fetch", "task/submit", "adaptiveCard/action"…), answered in
        the HTTP response with what the handler returns. With `key`, only the invokes whose data
        carry it: `{"cop": key}` in a dialog's data, or the verb of an `Action.Execute`. With
        `prefix`, every key that starts with it (a verb that carries its own arguments, such as
        "pulse_answer:<question>:<score>"), when no exact key matched; the longest prefix wins."""
        if key is not None and prefix is not None:
            raise ValueError("an invoke is routed by its exact key or by a prefix, not both")

        def register(fn: Invoke) -> Invoke:
            if prefix is not None:
                routes = self._prefixed.setdefault(name, [])
                routes.append((prefix, fn))
                routes.sort(key=lambda route: -len(route[0]))
            else:
                self._invokes[(name, key)] = fn
            return fn

        return register

    def words(self) -> frozenset[str]:
        """Every command word answered here (folded): the handlers' and the help's."""
        return frozenset(self._commands) | {"help", "aide"}

    # ------------------------------------------------------------------ dispatch

    def turn(self, activity: Json) -> Turn:
        return Turn(activity=activity, edge=self)

    async def handle(self, activity: Json) -> None:
        """A message or an event, after the 200: the work, then nothing to answer over HTTP."""
        turn = self.turn(activity)
        try:
            for fn in self._before:
                await fn(turn)
            for fn in self._listeners.get(turn.kind, []):
                await fn(turn)
            if turn.kind == "message" and turn.addressed and turn.word:
                await self._command(turn)
        except (DeliveryError, AuthUnavailable) as failed:
            logger.warning("Teams reply not delivered: %s", failed)
        except Exception:
            logger.exception("Teams activity %s could not be answered", activity.get("type"))

    async def _command(self, turn: Turn) -> None:
        fn = self._commands.get(_fold(turn.word))
        if fn is not None:
            await fn(turn, turn.rest)
            return
        helps = {"help", "aide", _fold(turn.t("teams.help.word.help"))}
        help_answer = {"attachments": [card_attachment(help_card(turn.t))]}
        if _fold(turn.word) in helps:
            await turn.reply(help_answer)
        else:  # a word the bot does not know: say so, and what it knows
            await turn.reply({"text": turn.t("teams.help.unknown"), **help_answer})

    async def answer_invoke(self, activity: Json) -> Json | None:
        """An invoke's answer (the HTTP body), from the handler registered for it."""
        turn = self.turn(activity)
        for first in self._before:
            await first(turn)
        name = str(activity.get("name") or "")
        fn = self._route(name, turn.invoke_key)
        if fn is None:
            return None
        return await fn(turn)

    def _route(self, name: str, key: str | None) -> Invoke | None:
        """The exact key's handler, else the longest matching prefix's, else the name's own."""
        exact = self._invokes.get((name, key))
        if exact is not None:
            return exact
        if key is not None:
            for prefix, fn in self._prefixed.get(name, []):
                if key.startswith(prefix):
                    return fn
        return self._invokes.get((name, None))

    async def reply(self, activity: Json, message: Json) -> Json:
        """Answer in the activity's conversation (in its thread), through its serviceUrl."""
        service_url = str(activity["serviceUrl"]).rstrip("/")
        conversation = activity["conversation"]
        url = (
            f"{service_url}/v3/conversations/{quote(str(conversation['id']), safe='')}"
            f"/activities/{quote(str(activity.get('id') or ''), safe='')}"
        )
        outgoing = {
            "type": "message",
            "from": activity.get("recipient"),
            "recipient": activity.get("from"),
            "conversation": conversation,
            "replyToId": activity.get("id"),
            **message,
        }
        return await self.connector("POST", url, outgoing)

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, message: Json
    ) -> Json:
        """Replace a message the bot sent (a card updated in place: RSVP counts)."""
        url = (
            f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}"
            f"/activities/{quote(activity_id, safe='')}"
        )
        return await self.connector("PUT", url, {"type": "message", "id": activity_id, **message})

    async def connector(self, method: str, url: str, body: Json | None = None) -> Json:
        """One Bot Connector call with the bot's token, retried as Microsoft asks (429 after
        Retry-After; 412, 502, 503, 504 with backoff); failures raise DeliveryError
        (bot/teams/connector.py)."""
        return await self.bot_connector.call(method, url, body)

    async def aclose(self) -> None:
        """The work under way finishes (bounded), then the connections close."""
        if self._work:
            await asyncio.wait(self._work, timeout=5.0)
        await self.http.aclose()


async def aclose(routes: list[Route]) -> None:
    """At shutdown (bot.app's lifespan): the Teams edge behind these routes closes."""
    for route in routes:
        edge = getattr(route.endpoint, "__self__", None)
        if isinstance(edge, TeamsEdge):
            await edge.aclose()


@dataclass
class Turn:
    """One activity from Teams and the means to answer it: who, where, in which language."""

    activity: Json
    edge: TeamsEdge
    info: dict[str, Any] = field(default_factory=dict)  # what `before` learnt (person, workspace)

    @property
    def kind(self) -> str:
        return str(self.activity.get("type") or "")

    @property
    def tenant_id(self) -> str:
        """The organisation (our workspace id for Teams)."""
        tenant = ((self.activity.get("channelData") or {}).get("tenant") or {}).get("id")
        return str(tenant or (self.activity.get("conversation") or {}).get("tenantId") or "")

    @property
    def user_id(self) -> str:
        return str((self.activity.get("from") or {}).get("id") or "")

    @property
    def conversation_id(self) -> str:
        return str((self.activity.get("conversation") or {}).get("id") or "")

    @property
    def personal(self) -> bool:
        return (self.activity.get("conversation") or {}).get("conversationType") == "personal"

    @property
    def service_url(self) -> str:
        return str(self.activity.get("serviceUrl") or "")

    @property
    def language(self) -> str:
        return language_of(self.activity.get("locale"), self.edge.default_language)

    @property
    def timezone(self) -> str | None:
        """The zone the person's Teams client reports (its clientInfo entity), if any."""
        for entity in self.activity.get("entities") or []:
            if isinstance(entity, dict) and entity.get("type") == "clientInfo":
                zone = entity.get("timezone")
                return str(zone) if zone else None
        return None

    @property
    def t(self) -> Any:
        return translate(self.language)

    @property
    def addressed(self) -> bool:
        return _addressed(self.activity)

    @property
    def text(self) -> str:
        """The message's text without the @mention of the bot, nor a typed « @cop » in front
        (what our messages tell people to write: bot/teams/idiom.py)."""
        text = _MENTION.sub(" ", str(self.activity.get("text") or "")).strip()
        return _TYPED_AT.sub("", text, count=1)

    @property
    def word(self) -> str:
        first = self.text.split(maxsplit=1)
        return first[0].strip(".!?:") if first else ""

    @property
    def rest(self) -> str:
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""

    @property
    def value(self) -> Json:
        value = self.activity.get("value")
        return value if isinstance(value, dict) else {}

    @property
    def invoke_key(self) -> str | None:
        """What an invoke is about: an `Action.Execute`'s verb, or the `cop` key of the data a
        dialog or a button carries."""
        action = self.value.get("action")
        if isinstance(action, dict) and action.get("verb"):
            return str(action["verb"])
        data = self.value.get("data")
        if isinstance(data, dict) and data.get("cop"):
            return str(data["cop"])
        return None

    async def reply(self, message: Json) -> Json:
        return await self.edge.reply(self.activity, message)


Listener = Callable[[Turn], Awaitable[None]]
Command = Callable[[Turn, str], Awaitable[None]]
Invoke = Callable[[Turn], Awaitable["Json | None"]]


def _fold(word: str) -> str:
    """A command word without case or accents."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _addressed(activity: Json) -> bool:
    """A 1:1 message, or one that @mentions the bot (channels with RSC deliver every message)."""
    conversation = activity.get("conversation") or {}
    if conversation.get("conversationType") == "personal":
        return True
    bot_id = (activity.get("recipient") or {}).get("id")
    return any(
        isinstance(e, dict)
        and e.get("type") == "mention"
        and (e.get("mentioned") or {}).get("id") == bot_id
        for e in activity.get("entities") or []
    )


def card_attachment(card: Json) -> Json:
    return {"contentType": ADAPTIVE_CARD, "content": card}


def help_card(t: Any) -> Json:
    """The commands, as an Adaptive Card 1.5 (what Teams renders)."""
    facts = [
        {"title": f"@cop {t(f'teams.help.word.{name}')}", "value": t(f"teams.help.cmd.{name}")}
        for name in COMMANDS
    ]
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {
                "type": "TextBlock",
                "text": t("teams.help.title"),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": t("teams.help.intro"), "wrap": True},
            {"type": "FactSet", "facts": facts},
            {"type": "TextBlock", "text": t("teams.help.soon"), "wrap": True, "isSubtle": True},
        ],
    }


def routes(deps: Deps, register: Callable[[TeamsEdge, Deps], None] | None = None) -> list[Route]:
    """POST /api/messages when Teams is configured (TEAMS_APP_ID, TEAMS_APP_PASSWORD), with the
    handlers `register` puts on the edge (bot/app.py passes handlers.teams.register_all)."""
    settings = deps.config.settings
    if not settings.teams:
        return []
    edge = TeamsEdge(settings, default_language=deps.config.programme.language)
    if register is not None:
        register(edge, deps)
    return [Route("/api/messages", edge.messages, methods=["POST"])]
