"""Safe echo: text a person typed never pings, never poses as a link, and shows as typed — in
every message, modal, Home and export.

1. The one escaping step (bot/slack/echo.py) and the link rule (bot/links.py), property-based.
2. Every Block Kit builder gets a hostile corpus (broadcasts, mentions, masked links, entities,
   zero-width tricks, unbalanced brackets, very long text) in every typed field: no `<…>` that
   Slack would parse comes out of typed text. A builder without a hostile case fails the suite.
3. End to end over real HTTP (SQLite and PostgreSQL): an event titled `Webinar <!channel>
   <!here>`, a charter mission, a success story, bad links, and exports with control characters.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import io
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from slack_sdk.models.blocks import ActionsBlock, Block, StaticSelectElement
from slack_sdk.models.views import View

import bot as bot_package
import bot.slack.blocks as blocks_package
import rituals as rituals_package
from bot import cli, event_changes, lifecycle, objectives, stories
from bot.charters import CharterDraft, CharterState, CharterView, Roles, VersionSummary
from bot.communities import CommunityView
from bot.config import HealthThresholds
from bot.disclosure import Figure, Withheld
from bot.events import Counts, EventDraft, EventView
from bot.health import Filters, Listing, Overview, Signals, Sponsor, assess
from bot.health import Reason as HealthReason
from bot.home import Home, HomeCommunity, HomeEvent, HomePoll, ProgrammeSummary
from bot.i18n import Translator, translate
from bot.kpis import Kpis, ProgrammeKpis
from bot.links import is_link
from bot.messages import Message, Reader
from bot.models import (
    ChannelStatus,
    CommunityKind,
    CommunityStatus,
    Delivery,
    EventKind,
    EventStatus,
    ObjectiveStatus,
    Outbox,
    Ritual,
    RitualSetting,
    Role,
    RsvpAnswer,
    Stage,
    StoryStatus,
    SuccessStory,
    ValueKind,
)
from bot.periods import Period, Window
from bot.polls import QuestionResult, Results
from bot.preferences import RitualState
from bot.slack.blocks import (
    charter,
    common,
    event,
    health,
    help,
    home,
    poll,
    rituals,
    story,
)
from bot.slack.blocks import lifecycle as stage_screens
from bot.slack.blocks import objectives as objective_blocks
from bot.slack.blocks import survey as survey_blocks
from bot.slack.echo import Mrkdwn, cut, echo, link, md, mention, say
from bot.slack.emulator import mrkdwn_texts, parsed_sequences
from bot.slack.messages import render
from bot.slack.render import render_blocks
from rituals import digest, pulse, reminders, scheduler, sponsor_digest
from rituals import objectives as objectives_ritual
from rituals import stories as stories_ritual
from rituals import survey as survey_ritual
from rituals import welcome as welcome_ritual
from rituals.outbox import Drain
from tests import (
    compass_hostile,
    discover_hostile,
    engagement_hostile,
    factories,
    leaders_hostile,
    proposals_hostile,
    series_hostile,
    stories_hostile,
)
from tests.conftest import MANAGER, Bot, eventually
from tests.test_events import all_events, announcements, open_modal, values

ROOT = Path(__file__).resolve().parent.parent

# --- what people may type ------------------------------------------------------------------------

CORPUS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123>",
    "<!subteam^S123|@devs>",
    "<@U0LEA>",
    "<@U0LEA|lea>",
    "<#C123>",
    "<#C123|general>",
    "<https://evil.example|Official charter>",
    "<https://evil.example>",
    "<mailto:x@evil.example|y>",
    "<tel:+33100000000|call>",
    "<!date^1392734382^{date}|x>",
    "&lt;!channel&gt;",
    "&amp;lt;!here&amp;gt;",
    "&",
    "<!ch\u200dannel>",
    "<<!channel>>",
    "<!channel",
    "!channel>",
    "<",
    ">",
    "|",
    "<@",
    "*bold* _it_ ~s~ `code`",
    "> quoted",
    "\n",
    "\u202e",
    "{title} {0} %s",
    "x" * 4000,
]
hostile = st.one_of(
    st.sampled_from(CORPUS),
    st.lists(st.one_of(st.sampled_from(CORPUS), st.text(max_size=12)), min_size=1, max_size=6).map(
        "".join
    ),
    st.text(max_size=300),
)
PROBE = "Webinar <!channel> & <@U0LEA> <https://evil|Official charter>"

# what we may mention or link ourselves: people and a channel we chose, links bot.links accepts
PEOPLE = ("U0ALICE", "U0BOB")
CHANNEL = "C0HOME"
LINK = "https://meet.example.com/room?a=1&b=2"
NOW = datetime(2030, 5, 6, 12, 0, tzinfo=UTC)


def shown(text: str) -> str:
    """What Slack shows for escaped mrkdwn."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def foreign(sequence: str) -> bool:
    """A `<…>` Slack would parse that is not one of ours: a broadcast, a group, someone we did
    not choose to mention, another channel, a masked or non-web link."""
    inner = sequence[1:-1]
    if inner.startswith("@"):
        return inner[1:] not in PEOPLE
    if inner.startswith("#"):
        return inner[1:] != CHANNEL
    return not is_link(inner.split("|", 1)[0].replace("&amp;", "&"))


# --- 1. the one escaping step --------------------------------------------------------------------


@settings(max_examples=300)
@given(text=st.one_of(hostile, st.text()))
def test_echo_shows_any_text_as_typed_and_lets_no_markup_through(text: str) -> None:
    safe = echo(text)
    assert isinstance(safe, Mrkdwn)
    assert "<" not in safe and ">" not in safe
    assert shown(safe) == text
    assert echo(safe) is safe  # escaped once, never twice


@settings(max_examples=200)
@given(typed=hostile, limit=st.integers(min_value=1, max_value=400))
def test_sentences_escape_what_was_typed_and_keep_our_own_mentions(typed: str, limit: int) -> None:
    t = translate("en")
    text = say(t, "welcome.hello", user=mention("U0ALICE"), community=typed)
    assert isinstance(text, Mrkdwn)
    assert parsed_sequences(text) == ["<@U0ALICE>"]
    assert (
        shown(text.replace("<@U0ALICE>", "@alice"))
        == f"👋 Welcome @alice to the *{typed}* community!"
    )
    composed = md("*{title}*", title=typed) + "\n" + typed
    assert isinstance(composed, Mrkdwn) and not parsed_sequences(composed)
    assert not [
        s for s in parsed_sequences(cut(Mrkdwn(" ").join([text, typed]), limit)) if foreign(s)
    ]


def test_our_own_markup_is_made_only_from_ids_and_links_we_trust() -> None:
    assert mention("U0ALICE") == "<@U0ALICE>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert link(LINK) == "<https://meet.example.com/room?a=1&amp;b=2>"
    assert (
        link(LINK, "Join <!here>")
        == "<https://meet.example.com/room?a=1&amp;b=2|Join &lt;!here&gt;>"
    )
    assert link("https://evil.example|Official charter") == "https://evil.example|Official charter"
    assert link("javascript:alert(1)", "Official charter") == "Official charter"
    # cutting never leaves half an entity or half a mention
    assert cut(echo("ab<c"), 3) == "ab" and cut(Mrkdwn("x <@U0ALICE>"), 6) == "x "


LINKS_REFUSED = [
    "https://evil.example|Official charter",
    "<https://evil.example|Official charter>",
    "<https://evil.example>",
    "https://exa mple.com",
    "https://example.com/a b",
    "https://official.example@evil.example/charter",
    "javascript:alert(1)",
    "ftp://files.example.com",
    "mailto:x@example.com",
    "https://",
    "https:///path",
    "http://ex\u200bample.com",
    "https://example.com/\nDTSTART:20300101T000000Z",
    "https://example.com:port/",
    'https://example.com/"onmouseover',
    "//example.com",
    "example.com",
]
LINKS_ACCEPTED = [
    "https://visio.example.com/mlops",
    "http://intranet.example/a?b=1&c=2#top",
    "https://meet.example.com:8443/room-1",
    "https://café.example/équipe",
]


@pytest.mark.parametrize("url", LINKS_REFUSED)
def test_links_that_could_mislead_are_refused(url: str) -> None:
    assert not is_link(url)


@pytest.mark.parametrize("url", LINKS_ACCEPTED)
def test_plain_web_addresses_are_accepted(url: str) -> None:
    assert is_link(url)


@settings(max_examples=300)
@given(text=st.one_of(hostile, st.text(), st.text().map(lambda s: "https://" + s)))
def test_an_accepted_link_is_a_plain_web_address(text: str) -> None:
    if is_link(text):
        assert text.lower().startswith(("http://", "https://"))
        assert not any(c.isspace() or c in '<>|"\\' for c in text)


# --- 2. every builder, fed the hostile corpus ------------------------------------------------------


def _event(
    x: str, *, link: str | None = LINK, status: EventStatus = EventStatus.SCHEDULED
) -> EventView:
    return EventView(
        id=7,
        community_id=3,
        community_name=x,
        community_tz="Europe/Paris",
        community_language="fr",
        channel_id=CHANNEL,
        message_ts="1700000000.000100",
        title=x,
        kind=EventKind.WEBINAR,
        starts_at=NOW + timedelta(days=2),
        duration_minutes=90,
        tz="America/New_York",
        link=link,
        description=x,
        status=status,
        sequence=1,
        attendance_count=12,
        attendees=PEOPLE,
        counts=Counts(going=1, maybe=2, declined=3),
    )


def _charter_draft(x: str) -> CharterDraft:
    return CharterDraft(
        mission=x,
        ambition=x,
        objectives=(x, x),
        objectives_year=2030,
        values=x,
        member_benefits=x,
        organisation_benefits=x,
        indicators=(x,),
        collective_benefits=x,
        stakeholders=x,
        resource_needs=x,
        animation_plan=x,
    )


def _objective(x: str, *, indicator: str | None = None) -> objectives.ObjectiveView:
    return objectives.ObjectiveView(
        7,
        3,
        2030,
        0,
        x,
        ObjectiveStatus.ACHIEVED,
        indicator,
        Decimal("4") if indicator else None,
        NOW,
    )


def _board(x: str) -> objectives_ritual.Board:
    return objectives_ritual.Board(
        3,
        x,
        2030,
        (
            objectives_ritual.Line(_objective(x), None),
            objectives_ritual.Line(_objective(x, indicator="events_held"), 2),
            objectives_ritual.Line(_objective(x, indicator="active_rate"), None),
        ),
    )


ROLES = Roles(leaders=PEOPLE[:1], core_team=PEOPLE[1:], sponsors=())


def _story(x: str) -> SuccessStory:
    return SuccessStory(
        id=5,
        workspace_id="T0COP",
        community_id=3,
        title=x,
        context=x,
        contribution=x,
        benefit=x,
        value_amount=Decimal("120"),
        value_unit="hours",
        people_involved=x,
        shareable=True,
        value_kind=ValueKind.REALISED,
        status=StoryStatus.VALIDATED,
    )


_QUARTER = Window(date(2030, 1, 1), date(2030, 4, 1), Period.QUARTER)


def _overview(x: str) -> Overview:
    signals = Signals(
        community_id=3, name=x, slug="x", today=NOW.date(), created=date(2029, 1, 1), members=9
    )
    return Overview(
        today=NOW.date(),
        items=[assess(signals, HealthThresholds())],
        totals=ProgrammeKpis(communities=1, members=9, value_by_unit={"hours": 120.0}),
        month=Window(date(2030, 5, 1), date(2030, 6, 1), Period.MONTH),
        trend=[],
        from_snapshot=False,
        engagement=Kpis(),
        engagement_since=date(2030, 1, 1),
    )


def _listing(x: str) -> Listing:
    sponsor = Sponsor("U0HUGO", x)
    return Listing(
        items=_overview(x).items,
        total=41,
        page=1,
        pages=3,
        size=20,
        filters=Filters(sponsor="U0HUGO"),
        sponsor=sponsor,
    )


def _results(x: str) -> Results:
    return Results(
        poll_id=1,
        community_id=3,
        period_key="2030-05",
        asked=20,
        respondents=9,
        questions=[
            QuestionResult(
                key="mood",
                kind="scale",
                text={"fr": x, "en": x},
                figure=Figure(answers=9, mean=4.2, distribution={1: 1, 5: 8}),
            ),
            QuestionResult(
                key="free", kind="text", text={"fr": x}, figure=Figure(answers=6), comments=[x, x]
            ),
            QuestionResult(
                key="nps",
                kind="scale",
                text={"fr": x, "en": x},
                figure=Figure(answers=2, withheld=Withheld.TOO_FEW),
            ),
        ],
    )


STATES = [
    RitualState(Ritual.WELCOME, "on"),
    RitualState(Ritual.PULSE, "snoozed", NOW + timedelta(days=7)),
    RitualState(Ritual.STORIES, "off"),
]
QUESTIONS = [
    {"key": "mood", "kind": "scale", "min": 1, "max": 5, "text": {"fr": "?", "en": "?"}},
    {"key": "free", "kind": "text", "text": {"fr": "?", "en": "?"}},
]


def _questions(x: str) -> list[dict[str, Any]]:
    return [{**q, "text": {"fr": x, "en": x}} for q in QUESTIONS]


def _community(x: str) -> CommunityView:
    return CommunityView(
        id=3,
        workspace_id="T0COP",
        name=x,
        slug="x",
        channel_id=CHANNEL,
        kind=CommunityKind.SPONTANEOUS,
        language=None,
        tz=None,
        channel_status=ChannelStatus.OK,
    )


def _home(x: str) -> Home:
    return Home(
        communities=(HomeCommunity(3, x, CHANNEL, Role.LEADER, True, CharterState.STALE),),
        events=(HomeEvent(7, x, CHANNEL, "1.2", x, NOW, RsvpAnswer.GOING),),
        polls=(HomePoll(1, x, NOW),),
        programme=ProgrammeSummary(1, 9, 2),
        rituals=tuple(STATES),
    )


def _survey_questions(x: str) -> list[dict[str, Any]]:
    from bot import survey as survey_domain
    from bot.config import Survey

    return [
        {**q, "text": {"fr": x, "en": x}, "options": [{"fr": x, "en": x} for _ in q["options"]]}
        for q in survey_domain.questions_of(Survey())
    ]


def _survey_results(x: str, *, community: bool) -> Any:
    from bot import survey as survey_domain

    shown = Figure(answers=9, mean=4.2, enps=30.0, distribution={1: 3, 3: 6}, communities=2)
    return survey_domain.Results(
        year=2030,
        community_id=3 if community else None,
        asked=20,
        respondents=9,
        questions=[
            survey_domain.QuestionResult(
                key=q["key"],
                kind=q["kind"],
                text=q["text"],
                options=q["options"],
                figure=shown,
                choices=[2] * len(q["options"]),
                comments=[x, x] if q["kind"] == "text" else [],
                previous=None if community else shown,
                previous_choices=[] if community else [1] * len(q["options"]),
            )
            for q in _survey_questions(x)
        ],
    )


def _survey_campaign(x: str) -> Any:
    from bot.models import PollStatus, SurveyCampaign

    return SurveyCampaign(
        id=1,
        workspace_id="T0COP",
        year=2030,
        questions=_survey_questions(x),
        cover={"fr": x + " {community} {closes}", "en": x},
        opens_at=NOW,
        closes_at=NOW,
        status=PollStatus.CLOSED,
    )


def _survey_status(x: str) -> Any:
    from bot import survey as survey_domain

    return survey_domain.Status(
        campaign=_survey_campaign(x),
        communities=[survey_domain.CommunityStatus(1, 3, x, CHANNEL, 10, 4, x, None)],
    )


def _stage_screen(x: str, *, last: bool) -> stage_screens.StageScreen:
    facts = lifecycle.Facts(3, Stage.LAUNCH, CommunityStatus.DORMANT, NOW, NOW, leaders=1)
    return stage_screens.StageScreen(
        community_id=3,
        community_name=x,
        created=NOW.date(),
        facts=facts,
        last=lifecycle.LastChange(NOW, PEOPLE[0], x, x) if last else None,
        suggestion=lifecycle.Suggestion(Stage.GROWTH, (HealthReason("lifecycle.why.launched"),)),
        may_set=last,
    )


Case = Callable[[Translator, str], list[Any]]
CASES: dict[str, Case] = {
    "survey.build_form": lambda t, x: [
        survey_blocks.build_form(
            t,
            poll_id=1,
            community=x,
            closes=x,
            questions=_survey_questions(x),
            mine={},
            min_answers=5,
        )
    ],
    "survey.build_hold": lambda t, x: [survey_blocks.build_hold(t, poll_id=1)],
    "survey.build_cover": lambda t, x: [
        survey_blocks.build_cover(t, year=2030, cover={"fr": x, "en": x})
    ],
    "survey.results_message": lambda t, x: [
        _render(
            t,
            survey_ritual.results_message(
                community=x if community else None,
                results=_survey_results(x, community=community),
                min_answers=5,
            ),
        )
        for community in (True, False)
    ],
    "survey.invitation_message": lambda t, x: [
        _render(
            t,
            survey_ritual.invitation_message(
                row=_survey_campaign(x), shares=[(1, x), (2, x)], min_answers=5, reminder=r
            ),
        )
        for r in (False, True)
    ],
    "survey.leaders_message": lambda t, x: [
        _render(
            t,
            survey_ritual.leaders_message(
                poll_id=1,
                community=x,
                channel_id=CHANNEL,
                posts_at=NOW,
                results=survey_ritual.results_message(
                    community=x, results=_survey_results(x, community=True), min_answers=5
                ),
            ),
        )
    ],
    "survey.status_message": lambda t, x: [
        _render(
            t,
            survey_ritual.status_message(
                _survey_status(x), _survey_results(x, community=False), now=NOW, min_answers=5
            ),
        )
    ],
    "lifecycle.build_stage": lambda t, x: [
        stage_screens.build_stage(t, _stage_screen(x, last=True)),
        stage_screens.build_stage(t, _stage_screen(x, last=False)),
    ],
    "lifecycle.build_history": lambda t, x: [
        stage_screens.build_history(
            t,
            community_name=x,
            steps=[
                lifecycle.Step(
                    NOW,
                    Stage.LAUNCH,
                    Stage.GROWTH,
                    CommunityStatus.ACTIVE,
                    CommunityStatus.ACTIVE,
                    PEOPLE[0],
                    x,
                ),
                lifecycle.Step(NOW, None, Stage.LAUNCH, None, CommunityStatus.DORMANT, None, x),
            ],
            tz="Europe/Paris",
        )
    ],
    "lifecycle.build_modal": lambda t, x: [
        stage_screens.build_modal(
            t,
            community_id=3,
            community_name=x,
            stage=Stage.GROWTH,
            status=CommunityStatus.ACTIVE,
            may_close=True,
        )
    ],
    "charter.build_charter": lambda t, x: [
        charter.build_charter(
            t,
            community_name=x,
            charter=CharterView(3, 2, _charter_draft(x), PEOPLE[0], x, NOW, ROLES),
            roles=ROLES,
            today=date(2031, 6, 1),
            tz="Europe/Paris",
        ),
        charter.build_charter(
            t,
            community_name=x,
            charter=None,
            roles=ROLES,
            today=date(2030, 6, 1),
            tz="Europe/Paris",
        ),
    ],
    "charter.build_history": lambda t, x: [
        charter.build_history(
            t,
            community_name=x,
            versions=[
                VersionSummary(2, PEOPLE[0], x, NOW, 2030),
                VersionSummary(1, None, x, NOW, None),
            ],
            tz="Europe/Paris",
        )
    ],
    "charter.build_modal": lambda t, x: [
        charter.build_modal(
            t, community_id=3, community_name=x, current=_charter_draft(x), roles=ROLES, year=2030
        )
    ],
    "charter.roles_text": lambda t, x: [charter.roles_text(t, ROLES)],
    "objectives.build_modal": lambda t, x: [
        objective_blocks.build_modal(t, objective=_objective(x), place={"u": x}),
        objective_blocks.build_modal(
            t, objective=_objective(x, indicator="events_held"), place={"ch": x, "ts": x}
        ),
    ],
    "objectives.objectives_message": lambda t, x: (
        [
            _render(t, objectives_ritual.objectives_message(_board(x), review=review))
            for review in (True, False)
        ]
        + [
            _render(
                t,
                objectives_ritual.objectives_message(
                    objectives_ritual.Board(3, x, 2030, ()), review=True
                ),
            )
        ]
    ),
    "objectives.nudge_message": lambda t, x: [
        _render(t, objectives_ritual.nudge_message(community_id=3, community=x, year=2030))
    ],
    "common.header": lambda t, x: [[common.header(f"📅 {x}")]],
    "common.section": lambda t, x: [[common.section(x)]],
    "common.note": lambda t, x: [[common.note(x)]],
    "common.sections_of_lines": lambda t, x: [common.sections_of_lines([x, x, x])],
    "event.build_announcement": lambda t, x: [
        event.build_announcement(t, _event(x), now=NOW),
        event.build_announcement(t, _event(x, link=x), now=NOW + timedelta(days=3)),
        event.build_announcement(t, _event(x, status=EventStatus.CANCELLED), now=NOW),
    ],
    "event.build_attendance_modal": lambda t, x: [
        event.build_attendance_modal(t, _event(x), suggested=PEOPLE)
    ],
    "event_changes.change_message": lambda t, x: [
        _render(t, event_changes.change_message(_event(x), tz="Asia/Tokyo", cancelled=c))
        for c in (True, False)
    ],
    "event.build_list": lambda t, x: [
        event.build_list(
            t,
            community_name=x,
            upcoming=[_event(x)],
            past=[_event(x)],
            tz="Europe/Paris",
            may_manage=True,
        )
    ],
    "event.build_modal": lambda t, x: [
        event.build_modal(
            t,
            community_id=3,
            community_name=x,
            default_tz="Europe/Paris",
            draft=EventDraft(x[:200], EventKind.WORKSHOP, None, None, 60, x[:64], x, x),
            event_id=7,
        )
    ],
    "event.rsvp_confirmation": lambda t, x: [
        event.rsvp_confirmation(t, _event(x), answer, tz="Europe/Paris") for answer in RsvpAnswer
    ],
    "health.build_community": lambda t, x: [health.build_community(t, _overview(x))],
    "health.browse_blocks": lambda t, x: [health.browse_blocks(t, _listing(x))],
    "health.sponsor_option": lambda t, x: [
        [
            ActionsBlock(
                elements=[
                    StaticSelectElement(
                        action_id="sponsor",
                        options=[health.sponsor_option(Sponsor("U0HUGO", x), Filters())],
                    )
                ]
            )
        ]
    ],
    "health.build_programme": lambda t, x: [
        health.build_programme(t, _overview(x), programme_name=x)
    ],
    "help.build_help": lambda t, x: [
        help.build_help(t, entries=[x], community=_community(x), role=Role.LEADER),
        help.build_help(t, entries=[x], community=_community(x), role=None),
    ],
    "home.build_home": lambda t, x: [home.build_home(t, _home(x), tz="Europe/Paris")],
    "poll.build_comment_modal": lambda t, x: [poll.build_comment_modal(t, poll_id=1, key="free")],
    "pulse.poll_message": lambda t, x: [
        _render(
            t,
            pulse.poll_message(
                poll_id=1, community=x, questions=_questions(x), closes_at=NOW, reminder=r
            ),
        )
        for r in (False, True)
    ],
    "pulse.results_message": lambda t, x: [
        _render(t, pulse.results_message(community=x, results=_results(x), min_answers=5))
    ],
    "pulse.summary_message": lambda t, x: [
        _render(t, pulse.summary_message(community=x, results=_results(x)))
    ],
    "digest.digest_message": lambda t, x: [
        _render(
            t,
            digest.digest_message(community=x, newcomers=[digest.Newcomer(PEOPLE[0], x, NOW)] * 41),
        )
    ],
    "sponsor_digest.community_message": lambda t, x: [
        _render(
            t,
            sponsor_digest.previewed(
                sponsor_digest.community_message(
                    name=x,
                    window=_QUARTER,
                    figures=Kpis(stories=2, value_by_unit={"hours": 16.0}),
                    item=_overview(x).items[0],
                    trend=[],
                    shared=[sponsor_digest.Shared(x, x, Decimal("16"), "hours", x)],
                ),
                sponsors=[PEOPLE[0]],
                day=NOW,
            ),
        )
    ],
    "sponsor_digest.programme_message": lambda t, x: [
        _render(
            t,
            sponsor_digest.programme_message(
                name=x,
                window=_QUARTER,
                figures=ProgrammeKpis(communities=1, stories=1),
                items=_overview(x).items,
                unsponsored=1,
                trend=[],
                shared=[sponsor_digest.Shared(x, x, None, None, x)],
            ),
        )
    ],
    "rituals.build_mute_status": lambda t, x: [
        rituals.build_mute_status(t, STATES, tz="Europe/Paris", done=x)
    ],
    "reminders.reminder_message": lambda t, x: [
        _render(t, reminders.reminder_message(title=x, starts_at=NOW, link=link))
        for link in (LINK, x, None)
    ],
    "rituals.build_rituals": lambda t, x: [
        rituals.build_rituals(
            t,
            community_id=3,
            community=x,
            tz="Europe/Paris",
            lines=[
                rituals.RitualLine(
                    "pulse", True, "monthly", ("monthly", "quarterly"), NOW, x, True
                ),
                rituals.RitualLine("welcome", False, None, (), None, x),
            ],
            may_edit=True,
        )
    ],
    "rituals.preference_blocks": lambda t, x: [rituals.preference_blocks(t, STATES, tz="UTC")],
    "story.build_modal": lambda t, x: [story.build_modal(t, community_id=3, community=x)],
    "stories.post_message": lambda t, x: [
        _render(t, stories.post_message(_story(x), author=author)) for author in (PEOPLE[0], None)
    ],
    "stories.prompt_message": lambda t, x: [
        _render(t, stories_ritual.prompt_message(community_id=3, community=x))
    ],
    "story.build_review": lambda t, x: [
        story.build_review(
            t, community=x, stories=[(_story(x), PEOPLE[0]), (_story(x), None)], may_validate=True
        )
    ],
    "story.build_story": lambda t, x: [story.build_story(t, _story(x), author=PEOPLE[1])],
    "welcome.welcome_message": lambda t, x: [
        _render(
            t,
            welcome_ritual.welcome_message(
                user_id=PEOPLE[0],
                community=x,
                channel_id=CHANNEL,
                mission=x,
                leaders=list(PEOPLE),
                next_event=(x, NOW),
                in_channel=in_channel,
                greeting=greeting,
            ),
        )
        for in_channel in (False, True)
        for greeting in (None, {t.language: "Hello {name}, welcome to {community} in {channel}"})
    ],
}
# Public functions of bot/slack/blocks that build no text from typed input: parsers of what
# Slack sends back, ids, and formatting helpers whose output the builders above include.
NOT_BUILDERS = {
    "charter.community_of",
    "charter.field_block",
    "charter.parse",
    "common.blocks_json",
    "common.input_values",
    "common.modal_metadata",
    "event.attendance_block",
    "event.field_block",
    "event.parse",
    "event.parse_attendance",
    "health.decode_state",
    "lifecycle.checklist_lines",  # catalogue sentences only, included by build_stage
    "lifecycle.checklist_text",
    "lifecycle.home_line",
    "lifecycle.kickoff_outline",
    "lifecycle.parse_apply",
    "lifecycle.parse_modal",
    "lifecycle.stage_name",
    "lifecycle.status_name",
    "lifecycle.suggestion_line",
    "health.encode_state",
    "health.survey",
    "objectives.field_block",
    "objectives.parse",
    "objectives.place_of",
    "poll.parse_comment",
    "rituals.parse_ritual",
    "rituals.parse_target",
    "story.parse_modal",
    "survey.parse_cover",
    "survey.parse_form",
    "survey.parse_hold",
}
CASES.update(compass_hostile.CASES)  # the compass's screens
NOT_BUILDERS |= compass_hostile.NOT_BUILDERS
CASES.update(stories_hostile.CASES)  # stories any day, testimonials, the showcase
NOT_BUILDERS |= stories_hostile.NOT_BUILDERS
CASES.update(discover_hostile.CASES)  # discover and join
NOT_BUILDERS |= discover_hostile.NOT_BUILDERS
CASES.update(leaders_hostile.CASES)  # the leaders' digest, the organiser's checklist
NOT_BUILDERS |= leaders_hostile.NOT_BUILDERS
CASES.update(proposals_hostile.CASES)  # proposing a community
NOT_BUILDERS |= proposals_hostile.NOT_BUILDERS
CASES.update(engagement_hostile.CASES)  # a person's own engagement tier
NOT_BUILDERS |= engagement_hostile.NOT_BUILDERS
CASES.update(series_hostile.CASES)  # recurring event series
NOT_BUILDERS |= series_hostile.NOT_BUILDERS
# builders that take no typed text at all (the corpus cannot reach them)
TAKE_NOTHING_TYPED = {
    "charter.roles_text",
    "poll.build_comment_modal",
    "rituals.preference_blocks",
    "survey.build_hold",
}


def _render(t: Translator, message: Message) -> tuple[str, list[dict[str, Any]]]:
    """A neutral message as Slack shows it to a reader of this language."""
    return render(message, Reader(t.language, "Europe/Paris"))


def public_functions() -> set[str]:
    """The Slack screens of bot/slack/blocks, and the neutral messages rituals and domain write."""
    found = set()
    for info in pkgutil.iter_modules(blocks_package.__path__):
        module = importlib.import_module(f"{blocks_package.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found.add(f"{info.name}.{name}")
    for info in pkgutil.iter_modules(rituals_package.__path__):
        module = importlib.import_module(f"{rituals_package.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and name.endswith("_message"):
                found.add(f"{info.name}.{name}")
    for info in pkgutil.iter_modules(bot_package.__path__):  # the domain's own messages
        if info.ispkg:
            continue
        module = importlib.import_module(f"{bot_package.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            gives = str(inspect.signature(fn).return_annotation)
            if fn.__module__ == module.__name__ and gives.split(".")[-1] == "Message":
                found.add(f"{info.name}.{name}")
    return found


def test_every_builder_has_a_hostile_case() -> None:
    """A new screen gets a case here (or is declared not to show text): it cannot be forgotten."""
    functions = public_functions()
    missing = functions - set(CASES) - NOT_BUILDERS
    assert not missing, f"add a hostile case to CASES for: {sorted(missing)}"
    assert not (set(CASES) | NOT_BUILDERS) - functions, "stale names in CASES / NOT_BUILDERS"


def test_only_the_echo_module_makes_mrkdwn_objects() -> None:
    """Block text reaches Slack through bot.slack.echo.mrkdwn (or section/note, which call it)."""
    offenders = []
    for folder in ("bot", "handlers", "rituals"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name in {"echo.py", "driver.py", "render.py"} or "emulator" in path.parts:
                continue  # echo writes mrkdwn; Slack's stand-in and the text renderer read it
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                named = (isinstance(node, ast.Name) and node.id == "MarkdownTextObject") or (
                    isinstance(node, ast.Constant) and node.value == "mrkdwn"
                )
                if named:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def plain_texts(obj: Any) -> list[str]:
    """plain_text objects and input values: Slack shows them raw, so they must not be escaped."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("type") == "plain_text":
            found.append(str(obj.get("text") or ""))
        if isinstance(obj.get("initial_value"), str):
            found.append(obj["initial_value"])
        for value in obj.values():
            found += plain_texts(value)
    elif isinstance(obj, list):
        for item in obj:
            found += plain_texts(item)
    return found


def outputs(result: Any) -> tuple[list[str], list[str], list[str]]:
    """(mrkdwn texts, plain texts, everything as a person reads it) of a builder's result; a
    message's top-level text counts as mrkdwn (Slack parses it)."""
    if isinstance(result, tuple):
        text, body = result
        assert isinstance(text, Mrkdwn), "a message's text must come out of bot.slack.echo"
        texts, plain, read = outputs(body)
        return [text, *texts], plain, [shown(text), *read]
    if isinstance(result, str):
        assert isinstance(result, Mrkdwn)
        return [result], [], [shown(result)]
    if isinstance(result, View):
        view = result.to_dict()
        return mrkdwn_texts(view), plain_texts(view), [render_blocks(view["blocks"])]
    as_dicts = [b.to_dict() if isinstance(b, Block) else b for b in result]
    return mrkdwn_texts(as_dicts), plain_texts(as_dicts), [render_blocks(as_dicts)]


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(typed=hostile, language=st.sampled_from(["fr", "en"]))
def test_no_builder_lets_typed_text_ping_or_pose_as_a_link(
    name: str, typed: str, language: str
) -> None:
    for result in CASES[name](translate(language), typed):
        texts, _, _ = outputs(result)
        for text in texts:
            leaked = [s for s in parsed_sequences(text) if foreign(s)]
            assert not leaked, (name, leaked, text[:300])


@pytest.mark.parametrize("name", sorted(set(CASES) - TAKE_NOTHING_TYPED))
def test_every_builder_shows_typed_text_as_typed(name: str) -> None:
    """Escaped once: Slack shows the probe exactly as it was typed (never `&lt;` on screen)."""
    for result in CASES[name](translate("fr"), PROBE):
        _, plain, read = outputs(result)
        assert any(PROBE in text for text in [*read, *plain]), (name, read, plain)
        assert not [p for p in plain if "&lt;" in p or "&amp;" in p], (name, plain)


# --- 3. end to end, over real HTTP ---------------------------------------------------------------

LEADER = "U0LUCAS"  # French leader of Data Science
EMILY = "U0EMILY"  # English member (New York)
TITLE = "Webinar <!channel> <!here>"
DESCRIPTION = (
    "Ask <@U0LEA> first, then read <https://evil.example|Official charter> <!subteam^S0ALL> "
    "&lt;!everyone&gt;"
)
JOIN = "https://visio.example.com/mlops?x=1&y=2"
MISSION = "Share practice <!channel> with <@U0LEA> — see <https://evil.example|Official charter>"


def parsed(bot: Bot, since: int = 0) -> set[str]:
    """Every `<…>` Slack would parse in what the bot sent (messages, ephemerals, replies,
    modals, Homes, file comments)."""
    return {sequence for _, sequence in bot.emulator.parsed_markup(since)}


def read(payload: dict[str, Any]) -> str:
    """The texts of a message, a modal or a Home as Slack shows them (escapes decoded)."""
    return "\n".join([*map(shown, mrkdwn_texts(payload)), *plain_texts(payload)])


async def _drain(bot: Bot) -> None:
    await Drain(bot.deps, rate_per_minute=60_000).run_once()


async def test_a_hostile_event_shows_as_typed_everywhere_and_pings_nobody(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    view = await open_modal(bot, "événement", user=LEADER)
    response = await bot.slack.submit_view(
        view["id"],
        user=LEADER,
        values=values(event_title=TITLE, event_description=DESCRIPTION, event_link=JOIN),
    )
    assert response.status_code == 200 and not response.content
    await eventually(lambda: bot.emulator.uploads)
    (row,) = await all_events(bot)
    assert (row.title, row.description, row.link) == (TITLE, DESCRIPTION, JOIN)  # kept as typed
    # the announcement in the channel
    announcement = announcements(bot)[-1]
    assert TITLE in announcement["text"].replace("&lt;", "<").replace("&gt;", ">")
    assert TITLE in read(announcement) and DESCRIPTION in read(announcement)
    assert f"Lien : <{JOIN}>" in read(announcement)  # our link to the address they gave
    # Emily says she is going: her reminders come by DM
    await bot.slack.click(
        user=EMILY, action_id=event.RSVP[RsvpAnswer.GOING], message=("C0DATA", announcement["ts"])
    )
    await eventually(lambda: [e for e in bot.emulator.responses if "Webinar" in str(e)])
    # the 24 h and the 1 h reminders, in the channel (French) and by DM (English)
    for before in (timedelta(hours=23), timedelta(minutes=50)):
        assert await reminders.plan(bot.deps, now=row.starts_at - before) == 2
        await _drain(bot)
    channel = [m for m in bot.emulator.messages["C0DATA"] if m["text"].startswith("⏰")]
    dms = [m for m in bot.emulator.messages["D0EMILY"] if m["text"].startswith("⏰")]
    assert len(channel) == 2 and len(dms) == 2
    for reminder in (*channel, *dms):
        assert TITLE in read(reminder) and JOIN in read(reminder)
    assert "Rappel : *Webinar <!channel> <!here>* commence" in read(channel[0])
    assert "Reminder: *Webinar <!channel> <!here>* starts" in read(dms[0])
    # the App Home of both, and `/cop event list`
    for user in (LEADER, EMILY):
        await bot.slack.open_home(user=user)
        home_view = await eventually(lambda user=user: bot.emulator.home_views.get(user))
        assert TITLE in read(home_view)
    since = len(bot.emulator.calls)
    await bot.slack.command("event list", user=LEADER, channel="C0DATA")
    listing = await bot.emulator.wait_for("chat.postEphemeral", since=since)
    assert TITLE in read(listing[-1].params)
    # nothing the bot sent in all this would ping, name a channel or link anywhere else
    assert parsed(bot) <= {"<#C0DATA>", f"<{JOIN.replace('&', '&amp;')}>"}, parsed(bot)


@pytest.mark.parametrize(
    "bad",
    [
        "https://evil.example|Official charter",
        "<https://evil.example|Official charter>",
        "javascript:alert(1)",
        "https://visio.example.com/a b",
        "https://official.example@evil.example/charter",
        "https://visio.example.com/\nDTSTART:20300101T000000Z",
    ],
)
async def test_a_link_that_is_not_a_plain_web_address_is_a_field_error(bot: Bot, bad: str) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER, EMILY))
    for user, said in (
        (LEADER, "Ce lien n'est pas une adresse web"),
        (EMILY, "This link is not a web address"),
    ):
        view = await open_modal(bot, "event", user=user)
        response = await bot.slack.submit_view(view["id"], user=user, values=values(event_link=bad))
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert set(errors) == {"event_link"} and errors["event_link"].startswith(said)
    assert await all_events(bot) == []


async def test_a_hostile_charter_mission_shows_as_typed_in_welcomes_and_the_public_charter(
    bot: Bot,
) -> None:
    community = await factories.community(bot.sessions, emulator=bot.emulator, leaders=(LEADER,))
    view = await open_modal(bot, "charte", user=LEADER)
    saved = len(bot.emulator.calls_to("chat.postEphemeral"))
    await bot.slack.submit_view(view["id"], user=LEADER, values={"charter_mission": MISSION})
    await bot.emulator.wait_for("chat.postEphemeral", count=saved + 1)
    # the welcome posted in the channel quotes the mission
    async with bot.sessions.begin() as session:
        await scheduler.settings_of(
            session, community=community, programme=bot.deps.programme, now=datetime.now(UTC)
        )
        await session.execute(
            sa.update(RitualSetting)
            .where(RitualSetting.ritual == Ritual.WELCOME)
            .values(delivery=Delivery.CHANNEL)
        )
    await bot.slack.join(user="U0JAMES", channel="C0DATA")
    await eventually(lambda: _outbox(bot, "welcome"))
    await _drain(bot)
    welcome_message = bot.emulator.messages["C0DATA"][-1]
    assert welcome_message["text"].startswith("👋 Bienvenue <@U0JAMES>")
    assert MISSION in read(welcome_message)
    # `/cop charter show --public` posts it in the channel, as typed
    since = len(bot.emulator.calls)
    await bot.slack.command("charter show --public", user=LEADER, channel="C0DATA")
    posted = await bot.emulator.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == "C0DATA", since=since
    )
    assert MISSION in read(posted[-1].params)
    # the newcomer, the leader and the channel (on the Home) are ours to name; nothing the
    # leader typed pings or links
    assert parsed(bot) <= {"<@U0JAMES>", "<@U0LUCAS>", "<#C0DATA>"}, parsed(bot)


async def test_a_hostile_success_story_is_posted_as_typed(bot: Bot) -> None:
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",), language="en"
    )
    await scheduler.run_now(bot.deps, ritual=Ritual.STORIES, community_id=community.id)
    await _drain(bot)
    prompt = bot.emulator.messages["C0DATA"][-1]
    before = set(bot.emulator.views)
    await bot.slack.click(
        user=EMILY, action_id=stories_ritual.SHARE, message=("C0DATA", prompt["ts"])
    )
    (view_id,) = await eventually(lambda: sorted(set(bot.emulator.views) - before))
    typed = {
        "title": "Saved 3 days <!here>",
        "context": "<!channel> we asked <@U0LEA>",
        "contribution": "<https://evil.example|Official charter>",
        "benefit": "&lt;!everyone&gt; <!subteam^S0ALL|@all>",
    }
    await bot.slack.submit_view(view_id, user=EMILY, values={**typed, "shareable": ["yes"]})
    (row,) = await eventually(lambda: _stories(bot))
    # the leader validates, then posts it (both from the review list, over HTTP)
    await _decide(bot, row.id, "validate")
    await eventually(lambda: _story_is(bot, row.id, StoryStatus.VALIDATED))
    await _decide(bot, row.id, "post")
    await eventually(lambda: _outbox(bot, "story_post"))
    await _drain(bot)
    posted = bot.emulator.messages["C0DATA"][-1]
    assert posted["text"].startswith("🌟")
    for text in typed.values():
        assert text in read(posted)
    assert parsed(bot) <= {"<@U0EMILY>"}, parsed(bot)  # the author, ours to credit


async def _decide(bot: Bot, story_id: int, verb: str) -> None:
    """A leader clicks `verb` (validate, post) on the story in `/cop stories`."""
    before = len(bot.emulator.responses)
    action_id = f"story_{verb}:{story_id}"
    await bot.slack.command("stories", user="U0CAMILLE", channel="C0DATA")
    listing = await eventually(lambda: _reply_with(bot, action_id, since=before))
    shown_list = bot.emulator.add_message(
        "C0DATA", user="UBOT", text=listing["text"], blocks=listing["blocks"]
    )
    await bot.slack.click(
        user="U0CAMILLE", action_id=action_id, message=("C0DATA", shown_list["ts"])
    )


def _reply_with(bot: Bot, action_id: str, *, since: int) -> dict[str, Any] | None:
    """The latest reply since `since` that carries `action_id` (an earlier click's answer may
    land in between: it is not the one asked for)."""
    found = [r for r in bot.emulator.responses[since:] if action_id in json.dumps(r)]
    return found[-1] if found else None


async def _outbox(bot: Bot, kind: str) -> bool:
    async with bot.sessions() as session:
        return bool(
            await session.scalar(sa.select(sa.func.count()).where(Outbox.kind.startswith(kind)))
        )


async def _stories(bot: Bot) -> list[SuccessStory]:
    async with bot.sessions() as session:
        return list(await session.scalars(sa.select(SuccessStory)))


async def _story_is(bot: Bot, story_id: int, status: StoryStatus) -> bool:
    async with bot.sessions() as session:
        found = await session.get(SuccessStory, story_id)
        return found is not None and found.status == status


# --- exports: control characters someone typed never break a file ----------------------------------

CONTROL_NAME = "Data\x01 Sci\x1b[31mence\x0b"
CONTROL_TITLE = "Gain\x0b rapide\x1b\x02"


@pytest.mark.slow
async def test_control_characters_never_break_an_export(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a community imported with a control character in its name (the domain stores it)…
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",), name=CONTROL_NAME
    )
    # …and a story whose title a member pasted with some, over HTTP
    await scheduler.run_now(bot.deps, ritual=Ritual.STORIES, community_id=community.id)
    await _drain(bot)
    prompt = bot.emulator.messages["C0DATA"][-1]
    before = set(bot.emulator.views)
    await bot.slack.click(
        user=EMILY, action_id=stories_ritual.SHARE, message=("C0DATA", prompt["ts"])
    )
    (view_id,) = await eventually(lambda: sorted(set(bot.emulator.views) - before))
    story_values = {"title": CONTROL_TITLE, "context": "c", "contribution": "k", "benefit": "b"}
    await bot.slack.submit_view(view_id, user=EMILY, values=story_values)
    (row,) = await eventually(lambda: _stories(bot))
    assert row.title == CONTROL_TITLE
    await _decide(bot, row.id, "validate")  # only validated stories are reported
    await eventually(lambda: _story_is(bot, row.id, StoryStatus.VALIDATED))
    # the programme manager's XLSX export from /cop health, over HTTP
    before_replies = len(bot.emulator.responses)
    await bot.slack.command("santé", user=MANAGER, channel="C0GEN")
    reply = await eventually(lambda: _reply_with(bot, health.EXPORT_XLSX, since=before_replies))
    shown_reply = bot.emulator.add_message("D0CAMILLE", user="UBOT", blocks=reply["blocks"])
    since = len(bot.emulator.calls)
    await bot.slack.click(
        user=MANAGER, action_id=health.EXPORT_XLSX, message=("D0CAMILLE", shown_reply["ts"])
    )
    await bot.emulator.wait_for(
        "files.completeUploadExternal", lambda c: ".xlsx" in json.dumps(c.params), since=since
    )
    upload = next(u for u in reversed(bot.emulator.uploads) if u["filename"].endswith(".xlsx"))
    sheet = load_workbook(io.BytesIO(upload["content"])).active
    assert sheet is not None
    assert "Data Sci[31mence" in [r[0] for r in sheet.iter_rows(values_only=True)]
    # the operator's `cop report`, in every format
    monkeypatch.setenv("COP_DATABASE_URL", bot.deps.config.settings.database_url)
    monkeypatch.chdir(tmp_path)
    year = str(datetime.now(UTC).year)
    for fmt in ("xlsx", "csv", "html"):
        out = tmp_path / f"report.{fmt}"
        argv = ["report", "--period", year, "--format", fmt, "--out", str(out)]
        assert await asyncio.to_thread(cli.main, argv) == 0
    book = load_workbook(tmp_path / "report.xlsx")
    cells = [c for sheet in book for r in sheet.iter_rows(values_only=True) for c in r]
    assert "Data Sci[31mence" in cells and "Gain rapide" in cells
    for fmt in ("csv", "html"):
        text = (tmp_path / f"report.{fmt}").read_text(encoding="utf-8-sig")
        assert "Data Sci[31mence" in text and not any(c in text for c in "\x01\x02\x0b\x1b")
    # and the operator's terminal: `cop health` prints the name without its escape sequence
    env = {**os.environ, "COP_DATABASE_URL": bot.deps.config.settings.database_url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "health", "--all"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Data Sci[31mence" in done.stdout and not any(c in done.stdout for c in "\x01\x0b\x1b")
