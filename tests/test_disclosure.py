"""Disclosure: a survey question's results show only from k answers to that question, once the
poll is closed — on every surface: /cop health (leader and manager), the results DM, the channel
summary, the exports, the snapshots, the sponsor report and the CLI."""

from __future__ import annotations

import ast
import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot import cli, config, periods, polls
from bot.disclosure import Cell, Rule, Withheld
from bot.i18n import translate
from bot.models import KpiSnapshot, Poll, PollResponse, Ritual, RitualSetting, utcnow
from bot.slack.render import render_message
from rituals import pulse, scheduler, snapshots
from rituals.outbox import Drain
from tests import factories
from tests.catalogue import ANY, FR, shows
from tests.conftest import MANAGER, Bot, eventually

ROOT = Path(__file__).resolve().parent.parent
RULE = Rule(min_answers=5)

# --- the rule itself, as a table ------------------------------------------------------------


def cell(answers: int, *, closed: bool = True, community: int = 1, score: int = 3) -> Cell:
    return Cell(
        poll_id=community * 100 + answers,
        community_id=community,
        question_key="value",
        closed=closed,
        answers=answers,
        scores={score: answers},
    )


@pytest.mark.parametrize(
    ("cells", "shown", "withheld"),
    [
        ([cell(5)], True, None),
        ([cell(4)], False, Withheld.TOO_FEW),
        ([cell(9, closed=False)], False, Withheld.OPEN),
        ([cell(1, closed=False), cell(4)], False, Withheld.TOO_FEW),
        ([cell(2), cell(7)], True, None),  # the cell under k does not count for the community
        ([], False, None),
    ],
)
def test_a_community_sees_only_closed_questions_with_k_answers(
    cells: list[Cell], shown: bool, withheld: Withheld | None
) -> None:
    figure = RULE.for_community(cells)
    assert figure.shown is shown and figure.withheld == withheld
    if shown:
        assert figure.answers == sum(c.answers for c in cells if c.answers >= 5)


def test_small_communities_roll_up_in_whole_batches_of_k() -> None:
    big = cell(10, community=1, score=4)
    small = [cell(2, community=c, score=1) for c in (2, 3, 4, 5)]  # closing in this order
    batches = RULE.cut((c.id, c.answers) for c in small)
    assert [sorted(b) for b in batches.cells] == [sorted(c.id for c in small[:3])]  # 2+2+2 ≥ 5
    # one lonely answer would be the programme figure minus community 1: it is left out
    alone = RULE.for_programme([big, cell(1, community=6, score=1)], batches=batches)
    assert (alone.answers, alone.mean) == (10, 4.0)
    # the complete batch rolls up; the fourth small cell waits for more answers to come
    programme = RULE.for_programme([big, *small], batches=batches)
    assert programme.answers == 16 and programme.mean == pytest.approx((40 + 6) / 16, 0.01)
    # a period that holds only part of a batch takes none of it: a difference between two
    # periods (or two days) is always whole cells of k, or whole batches of k
    partial = RULE.for_programme([big, *small[:2]], batches=batches)
    assert partial.answers == 10
    # still nothing of an open poll
    assert not RULE.for_programme([cell(30, closed=False)], batches=batches).shown


def test_the_threshold_is_never_below_three() -> None:
    assert config.Programme(name="P").privacy.min_answers == 5
    with pytest.raises(ValueError, match="greater than or equal to 3"):
        config.Programme(name="P", privacy={"min_answers": 2})
    # an older app.yaml that set it under rituals.pulse keeps working, and is checked the same
    moved = config.Programme.model_validate({"name": "P", "rituals": {"pulse": {"min_answers": 7}}})
    assert moved.privacy.min_answers == 7
    with pytest.raises(ValueError, match="greater than or equal to 3"):
        config.Programme.model_validate({"name": "P", "rituals": {"pulse": {"min_answers": 1}}})


def test_only_the_guard_reads_answers() -> None:
    """A new screen cannot forget the rule: answers (PollResponse) are read in two modules only."""
    readers = set()
    for path in [
        *ROOT.glob("bot/**/*.py"),
        *ROOT.glob("handlers/*.py"),
        *ROOT.glob("rituals/*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(
            (isinstance(n, ast.Name) and n.id == "PollResponse")
            or (isinstance(n, ast.Attribute) and n.attr == "PollResponse")
            or (isinstance(n, ast.Constant) and "poll_response" in str(n.value))
            for n in ast.walk(tree)
        ):
            readers.add(path.relative_to(ROOT).as_posix())
    # models defines it, polls writes answers (and gives a member back their own while the
    # poll is open), disclosure reads them; the large demo generates closed polls' answers
    # (pulse and survey); privacy counts nothing of them
    assert readers <= {
        "bot/models.py",
        "bot/polls.py",
        "bot/disclosure.py",
        "bot/demo/large.py",
        "bot/demo/survey.py",
    }


# --- over HTTP: the 9-member community of the issue ---------------------------------------------


async def _general(bot: Bot) -> int:
    """Général: every human of the workspace (nine active, one deactivated), led by Léa."""
    community = await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0GEN", name="Général", leaders=("U0LEA",)
    )
    await scheduler.run_now(bot.deps, ritual=Ritual.PULSE, community_id=community.id)
    async with bot.sessions.begin() as session:  # the leader allows a channel summary
        setting = await session.scalar(
            sa.select(RitualSetting).where(
                RitualSetting.community_id == community.id, RitualSetting.ritual == Ritual.PULSE
            )
        )
        assert setting is not None
        setting.options = {**setting.options, "share_summary": True}
    await Drain(bot.deps, rate_per_minute=60000).run_once()
    return community.id


async def _answer(bot: Bot, user: str, question: str, score: int) -> None:
    channel = bot.emulator.dm_channel_for(user)
    message = bot.emulator.messages[channel][0]
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user=user, action_id=f"pulse_answer:{question}:{score}", message=(channel, message["ts"])
    )
    await eventually(lambda: bot.emulator.responses[before:], timeout=20)


async def _ask(bot: Bot, text: str, *, user: str, channel: str) -> str:
    before = len(bot.emulator.responses)
    await bot.slack.command(text, user=user, channel=channel)
    replies = await eventually(lambda: bot.emulator.responses[before:], timeout=20)
    return " ".join(render_message(replies[-1]).split())  # one line: the renderer wraps


async def _close(bot: Bot) -> None:
    async with bot.sessions() as session:
        poll = await session.scalar(sa.select(Poll))
    assert poll is not None
    await pulse.maintain(bot.deps, now=poll.closes_at + timedelta(minutes=1))
    await Drain(bot.deps, rate_per_minute=60000).run_once()


def _results_dm(bot: Bot) -> str:
    """The poll's results in Léa's DMs (a chart from an earlier /cop health may come after)."""
    dms = bot.emulator.messages[bot.emulator.dm_channel_for("U0LEA")]
    return next(
        render_message(m) for m in reversed(dms) if str(m.get("text", "")).startswith("Résultats")
    )


def _no_score(text: str) -> None:
    for leak in ("1 / 5", "1,0 / 5", "-100", "−100", "humeur 1", "pulse 1 "):
        assert leak not in text, (leak, text)


async def test_one_answer_shows_nowhere_open_or_closed(bot: Bot) -> None:
    """One member answers with the lowest scores: the leader's and the manager's /cop health say
    the poll is open, then that there are too few answers; the results DM and the channel say
    nothing of the scores."""
    await _general(bot)
    await _answer(bot, "U0LUCAS", "value", 1)
    await _answer(bot, "U0LUCAS", "recommend", 0)
    leader = await _ask(bot, "santé", user="U0LEA", channel="C0GEN")
    assert FR("health.withheld.open") in leader
    _no_score(leader)
    manager = await _ask(bot, "santé programme", user=MANAGER, channel="C0DATA")
    _no_score(manager)

    await _close(bot)
    results = _results_dm(bot)
    assert shows(results, FR, "polls.results_rate", respondents=1, asked=9, rate=ANY)
    too_few = FR("polls.question_too_few", answers=1, min=5)
    assert results.count(too_few) == 2  # value, recommend
    assert FR("polls.no_answer") in results  # the comment question
    _no_score(results)
    assert "Moyenne" not in results and "eNPS" not in results
    channel = [render_message(m) for m in bot.emulator.messages.get("C0GEN", [])]
    assert not any("Utilité perçue" in m or "eNPS" in m for m in channel)
    after = await _ask(bot, "santé", user="U0LEA", channel="C0GEN")
    assert FR("health.withheld.too_few", answers=1) in after
    _no_score(after)


async def test_each_question_is_judged_alone(bot: Bot) -> None:
    """Six answer the first question, one the NPS question: the mean shows, the eNPS does not —
    not in the results DM, not in the channel summary, not in /cop health."""
    await _general(bot)
    for user, score in zip(
        ("U0LUCAS", "U0CHLOE", "U0HUGO", "U0NATHAN", "U0MANON", "U0CAMILLE"),
        (4, 4, 5, 3, 4, 4),
        strict=True,
    ):
        await _answer(bot, user, "value", score)
    await _answer(bot, "U0LUCAS", "recommend", 0)
    await _close(bot)
    results = _results_dm(bot)
    assert FR("polls.results_mean", mean=FR.number(4, 1), answers=6) in results
    assert FR("polls.question_too_few", answers=1, min=5) in results
    assert "eNPS" not in results  # no label of it at all, whatever the message
    summary = bot.emulator.messages["C0GEN"][-1]["text"]
    assert FR("polls.summary_mean", mean=FR.number(4, 1), max=FR.number(5)) in summary
    assert "eNPS" not in summary
    health = await _ask(bot, "santé", user="U0LEA", channel="C0GEN")
    assert FR("health.with_n", value=f"{FR.number(4)} / {FR.number(5)}", answers=6) in health
    assert FR("health.withheld.too_few", answers=1) in health  # the eNPS; the mood shows
    _no_score(health)


async def test_exports_snapshots_report_and_cli_follow_the_rule(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await _general(bot)
    await _answer(bot, "U0LUCAS", "value", 1)
    await _answer(bot, "U0LUCAS", "recommend", 0)
    await _close(bot)
    # the daily snapshots (read by /cop health and the reports)
    await snapshots.run_for(bot.deps)
    async with bot.sessions() as session:
        metrics = list(await session.scalars(sa.select(KpiSnapshot.metrics)))
    assert metrics and all(m["pulse_score"] is None and m["enps"] is None for m in metrics)
    assert {m["pulse_withheld"] for m in metrics} <= {"too_few", None}
    # the CSV export of /cop health
    reply = await _ask(bot, "santé", user=MANAGER, channel="C0DATA")
    del reply
    shown = bot.emulator.add_message(
        bot.emulator.dm_channel_for(MANAGER),
        user="UBOT",
        blocks=bot.emulator.responses[-1]["blocks"],
    )
    before = len(bot.emulator.uploads)
    await bot.slack.click(
        user=MANAGER,
        action_id="health_export_csv",
        message=(bot.emulator.dm_channel_for(MANAGER), shown["ts"]),
    )
    # the overview's chart may still be on its way: wait for the CSV itself
    exported = await eventually(
        lambda: [u for u in bot.emulator.uploads[before:] if u["filename"].endswith(".csv")]
    )
    rows = list(csv.reader(io.StringIO(exported[-1]["content"].decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    pulse_columns = [header.index(FR("figure.pulse"))]
    assert pulse_columns and all(row[i] in ("", "—") for row in rows[1:] for i in pulse_columns)
    # the sponsor report and the CLI, on the same database
    monkeypatch.setenv("COP_DATABASE_URL", bot.deps.config.settings.database_url)
    monkeypatch.chdir(tmp_path)
    period = periods.to_date(periods.Period.YEAR, utcnow().date()).label
    assert (
        await asyncio.to_thread(
            cli.main, ["report", "--period", period, "--format", "csv", "--out", "r.csv"]
        )
        == 0
    )
    table = list(
        csv.reader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig")), delimiter=";")
    )
    general = next(row for row in table if row[0] == "Général")
    for column in (translate("fr")("figure.pulse"), translate("fr")("figure.enps")):
        assert general[table[0].index(column)] == "", column
    assert await asyncio.to_thread(cli.main, ["health", "--lang", "fr"]) == 0
    _no_score(capsys.readouterr().out)


async def test_results_read_from_the_database_only_through_the_rule(bot: Bot) -> None:
    """polls.results on an open poll: the rate, never a figure."""
    await _general(bot)
    for user in ("U0LUCAS", "U0CHLOE", "U0HUGO", "U0NATHAN", "U0MANON", "U0CAMILLE"):
        await _answer(bot, user, "value", 2)
    async with bot.sessions() as session:
        poll = await session.scalar(sa.select(Poll))
        assert poll is not None
        result = await polls.results(session, poll=poll, rule=bot.deps.disclosure)
    assert result.respondents == 6 and result.asked == 9
    value: Any = result.questions[0].figure
    assert value.withheld == Withheld.OPEN and value.mean is None and not result.shown


async def test_small_polls_never_add_up_for_one_community(bot: Bot) -> None:
    """Two closed polls with three answers each: six answers, but each question of each poll is
    under five. The community's own /cop health shows neither, however its figures are summed."""
    community_id = await _general(bot)
    async with bot.sessions.begin() as session:
        await session.execute(sa.delete(Poll))
        now = utcnow()
        for period, scores in (("2026-09", (1, 1, 2)), ("2026-10", (1, 2, 1))):
            poll = Poll(
                workspace_id="T0COP",
                community_id=community_id,
                period_key=period,
                questions=[],
                opens_at=now - timedelta(days=20),
                closes_at=now - timedelta(days=13),
                closed_at=now - timedelta(days=13),
                status="closed",
            )
            session.add(poll)
            await session.flush()
            for n, score in enumerate(scores):
                session.add(
                    PollResponse(
                        workspace_id="T0COP",
                        poll_id=poll.id,
                        ballot=f"{period}-{n}",
                        question_key="value",
                        score=score,
                    )
                )
    health = await _ask(bot, "santé", user="U0LEA", channel="C0GEN")
    assert FR("health.withheld.too_few", answers=6) in health
    _no_score(health)
    assert "1,3" not in health and not shows(health, FR, "health.with_n", value=ANY, answers=6)
