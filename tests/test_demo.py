"""`cop demo` as someone trying the project sees it: one language at a time, the same story at
each run, a clean slate in a database of its own, and closing commands that work when pasted.

The demo is run once per language for the whole module (about 10 s each), as a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

# its module fixture is costly: every test of the module runs on one xdist worker
pytestmark = pytest.mark.xdist_group("demo")

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("COP_TEST_POSTGRES_URL")
CATALOGUES = ROOT / "bot" / "i18n"


# Words that only one of the two languages writes (short, frequent, unambiguous).
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FRENCH_WORDS = _words(
    "le la les des une est vous votre vos pour dans avec sur pas qui que du et au aux ce cette "
    "ses leur sont été être ont aucun aucune déjà très mois jours réponse réponses membres"
)
ENGLISH_WORDS = _words(
    "the and you your is are of to with for this that not will has have been their there no "
    "yet any already very months days answer answers members who what its it in by from now"
)
_ELIDED_FRENCH = re.compile(r"\b(?:l|d|qu|n|j|c|s)['’][a-zàâéèêëîïôûùç]", re.IGNORECASE)
_WORD = re.compile(r"[a-zàâäéèêëîïôöûùüç]+", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|[*_`:]|<[^>]*>")


@cache
def _msgstrs(language: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((CATALOGUES / language).glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=language):
                if message.id and message.string:
                    found[str(message.id)] = str(message.string)
    return found


@cache
def _fragments(language: str) -> frozenset[str]:
    """Pieces of this language's sentences (between placeholders and markup) of four words or
    more that the other language's catalogue never writes: seeing one means a sentence of
    this language was printed."""
    other = "fr" if language == "en" else "en"
    others = " ".join(_msgstrs(other).values()).lower()
    pieces = set()
    for key, text in _msgstrs(language).items():
        if _msgstrs(other).get(key) == text:
            continue
        for piece in _PLACEHOLDER.split(text):
            piece = " ".join(piece.split()).strip(" .,;:!?—–-()«»“”\"'").lower()
            if len(_WORD.findall(piece)) >= 4 and piece not in others:
                pieces.add(piece)
    return frozenset(pieces)


def foreign_lines(output: str, language: str) -> list[str]:
    """Lines of `output` written in the other language than `language` (fr or en)."""
    other = "fr" if language == "en" else "en"
    theirs, ours = (FRENCH_WORDS, ENGLISH_WORDS) if other == "fr" else (ENGLISH_WORDS, FRENCH_WORDS)
    found = []
    for line in output.splitlines():
        flat = " ".join(line.lower().split())
        if any(piece in flat for piece in _fragments(other)):
            found.append(line)
            continue
        words = [w.lower() for w in _WORD.findall(line)]
        their_count = sum(w in theirs for w in words)
        our_count = sum(w in ours for w in words)
        if other == "fr":
            their_count += len(_ELIDED_FRENCH.findall(line))
        if their_count >= 3 and their_count > 2 * our_count:
            found.append(line)
    return found


def test_the_detector_sees_each_language() -> None:
    """The detector itself: a French sentence in English output is caught, and the reverse."""
    assert foreign_lines("  │ Merci ! Réponse enregistrée : 4. Vous pouvez la changer.", "en")
    assert foreign_lines("▶ Lucas publie la charte dans le canal", "en")
    assert foreign_lines(
        "  │ Thanks! Answer recorded: 4. You can change it until the poll closes.", "fr"
    )
    assert foreign_lines("▶ The announcement in #data-science, with its file", "fr")
    assert not foreign_lines("▶ Lucas Bernard tape `/cop charte` dans #data-science", "fr")
    assert not foreign_lines("▶ Oliver Hughes types `/cop charter` in #data-science", "en")


# --- running the demo ---------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    folder: Path


def _environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COP_")}
    env["COP_CONFIG"] = str(ROOT / "app.yaml")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def _start(language: str, folder: Path, **extra: str) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--lang", language],
        cwd=folder,
        env=_environ(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], folder: Path) -> Run:
    out, err = process.communicate(timeout=180)
    return Run(process.returncode, out, err, folder)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """`--lang en` and `--lang fr` side by side, then `--lang en` again in the same folder."""
    base = tmp_path_factory.mktemp("demo")
    started = {lang: _start(lang, base / lang) for lang in ("en", "fr")}
    done = {lang: _finish(p, base / lang) for lang, p in started.items()}
    done["en again"] = _finish(_start("en", base / "en"), base / "en")
    return done


def _masked(text: str) -> str:
    """The clock: times of day that follow the minute the demo ran (a charter saved « now »,
    a poll open for a week from « now »). Nothing else varies."""
    return re.sub(r"\b\d{2}:\d{2}\b", "HH:MM", text)


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_demo_speaks_one_language(runs: dict[str, Run], language: str) -> None:
    run = runs[language]
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert foreign_lines(run.out, language) == []
    assert len(run.out.splitlines()) > 400  # the whole story was told


@pytest.mark.slow
def test_two_runs_print_the_same_thing(runs: dict[str, Run]) -> None:
    """Same folder, second run: the same output (a clean slate: no « already exists »)."""
    first, second = runs["en"], runs["en again"]
    assert second.code == 0, second.err
    assert _masked(second.out) == _masked(first.out)


def _closing(run: Run) -> list[str]:
    lines = run.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("To explore"))
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  ")]


@pytest.mark.slow
def test_the_closing_commands_work(runs: dict[str, Run]) -> None:
    """Pasted as printed, in a shell: each command answers, without a traceback."""
    run = runs["en again"]
    commands = _closing(run)
    assert commands[0].startswith("export COP_DATABASE_URL=")
    assert any(c.startswith("cop health") for c in commands)
    assert any(c.startswith("cop report") for c in commands)
    said = {}
    for command in commands[1:]:
        done = subprocess.run(
            ["bash", "-c", f"set -e; {commands[0]}; {command}"],
            cwd=run.folder,
            env=_environ(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (command, done.stderr)
        assert "Traceback" not in done.stderr
        said[command] = done.stdout
    # what they show is the demo's programme, under the name the demo gave it
    overview = said["cop health --lang en"]
    assert "Communities of practice" in overview
    assert "Data Science" in overview and "Security Guild" in overview
    assert "Health of the “Data Science” community" in said["cop health data-science --lang en"]
    assert "data-science" in said["cop communities list"]
    # the registry's three, and the one a member proposed and a manager accepted (proposals)
    assert "4 communities" in next(out for c, out in said.items() if c.startswith("cop report"))


# --- PostgreSQL: a database of its own ---------------------------------------------------------


def _server(database: str) -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL is not None
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _psql(sql: str, database: str = "postgres") -> list[tuple]:
    import asyncio

    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.config import normalise_database_url

    async def go() -> list[tuple]:
        engine = create_async_engine(
            normalise_database_url(_server(database)), isolation_level="AUTOCOMMIT"
        )
        try:
            async with engine.connect() as conn:
                result = await conn.execute(sa.text(sql))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.mark.skipif(not PG_URL, reason="COP_TEST_POSTGRES_URL not set")
def test_on_postgresql_the_demo_uses_its_own_database_from_a_clean_slate(
    runs: dict[str, Run], tmp_path: Path
) -> None:
    from bot.demo.database import MARK

    name = f"cop_{uuid.uuid4().hex[:8]}"
    # what a previous demo left: its database (marked as the demo's), with something in it
    _psql(f'CREATE DATABASE "{name}_demo"')
    _psql(f"COMMENT ON DATABASE \"{name}_demo\" IS '{MARK}'")
    _psql("CREATE TABLE leftover (x int)", f"{name}_demo")
    try:
        run = _finish(_start("fr", tmp_path, COP_DATABASE_URL=_server(name)), tmp_path)
        assert run.code == 0, run.err
        assert f"/{name}_demo" in run.out.splitlines()[0]  # says where its data went
        assert not _psql("SELECT 1 FROM pg_tables WHERE tablename = 'leftover'", f"{name}_demo")
        assert _psql("SELECT 1 FROM pg_tables WHERE tablename = 'community'", f"{name}_demo")
        # the same story as on SQLite, but for where the data is
        where = re.compile(r"(données : |dans |COP_DATABASE_URL=|COP_CONFIG=)\S+")
        assert where.sub("…", _masked(run.out)) == where.sub("…", _masked(runs["fr"].out))
        assert not _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # untouched
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}_demo" WITH (FORCE)')


@pytest.mark.skipif(not PG_URL, reason="COP_TEST_POSTGRES_URL not set")
def test_the_demo_refuses_a_database_it_did_not_create(tmp_path: Path) -> None:
    name = f"cop_{uuid.uuid4().hex[:8]}"
    _psql(f'CREATE DATABASE "{name}_demo"')
    try:
        _psql("CREATE TABLE precious (x int)", f"{name}_demo")
        refused = _finish(_start("en", tmp_path, COP_DATABASE_URL=_server(name)), tmp_path)
        assert refused.code == 2
        assert "Traceback" not in refused.err
        assert len(refused.err.strip().splitlines()) == 1
        assert f"{name}_demo" in refused.err and "not created by cop demo" in refused.err
        assert _psql("SELECT 1 FROM pg_tables WHERE tablename = 'precious'", f"{name}_demo")
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}_demo" WITH (FORCE)')


def test_the_demo_refuses_a_demo_url_that_is_not_a_demo_database(tmp_path: Path) -> None:
    refused = _finish(
        _start(
            "en",
            tmp_path,
            COP_DEMO_DATABASE_URL="postgresql://postgres@127.0.0.1:1/production",
        ),
        tmp_path,
    )
    assert refused.code == 2
    assert "Traceback" not in refused.err
    assert "'production' is not a demo database" in refused.err
