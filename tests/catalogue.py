"""Which message the user gets, named by its catalogue key rather than sniffed by its words.

`assert FR("event.created", title=..., when=...) in text` states the message and fails if
another one is shown. When the test does not pin a parameter (a date, a time of day), pass
`ANY` for it and use `shows(text, FR, key, ...)`: the rest of the sentence must match exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.i18n import Translator, translate

FR, EN = translate("fr"), translate("en")
ANY = "\x00"  # stands for a parameter value the test does not pin


def pattern(t: Translator, key: str, /, **params: Any) -> re.Pattern[str]:
    """The message `key` as a pattern, each ANY parameter matching some text on one line."""
    parts = t(key, **params).split(ANY)
    return re.compile(r"[^\n]+?".join(re.escape(p) for p in parts))


def shows(text: str, t: Translator, key: str, /, **params: Any) -> bool:
    """True when `text` contains the message `key` of `t`'s catalogue with these parameters."""
    return pattern(t, key, **params).search(text) is not None


def in_json(message: str) -> str:
    """A message as it appears inside `json.dumps(blocks, ensure_ascii=False)`."""
    return json.dumps(message, ensure_ascii=False)[1:-1]


def shows_in_json(text: str, t: Translator, key: str, /, **params: Any) -> bool:
    """`shows` for a text that is `json.dumps(blocks, ensure_ascii=False)`."""
    parts = t(key, **params).split(ANY)
    found = r'[^"]+?'.join(re.escape(in_json(p)) for p in parts)  # within one string
    return re.search(found, text) is not None
