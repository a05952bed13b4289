"""Every benchmark of the project, on SQLite and PostgreSQL, summed up in one table.

    python -m tests.perf.run_all [--quick] [--backends sqlite,postgresql]
        [--only ack,ingest,pulse,health,load,pacer,homes] [--pulse-members 30000] [--json out.json]

Issue 16's figures in one run, both databases: `--only ack,ingest,pulse,pacer,homes`.

- ack     `/cop help` ack latency, cop-bot beside a bare Bolt app (bench_ack);
- ingest  events counted per second (bench_ingest);
- pulse   a pulse poll fan-out against the rate-limit minimum (bench_pulse);
- health  `/cop santé` end to end and the snapshot job on the large demo, and the peak resident
          memory of `cop serve` while it serves them (bench_health);
- load    200 concurrent slash commands for 60 s + 5,000 events while a pulse fans out (bench_load).
- pacer   `cop serve` and a CLI pulse drain sending for one workspace at once: calls inside a
          Retry-After window, old pacer beside the shared one (bench_pacer).
- homes   one event created in a 300-member community: views.publish calls with nobody, and
          with ten members, looking at their Home (bench_homes, the new behaviour only).
Each runs on a fresh database: a temporary SQLite file, or a PostgreSQL database created on
COP_BENCH_POSTGRES_URL's server (default postgresql://postgres@127.0.0.1:5432/postgres) and
dropped afterwards. `--quick` shrinks every size (a few minutes; it validates the harness, its
figures are not the report's). A failing benchmark becomes a "miss" row; the others still run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tests.perf.bench_homes as bench_homes
import tests.perf.bench_pacer as bench_pacer
from tests.perf import bench_ack, bench_health, bench_ingest, bench_load, bench_pulse, databases

FULL: dict[str, dict[str, Any]] = {
    "ack": {"requests": 1000},
    "ingest": {"events": 10000, "concurrency": 50},
    "pulse": {"members": 30_000, "scale": 25},
    "health": {"requests": 30, "burst": 10},
    "load": {"members": 3000, "duration": 60, "concurrency": 200, "events": 5000},
    "pacer": {"members": 2000, "rate": 6000},
    "homes": {"members": 300, "looking": (0, 10)},
}
QUICK: dict[str, dict[str, Any]] = {
    "ack": {"requests": 200},
    "ingest": {"events": 1000, "concurrency": 50},
    "pulse": {"members": 2000, "scale": 25},
    "health": {"requests": 5, "burst": 3, "communities": 20, "people": 2000, "months": 3},
    "load": {"members": 500, "duration": 10, "concurrency": 50, "events": 500},
    "pacer": {"members": 500, "rate": 3000},
    "homes": {"members": 100, "looking": (0, 3)},
}
RSS_TARGET_MB = 512  # our own budget for one `cop serve` on the large programme


@dataclass
class Row:
    bench: str
    database: str
    figure: str
    value: str
    target: str
    ratio: float | None  # value / target (or / the bare-Bolt baseline)
    verdict: str  # pass, miss, info


def _ms(v: float) -> str:
    return f"{v:,.1f} ms"


def upper(bench: str, db: str, figure: str, value: float, target: float, unit: str) -> Row:
    """A figure that must stay at or under its target."""
    shown = _ms(value) if unit == "ms" else f"{value:,.2f}{unit}"
    goal = _ms(target) if unit == "ms" else f"{target:,.2f}{unit}"
    return Row(
        bench,
        db,
        figure,
        shown,
        f"≤ {goal}",
        value / target if target else None,
        "pass" if value <= target else "miss",
    )


def lower(bench: str, db: str, figure: str, value: float, target: float, unit: str) -> Row:
    """A figure that must reach at least its target."""
    return Row(
        bench,
        db,
        figure,
        f"{value:,.0f}{unit}",
        f"≥ {target:,.0f}{unit}",
        value / target,
        "pass" if value >= target else "miss",
    )


def exact(bench: str, db: str, figure: str, value: int, target: int) -> Row:
    return Row(
        bench,
        db,
        figure,
        f"{value:,}",
        f"= {target:,}",
        value / target if target else None,
        "pass" if value == target else "miss",
    )


def rows_ack(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    bot, bare = r["cop_bot"], r["bare_Bolt"]
    n = f"{size['requests']:,} sequential"
    return [
        upper("ack", db, f"/cop help ack p99 ({n})", bot["p99_ms"], 300, "ms"),
        Row(
            "ack",
            db,
            "/cop help ack median vs bare Bolt",
            _ms(bot["median_ms"]),
            f"bare Bolt {_ms(bare['median_ms'])}",
            r["ratio_median"],
            "info",
        ),
        Row(
            "ack",
            db,
            "/cop help ack p99 vs bare Bolt",
            _ms(bot["p99_ms"]),
            f"bare Bolt {_ms(bare['p99_ms'])}",
            r["ratio_p99"],
            "info",
        ),
    ] + [
        # issue 16: at 10 and 50 in flight, ack p99 at most the bare app's (ratio ≤ 1.0)
        row
        for c, lv in r.get("levels", {}).items()
        if c != "1"
        for row in (
            Row(
                "ack",
                db,
                f"/cop help ack p99 vs bare Bolt ({c} in flight)",
                _ms(lv["cop_bot"]["p99_ms"]),
                f"bare Bolt {_ms(lv['bare_Bolt']['p99_ms'])}",
                lv["ratio_p99"],
                "pass" if lv["ratio_p99"] <= 1.0 else "miss",
            ),
            Row(
                "ack",
                db,
                f"/cop help answer p99 at response_url ({c} in flight)",
                _ms(lv["cop_bot"]["answer_p99_ms"]),
                "info",
                None,
                "info",
            ),
        )
    ]


def rows_ingest(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    n = f"{r['events']:,} events, {size['concurrency']} in flight"
    return [  # noqa: RUF005 - issue 16's rows added below
        lower("ingest", db, f"events counted/s ({n})", r["bot_counted_per_s"], 500, "/s"),
        Row(
            "ingest",
            db,
            "counted/s vs bare Bolt acked/s",
            f"{r['bot_counted_per_s']:,.0f}/s",
            f"bare Bolt {r['bare_acked_per_s']:,.0f}/s",
            r["bot_counted_per_s"] / r["bare_acked_per_s"],
            "info",
        ),
        Row(
            "ingest",
            db,
            "every event counted exactly once",
            str(r["exactly_once"]),
            "True",
            None,
            "pass" if r["exactly_once"] else "miss",
        ),
    ] + [
        # issue 16: events acked per second at least the bare app's (ratio ≥ 1.0)
        Row(
            "ingest",
            db,
            "acked/s vs bare Bolt acked/s",
            f"{r['bot_acked_per_s']:,.0f}/s",
            f"bare Bolt {r['bare_acked_per_s']:,.0f}/s",
            r["bot_acked_per_s"] / r["bare_acked_per_s"],
            "pass" if r["bot_acked_per_s"] >= r["bare_acked_per_s"] else "miss",
        )
    ]


def rows_pulse(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    label = f"{r['members']:,} members, {r['per_minute']:,}/min"
    return [
        upper("pulse", db, f"drain / rate-limit minimum ({label})", r["ratio"], 1.2, "×"),
        exact("pulse", db, "duplicate DMs", r["duplicates"], 0),
        exact("pulse", db, "DMs delivered vs reachable", r["delivered"], r["reachable"]),
        upper(
            "pulse", db, "from the ritual's start / minimum", r.get("ratio_from_start", 0), 1.1, "×"
        ),
    ]


def rows_homes(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    """Issue 16, point 3: one event created in a community of `members`; views.publish at Slack's
    Tier 4 in the emulator. Nobody looking: at most ten calls; those looking: one each, no 429."""
    rows = []
    for key, figures in sorted((k, v) for k, v in r.items() if k.startswith("new_")):
        looking = int(key.removeprefix("new_"))
        label = f"{r['members']} members, {looking} with the Home open"
        if looking == 0:
            calls = figures["calls"]
            rows.append(
                Row(
                    "homes",
                    db,
                    f"views.publish calls ({label})",
                    f"{calls:,}",
                    "≤ 10",
                    calls / 10,
                    "pass" if calls <= 10 else "miss",
                )
            )
        else:
            rows.append(
                exact("homes", db, f"views.publish calls ({label})", figures["calls"], looking)
            )
        rows.append(
            exact("homes", db, f"views.publish answered 429 ({label})", figures["refused"], 0)
        )
    return rows


def rows_pacer(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    old, new = r.get("old"), r["new"]
    label = f"cop serve + CLI drain, {new['owed']:,} DMs, {new['rate']:,}/min"
    rows = [
        exact("pacer", db, f"calls inside a Retry-After window ({label})", new["inside_window"], 0),
        upper("pacer", db, "time from the CLI's start / minimum", new["ratio"], 1.2, "×"),
        exact("pacer", db, "duplicate DMs", new["duplicates"], 0),
        exact("pacer", db, "DMs delivered vs owed", new["delivered"], new["owed"]),
    ]
    if old:
        rows.append(
            Row(
                "pacer",
                db,
                "before (a pacer per process): inside a window / 429s",
                f"{old['inside_window']:,} / {old['limited']:,}",
                "—",
                None,
                "info",
            )
        )
    return rows


def rows_health(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    scale = (
        r["scale"]
        if isinstance(r["scale"], str)
        else f"{r['scale'].get('communities', 220)} communities, "
        f"{r['scale'].get('people_count', 30000):,} people, {r['scale'].get('months', 12)} months"
    )
    prog, comm = r["programme"], r["community"]
    burst = next(k for k in prog if k.startswith("burst"))
    return [
        upper("health", db, "snapshot job, slowest run (s)", max(r["snapshot_job_s"]), 60, " s"),
        upper("health", db, "/cop santé ack p99", prog["sequential"]["ack"]["p99_ms"], 300, "ms"),
        upper(
            "health",
            db,
            "/cop santé full message p99",
            prog["sequential"]["message"]["p99_ms"],
            2000,
            "ms",
        ),
        upper(
            "health",
            db,
            f"/cop santé message p99, {burst}",
            prog[burst]["message"]["p99_ms"],
            2000,
            "ms",
        ),
        upper(
            "health",
            db,
            "/cop santé cop-001 message p99",
            comm["sequential"]["message"]["p99_ms"],
            2000,
            "ms",
        ),
        upper(
            "memory",
            db,
            f"cop serve peak RSS ({scale})",
            r["serve_peak_rss_mb"],
            RSS_TARGET_MB,
            " MB",
        ),
    ]


def rows_load(r: dict[str, Any], db: str, size: dict[str, Any]) -> list[Row]:
    c, e, p = r["commands"], r["events"], r["pulse"]
    what = f"{r['concurrency']} × /cop for {r['duration_s']:.0f} s"
    return [
        exact("load", db, f"acks over 3 s ({what} + {e['sent']:,} events)", r["acks_over_3s"], 0),
        exact(
            "load",
            db,
            "errors (non-200, failed or missing replies)",
            r["errors"] + r["reply_errors"],
            0,
        ),
        upper("load", db, f"command ack p99 ({c['per_s']:.0f}/s)", c["all"]["p99_ms"], 3000, "ms"),
        upper("load", db, "command ack max", c["all"]["max_ms"], 3000, "ms"),
        upper(
            "load",
            db,
            "command reply p99 (request → response_url)",
            max((s["p99_ms"] for s in c["reply_by_kind"].values()), default=math.nan),
            3000,
            "ms",
        ),
        upper("load", db, "event ack p99 (burst)", e["all"]["p99_ms"], 3000, "ms"),
        exact("load", db, "events counted vs sent", e["counted"], e["sent"]),
        exact(
            "load",
            db,
            f"pulse DMs sent vs owed ({r['members']:,} members)",
            p["sent_rows"],
            p["expected"],
        ),
        exact(
            "load",
            db,
            "pulse duplicate DMs (outbox + Slack)",
            p["duplicates_outbox"] + p["duplicates_slack"],
            0,
        ),
        upper(
            "load",
            db,
            f"fan-out under load / minimum ({r['rate_per_min']:,}/min)",
            p["ratio"],
            1.2,
            "×",
        ),
    ]


BENCHES: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., list[Row]]]] = {
    "ack": (lambda url, **kw: bench_ack.run(database_url=url, **kw), rows_ack),
    "ingest": (lambda url, **kw: bench_ingest.run(database_url=url, **kw), rows_ingest),
    "pulse": (
        lambda url, **kw: bench_pulse.run(
            database_url=url if url.startswith("postgres") else None, **kw
        ),
        rows_pulse,
    ),
    "health": (
        lambda url, **kw: bench_health.run(database_url=url, regenerate=True, **kw),
        rows_health,
    ),
    "load": (None, rows_load),  # type: ignore[dict-item] - runs on its own fresh database
    "pacer": (
        # runs on fresh databases of its own (old and new each need an empty one)
        lambda url, **kw: bench_pacer.run_backend(
            "postgresql" if url.startswith("postgres") else "sqlite", **kw
        ),
        rows_pacer,
    ),
    "homes": (
        # runs on fresh databases of its own (one per scenario)
        lambda url, **kw: bench_homes.run_backend(
            "postgresql" if url.startswith("postgres") else "sqlite", **kw
        ),
        rows_homes,
    ),
}


def run_one(name: str, backend: str, size: dict[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    runner, to_rows = BENCHES[name]
    db = "PostgreSQL" if backend == "postgresql" else "SQLite"
    print(f"\n=== {name} on {db} {size}", flush=True)
    started = time.perf_counter()
    try:
        if name == "load":
            result = bench_load.run(backend=backend, **size)
            bench_load.show(result)
        else:
            with databases.fresh_sync(backend, f"cop_bench_{name}_{os.getpid()}") as url:
                result = runner(url, **size)
        rows = to_rows(result, db, size)
    except Exception as exc:  # one broken benchmark must not hide the others
        traceback.print_exc()
        result = {"error": repr(exc)}
        rows = [Row(name, db, "benchmark failed", repr(exc)[:60], "runs", None, "miss")]
    print(f"=== {name} on {db}: {time.perf_counter() - started:.0f} s", flush=True)
    return rows, result


def machine() -> str:
    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    pg = version(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version"])
    return (
        f"{os.cpu_count()} CPUs, {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.platform()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg or '?'}"
    )


def table(rows: list[Row]) -> str:
    head = ("benchmark", "database", "figure", "measured", "target", "ratio", "verdict")
    body = [
        (
            r.bench,
            r.database,
            r.figure,
            r.value,
            r.target,
            "—" if r.ratio is None or math.isnan(r.ratio) else f"{r.ratio:.2f}",
            r.verdict,
        )
        for r in rows
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: validates the harness")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated benchmarks")
    parser.add_argument(
        "--pulse-members", type=int, help="pulse fan-out size (30,000 full, 2,000 quick)"
    )
    parser.add_argument("--json", help="also write every raw figure to this file")
    args = parser.parse_args()
    sizes = {k: dict(v) for k, v in (QUICK if args.quick else FULL).items()}
    if args.pulse_members:
        sizes["pulse"]["members"] = args.pulse_members
    started = time.perf_counter()
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    for backend in args.backends.split(","):
        for name in args.only.split(","):
            got, result = run_one(name, backend, sizes[name])
            rows += got
            raw[f"{name}/{backend}"] = result
    minutes = (time.perf_counter() - started) / 60
    print(
        f"\n{'QUICK RUN (small sizes; not the report)' if args.quick else 'Full run'} — "
        f"{time.strftime('%Y-%m-%d')} — {machine()} — {minutes:.1f} min\n"
    )
    print(table(rows))
    misses = [r for r in rows if r.verdict == "miss"]
    print(f"\n{len(rows) - len(misses)} of {len(rows)} rows pass or inform; {len(misses)} miss")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rows": [r.__dict__ for r in rows], "raw": raw}, out, default=str, indent=1)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
