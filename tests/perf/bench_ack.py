"""Ack latency of a signed `/cop help`: cop-bot (`cop serve`) beside a bare Bolt app, same run.

    python -m tests.perf.bench_ack [--requests 1000] [--database-url URL]

Each server runs in its own process on loopback (uvicorn), the Slack emulator in a third; the
client sends signed requests one after another and times request → HTTP response (the ack).
Prints median and p99 for both, and the ratio. Figures vary with the machine: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from tests.perf.common import (
    PYTHON,
    ROOT,
    SECRET,
    TOKEN,
    free_port,
    signed_command,
    start,
    stop,
    summary,
)


def measure(url: str, emulator_url: str, n: int) -> list[float]:
    latencies: list[float] = []
    with httpx.Client(timeout=10) as http:
        for i in range(n + 20):
            body, headers = signed_command(
                "help",
                user="U0LUCAS",
                channel="C0GEN",
                response_url=f"{emulator_url}/response/b{i}",
            )
            started = time.perf_counter()
            response = http.post(url, content=body, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
            if i >= 20:  # warm-up excluded
                latencies.append(elapsed)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    run(requests=args.requests, database_url=args.database_url)


def run(*, requests: int = 1000, database_url: str | None = None) -> dict:
    """Measure both servers, print the table, return the figures (medians, p99s, ratios)."""
    emu_port, bot_port, bare_port = free_port(), free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emu_port}"
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{emulator_url}/api/",
        "COP_QUIET_HOURS": "off",
        "COP_LOG_LEVEL": "WARNING",
        "COP_PROGRAMME_MANAGERS": "U0CAMILLE",
    }
    with tempfile.TemporaryDirectory() as tmp:
        env["COP_DATABASE_URL"] = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        emulator = start(
            [PYTHON, "-m", "bot.slack.emulator", "--port", str(emu_port)],
            url=f"{emulator_url}/api/api.test",
            env=env,
        )
        procs = [emulator]
        try:
            bot = start(
                [PYTHON, "-m", "bot.cli", "serve", "--port", str(bot_port)],
                env=env,
                url=f"http://127.0.0.1:{bot_port}/healthz",
                cwd=ROOT,
            )
            procs.append(bot)
            bare = start(
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
            procs.append(bare)
            results = {}
            for name, port in (("bare Bolt", bare_port), ("cop-bot", bot_port)):
                results[name] = summary(
                    measure(f"http://127.0.0.1:{port}/slack/events", emulator_url, requests)
                )
            ratio_median = results["cop-bot"]["median_ms"] / results["bare Bolt"]["median_ms"]
            ratio_p99 = results["cop-bot"]["p99_ms"] / results["bare Bolt"]["p99_ms"]
            print(f"{'server':<12}{'n':>6}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
            for name, s in results.items():
                print(
                    f"{name:<12}{s['n']:>6.0f}{s['median_ms']:>12.2f}{s['p99_ms']:>10.2f}{s['max_ms']:>10.2f}"
                )
            print(f"ratio cop-bot / bare Bolt: median {ratio_median:.2f}x, p99 {ratio_p99:.2f}x")
            figures = {
                "bench": "ack",
                **{k.replace(" ", "_").replace("-", "_"): v for k, v in results.items()},
                "ratio_median": ratio_median,
                "ratio_p99": ratio_p99,
            }
            print(json.dumps(figures))
            return figures
        finally:
            for proc in reversed(procs):
                stop(proc)


if __name__ == "__main__":
    main()
