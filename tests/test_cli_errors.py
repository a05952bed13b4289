"""Mistakes an operator makes in their first hour with `cop`: each is one line on stderr that
names the problem and what to do, with a non-zero exit, never a traceback. Run through the real
installed `cop` command in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot import cli_errors
from bot.config import ConfigError, load_programme, normalise_database_url
from tests.conftest import PG_URL
from tests.perf.common import free_port

COP = shutil.which("cop", path=str(Path(sys.executable).parent))
postgres_only = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (COP_TEST_POSTGRES_URL)")


def cop(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [COP] if COP else [sys.executable, "-m", "bot.cli"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COP_", "SLACK_"))}
    environ.update({"COP_DATABASE_URL": f"sqlite:///{cwd / 'cop.db'}", "TMPDIR": str(cwd)})
    return subprocess.run(
        [*command, *args],
        env={**environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The one line the operator reads: exit 2, nothing else on stderr, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- the programme file (CSV) ------------------------------------------------------------------

FRENCH_EXCEL = (
    "name;channel_id;kind;language;leaders\nAgilité;C0AGILE;;fr;U0LEA\nSécurité;C0SEC;;;\n"
)


@pytest.mark.slow
def test_a_windows_1252_csv_from_french_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "programme.csv"
    path.write_bytes(FRENCH_EXCEL.encode("cp1252"))
    result = cop("communities", "import", str(path), "--workspace", "T0COP", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 created, 0 updated, 0 line(s) skipped (read as Windows-1252)"
    listed = cop("communities", "list", cwd=tmp_path)
    assert "Agilité" in listed.stdout and "Sécurité" in listed.stdout, listed.stdout


@pytest.mark.slow
def test_a_csv_in_no_known_encoding_says_which_option_to_use(tmp_path: Path) -> None:
    path = tmp_path / "programme.csv"
    path.write_bytes(b"name;channel_id\n\x81Data;C0DATA\n")  # 0x81: in neither UTF-8 nor cp1252
    line = one_line(
        cop("communities", "import", str(path), "--workspace", "T0COP", cwd=tmp_path),
        str(path),
        "line 2",
        "--encoding",
    )
    assert "CSV UTF-8" in line
    forced = cop(
        "communities", "import", str(path), "--workspace", "T0COP", "--encoding", "latin-1",
        cwd=tmp_path,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    one_line(
        cop("communities", "import", str(path), "--encoding", "klingon", cwd=tmp_path),
        "--encoding",
        "'klingon'",
    )


def test_a_folder_or_a_missing_file_given_as_the_csv(tmp_path: Path) -> None:
    one_line(cop("communities", "import", str(tmp_path), cwd=tmp_path), str(tmp_path), "folder")
    missing = tmp_path / "nope.csv"
    one_line(cop("communities", "import", str(missing), cwd=tmp_path), str(missing), "not found")


# --- the database ------------------------------------------------------------------------------


def test_a_closed_port_in_the_database_url(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    one_line(
        cop("health", cwd=tmp_path, COP_DATABASE_URL=f"postgresql://cop@127.0.0.1:{port}/cop"),
        "COP_DATABASE_URL",
        f"127.0.0.1:{port}",
        "connection refused",
    )


def test_an_unknown_host_in_the_database_url(tmp_path: Path) -> None:
    one_line(
        cop(
            "db",
            "upgrade",
            cwd=tmp_path,
            COP_DATABASE_URL="postgresql://cop@no-such-host.invalid/cop",
        ),
        "COP_DATABASE_URL",
        "unknown host 'no-such-host.invalid'",
    )


@postgres_only
def test_a_postgresql_database_that_does_not_exist(tmp_path: Path) -> None:
    url = make_url(normalise_database_url(PG_URL or "")).set(database="cop_no_such_database")
    one_line(
        cop(
            "communities", "list", cwd=tmp_path,
            COP_DATABASE_URL=url.render_as_string(hide_password=False),
        ),
        "COP_DATABASE_URL",
        "'cop_no_such_database' does not exist",
        "createdb",
    )  # fmt: skip


@postgres_only
def test_an_unknown_postgresql_role(tmp_path: Path) -> None:
    url = make_url(normalise_database_url(PG_URL or "")).set(username="cop_nobody", password=None)
    one_line(
        cop("health", cwd=tmp_path, COP_DATABASE_URL=url.render_as_string(hide_password=False)),
        "COP_DATABASE_URL",
        "'cop_nobody'",
    )


def test_an_unwritable_sqlite_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "cop.db"
    one_line(
        cop("db", "upgrade", cwd=tmp_path, COP_DATABASE_URL=f"sqlite:///{missing}"),
        "COP_DATABASE_URL",
        f"the folder {missing.parent} does not exist",
    )
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    one_line(
        cop("health", cwd=tmp_path, COP_DATABASE_URL=f"sqlite:///{a_file / 'cop.db'}"),
        "cannot open the SQLite file",
    )


def test_an_unknown_revision(tmp_path: Path) -> None:
    one_line(
        cop("db", "upgrade", "nonexistentrev", cwd=tmp_path),
        "no revision 'nonexistentrev'",
        "head",
        "0001",
    )


# --- options -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_out_into_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.html"
    one_line(
        cop("report", "--period", "2026-11", "--out", str(target), cwd=tmp_path),
        "--out",
        f"the folder {target.parent} does not exist",
    )
    one_line(
        cop("privacy", "export", "U0LEA", "--out", str(target), cwd=tmp_path),
        "--out",
        "does not exist",
    )
    assert not target.parent.exists()


def test_an_impossible_snapshot_date(tmp_path: Path) -> None:
    one_line(
        cop("snapshots", "run", "--date", "2026-13-01", cwd=tmp_path),
        "--date",
        "YYYY-MM-DD",
        "'2026-13-01'",
    )


def test_a_usage_mistake_is_one_line_too(tmp_path: Path) -> None:
    one_line(cop("rituals", "run", "welcom", cwd=tmp_path), "invalid choice", "--help")


def test_an_empty_database_says_so_instead_of_showing_nothing(tmp_path: Path) -> None:
    one_line(cop("health", cwd=tmp_path), "no workspace yet", "COP_DATABASE_URL")


# --- app.yaml ----------------------------------------------------------------------------------


def test_quiet_hours_out_of_the_clock_fail_when_app_yaml_loads(tmp_path: Path) -> None:
    config = tmp_path / "programme.yaml"
    config.write_text('name: Test\nquiet_hours:\n  start: "25:00"\n  end: "18:00"\n')
    with pytest.raises(ConfigError, match=r"quiet_hours\.start: .*00:00 to 23:59.*'25:00'"):
        load_programme(config)
    # and in the first command that reads it, whatever the command
    one_line(
        cop("health", cwd=tmp_path, COP_CONFIG=str(config)),
        str(config),
        "quiet_hours.start",
        "'25:00'",
    )
    config.write_text("name: Test\nquiet_hours:\n  start: 08:30\n  end: 18:00\n")  # YAML: 1080
    assert load_programme(config).quiet_hours.end == "18:00"


# --- a bug -------------------------------------------------------------------------------------


def test_a_bug_leaves_its_traceback_in_a_file_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one path no operator mistake reaches: a command that breaks. The guard is the real one;
    the command is a stand-in, since a real bug is one we have not written yet."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)

    def broken() -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    assert cli_errors.guarded(broken) == 1
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith("cop: unexpected error (KeyError); the details are in ")
    log = Path(line.split(" are in ")[1].split(";")[0])
    assert log.parent == tmp_path
    assert "Traceback" in log.read_text() and "broken" in log.read_text()
