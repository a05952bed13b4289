"""POST /api/messages: Microsoft Teams activities, authenticated, acknowledged at once, answered
through the Bot Connector at the activity's serviceUrl.

Order, as for Slack (bot/slack/edge.py): the bearer token first (bot.teams.auth; no body read
for a request without a valid one), then the body, capped and parsed once, then what the token
says about it (serviceUrl, channel), then 200 — Teams redelivers what is not acknowledged — and
the work after the answer. For now the work is `@cop aide` / `@cop help`: an Adaptive Card
listing the commands, in the person's language (the activity's `locale`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.i18n import language_of, translate
from bot.ports import DeliveryError
from bot.retry import slack_call
from bot.teams.auth import (
    DEFAULT_TENANT,
    OPENID_METADATA_URL,
    TOKEN_URL,
    AuthUnavailable,
    InboundAuth,
    OutboundToken,
    Unauthorized,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.deps import Deps

logger = logging.getLogger(__name__)

Json = dict[str, Any]
MAX_BODY = 256 * 1024  # an activity is at most ~100 KB (Teams' message limit)
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
COMMANDS = ("help", "charter", "event", "health")
# Microsoft: on 429 wait Retry-After; on 412, 502, 503 and 504 back off and try again; never
# on other errors (learn.microsoft.com, Teams platform, bots/how-to/rate-limit)
TRANSIENT = frozenset({412, 429, 502, 503, 504})
ATTEMPTS = 4


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
        self.default_language = default_language
        self._work: set[asyncio.Task[None]] = set()

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
        task = asyncio.create_task(self.handle(activity))
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return Response(status_code=200)

    async def handle(self, activity: Json) -> None:
        try:
            if activity.get("type") == "message":
                await self._message(activity)
        except (DeliveryError, AuthUnavailable) as failed:
            logger.warning("Teams reply not delivered: %s", failed)
        except Exception:
            logger.exception("Teams activity %s could not be answered", activity.get("type"))

    async def _message(self, activity: Json) -> None:
        text = _MENTION.sub(" ", str(activity.get("text") or "")).strip()
        word = text.split()[0].casefold().strip(".!?:") if text else ""
        t = translate(language_of(activity.get("locale"), self.default_language))
        if not word or not _addressed(activity):
            return
        helps = {"help", "aide", t("teams.help.word.help").casefold()}
        if word in helps:
            await self.reply(activity, {"attachments": [card_attachment(help_card(t))]})
        else:
            await self.reply(activity, {"text": t("teams.help.soon"), "textFormat": "markdown"})

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

        async def post() -> Json:
            token = await self.token.get()
            try:
                response = await self.http.post(
                    url, json=outgoing, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError as exc:
                raise DeliveryError(
                    f"Bot Connector unreachable: {exc!r}", permanent=False
                ) from None
            if response.status_code == 401:
                self.token.forget()  # revoked or rolled: the next try asks for a new one
            if response.status_code >= 300:
                raise DeliveryError(
                    f"Bot Connector answered {response.status_code}: {response.text[:200]}",
                    permanent=response.status_code not in TRANSIENT | {401},
                    retry_after=_seconds(response.headers.get("retry-after")),
                )
            answer: Json = response.json() if response.content else {}
            return answer

        return await slack_call(post, what="Teams reply", attempts=ATTEMPTS)

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


def _seconds(value: str | None) -> float | None:
    try:
        return min(60.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None


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


def routes(deps: Deps) -> list[Route]:
    """POST /api/messages when Teams is configured (TEAMS_APP_ID, TEAMS_APP_PASSWORD)."""
    settings = deps.config.settings
    if not settings.teams:
        return []
    edge = TeamsEdge(settings, default_language=deps.config.programme.language)
    return [Route("/api/messages", edge.messages, methods=["POST"])]
