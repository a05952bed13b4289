"""PROVISIONAL (teams-messenger): a minimal neutral message → Teams activity, with the signatures
the render helper's module will have, so the outbox can deliver to Teams meanwhile. The lead
drops this file at merge in favour of the real bot/teams/render.py."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot import messages as m
from bot.i18n import translate

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_MARKDOWN = str.maketrans({c: f"\\{c}" for c in "\\*_[]()`#>-"})


def activity(message: m.Message, reader: m.Reader) -> dict[str, Any]:
    return {
        "type": "message",
        "text": _plain(message.fallback, reader),
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": card(message, reader)}],
    }


def card(message: m.Message, reader: m.Reader) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    for block in message.blocks:
        match block:
            case m.Heading(text=text):
                body.append(_text(_plain(text, reader), weight="Bolder", size="Medium"))
            case m.Paragraph(text=text, beside=choice):
                body.append(_text(_plain(text, reader)))
                if choice is not None:
                    body.append({"type": "ActionSet", "actions": [_action(choice, reader)]})
            case m.Note(text=text):
                body.append(_text(_plain(text, reader), isSubtle=True, size="Small"))
            case m.Choices(choices=choices):
                body.append({"type": "ActionSet", "actions": [_action(c, reader) for c in choices]})
            case m.Divider():
                body.append({"type": "TextBlock", "text": " ", "separator": True})
            case m.Chart(title=title):
                body.append(_text(_plain(title, reader), weight="Bolder"))
    if not body:
        body.append(_text(_plain(message.fallback, reader)))
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text.translate(_MARKDOWN), "wrap": True, **style}


def _action(choice: m.Choice, reader: m.Reader) -> dict[str, Any]:
    return {
        "type": "Action.Execute",
        "verb": choice.action,
        "title": _plain(choice.label, reader),
        "data": {"cop": choice.action, "value": choice.value},
    }


def _plain(part: Any, reader: m.Reader) -> str:
    t = translate(reader.language)
    match part:
        case str():
            return part
        case m.Pick(by_language=texts):
            return str(texts.get(reader.language) or next(iter(texts.values()), ""))
        case m.Say(key=key, params=params):
            return str(t(key, **{k: _param(v, reader) for k, v in params.items()}))
        case m.Fill(texts=texts, params=params, otherwise=otherwise):
            template = texts.get(reader.language)
            if not template:
                return _plain(otherwise, reader)
            return template.format(**{k: _param(v, reader) for k, v in params.items()})
        case m.Person(id=who) | m.Place(id=who):
            return who
        case m.Link(url=url, label=label):
            return _plain(label, reader) if label is not None else url or ""
        case m.Strong(part=inner) | m.Quote(part=inner):
            return _plain(inner, reader)
        case m.Code(text=code):
            return code
        case m.Join(parts=parts, sep=None):
            return str(t.listing([_plain(p, reader) for p in parts]))
        case m.Join(parts=parts, sep=sep):
            return (sep or "").join(_plain(p, reader) for p in parts)
        case m.Number(value=value, digits=digits):
            return str(t.number(value, digits))
        case m.Percent(ratio=ratio):
            return str(t.percent(ratio))
        case m.Moment(at=at, tz=tz, style=style, with_zone=with_zone):
            zone = tz or reader.tz
            if style == "date":
                return str(t.date(at.astimezone(ZoneInfo(zone)).date() if zone else at.date()))
            if style == "time":
                return str(t.time(at, zone))
            return str(t.datetime(at, zone, with_zone=with_zone))
    return str(part)


def _param(value: Any, reader: m.Reader) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, m.Say | m.Fill | m.Person | m.Place | m.Link | m.Strong | m.Code):
        return _plain(value, reader)
    if isinstance(value, m.Quote | m.Join | m.Pick | m.Number | m.Percent | m.Moment):
        return _plain(value, reader)
    return value
