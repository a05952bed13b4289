"""What a message says, whatever the chat platform: the domain's and the rituals' own words.

A `Message` is a fallback line plus blocks — a heading, paragraphs, small print, facts, a row of
choices. Text inside is made of parts that say *who wrote them*:

- a plain `str` is always text a person typed (a title, a mission, a question from app.yaml): an
  edge shows it exactly as typed — it never pings anyone, never poses as a link;
- `Say(key, **params)` is a sentence of ours, from the catalogue, in the reader's language;
  `Fill` one the programme wrote in app.yaml;
- `Person`, `Place`, `Link` are people, channels and addresses we chose to name;
- `Moment`, `Number`, `Percent` are shown the reader's way (their zone, their language);
- `Strong`, `Code`, `Join`, `Lines`, `Quote` arrange parts.

Nothing here is translated or escaped: an edge (`bot/slack/messages.py` for Slack) renders a
message for one reader at the moment it goes out, so the outbox can hold a message as data
(`dump` / `load`, plain JSON) and render it in the language of whoever receives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.i18n import Translator

# ---------------------------------------------------------------------------------------------
# Text parts


@dataclass(frozen=True, slots=True)
class Say:
    """A sentence of ours: a catalogue key and its parameters (parts, numbers, days)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, /, **params: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", dict(params))


@dataclass(frozen=True, slots=True)
class Fill:
    """A sentence the programme wrote (app.yaml `templates`, checked at load), per language, with
    its placeholders; where it has none in the reader's language, `otherwise` is said."""

    texts: Mapping[str, str]
    params: Mapping[str, Any]
    otherwise: Say


@dataclass(frozen=True, slots=True)
class Person:
    """Someone we chose to name (a mention where the platform has them)."""

    id: str


@dataclass(frozen=True, slots=True)
class Place:
    """A channel or conversation we chose to name."""

    id: str


@dataclass(frozen=True, slots=True)
class Link:
    """An address we link to (only if it is a web address the edge accepts), with its label."""

    url: str | None
    label: Text | None = None


@dataclass(frozen=True, slots=True)
class Moment:
    """A moment shown in a zone: the one given, else the reader's. `style` is "datetime" (the
    day and the time), "date" or "time"."""

    at: datetime
    tz: str | None = None
    style: Literal["datetime", "date", "time"] = "datetime"
    with_zone: bool = False  # say which zone (a reminder, a welcome, a poll's closing time)


@dataclass(frozen=True, slots=True)
class Number:
    """A number in the reader's language (separators, decimal mark)."""

    value: int | float | Decimal
    digits: int = 1


@dataclass(frozen=True, slots=True)
class Percent:
    """A ratio (0.33) shown as the reader's language writes a percentage."""

    ratio: float


@dataclass(frozen=True, slots=True)
class Strong:
    """Emphasis (bold) around a part."""

    part: Text


@dataclass(frozen=True, slots=True)
class Code:
    """Text of ours in a fixed-width font (a score column, a bar)."""

    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    """A part quoted (a block quote where the platform has one)."""

    part: Text


@dataclass(frozen=True, slots=True)
class Join:
    """Parts one after another, with a separator that is ours (", ", " · "); with `sep` None,
    as the reader's language lists things (« A, B et C », "A, B and C": `Listing`)."""

    parts: tuple[Text, ...]
    sep: str | None = ""

    def __init__(self, parts: Sequence[Text], sep: str | None = "") -> None:
        object.__setattr__(self, "parts", tuple(parts))
        object.__setattr__(self, "sep", sep)


def Listing(parts: Sequence[Text]) -> Join:
    """Parts as the reader's language lists them: « Data Science et Agilité »."""
    return Join(parts, None)


def Lines(parts: Sequence[Text], blank: bool = False) -> Join:
    """Parts on lines of their own (with a blank line between them when `blank`)."""
    return Join(parts, "\n\n" if blank else "\n")


@dataclass(frozen=True, slots=True)
class Pick:
    """Text typed in several languages (a question from app.yaml): the reader's, else the first."""

    by_language: Mapping[str, str]


Text = (
    str
    | Say
    | Fill
    | Person
    | Place
    | Link
    | Moment
    | Number
    | Percent
    | Strong
    | Code
    | Quote
    | Join
    | Pick
)

# ---------------------------------------------------------------------------------------------
# Blocks


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: what it means to us (`action`, which the edge routes back to a handler), what it
    carries (`value`), its label, and whether it is the main or a dangerous choice."""

    action: str
    label: Text
    value: str = ""
    style: Literal["primary", "danger"] | None = None
    chat_with: str | None = None  # the button also opens a conversation with this person


@dataclass(frozen=True, slots=True)
class Heading:
    text: Text


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph, with at most one choice beside it."""

    text: Text
    beside: Choice | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """Small print under the rest (how to mute, why you get this)."""

    text: Text


@dataclass(frozen=True, slots=True)
class Choices:
    """A row of buttons; `group` names the row (one question of a poll, say)."""

    choices: tuple[Choice, ...]
    group: str | None = None

    def __init__(self, choices: Sequence[Choice], group: str | None = None) -> None:
        object.__setattr__(self, "choices", tuple(choices))
        object.__setattr__(self, "group", group)


@dataclass(frozen=True, slots=True)
class Divider:
    """A line between parts."""


@dataclass(frozen=True, slots=True)
class Chart:
    """A trend chart, drawn for the reader when the message goes out (an image where the
    platform shows images): per week starting on each of `days`, active people and messages."""

    title: Text
    days: tuple[date, ...]
    active: tuple[int, ...]
    messages: tuple[int, ...]

    def __init__(
        self,
        title: Text,
        days: Sequence[date],
        active: Sequence[int],
        messages: Sequence[int],
    ) -> None:
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "days", tuple(days))
        object.__setattr__(self, "active", tuple(active))
        object.__setattr__(self, "messages", tuple(messages))


Block = Heading | Paragraph | Note | Choices | Divider | Chart


@dataclass(frozen=True, slots=True)
class Message:
    """One message: `fallback` is the one line shown in notifications and to screen readers."""

    fallback: Text
    blocks: tuple[Block, ...] = ()

    def __init__(self, fallback: Text, blocks: Sequence[Block] = ()) -> None:
        object.__setattr__(self, "fallback", fallback)
        object.__setattr__(self, "blocks", tuple(blocks))


# ---------------------------------------------------------------------------------------------
# As data: the outbox stores a message as JSON and renders it when it goes out.

_KINDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Say,
        Fill,
        Person,
        Place,
        Link,
        Moment,
        Number,
        Percent,
        Strong,
        Code,
        Quote,
        Join,
        Pick,
        Choice,
        Heading,
        Paragraph,
        Note,
        Choices,
        Divider,
        Chart,
        Message,
    )
}
_TAG = "_"


def dump(value: Any) -> Any:
    """A message (or any part) as plain JSON; `load` gives it back equal."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {_TAG: "float", "v": repr(value)}
    if isinstance(value, Decimal):
        return {_TAG: "Decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    kind = type(value).__name__
    if _KINDS.get(kind) is type(value) and is_dataclass(value):
        return {_TAG: kind, **{f.name: dump(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, Mapping):
        return {_TAG: "map", "v": {str(k): dump(v) for k, v in value.items()}}
    raise TypeError(f"a message cannot hold {kind}")


def load(data: Any) -> Any:
    """The part or message `dump` wrote; anything else is a ValueError."""
    if data is None or isinstance(data, bool | int | str):
        return data
    if isinstance(data, list):
        return [load(v) for v in data]
    if not isinstance(data, dict) or _TAG not in data:
        raise ValueError("not a stored message")
    kind = data[_TAG]
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return scalar(data["v"])
    if kind == "map":
        return {k: load(v) for k, v in data["v"].items()}
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown part {kind!r} in a stored message")
    values = {f.name: load(data.get(f.name)) for f in fields(cls)}
    if cls is Say:
        return Say(values["key"], **values["params"])
    if cls in (Join, Choices, Message, Chart):
        first, *rest = (f.name for f in fields(cls))
        return cls(values[first], *(values[name] for name in rest))
    return cls(**values)


_SCALARS: dict[str, Any] = {
    "float": float,
    "Decimal": Decimal,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
}


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a message is rendered for: their language and zone (the workspace's when unknown)."""

    language: str
    tz: str | None = None


# --- how every platform writes the parts that are not words -------------------------------------


def shown(part: Moment | Number | Percent, t: Translator, reader: Reader) -> str:
    """A number, a ratio or a moment written the reader's way (a moment in its own zone, else the
    reader's)."""
    match part:
        case Number(value=value, digits=digits):
            return t.number(value, digits)
        case Percent(ratio=ratio):
            return t.percent(ratio)
        case Moment(at=at, tz=tz, style=style, with_zone=with_zone):
            zone = tz or reader.tz
            if style == "date":
                return t.date(at.astimezone(ZoneInfo(zone)).date() if zone else at.date())
            if style == "time":
                return t.time(at, zone)
            return t.datetime(at, zone, with_zone=with_zone)
    raise TypeError(part)


def picked(texts: Mapping[str, str] | None, reader: Reader) -> str:
    """A text given in several languages (app.yaml): the reader's, else the first given."""
    if not texts:
        return ""
    return str(texts.get(reader.language) or next(iter(texts.values())))
