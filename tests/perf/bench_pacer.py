"""Benchmark: two processes sending for one workspace — do they share the pace and Retry-After?

    python -m tests.perf.bench_pacer [--backends sqlite,postgresql] [--members 2000]
        [--rate 6000] [--no-old] [--runs 1]

Every process real, on loopback:
- Slack's side: the emulator in its own process, `--members` people (about 2 % deactivated) in
  channel CL000000, chat.postMessage limited to `--rate` per minute (burst 20); it counts the
  calls that arrive inside a Retry-After window it had already announced with a 429
  (`SlackEmulator.calls_inside_retry_after`);
- `cop serve` on a fresh database, its scheduler draining the outbox every 2 s, and at the same
  time `cop rituals run pulse --community programme --drain` in another process: both send the
  pulse's DMs for the same workspace, each configured at COP_OUTBOX_RATE = `--rate` (what each
  believes Slack allows).

"new": the pace of each workspace and method kept in the database (rituals.outbox.pacing
`SharedPacer`): slots reserved a few at a time by either process, a 429 recorded for both.
"old" (the behaviour before issue 16 point 4, replayed by patching `Drain.pacer` in both
processes): each process its own in-memory token bucket, blind to the other's rate and 429s.

Printed per database and behaviour: DMs delivered, 429 answers, calls inside an announced
Retry-After window (the figure that must be 0, or close: see the bound in SharedPacer's
docstring), duplicates, and the time from the CLI's start to the last DM against the minimum
the limit allows ((delivered − burst) ÷ rate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot import communities, db, people
from bot.config import normalise_database_url
from bot.models import Outbox, Person
from bot.slack.emulator import SlackEmulator, large_workspace
from tests.perf import databases
from tests.perf.bench_load import Slack, start_bot
from tests.perf.common import PYTHON, ROOT, SECRET, TOKEN, free_port

TEAM = "T0LOAD"
CHANNEL = "CL000000"
BURST = 20


# --------------------------------------------------------------------------- the old behaviour


class _OldPacer:
    """The pacer before issue 16 point 4: one in-memory token bucket per process."""

    def __init__(self, per_minute: float) -> None:
        from rituals.outbox.pacing import Pacer

        self._pacer = Pacer(per_minute)

    async def slot(self) -> None:
        await self._pacer.slot()

    async def pause(self, seconds: float) -> None:
        self._pacer.pause(seconds)

    async def give_back(self) -> None:
        return None


def old_cli() -> None:
    """`python -c 'from tests.perf.bench_pacer import old_cli; old_cli()' ARGS…`: the CLI with
    the drain's pacer as it was (kept in the process's memory)."""
    from bot import cli
    from rituals.outbox.drain import Drain

    def pacer(self: Drain, workspace_id: str) -> Any:
        found = self.__dict__.get("_old_pacer")
        if found is None:
            found = self.__dict__["_old_pacer"] = _OldPacer(self.rate_per_minute)
        return found

    Drain.pacer = pacer  # type: ignore[method-assign]
    raise SystemExit(cli.main(sys.argv[1:]))


def _command(old: bool, *args: str) -> list[str]:
    if old:
        return [PYTHON, "-c", "from tests.perf.bench_pacer import old_cli; old_cli()", *args]
    return [PYTHON, "-m", "bot.cli", *args]


# --------------------------------------------------------------------------- Slack


def serve_slack(members: int, per_minute: int, conn: Connection) -> None:
    """The emulator in its own process; answers "report" and "stop" over `conn`."""

    async def main() -> None:
        emulator = SlackEmulator(large_workspace(members, 1, seed=1), validate_blocks=False)
        gc.freeze()  # a collection here would bunch requests and fake 429s
        gc.set_threshold(100_000, 50, 1000)
        await emulator.start()
        emulator.set_rate_limit("chat.postMessage", per_minute=per_minute, burst=BURST)
        conn.send(emulator.url)
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, conn.recv) != "stop":
            posts = emulator.calls_to("chat.postMessage")
            ok = [c for c in posts if c.status == 200 and c.response.get("ok")]
            per_channel = Counter(c.response["channel"] for c in ok)
            conn.send(
                {
                    "ok": len(ok),
                    "calls": len(posts),
                    "limited": sum(1 for c in posts if c.status == 429),
                    "inside_window": emulator.calls_inside_retry_after("chat.postMessage"),
                    "duplicates": sum(n - 1 for n in per_channel.values() if n > 1),
                    "first": min((c.at for c in ok), default=0.0),
                    "last": max((c.at for c in ok), default=0.0),
                }
            )
        await emulator.stop()

    asyncio.run(main())


# --------------------------------------------------------------------------- one run


async def one_run(backend: str, *, members: int, rate: int, old: bool, tag: str) -> dict[str, Any]:
    workspace = large_workspace(members, 1, seed=1)  # the emulator's, same seed
    ids = [u for u in workspace.channels[CHANNEL].members if u != "UBOT"]
    deleted = [u for u in ids if workspace.users[u].deleted]
    expected = len(ids) - len(deleted)
    slack = Slack(members, rate, serve=serve_slack)
    await slack.start()
    try:
        async with databases.fresh(backend, f"cop_bench_pacer_{tag}") as plain:
            url = normalise_database_url(plain)
            engine = db.make_engine(url)
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
                slug = community.slug
            env = {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": f"{slack.url}/api/",
                "COP_DATABASE_URL": plain,
                "COP_QUIET_HOURS": "off",
                "COP_LOG_LEVEL": "WARNING",
                "COP_OUTBOX_RATE": str(rate),
                "COP_WORKSPACE_ID": TEAM,
            }
            folder = tempfile.TemporaryDirectory(prefix="cop-pacer-")
            log = Path(folder.name) / "serve.log"
            port = free_port()
            serve = _command(True, "serve", "--port", str(port)) if old else None
            bot = await start_bot(env, port, log, command=serve)
            try:
                started = time.monotonic()
                cli = await asyncio.create_subprocess_exec(
                    *_command(
                        old,
                        "rituals",
                        "run",
                        "pulse",
                        "--community",
                        slug,
                        "--workspace",
                        TEAM,
                        "--drain",
                    ),
                    env={**os.environ, **env},
                    cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                out, _ = await asyncio.wait_for(cli.communicate(), timeout=900)
                cli_done = time.monotonic()
                sent_q = (
                    sa.select(sa.func.count())
                    .select_from(Outbox)
                    .where(Outbox.kind == "pulse", Outbox.status == "sent")
                )
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    async with sessions() as session:
                        if (await session.scalar(sent_q) or 0) >= expected:
                            break
                    await asyncio.sleep(0.25)
                await asyncio.sleep(1.0)  # the serving process's last answers
                report = await slack.report()
            finally:
                bot.terminate()
                with contextlib.suppress(Exception):
                    bot.wait(timeout=15)
                folder.cleanup()
            async with sessions() as session:
                sent = await session.scalar(sent_q) or 0
                by_sender = dict(
                    (
                        await session.execute(
                            sa.select(Outbox.claimed_by, sa.func.count())
                            .where(Outbox.kind == "pulse")
                            .group_by(Outbox.claimed_by)
                        )
                    ).all()
                )
            await engine.dispose()
    finally:
        await slack.stop()
    minimum = max(0, report["ok"] - BURST) / (rate / 60)
    elapsed = report["last"] - started if report["last"] else float("nan")
    return {
        "bench": "pacer",
        "backend": backend,
        "behaviour": "old" if old else "new",
        "members": len(ids),
        "owed": expected,
        "sent": sent,
        "delivered": report["ok"],
        "calls": report["calls"],
        "limited": report["limited"],
        "inside_window": report["inside_window"],
        "duplicates": report["duplicates"],
        "elapsed_s": elapsed,
        "first_dm_s": report["first"] - started if report["first"] else float("nan"),
        "cli_s": cli_done - started,
        "minimum_s": minimum,
        "ratio": elapsed / minimum if minimum else float("nan"),
        "senders": len([k for k in by_sender if k]),
        "cli_exit": cli.returncode,
        "cli_output": out.decode(errors="replace").strip()[-300:],
    }


def show(r: dict[str, Any]) -> None:
    print(
        f"{r['backend']:<10} {r['behaviour']:<4} DMs {r['delivered']:,}/{r['owed']:,}  "
        f"calls {r['calls']:,}  429 {r['limited']:,}  inside a Retry-After {r['inside_window']:,}"
        f" ({r['inside_window'] / max(1, r['limited']):.2f}× the 429s)  dup {r['duplicates']}  "
        f"{r['elapsed_s']:.1f} s = {r['ratio']:.3f}× the minimum {r['minimum_s']:.1f} s  "
        f"(first DM {r['first_dm_s']:.2f} s; senders {r['senders']}; cli exit {r['cli_exit']})",
        flush=True,
    )


def run(
    *,
    members: int = 2000,
    rate: int = 6000,
    backends: tuple[str, ...] = databases.BACKENDS,
    old: bool = True,
    runs: int = 1,
) -> list[dict[str, Any]]:
    """Every backend, old then new, `runs` times each; prints each run and the medians."""
    results = []
    for backend in backends:
        for behaviour in (["old"] if old else []) + ["new"]:
            rows = []
            for i in range(runs):
                row = asyncio.run(
                    one_run(
                        backend,
                        members=members,
                        rate=rate,
                        old=behaviour == "old",
                        tag=f"{behaviour}_{i}",
                    )
                )
                show(row)
                rows.append(row)
            median = {
                **rows[0],
                **{
                    k: statistics.median(r[k] for r in rows)
                    for k in ("limited", "inside_window", "elapsed_s", "ratio", "first_dm_s")
                },
                "runs": runs,
            }
            if runs > 1:
                print(f"median of {runs}: ", end="")
                show(median)
            results.append(median)
    return results


def run_backend(backend: str, *, members: int, rate: int, old: bool = True) -> dict[str, Any]:
    """One backend, old and new (for run_all): {"old": figures, "new": figures}."""
    results = run(members=members, rate=rate, backends=(backend,), old=old)
    return {r["behaviour"]: {**r, "rate": rate} for r in results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(databases.BACKENDS))
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=6000, help="chat.postMessage per minute")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-old", action="store_true", help="only the shared pacer")
    args = parser.parse_args()
    results = run(
        members=args.members,
        rate=args.rate,
        backends=tuple(b for b in args.backends.split(",") if b),
        old=not args.no_old,
        runs=args.runs,
    )
    by = {(r["backend"], r["behaviour"]): r for r in results}
    for backend in {r["backend"] for r in results}:
        old, new = by.get((backend, "old")), by.get((backend, "new"))
        if old and new:
            print(
                f"{backend}: calls inside a Retry-After window {old['inside_window']} → "
                f"{new['inside_window']}; 429s {old['limited']} → {new['limited']}; "
                f"time/minimum {old['ratio']:.3f} → {new['ratio']:.3f}"
            )


if __name__ == "__main__":
    main()
