"""The annual survey in Slack: a member's questionnaire (from the invitation's button), a leader's
"Hold back" with its reason, and `/cop survey` for the programme managers (status per community,
the cover message, start or close now)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import communities, people, polls
from bot import messages as m
from bot import survey as domain
from bot.deps import Deps
from bot.errors import CopError, InvalidInput, NotFound
from bot.models import PollStatus, utcnow
from bot.numbers import row_id
from bot.permissions import Action, require
from bot.slack.blocks import survey as screens
from bot.slack.echo import say
from bot.slack.messages import render
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_of, open_view, read_modal, workspace_of, zone_of
from rituals import survey as ritual

MANAGE = "survey_manage"  # survey_manage:cover | survey_manage:open | survey_manage:close


async def _tell(client: AsyncWebClient, caller: Caller, key: str, **params: Any) -> None:
    await client.chat_postMessage(channel=caller.user_id, text=say(caller.t, key, **params))


# --- members: the questionnaire ----------------------------------------------------------------


async def handle_answer_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """Open the questionnaire for one community, prefilled with the member's own answers (found
    by their ballot while the survey is open)."""
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        poll_id = row_id(action.get("value") or "")
        async with deps.sessions() as session:
            asked = await domain.questionnaire(
                session,
                key=deps.ballot_key,
                workspace_id=caller.workspace_id,
                user_id=caller.user_id,
                poll_id=poll_id,
            )
        questions, closes_at, name = asked.questions, asked.closes_at, asked.community_name
        mine = asked.mine
    except CopError as exc:
        await respond(
            text=say(t, exc.key, **exc.params), response_type="ephemeral", replace_original=False
        )
        return
    zone = await zone_of(deps, caller)
    closes = t.datetime(closes_at, zone)  # the day and the hour: it closes at 09:00, not at night
    await open_view(
        client,
        trigger_id=body["trigger_id"],
        view=screens.build_form(
            t,
            poll_id=poll_id,
            community=name,
            closes=closes,
            questions=questions,
            mine=mine,
            min_answers=deps.disclosure.min_answers,
        ),
        t=t,
    )


async def handle_form_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Every answer checked, then recorded under the member's ballot in one transaction."""
    t, view = read_modal(deps, body)
    try:
        poll_id, given = screens.parse_form(view)
    except CopError:
        await ack()
        return
    try:
        async with deps.sessions() as session:  # one read, so that errors show in the form
            poll = await polls.get(session, workspace_id=workspace_of(body), poll_id=poll_id)
            questions = poll.questions
        answers = domain.check_answers(questions, given)
    except InvalidInput as exc:
        await ack(response_action="errors", errors={f"q_{exc.field}": t(exc.key, **exc.params)})
        return
    except CopError:
        answers = None
    await ack()
    caller = await caller_of(deps, body)
    try:
        if answers is None:
            raise NotFound("polls.not_found")
        async with deps.sessions.begin() as session:
            person = await people.find(
                session, workspace_id=caller.workspace_id, slack_user_id=caller.user_id
            )
            if person is None:
                raise CopError("polls.not_asked")
            poll = await domain.answer_all(
                session,
                key=deps.ballot_key,
                workspace_id=caller.workspace_id,
                poll_id=poll_id,
                person_id=person.id,
                answers=answers,
            )
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=poll.community_id
            )
            name = community.name
    except CopError as exc:
        await _tell(client, caller, exc.key, **exc.params)
        return
    await _tell(client, caller, "survey.thanks", community=name)


# --- leaders: holding the results back -----------------------------------------------------------


async def handle_hold_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    await ack()
    caller = await caller_of(deps, body)
    try:
        poll_id = row_id(action.get("value") or "")
        async with deps.sessions() as session:
            poll = await polls.get(session, workspace_id=caller.workspace_id, poll_id=poll_id)
            await require(
                session,
                actor=caller.actor,
                action=Action.HOLD_SURVEY_RESULTS,
                community_id=poll.community_id,
            )
    except CopError as exc:
        await respond(
            text=say(caller.t, exc.key, **exc.params),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    await open_view(
        client,
        trigger_id=body["trigger_id"],
        view=screens.build_hold(caller.t, poll_id=poll_id),
        t=caller.t,
    )


async def handle_hold_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    t, view = read_modal(deps, body)
    try:
        poll_id, reason = screens.parse_hold(view)
        if not reason.strip():
            raise InvalidInput("survey.reason_empty")
    except CopError as exc:
        await ack(response_action="errors", errors={screens.REASON_BLOCK: t(exc.key, **exc.params)})
        return
    await ack()
    caller = await caller_of(deps, body)
    try:
        name = await ritual.hold_as(deps, actor=caller.actor, poll_id=poll_id, reason=reason)
    except CopError as exc:
        await _tell(client, caller, exc.key, **exc.params)
        return
    await _tell(client, caller, "survey.held", community=name)


# --- managers: /cop survey -------------------------------------------------------------------------


async def _status_blocks(deps: Deps, caller: Caller) -> tuple[str, list[dict[str, Any]]]:
    now = utcnow()
    year_now = domain.year_of(now, deps.programme.timezone)
    found = await ritual.programme_results(deps, workspace_id=caller.workspace_id)
    zone = await zone_of(deps, caller)
    reader = m.Reader(caller.language, zone)
    if found is None:
        opens = domain.opening(deps.programme.survey, year=year_now, tz=deps.programme.timezone)
        if opens < now:
            opens = domain.opening(
                deps.programme.survey, year=year_now + 1, tz=deps.programme.timezone
            )
        message = m.Message(
            m.Say("survey.none", opens=m.Moment(opens, style="date")),
            [m.Paragraph(m.Say("survey.none", opens=m.Moment(opens, style="date")))],
        )
        state = None
    else:
        status, results = found
        message = ritual.status_message(
            status, results, now=now, min_answers=deps.disclosure.min_answers
        )
        state = status.campaign
    buttons = [m.Choice(f"{MANAGE}:cover", m.Say("survey.edit_cover_button"), "cover")]
    this_year = state is not None and state.year == year_now
    if not this_year or (
        state is not None and state.status == PollStatus.OPEN and state.opens_at > now
    ):
        buttons.append(m.Choice(f"{MANAGE}:open", m.Say("survey.open_button"), "open", "primary"))
    if (
        this_year
        and state is not None
        and state.status == PollStatus.OPEN
        and state.opens_at <= now
    ):
        buttons.append(m.Choice(f"{MANAGE}:close", m.Say("survey.close_button"), "close", "danger"))
    message = m.Message(
        message.fallback, [*message.blocks[:48], m.Choices(buttons, group="survey_manage")]
    )
    text, blocks = render(message, reader)
    return str(text), blocks


async def handle_survey(req: CommandRequest) -> None:
    """`/cop survey` (`/cop enquête`): the campaign's status, and buttons to edit the cover
    message, start or close it now."""
    async with req.deps.sessions() as session:
        await require(session, actor=req.caller.actor, action=Action.MANAGE_SURVEY)
    if req.args and req.args[0].lower() not in ("status", "état", "etat"):
        raise InvalidInput("survey.usage")
    text, blocks = await _status_blocks(req.deps, req.caller)
    await req.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


async def handle_manage(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    what = str(action.get("action_id", "")).split(":", 1)[-1]
    now = utcnow()
    year_now = domain.year_of(now, deps.programme.timezone)
    try:
        async with deps.sessions() as session:
            await require(session, actor=caller.actor, action=Action.MANAGE_SURVEY)
            row = await domain.campaign(session, workspace_id=caller.workspace_id, year=year_now)
            target = domain.cover_year(
                deps.programme.survey, row, now=now, tz=deps.programme.timezone
            )
            upcoming = (
                row
                if target == year_now
                else await domain.campaign(session, workspace_id=caller.workspace_id, year=target)
            )
            cover = (
                dict(upcoming.cover) if upcoming is not None else dict(deps.programme.survey.cover)
            )
        if what == "cover":
            await open_view(
                client,
                trigger_id=body["trigger_id"],
                view=screens.build_cover(t, year=target, cover=cover),
                t=t,
            )
            return
        if what == "open":
            if not deps.programme.survey.enabled:
                raise CopError("survey.disabled")
            await ritual.open_campaign(deps, workspace_id=caller.workspace_id, now=now)
            key = "survey.opened"
        elif what == "close":
            if row is None:
                raise NotFound("polls.not_found")
            await ritual.close_campaign(deps, campaign_id=row.id, now=now)
            key = "survey.closed_now"
        else:
            raise NotFound("polls.not_found")
    except CopError as exc:
        await respond(
            text=say(t, exc.key, **exc.params), response_type="ephemeral", replace_original=False
        )
        return
    await respond(
        text=say(t, key, year=year_now), response_type="ephemeral", replace_original=False
    )


async def handle_cover_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """The cover message, both languages, checked before the ack; kept on this year's campaign
    (created as scheduled when the survey has not opened yet)."""
    t, view = read_modal(deps, body)
    try:
        year, fr, en = screens.parse_cover(view)
        domain.check_cover(fr=fr, en=en)
    except InvalidInput as exc:
        field = exc.field or screens.COVER_FR
        await ack(response_action="errors", errors={field: t(exc.key, **exc.params)})
        return
    except CopError:
        await ack()
        return
    await ack()
    caller = await caller_of(deps, body)
    try:
        async with deps.sessions.begin() as session:
            await require(session, actor=caller.actor, action=Action.MANAGE_SURVEY)
            row = await domain.ensure_campaign(
                session,
                workspace_id=caller.workspace_id,
                programme=deps.programme,
                year=year,
                opens_at=domain.opening(
                    deps.programme.survey, year=year, tz=deps.programme.timezone
                ),
            )
            domain.set_cover(row, fr=fr, en=en)
    except CopError as exc:
        await _tell(client, caller, exc.key, **exc.params)
        return
    await _tell(client, caller, "survey.cover_saved", year=year)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "survey",
        handle_survey,
        (HelpLine("help.survey", Action.MANAGE_SURVEY),),
        aliases=("enquête", "enquete"),
    )
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.action(re.compile(rf"^{ritual.ANSWER}:"))(handle_answer_button)
    app.view(screens.FORM_VIEW)(handle_form_submit)
    app.action(ritual.HOLD)(handle_hold_button)
    app.view(screens.HOLD_VIEW)(handle_hold_submit)
    app.action(re.compile(rf"^{MANAGE}:"))(handle_manage)
    app.view(screens.COVER_VIEW)(handle_cover_submit)
