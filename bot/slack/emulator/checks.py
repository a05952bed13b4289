"""What Slack parses in a text, and the Block Kit checks Slack applies before it accepts a
payload."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

_MSG_MAX_BLOCKS, _VIEW_MAX_BLOCKS = 50, 100  # a message's blocks, a view's

Json = dict[str, Any]


# --------------------------------------------------------------------------- what Slack parses

# In mrkdwn Slack reads any `<…>` as markup: a broadcast (<!channel>, <!here>, <!everyone>), a
# group or a person (<!subteam^S…>, <@U…>), a channel (<#C…>), a date, or a link (<url|label>).
_PARSED = re.compile(r"<[^<>]*>")
# Where a sent text is mrkdwn: a message's top-level text, a file's comment, mrkdwn objects.
_MRKDWN_PARAMS = ("text", "initial_comment")
SENDING_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.scheduleMessage",
        "response_url",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
        "files.completeUploadExternal",
    }
)


def mrkdwn_texts(params: Any) -> list[str]:
    """The texts Slack would parse for mentions and links in a call's parameters: its top-level
    `text` (or a file's `initial_comment`) and every mrkdwn text object in blocks, attachments or a
    view. plain_text objects are left out: Slack shows them as typed."""
    found: list[str] = []
    if isinstance(params, dict):
        for key in _MRKDWN_PARAMS:
            if isinstance(params.get(key), str):
                found.append(params[key])

    def walk(obj: Any) -> None:
        if isinstance(obj, str) and obj.strip()[:1] in {"[", "{"}:
            with contextlib.suppress(ValueError):
                walk(json.loads(obj))
        elif isinstance(obj, dict):
            if obj.get("type") == "mrkdwn":
                found.append(str(obj.get("text") or ""))
            for key, value in obj.items():
                if key not in _MRKDWN_PARAMS or not isinstance(value, str):
                    walk(value)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)

    walk(params)
    return found


def parsed_sequences(text: str) -> list[str]:
    """Each `<…>` Slack would read as a mention, a broadcast, a channel or a link."""
    return _PARSED.findall(text)


# --------------------------------------------------------------------------- Block Kit checks


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def _check_elements(obj: Any, path: str, errors: list[str]) -> None:
    """Walk nested elements for limits slack_sdk's models don't (all) enforce."""
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            _check_elements(item, f"{path}/{i}", errors)
        return
    if not isinstance(obj, dict):
        return
    if obj.get("type") == "button":
        if len(_text_of(obj.get("text"))) > 75:
            errors.append(
                f"[ERROR] must be less than 76 characters [json-pointer:{path}/text/text]"
            )
        if len(str(obj.get("value", ""))) > 2000:
            errors.append(f"[ERROR] must be less than 2001 characters [json-pointer:{path}/value]")
    if len(str(obj.get("action_id", ""))) > 255:
        errors.append(f"[ERROR] must be less than 256 characters [json-pointer:{path}/action_id]")
    if isinstance(obj.get("options"), list) and len(obj["options"]) > 100:
        errors.append(f"[ERROR] no more than 100 items allowed [json-pointer:{path}/options]")
    for key, value in obj.items():
        if isinstance(value, dict | list) and key not in {"text", "title"}:
            _check_elements(value, f"{path}/{key}", errors)


def validate_blocks(
    blocks: Any, *, limit: int = _MSG_MAX_BLOCKS, root: str = "/blocks"
) -> list[str]:
    """Return Slack-style ``[ERROR] ...`` messages for an invalid block list (empty if valid)."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{root}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{root}]")
    seen: set[str] = set()
    for i, raw in enumerate(blocks):
        path = f"{root}/{i}"
        if not isinstance(raw, dict):
            errors.append(f"[ERROR] must be an object [json-pointer:{path}]")
            continue
        try:
            block = Block.parse(raw)
            if block is None:
                errors.append(
                    f"[ERROR] unsupported type: {raw.get('type')!r} [json-pointer:{path}]"
                )
                continue
            block.to_dict()  # runs validate_json() on the block and every nested object
        except SlackObjectFormationError as exc:
            errors.append(f"[ERROR] {exc} [json-pointer:{path}]")
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            errors.append(f"[ERROR] invalid block ({exc}) [json-pointer:{path}]")
        block_id = raw.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(
                    f"[ERROR] must be less than 256 characters [json-pointer:{path}/block_id]"
                )
            if block_id in seen:
                errors.append(
                    f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{path}/block_id]"
                )
            seen.add(block_id)
        kind = raw.get("type")
        if kind == "section" and len(_text_of(raw.get("text"))) > 3000:
            errors.append(
                f"[ERROR] must be less than 3001 characters [json-pointer:{path}/text/text]"
            )
        if kind == "header" and len(_text_of(raw.get("text"))) > 150:
            errors.append(
                f"[ERROR] must be less than 151 characters [json-pointer:{path}/text/text]"
            )
        _check_elements(raw, path, errors)
    return list(dict.fromkeys(errors))


def validate_view(view: Any) -> list[str]:
    """Return Slack-style error messages for an invalid modal/home view (empty if valid)."""
    if not isinstance(view, dict):
        return ["[ERROR] must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") not in {"modal", "home"}:
        errors.append("[ERROR] must be 'modal' or 'home' [json-pointer:/view/type]")
    try:
        View(**view).validate_json()
    except SlackObjectFormationError as exc:
        errors.append(f"[ERROR] {exc} [json-pointer:/view]")
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        errors.append(f"[ERROR] invalid view ({exc}) [json-pointer:/view]")
    if view.get("type") == "modal" and not _text_of(view.get("title")):
        errors.append("[ERROR] missing required field: title [json-pointer:/view/title]")
    for key in ("title", "submit", "close"):
        if len(_text_of(view.get(key))) > 24:
            errors.append(
                f"[ERROR] must be less than 25 characters [json-pointer:/view/{key}/text]"
            )
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        if len(str(view.get(key) or "")) > limit:
            errors.append(
                f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{key}]"
            )
    blocks = view.get("blocks", [])
    errors += validate_blocks(blocks, limit=_VIEW_MAX_BLOCKS, root="/view/blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if view.get("type") == "modal" and has_input and not view.get("submit"):
        errors.append(
            "[ERROR] submit is required when input blocks are present [json-pointer:/view]"
        )
    return list(dict.fromkeys(errors))
