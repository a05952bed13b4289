"""Trying again, in one place: Slack calls that failed for a while, and database work while the
database is away. Built on tenacity; what counts as a database outage is bot.db's policy
(`unavailable`: unreachable or busy), and a wait Slack asks for (Retry-After) is the wait taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_before_delay,
    stop_never,
    wait_exponential,
)

from bot import db
from bot.ports import DeliveryError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

SLACK_ATTEMPTS = 6  # a Slack call is tried this many times at most
SLACK_WAIT_MAX = 30.0  # seconds between two tries when Slack does not say (1, 2, 4… up to this)
DATABASE_PATIENCE = 600.0  # seconds work nobody can redo is retried while the database is away
DATABASE_WAIT_FIRST = 0.5  # then 1, 2, 4… seconds
DATABASE_WAIT_MAX = 30.0


def transient(exc: BaseException) -> bool:
    """A Slack call that may succeed if tried again (rate limited, a 5xx, a dropped connection)."""
    return isinstance(exc, DeliveryError) and not exc.permanent


def _slack_wait(state: RetryCallState) -> float:
    """Retry-After when Slack gave one, else 1, 2, 4… seconds, at most SLACK_WAIT_MAX."""
    exc = state.outcome.exception() if state.outcome is not None else None
    asked = getattr(exc, "retry_after", None)
    if asked is not None:
        return float(asked)
    return float(wait_exponential(multiplier=1, max=SLACK_WAIT_MAX)(state))


async def slack_call(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int = SLACK_ATTEMPTS,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """`call()`, tried again after transient failures (Retry-After honoured); a permanent failure,
    or the last of `attempts`, is raised as it came."""

    def told(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        reason = exc.reason if isinstance(exc, DeliveryError) else repr(exc)
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.info("%s: %s, waiting %.1fs", what, reason, wait)

    async def attempt() -> T:
        return await call()  # a coroutine function: tenacity awaits only what it sees is one

    retrying = AsyncRetrying(
        retry=retry_if_exception(transient),
        wait=_slack_wait,
        stop=stop_after_attempt(attempts),
        sleep=sleep,
        before_sleep=told,
        reraise=True,
    )
    return await retrying(attempt)


async def through_outage(
    work: Callable[[], Awaitable[T]],
    *,
    what: str,
    availability: db.Availability | None = None,
    patience: float = DATABASE_PATIENCE,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run `work` (one transaction); while the database cannot serve (`bot.db.unavailable`), wait and try
    again (0.5 s, 1 s, 2 s… up to 30 s apart) for up to `patience` seconds, keeping `availability`
    told. Any other error is raised at once; so is the last one when the database never came back.
    """

    def away(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning("database unavailable (%r): %s retried in %.1f s", exc, what, wait)

    async def attempt() -> T:
        try:
            result = await work()
        except Exception as exc:
            if availability is not None and db.unavailable(exc):
                availability.mark_down()  # Slack's events are refused meanwhile (bot/app.py)
            raise
        if availability is not None:
            availability.mark_up()
        return result

    retrying = AsyncRetrying(
        retry=retry_if_exception(db.unavailable),
        wait=wait_exponential(multiplier=DATABASE_WAIT_FIRST, max=DATABASE_WAIT_MAX),
        stop=stop_before_delay(patience),
        sleep=sleep,
        before_sleep=away,
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except Exception as exc:
        if db.unavailable(exc):
            logger.error("database unavailable for %.0f s: %s lost", patience, what)
        raise


async def while_pending(
    step: Callable[[], Awaitable[None]],
    pending: Callable[[], bool],
    *,
    first: float,
    most: float,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """While `pending()`: wait, then `step()` (which keeps what it could not do for the next
    round); the waits double from `first` up to `most`. For work held in memory, not raised."""
    if not pending():
        return
    await sleep(first)
    retrying = AsyncRetrying(
        retry=retry_if_result(lambda _: pending()),
        wait=wait_exponential(multiplier=2 * first, max=most),
        stop=stop_never,
        sleep=sleep,
    )

    async def attempt() -> None:
        await step()

    await retrying(attempt)
