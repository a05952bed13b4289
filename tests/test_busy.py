"""The 3-second answer everywhere: acks before any database wait; a busy database says "busy"."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from bot.i18n import translate
from bot.slack.emulator import User
from tests import factories
from tests.conftest import Bot, eventually

CROWD = 50


def _kind(reply: dict, fr=translate("fr"), en=translate("en")) -> str:
    text = json.dumps(reply, ensure_ascii=False)
    for key in ("error.database_down", "error.busy", "error.unexpected"):
        if fr(key) in text or en(key) in text:
            return key
    return "answer"


@pytest.mark.parametrize("backend_only", ["sqlite"])
async def test_fifty_concurrent_commands_on_sqlite_nobody_is_told_the_database_is_down(
    bot: Bot, backend_only: str
) -> None:
    if bot.deps.engine.url.get_backend_name() != backend_only:
        pytest.skip("SQLite only: its single writer is what a crowd contends for")
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",))
    crowd = [f"U0CROWD{n:02d}" for n in range(CROWD)]
    for uid in crowd:  # never seen by the bot: each first command looks them up and records them
        bot.emulator.workspace.users[uid] = User(uid, uid.lower(), f"Person {uid}")
        bot.emulator.workspace.channels["C0DATA"].members.append(uid)
    bot.emulator.set_latency("users.info", 0.8)
    texts = ["help" if n % 3 else "charter show" for n in range(CROWD)]
    acks = await asyncio.gather(
        *(bot.slack.command(t, user=u, channel="C0DATA") for t, u in zip(texts, crowd, strict=True))
    )
    assert [a.status_code for a in acks] == [200] * CROWD
    replies = await eventually(lambda: len(bot.emulator.responses) >= CROWD and bot.emulator.responses, timeout=60)
    kinds = Counter(_kind(r) for r in replies)
    print(f"\n{CROWD} concurrent commands: {dict(kinds)}")
    assert kinds["error.database_down"] == 0
