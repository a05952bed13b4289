"""Behaviour people notice: reminders after a reschedule or at short notice, a posted story's
real message, Slack's 502s, a users.info outage, and the programme's own welcome line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot import cli
from bot.models import Event, Outbox, OutboxStatus, utcnow
from bot.slack.emulator import SlackEmulator
from rituals import reminders
from rituals.outbox import Drain
from tests import factories
from tests.conftest import Bot, eventually, make_config, running_bot
from tests.test_events import LEADER, MEMBER, all_events, create_event, rsvp
from tests.test_home import text_of
from tests.test_stories import GOOD, _open_modal, _prompted, _stories

REMINDER_KINDS = ("reminder", "reminder_channel")


def _at_minute(moment: datetime) -> datetime:
    return (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)


async def _event_at(bot: Bot, starts_at: datetime) -> Event:
    """The leader schedules it through the modal (in UTC), Chloé answers "going"."""
    message = await create_event(
        bot,
        event_date=starts_at.date(),
        event_time=starts_at.strftime("%H:%M"),
        event_tz="UTC",
    )
    await rsvp(bot, message, MEMBER, "going")
    (event,) = await all_events(bot)
    assert event.starts_at == starts_at
    return event


async def _reschedule(bot: Bot, starts_at: datetime) -> None:
    """The leader moves it from `/cop event list`, as people do."""
    shown = len(bot.emulator.ephemerals)
    await bot.slack.command("événement liste", user=LEADER, channel="C0DATA")
    await eventually(lambda: len(bot.emulator.ephemerals) > shown)
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(user=LEADER, action_id="event_edit")
    view = (await bot.emulator.wait_for("views.open", count=before + 1))[-1].response["view"]
    uploads = len(bot.emulator.uploads)
    await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values={"event_date": starts_at.date(), "event_time": starts_at.strftime("%H:%M")},
    )
    await eventually(lambda: len(bot.emulator.uploads) > uploads)  # the new .ics: it is saved
    (event,) = await all_events(bot)
    assert event.starts_at == starts_at


async def _sent_reminders(bot: Bot) -> list[str]:
    """Reminders that reached Slack, as "<target>" (the channel, or a person's DM)."""
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(Outbox.message_channel).where(
                Outbox.kind.in_(REMINDER_KINDS), Outbox.status == OutboxStatus.SENT
            )
        )
        return sorted(str(channel) for (channel,) in rows)


def _reminded(bot: Bot) -> list[str]:
    return [m["text"] for m in bot.emulator.messages.get("D0CHLOE", []) if "⏰" in m["text"]]


async def test_a_reschedule_re_sends_the_24h_reminder_only_when_it_is_due_again(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    starts = _at_minute(utcnow() + timedelta(hours=20))
    event = await _event_at(bot, starts)
    async with bot.sessions.begin() as session:  # it was scheduled two days ago
        row = await session.get(Event, event.id)
        assert row is not None
        row.created_at = row.created_at - timedelta(days=2)
    # its 24 h reminder was due four hours ago: sent now, to the channel and to Chloé
    assert await reminders.plan(bot.deps, now=utcnow()) == 2
    assert await _sent_reminders(bot) == ["C0DATA", "D0CHLOE"]
    # moved by ten minutes: the 24 h reminder is not sent again
    moved = starts + timedelta(minutes=10)
    await _reschedule(bot, moved)
    assert await reminders.plan(bot.deps, now=utcnow()) == 0
    assert len(await _sent_reminders(bot)) == 2
    # the 1 h reminder still comes, for the new time
    assert await reminders.plan(bot.deps, now=moved - timedelta(minutes=50)) == 2
    assert len(await _sent_reminders(bot)) == 4
    assert len(_reminded(bot)) == 2  # Chloé: the 24 h one, then the 1 h one
    # moved by a week: its 24 h reminder is ahead again, and comes when due
    week = moved + timedelta(days=7)
    await _reschedule(bot, week)
    assert await reminders.plan(bot.deps, now=utcnow()) == 0
    assert await reminders.plan(bot.deps, now=week - timedelta(hours=23)) == 2
    assert len(await _sent_reminders(bot)) == 6
    assert len(_reminded(bot)) == 3


async def test_an_event_at_short_notice_gets_no_instant_24h_reminder(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    starts = _at_minute(utcnow() + timedelta(hours=5))
    await _event_at(bot, starts)
    assert await reminders.plan(bot.deps, now=utcnow()) == 0
    assert await _sent_reminders(bot) == []
    assert not _reminded(bot)
    # the 1 h one still comes
    assert await reminders.plan(bot.deps, now=starts - timedelta(minutes=55)) == 2
    assert await _sent_reminders(bot) == ["C0DATA", "D0CHLOE"]


async def test_a_posted_story_keeps_the_ts_of_its_message(bot: Bot) -> None:
    await _prompted(bot, language="en")
    view_id = await _open_modal(bot, "U0EMILY")
    await bot.slack.submit_view(view_id, user="U0EMILY", values=GOOD)
    story = (await eventually(lambda: _stories(bot)))[0]
    await _click_in(bot, await _review_screen(bot), f"story_validate:{story.id}")
    screen = await _review_screen(bot)
    await _click_in(bot, screen, f"story_post:{story.id}")
    assert (await _stories(bot))[0].posted_ts is None  # owed, not yet posted: no made-up ts
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    posted = bot.emulator.messages["C0DATA"][-1]
    assert posted["text"] == "🌟 Success story : Pipeline de tests partagé"
    assert (await _stories(bot))[0].posted_ts == posted["ts"]
    link = await bot.deps.web_client.chat_getPermalink(
        channel="C0DATA", message_ts=(await _stories(bot))[0].posted_ts
    )
    assert link["ok"]
    # a second click, from a screen shown before, does not post it twice
    refused = await _click_in(bot, screen, f"story_post:{story.id}")
    assert "already" in refused["text"] or "déjà" in refused["text"]
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    assert [m["text"] for m in bot.emulator.messages["C0DATA"]].count(posted["text"]) == 1


async def _review_screen(bot: Bot) -> dict[str, Any]:
    before = len(bot.emulator.responses)
    await bot.slack.command("histoires", user="U0CAMILLE", channel="C0DATA")
    return dict((await eventually(lambda: bot.emulator.responses[before:]))[-1])


async def _click_in(bot: Bot, screen: dict[str, Any], action_id: str) -> dict[str, Any]:
    """A leader clicks a button of a `/cop stories` review screen (as shown then)."""
    bot.emulator.add_message("C0DATA", user="UBOT", text=screen["text"], blocks=screen["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(user="U0CAMILLE", action_id=action_id, message=("C0DATA", ts))
    return dict((await eventually(lambda: bot.emulator.responses[before:]))[-1])


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_slack_gateway_errors_are_retried_like_500(bot: Bot, status: int) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    bot.emulator.inject_failure("views.publish", status=status)
    await bot.slack.open_home(user=LEADER)
    # published all the same, on the second try
    view = await eventually(lambda: bot.emulator.home_views.get(LEADER), timeout=10)
    assert "Data Science" in text_of(view)
    calls = [c.status for c in bot.emulator.calls_to("views.publish")]
    assert calls[-2:] == [status, 200]


async def test_a_users_info_failure_is_remembered_not_asked_on_every_request(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    bot.emulator.inject_failure("users.info", error="fatal_error")  # Slack cannot say who

    async def ask() -> str:
        before = len(bot.emulator.responses)
        await bot.slack.command("aide", user="U0NATHAN", channel="C0DATA")
        return str((await eventually(lambda: bot.emulator.responses[before:]))[-1]["text"])

    first = await ask()
    asked = len(bot.emulator.calls_to("users.info"))
    assert asked == 1 and first  # answered anyway, in the community's language
    for _ in range(3):
        assert await ask() == first
    assert len(bot.emulator.calls_to("users.info")) == asked  # not asked again for a while


@pytest.fixture
async def templated(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    config = make_config(
        database_url,
        emulator,
        templates={
            "welcome": {
                "fr": "Salut {name}, te voilà chez {community} ({channel}) !",
                "en": "Hey {name}, welcome aboard {community}!",
            }
        },
    )
    async with running_bot(config, emulator) as running:
        yield running


async def test_the_programmes_welcome_template_is_what_newcomers_read(templated: Bot) -> None:
    bot = templated
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",))
    await bot.slack.join(user="U0LEA", channel="C0DATA")
    await bot.slack.join(user="U0JAMES", channel="C0DATA")

    async def welcomed() -> int:
        await Drain(bot.deps, rate_per_minute=60000).run_once()
        return len(bot.emulator.messages.get("D0LEA", [])) + len(
            bot.emulator.messages.get("D0JAMES", [])
        )

    await eventually(lambda: _is(welcomed, 2))
    lea = bot.emulator.messages["D0LEA"][-1]
    assert lea["text"] == "Salut <@U0LEA>, te voilà chez Data Science (<#C0DATA>) !"
    assert "<@U0CAMILLE>" in json.dumps(lea["blocks"])  # the rest of the welcome is kept
    assert (
        bot.emulator.messages["D0JAMES"][-1]["text"]
        == "Hey <@U0JAMES>, welcome aboard Data Science!"
    )


async def _is(count: object, n: int) -> bool:
    return await count() == n  # type: ignore[operator]


def test_an_unknown_template_placeholder_is_a_one_line_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "app.yaml"
    config.write_text(
        "name: Programme\ntemplates:\n  welcome:\n    fr: 'Bienvenue {prenom} !'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COP_CONFIG", str(config))
    monkeypatch.setenv("COP_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    assert cli.main(["report", "--period", "2026", "--format", "csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"cop: {config}: templates: welcome.fr: unknown placeholder {{prenom}} "
        "(known: {name}, {community}, {channel})"
    )
    config.write_text("name: Programme\ntemplates:\n  goodbye:\n    fr: 'Au revoir'\n")
    assert cli.main(["report", "--period", "2026", "--format", "csv"]) == 2
    assert "templates: unknown template 'goodbye' (known: welcome)" in capsys.readouterr().err
