"""Ack first (issue 16, points 1 and 2), over real HTTP on SQLite and PostgreSQL.

Slack hears its answer before any work: a command's 200 comes back while its work is still held,
and the answer follows at the response_url. When the queue of acknowledged work is full, a
command is told "busy" in its ack, an event is refused with 503 (and counted when Slack sends
it again), a click hears "busy" at its response_url; nothing queued is lost. Channel activity
is counted without Bolt, once however often Slack redelivers it; other events still reach
Bolt; a modal's field errors still come back in the ack; an unsigned request is still refused
before anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn

from bot.app import build_asgi, build_bolt, build_deps
from bot.i18n import translate
from bot.slack.driver import SlackDriver
from bot.slack.emulator import SlackEmulator
from tests import factories
from tests.conftest import SIGNING_SECRET, Bot, eventually, make_config, settle
from tests.test_activity import _expect, message_event
from tests.test_events import open_modal, values

FR = translate("fr")


class Gate(asyncio.Event):
    """The emulator's hold on response_url answers (emulator.responses_held), counting who waits."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0

    async def wait(self) -> bool:  # type: ignore[override]
        self.waiting += 1
        return await super().wait()


@contextlib.asynccontextmanager
async def small_bot(
    database_url: str, emulator: SlackEmulator, **dispatch: Any
) -> AsyncIterator[Bot]:
    """The bot with a queue of the given size (bot.slack.dispatch.Dispatcher's options)."""
    deps = build_deps(make_config(database_url, emulator))
    asgi = build_asgi(deps, build_bolt(deps), **dispatch)
    server = uvicorn.Server(
        uvicorn.Config(asgi, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes no event for this
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    driver = SlackDriver(emulator, bot_url=f"{url}/slack/events", signing_secret=SIGNING_SECRET)
    try:
        yield Bot(deps=deps, url=url, slack=driver, emulator=emulator)
    finally:
        emulator.responses_held = None
        await driver.aclose()
        server.should_exit = True
        await task
        await settle()
        await deps.engine.dispose()


def answered(bot: Bot, response_url: str | None) -> list[dict[str, Any]]:
    assert response_url is not None
    key = response_url.rsplit("/", 1)[1]
    return [r for r in bot.emulator.responses if r["key"] == key]


async def test_the_ack_comes_before_the_work_and_the_answer_after(bot: Bot) -> None:
    gate = Gate()
    bot.emulator.responses_held = gate
    response = await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
    assert response.status_code == 200
    assert response.content == b""  # the empty ack: the answer is not in it
    url = bot.slack.last_response_url
    await eventually(lambda: gate.waiting == 1)  # the work is under way, its answer held
    assert answered(bot, url) == []
    gate.set()
    replies = await eventually(lambda: answered(bot, url))
    assert replies[0].get("blocks")  # the help itself


async def test_a_full_queue_answers_busy_and_loses_nothing_queued(
    database_url: str, emulator: SlackEmulator
) -> None:
    # the worker holds on to its job (a long `hold`): the second command stays queued
    async with small_bot(database_url, emulator, workers=1, queue_max=1, hold=60) as bot:
        await factories.community(bot.sessions, emulator=emulator, channel="C0DATA")
        gate = Gate()
        emulator.responses_held = gate
        # the one worker takes the first command and waits on its answer; the second queues
        assert (await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")).status_code == 200
        first = bot.slack.last_response_url
        await eventually(lambda: gate.waiting == 1)
        assert (await bot.slack.command("help", user="U0CHLOE", channel="C0GEN")).status_code == 200
        second = bot.slack.last_response_url

        # full: a command hears "busy" in its ack, in the programme's language
        busy = await bot.slack.command("help", user="U0HUGO", channel="C0GEN")
        assert busy.status_code == 200
        assert busy.json() == {"response_type": "ephemeral", "text": FR("error.busy")}
        # an event is refused, so that Slack sends it again
        refused = await bot.slack.open_home(user="U0EMILY")
        assert refused.status_code == 503
        home_event = bot.slack.last_event_id
        # a click: 200, and "busy" at its response_url
        click_url = emulator.response_url("click")
        click = await bot.slack._post_payload(
            {
                "type": "block_actions",
                "token": "x",
                "api_app_id": "A0COPBOT",
                "team": {"id": emulator.workspace.team_id},
                "user": {"id": "U0LUCAS", "team_id": emulator.workspace.team_id},
                "trigger_id": "1.2.3",
                "response_url": click_url,
                "container": {"type": "message", "channel_id": "C0GEN", "message_ts": "1.0"},
                "channel": {"id": "C0GEN"},
                "actions": [
                    {"action_id": "gone", "block_id": "b", "type": "button", "action_ts": "1.0"}
                ],
            }
        )
        assert click.status_code == 200
        # channel activity never waits for the queue
        message = await bot.slack.message(user="U0LUCAS", channel="C0DATA")
        assert message.status_code == 200

        gate.set()
        assert (await eventually(lambda: answered(bot, first)))[0].get("blocks")
        assert (await eventually(lambda: answered(bot, second)))[0].get("blocks")
        assert (await eventually(lambda: answered(bot, click_url)))[0]["text"] == FR("error.busy")
        await eventually(lambda: _expect(bot, {"U0LUCAS": (1, 0, 0)}))
        # Slack sends the refused event again: now it is handled
        publishes = len(emulator.calls_to("views.publish"))
        retried = await bot.slack.event(
            {
                "type": "app_home_opened",
                "user": "U0EMILY",
                "tab": "home",
                "channel": emulator.dm_channel_for("U0EMILY"),
                "event_ts": emulator.next_ts(),
            },
            event_id=home_event,
            retry_num=1,
        )
        assert retried.status_code == 200
        await emulator.wait_for("views.publish", lambda c: c.params.get("user_id") == "U0EMILY")
        assert len(emulator.calls_to("views.publish")) == publishes + 1


async def test_a_slow_answer_does_not_hold_the_next_command(
    database_url: str, emulator: SlackEmulator
) -> None:
    """One worker: the first command's answer is stuck (a slow Slack, a year's report); after
    `hold` the worker lets it run on and takes the next person's command."""
    async with small_bot(database_url, emulator, workers=1, hold=0.05) as bot:
        gate = Gate()
        emulator.responses_held = gate
        await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")
        first = bot.slack.last_response_url
        await eventually(lambda: gate.waiting == 1)
        await bot.slack.command("help", user="U0CHLOE", channel="C0GEN")
        second = bot.slack.last_response_url
        await eventually(lambda: gate.waiting == 2)  # both worked on, neither answered yet
        gate.set()
        assert (await eventually(lambda: answered(bot, first)))[0].get("blocks")
        assert (await eventually(lambda: answered(bot, second)))[0].get("blocks")


async def test_activity_redelivered_together_counts_once(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, channel="C0DATA")
    event = message_event(bot, user="U0LUCAS", channel="C0DATA")
    sent = await asyncio.gather(
        *(bot.slack.event(event, event_id="Ev0TWICE", retry_num=r) for r in (None, 1, 2, 3))
    )
    assert [r.status_code for r in sent] == [200] * 4
    removed = await bot.slack.event(
        {
            "type": "reaction_removed",
            "user": "U0HUGO",
            "reaction": "+1",
            "item": {"type": "message", "channel": "C0DATA", "ts": event["ts"]},
            "event_ts": bot.emulator.next_ts(),
        }
    )
    assert removed.status_code == 200  # acknowledged, and not negative activity
    await bot.slack.message(user="U0CHLOE", channel="C0DATA")  # a marker: counted after
    await eventually(lambda: _expect(bot, {"U0LUCAS": (1, 0, 0), "U0CHLOE": (1, 0, 0)}))


async def test_other_events_still_reach_bolt(bot: Bot) -> None:
    response = await bot.slack.open_home(user="U0LUCAS")
    assert response.status_code == 200
    await bot.emulator.wait_for("views.publish", lambda c: c.params.get("user_id") == "U0LUCAS")


async def test_a_modal_still_gets_its_field_errors_in_the_ack(bot: Bot) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0DATA", leaders=("U0LUCAS",)
    )
    view = await open_modal(bot, "evenement", user="U0LUCAS")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    response = await bot.slack.submit_view(
        view["id"], user="U0LUCAS", values=values(event_title="   ", event_date=yesterday)
    )
    body = response.json()
    assert body["response_action"] == "errors"
    assert "event_title" in body["errors"]


async def test_an_unsigned_request_is_refused_before_anything(bot: Bot) -> None:
    url = bot.emulator.response_url("forged")
    form = f"command=%2Fcop&text=help&user_id=U0LUCAS&team_id=T0&response_url={url}"
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            bot.slack.bot_url,
            content=form.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **bot.slack.sign(b"something else"),
            },
        )
    assert forged.status_code == 401
    assert json.loads(forged.content) == {"error": "invalid request"}
    await bot.slack.command("help", user="U0LUCAS", channel="C0GEN")  # a marker, answered
    await eventually(lambda: answered(bot, bot.slack.last_response_url))
    assert answered(bot, url) == []
