"""Tests for the Slack Web API emulator and the Slack-side driver.

Everything goes over real HTTP through slack_sdk's ``AsyncWebClient`` so the
emulator is checked against the same client code the bot uses in production.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import httpx
import pytest
from aiohttp import web
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.slack.driver import SlackDriver
from bot.slack.emulator import SlackEmulator, Workspace, default_workspace, large_workspace

SECRET = "test-signing-secret"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=emu.workspace.bot_token, base_url=emu.api_url)


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


async def test_auth_and_users(emu: SlackEmulator, client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert (auth["user_id"], auth["team_id"]) == ("UBOT", "T0COP")
    info = await client.users_info(user="U0EMILY", include_locale=True)
    assert info["user"]["locale"] == "en-US"
    assert info["user"]["tz"] == "America/New_York"
    assert info["user"]["profile"]["real_name"] == "Emily Smith"
    assert "locale" not in (await client.users_info(user="U0LEA"))["user"]
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"
    bad = AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url)
    with pytest.raises(SlackApiError) as err:
        await bad.auth_test()
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("admin.users.invite")
    assert err.value.response["error"] == "unknown_method"
    assert [c.method for c in emu.calls][-2:] == ["auth.test", "admin.users.invite"]


async def test_post_message_and_history_with_metadata(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "cop_event", "event_payload": {"id": 42}}
    first = await client.chat_postMessage(channel="C0DATA", text="Bonjour", metadata=metadata)
    second = await client.chat_postMessage(
        channel="C0DATA", text="Agenda", blocks=[_section("*Agenda*")]
    )
    assert float(second["ts"]) > float(first["ts"])
    reply = await client.chat_postMessage(channel="C0DATA", text="thread", thread_ts=first["ts"])
    assert reply["message"]["thread_ts"] == first["ts"]

    history = await client.conversations_history(channel="C0DATA", include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [second["ts"], first["ts"]]
    assert history["messages"][1]["metadata"] == metadata
    assert history["messages"][1]["reply_count"] == 1
    plain = await client.conversations_history(channel="C0DATA")
    assert "metadata" not in plain["messages"][1]
    replies = await client.conversations_replies(channel="C0DATA", ts=first["ts"])
    assert [m["text"] for m in replies["messages"]] == ["Bonjour", "thread"]

    await client.chat_update(channel="C0DATA", ts=first["ts"], text="Bonsoir")
    assert emu.messages["C0DATA"][0]["text"] == "Bonsoir"
    assert "edited" in emu.messages["C0DATA"][0]
    link = await client.chat_getPermalink(channel="C0DATA", message_ts=first["ts"])
    assert link["permalink"].endswith(first["ts"].replace(".", ""))
    await client.reactions_add(channel="C0DATA", timestamp=first["ts"], name="tada")
    await client.chat_delete(channel="C0DATA", ts=second["ts"])
    assert emu.find_message("C0DATA", second["ts"]) is None

    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        await client.chat_postMessage(channel="C0DATA")
    assert err.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0DATA", text="x" * 40_001)
    assert err.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C0DATA", ts="1.000001", text="?")
    assert err.value.response["error"] == "message_not_found"

    await client.chat_postEphemeral(channel="C0DATA", user="U0LUCAS", text="psst")
    assert emu.ephemerals[-1]["user"] == "U0LUCAS"
    with pytest.raises(SlackApiError) as err:
        await client.chat_postEphemeral(channel="C0DATA", user="U0LEA", text="psst")
    assert err.value.response["error"] == "user_not_in_channel"


async def test_members_and_users_pagination() -> None:
    emulator = SlackEmulator(large_workspace(249, 3, seed=7))
    await emulator.start()
    try:
        client = AsyncWebClient(token="xoxb-emulator", base_url=emulator.api_url)
        pages: list[list[str]] = []
        cursor = None
        while True:
            page = await client.conversations_members(channel="CL000000", limit=100, cursor=cursor)
            pages.append(page["members"])
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                break
        assert [len(p) for p in pages] == [100, 100, 50]
        assert len({m for p in pages for m in p}) == 250
        users = [u async for page in await client.users_list(limit=100) for u in page["members"]]
        assert len(users) == 250
        listed = await client.conversations_list(types="public_channel,private_channel")
        assert len(listed["channels"]) == 3
    finally:
        await emulator.stop()


def test_large_workspace_is_deterministic() -> None:
    """(Its speed is a benchmark's business, not a timed assertion's: tests/perf.)"""
    ws = large_workspace(30_000, 20)
    assert len(ws.users) == 30_001
    assert ws.bot_user_id in ws.users
    again = large_workspace(30_000, 20)
    assert list(ws.channels["CL000005"].members) == list(again.channels["CL000005"].members)
    assert all(ws.bot_user_id in c.members for c in ws.channels.values())


def test_default_workspace_shape() -> None:
    ws = default_workspace()
    assert {"C0DATA", "C0AGILE", "C0SEC", "C0GEN", "C0OLD"} <= ws.channels.keys()
    assert ws.channels["C0OLD"].is_archived
    assert all(ws.bot_user_id in c.members for c in ws.channels.values())
    humans = [u for u in ws.users.values() if not u.is_bot]
    assert sum(u.locale == "fr-FR" for u in humans) > len(humans) / 2
    assert sum(u.deleted for u in humans) == 1


async def test_conversations_open_and_dm(emu: SlackEmulator, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U0CHLOE")
    assert opened["channel"]["id"] == emu.dm_channel_for("U0CHLOE")
    posted = await client.chat_postMessage(channel="U0CHLOE", text="Salut")
    assert posted["channel"] == emu.dm_channel_for("U0CHLOE")
    assert emu.messages[emu.dm_channel_for("U0CHLOE")][0]["text"] == "Salut"
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="U0GHOST", text="?")
    assert err.value.response["error"] == "channel_not_found"


@pytest.mark.parametrize(
    ("user", "error"),
    [
        pytest.param("U0PIERRE", "user_disabled", id="deactivated"),
        pytest.param("U0JIRA", "cannot_dm_bot", id="another-bot"),
        pytest.param("UBOT", "cannot_dm_bot", id="ourselves"),
        pytest.param("U0GHOST", "user_not_found", id="unknown"),
    ],
)
async def test_who_cannot_be_sent_a_dm(client: AsyncWebClient, user: str, error: str) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.conversations_open(users=user)
    assert err.value.response["error"] == error


async def test_channel_errors(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0OLD", text="hello?")
    assert err.value.response["error"] == "is_archived"
    emu.workspace.channels["C0SEC"].members.remove("UBOT")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0SEC", text="hello?")
    assert err.value.response["error"] == "not_in_channel"
    await client.conversations_join(channel="C0SEC")
    assert (await client.chat_postMessage(channel="C0SEC", text="hello!"))["ok"]
    with pytest.raises(SlackApiError) as err:
        await client.conversations_info(channel="C0NOPE")
    assert err.value.response["error"] == "channel_not_found"
    info = await client.conversations_info(channel="C0GEN")
    assert info["channel"]["name"] == "general"


async def test_rate_limit_429_and_sdk_recovers(emu: SlackEmulator) -> None:
    emu.set_rate_limit("chat.postMessage", per_minute=120, burst=1)
    token, url = emu.workspace.bot_token, emu.api_url
    async with aiohttp.ClientSession() as http:
        first = await http.post(
            f"{url}chat.postMessage",
            json={"channel": "C0GEN", "text": "1"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert first.status == 200
        second = await http.post(
            f"{url}chat.postMessage",
            json={"channel": "C0GEN", "text": "2"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert second.status == 429
        assert second.headers["Retry-After"] == "1"
        assert (await second.json())["error"] == "ratelimited"
    retrying = AsyncWebClient(
        token=token,
        base_url=url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    started = time.monotonic()
    response = await retrying.chat_postMessage(channel="C0GEN", text="3")
    assert response["ok"]
    assert time.monotonic() - started < 3
    assert [c.status for c in emu.calls_to("chat.postMessage")][:2] == [200, 429]
    assert emu.calls_to("chat.postMessage")[-1].status == 200


async def test_form_encoded_params_and_token_param(emu: SlackEmulator) -> None:
    form = {
        "token": emu.workspace.bot_token,
        "channel": "C0GEN",
        "text": "form",
        "blocks": json.dumps([_section("from a form")]),
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(emu.api_url + "chat.postMessage", data=form) as resp,
    ):
        assert (await resp.json())["ok"]
    [call] = emu.calls_to("chat.postMessage")
    assert call.params["blocks"][0]["text"]["text"] == "from a form"
    assert "token" not in call.params
    assert emu.messages["C0GEN"][-1]["blocks"] == call.params["blocks"]


async def test_injected_failures(emu: SlackEmulator) -> None:
    emu.inject_failure("chat.postMessage", status=500)
    client = AsyncWebClient(
        token=emu.workspace.bot_token,
        base_url=emu.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)],
    )
    assert (await client.chat_postMessage(channel="C0GEN", text="after 500"))["ok"]
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [500, 200]

    emu.inject_failure("users.info", error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.users_info(user="U0LEA")
        assert err.value.response["error"] == "fatal_error"
    assert (await client.users_info(user="U0LEA"))["ok"]

    emu.set_latency("team.info", 0.2)
    started = time.monotonic()
    assert (await client.team_info())["team"]["id"] == "T0COP"
    assert time.monotonic() - started >= 0.2


async def test_block_validation(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0GEN", text="x", blocks=[_section("x")] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    assert "no more than 50 items" in err.value.response["response_metadata"]["messages"][0]
    assert emu.calls_to("chat.postMessage")[-1].params["blocks"][0]["type"] == "section"

    button = {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 80}}
        ],
    }
    dup = [_section("a", "same"), _section("b", "same")]
    for blocks in ([button], dup, [_section("y" * 3001)], [{"type": "bogus"}]):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C0GEN", text="x", blocks=blocks)
        assert err.value.response["error"] == "invalid_blocks", blocks

    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 30},
        "blocks": [_section("hello")],
    }
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="tr-1", view=modal)
    assert err.value.response["error"] == "invalid_arguments"
    assert any("title" in m for m in err.value.response["response_metadata"]["messages"])

    lenient = SlackEmulator(validate_blocks=False)
    await lenient.start()
    try:
        loose = AsyncWebClient(token="xoxb-emulator", base_url=lenient.api_url)
        assert (
            await loose.chat_postMessage(channel="C0GEN", text="x", blocks=[_section("x")] * 51)
        )["ok"]
    finally:
        await lenient.stop()


async def test_views_open_update_publish(emu: SlackEmulator, client: AsyncWebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "charter",
        "title": {"type": "plain_text", "text": "Charte"},
        "submit": {"type": "plain_text", "text": "OK"},
        "blocks": [_section("Étape 1")],
    }
    opened = (await client.views_open(trigger_id="tr-1", view=modal))["view"]
    assert opened["id"].startswith("V")
    assert opened["hash"]
    assert opened["state"] == {"values": {}}
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=opened["id"], hash="stale", view=modal)
    assert err.value.response["error"] == "hash_conflict"
    updated = await client.views_update(
        view_id=opened["id"], hash=opened["hash"], view={**modal, "blocks": [_section("Étape 2")]}
    )
    assert emu.views[opened["id"]]["blocks"][0]["text"]["text"] == "Étape 2"
    assert updated["view"]["hash"] != opened["hash"]
    pushed = await client.views_push(trigger_id="tr-2", view=modal)
    assert pushed["view"]["id"] != opened["id"]
    home = {"type": "home", "blocks": [_section("Accueil")]}
    published = await client.views_publish(user_id="U0LEA", view=home)
    assert emu.home_views["U0LEA"]["id"] == published["view"]["id"]
    again = await client.views_publish(user_id="U0LEA", view=home)
    assert again["view"]["id"] == published["view"]["id"]
    with pytest.raises(SlackApiError):
        await client.views_open(trigger_id="", view=modal)


async def test_files_upload_v2(emu: SlackEmulator, client: AsyncWebClient) -> None:
    result = await client.files_upload_v2(
        channel="C0AGILE",
        content=b"\x89PNG fake",
        filename="x.png",
        title="Radar",
        initial_comment="Le radar",
    )
    assert result["file"]["title"] == "Radar"
    [upload] = emu.uploads
    assert upload["filename"] == "x.png"
    assert upload["length"] == len(b"\x89PNG fake")
    assert (upload["channel_id"], upload["initial_comment"]) == ("C0AGILE", "Le radar")
    assert emu.messages["C0AGILE"][-1]["files"][0]["id"] == upload["file_id"]


async def test_response_url_and_wait_for(emu: SlackEmulator) -> None:
    url = emu.response_url("abc")
    async with aiohttp.ClientSession() as http, http.post(url, json={"text": "done"}) as resp:
        assert (await resp.json()) == {"ok": True}
    [call] = await emu.wait_for("response_url", lambda c: c.params["key"] == "abc")
    assert emu.responses == [{"key": "abc", "text": "done"}]
    assert call.status == 200
    with pytest.raises(AssertionError, match="methods seen: \\['response_url'\\]"):
        await emu.wait_for("chat.postMessage", timeout=0.05)


# --------------------------------------------------------------------------- driver


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny stand-in for the bot's /slack/events endpoint that records requests."""
    seen: list[tuple[dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.json_response({"response_action": "errors", "errors": {"b": "nope"}})

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/slack/events", seen
    await runner.cleanup()


def _payload(body: bytes) -> dict[str, Any]:
    return json.loads(parse_qs(body.decode())["payload"][0])


async def test_driver_signs_commands_and_events(
    emu: SlackEmulator, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, seen = receiver
    driver = SlackDriver(emu, bot_url=url, signing_secret=SECRET)
    verifier = SignatureVerifier(SECRET)
    try:
        await driver.command("charter new", user="U0CAMILLE", channel="C0DATA")
        headers, body = seen[-1]
        assert verifier.is_valid(
            body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        assert (form["command"], form["text"], form["user_name"]) == (
            "/cop",
            "charter new",
            "camille.martin",
        )
        assert form["channel_name"] == "data-science"
        assert form["response_url"].startswith(emu.url + "/response/")
        assert form["trigger_id"].startswith("tr-")

        await driver.message(
            user="U0LEA",
            channel="C0AGILE",
            text="Bonjour",
        )
        headers, body = seen[-1]
        assert verifier.is_valid(
            body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )
        envelope = json.loads(body)
        assert envelope["event"]["text"] == "Bonjour"
        assert envelope["event_id"] == driver.last_event_id
        assert emu.messages["C0AGILE"][-1]["user"] == "U0LEA"

        await driver.event({"type": "app_mention", "text": "hi"}, event_id="Ev1", retry_num=1)
        headers, _ = seen[-1]
        assert headers["X-Slack-Retry-Num"] == "1"
        await driver.join(user="U0LEA", channel="C0DATA")
        assert "U0LEA" in emu.workspace.channels["C0DATA"].members
        await driver.leave(user="U0LEA", channel="C0DATA")
        assert "U0LEA" not in emu.workspace.channels["C0DATA"].members
        assert not verifier.is_valid(body, str(int(time.time())), "v0=forged")
    finally:
        await driver.aclose()


async def test_driver_click_and_submit(
    emu: SlackEmulator,
    client: AsyncWebClient,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, seen = receiver
    driver = SlackDriver(emu, bot_url=url, signing_secret=SECRET)
    try:
        blocks = [
            {
                "type": "actions",
                "block_id": "rsvp",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "rsvp_yes",
                        "value": "evt-1",
                        "text": {"type": "plain_text", "text": "Je viens"},
                    }
                ],
            }
        ]
        posted = await client.chat_postMessage(channel="C0DATA", text="RSVP", blocks=blocks)
        await driver.click(user="U0HUGO", action_id="rsvp_yes", message=("C0DATA", posted["ts"]))
        payload = _payload(seen[-1][1])
        assert payload["actions"][0]["value"] == "evt-1"
        assert payload["container"]["message_ts"] == posted["ts"]
        assert payload["user"]["username"] == "hugo.thomas"
        with pytest.raises(AssertionError, match="rsvp_yes"):
            await driver.click(user="U0HUGO", action_id="nope", message=("C0DATA", posted["ts"]))

        eph_button = {
            "type": "button",
            "action_id": "eph_ok",
            "value": "confirm",
            "text": {"type": "plain_text", "text": "OK"},
        }
        await client.chat_postEphemeral(
            channel="C0DATA",
            user="U0HUGO",
            text="Sûr ?",
            blocks=[{"type": "actions", "elements": [eph_button]}],
        )
        await driver.click(user="U0HUGO", action_id="eph_ok")
        payload = _payload(seen[-1][1])
        assert payload["container"]["is_ephemeral"]
        assert payload["actions"][0]["value"] == "confirm"
        assert payload["response_url"] == driver.last_response_url

        options = [{"text": {"type": "plain_text", "text": t}, "value": t} for t in ("low", "high")]
        modal = {
            "type": "modal",
            "callback_id": "event_form",
            "private_metadata": "C0DATA",
            "title": {"type": "plain_text", "text": "Événement"},
            "submit": {"type": "plain_text", "text": "Créer"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "title",
                    "label": {"type": "plain_text", "text": "T"},
                    "element": {"type": "plain_text_input", "action_id": "v"},
                },
                {
                    "type": "input",
                    "block_id": "prio",
                    "label": {"type": "plain_text", "text": "P"},
                    "element": {
                        "type": "static_select",
                        "action_id": "v",
                        "options": options,
                        "initial_option": options[0],
                    },
                },
                {
                    "type": "input",
                    "block_id": "day",
                    "label": {"type": "plain_text", "text": "D"},
                    "element": {"type": "datepicker", "action_id": "v"},
                },
                {
                    "type": "input",
                    "block_id": "who",
                    "label": {"type": "plain_text", "text": "W"},
                    "element": {"type": "multi_users_select", "action_id": "v"},
                },
            ],
        }
        view = (await client.views_open(trigger_id="tr-x", view=modal))["view"]
        response = await driver.submit_view(
            view["id"],
            user="U0LEA",
            values={"title": "Meetup", "day": "2025-03-04", "who": ["U0HUGO"]},
        )
        assert response.json()["response_action"] == "errors"
        state = _payload(seen[-1][1])["view"]["state"]["values"]
        assert state["title"]["v"] == {"type": "plain_text_input", "value": "Meetup"}
        assert state["prio"]["v"]["selected_option"]["value"] == "low"
        assert state["day"]["v"]["selected_date"] == "2025-03-04"
        assert state["who"]["v"]["selected_users"] == ["U0HUGO"]
        assert _payload(seen[-1][1])["view"]["private_metadata"] == "C0DATA"
        with pytest.raises(AssertionError, match="unknown keys"):
            await driver.submit_view(view["id"], user="U0LEA", values={"titel": "typo"})
        await driver.close_view(view["id"], user="U0LEA")
        assert _payload(seen[-1][1])["type"] == "view_closed"
    finally:
        await driver.aclose()


def test_workspace_is_replaceable() -> None:
    ws = Workspace("T1", "Solo", "UB", "xoxb-1", {}, {})
    assert SlackEmulator(ws).workspace.team_id == "T1"


async def test_driver_against_a_real_bolt_app(emu: SlackEmulator) -> None:
    """The payload shapes are accepted by slack_bolt itself (signature, ack bodies, respond)."""
    client = AsyncWebClient(token=emu.workspace.bot_token, base_url=emu.api_url)
    app = AsyncApp(signing_secret=SECRET, client=client)
    field = {"type": "plain_text_input", "action_id": "v"}
    modal = {
        "type": "modal",
        "callback_id": "form",
        "title": {"type": "plain_text", "text": "T"},
        "submit": {"type": "plain_text", "text": "OK"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "element": field,
                "label": {"type": "plain_text", "text": "Nom"},
            }
        ],
    }

    @app.command("/cop")
    async def command(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal)
        await respond("ouvert")

    @app.view("form")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        name = view["state"]["values"]["name"]["v"]["value"]
        if name == "bad":
            await ack(response_action="errors", errors={"name": "Nom invalide"})
            return
        await ack()
        button = {
            "type": "button",
            "action_id": "hi",
            "value": name,
            "text": {"type": "plain_text", "text": "Salut"},
        }
        await client.chat_postMessage(
            channel="C0GEN", text=name, blocks=[{"type": "actions", "elements": [button]}]
        )

    @app.action("hi")
    async def clicked(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await respond(f"bonjour {body['actions'][0]['value']}")

    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://bot")
    driver = SlackDriver(emu, bot_url="http://bot/slack/events", signing_secret=SECRET, http=http)
    forged = SlackDriver(emu, bot_url="http://bot/slack/events", signing_secret="x", http=http)
    try:
        assert (await driver.command("new", user="U0LEA", channel="C0GEN")).status_code == 200
        [opened] = await emu.wait_for("views.open")
        view_id = opened.response["view"]["id"]
        rejected = await driver.submit_view(view_id, user="U0LEA", values={"name": "bad"})
        assert rejected.json() == {"response_action": "errors", "errors": {"name": "Nom invalide"}}
        await driver.submit_view(view_id, user="U0LEA", values={"name": "Léa"})
        await emu.wait_for("chat.postMessage")
        await driver.click(user="U0LEA", action_id="hi")
        await emu.wait_for("response_url", count=2)
        assert [r["text"] for r in emu.responses] == ["ouvert", "bonjour Léa"]
        assert (await forged.command("x", user="U0LEA", channel="C0GEN")).status_code == 401
    finally:
        await http.aclose()
