"""Global middleware: dependency injection, and the one place unexpected errors end up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import db
from bot.deps import Deps
from bot.i18n import translate
from bot.slack.client import PooledRespond
from handlers.context import database_trouble, language_hint, unavailable_key

logger = logging.getLogger(__name__)


# What a person is waiting on: their database work is bounded by db.PERSON_LOCK_WAIT. Events
# are not (Slack's retries and the activity batcher wait for the database instead).
INTERACTIVE = frozenset({"block_actions", "view_submission", "view_closed", "block_suggestion"})


def attach_deps(deps: Deps) -> Callable[..., Awaitable[None]]:
    async def middleware(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        context["deps"] = deps
        if "command" in body or body.get("type") in INTERACTIVE:
            db.serve_a_person()  # for this request's task and the listener task Bolt starts
        session = getattr(deps.web_client, "session", None)
        if session is not None and not session.closed and context.response_url:
            # replies over the server's keep-alive connections (bot.slack.client.kept_alive)
            context["respond"] = PooledRespond(response_url=context.response_url, session=session)
        await next()

    return middleware


async def handle_error(
    error: Exception, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    """The one place a listener's unexpected end is answered: never a stack trace, never silence.

    Listeners ack first and do their database work after, letting its errors come here: a busy
    or locked database is "busy, try again", an unreachable one "database down" (and events are
    then refused until it is back), anything else "something went wrong". The person hears it in
    the language the request itself tells (the database may be what failed), under the message
    they clicked (response_url) or by DM (a modal's submission has no response_url)."""
    deps: Deps | None = context.get("deps")
    if database_trouble(error):
        key = unavailable_key(error)
        logger.warning("database %s in a listener: %r", key.removeprefix("error."), error)
        if deps is not None and deps.database is not None and key == "error.database_down":
            deps.database.mark_down()
    else:
        key = "error.unexpected"
        logger.exception("unhandled error in a listener", exc_info=error)
    if deps is None:
        return
    deps.metrics.errors.labels(
        where=str(body.get("type") or body.get("command") or "unknown")
    ).inc()
    if body.get("type") == "event_callback":
        return  # nobody is waiting on an event
    text = translate(language_hint(deps, body))(key)
    response_urls: list[dict[str, Any]] = body.get("response_urls") or []
    response_url = body.get("response_url") or next(iter(response_urls), {}).get("response_url")
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if response_url:
            await AsyncWebhookClient(response_url).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        elif user_id:
            await client.chat_postMessage(channel=user_id, text=text)
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
