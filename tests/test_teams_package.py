"""`cop teams package`: the zip a Teams administrator uploads holds a manifest that Microsoft's own
schema accepts (from the npm package @microsoft/app-manifest, which .ci/run installs into
.ci/node), a French localization that its schema accepts too, and the two icons Teams asks for;
its menu offers words the bot understands; a missing setting is one line, exit 2."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot import cli
from bot.teams import idiom, manifest

ROOT = Path(__file__).resolve().parents[1]
# COP_APP_MANIFEST_DIR: the unpacked npm package (its build/json-schemas/teams/vX.Y/)
PACKAGE_DIR = Path(
    os.environ.get("COP_APP_MANIFEST_DIR") or ROOT / ".ci/node/node_modules/@microsoft/app-manifest"
)
SCHEMAS = PACKAGE_DIR / "build/json-schemas/teams"
needs_schemas = pytest.mark.skipif(
    not SCHEMAS.is_dir(),
    reason="needs Microsoft's manifest schemas: npm install --prefix .ci/node "
    "@microsoft/app-manifest@1.1.2 (.ci/run does), or set COP_APP_MANIFEST_DIR",
)

APP_ID = "6f1c0a52-3b7e-4c1d-9a8e-2d5b7c9e4f10"
ENV = {"TEAMS_APP_ID": APP_ID, "COP_PUBLIC_URL": "https://cop.example.org/"}


def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Path:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "cop-bot-teams.zip"
    assert cli.main(["teams", "package", "--out", str(out), *args]) == 0
    return out


def unpacked(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def validator(schema_file: str) -> Any:
    import jsonschema

    schema = json.loads(
        (SCHEMAS / f"v{manifest.MANIFEST_VERSION}" / schema_file).read_text(encoding="utf-8-sig")
    )
    # draft-04 (its $schema); not check_schema(): a few patterns of parts cop-bot does not use are
    # ECMAScript's (\p{L}), which Python's re cannot compile
    return jsonschema.validators.validator_for(schema)(schema)


def problems(validator: Any, document: dict[str, Any]) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    )


@needs_schemas
def test_the_package_passes_microsofts_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = unpacked(build(tmp_path, monkeypatch, "--app-version", "1.4.2"))
    assert set(files) == {"manifest.json", "fr.json", "color.png", "outline.png"}
    app = json.loads(files["manifest.json"])
    french = json.loads(files["fr.json"])
    assert problems(validator("MicrosoftTeams.schema.json"), app) == []
    assert problems(validator("MicrosoftTeams.Localization.schema.json"), french) == []

    assert app["version"] == "1.4.2"
    assert app["id"] == app["bots"][0]["botId"] == app["webApplicationInfo"]["id"] == APP_ID
    assert app["developer"]["websiteUrl"] == "https://cop.example.org"
    assert app["validDomains"][0] == "cop.example.org"
    bot = app["bots"][0]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["supportsFiles"] is True
    # channel messages without an @mention: the team owner's consent, declared here
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in app["authorization"][
        "permissions"
    ]["resourceSpecific"]
    # French-speaking Teams clients read fr.json, which the zip carries
    assert app["localizationInfo"]["additionalLanguages"] == [
        {"languageTag": "fr", "file": "fr.json"}
    ]
    assert french["name.full"] == "cop-bot : communautés de pratique"
    assert french["bots[0].commandLists[0].commands[1].title"] == "charte"


@needs_schemas
def test_the_schema_version_is_the_newest_the_pinned_package_ships() -> None:
    numbered = [
        tuple(int(n) for n in d.name[1:].split("."))
        for d in SCHEMAS.iterdir()
        if re.fullmatch(r"v\d+\.\d+", d.name)
    ]
    newest = ".".join(map(str, max(numbered)))
    assert newest == manifest.MANIFEST_VERSION


@needs_schemas
def test_the_schema_refuses_a_command_title_too_long() -> None:
    """The validation bites: the same manifest with one title over the schema's limit fails."""
    settings = manifest.PackageSettings.from_environ(ENV, version="1.0.0")
    app = manifest.build(settings)
    check = validator("MicrosoftTeams.schema.json")
    assert problems(check, app) == []
    app["bots"][0]["commandLists"][0]["commands"][0]["title"] = "x" * 129
    assert problems(check, app) == [
        "bots/0/commandLists/0/commands/0/title: '" + "x" * 129 + "' is too long"
    ]
    french = manifest.french()
    french["bots[0].commandLists[0].commands[0].title"] = "x" * 129
    assert problems(validator("MicrosoftTeams.Localization.schema.json"), french) != []


def test_the_icons_are_the_sizes_teams_asks_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = unpacked(build(tmp_path, monkeypatch))
    color = Image.open(io.BytesIO(first["color.png"]))
    outline = Image.open(io.BytesIO(first["outline.png"]))
    assert (color.format, color.size) == ("PNG", (192, 192))
    assert (outline.format, outline.size, outline.mode) == ("PNG", (32, 32), "RGBA")
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    # white on transparent: every pixel white, the mark only in the alpha channel
    assert {p[:3] for p in pixels} == {(255, 255, 255)}
    assert outline.getpixel((0, 0))[3] == 0 and outline.getpixel((16, 16))[3] == 0
    assert sum(p[3] == 255 for p in pixels) > 100
    assert len(color.getcolors(maxcolors=192 * 192)) > 2  # the mark on the accent color
    # the same settings give the same bytes
    assert (tmp_path / "cop-bot-teams.zip").read_bytes() == build(
        tmp_path, monkeypatch
    ).read_bytes()


def test_every_menu_entry_is_a_word_the_bot_understands() -> None:
    """An entry of Teams' menu only inserts its title as a message: in English and in French,
    the bot answers it in Teams (the words its Teams handlers register: bot.teams.idiom, which
    tests/test_teams_idiom.py ties to the edge), and Learn's limits (32/128, 10 a list) hold."""
    for _scope, commands in manifest.COMMAND_LISTS:
        assert len(commands) <= manifest.COMMANDS_MAX
        for command in commands:
            for title in (command.name, command.name_fr):
                assert idiom.answers(title), title
                assert len(title) <= manifest.TITLE_MAX
            for text in (command.description, command.description_fr):
                assert len(text) <= manifest.DESCRIPTION_MAX, text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "cop: environment: TEAMS_APP_ID: missing; set it to the bot's Microsoft App ID"),
        ({"TEAMS_APP_ID": "my-bot"}, "cop: environment: TEAMS_APP_ID: 'my-bot' is not a GUID"),
        ({"TEAMS_APP_ID": APP_ID}, "cop: environment: COP_PUBLIC_URL: missing"),
        (
            {"TEAMS_APP_ID": APP_ID, "COP_PUBLIC_URL": "http://127.0.0.1:3000"},
            "cop: environment: COP_PUBLIC_URL: 'http://127.0.0.1:3000' is not an https:// address",
        ),
    ],
)
def test_a_missing_setting_is_one_line_and_exit_2(
    env: dict[str, str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("TEAMS_APP_ID", "COP_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "teams.zip"
    assert cli.main(["teams", "package", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_bad_version_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert (
        cli.main(["teams", "package", "--out", str(tmp_path / "t.zip"), "--app-version", "2"]) == 2
    )
    assert capsys.readouterr().err == (
        "cop: --app-version: '2': expected MAJOR.MINOR.PATCH, e.g. 1.0.3 "
        "(raise it at every upload of a changed package)\n"
    )
