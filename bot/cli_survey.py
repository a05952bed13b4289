"""`cop survey open|close|status|export`: the annual member survey from a terminal.

Every figure comes through bot/survey.py and bot/disclosure.py, as in Slack."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from typing import Any

from bot import cli_scope
from bot import config as config_mod
from bot.config import ConfigError


def cmd_survey(args: argparse.Namespace) -> int:
    from bot import db
    from bot import survey as domain
    from bot.app import build_deps
    from bot.errors import CopError
    from bot.i18n import translate
    from bot.models import PollStatus, utcnow
    from rituals import survey as ritual

    config = config_mod.load(os.environ)
    deps = build_deps(config)
    t = translate(args.lang or config.programme.language)

    async def run() -> int:
        try:
            await db.upgrade(deps.engine)
            workspace_id = await cli_scope.resolve(deps.sessions, args.workspace)
            now = utcnow()
            if args.action == "open":
                if args.year is not None and args.year != domain.year_of(
                    now, config.programme.timezone
                ):
                    raise ConfigError(
                        f"survey open: only this year's survey opens now; --year {args.year} "
                        "does not apply (the next ones open on their day, app.yaml survey.opens_on)"
                    )
                try:
                    print(await ritual.open_campaign(deps, workspace_id=workspace_id, now=now))
                except CopError as exc:
                    raise ConfigError(f"survey open: {t(exc.key, **exc.params)}") from None
                return 0
            async with deps.sessions() as session:
                row = (
                    await domain.campaign(session, workspace_id=workspace_id, year=args.year)
                    if args.year
                    else await domain.latest(session, workspace_id=workspace_id)
                )
            if row is None:
                which = f"for {args.year}" if args.year else "yet"
                raise ConfigError(f"survey {args.action}: no survey campaign {which}")
            if args.action == "close":
                if row.status == PollStatus.CLOSED:
                    raise ConfigError(f"survey close: the {row.year} survey is already closed")
                print(await ritual.close_campaign(deps, campaign_id=row.id, now=now))
                return 0
            found = await ritual.programme_results(deps, workspace_id=workspace_id, year=row.year)
            assert found is not None
            status, results = found
            if args.action == "status":
                _print_status(status, results, now=now)
            else:
                _export(status, results, fmt=args.format)
            return 0
        finally:
            await deps.engine.dispose()

    return asyncio.run(run())


def _print_status(status: Any, results: Any, *, now: Any) -> None:
    row = status.campaign
    state = "scheduled" if row.status == "open" and row.opens_at > now else row.status
    print(
        f"survey {row.year}: {state}, {row.opens_at:%Y-%m-%d} to {row.closes_at:%Y-%m-%d}; "
        f"{status.respondents}/{status.asked} answered ({status.rate:.0%})"
    )
    for c in status.communities:
        held = f"  held back: {c.held_reason}" if c.held_reason else ""
        print(f"  {c.name}: {c.respondents}/{c.asked} ({c.rate:.0%}){held}")
    if results is None:
        return
    print("programme results (communities under the threshold count only in whole batches):")
    for q in results.questions:
        print(f"  {q.key}: {_value(q)}" + (f"  (last year: {_previous(q)})" if q.previous else ""))


def _value(q: Any) -> str:
    f = q.figure
    if not f.shown:
        return f"withheld ({f.withheld or 'no answers'}, {f.answers} answers)"
    if q.kind == "nps":
        return f"eNPS {f.enps:+.0f} ({f.answers} answers, {f.communities} communities)"
    if q.kind == "scale":
        return f"mean {f.mean:.2f} ({f.answers} answers, {f.communities} communities)"
    counts = ", ".join(
        f"{o.get('en', '')}: {n}" for o, n in zip(q.options, q.choices, strict=False)
    )
    return f"{counts} ({f.answers} answers)"


def _previous(q: Any) -> str:
    last = q.previous
    if not last.shown:
        return "withheld"
    if q.kind == "nps" and last.enps is not None:
        return f"eNPS {last.enps:+.0f}"
    if last.mean is not None and q.kind == "scale":
        return f"mean {last.mean:.2f}"
    return f"{last.answers} answers"


def _export(status: Any, results: Any, *, fmt: str) -> None:
    """One row per community (response rate, held) and, once closed, one per question."""
    from rituals import survey as ritual

    if fmt == "json":
        data = {
            "year": status.campaign.year,
            "communities": [
                {
                    "community": c.name,
                    "asked": c.asked,
                    "respondents": c.respondents,
                    "held_back": c.held_reason,
                }
                for c in status.communities
            ],
            "programme": ritual.figures_of(results) if results else None,
        }
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    out = csv.writer(sys.stdout)
    out.writerow(["year", "scope", "question", "value", "answers", "withheld"])
    for c in status.communities:
        out.writerow(
            [status.campaign.year, c.name, "response_rate", f"{c.rate:.3f}", c.respondents, ""]
        )
    if results:
        for key, figure in ritual.figures_of(results).items():
            value = figure["value"]
            shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
            out.writerow(
                [
                    status.campaign.year,
                    "programme",
                    key,
                    shown,
                    figure["answers"],
                    figure["withheld"] or "",
                ]
            )


def add_commands(sub: Any) -> None:
    survey = sub.add_parser("survey", help="the annual member survey: open, close, status, export")
    survey.add_argument(
        "action",
        choices=["open", "close", "status", "export"],
        help="open: start this year's now; close: close it now; status: response rates and "
        "results; export: CSV or JSON",
    )
    survey.add_argument("--year", type=int, help="the campaign's year (default: the latest)")
    survey.add_argument("--format", choices=["csv", "json"], default="csv", help="for export")
    survey.add_argument("--lang", choices=["fr", "en"], help="language of error messages")
    cli_scope.add_option(survey)
    survey.set_defaults(func=cmd_survey)
