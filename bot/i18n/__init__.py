"""Translations (gettext catalogues fr/en, read with Babel) and locale-aware formatting.

Every user-facing sentence lives in the catalogues `<lang>/*.po` (one file per feature, merged
at load) under a stable key; code asks for `t("key", **params)`. Dates and numbers are
formatted with Babel for the locale.

This is the one home of the words and numbers people notice, so that every surface (Home,
/cop health, DMs, the value report, charts, exports) gets them the same way: thousands
separators (`number`, also on chart axes), « 1er octobre » (`date`), plurals by the language's
rules (`{n|one|other}`, with an optional zero form `{n|none|one|other}` for « aucun »),
French elision of a name after « de » (« d'Agilité »), units of value as words (`unit`), names
in the language's alphabetical order (`sort_key`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from bot import periods

LANGUAGES = ("fr", "en")
# {n|one|other}, or {n|zero|one|other} when nought reads differently (« aucun membre actif »)
# (a form may hold the placeholders themselves: « {n|aucun membre|{n} membre|{n} membres} »)
_FORM = r"((?:[^|{}]|\{\w+\})*)"
_PLURAL = re.compile(rf"\{{(\w+)\|{_FORM}\|{_FORM}(?:\|{_FORM})?\}}")
# « de {name} » / « de *{name}* » in a French sentence: « d'Agilité », « d'*Énergie* »
_ELIDABLE = re.compile(r"\b([Dd]e|[Qq]ue) ([*_«\u00a0 ]{0,3})\{(\w+)\}")
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿœæAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸŒÆ")
# a unit stored under another spelling (imports, older data) still reads as the word
UNIT_ALIASES = {
    "eur": "euros",
    "euro": "euros",
    "€": "euros",
    "hour": "hours",
    "h": "hours",
    "quality_pct": "quality",
    "pct": "quality",
    "customer": "customers",
    "clients": "customers",
}
_T = TypeVar("_T")
_NAMED = frozenset({"short", "medium", "long", "full"})
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


def reader_language(
    *, person_locale: str | None, community_language: str | None, default: str
) -> str:
    """The language a person is answered in, on every platform: their own client's (Slack's
    locale, Teams' activity locale) when we speak it, else their community's, else the
    programme's."""
    fallback = community_language or default
    return language_of(person_locale, fallback) if person_locale else fallback


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
        if self.language == "fr" and "{" in text:
            text = _ELIDABLE.sub(lambda m: self._elided(m, params), text)
        return text.format(**params)

    @staticmethod
    def _elided(match: re.Match[str], params: dict[str, Any]) -> str:
        """« de {name} » becomes « d'{name} » when the name starts with a vowel (« d'Agilité »);
        a leading h is left alone, since an aspirated h does not elide (« de Hugo » is fine)."""
        word, marks, name = match.groups()
        value = str(params.get(name, ""))
        if value[:1] in _VOWELS:
            return f"{word[0]}'{marks.strip()}{{{name}}}"
        return match.group(0)

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
        if isinstance(value, periods.Window):
            return self.period(value)
        return value

    def _plural(self, match: re.Match[str], params: dict[str, Any]) -> str:
        """`{n|réponse|réponses}` picks the form for the count n by the language's plural rules;
        `{n|aucun membre actif|membre actif|membres actifs}` has its own words for nought, which
        then replace the number too (« aucun membre actif », not « 0 membre actif »)."""
        name, first, second, third = match.groups()
        zero, one, other = (first, second, third) if third is not None else (None, first, second)
        value = params.get(name)
        if isinstance(value, str):
            digits = re.sub(r"[^\d.]", "", value.replace(",", "."))
            value = float(digits) if digits.replace(".", "", 1).isdigit() else None
        if not isinstance(value, int | float):
            return other
        if zero is not None and value == 0:
            return zero
        form = self.babel_locale.plural_form(
            abs(int(value)) if float(value).is_integer() else abs(value)
        )
        return one if form == "one" else other

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(_BABEL_LOCALE[self.language])

    def date(self, value: date, fmt: str = "long") -> str:
        """« 1er octobre 2026 » in French (the first of a month is an ordinal), "1 October 2026"."""
        if self.language == "fr" and value.day == 1:
            pattern = self.babel_locale.date_formats[fmt].pattern if fmt in _NAMED else fmt
            if "dd" not in pattern:
                fmt = re.sub(r"(?<![d'])d(?!d)", "d'er'", pattern, count=1)
        return format_date(value, format=fmt, locale=self.babel_locale)

    def datetime(
        self,
        value: datetime,
        tz: str | None = None,
        fmt: str = "full_short",
        *,
        with_zone: bool = False,
    ) -> str:
        """A moment as people read it in their zone: 'mardi 3 décembre 2026 à 14:00', and with
        `with_zone` ' (Europe/Paris)' after it — for a message read away from any screen that
        says which zone its times are in (a reminder, a welcome, a poll's closing time)."""
        zone = ZoneInfo(tz) if tz else None
        local = value.astimezone(zone) if zone else value
        if fmt == "full_short":
            day = self.date(local.date(), "full")
            hour = format_time(local, format="short", locale=self.babel_locale)
            text = self("format.day_at_time", day=day, time=hour)
        else:
            text = format_datetime(local, format=fmt, locale=self.babel_locale)
        return f"{text} ({tz})" if with_zone and tz else text

    def period(self, window: periods.Window, *, short: bool = False) -> str:
        """A calendar period as people say it: « T4 2026 », « novembre 2026 », « semaine 48 de
        2026 »; "Q4 2026", "November 2026" (`short`: « nov. 2026 », for a chart's axis). The
        machine label (2026-Q4) stays for file names and the `--period` option."""
        start = window.start
        if window.period == periods.Period.QUARTER:
            return self("format.quarter", quarter=(start.month - 1) // 3 + 1, year=start.year)
        if window.period == periods.Period.MONTH:
            return format_date(start, "LLL y" if short else "LLLL y", locale=self.babel_locale)
        if window.period == periods.Period.YEAR:
            return str(start.year)
        if window.period == periods.Period.WEEK:
            iso = start.isocalendar()
            return self("format.week", week=iso.week, year=iso.year)
        return self.date(start)

    def listing(self, items: Sequence[str]) -> str:
        """« A, B et C », "A, B and C"."""
        return format_list(list(items), locale=self.babel_locale) if items else ""

    def time(self, value: dt.datetime, tz: str | None = None) -> str:
        local = value.astimezone(ZoneInfo(tz)) if tz else value
        return format_time(local, format="short", locale=self.babel_locale)

    def number(self, value: float | int | Decimal, digits: int = 1) -> str:
        if isinstance(value, int):
            return format_decimal(value, locale=self.babel_locale)
        return format_decimal(value, format=f"#,##0.{'#' * digits}", locale=self.babel_locale)

    def whole(self, value: float | int | Decimal) -> str:
        """A score people read as a whole number (eNPS 40, not 40.0), with its separators."""
        return format_decimal(round(value), locale=self.babel_locale)

    def unit(self, unit: str) -> str:
        """The unit of a story's value as a word of the reader's language (« heures gagnées »,
        "customers"), never its key; a unit the catalogue does not know is shown as typed."""
        key = UNIT_ALIASES.get(unit.strip().lower(), unit.strip().lower())
        label = self(f"stories.unit.{key}")
        return unit if label == f"stories.unit.{key}" else label

    def value(self, amount: float | Decimal, unit: str, *, averaged_over: int | None = None) -> str:
        """A quantified value in words: « 1 200 heures gagnées »; a percentage-like unit, which
        is averaged and never summed, says so with its n: « 12 points de qualité en moyenne
        (3 histoires) »."""
        if averaged_over is None:
            return f"{self.number(amount)} {self.unit(unit)}"
        return self(
            "stories.value_average",
            amount=self.number(amount),
            unit=self.unit(unit),
            stories=self.number(averaged_over),
        )

    def sort_key(self, name: str) -> tuple[str, str]:
        return collation_key(name)

    def sorted(self, items: Iterable[_T], key: Callable[[_T], str] = str) -> list[_T]:
        return sorted(items, key=lambda item: self.sort_key(key(item)))

    def axis_number(self, value: float, _position: object = None) -> str:
        """A chart tick written like every other number (« 1 200 », "1,200"): a matplotlib
        FuncFormatter takes this as it is."""
        if float(value).is_integer():
            return self.number(int(value))
        return self.number(value, 1)

    def percent(self, ratio: float) -> str:
        # the locale's own pattern: « 33 % » in French (narrow no-break space), "33%" in English
        return format_percent(ratio, locale=self.babel_locale)


def collation_key(name: str) -> tuple[str, str]:
    """Alphabetical order as French and English readers expect it: accents and case only break
    ties (« Énergie » before « UX », « éco » beside « eco »), not Unicode code points (which
    put every accented capital after Z). The same in both languages, so one list has one order."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    base = "".join(c for c in folded if not unicodedata.combining(c))
    return (base, name)


def translate(language: str | None) -> Translator:
    """The single entry point: a translator for `fr` or `en` (anything else → fr)."""
    return Translator(language_of(language))
