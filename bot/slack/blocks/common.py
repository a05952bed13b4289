"""Block Kit pieces every leaders' screen uses: mrkdwn sections, context notes, headers, JSON.

Slack's limits live here once (header 150 characters, section text 3,000, a view 100 blocks),
so the screens cannot each get them slightly wrong.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.errors import NotFound
from bot.slack.echo import Mrkdwn, mrkdwn
from bot.slack.text import typed

HEADER_MAX = 150
SECTION_MAX = 3000
VIEW_MAX_BLOCKS = 100
_CHUNK = 2800  # room under SECTION_MAX for a translator's longer wording


def header(text: str) -> HeaderBlock:
    """A header is plain_text: Slack shows it as typed, so it takes the raw text (escaped
    Mrkdwn would show `&lt;`)."""
    if isinstance(text, Mrkdwn):
        raise TypeError("a header is plain_text: give it the raw text, not Mrkdwn")
    return HeaderBlock(text=text[:HEADER_MAX])


def section(text: str, *, accessory: Any = None, block_id: str | None = None) -> SectionBlock:
    """A mrkdwn section, cut to Slack's limit (a long description cannot break a message).
    Plain text is escaped whole (bot.slack.echo): build sentences with markup of ours
    (mentions, links) with `say`/`md`."""
    return SectionBlock(text=mrkdwn(text, SECTION_MAX), accessory=accessory, block_id=block_id)


def note(text: str) -> ContextBlock:
    """Small grey text under a block: hints, zone notes, versions, counts."""
    return ContextBlock(elements=[mrkdwn(text)])


def sections_of_lines(rows: list[str]) -> list[Block]:
    """Many short lines as few sections as possible, each under Slack's text limit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for row in rows:
        if chunk and sum(len(r) + 1 for r in chunk) + len(row) > _CHUNK:
            blocks.append(section(Mrkdwn("\n").join(chunk)))
            chunk = []
        chunk.append(row)
    if chunk:
        blocks.append(section(Mrkdwn("\n").join(chunk)))
    return blocks


def blocks_json(blocks: list[Any]) -> list[dict[str, Any]]:
    """slack_sdk block objects (or dicts already) as the JSON the Web API takes."""
    return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]


def modal_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The ids a modal carries in private_metadata (community "c", event "e"); read them with
    `bot.numbers.row_id`. Metadata that is not ours (garbled, forged) is "not found"."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        raise NotFound("error.not_found") from None
    if not isinstance(meta, dict):
        raise NotFound("error.not_found")
    return meta


def input_values(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    """One input's entry in view.state.values ({} when Slack left it out); a typed value comes
    without NUL characters (no database stores them)."""
    values = view.get("state", {}).get("values", {})
    found = values.get(block_id, {}).get(action_id, {}) or {}
    if isinstance(found.get("value"), str):
        found = {**found, "value": typed(found["value"])}
    return found
