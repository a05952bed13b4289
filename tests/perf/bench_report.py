"""`/cop rapport` on the large demo programme: time to deliver both files, and their sizes.

    python -m tests.perf.bench_report [--runs 3] [--database-url URL] [--regenerate]

With no URL, a temporary SQLite file filled with `cop demo --scale large` data (220
communities, 30,000 people, 12 months); an existing file or PostgreSQL database is reused
unless --regenerate. `cop serve` runs in its own process, the Slack emulator in this one; a
programme manager sends signed `/cop rapport` commands one after another: signed request → HTTP
response (the ack), → « Je prépare le rapport… » (response_url), → both files shared in the
DM (files.completeUploadExternal). The same for a year's report and one community's report.
Prints the median of the runs and the files' sizes.
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

from bot.slack.emulator import SlackEmulator, default_workspace
from tests.perf.bench_health import db_url, prepare
from tests.perf.common import (
    PYTHON,
    ROOT,
    SECRET,
    command_answered,
    free_port,
    signed_command,
    start,
    stop,
)

MANAGER = "U0CAMILLE"


async def one(
    http: httpx.AsyncClient, emulator: SlackEmulator, bot_url: str, text: str
) -> dict[str, Any]:
    uploads_before = len(emulator.uploads)
    key, started, ack, told = await command_answered(
        http, emulator, bot_url, text, user=MANAGER, channel="C0GEN"
    )
    while len(emulator.uploads) < uploads_before + 2:
        if time.perf_counter() - started > 300:
            said = [r["text"] for r in emulator.responses if r["key"] == key]
            raise RuntimeError(f"no files after 300 s; the bot said: {said}")
        await asyncio.sleep(0.005)
    delivered = time.perf_counter() - started
    files = emulator.uploads[uploads_before:]
    return {
        "ack_s": ack,
        "preparing_s": told,
        "delivered_s": delivered,
        "files": {f["filename"]: f["length"] for f in files},
    }


async def series(
    emulator: SlackEmulator, bot_url: str, text: str, runs: int
) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=60) as http:
        return [await one(http, emulator, bot_url, text) for _ in range(runs)]


async def acks_meanwhile(
    emulator: SlackEmulator, bot_url: str, text: str
) -> tuple[dict[str, Any], list[float]]:
    """One report, and the ack times of `/cop aide` sent every 250 ms while it is built: does
    the build hold up everyone else's commands?"""
    acks: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        report = asyncio.ensure_future(one(http, emulator, bot_url, text))
        while not report.done():
            body, headers = signed_command(
                "aide", user=MANAGER, channel="C0GEN", response_url=emulator.response_url()
            )
            started = time.perf_counter()
            await http.post(bot_url, content=body, headers=headers)
            acks.append(time.perf_counter() - started)
            await asyncio.sleep(0.25)
        return await report, acks


def show(title: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    delivered = [r["delivered_s"] for r in rows]
    line = {
        "runs": len(rows),
        "ack_median_ms": statistics.median(r["ack_s"] for r in rows) * 1000,
        "preparing_median_ms": statistics.median(r["preparing_s"] for r in rows) * 1000,
        "delivered_median_s": statistics.median(delivered),
        "delivered_s": delivered,
        "files": rows[-1]["files"],
    }
    sizes = ", ".join(f"{name} {size / 1000:.0f} kB" for name, size in line["files"].items())
    print(
        f"{title}: ack {line['ack_median_ms']:.0f} ms, « je prépare » "
        f"{line['preparing_median_ms']:.0f} ms, files delivered {line['delivered_median_s']:.2f} s"
        f" (median of {len(rows)}: {', '.join(f'{d:.2f}' for d in delivered)}); {sizes}"
    )
    return line


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench-report.db'}"
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    started = time.perf_counter()
    print(f"backend: {backend}")
    print(await prepare(db_url(url), args.regenerate), f"({time.perf_counter() - started:.1f}s)")
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
        year = time.strftime("%Y")
        figures: dict[str, Any] = {"bench": "report", "backend": backend}
        for name, text in (
            ("quarter", "rapport"),
            ("year", f"rapport {year}"),
            ("community", "rapport cop-001"),
        ):
            rows = await series(emulator, bot_url, text, args.runs)
            figures[name] = show(f"/cop {text}", rows)
        _, acks = await acks_meanwhile(emulator, bot_url, f"rapport {year}")
        figures["help_ack_during_year_report_ms"] = {
            "n": len(acks),
            "median": statistics.median(acks) * 1000,
            "max": max(acks) * 1000,
        }
        print(
            f"/cop aide while /cop rapport {year} builds: ack median "
            f"{statistics.median(acks) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms "
            f"({len(acks)} commands)"
        )
        print(json.dumps(figures))
        return figures
    finally:
        await asyncio.to_thread(stop, bot)
        await emulator.stop()
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url")
    parser.add_argument("--regenerate", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
