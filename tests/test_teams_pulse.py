"""Microsoft Teams, the pulse poll (issue 17): members answer the poll in their 1:1 chat with the
bot by its buttons (Action.Execute), recorded as on Slack — under unlinkable ballots, a second
click changing the answer, a closed poll refusing — and the leaders' results go through the
same disclosure rule: hidden below the threshold, shown above it."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot import people, polls
from bot.app import build_deps, close_teams
from bot.config import Programme
from bot.deps import Deps
from bot.models import Person, Poll, PollResponse, Ritual, utcnow
from bot.teams import conversations
from bot.teams.emulator import CHANNEL, Member, TeamsEmulator, card_errors
from rituals import pulse, scheduler
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import ANY, FR, shows
from tests.conftest import TeamsBot, eventually
from tests.test_teams_event import texts

Json = dict[str, Any]
NEXT_MONTH = timedelta(days=32)


@contextlib.asynccontextmanager
async def ritual_deps(tb: TeamsBot, programme: Programme | None = None) -> AsyncIterator[Deps]:
    """The composition root's deps (build_deps: Slack and Teams behind one messenger), as the
    scheduler and the outbox drain run with them: quiet hours off, app.yaml's programme or
    another one (app.yaml changed since the bot started)."""
    config = tb.bot.deps.config
    settings = dataclasses.replace(config.settings, quiet_hours=False)
    deps = build_deps(
        dataclasses.replace(config, settings=settings, programme=programme or config.programme)
    )
    try:
        yield deps
    finally:
        await close_teams(deps)
        await deps.engine.dispose()


async def pulse_sent(
    tb: TeamsBot, community_id: int, *, now: datetime, programme: Programme | None = None
) -> tuple[Poll, dict[str, str]]:
    """The pulse ritual run for the community (its period as of `now`) and the outbox drained:
    the poll, and each member's 1:1 chat where its card arrived (one the bot opened)."""
    async with tb.bot.sessions.begin() as session:
        # the channel's reference, as Teams gives it with the bot's installation in the team
        # (the `before` listener keeps them; here straight from the activity)
        found = conversations.from_activity(tb.teams.message("aide", conversation=CHANNEL))
        assert found is not None
        await conversations.remember(session, **found)
    async with ritual_deps(tb, programme) as deps:
        await scheduler.run_now(deps, ritual=Ritual.PULSE, community_id=community_id, now=now)
        await Drain(deps).run_once(now=max(now, utcnow()))  # the rows are due when enqueued
    async with tb.bot.sessions() as session:
        poll = await session.scalar(
            sa.select(Poll).where(Poll.community_id == community_id).order_by(Poll.id.desc())
        )
        rows = await session.execute(
            sa.select(Person.slack_user_id, Person.dm_channel_id).where(
                Person.workspace_id == tb.teams.tenant_id, Person.dm_channel_id.is_not(None)
            )
        )
        chats = {str(user): str(chat) for user, chat in rows}
    assert poll is not None
    return poll, chats


async def results_card(tb: TeamsBot, chat: str) -> Json:
    """The results a closed poll owes the leaders, delivered by the outbox drain in the leader's
    1:1 chat: the last of them."""
    async with ritual_deps(tb) as deps:
        await Drain(deps).run_once()
    card = (await eventually(lambda: results_in(tb.teams, chat)))[-1]
    assert card_errors(card) == []
    return card


def results_in(teams: TeamsEmulator, chat: str) -> list[Json]:
    return [
        c
        for c in teams.cards(chat)
        if shows(texts(c), FR, "polls.results_title", community=ANY, period=ANY)
    ]


def click(teams: TeamsEmulator, card: Json, verb: str, conversation: str, member: Member) -> Json:
    found = next(
        a
        for b in card["body"]
        if b.get("type") == "ActionSet"
        for a in b["actions"]
        if a.get("verb") == verb
    )
    return teams.execute(found, conversation=conversation, member=member)


async def test_members_answer_the_pulse_in_their_1to1_anonymously(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    deps = teams_bot.bot.deps
    leader = teams.members[0]
    community = await factories.community(
        deps.sessions,
        workspace_id=teams.tenant_id,
        channel=CHANNEL,
        name="Data Science",
        tz="Europe/Paris",
        members=tuple(m.id for m in teams.members),
        leaders=(leader.id,),
    )
    # --- a poll two members answer: below the threshold
    poll, chats = await pulse_sent(teams_bot, community.id, now=utcnow())
    assert set(chats) == {member.id for member in teams.members}  # each in their 1:1
    ana, bob = teams.members[1], teams.members[2]
    card = teams.cards(chats[ana.id])[0]
    assert card_errors(card) == []
    assert FR("polls.title", community="Data Science") in texts(card)

    got = await teams_bot.ask(click(teams, card, "pulse_answer:value:4", chats[ana.id], ana))
    assert got["statusCode"] == 200
    mine = got["value"]
    assert card_errors(mine) == []
    assert shows(texts(mine), FR, "teams.pulse.your_answer", score="4", question=ANY)
    assert "La communauté m'a été utile ce mois-ci" in texts(mine)
    # the refreshed card still says how to pause the polls, as the one the ritual sent
    assert "@cop sourdine" in texts(card) and "@cop sourdine" in texts(mine)
    # a second click changes the answer, never counts twice
    got = await teams_bot.ask(click(teams, card, "pulse_answer:value:5", chats[ana.id], ana))
    assert shows(texts(got["value"]), FR, "teams.pulse.your_answer", score="5", question=ANY)
    await teams_bot.ask(click(teams, card, "pulse_answer:value:2", chats[bob.id], bob))
    await teams_bot.ask(click(teams, card, "pulse_answer:recommend:9", chats[bob.id], bob))

    # the comment box opens in the card; an empty comment is refused, what was typed kept
    box = await teams_bot.ask(click(teams, card, "pulse_comment", chats[ana.id], ana))
    form = box["value"]
    assert card_errors(form) == []
    field = next(b for b in form["body"] if b.get("type") == "Input.Text")
    assert field["label"] == FR("polls.comment_label")
    empty = await teams_bot.ask(click(teams, form, "pulse_comment_send", chats[ana.id], ana))
    assert FR("polls.empty_comment") in texts(empty["value"])
    words = "Plus d'ateliers *pratiques*"
    sent = click(teams, form, "pulse_comment_send", chats[ana.id], ana)
    sent["value"]["action"]["data"]["comment"] = words
    thanks = await teams_bot.ask(sent)
    assert FR("polls.comment_thanks") in texts(thanks["value"])
    assert card_errors(thanks["value"]) == []

    async with deps.sessions() as session:
        rows = (
            await session.scalars(sa.select(PollResponse).where(PollResponse.poll_id == poll.id))
        ).all()
        salt = (await session.get(Poll, poll.id)).ballot_salt  # type: ignore[union-attr]
        ids = {
            member.id: (
                await people.find(session, workspace_id=teams.tenant_id, slack_user_id=member.id)
            ).id  # type: ignore[union-attr]
            for member in teams.members
        }
    assert sorted((r.question_key, r.score, r.comment or "") for r in rows) == [
        ("comment", None, words),
        ("recommend", 9, ""),
        ("value", 2, ""),
        ("value", 5, ""),
    ]
    # an answer names no one: its ballot needs the key outside the database
    assert {c.name for c in PollResponse.__table__.columns} == {
        "id",
        "workspace_id",
        "poll_id",
        "ballot",
        "question_key",
        "score",
        "comment",
    }
    assert salt is not None
    ballot_of = {polls.ballot(deps.ballot_key, salt, pid): uid for uid, pid in ids.items()}
    # while the poll is open, only the key (outside the database) links a ballot to a member
    assert {ballot_of[r.ballot] for r in rows} == {ana.id, bob.id}

    # the poll closes: the answers are shuffled under fresh ballots, linked to no one
    async with deps.sessions.begin() as session:
        row = await session.get(Poll, poll.id)
        assert row is not None
        result = await pulse.close_and_report(deps, session=session, poll=row, now=utcnow())
    async with deps.sessions() as session:
        after = (
            await session.scalars(sa.select(PollResponse).where(PollResponse.poll_id == poll.id))
        ).all()
    assert len(after) == 4 and not {r.ballot for r in after} & set(ballot_of)
    assert result.respondents == 2

    # a click on a closed poll says so, and records nothing
    late = await teams_bot.ask(click(teams, card, "pulse_answer:value:1", chats[ana.id], ana))
    assert FR("polls.closed") in texts(late["value"])
    assert card_errors(late["value"]) == []

    # the leaders' results (owed at close, as on Slack): below the threshold, no figures
    report = await results_card(teams_bot, chats[leader.id])
    assert shows(texts(report), FR, "polls.results_title", community="Data Science", period=ANY)
    assert shows(texts(report), FR, "polls.question_too_few", answers="2", min="5")
    assert "Moyenne" not in texts(report)

    # --- a poll every member answers: above the threshold, the figures show
    # (next month's, with the same 1:1 chats)
    poll2, chats2 = await pulse_sent(teams_bot, community.id, now=utcnow() + NEXT_MONTH)
    assert poll2.id != poll.id and chats2 == chats
    for score, member in enumerate(teams.members, start=1):
        chat = chats[member.id]
        card2 = teams.cards(chat)[-1]
        assert card2 != card
        verb = f"pulse_answer:value:{score}"
        got = await teams_bot.ask(click(teams, card2, verb, chat, member))
        assert shows(
            texts(got["value"]), FR, "teams.pulse.your_answer", score=str(score), question=ANY
        )
    async with deps.sessions.begin() as session:
        row = await session.get(Poll, poll2.id)
        assert row is not None
        await pulse.close_and_report(deps, session=session, poll=row, now=utcnow())
    report = await results_card(teams_bot, chats[leader.id])
    assert FR("polls.results_mean", mean="3", answers="5").replace("*", "") in texts(
        report
    ).replace("*", "")
    assert teams.card_problems == []


async def test_an_answer_to_a_question_app_yaml_dropped_since_the_poll_opened_still_lands(
    teams_bot: TeamsBot,
) -> None:
    """The score buttons are routed by their prefix, not by the questions app.yaml has now: a
    poll keeps the questions it was asked with, and its answers land until it closes."""
    teams = teams_bot.teams
    deps = teams_bot.bot.deps
    community = await factories.community(
        deps.sessions,
        workspace_id=teams.tenant_id,
        channel=CHANNEL,
        name="Data Science",
        tz="Europe/Paris",
        members=tuple(m.id for m in teams.members),
        leaders=(teams.members[0].id,),
    )
    # the poll opened while app.yaml asked one more question; the bot runs without it since
    earlier = deps.programme.model_dump()
    earlier["rituals"]["pulse"]["questions"].append(
        {
            "key": "pace",
            "kind": "scale",
            "min": 1,
            "max": 5,
            "text": {
                "fr": "Le rythme des rencontres me convient",
                "en": "The pace of meetings suits me",
            },
        }
    )
    asked_with = Programme.model_validate(earlier)
    assert "pace" not in {q.key for q in deps.programme.rituals.pulse.questions}
    poll, chats = await pulse_sent(teams_bot, community.id, now=utcnow(), programme=asked_with)
    ana = teams.members[1]
    card = teams.cards(chats[ana.id])[-1]
    assert "Le rythme des rencontres me convient" in texts(card)

    got = await teams_bot.ask(click(teams, card, "pulse_answer:pace:4", chats[ana.id], ana))
    assert got["statusCode"] == 200
    assert shows(
        texts(got["value"]),
        FR,
        "teams.pulse.your_answer",
        score="4",
        question="Le rythme des rencontres me convient",
    )

    # a button for a question the poll never asked (forged): said so, nothing recorded
    forged = click(teams, card, "pulse_answer:pace:4", chats[ana.id], ana)
    forged["value"]["action"]["verb"] = "pulse_answer:gone:4"
    forged["value"]["action"]["data"]["value"] = f"{poll.id}|gone|4"
    refused = await teams_bot.ask(forged)
    assert FR("polls.bad_answer") in texts(refused["value"])
    assert card_errors(refused["value"]) == []

    async with deps.sessions() as session:
        rows = (
            await session.scalars(sa.select(PollResponse).where(PollResponse.poll_id == poll.id))
        ).all()
    assert [(r.question_key, r.score) for r in rows] == [("pace", 4)]
