"""The house's import rules (pyproject.toml, checked by `lint-imports` in .ci/run) cover every
module: a new module of bot/ is either part of the platform-neutral core or a declared edge."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import bot

ROOT = Path(__file__).resolve().parents[1]
# Where the core meets the outside: the composition root, the command line, the demo and Slack.
EDGES = {"bot.app", "bot.cli", "bot.cli_kpis", "bot.cli_errors", "bot.cli_scope", "bot.demo"}
EDGES |= {"bot.slack"}
EDGES |= {"bot.cli_survey"}  # cop survey: builds the app's dependencies, like bot.cli
# the dashboard's web pages (Starlette routes, Jinja2 templates), served by `cop serve`
EDGES |= {"bot.dashboard"}
EDGES |= {
    "bot.teams"
}  # the Microsoft Teams edge, beside bot.slack (names no Slack: pyproject.toml)


def contracts() -> dict[str, dict[str, list[str]]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def test_every_module_of_bot_is_core_or_a_declared_edge() -> None:
    core = set(contracts()["neutral-core"]["source_modules"])
    modules = {f"bot.{info.name}" for info in pkgutil.iter_modules(bot.__path__)}
    unplaced = modules - core - EDGES
    assert not unplaced, f"add to neutral-core in pyproject.toml, or declare an edge: {unplaced}"
    assert not (core - modules - {"rituals"}), "stale names in neutral-core"
    assert not core & EDGES


def test_the_core_contract_forbids_every_chat_platform() -> None:
    forbidden = set(contracts()["neutral-core"]["forbidden_modules"])
    assert {"bot.slack", "slack_sdk", "slack_bolt", "handlers"} <= forbidden
