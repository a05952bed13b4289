"""Demo scene: the annual member survey — the manager's view, the invitation, members answering
in a modal, the close, the leaders' notice and the results posted in the channel.

`fill_years` gives `cop demo --scale large` last year's and this year's campaigns, answered in
bulk, so that year-over-year figures have data."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import survey as domain
from bot.demo import Demo
from bot.demo.cast import CORE, DATA, LEADER, MANAGER, MEMBER, NEWCOMER, SPONSOR
from bot.deps import Deps
from bot.models import (
    Community,
    Membership,
    Poll,
    PollDelivery,
    PollResponse,
    PollStatus,
    SurveyCampaign,
    random_row_id,
    utcnow,
)
from rituals import survey as ritual
from rituals.outbox import Drain

# What each answers: participation, activities, belonging, usefulness, NPS, gains
ANSWERS: dict[str, tuple[str, list[str], str, str, str, list[str]]] = {
    LEADER: ("0", ["1", "2", "5"], "5", "5", "10", ["0", "2"]),
    CORE: ("0", ["2", "3", "4"], "5", "4", "9", ["0", "1"]),
    SPONSOR: ("2", ["0", "3"], "3", "3", "7", ["3"]),
    MEMBER: ("1", ["0", "1", "3"], "4", "5", "9", ["1", "2"]),
    NEWCOMER: ("1", ["0", "3"], "4", "4", "8", ["2"]),
    MANAGER: ("1", ["0", "4"], "4", "4", "9", ["0"]),
}
EXAMPLES = {
    "fr": "Un modèle de notebook partagé m'a évité deux jours de travail",
    "en": "A shared notebook template saved me two days of work",
}


async def _drain(demo: Demo, now: datetime | None = None) -> None:
    drain = Drain(demo.deps, rate_per_minute=60000)
    if now is None:
        await drain.run_until_empty(poll=0.05)
        return
    while await drain.run_once(now=now):  # as if the hold-back delay had passed
        await demo.settle()


def _dms(demo: Demo, user: str) -> list[dict[str, Any]]:
    return demo.emulator.messages.get(demo.emulator.dm_channel_for(user), [])


def _invitation(demo: Demo, user: str) -> dict[str, Any]:
    return next(m for m in reversed(_dms(demo, user)) if "survey_answer:" in str(m.get("blocks")))


def _survey_word(demo: Demo, user: str) -> str:
    return "enquête" if demo.cast.words(user)["help"] == "aide" else "survey"


async def scene(demo: Demo) -> None:
    demo.title("demo.survey.title")
    async with demo.deps.sessions() as session:
        data = await session.scalar(sa.select(Community).where(Community.channel_id == DATA))
    assert data is not None
    workspace_id = data.workspace_id
    now = utcnow()
    async with demo.deps.sessions() as session:
        done = await domain.campaign(session, workspace_id=workspace_id, year=now.year)
    if done is not None and done.status == PollStatus.CLOSED:
        # --scale large generated this year's and last year's campaigns: the manager's view
        demo.say("demo.survey.generated")
        await demo.command(_survey_word(demo, MANAGER), user=MANAGER, channel=DATA)
        return

    demo.say("demo.survey.open")
    await ritual.open_campaign(demo.deps, workspace_id=workspace_id, now=now)
    await _drain(demo)
    for user in (MEMBER, NEWCOMER):
        demo.say("demo.survey.invitation", who=demo.first_name(user))
        demo.show_message(_invitation(demo, user))

    async with demo.deps.sessions() as session:
        poll_id = await session.scalar(
            sa.select(Poll.id).where(Poll.community_id == data.id, Poll.kind == "survey")
        )
    assert poll_id is not None
    for user, (participation, activities, belonging, useful, nps, gains) in ANSWERS.items():
        shown = user == MEMBER
        await demo.settle()
        message = _invitation(demo, user)
        before = set(demo.emulator.views)
        await demo.slack.click(
            user=user,
            action_id=f"survey_answer:{poll_id}",
            message=(demo.emulator.dm_channel_for(user), message["ts"]),
        )
        await demo.settle()
        view_id = sorted(set(demo.emulator.views) - before)[-1]
        if shown:
            demo.say("demo.survey.form", who=demo.first_name(user))
            demo.show_view(demo.emulator.views[view_id])
        language = demo.cast.people[user].language
        await demo.slack.submit_view(
            view_id,
            user=user,
            values={
                "q_participation": participation,
                "q_activities": activities,
                "q_belonging": belonging,
                "q_usefulness": useful,
                "q_nps": nps,
                "q_gains": gains,
                "q_example": EXAMPLES[language] if user in (MEMBER, CORE, LEADER) else "",
            },
        )
        await demo.settle()

    demo.say("demo.survey.manager")
    await demo.command(_survey_word(demo, MANAGER), user=MANAGER, channel=DATA)

    demo.say("demo.survey.close")
    async with demo.deps.sessions() as session:
        row = await domain.campaign(session, workspace_id=workspace_id, year=now.year)
    assert row is not None
    await ritual.close_campaign(demo.deps, campaign_id=row.id, now=now + timedelta(minutes=1))
    await _drain(demo)
    demo.show_message(_dms(demo, LEADER)[-1])
    demo.say("demo.survey.posted", channel=demo.where(DATA))
    await _drain(
        demo, now=now + timedelta(hours=demo.deps.programme.survey.results_delay_hours + 1)
    )
    demo.show_message(demo.emulator.messages[DATA][-1])


# --- cop demo --scale large ---------------------------------------------------------------------


async def fill_years(deps: Deps, *, workspace_id: str, today: datetime | None = None) -> int:
    """Last year's campaign and this year's (both closed), answered by a share of each
    community's members, in bulk: year over year has data at 220 communities. Returns how many
    answers were written. Answers are written as a closed poll keeps them (random ballots)."""
    today = today or utcnow()
    rng = random.Random(2026)
    written = 0
    async with deps.sessions.begin() as session:
        members: dict[int, list[int]] = {}
        for cid, pid in await session.execute(
            sa.select(Membership.community_id, Membership.person_id).where(
                Membership.left_at.is_(None)
            )
        ):
            members.setdefault(cid, []).append(pid)
        communities = await domain.live_communities(session, workspace_id=workspace_id)
        for year, lift in ((today.year - 1, 0.0), (today.year, 0.06)):
            opens = domain.opening(deps.programme.survey, year=year, tz=deps.programme.timezone)
            if opens > today:
                opens = today - timedelta(days=deps.programme.survey.open_days + 1)
            row = await domain.ensure_campaign(
                session,
                workspace_id=workspace_id,
                programme=deps.programme,
                year=year,
                opens_at=opens,
            )
            if row.status == PollStatus.CLOSED:
                continue
            row.status = PollStatus.CLOSED
            row.closed_at = row.closes_at
            opened = await domain.open_polls(session, row=row, communities=communities)
            written += await _bulk(
                session, row=row, polls=[p for p, _ in opened], members=members, rng=rng, lift=lift
            )
    return written


async def _bulk(
    session: AsyncSession,
    *,
    row: SurveyCampaign,
    polls: list[Poll],
    members: dict[int, list[int]],
    rng: random.Random,
    lift: float,
) -> int:
    deliveries: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    questions = row.questions
    for poll in polls:
        poll.status = PollStatus.CLOSED
        poll.closed_at = row.closes_at
        poll.ballot_salt = None
        people = members.get(poll.community_id, [])
        asked = people[:400]
        deliveries += [
            {
                "workspace_id": row.workspace_id,
                "poll_id": poll.id,
                "person_id": pid,
                "delivered_at": row.opens_at,
            }
            for pid in asked
        ]
        share = rng.uniform(0.15, 0.45)
        for _ in range(int(len(asked) * share)):
            ballot = secrets.token_hex(32)
            mood = rng.betavariate(4, 2.5) + lift  # most members content, a few not
            for q in questions:
                score, comment = _pick(q, mood, rng)
                if score is None and comment is None:
                    continue
                answers.append(
                    {
                        "id": random_row_id(),
                        "workspace_id": row.workspace_id,
                        "poll_id": poll.id,
                        "ballot": ballot,
                        "question_key": q["key"],
                        "score": score,
                        "comment": comment,
                    }
                )
    for start in range(0, len(deliveries), 5000):
        await session.execute(sa.insert(PollDelivery), deliveries[start : start + 5000])
    for start in range(0, len(answers), 5000):
        await session.execute(sa.insert(PollResponse), answers[start : start + 5000])
    return len(answers)


def _pick(q: dict[str, Any], mood: float, rng: random.Random) -> tuple[int | None, str | None]:
    """One plausible answer from a member whose `mood` (0 to 1) says how much the community
    gives them: scales and NPS around it, the more engaged ticking more activities, and a
    "none of these" option only ever ticked alone."""
    kind, low, high = q["kind"], q["min"], q["max"]
    mood = max(0.0, min(1.0, mood))
    if kind == "text":
        return (None, None)  # free text is the people's own: the generator invents none
    if kind == "multiple":
        options = q["options"]
        none_of_these = _none_of_these(options[-1])
        ticked = [
            i
            for i in range(len(options) - (1 if none_of_these else 0))
            if rng.random() < 0.1 + 0.6 * mood * (1 - i / (2 * len(options)))
        ]
        if not ticked:
            ticked = [len(options) - 1] if none_of_these else [0]
        return (sum(1 << i for i in ticked), None)
    if kind == "single":  # options from the most to the least engaged
        index = round((1 - mood) * high + rng.uniform(-0.7, 0.7))
        return (max(low, min(high, index)), None)
    score = low + (high - low) * mood + rng.uniform(-1.2, 1.2) * (high - low) / 5
    return (max(low, min(high, round(score))), None)


def _none_of_these(option: dict[str, str]) -> bool:
    return any(
        option.get(lang, "").lower().startswith(word)
        for lang, word in (("fr", "rien"), ("en", "none"))
    )
