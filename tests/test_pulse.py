"""Pulse polls end to end: DMs in each member's language, anonymous answers that can change until
close, one reminder, results for leaders (eNPS, no breakdown under the threshold), muting."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot import polls
from bot.models import Community, Person, Poll, PollDelivery, PollResponse, Ritual
from rituals import pulse, scheduler
from rituals.outbox import Drain, enqueue
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import Bot, eventually

CHANNEL_MEMBERS = ("U0CAMILLE", "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY")


async def _open(bot: Bot) -> Community:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",)
    )
    await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    return community


async def _poll(bot: Bot) -> Poll:
    async with bot.sessions() as session:
        poll = await session.scalar(sa.select(Poll))
    assert poll is not None
    return poll


def _dm(bot: Bot, user: str, index: int = -1) -> dict:
    return bot.emulator.messages["D" + user[1:]][index]


async def _click(bot: Bot, user: str, action_id: str) -> str:
    before = len(bot.emulator.responses)
    message = _dm(bot, user, 0)
    await bot.slack.click(user=user, action_id=action_id, message=("D" + user[1:], message["ts"]))
    replies = await eventually(lambda: bot.emulator.responses[before:])
    return str(replies[-1]["text"])


async def _drain(bot: Bot) -> None:
    await Drain(bot.deps, rate_per_minute=60000).run_once()


async def test_members_get_the_poll_in_their_language_and_answer_anonymously(bot: Bot) -> None:
    await _open(bot)
    lucas, emily = _dm(bot, "U0LUCAS"), _dm(bot, "U0EMILY")
    assert lucas["text"] == "Sondage pulse — Data Science"
    assert shows(str(lucas["blocks"]), FR, "polls.intro", community="Data Science", closes=ANY)
    assert emily["text"] == "Pulse poll — Data Science"
    assert "Would you recommend" in str(emily["blocks"])  # the question as configured (config.py)
    assert FR("polls.thanks", score=4) in await _click(bot, "U0LUCAS", "pulse_answer:value:4")
    assert EN("polls.thanks", score=2) in await _click(bot, "U0EMILY", "pulse_answer:value:2")
    # Lucas changes his mind: one answer, the new one
    assert FR("polls.thanks", score=5) in await _click(bot, "U0LUCAS", "pulse_answer:value:5")
    poll = await _poll(bot)
    async with bot.sessions() as session:
        scores = sorted(await session.scalars(sa.select(PollResponse.score)))
        waiting = await polls.not_answered(session, key=bot.deps.ballot_key, poll=poll)
        names = dict((await session.execute(sa.select(Person.id, Person.slack_user_id))).all())
    assert scores == [2, 5]
    assert sorted(names[p] for p in waiting) == ["U0CAMILLE", "U0CHLOE", "U0HUGO"]
    # answers are stored apart from who answered, with nothing that tells when
    assert not {"person_id", "answered_on", "created_at"} & set(
        PollResponse.__table__.columns.keys()
    )
    assert "answered_at" not in PollDelivery.__table__.columns


async def test_one_reminder_goes_only_to_those_who_have_not_answered(bot: Bot) -> None:
    await _open(bot)
    await _click(bot, "U0LUCAS", "pulse_answer:recommend:9")
    poll = await _poll(bot)
    later = poll.opens_at + timedelta(days=3, minutes=1)
    await pulse.maintain(bot.deps, now=later)
    await pulse.maintain(bot.deps, now=later + timedelta(hours=1))  # not twice
    await _drain(bot)
    assert len(bot.emulator.messages["D0LUCAS"]) == 1
    for user in ("U0CAMILLE", "U0CHLOE", "U0HUGO", "U0EMILY"):
        texts = [m["text"] for m in bot.emulator.messages["D" + user[1:]]]
        assert len(texts) == 2, user
    assert _dm(bot, "U0CHLOE")["text"] == FR("polls.reminder_title", community="Data Science")
    assert _dm(bot, "U0EMILY")["text"] == EN("polls.reminder_title", community="Data Science")


async def test_results_reach_the_leaders_with_enps_and_the_salt_is_wiped(bot: Bot) -> None:
    await _open(bot)
    for user, value, recommend in zip(
        CHANNEL_MEMBERS, (5, 4, 4, 3, 5), (10, 9, 7, 3, 10), strict=True
    ):
        await _click(bot, user, f"pulse_answer:value:{value}")
        await _click(bot, user, f"pulse_answer:recommend:{recommend}")
    poll = await _poll(bot)
    await pulse.maintain(bot.deps, now=poll.closes_at + timedelta(minutes=1))
    await _drain(bot)
    results = _dm(bot, "U0CAMILLE")
    assert shows(results["text"], FR, "polls.results_title", community="Data Science", period=ANY)
    body = str(results["blocks"])
    assert shows(body, FR, "polls.results_rate", respondents=5, asked=5, rate=ANY)
    assert FR("polls.results_mean", mean=FR.number(4.2, 1), answers=5) in body
    assert FR("polls.results_enps", enps=40, answers=5) in body  # 3 promoters, 1 detractor of 5
    poll = await _poll(bot)
    assert poll.ballot_salt is None and poll.status == "closed"
    # too late to answer now
    assert FR("polls.closed") in await _click(bot, "U0LUCAS", "pulse_answer:value:1")


async def test_under_the_threshold_a_question_shows_no_result(bot: Bot) -> None:
    """The threshold holds per question: five answered the first question, one the second."""
    await _open(bot)
    for user, value in zip(CHANNEL_MEMBERS, (5, 4, 4, 3, 5), strict=True):
        await _click(bot, user, f"pulse_answer:value:{value}")
    await _click(bot, "U0LUCAS", "pulse_answer:recommend:0")
    poll = await _poll(bot)
    await pulse.maintain(bot.deps, now=poll.closes_at + timedelta(minutes=1))
    await _drain(bot)
    body = str(_dm(bot, "U0CAMILLE")["blocks"])
    assert FR("polls.results_mean", mean=FR.number(4.2, 1), answers=5) in body
    assert FR("polls.question_too_few", answers=1, min=5) in body
    assert "eNPS" not in body and "-100" not in body


async def test_a_comment_is_written_in_a_modal(bot: Bot) -> None:
    await _open(bot)
    message = _dm(bot, "U0HUGO", 0)
    await bot.slack.click(
        user="U0HUGO", action_id="pulse_comment", message=("D0HUGO", message["ts"])
    )
    view_id = (await eventually(lambda: list(bot.emulator.views)))[-1]
    await bot.slack.submit_view(view_id, user="U0HUGO", values={"comment": "Plus d'ateliers, svp"})

    async def comment() -> str | None:
        async with bot.sessions() as session:
            return await session.scalar(sa.select(PollResponse.comment))

    assert await eventually(comment) == "Plus d'ateliers, svp"


async def test_a_member_who_muted_the_pulse_is_not_asked_and_can_undo_it(bot: Bot) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator)
    before = len(bot.emulator.responses)
    await bot.slack.command("sourdine sondage 30", user="U0LUCAS", channel="C0DATA")
    reply = (await eventually(lambda: bot.emulator.responses[before:]))[-1]["text"]
    assert shows(reply, FR, "rituals.snoozed", ritual=FR("rituals.name.pulse"), until=ANY)
    await bot.slack.command("mute pulse off", user="U0EMILY", channel="C0DATA")
    reply = (await eventually(lambda: bot.emulator.responses[before + 1 :]))[-1]["text"]
    assert EN("rituals.muted_for_good", ritual=EN("rituals.name.pulse")) in reply
    await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    await _drain(bot)
    assert "D0LUCAS" not in bot.emulator.messages and "D0EMILY" not in bot.emulator.messages
    assert "D0CHLOE" in bot.emulator.messages
    await bot.slack.command("mute pulse on", user="U0EMILY", channel="C0DATA")
    reply = (await eventually(lambda: bot.emulator.responses[before + 2 :]))[-1]["text"]
    assert EN("rituals.unmuted", ritual=EN("rituals.name.pulse")) in reply


async def test_a_leader_allows_a_summary_in_the_channel(bot: Bot) -> None:
    await _open(bot)
    before = len(bot.emulator.responses)
    await bot.slack.command("rituals", user="U0CAMILLE", channel="C0DATA")
    screen = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert FR("rituals.summary_off") in str(screen["blocks"])
    bot.emulator.add_message("C0DATA", user="UBOT", text=screen["text"], blocks=screen["blocks"])
    ts = bot.emulator.messages["C0DATA"][-1]["ts"]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user="U0CAMILLE", action_id="rituals_summary:pulse", message=("C0DATA", ts)
    )
    updated = (await eventually(lambda: bot.emulator.responses[before:]))[-1]
    assert FR("rituals.summary_on") in str(updated["blocks"])
    for user in CHANNEL_MEMBERS:
        await _click(bot, user, "pulse_answer:value:4")
    poll = await _poll(bot)
    await pulse.maintain(bot.deps, now=poll.closes_at + timedelta(minutes=1))
    await _drain(bot)
    summary = bot.emulator.messages["C0DATA"][-1]["text"]
    assert summary.startswith(FR("polls.summary", community="Data Science", respondents=5))
    assert FR("polls.summary_mean", mean=FR.number(4, 1), max=FR.number(5)) in summary


async def test_the_weekly_cap_on_ritual_dms_leaves_out_whoever_had_enough(bot: Bot) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator)
    async with bot.sessions.begin() as session:
        lucas = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == "U0LUCAS"))
        for i in range(3):  # app.yaml: dm_cap_per_week = 3
            await enqueue(
                session,
                workspace_id="T0COP",
                key=f"earlier-{i}",
                kind="reminder",
                text="…",
                person_id=lucas,
            )
    detail = await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    assert detail.endswith("1 left out")
    async with bot.sessions() as session:
        asked = set(await session.scalars(sa.select(PollDelivery.person_id)))
    assert lucas not in asked and len(asked) == 4


async def test_an_active_only_audience_leaves_the_silent_members_out(bot: Bot) -> None:
    from datetime import UTC, datetime

    from bot.models import ActivityDaily, RitualSetting

    community = await factories.community(bot.sessions, emulator=bot.emulator)
    async with bot.sessions.begin() as session:
        ids = dict((await session.execute(sa.select(Person.slack_user_id, Person.id))).all())
        for user in ("U0LUCAS", "U0EMILY"):  # active this month; the other three said nothing
            session.add(
                ActivityDaily(
                    workspace_id="T0COP",
                    community_id=community.id,
                    person_id=ids[user],
                    day=datetime.now(UTC).date() - timedelta(days=3),
                    messages=2,
                )
            )
    await scheduler.run_now(
        bot.deps, ritual=Ritual.PULSE, community_id=community.id
    )  # settings exist
    async with bot.sessions.begin() as session:
        await session.execute(sa.delete(PollDelivery))
        await session.execute(sa.delete(Poll))
        setting = await session.scalar(
            sa.select(RitualSetting).where(RitualSetting.ritual == Ritual.PULSE)
        )
        assert setting is not None
        setting.options = {**setting.options, "audience": "active"}
    detail = await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    assert detail.endswith("3 left out")
    async with bot.sessions() as session:
        asked = set(await session.scalars(sa.select(PollDelivery.person_id)))
    assert asked == {ids["U0LUCAS"], ids["U0EMILY"]}
