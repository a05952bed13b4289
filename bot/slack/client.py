"""The Slack Web API client (retries, base URL) and the Slack side of bot.ports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
from aiohttp import ClientConnectorError, ClientOSError, ServerConnectionError
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import installation
from bot.messages import Chart, Message, Reader
from bot.ports import ChannelInfo, DeliveryError, HistoryPage, PastMessage, Sent, UserInfo
from bot.slack.messages import chart_png, render

logger = logging.getLogger(__name__)

# Errors that mean the person or channel cannot be reached: record, never retry.
GONE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "ekm_access_denied",
        "messages_tab_disabled",
    }
)
# Errors that mean our own token is dead: stop all work for the workspace (bot.installation).
TOKEN_DEAD = installation.TOKEN_DEAD
# Errors in what we sent: retrying the same thing cannot help.
BAD_REQUEST = frozenset(
    {"invalid_blocks", "msg_too_long", "no_text", "invalid_arguments", "too_many_attachments"}
)

METADATA_EVENT_TYPE = "cop_outbox"


class ServerErrorRetryHandler(AsyncRetryHandler):
    """Retries any 5xx: slack_sdk's own handler retries only 500 and 503, and a proxy in front
    of Slack answers 502 or 504 just as often."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


class NoWorkspaceInForce(RuntimeError):
    """OAuth mode: a Slack call made with no workspace in force (bot.installation.speaking_in).
    A bug in the caller: refused rather than sent with some other workspace's token."""


class TokenSource(Protocol):
    """Where a client finds the bot token of the workspace in force (bot/slack/oauth.py)."""

    async def bot_token(self, workspace: installation.InForce) -> str | None: ...


class WorkspaceClient(AsyncWebClient):
    """The Web API client of the process. With one token (SLACK_BOT_TOKEN, `tokens` None) it is
    slack_sdk's client as is. In OAuth mode (`tokens` set) each call takes the bot token of the
    workspace in force at the time of the call, so ~70 call sites (handlers, rituals, the outbox,
    bot.ports adapters) need no token of their own: the one guard is here. No workspace in force
    → `NoWorkspaceInForce`; a workspace without an installation → Slack's own `not_authed`
    answer (the outbox then holds its messages, as after an uninstall). A call naming its own
    token (`auth_test(token=…)`) or authenticating as the app (oauth.v2.access) is left alone."""

    def __init__(self, *args: Any, tokens: TokenSource | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = tokens

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        if (
            self.tokens is not None
            and auth is None
            and "token" not in (params or {})
            and "token" not in (json or {})
        ):
            workspace = installation.in_force()
            if workspace is None:
                raise NoWorkspaceInForce(f"{api_method}: no workspace in force in OAuth mode")
            token = workspace.token or await self.tokens.bot_token(workspace)
            if not token:
                raise SlackApiError(
                    f"{api_method}: no installation for workspace {workspace.workspace_id}",
                    AsyncSlackResponse(
                        client=self,
                        http_verb=http_verb,
                        api_url=api_method,
                        req_args={},
                        data={"ok": False, "error": "not_authed"},
                        headers={},
                        status_code=200,
                    ),
                )
            # slack_sdk takes a "token" parameter as the call's bearer token (and sends it only
            # in the Authorization header)
            params = {**(params or {}), "token": token}
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=data,
            params=params,
            json=json,
            headers=headers,
            auth=auth,
        )


def make_web_client(
    *,
    token: str | None,
    base_url: str,
    background: bool = False,
    timeout: int = 10,
    tokens: TokenSource | None = None,
) -> WorkspaceClient:
    """A client with slack_sdk's retry handlers.

    On the request path (`background=False`) retries are few and short so a reply is not held
    for minutes; background senders (the outbox) handle 429 themselves to pace whole fan-outs.
    """
    # In the background only a refused connection is retried here: the request never left, so
    # it cannot be doubled. A dropped connection or a timeout may have posted it: the outbox
    # looks in the channel before sending such a message again.
    connection_errors: list[type[Exception]] = (
        [ClientConnectorError] if background else [ServerConnectionError, ClientOSError]
    )
    handlers: list[Any] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2, error_types=connection_errors)
    ]
    if not background:
        handlers += [
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return WorkspaceClient(
        token=token, base_url=base_url, retry_handlers=handlers, timeout=timeout, tokens=tokens
    )


@contextlib.asynccontextmanager
async def kept_alive(
    *clients: AsyncWebClient, request_seconds: float = 10
) -> AsyncIterator[aiohttp.ClientSession]:
    """One aiohttp session, so keep-alive connections, for these clients while the server runs.

    Without it slack_sdk opens a new session, so a new TCP and TLS connection to Slack, for every
    call and every reply to a response_url. A closed session is never used (slack_sdk then falls
    back to a session per call), so the clients keep working after this ends.
    """
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=request_seconds))
    for client in clients:
        client.session = session
    try:
        yield session
    finally:
        for client in clients:
            client.session = None
        await session.close()


class PooledRespond(AsyncRespond):
    """Bolt's `respond`, over the shared session of `kept_alive` rather than a new connection."""

    def __init__(self, *, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(  # type: ignore[override]
        self, text: str | dict[str, Any] = "", **message: Any
    ) -> WebhookResponse:
        client = AsyncWebhookClient(url=str(self.response_url), session=self.session)
        if isinstance(text, dict):
            return await client.send_dict(text)
        return await client.send(text=text, **message)


def delivery_error(exc: SlackApiError | Exception) -> DeliveryError:
    """Map a Slack failure to what the outbox should do with it."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = str(response.get("error", "")) if response is not None else ""
        if status == 429 or error == "ratelimited":
            headers = getattr(response, "headers", {}) or {}
            retry_after = headers.get("Retry-After") or headers.get("retry-after") or "1"
            try:
                wait = float(retry_after if not isinstance(retry_after, list) else retry_after[0])
            except ValueError:
                wait = 1.0
            return DeliveryError("ratelimited", permanent=False, retry_after=wait)
        if status >= 500:
            return DeliveryError(f"http_{status}", permanent=False)
        if error in GONE or error in TOKEN_DEAD or error in BAD_REQUEST:
            return DeliveryError(error, permanent=True)
        return DeliveryError(error or f"http_{status}", permanent=False)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return DeliveryError("timeout", permanent=False)
    return DeliveryError(type(exc).__name__, permanent=False)


class SlackDirectory:
    """bot.ports.Directory over the Web API."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def user(self, user_id: str) -> UserInfo | None:
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            if exc.response.get("error") in {"user_not_found", "user_not_visible"}:
                return None
            raise
        return user_info(response["user"])

    async def channel(self, channel_id: str) -> ChannelInfo | None:
        try:
            response = await self.client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            if exc.response.get("error") == "channel_not_found":
                return None
            raise
        ch = response["channel"]
        return ChannelInfo(
            channel_id=ch["id"],
            name=ch.get("name", ""),
            is_archived=bool(ch.get("is_archived")),
            is_private=bool(ch.get("is_private")),
        )

    async def token_workspace(self) -> str | None:
        """auth.test: the team our token belongs to; None when Slack says the token is dead
        (uninstalled, revoked); other failures (network, 5xx) are raised: we do not know."""
        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            if exc.response.get("error") in TOKEN_DEAD:
                return None
            raise
        return str(response.get("team_id") or "") or None

    async def channel_named(self, name: str) -> ChannelInfo | None:
        cursor: str | None = None
        while True:
            response = await self.client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor
            )
            for ch in list(response.get("channels") or []):
                if ch.get("name") == name:
                    return ChannelInfo(
                        channel_id=ch["id"],
                        name=name,
                        is_archived=bool(ch.get("is_archived")),
                        is_private=bool(ch.get("is_private")),
                    )
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    async def invite(self, channel_id: str, user_id: str) -> None:
        try:
            await self.client.conversations_invite(channel=channel_id, users=user_id)
        except Exception as exc:
            raise delivery_error(exc) from None

    async def channel_members(self, channel_id: str) -> list[str]:
        members: list[str] = []
        cursor: str | None = None
        while True:
            response = await self.client.conversations_members(
                channel=channel_id, limit=1000, cursor=cursor
            )
            members.extend(response.get("members", []))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return members


def user_info(user: dict[str, Any]) -> UserInfo:
    profile = user.get("profile") or {}
    return UserInfo(
        user_id=user["id"],
        name=user.get("name", ""),
        real_name=user.get("real_name") or profile.get("real_name") or user.get("name", ""),
        tz=user.get("tz"),
        locale=user.get("locale"),
        is_bot=bool(user.get("is_bot") or user.get("is_app_user")),
        deleted=bool(user.get("deleted")),
        email=profile.get("email") or None,  # users:read.email; absent without that scope
    )


class SlackMessenger:
    """bot.ports.Messenger over the Web API; every message is tagged with its idempotency key."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(
        self,
        *,
        channel: str,
        message: Message,
        reader: Reader,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        text, blocks = render(message, reader)
        sent = await self.post(channel=channel, text=text, blocks=blocks, metadata=metadata)
        for chart in (b for b in message.blocks if isinstance(b, Chart)):
            await self._upload_chart(sent.channel, chart, reader)
        return sent

    async def _upload_chart(self, channel: str, chart: Chart, reader: Reader) -> None:
        """A chart follows its message as a PNG file. Best effort: the message is already posted
        (and will be recorded as sent), so a failed upload is logged, never retried with it."""
        try:
            title, png = await asyncio.to_thread(chart_png, chart, reader)
            await self.client.files_upload_v2(
                channel=channel, content=png, filename="trend.png", title=title
            )
        except Exception:
            logger.warning("could not upload a message's chart to %s", channel, exc_info=True)

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Sent:
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks:
            kwargs["blocks"] = blocks
        if metadata:
            kwargs["metadata"] = {"event_type": METADATA_EVENT_TYPE, "event_payload": metadata}
        try:
            response = await self.client.chat_postMessage(**kwargs)
        except Exception as exc:
            raise delivery_error(exc) from exc
        return Sent(channel=response["channel"], ts=response["ts"])

    async def open_dm(self, user_id: str) -> str:
        try:
            response = await self.client.conversations_open(users=user_id)
        except Exception as exc:
            raise delivery_error(exc) from exc
        return str(response["channel"]["id"])

    async def find_sent(self, *, channel: str, idempotency_key: str, oldest: float) -> Sent | None:
        """Look in the channel for a message we tagged with this key (closing the crash window)."""
        cursor: str | None = None
        try:
            while True:
                response = await self.client.conversations_history(
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                messages: list[dict[str, Any]] = response.get("messages", [])
                for message in messages:
                    meta = message.get("metadata") or {}
                    if (
                        meta.get("event_type") == METADATA_EVENT_TYPE
                        and (meta.get("event_payload") or {}).get("key") == idempotency_key
                    ):
                        return Sent(channel=channel, ts=message["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return None
        except Exception as exc:
            raise delivery_error(exc) from exc


def past_message(message: dict[str, Any]) -> PastMessage:
    """Only what counting needs: the text is dropped here, at the edge."""
    return PastMessage(
        ts=str(message["ts"]),
        user=message.get("user"),
        thread_ts=message.get("thread_ts"),
        subtype=message.get("subtype"),
        is_bot=bool(message.get("bot_id") or message.get("bot_profile")),
        reply_count=int(message.get("reply_count") or 0),
        reactions=tuple(
            (str(r.get("name", "")), tuple(r.get("users") or ()))
            for r in message.get("reactions") or ()
        ),
    )


class SlackHistory:
    """bot.ports.History over conversations.history / conversations.replies.

    Use a background client (no built-in 429 retry): the backfill paces itself on Retry-After.
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def _page(self, method: str, **params: Any) -> HistoryPage:
        try:
            response = await getattr(self.client, method)(**params)
        except Exception as exc:
            raise delivery_error(exc) from exc
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        return HistoryPage([past_message(m) for m in response.get("messages", [])], cursor)

    async def history(
        self, channel_id: str, *, oldest: str, latest: str, cursor: str | None, limit: int
    ) -> HistoryPage:
        return await self._page(
            "conversations_history",
            channel=channel_id,
            oldest=oldest,
            latest=latest,
            inclusive=True,
            limit=limit,
            cursor=cursor,
        )

    async def replies(
        self, channel_id: str, thread_ts: str, *, cursor: str | None, limit: int
    ) -> HistoryPage:
        return await self._page(
            "conversations_replies", channel=channel_id, ts=thread_ts, limit=limit, cursor=cursor
        )
