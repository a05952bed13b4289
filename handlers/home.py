"""The App Home tab: a person's communities, events and polls; leaders' and managers' shortcuts."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import home
from bot.deps import Deps
from bot.models import utcnow
from bot.slack.blocks.home import build_home
from handlers.charters import zone_of
from handlers.commands import Subcommand
from handlers.context import load_caller, workspace_of

logger = logging.getLogger(__name__)


async def publish(deps: Deps, client: AsyncWebClient, *, workspace_id: str, user_id: str) -> None:
    """Build and publish one person's Home, in their language and zone."""
    caller = await load_caller(deps, workspace_id=workspace_id, user_id=user_id, channel_id=None)
    async with deps.sessions() as session:
        data = await home.load(
            session,
            workspace_id=workspace_id,
            slack_user_id=user_id,
            is_manager=caller.actor.is_manager,
            now=utcnow(),
        )
    view = build_home(caller.t, data, tz=await zone_of(deps, caller))
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError:
        logger.warning("could not publish the Home of %s", user_id, exc_info=True)


async def handle_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    if event.get("tab", "home") != "home":
        return
    await publish(deps, client, workspace_id=workspace_of(body), user_id=event["user"])


SUBCOMMANDS: list[Subcommand] = []


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.event("app_home_opened")(handle_home_opened)
