"""`@cop histoire` in Teams: a success story told in a dialog, checked and recorded by the same
domain as Slack's story modal (bot.stories.check / share): it waits for the community's leaders
to validate it (`/cop histoires` in Slack) and counts as value only then (bot.stories.counted)."""

from __future__ import annotations

from bot import communities, stories
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.numbers import row_id
from bot.teams.cards import story as screens
from bot.teams.cards.common import Json, dialog, dialog_says, message
from bot.teams.edge import TeamsEdge, Turn
from handlers.teams.charters import tell
from handlers.teams.context import Caller, caller_of

WORDS = ("story", "histoire", "recit", "récit")


async def show(deps: Deps, turn: Turn, rest: str) -> None:
    """In a community's channel, its form's button; elsewhere one per community of the person."""
    del rest
    caller = await caller_of(deps, turn)
    t = caller.t
    if caller.community is not None:
        choices = [(caller.community.id, caller.community.name)]
    else:
        choices = await stories.communities_of(deps.sessions, actor=caller.actor)
    if not choices:
        await tell(turn, t("stories.no_community"))
        return
    await turn.reply(message(screens.build_prompt(t, choices), t("stories.modal_title")))


async def _community(deps: Deps, caller: Caller, turn: Turn) -> tuple[int, str]:
    """The community the dialog is for, in the caller's tenant (NotFound when forged)."""
    data = turn.value.get("data")
    community_id = row_id((data if isinstance(data, dict) else {}).get("community"))
    async with deps.sessions() as session:
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        return community.id, community.name


async def open_form(deps: Deps, turn: Turn) -> Json:
    caller = await caller_of(deps, turn)
    t = caller.t
    try:
        community_id, name = await _community(deps, caller, turn)
    except CopError as exc:
        return dialog_says(t(exc.key, **exc.params))
    form = screens.build_form(t, community_id=community_id, community=name)
    return dialog(t("stories.modal_title"), form)


async def submit_form(deps: Deps, turn: Turn) -> Json:
    """The fields checked (errors in the dialog, what was typed kept), then the story recorded
    for the leaders to review, once per submission (Teams may deliver an invoke twice)."""
    caller = await caller_of(deps, turn)
    t = caller.t
    data = turn.value.get("data")
    typed = screens.typed_values(data if isinstance(data, dict) else {})
    try:
        community_id, name = await _community(deps, caller, turn)
    except CopError as exc:
        return dialog_says(t(exc.key, **exc.params))
    try:
        story = screens.parse(typed)
        stories.check(story)
        await stories.share(
            deps.sessions,
            actor=caller.actor,
            community_id=community_id,
            data=story,
            submission_key=f"teams:{turn.activity.get('id') or ''}"[:64],
        )
    except InvalidFields as exc:
        form = screens.build_form(
            t,
            community_id=community_id,
            community=name,
            values=typed,
            errors=screens.field_errors(t, exc),
        )
        return dialog(t("stories.modal_title"), form)
    except CopError as exc:
        return dialog_says(t(exc.key, **exc.params))
    return dialog_says(t("stories.thanks"))


def register(edge: TeamsEdge, deps: Deps) -> None:
    async def on_command(turn: Turn, rest: str) -> None:
        await show(deps, turn, rest)

    async def on_fetch(turn: Turn) -> Json:
        return await open_form(deps, turn)

    async def on_submit(turn: Turn) -> Json:
        return await submit_form(deps, turn)

    edge.command(*WORDS)(on_command)
    edge.invoke("task/fetch", screens.DIALOG)(on_fetch)
    edge.invoke("task/submit", screens.DIALOG)(on_submit)
