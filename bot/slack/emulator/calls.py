"""The call log, the faults tests inject (failures, rate limits), and how Web API parameters
are read."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Json = dict[str, Any]


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
    team_id: str | None = None  # the workspace whose bot token made the call (several: OAuth)


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
