"""The pulse poll's score buttons in Teams: the poll is a neutral message (rituals.pulse), whose
choices the renderer turns into `Action.Execute` (verb = the choice's action, "pulse_answer:
<question>:<score>"; data {"cop": action, "value": "<poll>|<question>|<score>"}). A click is
recorded as Slack's is (bot.polls.answer: under an unlinkable ballot, a second click changes
the answer, a closed poll refuses), and answered with the poll's card refreshed for the clicker
alone, saying their answer.

The results reach the leaders as on Slack: at close, rituals.pulse.close_and_report owes them
the report (through the disclosure rule), which the outbox delivers rendered for Teams.
Not here yet: the free-text question's comment button ("pulse_comment": a form on Slack) and
the annual survey (a form too: handlers/survey.py), which need a dialog of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import communities, people, polls
from bot import messages as m
from bot.config import as_plain
from bot.errors import CopError
from bot.i18n import Translator
from bot.teams import render
from bot.teams.cards.event import message_card
from handlers.teams.events import Caller, caller_of, refreshed, said
from rituals import pulse

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

Json = dict[str, Any]


def verbs(deps: Deps) -> list[str]:
    """Every score button the configured questions put on a poll (the edge routes invokes by
    their exact verb)."""
    found = []
    for question in deps.programme.rituals.pulse.questions:
        q = as_plain(question)
        if q["kind"] == "text":
            continue
        found += [f"{pulse.ANSWER}:{q['key']}:{s}" for s in range(q["min"], q["max"] + 1)]
    return found


async def _record(deps: Deps, caller: Caller, *, poll_id: int, key: str, score: int) -> None:
    """As handlers/polls.py records a Slack click: the person's id only feeds the ballot."""
    async with deps.sessions.begin() as session:
        person = await people.find(
            session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
        )
        if person is None:
            raise CopError("polls.not_asked")
        await polls.answer(
            session,
            key=deps.ballot_key,
            workspace_id=caller.workspace_id,
            poll_id=poll_id,
            person_id=person.id,
            question_key=key,
            score=score,
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
        )
        return message, list(poll.questions)


def _words(t: Translator, questions: list[Json], key: str) -> str:
    """A question's words in the reader's language, else the first it has."""
    for q in questions:
        if q.get("key") == key:
            texts = q.get("text") or {}
            return str(texts.get(t.language) or next(iter(texts.values()), key))
    return key


def register(edge: TeamsEdge, deps: Deps) -> None:
    """The score buttons of the pulse poll."""

    async def answer(turn: Turn) -> Json:
        action = turn.value.get("action")
        data = (action.get("data") if isinstance(action, dict) else None) or {}
        caller = await caller_of(deps, turn)
        t = caller.t
        reader = m.Reader(caller.language, turn.timezone or deps.programme.timezone)
        try:
            poll_id, key, score = pulse.parse_answer(str(data.get("value") or ""))
        except CopError as exc:
            return refreshed(message_card(said(t, exc)))
        try:
            await _record(deps, caller, poll_id=poll_id, key=key, score=score)
        except CopError as exc:
            line, ok = said(t, exc), False
        else:
            line, ok = "", True
        try:
            message, questions = await _poll(deps, caller, poll_id=poll_id)
        except CopError as exc:
            return refreshed(message_card(said(t, exc)))
        if ok:
            question = render.escape(_words(t, questions, key))
            line = t("teams.pulse.your_answer", score=t.number(score), question=question)
        card = render.card(message, reader)
        color = "Good" if ok else "Attention"
        card["body"].insert(1, {"type": "TextBlock", "text": line, "wrap": True, "color": color})
        return refreshed(card)

    for verb in verbs(deps):
        edge.invoke("adaptiveCard/action", verb)(answer)
