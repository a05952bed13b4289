"""Load: sustained signed slash commands and a burst of events while a pulse poll fans out.

    python -m tests.perf.bench_load [--backend postgresql|sqlite] [--members 3000]
        [--duration 60] [--concurrency 200] [--events 5000] [--rate 3000]

Everything on loopback, every process real:
- Slack's side: the emulator in its own process, seeded with a workspace of `--members` people
  (about 2 % deactivated) all in channel CL000000, chat.postMessage limited to `--rate` per minute
  (burst 20; Slack's cap is "several hundred a minute", 3,000/min is that ×5 so a few thousand
  DMs drain within the window);
- the bot: `cop serve` (its scheduler drains the outbox at COP_OUTBOX_RATE = `--rate`), on a fresh
  database (PostgreSQL by default, created and dropped; `--backend sqlite` for a temporary file);
- the community "Programme" on CL000000 holding every member.
Then, at the same time:
(a) `cop rituals run pulse --community programme` in its own process one second in: the poll is
    owed to every reachable member and the serving process drains it through the rate limit;
(b) `--concurrency` workers, each looping signed `/cop help`, `/cop rituals`, `/cop charter show`
    from random members for `--duration` seconds (closed loop: a worker sends its next command
    when the previous one is acked);
(c) at 40 % of the window, a burst of `--events` signed Events API callbacks (60 % messages,
    20 % thread replies, 20 % reactions; unique event ids), `--event-concurrency` in flight.
Measured: ack latency (median/p99/max) per kind, non-200 answers, acks over 3 s (Slack's limit:
must be 0), command replies received at the response_url, events counted in activity_daily vs
sent, pulse DMs sent vs owed with duplicates (outbox rows per person, DM posts per channel at the
emulator, conversations.history for a sample of members), fan-out time vs the minimum the rate
limit allows, and the peak resident memory of `cop serve`. The script stops by itself: every
loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import random
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot import communities, db, people
from bot.config import normalise_database_url
from bot.i18n import translate
from bot.models import ActivityDaily, Outbox, Person
from bot.slack.emulator import SlackEmulator, large_workspace
from tests.perf import databases
from tests.perf.common import PYTHON, ROOT, SECRET, TOKEN, free_port, signed_command, summary

TEAM = "T0LOAD"
CHANNEL = "CL000000"
BURST = 20
SLACK_ACK_LIMIT = 3.0
COMMANDS = [("help", 4), ("rituals", 3), ("charter show", 3)]
REPLY_PATIENCE = 30.0


# --------------------------------------------------------------------------- Slack's side


def _report(emulator: SlackEmulator) -> dict[str, Any]:
    posts = emulator.calls_to("chat.postMessage")
    ok = [c for c in posts if c.status == 200 and c.response.get("ok")]
    dms = [c for c in ok if str(c.response.get("channel", "")).startswith("D")]
    per_dm = Counter(c.response["channel"] for c in dms)
    failed = Counter(
        f"{c.method} {c.status}"
        for c in emulator.calls
        if c.status != 200 and not (c.method == "chat.postMessage" and c.status == 429)
    )
    return {
        "posts_ok": len(ok),
        "limited": sum(1 for c in posts if c.status == 429),
        "dm_posts": len(dms),
        "dm_channels": len(per_dm),
        "dm_duplicates": sum(n - 1 for n in per_dm.values() if n > 1),
        "dm_first": min((c.at for c in dms), default=0.0),
        "dm_last": max((c.at for c in dms), default=0.0),
        "failed_calls": dict(failed),
    }


def serve_slack(members: int, per_minute: int, conn: Connection) -> None:
    """The emulator in its own process (as Slack is); answers figure requests over `conn`."""

    async def main() -> None:
        emulator = SlackEmulator(large_workspace(members, 1, seed=1), validate_blocks=False)
        # a stop-the-world collection in this stand-in would bunch requests and fake 429s
        gc.freeze()
        gc.set_threshold(100_000, 50, 1000)
        await emulator.start()
        emulator.set_rate_limit("chat.postMessage", per_minute=per_minute, burst=BURST)
        conn.send(emulator.url)
        loop = asyncio.get_running_loop()
        while (request := await loop.run_in_executor(None, conn.recv)) != "stop":
            conn.send(_report(emulator) if request == "report" else None)
        await emulator.stop()

    asyncio.run(main())


class Slack:
    """The handle on the emulator process."""

    def __init__(
        self, members: int, per_minute: int, serve: Callable[..., None] | None = None
    ) -> None:
        """`serve(members, per_minute, conn)` runs the emulator in the child process (by
        default this module's `serve_slack`; bench_pacer reports other figures)."""
        ctx = multiprocessing.get_context("spawn")
        self._here, there = ctx.Pipe()
        self.process = ctx.Process(
            target=serve or serve_slack, args=(members, per_minute, there), daemon=True
        )
        self.url = ""

    async def start(self) -> None:
        self.process.start()
        if not await asyncio.to_thread(self._here.poll, 60):
            raise RuntimeError("the Slack emulator did not start")
        self.url = self._here.recv()

    async def report(self) -> dict[str, Any]:
        self._here.send("report")
        return await asyncio.to_thread(self._here.recv)

    async def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._here.send("stop")
        await asyncio.to_thread(self.process.join, 10)
        if self.process.is_alive():
            self.process.kill()


# --------------------------------------------------------------------------- the bot


async def start_bot(
    env: dict[str, str], port: int, log: Path, command: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """`cop serve` on `port` (or `command`, another way to start it), once /healthz answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; kept for its pid
            command or [PYTHON, "-m", "bot.cli", "serve", "--port", str(port)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"cop serve exited, see {log}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return proc
            await asyncio.sleep(0.1)
    proc.kill()
    raise RuntimeError("cop serve did not come up")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size of the process so far (Linux)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------- traffic


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.reply_latencies: dict[str, list[float]] = {}

    def add(self, kind: str, elapsed: float, status: int | str) -> None:
        self.sent[kind] += 1
        self.latencies.setdefault(kind, []).append(elapsed)
        if status != 200:
            self.errors[f"{kind} {status}"] += 1

    def replied(self, kind: str, elapsed: float) -> None:
        self.reply_latencies.setdefault(kind, []).append(elapsed)

    def over(self, limit: float) -> int:
        return sum(1 for values in self.latencies.values() for v in values if v > limit)


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[float, int | str]:
    started = time.perf_counter()
    try:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            status: int | str = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        status = type(exc).__name__
    return time.perf_counter() - started, status


class Replies:
    """The commands' response_url: a small server here, so a worker can wait for its reply."""

    def __init__(self) -> None:
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.received = 0
        self.plain: Counter[str] = Counter()  # replies without blocks, by text
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/response/{key}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        return future

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not request.match_info["key"].startswith("c"):
            return web.json_response({"ok": True})  # the warm-up
        self.received += 1
        if not body.get("blocks"):
            self.plain[str(body.get("text", ""))[:200]] += 1
        future = self.pending.pop(request.match_info["key"], None)
        if future is not None and not future.done():
            future.set_result(body)
        return web.json_response({"ok": True})


async def commands(
    http: aiohttp.ClientSession,
    bot_url: str,
    replies: Replies,
    *,
    senders: list[str],
    workers: int,
    until: float,
    record: Recorder,
    wait_reply: bool,
    refusals: set[str],
) -> None:
    counter = itertools.count()
    texts = [text for text, weight in COMMANDS for _ in range(weight)]

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < until:
            text = rng.choice(texts)
            key = f"c{next(counter)}"
            reply = replies.expect(key)
            body, headers = signed_command(
                text,
                user=rng.choice(senders),
                channel=CHANNEL,
                response_url=f"{replies.url}/response/{key}",
                team=TEAM,
            )
            started = time.perf_counter()
            elapsed, status = await post(http, bot_url, body, headers)
            record.add(f"/cop {text}", elapsed, status)
            if not wait_reply or status != 200:
                continue
            try:
                answer = await asyncio.wait_for(reply, REPLY_PATIENCE)
            except TimeoutError:
                record.errors["no reply within 30 s"] += 1
                replies.pending.pop(key, None)
                continue
            record.replied(f"/cop {text}", time.perf_counter() - started)
            if not answer.get("blocks") and answer.get("text") in refusals:
                record.errors["reply: database unreachable"] += 1

    await asyncio.gather(*(worker(i) for i in range(workers)))


def event_bodies(n: int, senders: list[str], tag: str) -> list[tuple[str, bytes]]:
    rng = random.Random(7)
    now = time.time()
    parents = [f"{int(now) - 600 + i}.000100" for i in range(50)]
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        user = rng.choice(senders)
        ts = f"{int(now)}.{i:06d}"
        roll = i % 10
        if roll < 6:
            kind, event = "event message", {"type": "message", "user": user, "text": "…"}
        elif roll < 8:
            kind = "event reply"
            event = {"type": "message", "user": user, "text": "…", "thread_ts": rng.choice(parents)}
        else:
            kind = "event reaction"
            event = {
                "type": "reaction_added",
                "user": user,
                "reaction": "thumbsup",
                "item": {"type": "message", "channel": CHANNEL, "ts": rng.choice(parents)},
            }
        if event["type"] == "message":
            event |= {"ts": ts, "channel": CHANNEL, "channel_type": "channel"}
        event["event_ts"] = ts
        envelope = {
            "token": "x",
            "team_id": TEAM,
            "api_app_id": "A0COPBOT",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{tag}{i:07d}",
            "event_time": int(now),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        }
        out.append((kind, json.dumps(envelope).encode()))
    return out


async def events_burst(
    http: aiohttp.ClientSession,
    bot_url: str,
    bodies: list[tuple[str, bytes]],
    *,
    in_flight: int,
    record: Recorder,
) -> float:
    verifier = SignatureVerifier(SECRET)
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            kind, body = queue.pop()
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
            }
            elapsed, status = await post(http, bot_url, body, headers)
            record.add(kind, elapsed, status)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the run


async def scalar(sessions: Any, statement: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(statement) or 0)


async def wait_until(check: Any, *, within: float, pause: float = 0.25) -> bool:
    """Poll `await check()` until true or `within` seconds pass (bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(pause)
    return bool(await check())


async def run_async(
    *,
    backend: str = "postgresql",
    members: int = 3000,
    duration: float = 60,
    concurrency: int = 200,
    events: int = 5000,
    event_concurrency: int = 50,
    rate: int = 3000,
    history_sample: int = 25,
    wait_reply: bool = True,
) -> dict[str, Any]:
    workspace = large_workspace(members, 1, seed=1)  # the emulator's, same seed
    ids = [u for u in workspace.channels[CHANNEL].members if u != "UBOT"]
    deleted = [u for u in ids if workspace.users[u].deleted]
    reachable = [u for u in ids if not workspace.users[u].deleted]
    slack = Slack(members, rate)
    await slack.start()
    tag = f"L{os.getpid()}x{int(time.time()) % 100000}"
    try:
        async with databases.fresh(backend, f"cop_load_{os.getpid()}") as url:
            return await _run(
                url,
                slack,
                ids=ids,
                deleted=deleted,
                reachable=reachable,
                backend=backend,
                duration=duration,
                concurrency=concurrency,
                events=events,
                event_concurrency=event_concurrency,
                rate=rate,
                history_sample=history_sample,
                tag=tag,
                wait_reply=wait_reply,
            )
    finally:
        await slack.stop()


async def _run(
    url: str,
    slack: Slack,
    *,
    ids: list[str],
    deleted: list[str],
    reachable: list[str],
    backend: str,
    duration: float,
    concurrency: int,
    events: int,
    event_concurrency: int,
    rate: int,
    history_sample: int,
    tag: str,
    wait_reply: bool,
) -> dict[str, Any]:
    engine = db.make_engine(normalise_database_url(url))
    sessions = db.make_sessionmaker(engine)
    await db.upgrade(engine)
    async with sessions.begin() as session:
        await people.ensure_workspace(session, TEAM)
        community = await communities.create(
            session, workspace_id=TEAM, name="Programme", channel_id=CHANNEL
        )
        await communities.sync_members(session, community=community, member_ids=ids)
        await session.execute(
            sa.update(Person).where(Person.slack_user_id.in_(deleted)).values(deleted=True)
        )
        slug, community_id = community.slug, community.id
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
        "COP_DATABASE_URL": url,
        "COP_QUIET_HOURS": "off",
        "COP_LOG_LEVEL": "WARNING",
        "COP_OUTBOX_RATE": str(rate),
        "COP_WORKSPACE_ID": TEAM,
    }
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}/slack/events"
    tmp = tempfile.TemporaryDirectory(prefix="cop-load-")
    log = Path(tmp.name) / "serve.log"
    bot = await start_bot(env, port, log)
    record = Recorder()
    replies = Replies()
    await replies.start()
    refusals = {translate(lang)("error.database_down") for lang in ("fr", "en")}
    pulse_sent = (
        sa.select(sa.func.count())
        .select_from(Outbox)
        .where(Outbox.kind == "pulse", Outbox.status == "sent")
    )
    counted_q = sa.select(
        sa.func.coalesce(
            sa.func.sum(ActivityDaily.messages + ActivityDaily.replies + ActivityDaily.reactions), 0
        )
    ).where(ActivityDaily.community_id == community_id)
    bodies = event_bodies(events, reachable, tag)
    expected = len(reachable)
    minimum = max(0, expected - BURST) / (rate / 60)
    figures: dict[str, Any] = {}
    try:
        connector = aiohttp.TCPConnector(limit=concurrency + event_concurrency + 10)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            # warm-up: first lookups and imports, outside the measured window
            for text in ("help", "rituals", "charter show"):
                body, headers = signed_command(
                    text,
                    user=reachable[0],
                    channel=CHANNEL,
                    response_url=f"{replies.url}/response/warm",
                    team=TEAM,
                )
                await post(http, bot_url, body, headers)
            started = time.monotonic()
            until = started + duration

            async def pulse() -> None:
                await asyncio.sleep(1.0)
                t = time.monotonic()
                proc = await asyncio.create_subprocess_exec(
                    PYTHON,
                    "-m",
                    "bot.cli",
                    "rituals",
                    "run",
                    "pulse",
                    "--community",
                    slug,
                    "--workspace",
                    TEAM,
                    env={**os.environ, **env},
                    cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
                figures["pulse_plan_s"] = time.monotonic() - t
                figures["pulse_started_at"] = t
                figures["pulse_output"] = out.decode(errors="replace").strip()[-500:]
                figures["pulse_exit"] = proc.returncode
                done = await wait_until(
                    lambda: _reached(sessions, pulse_sent, expected),
                    within=max(120.0, 3 * minimum),
                    pause=0.25,
                )
                figures["pulse_done"] = done
                figures["pulse_finished_at"] = time.monotonic()

            async def burst() -> None:
                await asyncio.sleep(duration * 0.4)
                figures["events_burst_s"] = await events_burst(
                    http, bot_url, bodies, in_flight=event_concurrency, record=record
                )

            fan_out = asyncio.create_task(pulse())
            burst_task = asyncio.create_task(burst())
            await commands(
                http,
                bot_url,
                replies,
                senders=reachable,
                workers=concurrency,
                until=until,
                record=record,
                wait_reply=wait_reply,
                refusals=refusals,
            )
            figures["commands_s"] = time.monotonic() - started
            await burst_task
            await fan_out
        all_counted = await wait_until(
            lambda: _reached(sessions, counted_q, events), within=120, pause=0.25
        )
        command_kinds = [k for k in record.sent if k.startswith("/cop")]
        acked = sum(record.sent[k] for k in command_kinds) - sum(
            n for k, n in record.errors.items() if k.startswith("/cop")
        )

        async def replies_in() -> bool:
            return replies.received >= acked

        await wait_until(replies_in, within=REPLY_PATIENCE, pause=0.5)
        if not wait_reply:  # fire-and-forget mode: classify what came back
            record.errors["reply: database unreachable"] += sum(
                n for text, n in replies.plain.items() if text in refusals
            )
        rss = peak_rss_mb(bot.pid)
        history = await sample_history(slack.url, reachable, history_sample)
        report = await slack.report()
        async with sessions() as session:
            by_kind = {
                f"{kind} {status}": n
                for kind, status, n in (
                    await session.execute(
                        sa.select(Outbox.kind, Outbox.status, sa.func.count()).group_by(
                            Outbox.kind, Outbox.status
                        )
                    )
                ).all()
            }
            per_person = (
                sa.select(Outbox.person_id, sa.func.count().label("n"))
                .where(Outbox.kind == "pulse", Outbox.status == "sent")
                .group_by(Outbox.person_id)
                .subquery()
            )
            outbox_dupes = int(
                await session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(per_person.c.n - 1), 0)).where(
                        per_person.c.n > 1
                    )
                )
                or 0
            )
        counted = await scalar(sessions, counted_q)
        sent_rows = await scalar(sessions, pulse_sent)
    finally:
        bot.terminate()
        try:
            await asyncio.to_thread(bot.wait, 15)
        except subprocess.TimeoutExpired:
            bot.kill()
        await replies.stop()
        await engine.dispose()
    log_text = log.read_text(errors="replace")
    kept = Path(tempfile.gettempdir()) / f"cop-load-{backend}-serve.log"
    kept.write_text(log_text)
    tmp.cleanup()
    fanout_s = figures.get("pulse_finished_at", 0.0) - figures.get("pulse_started_at", 0.0)
    drain_s = fanout_s - figures.get("pulse_plan_s", 0.0)
    span = report["dm_last"] - report["dm_first"]
    event_kinds = [k for k in record.sent if k.startswith("event")]
    return {
        "bench": "load",
        "backend": backend,
        "members": len(ids),
        "reachable": expected,
        "duration_s": duration,
        "concurrency": concurrency,
        "rate_per_min": rate,
        "commands": {
            "sent": sum(record.sent[k] for k in command_kinds),
            "per_s": sum(record.sent[k] for k in command_kinds) / figures["commands_s"],
            "by_kind": {k: summary(record.latencies[k]) for k in sorted(command_kinds)},
            "all": summary([v for k in command_kinds for v in record.latencies[k]]),
            "mode": "wait for the reply" if wait_reply else "next command on ack",
            "replies": replies.received,
            "error_replies": record.errors["reply: database unreachable"],
            "replies_without_blocks": dict(replies.plain),
            "reply_by_kind": {k: summary(v) for k, v in sorted(record.reply_latencies.items())},
        },
        "events": {
            "sent": sum(record.sent[k] for k in event_kinds),
            "burst_s": figures.get("events_burst_s", 0.0),
            "by_kind": {k: summary(record.latencies[k]) for k in sorted(event_kinds)},
            "all": summary([v for k in event_kinds for v in record.latencies[k]] or [0.0]),
            "counted": counted,
            "all_counted": all_counted,
        },
        "errors": sum(
            n for k, n in record.errors.items() if not k.startswith(("reply", "no reply"))
        ),
        "reply_errors": sum(
            n for k, n in record.errors.items() if k.startswith(("reply", "no reply"))
        ),
        "error_kinds": dict(record.errors),
        "acks_over_3s": record.over(SLACK_ACK_LIMIT),
        "pulse": {
            "expected": expected,
            "plan_s": figures.get("pulse_plan_s", 0.0),
            "plan_output": figures.get("pulse_output", ""),
            "done": bool(figures.get("pulse_done")),
            "sent_rows": sent_rows,
            "dm_posts": report["dm_posts"],
            "dm_channels": report["dm_channels"],
            "duplicates_outbox": outbox_dupes,
            "duplicates_slack": report["dm_duplicates"],
            "fanout_s": fanout_s,
            "drain_s": drain_s,
            "span_s": span,
            "first_dm_after_plan_s": report["dm_first"]
            - figures.get("pulse_started_at", 0.0)
            - figures.get("pulse_plan_s", 0.0),
            "last_dm_to_all_sent_s": figures.get("pulse_finished_at", 0.0) - report["dm_last"],
            "minimum_s": minimum,
            "ratio": drain_s / minimum if minimum else float("nan"),
            "limited_429": report["limited"],
        },
        "history_sample": history,
        "outbox": by_kind,
        "slack_failed_calls": report["failed_calls"],
        "serve_peak_rss_mb": rss,
        "serve_log": str(kept),
        "serve_log_errors": dict(
            Counter(
                line.split(" ERROR ", 1)[1][:100]
                for line in log_text.splitlines()
                if " ERROR " in line
            )
        ),
    }


async def _reached(sessions: Any, statement: Any, target: int) -> bool:
    return await scalar(sessions, statement) >= target


async def sample_history(slack_url: str, reachable: list[str], n: int) -> dict[str, Any]:
    """conversations.history of the DM channel of `n` members: each should hold one pulse DM."""
    sample = random.Random(3).sample(reachable, min(n, len(reachable)))
    counts: Counter[int] = Counter()
    async with aiohttp.ClientSession() as http:
        for uid in sample:
            async with http.post(
                f"{slack_url}/api/conversations.history",
                data={"channel": "D" + uid[1:], "limit": "100"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response:
                body = await response.json()
            counts[len(body.get("messages", [])) if body.get("ok") else -1] += 1
    return {
        "channels": len(sample),
        "exactly_one": counts.get(1, 0),
        "distribution": dict(counts),
    }


def run(**kwargs: Any) -> dict[str, Any]:
    return asyncio.run(run_async(**kwargs))


def show(r: dict[str, Any]) -> None:
    print(
        f"backend {r['backend']}: {r['members']:,} members ({r['reachable']:,} reachable), "
        f"{r['concurrency']} concurrent commands for {r['duration_s']:.0f} s, "
        f"{r['events']['sent']:,} events, chat.postMessage {r['rate_per_min']:,}/min"
    )
    print(f"  {'kind':<26}{'n':>7}{'median ms':>11}{'p99 ms':>10}{'max ms':>10}")
    rows = [
        *((f"ack {k}", v) for k, v in r["commands"]["by_kind"].items()),
        *((f"reply {k}", v) for k, v in r["commands"]["reply_by_kind"].items()),
        *((f"ack {k}", v) for k, v in r["events"]["by_kind"].items()),
    ]
    for kind, s in rows:
        print(
            f"  {kind:<26}{s['n']:>7.0f}{s['median_ms']:>11.1f}{s['p99_ms']:>10.1f}{s['max_ms']:>10.1f}"
        )
    c, e, p = r["commands"], r["events"], r["pulse"]
    print(
        f"  commands ({c['mode']}): {c['per_s']:.0f}/s acked; replies at response_url "
        f"{c['replies']:,} of {c['sent']:,}, of which 'database unreachable' refusals: {c['error_replies']:,}"
    )
    print(
        f"  errors: {r['errors']} non-200 acks, {r['reply_errors']} failed replies "
        f"{r['error_kinds'] or ''}; acks over 3 s: {r['acks_over_3s']}"
    )
    print(
        f"  events: burst sent in {e['burst_s']:.1f} s; counted {e['counted']:,} of {e['sent']:,}"
    )
    print(
        f"  pulse: planned in {p['plan_s']:.1f} s; sent {p['sent_rows']:,} of {p['expected']:,} "
        f"(DM posts at Slack {p['dm_posts']:,}); duplicates outbox {p['duplicates_outbox']}, "
        f"Slack {p['duplicates_slack']}; 429 answers {p['limited_429']}"
    )
    print(
        f"  fan-out: drain {p['drain_s']:.1f} s (first→last DM {p['span_s']:.1f} s) vs minimum "
        f"{p['minimum_s']:.1f} s: ratio {p['ratio']:.2f}; first DM {p['first_dm_after_plan_s']:.1f} s "
        f"after planning, all rows marked sent {p['last_dm_to_all_sent_s']:.1f} s after the last DM"
    )
    h = r["history_sample"]
    print(
        f"  conversations.history sample: {h['exactly_one']} of {h['channels']} DM channels "
        f"hold exactly one message {h['distribution']}"
    )
    print(
        f"  cop serve peak RSS {r['serve_peak_rss_mb']:.0f} MB; outbox {r['outbox']}; "
        f"other failed Slack calls {r['slack_failed_calls'] or 'none'}"
    )
    print(f"  serve log ({r['serve_log']}) errors: {r['serve_log_errors'] or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=databases.BACKENDS, default="postgresql")
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--event-concurrency", type=int, default=50)
    parser.add_argument("--rate", type=int, default=3000, help="chat.postMessage per minute")
    parser.add_argument(
        "--on-ack",
        action="store_true",
        help="send a worker's next command as soon as the last is acked (no wait for the reply)",
    )
    args = parser.parse_args()
    result = run(
        backend=args.backend,
        members=args.members,
        duration=args.duration,
        concurrency=args.concurrency,
        events=args.events,
        event_concurrency=args.event_concurrency,
        rate=args.rate,
        wait_reply=not args.on_ack,
    )
    show(result)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
