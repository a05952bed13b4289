"""Microsoft Teams, the files Slack attaches (issue 17): a bot has no file API in a Teams channel,
so the event's .ics and the health exports are `Action.OpenUrl` buttons to cop-bot's own signed,
expiring download address (bot/downloads.py, GET /files) — the real bot over HTTP, the Teams
emulator checking every card against schema 1.5, the files fetched as a browser would."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot import downloads
from bot.config import Config, load_settings
from bot.dashboard import links
from bot.models import Event, EventStatus, utcnow
from bot.permissions import Actor
from bot.slack.blocks import health as slack_blocks
from bot.slack.emulator import SlackEmulator
from bot.teams.emulator import CHANNEL, PERSONAL, TeamsEmulator, card_errors
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import MANAGER, TeamsBot, eventually, make_config, running_bot, teams_env
from tests.teams_data import teams_community

Json = dict[str, Any]


def config_for(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator, *, how: str | None
) -> Config:
    """The programme over the Slack workspace and the Teams tenant (linked, so both managers'
    exports cover the same communities), with Noa, the emulator's last member, a programme
    manager named by her Entra object id or her e-mail — or not at all (how None)."""
    noa = teams.members[-1]
    env = {
        "SLACK_BOT_TOKEN": emulator.workspace.bot_token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": emulator.api_url,
        "COP_DATABASE_URL": database_url,
        **teams_env(teams),
    }
    managers = [MANAGER]
    if how == "entra_id":
        env["COP_PROGRAMME_MANAGERS"] = noa.aad_object_id.upper()
    elif how == "email":
        managers.append(noa.email.title())
    config = make_config(
        database_url,
        emulator,
        managers=managers,
        workspaces=[factories.WORKSPACE, teams.tenant_id],
    )
    return dataclasses.replace(config, settings=load_settings(env))


@pytest.fixture(params=["entra_id", "email"])
async def files_bot(
    request: pytest.FixtureRequest,
    database_url: str,
    emulator: SlackEmulator,
    teams: TeamsEmulator,
) -> AsyncIterator[TeamsBot]:
    config = config_for(database_url, emulator, teams, how=request.param)
    async with running_bot(config, emulator) as bot:
        yield TeamsBot(bot, teams)


async def get(bot: TeamsBot, url: str) -> httpx.Response:
    """Open a link as a browser would: it names the process's public address; the test's bot
    listens on a port of its own, so the path and query go there."""
    settings = bot.bot.deps.config.settings
    assert url.startswith(f"{settings.public_url}{downloads.PATH}?t="), url
    parts = urlsplit(url)
    async with httpx.AsyncClient(base_url=bot.bot.url) as http:
        return await http.get(f"{parts.path}?{parts.query}")


def refused(response: httpx.Response, key: str) -> None:
    """A page, not a file, saying why, in French and in English."""
    assert response.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    page = response.text.replace("&#39;", "'")
    assert FR("files.refused_title") in page and FR(key) in page and EN(key) in page


def open_urls(items: list[Json]) -> list[Json]:
    found: list[Json] = []
    for item in items:
        if item.get("type") == "Action.OpenUrl":
            found.append(item)
        found += open_urls(item.get("actions", []))
    return found


# --- the event's calendar file -------------------------------------------------------------------


async def announce(teams_bot: TeamsBot, *, locale: str, title: str) -> Json:
    """A leader plans an event through the dialog: the announcement card in the channel."""
    teams = teams_bot.teams
    await factories.community(
        teams_bot.bot.sessions,
        workspace_id=teams.tenant_id,
        channel=CHANNEL,
        name="Data Science",
        language=locale[:2],
        tz="Europe/Paris",
        members=tuple(m.id for m in teams.members),
        leaders=(teams.members[0].id,),
    )
    day = (utcnow().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=10)).date()
    typed = {
        "cop": "event",
        "title": title,
        "kind": "workshop",
        "date": day.isoformat(),
        "time": "18:00",
        "duration": "90",
        "tz": "Europe/Paris",
        "link": "https://meet.example/mlops",
        "description": "On parle déploiement",
    }
    submit = teams.invoke("task/submit", {"data": typed}, conversation=CHANNEL, locale=locale)
    assert (await teams_bot.ask(submit))["task"]["type"] == "message"
    [card] = await eventually(lambda: teams.cards(CHANNEL))
    assert card_errors(card) == []
    return card


@pytest.mark.parametrize(("locale", "t"), [("fr-FR", FR), ("en-US", EN)])
async def test_the_announcement_adds_the_event_to_my_calendar(
    teams_bot: TeamsBot, locale: str, t: Any
) -> None:
    teams = teams_bot.teams
    card = await announce(teams_bot, locale=locale, title="Atelier *MLOps* en production")
    # its own row under the body: the three answers stay the card's only actions
    [row] = [b for b in card["body"] if b.get("id") == "calendar"]
    [button] = row["actions"]
    assert button["type"] == "Action.OpenUrl"
    assert button["title"] == f"🗓 {t('teams.files.add_to_calendar')}"
    assert [a["verb"] for a in card["actions"]] == [
        "event_rsvp_going",
        "event_rsvp_maybe",
        "event_rsvp_declined",
    ]

    response = await get(teams_bot, button["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="atelier-mlops-en-production.ics"')
    assert response.headers["cache-control"] == "no-store"
    calendar = icalendar.Calendar.from_ical(response.content)
    [entry] = calendar.walk("VEVENT")
    async with teams_bot.bot.sessions() as session:
        event = (await session.scalars(sa.select(Event))).one()
    assert str(entry["summary"]) == "Atelier *MLOps* en production"  # as typed, no escape
    assert entry.decoded("dtstart") == event.starts_at
    assert entry.decoded("dtend") - entry.decoded("dtstart") == timedelta(minutes=90)
    local = entry.decoded("dtstart").astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (18, 0)
    assert str(entry["uid"]) == f"event-{event.id}@{teams.tenant_id}.cop-bot"  # as Slack's
    assert str(entry["status"]) == "CONFIRMED"
    assert str(entry["location"]) == "https://meet.example/mlops"

    # cancelled: the link a calendar already took gives the cancellation, as calendars expect
    async with teams_bot.bot.sessions.begin() as session:
        row_ = await session.get(Event, event.id)
        assert row_ is not None
        row_.status, row_.sequence = EventStatus.CANCELLED, row_.sequence + 1
    response = await get(teams_bot, button["url"])
    assert response.status_code == 200
    cancelled = icalendar.Calendar.from_ical(response.content)
    assert str(cancelled["method"]) == "CANCEL"
    [entry] = cancelled.walk("VEVENT")
    assert (str(entry["status"]), int(entry["sequence"])) == ("CANCELLED", 1)

    # deleted: a page saying so
    async with teams_bot.bot.sessions.begin() as session:
        await session.execute(sa.delete(Event))
    response = await get(teams_bot, button["url"])
    assert response.status_code == 410
    refused(response, "files.refused.gone")


async def test_a_forged_or_expired_link_is_refused_with_a_page_saying_so(
    teams_bot: TeamsBot,
) -> None:
    card = await announce(teams_bot, locale="fr-FR", title="Webinaire")
    [url] = [b["url"] for b in open_urls(card["body"])]
    settings = teams_bot.bot.deps.config.settings
    token = url.split("t=", 1)[1]
    # one character changed in the signature, another event's id in the payload, no token
    forged = url[:-1] + ("A" if url[-1] != "A" else "B")
    for address in (forged, url.replace(token, token.replace(".", ".x", 1)), url.split("?")[0]):
        response = await get(teams_bot, address + ("" if "?" in address else "?t="))
        assert response.status_code == 403
        refused(response, "files.refused.invalid")
    # a dashboard link is not a download link (each kind of link is signed for itself)
    dashboard = links.token_for(
        links.Scope(teams_bot.teams.tenant_id), "29:x", utcnow(), key=settings.dashboard_key or b""
    )
    response = await get(teams_bot, f"{settings.public_url}{downloads.PATH}?t={dashboard}")
    refused(response, "files.refused.invalid")
    # an export link given two days ago: expired
    noa = teams_bot.teams.members[-1]
    actor = Actor(teams_bot.teams.tenant_id, noa.id, True, aad_object_id=noa.aad_object_id)
    old = downloads.export_link(
        actor,
        "csv",
        community_id=None,
        language="fr",
        settings=settings,
        now=utcnow() - timedelta(days=2),
    )
    assert old is not None
    response = await get(teams_bot, old)
    assert response.status_code == 410
    refused(response, "files.refused.expired")


# --- the health exports --------------------------------------------------------------------------


async def slack_export(bot: TeamsBot, fmt: str) -> bytes:
    """What Slack's `/cop santé` export button uploads to its manager."""
    slack = bot.bot
    before = len(slack.emulator.responses)
    assert (await slack.slack.command("santé", user=MANAGER, channel="C0GEN")).status_code == 200
    reply = (await eventually(lambda: slack.emulator.responses[before:]))[-1]
    shown = slack.emulator.add_message("D0CAMILLE", user="UBOT", blocks=reply["blocks"])
    uploads = len(slack.emulator.uploads)
    action = slack_blocks.EXPORT_CSV if fmt == "csv" else slack_blocks.EXPORT_XLSX
    await slack.slack.click(user=MANAGER, action_id=action, message=("D0CAMILLE", shown["ts"]))
    await eventually(
        lambda: any(
            str(u["filename"]).endswith(f".{fmt}") for u in slack.emulator.uploads[uploads:]
        )
    )
    found = [u for u in slack.emulator.uploads[uploads:] if str(u["filename"]).endswith(f".{fmt}")]
    return bytes(found[-1]["content"])


def sheet_rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


async def programme(bot: TeamsBot) -> None:
    """A community in Teams, another in Slack: one programme."""
    teams = bot.teams
    await teams_community(bot.bot.sessions, teams, name="Data *Science*", age_days=200)
    await factories.community(
        bot.bot.sessions, emulator=bot.bot.emulator, channel="C0DATA", name="Agilité"
    )


async def export_buttons(bot: TeamsBot) -> dict[str, str]:
    teams = bot.teams
    noa = teams.members[-1]
    before = len(teams.cards(PERSONAL))
    assert await bot.send(teams.message("santé", member=noa)) == 200
    card = (await eventually(lambda: teams.cards(PERSONAL)[before:]))[0]
    assert card_errors(card) == []
    buttons = open_urls(card.get("actions", []))
    assert [b["title"] for b in buttons] == [
        FR("teams.files.export_csv"),
        FR("teams.files.export_xlsx"),
    ]
    return {"csv": buttons[0]["url"], "xlsx": buttons[1]["url"]}


async def test_the_manager_exports_in_teams_what_slack_exports(files_bot: TeamsBot) -> None:
    await programme(files_bot)
    urls = await export_buttons(files_bot)

    response = await get(files_bot, urls["csv"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    today = utcnow().astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    name = f"{FR('health.export_name')}-{today}.csv"
    assert response.headers["content-disposition"].endswith(
        f"filename*=UTF-8''{httpx.URL('http://x/' + name).raw_path.decode()[1:]}"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == [FR("health.col.community"), FR("health.col.status")]
    assert sorted(r[0] for r in rows[1:]) == ["Agilité", "Data *Science*"]  # as typed
    slack_rows = list(
        csv.reader(
            io.StringIO((await slack_export(files_bot, "csv")).decode("utf-8-sig")), delimiter=";"
        )
    )
    assert rows == slack_rows

    response = await get(files_bot, urls["xlsx"])
    assert response.status_code == 200
    assert response.headers["content-type"] == downloads.MEDIA_TYPES["xlsx"]
    teams_sheet = sheet_rows(response.content)
    assert teams_sheet[0][0] == FR("health.col.community")
    assert teams_sheet == sheet_rows(await slack_export(files_bot, "xlsx"))


async def test_a_members_link_and_a_removed_managers_link_are_refused(
    database_url: str, emulator: SlackEmulator, teams: TeamsEmulator
) -> None:
    config = config_for(database_url, emulator, teams, how="email")
    member, noa = teams.members[1], teams.members[-1]
    async with running_bot(config, emulator) as running:
        bot = TeamsBot(running, teams)
        await programme(bot)
        settings = running.deps.config.settings
        # a member asking gets the refusal, and no button
        assert await bot.send(teams.message("santé", member=member)) == 200
        [answer] = await eventually(lambda: teams.activities.get(PERSONAL))
        assert teams.cards(PERSONAL) == []
        assert "Seuls les responsables du programme" in answer["text"]
        # a link made out to the member (as a copy edited to name them would be, were it not
        # for the signature): the guard, asked again, refuses it
        theirs = downloads.export_link(
            Actor(teams.tenant_id, member.id, False, aad_object_id=member.aad_object_id),
            "csv",
            community_id=None,
            language="fr",
            settings=settings,
            now=utcnow(),
        )
        assert theirs is not None
        response = await get(bot, theirs)
        assert response.status_code == 403
        refused(response, "files.refused.not_allowed")
        # the manager's own link works; the dashboard knows her by her e-mail too
        urls = await export_buttons(bot)
        assert (await get(bot, urls["csv"])).status_code == 200
        dashboard = links.link_for(
            links.Scope(teams.tenant_id),
            noa.id,
            utcnow(),
            settings=settings,
            aad_object_id=noa.aad_object_id,
        )
        assert dashboard is not None
        async with httpx.AsyncClient(base_url=running.url) as http:
            page = await http.get(dashboard.removeprefix(settings.public_url))
        assert page.status_code == 200

    # app.yaml no longer names her: the same link, opened after the restart, gives nothing
    async with running_bot(config_for(database_url, emulator, teams, how=None), emulator) as again:
        response = await get(TeamsBot(again, teams), urls["csv"])
        assert response.status_code == 403
        refused(response, "files.refused.not_allowed")
        async with httpx.AsyncClient(base_url=again.url) as http:
            page = await http.get(dashboard.removeprefix(settings.public_url))
        assert page.status_code == 403


async def test_a_link_opened_while_the_database_is_out_of_reach_says_try_again(
    teams_bot: TeamsBot, database_url: str
) -> None:
    card = await announce(teams_bot, locale="fr-FR", title="Webinaire")
    [url] = [b["url"] for b in open_urls(card["body"])]
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite file is what this test takes away")
    await teams_bot.bot.deps.engine.dispose()
    os.unlink(database_url.split("///", 1)[1])
    response = await get(teams_bot, url)
    assert response.status_code == 503
    refused(response, "files.refused.unavailable")
