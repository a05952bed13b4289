"""One KPI vocabulary: every figure named once per language, read one way, documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli, figures
from bot.i18n import catalogue_keys
from bot.kpis import CommunityKpis, ProgrammeKpis
from tests.catalogue import EN, FR

ROOT = Path(__file__).resolve().parent.parent


def test_docs_kpis_md_is_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["kpis", "docs"]) == 0
    generated = capsys.readouterr().out
    written = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert written == generated, "docs/kpis.md drifted: run `cop kpis docs --out docs/kpis.md`"
    for f in figures.FIGURES:
        assert f"| `{f.key}`" in written and FR(f.name_key) in written and EN(f.name_key) in written


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_figure_has_one_name_and_a_definition(language: str) -> None:
    keys = catalogue_keys(language)
    for f in figures.FIGURES:
        assert f.name_key in keys and f.definition_key in keys, f.key
    names = [FR(f.name_key) if language == "fr" else EN(f.name_key) for f in figures.FIGURES]
    assert len(set(names)) == len(names), "two figures share a name"


def test_each_figure_reads_from_the_kpis() -> None:
    programme = ProgrammeKpis(communities=2, members=9, members_unique=8, messages=3, replies=2)
    community = CommunityKpis(members=4, messages=3, replies=2)
    assert figures.read("members_unique", programme) == 8
    assert figures.read("members", programme) == 9
    assert figures.read("messages", programme) == 3  # replies apart, everywhere
    assert figures.read("members_unique", community) is None  # a programme-only figure
    assert figures.read("communities", community) is None
    for f in figures.FIGURES:
        f.read(programme), f.read(community)  # every reader runs on both scopes
