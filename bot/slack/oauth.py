"""Many workspaces: Slack's OAuth install flow through Bolt, installations in our database.

OAuth mode is on when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set (bot/config.py); with
SLACK_BOT_TOKEN alone nothing here is used. Then:

- `GET /slack/install` (Bolt's AsyncOAuthFlow) sends the installer to Slack's authorize page with
  a signed `state` (also set as a cookie in their browser); `GET /slack/oauth_redirect` checks the
  state, trades the code for the workspace's bot token (oauth.v2.access) and stores it
  (`Installations`, tables `slack_installation` / `slack_enterprise_team`, bot/installation.py).
  A bad or expired state gets a short page saying to start again, never a 500.
- Bolt's authorize finds each request's token through `Installations` (per workspace, or per
  Enterprise Grid organisation for an org-wide install), and `workspace_in_force` (a Bolt
  middleware) makes that workspace the one in force for the request's work, so the process's
  client (bot.slack.client.WorkspaceClient) speaks there with that token.
- Background work (the outbox, the rituals) puts each workspace in force itself
  (bot.installation.speaking_in); the client finds its token here (`bot_token`, cached briefly).
- An uninstall (handlers/membership.py) deletes the workspace's installation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from logging import Logger
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import installation
from bot.config import Settings
from bot.models import SlackInstallation

logger = logging.getLogger(__name__)

TOKEN_TTL = 30.0  # seconds a looked-up token is reused by this process (an uninstall clears it)
STATE_SECONDS = 600  # how long an install link stays valid (Bolt's default)


class Installations(AsyncInstallationStore):
    """slack_sdk's installation store on our own tables (async SQLAlchemy, SQLite and
    PostgreSQL): slack_sdk ships an async SQLAlchemy store, but on tables of its own created
    outside our migrations; these are migration 0007's. Also the client's `TokenSource`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, client_id: str) -> None:
        self.sessions = sessions
        self.client_id = client_id
        self._tokens: dict[tuple[str, str], tuple[float, str | None]] = {}
        # Bolt's authorize asks for every request: answers reused for TOKEN_TTL seconds
        self._bots: dict[tuple[str, str, bool], tuple[float, Bot | None]] = {}

    @property
    def logger(self) -> Logger:
        return logger

    async def async_save(self, installation_: Installation) -> None:
        async with self.sessions.begin() as session:
            await installation.save_installation(
                session,
                enterprise_id=installation_.enterprise_id or "",
                workspace_id=installation_.team_id or "",
                is_enterprise_install=bool(installation_.is_enterprise_install),
                enterprise_name=installation_.enterprise_name or "",
                team_name=installation_.team_name or "",
                app_id=installation_.app_id or "",
                bot_token=installation_.bot_token or "",
                bot_id=installation_.bot_id or "",
                bot_user_id=installation_.bot_user_id or "",
                bot_scopes=",".join(installation_.bot_scopes or []),
                installer_user_id=installation_.user_id or "",
            )
        self.forget_tokens()
        logger.info(
            "installed in %s%s",
            installation_.team_id or "(org-wide)",
            f" of {installation_.enterprise_id}" if installation_.enterprise_id else "",
        )

    async def async_save_bot(self, bot: Bot) -> None:  # pragma: no cover - Bolt calls async_save
        raise NotImplementedError

    async def _find(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool
    ) -> SlackInstallation | None:
        async with self.sessions() as session:
            return await installation.find_installation(
                session,
                workspace_id=None if is_enterprise_install else team_id,
                enterprise_id=enterprise_id,
            )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = (enterprise_id or "", team_id or "", bool(is_enterprise_install))
        now = time.monotonic()
        cached = self._bots.get(key)
        if cached is not None and now - cached[0] < TOKEN_TTL:
            return cached[1]
        row = await self._find(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=bool(is_enterprise_install),
        )
        bot = None if row is None else _bot(row)
        if len(self._bots) > 10_000:
            self._bots.clear()
        self._bots[key] = (now, bot)
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        row = await self._find(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=bool(is_enterprise_install),
        )
        if row is None:
            return None
        return _installation(row, user_id=user_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.forget(workspace_id=team_id, enterprise_id=enterprise_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.forget(workspace_id=team_id, enterprise_id=enterprise_id)

    async def forget(
        self, *, workspace_id: str | None, enterprise_id: str | None, org_wide: bool = False
    ) -> int:
        """The workspace (or organisation, org-wide) uninstalled the app: its token goes."""
        async with self.sessions.begin() as session:
            deleted = await installation.delete_installation(
                session, workspace_id=workspace_id, enterprise_id=enterprise_id, org_wide=org_wide
            )
        self.forget_tokens()
        return deleted

    def forget_tokens(self) -> None:
        """Drop the tokens this process looked up (an installation changed)."""
        self._tokens.clear()
        self._bots.clear()

    # --- bot.slack.client.TokenSource

    async def bot_token(self, workspace: installation.InForce) -> str | None:
        key = (workspace.enterprise_id, workspace.workspace_id)
        cached = self._tokens.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < TOKEN_TTL:
            return cached[1]
        async with self.sessions() as session:
            row = await installation.find_installation(
                session, workspace_id=workspace.workspace_id, enterprise_id=workspace.enterprise_id
            )
        token = row.bot_token if row is not None else None
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = (now, token)
        return token


def _installation(row: SlackInstallation, *, user_id: str | None = None) -> Installation:
    return Installation(
        app_id=row.app_id or None,
        enterprise_id=row.enterprise_id or None,
        enterprise_name=row.enterprise_name or None,
        team_id=row.workspace_id or None,
        team_name=row.team_name or None,
        bot_token=row.bot_token,
        bot_id=row.bot_id or None,
        bot_user_id=row.bot_user_id or None,
        bot_scopes=row.bot_scopes,
        user_id=user_id or row.installer_user_id,
        is_enterprise_install=row.is_enterprise_install,
        installed_at=row.installed_at.timestamp(),
    )


def _bot(row: SlackInstallation) -> Bot:
    return _installation(row).to_bot()


class SignedStates(AsyncOAuthStateStore):
    """OAuth states that need no storage: a random nonce and an expiry, signed with the process's
    key (every replica checks them alike). Bolt also sets the state as a cookie in the installer's
    browser and refuses a redirect whose state is not that browser's. Not one-time: the code
    Slack hands back with it is (oauth.v2.access answers `invalid_code` to a replay)."""

    def __init__(self, key: bytes, *, expiration_seconds: int = STATE_SECONDS) -> None:
        self.key = key
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> Logger:
        return logger

    def _sign(self, body: str) -> str:
        digest = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        body = f"{int(time.time()) + self.expiration_seconds}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._sign(body)}"

    async def async_consume(self, state: str) -> bool:
        body, _, signature = (state or "").rpartition(".")
        expires, _, _nonce = body.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return False
        return expires.isdigit() and int(expires) >= time.time()


_FAILURES = {
    "invalid_state": "This install link is not valid, or has expired.",
    "invalid_browser": "This install was started in another browser (or its cookie expired).",
    "access_denied": "The installation was cancelled in Slack.",
    "invalid_code": "Slack did not accept this installation code.",
    "missing_code": "Slack sent no installation code.",
    "storage_error": "The installation could not be saved; the database may be unavailable.",
}


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    """A short page saying what went wrong and where to start again (never a stack trace)."""
    reason = html.escape(_FAILURES.get(args.reason, f"The installation failed ({args.reason})."))
    install = html.escape(args.settings.install_path)
    status = args.suggested_status_code if args.suggested_status_code < 500 else 503
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>cop-bot: not installed</title>"
        f"</head><body><h1>cop-bot was not installed</h1><p>{reason}</p>"
        f"<p><a href='{install}'>Start the installation again</a>.</p></body></html>"
    )
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )


def authorize_url(api_url: str) -> str:
    """Slack's authorize page beside its Web API (https://slack.com/api/ → …/oauth/v2/authorize;
    the emulator's likewise)."""
    return api_url.rstrip("/").removesuffix("/api") + "/oauth/v2/authorize"


def build_oauth_flow(settings: Settings, installations: Installations) -> AsyncOAuthFlow:
    """Bolt's OAuth flow for `/slack/install` and `/slack/oauth_redirect`, on our stores."""
    assert settings.client_id and settings.client_secret
    key = settings.dashboard_key or settings.client_secret.encode()
    flow = AsyncOAuthFlow(
        # its own plain client: oauth.v2.access authenticates as the app, and auth.test names
        # the new token, neither for a workspace in force
        client=AsyncWebClient(base_url=settings.slack_api_url),
        settings=AsyncOAuthSettings(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scopes=list(settings.scopes),
            user_scopes=[],
            redirect_uri=settings.redirect_uri,
            installation_store=installations,
            installation_store_bot_only=True,
            state_store=SignedStates(hmac.new(key, b"oauth-state", hashlib.sha256).digest()),
            authorization_url=authorize_url(settings.slack_api_url),
            install_page_rendering_enabled=False,  # straight to Slack's page
            callback_options=AsyncCallbackOptions(
                success=_success,
                failure=_failure,
            ),
        ),
    )
    return flow


async def _success(args: Any) -> BoltResponse:
    team = args.installation.team_name or args.installation.enterprise_name or "your workspace"
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>cop-bot installed</title>"
        f"</head><body><h1>cop-bot is installed in {html.escape(team)}</h1>"
        "<p>Type <code>/cop help</code> in Slack to begin.</p></body></html>"
    )
    return BoltResponse(status=200, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def workspace_in_force(installations: Installations) -> Callable[..., Awaitable[None]]:
    """Bolt middleware (after Bolt's authorize): the request's workspace — its team, its
    organisation, the token Bolt found — is the one in force for the work the request starts."""
    known: set[str] = set()  # workspaces whose organisation this process already recorded

    async def middleware(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        team_id = context.team_id or ""
        enterprise_id = context.enterprise_id or ""
        installation.enter(
            installation.InForce(
                workspace_id=team_id,
                enterprise_id=enterprise_id,
                is_enterprise_install=bool(context.is_enterprise_install),
                token=context.bot_token,
            )
            if team_id
            else None
        )
        if team_id and enterprise_id and context.is_enterprise_install and team_id not in known:
            async with installations.sessions.begin() as session:
                await installation.note_enterprise(
                    session, workspace_id=team_id, enterprise_id=enterprise_id
                )
            known.add(team_id)
        await next()

    return middleware
