"""Microsoft Teams, the foundation (issue 17): the real bot served by uvicorn authenticates the
Bot Connector's tokens as Microsoft documents and answers `@cop aide` with an Adaptive Card,
through the Teams emulator (bot/teams/emulator) over real HTTP — which checks the bot's token
and every card against Microsoft's Adaptive Card schema 1.5."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import ConfigError, load_settings
from bot.teams.emulator import CHANNEL, PERSONAL, TeamsEmulator, card_errors
from tests.conftest import TeamsBot, eventually
from tests.teams_data import connector_headers, token_form


def texts(card: dict[str, Any]) -> str:
    parts = [b.get("text", "") for b in card["body"]]
    parts += [f"{f['title']} {f['value']}" for b in card["body"] for f in b.get("facts", [])]
    return "\n".join(parts)


async def test_help_card_in_french_and_english_passes_the_schema(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    assert await teams_bot.send(teams.message("aide", locale="fr-FR")) == 200
    cards = await eventually(lambda: teams.cards(PERSONAL))
    assert "Ce que vous pouvez faire avec @cop" in texts(cards[0])
    assert "@cop charte" in texts(cards[0])
    assert card_errors(cards[0]) == []
    # a word the bot does not know says so, with what it knows, rather than nothing
    assert await teams_bot.send(teams.message("bonjour")) == 200
    answers = await eventually(lambda: teams.activities[PERSONAL][1:])
    assert (
        answers[0]["text"] == "Je ne connais pas cette commande. Voici celles que je connais\u00a0:"
    )
    assert "@cop histoire" in texts(answers[0]["attachments"][0]["content"])

    assert await teams_bot.send(teams.message("help", conversation=CHANNEL, locale="en-US")) == 200
    cards = await eventually(lambda: teams.cards(CHANNEL))
    assert "What you can do with @cop" in texts(cards[0])
    assert "@cop health" in texts(cards[0])
    # the reply went through the Bot Connector API, threaded under the message, with our token
    posts = [c for c in teams.calls if c.path.startswith("/v3/conversations/")]
    assert [c.status for c in posts] == [201, 201, 201]
    # one client-credentials token for all three replies
    assert teams.tokens_issued == 1
    # a channel message that does not @mention the bot is none of its business
    assert await teams_bot.send(teams.message("aide", conversation=CHANNEL, mention=False)) == 200
    # a member joining is acknowledged (Teams redelivers what is not), and answers nothing yet
    assert await teams_bot.send(teams.conversation_update()) == 200
    # (the next answer comes after whatever those two would have caused: nothing)
    assert await teams_bot.send(teams.message("help", conversation=CHANNEL, locale="en")) == 200
    await eventually(lambda: len(teams.cards(CHANNEL)) == 2)
    assert len(teams.activities[CHANNEL]) == 2


async def test_refused_tokens_get_401_and_nothing_is_sent(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    message = teams.message("aide")
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = {
        "forged signature": {"token": teams.channel_token(signing_key=forger)},
        "expired": {"token": teams.channel_token(lifetime=-400)},
        "wrong audience": {"token": teams.channel_token(aud="another-bot")},
        "wrong issuer": {"token": teams.channel_token(iss="https://evil.example")},
        "missing header": {"authorization": ""},
        "not a bearer": {"authorization": "Basic dXNlcjpwYXNz"},
        "unsigned": {"token": unsigned_token(teams.app_id)},
        "serviceUrl mismatch": {"token": teams.channel_token(service_url="https://evil.example/")},
    }
    for name, auth in refused.items():
        assert await teams_bot.send(message, **auth) == 401, name
    # a valid token for another activity's serviceUrl does not carry over either
    moved = {**message, "serviceUrl": "https://evil.example/"}
    assert await teams_bot.send(moved) == 401
    assert teams.activities == {}
    assert teams.tokens_issued == 0


async def test_a_key_not_endorsing_msteams_is_refused(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    teams.keys[0].endorsements = ["webchat"]
    assert await teams_bot.send(teams.message("aide")) == 401
    assert teams.activities == {}


async def test_unknown_kid_triggers_one_refresh(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    assert await teams_bot.send(teams.message("aide")) == 200
    assert teams.jwks_served == 1
    new = teams.rotate_key()  # Microsoft rolls its keys
    assert await teams_bot.send(teams.message("aide"), token=teams.channel_token(key=new)) == 200
    assert teams.jwks_served == 2
    # a kid nobody published: refused, and no second refresh within the interval
    stranger = dataclasses.replace(new, kid="forged-kid")
    assert (
        await teams_bot.send(teams.message("aide"), token=teams.channel_token(key=stranger)) == 401
    )
    assert teams.jwks_served == 2
    await eventually(lambda: len(teams.cards(PERSONAL)) == 2)


@pytest.mark.bad_cards
async def test_the_emulator_refuses_an_invalid_card(teams: TeamsEmulator) -> None:
    async with httpx.AsyncClient() as http:
        form = token_form(teams)
        wrong = await http.post(teams.token_url, data={**form, "client_secret": "guess"})
        assert wrong.status_code == 401
        token = (await http.post(teams.token_url, data=form)).json()["access_token"]
        url = f"{teams.url}/v3/conversations/{PERSONAL}/activities"
        card = {
            "type": "AdaptiveCard",
            "version": "1.5",
            "body": [{"type": "TextBlock", "text": "x", "size": "enormous"}],
        }
        activity = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
        headers = {"Authorization": f"Bearer {token}"}
        refused = await http.post(url, json=activity, headers=headers)
        assert refused.status_code == 400
        assert "attachments/0" in refused.json()["error"]["message"]
        newer = {**card, "version": "1.6", "body": [{"type": "TextBlock", "text": "x"}]}
        activity["attachments"][0]["content"] = newer
        assert (await http.post(url, json=activity, headers=headers)).status_code == 400
        activity["attachments"][0]["content"] = {**newer, "version": "1.5"}
        assert (await http.post(url, json=activity, headers=headers)).status_code == 201
        # without the bot's token the connector refuses, as Microsoft's does
        assert (await http.post(url, json=activity)).status_code == 401
        # the roster, paged
        first = (
            await http.get(
                f"{teams.url}/v3/conversations/{CHANNEL}/pagedmembers",
                params={"pageSize": 3},
                headers=headers,
            )
        ).json()
        rest = (
            await http.get(
                f"{teams.url}/v3/conversations/{CHANNEL}/pagedmembers",
                params={"pageSize": 3, "continuationToken": first["continuationToken"]},
                headers=headers,
            )
        ).json()
        assert len(first["members"]) + len(rest["members"]) == 5
        assert "continuationToken" not in rest


def test_teams_settings_go_together() -> None:
    with pytest.raises(ConfigError, match="TEAMS_APP_PASSWORD: missing"):
        load_settings({"TEAMS_APP_ID": "x"})
    with pytest.raises(ConfigError, match="TEAMS_TOKEN_URL: expected an http"):
        load_settings(
            {"TEAMS_APP_ID": "x", "TEAMS_APP_PASSWORD": "y", "TEAMS_TOKEN_URL": "ftp://x"}
        )
    assert not load_settings({}).teams


def unsigned_token(app_id: str) -> str:
    import base64
    import json
    import time

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": app_id, "exp": now + 600}
    return f"{part({'alg': 'none', 'kid': 'emu-key-1'})}.{part(claims)}."


async def test_the_emulator_enforces_size_and_rate_limits(teams: TeamsEmulator) -> None:
    async with httpx.AsyncClient() as http:
        headers = await connector_headers(http, teams)
        url = f"{teams.url}/v3/conversations/{CHANNEL}/activities"
        huge = {"type": "message", "text": "x" * 60_000}  # 120 KB in UTF-16
        refused = await http.post(url, json=huge, headers=headers)
        assert refused.status_code == 413
        assert refused.json()["error"]["code"] == "MessageSizeTooBig"
        # 60 messages per 30 s in one conversation at most (and 7 per second): the 61st waits
        statuses = [
            (await http.post(url, json={"type": "message", "text": "hi"}, headers=headers))
            for _ in range(61)
        ]
        throttled = [r for r in statuses if r.status_code == 429]
        assert throttled
        assert float(throttled[0].headers["Retry-After"]) > 0


async def test_replies_wait_as_teams_asks_and_give_up_on_refusals(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    teams.faults = [(429, 0.01), (503, 0.01)]  # throttled, then a hiccup: Retry-After honoured
    assert await teams_bot.send(teams.message("aide")) == 200
    await eventually(lambda: teams.cards(PERSONAL))

    def posts() -> list[int]:
        return [c.status for c in teams.calls if c.path.startswith("/v3/conversations/")]

    assert posts() == [429, 503, 201]
    teams.faults = [(403, None)]  # the person blocked the bot: not tried again
    assert await teams_bot.send(teams.message("aide")) == 200
    await eventually(lambda: len(posts()) == 4)
    assert posts()[-1] == 403
    assert len(teams.cards(PERSONAL)) == 1


async def test_the_emulator_updates_cards_and_opens_one_to_one_chats(teams: TeamsEmulator) -> None:
    async with httpx.AsyncClient(base_url=teams.url) as http:
        headers = await connector_headers(http, teams)

        def card(text: str) -> dict[str, Any]:
            content = {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [{"type": "TextBlock", "text": text}],
            }
            return {
                "type": "message",
                "attachments": [
                    {"contentType": "application/vnd.microsoft.card.adaptive", "content": content}
                ],
            }

        # proactive 1:1 with a member who never wrote (by aadObjectId, as Microsoft's sample)
        member = teams.members[2]
        opened = await http.post(
            "/v3/conversations",
            headers=headers,
            json={
                "bot": {"id": f"28:{teams.app_id}"},
                "members": [{"id": member.aad_object_id}],
                "tenantId": teams.tenant_id,
                "isGroup": False,
            },
        )
        assert opened.status_code == 201
        chat = opened.json()["id"]
        sent = await http.post(
            f"/v3/conversations/{chat}/activities", headers=headers, json=card("3 inscrits")
        )
        activity_id = sent.json()["id"]
        # the RSVP count updated in place
        updated = await http.put(
            f"/v3/conversations/{chat}/activities/{activity_id}",
            headers=headers,
            json=card("4 inscrits"),
        )
        assert updated.status_code == 200
        assert [c["body"][0]["text"] for c in teams.cards(chat)] == ["4 inscrits"]
        missing = await http.put(
            f"/v3/conversations/{chat}/activities/nope", headers=headers, json=card("x")
        )
        assert missing.status_code == 404
