"""The HTTP surface: signatures, malformed bodies, /healthz, /metrics, and /cop help end to end."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot.slack.emulator import Call
from tests import factories
from tests.conftest import MANAGER, Bot, eventually


async def test_help_in_french_answers_with_the_commands_the_caller_may_use(bot: Bot) -> None:
    response = await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
    assert response.status_code == 200
    reply = await eventually(lambda: bot.emulator.responses)
    text = json.dumps(reply[-1], ensure_ascii=False)
    assert "Ce que vous pouvez faire avec /cop" in text
    assert "/cop aide" in text
    # a plain member does not see the managers' command
    assert "communauté créer" not in text


async def test_help_for_a_manager_lists_community_creation_in_english(bot: Bot) -> None:
    bot.emulator.workspace.users[MANAGER].locale = "en-GB"
    await bot.slack.command("aide", user=MANAGER, channel="C0GEN")
    reply = await eventually(lambda: bot.emulator.responses)
    text = json.dumps(reply[-1])
    assert "What you can do with /cop" in text
    assert "/cop community create" in text


async def test_unknown_subcommand_says_what_to_type(bot: Bot) -> None:
    await bot.slack.command("dance", user="U0LUCAS", channel="C0GEN")
    reply = await eventually(lambda: bot.emulator.responses)
    assert reply[-1]["response_type"] == "ephemeral"
    assert "dance" in reply[-1]["text"] and "/cop aide" in reply[-1]["text"]


async def test_wrong_signature_is_refused_and_touches_nothing(bot: Bot) -> None:
    body = (
        b"command=%2Fcop&text=community+create+X&user_id=U0CAMILLE&channel_id=C0DATA&team_id=T0COP"
    )
    headers = bot.slack.sign(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    assert bot.emulator.calls == []


async def test_unsigned_and_replayed_requests_get_401(bot: Bot) -> None:
    body = b"command=%2Fcop&text=help&user_id=U0LUCAS&channel_id=C0GEN&team_id=T0COP"
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(
            f"{bot.url}/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        old = bot.slack.sign(body, timestamp=int(time.time()) - 6 * 60)
        old["Content-Type"] = "application/x-www-form-urlencoded"
        replayed = await http.post(f"{bot.url}/slack/events", content=body, headers=old)
    assert unsigned.status_code == 401
    assert replayed.status_code == 401
    assert bot.emulator.calls == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ],
)
async def test_malformed_but_signed_bodies_get_400(
    bot: Bot, body: bytes, content_type: str
) -> None:
    headers = bot.slack.sign(body)
    headers["Content-Type"] = content_type
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 400


async def test_healthz_and_metrics(bot: Bot) -> None:
    await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{bot.url}/healthz")
        metrics = await http.get(f"{bot.url}/metrics")
    assert health.status_code == 200
    assert health.json()["database"] == "up"
    assert 'cop_requests_total{kind="command",status="200"} 1.0' in metrics.text
    assert "cop_ack_seconds_bucket" in metrics.text


async def test_healthz_is_503_and_commands_apologise_when_the_database_is_gone(bot: Bot) -> None:
    await bot.deps.engine.dispose()
    url = bot.deps.engine.url
    if url.get_backend_name() == "sqlite":
        # point the engine at a file in a folder that does not exist: every connection fails
        from bot import db

        broken = db.make_engine("sqlite+aiosqlite:////nonexistent-dir/cop.db")
    else:
        from bot import db

        broken = db.make_engine(url.set(port=1).render_as_string(hide_password=False))
    object.__setattr__(bot.deps, "engine", broken)
    object.__setattr__(bot.deps, "sessions", db.make_sessionmaker(broken))
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{bot.url}/healthz")
    assert health.status_code == 503
    started = time.perf_counter()
    response = await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
    assert response.status_code == 200
    assert time.perf_counter() - started < 3
    reply = await eventually(lambda: bot.emulator.responses)
    assert "base de données" in reply[-1]["text"]
    await broken.dispose()


async def test_a_button_no_listener_knows_gets_a_clear_answer(bot: Bot) -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0COP"},
        "user": {"id": "U0LUCAS", "team_id": "T0COP"},
        "api_app_id": "A0COPBOT",
        "trigger_id": "tr-1",
        "response_url": bot.emulator.response_url("stale"),
        "actions": [
            {"action_id": "from_an_old_version", "block_id": "b", "type": "button", "value": "1"}
        ],
        "channel": {"id": "C0GEN"},
    }
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = bot.slack.sign(body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{bot.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 200
    reply = await eventually(lambda: bot.emulator.responses)
    assert "Ce bouton ne fonctionne plus" in reply[-1]["text"]


async def test_replies_and_api_calls_reuse_keep_alive_connections(bot: Bot) -> None:
    """Five commands in a row: their replies and the bot's Web API calls do not each open a new
    connection to Slack (a TCP and TLS handshake per call, without the server's shared session)."""
    await factories.community(bot.sessions, emulator=bot.emulator)
    since = len(bot.emulator.calls)
    for n in range(5):
        await bot.slack.command("help", user="U0LUCAS", channel="C0DATA")
        await eventually(lambda n=n: len(_replies(bot, since)) > n)
    replies = _replies(bot, since)
    assert len(replies) == 5
    assert all(c.peer is not None for c in replies)
    assert len({c.peer for c in replies}) <= 2, {c.peer for c in replies}


def _replies(bot: Bot, since: int) -> list[Call]:
    return [c for c in bot.emulator.calls[since:] if c.method == "response_url"]
