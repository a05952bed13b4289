"""An Adaptive Card as a person reads it in Teams, in plain text: for `cop demo --platform teams`
and for tests that assert what a reader sees.

What shows is what Teams shows: the text blocks, the facts ("title — value"), the columns side
by side, an image by its alternative text (🖼), the inputs with their label and choices (● the one
chosen), and the buttons as [ title ]. Markdown is read as Teams renders it:
**bold** loses its stars, a backslash-escaped character (what bot/teams/render.py writes for
text people typed) shows as the character itself.
"""

from __future__ import annotations

import re
from typing import Any

Json = dict[str, Any]

_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# _italic_ (not an escaped \_, not inside a word: snake_case stays as it is)
_ITALIC = re.compile(r"(?<![\\\w])_(?=\S)(.+?)(?<=[^\s\\])_(?!\w)")
# [words](address); an escaped \[ is no link (what a person typed, shown as typed)
_LINK = re.compile(r"(?<!\\)\[((?:[^\]\\]|\\.)+)(?<!\\)\]\(([^)]+)\)")
_PARAGRAPH = re.compile(r"\n\s*\n")


def markdown(text: str) -> str:
    """Adaptive Card markdown as a reader sees it: a link by its words (and its address, when
    they are not the address itself), bold and italics without their marks, paragraphs as
    lines (every line of the card is a paragraph already)."""
    text = _LINK.sub(lambda m: _link(m.group(1), m.group(2)), text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _PARAGRAPH.sub("\n", text)
    return _ESCAPED.sub(r"\1", text)


def _link(words: str, address: str) -> str:
    return words if _ESCAPED.sub(r"\1", words) == address else f"{words} <{address}>"


def read_card(card: Json) -> str:
    """The card's lines: its body, then its actions."""
    lines = _elements(card.get("body") or [])
    buttons = _buttons(card.get("actions") or [])
    return "\n".join([*lines, *([buttons] if buttons else [])])


def read_activity(activity: Json) -> str:
    """A message the bot posted: each Adaptive Card read, or its text when it has none."""
    cards = [
        a.get("content") or {}
        for a in activity.get("attachments") or []
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
    ]
    if cards:
        return "\n\n".join(read_card(c) for c in cards)
    return markdown(str(activity.get("text") or ""))


def _elements(elements: list[Json]) -> list[str]:
    lines: list[str] = []
    for element in elements:
        if element.get("isVisible") is False:
            continue
        lines += _element(element)
    return lines


def _element(element: Json) -> list[str]:
    kind = element.get("type")
    if kind == "TextBlock":
        return [markdown(str(element.get("text") or ""))]
    if kind == "RichTextBlock":
        return [
            "".join(
                str(i.get("text", i) if isinstance(i, dict) else i)
                for i in element.get("inlines") or []
            )
        ]
    if kind == "FactSet":
        return [
            f"{markdown(str(f.get('title', '')))} — {markdown(str(f.get('value', '')))}"
            for f in element.get("facts") or []
        ]
    if kind in ("Container", "Column"):
        return _elements(element.get("items") or [])
    if kind == "ColumnSet":
        return [
            " │ ".join(
                " ".join(_elements(c.get("items") or [])) for c in element.get("columns") or []
            )
        ]
    if kind == "Image":
        return [f"🖼 {element.get('altText') or 'image'}"]
    if kind == "ImageSet":
        return [f"🖼 {i.get('altText') or 'image'}" for i in element.get("images") or []]
    if kind == "ActionSet":
        buttons = _buttons(element.get("actions") or [])
        return [buttons] if buttons else []
    if kind == "Table":
        return [
            " │ ".join(
                " ".join(_elements(cell.get("items") or [])) for cell in row.get("cells") or []
            )
            for row in element.get("rows") or []
        ]
    if isinstance(kind, str) and kind.startswith("Input."):
        return [_input(element)]
    return []


def _input(element: Json) -> str:
    label = markdown(str(element.get("label") or element.get("placeholder") or element.get("id")))
    required = " *" if element.get("isRequired") else ""
    if element.get("type") == "Input.ChoiceSet":
        chosen = set(str(element.get("value") or "").split(","))
        choices = " · ".join(
            ("● " if str(c.get("value")) in chosen else "") + str(c.get("title", ""))
            for c in element.get("choices") or []
        )
        return f"{label}{required} : ( {choices} )"
    if element.get("type") == "Input.Toggle":
        return f"[ ] {markdown(str(element.get('title') or label))}"
    value = element.get("value")
    return f"{label}{required} : [{value if value else '_' * 12}]"


def _buttons(actions: list[Json]) -> str:
    return "  ".join(f"[ {a.get('title', '')} ]" for a in actions if a.get("title"))
