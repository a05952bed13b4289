"""The pulse poll's score buttons in Teams: the poll is a neutral message (rituals.pulse), whose
choices the renderer turns into `Action.Execute` (verb = the choice's action, "pulse_answer:
<question>:<score>"; data {"cop": action, "value": "<poll>|<question>|<score>"}). A click is
recorded as Slack's is (bot.polls.answer: under an unlinkable ballot, a second click changes
the answer, a closed poll refuses), and answered with the poll's card refreshed for the clicker
alone, saying their answer.

The results reach the leaders as on Slack: at close, rituals.pulse.close_and_report owes them
the report (through the disclosure rule), which the outbox delivers rendered for Teams.
The free-text question's « Ajouter un commentaire » opens its box in the card itself (an
Action.Execute refresh), where Slack opens a modal. Not here: the annual survey, a form of its
own (handlers/survey.py opens a modal prefilled with the member's answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import communities, polls
from bot import messages as m
from bot.errors import CopError
from bot.i18n import Translator
from bot.models import Delivery
from bot.teams import render
from bot.teams.cards import pulse as cards
from bot.teams.cards.event import message_card
from handlers.teams.context import Caller, caller_of
from handlers.teams.events import refreshed, said
from rituals import pulse

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

Json = dict[str, Any]


async def _record(
    deps: Deps,
    caller: Caller,
    *,
    poll_id: int,
    key: str,
    score: int | None = None,
    comment: str | None = None,
) -> None:
    """As handlers/polls.py records a Slack click: the person's id only feeds the ballot."""
    async with deps.sessions.begin() as session:
        await polls.answer_as(
            session,
            key=deps.ballot_key,
            workspace_id=caller.workspace_id,
            user_id=caller.user_id,
            poll_id=poll_id,
            question_key=key,
            score=score,
            comment=comment,
        )


async def _poll(deps: Deps, caller: Caller, *, poll_id: int) -> tuple[m.Message, list[Json]]:
    """The poll as the member received it, and its questions (in the words it was asked with)."""
    async with deps.sessions() as session:
        poll = await polls.get(session, workspace_id=caller.workspace_id, poll_id=poll_id)
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=poll.community_id
        )
        message = pulse.poll_message(
            poll_id=poll.id,
            community=community.name,
            questions=poll.questions,
            closes_at=poll.closes_at,
            mute_hint=poll.delivery == Delivery.DM,  # as the ritual sent it (rituals.pulse._poll)
        )
        return message, list(poll.questions)


def _words(t: Translator, questions: list[Json], key: str) -> str:
    """A question's words in the reader's language, else the first it has."""
    for q in questions:
        if q.get("key") == key:
            texts = q.get("text") or {}
            return str(texts.get(t.language) or next(iter(texts.values()), key))
    return key


def _data(turn: Turn) -> Json:
    action = turn.value.get("action")
    data = action.get("data") if isinstance(action, dict) else None
    return data if isinstance(data, dict) else {}


def register(edge: TeamsEdge, deps: Deps) -> None:
    """The score buttons of the pulse poll, and its comment box."""

    def reader_of(turn: Turn, caller: Caller) -> m.Reader:
        return m.Reader(caller.language, turn.timezone or deps.programme.timezone)

    async def answer(turn: Turn) -> Json:
        """A score: recorded (or changed), the card refreshed saying it."""
        data = _data(turn)
        caller = await caller_of(deps, turn)
        t = caller.t
        try:
            poll_id, key, score = pulse.parse_answer(str(data.get("value") or ""))
            message, questions = await _poll(deps, caller, poll_id=poll_id)
        except CopError as exc:
            return refreshed(message_card(said(t, exc)))
        try:
            await _record(deps, caller, poll_id=poll_id, key=key, score=score)
        except CopError as exc:
            line, ok = said(t, exc), False
        else:
            question = render.escape(_words(t, questions, key))
            line = t("teams.pulse.your_answer", score=t.number(score), question=question)
            ok = True
        card = render.card(message, reader_of(turn, caller))
        return refreshed(cards.with_line(card, line, ok=ok))

    async def comment_box(turn: Turn) -> Json:
        """« Ajouter un commentaire »: the box opens in the card (Slack opens a modal)."""
        data = _data(turn)
        caller = await caller_of(deps, turn)
        t = caller.t
        value = str(data.get("value") or "")
        try:
            poll_id, _ = pulse.parse_question(value)
            message, _ = await _poll(deps, caller, poll_id=poll_id)
        except CopError as exc:
            return refreshed(message_card(said(t, exc)))
        card = render.card(message, reader_of(turn, caller))
        return refreshed(cards.with_comment_form(t, card, value=value))

    async def comment_sent(turn: Turn) -> Json:
        """The comment: checked, recorded under the ballot as a score is; an error keeps it."""
        data = _data(turn)
        caller = await caller_of(deps, turn)
        t = caller.t
        value = str(data.get("value") or "")
        typed = data.get(cards.COMMENT_INPUT)
        typed = typed if isinstance(typed, str) else ""
        try:
            poll_id, key = pulse.parse_question(value)
            message, _ = await _poll(deps, caller, poll_id=poll_id)
        except CopError as exc:
            return refreshed(message_card(said(t, exc)))
        card = render.card(message, reader_of(turn, caller))
        try:
            await _record(
                deps, caller, poll_id=poll_id, key=key, comment=polls.check_comment(typed)
            )
        except CopError as exc:
            if exc.key == "polls.closed":
                return refreshed(cards.with_line(card, said(t, exc), ok=False))
            again = cards.with_comment_form(t, card, value=value, typed=typed)
            return refreshed(cards.with_line(again, said(t, exc), ok=False))
        return refreshed(cards.with_line(card, t("polls.comment_thanks"), ok=True))

    # every score button, whatever the questions: a poll keeps the questions it was asked with
    # (bot.polls.answer checks the answer against them), even when app.yaml's change meanwhile
    edge.invoke("adaptiveCard/action", prefix=f"{pulse.ANSWER}:")(answer)
    edge.invoke("adaptiveCard/action", pulse.COMMENT)(comment_box)
    edge.invoke("adaptiveCard/action", cards.COMMENT_SEND)(comment_sent)
