"""`@cop événement` in Teams: the dialog to plan an event, its announcement in the channel, and
the RSVP buttons that update it in place — the same domain (bot.event_changes, bot.events) and
the same permission guard (bot.permissions through event_changes) as Slack's /cop event.

Flow: `@cop événement` in a community's channel → a card with « Créer un événement » (dialogs
open only from a card's button) → task/fetch "event" → the form → task/submit "event" → the
checks of bot.events.validate (errors in the dialog, typed values kept) → event_changes.save →
the announcement posted in the channel, its activity id kept on the event (announced) → each
RSVP click (adaptiveCard/action) → event_changes.answer → the channel's card PUT for everyone
with the new counts, and the clicker's own copy (the invoke's answer) saying their answer →
once the event has started, the rituals' clock (rituals/event_starts.py, through the
"event_started:teams" hook) PUTs the card again without its buttons.

Not here yet: the event list, edit / cancel and attendance (Slack's list buttons), events over
several days and series (the end fields, the repeat fields). The .ics Slack uploads in the
announcement's thread is, in Teams, the card's « Ajouter à mon agenda » link (bot.downloads).
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot import downloads, event_changes, events
from bot.communities import CommunityView
from bot.errors import CopError, InvalidFields
from bot.events import EventView
from bot.i18n import Translator, translate
from bot.models import ChannelStatus, utcnow
from bot.numbers import row_id
from bot.ports import DeliveryError
from bot.teams import conversations
from bot.teams.cards import event as cards
from bot.teams.edge import ADAPTIVE_CARD, card_attachment
from bot.teams.render import escape
from handlers.teams.context import Caller, caller_of
from rituals import event_starts, outbox

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.teams.edge import TeamsEdge, Turn

logger = logging.getLogger(__name__)
Json = dict[str, Any]
WORDS = ("event", "evenement", "événement", "évènement", "events", "événements")


# --- helpers ------------------------------------------------------------------------------------


def said(t: Translator, exc: CopError) -> str:
    """A refusal in the person's language, typed parameters (a title) shown as typed."""
    return t(exc.key, **{k: escape(v) if isinstance(v, str) else v for k, v in exc.params.items()})


def closing(text: str) -> Json:
    """A dialog's last answer: it closes, saying this."""
    return {"task": {"type": "message", "value": text}}


def refreshed(card: Json) -> Json:
    """An Action.Execute's answer: the card the clicker sees from now on (them alone)."""
    return {"statusCode": 200, "type": ADAPTIVE_CARD, "value": card}


def community_here(caller: Caller) -> CommunityView:
    if caller.community is None:
        raise CopError("teams.event.not_a_community")
    if caller.community.channel_status != ChannelStatus.OK:
        raise CopError("command.community_archived", name=caller.community.name)
    return caller.community


def submission_key(turn: Turn) -> str:
    """Teams redelivers an unanswered invoke with the same id: one event, whatever the retries."""
    seed = f"teams:{turn.tenant_id}:{turn.user_id}:{turn.activity.get('id')}"
    return hashlib.sha256(seed.encode()).hexdigest()


def register(edge: TeamsEdge, deps: Deps) -> None:
    """`@cop événement`, its dialog and the RSVP buttons."""
    zone = deps.programme.timezone

    def channel_translator(event: EventView) -> Translator:
        return translate(event.community_language or deps.programme.language)

    def announcement(t: Translator, workspace_id: str, event: EventView, **shown: Any) -> Json:
        """The announcement card, with its « Ajouter à mon agenda » link (bot.downloads)."""
        now = utcnow()
        built = cards.announcement(t, event, now=now, **shown)
        url = downloads.calendar_link(workspace_id, event, settings=deps.config.settings)
        return cards.with_calendar(built, t, event, url, now)

    async def show_in_channel(turn: Turn, event: EventView) -> None:
        """The channel's card for everyone, as the event stands (PUT on the announcement)."""
        if not event.channel_id or not event.message_ts:
            return
        card = announcement(channel_translator(event), turn.tenant_id, event)
        try:
            await edge.update(
                turn.service_url,
                event.channel_id,
                event.message_ts,
                {"attachments": [card_attachment(card)]},
            )
        except DeliveryError:
            logger.warning("could not update the announcement of event %s", event.id, exc_info=True)

    async def announce(turn: Turn, event: EventView) -> EventView | None:
        """Post the announcement (the card alone: a text beside it would split the message and
        leave it without an id to update), then remember where it is."""
        assert event.channel_id is not None
        card = announcement(channel_translator(event), turn.tenant_id, event)
        url = (
            f"{turn.service_url.rstrip('/')}/v3/conversations/"
            f"{quote(event.channel_id, safe='')}/activities"
        )
        try:
            posted = await edge.connector(
                "POST", url, {"type": "message", "attachments": [card_attachment(card)]}
            )
        except DeliveryError:
            logger.warning("could not announce event %s", event.id, exc_info=True)
            return None
        if not posted.get("id"):
            return None
        return await event_changes.announced(
            deps.sessions,
            workspace_id=turn.tenant_id,
            event_id=event.id,
            channel_id=event.channel_id,
            ts=str(posted["id"]),
            default_tz=zone,
        )

    @edge.command(*WORDS)
    async def command(turn: Turn, rest: str) -> None:
        """A card with the button that opens the dialog, for those who may plan events."""
        from handlers.teams import attendance  # it builds on this module's helpers

        if attendance.asked(rest):  # `@cop événement présences`: who came to the last ones
            await attendance.recent_events(deps, turn)
            return
        del rest  # `liste` and the rest: not in Teams yet
        caller = await caller_of(deps, turn)
        t = caller.t
        try:
            community = community_here(caller)
            await event_changes.editor(
                deps.sessions, actor=caller.actor, community_id=community.id, default_tz=zone
            )
        except CopError as exc:
            await turn.reply({"text": said(t, exc), "textFormat": "markdown"})
            return
        card = cards.start_card(t, community_name=community.name)
        await turn.reply({"attachments": [card_attachment(card)]})

    @edge.invoke("task/fetch", cards.DIALOG)
    async def open_dialog(turn: Turn) -> Json:
        caller = await caller_of(deps, turn)
        t = caller.t
        try:
            community = community_here(caller)
            shown = await event_changes.editor(
                deps.sessions, actor=caller.actor, community_id=community.id, default_tz=zone
            )
        except CopError as exc:
            return closing(said(t, exc))
        return cards.dialog(
            t,
            community_name=shown.community_name,
            default_tz=turn.timezone or shown.default_tz,
        )

    @edge.invoke("task/submit", cards.DIALOG)
    async def submit(turn: Turn) -> Json:
        """Checked as Slack checks it; errors go back into the dialog with what was typed."""
        data = turn.value.get("data")
        data = data if isinstance(data, dict) else {}
        caller = await caller_of(deps, turn)
        t = caller.t
        try:
            community = community_here(caller)
        except CopError as exc:
            return closing(said(t, exc))
        try:
            schedule = events.validate(cards.parse(data), now=utcnow())
        except InvalidFields as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors:
                errors.setdefault(cards.field_of(error), []).append(said(t, error))
            return cards.dialog(
                t,
                community_name=community.name,
                default_tz=str(data.get("tz") or community.tz or zone),
                values=data,
                errors=errors,
            )
        try:
            saved = await event_changes.save(
                deps.sessions,
                outbox.enqueue,
                actor=caller.actor,
                event_id=None,
                community_id=community.id,
                schedule=schedule,
                submission_key=submission_key(turn),
                default_tz=zone,
                default_language=deps.programme.language,
            )
        except CopError as exc:
            return closing(said(t, exc))
        if saved is None:  # the same submission delivered twice: done the first time
            return closing(t("teams.event.already"))
        announced = await announce(turn, saved.event)
        if announced is None:
            return closing(t("event.announce_failed"))
        when = cards.when_text(
            t, announced, turn.timezone or announced.community_tz, with_zone=True
        )
        return closing(t("teams.event.created", title=announced.title, when=when))

    async def rsvp(turn: Turn) -> Json:
        """One answer per person (a second click on the same answer changes nothing, another
        moves it): the channel's card for everyone, the clicker's copy saying theirs."""
        answer = cards.ANSWER_OF[str(turn.invoke_key)]
        action = turn.value.get("action")
        data = (action.get("data") if isinstance(action, dict) else None) or {}
        caller = await caller_of(deps, turn)
        t = caller.t
        event_id: int | None = None
        try:
            event_id = row_id(data.get("event") if isinstance(data, dict) else None)
            changed, shown = await event_changes.answer(
                deps.sessions,
                actor=caller.actor,
                event_id=event_id,
                answer=answer,
                default_tz=zone,
            )
        except CopError as refused:
            if event_id is None:
                return refreshed(cards.message_card(said(t, refused)))
            try:
                latest = await event_changes.current(
                    deps.sessions,
                    workspace_id=caller.workspace_id,
                    event_id=event_id,
                    default_tz=zone,
                )
            except CopError:
                return refreshed(cards.message_card(said(t, refused)))
            if refused.key == "event.rsvp_started":  # an announcement posted before it began
                await show_in_channel(turn, latest)
            return refreshed(announcement(t, caller.workspace_id, latest, said=said(t, refused)))
        if changed:
            await show_in_channel(turn, shown)
            # two answers at the same moment may have rendered in either order: the last word
            # goes to the counts as they are now
            latest = await event_changes.current(
                deps.sessions, workspace_id=caller.workspace_id, event_id=shown.id, default_tz=zone
            )
            if latest.counts != shown.counts:
                await show_in_channel(turn, latest)
            shown = latest
        mine = cards.rsvp_saved(t, shown, answer, tz=shown.community_tz)
        return refreshed(announcement(t, caller.workspace_id, shown, mine=answer, said=mine))

    for verb in cards.RSVP.values():
        edge.invoke("adaptiveCard/action", verb)(rsvp)

    async def close_answers(workspace_id: str, event_id: int) -> bool:
        """The event has started: the channel's card, PUT again, shows no RSVP buttons and says
        the answers are closed — as Slack's chat.update does (the rituals' clock calls this,
        rituals/event_starts.py). False when Teams did not take it (tried at the next tick)."""
        event = await event_changes.current(
            deps.sessions, workspace_id=workspace_id, event_id=event_id, default_tz=zone
        )
        if not event.channel_id or not event.message_ts:
            return True  # never announced: nothing to re-render
        async with deps.sessions() as session:
            ref = await conversations.find(
                session, workspace_id=workspace_id, conversation_id=event.channel_id
            )
            url = (
                ref.service_url
                if ref is not None
                else await conversations.service_url(session, workspace_id=workspace_id)
            )
        if url is None:  # no one in the tenant ever spoke to the bot: no address to write to
            logger.warning("no service URL to close the answers of event %s", event.id)
            return False
        card = announcement(channel_translator(event), workspace_id, event)
        try:
            await edge.update(
                url, event.channel_id, event.message_ts, {"attachments": [card_attachment(card)]}
            )
        except DeliveryError as failed:
            if failed.permanent:  # the card or the channel is gone: nothing left to close
                return True
            logger.warning("could not close the answers of event %s: %s", event.id, failed)
            return False
        return True

    deps.hooks[event_starts.hook_name("teams")] = close_answers
