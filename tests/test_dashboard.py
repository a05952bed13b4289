"""The dashboard over HTTP: signed links only (no link, a forged or an expired one: 403 and no
figure), the link `/cop health` hands out, and the pages' figures. The headless-browser test is
tests/test_dashboard_browser.py."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from bot.config import ConfigError, load_settings
from bot.dashboard import links
from bot.models import utcnow
from tests.conftest import MANAGER, Bot
from tests.dashboard_programme import NAMES, ask, dashboard_link, health_figures, seed
from tests.factories import WORKSPACE


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403
    assert "Accès refusé" in response.text
    for name in NAMES:
        assert name not in response.text
    assert "<table" not in response.text and "data-figure" not in response.text


async def test_no_link_a_forged_one_or_an_expired_one_shows_nothing(bot: Bot) -> None:
    await seed(bot)
    key = bot.deps.config.settings.dashboard_key
    assert key is not None
    now = utcnow()
    good = links.token_for(links.Scope(WORKSPACE), MANAGER, now, key=key)
    async with httpx.AsyncClient(base_url=bot.url) as http:
        assert (await http.get(f"/dashboard?t={good}")).status_code == 200
        assert_refused(await http.get("/dashboard"))
        assert_refused(await http.get("/dashboard?t="))
        # signed with another key, or a valid token with one character changed
        forged = links.token_for(links.Scope(WORKSPACE), MANAGER, now, key=b"x" * 32)
        assert_refused(await http.get(f"/dashboard?t={forged}"))
        tampered = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
        assert_refused(await http.get(f"/dashboard?t={tampered}"))
        expired = links.token_for(
            links.Scope(WORKSPACE), MANAGER, now - timedelta(hours=25), key=key
        )
        assert_refused(await http.get(f"/dashboard?t={expired}"))
        assert_refused(await http.get(f"/dashboard/c/1?t={expired}"))
        assert_refused(await http.get("/dashboard/c/1"))


async def test_a_community_link_opens_that_community_only(bot: Bot) -> None:
    await seed(bot)
    reply = await ask(bot, "santé data-science", user="U0LUCAS", channel="C0DATA")
    link = dashboard_link(bot, reply)
    async with httpx.AsyncClient() as http:
        page = await http.get(link)
        assert page.status_code == 200
        assert "Tableau de bord de la communauté « Data Science »" in page.text
        assert "Agilité" not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        token = link.split("?", 1)[1]
        # the same link does not open another community, nor the programme's table
        other = await http.get(f"{bot.url}/dashboard/c/2?{token}")
        assert_refused(other)


async def test_a_manager_gets_a_link_to_the_whole_programme(bot: Bot) -> None:
    await seed(bot)
    reply = await ask(bot, "santé", user=MANAGER)
    assert "Tableau de bord en ligne" in str(reply["blocks"])
    async with httpx.AsyncClient() as http:
        page = await http.get(dashboard_link(bot, reply))
    assert page.status_code == 200
    assert "Tableau de bord du programme « Programme test »" in page.text
    for name in NAMES:
        assert f">{name}</a>" in page.text
    assert page.text.count('<svg class="spark"') == len(NAMES)
    assert "Hugo Thomas" in page.text  # Data Science's sponsor
    assert "data:image/png;base64," in page.text  # the trend chart


async def test_the_community_page_shows_what_cop_health_answers(bot: Bot) -> None:
    await seed(bot)
    reply = await ask(bot, "health data-science", user="U0LUCAS", channel="C0DATA")
    figures = health_figures(reply)
    assert figures["members"] == "5" and figures["active"] == "3"
    async with httpx.AsyncClient() as http:
        page = await http.get(dashboard_link(bot, reply))
    for name, value in figures.items():
        assert f'data-figure="{name}">{value}<' in page.text, name


async def test_a_member_who_may_not_see_health_gets_no_link(bot: Bot) -> None:
    await seed(bot)
    reply = await ask(bot, "health data-science", user="U0EMILY", channel="C0GEN")
    assert "core team and sponsor" in reply["text"]
    assert "/dashboard" not in str(reply)


def test_a_link_lasts_its_lifetime_and_no_longer() -> None:
    settings = load_settings(
        {"SLACK_SIGNING_SECRET": "s", "COP_PUBLIC_URL": "https://cop.example/"}
    )
    now = utcnow()
    link = links.link_for(links.Scope(WORKSPACE, 7), "U0LUCAS", now, settings=settings)
    assert link is not None and link.startswith("https://cop.example/dashboard?t=")
    token = link.split("t=", 1)[1]
    grant = links.read(
        token, now + links.LIFETIME - timedelta(seconds=1), key=settings.dashboard_key
    )
    assert grant.scope == links.Scope(WORKSPACE, 7) and grant.user == "U0LUCAS"
    assert grant.may_see(7) and not grant.may_see(8)
    with pytest.raises(links.Refused):
        links.read(token, now + links.LIFETIME, key=settings.dashboard_key)
    # a process with no secret at all signs nothing, and no one gets a link
    assert (
        links.link_for(links.Scope(WORKSPACE), "U0LUCAS", now, settings=load_settings({})) is None
    )


def test_a_short_dashboard_key_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="COP_DASHBOARD_KEY"):
        load_settings({"COP_DASHBOARD_KEY": "short"})


async def test_a_leader_who_loses_the_role_loses_the_link_with_it(bot: Bot) -> None:
    await seed(bot)
    reply = await ask(bot, "santé data-science", user="U0LUCAS", channel="C0DATA")
    link = dashboard_link(bot, reply)
    async with httpx.AsyncClient() as http:
        assert (await http.get(link)).status_code == 200
        # the programme manager makes Lucas a plain member: his link of a minute ago stops working
        changed = await ask(bot, "rôle <@U0LUCAS> membre", user=MANAGER, channel="C0DATA")
        assert "membre" in changed["text"]
        assert_refused(await http.get(link))
