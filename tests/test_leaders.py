"""The leaders' community end to end: invitations to the leaders' channel (once each, leaving is
respected, a bad channel is no storm), the monthly leaders' digest (FR and EN, posted once even
from two replicas), and the organiser's « animation » checklist after an event (DM, modal, DM
updated in place, the compass's voice, replays by someone else refused)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from bot import activity, compass, people, privacy
from bot import leaders_digest as domain
from bot.app import build_deps
from bot.config import Programme
from bot.models import (
    AuditLog,
    Community,
    CommunityStatus,
    Event,
    EventFeedback,
    EventStatus,
    StoryStatus,
    SuccessStory,
    ValueKind,
    utcnow,
)
from bot.slack.emulator import SlackEmulator
from bot.slack.emulator.workspace import Channel
from bot.slack.render import render_message
from rituals import event_feedback, leaders_digest, scheduler
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import EN, FR
from tests.conftest import Bot, command_answer, eventually, make_config, running_bot
from tests.factories import WORKSPACE

LEADERS = "C0LEAD"
QUIET: dict[str, Any] = {
    "pulse": {"enabled": False},
    "stories": {"enabled": False},
    "welcome": {"digest_cadence": "off"},
    "reminders": {"enabled": False},
}


def _channel(emulator: SlackEmulator, *, archived: bool = False, bot_in: bool = True) -> Channel:
    channel = Channel(
        LEADERS,
        "cop-leaders",
        ["UBOT"] if bot_in else [],
        is_archived=archived,
        is_private=not bot_in,  # a private channel the bot was not invited to: it cannot join
    )
    emulator.workspace.channels[LEADERS] = channel
    return channel


@pytest.fixture
async def bot(database_url: str, emulator: SlackEmulator) -> AsyncIterator[Bot]:
    _channel(emulator)
    config = make_config(database_url, emulator, leaders_channel=LEADERS, rituals=QUIET)
    async with running_bot(config, emulator) as running:
        yield running


async def _two_communities(bot: Bot) -> tuple[Community, Community]:
    data = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0LUCAS",), core=("U0CHLOE",)
    )
    agile = await factories.community(
        bot.sessions,
        emulator=bot.emulator,
        channel="C0AGILE",
        name="Agilité",
        leaders=("U0LEA",),
    )
    return data, agile


# --- configuration ----------------------------------------------------------------------------


def test_leaders_channel_is_an_id_or_a_name() -> None:
    assert Programme.model_validate({"name": "P", "leaders_channel": "C0LEAD"}).leaders_channel == (
        "C0LEAD"
    )
    named = Programme.model_validate({"name": "P", "leaders_channel": "#cop-leaders"})
    assert named.leaders_channel == "cop-leaders"
    with pytest.raises(ValueError, match=r"(?s)leaders_channel.*channel id such as C012ABC"):
        Programme.model_validate({"name": "P", "leaders_channel": "Les leaders !"})


# --- invitations ------------------------------------------------------------------------------


async def test_leaders_and_core_team_are_invited_once_and_leaving_is_respected(bot: Bot) -> None:
    await _two_communities(bot)
    channel = bot.emulator.workspace.channels[LEADERS]
    await scheduler.tick(bot.deps)
    assert sorted(channel.members) == ["U0CHLOE", "U0LEA", "U0LUCAS", "UBOT"]
    invites = len(bot.emulator.calls_to("conversations.invite"))

    channel.members.remove("U0CHLOE")  # Chloé left the leaders' channel of her own will
    await scheduler.tick(bot.deps)
    assert "U0CHLOE" not in channel.members
    assert len(bot.emulator.calls_to("conversations.invite")) == invites  # nobody asked again

    # someone made leader is invited at once, by the command itself
    response = await bot.slack.command("role <@U0NATHAN> leader", user="U0LEA", channel="C0AGILE")
    assert response.status_code == 200
    await eventually(lambda: "U0NATHAN" in channel.members)
    # a plain member is not
    await bot.slack.command("role <@U0MANON> member", user="U0LEA", channel="C0AGILE")
    await scheduler.tick(bot.deps)
    assert "U0MANON" not in channel.members


@pytest.mark.parametrize("archived", [True, False])
async def test_a_bad_leaders_channel_is_logged_once_without_a_storm(
    database_url: str, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture, archived: bool
) -> None:
    _channel(emulator, archived=archived, bot_in=False)
    config = make_config(database_url, emulator, leaders_channel=LEADERS, rituals=QUIET)
    async with running_bot(config, emulator) as bot:
        await _two_communities(bot)
        with caplog.at_level(logging.WARNING, logger="rituals.leaders_digest"):
            await scheduler.tick(bot.deps)
            await scheduler.tick(bot.deps)
            await scheduler.tick(bot.deps)
        reason = "is_archived" if archived else "not_in_channel"
        warnings = [r for r in caplog.records if "leaders_channel" in r.getMessage()]
        assert len(warnings) == 1 and reason in warnings[0].getMessage()
        assert len(bot.emulator.calls_to("conversations.invite")) == 1  # one try, then it waits
        async with bot.sessions() as session:
            held = await session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == domain.INVITED)
            )
        assert held == 0  # nobody is marked invited: once the channel works, all are


# --- the monthly digest -----------------------------------------------------------------------


def _noon(day: Any) -> datetime:
    return datetime.combine(day, time(12), UTC)


async def _month(bot: Bot, data: Community, agile: Community, due: datetime) -> None:
    """A month of figures: Data Science rose (two active people, more messages), Agilité fell;
    two shareable validated stories, one not shareable, one pending."""
    window = domain.closed_month(due, "Europe/Paris")
    before = window.start - timedelta(days=20)
    day = window.start + timedelta(days=3)
    async with bot.sessions.begin() as session:
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(data.id, "U0LUCAS", day, messages=8),
                activity.Tally(data.id, "U0CHLOE", day, messages=2, replies=3),
                activity.Tally(agile.id, "U0LEA", day, messages=2),
                activity.Tally(data.id, "U0LUCAS", before, messages=3),
                activity.Tally(agile.id, "U0LEA", before, messages=4),
            ],
        )
        session.add(
            Event(
                workspace_id=WORKSPACE,
                community_id=data.id,
                title="Atelier MLOps",
                starts_at=_noon(day),
                tz="Europe/Paris",
            )
        )
        for community, title, shareable, status, amount in (
            (data, "Pipeline MLOps partagé", True, StoryStatus.VALIDATED, "40"),
            (agile, "Rétrospectives outillées", True, StoryStatus.VALIDATED, "12"),
            (data, "Audit confidentiel", False, StoryStatus.VALIDATED, "90"),
            (data, "Brouillon pas encore validé", True, StoryStatus.SUBMITTED, "99"),
        ):
            session.add(
                SuccessStory(
                    workspace_id=WORKSPACE,
                    community_id=community.id,
                    title=title,
                    benefit="deux jours gagnés par mise en production",
                    status=status,
                    shareable=shareable,
                    value_amount=Decimal(amount),
                    value_unit="hours",
                    value_kind=ValueKind.REALISED,
                    created_at=_noon(day),
                    validated_at=_noon(day) if status == StoryStatus.VALIDATED else None,
                )
            )


def _posts(bot: Bot, marker: str) -> list[str]:
    return [
        render_message(message)
        for message in bot.emulator.messages.get(LEADERS, [])
        if marker in render_message(message)
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_monthly_digest_is_posted_once_in_the_programme_language(
    database_url: str, emulator: SlackEmulator, language: str
) -> None:
    _channel(emulator)
    config = make_config(
        database_url, emulator, leaders_channel=LEADERS, rituals=QUIET, language=language
    )
    async with running_bot(config, emulator) as bot:
        data, agile = await _two_communities(bot)
        due = leaders_digest.due_at(
            utcnow() + timedelta(days=31), tz="Europe/Paris", hour=10
        ) + timedelta(minutes=5)
        await _month(bot, data, agile, due)
        # the tick, twice, and a second replica at the same moment: one post
        other = build_deps(config)
        try:
            await scheduler.tick(bot.deps, now=due)
            await asyncio.gather(
                leaders_digest.post_digest(bot.deps, workspace_id=WORKSPACE, now=due),
                leaders_digest.post_digest(other, workspace_id=WORKSPACE, now=due),
            )
            await scheduler.tick(bot.deps, now=due + timedelta(hours=1))
        finally:
            await other.engine.dispose()
        await Drain(bot.deps, rate_per_minute=60000).run_once(now=due + timedelta(hours=1))
        window = domain.closed_month(due, "Europe/Paris")
        title = "Le point mensuel des leaders" if language == "fr" else "Leaders' monthly digest"
        (post,) = _posts(bot, title)
        say = FR if language == "fr" else EN
        colon = " :" if language == "fr" else ":"
        assert str(domain.month_name(window).by_language[language]) in post
        # trends: this month against the last, as /cop health counts them
        assert f"• {say('figure.messages')}{colon} 12 (+5)" in post
        assert f"• {say('figure.events_held')}{colon} 1 (+1)" in post
        assert f"• {say('figure.pulse')}{colon} {say('health.na')}" in post  # no survey: no number
        # the month's stories: validated and shareable only, largest value first, with community
        assert post.index("Pipeline MLOps partagé") < post.index("Rétrospectives outillées")
        assert "Pipeline MLOps partagé* — Data Science · 40" in post
        assert "Audit confidentiel" not in post and "Brouillon" not in post
        # practices that work: Data Science rose (Agilité fell: not named there)
        practices = post.split(say("leaders.practices_title"))[1]
        assert "*Data Science*" in practices and "Agilité" not in practices
        if language == "fr":
            assert "membres actifs : 2 (+1), messages et réponses : 13 (+10)" in practices
            assert "Rituels en place : Accueil des nouveaux" in practices
            assert "1 événement tenu" in practices
            assert "Posez votre question ici, dans ce canal" in post and "`/cop aide`" in post
        else:
            assert "active members: 2 (+1), messages and replies: 13 (+10)" in practices
            assert "1 event held" in practices
            assert "Ask your question here, in this channel" in post and "`/cop help`" in post


async def test_no_digest_before_its_day_nor_weeks_late(bot: Bot) -> None:
    due = leaders_digest.due_at(utcnow() + timedelta(days=31), tz="Europe/Paris", hour=10)
    early = await leaders_digest.post_digest(
        bot.deps, workspace_id=WORKSPACE, now=due - timedelta(hours=1)
    )
    late = await leaders_digest.post_digest(
        bot.deps, workspace_id=WORKSPACE, now=due + timedelta(days=8)
    )
    assert early == late == "not due"


# --- the « animation » checklist --------------------------------------------------------------


async def _event(
    bot: Bot,
    community: Community,
    *,
    title: str,
    organiser: str,
    ended: timedelta,
    status: EventStatus = EventStatus.SCHEDULED,
) -> int:
    async with bot.sessions.begin() as session:
        person = await people.find(session, workspace_id=WORKSPACE, slack_user_id=organiser)
        assert person is not None
        row = Event(
            workspace_id=WORKSPACE,
            community_id=community.id,
            title=title,
            starts_at=utcnow() - ended - timedelta(minutes=60),
            duration_minutes=60,
            tz="Europe/Paris",
            created_by_person_id=person.id,
            status=status,
        )
        session.add(row)
        await session.flush()
        return row.id


ALL_YES = {f"feedback:{item}": "yes" for item in ("objective", "topic", "voice", "exchange")}
ANSWERS = {**ALL_YES, "feedback:time": "no", "feedback:next_step": "partly"}


def _dm(bot: Bot, user: str, marker: str) -> list[dict[str, Any]]:
    return [m for m in bot.emulator.messages.get("D" + user[1:], []) if marker in render_message(m)]


async def test_the_organiser_answers_the_checklist_and_the_compass_hears_it(bot: Bot) -> None:
    data, _ = await _two_communities(bot)
    # Emily (English Slack, a plain member) ran a webinar; Chloé (French) a meeting
    webinar = await _event(
        bot, data, title="MLOps webinar", organiser="U0EMILY", ended=timedelta(hours=1)
    )
    await _event(bot, data, title="Réunion du noyau", organiser="U0CHLOE", ended=timedelta(hours=2))
    await _event(bot, data, title="Vieux meetup", organiser="U0CHLOE", ended=timedelta(days=5))
    await _event(
        bot,
        data,
        title="Annulé",
        organiser="U0CHLOE",
        ended=timedelta(hours=1),
        status=EventStatus.CANCELLED,
    )
    now = utcnow()
    async with bot.sessions.begin() as session:  # the leaders opened a compass round
        await compass.join_or_open(session, workspace_id=WORKSPACE, community_id=data.id, now=now)
    assert await event_feedback.maintain(bot.deps, now=now) == 2
    assert await event_feedback.maintain(bot.deps, now=now + timedelta(minutes=5)) == 0  # once
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=utcnow() + timedelta(minutes=1))

    (fr,) = _dm(bot, "U0CHLOE", "Comment s'est passé « Réunion du noyau » ?")
    assert "check-list « Animation » des guides" in render_message(fr)
    assert not _dm(bot, "U0CHLOE", "Vieux meetup") and not _dm(bot, "U0CHLOE", "Annulé")
    (en,) = _dm(bot, "U0EMILY", "How did “MLOps webinar” go?")

    # someone else replaying Emily's button is refused, and no modal opens
    opened = len(bot.emulator.calls_to("views.open"))
    await bot.slack.click(
        user="U0HUGO", action_id="event_feedback.open", message=("D0EMILY", en["ts"])
    )
    refused = FR("permission.give_event_feedback")
    await eventually(
        lambda: any(refused in render_message(m) for m in bot.emulator.messages.get("D0HUGO", []))
    )
    assert len(bot.emulator.calls_to("views.open")) == opened

    # Emily opens the checklist from her DM and answers
    await bot.slack.click(
        user="U0EMILY", action_id="event_feedback.open", message=("D0EMILY", en["ts"])
    )
    await eventually(lambda: len(bot.emulator.calls_to("views.open")) == opened + 1)
    view = bot.emulator.calls_to("views.open")[-1].response["view"]
    assert view["title"]["text"] == "Animation checklist"
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert EN("feedback.item.voice") in labels and len(labels) == 7
    # a forged replay of her modal by someone else stores nothing
    response = await bot.slack.submit_view(view["id"], user="U0HUGO", values=ANSWERS)
    assert response.status_code == 200
    await eventually(
        lambda: (
            sum(refused in render_message(m) for m in bot.emulator.messages.get("D0HUGO", [])) == 2
        )
    )
    response = await bot.slack.submit_view(view["id"], user="U0EMILY", values=ANSWERS)
    assert response.status_code == 200

    def updated() -> list[Any]:
        return [
            c for c in bot.emulator.calls_to("chat.update") if c.params.get("channel") == "D0EMILY"
        ]

    (update,) = await eventually(updated)
    thanks = render_message(dict(update.params))
    assert "Thank you! Your answers on “MLOps webinar” are saved." in thanks
    assert (
        f"❌ {EN('feedback.item.time')}" in thanks
        and f"🟨 {EN('feedback.item.next_step')}" in thanks
    )
    async with bot.sessions() as session:
        rows = list(await session.scalars(sa.select(EventFeedback)))
        assert len(rows) == 1 and rows[0].event_id == webinar
        assert rows[0].answers["time"] == "no"
        found = await compass.result(session, community_id=data.id, now=utcnow())
    assert found is not None and found.feedback
    medians = found.medians()
    assert medians["members"] == 4.0  # « everyone could speak »: yes
    assert medians["animation"] == 2.5  # objective yes (4), time kept no (1)
    assert medians["governance"] is None  # no item informs it


async def test_a_leaders_channel_named_by_its_name_is_found(
    database_url: str, emulator: SlackEmulator
) -> None:
    channel = _channel(emulator)
    config = make_config(database_url, emulator, leaders_channel="#cop-leaders", rituals=QUIET)
    async with running_bot(config, emulator) as bot:
        await _two_communities(bot)
        await scheduler.tick(bot.deps)
    assert sorted(channel.members) == ["U0CHLOE", "U0LEA", "U0LUCAS", "UBOT"]


async def test_no_checklist_in_a_closed_community_nor_for_an_organiser_who_muted_it(
    bot: Bot,
) -> None:
    data, agile = await _two_communities(bot)
    await _event(bot, agile, title="Rétro d'équipe", organiser="U0LEA", ended=timedelta(hours=1))
    await _event(bot, data, title="Atelier", organiser="U0CHLOE", ended=timedelta(hours=1))
    async with bot.sessions.begin() as session:
        row = await session.get(Community, agile.id)
        assert row is not None
        row.status = CommunityStatus.CLOSED
    # Chloé turns the checklist off herself, in French
    answer = await command_answer(bot, "sourdine retours off", user="U0CHLOE", channel="C0DATA")
    assert answer
    assert await event_feedback.maintain(bot.deps) == 0
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=utcnow() + timedelta(minutes=1))
    assert not _dm(bot, "U0LEA", "Rétro") and not _dm(bot, "U0CHLOE", "Atelier")


async def test_the_french_organiser_reads_her_thanks_and_finds_her_answers_again(bot: Bot) -> None:
    data, _ = await _two_communities(bot)
    await _event(bot, data, title="Réunion du noyau", organiser="U0CHLOE", ended=timedelta(hours=1))
    await event_feedback.maintain(bot.deps)
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=utcnow() + timedelta(minutes=1))
    (asked,) = _dm(bot, "U0CHLOE", "Réunion du noyau")
    for round_ in (1, 2):
        before = len(bot.emulator.calls_to("views.open"))
        await bot.slack.click(
            user="U0CHLOE", action_id="event_feedback.open", message=("D0CHLOE", asked["ts"])
        )
        await eventually(lambda n=before + 1: len(bot.emulator.calls_to("views.open")) == n)
        view = bot.emulator.calls_to("views.open")[-1].response["view"]
        assert view["title"]["text"] == "Check-list Animation"
        if round_ == 2:  # her earlier answers are there to change
            picked = {
                b["block_id"]: (b["element"].get("initial_option") or {}).get("value")
                for b in view["blocks"]
                if b["type"] == "input" and b["block_id"].startswith("feedback:")
            }
            assert picked["feedback:time"] == "no"
        # a missing answer is refused in the modal itself
        if round_ == 1:
            partial = {k: v for k, v in ANSWERS.items() if k != "feedback:voice"}
            refused = await bot.slack.submit_view(view["id"], user="U0CHLOE", values=partial)
            assert refused.json()["errors"] == {"feedback:voice": FR("feedback.answer_each")}
        values = dict(ANSWERS) if round_ == 1 else {**ANSWERS, "feedback:time": "yes"}
        await bot.slack.submit_view(view["id"], user="U0CHLOE", values=values)
        await eventually(lambda n=round_: _updates(bot, "D0CHLOE") == n)
    thanks = render_message(bot.emulator.find_message("D0CHLOE", asked["ts"]) or {})
    assert "Merci ! Vos réponses sur « Réunion du noyau » sont enregistrées." in thanks
    assert f"✅ {FR('feedback.item.time')}" in thanks and FR("feedback.changed") in thanks
    async with bot.sessions() as session:
        rows = list(await session.scalars(sa.select(EventFeedback)))
        assert len(rows) == 1 and rows[0].answers["time"] == "yes"  # changed, not doubled
        exported = await privacy.export(session, workspace_id=WORKSPACE, slack_user_id="U0CHLOE")
    assert exported["event_feedback"][0]["answers"]["time"] == "yes"


def _updates(bot: Bot, channel: str) -> int:
    return len([c for c in bot.emulator.calls_to("chat.update") if c.params["channel"] == channel])
