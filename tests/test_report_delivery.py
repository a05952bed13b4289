"""/cop report end to end: who gets which value report, in their DM, and what a refusal, a bad
period or a refused upload says. Real bot over HTTP, real emulator, real database."""

from __future__ import annotations

import html
import io
import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from bot import activity, periods
from bot.i18n import translate
from bot.models import Person, StoryStatus, SuccessStory, ValueKind
from bot.slack.render import render_message
from tests import factories
from tests.conftest import MANAGER, Bot, eventually
from tests.factories import WORKSPACE


async def programme(bot: Bot) -> None:
    """Data Science (Lucas leads, Hugo sponsors; 63 messages today) and Agilité (Léa leads; 5),
    each with a validated story."""
    data = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0DATA",
        leaders=("U0LUCAS",),
        sponsor="U0HUGO",
        age_days=45,
    )
    agile = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agilité",
        leaders=("U0LEA",),
        age_days=45,
    )
    today = bot.deps.today()
    async with bot.sessions.begin() as session:
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                *(
                    activity.Tally(data.id, uid, today, messages=21)
                    for uid in ("U0LUCAS", "U0CHLOE", "U0HUGO")
                ),
                activity.Tally(agile.id, "U0NATHAN", today, messages=5),
            ],
        )
        for community, title in ((data, "Modèle de churn"), (agile, "Rétros express")):
            session.add(
                SuccessStory(
                    workspace_id=WORKSPACE,
                    community_id=community.id,
                    title=title,
                    status=StoryStatus.VALIDATED,
                    value_amount=Decimal(40),
                    value_unit="hours",
                    value_kind=ValueKind.REALISED,
                )
            )


def quarter(bot: Bot) -> str:
    """The default period's label: the current quarter (to date), as files and `--period` name it."""
    return periods.to_date(periods.Period.QUARTER, bot.deps.today()).label


def quarter_fr(bot: Bot) -> str:
    """The same quarter as a French reader says it: « T4 2026 »."""
    today = bot.deps.today()
    return f"T{(today.month - 1) // 3 + 1} {today.year}"


async def ask(bot: Bot, text: str, *, user: str, channel: str) -> list[dict[str, Any]]:
    """The command's ephemeral answers, once the last one is in."""
    before = len(bot.emulator.responses)
    response = await bot.slack.command(text, user=user, channel=channel)
    assert response.status_code == 200
    return await eventually(lambda: bot.emulator.responses[before:])


async def delivered(bot: Bot, *, count: int = 1) -> list[dict[str, Any]]:
    """The files of the last report shared (the HTML, then the XLSX)."""
    await bot.emulator.wait_for("files.completeUploadExternal", count=count, timeout=30)
    return bot.emulator.uploads[-2:]


def page_text(upload: dict[str, Any]) -> str:
    """The HTML report as a reader sees it: tags gone, entities read, spaces collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", upload["content"].decode("utf-8")))
    return re.sub(r"\s+", " ", text)


def shows(text: str, value: str, label: str) -> bool:
    """A figure and its label side by side on the page (a card), in either order."""
    return f"{value} {label}" in text or f"{label} {value}" in text


def sheet_rows(upload: dict[str, Any], name: str) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(upload["content"]))
    return list(book[name].iter_rows(values_only=True))


async def test_a_manager_gets_the_programme_report_in_their_dm(bot: Bot) -> None:
    await programme(bot)
    label, said = quarter(bot), quarter_fr(bot)
    replies = await ask(bot, "rapport", user=MANAGER, channel="C0GEN")
    assert replies[0]["text"].startswith(f"Je prépare le rapport ({said})…")
    page, book = await delivered(bot)
    dm = bot.emulator.dm_channel_for(MANAGER)
    assert (page["filename"], book["filename"]) == (
        f"value-report-{label}.html",
        f"value-report-{label}.xlsx",
    )
    assert page["channel_id"] == book["channel_id"] == dm
    assert page["title"] == f"Rapport de valeur — Programme test — {said}"
    start = bot.deps.today().replace(month=(bot.deps.today().month - 1) // 3 * 3 + 1, day=1)
    assert page["initial_comment"].startswith(
        f"Voici le rapport de valeur de Programme test pour {said}, "
        f"du {translate('fr').date(start)} au {translate('fr').date(bot.deps.today())}."
    )
    text = page_text(page)
    assert "Rapport de valeur — Programme test" in text
    assert shows(text, "68", "Messages")  # 63 in Data Science, 5 in Agilité
    assert shows(text, "4", "Membres actifs")
    assert "Data Science" in text and "Agilité" in text
    assert "Modèle de churn" in text and "Rétros express" in text
    rows = sheet_rows(book, "Communautés")
    assert rows[0][0] == "Communauté"
    messages = rows[0].index("Messages")
    assert {(r[0], r[messages]) for r in rows[1:]} == {("Agilité", 5), ("Data Science", 63)}
    # the DM holds one message with both files; the asker is told where to look
    shared = [msg for msg in bot.emulator.messages[dm] if msg.get("files")]
    assert [f["name"] for f in shared[-1]["files"]] == [page["filename"], book["filename"]]
    done = await eventually(lambda: bot.emulator.responses[-1]["text"].startswith("C'est fait"))
    assert done


async def test_an_explicit_period_and_the_english_files(bot: Bot) -> None:
    await programme(bot)
    year = str(bot.deps.today().year)
    async with bot.sessions.begin() as session:  # Camille reads English now
        await session.execute(
            sa.update(Person).where(Person.slack_user_id == MANAGER).values(locale="en-GB")
        )
    await ask(bot, f"report {year}", user=MANAGER, channel="C0GEN")
    page, book = await delivered(bot)
    assert page["filename"] == f"value-report-{year}.html"
    assert page["title"] == f"Value report — Programme test — {year}"
    assert shows(page_text(page), "68", "Messages")
    assert sheet_rows(book, "Communities")[0][0] == "Community"


async def test_a_leader_gets_their_communitys_report(bot: Bot) -> None:
    await programme(bot)
    label = quarter(bot)
    await ask(bot, "rapport", user="U0LUCAS", channel="C0DATA")
    page, book = await delivered(bot)
    assert page["filename"] == f"value-report-data-science-{label}.html"
    assert book["filename"] == f"value-report-data-science-{label}.xlsx"
    assert page["channel_id"] == bot.emulator.dm_channel_for("U0LUCAS")
    text = page_text(page)
    assert "Rapport de valeur — Data Science" in text
    assert shows(text, "63", "Messages") and shows(text, "3", "Membres actifs")
    assert "Modèle de churn" in text
    assert "Agilité" not in text and "Rétros express" not in text
    rows = sheet_rows(book, "Communautés")
    assert [r[0] for r in rows[1:]] == ["Data Science"]
    # nothing was posted in the community's channel
    assert not any(msg.get("files") for msg in bot.emulator.messages["C0DATA"])
    # the sponsor may ask from anywhere, naming the community
    await ask(bot, "rapport data-science", user="U0HUGO", channel="C0GEN")
    page, _ = await delivered(bot, count=2)
    assert page["channel_id"] == bot.emulator.dm_channel_for("U0HUGO")
    assert page["filename"] == f"value-report-data-science-{label}.html"


async def test_members_and_other_leaders_are_refused(bot: Bot) -> None:
    await programme(bot)
    member = await ask(bot, "report", user="U0EMILY", channel="C0DATA")  # Emily reads English
    assert member[-1]["text"] == (
        "Sorry, a community's value report is for its leaders, core team and sponsor, "
        "and for the programme managers."
    )
    other = await ask(bot, "rapport", user="U0LEA", channel="C0DATA")  # Léa leads Agilité
    assert other[-1]["text"].startswith("Désolé, le rapport de valeur de la communauté est réservé")
    named = await ask(bot, "rapport data-science", user="U0LEA", channel="C0AGILE")
    assert named[-1]["text"] == other[-1]["text"]
    programme_wide = await ask(bot, "rapport", user="U0LUCAS", channel="C0GEN")
    assert programme_wide[-1]["text"].startswith(
        "Désolé, le rapport de valeur du programme est réservé à ses responsables."
    )
    assert bot.emulator.calls_to("files.getUploadURLExternal") == []


async def test_a_bad_period_gets_one_line_with_the_accepted_forms(bot: Bot) -> None:
    await programme(bot)
    expected = (
        "Je ne reconnais pas la période « {} ». Écrivez `2026-Q4` pour un trimestre, `2026-11` "
        "pour un mois, `2026-W47` pour une semaine ou `2026` pour une année ; sans période, "
        "c'est le trimestre en cours."
    )
    for typed in ("2026-Q5", "T4", "2026-13"):
        replies = await ask(bot, f"rapport {typed}", user=MANAGER, channel="C0GEN")
        assert [r["text"] for r in replies] == [expected.format(typed)]
    unknown = await ask(bot, "rapport inconnue", user=MANAGER, channel="C0GEN")
    assert unknown[-1]["text"].startswith("Je ne connais aucune communauté « inconnue »")
    assert bot.emulator.calls_to("files.getUploadURLExternal") == []


async def test_a_refused_upload_is_said_and_nothing_is_half_sent(bot: Bot) -> None:
    await programme(bot)
    label = quarter(bot)
    bot.emulator.max_upload_bytes = 10_000  # the workbook fits, the page does not
    replies = await ask(bot, "rapport", user=MANAGER, channel="C0GEN")
    said = await eventually(
        lambda: [r["text"] for r in bot.emulator.responses if "trop lourds" in r["text"]],
        timeout=30,
    )
    assert said[0].startswith(f"Slack refuse le rapport {quarter_fr(bot)} : les fichiers (")
    assert f"`cop report --period {label}`" in said[0]
    assert replies[0]["text"].startswith("Je prépare le rapport")
    assert bot.emulator.uploads == []
    assert bot.emulator.calls_to("files.completeUploadExternal") == []

    bot.emulator.max_upload_bytes = 1_000_000_000
    bot.emulator.inject_failure("files.completeUploadExternal", error="not_in_channel")
    await ask(bot, "rapport", user=MANAGER, channel="C0GEN")
    said = await eventually(
        lambda: [r["text"] for r in bot.emulator.responses if "message privé" in r["text"]],
        timeout=30,
    )
    assert said[0].startswith("Je n'arrive pas à vous écrire en message privé")
    assert bot.emulator.uploads == []


async def test_help_offers_the_report_to_whom_it_is_for(bot: Bot) -> None:
    await programme(bot)

    async def help_text(user: str, channel: str) -> str:
        return render_message((await ask(bot, "aide", user=user, channel=channel))[-1])

    assert "`/cop rapport [période]` : le rapport de valeur de cette communauté" in await help_text(
        "U0LUCAS", "C0DATA"
    )
    assert "/cop report" not in await help_text("U0EMILY", "C0DATA")
    assert "/cop rapport" not in await help_text("U0CHLOE", "C0DATA")  # a plain member here
    manager = await help_text(MANAGER, "C0GEN")
    assert "le rapport de valeur du programme pour les sponsors" in manager
