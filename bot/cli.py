"""The `cop` command: serve, db upgrade/check, communities import, demo, emulator."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import config as config_mod
from bot.config import ConfigError

logger = logging.getLogger("cop")


def _setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot import db
    from bot.app import build_asgi, build_bolt, build_deps

    config = config_mod.load(os.environ)
    settings = config.settings
    if args.socket_mode:
        settings.require("bot_token", "app_token")
    else:
        settings.require("bot_token", "signing_secret")
    _setup_logging(settings.log_level)
    deps = build_deps(config)

    async def run() -> None:
        await db.upgrade(deps.engine)
        bolt = build_bolt(deps, socket_mode=args.socket_mode)
        from rituals import scheduler

        clock = scheduler.running(
            deps,
            drain=_drain(deps),
            tick_seconds=float(os.environ.get("COP_TICK_SECONDS", "60")),
            leader_retry_seconds=float(os.environ.get("COP_LEADER_RETRY_SECONDS", "3")),
        )
        asgi = build_asgi(deps, bolt, lifespan_hooks=[clock])
        server = uvicorn.Server(
            uvicorn.Config(
                asgi,
                host=args.host or settings.host,
                port=args.port or settings.port,
                log_level=settings.log_level.lower(),
                access_log=False,
            )
        )
        if args.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(bolt, settings.app_token)
            await handler.connect_async()
            logger.info("connected to Slack over Socket Mode")
        await server.serve()

    with asyncio.Runner(loop_factory=_fast_loop()) as runner:
        runner.run(run())
    return 0


def _fast_loop() -> Any:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def cmd_db(args: argparse.Namespace) -> int:
    from bot import db

    settings = config_mod.load_settings(os.environ)
    engine = db.make_engine(settings.database_url)

    async def run() -> None:
        try:
            if args.action == "upgrade":
                await db.upgrade(engine, args.revision)
                print(f"database at {args.revision}: {_safe_url(settings.database_url)}")
            else:
                await db.check(engine)
                print("models and migrations agree")
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_communities_import(args: argparse.Namespace) -> int:
    from bot import communities, db

    settings = config_mod.load_settings(os.environ)
    path = Path(args.file)
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    rows, errors = communities.parse_csv(path.read_text(encoding="utf-8-sig"))
    for error in errors:
        print(f"{path}: {error}", file=sys.stderr)
    if errors and not args.partial:
        print(
            f"{path}: nothing imported ({len(errors)} problem(s)); fix them or use --partial",
            file=sys.stderr,
        )
        return 1
    engine = db.make_engine(settings.database_url)

    async def run() -> communities.ImportReport:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            async with sessions.begin() as session:
                return await communities.import_rows(
                    session, workspace_id=args.workspace, rows=rows
                )
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    print(
        f"{len(report.created)} created, {len(report.updated)} updated, {len(errors)} line(s) skipped"
    )
    return 0


def cmd_privacy(args: argparse.Namespace) -> int:
    import json

    from bot import db, privacy
    from bot.errors import NotFound

    config = config_mod.load(os.environ)
    engine = db.make_engine(config.settings.database_url)

    async def run() -> int:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            async with sessions.begin() as session:
                if args.action == "export":
                    data = await privacy.export(
                        session, workspace_id=args.workspace, slack_user_id=args.user
                    )
                    text = json.dumps(data, ensure_ascii=False, indent=2)
                    if args.out:
                        await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
                        print(f"everything held about {args.user} written to {args.out}")
                    else:
                        print(text)
                elif args.action == "erase":
                    if not args.yes:
                        print(
                            f"this erases {args.user} for good; run again with --yes",
                            file=sys.stderr,
                        )
                        return 1
                    report = await privacy.erase(
                        session, workspace_id=args.workspace, slack_user_id=args.user
                    )
                    print(
                        f"{args.user} erased: {report.activity_rows_folded} activity row(s) folded into community "
                        f"totals, {report.messages_cleared} message record(s) cleared, "
                        f"{report.stories_detached} stor(y/ies) detached"
                    )
                else:
                    months = args.months or config.programme.privacy.activity_retention_months
                    folded = await privacy.apply_retention(session, months=months)
                    print(
                        f"{folded} per-person activity row(s) older than {months} months folded into community totals"
                    )
            return 0
        except NotFound:
            print(
                f"cop: {args.user}: nobody with this Slack id in workspace {args.workspace}",
                file=sys.stderr,
            )
            return 1
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _drain(deps):  # type: ignore[no-untyped-def]
    """The outbox drain, paced by COP_OUTBOX_RATE (chat.postMessage per minute, default 600)."""
    from rituals.outbox import Drain

    return Drain(
        deps,
        rate_per_minute=float(os.environ.get("COP_OUTBOX_RATE", "600")),
        lease_seconds=float(os.environ.get("COP_OUTBOX_LEASE", "120")),
        concurrency=int(os.environ.get("COP_OUTBOX_CONCURRENCY", "16")),
    )


def cmd_rituals(args: argparse.Namespace) -> int:
    """`cop rituals run RITUAL --community SLUG [--drain]` and `cop rituals status`."""
    from bot import communities, db
    from bot.app import build_deps
    from bot.models import Ritual
    from rituals import outbox, scheduler

    config = config_mod.load(os.environ)
    _setup_logging(config.settings.log_level)
    deps = build_deps(config)

    async def run() -> int:
        try:
            await db.upgrade(deps.engine)
            if args.action == "status":
                async with deps.sessions() as session:
                    lines = await outbox.status(session)
                for line in lines:
                    reason = f" ({line.reason})" if line.reason else ""
                    print(f"{line.status}{reason}: {line.count}")
                if not lines:
                    print("outbox empty")
                return 0
            if args.action == "drain":
                stats = await _drain(deps).run_until_empty()
                print(f"sent {stats.sent}, recovered {stats.recovered}, failed {stats.failed}")
                return 0
            async with deps.sessions() as session:
                community = await communities.by_slug(
                    session, workspace_id=args.workspace, slug=args.community or ""
                )
            if community is None:
                print(f"cop: no community with slug {args.community!r}", file=sys.stderr)
                return 2
            detail = await scheduler.run_now(
                deps, ritual=Ritual(args.ritual), community_id=community.id
            )
            print(f"{args.ritual} for {community.slug}: {detail}")
            if args.drain:
                stats = await _drain(deps).run_until_empty()
                print(f"sent {stats.sent}, recovered {stats.recovered}, failed {stats.failed}")
            return 0
        finally:
            await deps.engine.dispose()

    return asyncio.run(run())


def cmd_demo(args: argparse.Namespace) -> int:
    from bot import demo

    _setup_logging("WARNING")
    return asyncio.run(demo.run(scale=args.scale, language=args.lang))


def cmd_emulator(args: argparse.Namespace) -> int:
    from bot.slack import emulator

    _setup_logging("INFO")
    return emulator.main(["--port", str(args.port)])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cop", description="cop-bot: communities of practice on Slack"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the bot (HTTP, or Socket Mode)")
    serve.add_argument(
        "--socket-mode", action="store_true", help="connect to Slack over Socket Mode"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    dbp = sub.add_parser("db", help="database schema")
    dbp.add_argument("action", choices=["upgrade", "check"])
    dbp.add_argument("revision", nargs="?", default="head")
    dbp.set_defaults(func=cmd_db)

    comm = sub.add_parser("communities", help="the programme registry")
    comm_sub = comm.add_subparsers(dest="action", required=True)
    imp = comm_sub.add_parser("import", help="create or update communities from a CSV file")
    imp.add_argument("file")
    imp.add_argument(
        "--workspace", default=os.environ.get("COP_WORKSPACE_ID", "T0COP"), help="Slack team id"
    )
    imp.add_argument(
        "--partial", action="store_true", help="import the good lines even if some are bad"
    )
    imp.set_defaults(func=cmd_communities_import)

    priv = sub.add_parser("privacy", help="data-protection requests: export, erase, retention")
    priv_sub = priv.add_subparsers(dest="action", required=True)
    for action, helptext in (
        ("export", "everything held about a person, as JSON"),
        ("erase", "erase a person"),
    ):
        p = priv_sub.add_parser(action, help=helptext)
        p.add_argument("user", help="Slack user id, e.g. U012ABC")
        p.add_argument(
            "--workspace", default=os.environ.get("COP_WORKSPACE_ID", "T0COP"), help="Slack team id"
        )
        if action == "export":
            p.add_argument("--out", help="write the JSON to this file")
        else:
            p.add_argument("--yes", action="store_true", help="confirm the erasure")
        p.set_defaults(func=cmd_privacy)
    retain = priv_sub.add_parser(
        "retain", help="fold old per-person activity into community totals"
    )
    retain.add_argument(
        "--months", type=int, help="default: app.yaml privacy.activity_retention_months"
    )
    retain.set_defaults(func=cmd_privacy, user="", workspace="")

    demo = sub.add_parser(
        "demo",
        help="run a demo programme against the built-in Slack emulator (in its own database: "
        "cop-demo.db, or <db>_demo on PostgreSQL, emptied at each start)",
    )
    demo.add_argument("--scale", choices=["small", "large"], default="small")
    demo.add_argument("--lang", choices=["fr", "en", "both"], default="both")
    demo.set_defaults(func=cmd_demo)

    rit = sub.add_parser("rituals", help="run a ritual now, drain or inspect the outbox")
    rit.add_argument("action", choices=["run", "status", "drain"])
    rit.add_argument(
        "ritual", nargs="?", choices=["welcome", "reminders", "pulse", "stories", "digest"]
    )
    rit.add_argument("--community", help="the community's slug")
    rit.add_argument(
        "--workspace", default=os.environ.get("COP_WORKSPACE_ID", "T0COP"), help="Slack team id"
    )
    rit.add_argument("--drain", action="store_true", help="send what is owed before exiting")
    rit.set_defaults(func=cmd_rituals)

    emu = sub.add_parser("emulator", help="run the Slack Web API emulator")
    emu.add_argument("--port", type=int, default=8790)
    emu.set_defaults(func=cmd_emulator)

    from bot import cli_kpis  # backfill, report, health, snapshots

    cli_kpis.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"cop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
