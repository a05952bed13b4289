"""A neutral message (`bot.messages`) as Slack shows it: Block Kit and the top-level text.

This is the one place where a message meets Slack's markup. Typed text (a plain str, a `Pick`)
goes through `bot.slack.echo` once, so it shows as typed and never pings; our sentences are
translated for the reader here, at the moment the message goes out; moments are shown in the
reader's zone unless the message fixed one. Headers and button labels are plain_text, which Slack
never parses: they take the raw words.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot import messages as m
from bot.i18n import Translator, translate
from bot.slack.blocks.common import HEADER_MAX, SECTION_MAX
from bot.slack.echo import Mrkdwn, channel, echo, fill, link, mention, mrkdwn, say

_APP_REDIRECT = "https://slack.com/app_redirect?channel={user}"  # opens a DM with the person
BUTTON_MAX = 75  # a button's label (plain_text)
VALUE_MAX = 2000  # a button's value


def render(message: m.Message, reader: m.Reader) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """(top-level text, blocks) of a message for one reader."""
    r = _Renderer(translate(reader.language), reader)
    blocks: list[Block] = [r.block(b) for b in message.blocks]
    return r.mrkdwn(message.fallback), [b.to_dict() for b in blocks]


def chart_png(chart: m.Chart, reader: m.Reader) -> tuple[str, bytes]:
    """(title, PNG) of a message's chart, for this reader (slow: call it off the event loop)."""
    from bot import charts

    r = _Renderer(translate(reader.language), reader)
    title = r.plain(chart.title)
    return title, charts.message_trend(chart, title, r.t)


class _Renderer:
    def __init__(self, t: Translator, reader: m.Reader) -> None:
        self.t = t
        self.reader = reader

    # text ------------------------------------------------------------------------------------

    def mrkdwn(self, part: m.Text) -> Mrkdwn:
        """A part as safe mrkdwn: typed text escaped, our markup kept."""
        match part:
            case str():
                return echo(part)
            case m.Pick(by_language=texts):
                return echo(self._pick(texts))
            case m.Say(key=key, params=params):
                return say(self.t, key, **{k: self._param(v) for k, v in params.items()})
            case m.Fill(texts=texts, params=params, otherwise=otherwise):
                template = texts.get(self.reader.language)
                if not template:
                    return self.mrkdwn(otherwise)
                return fill(template, **{k: self._param(v) for k, v in params.items()})
            case m.Person(id=user):
                return mention(user)
            case m.Place(id=place):
                return channel(place)
            case m.Link(url=url, label=label):
                return link(url, self.plain(label) if label is not None else None)
            case m.Strong(part=inner):
                return Mrkdwn(f"*{self.mrkdwn(inner)}*")
            case m.Code(text=code):
                return Mrkdwn("`" + echo(code.replace("`", "'")) + "`")
            case m.Quote(part=inner):
                lines = str(self.mrkdwn(inner)).split("\n")
                return Mrkdwn("\n".join(f"> {line}" for line in lines))
            case m.Join(parts=parts, sep=None):
                return Mrkdwn(self.t.listing([self.mrkdwn(p) for p in parts]))
            case m.Join(parts=parts, sep=sep):
                return Mrkdwn(echo(sep or "").join(self.mrkdwn(p) for p in parts))
            case m.Moment() | m.Number() | m.Percent():
                return echo(self._shown(part))
        raise TypeError(f"not a text part: {part!r}")

    def plain(self, part: m.Text) -> str:
        """A part as plain_text (headers, button labels): the words, no markup at all."""
        match part:
            case str():
                return part
            case m.Pick(by_language=texts):
                return self._pick(texts)
            case m.Say(key=key, params=params):
                return self.t(key, **{k: self._plain_param(v) for k, v in params.items()})
            case m.Fill(texts=texts, params=params, otherwise=otherwise):
                template = texts.get(self.reader.language)
                if not template:
                    return self.plain(otherwise)
                return template.format(**{k: self._plain_param(v) for k, v in params.items()})
            case m.Person(id=user):
                return user
            case m.Place(id=place):
                return place
            case m.Link(url=url, label=label):
                return self.plain(label) if label is not None else url or ""
            case m.Strong(part=inner) | m.Quote(part=inner):
                return self.plain(inner)
            case m.Code(text=code):
                return code
            case m.Join(parts=parts, sep=None):
                return self.t.listing([self.plain(p) for p in parts])
            case m.Join(parts=parts, sep=sep):
                return (sep or "").join(self.plain(p) for p in parts)
            case m.Moment() | m.Number() | m.Percent():
                return self._shown(part)
        raise TypeError(f"not a text part: {part!r}")

    def _param(self, value: Any) -> Any:
        """A sentence's parameter: numbers stay numbers (plural rules read them); parts render."""
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, str):
            return value  # typed: `say` escapes it
        if isinstance(value, m.Number | m.Percent | m.Moment):
            return self._shown(value)
        if isinstance(
            value,
            m.Say | m.Fill | m.Person | m.Place | m.Link | m.Strong | m.Code | m.Quote | m.Join,
        ):
            return self.mrkdwn(value)
        if isinstance(value, m.Pick):
            return self._pick(value.by_language)
        return value  # a Decimal, a day: the translator writes them the language's way

    def _plain_param(self, value: Any) -> Any:
        if isinstance(
            value,
            m.Say | m.Fill | m.Person | m.Place | m.Link | m.Strong | m.Code | m.Quote | m.Join,
        ):
            return self.plain(value)
        if isinstance(value, m.Number | m.Percent | m.Moment):
            return self._shown(value)
        if isinstance(value, m.Pick):
            return self._pick(value.by_language)
        return value

    def _shown(self, part: m.Moment | m.Number | m.Percent) -> str:
        return m.shown(part, self.t, self.reader)

    def _pick(self, texts: Any) -> str:
        return m.picked(texts, self.reader)

    # blocks ----------------------------------------------------------------------------------

    def block(self, block: m.Block) -> Block:
        match block:
            case m.Heading(text=text):
                return HeaderBlock(text=self.plain(text)[:HEADER_MAX])
            case m.Paragraph(text=text, beside=choice):
                return SectionBlock(
                    text=mrkdwn(self.mrkdwn(text), SECTION_MAX),
                    accessory=self.button(choice) if choice else None,
                )
            case m.Note(text=text):
                return ContextBlock(elements=[mrkdwn(self.mrkdwn(text))])
            case m.Choices(choices=choices, group=group):
                return ActionsBlock(block_id=group, elements=[self.button(c) for c in choices])
            case m.Divider():
                return DividerBlock()
            case m.Chart(title=title):
                # the picture itself follows the message as a file (`chart_png`, SlackMessenger)
                return ContextBlock(
                    elements=[mrkdwn(Mrkdwn(":chart_with_upwards_trend: " + self.mrkdwn(title)))]
                )
        raise TypeError(f"not a block: {block!r}")

    def button(self, choice: m.Choice) -> ButtonElement:
        return ButtonElement(
            text=self.plain(choice.label)[:BUTTON_MAX],
            action_id=choice.action,
            value=choice.value[:VALUE_MAX] or None,
            style=choice.style,
            url=_APP_REDIRECT.format(user=choice.chat_with) if choice.chat_with else None,
        )
