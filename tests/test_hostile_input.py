"""Hostile input, property-based: whatever people type or send, a clear answer and no damage.

The bot runs in a background thread (its own event loop, SQLite, the emulator over HTTP) so that
Hypothesis can drive it with plain synchronous examples.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import communities, csv_import
from bot.models import Community, Membership
from bot.slack.emulator import SlackEmulator, default_workspace, mrkdwn_texts, parsed_sequences
from bot.slack.text import split_args, user_id
from tests.conftest import SIGNING_SECRET, make_config, start_bot
from tests.perf.common import signed_command

# its module fixture is costly: every test of the module runs on one xdist worker
pytestmark = pytest.mark.xdist_group("hostile_input")


class BackgroundBot:
    """The real bot and emulator on a loop in another thread."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emulator = SlackEmulator(default_workspace())
        self.call(self.emulator.start())
        self.bot, self.server, self.task = self.call(
            start_bot(make_config(database_url, self.emulator), self.emulator)
        )

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def count(self, model: Any) -> int:
        async def _count() -> int:
            async with self.bot.sessions() as session:
                return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)

        return int(self.call(_count()))

    def close(self) -> None:
        self.server.should_exit = True
        self.call(asyncio.wait_for(asyncio.shield(self.task), 10))
        self.call(self.bot.slack.aclose())
        self.call(self.bot.deps.engine.dispose())
        self.call(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def background(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[BackgroundBot]:
    import shutil

    path = tmp_path_factory.mktemp("hostile") / "cop.db"
    shutil.copy(sqlite_template, path)
    running = BackgroundBot(f"sqlite+aiosqlite:///{path}")
    yield running
    running.close()


def post_command(
    bg: BackgroundBot, text: str, *, user: str = "U0LUCAS", channel: str = "C0GEN"
) -> tuple[int, float, dict[str, Any]]:
    before = len(bg.emulator.responses)
    body, headers = signed_command(
        text,
        user=user,
        channel=channel,
        response_url=bg.emulator.response_url(),
        secret=SIGNING_SECRET,
    )
    started = time.perf_counter()
    response = httpx.post(f"{bg.bot.url}/slack/events", content=body, headers=headers, timeout=10)
    elapsed = time.perf_counter() - started
    deadline = time.monotonic() + 5
    while len(bg.emulator.responses) <= before:
        assert time.monotonic() < deadline, f"no answer to /cop {text!r}"
        time.sleep(0.01)
    return response.status_code, elapsed, bg.emulator.responses[-1]


slack_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=4000),
    st.lists(
        st.sampled_from(
            [
                "help",
                "aide",
                "role",
                "rôle",
                "community",
                "create",
                "<@U0LUCAS>",
                "<@U0NOBODY|x>",
                "leader",
                "core",
                '"',
                "'",
                "--kind",
                "--lang",
                "&amp;",
                "<#C0DATA|data>",
                "\u202e",
                "\x00",
                "🎉",
                "DROP TABLE person;",
                "${x}",
                "{name}",
            ]
        ),
        max_size=8,
    ).map(" ".join),
)


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=slack_text)
def test_any_cop_text_gets_a_prompt_clear_answer_and_changes_nothing(
    background: BackgroundBot, text: str
) -> None:
    communities_before = background.count(Community)
    memberships_before = background.count(Membership)
    status, elapsed, reply = post_command(background, text)
    assert status == 200
    assert elapsed < 3
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].strip()
    assert "Traceback" not in reply["text"] and "Exception" not in reply["text"]
    # whatever was typed is quoted as typed: nothing in the answer pings, names or links
    assert not [s for text in mrkdwn_texts(reply) for s in parsed_sequences(text)], reply
    # a member in a non-community channel can change nothing
    assert background.count(Community) == communities_before
    assert background.count(Membership) == memberships_before


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=200))
def test_any_community_name_is_created_or_clearly_refused(
    background: BackgroundBot, name: str
) -> None:
    status, _, reply = post_command(
        background, f"community create {name}", user="U0CAMILLE", channel="C0AGILE"
    )
    assert status == 200
    text = reply["text"]
    created = "accueille désormais" in text
    refused = any(
        s in text
        for s in (
            "Donnez un nom",
            "ne peut pas dépasser",
            "accueille déjà",
            "Syntaxe",
            "n'est pas un type",
        )
    )
    assert created or refused, text
    assert not parsed_sequences(text), text  # the name shows as typed, pinging no one

    # whatever happened, the channel holds at most one community, with a well-formed slug
    async def check() -> list[str]:
        async with background.bot.sessions() as session:
            return list(
                await session.scalars(
                    sa.select(Community.slug).where(Community.channel_id == "C0AGILE")
                )
            )

    slugs = background.call(check())
    assert len(slugs) <= 1
    assert all(s and s == communities.slugify(s) for s in slugs)


@settings(max_examples=200)
@given(text=st.text(max_size=500))
def test_command_words_never_crash(text: str) -> None:
    words = split_args(text)
    assert all(isinstance(w, str) for w in words)
    for word in words:
        found = user_id(word)
        assert found is None or (found[0] in "UW" and found.isalnum())


@settings(max_examples=200)
@given(text=st.text(max_size=2000))
def test_any_csv_text_is_parsed_or_reported_line_by_line(text: str) -> None:
    rows, errors = csv_import.parse_csv(text)
    for row in rows:
        assert row.name and row.channel_id[0] in "CG"
    for error in errors:
        assert error.startswith("line ") or error.startswith("header:")


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=2000),
    signature=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
)
def test_forged_requests_are_refused(
    background: BackgroundBot, body: bytes, signature: str
) -> None:
    calls_before = len(background.emulator.calls)
    response = httpx.post(
        f"{background.bot.url}/slack/events",
        content=body,
        headers={
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": signature,
        },
        timeout=10,
    )
    assert response.status_code == 401
    assert len(background.emulator.calls) == calls_before
