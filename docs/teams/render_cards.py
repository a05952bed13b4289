"""Draw cop-bot's Teams cards as Teams draws them, into docs/teams/*.png.

The cards are the ones the real bot posts in `cop demo --platform teams` (bot/demo/teams.py),
played on the Teams emulator, which keeps every activity the bot sends (and, for a card updated
in place, its last version). They are drawn by Microsoft's own Adaptive Cards renderer (the npm
package `adaptivecards`, with `markdown-it` for the markdown Teams renders) in headless chromium,
with Microsoft Teams' light host config and the Adaptive Cards designer's Teams stylesheet
(docs/teams/microsoft/, copied from github.com/microsoft/AdaptiveCards, MIT licence).

Needs Debian's chromium and chromium-driver, and the two npm packages (not committed):

    npm install --prefix .ci/node --no-save adaptivecards@3.0.6 markdown-it@14.1.0
    .venv/bin/python docs/teams/render_cards.py

Segoe UI, Teams' font, is not on Linux: Liberation Sans stands in for it (closer in width than
the renderer's own fallbacks, Tahoma or Verdana, which chromium replaces by DejaVu Sans).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_MODULES = ROOT / ".ci" / "node" / "node_modules"
WIDTH = 500  # Teams desktop: a card in a chat or a channel post is about this wide
BACKGROUND = "#F5F5F5"  # Teams' light theme, around a post
MAX_BYTES = 200_000
Json = dict[str, Any]


async def _play(language: str) -> Any:
    """Play the demo in one language on an emulator of ours; the emulator is returned stopped,
    with what it kept of every conversation."""
    from bot.demo import teams as demo
    from bot.teams.emulator import TeamsEmulator

    teams = TeamsEmulator()
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COP_DATABASE_URL", "COP_DEMO_DATABASE_URL")
    }
    with tempfile.TemporaryDirectory() as folder:  # the demo's SQLite file
        await demo.run(
            language=language, out=io.StringIO(), environ=environ, cwd=Path(folder), teams=teams
        )
    return teams


def _verbs(card: Json) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.add(str(node.get("verb")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def _last_card(teams: Any, conversation: str, verb_prefix: str) -> Json:
    """The last card in the conversation with a button whose verb starts so."""
    cards = [
        c for c in teams.cards(conversation) if any(v.startswith(verb_prefix) for v in _verbs(c))
    ]
    if not cards:
        raise LookupError(f"no card with a {verb_prefix}… button in {conversation}")
    return cards[-1]


def _event_card(teams: Any) -> Json:
    from bot.teams.emulator import CHANNEL

    return _last_card(teams, CHANNEL, "event_rsvp_")


def _answered(teams: Any, verb_prefix: str, which: int = -1) -> Json:
    """A card as a member who clicked one of its buttons sees it: Teams puts the bot's answer
    to the click (adaptiveCard/action) in place of their copy only."""
    cards = [
        a["value"]
        for a in teams.answers
        if isinstance(a, dict)
        and a.get("type") == "application/vnd.microsoft.card.adaptive"
        and any(v.startswith(verb_prefix) for v in _verbs(a.get("value") or {}))
    ]
    if not cards:
        raise LookupError(f"no answer to a click on a {verb_prefix}… button")
    return dict(cards[which])


def _pulse_card(teams: Any) -> Json:
    """The poll as a member gets it in their 1:1 chat, before answering."""
    for conversation, activities in teams.activities.items():
        if teams.conversations.get(conversation, {}).get("conversationType") != "personal":
            continue
        for activity in activities:
            for attachment in activity.get("attachments") or []:
                card = attachment.get("content") or {}
                if any(v.startswith("pulse_answer") for v in _verbs(card)):
                    return dict(card)
    raise LookupError("no pulse poll in any 1:1 chat")


def _health_card(teams: Any) -> Json:
    from bot.demo.teams_programme import MANAGER_NAME

    manager = next(m for m in teams.members if m.name == MANAGER_NAME)
    cards = teams.cards(teams.personal_chat(manager))
    if not cards:
        raise LookupError("no card in the manager's 1:1 chat")
    return dict(cards[-1])


async def collect() -> dict[str, Json]:
    """The cards to draw, by file name."""
    french = await _play("fr")
    english = await _play("en")
    return {
        "event-fr": _event_card(french),
        "event-answered-fr": _answered(french, "event_rsvp_"),
        "health-fr": _health_card(french),
        "pulse-fr": _pulse_card(french),
        "pulse-answered-fr": _answered(french, "pulse_answer", 1),  # both questions answered
        "event-en": _event_card(english),
    }


PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<style>
@font-face {{ font-family: "Segoe UI"; src: local("Liberation Sans"); font-weight: 400; }}
@font-face {{ font-family: "Segoe UI"; src: local("Liberation Sans Bold"); font-weight: 600 700; }}
{stylesheet}
html, body {{ margin: 0; background: {background}; }}
#frame {{ display: inline-block; padding: 12px; background: {background}; }}
#frame .teams-card {{ width: {width}px; background: white; box-sizing: border-box; }}
</style>
<script>{markdown_it}</script>
<script>{adaptivecards}</script>
</head><body><div id="frame"><div class="teams-card" id="card"></div></div>
<script>
var markdown = window.markdownit({{ html: false, linkify: false, breaks: true }});
AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, result) {{
  result.outputHtml = markdown.render(text);
  result.didProcess = true;
}};
window.drawCard = function (payload, hostConfig) {{
  var card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = new AdaptiveCards.HostConfig(hostConfig);
  var context = new AdaptiveCards.SerializationContext();
  card.parse(payload, context);
  var problems = [];
  for (var i = 0; i < context.eventCount; i++) {{
    problems.push(context.getEventAt(i).message);
  }}
  var validation = card.validateProperties();
  for (var j = 0; j < validation.validationEvents.length; j++) {{
    problems.push(validation.validationEvents[j].message);
  }}
  var host = document.getElementById("card");
  host.innerHTML = "";
  host.appendChild(card.render());
  return problems;
}};
</script>
</body></html>
"""


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        sys.exit(
            "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        f"--window-size={WIDTH + 100},2000",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


def _optimise(path: Path) -> None:
    """Fewer colours (a card has few), then optipng if it is there."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", str(path)], check=True)


def draw(cards: dict[str, Json], node_modules: Path, out: Path) -> list[str]:
    """Each card to out/<name>.png; the problems the renderer reported, by card."""
    scripts = {
        "adaptivecards": node_modules / "adaptivecards" / "dist" / "adaptivecards.min.js",
        "markdown_it": node_modules / "markdown-it" / "dist" / "markdown-it.min.js",
    }
    for script in scripts.values():
        if not script.exists():
            sys.exit(
                f"{script}: missing (npm install --prefix .ci/node --no-save "
                "adaptivecards@3.0.6 markdown-it@14.1.0)"
            )
    microsoft = HERE / "microsoft"
    host_config = json.loads((microsoft / "microsoft-teams-light.json").read_text())
    page = PAGE.format(
        stylesheet=(microsoft / "teams-container-light.css").read_text(),
        background=BACKGROUND,
        width=WIDTH,
        **{name: path.read_text() for name, path in scripts.items()},
    )
    report: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "cards.html"
        html.write_text(page, encoding="utf-8")
        browser = _browser()
        try:
            browser.get(html.as_uri())
            for name, card in cards.items():
                problems = browser.execute_script(
                    "return window.drawCard(arguments[0], arguments[1]);", card, host_config
                )
                browser.execute_async_script(  # every image loaded (data: URIs, but decoded)
                    "var done = arguments[arguments.length - 1];"
                    "Promise.all(Array.from(document.images).map(function (i) {"
                    "  return i.decode().catch(function () {}); })).then(done);"
                )
                frame = browser.find_element("id", "frame")
                height = browser.execute_script("return arguments[0].offsetHeight;", frame)
                browser.set_window_size(WIDTH + 100, height + 200)
                path = out / f"{name}.png"
                frame.screenshot(str(path))
                _optimise(path)
                size = path.stat().st_size
                report.append(
                    f"{path.relative_to(ROOT)}: {size // 1000} KB"
                    + (f", over {MAX_BYTES // 1000} KB" if size > MAX_BYTES else "")
                )
                report += [f"  renderer: {p}" for p in problems]
        finally:
            browser.quit()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, default=NODE_MODULES)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--json", action="store_true", help="also write each card's JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    cards = asyncio.run(collect())
    if args.json:
        for name, card in cards.items():
            (args.out / f"{name}.json").write_text(json.dumps(card, ensure_ascii=False, indent=1))
    for line in draw(cards, args.node_modules, args.out):
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
