"""Every message exists in French and in English, and every key the code asks for exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from bot.i18n import catalogue_keys, language_of, reader_language, translate

ROOT = Path(__file__).resolve().parent.parent
# t("key" …) and t(f"prefix.{x}") in the code; keys are dotted lowercase ids.
LITERAL = re.compile(r"""\bt\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']""")
PREFIX = re.compile(r"""\bt\(\s*f["']([a-z][a-z0-9_.]*\.)\{""")
# keys raised by the domain: CopError("key") / InvalidInput("key", ...) / NotAllowed(f"permission.{...}")
RAISED = re.compile(
    r"""(?:Error|Input|Allowed|Found|Conflict)\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']"""
)


def code_files() -> list[Path]:
    return [p for d in ("bot", "handlers", "rituals") for p in (ROOT / d).rglob("*.py")]


def test_french_and_english_have_the_same_keys() -> None:
    fr, en = catalogue_keys("fr"), catalogue_keys("en")
    assert sorted(fr - en) == [], "in French only"
    assert sorted(en - fr) == [], "in English only"


def test_every_key_used_in_the_code_is_translated() -> None:
    keys = catalogue_keys("fr")
    missing: list[str] = []
    for path in code_files():
        text = path.read_text(encoding="utf-8")
        for key in LITERAL.findall(text) + RAISED.findall(text):
            if key not in keys:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
        for prefix in PREFIX.findall(text):
            if not any(k.startswith(prefix) for k in keys):
                missing.append(f"{path.relative_to(ROOT)}: {prefix}*")
    assert missing == []


def test_placeholders_match_between_languages() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for key in catalogue_keys("en"):
        en = set(placeholder.findall(translate("en")(key)))
        fr = set(placeholder.findall(translate("fr")(key)))
        assert en == fr, key


def test_locales_map_to_our_two_languages() -> None:
    assert language_of("fr-CA") == "fr"
    assert language_of("en_US") == "en"
    assert language_of("de-DE") == "fr"
    assert language_of(None, "en") == "en"


def test_a_person_is_answered_in_their_language_else_their_communitys_else_the_programmes() -> None:
    """One rule for Slack and Teams (bot.i18n.reader_language): a German client in an English
    community reads English; with no community, the programme's language."""
    pick = reader_language
    assert pick(person_locale="en-GB", community_language="fr", default="fr") == "en"
    assert pick(person_locale="de-DE", community_language="en", default="fr") == "en"
    assert pick(person_locale="de-DE", community_language=None, default="fr") == "fr"
    assert pick(person_locale=None, community_language="en", default="fr") == "en"


def test_dates_and_numbers_follow_the_locale() -> None:
    moment = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    assert translate("fr").datetime(moment, "Europe/Paris") == "jeudi 3 décembre 2026 à 14:00"
    assert translate("en").datetime(moment, "Europe/London") == "Thursday, 3 December 2026 at 13:00"
    assert translate("fr").number(1234.5) == "1\u202f234,5"
    assert translate("en").number(1234.5) == "1,234.5"


def test_plural_forms_follow_each_language() -> None:
    fr, en = translate("fr"), translate("en")
    assert (
        fr("health.row", name="X", status="s", active=1, members=1)
        == "*X* — s · 1 actif sur 1 membre"
    )
    assert (
        fr("health.row", name="X", status="s", active=0, members="1 234")
        == "*X* — s · 0 actif sur 1 234 membres"
    )
    assert (
        en("health.row", name="X", status="s", active=0, members=1)
        == "*X* — s · 0 active of 1 member"
    )
    assert (
        en("health.row", name="X", status="s", active=2, members="1,234")
        == "*X* — s · 2 active of 1,234 members"
    )
