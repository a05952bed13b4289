"""/cop health end to end: who may see what, the overview message, the chart and the exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from bot import activity, communities
from bot.models import ChannelStatus, utcnow
from bot.slack.blocks import health as blocks
from bot.slack.render import render_message
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import MANAGER, Bot, eventually
from tests.factories import WORKSPACE


async def programme(bot: Bot) -> None:
    """Data Science (lively, led by Lucas) and Agilité (quiet for weeks)."""
    data = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0DATA",
        leaders=("U0LUCAS",),
        sponsor="U0HUGO",
        age_days=45,
    )
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", age_days=45
    )
    today = utcnow().date()
    async with bot.sessions.begin() as session:
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(data.id, uid, today - timedelta(days=d), messages=2)
                for uid in ("U0LUCAS", "U0CHLOE", "U0HUGO")
                for d in (
                    0,
                    8,
                    15,
                )  # today: the month in progress has activity on its first day too
            ],
        )


async def ask(bot: Bot, text: str, *, user: str, channel: str) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return replies[-1]


async def test_a_manager_sees_the_programme_ranked_with_a_chart(bot: Bot) -> None:
    await programme(bot)
    reply = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    text = render_message(reply)
    assert FR("health.title_programme", name="Programme test") in text
    assert FR("health.totals_members", unique=9, summed=10, communities=2) in text
    # Agilité has no activity at all: it comes first, with its reasons and a next step
    assert text.index("*Agilité*") < text.index("*Data Science*")
    inactive = FR("health.reason.inactive", active=0, members=5, weeks=8)
    assert f"{inactive} · {FR('health.reason.no_charter')}" in text
    assert "Camille" not in text  # the overlap: Camille sits in both communities
    assert FR("health.totals_overlap", one=8, two=1, more=0) in text
    assert f"[ {FR('health.export_csv')} ] [ {FR('health.export_xlsx')} ]" in text  # the buttons
    await bot.emulator.wait_for("files.completeUploadExternal")
    upload = bot.emulator.uploads[-1]
    assert upload["filename"] == "health-trend.png" and upload["content"][:4] == b"\x89PNG"
    assert upload["channel_id"] == bot.emulator.dm_channel_for(MANAGER)


async def test_leaders_see_their_community_and_members_are_refused(bot: Bot) -> None:
    await programme(bot)
    reply = await ask(bot, "health", user="U0LUCAS", channel="C0DATA")
    text = render_message(reply)
    assert FR("health.title_community", name="Data Science") in text
    assert FR("health.reason.active_new", active=3) in text  # 3 active, none in the weeks before
    sponsor = render_message(await ask(bot, "sante data-science", user="U0HUGO", channel="C0GEN"))
    assert "Data Science" in sponsor
    refused = await ask(bot, "health", user="U0EMILY", channel="C0DATA")
    assert EN("permission.view_community_health") in refused["text"]  # Emily reads English
    refused = await ask(bot, "santé", user="U0CHLOE", channel="C0GEN")
    assert refused["text"] == FR("permission.view_programme")
    unknown = await ask(bot, "santé inconnue", user=MANAGER, channel="C0GEN")
    assert FR("health.not_found", slug="inconnue") in unknown["text"]


async def test_an_empty_programme_says_so(bot: Bot) -> None:
    reply = await ask(bot, "health", user=MANAGER, channel="C0GEN")
    assert FR("health.empty") in render_message(reply)


async def test_exports_are_uploaded_as_csv_and_xlsx(bot: Bot) -> None:
    await programme(bot)
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0SEC", name="=HYPERLINK(1)", members=()
    )
    reply = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    shown = bot.emulator.add_message("D0CAMILLE", user="UBOT", blocks=reply["blocks"])
    await bot.emulator.wait_for("files.completeUploadExternal")
    await bot.slack.click(
        user=MANAGER, action_id=blocks.EXPORT_CSV, message=("D0CAMILLE", shown["ts"])
    )
    await bot.emulator.wait_for("files.completeUploadExternal", count=2)
    upload = bot.emulator.uploads[-1]
    assert upload["filename"].endswith(".csv")
    rows = list(csv.reader(io.StringIO(upload["content"].decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == [FR("health.col.community"), FR("health.col.status")]
    names = [r[0] for r in rows[1:]]
    assert "'=HYPERLINK(1)" in names and "Data Science" in names
    await bot.slack.click(
        user=MANAGER, action_id=blocks.EXPORT_XLSX, message=("D0CAMILLE", shown["ts"])
    )
    await bot.emulator.wait_for("files.completeUploadExternal", count=3)
    sheet = load_workbook(io.BytesIO(bot.emulator.uploads[-1]["content"])).active
    assert sheet is not None
    values = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert values[0] == FR("health.col.community") and "'=HYPERLINK(1)" in values


async def test_the_app_home_button_sends_the_overview_as_a_dm(bot: Bot) -> None:
    await programme(bot)
    home = {
        "id": "VHOME",
        "type": "home",
        "blocks": [
            {
                "type": "actions",
                "block_id": "home",
                "elements": [
                    {
                        "type": "button",
                        "action_id": blocks.OPEN_OVERVIEW,
                        "text": {"type": "plain_text", "text": "Santé"},
                    }
                ],
            }
        ],
    }
    bot.emulator.home_views[MANAGER] = home
    await bot.slack.click(user=MANAGER, action_id=blocks.OPEN_OVERVIEW)
    calls = await bot.emulator.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == "D0CAMILLE"
    )
    assert FR("health.title_programme", name="Programme test") in render_message(calls[-1].params)
    bot.emulator.home_views["U0EMILY"] = home
    await bot.slack.click(user="U0EMILY", action_id=blocks.OPEN_OVERVIEW)
    refused = await bot.emulator.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == "D0EMILY"
    )
    assert EN("permission.view_programme") in refused[-1].params["text"]


async def test_an_archived_community_is_said_so(bot: Bot) -> None:
    await programme(bot)
    async with bot.sessions.begin() as session:
        row = await communities.by_channel(session, workspace_id=WORKSPACE, channel_id="C0AGILE")
        assert row is not None
        await communities.mark_channel(session, community=row, status=ChannelStatus.ARCHIVED)
    reply = await ask(bot, "santé agilite", user=MANAGER, channel="C0GEN")
    assert FR("command.community_archived", name="Agilité") in reply["text"]


# --- every community at hand: filters, pages, a row's own view --------------------------------

DM = "D0CAMILLE"


def shown(bot: Bot, reply: dict[str, Any]) -> tuple[str, str]:
    """Put a reply where the manager sees it (an ephemeral answer, kept as a message)."""
    message = bot.emulator.add_message(DM, user="UBOT", blocks=reply["blocks"])
    return DM, message["ts"]


async def click(
    bot: Bot,
    where: tuple[str, str],
    action_id: str,
    *,
    user: str = MANAGER,
    value: str | None = None,
    selected: str | None = None,
) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    response = await bot.slack.click(
        user=user, action_id=action_id, message=where, value=value, selected=selected
    )
    assert response.status_code == 200
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return replies[-1]


def element(reply: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in reply.get("blocks") or []:
        for found in [*block.get("elements", []), block.get("accessory") or {}]:
            if found.get("action_id") == action_id:
                return found
    return None


def option(reply: dict[str, Any], action_id: str, text: str) -> str:
    """The value of the option whose label is `text` in a select of the reply."""
    select = element(reply, action_id)
    assert select is not None, action_id
    for found in select["options"]:
        if found["text"]["text"] == text:
            return str(found["value"])
    raise AssertionError(f"no {text!r} in {[o['text']['text'] for o in select['options']]}")


def rows(reply: dict[str, Any]) -> dict[str, str]:
    """Each listed community's name and its button's value."""
    found = {}
    for block in reply.get("blocks") or []:
        button = block.get("accessory") or {}
        if button.get("action_id") == blocks.OPEN_COMMUNITY:
            name = block["text"]["text"].split("*")[1]
            found[name] = button["value"]
    return found


async def sixty(bot: Bot) -> None:
    """60 communities: 20 a few days old (starting), 40 quiet for weeks (no data)."""
    for i in range(1, 61):
        await factories.community(
            bot.sessions,
            channel=f"C0N{i:02d}",
            name=f"Communauté {i:02d}",
            members=(),
            age_days=3 if i <= 20 else 45,
        )


async def test_any_of_sixty_communities_is_three_clicks_away(bot: Bot) -> None:
    await sixty(bot)
    first = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    assert len(first["blocks"]) <= 50
    text = render_message(first)
    assert "60 communautés · rangs 1 à 20 · page 1 sur 3" in text
    assert "exportez le tableau" not in text
    # Communauté 45 sits in the middle: 25th of the 40 without data, 45th overall
    clicks = 0
    reply = await click(
        bot,
        shown(bot, first),
        blocks.FILTER_STATUS,
        selected=option(first, blocks.FILTER_STATUS, "⚪ sans données"),
    )
    clicks += 1
    assert reply["replace_original"] is True
    assert "40 communautés · rangs 1 à 20 · page 1 sur 2" in render_message(reply)
    assert "Communauté 45" not in rows(reply)
    reply = await click(bot, shown(bot, reply), blocks.PAGE_NEXT)
    clicks += 1
    listed = rows(reply)
    assert "rangs 21 à 40 · page 2 sur 2" in render_message(reply)
    assert element(reply, blocks.PAGE_NEXT) is None  # the last page
    assert element(reply, blocks.PAGE_PREVIOUS) is not None
    view = await click(bot, shown(bot, reply), blocks.OPEN_COMMUNITY, value=listed["Communauté 45"])
    clicks += 1
    assert view["replace_original"] is False  # the list stays above
    assert "Santé de la communauté « Communauté 45 »" in render_message(view)
    assert clicks <= 3

    # without a filter, the page menu goes straight to the last page
    last = await click(
        bot,
        shown(bot, first),
        blocks.PAGE_JUMP,
        selected=option(first, blocks.PAGE_JUMP, "Page 3"),
    )
    assert "60 communautés · rangs 41 à 60 · page 3 sur 3" in render_message(last)
    assert len(rows(last)) == 20 and element(last, blocks.PAGE_NEXT) is None


async def test_filters_narrow_the_ranking_and_say_when_nothing_matches(bot: Bot) -> None:
    await programme(bot)
    first = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    assert set(rows(first)) == {"Agilité", "Data Science"}
    assert "2 communautés · rangs 1 à 2 · page 1 sur 1" in render_message(first)
    assert element(first, blocks.PAGE_NEXT) is None  # one page: no pager

    # the sponsor filter types ahead: "hu" finds Hugo Thomas, Data Science's sponsor
    options = await bot.slack.suggest(
        user=MANAGER, action_id=blocks.FILTER_SPONSOR, typed="hu", message=shown(bot, first)
    )
    assert [o["text"]["text"] for o in options] == ["Hugo Thomas"]
    sponsored = await click(
        bot, shown(bot, first), blocks.FILTER_SPONSOR, selected=options[0]["value"]
    )
    text = render_message(sponsored)
    assert set(rows(sponsored)) == {"Data Science"}
    assert "Filtres : sponsor : Hugo Thomas" in text

    # kind: none of them is piloted, and the message says what to do
    nothing = await click(
        bot,
        shown(bot, sponsored),
        blocks.FILTER_KIND,
        selected=option(sponsored, blocks.FILTER_KIND, "pilotée"),
    )
    assert rows(nothing) == {}
    assert "Aucune communauté ne correspond à ces filtres" in render_message(nothing)
    everything = await click(bot, shown(bot, nothing), blocks.FILTER_CLEAR)
    assert set(rows(everything)) == {"Agilité", "Data Science"}

    # status and stage: Agilité, quiet for weeks, is the only one at risk
    stage_of = render_message(first).split("*Agilité*")[1]
    at_risk = await click(
        bot,
        shown(bot, first),
        blocks.FILTER_STATUS,
        selected=option(first, blocks.FILTER_STATUS, "🟠 à risque"),
    )
    assert set(rows(at_risk)) == {"Agilité"}
    stage = next(
        s for s in ("démarrage", "croissance", "préparation", "réorientation") if s in stage_of
    )
    staged = await click(
        bot,
        shown(bot, at_risk),
        blocks.FILTER_STAGE,
        selected=option(at_risk, blocks.FILTER_STAGE, stage),
    )
    assert set(rows(staged)) == {"Agilité"}
    assert f"Filtres : 🟠 à risque · {stage}" in render_message(staged)


async def test_a_replayed_click_from_a_member_is_refused(bot: Bot) -> None:
    await programme(bot)
    first = await ask(bot, "santé", user=MANAGER, channel="C0GEN")
    where = shown(bot, first)
    value = option(first, blocks.FILTER_STATUS, "🟠 à risque")
    # Chloé (a member) replays the manager's click, signed but with her own user id
    refused = await click(bot, where, blocks.FILTER_STATUS, user="U0CHLOE", selected=value)
    assert refused["text"] == "Seuls les responsables du programme ont accès à la vue d'ensemble."
    assert not refused.get("blocks")
    # a crafted message with a Next button whose value names a sponsor and a page
    crafted = bot.emulator.add_message(
        DM,
        user="UBOT",
        blocks=[
            {
                "type": "actions",
                "block_id": "crafted",
                "elements": [
                    {
                        "type": "button",
                        "action_id": blocks.PAGE_NEXT,
                        "text": {"type": "plain_text", "text": "→"},
                        "value": "|||U0HUGO|0",
                    }
                ],
            }
        ],
    )
    forged_at = (DM, crafted["ts"])
    refused = await click(bot, forged_at, blocks.PAGE_NEXT, user="U0CHLOE")
    assert not refused.get("blocks") and "Hugo" not in refused["text"]
    agile = rows(first)["Agilité"]
    refused = await click(bot, where, blocks.OPEN_COMMUNITY, user="U0CHLOE", value=agile)
    assert "Agilité" not in render_message(refused) and not refused.get("blocks")
    options = await bot.slack.suggest(
        user="U0CHLOE", action_id=blocks.FILTER_SPONSOR, typed="hu", message=where
    )
    assert options == []  # no sponsor names for someone who may not see the programme
    # a forged value only shows the first page, to the manager
    forged = await click(bot, forged_at, blocks.PAGE_NEXT, value="nope|<!channel>|x|'; --|999999")
    assert "2 communautés · rangs 1 à 2 · page 1 sur 1" in render_message(forged)
