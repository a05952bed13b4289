"""The App Home tab: a person's communities, events and polls; leaders' and managers' shortcuts.

Published when the tab is opened, and republished for the people concerned after a change they
would see there (an RSVP, a charter saved, an event created, changed or cancelled). A refresh
comes after the ack and after the author's own confirmation, reads in its own short sessions
(no transaction open during a Slack call), and is best effort: a failure is logged, never shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import discover as discovery
from bot import home, lifecycle
from bot.deps import Deps
from bot.models import utcnow
from bot.slack.blocks.home import build_home
from handlers.commands import Subcommand
from handlers.context import load_caller, workspace_of, zone_of

logger = logging.getLogger(__name__)


async def publish(
    deps: Deps,
    client: AsyncWebClient,
    *,
    workspace_id: str,
    user_id: str,
    discover: discovery.Filters | None = None,
) -> None:
    """Build and publish one person's Home, in their language and zone (`discover`: the
    filter and page of its Discover section, first page of every kind unless a click says)."""
    caller = await load_caller(deps, workspace_id=workspace_id, user_id=user_id, channel_id=None)
    async with deps.sessions() as session:
        data = await home.load(
            session,
            workspace_id=workspace_id,
            slack_user_id=user_id,
            is_manager=caller.actor.is_manager,
            now=utcnow(),
            ballot_key=deps.ballot_key,
            today=deps.today(),
            charter_stale_days=deps.programme.health.charter_stale_days,
            ritual_defaults=lifecycle.ritual_defaults(deps.programme),
            engagement_rule=deps.programme.engagement,
            tz=deps.programme.timezone,
        )
        listing = await discovery.listing(
            session,
            workspace_id=workspace_id,
            slack_user_id=user_id,
            filters=discover or discovery.Filters(),
            now=utcnow(),
            page_size=discovery.HOME_PAGE_SIZE,
        )
    view = build_home(caller.t, data, tz=await zone_of(deps, caller), discover=listing)
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError:
        logger.warning("could not publish the Home of %s", user_id, exc_info=True)


async def refresh(
    deps: Deps, client: AsyncWebClient, *, workspace_id: str, user_ids: Iterable[str]
) -> None:
    """Republish these people's Homes, one after the other (gentle on views.publish limits)."""
    for user_id in dict.fromkeys(user_ids):
        try:
            await publish(deps, client, workspace_id=workspace_id, user_id=user_id)
        except Exception:
            # best effort: the person gets a fresh Home the next time they open the tab
            logger.warning("could not refresh the Home of %s", user_id, exc_info=True)


async def refresh_community(
    deps: Deps,
    client: AsyncWebClient,
    *,
    workspace_id: str,
    community_id: int,
    author: str,
    runners_only: bool = False,
) -> None:
    """After a change in a community: the author's Home, then its runners' (and members')."""
    try:
        async with deps.sessions() as session:
            concerned = await home.audience(
                session, community_id=community_id, runners_only=runners_only
            )
    except Exception:
        logger.warning("could not list whose Home shows community %s", community_id, exc_info=True)
        concerned = []
    await refresh(deps, client, workspace_id=workspace_id, user_ids=[author, *concerned])


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
