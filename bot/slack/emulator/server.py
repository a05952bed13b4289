"""The emulator itself: its state, its HTTP and Socket Mode server, and the helpers tests call.

Run standalone with ``python -m bot.slack.emulator --port 8790``."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.slack.emulator.calls import _JSON_PARAMS, Call, _Bucket, _Failure, _peer, _SlackError
from bot.slack.emulator.checks import (
    SENDING_METHODS,
    mrkdwn_texts,
    parsed_sequences,
)
from bot.slack.emulator.methods import WebApiMethods
from bot.slack.emulator.workspace import Workspace, default_workspace

logger = logging.getLogger(__name__)

Json = dict[str, Any]


# --------------------------------------------------------------------------- the emulator


class SlackEmulator(WebApiMethods):
    """A Slack Web API stand-in that runs in the caller's event loop."""

    def __init__(self, workspace: Workspace | None = None, *, validate_blocks: bool = True) -> None:
        self.workspace = workspace or default_workspace()
        self.validate_blocks = validate_blocks
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self.url = ""
        self.api_url = ""
        self._runner: web.AppRunner | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._latency: dict[str, float] = {}
        self._pending_files: dict[str, dict[str, Any]] = {}
        # the largest file the upload host takes (Slack's limit is 1 GB); a test lowers it to see
        # an upload refused with HTTP 413, as a file host refuses an oversized body
        self.max_upload_bytes = 1_000_000_000
        # Retry-After windows announced (a 429), method → when the latest ends (monotonic), and
        # how many calls arrived inside one all the same (`calls_inside_retry_after`)
        self._retry_after_until: dict[str, float] = {}
        self._inside_retry_after: dict[str, int] = defaultdict(int)
        # while set to an unset asyncio.Event, replies to response_urls wait until it is set: a
        # test holds the bot's work after its ack this way (issue 16: ack first)
        self.responses_held: asyncio.Event | None = None
        self._last_us = 0
        self.app_token = "xapp-emulator"
        # several workspaces (OAuth installs), by team id; `workspace` is the one tests and the
        # driver act in (the first), and each Web API call is answered in its token's workspace
        self.workspaces: dict[str, Workspace] = {self.workspace.team_id: self.workspace}
        # the app's OAuth credentials, the codes handed out by the authorize page (code → team)
        self.app_id = "A0COPBOT"
        self.client_id = "1234.5678"
        self.client_secret = "emulator-client-secret"
        self.oauth_codes: dict[str, str] = {}
        # where the authorize page sends the installer back when the app names no redirect_uri
        self.redirect_url: str | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[Json]] = {}
        self._handlers: dict[str, Callable[[Json], Json]] = {
            "auth.test": self._auth_test,
            "team.info": self._team_info,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.conversations": self._users_conversations,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.list": self._conversations_list,
            "conversations.join": self._conversations_join,
            "conversations.invite": self._conversations_invite,
            "conversations.create": self._conversations_create,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (OS-chosen port when 0) inside the running loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        real_port = self._runner.addresses[0][1] if self._runner.addresses else port
        self.url = f"http://{host}:{real_port}"
        self.api_url = f"{self.url}/api/"
        logger.info("Slack emulator listening on %s", self.url)

    async def stop(self) -> None:
        """Shut the server down; safe to call twice."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----------------------------------------------------------------- test helpers

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls to one method, oldest first."""
        return [c for c in self.calls if c.method == method]

    def parsed_markup(self, since: int = 0) -> list[tuple[str, str]]:
        """(method, sequence) for every `<…>` Slack would parse — so would notify someone, name a
        channel or show as a link — in what the bot sent after call number `since`: messages,
        ephemerals, response_url replies, file comments, modals and Home tabs."""
        return [
            (call.method, sequence)
            for call in self.calls[since:]
            if call.method in SENDING_METHODS
            for text in mrkdwn_texts(call.params)
            for sequence in parsed_sequences(text)
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - public API name; it bounds polling, not I/O
        since: int = 0,
    ) -> list[Call]:
        """Poll until ``count`` matching calls were recorded, so tests never sleep blindly.

        ``since``: only calls recorded after that many (``len(emulator.calls)`` taken before the
        action under test), so an earlier, similar call cannot satisfy the wait."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                c
                for c in self.calls[since:]
                if c.method == method and (predicate is None or predicate(c))
            ]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = sorted({c.method for c in self.calls})
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} call(s) to {method!r} "
                    f"(matched {len(found)} of {len(self.calls_to(method))}); methods seen: {seen}"
                )
            await asyncio.sleep(0.01)

    def set_rate_limit(self, method: str, *, per_minute: int, burst: int | None = None) -> None:
        """Throttle ``method`` with a token bucket answering HTTP 429 + Retry-After when empty."""
        capacity = float(burst if burst is not None else max(1, per_minute // 60))
        self._buckets[method] = _Bucket(capacity=capacity, rate=per_minute / 60, tokens=capacity)

    def calls_inside_retry_after(self, method: str) -> int:
        """How many calls to ``method`` arrived inside a Retry-After window this emulator had
        already announced (a 429 answered before they arrived, its wait not over)."""
        return self._inside_retry_after.get(method, 0)

    def clear_rate_limit(self, method: str) -> None:
        """Remove a throttle set by :meth:`set_rate_limit`."""
        self._buckets.pop(method, None)

    def inject_failure(
        self,
        method: str,
        *,
        status: int = 500,
        error: str | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls fail: HTTP ``status``, or 200 ``ok:false`` + ``error``."""
        self._failures[method].extend(_Failure(status, error, delay) for _ in range(times))

    def set_latency(self, method: str, seconds: float) -> None:
        """Delay every answer of ``method`` (``"*"`` for all methods); 0 removes it."""
        if seconds > 0:
            self._latency[method] = seconds
        else:
            self._latency.pop(method, None)

    def response_url(self, key: str | None = None) -> str:
        """A response_url pointing back at the emulator; bodies land in :attr:`responses`."""
        return f"{self.url}/response/{key or uuid.uuid4().hex}"

    @property
    def token_error(self) -> str | None:
        """What the (acting) workspace's bot token answers since uninstall(); None: it works."""
        return self.workspace.token_error

    @token_error.setter
    def token_error(self, error: str | None) -> None:
        self.workspace.token_error = error

    def uninstall(self, *, error: str = "token_revoked", team_id: str | None = None) -> list[Json]:
        """The workspace (`team_id`, else the acting one) removes the app: from now on its bot
        token answers ``error`` (Slack says ``token_revoked``, or ``invalid_auth`` /
        ``account_inactive``). Returns the events Slack sends the app about it, for the driver to
        deliver."""
        ws = self.workspaces[team_id] if team_id else self.workspace
        ws.token_error = error
        return [
            {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [ws.bot_user_id]}},
            {"type": "app_uninstalled"},
        ]

    def reinstall(self, team_id: str | None = None) -> None:
        """The app is installed again: the bot token works again (same token, as a test wants)."""
        (self.workspaces[team_id] if team_id else self.workspace).token_error = None

    def add_workspace(self, workspace: Workspace) -> Workspace:
        """Another workspace the app can be installed in (OAuth): its users, channels, token."""
        self.workspaces[workspace.team_id] = workspace
        return workspace

    @contextlib.contextmanager
    def acting_in(self, team_id: str) -> Iterator[Workspace]:
        """Inside the block, tests and the driver act in this workspace (`emulator.workspace`):
        commands and events come from it. Web API calls are answered by token regardless."""
        previous = self.workspace
        self.workspace = self.workspaces[team_id]
        try:
            yield self.workspace
        finally:
            self.workspace = previous

    def calls_of(self, team_id: str, method: str | None = None) -> list[Call]:
        """The calls made with this workspace's bot token (of one method, or all)."""
        return [
            c for c in self.calls if c.team_id == team_id and (method is None or c.method == method)
        ]

    def _workspace_of(self, token: str | None) -> Workspace | None:
        if token == self.workspace.bot_token:  # the acting one first (a test may replace it)
            return self.workspace
        return next((w for w in self.workspaces.values() if w.bot_token == token), None)

    def deactivate(self, user_id: str) -> Json:
        """An admin deactivates a member: users.info says ``deleted: true`` from now on, DMs
        answer ``user_disabled``. Returns the ``user_change`` event Slack sends about it."""
        user = self._user(user_id)
        user.deleted = True
        return {
            "type": "user_change",
            "user": self._user_json(user, include_locale=True),
            "cache_ts": int(time.time()),
            "event_ts": self.next_ts(),
        }

    def add_message(
        self, channel: str, *, user: str, text: str = "", thread_ts: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Store a message authored by someone else (used by the driver for user messages)."""
        message: dict[str, Any] = {
            "type": "message",
            "ts": self.next_ts(),
            "user": user,
            "text": text,
            "team": self.workspace.team_id,
            **extra,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
            self._mark_reply(channel, thread_ts, message)
        self.messages[channel].append(message)
        return message

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        started = time.monotonic()
        if started < self._retry_after_until.get(method, 0.0):
            self._inside_retry_after[method] += 1  # Slack had told someone to wait
        params = await self._read_params(request)
        token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
        status, headers, body = 200, {}, None  # type: tuple[int, dict[str, str], Json | None]
        if delay := self._latency.get(method, self._latency.get("*", 0.0)):
            await asyncio.sleep(delay)
        if self._failures.get(method):
            failure = self._failures[method].popleft()
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.error is not None:
                body = {"ok": False, "error": failure.error}
            else:
                status = failure.status
                body = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
                if status == 429:
                    headers["Retry-After"] = "1"
        if body is None and (bucket := self._buckets.get(method)) and (wait := bucket.take()):
            status, body = 429, {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        if body is None:
            body = self._dispatch(method, params, token, auth)
        owner = self._workspace_of(token)
        self.calls.append(
            Call(
                method,
                params,
                started,
                status,
                body,
                _peer(request),
                team_id=owner.team_id if owner is not None else None,
            )
        )
        if status == 429 and (retry_after := headers.get("Retry-After")):
            until = time.monotonic() + float(retry_after)
            self._retry_after_until[method] = max(self._retry_after_until.get(method, 0.0), until)
        logger.info("%s -> %s %s", method, status, "ok" if body.get("ok") else body.get("error"))
        return web.json_response(body, status=status, headers=headers)

    def _dispatch(self, method: str, params: Json, token: str | None, auth: str = "") -> Json:
        """Answer one call in the workspace of its token: synchronous, so making that workspace
        the acting one for the call's duration cannot leak into another call."""
        try:
            if method == "oauth.v2.access":
                return {"ok": True, **self._oauth_v2_access(params, auth)}
            if not token:
                raise _SlackError("not_authed")
            if method == "apps.connections.open":
                if token != self.app_token:
                    raise _SlackError("invalid_auth")
                return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
            ws = self._workspace_of(token)
            if ws is None:
                raise _SlackError("invalid_auth")
            if ws.token_error is not None:
                raise _SlackError(ws.token_error)
            handler = self._handlers.get(method)
            if handler is None:
                raise _SlackError("unknown_method")
            acting, self.workspace = self.workspace, ws
            try:
                return {"ok": True, **handler(params)}
            finally:
                self.workspace = acting
        except _SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

    # ----------------------------------------------------------------- OAuth

    def _oauth_v2_access(self, params: Json, auth: str) -> Json:
        """Trade an authorize code for the installing workspace's bot token, as Slack answers."""
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if auth.startswith("Basic "):
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(auth.removeprefix("Basic ").strip()).decode()
                client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            raise _SlackError("invalid_client_id")
        if client_secret != self.client_secret:
            raise _SlackError("bad_client_secret")
        team_id = self.oauth_codes.pop(str(params.get("code") or ""), None)
        if team_id is None:
            raise _SlackError("invalid_code")
        ws = self.workspaces[team_id]
        ws.token_error = None  # installed (again): the token works
        installer = next(
            (u for u in ws.users.values() if u.is_admin),
            next(u for u in ws.users.values() if not u.is_bot),
        )
        return {
            "access_token": ws.bot_token,
            "token_type": "bot",
            "scope": str(params.get("scope") or "commands,chat:write"),
            "bot_user_id": ws.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": ws.team_id, "name": ws.team_name},
            "enterprise": (
                {"id": ws.enterprise_id, "name": ws.enterprise_name} if ws.enterprise_id else None
            ),
            "authed_user": {"id": installer.id},
            "is_enterprise_install": False,
        }

    async def _handle_authorize(self, request: web.Request) -> web.StreamResponse:
        """Slack's authorize page, with the installer clicking "Allow": back to the app's
        redirect URL with a one-time code (and the app's state); ?team= picks the workspace
        (Bolt passes /slack/install?team=… on), else the acting one. `deny=1` plays "Cancel"."""
        query = request.query
        team_id = query.get("team") or self.workspace.team_id
        target = query.get("redirect_uri") or self.redirect_url
        self.calls.append(
            Call("oauth.authorize", dict(query), time.monotonic(), 302, {}, _peer(request), team_id)
        )
        if query.get("client_id") != self.client_id or not target:
            return web.Response(status=400, text="invalid client_id or redirect_uri")
        if team_id not in self.workspaces or query.get("deny"):
            answer = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = uuid.uuid4().hex
            self.oauth_codes[code] = team_id
            answer = {"code": code, "state": query.get("state", "")}
        separator = "&" if "?" in target else "?"
        raise web.HTTPFound(f"{target}{separator}{urlencode(answer)}")

    @staticmethod
    async def _read_params(request: web.Request) -> Json:
        """Merge query, form and JSON bodies, decoding JSON-string params sent as form fields."""
        params: Json = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                with contextlib.suppress(ValueError):
                    body = await request.json()
                    if isinstance(body, dict):
                        params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                    elif isinstance(value, web.FileField):
                        params[key] = f"<file {value.filename}>"
                    else:  # a part sent neither as text nor as a file: raw bytes
                        params[key] = f"<{len(value)} bytes>"
        for key in _JSON_PARAMS & params.keys():
            value = params[key]
            if isinstance(value, str) and value.strip()[:1] in {"[", "{"}:
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params

    # ----------------------------------------------------------------- Socket Mode

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's side of a Socket Mode connection: hello, then envelopes out and acks back."""
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "connection_info": {"app_id": "A0COPBOT"},
            }
        )
        try:
            async for frame in ws:
                if frame.type != web.WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    ack = json.loads(frame.data)
                    future = self._acks.pop(str(ack.get("envelope_id")), None)
                    if future is not None and not future.done():
                        future.set_result(ack)
        finally:
            self._sockets.remove(ws)
        return ws

    async def socket_send(
        self,
        kind: str,
        payload: Json,
        *,
        retry_attempt: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Json:
        """Send one envelope (`slash_commands`, `interactive`, `events_api`) and wait for its ack."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._sockets:
            if loop.time() > deadline:
                raise AssertionError("no Socket Mode connection to the emulator")
            await asyncio.sleep(0.02)
        envelope_id = uuid.uuid4().hex
        future: asyncio.Future[Json] = loop.create_future()
        self._acks[envelope_id] = future
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return await asyncio.wait_for(future, max(0.1, deadline - loop.time()))

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        if self.responses_held is not None:
            await self.responses_held.wait()
        key = request.match_info["key"]
        try:
            body = await request.json()
        except ValueError:
            body = {"text": await request.text()}
        record = {"key": key, **(body if isinstance(body, dict) else {"body": body})}
        self.responses.append(record)
        reply = {"ok": True}
        self.calls.append(
            Call("response_url", record, time.monotonic(), 200, reply, _peer(request))
        )
        logger.info("response_url %s -> 200", key)
        return web.json_response(reply)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        pending = self._pending_files.get(file_id)
        if pending is None:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        data = b""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if getattr(part, "filename", None):
                    data = await part.read()  # type: ignore[union-attr]
                    break
        else:
            data = await request.read()
        if len(data) > self.max_upload_bytes:
            self.calls.append(
                Call(
                    "file_upload",
                    {"file_id": file_id, "length": len(data)},
                    time.monotonic(),
                    413,
                    {},
                )
            )
            return web.Response(status=413, text="file_too_large", content_type="text/plain")
        pending["content"] = data
        self.calls.append(
            Call(
                "file_upload",
                {"file_id": file_id, "length": len(data)},
                time.monotonic(),
                200,
                {"ok": True},
            )
        )
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")


# --------------------------------------------------------------------------- standalone


async def _serve(host: str, port: int) -> None:
    emulator = SlackEmulator(default_workspace())
    await emulator.start(host, port)
    logger.info("API base url: %s (token %s)", emulator.api_url, emulator.workspace.bot_token)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the emulator standalone with the default demo workspace until interrupted."""
    parser = argparse.ArgumentParser(description="Slack Web API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))
