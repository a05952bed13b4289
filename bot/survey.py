"""The annual member survey: one campaign a year per programme, each community's share a Poll of
kind "survey", answered under exactly the pulse's anonymity (bot/polls.py: ballots keyed outside
the database, wiped and shuffled at close), its results only through bot/disclosure.py.

Answers fit the pulse's table without a new column: a scale or NPS answer is its score, a single
choice the option's index, a multiple choice a bit mask of the options ticked (option i → 2**i),
free text a comment. `decode` turns a figure's distribution back into counts per option.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, disclosure, people, polls
from bot.config import Programme, Survey, SurveyQuestion
from bot.errors import Conflict, CopError, InvalidInput, NotFound
from bot.models import (
    Community,
    Delivery,
    Poll,
    PollDelivery,
    PollKind,
    PollStatus,
    SurveyCampaign,
    utcnow,
)
from bot.redelivery import upsert_for

COVER_MAX = 2500


def period_key(year: int) -> str:
    return f"survey-{year}"


def questions_of(config: Survey) -> list[dict[str, Any]]:
    """The questionnaire as a campaign keeps it (plain data, with each answer's bounds)."""
    out = []
    for q in config.questions:
        low, high = q.bounds()
        out.append(
            {
                "key": q.key,
                "kind": q.kind,
                "text": dict(q.text),
                "options": [dict(o) for o in q.options],
                "min": low,
                "max": high,
                "optional": q.optional,
                **({"compass": q.compass} if q.compass else {}),
            }
        )
    return out


def opening(config: Survey, *, year: int, tz: str) -> datetime:
    """When this year's campaign opens: `opens_on` at 09:00 in the programme's zone, in UTC."""
    month, day = (int(x) for x in config.opens_on.split("-"))
    day = min(day, 28) if month == 2 else day
    local = datetime.combine(date(year, month, day), time(9, 0), tzinfo=ZoneInfo(tz))
    return local.astimezone(ZoneInfo("UTC"))


# --- the campaign -----------------------------------------------------------------------------


async def campaign(session: AsyncSession, *, workspace_id: str, year: int) -> SurveyCampaign | None:
    return await session.scalar(
        sa.select(SurveyCampaign).where(
            SurveyCampaign.workspace_id == workspace_id, SurveyCampaign.year == year
        )
    )


async def latest(
    session: AsyncSession, *, workspace_id: str, now: datetime | None = None
) -> SurveyCampaign | None:
    """The most recent campaign that has begun (open or closed); else the one scheduled (a
    cover saved ahead). Next year's scheduled row never hides this year's."""
    query = sa.select(SurveyCampaign).where(SurveyCampaign.workspace_id == workspace_id)
    begun = await session.scalar(
        query.where(SurveyCampaign.opens_at <= (now or utcnow()))
        .order_by(SurveyCampaign.year.desc())
        .limit(1)
    )
    return begun or await session.scalar(query.order_by(SurveyCampaign.year).limit(1))


async def ensure_campaign(
    session: AsyncSession,
    *,
    workspace_id: str,
    programme: Programme,
    year: int,
    opens_at: datetime,
) -> SurveyCampaign:
    """This year's campaign, created once (a rerun or a second replica gets the same row). A new
    campaign takes the cover the manager last wrote for a later, scheduled one (edited after
    this year's window had passed, then started early), else app.yaml's."""
    config = programme.survey
    edited = await session.scalar(
        sa.select(SurveyCampaign.cover)
        .where(
            SurveyCampaign.workspace_id == workspace_id,
            SurveyCampaign.year > year,
            SurveyCampaign.status == PollStatus.OPEN,
        )
        .order_by(SurveyCampaign.year)
        .limit(1)
    )
    insert = upsert_for(session)
    await session.execute(
        insert(SurveyCampaign)
        .values(
            workspace_id=workspace_id,
            year=year,
            questions=questions_of(config),
            cover=dict(edited or config.cover),
            opens_at=opens_at,
            closes_at=opens_at + timedelta(days=config.open_days),
            status=PollStatus.OPEN,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "year"])
    )
    found = await campaign(session, workspace_id=workspace_id, year=year)
    assert found is not None
    return found


async def open_polls(
    session: AsyncSession, *, row: SurveyCampaign, communities: list[Community]
) -> list[tuple[Poll, bool]]:
    """One poll of kind survey per community (period "survey-<year>"), as the pulse opens its
    own: a fresh ballot salt each, closing with the campaign."""
    out = []
    key = period_key(row.year)
    insert = upsert_for(session)
    for community in communities:
        result = await session.execute(
            insert(Poll)
            .values(
                workspace_id=row.workspace_id,
                community_id=community.id,
                period_key=key,
                questions=row.questions,
                anonymous=True,
                delivery=Delivery.DM,
                ballot_salt=_salt(),
                opens_at=row.opens_at,
                closes_at=row.closes_at,
                status=PollStatus.OPEN,
                kind=PollKind.SURVEY,
                campaign_id=row.id,
            )
            .on_conflict_do_nothing(index_elements=["community_id", "period_key"])
        )
        poll = await session.scalar(
            sa.select(Poll)
            .where(Poll.community_id == community.id, Poll.period_key == key)
            .execution_options(populate_existing=True)
        )
        assert poll is not None
        out.append((poll, bool(result.rowcount)))  # type: ignore[attr-defined]
    return out


def _salt() -> str:
    import secrets

    return secrets.token_hex(32)


async def campaign_polls(session: AsyncSession, *, campaign_id: int) -> list[Poll]:
    return list(
        await session.scalars(
            sa.select(Poll).where(Poll.campaign_id == campaign_id).order_by(Poll.community_id)
        )
    )


def cover_year(config: Survey, row: SurveyCampaign | None, *, now: datetime, tz: str) -> int:
    """Which campaign a cover edited now belongs to: this year's while it is scheduled or open,
    else next year's (a cover never reopens a window that has passed)."""
    if row is not None:
        return row.year if row.status == PollStatus.OPEN else row.year + 1
    return now.year if opening(config, year=now.year, tz=tz) > now else now.year + 1


def set_cover(row: SurveyCampaign, *, fr: str, en: str) -> None:
    """The manager's cover message; its placeholders checked as app.yaml's are."""
    row.cover = check_cover(fr=fr, en=en)


def check_cover(*, fr: str, en: str) -> dict[str, str]:
    """The cover as it will be kept, or InvalidInput naming the field (no database needed)."""
    from bot.config import check_survey_cover

    texts = {"fr": fr.strip(), "en": en.strip()}
    for language, text in texts.items():
        if not text:
            raise InvalidInput("survey.cover_empty", field=f"cover_{language}")
        if len(text) > COVER_MAX:
            raise InvalidInput("survey.cover_too_long", field=f"cover_{language}", max=COVER_MAX)
    try:
        check_survey_cover(texts)
    except ValueError as exc:
        raise InvalidInput("survey.cover_placeholder", field="cover_fr", problem=str(exc)) from None
    return texts


# --- answering --------------------------------------------------------------------------------


Answer = tuple[int | None, str | None]  # (score, comment)


def check_answers(questions: list[dict[str, Any]], given: Mapping[str, Any]) -> dict[str, Answer]:
    """A submitted form as answers: a scale/NPS score, an option's index, a list of option
    indexes (→ bit mask), a text. Missing required answers and out-of-range values are
    InvalidInput naming the question (no database: the modal can refuse them in its ack)."""
    out: dict[str, Answer] = {}
    for q in questions:
        value: Any = given.get(q["key"])
        empty = value is None or value == "" or value == []
        if empty:
            if not q.get("optional"):
                raise InvalidInput("survey.required", field=q["key"])
            continue
        kind = q["kind"]
        if kind == "text":
            try:
                out[q["key"]] = (None, polls.check_comment(str(value)))
            except InvalidInput as exc:
                raise InvalidInput(exc.key, field=q["key"], **exc.params) from None
            continue
        try:
            picked = {int(v) for v in value} if kind == "multiple" else set()
            single = int(value) if kind != "multiple" else 0
        except (TypeError, ValueError):
            raise InvalidInput("polls.bad_answer", field=q["key"]) from None
        if kind == "multiple":
            if any(not 0 <= i < len(q["options"]) for i in picked):
                raise InvalidInput("polls.bad_answer", field=q["key"])
            score = sum(1 << i for i in picked)
        else:
            score = single
        if not q["min"] <= score <= q["max"]:
            raise InvalidInput("polls.bad_answer", field=q["key"])
        out[q["key"]] = (score, None)
    return out


async def answer_all(
    session: AsyncSession,
    *,
    key: bytes,
    workspace_id: str,
    poll_id: int,
    person_id: int,
    answers: Mapping[str, Answer],
    now: datetime | None = None,
) -> Poll:
    """Record (or change) a member's answers to their community's survey, through the pulse's
    `polls.answer` (one ballot per member and poll, unlinkable at close). An optional question
    left empty on a second submission drops the earlier answer."""
    poll = await polls.get(session, workspace_id=workspace_id, poll_id=poll_id)
    if poll.kind != PollKind.SURVEY:
        raise NotFound("polls.not_found")
    for question_key, (score, comment) in answers.items():
        await polls.answer(
            session,
            key=key,
            workspace_id=workspace_id,
            poll_id=poll_id,
            person_id=person_id,
            question_key=question_key,
            score=score,
            comment=comment,
            now=now,
        )
    dropped = [q["key"] for q in poll.questions if q["key"] not in answers]
    await polls.retract(session, key=key, poll=poll, person_id=person_id, question_keys=dropped)
    return poll


async def my_answers(
    session: AsyncSession, *, key: bytes, poll: Poll, person_id: int
) -> dict[str, Answer]:
    """A member's own answers while the poll is open (to prefill the form): found by recomputing
    their ballot, which only the bot holding the key can do, and nobody after close."""
    return await polls.own_answers(session, key=key, poll=poll, person_id=person_id)


def options_of(mask: int) -> list[int]:
    return [i for i in range(10) if mask & (1 << i)]


# --- status and results -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommunityStatus:
    poll_id: int
    community_id: int
    name: str
    channel_id: str
    asked: int
    respondents: int
    held_reason: str | None
    held_by: int | None

    @property
    def rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0


@dataclass(frozen=True, slots=True)
class Status:
    campaign: SurveyCampaign
    communities: list[CommunityStatus]

    @property
    def asked(self) -> int:
        return sum(c.asked for c in self.communities)

    @property
    def respondents(self) -> int:
        return sum(c.respondents for c in self.communities)

    @property
    def rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0

    @property
    def held(self) -> list[CommunityStatus]:
        return [c for c in self.communities if c.held_reason]


async def status(session: AsyncSession, *, row: SurveyCampaign) -> Status:
    """Response rate per community (a count of answers may always show) and held results."""
    asked = dict(
        (
            await session.execute(
                sa.select(PollDelivery.poll_id, sa.func.count())
                .join(Poll, Poll.id == PollDelivery.poll_id)
                .where(Poll.campaign_id == row.id)
                .group_by(PollDelivery.poll_id)
            )
        ).all()
    )
    answered = await disclosure.respondents(session, where=Poll.campaign_id == row.id)
    lines = []
    for poll, community in await session.execute(
        sa.select(Poll, Community)
        .join(Community, Community.id == Poll.community_id)
        .where(Poll.campaign_id == row.id)
        .order_by(Community.name)
    ):
        lines.append(
            CommunityStatus(
                poll_id=poll.id,
                community_id=community.id,
                name=community.name,
                channel_id=community.channel_id,
                asked=int(asked.get(poll.id, 0)),
                respondents=answered.get(poll.id, 0),
                held_reason=poll.results_held_reason,
                held_by=poll.results_held_by_person_id,
            )
        )
    return Status(campaign=row, communities=lines)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question's figure as the disclosure rule lets it show; choices decoded into counts
    per option (`choices`), comments only where the rule shows the cell."""

    key: str
    kind: str
    text: dict[str, str]
    options: list[dict[str, str]]
    figure: disclosure.Figure
    choices: list[int] = field(default_factory=list)  # per option, how many ticked it
    comments: list[str] = field(default_factory=list)
    previous: disclosure.Figure | None = None  # last year's, for the year over year
    previous_choices: list[int] = field(default_factory=list)
    high: int = 5  # the scale's top (5 or 10), as the questionnaire says, never guessed


def comparable(now: list[dict[str, Any]], before: list[dict[str, Any]], key: str) -> bool:
    """Whether last year's answers to `key` mean what this year's do: the same kind, scale and
    options (a question new, reworded into other options or rescaled has no year over year)."""

    def spec(questions: list[dict[str, Any]]) -> tuple[Any, ...] | None:
        q = next((q for q in questions if q["key"] == key), None)
        if q is None or q["kind"] == "text":
            return None
        return (q["kind"], q.get("min"), q.get("max"), q.get("options") or [])

    this = spec(now)
    return this is not None and this == spec(before)


def decode(question: Mapping[str, Any], distribution: Mapping[int, int]) -> list[int]:
    """Counts per option from a distribution of option indexes or of bit masks."""
    n = len(question.get("options") or [])
    counts = [0] * n
    for score, count in distribution.items():
        if question["kind"] == "single":
            if 0 <= score < n:
                counts[score] += count
        else:
            for i in options_of(score):
                if i < n:
                    counts[i] += count
    return counts


@dataclass(frozen=True, slots=True)
class Results:
    year: int
    community_id: int | None  # None: the programme
    asked: int
    respondents: int
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0

    @property
    def shown(self) -> bool:
        return any(q.figure.shown for q in self.questions)


async def _asked(session: AsyncSession, where: sa.ColumnElement[bool]) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(PollDelivery)
            .join(Poll, Poll.id == PollDelivery.poll_id)
            .where(where)
        )
        or 0
    )


async def for_community(session: AsyncSession, *, poll: Poll, rule: disclosure.Rule) -> Results:
    """One community's results: each question through `rule.for_community`, comments through
    `disclosure.comments`, both only once the poll is closed and with k answers to *that*
    question."""
    base = await polls.results(session, poll=poll, rule=rule)
    year = await session.scalar(
        sa.select(SurveyCampaign.year).where(SurveyCampaign.id == poll.campaign_id)
    )
    # last year's poll of the same community, under the same rule (k answers per question)
    before = await session.scalar(
        sa.select(Poll.id).where(
            Poll.community_id == poll.community_id,
            Poll.period_key == period_key(int(year or 0) - 1),
            Poll.status == PollStatus.CLOSED,
        )
    )
    last: dict[str, disclosure.Cell] = (
        {c.question_key: c for c in await disclosure.cells(session, where=Poll.id == before)}
        if before is not None
        else {}
    )
    asked_before = (
        await session.scalar(sa.select(Poll.questions).where(Poll.id == before)) or []
        if before is not None
        else []
    )
    out = []
    for q, r in zip(poll.questions, base.questions, strict=True):
        choice = q["kind"] in ("single", "multiple")
        previous = None
        if before is not None and comparable(poll.questions, asked_before, q["key"]):
            cell = last.get(q["key"])
            previous = (
                rule.for_community([cell], nps=q["kind"] == "nps")
                if cell is not None
                else disclosure.NOTHING
            )
        out.append(
            QuestionResult(
                key=q["key"],
                kind=q["kind"],
                text=q["text"],
                high=int(q.get("max") or 5),
                options=q.get("options") or [],
                figure=r.figure,
                choices=decode(q, r.figure.distribution) if choice and r.figure.shown else [],
                comments=r.comments,
                previous=previous,
                previous_choices=decode(q, previous.distribution)
                if choice and previous is not None and previous.shown
                else [],
            )
        )
    return Results(
        year=int(year or 0),
        community_id=poll.community_id,
        asked=base.asked,
        respondents=base.respondents,
        questions=out,
    )


async def _programme_figures(
    session: AsyncSession, *, row: SurveyCampaign, rule: disclosure.Rule
) -> dict[str, disclosure.Figure]:
    found = await disclosure.cells(session, where=Poll.campaign_id == row.id)
    by_key: dict[str, list[disclosure.Cell]] = {}
    for cell in found:
        by_key.setdefault(cell.question_key, []).append(cell)
    out = {}
    for q in row.questions:
        if q["kind"] == "text":
            continue
        out[q["key"]] = rule.for_programme(
            by_key.get(q["key"], []),
            batches=await disclosure.batches(
                session, rule=rule, workspace_id=row.workspace_id, question_keys=[q["key"]]
            ),
            nps=q["kind"] == "nps",
        )
    return out


async def for_programme(
    session: AsyncSession, *, row: SurveyCampaign, rule: disclosure.Rule
) -> Results:
    """The programme's results, aggregated through `rule.for_programme` (the communities under k
    count only in whole batches), with last year's figure beside each question."""
    figures = await _programme_figures(session, row=row, rule=rule)
    before = await campaign(session, workspace_id=row.workspace_id, year=row.year - 1)
    previous = await _programme_figures(session, row=before, rule=rule) if before else {}
    previous = {
        k: f
        for k, f in previous.items()
        if comparable(row.questions, before.questions if before else [], k)
    }
    asked = await _asked(session, Poll.campaign_id == row.id)
    answered = await disclosure.respondents(session, where=Poll.campaign_id == row.id)
    out = []
    for q in row.questions:
        if q["kind"] == "text":
            continue  # comments stay with their community, under its own rule
        figure = figures.get(q["key"], disclosure.NOTHING)
        last = previous.get(q["key"])
        choice = q["kind"] in ("single", "multiple")
        out.append(
            QuestionResult(
                key=q["key"],
                kind=q["kind"],
                text=q["text"],
                high=int(q.get("max") or 5),
                options=q.get("options") or [],
                figure=figure,
                choices=decode(q, figure.distribution) if choice and figure.shown else [],
                previous=last,
                previous_choices=decode(q, last.distribution)
                if choice and last is not None and last.shown
                else [],
            )
        )
    return Results(
        year=row.year,
        community_id=None,
        asked=asked,
        respondents=sum(answered.values()),
        questions=out,
    )


# --- holding results back ---------------------------------------------------------------------


REASON_MAX = 500


async def hold(session: AsyncSession, *, poll: Poll, person_id: int, reason: str) -> None:
    """A leader keeps the results out of the channel, saying why (the manager sees it)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("survey.reason_empty", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput("survey.reason_too_long", field="reason", max=REASON_MAX)
    if poll.kind != PollKind.SURVEY:
        raise NotFound("polls.not_found")
    if poll.status != PollStatus.CLOSED:
        raise Conflict("survey.hold_not_closed")  # there is nothing to hold back yet
    if poll.results_posted_ts:
        raise Conflict("survey.already_posted")
    poll.results_held_reason = reason
    poll.results_held_by_person_id = person_id


async def live_communities(session: AsyncSession, *, workspace_id: str) -> list[Community]:
    return list(
        await session.scalars(
            sa.select(Community)
            .where(
                Community.workspace_id == workspace_id,
                Community.archived_at.is_(None),
                communities.LIVE,  # a closed community is asked nothing more
            )
            .order_by(Community.id)
        )
    )


def year_of(now: datetime, tz: str) -> int:
    """The campaign year as the programme lives it: 31 December at 23:30 in Paris is still
    that year, whatever UTC says."""
    return now.astimezone(ZoneInfo(tz)).year


def comment_counts(results: Results) -> Counter[str]:
    return Counter({q.key: len(q.comments) for q in results.questions})


def question(config: Survey, key: str) -> SurveyQuestion | None:
    return next((q for q in config.questions if q.key == key), None)


# --- the headline every surface shows (health, report, dashboard, exports) ------------------------


@dataclass(frozen=True, slots=True)
class HeadlineRow:
    """One scored question of the latest closed campaign: its text per language, its value as
    the reader's words, and last year's beside it (the programme only)."""

    key: str
    text: dict[str, str]
    value: str
    last_year: str | None


@dataclass(frozen=True, slots=True)
class Headline:
    year: int
    respondents: int
    asked: int
    rows: list[HeadlineRow]
    held: int = 0  # communities whose leaders held their results back

    @property
    def response_rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0


async def latest_closed(session: AsyncSession, *, workspace_id: str) -> SurveyCampaign | None:
    return await session.scalar(
        sa.select(SurveyCampaign)
        .where(
            SurveyCampaign.workspace_id == workspace_id,
            SurveyCampaign.status == PollStatus.CLOSED,
        )
        .order_by(SurveyCampaign.year.desc())
        .limit(1)
    )


async def headline(
    session: AsyncSession,
    *,
    workspace_id: str,
    rule: disclosure.Rule,
    community_id: int | None = None,
) -> Results | None:
    """The latest closed campaign's results for the programme (aggregated, with last year) or
    for one community (its own poll, under the rule): what /cop health, the report, the
    dashboard and the exports show of the survey."""
    row = await latest_closed(session, workspace_id=workspace_id)
    if row is None:
        return None
    if community_id is None:
        return await for_programme(session, row=row, rule=rule)
    poll = await session.scalar(
        sa.select(Poll).where(Poll.campaign_id == row.id, Poll.community_id == community_id)
    )
    return await for_community(session, poll=poll, rule=rule) if poll is not None else None


def figure_text(t: Any, q: QuestionResult, figure: disclosure.Figure, *, of: int | None) -> str:
    """A scored question's figure in the reader's words, with its n (and, for the programme,
    how many communities it comes from), or why it is withheld."""
    if figure.withheld is not None:
        return str(t(f"health.withheld.{figure.withheld.value}", answers=t.number(figure.answers)))
    if not figure.shown:
        return str(t("health.na"))
    if q.kind == "nps" and figure.enps is not None:
        value = t.whole(figure.enps)
    elif figure.mean is not None:
        value = f"{t.number(figure.mean)} / {t.number(q.high)}"
    else:
        return str(t("health.na"))
    if of is None:
        return str(t("health.with_n", value=value, answers=t.number(figure.answers)))
    return str(
        t(
            "health.with_n_programme",
            value=value,
            answers=t.number(figure.answers),
            communities=t.number(figure.communities),
            of=t.number(of),
        )
    )


def headline_rows(t: Any, results: Results, *, of: int | None = None) -> list[HeadlineRow]:
    """The scale and NPS questions of a campaign's results as rows of words."""
    rows = []
    for q in results.questions:
        if q.kind not in ("scale", "nps"):
            continue
        rows.append(
            HeadlineRow(
                key=q.key,
                text=q.text,
                value=figure_text(t, q, q.figure, of=of),
                last_year=figure_text(t, q, q.previous, of=None) if q.previous else None,
            )
        )
    return rows


def compass_scores(results: Results, questions: list[dict[str, Any]]) -> dict[str, float]:
    """What a community's survey results say of the compass dimensions its questions inform
    (`compass:` in app.yaml): each shown mean read on the compass's 1–4 scale, averaged per
    dimension. A figure the disclosure rule withholds says nothing."""
    found: dict[str, list[float]] = {}
    for q, r in zip(questions, results.questions, strict=True):
        dimension, mean = q.get("compass"), r.figure.mean
        if dimension is None or not r.figure.shown or mean is None:
            continue
        low, high = int(q.get("min", 0)), int(q.get("max", 10))
        if high <= low:
            continue
        found.setdefault(dimension, []).append(1 + 3 * (mean - low) / (high - low))
    return {d: round(sum(v) / len(v), 2) for d, v in found.items()}


async def compass_input(
    session: AsyncSession, *, community_id: int, rule: disclosure.Rule, since: datetime
) -> dict[str, float]:
    """The latest survey closed since `since`, as compass voices (empty when none)."""
    poll = await session.scalar(
        sa.select(Poll)
        .where(
            Poll.community_id == community_id,
            Poll.kind == PollKind.SURVEY,
            Poll.status == PollStatus.CLOSED,
            Poll.closed_at >= since,
        )
        .order_by(Poll.closed_at.desc())
        .limit(1)
    )
    if poll is None:
        return {}
    return compass_scores(await for_community(session, poll=poll, rule=rule), poll.questions)


@dataclass(frozen=True)
class Questionnaire:
    """What the survey's form needs for the person asking, on any platform."""

    questions: list[dict[str, Any]]
    closes_at: datetime
    community_name: str
    mine: dict[str, Answer]  # their own answers so far (the form is pre-filled with them)
    person_tz: str | None


async def questionnaire(
    session: AsyncSession, *, key: bytes, workspace_id: str, user_id: str, poll_id: int
) -> Questionnaire:
    """The open survey for a member who was asked: a closed one says so (CopError
    "polls.closed"), someone not asked too ("polls.not_asked")."""
    poll = await polls.get(session, workspace_id=workspace_id, poll_id=poll_id)
    if poll.status != PollStatus.OPEN or poll.ballot_salt is None:
        raise CopError("polls.closed")
    person = await people.find(session, workspace_id=workspace_id, slack_user_id=user_id)
    if person is None:
        raise CopError("polls.not_asked")
    community = await communities.get(
        session, workspace_id=workspace_id, community_id=poll.community_id
    )
    mine = await my_answers(session, key=key, poll=poll, person_id=person.id)
    return Questionnaire(poll.questions, poll.closes_at, community.name, mine, person.tz)
