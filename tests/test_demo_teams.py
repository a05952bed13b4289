"""`cop demo --platform teams` as someone trying it sees it: the programme played in Microsoft
Teams (the Teams emulator and the real bot), each card printed as its reader reads it, in that
reader's language; and the card reader itself (bot/teams/emulator/reading.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.teams.emulator.reading import read_activity, read_card
from tests.catalogue import EN
from tests.test_demo import foreign_lines

pytestmark = pytest.mark.xdist_group("demo")


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COP_", "SLACK_", "TEAMS_")) or k == "COP_TEST_POSTGRES_URL"
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--platform", "teams", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_the_teams_demo_prints_the_help_card_in_each_readers_language(tmp_path: Path) -> None:
    result = demo(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    # Camille writes in French in the 1:1 chat, Alex in English in a channel
    assert "Camille Martin écrit « @cop aide » dans sa conversation privée avec @cop" in out
    assert "  │ Ce que vous pouvez faire avec @cop" in out
    assert "  │ @cop aide — cette liste" in out
    assert "  │ What you can do with @cop" in out
    assert f"  │ @cop health — {EN('teams.help.cmd.health')}" in out
    assert (tmp_path / "cop-demo.db").exists()


@pytest.mark.slow
def test_the_teams_demo_in_english_prints_no_french(tmp_path: Path) -> None:
    result = demo(tmp_path, "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "  │ What you can do with @cop" in result.stdout
    assert foreign_lines(result.stdout, "en") == []


def test_the_large_programme_is_refused_in_one_line(tmp_path: Path) -> None:
    result = demo(tmp_path, "--scale", "large")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cop: --scale large: the large programme is played in Slack only "
        "(cop demo --scale large, without --platform teams)"
    ]


def test_a_card_reads_as_teams_shows_it() -> None:
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "**Webinaire** du 3 mars", "weight": "Bolder"},
            # what a person typed, escaped once by the renderer: read as typed
            {"type": "TextBlock", "text": r"Apportez vos \*questions\* \<ici\>"},
            {"type": "FactSet", "facts": [{"title": "Lieu", "value": "Salle 2"}]},
            {"type": "TextBlock", "text": "caché", "isVisible": False},
            {
                "type": "ColumnSet",
                "columns": [
                    {"type": "Column", "items": [{"type": "TextBlock", "text": "12 inscrits"}]},
                    {"type": "Column", "items": [{"type": "TextBlock", "text": "3 absents"}]},
                ],
            },
            {"type": "Input.Text", "id": "title", "label": "Titre", "isRequired": True},
            {
                "type": "Input.ChoiceSet",
                "id": "rsvp",
                "label": "Venez-vous ?",
                "choices": [{"title": "Oui", "value": "y"}, {"title": "Non", "value": "n"}],
            },
        ],
        "actions": [{"type": "Action.Execute", "title": "Je viens", "verb": "rsvp"}],
    }
    assert read_card(card).splitlines() == [
        "Webinaire du 3 mars",
        "Apportez vos *questions* <ici>",
        "Lieu — Salle 2",
        "12 inscrits │ 3 absents",
        "Titre * : [____________]",
        "Venez-vous ? : ( Oui · Non )",
        "[ Je viens ]",
    ]
    text_only = {"type": "message", "text": "Seule **@cop aide** fonctionne"}
    assert read_activity(text_only) == "Seule @cop aide fonctionne"
