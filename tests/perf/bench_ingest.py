"""Event ingestion throughput: cop-bot counting channel messages beside a bare Bolt app that acks.

    python -m tests.perf.bench_ingest [--events 10000] [--concurrency 50] [--database-url URL]

`cop serve` and the bare Bolt app (tests/perf/bare_bolt.py) each run in their own process; the
Slack emulator and the client run in this one. The client sends signed Events API callbacks
from 40 people in one community (60 % messages, 20 % thread replies, 20 % reactions; the bare app
has a listener for both event types), `--concurrency` at a time over keep-alive connections,
all signed before the clock starts. For both servers: acked events per second; for cop-bot also
events *counted* per second (until activity_daily holds them all, committed) and a check that
every event counted once. Since issue 16 the events go the edge's fast path (bot.slack.dispatch:
acked, then straight to the batcher, without Bolt's listener pipeline).
Targets: at least 500 events/s counted; acked/s at least the bare app's at 50 in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bot import communities, db, people
from bot.models import ActivityDaily, Base, CommunityKind
from bot.ports import UserInfo
from bot.slack.emulator import SlackEmulator, User, default_workspace
from tests.perf.common import PYTHON, ROOT, SECRET, free_port, post_all, start, stop

PEOPLE = [f"UI{i:05d}" for i in range(40)]
CHANNEL = "C0DATA"


async def prepare(url: str) -> None:
    engine = db.make_engine(url)
    await db.upgrade(engine)
    if url.startswith("postgresql"):
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    sessions = db.make_sessionmaker(engine)
    async with sessions.begin() as session:
        await people.ensure_workspace(session, "T0COP")
        community = await communities.create(
            session,
            workspace_id="T0COP",
            name="Data Science",
            channel_id=CHANNEL,
            kind=CommunityKind.SPONTANEOUS,
        )
        for uid in PEOPLE:
            await people.upsert(
                session,
                workspace_id="T0COP",
                info=UserInfo(uid, uid.lower(), uid, "Europe/Paris", "fr-FR", False, False),
            )
        await communities.sync_members(session, community=community, member_ids=PEOPLE)
    await engine.dispose()


async def counted(url: str) -> int:
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    async with sessions() as session:
        total = await session.scalar(
            sa.select(
                sa.func.coalesce(
                    sa.func.sum(
                        ActivityDaily.messages + ActivityDaily.replies + ActivityDaily.reactions
                    ),
                    0,
                )
            )
        )
    await engine.dispose()
    return int(total or 0)


def envelope(i: int, parent_ts: str) -> dict:
    """Event i: 60 % messages, 20 % thread replies, 20 % reactions, as in a lively channel."""
    user = PEOPLE[i % len(PEOPLE)]
    # an hour ago onwards: bot.activity refuses a timestamp more than a day ahead of the clock
    # (a fixed 1,800,000,000 + i was, from December 2026, and nothing was counted)
    ts = f"{int(time.time()) - 3600 + i // 1000}.{i % 1_000_000:06d}"
    event: dict = (
        {
            "type": "reaction_added",
            "user": user,
            "reaction": "thumbsup",
            "item": {"type": "message", "channel": CHANNEL, "ts": parent_ts},
            "item_user": PEOPLE[0],
            "event_ts": ts,
        }
        if i % 5 == 4
        else {
            "type": "message",
            "user": user,
            "text": "…",
            "ts": ts,
            "channel": CHANNEL,
            "channel_type": "channel",
            "event_ts": ts,
            **({"thread_ts": parent_ts} if i % 5 == 3 else {}),
        }
    )
    return {
        "token": "x",
        "team_id": "T0COP",
        "api_app_id": "A0COPBOT",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0COP", "user_id": "UBOT", "is_bot": True}],
    }


async def blast(url: str, n: int, concurrency: int, *, first: int = 0) -> float:
    """Send `n` signed events, `concurrency` at a time; seconds from the first byte to the last ack.

    Requests are built and signed before the clock starts, and sent by a lean keep-alive client
    (tests.perf.common.post_all): on this 2-core machine the load generator shares the CPU with
    the server, and httpx alone used most of a core at these rates. Slack's own senders cost
    our server nothing, so the lighter the client, the closer the figure is to production.
    """
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SECRET)
    ts = str(int(time.time()))
    bodies = [json.dumps(envelope(first + i, "1799999999.000100")).encode() for i in range(n)]
    requests = [
        (
            body,
            {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
            },
        )
        for body in bodies
    ]
    started = time.perf_counter()
    statuses = await post_all(url, requests, concurrency)
    elapsed = time.perf_counter() - started
    bad = [s for s in statuses if s != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed, e.g. HTTP {bad[0]}")
    return elapsed


async def main_async(args: argparse.Namespace) -> dict:
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench-ingest.db'}"
    from bot.config import normalise_database_url

    async_url = normalise_database_url(url)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    await prepare(async_url)
    workspace = default_workspace()
    for uid in PEOPLE:
        workspace.users[uid] = User(uid, uid.lower(), uid)
    emulator = SlackEmulator(workspace)
    await emulator.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))},
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": url,
        "COP_QUIET_HOURS": "off",
        "COP_LOG_LEVEL": "WARNING",
    }
    bot_port, bare_port = free_port(), free_port()
    bot = await asyncio.to_thread(
        start,
        [PYTHON, "-m", "bot.cli", "serve", "--port", str(bot_port)],
        env=env,
        url=f"http://127.0.0.1:{bot_port}/healthz",
        cwd=ROOT,
    )
    bare = await asyncio.to_thread(
        start,
        [
            PYTHON,
            "-m",
            "uvicorn",
            "tests.perf.bare_bolt:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
        ],
        env=env,
        url=f"http://127.0.0.1:{bare_port}/healthz",
        cwd=ROOT,
    )
    try:
        await blast(f"http://127.0.0.1:{bare_port}/slack/events", 200, args.concurrency)  # warm
        bare_s = await blast(
            f"http://127.0.0.1:{bare_port}/slack/events", args.events, args.concurrency
        )
        await blast(f"http://127.0.0.1:{bot_port}/slack/events", 200, args.concurrency)  # warm
        while await counted(async_url) < 200:  # noqa: ASYNC110 - another process writes
            await asyncio.sleep(0.05)
        base = await counted(async_url)
        started = time.perf_counter()
        bot_ack_s = await blast(
            f"http://127.0.0.1:{bot_port}/slack/events", args.events, args.concurrency
        )
        deadline = time.perf_counter() + 300
        while (got := await counted(async_url)) < base + args.events:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {got - base} of {args.events} counted")
            await asyncio.sleep(0.05)
        bot_counted_s = time.perf_counter() - started
        await asyncio.sleep(1.0)
        final = await counted(async_url) - base
        n = args.events
        print(f"backend: {backend}; {n} events, {args.concurrency} in flight")
        print(f"  bare Bolt (ack only)     {n / bare_s:>8.0f} events/s acked")
        print(f"  cop-bot                  {n / bot_ack_s:>8.0f} events/s acked")
        print(f"  cop-bot                  {n / bot_counted_s:>8.0f} events/s counted (committed)")
        print(f"  ratio cop-bot acked / bare Bolt acked: {bare_s / bot_ack_s:.2f} (target ≥ 1.0)")
        print(f"  ratio cop-bot counted / bare Bolt acked: {bare_s / bot_counted_s:.2f}")
        print(f"  counted exactly once: {final == n} ({final} of {n}); target ≥ 500 events/s")
        figures = {
            "bench": "ingest",
            "backend": backend,
            "events": n,
            "concurrency": args.concurrency,
            "ratio_acked": bare_s / bot_ack_s,
            "ratio_counted": bare_s / bot_counted_s,
            "bare_acked_per_s": n / bare_s,
            "bot_acked_per_s": n / bot_ack_s,
            "bot_counted_per_s": n / bot_counted_s,
            "exactly_once": final == n,
        }
        print(json.dumps(figures))
        return figures
    finally:
        await asyncio.to_thread(stop, bare)
        await asyncio.to_thread(stop, bot)
        await emulator.stop()
        tmp.cleanup()


def run(*, events: int = 10000, concurrency: int = 50, database_url: str | None = None) -> dict:
    """Run the benchmark, print its table, return its figures."""
    args = argparse.Namespace(events=events, concurrency=concurrency, database_url=database_url)
    return asyncio.run(main_async(args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
