"""`@cop boussole` in Teams: the community's maturity self-assessment, through the same domain
(bot.compass) and the same guard (Action.TAKE_COMPASS) as Slack's `/cop boussole`.

Slack opens its modal on the command and answers the result to the person alone. Teams has no
message only one person sees in a channel: the command answers in the channel with a card
whose two buttons open dialogs — the questionnaire, and the round so far — and the guard is
asked whenever one opens or is sent. A sent questionnaire is answered in the dialog itself by
the result (the radar chart in it), which only the sender sees, as on Slack. `@cop boussole
programme` shows the programme's heatmap to its managers, as Slack's `/cop boussole programme`.
Not here: Slack's « Boussole » button under the health overview (handlers/teams/health.py's
card, edited elsewhere)."""

from __future__ import annotations

import asyncio
import logging

from bot import communities, compass
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.models import utcnow
from bot.numbers import row_id
from bot.permissions import Action, require
from bot.teams.cards import compass as screens
from bot.teams.cards.common import (
    Json,
    card,
    dialog,
    dialog_says,
    heading,
    message,
    open_dialog,
    refusal,
    say,
    text,
)
from bot.teams.edge import TeamsEdge, Turn
from handlers.teams.context import Caller, caller_of, tell, where_to

logger = logging.getLogger(__name__)

WORDS = ("compass", "boussole")
PROGRAMME_WORDS = {"programme", "program", "heatmap", "carte"}  # as Slack's /cop boussole


def _zone(deps: Deps, turn: Turn, caller: Caller) -> str:
    community = caller.community
    return turn.timezone or (community.tz if community else None) or deps.programme.timezone


def _community_of(turn: Turn) -> int:
    """The community a dialog is for, from the data its button carries (NotFound if forged)."""
    data = turn.value.get("data")
    return row_id((data if isinstance(data, dict) else {}).get("community"))


async def show(deps: Deps, turn: Turn, rest: str) -> None:
    """`@cop boussole` (`résultats` too: one card does both): in a community's channel, the card
    opening the dialogs for whoever may take the compass; a refusal for anyone else.
    `@cop boussole programme`, anywhere: the programme's heatmap, for its managers."""
    caller = await caller_of(deps, turn)
    t = caller.t
    words = rest.split()
    if words and words[0].casefold() in PROGRAMME_WORDS:
        await heatmap(deps, turn, caller)
        return
    if caller.community is None:
        await tell(turn, await where_to(deps, caller, f"@cop {t('teams.help.word.compass')}"))
        return
    community = caller.community
    try:
        async with deps.sessions() as session:
            await require(
                session, actor=caller.actor, action=Action.TAKE_COMPASS, community_id=community.id
            )
    except CopError as exc:  # as Slack's command refuses it
        await tell(turn, refusal(t, exc))
        return
    content = screens.start_card(t, community_id=community.id, community_name=community.name)
    await turn.reply(message(content, say(t, "compass.title", typed={"name": community.name})))


async def _heatmap_card(deps: Deps, caller: Caller) -> Json:
    """Communities × dimensions for a programme manager (compass.heatmap, as Slack, the report
    and the dashboard show it); NotAllowed for anyone else."""
    async with deps.sessions() as session:
        await require(session, actor=caller.actor, action=Action.VIEW_PROGRAMME)
        found = await compass.heatmap(session, workspace_id=caller.workspace_id)
    return screens.build_heatmap(caller.t, found)


async def heatmap(deps: Deps, turn: Turn, caller: Caller) -> None:
    """`@cop boussole programme`: the heatmap in the 1:1 chat; in a channel, a button opening
    it in a dialog (the figures are the managers', as `@cop santé` does)."""
    t = caller.t
    try:
        content = await _heatmap_card(deps, caller)
    except CopError as exc:
        await tell(turn, refusal(t, exc))
        return
    if not caller.personal:
        content = card(
            [heading(t("compass.heatmap_title")), text(t("teams.compass.heatmap_private"))],
            [open_dialog(t("teams.compass.heatmap_open"), screens.HEATMAP)],
        )
    await turn.reply(message(content, t("compass.heatmap_title")))


async def show_heatmap(deps: Deps, turn: Turn) -> Json:
    """task/fetch « compass_heatmap »: the heatmap, if the clicker may see it."""
    caller = await caller_of(deps, turn)
    try:
        content = await _heatmap_card(deps, caller)
    except CopError as exc:
        return dialog_says(refusal(caller.t, exc))
    return dialog(caller.t("compass.heatmap_title"), content)


async def open_form(deps: Deps, turn: Turn) -> Json:
    """task/fetch « compass »: the guard, then the round joined (or opened) as Slack's
    command does, and the questionnaire pre-filled with the person's answers in it."""
    caller = await caller_of(deps, turn)
    t = caller.t
    now = utcnow()
    try:
        community_id = _community_of(turn)
        async with deps.sessions.begin() as session:
            asked = await compass.questionnaire(
                session,
                actor=caller.actor,
                community_id=community_id,
                now=now,
                survey_rule=deps.disclosure,
            )
        name, current, found = asked.community_name, asked.current, asked.found
        mine, answered_on = asked.mine, asked.answered_on
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    form = screens.build_form(
        t,
        community_id=community_id,
        community_name=name,
        current=current,
        respondents=found.respondents if found else 0,
        values=screens.values_of(mine),
        answered_on=answered_on,
        tz=_zone(deps, turn, caller),
    )
    return dialog(t("compass.modal_title"), form)


async def submit_form(deps: Deps, turn: Turn) -> Json:
    """task/submit « compass »: the levels checked by the domain (errors in the dialog, the
    levels picked kept), recorded as Slack records them, then the result in the dialog."""
    caller = await caller_of(deps, turn)
    t = caller.t
    data = turn.value.get("data")
    typed = screens.typed_values(data if isinstance(data, dict) else {})
    now = utcnow()
    try:
        community_id = _community_of(turn)
        scores = compass.validate(typed)
    except InvalidFields as exc:
        return await _again(deps, caller, turn, typed, screens.field_errors(t, exc))
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    try:
        async with deps.sessions.begin() as session:
            recorded, _ = await compass.record_as(
                session, actor=caller.actor, community_id=community_id, scores=scores, now=now
            )
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    lead = "compass.changed" if recorded.replaced else "compass.saved"
    return await _result(deps, turn, caller, community_id, lead=lead)


async def _again(
    deps: Deps, caller: Caller, turn: Turn, typed: dict[str, str], errors: dict[str, str]
) -> Json:
    """The questionnaire again, with the levels picked and each error under its statement."""
    t = caller.t
    now = utcnow()
    try:
        community_id = _community_of(turn)
        async with deps.sessions.begin() as session:
            await require(
                session, actor=caller.actor, action=Action.TAKE_COMPASS, community_id=community_id
            )
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            current = await compass.join_or_open(
                session,
                workspace_id=caller.workspace_id,
                community_id=community_id,
                now=now,
                person_id=None,
                survey_rule=deps.disclosure,
            )
            found = await compass.result(session, community_id=community_id, now=now)
            name = community.name
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    form = screens.build_form(
        t,
        community_id=community_id,
        community_name=name,
        current=current,
        respondents=found.respondents if found else 0,
        values=typed,
        tz=_zone(deps, turn, caller),
        errors=errors,
    )
    return dialog(t("compass.modal_title"), form)


async def show_result(deps: Deps, turn: Turn) -> Json:
    """task/fetch « compass_result »: the round so far (Slack's `/cop boussole résultats`)."""
    caller = await caller_of(deps, turn)
    try:
        community_id = _community_of(turn)
        async with deps.sessions() as session:
            await require(
                session, actor=caller.actor, action=Action.TAKE_COMPASS, community_id=community_id
            )
    except CopError as exc:
        return dialog_says(refusal(caller.t, exc))
    return await _result(deps, turn, caller, community_id)


async def _result(
    deps: Deps, turn: Turn, caller: Caller, community_id: int, *, lead: str | None = None
) -> Json:
    """The round's result as a dialog: its lines, and the radar chart when it fits."""
    t = caller.t
    now = utcnow()
    try:
        async with deps.sessions() as session:
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            found = await compass.result(session, community_id=community_id, now=now)
            name = community.name
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    if found is None or found.empty:
        if lead:
            return dialog_says(say(t, lead, typed={"name": name}))
        return dialog_says(say(t, "compass.empty", typed={"name": name}))
    png: bytes | None
    try:
        png = await asyncio.to_thread(compass.radar_png, t, found, name=name)
    except Exception:
        logger.warning("could not draw the compass radar", exc_info=True)
        png = None
    content = await asyncio.to_thread(
        screens.build_result,
        t,
        found,
        name=name,
        tz=_zone(deps, turn, caller),
        lead=lead,
        png=png,
    )
    return dialog(t("compass.chart_title", name=name), content)


def register(edge: TeamsEdge, deps: Deps) -> None:
    async def on_command(turn: Turn, rest: str) -> None:
        await show(deps, turn, rest)

    async def on_fetch(turn: Turn) -> Json:
        return await open_form(deps, turn)

    async def on_submit(turn: Turn) -> Json:
        return await submit_form(deps, turn)

    async def on_result(turn: Turn) -> Json:
        return await show_result(deps, turn)

    edge.command(*WORDS)(on_command)
    edge.invoke("task/fetch", screens.DIALOG)(on_fetch)
    edge.invoke("task/submit", screens.DIALOG)(on_submit)

    async def on_heatmap(turn: Turn) -> Json:
        return await show_heatmap(deps, turn)

    edge.invoke("task/fetch", screens.RESULT)(on_result)
    edge.invoke("task/fetch", screens.HEATMAP)(on_heatmap)
