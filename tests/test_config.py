"""Configuration problems stop the start with one clear line, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_programme, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_app_yaml_is_valid() -> None:
    programme = load_programme(ROOT / "app.yaml")
    assert programme.language in ("fr", "en")
    assert programme.rituals.pulse.questions


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("name: X\nlanguage: de\n", "language: Input should be 'fr' or 'en', got 'de'"),
        (
            "name: X\ntimezone: Mars/Olympus\n",
            "timezone: expected an IANA time zone such as Europe/Paris, got 'Mars/Olympus'",
        ),
        (
            "name: X\nrituals:\n  pulse:\n    cadence: often\n",
            "rituals.pulse.cadence: Input should be 'weekly', 'monthly' or 'quarterly', got 'often'",
        ),
        (
            "name: X\nmanagers: [bob]\n",
            "managers: expected Slack user ids such as U012ABC (or Teams ids 29:…), got 'bob'",
        ),
        ("name: X\nritual: {}\n", "ritual: unknown field (check the spelling)"),
        (
            'name: X\nquiet_hours:\n  start: "22:00"\n  end: "06:00"\n',
            "quiet_hours: the hours when DMs may go out, within one day: start (22:00) must be "
            "before end (06:00)",
        ),
        ("language: fr\n", "name: required field missing"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_app_yaml_names_the_file_the_field_and_what_is_expected(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_environment_problems_are_named() -> None:
    with pytest.raises(
        ConfigError, match="COP_DATABASE_URL: expected a postgresql:// or sqlite:/// URL"
    ):
        load_settings({"COP_DATABASE_URL": "mysql://x"})
    with pytest.raises(ConfigError, match="COP_PROGRAMME_MANAGERS"):
        load_settings({"COP_PROGRAMME_MANAGERS": "U0ABC, not-an-id"})
    settings = load_settings(
        {"COP_DATABASE_URL": "postgres://u@h/db", "COP_PROGRAMME_MANAGERS": "U0ABC,U0DEF"}
    )
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.extra_managers == ("U0ABC", "U0DEF")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET: missing"):
        settings.require("signing_secret")


def test_cop_serve_without_secrets_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "COP_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "cop: environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: missing; "
        "set them to the value(s) from your Slack app settings"
    )
