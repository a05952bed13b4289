"""`@cop charte` in Teams: the charter card, and the dialog that edits it, through the same
domain (bot.charters) and the same guard (bot.permissions) as Slack's `/cop charte`.

Teams has no message only one person sees in a channel: the card answers in the channel, with
« Modifier la charte » when the person who asked may edit it; whoever clicks it is asked the
guard again when the dialog opens and when it is sent."""

from __future__ import annotations

import logging
from urllib.parse import quote

from bot import charters, communities, people
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.i18n import translate
from bot.models import Role, utcnow
from bot.numbers import row_id
from bot.permissions import Action, Actor, may, require
from bot.ports import DeliveryError
from bot.teams.cards import charter as screens
from bot.teams.cards.common import Json, dialog, dialog_says, message, refusal, say
from bot.teams.edge import TeamsEdge, Turn
from handlers.teams.context import Caller, caller_of, tell, where_to

logger = logging.getLogger(__name__)

WORDS = ("charter", "charte")


async def _names(deps: Deps, community_id: int) -> dict[str, str]:
    """Who holds the charter's roles, by name (Teams shows no mention of an id in a card)."""
    async with deps.sessions() as session:
        held = await communities.people_with_roles(
            session, community_id=community_id, roles=(Role.LEADER, Role.CORE_TEAM, Role.SPONSOR)
        )
        return {p.slack_user_id: people.display_name(p) for _, p in held}


async def charter_card(
    deps: Deps,
    *,
    actor: Actor | None,
    workspace_id: str,
    community_id: int,
    language: str,
    tz: str,
) -> Json:
    """A community's charter as a card, with the edit button when `actor` may edit it (None: a
    card for the whole channel, whose button asks the guard when clicked)."""
    async with deps.sessions() as session:
        community = await communities.get(
            session, workspace_id=workspace_id, community_id=community_id
        )
        name = community.name
        current = await charters.current(session, community_id=community_id)
        roles = await charters.roles(session, community_id=community_id)
        editable = actor is None or await may(
            session, actor=actor, action=Action.EDIT_CHARTER, community_id=community_id
        )
    return screens.build_card(
        translate(language),
        community_id=community_id,
        community_name=name,
        charter=current,
        roles=roles,
        names=await _names(deps, community_id),
        today=deps.today(),
        tz=tz,
        editable=editable,
        stale_days=deps.programme.health.charter_stale_days,
    )


def _zone(deps: Deps, turn: Turn, caller: Caller) -> str:
    community = caller.community
    return turn.timezone or (community.tz if community else None) or deps.programme.timezone


async def show(deps: Deps, turn: Turn, rest: str) -> None:
    """`@cop charte`: in a community's channel, its charter; elsewhere, where to ask."""
    del rest  # « voir », « modifier »: one card does both in Teams
    caller = await caller_of(deps, turn)
    t = caller.t
    word = f"@cop {t('teams.help.word.charter')}"
    if caller.community is None:
        await tell(turn, await where_to(deps, caller, word))
        return
    content = await charter_card(
        deps,
        actor=caller.actor,
        workspace_id=caller.workspace_id,
        community_id=caller.community.id,
        language=caller.language,
        tz=_zone(deps, turn, caller),
    )
    fallback = say(t, "charter.title", typed={"name": caller.community.name})
    await turn.reply(message(content, fallback))


def _community_of(turn: Turn) -> int:
    """The community a dialog is for, from the data its button carries (NotFound if forged)."""
    data = turn.value.get("data")
    return row_id((data if isinstance(data, dict) else {}).get("community"))


async def open_form(deps: Deps, turn: Turn) -> Json:
    """task/fetch « charter »: the guard, then the form pre-filled with the current charter."""
    caller = await caller_of(deps, turn)
    t = caller.t
    try:
        community_id = _community_of(turn)
        async with deps.sessions() as session:
            await require(
                session, actor=caller.actor, action=Action.EDIT_CHARTER, community_id=community_id
            )
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            name = community.name
            current = await charters.current(session, community_id=community_id)
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    year = utcnow().year
    values = screens.values_of(current.draft if current else charters.CharterDraft(), year=year)
    form = screens.build_form(
        t, community_id=community_id, community_name=name, values=values, year=year
    )
    return dialog(t("charter.modal_title"), form)


async def submit_form(deps: Deps, turn: Turn) -> Json:
    """task/submit « charter »: the fields checked (errors in the dialog, what was typed kept),
    then saved as Slack saves it, and the new charter posted in the community's channel."""
    caller = await caller_of(deps, turn)
    t = caller.t
    data = turn.value.get("data")
    typed = screens.typed_values(data if isinstance(data, dict) else {})
    year = utcnow().year
    try:
        community_id = _community_of(turn)
        draft = charters.validate(screens.parse(typed, this_year=year))
    except InvalidFields as exc:
        return await _again(deps, caller, turn, typed, screens.field_errors(t, exc))
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    try:
        saved = await charters.submit(
            deps.sessions, actor=caller.actor, community_id=community_id, draft=draft
        )
    except InvalidFields as exc:
        return await _again(deps, caller, turn, typed, screens.field_errors(t, exc))
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    if saved is None:  # the same dialog sent twice at once: the other request saved it
        return dialog_says(t("teams.charter.twice"))
    if not saved.created:
        return dialog_says(
            say(
                t,
                "teams.charter.unchanged",
                typed={"name": saved.community_name},
                version=saved.version,
            )
        )
    posted = await _post(deps, turn, caller, community_id, saved.channel_id)
    key = "teams.charter.saved" if posted else "teams.charter.saved_not_posted"
    return dialog_says(say(t, key, typed={"name": saved.community_name}, version=saved.version))


async def _again(
    deps: Deps, caller: Caller, turn: Turn, typed: dict[str, str], errors: dict[str, str]
) -> Json:
    """The form again, with what was typed and each field's error under it."""
    t = caller.t
    try:
        community_id = _community_of(turn)
        async with deps.sessions() as session:
            community = await communities.get(
                session, workspace_id=caller.workspace_id, community_id=community_id
            )
            name = community.name
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    form = screens.build_form(
        t,
        community_id=community_id,
        community_name=name,
        values=typed,
        year=utcnow().year,
        errors=errors,
    )
    return dialog(t("charter.modal_title"), form)


async def _post(deps: Deps, turn: Turn, caller: Caller, community_id: int, channel: str) -> bool:
    """The charter as it now is, posted in the community's channel (in its language)."""
    async with deps.sessions() as session:
        community = await communities.get(
            session, workspace_id=caller.workspace_id, community_id=community_id
        )
        language = community.language or deps.programme.language
        tz = community.tz or deps.programme.timezone
        name = community.name
    content = await charter_card(
        deps,
        actor=None,
        workspace_id=caller.workspace_id,
        community_id=community_id,
        language=language,
        tz=tz,
    )
    url = f"{turn.service_url.rstrip('/')}/v3/conversations/{quote(channel, safe='')}/activities"
    try:
        await turn.edge.connector(
            "POST",
            url,
            message(content, say(translate(language), "charter.title", typed={"name": name})),
        )
    except DeliveryError as failed:
        logger.warning("could not post the charter in %s: %s", channel, failed)
        return False
    return True


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
