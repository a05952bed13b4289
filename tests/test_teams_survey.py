"""The annual survey in Microsoft Teams: the invitation delivered by the real outbox in each
member's 1:1 chat, its « Répondre » button (Action.Execute) turning the card into the
questionnaire, answers checked and recorded as on Slack — under unlinkable ballots, a second
sending replacing the first, a closed survey refusing — and the leaders' results through the
same disclosure rule: hidden below the threshold."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot import polls, survey
from bot.models import Person, Poll, PollResponse, utcnow
from bot.teams import conversations
from bot.teams.cards.survey import FIELD, SEND
from bot.teams.emulator import CHANNEL, Member, TeamsEmulator, card_errors
from rituals import survey as ritual
from rituals.outbox import Drain
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import TeamsBot, eventually
from tests.teams_data import teams_community
from tests.test_teams_pulse import ritual_deps

Json = dict[str, Any]
EVERY_KIND = {
    "participation": "1",  # single: the option's index
    "activities": "0,2",  # multiple: options 0 and 2, as Teams sends a multi-select
    "belonging": "4",  # scale 1–5
    "usefulness": "5",
    "nps": "9",  # NPS 0–10 (a drop-down)
    "gains": "1",
    "example": "J'ai trouvé un **binôme** <at>Sam</at>",
}


def texts(card: Json) -> str:
    """What a card says: its texts, labels and button titles, one per line (nested too)."""
    parts: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for each in item:
                walk(each)
        elif isinstance(item, dict):
            for key in ("text", "label", "title"):
                if isinstance(item.get(key), str):
                    parts.append(item[key])
            for key in ("body", "items", "columns", "actions", "choices"):
                walk(item.get(key, []))

    walk(card)
    return "\n".join(parts)


def actions(card: Json) -> list[Json]:
    found: list[Json] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for each in item:
                walk(each)
        elif isinstance(item, dict):
            if item.get("type") == "Action.Execute":
                found.append(item)
            for key in ("body", "items", "columns", "actions"):
                walk(item.get(key, []))

    walk(card)
    return found


def inputs(card: Json) -> dict[str, Any]:
    return {b["id"]: b.get("value") for b in card["body"] if b.get("type", "").startswith("Input.")}


def click(
    teams: TeamsEmulator, card: Json, verb: str, chat: str, member: Member, **typed: str
) -> Json:
    [action] = [a for a in actions(card) if a.get("verb") == verb]
    return teams.execute(action, conversation=chat, member=member, inputs=typed or None)


def answers(values: dict[str, str]) -> dict[str, str]:
    return {FIELD + key: value for key, value in values.items()}


async def survey_sent(tb: TeamsBot) -> None:
    """This year's survey opened, and the invitations delivered by the outbox drain in each
    member's 1:1 chat (one the bot opens, from the channel's reference Teams gave it)."""
    teams = tb.teams
    async with tb.bot.sessions.begin() as session:
        found = conversations.from_activity(teams.message("aide", conversation=CHANNEL))
        assert found is not None
        await conversations.remember(session, **found)
    async with ritual_deps(tb) as deps:
        await ritual.open_campaign(deps, workspace_id=teams.tenant_id, now=utcnow())
        await Drain(deps).run_once(now=utcnow())


async def refreshed(tb: TeamsBot, activity: Json) -> Json:
    got = await tb.ask(activity)
    assert got["statusCode"] == 200
    card: Json = got["value"]
    assert card_errors(card) == []
    return card


async def test_members_answer_the_survey_in_their_1to1_anonymously(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    leader, ana, bob, sam = teams.members[:4]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))
    await survey_sent(teams_bot)
    async with teams_bot.bot.sessions() as session:
        poll = await session.scalar(sa.select(Poll).where(Poll.community_id == community.id))
        people = (
            await session.execute(
                sa.select(Person.slack_user_id, Person.dm_channel_id, Person.id).where(
                    Person.workspace_id == teams.tenant_id, Person.dm_channel_id.is_not(None)
                )
            )
        ).all()
        chats = {str(user): str(chat) for user, chat, _ in people}
        ids = {str(user): int(pid) for user, _, pid in people}
    assert poll is not None and poll.ballot_salt is not None
    assert set(chats) == {member.id for member in teams.members}  # each in their 1:1
    verb = f"survey_answer:{poll.id}"

    # --- the invitation: the cover, one « Répondre » per community
    [invitation] = teams.cards(chats[ana.id])
    assert card_errors(invitation) == []
    assert shows(texts(invitation), FR, "survey.title", year=ANY)
    assert "Data Science" in texts(invitation)

    # --- the click: the questionnaire in the card, every question, nothing answered yet
    form = await refreshed(teams_bot, click(teams, invitation, verb, chats[ana.id], ana))
    assert FR("survey.modal_title") in texts(form)
    assert set(inputs(form)) == {FIELD + key for key in EVERY_KIND}
    assert all(value is None for value in inputs(form).values())
    [multiple] = [b for b in form["body"] if b.get("id") == FIELD + "activities"]
    assert multiple["isMultiSelect"] is True

    # a required question left out: the error under it, what was picked and typed kept
    missing = {k: v for k, v in EVERY_KIND.items() if k != "belonging"}
    again = await refreshed(
        teams_bot, click(teams, form, SEND, chats[ana.id], ana, **answers(missing))
    )
    body = again["body"]
    at = next(i for i, b in enumerate(body) if b.get("id") == FIELD + "belonging")
    assert body[at + 1]["text"] == FR("survey.required")
    kept = inputs(again)
    assert kept[FIELD + "example"] == EVERY_KIND["example"]
    assert kept[FIELD + "activities"] == "0,2"
    async with teams_bot.bot.sessions() as session:
        assert not await session.scalar(
            sa.select(sa.func.count()).where(PollResponse.poll_id == poll.id)
        )

    # sent right: thanked, recorded under her ballot (her id nowhere)
    done = await refreshed(
        teams_bot, click(teams, again, SEND, chats[ana.id], ana, **answers(EVERY_KIND))
    )
    assert shows(texts(done), FR, "survey.thanks", community=ANY)
    async with teams_bot.bot.sessions() as session:
        mine = polls.ballot(teams_bot.bot.deps.ballot_key, poll.ballot_salt, ids[ana.id])
        ballots = set(
            await session.scalars(
                sa.select(PollResponse.ballot).where(PollResponse.poll_id == poll.id)
            )
        )
        example = await session.scalar(
            sa.select(PollResponse.comment).where(
                PollResponse.poll_id == poll.id, PollResponse.question_key == "example"
            )
        )
    assert ballots == {mine}
    assert example == EVERY_KIND["example"]  # kept as typed

    # « Modifier mes réponses »: her answers back; a second sending replaces the first
    form = await refreshed(teams_bot, click(teams, done, verb, chats[ana.id], ana))
    assert inputs(form)[FIELD + "belonging"] == "4"
    assert inputs(form)[FIELD + "activities"] == "0,2"
    changed = {**EVERY_KIND, "belonging": "2", "gains": ""}
    await refreshed(teams_bot, click(teams, form, SEND, chats[ana.id], ana, **answers(changed)))
    async with teams_bot.bot.sessions() as session:
        rows = (
            await session.execute(
                sa.select(PollResponse.question_key, PollResponse.score).where(
                    PollResponse.poll_id == poll.id
                )
            )
        ).all()
    assert dict(rows)["belonging"] == 2 and "gains" not in dict(rows)
    assert len(rows) == len(EVERY_KIND) - 1  # one answer per question: nothing counted twice

    # two more members: three in all, under the threshold of five
    for member in (bob, sam):
        [card] = teams.cards(chats[member.id])
        form = await refreshed(teams_bot, click(teams, card, verb, chats[member.id], member))
        values = {**EVERY_KIND, "example": f"Exemple de {member.name}"}
        await refreshed(
            teams_bot, click(teams, form, SEND, chats[member.id], member, **answers(values))
        )

    # --- closed: the ballots unlinked, the leaders' results hidden below the threshold
    async with teams_bot.bot.sessions() as session:
        row = await survey.latest(session, workspace_id=teams.tenant_id)
    assert row is not None
    async with ritual_deps(teams_bot) as deps:
        await ritual.close_campaign(deps, campaign_id=row.id, now=utcnow())
        await Drain(deps).run_once(now=utcnow())
    results = await eventually(
        lambda: [
            c
            for c in teams.cards(chats[leader.id])
            if shows(texts(c), FR, "survey.too_few", answers=3, min=5)
        ]
    )
    assert card_errors(results[-1]) == []
    assert "Exemple" not in texts(results[-1]) and "binôme" not in texts(results[-1])
    async with teams_bot.bot.sessions() as session:
        ballots = set(
            await session.scalars(
                sa.select(PollResponse.ballot).where(PollResponse.poll_id == poll.id)
            )
        )
    assert len(ballots) == 3 and mine not in ballots

    # --- the leader keeps the results off the channel: the reason required, then held
    notice = results[-1]
    box = await refreshed(teams_bot, click(teams, notice, "survey_hold", chats[leader.id], leader))
    assert FR("survey.hold_label") in texts(box)
    assert FR("survey.too_few", answers=3, min=5) in texts(box)  # still under the results
    empty = await refreshed(
        teams_bot, click(teams, box, "survey_hold_send", chats[leader.id], leader, reason=" ")
    )
    assert FR("survey.reason_empty") in texts(empty)
    reason = "Trop **peu** de réponses"
    held = await refreshed(
        teams_bot, click(teams, empty, "survey_hold_send", chats[leader.id], leader, reason=reason)
    )
    assert shows(texts(held), FR, "survey.held", community=ANY)
    async with teams_bot.bot.sessions() as session:
        status = await survey.status(session, row=row)
    assert any(c.held_reason == reason for c in status.communities)
    # a member cannot: the same guard as Slack's
    refused = await refreshed(teams_bot, click(teams, notice, "survey_hold", chats[bob.id], bob))
    assert FR("permission.hold_survey_results") in texts(refused)

    # a click on the invitation now: the survey is closed, it says so
    closed = await refreshed(teams_bot, click(teams, invitation, verb, chats[ana.id], ana))
    assert FR("polls.closed") in texts(closed)
    assert teams.card_problems == []


async def test_an_english_member_reads_the_questionnaire_in_english(teams_bot: TeamsBot) -> None:
    teams = teams_bot.teams
    leader, lou = teams.members[0], teams.members[3]
    community = await teams_community(teams_bot.bot.sessions, teams, leaders=(leader.id,))
    await survey_sent(teams_bot)
    async with teams_bot.bot.sessions() as session:
        poll = await session.scalar(sa.select(Poll).where(Poll.community_id == community.id))
        chat = await session.scalar(
            sa.select(Person.dm_channel_id).where(Person.slack_user_id == lou.id)
        )
    assert poll is not None and chat is not None
    [invitation] = teams.cards(chat)
    [answer] = [a for a in actions(invitation) if a.get("verb") == f"survey_answer:{poll.id}"]
    form = await refreshed(
        teams_bot, teams.execute(answer, conversation=chat, member=lou, locale="en-US")
    )
    shown = texts(form)
    assert EN("survey.modal_title") in shown and "Every week" in shown
    [send] = [a for a in actions(form) if a.get("verb") == SEND]
    missing = answers({k: v for k, v in EVERY_KIND.items() if k != "nps"})
    again = await refreshed(
        teams_bot,
        teams.execute(send, conversation=chat, member=lou, locale="en-US", inputs=missing),
    )
    assert EN("survey.required") in texts(again)
    assert inputs(again)[FIELD + "belonging"] == "4"
    assert teams.card_problems == []
