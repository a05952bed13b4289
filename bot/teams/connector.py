"""The Bot Connector REST API, called the way Microsoft asks: one client for the whole Teams side.

The edge answers activities through it (bot/teams/edge.py: replies, cards updated in place) and
the outbox's messenger writes first through it (bot/teams/messenger.py: proactive messages, 1:1
conversations, rosters). One request function holds Microsoft's rules (learn.microsoft.com,
Teams platform, bots/how-to/rate-limit):

- 429: wait the `Retry-After` the connector gives (else back off), then try again;
- 412, 502, 503 and 504: back off (1, 2, 4… seconds) and try again;
- 401: the token was refused (revoked, rolled): forget it, ask for a new one, try again;
- anything else: fail at once (`ConnectorError`, permanent), retrying cannot help.

`attempts=1` leaves the waiting to the caller: the outbox's drain takes a 429's Retry-After for
every sender of the tenant (rituals/outbox/pacing.py), not for one request alone.

`Windows` is Teams' per-conversation limit kept in this process (7 messages a second, 8 per 2 s,
60 per 30 s, 1800 an hour per conversation; the same windows for creating conversations): the
caller waits its turn instead of earning a 429.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from bot.ports import DeliveryError
from bot.retry import slack_call
from bot.teams.auth import DEFAULT_TENANT, TOKEN_URL, OutboundToken

if TYPE_CHECKING:
    from bot.config import Settings

Json = dict[str, Any]
# Microsoft: on 429 wait Retry-After; on 412, 502, 503 and 504 back off and try again; never
# on other errors
TRANSIENT = frozenset({412, 429, 502, 503, 504})
ATTEMPTS = 4
# a bot's sends (and conversation creations) per conversation: (window seconds, most calls)
SEND_LIMITS = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))


class ConnectorError(DeliveryError):
    """A Bot Connector call that failed: the HTTP status (0: no answer) and Microsoft's error
    code ("ConversationBlockedByUser", "BotNotInConversationRoster", "ConversationNotFound"…;
    "timeout" or "unreachable" when there was no answer)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int,
        code: str,
        permanent: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, permanent=permanent, retry_after=retry_after)
        self.status = status
        self.code = code


class Connector:
    """The bot's Bot Connector client: its HTTP client, its token, one request function."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: OutboundToken,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.token = token
        self._sleep = sleep

    @classmethod
    def of(cls, settings: Settings) -> Connector:
        """A client of its own for the Teams app in the settings (TEAMS_APP_ID…)."""
        http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
        token_url = settings.teams_token_url or TOKEN_URL.format(
            tenant=settings.teams_tenant_id or DEFAULT_TENANT
        )
        token = OutboundToken(
            settings.teams_app_id or "",
            settings.teams_app_password or "",
            http,
            token_url=token_url,
        )
        return cls(http, token)

    async def call(
        self, method: str, url: str, body: Json | None = None, *, attempts: int = ATTEMPTS
    ) -> Json:
        """One Bot Connector call with the bot's token, tried up to `attempts` times as
        Microsoft asks; the JSON answer, or ConnectorError."""

        async def once() -> Json:
            token = await self.token.get()
            try:
                response = await self.http.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TimeoutException as exc:
                raise ConnectorError(
                    f"Bot Connector did not answer: {exc!r}",
                    status=0,
                    code="timeout",
                    permanent=False,
                ) from None
            except httpx.TransportError as exc:
                raise ConnectorError(
                    f"Bot Connector unreachable: {exc!r}",
                    status=0,
                    code="unreachable",
                    permanent=False,
                ) from None
            status = response.status_code
            if status == 401:
                self.token.forget()  # revoked or rolled: the next try asks for a new one
            if status >= 300:
                raise ConnectorError(
                    f"Bot Connector answered {status}: {response.text[:200]}",
                    status=status,
                    code=_code(response),
                    permanent=status not in TRANSIENT | {401},
                    retry_after=_seconds(response.headers.get("retry-after")),
                )
            answer: Json = response.json() if response.content else {}
            return answer

        return await slack_call(once, what=f"Teams {method}", attempts=attempts, sleep=self._sleep)

    async def aclose(self) -> None:
        await self.http.aclose()


class Windows:
    """Sliding windows per key (a conversation): `wait(key)` returns once a call fits them all,
    and counts it. In this process only; a 429 still comes back as a ConnectorError."""

    def __init__(
        self,
        limits: tuple[tuple[float, int], ...] = SEND_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        keep: int = 10_000,
        margin: float = 0.1,
    ) -> None:
        self.limits = limits
        # Teams counts arrivals, we count departures: a call held up on the way (a slow
        # connection, a busy loop) lands closer to the previous one than it left
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._keep = keep
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.waited = 0.0  # seconds spent waiting (for the figures)

    async def wait(self, key: str) -> None:
        async with self._locks[key]:
            seen = self._seen[key]
            while True:
                now = self._clock()
                while seen and now - seen[0] >= self.limits[-1][0]:
                    seen.popleft()
                pause = 0.0
                for window, most in self.limits:
                    recent = [t for t in seen if now - t < window]
                    if len(recent) >= most:
                        pause = max(pause, window - (now - recent[-most]))
                if pause <= 0:
                    seen.append(now)
                    break
                self.waited += pause + self.margin
                await self._sleep(pause + self.margin)
        if len(self._seen) > self._keep:  # bounded: conversations quiet for an hour go
            horizon = self._clock() - self.limits[-1][0]
            for stale in [k for k, v in self._seen.items() if not v or v[-1] < horizon]:
                self._seen.pop(stale, None)


def _code(response: httpx.Response) -> str:
    """Microsoft's error code in `{"error": {"code": …}}`, else the status."""
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code"):
        return str(error["code"])
    return f"http_{response.status_code}"


def _seconds(value: str | None) -> float | None:
    try:
        return min(60.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None
