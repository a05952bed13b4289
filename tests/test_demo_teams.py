"""`cop demo --platform teams` as someone trying it sees it: the programme played in Microsoft
Teams (the Teams emulator and the real bot), each card printed as its reader reads it, in that
reader's language; and the card reader itself (bot/teams/emulator/reading.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.teams.emulator.reading import markdown, read_activity, read_card
from tests.catalogue import ANY, EN, FR, shows
from tests.test_demo import foreign_lines

pytestmark = pytest.mark.xdist_group("demo")
TITLE = "Webinaire : MLOps en production"  # the event Camille plans (bot/demo/cast.py)


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


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run of the demo as it starts by default (--lang both), read by the tests below."""
    folder = tmp_path_factory.mktemp("teams-demo")
    return demo(folder), folder


def section(out: str, number: int) -> str:
    """The demo's step `number` (its title line to the next step's)."""
    start = out.index(f"\n{number}. ")
    end = out.find(f"\n{number + 1}. ", start)
    return out[start : end if end >= 0 else None]


def after(text: str, line: str) -> str:
    """What `text` shows after the narration `line` (to the next narration)."""
    start = text.index(f"▶ {line}") + len(line) + 2
    end = text.find("\n▶ ", start)
    return text[start : end if end >= 0 else None]


@pytest.mark.slow
def test_the_teams_demo_prints_the_help_card_in_each_readers_language(
    both: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, folder = both
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    # Camille writes in French in the 1:1 chat, Alex in English in a channel
    assert "Camille Martin écrit « @cop aide » dans sa conversation privée avec @cop" in out
    assert "  │ Ce que vous pouvez faire avec @cop" in out
    assert "  │ @cop aide — cette liste" in out
    assert "  │ What you can do with @cop" in out
    assert f"  │ @cop health — {EN('teams.help.cmd.health')}" in out
    assert (folder / "cop-demo.db").exists()


@pytest.mark.slow
def test_the_leader_writes_the_charter_and_plans_an_event_members_answer_on_its_card(
    both: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = both
    assert result.returncode == 0, result.stderr
    charter = section(result.stdout, 2)
    # the dialog opens from the card's button, and what Camille wrote is posted in the channel
    assert FR("demo.teams.dialog_opens", title=FR("charter.modal_title")) in charter
    posted = after(charter, FR("demo.teams.posted_channel", channel="Data"))
    assert "  │ Faire progresser ensemble la pratique de la data science dans le groupe." in posted

    event = section(result.stdout, 3)
    # a date in the past: said in the dialog, which stays open with what was typed
    sent_back = after(event, FR("demo.teams.dialog_again"))
    assert f"  │ {FR('event.in_the_past')}" in sent_back
    assert f"  │ Titre * : [{TITLE}]" in sent_back
    closed = after(event, FR("demo.teams.dialog_closes"))
    assert shows(closed, FR, "teams.event.created", title=TITLE, when=ANY)

    def counts(t: Any, going: int, maybe: int, declined: int) -> str:
        items = [("✅", "going", going), ("🤔", "maybe", maybe), ("❌", "declined", declined)]
        return "   ".join(
            t("event.count_item", emoji=e, label=t(f"event.rsvp.{a}"), count=n) for e, a, n in items
        )

    announced = after(event, FR("demo.teams.posted_channel", channel="Data"))
    assert f"  │ {counts(FR, 0, 0, 0)}" in announced
    # Alex reads English: his own copy of the card, in his language, says his answer
    own = event[event.index("▶ Alex Durand") :]
    saved = markdown(EN("teams.event.rsvp_saved.going", title=TITLE, when=ANY))
    assert saved.split(ANY)[0] in own
    # Lou changes her mind; the channel's card, updated in place, counts each answer once
    updated = after(event, FR("demo.teams.event.updated", channel="Data"))
    assert f"  │ {counts(FR, 2, 1, 0)}" in updated
    assert "[ ✅ J'y serai ]" in updated


@pytest.mark.slow
def test_the_pulse_reaches_each_member_and_its_results_follow_the_disclosure_rule(
    both: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = both
    assert result.returncode == 0, result.stderr
    pulse = section(result.stdout, 4)
    assert FR("demo.teams.pulse.delivered", count=5, total=5) in pulse
    assert f"  │ {FR('polls.title', community='Data Science')}" in pulse
    assert f"  │ {EN('polls.title', community='Data Science')}" in pulse  # Alex's, in English
    closing = FR("demo.teams.pulse.results", who="Camille Martin", answers=3, min=5)
    results = after(pulse, closing)
    # every member scored the first question: its mean shows; three answered the second: hidden
    assert FR("polls.results_mean", mean="4,2", answers="5").replace("*", "") in results
    assert markdown(FR("polls.question_too_few", answers="3", min="5")) in results


@pytest.mark.slow
def test_a_member_tells_a_story_and_the_manager_sees_the_programme(
    both: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = both
    assert result.returncode == 0, result.stderr
    story = section(result.stdout, 5)
    assert f"  │ {FR('stories.thanks')}" in after(story, FR("demo.teams.dialog_closes"))
    talk = section(result.stdout, 6)
    assert FR("demo.teams.talk.happens", posts=4, replies=3, reactions=2) in talk
    health = section(result.stdout, 7)
    # the channel's life counted, each message once (the first post was delivered twice)
    assert "Échanges : 4 messages, 3 réponses, 2 réactions" in health
    # the manager, named by her Entra object id, gets the overview in her 1:1 chat
    assert FR("demo.teams.writes_personal", who="Inès Moreau", command="santé") in health
    assert f"  │ {FR('health.title_programme', name='Communautés de pratique')}" in health
    assert "  │ Data Science — 🐣" in health


@pytest.mark.slow
def test_the_teams_demo_in_english_prints_no_french(tmp_path: Path) -> None:
    result = demo(tmp_path, "--lang", "en")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "  │ What you can do with @cop" in out
    assert f"  │ {EN('health.title_programme', name='Communities of practice')}" in out
    assert f"  │ {EN('stories.thanks')}" in out
    assert markdown(EN("polls.question_too_few", answers="3", min="5")) in out
    assert foreign_lines(out, "en") == []


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
