"""Words and numbers people notice (issue 11, point 5), from the outside where a surface shows
them: /cop help by permission, « d'Agilité », « aucun membre actif », the Home's polls section,
RSVP closed once an event has started, the .ics named after the event, units as words, names in
alphabetical order, chart ticks, « 1er octobre », zones on reminders — in French and English."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bot import charts, periods, report, stories
from bot.config import HealthThresholds
from bot.disclosure import Rule
from bot.i18n import translate
from bot.models import Event, StoryStatus, SuccessStory, utcnow
from bot.slack.render import render_message
from tests import factories
from tests.conftest import MANAGER, Bot, eventually
from tests.factories import WORKSPACE
from tests.test_events import LEADER, all_events, create_event, rsvp

FR, EN = translate("fr"), translate("en")


async def help_text(bot: Bot, *, user: str, channel: str, word: str = "aide") -> str:
    before = len(bot.emulator.responses)
    await bot.slack.command(word, user=user, channel=channel)
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return render_message(replies[-1])


async def test_help_offers_only_what_the_permission_table_grants(bot: Bot) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",), sponsor="U0HUGO"
    )
    member = await help_text(bot, user="U0EMILY", channel="C0DATA", word="help")
    assert "`/cop charter show [--public]`" in member  # reading the charter: anyone
    assert "edit the community's charter" not in member
    assert "`/cop event`: schedule" not in member and "`/cop event list`" in member
    assert "/cop health" not in member and "/cop role" not in member
    sponsor = await help_text(bot, user="U0HUGO", channel="C0DATA")
    assert "`/cop santé` : la santé de cette communauté" in sponsor  # a sponsor may read it
    assert "modifier la charte" not in sponsor and "santé programme" not in sponsor
    leader = await help_text(bot, user="U0LUCAS", channel="C0DATA")
    assert "`/cop charte` : modifier la charte" in leader and "/cop rôle" in leader
    assert "santé programme" not in leader  # the programme is for its managers
    manager = await help_text(bot, user=MANAGER, channel="C0GEN")
    assert "`/cop santé programme`" in manager and "/cop communauté créer" in manager
    assert "modifier la charte" not in manager  # done in a community's channel, not here


async def test_french_elides_de_before_a_vowel(bot: Bot) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité & Lean"
    )
    before = len(bot.emulator.responses)
    await bot.slack.command("rôle <@U0LEA> animateur", user=MANAGER, channel="C0AGILE")
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]["text"]
    assert "animateur·rice d'*Agilité &amp; Lean*" in reply, reply
    assert "de *Agilité" not in reply
    # no elision before a consonant, nor in English
    assert FR("role.set", user="x", role="sponsor", community="Data Science").endswith(
        "de *Data Science*."
    )
    assert "in *Agilité*" in EN("role.set", user="x", role="sponsor", community="Agilité")


async def test_nought_reads_as_none(bot: Bot) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",), age_days=45
    )  # past its starting days: judged
    before = len(bot.emulator.responses)
    await bot.slack.command("santé", user="U0LUCAS", channel="C0DATA")
    text = render_message((await eventually(lambda: bot.emulator.responses[before:]))[-1])
    assert "aucun membre actif sur" in text and "seulement 0" not in text
    for t, zero, one, many in (
        (FR, "aucun membre actif", "seulement 1 membre actif", "seulement 2 membres actifs"),
        (EN, "no active members", "only 1 active member", "only 2 active members"),
    ):
        assert t("health.reason.inactive", active=0, members=5, weeks=8).startswith(zero)
        assert t("health.reason.inactive", active=1, members=5, weeks=8).startswith(one)
        assert t("health.reason.inactive", active=2, members=5, weeks=8).startswith(many)
    assert "1 reply," in EN("health.totals_activity", **_activity(1))


def _activity(n: int) -> dict[str, Any]:
    return {"messages": n, "replies": n, "reactions": n, "events": n, "attendance": n}


async def test_someone_never_polled_is_not_thanked_for_answering(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",))
    await bot.slack.open_home(user="U0LUCAS")
    published = await bot.emulator.wait_for("views.publish")
    text = json.dumps(published[-1].params, ensure_ascii=False)
    assert "Aucun sondage en attente" not in text and "Sondages qui vous attendent" not in text
    assert "Vos communautés" in text


async def test_a_started_event_refuses_answers_kindly_and_loses_its_buttons(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    message = await create_event(bot, event_title="Atelier « Spark / SQL » 🎉")
    assert bot.emulator.uploads[-1]["filename"] == "atelier-spark-sql.ics"
    (event,) = await all_events(bot)
    async with bot.sessions.begin() as session:  # the hour has come
        await session.execute(
            sa.update(Event)
            .where(Event.id == event.id)
            .values(starts_at=utcnow() - timedelta(minutes=5))
        )
    await rsvp(bot, message, "U0EMILY", "going")
    assert "has already started, so answers are closed" in bot.emulator.responses[-1]["text"]

    def buttons_gone() -> bool:
        shown = bot.emulator.find_message("C0DATA", message["ts"])
        return shown is not None and "event_rsvp_going" not in json.dumps(shown["blocks"])

    await eventually(buttons_gone)
    shown = bot.emulator.find_message("C0DATA", message["ts"])
    assert shown is not None and "event_attendance" in json.dumps(shown["blocks"])


async def test_units_are_words_and_percentages_are_averaged(bot: Bot) -> None:
    data = await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",))
    async with bot.sessions.begin() as session:
        for amount, unit in ((1200, "hours"), (10, "quality"), (20, "quality"), (3, "customers")):
            session.add(
                SuccessStory(
                    workspace_id=WORKSPACE,
                    community_id=data.id,
                    title="t",
                    context="c",
                    contribution="c",
                    benefit="b",
                    value_amount=Decimal(amount),
                    value_unit=unit,
                    status=StoryStatus.VALIDATED,
                )
            )
    before = len(bot.emulator.responses)
    await bot.slack.command("santé", user="U0LUCAS", channel="C0DATA")
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    text = render_message(reply).replace("\n", " ")
    assert "3 clients" in text and "1\u202f200 heures gagnées" in text
    assert "15 points de qualité en moyenne (2 histoires)" in text  # never "30"
    assert "customers" not in text and "quality" not in text
    async with bot.sessions() as session:
        built = await report.build(
            session,
            workspace_id=WORKSPACE,
            window=periods.parse_period(str(utcnow().year)),
            programme_name="P",
            thresholds=HealthThresholds(),
            rule=Rule(min_answers=5),
        )
    html = report.to_html(EN, built)
    assert "15 quality points on average (2 stories)" in html and ">quality<" not in html
    # a unit stored under another spelling still reads as the word
    assert FR.unit("quality_pct") == "points de qualité" and EN.unit("EUR") == "euros"
    assert stories.value_phrases(EN, {"hours": 2.0}) == ["2 hours saved"]


async def test_names_follow_alphabetical_order_not_code_points(bot: Bot) -> None:
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0DATA", name="UX", members=("U0LUCAS",)
    )
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Énergie", members=("U0LUCAS",)
    )
    await bot.slack.open_home(user="U0LUCAS")
    published = await bot.emulator.wait_for("views.publish")
    text = json.dumps(published[-1].params, ensure_ascii=False)
    assert text.index("*Énergie*") < text.index("*UX*")
    assert FR.sorted(["UX", "Énergie", "data", "Agilité"]) == ["Agilité", "data", "Énergie", "UX"]


def test_chart_ticks_are_whole_and_written_the_readers_way() -> None:
    for t, thousand in ((FR, "1\u202f200"), (EN, "1,200")):
        fig = charts.trend_figure(
            title="",
            labels=["a", "b", "c"],
            active=[1, 2, 3],
            messages=[0, 600, 1300],
            active_label="active",
            messages_label="messages",
            number=t.axis_number,
        )
        fig.canvas.draw()
        bars, line = fig.axes
        assert thousand in [label.get_text() for label in bars.get_yticklabels()]
        ticks = [label.get_text() for label in line.get_yticklabels()]
        assert ticks and all(tick.isdigit() for tick in ticks), ticks  # no 0.5, 1.5…


def test_a_chart_of_quiet_weeks_counts_from_0_to_1() -> None:
    """Nothing yet (a new programme): the axes read 0 and 1, never « 0, 0, -0 »."""
    fig = charts.trend_figure(
        title="",
        labels=["a", "b", "c"],
        active=[0, 0, 0],
        messages=[0, 0, 0],
        active_label="active",
        messages_label="messages",
        number=FR.axis_number,
    )
    fig.canvas.draw()
    for axis in fig.axes:
        ticks = [label.get_text() for label in axis.get_yticklabels()]
        assert ticks == ["0", "1"], ticks


def test_the_first_of_the_month_and_zones() -> None:
    first = date(2026, 10, 1)
    assert FR.date(first) == "1er octobre 2026" and FR.date(first, "medium") == "1er oct. 2026"
    assert FR.date(first, "full") == "jeudi 1er octobre 2026"
    assert FR.date(date(2026, 10, 2)) == "2 octobre 2026" and EN.date(first) == "1 October 2026"
    assert FR.whole(39.6) == "40" and EN.whole(-12.4) == "-12"
