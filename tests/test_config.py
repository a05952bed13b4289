"""Configuration problems stop the start with one clear line, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from bot.config import Config, ConfigError, load_programme, load_settings
from bot.permissions import names_manager

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
            "managers: expected Slack user ids (U012ABC), Microsoft Entra object ids (a GUID such "
            "as 5f0c2d9e-8b1a-4c3d-9e2f-0a1b2c3d4e5f) or e-mail addresses, got 'bob'",
        ),
        (
            'name: X\nmanagers: ["29:1abcDEF"]\n',
            "managers: a Teams user id (29:…) changes with each bot registration: name the "
            "manager by their Microsoft Entra object id (a GUID) or their e-mail, got '29:1abcDEF'",
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


def test_managers_are_named_by_slack_id_entra_object_id_or_email(tmp_path: Path) -> None:
    """Teams has no stable user id across bots: its managers are named by Entra object id or
    e-mail, beside Slack's; compared in lower case, and only Slack ids are written to in Slack."""
    path = tmp_path / "app.yaml"
    guid = "5F0C2D9E-8B1A-4C3D-9E2F-0A1B2C3D4E5F"
    path.write_text(f"name: X\nmanagers: [U0ABC, {guid}, Claire.Dupont@Contoso.example]\n")
    programme = load_programme(path)
    assert programme.managers == ["U0ABC", guid.lower(), "claire.dupont@contoso.example"]
    settings = load_settings({"COP_PROGRAMME_MANAGERS": f"{guid.lower()}, lou@contoso.example"})
    assert settings.extra_managers == (guid.lower(), "lou@contoso.example")
    config = Config(settings=settings, programme=programme)
    assert config.managers == {"U0ABC"}
    assert names_manager(config.manager_ids, user_id="29:1x", aad_object_id=guid)
    assert names_manager(config.manager_ids, user_id="U0ZZZ", email="LOU@contoso.example")
    assert not names_manager(config.manager_ids, user_id="29:1x", aad_object_id=str(uuid4()))
    with pytest.raises(ConfigError, match=r"environment: COP_PROGRAMME_MANAGERS: .*got 'lou@'"):
        load_settings({"COP_PROGRAMME_MANAGERS": "U0ABC, lou@"})


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
