"""The neutral message model and its Slack rendering: what a reader sees, in their language and
zone, with typed text shown as typed wherever it sits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import messages as m
from bot.slack.messages import render
from bot.slack.render import render_message

HOSTILE = "<!channel> <@U0EVIL> <https://evil.example|Official> &amp; *bold*"
AT = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


def sample(typed: str) -> m.Message:
    """A message with typed text in every place a part can sit."""
    return m.Message(
        m.Say("polls.title", community=typed),
        [
            m.Heading(m.Say("polls.title", community=typed)),
            m.Paragraph(
                m.Lines(
                    [
                        m.Say("welcome.hello", user=m.Person("U0ALICE"), community=typed),
                        m.Strong(typed),
                        m.Quote(m.Lines([typed, typed])),
                        m.Join([m.Place("C0DATA"), m.Link("https://example.org", typed)], " · "),
                        m.Pick({"fr": typed, "en": typed}),
                        m.Say("welcome.next_event", title=typed, when=m.Moment(AT)),
                    ]
                ),
                beside=m.Choice("pulse_comment", m.Say("polls.comment_button"), "1|q"),
            ),
            m.Choices([m.Choice("share", typed, "7", "primary")], group="q_mood"),
            m.Note(m.Join([m.Number(Decimal("1234567.5")), m.Percent(0.33)], " · ")),
        ],
    )


def _without_our_markup(text: str) -> str:
    """The mrkdwn with our own mentions, channel and link taken out."""
    return re.sub(r"<@U0ALICE>|<#C0DATA>|<https://example\.org(\|[^<>]*)?>", "", text)


def mrkdwn_of(text: str, blocks: list[dict[str, Any]]) -> list[str]:
    """Every string of the message Slack reads as mrkdwn."""
    found = [text] + [b["text"]["text"] for b in blocks if b["type"] == "section"]
    return found + [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


def test_typed_text_never_pings_nor_poses_as_a_link_anywhere() -> None:
    text, blocks = render(sample(HOSTILE), m.Reader("en", "Europe/Paris"))
    wire = "\n".join(mrkdwn_of(text, blocks))
    assert "<!channel>" not in wire and "<@U0EVIL>" not in wire
    assert "<https://evil" not in wire
    # our own mentions, channel and link are real ones
    assert "<@U0ALICE>" in wire and "<#C0DATA>" in wire and "<https://example.org|" in wire
    # plain_text (header, button labels) takes the words as typed: Slack never parses it
    header = blocks[0]
    assert header["type"] == "header" and "<!channel>" in header["text"]["text"]
    assert blocks[2]["elements"][0]["text"]["text"] == HOSTILE[:75]


@given(st.text(max_size=60))
def test_whatever_is_typed_no_mrkdwn_tag_survives(typed: str) -> None:
    text, blocks = render(sample(typed), m.Reader("fr"))
    for chunk in mrkdwn_of(text, blocks):
        assert "<" not in _without_our_markup(chunk), chunk


def test_each_reader_gets_their_language_and_zone() -> None:
    message = m.Message(
        m.Say("welcome.next_event", title="Webinar", when=m.Moment(AT)),
        [m.Paragraph(m.Say("welcome.next_event", title="Webinar", when=m.Moment(AT)))],
    )
    fr = render_message({"text": "", "blocks": render(message, m.Reader("fr", "Europe/Paris"))[1]})
    en = render_message(
        {"text": "", "blocks": render(message, m.Reader("en", "America/New_York"))[1]}
    )
    assert "jeudi 3 décembre 2026" in fr and "14:00" in fr
    assert "Thursday, 3 December 2026 at 08:00" in en
    fixed = m.Message("x", [m.Paragraph(m.Moment(AT, tz="Asia/Tokyo", style="time"))])
    assert "22:00" in json.dumps(render(fixed, m.Reader("fr", "Europe/Paris"))[1])


def test_numbers_and_percentages_are_written_the_readers_way() -> None:
    note = m.Message(
        "x", [m.Note(m.Join([m.Number(Decimal("1234567.5")), m.Percent(0.33)], " · "))]
    )
    fr = render(note, m.Reader("fr"))[1][0]["elements"][0]["text"]
    en = render(note, m.Reader("en"))[1][0]["elements"][0]["text"]
    assert fr.replace("\u202f", " ").replace("\xa0", " ") == "1 234 567,5 · 33 %"
    assert en == "1,234,567.5 · 33%"


def test_a_message_stored_as_json_comes_back_equal_and_renders_the_same() -> None:
    message = sample(HOSTILE)
    stored = json.loads(json.dumps(m.dump(message)))
    assert m.load(stored) == message
    reader = m.Reader("fr", "Europe/Paris")
    assert render(m.load(stored), reader) == render(message, reader)


@pytest.mark.parametrize(
    "stored", [{"_": "Exec", "cmd": "rm"}, {"text": "hi"}, {"_": "Say", "key": 1, "params": 2}]
)
def test_a_row_that_is_not_a_stored_message_is_refused(stored: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        m.load(stored)
