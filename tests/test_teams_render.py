"""Microsoft Teams (issue 17): neutral messages as Adaptive Cards — every text part and block,
the product's own messages in French and English, typed text shown as typed, mentions, charts
within Teams' size limit — each card checked against Microsoft's schema 1.5 and one posted
through the emulated Bot Connector."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import event_changes, stories
from bot import leaders_digest as ld
from bot import messages as m
from bot.kpis import Kpis, ProgrammeKpis
from bot.slack.messages import chart_png
from bot.teams import render
from bot.teams.emulator import PERSONAL, TeamsEmulator, card_errors
from bot.teams.text import Markdown, escape
from rituals import digest, pulse, reminders, sponsor_digest
from rituals import welcome as welcome_ritual
from tests.leaders_hostile import _digest
from tests.teams_data import connector_headers
from tests.test_safe_echo import NOW, _event, _overview, _questions, _results, _story

FR = m.Reader("fr", "Europe/Paris")
EN = m.Reader("en", "America/New_York")
ALICE, BOB = "29:1alice-teams-id", "29:1bob-teams-id"
NAMES = {ALICE: "Alice Martin", BOB: "Bob Durand"}
HOSTILE = [
    "**gras**",
    "[lien](https://evil.example)",
    "<at>Tous</at>",
    "_x_",
    "# titre",
    "- item",
    "1. premier",
    "<b>html</b> &amp; &lt;",
    "`code` ~barré~ \\*échappé\\*",
    "> citation",
    "<https://evil.example>",
]
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation


def indent(found: re.Match[str]) -> str:
    """A line's indent as Teams shows it: no-break spaces (a tab is four)."""
    return found.group().replace("\t", "    ").replace(" ", "\u00a0")


def as_shown(typed: str, newline: str) -> str:
    """Typed text as Teams should show it: its line breaks Teams' own, control characters
    dropped, each line's indent in no-break spaces."""
    typed = typed.replace("\r\n", "\n").replace("\r", "\n")
    lines = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "", typed).split("\n")
    return newline.join(re.sub(r"^[ \t]+", indent, line) for line in lines)


def shown(markdown: str) -> str:
    """What Teams shows of escaped markdown: backslash escapes read as the character."""
    return _ESCAPED.sub(r"\1", markdown)


def unescaped(markdown: str, chars: str) -> list[str]:
    """Characters of `chars` in the markdown that no backslash escapes (markup Teams would read)."""
    found, index = [], 0
    while index < len(markdown):
        char = markdown[index]
        if char == "\\" and index + 1 < len(markdown):
            index += 2
            continue
        if char in chars:
            found.append(char)
        index += 1
    return found


def blocks(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every element of a card, depth first."""
    found: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found.append(item)
            walk(item.get("items", []))
            for column in item.get("columns", []):
                walk(column.get("items", []))

    walk(card["body"])
    return found


def texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in blocks(card) if b["type"] == "TextBlock"]


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for b in blocks(card) if b["type"] == "ActionSet" for a in b["actions"]]


def size(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode())


# --- 1. the guard -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [*HOSTILE, "- a\n    code indenté", "x\n\t- tab"])
def test_typed_markup_is_escaped_and_shows_as_typed(typed: str) -> None:
    safe = escape(typed)
    assert shown(safe) == as_shown(typed, "\n\n")
    # nothing Teams reads as markup is left: emphasis, links, tags, code, strike, headings
    assert unescaped(safe, "*_[]<>`~&#") == []
    for line in safe.split("\n\n"):  # no list, heading or code block at a line's start
        assert not re.match(r"\s*([-+=]|\d+[.)])|    ", line)
    assert escape(safe) is safe  # escaped once, never twice


@settings(max_examples=300)
@given(st.text())
def test_any_text_shows_as_typed(text: str) -> None:
    safe = escape(text, newline="\n")
    assert shown(safe) == as_shown(text, "\n")
    for line in safe.split("\n"):
        assert unescaped(line, "*_[]<>`~&#") == []


def test_typed_line_breaks_are_teams_line_breaks() -> None:
    # Teams breaks a TextBlock's line at "\n\n" only
    assert escape("un\r\ndeux\rtrois") == "un\n\ndeux\n\ntrois"
    assert escape("- a\n- b") == "\\- a\n\n\\- b"
    # our markup around escaped text stays ours; adding typed text to it escapes that text
    bold = Markdown("**") + "*x*" + Markdown("**")
    assert bold == "**\\*x\\***"


# --- 2. every text part and block ------------------------------------------------------------


def everything() -> m.Message:
    at = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
    return m.Message(
        m.Say("welcome.hello", user=m.Person(ALICE), community="Data **Science**"),
        [
            m.Heading(m.Join(["📅 ", m.Pick({"fr": "Titre *tapé*", "en": "Typed *title*"})])),
            m.Paragraph(
                m.Lines(
                    [
                        m.Say("welcome.hello", user=m.Person(ALICE), community="Data Science"),
                        m.Fill(
                            {"fr": "Salut {name} dans {channel}", "en": "Hi {name} in {channel}"},
                            {"name": m.Person(BOB), "channel": m.Place("19:abc@thread.tacv2")},
                            otherwise=m.Say("welcome.introduce_here"),
                        ),
                        m.Join(
                            [
                                m.Number(1234.5),
                                m.Percent(0.333),
                                m.Moment(at, with_zone=True),
                                m.Moment(at, style="date"),
                                m.Moment(at, style="time", tz="Asia/Tokyo"),
                            ],
                            " · ",
                        ),
                        m.Strong("important"),
                        m.Join([m.Code(" 9"), " ███ ", m.Number(3)]),
                        m.Quote(m.Lines(["citation tapée", "sur deux lignes"])),
                        m.Listing(["Agilité", "Data", m.Person("29:unknown")]),
                        m.Link("https://example.com/a(b)", "le lien"),
                        m.Link("javascript:alert(1)", "pas un lien"),
                    ],
                    blank=True,
                ),
                beside=m.Choice("open", m.Say("polls.comment_button"), "7", chat_with=ALICE),
            ),
            m.Divider(),
            m.Choices(
                [m.Choice(f"pick:{i}", str(i), str(i)) for i in range(8)]
                + [
                    m.Choice("yes", "Oui", "y", style="primary"),
                    m.Choice("no", "Non", "n", style="danger"),
                ],
                group="q_mood",
            ),
            m.Note(m.Say("welcome.mute_hint")),
            m.Chart(
                m.Say("sponsor.chart_title", community="Data"),
                [date(2026, 9, 7) + timedelta(weeks=i) for i in range(12)],
                [10 + i for i in range(12)],
                [100 + 7 * i for i in range(12)],
            ),
        ],
    )


def test_every_part_and_block_renders_in_teams_idiom() -> None:
    card = render.card(everything(), FR, names=NAMES)
    assert card_errors(card) == []
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["fallbackText"] == "👋 Bienvenue Alice Martin dans la communauté Data **Science** !"
    lines = texts(card)
    heading = next(b for b in blocks(card) if b.get("weight") == "Bolder")
    assert heading["size"] == "Medium" and shown(heading["text"]) == "📅 Titre *tapé*"
    # Say: the catalogue's *bold* is Teams' **bold**, the person a mention backed by an entity
    assert "👋 Bienvenue <at>Alice Martin</at> dans la communauté **Data Science** !" in lines
    entities = card["msteams"]["entities"]
    assert {"type": "mention", "text": "<at>Bob Durand</at>"} | {
        "mentioned": {"id": BOB, "name": "Bob Durand"}
    } in entities
    assert [e["mentioned"]["id"] for e in entities] == [ALICE, BOB]
    # Fill: the programme's sentence; a channel has no mention in Teams: its words
    assert "Salut <at>Bob Durand</at> dans le canal de la communauté" in lines
    # numbers, percentages and moments the French way, in the reader's zone or the given one
    figures = next(t for t in lines if "1\u202f234,5" in t)
    assert "33\u00a0%" in figures
    assert "jeudi 3 décembre 2026 à 15:05 (Europe/Paris)" in figures
    assert "3 décembre 2026" in figures and "23:05" in figures
    assert "**important**" in lines
    # Code: a monospace line, its spaces kept
    mono = next(b for b in blocks(card) if b.get("fontType") == "Monospace")
    assert mono["text"] == "\u00a09 ███ 3"
    # Quote: an emphasis Container, one TextBlock a line
    quote = next(b for b in blocks(card) if b.get("style") == "emphasis")
    assert [i["text"] for i in quote["items"]] == ["citation tapée", "sur deux lignes"]
    # Listing the French way; a person without a known name is never a raw id
    assert "Agilité, Data et quelqu'un" in lines
    assert not any("29:" in t for t in lines)
    # Link: only a web address is clickable (parentheses kept inside the target)
    assert "[le lien](https://example.com/a%28b%29)" in lines
    assert "pas un lien" in lines
    # blank lines between the paragraph's lines are wider spacing, not empty TextBlocks
    assert all(t.strip() for t in lines)
    # the paragraph's button after it; chat_with dropped (Teams' chat links take UPNs only)
    comment = actions(card)[0]
    assert comment == {
        "type": "Action.Execute",
        "verb": "open",
        "title": "Ajouter un commentaire",
        "data": {"cop": "open", "value": "7"},
    }
    # Choices: at most 6 buttons a row, styles as Teams names them, the group kept as an id
    sets = [b for b in blocks(card) if b["type"] == "ActionSet"][1:]
    assert [len(s["actions"]) for s in sets] == [6, 4]
    assert sets[0]["id"] == "q_mood" and sets[0]["separator"] is True  # the Divider above
    styles = {a["title"]: a.get("style") for a in actions(card)}
    assert styles["Oui"] == "positive" and styles["Non"] == "destructive" and styles["3"] is None
    # Note: small and subtle
    note = next(b for b in blocks(card) if b.get("isSubtle"))
    assert (
        note["size"] == "Small" and "@cop sourdine" in note["text"]
    )  # Teams' command (bot/teams/idiom.py)
    # Chart: a PNG drawn for the reader, inline
    image = next(b for b in blocks(card) if b["type"] == "Image")
    assert image["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["url"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert image["altText"] == "Data : membres actifs et messages par semaine"
    assert size(card) <= render.CARD_MAX_BYTES

    english = render.card(everything(), EN, names=NAMES)
    assert card_errors(english) == []
    lines = texts(english)
    assert "👋 Welcome <at>Alice Martin</at> to the **Data Science** community!" in lines
    assert "Agilité, Data and someone" in lines
    figures = shown(next(t for t in lines if "1,234.5" in t))
    assert "33%" in figures and "Thursday, 3 December 2026 at 09:05 (America/New_York)" in figures


def test_the_activity_is_the_card_alone_with_its_summary() -> None:
    message = everything()
    activity = render.activity(message, FR, names=NAMES)
    assert activity["type"] == "message"
    # no `text`: Teams would split text and card into two messages and return no id
    assert "text" not in activity
    assert activity["summary"] == render.fallback(message, FR, names=NAMES)
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card_errors(attachment["content"]) == []
    assert render.people(message) == {ALICE, BOB, "29:unknown", "19:abc@thread.tacv2"}
    assert render.has_chart(message)


def test_a_message_of_one_line_is_a_card_of_that_line() -> None:
    message = m.Message(m.Say("rituals.reminder", title="*Atelier*", when=m.Moment(NOW)))
    card = render.card(message, FR)
    assert card_errors(card) == []
    assert texts(card) == ["⏰ Rappel : **\\*Atelier\\*** commence lundi 6 mai 2030 à 14:00."]
    assert card["fallbackText"] == "⏰ Rappel : *Atelier* commence lundi 6 mai 2030 à 14:00."


def test_without_names_nobody_is_mentioned_and_no_id_shows() -> None:
    card = render.card(everything(), FR)
    assert "msteams" not in card
    assert "👋 Bienvenue quelqu'un dans la communauté **Data Science** !" in texts(card)
    assert not any("29:" in t or "<at>" in t for t in texts(card))


# --- 3. typed text everywhere -----------------------------------------------------------------


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_typed_text_shows_literally_in_product_messages(typed: str) -> None:
    message = welcome_ritual.welcome_message(
        user_id=ALICE,
        community=typed,
        channel_id="19:abc@thread.tacv2",
        mission=typed,
        leaders=[BOB],
        next_event=(typed, NOW),
        in_channel=False,
    )
    card = render.card(message, FR, names={**NAMES, BOB: typed})
    assert card_errors(card) == []
    lines = texts(card)
    assert f"**Notre mission :** {escape(typed, starts_line=False)}" in lines
    mission = next(t for t in lines if t.startswith("**Notre mission"))
    assert shown(mission) == f"**Notre mission :** {typed}"
    # the only mentions are ours, each backed by its entity; typed <at> is escaped
    ours = {e["text"] for e in card["msteams"]["entities"]}
    for line in lines:
        for tag in re.findall(r"(?<!\\)<at>.*?</at>", line):
            assert tag in ours
        # no link Teams would draw from typed text
        assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", line)
    assert render.fallback(message, FR, names=NAMES).endswith(f"dans la communauté {typed} !")


# --- 4. the product's messages, in French and in English -----------------------------------------


def product_messages() -> dict[str, m.Message]:
    x = "Data Science"
    trend = [
        sponsor_digest.kpis.WeekPoint(date(2026, 9, 7) + timedelta(weeks=i), 12 + i, 90, 40, 5)
        for i in range(13)
    ]
    return {
        "welcome": welcome_ritual.welcome_message(
            user_id=ALICE,
            community=x,
            channel_id="19:abc@thread.tacv2",
            mission="Partager nos pratiques",
            leaders=[ALICE, BOB],
            next_event=("Atelier MLOps", NOW),
            in_channel=False,
            greeting={"fr": "Bonjour {name}, bienvenue dans {community} ({channel})"},
        ),
        "pulse poll": pulse.poll_message(
            poll_id=1, community=x, questions=_questions(x), closes_at=NOW, reminder=False
        ),
        "pulse reminder": pulse.poll_message(
            poll_id=1, community=x, questions=_questions(x), closes_at=NOW, reminder=True
        ),
        "pulse results": pulse.results_message(community=x, results=_results(x), min_answers=5),
        "pulse summary": pulse.summary_message(community=x, results=_results(x)),
        "event reminder": reminders.reminder_message(
            title="Webinaire", starts_at=NOW, link="https://visio.example.com/r?a=1&b=2"
        ),
        "event cancelled": event_changes.change_message(
            _event(x), tz="Europe/Paris", cancelled=True
        ),
        "story": stories.post_message(_story(x), author=ALICE),
        "newcomers digest": digest.digest_message(
            community=x, newcomers=[digest.Newcomer(BOB, "Bob", NOW)] * 12
        ),
        "leaders digest": ld.message(_digest(x), programme="Programme CoP"),
        "sponsor digest": sponsor_digest.previewed(
            sponsor_digest.community_message(
                name=x,
                window=sponsor_digest.periods.Window(
                    date(2026, 7, 1), date(2026, 10, 1), sponsor_digest.periods.Period.QUARTER
                ),
                figures=Kpis(stories=2, value_by_unit={"hours": 1234.5}),
                item=_overview(x).items[0],
                trend=trend,
                shared=[sponsor_digest.Shared(x, x, Decimal("16"), "hours", x)],
            ),
            sponsors=[BOB],
            day=NOW,
        ),
        "sponsor programme": sponsor_digest.programme_message(
            name=x,
            window=sponsor_digest.periods.Window(
                date(2026, 7, 1), date(2026, 10, 1), sponsor_digest.periods.Period.QUARTER
            ),
            figures=ProgrammeKpis(communities=12, members=1234, stories=3),
            items=_overview(x).items,
            unsponsored=1,
            trend=trend,
            shared=[sponsor_digest.Shared(x, x, None, None, x)],
        ),
    }


@pytest.mark.parametrize("reader", [FR, EN], ids=["fr", "en"])
def test_the_product_messages_pass_the_schema_and_fit(reader: m.Reader) -> None:
    for name, message in product_messages().items():
        card = render.card(message, reader, names=NAMES)
        assert card_errors(card) == [], name
        assert size(card) <= render.CARD_MAX_BYTES, name
        assert card["fallbackText"], name
        for line in texts(card):
            # catalogue markup translated: no Slack emoji codes, no stray single-star bold
            assert not re.search(r"(?<!\\):[a-z_]+:", line), (name, line)
            assert "&lt;" not in line and "&amp;" not in line, (name, line)


def test_the_french_product_messages_read_naturally() -> None:
    cards = {n: render.card(msg, FR, names=NAMES) for n, msg in product_messages().items()}
    poll = texts(cards["pulse poll"])
    assert any("lundi 6 mai 2030 à 14:00 (Europe/Paris)" in t for t in poll)
    # the 0–10 question's buttons in rows Teams shows whole
    rows = [len(b["actions"]) for b in blocks(cards["pulse poll"]) if b["type"] == "ActionSet"]
    assert max(rows) <= 6
    results = cards["pulse results"]
    bars = [b["text"] for b in blocks(results) if b.get("fontType") == "Monospace"]
    assert bars and all(re.match(r"\u00a0?\d", b) for b in bars)
    comments = [b for b in blocks(results) if b.get("style") == "emphasis"]
    assert comments  # the free-text answers, quoted
    reminder = texts(cards["event reminder"])
    link = "[https://visio.example.com/r?a=1\\&b=2](https://visio.example.com/r?a=1&b=2)"
    assert any(link in t for t in reminder)
    sponsor = json.dumps(cards["sponsor programme"], ensure_ascii=False)
    assert "1\u202f234" in sponsor  # « 1 234 membres »
    leaders = texts(cards["leaders digest"])
    assert any("novembre" in t for t in leaders)
    newcomers = cards["newcomers digest"]
    assert all(a["verb"].startswith(digest.GREET) for a in actions(newcomers))
    assert all("url" not in a for a in actions(newcomers))  # chat_with: no Teams equivalent


def test_a_chart_too_big_for_a_card_is_drawn_smaller_then_told_in_words() -> None:
    weeks = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(52)]
    chart = m.Chart(
        "Activité", weeks, [i % 17 for i in range(52)], [(i * 37) % 400 for i in range(52)]
    )
    drawn = render.card(m.Message("x", [chart]), FR)
    assert next(b for b in blocks(drawn) if b["type"] == "Image")
    assert size(drawn) <= render.CARD_MAX_BYTES
    # with much text beside it, the picture no longer fits: the weeks are told in words
    crowded = m.Message("x", [m.Paragraph("é" * 9000), chart])
    told = render.card(crowded, FR)
    assert not [b for b in blocks(told) if b["type"] == "Image"]
    assert "Semaine du 5 janvier : 0 membre actif, 0 message" in texts(told)
    assert size(told) <= render.CARD_MAX_BYTES


def test_the_slack_chart_still_draws_from_the_shared_code() -> None:
    chart = everything().blocks[-1]
    assert isinstance(chart, m.Chart)
    title, png = chart_png(chart, FR)
    assert title == "Data : membres actifs et messages par semaine" and png[:4] == b"\x89PNG"


def test_every_emoji_code_of_the_catalogue_is_drawn() -> None:
    root = Path(__file__).resolve().parent.parent / "bot" / "i18n"
    codes = set()
    for po in root.glob("*/*.po"):
        codes |= set(re.findall(r":([a-z0-9_+-]+):", po.read_text()))
    assert codes
    for code in sorted(codes):
        assert code in render._EMOJI, code
    warning = render.card(m.Message("x", [m.Paragraph(m.Say("charter.to_review", year=2030))]), FR)
    assert texts(warning)[0].startswith("⚠️ **À revoir**")
    # a code someone typed is their text
    assert texts(render.card(m.Message("x", [m.Paragraph(":warning:")]), FR)) == [":warning:"]


# --- 5. through the Bot Connector ---------------------------------------------------------------


async def test_teams_accepts_a_rendered_activity(teams: TeamsEmulator) -> None:
    async with httpx.AsyncClient() as http:
        headers = await connector_headers(http, teams)
        url = f"{teams.url}/v3/conversations/{PERSONAL}/activities"
        sent = []
        for index, message in enumerate([everything(), *product_messages().values()]):
            activity = render.activity(message, (FR, EN)[index % 2], names=NAMES)
            answer = await http.post(url, json=activity, headers=headers)
            while answer.status_code == 429:  # Teams' pace: 8 messages per 2 s in a conversation
                await asyncio.sleep(float(answer.headers["Retry-After"]))
                answer = await http.post(url, json=activity, headers=headers)
            assert answer.status_code == 201, answer.text
            sent.append(activity["attachments"][0]["content"])
    assert teams.cards(PERSONAL) == sent
