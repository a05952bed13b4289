"""Many workspaces (issue 16, point 5): the bot installed through Slack's OAuth flow in two
workspaces — /slack/install → Slack's authorize page (the emulator plays "Allow") →
/slack/oauth_redirect — answers each with that workspace's own token, shows each only its own
communities, posts each one's rituals into it, and an uninstall silences that workspace only."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities
from bot.config import Config, ConfigError, Programme, load_settings
from bot.installation import InForce, note_enterprise, speaking_in
from bot.models import (
    Outbox,
    OutboxStatus,
    Ritual,
    RitualSetting,
    SlackInstallation,
    Workspace,
)
from bot.slack.client import NoWorkspaceInForce
from bot.slack.emulator import SlackEmulator, other_workspace
from bot.slack.oauth import SignedStates
from rituals import scheduler
from rituals.outbox import Drain, Owed, enqueue_many
from tests import factories
from tests.conftest import MANAGER, SIGNING_SECRET, Bot, eventually, running_bot

HOME = "T0COP"  # the emulator's default workspace
OTHER = "T0OTHER"
POST = "chat.postMessage"


def oauth_config(database_url: str, emulator: SlackEmulator) -> Config:
    settings = load_settings(
        {
            "SLACK_CLIENT_ID": emulator.client_id,
            "SLACK_CLIENT_SECRET": emulator.client_secret,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "COP_DATABASE_URL": database_url,
            "COP_QUIET_HOURS": "off",
        }
    )
    # the bot's port is chosen when it starts: the emulator is told where to send the
    # installer back (emulator.redirect_url) rather than the app naming it
    settings = dataclasses.replace(settings, redirect_uri=None)
    programme = Programme.model_validate(
        {"name": "Programme test", "language": "fr", "managers": [MANAGER]}
    )
    return Config(settings=settings, programme=programme)


@pytest.fixture
async def bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    emulator.add_workspace(other_workspace(OTHER))
    async with running_bot(oauth_config(database_url, emulator), emulator) as running:
        emulator.redirect_url = f"{running.url}/slack/oauth_redirect"
        yield running


async def install(bot: Bot, team: str, **slack: str) -> httpx.Response:
    """The installer's browser: the install link, Slack's page ("Allow"), back to the bot. The
    state cookie is carried by hand: Bolt marks it Secure, and the test server is plain HTTP."""
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{bot.url}/slack/install", params={"team": team})
        assert start.status_code == 302
        cookie = start.headers["set-cookie"].split(";")[0]
        authorize = httpx.URL(start.headers["location"])
        allowed = await browser.get(authorize.copy_merge_params(slack))
        assert allowed.status_code == 302
        return await browser.get(allowed.headers["location"], headers={"Cookie": cookie})


async def installations(bot: Bot) -> dict[str, str]:
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(SlackInstallation.workspace_id, SlackInstallation.bot_token)
        )
        return dict(rows.all())


async def ask(bot: Bot, text: str, *, user: str, channel: str) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return dict(replies[-1])


async def other_community(bot: Bot) -> int:
    with bot.emulator.acting_in(OTHER):
        row = await factories.community(
            bot.sessions,
            emulator=bot.emulator,
            channel="CXDATA",
            name="Other Data",
            workspace_id=OTHER,
            leaders=("UXADA",),
        )
    return row.id


async def owe(bot: Bot, workspace_id: str, channel: str, key: str) -> None:
    async with bot.sessions.begin() as session:
        await enqueue_many(
            session,
            workspace_id=workspace_id,
            community_id=None,
            messages=[Owed(key=key, kind="test", text=f"news {key}", channel_id=channel)],
        )


async def status_of(bot: Bot, key: str) -> str:
    async with bot.sessions() as session:
        return str(
            await session.scalar(sa.select(Outbox.status).where(Outbox.idempotency_key == key))
        )


def slack_calls_since(bot: Bot, since: int) -> list[Any]:
    return [c for c in bot.emulator.calls[since:] if c.method not in {"response_url"}]


async def test_two_workspaces_installed_each_answered_with_its_token_and_sees_only_its_own(
    bot: Bot,
) -> None:
    emulator = bot.emulator
    for team, name in ((HOME, "CoP Demo"), (OTHER, "Other Co")):
        page = await install(bot, team)
        assert page.status_code == 200
        assert f"installed in {name}" in page.text
    tokens = await installations(bot)
    assert tokens == {HOME: "xoxb-emulator", OTHER: "xoxb-emulator-t0other"}

    await factories.community(bot.sessions, emulator=emulator)  # Data Science, in HOME
    await other_community(bot)

    since = len(emulator.calls)
    home = json.dumps(await ask(bot, "communautés", user="U0LUCAS", channel="C0GEN"))
    assert "Data Science" in home and "Other Data" not in home
    calls = slack_calls_since(bot, since)
    assert calls and {c.team_id for c in calls} == {HOME}  # users.info etc.: HOME's token

    since = len(emulator.calls)
    with emulator.acting_in(OTHER):
        other = json.dumps(await ask(bot, "communities", user="UXADA", channel="CXGEN"))
    assert "Other Data" in other and "Data Science" not in other
    calls = slack_calls_since(bot, since)
    assert calls and {c.team_id for c in calls} == {OTHER}


async def test_rituals_and_the_outbox_of_each_workspace_speak_there_with_its_token(
    bot: Bot,
) -> None:
    emulator = bot.emulator
    await install(bot, HOME)
    await install(bot, OTHER)
    community_id = await other_community(bot)
    # OTHER's monthly pulse is due: the tick runs it there, the drain posts it there
    now = datetime.now(UTC)
    async with bot.sessions.begin() as session:
        community = await communities.get(session, workspace_id=OTHER, community_id=community_id)
        await scheduler.settings_of(
            session, community=community, programme=bot.deps.programme, now=now
        )
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.PULSE)
            .values(next_run_at=now - timedelta(minutes=1))
        )
    assert await scheduler.tick(bot.deps) == 1
    await owe(bot, HOME, "C0DATA", "home:news")
    await Drain(bot.deps, rate_per_minute=60000).run_until_empty(poll=0.01)

    posted = {(c.team_id, c.params["channel"]) for c in emulator.calls_to(POST)}
    other = emulator.workspaces[OTHER]
    to_other = {channel for team, channel in posted if team == OTHER}
    # the pulse asks OTHER's members (by DM) with OTHER's token; HOME's news goes to HOME
    assert to_other and to_other <= {*other.users, *other.channels}
    assert posted - {(OTHER, c) for c in to_other} == {(HOME, "C0DATA")}
    assert emulator.messages["C0DATA"]


async def test_a_slack_call_with_no_workspace_in_force_is_refused(bot: Bot) -> None:
    await install(bot, HOME)
    before = len(bot.emulator.calls)
    with pytest.raises(NoWorkspaceInForce):
        await bot.deps.web_client.auth_test()
    with speaking_in(HOME):
        assert (await bot.deps.web_client.auth_test())["team_id"] == HOME
    with speaking_in(OTHER):  # not installed there (yet): Slack's own answer, no other token
        assert await bot.deps.directory.token_workspace() is None
    assert [c.team_id for c in bot.emulator.calls[before:]] == [HOME]


async def test_an_uninstall_silences_that_workspace_only_and_installing_again_resumes_it(
    bot: Bot,
) -> None:
    emulator = bot.emulator
    await install(bot, HOME)
    await install(bot, OTHER)
    for event in emulator.uninstall(team_id=HOME):
        assert (await bot.slack.event(event)).status_code == 200

    async def home_revoked() -> bool:
        async with bot.sessions() as session:
            ws = await session.get(Workspace, HOME)
            return ws is not None and ws.token_revoked_at is not None

    await eventually(home_revoked)
    assert set(await installations(bot)) == {OTHER}

    await owe(bot, HOME, "C0DATA", "home:held")
    await owe(bot, OTHER, "CXDATA", "other:sent")
    drain = Drain(bot.deps, rate_per_minute=60000)
    await drain.run_once()
    assert await status_of(bot, "other:sent") == OutboxStatus.SENT
    assert await status_of(bot, "home:held") == OutboxStatus.PENDING
    assert {c.team_id for c in emulator.calls_to(POST)} == {OTHER}
    with emulator.acting_in(OTHER):  # OTHER still answers its people
        other = json.dumps(await ask(bot, "help", user="UXADA", channel="CXGEN"))
    assert "/cop" in other

    # HOME installs the app again: it speaks again, what waited is sent
    assert (await install(bot, HOME)).status_code == 200
    await drain.run_once()
    assert await status_of(bot, "home:held") == OutboxStatus.SENT
    assert {c.team_id for c in emulator.calls_to(POST)} == {OTHER, HOME}


@pytest.mark.parametrize(
    ("tamper", "status", "says"),
    [
        ("state", 401, "not valid, or has expired"),
        ("cookie", 400, "another browser"),
        ("deny", 200, "cancelled"),
    ],
)
async def test_a_bad_state_or_a_refusal_gets_a_clear_page_and_installs_nothing(
    bot: Bot, tamper: str, status: int, says: str
) -> None:
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{bot.url}/slack/install", params={"team": OTHER})
        cookie = start.headers["set-cookie"].split(";")[0]
        params = {"deny": "1"} if tamper == "deny" else {}
        allowed = await browser.get(httpx.URL(start.headers["location"]).copy_merge_params(params))
        back = httpx.URL(allowed.headers["location"])
        if tamper == "state":  # forged (or from an install link long expired)
            state = back.params["state"]
            forged = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
            back = back.copy_set_param("state", forged)
            cookie = f"{cookie.split('=')[0]}={forged}"
        if tamper == "cookie":
            cookie = "other=1"
        page = await browser.get(back, headers={"Cookie": cookie})
    assert page.status_code == status
    assert says in page.text and "/slack/install" in page.text
    assert "Traceback" not in page.text
    assert await installations(bot) == {}


async def test_an_install_link_expires() -> None:
    fresh, stale = SignedStates(b"k" * 32), SignedStates(b"k" * 32, expiration_seconds=-1)
    assert await fresh.async_consume(await fresh.async_issue())
    assert not await fresh.async_consume(await stale.async_issue())  # signed, but expired
    assert not await fresh.async_consume(await SignedStates(b"x" * 32).async_issue())
    assert not await fresh.async_consume("")


def test_oauth_settings_and_their_one_line_errors() -> None:
    base = {"SLACK_SIGNING_SECRET": "s", "COP_PUBLIC_URL": "https://cop.example.com"}
    settings = load_settings({**base, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "x"})
    assert settings.oauth
    assert settings.redirect_uri == "https://cop.example.com/slack/oauth_redirect"
    assert "chat:write" in settings.scopes
    settings.require("bot_token", "signing_secret")  # OAuth needs no SLACK_BOT_TOKEN
    assert not load_settings({**base, "SLACK_BOT_TOKEN": "xoxb-1"}).oauth
    for env, says in (
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET: missing"),
        ({"SLACK_CLIENT_SECRET": "x"}, "SLACK_CLIENT_ID: missing"),
        (
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "x", "SLACK_BOT_TOKEN": "xoxb-1"},
            "not both",
        ),
    ):
        with pytest.raises(ConfigError) as error:
            load_settings({**base, **env})
        assert says in str(error.value) and "\n" not in str(error.value)


async def test_with_one_token_there_is_no_install_page(database_url: str) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    try:
        from tests.conftest import make_config

        async with running_bot(make_config(database_url, emulator), emulator) as one:
            async with httpx.AsyncClient() as browser:
                assert (await browser.get(f"{one.url}/slack/install")).status_code == 404
            assert one.deps.installations is None
    finally:
        await emulator.stop()


async def test_an_org_wide_install_speaks_in_each_workspace_of_its_organisation(
    bot: Bot,
) -> None:
    """Enterprise Grid: one token for the organisation, found for a workspace of it once a
    request from there named its organisation; a standalone install keeps its own token."""
    store = bot.deps.installations
    await store.async_save(
        Installation(
            app_id="A0COPBOT",
            enterprise_id="E0GRID",
            enterprise_name="Grid Corp",
            team_id=None,
            bot_token="xoxb-org",
            bot_id="B0ORG",
            bot_user_id="U0ORGBOT",
            bot_scopes="commands,chat:write",
            user_id="U0ADMIN",
            is_enterprise_install=True,
        )
    )
    await install(bot, OTHER)
    in_org = InForce(workspace_id="T0GRIDA", enterprise_id="E0GRID", is_enterprise_install=True)
    assert await store.bot_token(in_org) == "xoxb-org"
    # background work knows only the workspace: unknown until a request tells its organisation
    assert await store.bot_token(InForce(workspace_id="T0GRIDB")) is None
    async with bot.sessions.begin() as session:
        await note_enterprise(session, workspace_id="T0GRIDB", enterprise_id="E0GRID")
    store.forget_tokens()
    assert await store.bot_token(InForce(workspace_id="T0GRIDB")) == "xoxb-org"
    assert await store.bot_token(InForce(workspace_id=OTHER)) == "xoxb-emulator-t0other"
    found = await store.async_find_bot(
        enterprise_id="E0GRID", team_id="T0GRIDA", is_enterprise_install=True
    )
    assert found is not None and found.bot_token == "xoxb-org"
    # the organisation uninstalls: its token goes, OTHER's stays
    assert await store.forget(workspace_id=None, enterprise_id="E0GRID", org_wide=True) == 1
    assert await store.bot_token(InForce(workspace_id="T0GRIDB")) is None
    assert set(await installations(bot)) == {OTHER}


async def test_the_emulator_answers_each_token_in_its_own_workspace(
    emulator: SlackEmulator,
) -> None:
    emulator.add_workspace(other_workspace(OTHER))
    home = AsyncWebClient(token="xoxb-emulator", base_url=emulator.api_url)
    other = AsyncWebClient(token="xoxb-emulator-t0other", base_url=emulator.api_url)
    assert (await other.auth_test())["team_id"] == OTHER
    assert (await other.users_info(user="UXADA"))["user"]["team_id"] == OTHER
    with pytest.raises(SlackApiError) as error:
        await other.users_info(user="U0LUCAS")  # HOME's member: not visible from OTHER
    assert error.value.response["error"] == "user_not_found"
    assert (await home.users_info(user="U0LUCAS"))["user"]["team_id"] == HOME
    emulator.uninstall(team_id=OTHER)
    with pytest.raises(SlackApiError):
        await other.auth_test()
    assert (await home.auth_test())["ok"]
    assert [c.team_id for c in emulator.calls] == [OTHER, OTHER, OTHER, HOME, OTHER, HOME]
    # the code an authorize page hands out is good once, and only with the app's secret
    emulator.oauth_codes["c1"] = OTHER
    app = AsyncWebClient(base_url=emulator.api_url)
    with pytest.raises(SlackApiError):
        await app.oauth_v2_access(client_id=emulator.client_id, client_secret="wrong", code="c1")
    emulator.oauth_codes["c1"] = OTHER
    answer = await app.oauth_v2_access(
        client_id=emulator.client_id, client_secret=emulator.client_secret, code="c1"
    )
    assert answer["access_token"] == "xoxb-emulator-t0other"
    assert answer["team"] == {"id": OTHER, "name": "Other Co"}
    assert answer["bot_user_id"] == "UXBOT" and answer["is_enterprise_install"] is False
    assert (await other.auth_test())["ok"]  # installed again: its token works
    with pytest.raises(SlackApiError):
        await app.oauth_v2_access(
            client_id=emulator.client_id, client_secret=emulator.client_secret, code="c1"
        )


async def test_a_token_found_dead_while_sending_is_tried_again_at_the_next_tick(bot: Bot) -> None:
    """No uninstall event (Slack answered `token_revoked` to a send): the installation stays,
    and the tick asks Slack with that workspace's own token whether it works again."""
    emulator = bot.emulator
    await install(bot, HOME)
    await install(bot, OTHER)
    with emulator.acting_in(OTHER):
        emulator.token_error = "token_revoked"
    await owe(bot, OTHER, "CXDATA", "other:news")
    drain = Drain(bot.deps, rate_per_minute=60000)
    await drain.run_once()
    assert await status_of(bot, "other:news") == OutboxStatus.PENDING
    async with bot.sessions() as session:
        ws = await session.get(Workspace, OTHER)
        assert ws is not None and ws.token_revoked_at is not None
    await scheduler.tick(bot.deps)  # still dead: stays silent
    async with bot.sessions() as session:
        assert (await session.get(Workspace, OTHER)).token_revoked_at is not None  # type: ignore[union-attr]
    emulator.reinstall(OTHER)
    await scheduler.tick(bot.deps)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    assert await status_of(bot, "other:news") == OutboxStatus.SENT
    assert {c.team_id for c in emulator.calls_to(POST)} == {OTHER}
