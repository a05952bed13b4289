"""/cop event: scheduling, RSVP buttons, attendance and calendar files (leaders' tools).

The calendar file: Slack is our only file host, so each version of an event's .ics is uploaded
(files_upload_v2) in the thread of its announcement — on creation, on every change and on
cancellation. Everyone in the channel can open it on any device, and because the UID stays the
same and SEQUENCE grows, importing the newer file updates the calendar entry instead of adding a
second one. (An ephemeral reply cannot carry a file, and a per-click upload would scatter copies.)
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, events, people
from bot.audit import record
from bot.deps import Deps
from bot.errors import CopError, InvalidFields
from bot.events import EventView
from bot.i18n import Translator, language_of, translate
from bot.models import Event, EventStatus, utcnow
from bot.permissions import Action, Actor, may, require
from bot.slack.blocks import event as screens
from bot.slack.blocks.common import blocks_json, modal_metadata
from bot.slack.blocks.home import EVENT_NEW
from bot.slack.text import row_id
from handlers import home
from handlers.charters import (
    answer_click,
    community_translator,
    field_errors,
    modal_button,
    open_from_command,
    refusal,
    tell_user,
)
from handlers.commands import CommandRequest, HelpLine, Subcommand
from handlers.context import Caller, caller_of, open_view, read_modal, zone_of
from rituals import outbox

logger = logging.getLogger(__name__)

NEW_WORDS = {"", "new", "nouveau", "nouvel", "create", "creer", "créer", "planifier"}
LIST_WORDS = {"list", "liste", "ls"}


def submission_key(view: dict[str, Any]) -> str:
    """The same modal sent twice has the same view id and hash: one event."""
    return hashlib.sha256(f"{view.get('id')}:{view.get('hash')}".encode()).hexdigest()


def ics_domain(workspace_id: str) -> str:
    return f"{workspace_id.lower()}.cop-bot"


async def load_view(session: AsyncSession, deps: Deps, event: Event) -> EventView:
    return await events.view(session, event=event, default_tz=deps.programme.timezone)


async def event_to_manage(session: AsyncSession, caller: Caller, event_id: int) -> Event:
    """The event, once the caller is allowed to manage its community's events."""
    event = await events.get(session, workspace_id=caller.workspace_id, event_id=event_id)
    await require(
        session, actor=caller.actor, action=Action.MANAGE_EVENTS, community_id=event.community_id
    )
    return event


# --- opening the modal ------------------------------------------------------------------------


async def open_modal(
    deps: Deps,
    client: AsyncWebClient,
    *,
    actor: Actor,
    t: Translator,
    trigger_id: str,
    community_id: int = 0,
    event_id: int | None = None,
) -> None:
    """Check the permission (again, for Home and list buttons), then open create or edit."""
    async with deps.sessions.begin() as session:
        draft = None
        if event_id is not None:
            event = await events.get(session, workspace_id=actor.workspace_id, event_id=event_id)
            community_id = event.community_id
            if event.status == EventStatus.CANCELLED:
                raise CopError("event.is_cancelled", title=event.title)
            draft = (await load_view(session, deps, event)).draft()
        await require(session, actor=actor, action=Action.MANAGE_EVENTS, community_id=community_id)
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=community_id
        )
        person = await people.find(
            session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
        )
        default_tz = (person.tz if person else None) or community.tz or deps.programme.timezone
        name = community.name
    view = screens.build_modal(
        t,
        community_id=community_id,
        community_name=name,
        default_tz=default_tz,
        draft=draft,
        event_id=event_id,
    )
    await open_view(client, trigger_id=trigger_id, view=view, t=t)


# --- /cop event ---------------------------------------------------------------------------------


async def handle_event(req: CommandRequest) -> None:
    word = req.args[0].lower() if req.args else ""
    req.require_community()  # every sub-command answers in a community channel only
    if word in NEW_WORDS:
        await open_from_command(open_modal, req)
    elif word in LIST_WORDS:
        await show_list(req)
    else:
        await req.say("event.usage_hint")


async def show_list(req: CommandRequest) -> None:
    """Ephemeral (chat.postEphemeral, so its buttons work), times in the reader's zone."""
    community = req.require_community()
    deps = req.deps
    now = utcnow()
    async with deps.sessions() as session:
        manage = await may(
            session, actor=req.caller.actor, action=Action.MANAGE_EVENTS, community_id=community.id
        )
        ahead = [
            await load_view(session, deps, e)
            for e in await events.upcoming(session, community_ids=[community.id], now=now)
        ]
        held = [
            await load_view(session, deps, e)
            for e in await events.past(session, community_ids=[community.id], now=now)
        ]
    text, blocks = screens.build_list(
        req.t,
        community_name=community.name,
        upcoming=ahead,
        past=held,
        tz=await zone_of(deps, req.caller),
        may_manage=manage,
    )
    try:
        await req.client.chat_postEphemeral(
            channel=community.channel_id,
            user=req.caller.user_id,
            text=text,
            blocks=blocks_json(blocks),
        )
    except SlackApiError:
        await req.show(text, blocks_json(blocks))


# --- announcement, calendar file, notices ---------------------------------------------------------


def announcement(deps: Deps, event: EventView) -> dict[str, Any]:
    """The announcement's text and blocks, in the community's language, as it stands now."""
    t = community_translator(deps, event.community_language)
    text, blocks = screens.build_announcement(t, event, now=utcnow())
    return {"channel": event.channel_id, "text": text, "blocks": blocks_json(blocks)}


async def post_announcement(deps: Deps, client: AsyncWebClient, event: EventView) -> str | None:
    assert event.channel_id is not None
    try:
        response = await client.chat_postMessage(**announcement(deps, event))
    except SlackApiError:
        logger.warning("could not announce event %s", event.id, exc_info=True)
        return None
    return str(response["ts"])


async def refresh_announcement(deps: Deps, client: AsyncWebClient, event: EventView) -> None:
    """chat.update the announcement in place (counts, changes, cancellation, attendance)."""
    if not event.channel_id or not event.message_ts:
        return
    try:
        await client.chat_update(ts=event.message_ts, **announcement(deps, event))
    except SlackApiError:
        logger.warning("could not update the announcement of event %s", event.id, exc_info=True)


async def upload_ics(
    deps: Deps, client: AsyncWebClient, event: EventView, *, workspace_id: str
) -> None:
    if not event.channel_id or not event.message_ts:
        return
    t = community_translator(deps, event.community_language)
    content = events.ics(event, domain=ics_domain(workspace_id), now=utcnow())
    try:
        await client.files_upload_v2(
            channel=event.channel_id,
            thread_ts=event.message_ts,
            content=content.encode(),
            filename=events.ics_filename(event),
            title=t("event.ics_title", title=event.title),
            initial_comment=t("event.ics_comment"),
        )
    except SlackApiError:
        logger.warning("could not upload the calendar file of event %s", event.id, exc_info=True)


async def owe_notices(
    session: AsyncSession, deps: Deps, event: EventView, *, workspace_id: str, cancelled: bool
) -> int:
    """Tell those who said going, by DM through the outbox, in their language and zone."""
    told = 0
    for person in await events.going(session, event_id=event.id):
        t = translate(
            language_of(person.locale, event.community_language or deps.programme.language)
        )
        text, blocks = screens.build_change_notice(
            t, event, tz=person.tz or event.community_tz, cancelled=cancelled
        )
        if await outbox.enqueue(
            session,
            workspace_id=workspace_id,
            key=f"event:{event.id}:change:{event.sequence}:{person.person_id}",
            kind="event_change",
            text=text,
            blocks=blocks_json(blocks),
            person_id=person.person_id,
            community_id=event.community_id,
        ):
            told += 1
    return told


async def refresh_homes(
    deps: Deps, client: AsyncWebClient, caller: Caller, event: EventView
) -> None:
    """The event list on the Homes of the author and the community's members (best effort)."""
    await home.refresh_community(
        deps,
        client,
        workspace_id=caller.workspace_id,
        community_id=event.community_id,
        author=caller.user_id,
    )


# --- the modal's submission ------------------------------------------------------------------------


async def _change(
    session: AsyncSession, deps: Deps, caller: Caller, event_id: int, schedule: events.Schedule
) -> tuple[EventView, int]:
    """Edit or reschedule; those who said going are owed a notice. Returns (event, told)."""
    event = await event_to_manage(session, caller, event_id)
    if not await events.update(session, event=event, schedule=schedule):
        raise CopError("event.unchanged")
    shown = await load_view(session, deps, event)
    told = await owe_notices(
        session, deps, shown, workspace_id=caller.workspace_id, cancelled=False
    )
    return shown, told


async def _create(
    session: AsyncSession,
    deps: Deps,
    caller: Caller,
    community_id: int,
    schedule: events.Schedule,
    key: str,
) -> EventView | None:
    """A new event in the community's channel; None when this submission was already recorded."""
    await require(
        session, actor=caller.actor, action=Action.MANAGE_EVENTS, community_id=community_id
    )
    community = await communities.get(
        session, workspace_id=caller.workspace_id, community_id=community_id
    )
    result = await events.create(
        session,
        workspace_id=caller.workspace_id,
        community_id=community_id,
        schedule=schedule,
        author_slack_user_id=caller.user_id,
        submission_key=key,
    )
    if not result.created:
        return None
    result.event.channel_id = community.channel_id
    return await load_view(session, deps, result.event)


async def _announce(
    deps: Deps, client: AsyncWebClient, caller: Caller, event: EventView
) -> EventView | None:
    """Post the announcement, remember where it is, then put the calendar file in its thread."""
    ts = await post_announcement(deps, client, event)
    if ts is None:
        return None
    async with deps.sessions.begin() as session:
        row = await events.get(session, workspace_id=caller.workspace_id, event_id=event.id)
        await events.set_message(session, event=row, channel_id=event.channel_id or "", ts=ts)
        event = await load_view(session, deps, row)
    await upload_ics(deps, client, event, workspace_id=caller.workspace_id)
    return event


async def handle_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Fields checked before the ack, without the database; the permission and the save after."""
    t, view = read_modal(deps, body)
    try:
        meta = modal_metadata(view)
        event_id = row_id(meta["e"]) if meta.get("e") is not None else None
        community_id = 0 if event_id else row_id(meta.get("c"))
        schedule = events.validate(screens.parse(view), now=utcnow())
    except InvalidFields as exc:
        await ack(response_action="errors", errors=field_errors(t, exc, screens.field_block))
        return
    except CopError as exc:  # metadata that is not ours
        await ack(
            response_action="errors", errors={screens.field_block(None): t(exc.key, **exc.params)}
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        async with deps.sessions.begin() as session:
            if event_id:
                shown, told = await _change(session, deps, caller, event_id, schedule)
            else:
                found = await _create(
                    session, deps, caller, community_id, schedule, submission_key(view)
                )
                if found is None:
                    return  # the same modal submitted twice: already done
                shown, told = found, 0
            await record(
                session,
                workspace_id=caller.workspace_id,
                actor=caller.user_id,
                action="event.changed" if event_id else "event.created",
                community_id=shown.community_id,
                detail={"event": shown.id, "sequence": shown.sequence},
            )
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    if event_id:
        await refresh_announcement(deps, client, shown)
        await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
        text = t("event.changed", title=shown.title, count=told)
    else:
        announced = await _announce(deps, client, caller, shown)
        if announced is None:
            await tell_user(client, user=caller.user_id, text=t("event.announce_failed"))
            return
        shown = announced
        when = screens.when_text(t, shown, await zone_of(deps, caller), with_zone=True)
        text = t("event.created", title=shown.title, when=when)
    await tell_user(client, user=caller.user_id, channel=shown.channel_id, text=text)
    await refresh_homes(deps, client, caller, shown)


# --- buttons -----------------------------------------------------------------------------------------


async def handle_rsvp(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """One answer per person: a second click on the same answer changes nothing, another moves it."""
    await ack()
    answer = next(a for a, action_id in screens.RSVP.items() if action_id == action["action_id"])
    caller = await caller_of(deps, body)
    try:
        async with deps.sessions.begin() as session:
            event = await events.get(
                session, workspace_id=caller.workspace_id, event_id=row_id(action.get("value"))
            )
            changed = await events.rsvp(
                session, event=event, slack_user_id=caller.user_id, answer=answer
            )
            shown = await load_view(session, deps, event)
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        if exc.key == "event.rsvp_started":  # an announcement posted before it began
            async with deps.sessions() as session:
                event = await events.get(
                    session, workspace_id=caller.workspace_id, event_id=row_id(action.get("value"))
                )
                await refresh_announcement(deps, client, await load_view(session, deps, event))
        return
    if changed:
        await refresh_announcement(deps, client, shown)
        # two answers at the same moment may have rendered in either order: the last word goes
        # to the counts as they are now
        async with deps.sessions() as session:
            event = await events.get(session, workspace_id=caller.workspace_id, event_id=shown.id)
            latest = await load_view(session, deps, event)
        if latest.counts != shown.counts:
            await refresh_announcement(deps, client, latest)
    tz = await zone_of(deps, caller)
    text = screens.rsvp_confirmation(caller.t, shown, answer, tz=tz)
    await answer_click(client, respond, caller=caller, text=text)
    if changed:  # their answer shows on their Home
        await home.refresh(
            deps, client, workspace_id=caller.workspace_id, user_ids=[caller.user_id]
        )


async def handle_attendance_open(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
) -> None:
    """Visible to everyone on the announcement, usable by leaders, core team and managers."""
    await ack()
    caller = await caller_of(deps, body)
    try:
        async with deps.sessions() as session:
            event = await event_to_manage(session, caller, row_id(action.get("value")))
            if event.status == EventStatus.CANCELLED:
                raise CopError("event.is_cancelled", title=event.title)
            if event.starts_at > utcnow():
                raise CopError("event.not_started")
            shown = await load_view(session, deps, event)
            suggested = tuple(
                p.slack_user_id for p in await events.going(session, event_id=event.id)
            )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        return
    await open_view(
        client,
        trigger_id=body["trigger_id"],
        view=screens.build_attendance_modal(caller.t, shown, suggested=suggested),
        t=caller.t,
    )


async def handle_attendance_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    t, view = read_modal(deps, body)
    try:
        event_id, count, names = screens.parse_attendance(view)
        events.check_attendance(count, names)
    except InvalidFields as exc:
        await ack(response_action="errors", errors=field_errors(t, exc, screens.attendance_block))
        return
    except CopError as exc:  # metadata that is not ours
        await ack(
            response_action="errors",
            errors={screens.attendance_block(None): t(exc.key, **exc.params)},
        )
        return
    await ack()
    caller = await caller_of(deps, body)
    t = caller.t
    try:
        async with deps.sessions.begin() as session:
            event = await event_to_manage(session, caller, event_id)
            stored = await events.record_attendance(
                session, event=event, count=count, slack_user_ids=names
            )
            await record(
                session,
                workspace_id=caller.workspace_id,
                actor=caller.user_id,
                action="event.attendance",
                community_id=event.community_id,
                detail={"event": event.id, "count": stored},
            )
            shown = await load_view(session, deps, event)
    except CopError as exc:
        await tell_user(client, user=caller.user_id, text=refusal(caller, exc))
        return
    await refresh_announcement(deps, client, shown)
    await tell_user(
        client,
        user=caller.user_id,
        channel=shown.channel_id,
        text=t("event.attendance_saved", title=shown.title, count=stored),
    )


handle_edit = modal_button(
    open_modal, "event_id", "'Edit or reschedule' in the list: the button carries the event id."
)


async def handle_cancel(
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
        async with deps.sessions.begin() as session:
            event = await event_to_manage(session, caller, row_id(action.get("value")))
            changed = await events.cancel(session, event=event)
            shown = await load_view(session, deps, event)
            told = 0
            if changed:
                told = await owe_notices(
                    session, deps, shown, workspace_id=caller.workspace_id, cancelled=True
                )
                await record(
                    session,
                    workspace_id=caller.workspace_id,
                    actor=caller.user_id,
                    action="event.cancelled",
                    community_id=event.community_id,
                    detail={"event": event.id},
                )
    except CopError as exc:
        await answer_click(client, respond, caller=caller, text=refusal(caller, exc))
        if exc.key == "event.rsvp_started":  # an announcement posted before it began
            async with deps.sessions() as session:
                event = await events.get(
                    session, workspace_id=caller.workspace_id, event_id=row_id(action.get("value"))
                )
                await refresh_announcement(deps, client, await load_view(session, deps, event))
        return
    if changed:
        await refresh_announcement(deps, client, shown)
        await upload_ics(deps, client, shown, workspace_id=caller.workspace_id)
    text = caller.t("event.cancelled_done", title=shown.title, count=told)
    await answer_click(client, respond, caller=caller, text=text)
    if changed:
        await refresh_homes(deps, client, caller, shown)


handle_home_new = modal_button(
    open_modal, "community_id", "'New event' on the App Home: the button carries the community id."
)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "event",
        handle_event,
        (HelpLine("event.usage_new", Action.MANAGE_EVENTS), HelpLine("event.usage")),
        aliases=("événement", "evenement", "évènement", "événements", "evenements", "events"),
    ),
]


def register(app: AsyncApp) -> None:
    """Listeners of this feature."""
    app.view(screens.MODAL)(handle_submit)
    app.view(screens.ATTENDANCE_MODAL)(handle_attendance_submit)
    for action_id in screens.RSVP.values():
        app.action(action_id)(handle_rsvp)
    app.action(screens.ATTENDANCE_OPEN)(handle_attendance_open)
    app.action(screens.EDIT)(handle_edit)
    app.action(screens.CANCEL)(handle_cancel)
    app.action(EVENT_NEW)(handle_home_new)
