"""Microsoft Teams, the pulse poll (issue 17): members answer the poll in their 1:1 chat with the
bot by its buttons (Action.Execute), recorded as on Slack — under unlinkable ballots, a second
click changing the answer, a closed poll refusing — and the leaders' results go through the
same disclosure rule: hidden below the threshold, shown above it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot import messages as m
from bot import people, polls
from bot.config import as_plain
from bot.models import Delivery, Outbox, Poll, PollResponse, utcnow
from bot.teams import render
from bot.teams.edge import TeamsEdge
from bot.teams.emulator import CHANNEL, Member, TeamsEmulator, card_errors
from rituals import pulse
from tests import factories
from tests.catalogue import ANY, FR, shows
from tests.conftest import TeamsBot, eventually
from tests.test_teams_event import texts

Json = dict[str, Any]
READER = m.Reader("fr", "Europe/Paris")


async def open_poll(teams_bot: TeamsBot, community_id: int, period: str) -> Poll:
    """The period's poll, through the domain, asked of every member (as rituals.pulse.run)."""
    deps = teams_bot.bot.deps
    teams = teams_bot.teams
    questions = [
        pulse.for_cadence(as_plain(q), "monthly") for q in deps.programme.rituals.pulse.questions
    ]
    async with deps.sessions.begin() as session:
        poll, _ = await polls.open_poll(
            session,
            workspace_id=teams.tenant_id,
            community_id=community_id,
            period_key=period,
            questions=questions,
            delivery=Delivery.DM,
            open_days=7,
            share_summary=False,
            now=utcnow(),
        )
        ids = [
            p.id
            for member in teams.members
            if (
                p := await people.find(
                    session, workspace_id=teams.tenant_id, slack_user_id=member.id
                )
            )
        ]
        await polls.add_deliveries(session, poll=poll, person_ids=ids, now=utcnow())
    return poll


async def post_in_1to1(edge: TeamsEdge, teams: TeamsEmulator, member: Member, body: Json) -> str:
    """A 1:1 conversation with the member, opened with this activity, through the Connector.
    Provisional: until the outbox delivers to Teams (another engineer's work), the test posts
    `bot.teams.render.activity(message, reader)` itself — the lead switches this at merge."""
    created = await edge.connector(
        "POST",
        f"{teams.service_url}v3/conversations",
        {
            "bot": {"id": f"28:{teams.app_id}"},
            "members": [{"id": member.id}],
            "tenantId": teams.tenant_id,
            "isGroup": False,
            "activity": body,
        },
    )
    return str(created["id"])


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
    edge = TeamsEdge(deps.config.settings)
    try:
        # --- a poll two members answer: below the threshold
        poll = await open_poll(teams_bot, community.id, "2026-11")
        message = pulse.poll_message(
            poll_id=poll.id,
            community=community.name,
            questions=poll.questions,
            closes_at=poll.closes_at,
        )
        chats = {
            member.id: await post_in_1to1(edge, teams, member, render.activity(message, READER))
            for member in teams.members
        }
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
                await session.scalars(
                    sa.select(PollResponse).where(PollResponse.poll_id == poll.id)
                )
            ).all()
            salt = (await session.get(Poll, poll.id)).ballot_salt  # type: ignore[union-attr]
            ids = {
                member.id: (
                    await people.find(
                        session, workspace_id=teams.tenant_id, slack_user_id=member.id
                    )
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
                await session.scalars(
                    sa.select(PollResponse).where(PollResponse.poll_id == poll.id)
                )
            ).all()
        assert len(after) == 4 and not {r.ballot for r in after} & set(ballot_of)
        assert result.respondents == 2

        # a click on a closed poll says so, and records nothing
        late = await teams_bot.ask(click(teams, card, "pulse_answer:value:1", chats[ana.id], ana))
        assert FR("polls.closed") in texts(late["value"])
        assert card_errors(late["value"]) == []

        # the leaders' results (owed at close, as on Slack): below the threshold, no figures
        report = await results_card(teams_bot, edge, poll, leader)
        assert shows(texts(report), FR, "polls.results_title", community="Data Science", period=ANY)
        assert shows(texts(report), FR, "polls.question_too_few", answers="2", min="5")
        assert "Moyenne" not in texts(report)

        # --- a poll every member answers: above the threshold, the figures show
        poll2 = await open_poll(teams_bot, community.id, "2026-12")
        message2 = pulse.poll_message(
            poll_id=poll2.id,
            community=community.name,
            questions=poll2.questions,
            closes_at=poll2.closes_at,
        )
        for score, member in enumerate(teams.members, start=1):
            chat = await post_in_1to1(edge, teams, member, render.activity(message2, READER))
            card2 = teams.cards(chat)[-1]
            verb = f"pulse_answer:value:{score}"
            got = await teams_bot.ask(click(teams, card2, verb, chat, member))
            assert shows(
                texts(got["value"]), FR, "teams.pulse.your_answer", score=str(score), question=ANY
            )
        async with deps.sessions.begin() as session:
            row = await session.get(Poll, poll2.id)
            assert row is not None
            await pulse.close_and_report(deps, session=session, poll=row, now=utcnow())
        report = await results_card(teams_bot, edge, poll2, leader)
        assert FR("polls.results_mean", mean="3", answers="5").replace("*", "") in texts(
            report
        ).replace("*", "")
        assert teams.card_problems == []
    finally:
        await edge.aclose()


async def results_card(teams_bot: TeamsBot, edge: TeamsEdge, poll: Poll, leader: Member) -> Json:
    """The results the outbox owes the leader, rendered for Teams and put in their 1:1 (as the
    outbox will, once it delivers to Teams)."""
    deps = teams_bot.bot.deps
    teams = teams_bot.teams
    async with deps.sessions() as session:
        person = await people.find(session, workspace_id=teams.tenant_id, slack_user_id=leader.id)
        assert person is not None
        owed = await session.scalar(
            sa.select(Outbox).where(
                Outbox.idempotency_key == f"pulse_results:{poll.id}:{person.id}"
            )
        )
    assert owed is not None
    message = m.load(owed.payload["message"])
    reader = m.Reader(**owed.payload["reader"])
    chat = await post_in_1to1(edge, teams, leader, render.activity(message, reader))
    card = (await eventually(lambda: teams.cards(chat)))[-1]
    assert card_errors(card) == []
    return card
