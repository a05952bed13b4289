"""In-process Slack Web API emulator served over real HTTP (aiohttp.web).

The test-suite and ``cop demo`` point the real bot's
``AsyncWebClient(base_url=emulator.api_url)`` at this server, so the bot's HTTP
stack, retry handlers and Block Kit payloads are exercised exactly as in
production, without a Slack workspace. It keeps a seeded workspace (users,
channels), stores what the bot posts (messages, views, ephemerals, uploads,
response_url bodies), records every call, and can inject failures, latency and
rate limits so resilience paths can be tested deterministically.

Run standalone with ``python -m bot.slack.emulator --port 8790``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import logging
import math
import random
import re
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

logger = logging.getLogger(__name__)

Json = dict[str, Any]


# --------------------------------------------------------------------------- workspace model


@dataclass
class User:
    """A workspace member, as the emulator serves it through users.* methods."""

    id: str
    name: str
    real_name: str
    tz: str = "Europe/Paris"
    locale: str = "fr-FR"
    is_bot: bool = False
    deleted: bool = False
    is_admin: bool = False


@dataclass
class Channel:
    """A conversation; ``members`` is mutable so tests can simulate joins and leaves."""

    id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False


@dataclass
class Workspace:
    """The whole seeded state the emulator answers from."""

    team_id: str
    team_name: str
    bot_user_id: str
    bot_token: str
    users: dict[str, User]
    channels: dict[str, Channel]


def default_workspace() -> Workspace:
    """Seed a small, mostly French demo workspace so demos and tests read naturally."""
    people = [
        User("U0CAMILLE", "camille.martin", "Camille Martin", is_admin=True),
        User("U0LUCAS", "lucas.bernard", "Lucas Bernard"),
        User("U0CHLOE", "chloe.dubois", "Chloé Dubois"),
        User("U0HUGO", "hugo.thomas", "Hugo Thomas"),
        User("U0LEA", "lea.robert", "Léa Robert"),
        User("U0NATHAN", "nathan.petit", "Nathan Petit"),
        User("U0MANON", "manon.durand", "Manon Durand"),
        User("U0EMILY", "emily.smith", "Emily Smith", tz="America/New_York", locale="en-US"),
        User("U0JAMES", "james.brown", "James Brown", tz="Europe/London", locale="en-GB"),
        User("U0PIERRE", "pierre.leroy", "Pierre Leroy", deleted=True),
        User("U0JIRA", "jira", "Jira Cloud", tz="America/Los_Angeles", locale="en-US", is_bot=True),
        User("UBOT", "cop-bot", "CoP Bot", is_bot=True),
    ]
    humans = [u.id for u in people if not u.is_bot]
    channels = [
        Channel("C0DATA", "data-science", ["U0CAMILLE", "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"]),
        Channel("C0AGILE", "agilite", ["U0CAMILLE", "U0LEA", "U0NATHAN", "U0MANON", "U0JAMES"]),
        Channel("C0SEC", "securite", ["U0HUGO", "U0NATHAN", "U0LUCAS", "U0PIERRE"]),
        Channel("C0GEN", "general", [*humans, "U0JIRA"]),
        Channel("C0OLD", "ancien-projet", ["U0LUCAS", "U0MANON"], is_archived=True),
    ]
    for channel in channels:
        channel.members.append("UBOT")
    return Workspace(
        team_id="T0COP",
        team_name="CoP Demo",
        bot_user_id="UBOT",
        bot_token="xoxb-emulator",
        users={u.id: u for u in people},
        channels={c.id: c for c in channels},
    )


_FIRST = [
    "Camille",
    "Lucas",
    "Chloé",
    "Hugo",
    "Léa",
    "Nathan",
    "Manon",
    "Louis",
    "Inès",
    "Jules",
    "Emma",
    "Gabriel",
    "Sarah",
    "Paul",
    "Alice",
    "Emily",
    "James",
    "Olivia",
    "Noah",
    "Priya",
]
_LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Garcia",
    "Smith",
    "Brown",
    "Jones",
    "Taylor",
    "Patel",
]
_ZONES = [("Europe/Paris", "fr-FR")] * 8 + [
    ("America/New_York", "en-US"),
    ("Europe/London", "en-GB"),
]


def large_workspace(n_users: int, n_channels: int, seed: int = 0) -> Workspace:
    """Generate a big deterministic workspace for load tests (30k users builds well under 1 s)."""
    rng = random.Random(seed)
    users: dict[str, User] = {"UBOT": User("UBOT", "cop-bot", "CoP Bot", is_bot=True)}
    ids: list[str] = []
    for i in range(n_users):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        tz, locale = rng.choice(_ZONES)
        uid = f"UL{i:07d}"
        users[uid] = User(
            uid,
            f"{first.lower()}.{last.lower()}{i}",
            f"{first} {last}",
            tz,
            locale,
            deleted=rng.random() < 0.02,
            is_admin=i == 0,
        )
        ids.append(uid)
    channels: dict[str, Channel] = {}
    for j in range(n_channels):
        if j == 0:
            members = list(ids)
        else:
            size = min(len(ids), max(3, int(min(len(ids), 2000) * rng.random() ** 2)))
            members = rng.sample(ids, size)
        cid = f"CL{j:06d}"
        channels[cid] = Channel(
            cid, "general" if j == 0 else f"cop-{j:04d}", [*members, "UBOT"], is_private=j % 10 == 9
        )
    return Workspace("T0LOAD", "Load Test", "UBOT", "xoxb-emulator", users, channels)


_TZ_LABELS = {
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
}


@functools.lru_cache(maxsize=64)
def _tz_info(tz: str) -> tuple[int, str]:
    """Offset/label per zone, cached because users.list serialises thousands of users."""
    now = datetime.now(UTC).astimezone(ZoneInfo(tz))
    offset = now.utcoffset()
    abbrev = now.tzname() or tz
    return int(offset.total_seconds()) if offset else 0, _TZ_LABELS.get(abbrev, abbrev)


# --------------------------------------------------------------------------- call log & faults


@dataclass
class Call:
    """One recorded HTTP call, so tests can assert on what the bot actually sent."""

    method: str
    params: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any]
    peer: Any = None  # the client's (host, port): one per TCP connection, to see keep-alive


def _peer(request: web.Request) -> Any:
    transport = request.transport
    return transport.get_extra_info("peername") if transport is not None else None


@dataclass
class _Bucket:
    """Token bucket modelling Slack's per-method rate tiers."""

    capacity: float
    rate: float  # tokens per second
    tokens: float
    last: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """Consume a token; return 0 on success, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class _Failure:
    status: int
    error: str | None
    delay: float


class _SlackError(Exception):
    """Raised by method handlers to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


_JSON_PARAMS = {"blocks", "view", "metadata", "attachments", "files", "unfurls"}
_MSG_MAX_BLOCKS, _VIEW_MAX_BLOCKS = 50, 100


def _flag(params: Json, name: str) -> bool:
    return str(params.get(name, "")).lower() in {"1", "true"}


def _int(params: Json, name: str, default: int) -> int:
    try:
        value = int(params.get(name) or default)
    except (TypeError, ValueError):
        raise _SlackError("invalid_arguments") from None
    return value if value > 0 else default


def _paginate(items: Sequence[Any], params: Json, default_limit: int) -> tuple[list[Any], str]:
    """Slice ``items`` like Slack's cursor pagination (opaque base64 offset cursors)."""
    limit = min(_int(params, "limit", default_limit), 1000)
    start = 0
    if cursor := params.get("cursor"):
        try:
            start = int(base64.b64decode(str(cursor)).decode().removeprefix("next:"))
        except ValueError:
            raise _SlackError("invalid_cursor") from None
    end = start + limit
    nxt = base64.b64encode(f"next:{end}".encode()).decode() if end < len(items) else ""
    return list(items[start:end]), nxt


# --------------------------------------------------------------------------- what Slack parses

# In mrkdwn Slack reads any `<…>` as markup: a broadcast (<!channel>, <!here>, <!everyone>), a
# group or a person (<!subteam^S…>, <@U…>), a channel (<#C…>), a date, or a link (<url|label>).
_PARSED = re.compile(r"<[^<>]*>")
# Where a sent text is mrkdwn: a message's top-level text, a file's comment, mrkdwn objects.
_MRKDWN_PARAMS = ("text", "initial_comment")
SENDING_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.scheduleMessage",
        "response_url",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
        "files.completeUploadExternal",
    }
)


def mrkdwn_texts(params: Any) -> list[str]:
    """The texts Slack would parse for mentions and links in a call's parameters: its top-level
    `text` (or a file's `initial_comment`) and every mrkdwn text object in blocks, attachments or a
    view. plain_text objects are left out: Slack shows them as typed."""
    found: list[str] = []
    if isinstance(params, dict):
        for key in _MRKDWN_PARAMS:
            if isinstance(params.get(key), str):
                found.append(params[key])

    def walk(obj: Any) -> None:
        if isinstance(obj, str) and obj.strip()[:1] in {"[", "{"}:
            with contextlib.suppress(ValueError):
                walk(json.loads(obj))
        elif isinstance(obj, dict):
            if obj.get("type") == "mrkdwn":
                found.append(str(obj.get("text") or ""))
            for key, value in obj.items():
                if key not in _MRKDWN_PARAMS or not isinstance(value, str):
                    walk(value)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)

    walk(params)
    return found


def parsed_sequences(text: str) -> list[str]:
    """Each `<…>` Slack would read as a mention, a broadcast, a channel or a link."""
    return _PARSED.findall(text)


# --------------------------------------------------------------------------- Block Kit checks


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def _check_elements(obj: Any, path: str, errors: list[str]) -> None:
    """Walk nested elements for limits slack_sdk's models don't (all) enforce."""
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            _check_elements(item, f"{path}/{i}", errors)
        return
    if not isinstance(obj, dict):
        return
    if obj.get("type") == "button":
        if len(_text_of(obj.get("text"))) > 75:
            errors.append(
                f"[ERROR] must be less than 76 characters [json-pointer:{path}/text/text]"
            )
        if len(str(obj.get("value", ""))) > 2000:
            errors.append(f"[ERROR] must be less than 2001 characters [json-pointer:{path}/value]")
    if len(str(obj.get("action_id", ""))) > 255:
        errors.append(f"[ERROR] must be less than 256 characters [json-pointer:{path}/action_id]")
    if isinstance(obj.get("options"), list) and len(obj["options"]) > 100:
        errors.append(f"[ERROR] no more than 100 items allowed [json-pointer:{path}/options]")
    for key, value in obj.items():
        if isinstance(value, dict | list) and key not in {"text", "title"}:
            _check_elements(value, f"{path}/{key}", errors)


def validate_blocks(
    blocks: Any, *, limit: int = _MSG_MAX_BLOCKS, root: str = "/blocks"
) -> list[str]:
    """Return Slack-style ``[ERROR] ...`` messages for an invalid block list (empty if valid)."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{root}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{root}]")
    seen: set[str] = set()
    for i, raw in enumerate(blocks):
        path = f"{root}/{i}"
        if not isinstance(raw, dict):
            errors.append(f"[ERROR] must be an object [json-pointer:{path}]")
            continue
        try:
            block = Block.parse(raw)
            if block is None:
                errors.append(
                    f"[ERROR] unsupported type: {raw.get('type')!r} [json-pointer:{path}]"
                )
                continue
            block.to_dict()  # runs validate_json() on the block and every nested object
        except SlackObjectFormationError as exc:
            errors.append(f"[ERROR] {exc} [json-pointer:{path}]")
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            errors.append(f"[ERROR] invalid block ({exc}) [json-pointer:{path}]")
        block_id = raw.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(
                    f"[ERROR] must be less than 256 characters [json-pointer:{path}/block_id]"
                )
            if block_id in seen:
                errors.append(
                    f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{path}/block_id]"
                )
            seen.add(block_id)
        kind = raw.get("type")
        if kind == "section" and len(_text_of(raw.get("text"))) > 3000:
            errors.append(
                f"[ERROR] must be less than 3001 characters [json-pointer:{path}/text/text]"
            )
        if kind == "header" and len(_text_of(raw.get("text"))) > 150:
            errors.append(
                f"[ERROR] must be less than 151 characters [json-pointer:{path}/text/text]"
            )
        _check_elements(raw, path, errors)
    return list(dict.fromkeys(errors))


def validate_view(view: Any) -> list[str]:
    """Return Slack-style error messages for an invalid modal/home view (empty if valid)."""
    if not isinstance(view, dict):
        return ["[ERROR] must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") not in {"modal", "home"}:
        errors.append("[ERROR] must be 'modal' or 'home' [json-pointer:/view/type]")
    try:
        View(**view).validate_json()
    except SlackObjectFormationError as exc:
        errors.append(f"[ERROR] {exc} [json-pointer:/view]")
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        errors.append(f"[ERROR] invalid view ({exc}) [json-pointer:/view]")
    if view.get("type") == "modal" and not _text_of(view.get("title")):
        errors.append("[ERROR] missing required field: title [json-pointer:/view/title]")
    for key in ("title", "submit", "close"):
        if len(_text_of(view.get(key))) > 24:
            errors.append(
                f"[ERROR] must be less than 25 characters [json-pointer:/view/{key}/text]"
            )
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        if len(str(view.get(key) or "")) > limit:
            errors.append(
                f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{key}]"
            )
    blocks = view.get("blocks", [])
    errors += validate_blocks(blocks, limit=_VIEW_MAX_BLOCKS, root="/view/blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if view.get("type") == "modal" and has_input and not view.get("submit"):
        errors.append(
            "[ERROR] submit is required when input blocks are present [json-pointer:/view]"
        )
    return list(dict.fromkeys(errors))


# --------------------------------------------------------------------------- the emulator


class SlackEmulator:
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
        self._last_us = 0
        self.app_token = "xapp-emulator"
        # set by uninstall(): every call with the bot token answers this error until reinstall()
        self.token_error: str | None = None
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

    def uninstall(self, *, error: str = "token_revoked") -> list[Json]:
        """The workspace removes the app: from now on the bot token answers ``error`` (Slack says
        ``token_revoked``, or ``invalid_auth`` / ``account_inactive``). Returns the events Slack
        sends the app about it, for the driver to deliver."""
        self.token_error = error
        ws = self.workspace
        return [
            {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [ws.bot_user_id]}},
            {"type": "app_uninstalled"},
        ]

    def reinstall(self) -> None:
        """The app is installed again: the bot token works again (same token, as a test wants)."""
        self.token_error = None

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

    def dm_channel_for(self, user_id: str) -> str:
        """The stable DM channel id conversations.open returns for ``user_id``."""
        return "D" + user_id[1:]

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

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message ``ts`` in ``channel``, if any."""
        return next((m for m in reversed(self.messages.get(channel, [])) if m["ts"] == ts), None)

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        started = time.monotonic()
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
            body = self._dispatch(method, params, token)
        self.calls.append(Call(method, params, started, status, body, _peer(request)))
        logger.info("%s -> %s %s", method, status, "ok" if body.get("ok") else body.get("error"))
        return web.json_response(body, status=status, headers=headers)

    def _dispatch(self, method: str, params: Json, token: str | None) -> Json:
        try:
            if not token:
                raise _SlackError("not_authed")
            if method == "apps.connections.open":
                if token != self.app_token:
                    raise _SlackError("invalid_auth")
                return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
            if token != self.workspace.bot_token:
                raise _SlackError("invalid_auth")
            if self.token_error is not None:
                raise _SlackError(self.token_error)
            handler = self._handlers.get(method)
            if handler is None:
                raise _SlackError("unknown_method")
            return {"ok": True, **handler(params)}
        except _SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

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
                    params[key] = value if isinstance(value, str) else f"<file {value.filename}>"
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

    # ----------------------------------------------------------------- shared helpers

    def next_ts(self) -> str:
        """Unique, strictly increasing, wall-clock based ``"1732000000.000100"`` timestamps."""
        us = max(int(time.time() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    @property
    def _bot_id(self) -> str:
        return "B" + self.workspace.bot_user_id.lstrip("U")

    def _user(self, user_id: Any) -> User:
        user = self.workspace.users.get(str(user_id or ""))
        if user is None:
            raise _SlackError("user_not_found")
        return user

    def _user_json(self, user: User, *, include_locale: bool = False) -> Json:
        offset, label = _tz_info(user.tz)
        first, _, last = user.real_name.partition(" ")
        data: Json = {
            "id": user.id,
            "team_id": self.workspace.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_admin": user.is_admin,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "profile": {
                "real_name": user.real_name,
                "display_name": user.name,
                "real_name_normalized": user.real_name,
                "display_name_normalized": user.name,
                "first_name": first,
                "last_name": last,
                "team": self.workspace.team_id,
                "email": None if user.is_bot else f"{user.name}@example.com",
            },
        }
        if include_locale:
            data["locale"] = user.locale
        return data

    def _channel(self, ref: Any, *, users_ok: bool = False) -> Channel:
        """Resolve a channel id, ``#name`` or (when ``users_ok``) a user id → that user's DM."""
        ref = str(ref or "")
        if ref.startswith("#"):
            found = next((c for c in self.workspace.channels.values() if c.name == ref[1:]), None)
            if found:
                return found
        elif channel := self.workspace.channels.get(ref):
            return channel
        elif users_ok and ref in self.workspace.users:
            return self._open_dm(ref)
        raise _SlackError("channel_not_found")

    def _open_dm(self, user_id: str) -> Channel:
        user = self._user(user_id)
        if user.is_bot or user.id == self.workspace.bot_user_id:
            raise _SlackError("cannot_dm_bot")
        if user.deleted:
            raise _SlackError("user_disabled")
        dm_id = self.dm_channel_for(user.id)
        channel = self.workspace.channels.get(dm_id)
        if channel is None:
            channel = Channel(dm_id, user.id, [user.id, self.workspace.bot_user_id], is_im=True)
            self.workspace.channels[dm_id] = channel
        return channel

    def _writable(self, ref: Any) -> Channel:
        channel = self._channel(ref, users_ok=True)
        if channel.is_archived:
            raise _SlackError("is_archived")
        if channel.is_im:
            if self._user(channel.name).deleted:
                raise _SlackError("user_disabled")
        elif self.workspace.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        return channel

    def _readable(self, ref: Any) -> Channel:
        channel = self._channel(ref)
        if not channel.is_im and self.workspace.bot_user_id not in channel.members:
            raise _SlackError("not_in_channel")
        return channel

    def _channel_json(self, channel: Channel) -> Json:
        if channel.is_im:
            return {
                "id": channel.id,
                "is_im": True,
                "is_channel": False,
                "is_group": False,
                "user": channel.name,
                "is_open": True,
                "is_archived": False,
                "created": 1_700_000_000,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "is_member": self.workspace.bot_user_id in channel.members,
            "num_members": len(channel.members),
            "created": 1_700_000_000,
            "context_team_id": self.workspace.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": f"#{channel.name}", "creator": "", "last_set": 0},
        }

    def _message(self, channel: Channel, ts: Any) -> dict[str, Any]:
        message = self.find_message(channel.id, str(ts or ""))
        if message is None:
            raise _SlackError("message_not_found")
        return message

    def _check_blocks(self, params: Json) -> None:
        blocks = params.get("blocks")
        if self.validate_blocks and blocks is not None and (errors := validate_blocks(blocks)):
            raise _SlackError("invalid_blocks", response_metadata={"messages": errors})

    def _check_view(self, view: Any) -> Json:
        if not isinstance(view, dict):
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view"]}
            )
        if self.validate_blocks and (errors := validate_view(view)):
            raise _SlackError("invalid_arguments", response_metadata={"messages": errors})
        return view

    def _mark_reply(self, channel: str, thread_ts: str, reply: Json) -> None:
        parent = self.find_message(channel, thread_ts)
        if parent is not None:
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = reply["ts"]
            parent["thread_ts"] = thread_ts
            users = parent.setdefault("reply_users", [])
            if reply.get("user") not in users:
                users.append(reply.get("user"))

    @staticmethod
    def _public(message: Json, *, metadata: bool = True) -> Json:
        out = dict(message)
        if not metadata:
            out.pop("metadata", None)
        return out

    # ----------------------------------------------------------------- auth / team / users

    def _auth_test(self, params: Json) -> Json:
        ws = self.workspace
        return {
            "url": f"https://{ws.team_id.lower()}.slack.com/",
            "team": ws.team_name,
            "user": ws.users[ws.bot_user_id].name if ws.bot_user_id in ws.users else "bot",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": self._bot_id,
            "is_enterprise_install": False,
        }

    def _team_info(self, params: Json) -> Json:
        ws = self.workspace
        return {
            "team": {
                "id": ws.team_id,
                "name": ws.team_name,
                "domain": ws.team_id.lower(),
                "email_domain": "example.com",
                "icon": {},
            }
        }

    def _users_info(self, params: Json) -> Json:
        user = self._user(params.get("user"))
        return {"user": self._user_json(user, include_locale=_flag(params, "include_locale"))}

    def _users_list(self, params: Json) -> Json:
        page, cursor = _paginate(list(self.workspace.users.values()), params, 200)
        locale = _flag(params, "include_locale")
        return {
            "members": [self._user_json(u, include_locale=locale) for u in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": cursor},
        }

    # ----------------------------------------------------------------- conversations

    def _matching(self, params: Json) -> list[Channel]:
        types = set(str(params.get("types") or "public_channel").split(","))
        skip_archived = _flag(params, "exclude_archived")

        def kind(c: Channel) -> str:
            return "im" if c.is_im else "private_channel" if c.is_private else "public_channel"

        return [
            c
            for c in self.workspace.channels.values()
            if kind(c) in types and not (skip_archived and c.is_archived)
        ]

    def _conversations_list(self, params: Json) -> Json:
        page, cursor = _paginate(self._matching(params), params, 100)
        return {
            "channels": [self._channel_json(c) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _users_conversations(self, params: Json) -> Json:
        user = str(params.get("user") or self.workspace.bot_user_id)
        mine = [c for c in self._matching(params) if user in c.members]
        page, cursor = _paginate(mine, params, 100)
        return {
            "channels": [self._channel_json(c) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_info(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        return {"channel": self._channel_json(channel)}

    def _conversations_members(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        page, cursor = _paginate(channel.members, params, 100)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _conversations_join(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        if channel.is_archived:
            raise _SlackError("is_archived")
        if channel.is_private or channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        already = self.workspace.bot_user_id in channel.members
        if not already:
            channel.members.append(self.workspace.bot_user_id)
        extra = {"warning": "already_in_channel"} if already else {}
        return {"channel": self._channel_json(channel), **extra}

    def _conversations_open(self, params: Json) -> Json:
        if params.get("channel"):
            channel = self._channel(params["channel"])
        else:
            users = [u for u in str(params.get("users") or "").split(",") if u]
            if len(users) != 1:
                raise _SlackError("not_supported" if users else "users_list_not_supplied")
            channel = self._open_dm(users[0])
        if _flag(params, "return_im"):
            return {"channel": self._channel_json(channel)}
        return {"channel": {"id": channel.id}}

    def _conversations_history(self, params: Json) -> Json:
        channel = self._readable(params.get("channel"))
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or math.inf)
        inclusive = _flag(params, "inclusive")
        top = [
            m
            for m in reversed(self.messages.get(channel.id, []))
            if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("subtype") == "thread_broadcast"
        ]

        def wanted(m: Json) -> bool:
            ts = float(m["ts"])
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        in_range = [m for m in top if wanted(m)]
        page, cursor = _paginate(in_range, params, 100)
        meta = _flag(params, "include_all_metadata")
        return {
            "messages": [self._public(m, metadata=meta) for m in page],
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, params: Json) -> Json:
        channel = self._readable(params.get("channel"))
        ts = str(params.get("ts") or "")
        if self.find_message(channel.id, ts) is None:
            raise _SlackError("thread_not_found")
        thread = [
            m
            for m in self.messages.get(channel.id, [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        page, cursor = _paginate(thread, params, 100)
        meta = _flag(params, "include_all_metadata")
        return {
            "messages": [self._public(m, metadata=meta) for m in page],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    # ----------------------------------------------------------------- chat

    def _content(self, params: Json) -> Json:
        text = params.get("text")
        if not text and not params.get("blocks") and not params.get("attachments"):
            raise _SlackError("no_text")
        if text and len(str(text)) > 40000:
            raise _SlackError("msg_too_long")
        self._check_blocks(params)
        content: Json = {"text": str(text or "")}
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key) is not None:
                content[key] = params[key]
        return content

    def _chat_post_message(self, params: Json) -> Json:
        channel = self._writable(params.get("channel"))
        content = self._content(params)
        message: Json = {
            "type": "message",
            "ts": self.next_ts(),
            "user": self.workspace.bot_user_id,
            "bot_id": self._bot_id,
            "app_id": "A0COPBOT",
            "team": self.workspace.team_id,
            **content,
        }
        for key in ("unfurl_links", "unfurl_media", "username", "icon_emoji"):
            if key in params:
                message[key] = params[key]
        if thread_ts := params.get("thread_ts"):
            message["thread_ts"] = str(thread_ts)
            if _flag(params, "reply_broadcast"):
                message["subtype"] = "thread_broadcast"
            self._mark_reply(channel.id, str(thread_ts), message)
        self.messages[channel.id].append(message)
        return {"channel": channel.id, "ts": message["ts"], "message": self._public(message)}

    def _chat_update(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("ts"))
        if message.get("user") != self.workspace.bot_user_id:
            raise _SlackError("cant_update_message")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if params.get("text") and len(str(params["text"])) > 40000:
            raise _SlackError("msg_too_long")
        self._check_blocks(params)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": self.workspace.bot_user_id, "ts": self.next_ts()}
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": self._public(message),
        }

    def _chat_delete(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("ts"))
        if message.get("user") != self.workspace.bot_user_id:
            raise _SlackError("cant_delete_message")
        self.messages[channel.id].remove(message)
        return {"channel": channel.id, "ts": message["ts"]}

    def _chat_post_ephemeral(self, params: Json) -> Json:
        channel = self._writable(params.get("channel"))
        user = self._user(params.get("user"))
        if user.id not in channel.members:
            raise _SlackError("user_not_in_channel")
        content = self._content(params)
        ts = self.next_ts()
        self.ephemerals.append(
            {
                "channel": channel.id,
                "user": user.id,
                "ts": ts,
                "thread_ts": params.get("thread_ts"),
                **content,
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: Json) -> Json:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("message_ts"))
        link = (
            f"https://{self.workspace.team_id.lower()}.slack.com/archives/"
            f"{channel.id}/p{message['ts'].replace('.', '')}"
        )
        return {"channel": channel.id, "permalink": link}

    def _reactions_add(self, params: Json) -> Json:
        channel = self._readable(params.get("channel"))
        message = self._message(channel, params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name:
            raise _SlackError("invalid_name")
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        bot = self.workspace.bot_user_id
        if entry is None:
            reactions.append({"name": name, "users": [bot], "count": 1})
        elif bot in entry["users"]:
            raise _SlackError("already_reacted")
        else:
            entry["users"].append(bot)
            entry["count"] += 1
        return {}

    # ----------------------------------------------------------------- views

    def _store_view(self, view: Json, *, view_id: str | None = None, **extra: Any) -> Json:
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        stored: Json = {
            "team_id": self.workspace.team_id,
            "type": view.get("type", "modal"),
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0COPBOT",
            "bot_id": self._bot_id,
            **view,
            **extra,
            "id": view_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        }
        self.views[view_id] = stored
        return stored

    def _views_open(self, params: Json) -> Json:
        if not params.get("trigger_id"):
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing trigger_id"]}
            )
        return {"view": self._store_view(self._check_view(params.get("view")))}

    def _views_push(self, params: Json) -> Json:
        return self._views_open(params)

    def _views_update(self, params: Json) -> Json:
        view = self._check_view(params.get("view"))
        if view_id := params.get("view_id"):
            current = self.views.get(str(view_id))
        elif external := params.get("external_id"):
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external), None
            )
        else:
            raise _SlackError("invalid_arguments")
        if current is None:
            raise _SlackError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        keep = {k: current[k] for k in ("root_view_id", "previous_view_id")}
        stored = self._store_view(view, view_id=current["id"], **keep)
        for user_id, home in list(self.home_views.items()):
            if home["id"] == stored["id"]:
                self.home_views[user_id] = stored
        return {"view": stored}

    def _views_publish(self, params: Json) -> Json:
        user = self._user(params.get("user_id"))
        view = self._check_view(params.get("view"))
        if view.get("type") != "home":
            raise _SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] view type must be home"]},
            )
        current = self.home_views.get(user.id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        stored = self._store_view(view, view_id=current["id"] if current else None)
        self.home_views[user.id] = stored
        return {"view": stored}

    # ----------------------------------------------------------------- files

    def _files_get_upload_url(self, params: Json) -> Json:
        filename = params.get("filename")
        length = _int(params, "length", 0)
        if not filename or length <= 0:
            raise _SlackError("invalid_arguments")
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self._pending_files[file_id] = {
            "filename": str(filename),
            "length": length,
            "content": None,
        }
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: Json) -> Json:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise _SlackError("invalid_arguments")
        channel_ref = params.get("channel_id") or str(params.get("channels") or "").split(",")[0]
        channel = self._writable(channel_ref) if channel_ref else None
        done: list[Json] = []
        for item in files:
            pending = self._pending_files.get(str(item.get("id")))
            if pending is None or pending["content"] is None:
                raise _SlackError("file_not_found")
            done.append(
                {"id": item["id"], "title": item.get("title") or pending["filename"], **pending}
            )
        comment = params.get("initial_comment") or ""
        public: list[Json] = []
        for item in done:
            del self._pending_files[item["id"]]
            self.uploads.append(
                {
                    "file_id": item["id"],
                    "filename": item["filename"],
                    "title": item["title"],
                    "length": len(item["content"]),
                    "content": item["content"],
                    "channel_id": channel.id if channel else None,
                    "initial_comment": comment,
                    "thread_ts": params.get("thread_ts"),
                }
            )
            public.append(
                {
                    "id": item["id"],
                    "name": item["filename"],
                    "title": item["title"],
                    "size": len(item["content"]),
                    "user": self.workspace.bot_user_id,
                    "permalink": f"{self.url}/files/{item['id']}",
                    "channels": [channel.id] if channel else [],
                }
            )
        if channel is not None:
            message = {
                "type": "message",
                "ts": self.next_ts(),
                "user": self.workspace.bot_user_id,
                "bot_id": self._bot_id,
                "text": comment,
                "upload": True,
                "files": public,
                "team": self.workspace.team_id,
            }
            if params.get("thread_ts"):
                message["thread_ts"] = str(params["thread_ts"])
                self._mark_reply(channel.id, message["thread_ts"], message)
            self.messages[channel.id].append(message)
        return {"files": public}


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


if __name__ == "__main__":
    main()
