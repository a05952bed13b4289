"""The event screens: the event modal (and parser), the channel announcement with RSVP buttons,
the list for leaders, the attendance modal (and parser), and the notices sent to people."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.blocks.block_elements import NumberInputElement, UrlInputElement
from slack_sdk.models.views import View

from bot.errors import InvalidFields, InvalidInput
from bot.events import (
    DAYS_MAX,
    DESCRIPTION_MAX,
    RSVP_EMOJI,
    TITLE_MAX,
    EventDraft,
    EventView,
    counts_text,
    duration_text,
    span_text,
    when_text,
)
from bot.i18n import Translator
from bot.models import EventKind, RsvpAnswer
from bot.numbers import row_id, whole
from bot.slack.blocks.common import header, input_values, modal_metadata, note, section
from bot.slack.echo import Mrkdwn, echo, link, mrkdwn, say
from bot.slack.text import user_id

MODAL = "event_modal"
ATTENDANCE_MODAL = "event_attendance_modal"
RSVP = {
    RsvpAnswer.GOING: "event_rsvp_going",
    RsvpAnswer.MAYBE: "event_rsvp_maybe",
    RsvpAnswer.DECLINED: "event_rsvp_declined",
}
ATTENDANCE_OPEN = "event_attendance_open"
EDIT = "event_edit"
CANCEL = "event_cancel"
FIELD_BLOCK = {
    "title": "event_title",
    "kind": "event_kind",
    "date": "event_date",
    "time": "event_time",
    "duration": "event_duration",
    "tz": "event_tz",
    "link": "event_link",
    "description": "event_description",
    "end_date": "event_end_date",
    "end_time": "event_end_time",
}
ATTENDANCE_BLOCK = {"count": "event_att_count", "people": "event_att_people"}
_INPUT = "value"


def field_block(field: str | None) -> str:
    return FIELD_BLOCK.get(field or "", FIELD_BLOCK["title"])


def attendance_block(field: str | None) -> str:
    return ATTENDANCE_BLOCK.get(field or "", ATTENDANCE_BLOCK["count"])


def _days_text(t: Translator, event: EventView, tz: str) -> str:
    return span_text(t, event.starts_at, event.ends_at, tz)


def _times_in(t: Translator, event: EventView, tz: str) -> str:
    """Start and end in another zone: the hours only, unless the day differs there."""
    zone = ZoneInfo(tz)
    if event.spans_days(tz):
        return _days_text(t, event, tz)
    if (
        event.starts_at.astimezone(zone).date()
        == event.starts_at.astimezone(ZoneInfo(event.community_tz)).date()
    ):
        return t("event.when", start=t.time(event.starts_at, tz), end=t.time(event.ends_at, tz))
    return when_text(t, event, tz, with_zone=False)


# --- modal --------------------------------------------------------------------------------------


def build_modal(
    t: Translator,
    *,
    community_id: int,
    community_name: str,
    default_tz: str,
    draft: EventDraft | None = None,
    event_id: int | None = None,
) -> View:
    """Create (no event) or edit/reschedule (event_id and its draft)."""
    kinds = [Option(value=k.value, text=t(f"event.kind.{k.value}")) for k in EventKind]
    kind = draft.kind if draft else EventKind.WEBINAR
    elements: list[tuple[str, str, Any, bool, str | None]] = [
        (
            "title",
            t("event.field.title"),
            PlainTextInputElement(
                action_id=_INPUT,
                max_length=TITLE_MAX,
                initial_value=draft.title if draft else None,
            ),
            False,
            None,
        ),
        (
            "kind",
            t("event.field.kind"),
            StaticSelectElement(
                action_id=_INPUT,
                options=kinds,
                initial_option=next(o for o in kinds if o.value == kind.value),
            ),
            False,
            None,
        ),
        (
            "date",
            t("event.field.date"),
            DatePickerElement(
                action_id=_INPUT,
                initial_date=draft.day.isoformat() if draft and draft.day else None,
            ),
            False,
            None,
        ),
        (
            "time",
            t("event.field.time"),
            TimePickerElement(
                action_id=_INPUT,
                initial_time=draft.start.strftime("%H:%M") if draft and draft.start else None,
            ),
            False,
            None,
        ),
        (
            "duration",
            t("event.field.duration"),
            NumberInputElement(
                action_id=_INPUT,
                is_decimal_allowed=False,
                initial_value=str(
                    draft.duration_minutes if draft and draft.duration_minutes else 60
                ),
            ),
            True,  # an event with an end (over several days) does without
            t("event.hint.duration"),
        ),
        (
            "end_date",
            t("event.field.end_date"),
            DatePickerElement(
                action_id=_INPUT,
                initial_date=draft.end_day.isoformat() if draft and draft.end_day else None,
            ),
            True,
            t("event.hint.end_date", days=DAYS_MAX),
        ),
        (
            "end_time",
            t("event.field.end_time"),
            TimePickerElement(
                action_id=_INPUT,
                initial_time=draft.end_time.strftime("%H:%M") if draft and draft.end_time else None,
            ),
            True,
            None,
        ),
        (
            "tz",
            t("event.field.tz"),
            PlainTextInputElement(
                action_id=_INPUT, max_length=64, initial_value=draft.tz if draft else default_tz
            ),
            False,
            t("event.hint.tz"),
        ),
        (
            "link",
            t("event.field.link"),
            UrlInputElement(
                action_id=_INPUT, initial_value=(draft.link or None) if draft else None
            ),
            True,
            None,
        ),
        (
            "description",
            t("event.field.description"),
            PlainTextInputElement(
                action_id=_INPUT,
                multiline=True,
                max_length=DESCRIPTION_MAX,
                initial_value=(draft.description or None) if draft else None,
            ),
            True,
            None,
        ),
    ]
    intro = (
        t("event.modal_intro_edit", name=community_name)
        if event_id
        else t("event.modal_intro", name=community_name)
    )
    blocks: list[Block] = [section(intro)]
    for name, label, element, optional, hint in elements:
        blocks.append(
            InputBlock(
                block_id=FIELD_BLOCK[name],
                label=label,
                element=element,
                optional=optional,
                hint=hint,
            )
        )
    if not event_id:  # a new event may repeat (bot/slack/blocks/series.py)
        from bot.slack.blocks.series import repeat_blocks

        blocks.extend(repeat_blocks(t))
    return View(
        type="modal",
        callback_id=MODAL,
        title=PlainTextObject(
            text=t("event.modal_title_edit") if event_id else t("event.modal_title")
        ),
        submit=PlainTextObject(text=t("event.save") if event_id else t("event.create")),
        close=PlainTextObject(text=t("event.close")),
        private_metadata=json.dumps({"c": community_id, "e": event_id}),
        blocks=blocks,
    )


def parse(view: dict[str, Any]) -> EventDraft:

    def raw(name: str) -> dict[str, Any]:
        return input_values(view, FIELD_BLOCK[name], _INPUT)

    duration_text_value = (raw("duration").get("value") or "").strip()
    duration = whole(duration_text_value, signed=True) if duration_text_value else None
    picked_date = raw("date").get("selected_date")
    picked_time = raw("time").get("selected_time")
    picked_end_date = raw("end_date").get("selected_date")
    picked_end_time = raw("end_time").get("selected_time")
    kind = (raw("kind").get("selected_option") or {}).get("value") or EventKind.WEBINAR.value
    # Slack only sends what the pickers offer; anything else is a forged payload
    bad: list[InvalidInput] = []
    if duration_text_value and duration is None:  # "1h30", "²²", "١٢٠": minutes in digits only
        bad.append(InvalidInput("event.duration_not_whole", field="duration"))
    try:
        day = date.fromisoformat(picked_date) if picked_date else None
    except (TypeError, ValueError):
        bad.append(InvalidInput("error.invalid", field="date"))
    try:
        start = time.fromisoformat(picked_time) if picked_time else None
    except (TypeError, ValueError):
        bad.append(InvalidInput("error.invalid", field="time"))
    end_day = end_time = None
    try:
        end_day = date.fromisoformat(picked_end_date) if picked_end_date else None
    except (TypeError, ValueError):
        bad.append(InvalidInput("error.invalid", field="end_date"))
    try:
        end_time = time.fromisoformat(picked_end_time) if picked_end_time else None
    except (TypeError, ValueError):
        bad.append(InvalidInput("error.invalid", field="end_time"))
    if kind not in {k.value for k in EventKind}:
        bad.append(InvalidInput("error.invalid", field="kind"))
    if bad:
        raise InvalidFields(bad)
    return EventDraft(
        title=raw("title").get("value") or "",
        kind=EventKind(kind),
        day=day,
        start=start,
        duration_minutes=duration,
        tz=(raw("tz").get("value") or "").strip(),
        link=raw("link").get("value") or "",
        description=raw("description").get("value") or "",
        end_day=end_day,
        end_time=end_time,
    )


# --- the announcement in the channel ----------------------------------------------------------------


def build_announcement(
    t: Translator, event: EventView, *, now: datetime
) -> tuple[Mrkdwn, list[Block]]:
    """In the community's language, times in the community's zone with the zone's name (and in
    the organiser's zone too when they chose another one: it is the time they typed)."""
    tz = event.community_tz
    kind = t(f"event.kind.{event.kind.value}")
    when = when_text(t, event, tz, with_zone=True)
    if event.tz != tz:
        when += ", " + t("event.in_other_zone", when=_times_in(t, event, event.tz), tz=event.tz)
    lines: list[str] = [f"*{kind}* · {when}"]
    if not event.spans_days(tz):  # over several days, the dates say how long
        lines.append(t("event.duration_line", duration=duration_text(t, event.duration_minutes)))
    if event.link:
        lines.append(say(t, "event.link_line", link=link(event.link)))
    if event.description:
        lines.append("")
        lines.append(event.description)
    body = Mrkdwn("\n").join(lines)
    if event.cancelled:
        text = say(t, "event.cancelled_text", title=event.title, when=when)
        blocks: list[Block] = [
            header(f"❌ {t('event.cancelled_header', title=event.title)}"),
            section(t("event.cancelled_body", when=when)),
        ]
        return text, blocks
    text = say(t, "event.announce_text", kind=kind, title=event.title, when=when)
    blocks = [header(f"📅 {event.title}"), section(body)]
    if event.sequence:
        blocks.append(note(t("event.updated_note")))
    blocks.append(note(counts_text(t, event)))
    # once it has started, answering makes no sense: only the leaders' attendance button stays
    buttons = [
        ButtonElement(
            action_id=RSVP[answer],
            text=f"{RSVP_EMOJI[answer]} {t(f'event.rsvp.{answer.value}')}",
            value=str(event.id),
        )
        for answer in RsvpAnswer
        if not event.started(now)
    ]
    buttons.append(
        ButtonElement(
            action_id=ATTENDANCE_OPEN, text=t("event.attendance_button"), value=str(event.id)
        )
    )
    blocks.append(ActionsBlock(block_id=f"event_{event.id}_actions", elements=buttons))
    if event.attendance_count is not None:
        blocks.append(section(t("event.attendance_line", count=event.attendance_count)))
    if event.started(now):
        blocks.append(note(t("event.rsvp_closed_line")))
    # a session of a series posted by the tick carries no file: the series' is in its message's thread
    notes = [t("event.ics_in_series_thread" if event.series_id else "event.ics_in_thread")]
    if not event.started(now):
        notes.append(t("event.rsvp_hint"))
    blocks.append(note(" · ".join(notes)))
    return text, blocks


# --- list for leaders and members --------------------------------------------------------------------


def build_list(
    t: Translator,
    *,
    community_name: str,
    upcoming: list[EventView],
    past: list[EventView],
    tz: str,
    may_manage: bool,
) -> tuple[Mrkdwn, list[Block]]:
    """Ephemeral: times in the reader's zone; leaders get edit/cancel/attendance buttons."""
    title = t("event.list_title", name=community_name)
    blocks: list[Block] = [header(title)]
    if not upcoming:
        blocks.append(section(t("event.list_none")))
    for event in upcoming:
        when = when_text(t, event, tz, with_zone=False)
        blocks.append(section(f"*{event.title}* — {when}\n{counts_text(t, event)}"))
        if may_manage:
            blocks.append(
                ActionsBlock(
                    block_id=f"event_{event.id}_manage",
                    elements=[
                        ButtonElement(
                            action_id=EDIT, text=t("event.edit_button"), value=str(event.id)
                        ),
                        ButtonElement(
                            action_id=CANCEL,
                            text=t("event.cancel_button"),
                            value=str(event.id),
                            style="danger",
                            confirm=ConfirmObject(
                                title=t("event.cancel_confirm_title"),
                                text=mrkdwn(t("event.cancel_confirm_text", title=event.title), 300),
                                confirm=t("event.cancel_confirm_yes"),
                                deny=t("event.cancel_confirm_no"),
                            ),
                        ),
                    ],
                )
            )
    if past:
        blocks.append(section(f"*{t('event.list_past')}*"))
        for event in past:
            attendance = (
                t("event.attendance_short", count=event.attendance_count)
                if event.attendance_count is not None
                else t("event.attendance_unknown")
            )
            button = ButtonElement(
                action_id=ATTENDANCE_OPEN, text=t("event.attendance_button"), value=str(event.id)
            )
            blocks.append(
                section(
                    f"*{event.title}* — {t.datetime(event.starts_at, tz)} · {attendance}",
                    accessory=button if may_manage else None,
                )
            )
    blocks.append(note(t("event.list_zone_note", tz=tz)))
    return echo(title), blocks


# --- attendance ---------------------------------------------------------------------------------------


def build_attendance_modal(t: Translator, event: EventView, *, suggested: tuple[str, ...]) -> View:
    people = list(event.attendees or suggested)
    return View(
        type="modal",
        callback_id=ATTENDANCE_MODAL,
        title=PlainTextObject(text=t("event.attendance_title")),
        submit=PlainTextObject(text=t("event.save")),
        close=PlainTextObject(text=t("event.close")),
        private_metadata=json.dumps({"e": event.id}),
        blocks=[
            section(t("event.attendance_intro", title=event.title)),
            InputBlock(
                block_id=ATTENDANCE_BLOCK["people"],
                label=t("event.attendance_people"),
                optional=True,
                element=UserMultiSelectElement(
                    action_id=_INPUT, initial_users=people or None, max_selected_items=100
                ),
            ),
            InputBlock(
                block_id=ATTENDANCE_BLOCK["count"],
                label=t("event.attendance_count"),
                hint=t("event.attendance_count_hint"),
                optional=True,
                element=NumberInputElement(
                    action_id=_INPUT,
                    is_decimal_allowed=False,
                    initial_value=str(event.attendance_count)
                    if event.attendance_count is not None
                    else None,
                ),
            ),
        ],
    )


def parse_attendance(view: dict[str, Any]) -> tuple[int, int | None, list[str]]:
    """(event id, count or None, user ids); a count that is not a whole number becomes -1."""
    raw_count = (input_values(view, ATTENDANCE_BLOCK["count"], _INPUT).get("value") or "").strip()
    count = whole(raw_count, signed=True) if raw_count else None
    if raw_count and count is None:
        count = -1  # not a whole number in ASCII digits: reported as a bad count
    users = input_values(view, ATTENDANCE_BLOCK["people"], _INPUT).get("selected_users") or []
    if not isinstance(users, list) or not all(
        isinstance(u, str) and user_id(u) == u for u in users
    ):
        raise InvalidFields([InvalidInput("error.invalid", field="people")])
    return row_id(modal_metadata(view).get("e")), count, list(users)


# --- notices ---------------------------------------------------------------------------------------


def rsvp_confirmation(t: Translator, event: EventView, answer: RsvpAnswer, *, tz: str) -> Mrkdwn:
    return say(
        t,
        f"event.rsvp_saved.{answer.value}",
        title=event.title,
        when=when_text(t, event, tz, with_zone=True),
    )
