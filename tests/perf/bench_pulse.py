"""Benchmark: a pulse poll to 30,000 members through a rate-limited chat.postMessage.

Slack's workspace cap for chat.postMessage is "several hundred a minute" (600/min assumed).
At that pace 30,000 DMs take 50 minutes, so the run scales the limit up ×25 — 15,000/min
(250/s) with a burst of 20, two minutes for 30,000 — and paces the drain to the same figure. The minimum time the limit
allows is (N − burst) / rate; the drain must finish within 1.2× that, with zero duplicates, and
the whole run, from the ritual's start to its last message, within 1.1× (issue 16, point 4).

    COP_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \
        /tmp/venv/bin/python tests/perf/bench_pulse.py [--members 30000] [--scale 25]

Without COP_BENCH_DATABASE_URL it uses a fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from collections import Counter
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot import communities, db, people
from bot.app import build_deps
from bot.config import Config, Programme, load_settings, normalise_database_url
from bot.models import Base, Outbox, Ritual
from bot.slack.emulator import SlackEmulator, large_workspace
from rituals import scheduler
from rituals.outbox import Drain

SLACK_PER_MINUTE = 600
BURST = 20


async def fresh_database(url: str | None, folder: Path) -> str:
    if not url:
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    url = normalise_database_url(url)
    engine = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    name = make_url(url).database
    async with engine.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return url


def serve_emulator(members: int, per_minute: int, conn: Connection) -> None:
    """Slack's side, in its own process (as Slack is): serves until asked for its figures."""

    async def run() -> None:
        emulator = SlackEmulator(large_workspace(members, 1, seed=1), validate_blocks=False)
        # Slack measures arrivals at its edge; a stop-the-world collection in this stand-in
        # would bunch queued requests past the bucket and fake 429s, so keep its heap out of GC
        gc.freeze()
        gc.set_threshold(100_000, 50, 1000)
        await emulator.start()
        emulator.set_rate_limit("chat.postMessage", per_minute=per_minute, burst=BURST)
        conn.send(emulator.api_url)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        posts = emulator.calls_to("chat.postMessage")
        ok = [c for c in posts if c.status == 200 and c.response.get("ok")]
        per_channel = Counter(c.response["channel"] for c in ok)
        conn.send(
            {
                "ok": len(ok),
                "limited": sum(1 for c in posts if c.status == 429),
                "duplicates": sum(n - 1 for n in per_channel.values() if n > 1),
                "span": max(c.at for c in ok) - min(c.at for c in ok) if ok else 0.0,
                "first": min(c.at for c in ok) if ok else 0.0,
            }
        )
        await emulator.stop()

    asyncio.run(run())


async def main(members: int, scale: int, database_url: str | None = None) -> dict:
    per_minute = SLACK_PER_MINUTE * scale
    workspace = large_workspace(members, 1, seed=1)  # the same seed as the emulator's
    here, there = Pipe()
    slack = Process(target=serve_emulator, args=(members, per_minute, there), daemon=True)
    slack.start()
    api_url = here.recv()
    with tempfile.TemporaryDirectory() as folder:
        url = await fresh_database(
            database_url or os.environ.get("COP_BENCH_DATABASE_URL"), Path(folder)
        )
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": workspace.bot_token,
                "SLACK_API_URL": api_url,
                "COP_DATABASE_URL": url,
                "COP_QUIET_HOURS": "off",
            }
        )
        deps = build_deps(
            Config(settings=settings, programme=Programme(name="Bench", language="fr"))
        )
        await db.upgrade(deps.engine)
        channel = "CL000000"
        ids = [u for u in workspace.channels[channel].members if u != "UBOT"]
        # the roster as a synced community knows it: bots and deactivated accounts are known
        async with deps.sessions.begin() as session:
            await people.ensure_workspace(session, "T0LOAD")
            community = await communities.create(
                session, workspace_id="T0LOAD", name="Programme", channel_id=channel
            )
            await communities.sync_members(session, community=community, member_ids=ids)
            deleted = [u for u in ids if workspace.users[u].deleted]
            await session.execute(
                sa.update(Base.metadata.tables["person"])
                .where(Base.metadata.tables["person"].c.slack_user_id.in_(deleted))
                .values(deleted=True)
            )
        reachable = len(ids) - len(deleted)
        started = time.monotonic()  # the emulator's clock (calls' `at`)
        detail = await scheduler.run_now(deps, ritual=Ritual.PULSE, community_id=community.id)
        planned = time.monotonic()
        drain = Drain(deps, rate_per_minute=per_minute, concurrency=24)
        cpu = time.process_time()
        stats = await drain.run_until_empty(poll=0.2)
        finished = time.monotonic()
        cpu = time.process_time() - cpu

        here.send("report")
        report = here.recv()
        slack.join(timeout=10)
        minimum = (report["ok"] - BURST) / (per_minute / 60)
        async with deps.sessions() as session:
            left = await session.scalar(
                sa.select(sa.func.count()).select_from(Outbox).where(Outbox.status != "sent")
            )
        await deps.engine.dispose()
    drain_time = finished - planned
    print(f"database             {make_url(url).get_backend_name()}")
    print(
        f"members              {len(ids):,} ({reachable:,} reachable, {len(deleted):,} deactivated)"
    )
    print(
        f"limit                chat.postMessage {per_minute:,}/min, burst {BURST} (Slack ~{SLACK_PER_MINUTE}/min × {scale})"
    )
    print(f"planning             {planned - started:6.1f} s  ({detail})")
    print(f"first DM             {report['first'] - started:6.1f} s after the ritual's start")
    print(f"drain                {drain_time:6.1f} s  (first→last post {report['span']:.1f} s)")
    print(f"minimum allowed      {minimum:6.1f} s")
    print(
        f"ratio drain/minimum  {drain_time / minimum:6.3f}  (plan+drain: {(finished - started) / minimum:.3f})"
    )
    print(
        f"delivered            {report['ok']:,}; 429 answers: {report['limited']}; "
        f"duplicates: {report['duplicates']}"
    )
    print(f"outbox not sent      {left}; stats {stats}")
    print(f"drain CPU            {cpu:6.1f} s ({1000 * cpu / max(1, report['ok']):.2f} ms a DM)")
    for workspace_id, pacer in drain._pacers.items():
        print(
            f"pacer {workspace_id}     {pacer.reservations} reservations of {pacer.batch}, "
            f"{pacer.rechecks} rechecks, {pacer.dropped} slots dropped late, "
            f"{pacer.waited} waits for a reservation"
        )
    return {
        "bench": "pulse",
        "backend": make_url(url).get_backend_name(),
        "members": len(ids),
        "reachable": reachable,
        "per_minute": per_minute,
        "planning_s": planned - started,
        "drain_s": drain_time,
        "span_s": report["span"],
        "minimum_s": minimum,
        "ratio": drain_time / minimum,
        "ratio_from_start": (finished - started) / minimum,
        "first_dm_s": report["first"] - started,
        "delivered": report["ok"],
        "limited": report["limited"],
        "duplicates": report["duplicates"],
        "not_sent": left,
    }


def run(*, members: int = 30_000, scale: int = 25, database_url: str | None = None) -> dict:
    """Run the benchmark, print its figures, return them."""
    return asyncio.run(main(members, scale, database_url))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--scale", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.scale))
