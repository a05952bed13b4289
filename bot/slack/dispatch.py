"""Ack first: what `POST /slack/events` does with a signed, parsed request (bot.slack.edge).

Every request is answered before any work. Three ways, by what Slack waits for:

- Channel activity (message, reaction_added, reaction_removed events): the fast path. The edge
  hands the parsed payload to `fast_path` (handlers.activity.take: the same decision Socket Mode
  makes through Bolt), which only classifies it and appends it to the batcher; then the 200.
  Bolt's listener pipeline never sees them.
- What must be answered with content (a modal's `response_action`, a menu's options, Slack's
  url_verification and ssl_check): through Bolt inline, the HTTP answer being whatever the
  listener acks. Bolt polls every 10 ms for that ack; `AckFirstRunner` instead wakes on the ack
  itself (`SignallingAck`), so the answer leaves the moment the listener acks.
- Everything else (commands, clicks, view_closed, shortcuts, other events): an empty 200 at
  once, then Bolt's dispatch on a bounded queue served by a fixed number of workers; a worker
  waits for its listener's end up to HOLD, then lets it run on and takes the next (at most
  RUNNING_MAX under way), so the queue bounds the work and a few slow reports cannot hold
  everyone's `/cop help` behind them. Bolt's ack
  is then a no-op; if a listener acks with content anyway, it is sent to the response_url.
  When the queue is full: a command is told "busy, try again" in its ack, an event gets 503
  (Slack redelivers it with the same id), a click gets 200 and "busy" at its response_url.

Before, every request went through Bolt before its answer: `/cop help` waited for Bolt's
middleware, its listener matching and its 10 ms polling, and its p99 at 50 in flight was
4.3-6.5x a bare Bolt app's (issue 16).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

# Answered with what the listener acks (or Bolt's own middleware answers): kept inline.
INLINE = frozenset(
    {
        "view_submission",
        "block_suggestion",
        "dialog_suggestion",
        "dialog_submission",
        "url_verification",
        "ssl_check",
    }
)
# Each worker runs one request's listener to its end. The work shares one event loop with the
# acks: every loop turn runs a step of each busy worker before the next request is read, so more
# workers answer later. Measured with `/cop help` at 50 in flight (tests/perf/bench_ack.py, one
# run each, before QUIET below), ack p99 against the bare Bolt app's: 2 workers 0.66x, 4 0.68x,
# 8 0.80x, 16 1.2-2.9x, 32 2.4x; the answers (response_url) were no slower with 8 than with 32
# (the emulator answers at once: the work is bound by the CPU). With a slow Slack, 8 bounds how
# many commands are answered at once (each waits on its response_url post).
# Eight also stays below the database pool (30 connections, bot.db) and the commands' own 16
# slots (bot.deps.COMMAND_SLOTS).
WORKERS = 8
# How long a worker waits for its job before taking the next one (the job runs on), and how many
# jobs may be under way at once: a few slow requests (a year's value report takes 10-30 s) must
# not hold every worker while quick ones queue behind them.
HOLD = 1.0
RUNNING_MAX = 32
# Requests acknowledged and waiting for a worker; past this, "busy" (see the module's doc).
QUEUE_MAX = 1000
# Acks before work: a worker starts its next job once the edge has answered nothing for
# QUIET seconds, or after PATIENCE at most. Without it, a burst of 50 commands arriving together
# was answered one every 2-3 ms, each waiting behind the first jobs' steps (the 50th after
# ~100 ms, where the bare Bolt app took 16 ms for all of them).
QUIET = 0.002
PATIENCE = 0.05
# At shutdown, how long the queue (and listeners started inline) may take to finish.
DRAIN_SECONDS = 10.0
# The key Bolt's context carries for a request the edge has already answered.
ACKED = "cop_acked_at_edge"


class SignallingAck(AsyncAck):
    """Bolt's ack that also wakes whoever waits for it (no polling)."""

    def __init__(self) -> None:
        super().__init__()
        self.called: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = await super().__call__(*args, **kwargs)
        self.wake()
        return response

    def wake(self) -> None:
        if not self.called.done():
            self.called.set_result(None)


class AckFirstRunner(AsyncioListenerRunner):
    """Bolt's listener runner, in two modes (lazy listeners, unused here, keep Bolt's own):

    - the edge answered already (ACKED in the context): the listener runs to its end in the
      caller's task (a queue worker), its errors to the app's error handler; returns what it
      acked, if anything, for the response_url;
    - otherwise (a modal's submission, Socket Mode): the listener runs in its own task, and this
      returns as soon as it acks, woken by SignallingAck instead of polling every 10 ms."""

    def __init__(self, base: AsyncioListenerRunner) -> None:
        super().__init__(
            logger=base.logger,
            process_before_response=False,
            listener_error_handler=base.listener_error_handler,
            listener_start_handler=base.listener_start_handler,
            listener_completion_handler=base.listener_completion_handler,
            lazy_listener_runner=base.lazy_listener_runner,
        )
        self.tasks: set[asyncio.Task[None]] = set()  # listeners still running after their ack

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if request.lazy_only or listener.lazy_functions:
            return await super().run(request, response, listener_name, listener, starting_time)
        if request.context.get(ACKED):
            return await self._to_the_end(request, response, listener)
        ack = request.context.ack
        if not isinstance(ack, SignallingAck):
            if ack.response is not None:
                return ack.response
            ack = SignallingAck()
            request.context["ack"] = ack
        if listener.auto_acknowledgement:
            await ack()
        task = asyncio.ensure_future(self._after_ack(ack, request, response, listener))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(lambda _: ack.wake())  # it ended without acking: stop waiting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(ack.called), listener.ack_timeout)
        if ack.response is None:
            self.logger.warning("%s did not call ack() in time", listener_name)
        return ack.response

    async def _to_the_end(
        self, request: AsyncBoltRequest, response: BoltResponse, listener: AsyncListener
    ) -> BoltResponse:
        ack = request.context.ack
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)
        except Exception as e:
            await self.listener_error_handler.handle(error=e, request=request, response=None)
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)
        return ack.response or BoltResponse(status=200, body="")

    async def _after_ack(
        self,
        ack: AsyncAck,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener: AsyncListener,
    ) -> None:
        # as Bolt's own runner does after the ack (slack_bolt.listener.asyncio_runner)
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)
        except Exception as e:
            answered = ack.response is not None
            failed = BoltResponse(status=500)
            await self.listener_error_handler.handle(
                error=e,
                request=request,
                response=None if answered else failed,
            )
            if not answered:
                ack.response = failed
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)


def install(bolt: AsyncApp) -> AckFirstRunner:
    """Give `bolt` the runner above (before listeners and the error handler are registered)."""
    runner = AckFirstRunner(bolt.listener_runner)
    bolt._async_listener_runner = runner  # Bolt has no public setter for it
    return runner


@dataclass(frozen=True)
class Job:
    """A request the edge has answered, waiting for Bolt."""

    text: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    payload: dict[str, Any]
    kind: str


class Dispatcher:
    """What the edge does with a signed, parsed request (see the module's doc)."""

    def __init__(
        self,
        bolt: AsyncApp,
        *,
        fast_path: Callable[[dict[str, Any]], bool],
        busy_text: Callable[[dict[str, Any]], str],
        reply: Callable[[str, dict[str, Any]], Awaitable[Any]],
        workers: int = WORKERS,
        queue_max: int = QUEUE_MAX,
        hold: float = HOLD,
    ) -> None:
        self.bolt = bolt
        runner = bolt.listener_runner
        self.runner = runner if isinstance(runner, AckFirstRunner) else install(bolt)
        self.fast_path = fast_path
        self.busy_text = busy_text
        self.reply = reply
        self.size = workers
        self.queue_max = queue_max
        self.hold = hold
        self.queue: asyncio.Queue[Job] | None = None
        self.workers: set[asyncio.Task[None]] = set()
        self.running: set[asyncio.Task[None]] = set()  # jobs under way, a worker's or on their own
        self.replies: set[asyncio.Task[Any]] = set()  # "busy" answers on their way
        self.last_answer = 0.0  # the loop's time of the edge's latest answer

    # --- the edge's answer ------------------------------------------------------------------

    async def answer(
        self, kind: str, text: str, query: Any, headers: Any, payload: dict[str, Any]
    ) -> Response:
        """The HTTP answer to a signed, parsed request of `kind` (bot.slack.edge.kind_of); the
        work is queued (or done, inline). Raises what Bolt raises reading an inline request
        (the edge answers it 400)."""
        self.last_answer = asyncio.get_running_loop().time()
        if kind == "event_callback":
            try:
                if self.fast_path(payload):
                    return Response(status_code=200)
            except Exception:  # a bug: not dropped, Bolt's listeners get it as before
                logger.exception("the activity fast path failed on %r", payload.get("event_id"))
        if kind in INLINE:
            request = self._bolt_request(text, query, headers, payload)
            return to_starlette_response(await self.bolt.async_dispatch(request))
        if self._offer(Job(text, query, headers, payload, kind)):
            return Response(status_code=200)
        # the queue is full
        logger.warning("request queue full (%d): %s answered busy", self.queue_max, kind)
        if kind == "event_callback":
            return JSONResponse({"error": "busy, retry later"}, status_code=503)
        message = {"response_type": "ephemeral", "text": self.busy_text(payload)}
        if kind == "command":
            return JSONResponse(message)
        response_url = _response_url(payload)
        if response_url:
            task = asyncio.ensure_future(
                self._send(response_url, {**message, "replace_original": False})
            )
            self.replies.add(task)
            task.add_done_callback(self.replies.discard)
        return Response(status_code=200)

    def _offer(self, job: Job) -> bool:
        if self.queue is None:  # made by the first request: any server, lifespan or not
            self.queue = asyncio.Queue(self.queue_max)
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            return False
        if len(self.workers) < self.size:
            self.workers.add(asyncio.ensure_future(self._work()))
        return True

    # --- the work after the answer --------------------------------------------------------------

    async def _work(self) -> None:
        """A worker: takes jobs until the queue is empty, then ends (an idle bot runs no task;
        `_offer` starts workers again, never more than `size`)."""
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        try:
            while self.queue is not None and not self.queue.empty():
                job = self.queue.get_nowait()
                started = loop.time()
                while (wait := self.last_answer + QUIET - loop.time()) > 0:
                    if loop.time() - started >= PATIENCE:
                        break
                    await asyncio.sleep(wait)
                # its own task: a context of its own (db.serve_a_person, set by the middleware
                # for a person's request, does not stay on the worker for the next request)
                task = asyncio.ensure_future(self._run(job))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
                task.add_done_callback(_done_with(self.queue))
                # the worker waits for its job HOLD at most: a long one (a year's report) runs
                # on by itself, so eight of them cannot stop everyone else's `/cop help`; past
                # RUNNING_MAX jobs under way the worker waits for one to end
                await asyncio.wait({task}, timeout=self.hold)
                while len(self.running) >= RUNNING_MAX:
                    await asyncio.wait(set(self.running), return_when=asyncio.FIRST_COMPLETED)
        finally:
            # in the same step as the last look at the queue: a job offered from now on starts
            # a worker of its own
            self.workers.discard(me)

    async def _run(self, job: Job) -> None:
        try:
            await self._dispatch(job)
        except Exception:
            logger.warning("a signed %s request Bolt could not read", job.kind, exc_info=True)

    async def _dispatch(self, job: Job) -> None:
        request = self._bolt_request(job.text, job.query, job.headers, job.payload)
        request.context[ACKED] = True
        response = await self.bolt.async_dispatch(request)
        if response.status != 200 or not response.body:
            return
        # a listener acked with content after the edge answered: nothing is lost
        response_url = _response_url(job.payload)
        try:
            message = json.loads(response.body)
        except ValueError:
            message = {"text": response.body}
        if (
            response_url
            and isinstance(message, dict)
            and ("text" in message or "blocks" in message)
        ):
            await self._send(response_url, message)
        else:
            logger.warning("a %s listener acked with content nobody can receive", job.kind)

    async def _send(self, response_url: str, message: dict[str, Any]) -> None:
        try:
            await self.reply(response_url, message)
        except Exception:
            logger.warning("could not answer at a response_url", exc_info=True)

    def _bolt_request(
        self, text: str, query: Any, headers: Any, payload: dict[str, Any]
    ) -> AsyncBoltRequest:
        request = AsyncBoltRequest(body=text, query=query, headers=headers)
        if request.body != payload:
            # Bolt's only misreading: a command whose text contains "payload" (edge.parse)
            request.body = payload
            request.context = build_async_context(AsyncBoltContext({}), payload)
        return request

    # --- shutdown -------------------------------------------------------------------------------

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:  # noqa: ASYNC109
        """Let queued requests and listeners still running after their ack finish (bounded),
        then stop the workers."""
        deadline = time.monotonic() + timeout
        if self.queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), timeout)
        pending = [*self.running, *self.runner.tasks, *self.replies]
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        workers = list(self.workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self.workers.clear()


def _done_with(queue: asyncio.Queue[Job]) -> Callable[[asyncio.Task[None]], None]:
    """A job's end, told to its queue (whose join() the shutdown waits on)."""

    def done(_: asyncio.Task[None]) -> None:
        queue.task_done()

    return done


def _response_url(payload: Mapping[str, Any]) -> str | None:
    urls = payload.get("response_urls") or []
    first = urls[0] if isinstance(urls, list) and urls and isinstance(urls[0], dict) else {}
    url = payload.get("response_url") or first.get("response_url")
    return url if isinstance(url, str) and url else None
