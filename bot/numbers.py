"""Reading a whole number that came from outside (a button's value, a modal's field, a command
word, an environment variable): ASCII digits only, or nothing.

`str.isdigit()` and `int()` disagree, and both accept more than a number people typed in a
Slack field: `"²²²²".isdigit()` is true yet `int("²²²²")` raises (a 500 where a refusal was
due), `int("١٢")` reads Arabic-Indic digits as 12, `int(" 1_000 ")` reads 1000. Every number read
from a request goes through `whole`, so each caller only decides what None means for it: a field
error, or "not found" for ids that only a forger could have changed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from bot.errors import NotFound

_DIGITS = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_GROUPING = str.maketrans({",": ".", " ": None, "\u00a0": None, "\u202f": None})


def whole(raw: Any, *, max_digits: int = 9, signed: bool = False) -> int | None:
    """The integer `raw` spells in ASCII digits (surrounding spaces allowed; a leading minus when
    `signed`), at most `max_digits` long; None for anything else, including booleans."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        return None
    if not _DIGITS.fullmatch(text) or (text.startswith("-") and not signed):
        return None
    if len(text.lstrip("-")) > max_digits:
        return None
    return int(text)


def decimal(raw: Any) -> Decimal | None:
    """A positive amount as people type it ("12", "1 500", "3,5", "1e9"; French spaces and comma
    allowed) in ASCII digits; None for anything else (`Decimal()` alone would also read "١٢",
    "NaN", "Infinity", "-3" and "1_000")."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().translate(_GROUPING)
    return Decimal(text) if _DECIMAL.fullmatch(text) else None


ROW_ID_MAX = 2**31 - 1  # ids are 32-bit integers in the database


def row_id(raw: Any) -> int:
    """The id a button value or a modal's private_metadata carries. The platform sends back what
    we put there, so anything else (garbled, forged, of another type, out of range) is "not found"."""
    found = whole(raw, max_digits=10)
    if found is None or not 0 < found <= ROW_ID_MAX:
        raise NotFound("error.not_found")
    return found
