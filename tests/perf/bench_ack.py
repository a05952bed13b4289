"""Ack latency of a signed `/cop help`: cop-bot (`cop serve`) beside a bare Bolt app, same run.

    python -m tests.perf.bench_ack [--requests 1000] [--levels 1,10,50] [--database-url URL]

Each server runs in its own process on loopback (uvicorn), the Slack emulator in a third, and
the response_url in a fourth (a small receiver noting when each answer arrives: the client's
own timings must not wait behind the answers' parsing). At each level (1 = one request after
another, 10 and 50 = that many in flight over keep-alive connections), the client sends
`--requests` signed commands, all signed before the clock starts, and times request → HTTP
response (the ack), the bare app first, then cop-bot. For cop-bot also request → its answer at
the response_url (CLOCK_MONOTONIC, the same in every process). Prints median and p99 for both,
the ratios, and the answers' median and p99.
Figures vary with the machine: compare ratios. Target (issue 16): ack p99 ≤ 1.0x the bare
app's at 10 and at 50 in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.perf.common import (
    PYTHON,
    ROOT,
    SECRET,
    TOKEN,
    free_port,
    percentile,
    posted,
    signed_command,
    start,
    stop,
    summary,
)

WARM = 20


async def timed_posts(
    url: str, requests: Sequence[tuple[bytes, dict[str, str]]], concurrency: int
) -> list[tuple[float, float]]:
    """POST each request over `concurrency` keep-alive connections (tests.perf.common.posted);
    for each, (when it was sent, seconds to its HTTP response). Raises on any answer but 200."""
    timings = []
    for index, (status, sent, seconds) in enumerate(await posted(url, requests, concurrency)):
        if status != 200:
            raise RuntimeError(f"request {index}: HTTP {status}")
        timings.append((sent, seconds))
    return timings


async def receiver(port: int) -> None:
    """The response_url: notes when each answer arrives (POST /response/{key}), tells them
    (GET /arrivals, {key: time.monotonic()}), and forgets them (DELETE /arrivals)."""
    from aiohttp import web

    arrivals: dict[str, float] = {}

    async def answer(request: web.Request) -> web.Response:
        arrivals.setdefault(request.match_info["key"], time.monotonic())
        await request.read()
        return web.json_response({"ok": True})

    async def tell(_: web.Request) -> web.Response:
        return web.json_response(arrivals)

    async def forget(_: web.Request) -> web.Response:
        arrivals.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/response/{key}", answer)
    app.router.add_get("/arrivals", tell)
    app.router.add_delete("/arrivals", forget)
    app.router.add_get("/healthz", forget)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def arrivals(replies_url: str, wanted: dict[str, float]) -> dict[str, float]:
    """When each wanted answer arrived at the response_url (waits for all, bounded); forgets them."""
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as http:
        while True:
            arrived = (await http.get(f"{replies_url}/arrivals")).json()
            if all(key in arrived for key in wanted):
                break
            if time.monotonic() > deadline:
                got = sum(key in arrived for key in wanted)
                raise RuntimeError(f"only {got} of {len(wanted)} answers arrived")
            await asyncio.sleep(0.05)
        await http.delete(f"{replies_url}/arrivals")
    return arrived


async def level(
    url: str, replies_url: str, n: int, concurrency: int, tag: str, *, answers: bool
) -> dict[str, Any]:
    """One server at one level: the acks' summary, and (`answers`) the response_url answers'."""
    requests, keys = [], []
    for i in range(n + WARM):
        key = f"{tag}-{i}"
        keys.append(key)
        requests.append(
            signed_command(
                "help",
                user="U0LUCAS",
                channel="C0GEN",
                response_url=f"{replies_url}/response/{key}",
            )
        )
    warm = await timed_posts(url, requests[:WARM], min(concurrency, WARM))
    if answers:  # the warm-up's work done too: the measure starts on an idle server, as the bare's
        await arrivals(replies_url, dict(zip(keys[:WARM], [s for s, _ in warm], strict=True)))
    timings = await timed_posts(url, requests[WARM:], concurrency)
    figures: dict[str, Any] = summary([ack for _, ack in timings])
    if answers:
        wanted = {key: sent for key, (sent, _) in zip(keys[WARM:], timings, strict=True)}
        arrived = await arrivals(replies_url, wanted)
        delays = [arrived[key] - sent for key, sent in wanted.items()]
        figures["answer_median_ms"] = statistics.median(delays) * 1000
        figures["answer_p99_ms"] = percentile(delays, 99) * 1000
    return figures


async def main_async(requests: int, levels: Sequence[int], database_url: str | None) -> dict:
    emu_port, replies_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emu_port}"
    replies_url = f"http://127.0.0.1:{replies_port}"
    tmp = tempfile.TemporaryDirectory()
    url = database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))},
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{emulator_url}/api/",
        "COP_DATABASE_URL": url,
        "COP_QUIET_HOURS": "off",
        "COP_LOG_LEVEL": "WARNING",
        "COP_PROGRAMME_MANAGERS": "U0CAMILLE",
    }
    bot_port, bare_port = free_port(), free_port()
    procs = []
    try:
        procs.append(
            await asyncio.to_thread(
                start,
                [PYTHON, "-m", "bot.slack.emulator", "--port", str(emu_port)],
                url=f"{emulator_url}/api/api.test",
                env=env,
            )
        )
        procs.append(
            await asyncio.to_thread(
                start,
                [PYTHON, "-m", "tests.perf.bench_ack", "--receiver", str(replies_port)],
                url=f"{replies_url}/healthz",
                env=env,
                cwd=ROOT,
            )
        )
        procs.append(
            await asyncio.to_thread(
                start,
                [PYTHON, "-m", "bot.cli", "serve", "--port", str(bot_port)],
                env=env,
                url=f"http://127.0.0.1:{bot_port}/healthz",
                cwd=ROOT,
            )
        )
        procs.append(
            await asyncio.to_thread(
                start,
                [
                    *(PYTHON, "-m", "uvicorn", "tests.perf.bare_bolt:app"),
                    *("--port", str(bare_port), "--log-level", "warning"),
                ],
                env=env,
                url=f"http://127.0.0.1:{bare_port}/healthz",
                cwd=ROOT,
            )
        )
        bare_url = f"http://127.0.0.1:{bare_port}/slack/events"
        bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
        results: dict[str, Any] = {}
        print(f"backend: {backend}; {requests} × /cop help per level")
        print(
            f"{'in flight':>9} {'server':<10}{'median ms':>10}{'p99 ms':>9}{'max ms':>9}"
            f"{'answer median':>15}{'answer p99':>12}"
        )
        for c in levels:
            bare = await level(bare_url, replies_url, requests, c, f"bare{c}", answers=False)
            bot = await level(bot_url, replies_url, requests, c, f"bot{c}", answers=True)
            ratios = {
                "ratio_median": bot["median_ms"] / bare["median_ms"],
                "ratio_p99": bot["p99_ms"] / bare["p99_ms"],
            }
            results[str(c)] = {"bare_Bolt": bare, "cop_bot": bot, **ratios}
            for name, s in (("bare Bolt", bare), ("cop-bot", bot)):
                answer = (
                    f"{s['answer_median_ms']:>15.1f}{s['answer_p99_ms']:>12.1f}"
                    if "answer_p99_ms" in s
                    else ""
                )
                print(
                    f"{c:>9} {name:<10}{s['median_ms']:>10.2f}{s['p99_ms']:>9.2f}"
                    f"{s['max_ms']:>9.2f}{answer}"
                )
            print(
                f"{c:>9} ratio cop-bot / bare Bolt: median {ratios['ratio_median']:.2f}x, "
                f"p99 {ratios['ratio_p99']:.2f}x"
            )
        first = results[str(levels[0])]
        figures = {
            "bench": "ack",
            "backend": backend,
            # the first level's figures at the top, as before (run_all's rows)
            "cop_bot": first["cop_bot"],
            "bare_Bolt": first["bare_Bolt"],
            "ratio_median": first["ratio_median"],
            "ratio_p99": first["ratio_p99"],
            "levels": results,
        }
        print(json.dumps(figures))
        return figures
    finally:
        for proc in reversed(procs):
            await asyncio.to_thread(stop, proc)
        tmp.cleanup()


def run(
    *, requests: int = 1000, database_url: str | None = None, levels: Sequence[int] = (1, 10, 50)
) -> dict:
    """Measure both servers, print the table, return the figures (medians, p99s, ratios)."""
    return asyncio.run(main_async(requests, levels, database_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--levels", default="1,10,50", help="requests in flight, comma-separated")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # the response_url
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(receiver(args.receiver))
        return
    run(
        requests=args.requests,
        database_url=args.database_url,
        levels=[int(x) for x in args.levels.split(",")],
    )


if __name__ == "__main__":
    main()
