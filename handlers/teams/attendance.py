"""Who came to an event, in Teams — Slack's attendance form (handlers/community_events.py) in
Teams' idiom, through the same domain (bot.event_changes.attendance_sheet, take_attendance,
bot.events.check_attendance) and the same permission guard.

Flow: the event starts → the channel's card loses its RSVP buttons and shows « Qui est venu ? »
(bot/teams/cards/attendance.py; the rituals' clock re-renders it, handlers/teams/events.py) →
task/fetch "event_attendance" → the dialog: the community's members, those who said they would
come (or those recorded already) ticked, and a count for the others → task/submit → the checks
of bot.events (errors in the dialog, what was typed kept) → take_attendance (audited; a second
recording replaces the first) → the channel's card PUT with « 👥 Présents : N », and the dialog
closes saying what was recorded. A member who clicks is refused by the guard, as in Slack.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot import downloads, event_changes, events
from bot.errors import CopError, InvalidFields
from bot.events import EventView
from bot.i18n import translate
from bot.models import utcnow
from bot.numbers import row_id
from bot.ports import DeliveryError
from bot.teams.cards import attendance as cards
from bot.teams.cards import event as event_cards
from bot.teams.edge import card_attachment
from handlers.teams.context import caller_of
from handlers.teams.events import closing, community_here, said

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

logger = logging.getLogger(__name__)
Json = dict[str, Any]


def _data(turn: Turn) -> Json:
    data = turn.value.get("data")
    return data if isinstance(data, dict) else {}


WORDS = frozenset({"presences", "présences", "presence", "présence", "attendance", "présents"})


def asked(rest: str) -> bool:
    """`@cop événement présences` (handlers/teams/events.py hands it over)."""
    first = rest.split(maxsplit=1)[0].lower() if rest.strip() else ""
    return first in WORDS


async def recent_events(deps: Deps, turn: Turn) -> None:
    """The community's latest held events, each with « Qui est venu ? », for its leaders; the
    others are refused by the guard (as the dialog would refuse them)."""
    zone = deps.programme.timezone
    caller = await caller_of(deps, turn)
    t = caller.t
    try:
        community = community_here(caller)
        await event_changes.editor(
            deps.sessions, actor=caller.actor, community_id=community.id, default_tz=zone
        )
        found = await event_changes.listing(
            deps.sessions,
            actor=caller.actor,
            community_id=community.id,
            default_tz=zone,
            now=utcnow(),
        )
    except CopError as exc:
        await turn.reply({"text": said(t, exc), "textFormat": "markdown"})
        return
    tz = turn.timezone or community.tz or zone
    card = cards.recent(t, community_name=community.name, past=found.past, tz=tz)
    await turn.reply({"attachments": [card_attachment(card)]})


def register(edge: TeamsEdge, deps: Deps) -> None:
    """The « Qui est venu ? » dialog of a started event's card."""
    zone = deps.programme.timezone

    async def sheet(
        turn: Turn, event_id: int
    ) -> tuple[EventView, tuple[str, ...], list[event_changes.Attendable]]:
        """The event (started, not cancelled, theirs to manage), who said going, and the roll."""
        caller = await caller_of(deps, turn)
        shown, suggested = await event_changes.attendance_sheet(
            deps.sessions, actor=caller.actor, event_id=event_id, default_tz=zone
        )
        roll = await event_changes.attendance_roll(
            deps.sessions,
            workspace_id=caller.workspace_id,
            community_id=shown.community_id,
            named=tuple(shown.attendees) + suggested,
        )
        return shown, suggested, roll

    async def show_in_channel(turn: Turn, event: EventView) -> None:
        """The channel's card for everyone, now saying the attendance (PUT in place)."""
        if not event.channel_id or not event.message_ts:
            return
        t = translate(event.community_language or deps.programme.language)
        # as handlers/teams/events.py renders it: with « Ajouter à mon agenda » until it ends
        now = utcnow()
        url = downloads.calendar_link(turn.tenant_id, event, settings=deps.config.settings)
        card = event_cards.with_calendar(
            event_cards.announcement(t, event, now=now), t, event, url, now
        )
        try:
            await edge.update(
                turn.service_url,
                event.channel_id,
                event.message_ts,
                {"attachments": [card_attachment(card)]},
            )
        except DeliveryError:
            logger.warning("could not show the attendance of event %s", event.id, exc_info=True)

    @edge.invoke("task/fetch", cards.DIALOG)
    async def open_dialog(turn: Turn) -> Json:
        caller = await caller_of(deps, turn)
        t = caller.t
        try:
            shown, suggested, roll = await sheet(turn, row_id(_data(turn).get("event")))
        except CopError as exc:
            return closing(said(t, exc))
        count = "" if shown.attendance_count is None else str(shown.attendance_count)
        # what was recorded, else those who said they would come (as Slack's form prefills)
        chosen = list(shown.attendees or suggested)
        return cards.dialog(t, shown, roll=roll, chosen=chosen, count=count)

    @edge.invoke("task/submit", cards.DIALOG)
    async def submit(turn: Turn) -> Json:
        data = _data(turn)
        caller = await caller_of(deps, turn)
        t = caller.t
        try:
            shown, _, roll = await sheet(turn, row_id(data.get("event")))
        except CopError as exc:
            return closing(said(t, exc))
        try:
            event_id, count, names = cards.parse(data, roll=roll)
            events.check_attendance(count, names)
        except InvalidFields as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors:
                errors.setdefault(cards.field_of(error), []).append(said(t, error))
            return cards.dialog(
                t,
                shown,
                roll=roll,
                chosen=cards.ticked(data, roll),
                count="" if data.get("count") is None else str(data.get("count")),
                errors=errors,
            )
        try:
            recorded, stored = await event_changes.take_attendance(
                deps.sessions,
                actor=caller.actor,
                event_id=event_id,
                count=count,
                names=names,
                default_tz=zone,
            )
        except CopError as exc:
            return closing(said(t, exc))
        await show_in_channel(turn, recorded)
        return closing(t("teams.event.attendance_saved", title=recorded.title, count=stored))
