"""`/cop health` on the large demo programme, end to end, and the daily snapshot job.

    python -m tests.perf.bench_health [--requests 30] [--burst 10] [--database-url URL]
                                      [--regenerate]

With no URL, a temporary SQLite file; pass postgresql://… for PostgreSQL (its tables are
truncated and refilled with --regenerate, or when the programme is missing). Steps:
1. `cop demo --scale large` data (220 communities, 30,000 people, 12 months) — timed;
2. the daily snapshot job (rituals.snapshots) — run twice, timed;
3. `cop serve` in its own process, the Slack emulator in this one; signed `/cop santé` from a
   programme manager, one after another, then a burst sent together: signed request → HTTP
   response (the ack), → the full overview at the emulator (response_url), → the chart upload;
4. the same for one community's view (`/cop santé cop-001`);
5. browsing: the overview's first page, then a click on the status filter (« à risque »),
   signed block_actions → the redrawn page at the emulator (median of --clicks).
Prints medians and p99 against the targets (ack p99 < 300 ms, message < 2 s, job < 60 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bot import db
from bot.app import build_deps
from bot.config import load
from bot.demo import large
from bot.models import Base, Community
from bot.slack.emulator import SlackEmulator, default_workspace
from rituals import snapshots
from tests.perf.common import (
    PYTHON,
    ROOT,
    SECRET,
    command_answered,
    free_port,
    signed_command,
    start,
    stop,
    summary,
)

MANAGER = "U0CAMILLE"


async def prepare(url: str, regenerate: bool, **scale: int) -> str:
    engine = db.make_engine(url)
    await db.upgrade(engine)
    sessions = db.make_sessionmaker(engine)
    async with sessions() as session:
        have = await session.scalar(
            sa.select(sa.func.count()).where(Community.channel_id.like("CL%"))
        )
    line = f"reused the existing large programme ({have} communities)"
    if regenerate or not have:
        async with engine.begin() as conn:
            if url.startswith("postgresql"):
                tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    await conn.execute(table.delete())
        summary_ = await large.generate(sessions, workspace_id="T0COP", **scale)
        line = f"generated: {summary_.line()}"
    await engine.dispose()
    return line


async def snapshot_job(env: dict[str, str], runs: int = 2) -> list[float]:
    deps = build_deps(load(env))
    times = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            await snapshots.run(deps)
            times.append(time.perf_counter() - started)
    finally:
        await deps.engine.dispose()
    return times


async def one(
    http: httpx.AsyncClient, emulator: SlackEmulator, bot_url: str, text: str
) -> tuple[float, float, float]:
    uploads_before = len(emulator.uploads)
    key, started, ack, full = await command_answered(
        http, emulator, bot_url, text, user=MANAGER, channel="C0GEN"
    )
    reply = next(r for r in emulator.responses if r["key"] == key)
    if not reply.get("blocks"):
        raise RuntimeError(f"no overview: {reply.get('text')}")
    while len(emulator.uploads) <= uploads_before:  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    chart = time.perf_counter() - started
    return ack, full, chart


async def series(
    emulator: SlackEmulator, bot_url: str, text: str, requests: int, burst: int
) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        await one(http, emulator, bot_url, text)  # warm-up (first lookups, caches)
        sequential = [await one(http, emulator, bot_url, text) for _ in range(requests)]
        together = await asyncio.gather(*(one(http, emulator, bot_url, text) for _ in range(burst)))
    out: dict[str, Any] = {}
    for name, rows in (("sequential", sequential), (f"burst of {burst}", together)):
        out[name] = {
            "ack": summary([r[0] for r in rows]),
            "message": summary([r[1] for r in rows]),
            "chart": summary([r[2] for r in rows]),
        }
    return out


async def reply_of(emulator: SlackEmulator, key: str) -> dict[str, Any]:
    while not any(r["key"] == key for r in emulator.responses):  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    return next(r for r in emulator.responses if r["key"] == key)


async def browse(emulator: SlackEmulator, bot_url: str, clicks: int) -> dict[str, Any]:
    """The first page (`/cop santé`), then the status filter clicked: each timed to the reply."""
    from urllib.parse import urlencode

    from slack_sdk.signature import SignatureVerifier

    from bot.slack.blocks import health as blocks

    first: list[float] = []
    filtered: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(clicks):
            key = f"b{time.monotonic_ns()}"
            body, headers = signed_command(
                "santé", user=MANAGER, channel="C0GEN", response_url=emulator.response_url(key)
            )
            started = time.perf_counter()
            await http.post(bot_url, content=body, headers=headers)
            page = await reply_of(emulator, key)
            first.append(time.perf_counter() - started)
            select = next(
                e
                for b in page["blocks"]
                for e in b.get("elements", [])
                if e.get("action_id") == blocks.FILTER_STATUS
            )
            option = next(o for o in select["options"] if "risque" in o["text"]["text"])
            key = f"c{time.monotonic_ns()}"
            payload = {
                "type": "block_actions",
                "user": {"id": MANAGER, "name": "camille", "team_id": "T0COP"},
                "team": {"id": "T0COP", "domain": "cop"},
                "api_app_id": "A0COPBOT",
                "token": "x",
                "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0GEN"},
                "channel": {"id": "C0GEN", "name": "general"},
                "trigger_id": f"tr-{time.monotonic_ns()}",
                "response_url": emulator.response_url(key),
                "actions": [
                    {
                        "type": "static_select",
                        "action_id": blocks.FILTER_STATUS,
                        "block_id": select.get("block_id", "f"),
                        "selected_option": option,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
            raw = urlencode({"payload": json.dumps(payload)}).encode()
            ts = str(int(time.time()))
            signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=raw)
            started = time.perf_counter()
            await http.post(
                bot_url,
                content=raw,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": signature,
                },
            )
            redrawn = await reply_of(emulator, key)
            filtered.append(time.perf_counter() - started)
            if not redrawn.get("blocks"):
                raise RuntimeError(f"no page: {redrawn.get('text')}")
    return {"first page": summary(first), "status filter": summary(filtered)}


def show(title: str, results: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"  {'series':<14}{'step':<10}{'n':>4}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
    for name, steps in results.items():
        for step, s in steps.items():
            print(
                f"  {name:<14}{step:<10}{s['n']:>4.0f}{s['median_ms']:>12.1f}"
                f"{s['p99_ms']:>10.1f}{s['max_ms']:>10.1f}"
            )


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process: its peak resident memory so far, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench-health.db'}"
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    started = time.perf_counter()
    print(f"backend: {backend}")
    scale = {
        k: v
        for k, v in (
            ("communities", args.communities),
            ("people_count", args.people),
            ("months", args.months),
        )
        if v
    }
    print(
        await prepare(db_url(url), args.regenerate, **scale),
        f"({time.perf_counter() - started:.1f}s)",
    )

    emulator = SlackEmulator(default_workspace())
    await emulator.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))},
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": url,
        "COP_QUIET_HOURS": "off",
        "COP_LOG_LEVEL": "WARNING",
        "COP_PROGRAMME_MANAGERS": MANAGER,
    }
    job = await snapshot_job(env)
    print(
        "snapshot job: "
        + ", ".join(f"{t:.2f}s" for t in job)
        + f" (median {statistics.median(job):.2f}s; target < 60 s)"
    )
    port = free_port()
    bot = await asyncio.to_thread(
        start,
        [PYTHON, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env,
        url=f"http://127.0.0.1:{port}/healthz",
        cwd=ROOT,
    )
    try:
        bot_url = f"http://127.0.0.1:{port}/slack/events"
        programme = await series(emulator, bot_url, "santé", args.requests, args.burst)
        show("/cop santé — programme overview (220 communities)", programme)
        community = await series(emulator, bot_url, "santé cop-001", args.requests, args.burst)
        show("/cop santé cop-001 — one community's view", community)
        browsing = await browse(emulator, bot_url, args.clicks)
        print(f"\nbrowsing ({args.clicks} times each)")
        for step, fig in browsing.items():
            print(f"  {step:<14} median {fig['median_ms']:.1f} ms, max {fig['max_ms']:.1f} ms")
        rss = peak_rss_mb(bot.pid)
        print(f"cop serve peak resident memory (VmHWM): {rss:.0f} MB")
        print(
            "\ntargets: ack p99 < 300 ms, full message < 2000 ms — programme sequential: "
            f"ack p99 {programme['sequential']['ack']['p99_ms']:.1f} ms, message p99 "
            f"{programme['sequential']['message']['p99_ms']:.1f} ms"
        )
        figures = {
            "bench": "health",
            "backend": backend,
            "scale": scale or "large demo (220 communities, 30,000 people, 12 months)",
            "snapshot_job_s": job,
            "programme": programme,
            "community": community,
            "browse": browsing,
            "serve_peak_rss_mb": rss,
        }
        print(json.dumps(figures))
        return figures
    finally:
        await asyncio.to_thread(stop, bot)
        await emulator.stop()
        tmp.cleanup()


def db_url(url: str) -> str:
    from bot.config import normalise_database_url

    return normalise_database_url(url)


def run(
    *,
    requests: int = 30,
    burst: int = 10,
    database_url: str | None = None,
    regenerate: bool = False,
    communities: int | None = None,
    people: int | None = None,
    months: int | None = None,
    clicks: int = 5,
) -> dict[str, Any]:
    """Run the benchmark (smaller than the large demo when sizes are given), return its figures."""
    args = argparse.Namespace(
        requests=requests,
        burst=burst,
        database_url=database_url,
        regenerate=regenerate,
        communities=communities,
        people=people,
        months=months,
        clicks=clicks,
    )
    return asyncio.run(main_async(args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--database-url")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--clicks", type=int, default=5, help="browsing: first page and a filter")
    parser.add_argument("--communities", type=int, help="fewer than the large demo's 220")
    parser.add_argument("--people", type=int, help="fewer than the large demo's 30,000")
    parser.add_argument("--months", type=int, help="fewer than the large demo's 12")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
