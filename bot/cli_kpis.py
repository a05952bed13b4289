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
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import cli_errors, cli_scope
from bot import config as config_mod
from bot.config import ConfigError
from bot.programme import Workspaces

_workspace_arg = cli_scope.add_option
_workspace = cli_scope.resolve


def _day(text: str) -> date:
    """argparse type for --date: a real day, or one line saying what is expected."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"expected a day as YYYY-MM-DD (e.g. 2026-11-30), got {text!r}"
    )


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
    from bot import db, disclosure, periods, report
    from bot.i18n import translate

    config = config_mod.load(os.environ)
    programme = config.programme
    try:
        window = periods.parse_period(args.period, programme.timezone)
    except ValueError as exc:
        raise ConfigError(f"--period: {exc}") from None
    engine = db.make_engine(config.settings.database_url)
    t = translate(args.lang or programme.language)
    out = cli_errors.check_output_path(
        Path(args.out or f"value-report-{window.label}.{args.format}")
    )

    async def run() -> report.SponsorReport:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            workspace_id = await cli_scope.resolve_programme(
                sessions, args.workspace, programme.workspaces
            )
            async with sessions() as session:
                return await report.build(
                    session,
                    workspace_id=workspace_id,
                    window=window,
                    programme_name=programme.name,
                    thresholds=programme.health,
                    question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
                    rule=disclosure.Rule.of(programme),
                    engagement_rule=programme.engagement,
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
    to_date = f" to date, up to {built.window.last_day}" if built.window.running else ""
    print(f"{out} ({window.label}{to_date}, {len(built.kpis.communities)} communities)")
    return 0


def cmd_kpis_docs(args: argparse.Namespace) -> int:
    """docs/kpis.md from the registry (bot/figures.py): stdout, or the file given."""
    from bot import figures
    from bot.i18n import translate

    text = figures.markdown(translate("fr"), translate("en"))
    if args.out:
        cli_errors.check_output_path(Path(args.out)).write_text(text, encoding="utf-8")
        print(f"{args.out} ({len(figures.FIGURES)} figures)")
    else:
        print(text, end="")
    return 0


_STATUSES = ("thriving", "steady", "starting", "at_risk", "dormant", "no_data")  # bot.health.Status
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Names people typed, printed without the control characters (escape sequences, carriage
    returns) that would let them redraw the operator's terminal."""
    return _TERMINAL_CONTROL.sub("", text)


async def _sponsor(session: Any, workspace_id: Workspaces, given: str | None) -> str | None:
    """--sponsor: a Slack user id or a name; one line naming the candidates otherwise."""
    from bot import health

    if not given:
        return None
    found = await health.find_sponsors(session, workspace_id=workspace_id, typed=given)
    exact = [s for s in found if given.casefold() in (s.user_id.casefold(), s.name.casefold())]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].user_id
    if not found:
        raise ConfigError(f"health: no sponsor matches {given!r}")
    names = ", ".join(f"{s.name} ({s.user_id})" for s in found[:10])
    raise ConfigError(f"health: {len(found)} sponsors match {given!r}: {names}; be more precise")


def cmd_health(args: argparse.Namespace) -> int:
    """The programme's overview; one community's (`cop health SLUG`); or the communities of one
    status (`--status at-risk`), most worrying first."""
    from bot import communities, db, disclosure, health, lifecycle
    from bot.i18n import translate
    from bot.models import CommunityKind, Stage, utcnow
    from bot.slack.blocks import health as blocks
    from bot.slack.render import render_blocks

    config = config_mod.load(os.environ)
    programme = config.programme
    engine = db.make_engine(config.settings.database_url)
    t = translate(args.lang or programme.language)

    listed = bool(args.status or _other_filters(args) or args.format)
    if listed and args.slug:
        raise ConfigError("health: give either a community's slug or filters/--format, not both")

    async def run() -> tuple[health.Overview, health.Listing | None, dict[int, Any]]:
        try:
            await db.upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            linked = await cli_scope.resolve_programme(
                sessions, args.workspace, programme.workspaces
            )
            # a community's view stays in its workspace; the programme's covers the linked ones
            workspace_id: str | tuple[str, ...] = linked[0] if args.slug else linked
            community_ids = None
            if args.slug:
                async with sessions() as session:
                    found = await communities.by_slug(
                        session, workspace_id=linked[0], slug=args.slug
                    )
                    if found is None:
                        slugs = sorted(
                            c.slug
                            for c in await communities.all_active(session, workspace_id=linked[0])
                        )
                        raise ConfigError(
                            f"health: no community {args.slug!r}; the communities are: "
                            f"{', '.join(slugs) or 'none yet'}"
                        )
                community_ids = [found.id]
            now = utcnow()
            async with sessions() as session:
                overview = await health.build_overview(
                    session,
                    workspace_id=workspace_id,
                    today=now.astimezone(ZoneInfo(programme.timezone)).date(),
                    thresholds=programme.health,
                    tz=programme.timezone,
                    community_ids=community_ids,
                    question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
                    now=now,
                    rule=disclosure.Rule.of(programme),
                    engagement_rule=programme.engagement,
                )
                defaults = lifecycle.ritual_defaults(programme)
                if not listed:
                    shown = overview.items if args.slug else overview.items[: blocks.SHOWN]
                    reviewed = await lifecycle.reviews(
                        session, workspace_id=workspace_id, items=shown, defaults=defaults
                    )
                    return overview, None, reviewed
                filters = health.Filters(
                    status=health.Status(args.status.replace("-", "_")) if args.status else None,
                    stage=Stage(args.stage) if args.stage else None,
                    kind=CommunityKind(args.kind) if args.kind else None,
                    sponsor=await _sponsor(session, workspace_id, args.sponsor),
                )
                listing = await health.browse(
                    session,
                    workspace_id=workspace_id,
                    items=overview.items,
                    filters=filters,
                    size=None,
                )
                reviewed = await lifecycle.reviews(
                    session, workspace_id=workspace_id, items=listing.items, defaults=defaults
                )
                return overview, listing, reviewed
        finally:
            await engine.dispose()

    overview, listing, found = asyncio.run(run())
    if listing is not None:
        return _print_listing(args, t, listing, found)
    if args.slug:
        review = found.get(overview.items[0].signals.community_id) if overview.items else None
        _, built = blocks.build_community(t, overview, review)
    else:
        _, built = blocks.build_programme(t, overview, programme_name=programme.name, reviews=found)
    print(terminal_safe(render_blocks([b.to_dict() for b in built], width=100)))
    if args.all and not args.slug and len(overview.items) > blocks.SHOWN:
        for item in overview.items[blocks.SHOWN :]:
            status = t(f"health.status.{item.status.value}")
            print(terminal_safe(f"{item.signals.name}: {status}"))
    return 0


def _print_listing(args: argparse.Namespace, t: Any, listing: Any, found: Any = None) -> int:
    """The communities that match, most worrying first: a terminal table, or a CSV (in the
    reader's dialect) or XLSX file."""
    from bot import health, report

    fmt = args.format or "table"
    if fmt == "table":
        if listing.filters.status is not None and not _other_filters(args):
            status = t(f"health.status.{listing.filters.status.value}")
            print(terminal_safe(f"{status}: {t.number(listing.total)}"))
        else:
            print(terminal_safe(t("health.listing_cli", total=t.number(listing.total))))
        for item in listing.items:
            reasons = " · ".join(health.explain(t, r) for r in item.reasons)
            print(terminal_safe(f"{item.signals.slug}  {item.signals.name}: {reasons}"))
        return 0
    table = report.health_table(t, listing.items, found)
    if fmt == "csv":
        content = report.to_csv(table, report.csv_dialect(t.language, args.dialect))
    else:
        content = report.to_xlsx([(t("health.export_name"), table)])
    if args.output in (None, "-"):
        if fmt == "xlsx" and sys.stdout.isatty():
            raise ConfigError("health: an XLSX file is binary; give --output FILE")
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return 0
    out = Path(args.output)
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise ConfigError(f"health: cannot write {out}: {exc.strerror or exc}") from exc
    print(f"{out}: {listing.total} communities", file=sys.stderr)
    return 0


def _other_filters(args: argparse.Namespace) -> bool:
    return bool(args.stage or args.kind or args.sponsor)


def cmd_snapshots(args: argparse.Namespace) -> int:
    from bot import db
    from bot.app import build_deps
    from rituals import snapshots

    config = config_mod.load(os.environ)
    deps = build_deps(config)
    as_of: date | None = args.date

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
    backfill.add_argument(
        "--days", type=int, required=True, help="how many days of history to count (e.g. 90)"
    )
    backfill.add_argument("--community", help="a community's slug (default: all)")
    _workspace_arg(backfill)
    backfill.set_defaults(func=cmd_backfill)

    rep = sub.add_parser("report", help="the programme's value report for sponsors")
    rep.add_argument("--period", required=True, help="2026-Q4, 2026-11, 2026-W47 or 2026")
    rep.add_argument(
        "--format",
        choices=["html", "csv", "xlsx"],
        default="html",
        help="html prints well; csv and xlsx hold the tables (default: html)",
    )
    rep.add_argument("--out", help="output file (default value-report-<period>.<format>)")
    rep.add_argument("--lang", choices=["fr", "en"], help="default: app.yaml's language")
    _workspace_arg(rep)
    rep.set_defaults(func=cmd_report)

    hp = sub.add_parser("health", help="the programme's health overview in the terminal")
    hp.add_argument(
        "slug", nargs="?", help="one community's health (its slug: see cop communities list)"
    )
    hp.add_argument("--lang", choices=["fr", "en"], help="default: app.yaml's language")
    hp.add_argument("--all", action="store_true", help="list every community")
    hp.add_argument(
        "--status",
        choices=[s.replace("_", "-") for s in _STATUSES],
        help="only the communities in this state, most worrying first",
    )
    hp.add_argument(
        "--stage",
        choices=["preparation", "launch", "growth", "reorientation"],
        help="only the communities at this stage (as their leaders or managers set it)",
    )
    hp.add_argument("--kind", choices=["spontaneous", "piloted"], help="only this kind")
    hp.add_argument("--sponsor", help="only the communities this sponsor backs (Slack id or name)")
    hp.add_argument(
        "--format",
        choices=["table", "csv", "xlsx"],
        help="every matching community: a table in the terminal, or a CSV/XLSX file",
    )
    hp.add_argument("--output", metavar="FILE", help="write the CSV/XLSX here (default: stdout)")
    hp.add_argument(
        "--dialect",
        choices=["fr", "en"],
        help="CSV dialect: fr (semicolons, decimal comma) or en (commas, decimal point); "
        "default: the --lang language",
    )
    _workspace_arg(hp)
    hp.set_defaults(func=cmd_health)

    kp = sub.add_parser("kpis", help="the KPI vocabulary (bot/figures.py)")
    kp_sub = kp.add_subparsers(dest="kpis_action", required=True)
    docs = kp_sub.add_parser("docs", help="write docs/kpis.md: every figure, its names and level")
    docs.add_argument("--out", help="write here (e.g. docs/kpis.md) instead of stdout")
    docs.set_defaults(func=cmd_kpis_docs)

    snap = sub.add_parser("snapshots", help="KPI snapshots")
    snap.add_argument("action", choices=["run"], help="run: compute the snapshots now")
    snap.add_argument("--date", type=_day, help="as of this day (YYYY-MM-DD), default today")
    snap.set_defaults(func=cmd_snapshots)
