"""`@cop histoire` in Teams: a success story told in a dialog, checked and recorded by the same
domain as Slack's story modal (bot.stories.check / share): it waits for the community's leaders
to validate it (`/cop histoires` in Slack) and counts as value only then (bot.stories.counted)."""

from __future__ import annotations

from bot import communities, people, stories
from bot.deps import Deps
from bot.errors import CopError, InvalidFields, NotAllowed
from bot.models import StoryStatus, SuccessStory
from bot.numbers import row_id
from bot.teams.cards import story as screens
from bot.teams.cards.common import Json, dialog, dialog_says, message, refusal
from bot.teams.edge import TeamsEdge, Turn
from handlers.teams.context import Caller, caller_of, tell, where_to

WORDS = ("story", "histoire", "recit", "récit")
REVIEW_WORDS = ("stories", "histoires", "recits", "récits")


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
        return dialog_says(refusal(t, exc))
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
        return dialog_says(refusal(t, exc))
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
        return dialog_says(refusal(t, exc))
    return dialog_says(t("stories.thanks"))


async def _named(
    deps: Deps, caller: Caller, shown: list[tuple[SuccessStory, str | None]]
) -> list[tuple[SuccessStory, str | None]]:
    """Each story with its author's name (a card names people; it cannot mention an id)."""
    names: dict[str, str] = {}
    async with deps.sessions() as session:
        for author in {a for _, a in shown if a}:
            person = await people.find(
                session, workspace_id=caller.workspace_id, slack_user_id=author
            )
            names[author] = people.display_name(person) if person else ""
    return [(story, names.get(author or "") or None) for story, author in shown]


async def review(deps: Deps, turn: Turn, rest: str) -> None:
    """`@cop histoires` in a community's channel: its validated stories for everyone, and for
    those who may validate, a button opening the ones waiting (in a dialog only they see)."""
    del rest
    caller = await caller_of(deps, turn)
    t = caller.t
    if caller.community is None:
        await tell(turn, await where_to(deps, caller, f"@cop {t('teams.help.word.stories')}"))
        return
    found = await stories.review(
        deps.sessions, actor=caller.actor, community_id=caller.community.id
    )
    public = [(s, a) for s, a in found.stories if s.status == StoryStatus.VALIDATED]
    waiting = [s for s, _ in found.stories if s.status == StoryStatus.SUBMITTED]
    content = screens.build_review(
        t,
        community=found.community_name,
        shown=await _named(deps, caller, public),
        decide=False,
        pending=len(waiting) if found.may_validate else 0,
        community_id=caller.community.id,
    )
    await turn.reply(message(content, t("stories.modal_title")))


async def _review_dialog(
    deps: Deps, caller: Caller, community_id: int, done: str | None = None
) -> Json:
    t = caller.t
    found = await stories.review(deps.sessions, actor=caller.actor, community_id=community_id)
    if not found.may_validate:
        raise NotAllowed("permission.validate_story")
    content = screens.build_review(
        t,
        community=found.community_name,
        shown=await _named(deps, caller, found.stories),
        decide=True,
        heading_note=done,
    )
    return dialog(t("stories.modal_title"), content)


async def open_review(deps: Deps, turn: Turn) -> Json:
    """task/fetch « stories »: the stories waiting, with Valider / Refuser, for those who may."""
    caller = await caller_of(deps, turn)
    try:
        community_id, _ = await _community(deps, caller, turn)
        return await _review_dialog(deps, caller, community_id)
    except CopError as exc:
        return dialog_says(refusal(caller.t, exc))


async def decide(deps: Deps, turn: Turn) -> Json:
    """task/submit « stories »: a story validated or refused (bot.stories.judge, Slack's own
    use case: the guard, once only), and the list again."""
    caller = await caller_of(deps, turn)
    t = caller.t
    data = turn.value.get("data")
    data = data if isinstance(data, dict) else {}
    verb = "validate" if data.get("verb") == "validate" else "reject"
    try:
        community_id = await stories.judge(
            deps.sessions,
            actor=caller.actor,
            story_id=row_id(data.get("story")),
            validate=verb == "validate",
        )
        return await _review_dialog(deps, caller, community_id, t(f"teams.stories.{verb}d"))
    except CopError as exc:
        return dialog_says(refusal(t, exc))


def register(edge: TeamsEdge, deps: Deps) -> None:
    async def on_command(turn: Turn, rest: str) -> None:
        await show(deps, turn, rest)

    async def on_fetch(turn: Turn) -> Json:
        return await open_form(deps, turn)

    async def on_submit(turn: Turn) -> Json:
        return await submit_form(deps, turn)

    async def on_review(turn: Turn, rest: str) -> None:
        await review(deps, turn, rest)

    async def on_review_fetch(turn: Turn) -> Json:
        return await open_review(deps, turn)

    async def on_decide(turn: Turn) -> Json:
        return await decide(deps, turn)

    edge.command(*WORDS)(on_command)
    edge.command(*REVIEW_WORDS)(on_review)
    edge.invoke("task/fetch", screens.REVIEW)(on_review_fetch)
    edge.invoke("task/submit", screens.REVIEW)(on_decide)
    edge.invoke("task/fetch", screens.DIALOG)(on_fetch)
    edge.invoke("task/submit", screens.DIALOG)(on_submit)
