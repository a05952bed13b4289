"""Health statuses with their reasons, next actions and lifecycle stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import activity, health, lifecycle
from bot.config import HealthThresholds
from bot.disclosure import Rule
from bot.health import Signals, Status
from bot.i18n import translate
from bot.models import Stage, utcnow
from bot.slack.emulator import SlackEmulator, default_workspace
from tests import factories
from tests.factories import WORKSPACE

TODAY = date(2026, 11, 23)
TH = HealthThresholds()
# A year-old community with a fresh charter, an event last month, a fine pulse.
BASE = Signals(
    community_id=1,
    name="Data",
    slug="data",
    today=TODAY,
    created=TODAY - timedelta(days=400),
    stage=Stage.GROWTH,
    members=100,
    active_recent=30,
    active_previous=30,
    last_event=TODAY - timedelta(days=30),
    pulse_score=4.1,
    charter_date=TODAY - timedelta(days=60),
    charter_objectives_year=2026,
)


def keys(h: health.Health) -> list[str]:
    return [r.key.removeprefix("health.reason.") for r in h.reasons]


def test_steady_when_nothing_moves() -> None:
    h = health.assess(BASE, TH)
    assert h.status == Status.STEADY
    assert keys(h) == ["good_pulse"]
    assert h.action.key == "health.action.keep_going" and h.stage == Stage.GROWTH
    assert h.active_rate == 0.3 and h.trend == 0.0


def test_thriving_when_active_members_grow() -> None:
    h = health.assess(replace(BASE, active_recent=36), TH)  # +20 % ≥ 10 %
    assert h.status == Status.THRIVING
    assert keys(h) == ["active_growth", "good_pulse"]
    assert h.reasons[0].params["growth"] == 0.2
    assert h.action.key == "health.action.share_story" and h.stage == Stage.GROWTH


def test_at_risk_when_active_members_drop() -> None:
    h = health.assess(replace(BASE, active_recent=20), TH)  # −33 % ≤ −25 %
    assert h.status == Status.AT_RISK
    assert keys(h) == ["active_drop", "good_pulse"]
    assert h.action.key == "health.action.reengage"
    t = translate("fr")
    assert health.explain(t, h.reasons[0]) == (
        "membres actifs en baisse de 33\u00a0% sur 8 semaines (30 → 20)"
    )
    assert health.explain(translate("en"), h.reasons[0]) == (
        "active members down 33% over 8 weeks (30 → 20)"  # Translator.percent
    )


def test_at_risk_with_two_concerns_and_the_event_gap_first() -> None:
    h = health.assess(replace(BASE, last_event=TODAY - timedelta(days=120), pulse_score=2.5), TH)
    assert h.status == Status.AT_RISK
    assert keys(h) == ["no_event", "low_pulse"]
    assert h.reasons[0].params == {"days": 120}
    assert h.action.key == "health.action.plan_event"
    assert health.explain(translate("en"), h.action) == "plan a webinar or a meet-up"


def test_a_stale_charter_alone_keeps_it_steady_with_the_advice() -> None:
    h = health.assess(replace(BASE, charter_objectives_year=2025), TH)
    assert h.status == Status.STEADY
    assert keys(h) == ["charter_stale", "good_pulse"]
    assert h.action.key == "health.action.charter"


def test_dormant_when_nobody_speaks_and_no_event() -> None:
    h = health.assess(
        replace(BASE, active_recent=1, active_previous=3, last_event=None, pulse_score=None), TH
    )
    assert h.status == Status.DORMANT
    assert keys(h) == ["inactive", "active_drop", "no_event_ever"]
    # the stage people set stays; bot.lifecycle suggests reorientation, and says why
    assert h.action.key == "health.action.redesign" and h.stage == Stage.GROWTH
    suggestion = lifecycle.suggest(h)
    assert suggestion is not None and suggestion.stage == Stage.REORIENTATION
    assert [r.key for r in suggestion.reasons] == [
        "health.reason.inactive",
        "health.reason.no_event_ever",
    ]
    assert health.explain(translate("fr"), h.action) == (
        "en sommeil : envisager une refonte avec le sponsor"
    )


def test_an_upcoming_event_keeps_a_quiet_community_out_of_dormancy() -> None:
    h = health.assess(
        replace(BASE, active_recent=1, active_previous=1, next_event=TODAY + timedelta(days=5)),
        TH,
    )
    assert h.status == Status.AT_RISK and "event_planned" in keys(h)


def test_no_data_never_divides_by_zero() -> None:
    empty = Signals(1, "Vide", "vide", TODAY, TODAY - timedelta(days=40))
    h = health.assess(empty, TH)
    assert h.status == Status.NO_DATA and h.active_rate is None and h.trend is None
    assert keys(h) == ["no_data"] and h.stage == Stage.LAUNCH  # the stored one (the default)
    # members but no activity ever: a rate of 0, no trend, no crash
    h = health.assess(replace(BASE, active_recent=0, active_previous=0), TH)
    assert h.active_rate == 0.0 and h.trend is None


def test_thresholds_come_from_the_programme() -> None:
    strict = HealthThresholds(at_risk_drop=0.5, thriving_growth=0.5)
    assert health.assess(replace(BASE, active_recent=20), strict).status == Status.STEADY
    assert health.assess(replace(BASE, active_recent=36), strict).status == Status.STEADY


async def test_gather_reads_the_signals_and_ranks_by_concern(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    emu = SlackEmulator(default_workspace())
    lively = await factories.community(sessions, emulator=emu, channel="C0DATA", age_days=45)
    quiet = await factories.community(
        sessions, emulator=emu, channel="C0AGILE", name="Agilité", age_days=45
    )
    empty = await factories.community(
        sessions, channel="C0GEN", name="Vide", members=(), age_days=45
    )
    today = utcnow().date()
    async with sessions.begin() as session:
        await activity.add(
            session,
            workspace_id=WORKSPACE,
            tallies=[
                activity.Tally(lively.id, "U0LUCAS", today, messages=3),
                activity.Tally(lively.id, "U0CHLOE", today - timedelta(days=70), replies=1),
            ],
        )
    async with sessions() as session:
        items = await health.overview(
            session, workspace_id=WORKSPACE, today=today, thresholds=TH, rule=Rule(min_answers=5)
        )
    by = {h.signals.community_id: h for h in items}
    assert by[lively.id].signals.active_recent == 1
    assert by[lively.id].signals.active_previous == 1
    assert by[lively.id].signals.messages_recent == 3
    assert by[quiet.id].status == Status.AT_RISK and by[empty.id].status == Status.NO_DATA
    assert [h.signals.community_id for h in items][:2] == [quiet.id, empty.id]
