"""Translations (gettext catalogues fr/en, read with Babel) and locale-aware formatting.

Every user-facing sentence lives in the catalogues `<lang>/*.po` (one file per feature, merged
at load) under a stable key; code asks for `t("key", **params)`. Dates and numbers are
formatted with Babel for the locale.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

LANGUAGES = ("fr", "en")
_PLURAL = re.compile(r"\{(\w+)\|([^|{}]*)\|([^|{}]*)\}")
_HERE = Path(__file__).resolve().parent
_BABEL_LOCALE = {"fr": "fr_FR", "en": "en_GB"}


@cache
def _catalog(language: str) -> Catalog:
    """All the feature catalogues of one language, merged; a key defined twice is an error."""
    merged = Catalog(locale=language)
    for path in sorted((_HERE / language).glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=language):
                if not message.id:
                    continue
                if message.id in merged:
                    raise ValueError(
                        f"{path}: key {message.id!r} is already defined in another catalogue"
                    )
                merged.add(message.id, message.string)
    return merged


@cache
def _translations(language: str) -> Translations:
    buf = io.BytesIO()
    write_mo(buf, _catalog(language))
    buf.seek(0)
    return Translations(fp=buf)


def catalogue_keys(language: str) -> frozenset[str]:
    return frozenset(str(m.id) for m in _catalog(language) if m.id and m.string)


def language_of(locale: str | None, default: str = "fr") -> str:
    """fr-FR, fr_CA, en-US… → fr or en; anything else → the default."""
    if not locale:
        return default
    head = locale.replace("_", "-").split("-")[0].lower()
    return head if head in LANGUAGES else default


@dataclass(frozen=True, slots=True)
class Translator:
    """`t("key", name=...)` in one language, plus Babel formatting for it."""

    language: str

    def __call__(self, key: str, /, **params: Any) -> str:
        text = _translations(self.language).gettext(key)
        if text == key and self.language != "en":
            text = _translations("en").gettext(key)
        if not params:
            return text
        params = {name: self._shown(value) for name, value in params.items()}
        if "|" in text:
            text = _PLURAL.sub(lambda m: self._plural(m, params), text)
        return text.format(**params)

    def _shown(self, value: Any) -> Any:
        """A parameter from the domain written the language's way: an amount (Decimal) as
        « 100 000 000 » / "100,000,000", a day as "28 mars 2027", a wall-clock time as "03:00";
        anything else is left alone."""
        if isinstance(value, Decimal):
            return self.number(value, 2)
        if isinstance(value, datetime):
            return value  # a moment needs a zone to be shown: the caller formats it
        if isinstance(value, date):
            return self.date(value, "long")
        if isinstance(value, time):
            return format_time(value, format="short", locale=self.babel_locale)
        return value

    def _plural(self, match: re.Match[str], params: dict[str, Any]) -> str:
        """`{n|réponse|réponses}` picks the form for the count n by the language's plural rules."""
        name, one, other = match.groups()
        value = params.get(name)
        if isinstance(value, str):
            digits = re.sub(r"[^\d.]", "", value.replace(",", "."))
            value = float(digits) if digits.replace(".", "", 1).isdigit() else None
        if not isinstance(value, int | float):
            return other
        form = self.babel_locale.plural_form(
            abs(int(value)) if float(value).is_integer() else abs(value)
        )
        return one if form == "one" else other

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(_BABEL_LOCALE[self.language])

    def date(self, value: date, fmt: str = "long") -> str:
        return format_date(value, format=fmt, locale=self.babel_locale)

    def datetime(self, value: datetime, tz: str | None = None, fmt: str = "full_short") -> str:
        """A moment as people read it in their zone: 'mardi 3 décembre 2026 à 14:00 (Europe/Paris)'."""
        zone = ZoneInfo(tz) if tz else None
        local = value.astimezone(zone) if zone else value
        if fmt == "full_short":
            day = format_date(local, format="full", locale=self.babel_locale)
            hour = format_time(local, format="short", locale=self.babel_locale)
            return self("format.day_at_time", day=day, time=hour)
        return format_datetime(local, format=fmt, locale=self.babel_locale)

    def time(self, value: datetime, tz: str | None = None) -> str:
        local = value.astimezone(ZoneInfo(tz)) if tz else value
        return format_time(local, format="short", locale=self.babel_locale)

    def number(self, value: float | int | Decimal, digits: int = 1) -> str:
        if isinstance(value, int):
            return format_decimal(value, locale=self.babel_locale)
        return format_decimal(value, format=f"#,##0.{'#' * digits}", locale=self.babel_locale)

    def percent(self, ratio: float) -> str:
        # the locale's own pattern: « 33 % » in French (narrow no-break space), "33%" in English
        return format_percent(ratio, locale=self.babel_locale)


def translate(language: str | None) -> Translator:
    """The single entry point: a translator for `fr` or `en` (anything else → fr)."""
    return Translator(language_of(language))
