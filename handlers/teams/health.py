"""`@cop santé` in Teams: the programme overview for its managers, a community's view for those
who run it — the scope chosen, and refused, as Slack's /cop health does (handlers/health.py),
through the same guard (bot.permissions) and the same computation (bot.health.build_overview,
shared by identical requests through deps.overviews_in_flight)."""

from __future__ import annotations

from typing import cast
from zoneinfo import ZoneInfo

from bot import downloads, health, lifecycle
from bot.deps import Deps
from bot.errors import CopError
from bot.models import utcnow
from bot.numbers import row_id
from bot.teams.cards import health as screens
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
from handlers.teams.context import Caller, caller_of, tell

WORDS = ("health", "sante", "santé")
DIALOG = "health"
Scope = health.Scope  # whose health a request shows, decided in the domain for both platforms


async def resolve_scope(deps: Deps, caller: Caller, word: str | None) -> Scope:
    """`@cop santé [programme|<slug>]`: which view, and whether the caller may see it
    (NotAllowed otherwise) — bot.health.resolve_scope, as Slack's /cop health."""
    async with deps.sessions() as session:
        return await health.resolve_scope(
            session,
            workspace_id=caller.workspace_id,
            actor=caller.actor,
            word=word,
            here=caller.community.id if caller.community is not None else None,
            programme_name=deps.programme.name,
        )


async def compute(deps: Deps, scope: Scope) -> health.Overview:
    now, tz = utcnow(), deps.programme.timezone
    today = now.astimezone(ZoneInfo(tz)).date()

    async def build() -> health.Overview:
        async with deps.sessions.begin() as session:
            return await health.build_overview(
                session,
                workspace_id=health.covered(scope, deps.programme.workspaces),
                today=today,
                thresholds=deps.programme.health,
                tz=tz,
                community_ids=None if scope.community_id is None else [scope.community_id],
                question_kinds={q.key: q.kind for q in deps.programme.rituals.pulse.questions},
                now=now,
                rule=deps.disclosure,
                engagement_rule=deps.programme.engagement,
            )

    overview = await deps.overviews_in_flight.share(
        (scope.workspace_id, scope.community_id, today.isoformat()), build
    )
    return cast(health.Overview, overview)


async def health_card(deps: Deps, caller: Caller, scope: Scope, zone: str) -> Json:
    """The view of `scope` as a card, in the caller's language."""
    t = caller.t
    overview = await compute(deps, scope)
    async with deps.sessions() as session:
        listing = None
        shown = overview.items
        if scope.community_id is None:
            listing = await health.browse(
                session,
                workspace_id=health.covered(scope, deps.programme.workspaces),
                items=overview.items,
                filters=health.Filters(),
            )
            shown = listing.items
        reviews = await lifecycle.reviews(
            session,
            workspace_id=health.covered(scope, deps.programme.workspaces),
            items=shown,
            defaults=lifecycle.ritual_defaults(deps.programme),
        )
    if listing is not None:
        built = screens.build_programme(
            t, overview, programme_name=scope.name, listing=listing, reviews=reviews, tz=zone
        )
        return screens.with_exports(built, t, export_links(deps, caller, scope))
    return screens.build_community(t, overview, reviews.get(scope.community_id or 0), tz=zone)


def export_links(deps: Deps, caller: Caller, scope: Scope) -> dict[str, str]:
    """A programme manager's export links, format → address (none for anyone else, nor when the
    process cannot sign links): personal, the guard asked again when one is opened."""
    if not caller.actor.is_manager:
        return {}
    found = {
        fmt: downloads.export_link(
            caller.actor,
            fmt,
            community_id=scope.community_id,
            language=caller.language,
            settings=deps.config.settings,
            now=utcnow(),
        )
        for fmt in downloads.EXPORTS
    }
    return {fmt: url for fmt, url in found.items() if url}


def _title(caller: Caller, scope: Scope) -> str:
    key = "health.title_programme" if scope.community_id is None else "health.title_community"
    return say(caller.t, key, typed={"name": scope.name})


async def show(deps: Deps, turn: Turn, rest: str) -> None:
    """In the 1:1 chat, the view itself. In a channel — where everyone reads what the bot
    answers, and Teams has no message for one person — a button that opens it in a dialog,
    which only the person who clicks sees (and which asks the guard again)."""
    caller = await caller_of(deps, turn)
    t = caller.t
    word = rest.split()[0] if rest.split() else None
    try:
        scope = await resolve_scope(deps, caller, word)
    except CopError as exc:
        await tell(turn, refusal(t, exc))
        return
    if caller.personal:
        zone = turn.timezone or deps.programme.timezone
        content = await health_card(deps, caller, scope, zone)
        await turn.reply(message(content, _title(caller, scope)))
        return
    target = {"community": scope.community_id} if scope.community_id else {"programme": True}
    content = card(
        [
            heading(_title(caller, scope)),
            text(t("teams.health.private")),
        ],
        [open_dialog(t("teams.health.open"), DIALOG, **target)],
    )
    await turn.reply(message(content, _title(caller, scope)))


async def open_view(deps: Deps, turn: Turn) -> Json:
    """task/fetch « health »: the view the button names, if the clicker may see it."""
    caller = await caller_of(deps, turn)
    t = caller.t
    data = turn.value.get("data")
    data = data if isinstance(data, dict) else {}
    try:
        if data.get("programme") is True:
            scope = await resolve_scope(deps, caller, "programme")
        else:
            scope = await community_scope(deps, caller, row_id(data.get("community")))
    except CopError as exc:
        return dialog_says(refusal(t, exc))
    zone = turn.timezone or deps.programme.timezone
    return dialog(_title(caller, scope), await health_card(deps, caller, scope, zone))


async def community_scope(deps: Deps, caller: Caller, community_id: int) -> Scope:
    """One community by its id (a button's, maybe a row of a linked Slack workspace), once the
    caller may see its health (bot.health.programme_row, as Slack asks)."""
    async with deps.sessions.begin() as session:
        return await health.programme_row(
            session,
            actor=caller.actor,
            workspace_id=caller.workspace_id,
            linked_to=deps.programme.workspaces,
            community_id=community_id,
        )


def register(edge: TeamsEdge, deps: Deps) -> None:
    async def on_command(turn: Turn, rest: str) -> None:
        await show(deps, turn, rest)

    async def on_fetch(turn: Turn) -> Json:
        return await open_view(deps, turn)

    edge.command(*WORDS)(on_command)
    edge.invoke("task/fetch", DIALOG)(on_fetch)
