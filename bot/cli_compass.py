"""`cop compass …`: the compass's words and a sample radar chart, from the command line.

`cop compass statements` writes docs/compass.md from the catalogues (so the document cannot
drift from what the bot asks); `cop compass radar --demo` draws the radar chart of a sample
community (two rounds) as a PNG, the one shown in docs/compass-radar.png.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import compass
from bot.i18n import translate

# a sample community's two rounds: three voices now, two a quarter ago (statement → levels)
_DEMO_NOW: dict[str, tuple[int, ...]] = {
    "purpose": (3, 4, 3),
    "members": (3, 2, 3),
    "practice": (2, 3, 2),
    "animation": (3, 3, 4),
    "governance": (1, 2, 2),
    "value": (1, 2, 1),
}
_DEMO_BEFORE: dict[str, tuple[int, ...]] = {
    "purpose": (2, 3),
    "members": (2, 2),
    "practice": (2, 2),
    "animation": (2, 3),
    "governance": (1, 2),
    "value": (1, 1),
}


def statements_markdown() -> str:
    """docs/compass.md: the levels, then each dimension's statements and suggested actions,
    French and English side by side, read from the catalogues."""
    fr, en = translate("fr"), translate("en")
    out = [
        "# The maturity compass (« la boussole »)",
        "",
        "Generated from `bot/i18n/{fr,en}/compass.po` by `cop compass statements --out "
        "docs/compass.md` (a test checks that it has not drifted). Leaders and core-team members "
        "answer each statement on four levels with `/cop compass` (`/cop boussole`); the bot "
        "takes each respondent's mean per dimension, then the median across respondents and "
        "the spread, names the two weakest dimensions with the actions below, and compares "
        f"with the previous round. A round stays open {compass.ROUND_DAYS} days.",
        "",
        "![A radar chart of the compass](compass-radar.png)",
        "",
        "The annual survey may add one more voice to a round for the dimensions its answers "
        "inform (`bot.compass.record_survey_input`). Programme managers see every community's "
        "latest round as a heatmap (communities × dimensions, with the number of respondents "
        "and the round's date): the « 🧭 Boussole » button under `/cop health`, "
        "`/cop compass programme`, the value report (HTML table and CSV/XLSX columns) and the "
        "dashboard, all from `bot.compass.heatmap`.",
        "",
        "## Levels",
        "",
        "| | Français | English |",
        "|---|---|---|",
    ]
    out += [
        f"| {n} | {fr(f'compass.level.{n}')} | {en(f'compass.level.{n}')} |" for n in compass.LEVELS
    ]
    for number, dim in enumerate(compass.DIMENSIONS, 1):
        out += [
            "",
            f"## {number}. {fr(f'compass.dim.{dim.key}')} — {en(f'compass.dim.{dim.key}')}",
            "",
            "| Affirmation | Statement |",
            "|---|---|",
        ]
        out += [
            f"| {fr(f'compass.stmt.{s}')} | {en(f'compass.stmt.{s}')} |" for s in dim.statements
        ]
        out += ["", "Suggested actions when it is among the weakest:", ""]
        out += [
            f"- {fr(f'compass.action.{a}')}<br>{en(f'compass.action.{a}')}" for a in dim.actions
        ]
    return "\n".join(out) + "\n"


def demo_result(now: datetime | None = None) -> compass.Result:
    """The sample community's current round, compared with the one before."""
    now = now or datetime.now(UTC)

    def voices(levels: dict[str, tuple[int, ...]]) -> list[tuple[str, dict[str, object]]]:
        count = len(next(iter(levels.values())))
        return [
            (
                compass.SELF,
                {s: levels[d.key][i] for d in compass.DIMENSIONS for s in d.statements},
            )
            for i in range(count)
        ]

    dims = compass.aggregate(voices(_DEMO_NOW))
    before = {d.key: d.median for d in compass.aggregate(voices(_DEMO_BEFORE))}
    this = compass.Round(2, 1, now - timedelta(days=3), None)
    previous = compass.Round(1, 1, now - timedelta(days=94), now - timedelta(days=4))
    return compass.Result(
        round=this,
        respondents=3,
        survey=False,
        dimensions=dims,
        weakest=compass.weakest(dims),
        previous=previous,
        changes=tuple(
            compass.Change(d.key, b, d.median)
            for d in dims
            if d.median is not None and (b := before.get(d.key)) is not None
        ),
    )


def cmd_statements(args: argparse.Namespace) -> int:
    text = statements_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")  # noqa: T201 - the command's output
    return 0


def cmd_radar(args: argparse.Namespace) -> int:
    if not args.demo:
        print("cop compass radar: only --demo draws here; leaders get theirs from /cop compass")  # noqa: T201
        return 2
    t = translate(args.lang)
    png = compass.radar_png(t, demo_result(), name="Data Science")
    Path(args.out).write_bytes(png)
    print(f"{args.out}: {len(png)} bytes")  # noqa: T201
    return 0


def add_commands(sub: Any) -> None:
    comp = sub.add_parser("compass", help="the maturity compass: its statements, a sample radar")
    comp_sub = comp.add_subparsers(dest="action", required=True)
    st = comp_sub.add_parser("statements", help="the dimensions and statements as Markdown")
    st.add_argument("--out", help="write to this file (default: print)")
    st.set_defaults(func=cmd_statements)
    radar = comp_sub.add_parser("radar", help="draw a radar chart as a PNG")
    radar.add_argument("--demo", action="store_true", help="a sample community's two rounds")
    radar.add_argument("--out", default="compass-radar.png", help="the PNG file to write")
    radar.add_argument("--lang", choices=["fr", "en"], default="fr", help="the labels' language")
    radar.set_defaults(func=cmd_radar)
