# ruff: noqa: T201 - a command-line module prints for the operator
"""`cop backfill`, `cop report`, `cop health` and `cop snapshots run`: the KPI side of the CLI.

Kept beside bot/cli.py (which only registers them) so the operator commands of one feature
live together.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import config as config_mod
from bot.config import ConfigError


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", default=os.environ.get("COP_WORKSPACE_ID"), help="Slack team id"
    )


async def _workspace(sessions: Any, given: str | None) -> str:
    """The workspace asked for, or the only one there is."""
    import sqlalchemy as sa

    from bot.models import Community

    if given:
        return given
    async with sessions() as session:
        found = list(await session.scalars(sa.select(Community.workspace_id).distinct()))
    if len(found) > 1:
        raise ConfigError(f"--workspace: several workspaces in the database ({', '.join(found)})")
    return found[0] if found else "T0COP"


def cmd_backfill(args: argparse.Namespace) -> int:
    from bot import backfill, communities, db
    from bot.slack.client import SlackHistory, make_web_client

    config = config_mod.load(os.environ)
    config.settings.require("bot_token")
    if args.days < 1:
        raise ConfigError(f"--days: expected a positive number of days, got {args.days}")
    engine = db.make_engine(config.settings.database_url)
    history = SlackHistory(
        make_web_client(
            token=config.settings.bot_token,
            base_url=config.settings.slack_api_url,
            background=True,
        )
    )

    async def run() -> int:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await _workspace(sessions, args.workspace)
            async with sessions() as session:
                if args.community:
                    found = await communities.by_slug(
                        session, workspace_id=workspace_id, slug=args.community
                    )
                    if found is None:
                        raise ConfigError(f"--community: no community {args.community!r}")
                    targets = [found]
                else:
                    targets = await communities.all_active(session, workspace_id=workspace_id)
            for community in targets:
                progress = await backfill.backfill_community(
                    sessions,
                    history,
                    community_id=community.id,
                    days=args.days,
                    default_tz=config.programme.timezone,
                )
                state = "done" if progress.finished else "interrupted"
                print(
                    f"{community.slug}: {progress.pages} page(s), {progress.messages} messages, "
                    f"{progress.replies} replies, {progress.reactions} reactions ({state}"
                    f"{', resumed' if progress.resumed else ''})"
                )
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_report(args: argparse.Namespace) -> int:
    from bot import db, disclosure, kpis, report
    from bot.i18n import translate

    config = config_mod.load(os.environ)
    programme = config.programme
    try:
        window = kpis.parse_period(args.period, programme.timezone)
    except ValueError as exc:
        raise ConfigError(f"--period: {exc}") from None
    engine = db.make_engine(config.settings.database_url)
    t = translate(args.lang or programme.language)
    out = Path(args.out or f"value-report-{window.label}.{args.format}")

    async def run() -> report.ValueReport:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await _workspace(sessions, args.workspace)
            async with sessions() as session:
                return await report.build(
                    session,
                    workspace_id=workspace_id,
                    window=window,
                    programme_name=programme.name,
                    thresholds=programme.health,
                    question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
                    rule=disclosure.Rule.of(programme),
                )
        finally:
            await engine.dispose()

    built = asyncio.run(run())
    if args.format == "html":
        out.write_text(report.to_html(t, built), encoding="utf-8")
    elif args.format == "csv":
        out.write_bytes(report.report_csv(t, built))
    else:
        out.write_bytes(report.report_xlsx(t, built))
    if not built.has_data:
        print(f"{window.label}: {t('report.no_data')}", file=sys.stderr)
    print(f"{out} ({window.label}, {len(built.kpis.communities)} communities)")
    return 0


_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Names people typed, printed without the control characters (escape sequences, carriage
    returns) that would let them redraw the operator's terminal."""
    return _TERMINAL_CONTROL.sub("", text)


def cmd_health(args: argparse.Namespace) -> int:
    from bot import db, disclosure, health
    from bot.i18n import translate
    from bot.models import utcnow
    from bot.slack.blocks import health as blocks
    from bot.slack.render import render_blocks

    config = config_mod.load(os.environ)
    programme = config.programme
    engine = db.make_engine(config.settings.database_url)
    t = translate(args.lang or programme.language)

    async def run() -> health.Overview:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await _workspace(sessions, args.workspace)
            now = utcnow()
            async with sessions() as session:
                return await health.build_overview(
                    session,
                    workspace_id=workspace_id,
                    today=now.astimezone(ZoneInfo(programme.timezone)).date(),
                    thresholds=programme.health,
                    tz=programme.timezone,
                    question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
                    now=now,
                    rule=disclosure.Rule.of(programme),
                )
        finally:
            await engine.dispose()

    overview = asyncio.run(run())
    _, built = blocks.build_programme(t, overview, programme_name=programme.name)
    print(terminal_safe(render_blocks([b.to_dict() for b in built], width=100)))
    if args.all and len(overview.items) > blocks.SHOWN:
        for item in overview.items[blocks.SHOWN :]:
            status = t(f"health.status.{item.status.value}")
            print(terminal_safe(f"{item.signals.name}: {status}"))
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    from bot import db
    from bot.app import build_deps
    from rituals import snapshots

    config = config_mod.load(os.environ)
    deps = build_deps(config)
    as_of = datetime.strptime(args.date, "%Y-%m-%d").date() if args.date else None  # noqa: DTZ007

    async def run() -> int:
        try:
            await db.upgrade(deps.engine)
            return await snapshots.run_for(deps, as_of=as_of)
        finally:
            await deps.engine.dispose()

    started = datetime.now().timestamp()  # noqa: DTZ005 - a duration only
    written = asyncio.run(run())
    print(f"{written} snapshot rows in {datetime.now().timestamp() - started:.1f}s")  # noqa: DTZ005
    return 0


def add_commands(sub: Any) -> None:
    backfill = sub.add_parser("backfill", help="count past channel activity from Slack history")
    backfill.add_argument("--days", type=int, required=True)
    backfill.add_argument("--community", help="a community's slug (default: all)")
    _workspace_arg(backfill)
    backfill.set_defaults(func=cmd_backfill)

    rep = sub.add_parser("report", help="the programme's value report for sponsors")
    rep.add_argument("--period", required=True, help="2026-Q4, 2026-11, 2026-W47 or 2026")
    rep.add_argument("--format", choices=["html", "csv", "xlsx"], default="html")
    rep.add_argument("--out", help="output file (default value-report-<period>.<format>)")
    rep.add_argument("--lang", choices=["fr", "en"])
    _workspace_arg(rep)
    rep.set_defaults(func=cmd_report)

    hp = sub.add_parser("health", help="the programme's health overview in the terminal")
    hp.add_argument("--lang", choices=["fr", "en"])
    hp.add_argument("--all", action="store_true", help="list every community")
    _workspace_arg(hp)
    hp.set_defaults(func=cmd_health)

    snap = sub.add_parser("snapshots", help="KPI snapshots")
    snap.add_argument("action", choices=["run"])
    snap.add_argument("--date", help="as of this day (YYYY-MM-DD), default today")
    snap.set_defaults(func=cmd_snapshots)
