"""The annual survey in Teams: a member answers it from the invitation the outbox delivered in
their 1:1 chat (rituals.survey.invitation_message, rendered for Teams: one « Répondre »
Action.Execute per community, verb "survey_answer:<poll>").

The click refreshes the card, for the clicker alone, into the questionnaire (bot/teams/cards/
survey.py: Slack opens a modal, which an Action.Execute cannot), prefilled with their answers
found by their ballot as on Slack (bot.survey.my_answers); its « Envoyer » checks the answers
(bot.survey.check_answers: the error under its question, what was picked kept) and records them
under the member's ballot (bot.survey.answer_all), a second sending replacing the first; a
closed survey says so. The results reach the leaders and the channels as on Slack, through the
disclosure rule: rituals.survey.close_campaign owes them, the outbox delivers them rendered.
Not here: the leaders' « Retenir les résultats » (its reason form) and the managers'
`/cop enquête`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import communities, people, polls
from bot import survey as domain
from bot.errors import CopError, InvalidInput, NotFound
from bot.models import PollStatus
from bot.numbers import row_id
from bot.teams.cards import survey as cards
from bot.teams.cards.event import message_card
from handlers.teams.context import Caller, caller_of
from handlers.teams.events import refreshed, said
from rituals import survey as ritual

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

Json = dict[str, Any]
VERB = ritual.ANSWER  # "survey_answer:<poll id>"


def _data(turn: Turn) -> Json:
    action = turn.value.get("action")
    data = action.get("data") if isinstance(action, dict) else None
    return data if isinstance(data, dict) else {}


def _poll_id(turn: Turn) -> int:
    """The poll a click is for: the button's value (NotFound when forged)."""
    try:
        return row_id(str(_data(turn).get("value") or ""))
    except ValueError:
        raise NotFound("polls.not_found") from None


def _zone(deps: Deps, turn: Turn, tz: str | None) -> str:
    return turn.timezone or tz or deps.programme.timezone


async def _form(deps: Deps, turn: Turn, caller: Caller, poll_id: int) -> Json:
    """As handlers/survey.py opens Slack's modal: open poll, a member asked, their answers."""
    t = caller.t
    async with deps.sessions() as session:
        poll = await polls.get(session, workspace_id=caller.workspace_id, poll_id=poll_id)
        if poll.status != PollStatus.OPEN or poll.ballot_salt is None:
            raise CopError("polls.closed")
        person = await people.find(
            session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
        )
        if person is None:
            raise CopError("polls.not_asked")
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=poll.community_id
        )
        mine = await domain.my_answers(session, key=deps.ballot_key, poll=poll, person_id=person.id)
        questions, closes_at, name, tz = poll.questions, poll.closes_at, community.name, person.tz
    return cards.form(
        t,
        poll_id=poll_id,
        community=name,
        closes=t.datetime(closes_at, _zone(deps, turn, tz)),
        questions=questions,
        values=cards.values_of(questions, mine),
        min_answers=deps.disclosure.min_answers,
    )


async def open_form(deps: Deps, turn: Turn) -> Json:
    """« Répondre »: the questionnaire, in the card."""
    caller = await caller_of(deps, turn)
    try:
        return refreshed(await _form(deps, turn, caller, _poll_id(turn)))
    except CopError as exc:
        return refreshed(message_card(said(caller.t, exc)))


async def send_form(deps: Deps, turn: Turn) -> Json:
    """« Envoyer »: every answer checked, then recorded under the member's ballot in one
    transaction; the card thanks them (with a button to change their answers)."""
    caller = await caller_of(deps, turn)
    t = caller.t
    data = _data(turn)
    try:
        poll_id = _poll_id(turn)
        async with deps.sessions() as session:  # one read, so that errors show in the form
            poll = await polls.get(session, workspace_id=caller.workspace_id, poll_id=poll_id)
            questions, closes_at, community_id = poll.questions, poll.closes_at, poll.community_id
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            name = community.name
            person = await people.find(
                session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
            )
    except CopError as exc:
        return refreshed(message_card(said(t, exc)))
    typed = cards.typed_values(data, questions)
    try:
        answers = domain.check_answers(questions, cards.given(typed, questions))
    except InvalidInput as exc:
        again = cards.form(
            t,
            poll_id=poll_id,
            community=name,
            closes=t.datetime(closes_at, _zone(deps, turn, person.tz if person else None)),
            questions=questions,
            values=typed,
            min_answers=deps.disclosure.min_answers,
            errors=cards.field_error(t, exc),
        )
        return refreshed(again)
    try:
        async with deps.sessions.begin() as session:
            if person is None:
                raise CopError("polls.not_asked")
            await domain.answer_all(
                session,
                key=deps.ballot_key,
                workspace_id=caller.workspace_id,
                poll_id=poll_id,
                person_id=person.id,
                answers=answers,
            )
    except CopError as exc:
        return refreshed(message_card(said(t, exc)))
    return refreshed(
        cards.thanks(t, poll_id=poll_id, community=name, answer_verb=f"{VERB}:{poll_id}")
    )


def register(edge: TeamsEdge, deps: Deps) -> None:
    """The invitation's « Répondre » buttons, and the questionnaire's « Envoyer »."""

    async def on_answer(turn: Turn) -> Json:
        return await open_form(deps, turn)

    async def on_send(turn: Turn) -> Json:
        return await send_form(deps, turn)

    edge.invoke("adaptiveCard/action", prefix=f"{VERB}:")(on_answer)
    edge.invoke("adaptiveCard/action", cards.SEND)(on_send)
