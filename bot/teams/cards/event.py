"""The event cards in Teams: the button that opens the dialog, the dialog's form (and its parser),
and the announcement in the channel with its RSVP buttons (`Action.Execute`, updated in place).

The fields, their limits and the rules are Slack's (bot.events: TITLE_MAX, DESCRIPTION_MAX,
validate); the words are the events catalogue's, with Teams' own markup where Slack's differs
(bot/i18n/*/teams_event.po). Typed text goes through the one escape (bot.teams.render).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from bot.errors import InvalidFields, InvalidInput
from bot.events import (
    DESCRIPTION_MAX,
    DURATION_MAX,
    RSVP_EMOJI,
    TITLE_MAX,
    EventDraft,
    EventView,
    counts_text,
    duration_text,
    when_text,
)
from bot.i18n import Translator
from bot.links import LINK_MAX
from bot.models import EventKind, RsvpAnswer
from bot.numbers import whole
from bot.teams.cards import attendance
from bot.teams.cards.common import card
from bot.teams.render import escape

Json = dict[str, Any]
DIALOG = "event"  # the dialog's key: the button's data, task/fetch and task/submit
RSVP = {
    RsvpAnswer.GOING: "event_rsvp_going",
    RsvpAnswer.MAYBE: "event_rsvp_maybe",
    RsvpAnswer.DECLINED: "event_rsvp_declined",
}
ANSWER_OF = {verb: answer for answer, verb in RSVP.items()}
FIELDS = ("title", "kind", "date", "time", "duration", "tz", "link", "description")


def _text(text: str, **style: Any) -> Json:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def message_card(text: str) -> Json:
    """A card that only says something (a click refused where there is no event to show)."""
    return card([_text(text)])


# --- `@cop événement`: the button that opens the dialog ---------------------------------------


def start_card(t: Translator, *, community_name: str) -> Json:
    """Dialogs open only from a card's button: this one, answered to `@cop événement`."""
    return card(
        [
            _text(t("event.modal_title"), weight="Bolder", size="Medium"),
            _text(t("teams.event.start_intro", name=escape(community_name))),
        ],
        [
            {
                "type": "Action.Submit",
                "title": t("teams.event.create_button"),
                "data": {"msteams": {"type": "task/fetch"}, "cop": DIALOG},
            }
        ],
    )


# --- the dialog -----------------------------------------------------------------------------------


def dialog(
    t: Translator,
    *,
    community_name: str,
    default_tz: str,
    values: Json | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Json:
    """The task module answer holding the form: empty, or the typed `values` with `errors`
    (field → messages, already in the person's language) under their fields."""
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": t("event.modal_title"),
                "width": "medium",
                "height": "large",
                "card": {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": form(
                        t,
                        community_name=community_name,
                        default_tz=default_tz,
                        values=values or {},
                        errors=errors or {},
                    ),
                },
            },
        }
    }


def form(
    t: Translator,
    *,
    community_name: str,
    default_tz: str,
    values: Json,
    errors: dict[str, list[str]],
) -> Json:
    def typed(name: str, default: str = "") -> str:
        value = values.get(name)
        return str(value) if isinstance(value, str | int) and str(value) else default

    kinds = [{"title": t(f"event.kind.{k.value}"), "value": k.value} for k in EventKind]
    inputs: dict[str, Json] = {
        "title": {"type": "Input.Text", "maxLength": TITLE_MAX, "isRequired": True},
        "kind": {
            "type": "Input.ChoiceSet",
            "style": "compact",
            "choices": kinds,
            "value": typed("kind", EventKind.WEBINAR.value),
        },
        "date": {"type": "Input.Date", "isRequired": True},
        "time": {"type": "Input.Time", "isRequired": True},
        "duration": {
            "type": "Input.Number",
            "min": 1,
            "max": DURATION_MAX,
            "value": whole(typed("duration", "60"), signed=True) or 60,
        },
        "tz": {"type": "Input.Text", "maxLength": 64, "value": typed("tz", default_tz)},
        "link": {"type": "Input.Text", "style": "Url", "maxLength": LINK_MAX},
        "description": {
            "type": "Input.Text",
            "isMultiline": True,
            "maxLength": DESCRIPTION_MAX,
        },
    }
    hints = {"duration": t("event.hint.duration"), "tz": t("teams.event.hint_tz")}
    body: list[Json] = [_text(t("teams.event.dialog_intro", name=escape(community_name)))]
    if errors:
        body.append(_text(t("teams.event.fix_below"), color="Attention", weight="Bolder"))
    for name in FIELDS:
        element = {"id": name, "label": t(f"event.field.{name}"), **inputs[name]}
        if name in ("title", "date", "time", "link", "description") and typed(name):
            element["value"] = typed(name)
        if "isRequired" in element:
            element["errorMessage"] = t(f"teams.event.required_{name}")
        body.append(element)
        for problem in errors.get(name, []):
            body.append(_text(problem, color="Attention", size="Small", spacing="None"))
        if name in hints:
            body.append(_text(hints[name], isSubtle=True, size="Small", spacing="None"))
    return card(
        body,
        [{"type": "Action.Submit", "title": t("event.create"), "data": {"cop": DIALOG}}],
    )


def field_of(error: InvalidInput) -> str:
    """Where an error shows in the dialog (the end fields of a multi-day event are not in it:
    their errors show under the date)."""
    wanted = error.field or "title"
    return wanted if wanted in FIELDS else "date"


def parse(data: Json) -> EventDraft:
    """The dialog's inputs as a draft; what the pickers cannot send (another date format, a
    duration in words) is refused as the Slack form refuses a forged payload."""

    def raw(name: str) -> str:
        value = data.get(name)
        return str(value).strip() if isinstance(value, str | int | float) else ""

    bad: list[InvalidInput] = []
    duration_text = raw("duration")
    duration = whole(duration_text.removesuffix(".0"), signed=True) if duration_text else None
    if duration_text and duration is None:
        bad.append(InvalidInput("event.duration_not_whole", field="duration"))
    day = start = None
    try:
        day = date.fromisoformat(raw("date")) if raw("date") else None
    except ValueError:
        bad.append(InvalidInput("error.invalid", field="date"))
    try:
        start = time.fromisoformat(raw("time")) if raw("time") else None
    except ValueError:
        bad.append(InvalidInput("error.invalid", field="time"))
    kind = raw("kind") or EventKind.WEBINAR.value
    if kind not in {k.value for k in EventKind}:
        bad.append(InvalidInput("error.invalid", field="kind"))
    if bad:
        raise InvalidFields(bad)
    return EventDraft(
        title=str(data.get("title") or ""),
        kind=EventKind(kind),
        day=day,
        start=start,
        duration_minutes=duration,
        tz=raw("tz"),
        link=raw("link"),
        description=str(data.get("description") or ""),
    )


# --- the announcement ----------------------------------------------------------------------------


def announcement(
    t: Translator,
    event: EventView,
    *,
    now: datetime,
    mine: RsvpAnswer | None = None,
    said: str = "",
) -> Json:
    """The channel's card: in `t`'s language, times in the community's zone. With `mine` (the
    clicker's refreshed copy, shown to them alone), their answer is said and its button marked;
    `said` is a line for them alone (their confirmation, or why their click was refused)."""
    tz = event.community_tz
    title = escape(event.title)
    if event.cancelled:
        return card(
            [
                _text(f"❌ {t('event.cancelled_header', title=title)}", weight="Bolder"),
                _text(
                    t("teams.event.cancelled_body", when=when_text(t, event, tz, with_zone=True))
                ),
                *([_text(said, color="Attention")] if said else []),
            ]
        )
    facts = [
        {"title": t("event.field.kind"), "value": t(f"event.kind.{event.kind.value}")},
        {"title": t("teams.event.when"), "value": when_text(t, event, tz, with_zone=True)},
    ]
    if not event.spans_days(tz):
        facts.append(
            {
                "title": t("teams.event.duration"),
                "value": duration_text(t, event.duration_minutes),
            }
        )
    if event.tz != tz:
        local = t.datetime(event.starts_at, event.tz)
        facts.append({"title": t("teams.event.organiser_zone"), "value": f"{local} ({event.tz})"})
    body: list[Json] = [
        _text(f"📅 {title}", weight="Bolder", size="Large"),
        {"type": "FactSet", "facts": facts},
    ]
    if event.link:
        # the link's host, not the whole address (a Teams meeting's runs to some 250 characters);
        # no "open" button either: with it the answers' buttons do not fit a 500-pixel card and
        # Teams cuts their titles ("✅ J'y se…", docs/teams/event-fr.png)
        host = urlsplit(event.link).hostname or event.link
        body.append(_text(t("teams.event.link_line", link=f"[{escape(host)}]({event.link})")))
    if event.description:
        body.append(_text(escape(event.description)))
    if event.sequence:
        body.append(_text(t("teams.event.updated_note"), isSubtle=True, size="Small"))
    body.append(_text(counts_text(t, event), weight="Bolder", separator=True))
    started = event.started(now)
    if said:
        body.append(_text(said, color="Good" if mine is not None else "Attention"))
    if started:
        # answers closed; who came is for the leaders to say (bot/teams/cards/attendance.py)
        body.extend(attendance.lines(t, event))
        body.append(_text(t("teams.event.rsvp_closed_line"), isSubtle=True, size="Small"))
        return card(body, [attendance.button(t, event)])
    body.append(_text(t("event.rsvp_hint"), isSubtle=True, size="Small"))
    actions = [
        {
            "type": "Action.Execute",
            "verb": RSVP[answer],
            "title": ("✔ " if answer == mine else "")
            + f"{RSVP_EMOJI[answer]} {t(f'event.rsvp.{answer.value}')}",
            "data": {"cop": RSVP[answer], "event": event.id},
        }
        for answer in RsvpAnswer
    ]
    return card(body, actions)


def with_calendar(
    card: Json, t: Translator, event: EventView, url: str | None, now: datetime
) -> Json:
    """The announcement with « Ajouter à mon agenda »: an `Action.OpenUrl` to the event's .ics
    (bot.downloads: a bot has no file API in a channel), in its own row under the body — in the
    card's actions a fourth button would cut the answers' titles. None for a cancelled event
    (its card says so; a link already taken gives the cancellation) nor once it has ended."""
    if url is None or event.cancelled or now >= event.ends_at:
        return card
    button = {
        "type": "Action.OpenUrl",
        "title": f"🗓 {t('teams.files.add_to_calendar')}",
        "url": url,
    }
    card["body"].append({"type": "ActionSet", "id": "calendar", "actions": [button]})
    return card


def rsvp_saved(t: Translator, event: EventView, answer: RsvpAnswer, *, tz: str) -> str:
    return t(
        f"teams.event.rsvp_saved.{answer.value}",
        title=escape(event.title),
        when=when_text(t, event, tz, with_zone=True),
    )
