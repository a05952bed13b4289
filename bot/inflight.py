"""Work being done, shared: identical requests arriving together (a team opening `/cop health`
at the start of a meeting, a double click, two managers asking for the same report) wait for one
computation instead of each running it.

A process service: one per kind of work, built with Deps (bot.deps). The task is held here until
it ends, so it outlives the request that started it, and a caller that gives up (a cancelled
request) does not cancel it for the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class InFlight(Generic[V]):
    """Tasks under way, by key; `share(key, start)` joins the running one or starts it."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[V]] = {}

    def task(self, key: Hashable, start: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        """The task for `key`: the one under way, or a new one from `start()`."""
        running = self._tasks.get(key)
        if running is not None:
            return running
        task = asyncio.ensure_future(start())
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))
        return task

    async def share(self, key: Hashable, start: Callable[[], Awaitable[V]]) -> V:
        """Wait for the task for `key`; cancelling the wait leaves the task to the others."""
        return await asyncio.shield(self.task(key, start))

    def __len__(self) -> int:
        return len(self._tasks)
