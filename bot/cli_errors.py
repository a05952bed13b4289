# ruff: noqa: T201 - a command-line module prints for the operator
"""How every `cop` command fails: the one place that turns an exception into what the operator reads.

An expected failure (a mistake in the command, the environment, app.yaml, a file, or a database
that cannot be reached) is one line on stderr that names the problem and what to do, exit 2.
Anything else is a bug: its traceback goes to a log file, and stderr gets one line naming that
file, exit 1. `bot/cli.py` runs every command through `guarded`, so no command can forget it.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.config import ConfigError
from bot.errors import CopError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

EXPECTED = 2
BUG = 1
INTERRUPTED = 130
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the problem and where the help is), not the
    usage block followed by the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXPECTED, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


_reported = threading.Event()  # this process has told the operator why it failed


def guarded(command: Callable[[], int]) -> int:
    """Run a command; whatever it raises becomes one line on stderr and an exit code."""
    threading.excepthook = _thread_failed
    try:
        return command()
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # `cop health | head`: the reader has what it wanted; say nothing more, as `yes | head` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except Exception as exc:  # the one place every failure is turned into a line
        _reported.set()
        line = explain(exc)
        if line is not None:
            print(f"cop: {line}", file=sys.stderr)
            return EXPECTED
        log = _write_crash_log(exc)
        print(
            f"cop: unexpected error ({type(exc).__name__}); the details are in {log}; "
            "please report it with that file",
            file=sys.stderr,
        )
        return BUG


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    """A library's worker thread that fails: its traceback goes to a log file too. Once the
    command has failed and said why, what its threads trip over while the loop closes (aiosqlite
    after a refused connection: "Event loop is closed") is only the echo of that failure."""
    if args.exc_type is SystemExit or args.exc_value is None or _reported.is_set():
        return
    _reported.set()
    log = _write_crash_log(args.exc_value)
    name = args.thread.name if args.thread is not None else "?"
    print(
        f"cop: unexpected error in the thread {name} ({args.exc_type.__name__}); "
        f"the details are in {log}; please report it with that file",
        file=sys.stderr,
    )


def explain(exc: BaseException) -> str | None:
    """The operator's line for an expected failure, or None for a bug."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, CopError):
        from bot.i18n import translate

        return translate("en")(exc.key, **exc.params)
    database = database_problem(exc)
    if database is not None:
        return database
    if isinstance(exc, OSError) and exc.filename is not None:
        return _file_problem(exc)
    return None


def _file_problem(exc: OSError) -> str:
    path = Path(os.fsdecode(exc.filename))
    if isinstance(exc, FileNotFoundError):
        if not path.parent.is_dir():
            return (
                f"{path}: the folder {path.parent} does not exist; create it or choose another path"
            )
        return f"{path}: file not found"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder; give a file"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: {exc.strerror or exc}"


# --- the database ------------------------------------------------------------------------------

_PG_STATES = {
    "3D000": "the database {database!r} does not exist on {where}; create it "
    "(createdb {database}) or fix COP_DATABASE_URL",
    "28000": "{where} refused the role {user!r} ({detail}); fix the user in COP_DATABASE_URL",
    "28P01": "{where} refused the password of {user!r}; fix COP_DATABASE_URL",
    "57P03": "{where} is starting or shutting down; try again in a moment",
    "53300": "{where} has too many connections; try again in a moment",
}


def database_problem(exc: BaseException) -> str | None:
    """The line for a database that cannot serve (absent, unreachable, unknown, refusing us,
    unwritable), from `COP_DATABASE_URL` and the driver's error; None when it is not that."""
    from bot import db

    chain = list(_causes(exc))
    if not _from_database(chain):
        return None
    url = _database_url()
    where = _where(url)
    for link in chain:
        state = getattr(link, "sqlstate", None)
        if state in _PG_STATES:
            return "COP_DATABASE_URL: " + _PG_STATES[state].format(
                where=where,
                database=url.database if url is not None else "?",
                user=url.username if url is not None else "?",
                detail=_first_line(link),
            )
    for link in chain:
        if isinstance(link, socket.gaierror):
            host = url.host if url is not None else "?"
            return f"COP_DATABASE_URL: unknown host {host!r}; check the host name"
        if isinstance(link, ConnectionRefusedError):
            return (
                f"COP_DATABASE_URL: nothing answers on {where} (connection refused); "
                "start PostgreSQL or fix the host and port"
            )
        if isinstance(link, TimeoutError):
            return f"COP_DATABASE_URL: no answer from {where} in time; check the host, port and firewall"
    sqlite = url.database or "" if url is not None and url.get_backend_name() == "sqlite" else None
    text = " ".join(_first_line(link) for link in chain)
    if sqlite is not None and (
        "unable to open database file" in text or "readonly database" in text
    ):
        path = Path(sqlite)
        if not path.parent.is_dir():
            why = f"the folder {path.parent} does not exist"
        else:
            why = f"{path} cannot be written there"
        return (
            f"COP_DATABASE_URL: cannot open the SQLite file {path}: {why}; choose a writable path"
        )
    if sqlite is not None and "file is not a database" in text:
        return f"COP_DATABASE_URL: {sqlite} is not a SQLite database; choose another file"
    if db.is_busy(exc):
        return f"database {where} busy (locked by other work); try again in a moment"
    if db.unreachable(exc):
        return (
            f"database {where} unavailable ({_first_line(chain[-1])}); "
            "check COP_DATABASE_URL and that the database is up"
        )
    return None


def _from_database(chain: list[BaseException]) -> bool:
    """Whether the error came out of the database's code (SQLAlchemy, a driver, Alembic) and not,
    say, from Slack's client or the terminal: an OSError alone does not say whose it is."""
    import sqlalchemy as sa

    if any(isinstance(link, sa.exc.SQLAlchemyError) for link in chain):
        return True
    for link in chain:
        frame = link.__traceback__
        while frame is not None:
            module = frame.tb_frame.f_globals.get("__name__", "")
            if module.split(".")[0] in {"sqlalchemy", "asyncpg", "aiosqlite", "alembic"}:
                return True
            frame = frame.tb_next
    return False


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error, the driver's error SQLAlchemy wraps (`orig`) and their causes, nearest first."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(nxt, BaseException):
                queue.append(nxt)


def _database_url() -> URL | None:
    from sqlalchemy.engine import make_url

    from bot.config import default_database_url, normalise_database_url

    try:
        return make_url(
            normalise_database_url(os.environ.get("COP_DATABASE_URL") or default_database_url())
        )
    except Exception:  # a URL we cannot read is named by its own error
        return None


def _where(url: URL | None) -> str:
    if url is None:
        return "the database"
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = text.splitlines()[0]
    # SQLAlchemy prefixes "(module.Class) "; the driver's words are what helps
    if text.startswith("(") and ") " in text:
        text = text.split(") ", 1)[1]
    return text


# --- bugs --------------------------------------------------------------------------------------


def _write_crash_log(exc: BaseException) -> Path:
    """The traceback, in a file the operator can attach to a report (in the temp folder:
    always writable, unlike the working folder may be)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 - a local file name
    path = Path(tempfile.gettempdir()) / f"cop-error-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(exc))
    command = " ".join(["cop", *sys.argv[1:]])
    path.write_text(f"{command}\n\n{text}", encoding="utf-8")
    return path


def check_output_path(path: Path, *, option: str = "--out") -> Path:
    """Refuse, before any work, a file that cannot be written where it is asked."""
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ConfigError(
            f"{option}: the folder {path.parent} does not exist; create it or choose another path"
        )
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"{option}: the folder {path.parent} is not writable")
    return path
