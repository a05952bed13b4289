"""The `cop` command: serve, db upgrade/check, communities import, demo, emulator, teams package."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import cli_errors, cli_scope
from bot import config as config_mod
from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.deps import Deps
    from rituals.outbox import Drain

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
    slack, teams = serve_platforms(args.platform, settings, socket_mode=args.socket_mode)
    _setup_logging(settings.log_level)
    deps = build_deps(config)

    async def run() -> None:
        await db.upgrade(deps.engine)
        bolt = build_bolt(deps, socket_mode=args.socket_mode, slack=slack)
        from rituals import scheduler

        clock = scheduler.running(
            deps,
            drain=_drain(deps),
            tick_seconds=float(os.environ.get("COP_TICK_SECONDS", "60")),
            leader_retry_seconds=float(os.environ.get("COP_LEADER_RETRY_SECONDS", "3")),
        )
        asgi = build_asgi(deps, bolt, lifespan_hooks=[clock], slack=slack, teams=teams)
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


PLATFORMS = ("slack", "teams", "both")


def serve_platforms(
    chosen: str | None, settings: config_mod.Settings, *, socket_mode: bool = False
) -> tuple[bool, bool]:
    """Which platforms `cop serve` answers (Slack, Teams): the one chosen with --platform, whose
    settings must all be there (one line naming what is missing, never a traceback), or by
    default every platform configured — Slack when nothing is."""
    slack_set = bool(settings.bot_token or settings.oauth or settings.app_token)
    said = chosen is not None
    if chosen is None:
        chosen = "both" if settings.teams and slack_set else "teams" if settings.teams else "slack"
    slack, teams = chosen in ("slack", "both"), chosen in ("teams", "both")
    if teams and not settings.teams:
        raise ConfigError(
            f"--platform {chosen}: environment: TEAMS_APP_ID, TEAMS_APP_PASSWORD: missing; set "
            "them to the Azure Bot's Microsoft App ID and client secret (README, Microsoft Teams)"
        )
    if socket_mode and not slack:
        raise ConfigError("--socket-mode connects to Slack: not with --platform teams")
    if slack:
        try:
            if socket_mode:
                settings.require("bot_token", "app_token")
            else:
                settings.require("bot_token", "signing_secret")
        except ConfigError as missing:
            if not said:
                raise
            raise ConfigError(f"--platform {chosen}: {missing}") from None
    return slack, teams


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
                _check_revision(args.revision)
                await db.upgrade(engine, args.revision)
                print(f"database at {args.revision}: {_safe_url(settings.database_url)}")
            else:
                await db.check(engine)
                print("models and migrations agree")
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def _check_revision(revision: str) -> None:
    """A revision Alembic does not know is one line listing the ones it does."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from bot import db

    script = ScriptDirectory.from_config(db.alembic_config())
    try:
        script.get_revisions(revision)
    except CommandError:
        known = [r.revision for r in script.walk_revisions()]
        raise ConfigError(
            f"db upgrade: no revision {revision!r}; give head or one of {', '.join(reversed(known))}"
        ) from None


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_communities_import(args: argparse.Namespace) -> int:
    from bot import csv_import, db, installation

    settings = config_mod.load_settings(os.environ)
    path = Path(args.file)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the CSV file")
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    try:
        text, encoding = csv_import.decode_csv(path.read_bytes(), args.encoding)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    rows, errors = csv_import.parse_csv(text)
    for error in errors:
        print(f"{path}: {error}", file=sys.stderr)
    if errors and not args.partial:
        print(
            f"{path}: nothing imported ({len(errors)} problem(s)); fix them or use --partial",
            file=sys.stderr,
        )
        return 1
    engine = db.make_engine(settings.database_url)

    async def run() -> tuple[csv_import.ImportReport | None, list[str]]:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await cli_scope.resolve(sessions, args.workspace, create=True)
            # a Slack channel in a Teams workspace (or the reverse): a line that cannot be imported
            misplaced = csv_import.misplaced(rows, workspace_id=workspace_id)
            if misplaced and not args.partial:
                return None, misplaced
            async with sessions.begin() as session:
                report = await csv_import.import_rows(session, workspace_id=workspace_id, rows=rows)
            if installation.platform_of(workspace_id) == "teams" and report.created:
                await _teams_members(settings, sessions, workspace_id, rows)
            return report, misplaced
        finally:
            await engine.dispose()

    found, misplaced = asyncio.run(run())
    for error in misplaced:
        print(f"{path}: {error}", file=sys.stderr)
    errors = [*errors, *misplaced]
    if found is None:
        print(
            f"{path}: nothing imported ({len(errors)} problem(s)); fix them or use --partial",
            file=sys.stderr,
        )
        return 1
    report = found
    unchanged = f", {len(report.unchanged)} unchanged" if report.unchanged else ""
    read_as = "" if encoding in {"UTF-8", args.encoding} else f" (read as {encoding})"
    print(
        f"{len(report.created)} created, {len(report.updated)} updated{unchanged}, "
        f"{len(errors)} line(s) skipped{read_as}"
    )
    return 0


async def _teams_members(
    settings: config_mod.Settings, sessions: Any, workspace_id: str, rows: Any
) -> None:
    """Communities just made of Teams channels get their team's roster as members, through the
    Bot Connector (as `@cop community create` does in the channel); without the bot's Teams
    credentials here, or for a channel the bot has not seen yet, they come with the channel's
    first message."""
    from bot.csv_import import channel_platform

    # every Teams line: syncing a community already in step changes nothing
    channels = [r.channel_id for r in rows if channel_platform(r.channel_id) == "teams"]
    if not settings.teams:
        print(
            "members: set TEAMS_APP_ID and TEAMS_APP_PASSWORD to sync them now; otherwise "
            "they come with each channel's first message"
        )
        return
    from bot.teams.edge import TeamsEdge
    from bot.teams.roster import sync_channels

    edge = TeamsEdge(settings)
    try:
        found = await sync_channels(sessions, edge, workspace_id=workspace_id, channel_ids=channels)
    finally:
        await edge.aclose()
    for channel, members in found.items():
        told = (
            f"{members} members"
            if members is not None
            else ("not seen by the bot yet: members come with the channel's first message")
        )
        print(f"{channel}: {told}")


def cmd_communities_list(args: argparse.Namespace) -> int:
    from bot import communities, db

    settings = config_mod.load_settings(os.environ)
    engine = db.make_engine(settings.database_url)

    async def run() -> list[communities.Listed]:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await cli_scope.resolve(sessions, args.workspace)
            async with sessions() as session:
                return await communities.listing(session, workspace_id=workspace_id)
        finally:
            await engine.dispose()

    from bot.cli_kpis import terminal_safe

    found = asyncio.run(run())
    if not found:
        print(
            "no community yet: import them (cop communities import FILE.csv) or create one in Slack"
        )
        return 0
    header = ("slug", "name", "channel", "kind", "stage", "status", "members")
    rows = [
        header,
        *((c.slug, c.name, c.channel_id, c.kind, c.stage, c.status, str(c.members)) for c in found),
    ]
    widths = [max(len(terminal_safe(r[i])) for r in rows) for i in range(len(header))]
    for row in rows:
        cells = [terminal_safe(cell).ljust(w) for cell, w in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())
    return 0


def cmd_communities_stage(args: argparse.Namespace) -> int:
    """`cop communities stage SLUG STAGE [--reason ...]`: the operator sets a community's stage
    (preparation, launch, growth, reorientation) or status (active, dormant, closed)."""
    from bot import communities, db, lifecycle
    from bot.errors import Conflict

    word = args.stage.strip().lower()
    stage = lifecycle.STAGE_WORDS.get(word)
    status = lifecycle.STATUS_WORDS.get(word) if stage is None else None
    if stage is None and status is None:
        raise ConfigError(
            f"communities stage: no stage {args.stage!r}; give preparation, launch, growth or "
            "reorientation, or a status: active, dormant, closed"
        )
    settings = config_mod.load_settings(os.environ)
    engine = db.make_engine(settings.database_url)

    async def run() -> lifecycle.Change:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await cli_scope.resolve(sessions, args.workspace)
            async with sessions.begin() as session:
                community = await communities.by_slug(
                    session, workspace_id=workspace_id, slug=args.slug
                )
                if community is None:
                    slugs = sorted(
                        c.slug
                        for c in await communities.all_active(session, workspace_id=workspace_id)
                    )
                    raise ConfigError(
                        f"communities stage: no community {args.slug!r}; the communities are: "
                        f"{', '.join(slugs) or 'none yet'}"
                    )
                try:
                    return await lifecycle.set_stage(
                        session,
                        community=community,
                        actor="cli",
                        by_person_id=None,
                        stage=stage,
                        status=status,
                        reason=args.reason or "",
                    )
                except Conflict:
                    raise ConfigError(
                        f"communities stage: {community.slug} is already at "
                        f"{community.stage.value} ({community.status.value}); nothing changed"
                    ) from None
        finally:
            await engine.dispose()

    change = asyncio.run(run())
    print(
        f"{args.slug.lower()}: {change.from_stage.value} ({change.from_status.value}) -> "
        f"{change.to_stage.value} ({change.to_status.value})"
    )
    return 0


def cmd_privacy(args: argparse.Namespace) -> int:
    import json

    from bot import db, privacy
    from bot.errors import NotFound

    config = config_mod.load(os.environ)
    if getattr(args, "out", None):
        cli_errors.check_output_path(Path(args.out))
    engine = db.make_engine(config.settings.database_url)

    async def run() -> int:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            if args.action != "retain":
                args.workspace = await cli_scope.resolve(sessions, args.workspace)
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


def _drain(deps: Deps) -> Drain:
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
    # the operator reads the command's own lines; Alembic's and the outbox's notes only on demand
    _setup_logging(config.settings.log_level if os.environ.get("COP_LOG_LEVEL") else "WARNING")
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
            if args.ritual == "survey":  # programme-wide: open, remind or close what is due
                from rituals import survey

                workspace_id = await cli_scope.resolve(deps.sessions, args.workspace)
                done = await survey.maintain(deps)
                if not done:
                    if not deps.programme.survey.enabled:
                        print("survey: turned off in app.yaml (survey.enabled); nothing to do")
                    else:
                        print(f"survey: nothing due today in {workspace_id}")
                for said in done:
                    print(said)
                if args.drain:
                    stats = await _drain(deps).run_until_empty()
                    print(f"sent {stats.sent}, recovered {stats.recovered}, failed {stats.failed}")
                return 0
            if args.ritual is None:
                raise ConfigError(
                    "rituals run: which ritual? give one of welcome, reminders, pulse, stories, digest,"
                    " sponsor_digest, objectives"
                )
            workspace_id = await cli_scope.resolve(deps.sessions, args.workspace)
            async with deps.sessions() as session:
                community = await communities.by_slug(
                    session, workspace_id=workspace_id, slug=args.community or ""
                )
                slugs = [
                    c.slug for c in await communities.all_active(session, workspace_id=workspace_id)
                ]
            if community is None:
                asked = (
                    f"no community {args.community!r}" if args.community else "--community: missing"
                )
                known = ", ".join(sorted(slugs)) if slugs else "none yet"
                raise ConfigError(f"rituals run: {asked}; the communities are: {known}")
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
    if args.platform == "teams":
        if args.scale != "small":
            raise ConfigError(
                "--scale large: the large programme is played in Slack only "
                "(cop demo --scale large, without --platform teams)"
            )
        from bot.demo import teams

        return asyncio.run(teams.run(language=args.lang))
    return asyncio.run(demo.run(scale=args.scale, language=args.lang))


def cmd_emulator(args: argparse.Namespace) -> int:
    from bot.slack import emulator

    _setup_logging("INFO")
    emulator.main(["--port", str(args.port)])
    return 0


def cmd_teams_package(args: argparse.Namespace) -> int:
    """`cop teams package [--out FILE] [--app-version X.Y.Z]`: the zip a Teams admin uploads."""
    from bot.teams import manifest, package

    out = cli_errors.check_output_path(Path(args.out))
    settings = manifest.PackageSettings.from_environ(
        os.environ, version=args.app_version or _version()
    )
    package.write(settings, out)
    print(
        f"{out}: Teams app {settings.version} for bot {settings.app_id} "
        f"({settings.public_url}); upload it in the Teams admin center (Manage apps → Upload)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = cli_errors.OneLineParser(
        prog="cop", description="cop-bot: communities of practice on Slack"
    )
    parser.add_argument("--version", action="version", version=f"cop {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the bot (HTTP, or Socket Mode)")
    serve.add_argument(
        "--socket-mode", action="store_true", help="connect to Slack over Socket Mode"
    )
    serve.add_argument(
        "--platform",
        choices=PLATFORMS,
        help="the chat platforms to answer: slack (POST /slack/events), teams (POST /api/messages) "
        "or both; each needs its settings (default: every platform configured)",
    )
    serve.add_argument("--host", help="address to listen on (default: $COP_HOST, else 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="port to listen on (default: $COP_PORT or $PORT, else 3000)"
    )
    serve.set_defaults(func=cmd_serve)

    dbp = sub.add_parser("db", help="database schema")
    dbp.add_argument(
        "action",
        choices=["upgrade", "check"],
        help="upgrade: migrate the schema; check: the models and the migrations agree",
    )
    dbp.add_argument(
        "revision", nargs="?", default="head", help="the revision to upgrade to (default: head)"
    )
    dbp.set_defaults(func=cmd_db)

    comm = sub.add_parser("communities", help="the programme registry")
    comm_sub = comm.add_subparsers(dest="action", required=True)
    imp = comm_sub.add_parser("import", help="create or update communities from a CSV file")
    imp.add_argument("file", help="the CSV file (columns: see README)")
    cli_scope.add_option(imp)
    imp.add_argument(
        "--partial", action="store_true", help="import the good lines even if some are bad"
    )
    imp.add_argument(
        "--encoding",
        help="the file's encoding (default: UTF-8, UTF-16 by its BOM, else Windows-1252)",
    )
    imp.set_defaults(func=cmd_communities_import)
    lst = comm_sub.add_parser(
        "list", help="the communities: slug, name, channel, stage, status, members"
    )
    cli_scope.add_option(lst)
    lst.set_defaults(func=cmd_communities_list)
    stg = comm_sub.add_parser(
        "stage", help="set a community's lifecycle stage or status (as /cop stage does)"
    )
    stg.add_argument("slug", help="the community's slug (cop communities list)")
    stg.add_argument(
        "stage",
        help="preparation, launch, growth, reorientation (French words too), "
        "or a status: active, dormant, closed",
    )
    stg.add_argument("--reason", help="why, kept in the community's stage history")
    cli_scope.add_option(stg)
    stg.set_defaults(func=cmd_communities_stage)

    priv = sub.add_parser("privacy", help="data-protection requests: export, erase, retention")
    priv_sub = priv.add_subparsers(dest="action", required=True)
    for action, helptext in (
        ("export", "everything held about a person, as JSON"),
        ("erase", "erase a person"),
    ):
        p = priv_sub.add_parser(action, help=helptext)
        p.add_argument("user", help="Slack user id, e.g. U012ABC")
        cli_scope.add_option(p)
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
    demo.add_argument(
        "--platform",
        choices=["slack", "teams"],
        default="slack",
        help="play it in Slack (the Slack emulator) or in Microsoft Teams (the Teams emulator, "
        "each card printed as people read it)",
    )
    demo.set_defaults(func=cmd_demo)

    rit = sub.add_parser("rituals", help="run a ritual now, drain or inspect the outbox")
    rit.add_argument(
        "action",
        choices=["run", "status", "drain"],
        help="run: one ritual now; status: the outbox by status; drain: send what is owed",
    )
    rit.add_argument(
        "ritual",
        nargs="?",
        choices=[
            "welcome",
            "reminders",
            "pulse",
            "stories",
            "digest",
            "sponsor_digest",
            "objectives",
            "survey",
        ],
        help="the ritual to run (with run)",
    )
    rit.add_argument("--community", help="the community's slug (see cop communities list)")
    cli_scope.add_option(rit)
    rit.add_argument("--drain", action="store_true", help="send what is owed before exiting")
    rit.set_defaults(func=cmd_rituals)

    emu = sub.add_parser("emulator", help="run the Slack Web API emulator")
    emu.add_argument("--port", type=int, default=8790, help="port to listen on (default: 8790)")
    emu.set_defaults(func=cmd_emulator)

    teams = sub.add_parser("teams", help="Microsoft Teams: the app package")
    teams_sub = teams.add_subparsers(dest="action", required=True)
    pkg = teams_sub.add_parser(
        "package",
        help="write the Teams app zip (manifest, icons) an administrator uploads; "
        "needs TEAMS_APP_ID (the bot's Microsoft App ID) and COP_PUBLIC_URL",
    )
    pkg.add_argument(
        "--out", default="cop-bot-teams.zip", help="the zip to write (default: cop-bot-teams.zip)"
    )
    pkg.add_argument(
        "--app-version",
        help="the app's version, MAJOR.MINOR.PATCH, raised at every upload of a changed package "
        "(default: cop-bot's version)",
    )
    pkg.set_defaults(func=cmd_teams_package)

    from bot import cli_kpis  # backfill, report, health, snapshots

    cli_kpis.add_commands(sub)
    from bot import cli_compass  # compass statements, compass radar

    cli_compass.add_commands(sub)

    from bot import cli_survey  # cop survey open|close|status|export

    cli_survey.add_commands(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cop-bot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return cli_errors.guarded(lambda: int(args.func(args) or 0))


if __name__ == "__main__":
    raise SystemExit(main())
