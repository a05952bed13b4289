"""A neutral message (`bot.messages`) as Teams shows it: an Adaptive Card 1.5 and its activity.

The Teams twin of `bot/slack/messages.py`: every text part and block renders here, for one
reader, at the moment the message goes out — our sentences translated (`bot.i18n`), moments in
the reader's zone, numbers their way — and typed text (a plain str, a `Pick`) goes through the one
guard, `bot.teams.text.escape`, so it shows exactly as typed.

How each part reads in Teams' idiom:
- the commands our sentences name are Teams' (`/cop sourdine` → `@cop sourdine`), and a sentence
  with a Teams wording is read in it (bot/teams/idiom.py);
- the catalogue is written in Slack's mrkdwn (`*bold*`, `_italic_`, `~struck~`, `` `code` ``,
  `:emoji:`); its markup is translated here (`**bold**`, `_italic_`, the words only for
  strike-through and inline code, which Teams cards do not render, the emoji itself) and the rest
  of the sentence is escaped like typed text;
- `Strong` is `**…**`; `Code` turns its line into a monospace TextBlock (Teams has no inline code);
  `Quote` is a Container with style "emphasis"; `Lines` are TextBlocks of their own (Teams breaks
  a line inside a TextBlock only at `\\n\\n`), a blank line a wider spacing;
- `Link` is `[label](url)` only for an address `bot.links.is_link` accepts (the Slack edge's
  guard), else its words;
- `Person` is a real mention (`<at>Name</at>` + an `msteams.entities` mention) when the caller
  passes the person's display name in `names` (id → name: the sender holds `Person.real_name`;
  `people(message)` lists the ids to look up). Without a name we cannot mention (Teams shows the
  text between the tags) and never show a raw "29:…" id: the person reads « quelqu'un » /
  "someone". A `Place` reads as its name from `names`, else « le canal de la communauté »: bots
  cannot mention channels in Teams, and a link to a channel needs its team's group id.
- `Choice` is an `Action.Execute` (verb = the action, data {"cop", "value"}), styled "positive"
  (primary) or "destructive" (danger); a row of more than 6 is split, since Teams shows 6 actions
  per set. `chat_with` is dropped: Teams' chat deep link (`/l/chat/0/0?users=`) takes a user
  principal name only (learn.microsoft.com, deep-link-teams), not the "29:…" id we hold, and one
  Teams button cannot both open a chat and send an action.
- `Chart` is an Image with a `data:image/png;base64,…` URL (Image.url takes data URIs from
  schema 1.2; Teams shows them — Microsoft 365 PnP, "Display images in Adaptive Cards", 2021),
  drawn by `bot.charts.message_trend` (the drawing Slack uploads as a file) and reduced to a
  32-colour palette: a 13-week trend is 12.8 KB of PNG instead of ~57 KB, 17 KB in base64.
  Teams refuses a message over its size limit (documented as 25–28 KB, then 40 KB, now 100 KB in
  UTF-16, base64 included): a card stays under `CARD_MAX_BYTES` of UTF-8 JSON — the chart is
  drawn smaller (80 dpi), and if the card is still too big the weeks are told in words instead.
  Drawing takes 0.2–1.5 s: call `card`/`activity` off the event loop when `has_chart(message)`.

`activity` posts the card alone, with the fallback line as `summary` (what notifications and
the chat list show instead of "sent a card") and the card's `fallbackText`. It does not set
`text`: an activity with both text and a card is split by Teams into two messages and the
connector returns no id, so the card could never be updated in place (RSVP counts, a poll's
buttons) — MicrosoftDocs/msteams-docs#1998 and #2594, microsoft/BotFramework-Services#98.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bot import messages as m
from bot.i18n import Translator, translate
from bot.links import is_link
from bot.teams import idiom
from bot.teams.text import Markdown, line_start
from bot.teams.text import escape as escape  # the one guard, also reached from here

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CARD_MAX_BYTES = 26_000  # under the oldest documented 28 KB, with room for the activity around it
ACTIONS_PER_SET = 6  # Teams shows 6 actions in a set (more go to an overflow menu, or nowhere)
TITLE_MAX = 75  # a button's label, as on Slack
CHART_DPI = (110, 80)  # the sizes a chart is tried at before it becomes text

_QUOTE = "\x01"  # the line belongs to a quote
_MONO = "\x02"  # the line is shown in a fixed-width font
_MARKS = re.compile(f"[{_QUOTE}{_MONO}]")
_NOT_IN_MENTION = re.compile(r"[\\`*_\[\]<>~&#\x00-\x1f\x7f-\x9f]")
_EMOJI = {
    "warning": "⚠️",
    "pencil2": "✏️",
    "calendar": "📆",
    "x": "❌",
    "lock": "🔒",
    "eyes": "👀",
    "busts_in_silhouette": "👥",
    "bulb": "💡",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "tada": "🎉",
    "wave": "👋",
    "star": "⭐",
    "sparkles": "✨",
    "speech_balloon": "💬",
    "compass": "🧭",
    "trophy": "🏆",
    "clock": "🕐",
}
# Slack mrkdwn in our catalogue: *bold*, _italic_, ~strike~, `code`, :emoji:
_MRKDWN = re.compile(
    r"(?<![\w*])\*(?=\S)(?P<bold>[^*\n]+?)(?<=\S)\*(?![\w*])"
    r"|(?<![\w_])_(?=\S)(?P<italic>[^_\n]+?)(?<=\S)_(?![\w_])"
    r"|(?<![\w~])~(?=\S)(?P<strike>[^~\n]+?)(?<=\S)~(?![\w~])"
    r"|`(?P<code>[^`\n]+)`"
    r"|:(?P<emoji>[a-z0-9_+-]+):"
)


def card(
    message: m.Message, reader: m.Reader, *, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Adaptive Card (schema 1.5) of a message for one reader; `names` gives the display
    names of the people and channels it names (id → name), for mentions."""
    r = _Renderer(translate(reader.language), reader, names or {})
    fallback = r.plain(message.fallback)
    result = r.card(r.body(message.blocks, message.fallback), fallback)
    if has_chart(message) and _size(result) > CARD_MAX_BYTES:
        for dpi in CHART_DPI[1:]:
            r.chart_dpi = dpi
            result = r.card(r.body(message.blocks, message.fallback), fallback)
            if _size(result) <= CARD_MAX_BYTES:
                return result
        r.chart_dpi = None  # the weeks as text
        result = r.card(r.body(message.blocks, message.fallback), fallback)
    return result


def activity(
    message: m.Message, reader: m.Reader, *, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The activity the bot posts: the card alone, its fallback line as the notification's
    `summary` (see the module's note on `text`)."""
    content = card(message, reader, names=names)
    return {
        "type": "message",
        "summary": content["fallbackText"],
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": content}],
    }


def fallback(
    message: m.Message, reader: m.Reader, *, names: Mapping[str, str] | None = None
) -> str:
    """The message's one line, plain (notifications, logs, screen readers)."""
    return _Renderer(translate(reader.language), reader, names or {}).plain(message.fallback)


def people(message: m.Message) -> set[str]:
    """The ids of the people and channels a message names: what `names` should map."""
    return {part.id for part in _parts(message) if isinstance(part, m.Person | m.Place)}


def has_chart(message: m.Message) -> bool:
    return any(isinstance(b, m.Chart) for b in message.blocks)


def _parts(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, m.Message):
        yield from _parts(value.fallback)
        for block in value.blocks:
            yield from _parts(block)
    elif isinstance(value, m.Say | m.Fill):
        for param in value.params.values():
            yield from _parts(param)
        if isinstance(value, m.Fill):
            yield from _parts(value.otherwise)
    elif isinstance(value, m.Join | m.Choices):
        for part in value.parts if isinstance(value, m.Join) else value.choices:
            yield from _parts(part)
    elif isinstance(value, m.Strong | m.Quote):
        yield from _parts(value.part)
    elif isinstance(value, m.Link) and value.label is not None:
        yield from _parts(value.label)
    elif isinstance(value, m.Heading | m.Note):
        yield from _parts(value.text)
    elif isinstance(value, m.Paragraph):
        yield from _parts(value.text)
        if value.beside is not None:
            yield from _parts(value.beside)
    elif isinstance(value, m.Choice):
        yield from _parts(value.label)
    elif isinstance(value, m.Chart):
        yield from _parts(value.title)


def _size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode())


class _Renderer:
    def __init__(self, t: Translator, reader: m.Reader, names: Mapping[str, str]) -> None:
        self.t = t
        self.reader = reader
        self.names = names
        self.mentions: dict[str, dict[str, Any]] = {}
        self.chart_dpi: int | None = CHART_DPI[0]

    def card(self, body: list[dict[str, Any]], fallback: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "type": "AdaptiveCard",
            "$schema": SCHEMA,
            "version": VERSION,
            "fallbackText": fallback,
            "body": body,
        }
        if self.mentions:
            result["msteams"] = {"entities": list(self.mentions.values())}
        return result

    # text ------------------------------------------------------------------------------------

    def md(self, part: m.Text) -> Markdown:
        """A part as TextBlock markdown: typed text escaped, our markup kept; lines end in "\\n"
        (the block builder makes TextBlocks of them) and carry the quote/monospace marks."""
        match part:
            case str():
                return _frag(part)
            case m.Pick(by_language=texts):
                return _frag(self._pick(texts))
            case m.Say(key=key, params=params):
                teams = idiom.key(key, self.t.language)
                return self._compose(lambda **values: self.t(teams, **values), params)
            case m.Fill(texts=texts, params=params, otherwise=otherwise):
                template = texts.get(self.reader.language)
                if not template:
                    return self.md(otherwise)
                return self._compose(lambda **values: template.format(**values), params)
            case m.Person(id=user):
                return self._mention(user)
            case m.Place(id=place):
                return _frag(self._place(place))
            case m.Link(url=url, label=label):
                words = self.plain(label) if label is not None else url or ""
                if not url or not is_link(url):
                    return _frag(words)
                target = url.replace("(", "%28").replace(")", "%29")
                return Markdown(f"[{_frag(words, ' ')}]({target})")
            case m.Strong(part=inner):
                return _each_line(self.md(inner), lambda line: f"**{line}**")
            case m.Code(text=code):
                kept = _frag(code.replace(" ", "\u00a0"), "\n" + _MONO)
                return Markdown(str.__add__(_MONO, kept))  # not Markdown's +: that escapes
            case m.Quote(part=inner):
                return _each_line(self.md(inner), lambda line: _QUOTE + line)
            case m.Join(parts=parts, sep=None):
                return Markdown(self.t.listing([self.md(p) for p in parts]))
            case m.Join(parts=parts, sep=sep):
                return _frag(sep or "").join(self.md(p) for p in parts)
            case m.Moment() | m.Number() | m.Percent():
                return _frag(self._shown(part))
        raise TypeError(f"not a text part: {part!r}")

    def plain(self, part: m.Text) -> str:
        """A part as plain words (button titles, the fallback line, an image's alt text)."""
        match part:
            case str():
                return part
            case m.Pick(by_language=texts):
                return self._pick(texts)
            case m.Say(key=key, params=params):
                teams = idiom.key(key, self.t.language)
                return self._compose_plain(lambda **values: self.t(teams, **values), params)
            case m.Fill(texts=texts, params=params, otherwise=otherwise):
                template = texts.get(self.reader.language)
                if not template:
                    return self.plain(otherwise)
                return self._compose_plain(lambda **values: template.format(**values), params)
            case m.Person(id=user):
                return self.names.get(user) or self.t("teams.render.someone")
            case m.Place(id=place):
                return self._place(place)
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

    def _compose(self, render: Callable[..., str], params: Mapping[str, Any]) -> Markdown:
        """A sentence of ours (catalogue or app.yaml) with its parameters: the sentence's own
        mrkdwn becomes Teams markdown and its words are escaped; parameters that are parts are
        rendered and set aside behind a marker no one can type while that happens."""
        nonce = secrets.token_hex(8)
        kept: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, bool | int | float) or value is None:
                values[name] = value  # plural rules read them
                continue
            if isinstance(value, m.Number | m.Percent | m.Moment):
                values[name] = self._shown(value)  # words of the sentence (plurals read them)
                continue
            if isinstance(value, str | m.Pick) or _is_part(value):
                shown = self.md(value)
            else:
                values[name] = value  # a Decimal, a day: the translator writes them
                continue
            marker = f"\x00{nonce}{len(kept)}\x00"
            # a leading letter stays in view, so the sentence can agree with it (« d'Agilité »)
            head = shown[:1] if shown[:1].isalpha() else ""
            kept[marker] = shown[len(head) :]
            values[name] = head + marker
        return _ours(idiom.commands(render(**values)), nonce, kept)

    def _compose_plain(self, render: Callable[..., str], params: Mapping[str, Any]) -> str:
        """A sentence of ours as plain words: its mrkdwn markers dropped (typed parameters are
        set aside meanwhile, so theirs stay as typed)."""
        nonce = secrets.token_hex(8)
        kept: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, m.Number | m.Percent | m.Moment):
                values[name] = self._shown(value)
            elif isinstance(value, str | m.Pick) or _is_part(value):
                shown = self.plain(value)
                marker = f"\x00{nonce}{len(kept)}\x00"
                head = shown[:1] if shown[:1].isalpha() else ""
                kept[marker] = shown[len(head) :]
                values[name] = head + marker
            else:
                values[name] = value
        sentence = _unmarked(idiom.commands(render(**values)))
        return re.sub(f"\x00{nonce}\\d+\x00", lambda found: kept[found.group()], sentence)

    def _mention(self, user: str) -> Markdown:
        # a display name is typed text too, but a mention's text must equal its entity's: the
        # characters markdown or a tag could read are left out of it rather than escaped
        name = " ".join(_NOT_IN_MENTION.sub("", self.names.get(user) or "").split())
        if not name.strip():
            return _frag(self.t("teams.render.someone"))
        tag = f"<at>{name}</at>"
        self.mentions.setdefault(
            user, {"type": "mention", "text": tag, "mentioned": {"id": user, "name": name}}
        )
        return Markdown(tag)

    def _place(self, place: str) -> str:
        return self.names.get(place) or self.t("teams.render.channel")

    def _shown(self, part: m.Moment | m.Number | m.Percent) -> str:
        return m.shown(part, self.t, self.reader)

    def _pick(self, texts: Any) -> str:
        return m.picked(texts, self.reader)

    # blocks ----------------------------------------------------------------------------------

    def body(self, blocks: tuple[m.Block, ...], fallback: m.Text) -> list[dict[str, Any]]:
        """The card's body: a Divider is a separator line above what follows it; a message of
        one line (no blocks) is that line."""
        if not blocks:
            return self.block(m.Paragraph(fallback))
        body: list[dict[str, Any]] = []
        separate = False
        for block in blocks:
            if isinstance(block, m.Divider):
                separate = bool(body)
                continue
            elements = self.block(block)
            if separate and elements:
                elements[0]["separator"] = True
                elements[0]["spacing"] = "Large"
            separate = False
            body += elements
        return body

    def block(self, block: m.Block) -> list[dict[str, Any]]:
        match block:
            case m.Heading(text=text):
                return [
                    {
                        "type": "TextBlock",
                        "text": escape(self.plain(text), newline=" "),
                        "size": "Medium",
                        "weight": "Bolder",
                        "wrap": True,
                    }
                ]
            case m.Paragraph(text=text, beside=choice):
                paragraph = _text_blocks(self.md(text))
                if choice is not None:
                    paragraph.append(
                        {"type": "ActionSet", "spacing": "Small", "actions": [self.action(choice)]}
                    )
                return paragraph
            case m.Note(text=text):
                return _text_blocks(self.md(text), size="Small", subtle=True)
            case m.Choices(choices=choices, group=group):
                rows = [
                    choices[i : i + ACTIONS_PER_SET]
                    for i in range(0, len(choices), ACTIONS_PER_SET)
                ]
                sets: list[dict[str, Any]] = []
                for index, row in enumerate(rows):
                    action_set: dict[str, Any] = {
                        "type": "ActionSet",
                        "spacing": "Small",
                        "actions": [self.action(c) for c in row],
                    }
                    if group:
                        action_set["id"] = group if index == 0 else f"{group}.{index}"
                    sets.append(action_set)
                return sets
            case m.Divider():
                return []  # `body` draws it on what follows
            case m.Chart():
                return self.chart(block)
        raise TypeError(f"not a block: {block!r}")

    def action(self, choice: m.Choice) -> dict[str, Any]:
        action: dict[str, Any] = {
            "type": "Action.Execute",
            "verb": choice.action,
            "title": self.plain(choice.label)[:TITLE_MAX],
            "data": {"cop": choice.action, "value": choice.value},
        }
        if choice.style == "primary":
            action["style"] = "positive"
        elif choice.style == "danger":
            action["style"] = "destructive"
        return action

    def chart(self, chart: m.Chart) -> list[dict[str, Any]]:
        title = self.plain(chart.title)
        if self.chart_dpi is not None and chart.days:
            from bot import charts

            png = _palette(charts.message_trend(chart, title, self.t, dpi=self.chart_dpi))
            url = "data:image/png;base64," + base64.b64encode(png).decode()
            return [
                {
                    "type": "Image",
                    "url": url,
                    "altText": title,
                    "size": "Stretch",
                    "spacing": "Medium",
                }
            ]
        # too big for a card (or nothing to draw): the title, then each week in words
        t = self.t
        weeks = [
            t(
                "teams.render.chart_week",
                day=t.date(day, "d MMMM"),
                active=t.whole(active),
                messages=t.whole(messages),
            )
            for day, active, messages in zip(chart.days, chart.active, chart.messages, strict=False)
        ]
        lines = [f"**{escape(title, newline=' ')}**", *(escape(w, newline=" ") for w in weeks)]
        return _text_blocks("\n".join(lines))


def _frag(text: str, newline: str = "\n") -> Markdown:
    """Typed (or plain) text going mid-line: `_text_blocks` makes the start of each line plain."""
    return escape(text, newline=newline, starts_line=False)


def _is_part(value: Any) -> bool:
    return isinstance(
        value,
        m.Say
        | m.Fill
        | m.Person
        | m.Place
        | m.Link
        | m.Strong
        | m.Code
        | m.Quote
        | m.Join
        | m.Moment
        | m.Number
        | m.Percent,
    )


def _each_line(text: str, wrap: Callable[[str], str]) -> Markdown:
    """`wrap` around each line's words (emphasis does not cross a TextBlock), marks kept first."""
    out = []
    for line in text.split("\n"):
        marks = "".join(dict.fromkeys(c for c in line if c in (_QUOTE, _MONO)))
        words = _MARKS.sub("", line)
        if not words.strip():
            out.append(marks + words)
            continue
        lead = words[: len(words) - len(words.lstrip())]
        trail = words[len(words.rstrip()) :]
        out.append(marks + lead + wrap(words.strip()) + trail)
    return Markdown("\n".join(out))


def _ours(sentence: str, nonce: str, kept: Mapping[str, str]) -> Markdown:
    """A sentence of ours, written in Slack mrkdwn, as Teams markdown: its words escaped like
    typed text, its markup translated, the parts set aside put back."""
    markers = re.compile(f"\x00{nonce}\\d+\x00")

    def words(text: str) -> str:
        out: list[str] = []
        start = 0
        for found in markers.finditer(text):
            out.append(_frag(text[start : found.start()]))
            out.append(kept[found.group()])
            start = found.end()
        out.append(_frag(text[start:]))
        return "".join(out)

    out: list[str] = []
    start = 0
    for found in _MRKDWN.finditer(sentence):
        emoji = found.group("emoji")
        if emoji is not None and emoji not in _EMOJI:
            continue
        out.append(words(sentence[start : found.start()]))
        if found.group("bold") is not None:
            out.append(_each_line(words(found.group("bold")), lambda line: f"**{line}**"))
        elif found.group("italic") is not None:
            out.append(_each_line(words(found.group("italic")), lambda line: f"_{line}_"))
        elif found.group("strike") is not None:
            out.append(words(found.group("strike")))  # Teams cards draw no strike-through
        elif found.group("code") is not None:
            out.append(words(found.group("code")))  # nor inline code
        else:
            out.append(_EMOJI[found.group("emoji")])
        start = found.end()
    out.append(words(sentence[start:]))
    return Markdown("".join(out))


def _unmarked(sentence: str) -> str:
    """A sentence of ours as plain words: its mrkdwn markers dropped, its emoji drawn."""

    def plain(found: re.Match[str]) -> str:
        emoji = found.group("emoji")
        if emoji is not None:
            return _EMOJI.get(emoji, found.group())
        return next(g for g in found.groups() if g is not None)

    return _MRKDWN.sub(plain, sentence)


def _text_blocks(
    text: str, *, size: str | None = None, subtle: bool = False
) -> list[dict[str, Any]]:
    """The rendered lines as TextBlocks (a paragraph is its lines, set apart from what is above):
    a quote's lines in an emphasis Container, a code line in a monospace font, a blank line as
    wider spacing."""
    items: list[dict[str, Any]] = []
    quote: list[dict[str, Any]] | None = None
    gap = False
    for line in text.split("\n"):
        words = _MARKS.sub("", line)
        if not words.strip():
            gap = bool(items)
            quote = None if _QUOTE not in line else quote
            continue
        block: dict[str, Any] = {"type": "TextBlock", "text": line_start(words), "wrap": True}
        if _MONO in line:
            block["fontType"] = "Monospace"
        if size:
            block["size"] = size
        if subtle:
            block["isSubtle"] = True
        if _QUOTE in line:
            if quote is None:
                quote = []
                container = {"type": "Container", "style": "emphasis", "items": quote}
                container["spacing"] = "Medium" if gap or not items else "Small"
                items.append(container)
            else:
                block["spacing"] = "None"
            quote.append(block)
        else:
            quote = None
            block["spacing"] = ("Medium" if gap else "None") if items else "Medium"
            items.append(block)
        gap = False
    return items or [{"type": "TextBlock", "text": " ", "wrap": True}]


def _palette(png: bytes) -> bytes:
    """The PNG reduced to 32 colours (a chart has few): a quarter of the bytes."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        reduced = image.convert("RGB").quantize(colors=32)
        out = io.BytesIO()
        reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()
