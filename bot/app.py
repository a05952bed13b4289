"""Composition root: settings → engine → Bolt AsyncApp → handlers → ASGI app (Starlette)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import db, platforms
from bot.activity_batch import ActivityBatcher
from bot.config import Config
from bot.dashboard import files as dashboard_files
from bot.dashboard import web as dashboard_web
from bot.deps import Deps
from bot.metrics import Metrics
from bot.slack import edge, oauth
from bot.slack.client import SlackDirectory, SlackMessenger, kept_alive, make_web_client
from bot.slack.dispatch import Dispatcher, install
from bot.teams import edge as teams_edge
from handlers import teams as teams_handlers

logger = logging.getLogger(__name__)


def build_deps(config: Config) -> Deps:
    settings = config.settings
    engine = db.make_engine(settings.database_url)
    web_client = make_web_client(token=settings.bot_token, base_url=settings.slack_api_url)
    background_client = make_web_client(
        token=settings.bot_token, base_url=settings.slack_api_url, background=True
    )
    sessions = db.make_sessionmaker(engine)
    # OAuth mode: every Slack call takes the token of the workspace in force (bot/slack/oauth.py)
    installations = (
        oauth.Installations(sessions, client_id=settings.client_id or "")
        if settings.oauth
        else None
    )
    web_client.tokens = background_client.tokens = installations
    metrics = Metrics()
    database = db.Availability(engine)
    # each call goes to the platform of the workspace in force (bot/platforms.py); Teams' side
    # only when Teams is configured (TEAMS_APP_ID, TEAMS_APP_PASSWORD)
    teams_messenger, teams_directory = _teams_side(config, sessions)
    return Deps(
        config=config,
        engine=engine,
        sessions=sessions,
        directory=platforms.PlatformDirectory(SlackDirectory(web_client), teams_directory),
        messenger=platforms.PlatformMessenger(SlackMessenger(background_client), teams_messenger),
        metrics=metrics,
        web_client=web_client,
        activity_batcher=ActivityBatcher(
            sessions=sessions,
            metrics=metrics,
            default_tz=config.programme.timezone,
            availability=database,
        ),
        database=database,
        slack_clients=(web_client, background_client),
        installations=installations,
    )


def _teams_side(config: Config, sessions: Any) -> tuple[Any, Any]:
    """The Teams messenger and directory (bot/teams/messenger.py), sharing one Bot Connector
    client; (None, None) when Teams is not configured."""
    settings = config.settings
    if not settings.teams:
        return None, None
    from bot.teams.connector import Connector
    from bot.teams.messenger import TeamsDirectory, TeamsMessenger

    connector = Connector.of(settings)
    messenger = TeamsMessenger(connector, sessions, app_id=settings.teams_app_id or "")
    return messenger, TeamsDirectory(connector, sessions)


async def close_teams(deps: Deps) -> None:
    """At shutdown: the Teams messenger's Bot Connector client closes."""
    teams = getattr(deps.messenger, "teams", None)
    connector = getattr(teams, "connector", None)
    if connector is not None:
        await connector.aclose()


def build_bolt(deps: Deps, *, socket_mode: bool = False, slack: bool = True) -> AsyncApp:
    """The Bolt app with every listener registered; `deps` reaches listeners by name. Without
    Slack (`cop serve --platform teams`) it is built to serve nothing: no token, and no route
    reaches it (build_asgi's `slack`)."""
    import handlers

    settings = deps.config.settings
    if not slack:

        async def nobody(**_: Any) -> AuthorizeResult:
            raise RuntimeError("no Slack here: cop serve --platform teams")

        return AsyncApp(
            signing_secret="teams-only",
            client=deps.web_client,
            authorize=nobody,
            request_verification_enabled=False,
        )
    # many workspaces (bot/slack/oauth.py): Bolt's OAuth flow, and its authorize per request
    oauth_options: dict[str, Any] = (
        {"oauth_flow": oauth.build_oauth_flow(settings, deps.installations)}
        if deps.installations is not None
        else {}
    )
    app = AsyncApp(
        signing_secret=settings.signing_secret or "socket-mode",
        client=deps.web_client,
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        **oauth_options,
    )
    if deps.installations is not None:  # the request's workspace is the one in force
        app.middleware(oauth.workspace_in_force(deps.installations))
    install(app)  # no 10 ms polling for an ack (before the error handler is set)
    handlers.register_handlers(app, deps)
    return app


def build_dispatcher(deps: Deps, bolt: AsyncApp, **options: Any) -> Dispatcher:
    """The edge's answers and the queue after them (bot.slack.dispatch), with the activity fast
    path (handlers.activity.take) and "busy" in the person's language (handlers.context)."""
    from bot.i18n import translate
    from bot.slack.client import PooledRespond
    from handlers import activity
    from handlers.context import language_hint

    def fast_path(payload: dict[str, Any]) -> bool:
        return activity.take(deps, payload)

    def busy_text(payload: dict[str, Any]) -> str:
        return translate(language_hint(deps, payload))("error.busy")

    async def reply(response_url: str, message: dict[str, Any]) -> None:
        session = getattr(deps.web_client, "session", None)
        if session is not None and not session.closed:
            await PooledRespond(response_url=response_url, session=session)(message)
        else:
            await AsyncWebhookClient(response_url).send_dict(message)

    return Dispatcher(bolt, fast_path=fast_path, busy_text=busy_text, reply=reply, **options)


def build_asgi(
    deps: Deps,
    bolt: AsyncApp,
    *,
    lifespan_hooks: list[Any] | None = None,
    slack: bool = True,
    teams: bool = True,
    **dispatch_options: Any,
) -> Starlette:
    """POST /slack/events (signed), GET /healthz (database), GET /metrics (Prometheus), and
    GET /dashboard (bot/dashboard/web.py, behind signed links). `slack`/`teams` False leave
    that platform's routes out (`cop serve --platform`)."""
    signing_secret = deps.config.settings.signing_secret
    # Socket Mode needs no HTTP endpoint: without a secret every request is refused
    secret = signing_secret.encode() if signing_secret else None
    metrics = deps.metrics
    dispatcher = build_dispatcher(deps, bolt, **dispatch_options)
    # POST /api/messages (bot/teams/edge.py), when TEAMS_APP_ID and TEAMS_APP_PASSWORD are set
    teams_routes = teams_edge.routes(deps, teams_handlers.register_all) if teams else []

    async def slack_events(request: Request) -> Response:
        """Size, then signature, then one parse (bot.slack.edge), then the answer, then the
        work (bot.slack.dispatch)."""
        started = time.perf_counter()
        kind = "unsigned"
        try:
            body = await edge.read_capped(request.headers, request.stream())
            if secret is None or not edge.signed(secret, body, request.headers):
                raise edge.Refused(401, "invalid request")
            kind = "malformed"
            payload = edge.parse(body, request.headers.get("content-type", ""))
        except edge.Refused as refused:
            metrics.requests.labels(kind=kind, status=str(refused.status)).inc()
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        kind = edge.kind_of(payload)
        if (
            kind == "event_callback"
            and deps.database is not None
            and not await deps.database.is_up()
        ):
            # Slack does not redeliver an event we acknowledged: refuse it while we cannot
            # record it, and Slack tries again (~1 min, then ~5 min later) with the same id.
            metrics.requests.labels(kind=kind, status="503").inc()
            return JSONResponse({"error": "database unavailable, retry later"}, status_code=503)
        # the answer first (bot.slack.dispatch): the fast path for activity, inline for what
        # Slack waits on (a modal's response_action, options), else 200 and the work queued
        try:
            response = await dispatcher.answer(
                kind, body.decode("utf-8"), request.query_params, request.headers, payload
            )
        except Exception:
            # A signed body whose shape Bolt's own reading trips over (edge._well_shaped keeps
            # out the ones known; `"actions": []` raised IndexError in Bolt): the sender's
            # mistake, answered 400 — never a 500. Listener errors never come here: Bolt hands
            # them to handlers.middleware.handle_error.
            logger.warning("a signed %s request Bolt could not read", kind, exc_info=True)
            metrics.requests.labels(kind=kind, status="400").inc()
            return JSONResponse({"error": "malformed request body"}, status_code=400)
        metrics.requests.labels(kind=kind, status=str(response.status_code)).inc()
        metrics.ack_seconds.labels(kind=kind).observe(time.perf_counter() - started)
        return response

    async def slack_oauth(request: Request) -> Response:
        """GET /slack/install and /slack/oauth_redirect: Bolt's OAuth flow (bot/slack/oauth.py);
        404 with one token."""
        flow = bolt.oauth_flow
        if flow is None:
            return PlainTextResponse("not found", status_code=404)
        try:
            bolt_request = to_async_bolt_request(request, b"")
            if request.url.path == flow.install_path:
                return to_starlette_response(await flow.handle_installation(bolt_request))
            return to_starlette_response(await flow.handle_callback(bolt_request))
        except Exception:
            logger.warning("the OAuth install failed", exc_info=True)
            return PlainTextResponse(
                "cop-bot could not be installed just now; try again in a minute.", status_code=503
            )

    async def healthz(_: Request) -> Response:
        try:
            await _with_timeout(db.ping(deps.engine), 2.0)
        except Exception as exc:
            logger.warning("health check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    async def metrics_endpoint(_: Request) -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            # every Slack client of the process shares keep-alive connections while it serves
            await stack.enter_async_context(kept_alive(*deps.slack_clients))
            for hook in lifespan_hooks or []:
                await stack.enter_async_context(hook)
            # on exit, first: the acknowledged work finishes (bounded), then the batch pending
            stack.push_async_callback(deps.activity_batcher.flush)
            stack.push_async_callback(dispatcher.drain)
            stack.push_async_callback(teams_edge.aclose, teams_routes)  # Teams' replies, client
            stack.push_async_callback(close_teams, deps)  # the outbox's Teams client
            # what startup built lives as long as the process: out of the garbage collector's
            # way (a full collection walking it paused every request ~140 ms under load)
            gc.freeze()
            yield

    return Starlette(
        routes=[
            *([Route("/slack/events", slack_events, methods=["POST"])] if slack else []),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *dashboard_web.routes(deps),  # GET /dashboard: reached only by a signed link
            *dashboard_files.routes(deps),  # GET /files: an .ics, an export (bot/downloads.py)
            *(
                [
                    Route("/slack/install", slack_oauth, methods=["GET"]),
                    Route("/slack/oauth_redirect", slack_oauth, methods=["GET"]),
                ]
                if slack
                else []
            ),
            *teams_routes,
        ],
        lifespan=lifespan,
    )


async def _with_timeout(awaitable: Awaitable[Any], seconds: float) -> Any:
    return await asyncio.wait_for(awaitable, seconds)
