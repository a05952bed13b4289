"""Text people typed, shown in Teams exactly as typed: the one guard for Adaptive Card text.

Every `TextBlock.text` (and `Fact.title` / `Fact.value`) of an Adaptive Card is read by Teams as
a subset of CommonMark: `**bold**`, `_italic_` (and `*italic*`), lists (`- item`, `1. item`, at
the start of a line), links `[label](url)`; headers, tables, images, block quotes, strike-through
and inline code are documented as unsupported, but a client may still eat the markers (backticks
vanish, people report); HTML is not rendered (learn.microsoft.com, Teams platform,
task-modules-and-cards/cards/cards-format; Adaptive Cards "text features"). Mentions are
`<at>Name</at>` in the text *plus* an `msteams.entities` mention naming that exact text: a
mention notifies only when an entity backs it, but the text is matched literally, so typed
`<at>…</at>` must not stay intact beside one of ours.

`escape` neutralises all of that with CommonMark backslash escapes, which Teams honours (its
renderers are CommonMark-based; Teams mobile fixed their last escape bug in 2023,
microsoft/Teams-AdaptiveCards-Mobile#58): every `\\ * _ [ ] < > ` ~ & #` gets a backslash, and a
list or heading marker at the start of a line too (`- `, `+ `, `= `, `1. `, `1) `), so
`**gras**`, `[lien](https://evil)`, `<at>Tous</at>`, `_x_`, `# titre`, `- item` and HTML all show
as typed and `<at>` never becomes a mention. A line's leading
spaces become no-break spaces (four spaces would start a code block). Control characters (NUL, the renderer's own line
marks) are dropped. Teams makes a line break of `\\n\\n` only ("If you require newlines elsewhere
in the TextBlock, use \\n\\n"): `escape` writes a typed line break that way unless told otherwise.

`Markdown` marks text that is already safe (our markup around escaped typed text): `escape`
lets it through unchanged, so nothing is escaped twice, and adding plain text to it escapes that
text. Use `escape` for every piece of typed text that goes into a TextBlock or a Fact; Action
titles, input labels and placeholders are plain text (never parsed) and take the raw words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# CommonMark escapes any ASCII punctuation; these are the ones Teams' subset (or a client's
# CommonMark) can read as markup: emphasis, links, code, strike, entities, headings, raw <tags>.
_SPECIAL = re.compile(r"([\\`*_\[\]<>~&#])")
# at the start of a line: a list item, a setext underline, an ordered item (« 1. », « 1) »)
_LINE_START = re.compile(r"^(\s*)([-+=])|^(\s*\d{1,9})([.)])")  # \s: no-break spaces too
# control characters (Cc) but the tab; line breaks are handled apart
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Markdown(str):
    """Adaptive Card markdown safe to send as is. Adding plain text escapes that text."""

    __slots__ = ()

    def __add__(self, other: str) -> Markdown:
        return Markdown(str.__add__(self, escape(other)))

    def __radd__(self, other: str) -> Markdown:
        return Markdown(str.__add__(escape(other), self))

    def join(self, parts: Iterable[str]) -> Markdown:
        return Markdown(str.join(self, (escape(p) for p in parts)))


def escape(text: object, *, newline: str = "\n\n", starts_line: bool = True) -> Markdown:
    """Text a person typed (or any plain text), as TextBlock markdown that shows it as typed;
    Markdown is left alone. A typed line break becomes `newline` (Teams' `\\n\\n` by default).
    `starts_line=False` says the text goes mid-line (a fragment of a sentence): whoever puts the
    line together calls `line_start` on it."""
    if isinstance(text, Markdown):
        return text
    raw = "" if text is None else str(text)
    lines = _CONTROL.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    escaped = [_SPECIAL.sub(r"\\\1", line) for line in lines]
    return Markdown(
        newline.join(
            line_start(line) if starts_line or index else line for index, line in enumerate(escaped)
        )
    )


def line_start(line: str) -> str:
    """The start of a TextBlock's line made plain: a list or heading marker escaped (`- `, `+ `,
    `= `, `1. `, `1) `), leading spaces as no-break spaces, which show the same and which markdown
    does not count (four spaces would start a code block)."""
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)].replace("\t", "    ").replace(" ", "\u00a0")
    return _LINE_START.sub(
        lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}",
        lead + body,
        count=1,
    )
