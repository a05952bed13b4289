"""Block Kit as plain text, the way a person would read it: for `cop demo` and the issue notes."""

from __future__ import annotations

import re
import textwrap
from typing import Any

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
# The shortcodes the bot writes, as Slack draws them; any other is left as typed.
EMOJI = {
    "calendar": "📆",
    "pencil2": "✏️",
    "busts_in_silhouette": "👥",
    "bar_chart": "📊",
    "warning": "⚠️",
    "wave": "👋",
    "sparkles": "✨",
    "lock": "🔒",
    "white_check_mark": "✅",
    "x": "❌",
    "thinking_face": "🤔",
    "tada": "🎉",
    "memo": "📝",
    "bulb": "💡",
    "chart_with_upwards_trend": "📈",
}


def _text(obj: Any, names: dict[str, str]) -> str:
    """As Slack shows it: mentions, links and channels read, then (mrkdwn only; plain_text is
    shown as is) the escaped `&lt;`, `&gt;`, `&amp;` back to what was typed."""
    if obj is None:
        return ""
    raw = obj.get("text", "") if isinstance(obj, dict) else str(obj)
    if isinstance(obj, dict) and obj.get("type") == "plain_text":
        return str(raw)
    raw = _MENTION.sub(lambda m: "@" + (m.group(2) or names.get(m.group(1), m.group(1))), raw)
    raw = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), raw)
    raw = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), raw)
    raw = _CHANNEL.sub(lambda m: "#" + (m.group(2) or names.get(m.group(1), m.group(1))), raw)
    return raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _element(el: dict[str, Any], names: dict[str, str]) -> str:
    kind = el.get("type")
    if kind == "button":
        return f"[ {_text(el.get('text'), names)} ]"
    if kind in {
        "static_select",
        "external_select",
        "overflow",
        "users_select",
        "multi_users_select",
    }:
        label = _text(el.get("placeholder"), names) or "…"
        return f"[ {label} ▾ ]"
    if kind in {"mrkdwn", "plain_text"}:
        return _text(el, names)
    if kind == "image":
        return f"(image: {el.get('alt_text', '')})"
    return f"[{kind}]"


def render_blocks(
    blocks: list[dict[str, Any]], *, names: dict[str, str] | None = None, width: int = 88
) -> str:
    names = names or {}
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"), names)
            out += [title, "=" * min(len(title), width)]
        elif kind == "section":
            if block.get("text"):
                for line in _text(block["text"], names).splitlines() or [""]:
                    out += textwrap.wrap(line, width) or [""]
            for field in block.get("fields") or []:
                out.append("  " + _text(field, names).replace("\n", " — "))
            if block.get("accessory"):
                out.append("  " + _element(block["accessory"], names))
        elif kind == "context":
            out.append("  " + " · ".join(_element(e, names) for e in block.get("elements", [])))
        elif kind == "actions":
            out.append("  " + " ".join(_element(e, names) for e in block.get("elements", [])))
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "input":
            label = _text(block.get("label"), names)
            element = block.get("element", {})
            initial = element.get("initial_value") or (element.get("initial_option") or {}).get(
                "text", {}
            ).get("text", "")
            out.append(
                f"{label} [ {initial or '____'} ]"
            )  # no colon: typography differs by language
        elif kind == "image":
            out.append(f"(chart: {block.get('alt_text', '')})")
        elif kind == "rich_text":
            out.append("(rich text)")
    return "\n".join(out)


def render_message(message: dict[str, Any], *, names: dict[str, str] | None = None) -> str:
    blocks = message.get("blocks")
    if isinstance(blocks, list) and blocks:
        return render_blocks(blocks, names=names)
    return _text(message, names or {})


def render_view(view: dict[str, Any], *, names: dict[str, str] | None = None) -> str:
    title = _text(view.get("title"), names or {})
    body = render_blocks(view.get("blocks", []), names=names)
    submit = _text(view.get("submit"), names or {})
    boxed = f"┌ {title} ┐\n" if title.strip() else ""  # a Home tab has no title
    return boxed + body + (f"\n[ {submit} ]" if submit else "")
