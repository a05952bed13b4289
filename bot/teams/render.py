"""PROVISIONAL (teams-event): a minimal neutral message → Adaptive Card renderer with the
signatures the render helper is writing (`activity`, `card`), so the event and pulse handlers
can be built and tested before it lands. The lead drops this file at merge for the real one.

Text is rendered as plain words (our sentences translated, moments in the reader's zone), typed
text escaped once (`escape`); a `m.Choice` becomes an `Action.Execute` whose verb is its action.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from bot import messages as m
from bot.i18n import Translator, translate

Json = dict[str, Any]
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_MARKDOWN = re.compile(r"([\\*_\[\]`~])")
_LIST_START = re.compile(r"^(\s*)([-+#>]|\d+\.)", re.MULTILINE)


def escape(text: str) -> str:
    """Typed text as it was typed in a TextBlock (Teams reads a subset of Markdown)."""
    text = _MARKDOWN.sub(r"\\\1", text)
    return _LIST_START.sub(lambda found: found.group(1) + "\\" + found.group(2), text)


def activity(message: m.Message, reader: m.Reader) -> Json:
    """The activity body that posts the message (the card alone carries the content)."""
    t = translate(reader.language)
    return {
        "type": "message",
        "text": _Plain(t, reader).text(message.fallback),
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": card(message, reader)}],
    }


def card(message: m.Message, reader: m.Reader) -> Json:
    r = _Plain(translate(reader.language), reader)
    body: list[Json] = []
    for block in message.blocks:
        body.extend(r.block(block))
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }


class _Plain:
    def __init__(self, t: Translator, reader: m.Reader) -> None:
        self.t, self.reader = t, reader

    def text(self, part: m.Text) -> str:
        match part:
            case str():
                return escape(part)
            case m.Pick(by_language=texts):
                return escape(str(texts.get(self.reader.language) or next(iter(texts.values()))))
            case m.Say(key=key, params=params):
                return self.t(key, **{k: self._param(v) for k, v in params.items()})
            case m.Fill(texts=texts, params=params, otherwise=otherwise):
                template = texts.get(self.reader.language)
                if not template:
                    return self.text(otherwise)
                return template.format(**{k: self._param(v) for k, v in params.items()})
            case m.Person(id=who) | m.Place(id=who):
                return escape(who)
            case m.Link(url=url, label=label):
                return self.text(label) if label is not None else escape(url or "")
            case m.Strong(part=inner):
                return f"**{self.text(inner)}**"
            case m.Quote(part=inner) | m.Code(text=inner):
                return self.text(inner)
            case m.Join(parts=parts, sep=None):
                return self.t.listing([self.text(p) for p in parts])
            case m.Join(parts=parts, sep=sep):
                return (sep or "").join(self.text(p) for p in parts)
            case m.Moment() | m.Number() | m.Percent():
                return self._shown(part)
        raise TypeError(f"not a text part: {part!r}")

    def _param(self, value: Any) -> Any:
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, str):
            return escape(value)
        if isinstance(value, m.Number | m.Percent | m.Moment):
            return self._shown(value)
        if isinstance(value, m.Say | m.Fill | m.Person | m.Place | m.Link | m.Strong | m.Code):
            return self.text(value)
        if isinstance(value, m.Quote | m.Join | m.Pick):
            return self.text(value)
        return value

    def _shown(self, part: m.Moment | m.Number | m.Percent) -> str:
        t = self.t
        match part:
            case m.Number(value=value, digits=digits):
                return t.number(value, digits)
            case m.Percent(ratio=ratio):
                return t.percent(ratio)
            case m.Moment(at=at, tz=tz, style=style, with_zone=with_zone):
                zone = tz or self.reader.tz
                if style == "date":
                    return t.date(at.astimezone(ZoneInfo(zone)).date() if zone else at.date())
                if style == "time":
                    return t.time(at, zone)
                return t.datetime(at, zone, with_zone=with_zone)
        raise TypeError(part)

    def action(self, choice: m.Choice) -> Json:
        return {
            "type": "Action.Execute",
            "verb": choice.action,
            "title": self.text(choice.label),
            "data": {"cop": choice.action, "value": choice.value},
        }

    def block(self, block: m.Block) -> list[Json]:
        match block:
            case m.Heading(text=text):
                return [
                    {
                        "type": "TextBlock",
                        "text": self.text(text),
                        "weight": "Bolder",
                        "size": "Medium",
                        "wrap": True,
                    }
                ]
            case m.Paragraph(text=text, beside=choice):
                out: list[Json] = [{"type": "TextBlock", "text": self.text(text), "wrap": True}]
                if choice is not None:
                    out.append({"type": "ActionSet", "actions": [self.action(choice)]})
                return out
            case m.Note(text=text):
                return [
                    {
                        "type": "TextBlock",
                        "text": self.text(text),
                        "isSubtle": True,
                        "size": "Small",
                        "wrap": True,
                    }
                ]
            case m.Choices(choices=choices, group=group):
                row: Json = {"type": "ActionSet", "actions": [self.action(c) for c in choices]}
                if group:
                    row["id"] = group
                return [row]
            case m.Divider():
                return [{"type": "TextBlock", "text": " ", "separator": True}]
            case m.Chart(title=title):
                return [{"type": "TextBlock", "text": self.text(title), "wrap": True}]
        raise TypeError(block)
