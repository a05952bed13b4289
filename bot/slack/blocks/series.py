"""Recurring series on screen: the event modal's "Repeat" section (and parser), the "this one or
all following" choice when editing an occurrence, and the series message in the channel (the
rule in words, the next dates, and in `series` mode each date's RSVP buttons)."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    Option,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import NumberInputElement
from slack_sdk.models.views import View

from bot.errors import InvalidFields, InvalidInput
from bot.events import RSVP_EMOJI, EventView, duration_text
from bot.i18n import Translator
from bot.models import RsvpAnswer, SeriesAnnounce, SeriesFrequency
from bot.numbers import whole
from bot.series import MAX_OCCURRENCES, Occurrence, RepeatDraft, Scope, SeriesView
from bot.slack.blocks.common import header, input_values, note, section
from bot.slack.echo import Mrkdwn, link, md, mrkdwn, say

REPEAT_BLOCK = {
    "repeat": "series_repeat",
    "until": "series_until",
    "count": "series_count",
    "announce": "series_announce",
}
SCOPE_BLOCK = "series_scope"
EDIT = "series_edit"
CANCEL = "series_cancel"
RSVP = {
    RsvpAnswer.GOING: "event_rsvp_going",
    RsvpAnswer.MAYBE: "event_rsvp_maybe",
    RsvpAnswer.DECLINED: "event_rsvp_declined",
}
_INPUT = "value"
_NONE = "none"
_LAST = "monthly_last"
_REPEATS = (_NONE, "weekly", "biweekly", "monthly", _LAST)


def field_block(field: str | None) -> str | None:
    """The block of a repeat field, or None for the event's own fields."""
    return REPEAT_BLOCK.get(field or "")


# --- the modal's "Repeat" section -----------------------------------------------------------------


def repeat_blocks(t: Translator) -> list[Block]:
    """Added at the end of the new-event modal (bot/slack/blocks/event.py build_modal)."""
    repeats = [Option(value=r, text=t(f"series.repeat.{r}")) for r in _REPEATS]
    announces = [
        Option(value=a.value, text=t(f"series.announce.{a.value}")) for a in SeriesAnnounce
    ]
    return [
        DividerBlock(),
        InputBlock(
            block_id=REPEAT_BLOCK["repeat"],
            label=t("series.field.repeat"),
            element=StaticSelectElement(
                action_id=_INPUT, options=repeats, initial_option=repeats[0]
            ),
            hint=t("series.hint.repeat"),
        ),
        InputBlock(
            block_id=REPEAT_BLOCK["until"],
            label=t("series.field.until"),
            element=DatePickerElement(action_id=_INPUT),
            optional=True,
            hint=t("series.hint.end", max=MAX_OCCURRENCES),
        ),
        InputBlock(
            block_id=REPEAT_BLOCK["count"],
            label=t("series.field.count"),
            element=NumberInputElement(
                action_id=_INPUT, is_decimal_allowed=False, min_value="1", max_value="52"
            ),
            optional=True,
        ),
        InputBlock(
            block_id=REPEAT_BLOCK["announce"],
            label=t("series.field.announce"),
            element=RadioButtonsElement(
                action_id=_INPUT, options=announces, initial_option=announces[0]
            ),
            optional=True,
        ),
    ]


def parse(view: dict[str, Any]) -> RepeatDraft | None:
    """None when the modal has no Repeat section or "no" is chosen; a forged choice is an error."""
    values = view.get("state", {}).get("values", {})
    if REPEAT_BLOCK["repeat"] not in values:
        return None

    def raw(name: str) -> dict[str, Any]:
        return input_values(view, REPEAT_BLOCK[name], _INPUT)

    repeat = (raw("repeat").get("selected_option") or {}).get("value") or _NONE
    if repeat == _NONE:
        return None
    bad: list[InvalidInput] = []
    if repeat not in _REPEATS:
        bad.append(InvalidInput("error.invalid", field="repeat"))
    picked = raw("until").get("selected_date")
    until = None
    try:
        until = date.fromisoformat(picked) if picked else None
    except (TypeError, ValueError):
        bad.append(InvalidInput("error.invalid", field="until"))
    count_text = (raw("count").get("value") or "").strip()
    count = whole(count_text, signed=True) if count_text else None
    if count_text and count is None:
        bad.append(InvalidInput("series.count_range", field="count", max=MAX_OCCURRENCES))
    announce = (raw("announce").get("selected_option") or {}).get("value") or "each"
    if announce not in {a.value for a in SeriesAnnounce}:
        bad.append(InvalidInput("error.invalid", field="announce"))
    if bad:
        raise InvalidFields(bad)
    return RepeatDraft(
        frequency=SeriesFrequency.MONTHLY if repeat == _LAST else SeriesFrequency(repeat),
        last=repeat == _LAST,
        until=until,
        count=count,
        announce=SeriesAnnounce(announce),
    )


# --- editing an occurrence: this one, or all following ---------------------------------------------


def add_scope(t: Translator, modal: View, series: SeriesView, *, scope: str = Scope.ONE) -> None:
    """Put the choice at the top of the edit modal of an occurrence."""
    options = [
        Option(value=Scope.ONE, text=t("series.scope.one")),
        Option(value=Scope.ALL, text=t("series.scope.all")),
    ]
    block = InputBlock(
        block_id=SCOPE_BLOCK,
        label=t("series.field.scope"),
        element=RadioButtonsElement(
            action_id=_INPUT,
            options=options,
            initial_option=options[0] if scope == Scope.ONE else options[1],
        ),
        hint=t("series.hint.scope", rule=rule_text(t, series)),
    )
    assert modal.blocks is not None
    modal.blocks.insert(1, block)


def parse_scope(view: dict[str, Any]) -> str | None:
    """None for a single event's modal; ONE or ALL (anything else counts as ONE)."""
    values = view.get("state", {}).get("values", {})
    if SCOPE_BLOCK not in values:
        return None
    chosen = (input_values(view, SCOPE_BLOCK, _INPUT).get("selected_option") or {}).get("value")
    return Scope.ALL if chosen == Scope.ALL else Scope.ONE


# --- words ----------------------------------------------------------------------------------------


def place(tz: str) -> str:
    """'Europe/Paris' → 'Paris', 'America/New_York' → 'New York'."""
    return tz.rsplit("/", 1)[-1].replace("_", " ")


def rule_text(t: Translator, series: SeriesView, *, tz: str | None = None) -> str:
    """« Tous les premiers mardis à 12:30 (heure de Paris), jusqu'au 29 juin 2027 »."""
    zone = series.tz
    at = t.time(series.first_starts_at, zone)
    days = t(f"series.days.{series.weekday}")
    if series.frequency == SeriesFrequency.WEEKLY:
        text = t("series.rule.weekly", days=days, time=at, place=place(zone))
    elif series.frequency == SeriesFrequency.BIWEEKLY:
        text = t(
            "series.rule.biweekly",
            day=t(f"series.day.{series.weekday}"),
            time=at,
            place=place(zone),
        )
    else:
        text = t(
            "series.rule.monthly",
            nth=t(f"series.nth.{series.nth or 1}"),
            days=days,
            time=at,
            place=place(zone),
        )
    if series.until is not None:
        text = t("series.rule.until", rule=text, day=t.date(series.until))
    elif series.count is not None:
        text = t("series.rule.count", rule=text, count=series.count)
    return text


def _counts(t: Translator, event: EventView) -> str:
    c = event.counts
    found = {RsvpAnswer.GOING: c.going, RsvpAnswer.MAYBE: c.maybe, RsvpAnswer.DECLINED: c.declined}
    return "  ".join(f"{RSVP_EMOJI[a]} {found[a]}" for a in RsvpAnswer)


def _occurrence_line(t: Translator, occurrence: Occurrence, tz: str) -> Mrkdwn:
    event = occurrence.event
    day = t.date(event.starts_at.astimezone(_zone(tz)).date(), "full")
    when = t("event.when", start=t.time(event.starts_at, tz), end=t.time(event.ends_at, tz))
    if event.cancelled:
        return say(t, "series.line_cancelled", day=day)
    line = md("*{day}* · {when} — {counts}", day=day, when=when, counts=_counts(t, event))
    if occurrence.detached:
        line = line + Mrkdwn(" · ") + say(t, "series.line_detached")
    return line


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def build_message(
    t: Translator, series: SeriesView, *, now_started: set[int] | None = None
) -> tuple[Mrkdwn, list[Block]]:
    """The series message, in the community's language, times in the organiser's zone."""
    rule = rule_text(t, series)
    kind = t(f"event.kind.{series.kind}")
    if series.cancelled:
        text = say(t, "series.cancelled_text", title=series.title)
        return text, [
            header(f"❌ {t('series.cancelled_header', title=series.title)}"),
            section(say(t, "series.cancelled_body", rule=rule)),
        ]
    text = say(t, "series.message_text", title=series.title, rule=rule)
    lines: list[str] = [md("*{kind}* · {rule}", kind=kind, rule=rule)]
    lines.append(t("event.duration_line", duration=duration_text(t, series.duration_minutes)))
    if series.link:
        lines.append(say(t, "event.link_line", link=link(series.link)))
    if series.description:
        lines.append("")
        lines.append(series.description)
    blocks: list[Block] = [header(f"🔁 {series.title}"), section(Mrkdwn("\n").join(lines))]
    if series.sequence:
        blocks.append(note(t("event.updated_note")))
    blocks.append(section(f"*{t('series.next_dates')}*"))
    started = now_started or set()
    if not series.coming:
        blocks.append(section(t("series.no_more")))
    for occurrence in series.coming:
        event = occurrence.event
        blocks.append(section(_occurrence_line(t, occurrence, series.tz)))
        if (
            series.announce == SeriesAnnounce.SERIES
            and not event.cancelled
            and event.id not in started
        ):
            blocks.append(
                ActionsBlock(
                    block_id=f"series_{series.id}_event_{event.id}",
                    elements=[
                        ButtonElement(
                            action_id=RSVP[a],
                            text=f"{RSVP_EMOJI[a]} {t(f'event.rsvp.{a.value}')}",
                            value=str(event.id),
                        )
                        for a in RsvpAnswer
                    ],
                )
            )
    manage: list[ButtonElement] = []
    upcoming = next((o.event for o in series.coming if not o.event.cancelled), None)
    if upcoming is not None:
        manage.append(
            ButtonElement(action_id=EDIT, text=t("series.edit_button"), value=str(upcoming.id))
        )
    manage.append(
        ButtonElement(
            action_id=CANCEL,
            text=t("series.cancel_button"),
            value=str(series.id),
            style="danger",
            confirm=ConfirmObject(
                title=t("series.cancel_confirm_title"),
                text=mrkdwn(say(t, "series.cancel_confirm_text", title=series.title), 300),
                confirm=t("event.cancel_confirm_yes"),
                deny=t("event.cancel_confirm_no"),
            ),
        )
    )
    blocks.append(ActionsBlock(block_id=f"series_{series.id}_manage", elements=manage))
    hint = "series.hint_each" if series.announce == SeriesAnnounce.EACH else "series.hint_series"
    blocks.append(note(" · ".join([t(hint), t("series.ics_in_thread")])))
    return text, blocks


def next_dates(t: Translator, series: SeriesView, *, limit: int = 3) -> str:
    days = [
        t.date(o.event.starts_at.astimezone(_zone(series.tz)).date())
        for o in series.coming
        if not o.event.cancelled
    ]
    return t.listing(days[:limit])
