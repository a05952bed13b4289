"""Global middleware: dependency injection, and the one place unexpected errors end up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.deps import Deps
from bot.i18n import translate
from bot.slack.client import PooledRespond
from handlers.context import DATABASE_DOWN

logger = logging.getLogger(__name__)


def attach_deps(deps: Deps) -> Callable[..., Awaitable[None]]:
    async def middleware(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["deps"] = deps
        session = getattr(deps.web_client, "session", None)
        if session is not None and not session.closed and context.response_url:
            # replies over the server's keep-alive connections (bot.slack.client.kept_alive)
            context["respond"] = PooledRespond(response_url=context.response_url, session=session)
        await next()

    return middleware


async def handle_error(error: Exception, body: dict[str, Any], context: AsyncBoltContext) -> None:
    """Log with the traceback, count it, and tell the user briefly — never show a stack trace."""
    logger.exception("unhandled error in a listener", exc_info=error)
    deps: Deps | None = context.get("deps")
    if deps is not None and deps.database is not None and isinstance(error, DATABASE_DOWN):
        deps.database.mark_down()
    if deps is not None:
        deps.metrics.errors.labels(
            where=str(body.get("type") or body.get("command") or "unknown")
        ).inc()
    response_url = body.get("response_url") or next(iter(body.get("response_urls") or []), {}).get(
        "response_url"
    )
    if response_url and deps is not None:
        t = translate(deps.programme.language)
        try:
            await AsyncWebhookClient(response_url).send(
                text=t("error.unexpected"), response_type="ephemeral"
            )
        except Exception:
            logger.warning("could not tell the user about the error", exc_info=True)


async def handle_stale_action(ack: Any, body: dict[str, Any], respond: Any, deps: Deps) -> None:
    """A button from an old message (or a forged one): say it no longer works, in their language."""
    await ack()
    locale = (body.get("user") or {}).get("locale")
    t = translate(locale or deps.programme.language)
    if body.get("response_url"):
        await respond(
            text=t("error.stale_button"), response_type="ephemeral", replace_original=False
        )


async def handle_stale_view(ack: Any) -> None:
    """A modal no listener knows: close it rather than leave Slack showing an error."""
    await ack()
