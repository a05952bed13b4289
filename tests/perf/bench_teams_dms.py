"""Benchmark: N ritual DMs to Microsoft Teams through the outbox drain, against the emulator.

Two cases: every person's 1:1 chat already known (a conversation reference each: one send per
DM), and none known (the bot opens each 1:1 first: POST /v3/conversations, then the send). The
floor Teams' limits allow (learn.microsoft.com, bots/how-to/rate-limit):

- known chats: each DM is its own conversation, so only the per-tenant cap binds: 50 requests a
  second per app and tenant → N / 50 s; our pace is 30 a second (rituals/outbox/pacing.py) → N / 30 s;
- chats to open: the emulator counts every creation against one conversation's windows (7 per
  second, 8 per 2 s, 60 per 30 s), as the bot's own windows do (bot/teams/connector.py):
  60 per 30 s → about (N − 60) / 2 + 15 s.

    .venv/bin/python -m tests.perf.bench_teams_dms [--people 300] [--case known|open|both]

It uses a fresh SQLite file in a temporary folder (COP_BENCH_DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot import db, messages, people
from bot.app import build_deps, close_teams
from bot.config import Config, Programme, load_settings
from bot.ports import UserInfo
from bot.teams import conversations
from bot.teams.emulator import TeamsEmulator
from bot.teams.emulator.server import Member
from rituals.outbox import Drain, enqueue
from tests.perf.bench_pulse import fresh_database


async def run(n: int, *, known: bool, database_url: str | None) -> dict[str, float]:
    teams = TeamsEmulator()
    await teams.start()
    teams.members = [
        Member(f"29:1bench-{i}", f"Personne {i}", f"00000000-0000-4000-8000-{i:012d}", f"p{i}@x")
        for i in range(n)
    ]
    tenant = teams.tenant_id
    with tempfile.TemporaryDirectory() as folder:
        url = await fresh_database(database_url, Path(folder))
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-unused",
                "COP_DATABASE_URL": url,
                "COP_QUIET_HOURS": "off",
                "TEAMS_APP_ID": teams.app_id,
                "TEAMS_APP_PASSWORD": teams.app_password,
                "TEAMS_OPENID_URL": teams.openid_url,
                "TEAMS_TOKEN_URL": teams.token_url,
            }
        )
        deps = build_deps(
            Config(settings=settings, programme=Programme(name="Bench", language="fr"))
        )
        await db.upgrade(deps.engine)
        message = messages.Message("Sondage pulse", [messages.Paragraph("Comment allez-vous ?")])
        async with deps.sessions.begin() as session:
            await conversations.remember(
                session,
                workspace_id=tenant,
                conversation_id="a:1bench-first",
                kind="personal",
                service_url=teams.service_url,
                user_id="29:1bench-nobody",
            )
            for i, member in enumerate(teams.members):
                person = await people.upsert(
                    session,
                    workspace_id=tenant,
                    info=UserInfo(
                        member.id, member.email, member.name, None, "fr-FR", False, False
                    ),
                )
                if known:
                    chat = f"a:1bench-chat-{i}"
                    teams.conversations[chat] = {
                        "conversationType": "personal",
                        "members": [member],
                    }
                    await conversations.remember(
                        session,
                        workspace_id=tenant,
                        conversation_id=chat,
                        kind="personal",
                        service_url=teams.service_url,
                        user_id=member.id,
                    )
                await enqueue(
                    session,
                    workspace_id=tenant,
                    key=f"bench-{i}",
                    kind="bench",
                    message=message,
                    reader=messages.Reader("fr", "Europe/Paris"),
                    person_id=person.id,
                )
        drain = Drain(deps)
        started = time.monotonic()
        await drain.run_until_empty(poll=0.2)
        took = time.monotonic() - started
        sends = [c for c in teams.calls if c.path.endswith("/activities") and c.method == "POST"]
        delivered = Counter(c.path for c in sends if c.status == 201)
        figures = {
            "people": n,
            "seconds": round(took, 2),
            "sent": drain.stats.sent,
            "failed": drain.stats.failed,
            "opened": sum(
                1 for c in teams.calls if c.path == "/v3/conversations" and c.status == 201
            ),
            "429": sum(1 for c in teams.calls if c.status == 429),
            "refused_cards": sum(1 for c in teams.calls if c.status == 400),
            "duplicates": sum(v - 1 for v in delivered.values() if v > 1),
        }
        await close_teams(deps)
        await deps.engine.dispose()
    await teams.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--case", choices=["known", "open", "both"], default="both")
    args = parser.parse_args()
    url = os.environ.get("COP_BENCH_DATABASE_URL")
    for case in ("known", "open") if args.case == "both" else (args.case,):
        figures = asyncio.run(run(args.people, known=case == "known", database_url=url))
        n = args.people
        floor = n / 50 if case == "known" else max(0.0, (n - 60) / 2) + 15
        print(f"{case}: {figures} (Teams' floor ≈ {floor:.1f} s)")


if __name__ == "__main__":
    main()
