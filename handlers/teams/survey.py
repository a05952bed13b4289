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
The leaders' « Ne pas publier » under their results opens its reason box in the card (Slack
opens a modal), checked by the same guard (Action.HOLD_SURVEY_RESULTS) and held by the same
ritual.hold. Not here: the managers' `/cop enquête`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot import communities, people, polls
from bot import messages as m
from bot import survey as domain
from bot.errors import CopError, InvalidInput, NotFound
from bot.models import utcnow
from bot.numbers import row_id
from bot.permissions import Action, require
from bot.teams import render
from bot.teams.cards import survey as cards
from bot.teams.cards.common import say
from bot.teams.cards.event import message_card
from bot.teams.cards.pulse import with_line
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
        asked = await domain.questionnaire(
            session,
            key=deps.ballot_key,
            workspace_id=caller.workspace_id,
            user_id=caller.user_id,
            poll_id=poll_id,
        )
    questions, closes_at, name, tz = (
        asked.questions,
        asked.closes_at,
        asked.community_name,
        asked.person_tz,
    )
    mine = asked.mine
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


# --- leaders: holding the results back -------------------------------------------------------


async def _leaders_card(deps: Deps, turn: Turn, caller: Caller, poll_id: int) -> Json:
    """The guard, then the leaders' results card as the outbox delivered it at close (the same
    neutral message, rebuilt from the closed poll): what the reason box goes under."""
    programme = deps.programme
    async with deps.sessions() as session:
        poll = await polls.get(session, workspace_id=caller.workspace_id, poll_id=poll_id)
        await require(
            session,
            actor=caller.actor,
            action=Action.HOLD_SURVEY_RESULTS,
            community_id=poll.community_id,
        )
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=poll.community_id
        )
        results = await domain.for_community(session, poll=poll, rule=deps.disclosure)
        person = await people.find(
            session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
        )
        closed = poll.closed_at or utcnow()
        name, channel, tz = community.name, community.channel_id, person.tz if person else None
    report = ritual.results_message(
        community=name, results=results, min_answers=deps.disclosure.min_answers
    )
    message = ritual.leaders_message(
        poll_id=poll_id,
        community=name,
        channel_id=channel,
        posts_at=closed + timedelta(hours=programme.survey.results_delay_hours),
        results=report,
    )
    return render.card(message, m.Reader(caller.language, _zone(deps, turn, tz)))


async def open_hold(deps: Deps, turn: Turn) -> Json:
    """« Ne pas publier »: the reason box, under the results."""
    caller = await caller_of(deps, turn)
    try:
        poll_id = _poll_id(turn)
        shown = await _leaders_card(deps, turn, caller, poll_id)
    except CopError as exc:
        return refreshed(message_card(said(caller.t, exc)))
    return refreshed(cards.with_hold_form(caller.t, shown, poll_id=poll_id))


async def send_hold(deps: Deps, turn: Turn) -> Json:
    """The reason: required (the error under the box, what was typed kept), then the results
    held back as Slack holds them (ritual.hold: the channel's post cancelled)."""
    caller = await caller_of(deps, turn)
    t = caller.t
    typed = _data(turn).get(cards.REASON)
    reason = typed if isinstance(typed, str) else ""
    try:
        poll_id = _poll_id(turn)
        shown = await _leaders_card(deps, turn, caller, poll_id)
    except CopError as exc:
        return refreshed(message_card(said(t, exc)))
    if not reason.strip():
        error = t("survey.reason_empty")
        return refreshed(cards.with_hold_form(t, shown, poll_id=poll_id, typed=reason, error=error))
    try:
        name = await ritual.hold_as(deps, actor=caller.actor, poll_id=poll_id, reason=reason)
    except InvalidInput as exc:
        error = t(exc.key, **exc.params)
        return refreshed(cards.with_hold_form(t, shown, poll_id=poll_id, typed=reason, error=error))
    except CopError as exc:
        return refreshed(with_line(shown, said(t, exc), ok=False))
    held = say(t, "survey.held", typed={"community": name})
    return refreshed(with_line(shown, held, ok=True))


def register(edge: TeamsEdge, deps: Deps) -> None:
    """The invitation's « Répondre » buttons, the questionnaire's « Envoyer », and the leaders'
    « Ne pas publier » with its reason."""

    async def on_answer(turn: Turn) -> Json:
        return await open_form(deps, turn)

    async def on_send(turn: Turn) -> Json:
        return await send_form(deps, turn)

    async def on_hold(turn: Turn) -> Json:
        return await open_hold(deps, turn)

    async def on_hold_send(turn: Turn) -> Json:
        return await send_hold(deps, turn)

    edge.invoke("adaptiveCard/action", prefix=f"{VERB}:")(on_answer)
    edge.invoke("adaptiveCard/action", cards.SEND)(on_send)
    edge.invoke("adaptiveCard/action", ritual.HOLD)(on_hold)
    edge.invoke("adaptiveCard/action", cards.HOLD_SEND)(on_hold_send)
