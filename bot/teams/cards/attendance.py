"""Who came to an event, in Teams: the « Qui est venu ? » button of the channel's card once the
event has started, the dialog it opens (the people, prefilled with those who said they would
come, and a count for the others), its parser, and the line the card shows once recorded.

The rules are Slack's (bot.events.check_attendance, ATTENDANCE_MAX), the words the events
catalogue's with Teams' own where Slack's name Slack (bot/i18n/*/teams_event.po). The people are
a multi-select of the community's members (values: their "29:…" ids, which bot.events records),
not Teams' people picker (`choices.data` Data.Query graph.microsoft.com/users): that one answers
Entra object ids, searches the whole organisation, and is not in the 1.5 schema.
"""

from __future__ import annotations

from typing import Any

from bot.errors import InvalidFields, InvalidInput
from bot.event_changes import Attendable
from bot.events import ATTENDANCE_MAX, EventView
from bot.i18n import Translator
from bot.numbers import row_id, whole
from bot.teams.cards.common import ADAPTIVE_CARD, card
from bot.teams.render import escape

Json = dict[str, Any]
DIALOG = "event_attendance"  # the dialog's key: the card's button, task/fetch and task/submit
FIELDS = ("people", "count")


def _text(text: str, **style: Any) -> Json:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


# --- on the channel's card, once the event has started ------------------------------------------


def button(t: Translator, event: EventView) -> Json:
    """Shown to everyone (the channel's card is one for all), usable by those who manage the
    community's events — the guard says no to the others, as Slack's button does."""
    return {
        "type": "Action.Submit",
        "title": t("teams.event.attendance_button"),
        "data": {"msteams": {"type": "task/fetch"}, "cop": DIALOG, "event": event.id},
    }


def lines(t: Translator, event: EventView) -> list[Json]:
    """The attendance, once recorded (as Slack's announcement says it)."""
    if event.attendance_count is None:
        return []
    return [_text(t("teams.event.attendance_line", count=event.attendance_count), weight="Bolder")]


# --- the dialog -----------------------------------------------------------------------------------


def dialog(
    t: Translator,
    event: EventView,
    *,
    roll: list[Attendable],
    chosen: list[str],
    count: str = "",
    errors: dict[str, list[str]] | None = None,
) -> Json:
    """The task module answer: `roll` those offered, `chosen` the user ids ticked, `count` the
    number typed (or recorded), `errors` field → messages in the person's language. A choice's
    value is the person's id, not their "29:…" id of some 90 characters: a community of a few
    hundred members stays well inside what Teams takes (docs/teams notes: 100 KB a message)."""
    errors = errors or {}
    people: Json = {
        "type": "Input.ChoiceSet",
        "id": "people",
        "label": t("event.attendance_people"),
        "isMultiSelect": True,
        "choices": [{"title": escape(a.name), "value": str(a.person_id)} for a in roll],
    }
    key_of = {a.user_id: str(a.person_id) for a in roll}
    ticked = [key_of[uid] for uid in chosen if uid in key_of]
    if ticked:
        people["value"] = ",".join(ticked)
    number: Json = {
        "type": "Input.Number",
        "id": "count",
        "label": t("event.attendance_count"),
        "min": 0,
        "max": ATTENDANCE_MAX,
    }
    typed = whole(count.strip().removesuffix(".0"), signed=True) if count.strip() else None
    if typed is not None:
        number["value"] = typed
    body: list[Json] = [
        _text(t("teams.event.attendance_intro", title=escape(event.title))),
    ]
    if errors:
        body.append(_text(t("teams.event.fix_below"), color="Attention", weight="Bolder"))
    hints = {"count": t("event.attendance_count_hint")}
    for name, element in (("people", people), ("count", number)):
        body.append(element)
        for problem in errors.get(name, []):
            body.append(_text(problem, color="Attention", size="Small", spacing="None"))
        if name in hints:
            body.append(_text(hints[name], isSubtle=True, size="Small", spacing="None"))
    form = card(
        body,
        [
            {
                "type": "Action.Submit",
                "title": t("event.save"),
                "data": {"cop": DIALOG, "event": event.id},
            }
        ],
    )
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": t("event.attendance_title"),
                "width": "medium",
                "height": "medium",
                "card": {"contentType": ADAPTIVE_CARD, "content": form},
            },
        }
    }


def field_of(error: InvalidInput) -> str:
    return error.field if error.field in FIELDS else "count"


def ticked(data: Json, roll: list[Attendable]) -> list[str]:
    """The user ids of the people ticked in the dialog (unknown keys left out)."""
    raw = data.get("people")
    keys = [k.strip() for k in raw.split(",")] if isinstance(raw, str) else []
    user_of = {str(a.person_id): a.user_id for a in roll}
    return [user_of[k] for k in keys if k in user_of]


def parse(data: Json, *, roll: list[Attendable]) -> tuple[int, int | None, list[str]]:
    """(event id, count or None, user ids) from the dialog's inputs. A count that is not a whole
    number becomes -1 (reported as a bad count, as Slack's form does); someone who was not
    offered (a forged submit) is refused."""
    raw_count = str(data.get("count") if isinstance(data.get("count"), str | int | float) else "")
    raw_count = raw_count.strip()
    count = whole(raw_count.removesuffix(".0"), signed=True) if raw_count else None
    if raw_count and count is None:
        count = -1
    raw_people = data.get("people")
    if raw_people is not None and not isinstance(raw_people, str):
        raise InvalidFields([InvalidInput("error.invalid", field="people")])
    keys = [k.strip() for k in (raw_people or "").split(",") if k.strip()]
    user_of = {str(a.person_id): a.user_id for a in roll}
    if any(k not in user_of for k in keys):
        raise InvalidFields([InvalidInput("error.invalid", field="people")])
    return row_id(data.get("event")), count, [user_of[k] for k in keys]


# --- `@cop événement présences`: the recent events, each with its button -------------------------


def recent(t: Translator, *, community_name: str, past: list[EventView], tz: str) -> Json:
    """The community's latest held events (bot.events.past), what was recorded of each and its
    « Qui est venu ? » — the Teams twin of the past events in Slack's `/cop event list`, for an
    event whose card is out of sight (or was closed before this button existed)."""
    body: list[Json] = [
        _text(
            t("teams.event.attendance_list_title", name=escape(community_name)),
            weight="Bolder",
            size="Medium",
        )
    ]
    if not past:
        body.append(_text(t("teams.event.attendance_list_none")))
    for event in past:
        said = (
            t("event.attendance_short", count=event.attendance_count)
            if event.attendance_count is not None
            else t("event.attendance_unknown")
        )
        body.append(
            {
                "type": "Container",
                "separator": True,
                "items": [
                    _text(
                        f"**{escape(event.title)}** — {t.datetime(event.starts_at, tz)} · {said}"
                    ),
                    {"type": "ActionSet", "actions": [button(t, event)]},
                ],
            }
        )
    body.append(_text(t("event.list_zone_note", tz=tz), isSubtle=True, size="Small"))
    return card(body)
