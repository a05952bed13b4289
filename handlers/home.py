"""The App Home tab: a person's communities, events and polls; leaders' and managers' shortcuts.

Published fresh whenever the tab is opened (before anything else is done). After a change they
would see there (an RSVP, a charter saved, an event created, changed or cancelled) it is
republished only for the people concerned who opened their Home recently (app.yaml `home:`,
most recent first, a few per change): everyone else sees a fresh Home on their next open, so a
change in a 300-member community costs a handful of views.publish calls, not 300.

Every views.publish of a workspace goes through its `Publisher`: paced under the method's tier,
paused for Slack's Retry-After (nothing is sent inside the window), the pace and the pause shared
through the database with every other process of the workspace (rituals.outbox.pacing), and a Home already waiting
for its refresh is not queued twice (a burst of changes publishes it once, with all of them).
A refresh comes after the ack and after the author's own confirmation, reads in its own short
sessions (no transaction open during a Slack call), and is best effort: a failure is logged,
never shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot import discover as discovery
from bot import home, lifecycle
from bot.deps import Deps
from bot.models import utcnow
from bot.slack.blocks.home import build_home
from bot.slack.client import delivery_error
from handlers.commands import Subcommand
from handlers.context import load_caller, workspace_of, zone_of
from rituals.outbox.pacing import SharedPacer

logger = logging.getLogger(__name__)

RATE_LIMITED_TRIES = 5  # a Home refused this many times in a row (429) waits for the next open


class Publisher:
    """One workspace's views.publish calls: paced, Retry-After honoured, refreshes coalesced."""

    def __init__(self, pacer: SharedPacer) -> None:
        self.pacer = pacer  # the workspace's views.publish pace, shared by every process
        self.pending: dict[str, None] = {}  # Homes waiting for their refresh, in order
        self.draining = False

    async def send(self, client: AsyncWebClient, *, user_id: str, view: View) -> None:
        """views.publish in its turn; a 429 pauses every publish of the workspace for Slack's
        Retry-After, then this one is tried again (slack_sdk's own 429 retry is left out: it
        would wait alone while the other publishes kept calling)."""
        paced = AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            session=client.session,
            retry_handlers=[
                h
                for h in client.retry_handlers
                if not isinstance(h, AsyncRateLimitErrorRetryHandler)
            ],
        )
        for _ in range(RATE_LIMITED_TRIES):
            await self.pacer.slot()
            try:
                await paced.views_publish(user_id=user_id, view=view)
                return
            except SlackApiError as exc:
                failure = delivery_error(exc)
                if failure.retry_after is None:
                    raise
                await self.pacer.pause(failure.retry_after)
        logger.warning("the Home of %s was rate limited %d times", user_id, RATE_LIMITED_TRIES)


def publisher(deps: Deps, workspace_id: str) -> Publisher:
    found = deps.home_publishers.get(workspace_id)
    if found is None:
        pacer = SharedPacer(
            deps.engine,
            workspace_id=workspace_id,
            method="views.publish",
            per_minute=deps.programme.home.per_minute,
        )
        found = deps.home_publishers[workspace_id] = Publisher(pacer)
    return found


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
        await publisher(deps, workspace_id).send(client, user_id=user_id, view=view)
    except SlackApiError:
        logger.warning("could not publish the Home of %s", user_id, exc_info=True)


async def refresh(
    deps: Deps,
    client: AsyncWebClient,
    *,
    workspace_id: str,
    user_ids: Iterable[str] = (),
    community_id: int | None = None,
    runners_only: bool = False,
) -> None:
    """After a change: republish the Homes of those concerned (the people `user_ids`, the
    members or runners of `community_id`) who opened theirs recently, a few at most."""
    settings = deps.programme.home
    try:
        async with deps.sessions() as session:
            viewers = await home.recent_viewers(
                session,
                workspace_id=workspace_id,
                since=utcnow() - timedelta(minutes=settings.window_minutes),
                limit=settings.max_per_change if settings.window_minutes > 0 else 0,
                community_id=community_id,
                runners_only=runners_only,
                among=tuple(dict.fromkeys(user_ids)),
            )
    except Exception:
        logger.warning("could not list whose Home to refresh", exc_info=True)
        return
    await _drain(deps, client, workspace_id=workspace_id, user_ids=viewers)


async def _drain(
    deps: Deps, client: AsyncWebClient, *, workspace_id: str, user_ids: list[str]
) -> None:
    """Queue these Homes; unless a refresh is already under way in this process (it will
    publish them), publish the queue until it is empty, each Home built when its turn comes."""
    queue = publisher(deps, workspace_id)
    queue.pending.update(dict.fromkeys(user_ids))
    if queue.draining:
        return
    queue.draining = True
    try:
        while queue.pending:
            user_id = next(iter(queue.pending))
            del queue.pending[user_id]
            try:
                await publish(deps, client, workspace_id=workspace_id, user_id=user_id)
            except Exception:
                # best effort: the person gets a fresh Home the next time they open the tab
                logger.warning("could not refresh the Home of %s", user_id, exc_info=True)
    finally:
        queue.draining = False


async def refresh_community(
    deps: Deps,
    client: AsyncWebClient,
    *,
    workspace_id: str,
    community_id: int,
    author: str,
    runners_only: bool = False,
) -> None:
    """After a change in a community: the Homes of its members (or runners) and of the author
    that were opened recently (`refresh`)."""
    await refresh(
        deps,
        client,
        workspace_id=workspace_id,
        user_ids=[author],
        community_id=community_id,
        runners_only=runners_only,
    )


async def handle_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    if event.get("tab", "home") != "home":
        return
    workspace_id, user_id = workspace_of(body), event["user"]
    await publish(deps, client, workspace_id=workspace_id, user_id=user_id)  # fresh, first
    try:
        async with deps.sessions.begin() as session:
            await home.opened(
                session, workspace_id=workspace_id, slack_user_id=user_id, now=utcnow()
            )
    except Exception:
        logger.warning("could not note that %s opened their Home", user_id, exc_info=True)


SUBCOMMANDS: list[Subcommand] = []


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.event("app_home_opened")(handle_home_opened)
