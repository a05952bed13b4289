"""The annual member survey end to end, over HTTP against the emulator: one invitation per member
in their language, a questionnaire with every kind of question, answers that can change until
close, one reminder to those who have not answered, ballots unlinked at close, the disclosure
rule per community and per programme, results held back by a leader, the manager's view, year
over year, and app.yaml's survey section checked with one-line errors."""

from __future__ import annotations

import asyncio
import html
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot import disclosure, kpis, periods, polls, report, survey
from bot.config import ConfigError, load_programme
from bot.dashboard import links
from bot.models import (
    Community,
    CompassAssessment,
    CompassResponse,
    Outbox,
    Person,
    Poll,
    PollResponse,
    SurveyCampaign,
    utcnow,
)
from rituals import survey as ritual
from rituals.outbox import Drain
from rituals.outbox.enqueueing import enqueue
from tests import factories
from tests.catalogue import ANY, EN, FR, shows
from tests.conftest import MANAGER, Bot, command_answer, eventually, make_config, running_bot

COMMUNITIES = (
    ("C0DATA", "Data Science", "U0CAMILLE"),
    ("C0AGILE", "Agilité", "U0LEA"),
    ("C0SEC", "Sécurité", "U0HUGO"),
)
EVERY_KIND = {
    "q_participation": "1",  # single: the option's index
    "q_activities": ["0", "2"],  # multiple: options 0 and 2 → bit mask 0b101
    "q_belonging": "4",  # scale 1–5 (radio buttons)
    "q_usefulness": "5",
    "q_nps": "9",  # NPS 0–10 (a select)
    "q_gains": ["1"],
    "q_example": "J'ai trouvé un binôme pour mon projet",
}


async def _setup(bot: Bot, count: int = 1) -> dict[str, int]:
    """The communities, this year's campaign open, the invitations sent: poll id by channel."""
    for channel, name, leader in COMMUNITIES[:count]:
        await factories.community(
            bot.sessions, emulator=bot.emulator, channel=channel, name=name, leaders=(leader,)
        )
    await ritual.open_campaign(bot.deps, workspace_id=factories.WORKSPACE, now=utcnow())
    await _drain(bot)
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(Community.channel_id, Poll.id)
            .join(Community, Community.id == Poll.community_id)
            .where(Poll.kind == "survey")
        )
        return {str(channel): int(poll_id) for channel, poll_id in rows.all()}


async def _drain(bot: Bot, now: datetime | None = None) -> None:
    await Drain(bot.deps, rate_per_minute=60000).run_once(now=now)


def _dms(bot: Bot, user: str) -> list[dict[str, Any]]:
    return list(bot.emulator.messages.get("D" + user[1:], []))


def _invitations(bot: Bot, user: str) -> list[dict[str, Any]]:
    return [m for m in _dms(bot, user) if "survey_answer:" in json.dumps(m.get("blocks"))]


async def _open_form(bot: Bot, user: str, poll_id: int) -> dict[str, Any]:
    action = f"survey_answer:{poll_id}"
    message = next(m for m in _invitations(bot, user) if action in json.dumps(m["blocks"]))
    before = set(bot.emulator.views)
    await bot.slack.click(
        user=user, action_id=f"survey_answer:{poll_id}", message=("D" + user[1:], message["ts"])
    )
    new = await eventually(lambda: [v for v in bot.emulator.views if v not in before])
    return {"id": new[-1], **bot.emulator.views[new[-1]]}


async def _answer(bot: Bot, user: str, poll_id: int, values: dict[str, Any]) -> Any:
    form = await _open_form(bot, user, poll_id)
    before = len(_dms(bot, user))
    response = await bot.slack.submit_view(form["id"], user=user, values=values)
    assert response.status_code == 200
    if response.content:
        return response.json()
    await eventually(lambda: len(_dms(bot, user)) > before)
    return None


async def _scores(bot: Bot, poll_id: int) -> list[tuple[str, int | None, str | None]]:
    async with bot.sessions() as session:
        rows = await session.execute(
            sa.select(PollResponse.question_key, PollResponse.score, PollResponse.comment).where(
                PollResponse.poll_id == poll_id
            )
        )
        return sorted(rows.all(), key=lambda r: (r[0], r[1] or 0, r[2] or ""))


async def _command(bot: Bot, user: str, text: str, channel: str = "C0GEN") -> dict[str, Any]:
    return await command_answer(bot, text, user=user, channel=channel)


# --- answering -------------------------------------------------------------------------------------


async def test_a_member_answers_every_kind_in_french_and_changes_an_answer(bot: Bot) -> None:
    polls_by_channel = await _setup(bot)
    data = polls_by_channel["C0DATA"]
    invitation = _invitations(bot, "U0LUCAS")[0]
    assert invitation["text"] == FR("survey.title", year=utcnow().year)
    assert "Vous êtes membre de Data Science" in json.dumps(
        invitation["blocks"], ensure_ascii=False
    )
    form = await _open_form(bot, "U0LUCAS", data)
    kinds = {b["block_id"]: b["element"]["type"] for b in form["blocks"] if b["type"] == "input"}
    assert kinds == {
        "q_participation": "radio_buttons",
        "q_activities": "checkboxes",
        "q_belonging": "radio_buttons",
        "q_usefulness": "radio_buttons",
        "q_nps": "static_select",
        "q_gains": "checkboxes",
        "q_example": "plain_text_input",
    }
    assert "À quelle fréquence" in json.dumps(form["blocks"], ensure_ascii=False)
    await _answer(bot, "U0LUCAS", data, EVERY_KIND)
    assert _dms(bot, "U0LUCAS")[-1]["text"] == FR("survey.thanks", community="Data Science")
    assert await _scores(bot, data) == [
        ("activities", 0b101, None),
        ("belonging", 4, None),
        ("example", None, "J'ai trouvé un binôme pour mon projet"),
        ("gains", 0b10, None),
        ("nps", 9, None),
        ("participation", 1, None),
        ("usefulness", 5, None),
    ]
    # the form comes back with his answers; he changes two and clears an optional one
    again = await _open_form(bot, "U0LUCAS", data)
    nps = next(b for b in again["blocks"] if b.get("block_id") == "q_nps")
    assert nps["element"]["initial_option"]["value"] == "9"
    await _answer(
        bot, "U0LUCAS", data, {**EVERY_KIND, "q_nps": "3", "q_example": "", "q_gains": []}
    )
    scores = await _scores(bot, data)
    assert ("nps", 3, None) in scores and ("nps", 9, None) not in scores
    assert {k for k, _, _ in scores} == {
        "activities",
        "belonging",
        "nps",
        "participation",
        "usefulness",
    }


async def test_an_english_member_gets_english_and_a_missing_answer_is_refused(bot: Bot) -> None:
    data = (await _setup(bot))["C0DATA"]
    invitation = _invitations(bot, "U0EMILY")[0]
    assert invitation["text"] == EN("survey.title", year=utcnow().year)
    form = await _open_form(bot, "U0EMILY", data)
    assert "How often do you take part" in json.dumps(form["blocks"])
    refused = await _answer(bot, "U0EMILY", data, {**EVERY_KIND, "q_belonging": None})
    assert refused == {
        "response_action": "errors",
        "errors": {"q_belonging": EN("survey.required")},
    }
    assert await _scores(bot, data) == []


async def test_a_member_of_several_communities_gets_one_invitation_with_a_button_each(
    bot: Bot,
) -> None:
    by_channel = await _setup(bot, count=3)
    lucas = _invitations(bot, "U0LUCAS")  # Data Science and Sécurité
    assert len(lucas) == 1
    body = json.dumps(lucas[0]["blocks"], ensure_ascii=False)
    assert f"survey_answer:{by_channel['C0DATA']}" in body
    assert f"survey_answer:{by_channel['C0SEC']}" in body
    assert f"survey_answer:{by_channel['C0AGILE']}" not in body
    assert "Data Science et Sécurité" in body  # the cover names both


# --- reminder and close ------------------------------------------------------------------------------


async def test_the_reminder_goes_only_to_those_who_have_not_answered(bot: Bot) -> None:
    by_channel = await _setup(bot, count=3)
    await _answer(bot, "U0LUCAS", by_channel["C0DATA"], EVERY_KIND)  # not Sécurité
    await _answer(bot, "U0EMILY", by_channel["C0DATA"], EVERY_KIND)
    async with bot.sessions() as session:
        row = await survey.latest(session, workspace_id=factories.WORKSPACE)
    assert row is not None
    later = row.opens_at + timedelta(days=7, minutes=1)
    await ritual.maintain(bot.deps, now=later)
    await ritual.maintain(bot.deps, now=later + timedelta(hours=1))  # once only
    await _drain(bot)

    def reminders(user: str) -> list[dict[str, Any]]:
        return [
            m for m in _invitations(bot, user) if "rappel" in m["text"] or "reminder" in m["text"]
        ]

    assert reminders("U0EMILY") == []
    assert len(reminders("U0CHLOE")) == 1
    lucas = reminders("U0LUCAS")
    assert len(lucas) == 1
    body = json.dumps(lucas[0]["blocks"], ensure_ascii=False)
    assert f"survey_answer:{by_channel['C0SEC']}" in body
    assert f"survey_answer:{by_channel['C0DATA']}" not in body


async def test_closing_unlinks_the_ballots_and_answers_are_refused_after(bot: Bot) -> None:
    data = (await _setup(bot))["C0DATA"]
    await _answer(bot, "U0LUCAS", data, EVERY_KIND)
    async with bot.sessions() as session:
        poll = await session.get(Poll, data)
        lucas = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == "U0LUCAS"))
        assert poll is not None and poll.ballot_salt is not None and lucas is not None
        mine = polls.ballot(bot.deps.ballot_key, poll.ballot_salt, lucas)
        row = await survey.latest(session, workspace_id=factories.WORKSPACE)
    assert row is not None
    await ritual.maintain(bot.deps, now=row.closes_at + timedelta(minutes=1))
    async with bot.sessions() as session:
        poll = await session.get(Poll, data)
        ballots = set(
            await session.scalars(
                sa.select(PollResponse.ballot).where(PollResponse.poll_id == data)
            )
        )
        assert poll is not None
        assert poll.status == "closed" and poll.ballot_salt is None
    assert len(ballots) == 1 and mine not in ballots
    before = len(bot.emulator.responses)
    await bot.slack.click(
        user="U0LUCAS",
        action_id=f"survey_answer:{data}",
        message=("D0LUCAS", _invitations(bot, "U0LUCAS")[0]["ts"]),
    )
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert FR("polls.closed") in replies[-1]["text"]


# --- results: the disclosure rule ------------------------------------------------------------------


ANSWERS = {
    "C0DATA": ("U0CAMILLE", "U0LUCAS", "U0CHLOE", "U0HUGO", "U0EMILY"),  # five: k reached
    "C0AGILE": ("U0LEA", "U0NATHAN"),  # two
    "C0SEC": ("U0HUGO", "U0NATHAN", "U0LUCAS"),  # three
}


async def _answered_and_closed(bot: Bot) -> dict[str, int]:
    by_channel = await _setup(bot, count=3)
    for channel, users in ANSWERS.items():
        for i, user in enumerate(users):
            values = {**EVERY_KIND, "q_belonging": str(3 + i % 3), "q_example": f"Exemple {user}"}
            await _answer(bot, user, by_channel[channel], values)
    async with bot.sessions() as session:
        row = await survey.latest(session, workspace_id=factories.WORKSPACE)
    assert row is not None
    await ritual.close_campaign(bot.deps, campaign_id=row.id, now=utcnow())
    await _drain(bot)
    return by_channel


async def test_a_community_under_k_shows_nothing_but_counts_in_the_programme(bot: Bot) -> None:
    await _answered_and_closed(bot)
    # the leaders get their results at close, with the date they will be posted
    data = _dms(bot, "U0CAMILLE")[-1]
    assert shows(
        data["text"], FR, "survey.leaders_notice", community="Data Science", channel=ANY, when=ANY
    )
    body = json.dumps(data["blocks"], ensure_ascii=False)
    assert FR("survey.mean", mean=FR.number(3.8, 1), max=5, answers=5) in body
    assert "Exemple U0LUCAS" in body  # comments shown: five answered that question
    sec = json.dumps(_dms(bot, "U0HUGO")[-1]["blocks"], ensure_ascii=False)
    assert FR("survey.too_few", answers=3, min=5) in sec
    assert "Exemple U0NATHAN" not in sec and "Exemple" not in sec
    # nothing in the channels yet (the hold-back delay); then time passes
    assert not bot.emulator.messages.get("C0SEC")
    await _drain(bot, now=utcnow() + timedelta(hours=49))
    posted = json.dumps(bot.emulator.messages["C0DATA"][-1]["blocks"], ensure_ascii=False)
    assert shows(posted, FR, "survey.results_title", community="Data Science", year=ANY)
    sec_posted = json.dumps(bot.emulator.messages["C0SEC"][-1]["blocks"], ensure_ascii=False)
    assert FR("survey.too_few", answers=3, min=5) in sec_posted and "Exemple" not in sec_posted
    # the programme: Agilité (2) and Sécurité (3) make one batch of five, counted whole
    reply = await _command(bot, MANAGER, "enquête")
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "(10 réponses)" in text
    assert "Exemple" not in text  # comments stay with their community
    # /cop health: the programme's survey line, and Sécurité's own withheld figure
    health = json.dumps((await _command(bot, MANAGER, "santé"))["blocks"], ensure_ascii=False)
    assert shows(health, FR, "survey.health_line", year=ANY, respondents=10, asked=13, rate=ANY)
    belonging = FR(
        "health.with_n_programme", value=f"{FR.number(3.8)} / 5", answers=10, communities=3, of=3
    )
    assert belonging in health
    sec = json.dumps(
        (await _command(bot, "U0HUGO", "santé", "C0SEC"))["blocks"], ensure_ascii=False
    )
    assert FR("health.withheld.too_few", answers=3) in sec
    # the dashboard: the programme's page and Sécurité's, from the same place
    key = bot.deps.config.settings.dashboard_key
    assert key is not None
    async with bot.sessions() as session:
        sec_id = await session.scalar(
            sa.select(Community.id).where(Community.channel_id == "C0SEC")
        )
    assert sec_id is not None
    async with httpx.AsyncClient(base_url=bot.url) as http:
        token = links.token_for(links.Scope(factories.WORKSPACE), MANAGER, utcnow(), key=key)
        page = html.unescape((await http.get(f"/dashboard?t={token}")).text)
        assert FR("survey.report_heading") in page and belonging in page
        page = html.unescape((await http.get(f"/dashboard/c/{sec_id}?t={token}")).text)
        assert FR("health.withheld.too_few", answers=3) in page and "Exemple" not in page
    # the value report for the programme (HTML) carries the same figure
    async with bot.sessions() as session:
        built = await report.build(
            session,
            workspace_id=factories.WORKSPACE,
            window=periods.to_date(periods.Period.YEAR, utcnow().date(), "Europe/Paris"),
            programme_name="Programme test",
            thresholds=bot.deps.programme.health,
            rule=bot.deps.disclosure,
        )
    assert belonging in html.unescape(report.to_html(FR, built))


async def test_held_back_results_are_not_posted_and_the_manager_sees_why(bot: Bot) -> None:
    await _answered_and_closed(bot)
    notice = _dms(bot, "U0LEA")[-1]  # Agilité's leader
    before = set(bot.emulator.views)
    await bot.slack.click(user="U0LEA", action_id="survey_hold", message=("D0LEA", notice["ts"]))
    view_id = (await eventually(lambda: [v for v in bot.emulator.views if v not in before]))[-1]
    await bot.slack.submit_view(
        view_id, user="U0LEA", values={"reason": "Équipe en réorganisation"}
    )
    await eventually(
        lambda: _dms(bot, "U0LEA")[-1]["text"] == FR("survey.held", community="Agilité")
    )
    # a member cannot hold another community's results
    before = len(bot.emulator.responses)
    await bot.slack.click(user="U0EMILY", action_id="survey_hold", message=("D0LEA", notice["ts"]))
    replies = await eventually(lambda: bot.emulator.responses[before:])
    assert EN("permission.hold_survey_results") in replies[-1]["text"]
    await _drain(bot, now=utcnow() + timedelta(hours=49))
    assert bot.emulator.messages.get("C0DATA")  # the others are posted
    assert not [
        m
        for m in bot.emulator.messages.get("C0AGILE", [])
        if "survey" in json.dumps(m).lower() or "Enquête" in m.get("text", "")
    ]
    async with bot.sessions() as session:
        statuses = set(
            await session.scalars(
                sa.select(Outbox.status).where(
                    Outbox.kind == "survey_results", Outbox.channel_id == "C0AGILE"
                )
            )
        )
    assert statuses == {"cancelled"}
    reply = await _command(bot, MANAGER, "survey")
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert FR("survey.held_line", community="Agilité", reason="Équipe en réorganisation") in text


async def test_year_over_year_sets_last_years_figure_beside_this_one(bot: Bot) -> None:
    for channel, name, leader in COMMUNITIES[:1]:
        await factories.community(
            bot.sessions, emulator=bot.emulator, channel=channel, name=name, leaders=(leader,)
        )
    now = utcnow()
    last_year = now.replace(year=now.year - 1)
    await ritual.open_campaign(bot.deps, workspace_id=factories.WORKSPACE, now=last_year)
    async with bot.sessions.begin() as session:
        row = await survey.campaign(session, workspace_id=factories.WORKSPACE, year=now.year - 1)
        assert row is not None
        poll = (await survey.campaign_polls(session, campaign_id=row.id))[0]
        people = dict((await session.execute(sa.select(Person.slack_user_id, Person.id))).all())
        for user in ANSWERS["C0DATA"]:
            answers = survey.check_answers(
                poll.questions,
                {
                    "belonging": "2",
                    "participation": "0",
                    "activities": ["0"],
                    "usefulness": "2",
                    "nps": "5",
                },
            )
            await survey.answer_all(
                session,
                key=bot.deps.ballot_key,
                workspace_id=factories.WORKSPACE,
                poll_id=poll.id,
                person_id=people[user],
                answers=answers,
                now=last_year,
            )
        row_id = row.id
    await ritual.close_campaign(bot.deps, campaign_id=row_id, now=last_year + timedelta(days=21))
    # last year, "usefulness" was asked on 0–10: its 2s do not compare with this year's 1–5
    async with bot.sessions.begin() as session:
        for table in (Poll, SurveyCampaign):
            for found in await session.scalars(
                sa.select(table).where(
                    Poll.campaign_id == row_id if table is Poll else SurveyCampaign.id == row_id
                )
            ):
                found.questions = [
                    {**q, "max": 10, "min": 0} if q["key"] == "usefulness" else q
                    for q in found.questions
                ]
    await ritual.open_campaign(bot.deps, workspace_id=factories.WORKSPACE, now=now)
    await _drain(bot)
    data = (await _poll_ids(bot, year=now.year))[0]
    for user in ANSWERS["C0DATA"]:
        await _answer(bot, user, data, {**EVERY_KIND, "q_belonging": "4"})
    async with bot.sessions() as session:
        row = await survey.campaign(session, workspace_id=factories.WORKSPACE, year=now.year)
    assert row is not None
    await ritual.close_campaign(bot.deps, campaign_id=row.id, now=utcnow())
    reply = await _command(bot, MANAGER, "survey")
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert FR("survey.mean", mean=FR.number(4.0, 1), max=5, answers=5) in text
    # belonging compares; usefulness, rescaled since, does not
    assert text.count(FR("survey.last_year_mean", mean=FR.number(2.0, 1), answers=5)) == 1
    assert FR("survey.last_year_enps", enps=-100, answers=5) in text
    # the community's own results, for its leaders and its channel, set last year beside too
    await _drain(bot)
    leaders = json.dumps(_dms(bot, "U0CAMILLE")[-1]["blocks"], ensure_ascii=False)
    assert leaders.count(FR("survey.last_year_mean", mean=FR.number(2.0, 1), answers=5)) == 1


async def _poll_ids(bot: Bot, *, year: int) -> list[int]:
    async with bot.sessions() as session:
        return list(
            await session.scalars(
                sa.select(Poll.id).where(Poll.period_key == survey.period_key(year))
            )
        )


async def test_only_managers_run_the_survey_and_english_managers_read_english(
    database_url: str, emulator: Any
) -> None:
    config = make_config(database_url, emulator, managers=["U0CAMILLE", "U0JAMES"])
    async with running_bot(config, emulator) as bot:
        await factories.community(bot.sessions, emulator=emulator, leaders=("U0LUCAS",))
        refused = await _command(bot, "U0LUCAS", "survey")
        assert FR("permission.manage_survey") in refused["text"]
        reply = await _command(bot, "U0JAMES", "survey")
        assert shows(reply["text"], EN, "survey.none", opens=ANY)
        assert "survey_manage:open" in json.dumps(reply["blocks"])


# --- app.yaml --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("  opens_on: 13-01\n", "survey.opens_on: expected a month-day MM-DD such as 03-01"),
        ("  opens_on: 04-31\n", "survey.opens_on: '04-31' is not a day that comes every year"),
        (
            "  questions:\n    - {key: pick, kind: text, compass: value, text: {fr: a, en: b}}\n",
            "pick: only scale and nps questions inform the compass",
        ),
        (
            "  questions:\n    - {key: pick, kind: single, text: {fr: a, en: b}, options: [{fr: x, en: y}]}\n",
            "survey.questions.0: Value error, pick: a single question needs 2 to 10 options, got 1",
        ),
        (
            "  questions:\n    - {key: value, kind: nps, text: {fr: a, en: b}}\n",
            "(top): survey.questions: the key 'value' is already a pulse question's",
        ),
        ("  cover: {fr: 'Bonjour {nom}'}\n", "survey.cover: fr: unknown placeholder {nom}"),
        (
            "  open_days: 5\n  reminder_after_days: 7\n",
            "reminder_after_days (7) must come before the survey closes (open_days: 5)",
        ),
    ],
)
def test_config_errors_are_one_line(tmp_path: Path, section: str, expected: str) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(f"name: Test\nsurvey:\n{section}", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_programme(path)
    message = str(caught.value)
    assert "\n" not in message
    assert expected.replace("Value error, ", "") in message, message


async def test_the_large_demo_fills_two_years_that_compare(bot: Bot) -> None:
    """`cop demo --scale large` fills last year's and this year's campaigns in bulk (here on the
    emulator's three communities): the programme's results set last year beside this year."""
    from bot.demo import survey as demo_survey

    for channel, name, leader in COMMUNITIES:
        await factories.community(
            bot.sessions, emulator=bot.emulator, channel=channel, name=name, leaders=(leader,)
        )
    written = await demo_survey.fill_years(bot.deps, workspace_id=factories.WORKSPACE)
    assert written > 0
    found = await ritual.programme_results(bot.deps, workspace_id=factories.WORKSPACE)
    assert found is not None
    status, results = found
    assert status.campaign.year == utcnow().year and results is not None
    assert all(q.previous is not None for q in results.questions)


async def test_the_cli_opens_reports_and_closes_with_one_line_errors(
    tmp_path: Path, database_url: str
) -> None:
    from tests.test_cli import _import, run_cop

    env = {"COP_DATABASE_URL": database_url, "COP_QUIET_HOURS": "off"}
    await asyncio.to_thread(_import, tmp_path, env, "T0COP")
    closing = await asyncio.to_thread(run_cop, "survey", "close", env=env, cwd=tmp_path)
    assert closing.returncode == 2
    assert closing.stderr.strip() == "cop: survey close: no survey campaign yet"
    last_year = str(utcnow().year - 1)
    wrong = await asyncio.to_thread(
        run_cop, "survey", "open", "--year", last_year, env=env, cwd=tmp_path
    )
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip().startswith(
        f"cop: survey open: only this year's survey opens now; --year {last_year} does not apply"
    )
    opened = await asyncio.to_thread(run_cop, "survey", "open", env=env, cwd=tmp_path)
    assert opened.returncode == 0, opened.stderr
    assert f"survey {utcnow().year}: 2 communities opened" in opened.stdout
    status = await asyncio.to_thread(run_cop, "survey", "status", env=env, cwd=tmp_path)
    assert f"survey {utcnow().year}: open" in status.stdout and "0/" in status.stdout
    closed = await asyncio.to_thread(run_cop, "survey", "close", env=env, cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    again = await asyncio.to_thread(run_cop, "survey", "open", env=env, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip() == (f"cop: survey open: L'enquête {utcnow().year} est déjà close.")
    exported = await asyncio.to_thread(
        run_cop, "survey", "export", "--format", "json", env=env, cwd=tmp_path
    )
    data = json.loads(exported.stdout)
    assert data["programme"]["belonging"] == {"value": None, "answers": 0, "withheld": None}


async def test_the_manager_edits_the_cover_then_starts_the_survey(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",))
    status = await _command(bot, MANAGER, "enquête")
    shown = bot.emulator.add_message("D0CAMILLE", user="UBOT", blocks=status["blocks"])
    where = ("D0CAMILLE", shown["ts"])
    before = set(bot.emulator.views)
    await bot.slack.click(user=MANAGER, action_id="survey_manage:cover", message=where)
    view_id = (await eventually(lambda: [v for v in bot.emulator.views if v not in before]))[-1]
    view = bot.emulator.views[view_id]
    prefilled = {
        b["block_id"]: b["element"].get("initial_value")
        for b in view["blocks"]
        if b["type"] == "input"
    }
    assert prefilled["cover_fr"].startswith("Bonjour, une fois par an")  # app.yaml's « mail type »
    refused = await bot.slack.submit_view(
        view_id, user=MANAGER, values={"cover_fr": "Salut {prenom}", "cover_en": "Hi"}
    )
    assert "unknown placeholder {prenom}" in json.dumps(refused.json(), ensure_ascii=False)
    await bot.slack.submit_view(
        view_id,
        user=MANAGER,
        values={
            "cover_fr": "Chers membres de {community}, à vous la parole avant le {closes} !",
            "cover_en": "Dear members of {community}, over to you before {closes}!",
        },
    )
    await eventually(lambda: any("enregistré" in m["text"] for m in _dms(bot, MANAGER)))
    assert "survey_manage:open" in json.dumps(status["blocks"])
    before_responses = len(bot.emulator.responses)
    await bot.slack.click(user=MANAGER, action_id="survey_manage:open", message=where)
    replies = await eventually(lambda: bot.emulator.responses[before_responses:])
    assert FR("survey.opened", year=utcnow().year) in replies[-1]["text"]
    await _drain(bot)
    lucas = json.dumps(_invitations(bot, "U0LUCAS")[0]["blocks"], ensure_ascii=False)
    assert "Chers membres de Data Science, à vous la parole avant le" in lucas
    emily = json.dumps(_invitations(bot, "U0EMILY")[0]["blocks"], ensure_ascii=False)
    assert "Dear members of Data Science, over to you before" in emily


async def test_a_member_who_turned_the_survey_off_gets_no_invitation(bot: Bot) -> None:
    await factories.community(bot.sessions, emulator=bot.emulator, leaders=("U0CAMILLE",))
    await _command(bot, "U0CHLOE", "sourdine enquête off", channel="C0DATA")
    await ritual.open_campaign(bot.deps, workspace_id=factories.WORKSPACE, now=utcnow())
    await _drain(bot)
    assert _invitations(bot, "U0CHLOE") == []
    assert len(_invitations(bot, "U0LUCAS")) == 1


async def test_the_survey_leaves_the_pulse_figures_alone_and_the_home_names_it(bot: Bot) -> None:
    """A member invited to the survey sees it on their Home as the annual survey (not a pulse);
    the invitations and answers move neither the pulse's response rate nor its score."""
    by_channel = await _setup(bot)
    await _answer(bot, "U0LUCAS", by_channel["C0DATA"], EVERY_KIND)
    await bot.slack.open_home(user="U0CHLOE")
    await bot.emulator.wait_for("views.publish", lambda c: c.params.get("user_id") == "U0CHLOE")
    home = json.dumps(bot.emulator.home_views["U0CHLOE"], ensure_ascii=False)
    assert "Enquête annuelle de *Data Science*" in home
    assert "Sondage de *Data Science*" not in home
    today = utcnow().date()
    async with bot.sessions() as session:
        figures = await kpis.compute(
            session,
            workspace_id=factories.WORKSPACE,
            window=periods.Window(today - timedelta(days=1), today + timedelta(days=1)),
            rule=disclosure.Rule(min_answers=5),
        )
    data = next(c for c in figures.communities if c.name == "Data Science")
    assert data.response_rate is None and data.polls == 0 and data.pulse_score is None


async def _survey_voice(bot: Bot, channel: str) -> dict[str, Any] | None:
    async with bot.sessions() as session:
        return await session.scalar(
            sa.select(CompassResponse.scores)
            .join(CompassAssessment, CompassAssessment.id == CompassResponse.assessment_id)
            .join(Community, Community.id == CompassAssessment.community_id)
            .where(Community.channel_id == channel, CompassResponse.source == "survey")
        )


async def test_the_survey_is_one_more_voice_in_the_compass_under_the_disclosure_rule(
    bot: Bot,
) -> None:
    """The questions app.yaml ties to a compass dimension (belonging → members, usefulness →
    value) feed the community's compass: the round open at close gets the voice, read on the
    1–4 scale; a community under k answers gives none; a round opened after the close starts
    with it."""
    by_channel = await _setup(bot, count=3)
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("boussole", user="U0CAMILLE", channel="C0DATA")  # a round opens
    await bot.emulator.wait_for("views.open", count=before + 1)
    for channel, users in ANSWERS.items():
        for i, user in enumerate(users):
            values = {**EVERY_KIND, "q_belonging": str(3 + i % 3)}
            await _answer(bot, user, by_channel[channel], values)
    assert await _survey_voice(bot, "C0DATA") is None  # nothing before the close
    async with bot.sessions() as session:
        row = await survey.latest(session, workspace_id=factories.WORKSPACE)
    assert row is not None
    await ritual.close_campaign(bot.deps, campaign_id=row.id, now=utcnow())
    # belonging 3, 4, 5, 3, 4: a mean of 3.8 of 5 is 3.1 of 4; usefulness 5 of 5 is 4
    assert await _survey_voice(bot, "C0DATA") == {"members": 3.1, "value": 4.0}
    # Sécurité: three answers, under k = 5: the survey says nothing of it, even to its compass
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("boussole", user="U0HUGO", channel="C0SEC")
    await bot.emulator.wait_for("views.open", count=before + 1)
    assert await _survey_voice(bot, "C0SEC") is None
    async with bot.sessions() as session:
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(CompassAssessment)
                .join(Community, Community.id == CompassAssessment.community_id)
                .where(Community.channel_id == "C0SEC")
            )
            == 1
        )
    # a round opened later for Data Science (the first one closed) starts with the voice
    async with bot.sessions.begin() as session:
        await session.execute(sa.update(CompassAssessment).values(closed_at=utcnow()))
    before = len(bot.emulator.calls_to("views.open"))
    await bot.slack.command("boussole", user="U0CAMILLE", channel="C0DATA")
    await bot.emulator.wait_for("views.open", count=before + 1)
    async with bot.sessions() as session:
        voices = list(
            await session.scalars(
                sa.select(CompassResponse.scores)
                .join(CompassAssessment, CompassAssessment.id == CompassResponse.assessment_id)
                .where(CompassAssessment.closed_at.is_(None), CompassResponse.source == "survey")
            )
        )
    assert voices == [{"members": 3.1, "value": 4.0}]


async def test_holding_one_communitys_results_back_leaves_the_others_alone(bot: Bot) -> None:
    """Holding back poll P cancels P's channel post only: another post whose id starts with the
    same digits (P2, P3…: any real programme has both) still goes out. An open poll has no
    results to hold back yet."""
    by_channel = await _setup(bot)
    poll_id = by_channel["C0DATA"]
    refused = await _hold(bot, poll_id)
    assert refused == FR("survey.hold_not_closed")
    await _answer(bot, "U0LUCAS", poll_id, EVERY_KIND)  # something to post
    async with bot.sessions.begin() as session:
        other = await enqueue(
            session,
            workspace_id=factories.WORKSPACE,
            key=ritual.results_key(poll_id * 10 + 2),
            kind="survey_results",
            channel_id="C0AGILE",
            text="autre communauté",
            not_before=utcnow() + timedelta(hours=48),
        )
        row = await survey.latest(session, workspace_id=factories.WORKSPACE)
    assert row is not None
    await ritual.close_campaign(bot.deps, campaign_id=row.id, now=utcnow())
    await ritual.hold(
        bot.deps,
        poll_id=poll_id,
        workspace_id=factories.WORKSPACE,
        person_id=await _person(bot, "U0CAMILLE"),
        reason="Pas maintenant",
    )
    async with bot.sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    sa.select(Outbox.idempotency_key, Outbox.status).where(
                        Outbox.kind == "survey_results"
                    )
                )
            ).all()
        )
    assert statuses[ritual.results_key(poll_id)] == "cancelled"
    assert statuses[ritual.results_key(poll_id * 10 + 2)] == "pending"
    assert other is not None


async def _person(bot: Bot, user: str) -> int:
    async with bot.sessions() as session:
        found = await session.scalar(sa.select(Person.id).where(Person.slack_user_id == user))
    assert found is not None
    return int(found)


async def _hold(bot: Bot, poll_id: int) -> str:
    """A leader's (crafted) hold on an open poll: what they are told."""
    try:
        await ritual.hold(
            bot.deps,
            poll_id=poll_id,
            workspace_id=factories.WORKSPACE,
            person_id=await _person(bot, "U0CAMILLE"),
            reason="Trop tôt",
        )
    except Exception as exc:
        return FR(getattr(exc, "key", ""))
    return ""


async def test_a_community_created_mid_campaign_reaches_members_already_invited(bot: Bot) -> None:
    """Agilité is registered after the survey opened: the next tick gives it its poll, and its
    members who already had Data Science's invitation get one for Agilité; nobody gets the same
    invitation twice; the note promises the configured k."""
    await _setup(bot)
    before = {u: len(_invitations(bot, u)) for u in ("U0CAMILLE", "U0LEA")}
    assert before == {"U0CAMILLE": 1, "U0LEA": 0}  # Camille is in both channels
    await factories.community(
        bot.sessions, emulator=bot.emulator, channel="C0AGILE", name="Agilité", leaders=("U0LEA",)
    )
    await ritual.maintain(bot.deps, now=utcnow())
    await ritual.maintain(bot.deps, now=utcnow())  # a second tick owes nothing more
    await _drain(bot)
    camille = _invitations(bot, "U0CAMILLE")
    assert len(camille) == 2 and "Agilité" in json.dumps(camille[-1]["blocks"], ensure_ascii=False)
    assert len(_invitations(bot, "U0LEA")) == 1
    note = FR("survey.anonymous_note", min=bot.deps.disclosure.min_answers)
    assert note in json.dumps(camille[-1]["blocks"], ensure_ascii=False)


async def test_off_in_app_yaml_means_no_survey_even_with_a_cover_saved_ahead(
    database_url: str, emulator: Any
) -> None:
    """A manager saved next campaign's cover (a scheduled row), then the programme turned the
    survey off: its day comes and nobody is invited."""
    config = make_config(database_url, emulator, survey={"enabled": False})
    async with running_bot(config, emulator) as bot:
        await factories.community(bot.sessions, emulator=emulator, leaders=("U0LUCAS",))
        now = utcnow()
        async with bot.sessions.begin() as session:
            await survey.ensure_campaign(
                session,
                workspace_id=factories.WORKSPACE,
                programme=bot.deps.programme,
                year=now.year,
                opens_at=now - timedelta(hours=1),
            )
        assert await ritual.maintain(bot.deps, now=now) == []
        await _drain(bot)
        assert _invitations(bot, "U0LUCAS") == []
