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
    rows = list(csv.reader(io.StringIO(upload["content"].decode("utf-8-sig"))))
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
