"""The maturity compass (« la boussole »): a community's self-assessment, round by round.

The federal guide's toolbox has a compass that « permet de savoir rapidement où se situe la
CoP », draws a chart and suggests improvement actions. Ours: six dimensions of three to five
statements each, every statement answered on a four-level maturity scale by the people who run
the community (leaders and core team). A round stays open ROUND_DAYS; the bot aggregates each
dimension as the median of the respondents' means (with the spread), names the weakest
dimensions with actions from the guides' practices, and compares with the previous round. The
annual survey may add one more voice for the dimensions its answers inform
(`record_survey_input`), and so may the organisers' « animation » checklists after events
(bot.feedback): both through `record_external_voice`. The programme's heatmap (`heatmap`) is what every manager's surface
shows: /cop health, the report and the dashboard.

Words live in bot/i18n/<lang>/compass.po under `compass.dim.<d>`, `compass.stmt.<d>.<s>`,
`compass.level.<n>` and `compass.action.<d>.<a>`; this module holds the keys only.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, disclosure, people, survey
from bot.errors import CopError, InvalidFields, InvalidInput
from bot.i18n import Translator
from bot.models import Community, CompassAssessment, CompassResponse
from bot.permissions import Action, Actor, require
from bot.programme import Workspaces
from bot.programme import where as in_workspaces

ROUND_DAYS = 90  # a round stays open this long; the next `/cop compass` opens a new one
LEVELS = (1, 2, 3, 4)  # pas encore · en construction · établi · exemplaire
SELF, SURVEY = "self", "survey"
FEEDBACK = "feedback"  # the organisers' « animation » checklists after events (bot.feedback)
EXTERNAL = (SURVEY, FEEDBACK)  # voices that are not a person's: one each per round, by dimension
WEAKEST = 2  # how many dimensions are named as the ones to work on (more when tied, up to 3)
WEAKEST_MAX = 3
SAME = 0.05  # a median that moved less than this has not moved


@dataclass(frozen=True, slots=True)
class Dimension:
    key: str
    statements: tuple[str, ...]  # statement keys, "<dimension>.<name>"
    actions: tuple[str, ...]  # suggested next steps when the dimension is among the weakest


def _dimension(key: str, statements: Iterable[str], actions: Iterable[str]) -> Dimension:
    return Dimension(
        key, tuple(f"{key}.{s}" for s in statements), tuple(f"{key}.{a}" for a in actions)
    )


DIMENSIONS: tuple[Dimension, ...] = (
    _dimension(
        "purpose",
        ("mission", "objectives", "benefits", "stakes"),
        ("charter", "needs", "indicators"),
    ),
    _dimension(
        "members",
        ("core", "welcome", "participation", "belonging"),
        ("core", "welcome", "kickoff"),
    ),
    _dimension(
        "practice",
        ("exchange", "help", "capitalisation", "tools"),
        ("workshop", "capitalise", "questions"),
    ),
    _dimension(
        "animation",
        ("plan", "rituals", "events", "kickoff"),
        ("rituals", "plan", "events"),
    ),
    _dimension(
        "governance",
        ("sponsor", "time", "resources", "review"),
        ("sponsor", "name_sponsor", "time"),
    ),
    _dimension(
        "value",
        ("stories", "testimonials", "kpis", "visibility"),
        ("stories", "report", "testimonials"),
    ),
)
DIMENSION_KEYS = tuple(d.key for d in DIMENSIONS)
STATEMENTS = frozenset(s for d in DIMENSIONS for s in d.statements)
_BY_KEY = {d.key: d for d in DIMENSIONS}


def dimension(key: str) -> Dimension:
    return _BY_KEY[key]


def level_of(median: float) -> int:
    """The maturity level a median reads as (2.5 reads as 3: half up)."""
    return max(1, min(4, int(median + 0.5)))


# --- rounds -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Round:
    id: int
    community_id: int
    opened_at: datetime
    closed_at: datetime | None

    @property
    def closes_at(self) -> datetime:
        return self.closed_at or self.opened_at + timedelta(days=ROUND_DAYS)

    @classmethod
    def of(cls, row: CompassAssessment) -> Round:
        return cls(row.id, row.community_id, row.opened_at, row.closed_at)


def _open_at(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        CompassAssessment.closed_at.is_(None),
        CompassAssessment.opened_at > now - timedelta(days=ROUND_DAYS),
    )


async def current_round(session: AsyncSession, *, community_id: int, now: datetime) -> Round | None:
    """The round open now, if any (opened less than ROUND_DAYS ago and not closed)."""
    row = await session.scalar(
        sa.select(CompassAssessment)
        .where(CompassAssessment.community_id == community_id, _open_at(now))
        .order_by(CompassAssessment.opened_at.desc(), CompassAssessment.id.desc())
        .limit(1)
    )
    return Round.of(row) if row else None


async def join_or_open(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    now: datetime,
    person_id: int | None = None,
    survey_rule: disclosure.Rule | None = None,
) -> Round:
    """The open round, or a new one (the previous, expired, is closed when it expired). With
    `survey_rule`, a new round starts with the voice of the annual survey closed in the last
    year (`bot.survey.compass_input`, under that disclosure rule), if it informs any dimension.

    The community's row is locked first (PostgreSQL), so two people typing `/cop compass` at
    the same moment join one round instead of opening two."""
    await session.execute(
        sa.select(Community.id).where(Community.id == community_id).with_for_update()
    )
    found = await current_round(session, community_id=community_id, now=now)
    if found is not None:
        return found
    stale = await session.scalars(
        sa.select(CompassAssessment).where(
            CompassAssessment.community_id == community_id,
            CompassAssessment.closed_at.is_(None),
        )
    )
    for row in stale:
        row.closed_at = min(now, row.opened_at + timedelta(days=ROUND_DAYS))
    row = CompassAssessment(
        workspace_id=workspace_id,
        community_id=community_id,
        opened_at=now,
        opened_by_person_id=person_id,
    )
    session.add(row)
    await session.flush()
    if survey_rule is not None:
        scores = await survey.compass_input(
            session, community_id=community_id, rule=survey_rule, since=now - timedelta(days=365)
        )
        if scores:
            await _store_voice(session, workspace_id, row.id, SURVEY, scores, now)
    # the organisers' checklists of the last ROUND_DAYS: a new round starts with their voice
    from bot import feedback  # bot.feedback records through this module

    heard = await feedback.compass_input(
        session, community_id=community_id, since=now - timedelta(days=ROUND_DAYS)
    )
    if heard:
        await _store_voice(session, workspace_id, row.id, FEEDBACK, heard, now)
    return Round.of(row)


async def answers_of(session: AsyncSession, *, round_id: int, person_id: int) -> dict[str, int]:
    """A person's answers in a round (to pre-fill the modal); {} when they have not answered."""
    scores = await session.scalar(
        sa.select(CompassResponse.scores).where(
            CompassResponse.assessment_id == round_id, CompassResponse.person_id == person_id
        )
    )
    return {k: int(v) for k, v in (scores or {}).items() if k in STATEMENTS}


async def answered_at(session: AsyncSession, *, round_id: int, person_id: int) -> datetime | None:
    """When the person last answered in this round."""
    return await session.scalar(
        sa.select(CompassResponse.updated_at).where(
            CompassResponse.assessment_id == round_id, CompassResponse.person_id == person_id
        )
    )


def validate(scores: Mapping[str, object]) -> dict[str, int]:
    """Answers as the modal gave them: known statements, levels 1–4, at least one answered.
    Anything else is a forged payload (the modal offers nothing else)."""
    clean: dict[str, int] = {}
    for key, value in scores.items():
        if value in (None, ""):
            continue
        if key not in STATEMENTS or str(value) not in {str(level) for level in LEVELS}:
            raise InvalidFields([InvalidInput("error.invalid", field=key)])
        clean[key] = int(str(value))
    if not clean:
        raise InvalidFields([InvalidInput("compass.answer_one", field=None)])
    return clean


@dataclass(frozen=True, slots=True)
class Recorded:
    round: Round
    replaced: bool  # the person had answered this round already: their answers changed


async def record_answers(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    person_id: int,
    scores: Mapping[str, int],
    now: datetime,
) -> Recorded:
    """Save (or change) a person's answers in the open round: one response per person and
    round, so answering again replaces, never counts twice (the same modal sent twice at once
    meets the unique constraint, and the second becomes a change)."""
    current = await join_or_open(
        session, workspace_id=workspace_id, community_id=community_id, now=now, person_id=person_id
    )
    mine = (CompassResponse.assessment_id == current.id, CompassResponse.person_id == person_id)
    row = await session.scalar(sa.select(CompassResponse).where(*mine).with_for_update())
    if row is None:
        try:
            async with session.begin_nested():
                session.add(
                    CompassResponse(
                        workspace_id=workspace_id,
                        assessment_id=current.id,
                        person_id=person_id,
                        source=SELF,
                        scores=dict(scores),
                        submitted_at=now,
                        updated_at=now,
                    )
                )
            return Recorded(current, replaced=False)
        except IntegrityError:
            row = await session.scalar(sa.select(CompassResponse).where(*mine))
            if row is None:
                raise
    row.scores = dict(scores)
    row.updated_at = now
    await session.flush()
    return Recorded(current, replaced=True)


async def record_survey_input(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    dimension_scores: Mapping[str, float],
    now: datetime,
) -> Round | None:
    """What the annual survey's answers say of the dimensions they inform (dimension key → a
    score on the compass's 1–4 scale), as one voice in the community's open round
    (`record_external_voice`)."""
    return await record_external_voice(
        session,
        workspace_id=workspace_id,
        community_id=community_id,
        source=SURVEY,
        dimension_scores=dimension_scores,
        now=now,
    )


async def record_external_voice(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    source: str,
    dimension_scores: Mapping[str, float],
    now: datetime,
) -> Round | None:
    """A voice that is not a person's (`source`: the annual survey, the organisers'
    checklists), dimension key → a score on the compass's 1–4 scale, stored as one response
    (no person) in the community's open round; a later call in the same round replaces it. With
    no round open, nothing is stored: the next round starts with it (`join_or_open`)."""
    if source not in EXTERNAL:
        raise ValueError(f"unknown compass voice {source!r}")
    current = await current_round(session, community_id=community_id, now=now)
    if current is None:
        return None
    await _store_voice(session, workspace_id, current.id, source, dimension_scores, now)
    return current


async def _store_voice(
    session: AsyncSession,
    workspace_id: str,
    round_id: int,
    source: str,
    dimension_scores: Mapping[str, float],
    now: datetime,
) -> None:
    scores = {
        key: round(max(1.0, min(4.0, float(value))), 2)
        for key, value in dimension_scores.items()
        if key in _BY_KEY
    }
    row = await session.scalar(
        sa.select(CompassResponse).where(
            CompassResponse.assessment_id == round_id,
            CompassResponse.source == source,
            CompassResponse.person_id.is_(None),
        )
    )
    if row is None:
        session.add(
            CompassResponse(
                workspace_id=workspace_id,
                assessment_id=round_id,
                person_id=None,
                source=source,
                scores=scores,
                submitted_at=now,
                updated_at=now,
            )
        )
    else:
        row.scores = scores
        row.updated_at = now
    await session.flush()


# --- aggregation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DimensionScore:
    key: str
    median: float | None  # None: nobody answered this dimension
    low: float | None
    high: float | None
    voices: int  # respondents (and the survey) who informed it

    @property
    def level(self) -> int | None:
        return None if self.median is None else level_of(self.median)


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    before: float
    after: float

    @property
    def direction(self) -> str:
        """ "up", "down" or "same"."""
        delta = self.after - self.before
        return "same" if abs(delta) < SAME else ("up" if delta > 0 else "down")

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Result:
    """A round's aggregate: what the leader reads after answering."""

    round: Round
    respondents: int  # people (the survey not counted)
    survey: bool  # the annual survey added its voice
    dimensions: tuple[DimensionScore, ...]
    weakest: tuple[str, ...]  # dimension keys, weakest first
    previous: Round | None
    changes: tuple[Change, ...]  # per dimension present in both rounds
    feedback: bool = False  # the organisers' checklists after events added their voice

    @property
    def empty(self) -> bool:
        return self.respondents == 0 and not self.survey and not self.feedback

    def medians(self) -> dict[str, float | None]:
        return {d.key: d.median for d in self.dimensions}


def _means(scores: Mapping[str, object], source: str) -> dict[str, float]:
    """One voice's score per dimension: a person's mean over the statements they answered; the
    survey's figure for the dimensions it informs."""
    out: dict[str, float] = {}
    for dim in DIMENSIONS:
        if source in EXTERNAL:
            value = scores.get(dim.key)
            if isinstance(value, int | float):
                out[dim.key] = float(value)
            continue
        values = [float(v) for s in dim.statements if isinstance(v := scores.get(s), int | float)]
        if values:
            out[dim.key] = sum(values) / len(values)
    return out


def aggregate(responses: Sequence[tuple[str, Mapping[str, object]]]) -> tuple[DimensionScore, ...]:
    """(source, scores) of every voice → per dimension the median of the voices' means and
    their spread (min–max)."""
    voices = [_means(scores, source) for source, scores in responses]
    out = []
    for dim in DIMENSIONS:
        values = [v[dim.key] for v in voices if dim.key in v]
        if values:
            out.append(
                DimensionScore(
                    dim.key,
                    round(statistics.median(values), 2),
                    round(min(values), 2),
                    round(max(values), 2),
                    len(values),
                )
            )
        else:
            out.append(DimensionScore(dim.key, None, None, None, 0))
    return tuple(out)


def weakest(dimensions: Sequence[DimensionScore]) -> tuple[str, ...]:
    """The two lowest medians below « exemplaire »; a dimension tied with the second joins them
    (up to three), and among equals the wider spread (less agreement) comes first."""
    ranked = sorted(
        (d for d in dimensions if d.median is not None and d.median < LEVELS[-1]),
        key=lambda d: (d.median, -((d.high or 0) - (d.low or 0)), DIMENSION_KEYS.index(d.key)),
    )
    if len(ranked) <= WEAKEST:
        return tuple(d.key for d in ranked)
    cut = ranked[WEAKEST - 1].median
    assert cut is not None
    return tuple(d.key for d in ranked if d.median is not None and d.median <= cut)[:WEAKEST_MAX]


async def _responses(
    session: AsyncSession, round_ids: Sequence[int]
) -> dict[int, list[tuple[str, dict[str, object]]]]:
    found: dict[int, list[tuple[str, dict[str, object]]]] = {r: [] for r in round_ids}
    if not round_ids:
        return found
    rows = await session.execute(
        sa.select(
            CompassResponse.assessment_id, CompassResponse.source, CompassResponse.scores
        ).where(CompassResponse.assessment_id.in_(round_ids))
    )
    for round_id, source, scores in rows:
        found[round_id].append((source, dict(scores or {})))
    return found


async def result(
    session: AsyncSession, *, community_id: int, now: datetime, round_id: int | None = None
) -> Result | None:
    """The aggregate of a round (the open one by default, else the latest), compared with the
    round before it that had answers. None when the community has never opened a round."""
    query = sa.select(CompassAssessment).where(CompassAssessment.community_id == community_id)
    if round_id is not None:
        query = query.where(CompassAssessment.id == round_id)
    rows = list(
        await session.scalars(
            query.order_by(CompassAssessment.opened_at.desc(), CompassAssessment.id.desc()).limit(1)
        )
    )
    if not rows:
        return None
    this = Round.of(rows[0])  # newest first: the open round, if any, is the newest
    earlier = await session.scalar(
        sa.select(CompassAssessment)
        .where(
            CompassAssessment.community_id == community_id,
            CompassAssessment.opened_at < this.opened_at,
            sa.exists().where(CompassResponse.assessment_id == CompassAssessment.id),
        )
        .order_by(CompassAssessment.opened_at.desc())
        .limit(1)
    )
    previous = Round.of(earlier) if earlier is not None else None
    answers = await _responses(session, [this.id, *([previous.id] if previous else [])])
    mine = answers[this.id]
    dims = aggregate(mine)
    changes: tuple[Change, ...] = ()
    if previous is not None:
        before = {d.key: d.median for d in aggregate(answers[previous.id])}
        changes = tuple(
            Change(d.key, b, d.median)
            for d in dims
            if d.median is not None and (b := before.get(d.key)) is not None
        )
    return Result(
        round=this,
        respondents=sum(1 for source, _ in mine if source == SELF),
        survey=any(source == SURVEY for source, _ in mine),
        dimensions=dims,
        weakest=weakest(dims),
        previous=previous,
        changes=changes,
        feedback=any(source == FEEDBACK for source, _ in mine),
    )


# --- the programme's heatmap ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeatmapRow:
    community_id: int
    name: str
    slug: str
    opened_at: datetime  # the round shown: the latest with answers
    respondents: int
    survey: bool
    medians: tuple[float | None, ...]  # in DIMENSIONS order

    @property
    def levels(self) -> tuple[int | None, ...]:
        return tuple(None if m is None else level_of(m) for m in self.medians)

    @property
    def mean(self) -> float:
        known = [m for m in self.medians if m is not None]
        return sum(known) / len(known) if known else 0.0


@dataclass(frozen=True, slots=True)
class Heatmap:
    """Communities × dimensions, weakest communities first; `unassessed` counts the live
    communities that have no answered round."""

    rows: tuple[HeatmapRow, ...]
    unassessed: int

    def by_community(self) -> dict[int, HeatmapRow]:
        return {r.community_id: r for r in self.rows}


async def heatmap(
    session: AsyncSession, *, workspace_id: Workspaces, community_ids: Iterable[int] | None = None
) -> Heatmap:
    """The latest answered round of every community (or of those given): its medians per
    dimension, its number of respondents and its date. The one source of every manager's
    view of the compass (/cop health, the report and its exports, the dashboard)."""
    wanted = None if community_ids is None else list(community_ids)
    scope = [in_workspaces(Community.workspace_id, workspace_id), Community.archived_at.is_(None)]
    if wanted is not None:
        scope.append(Community.id.in_(wanted))
    answered = (
        sa.select(
            CompassAssessment.id,
            CompassAssessment.community_id,
            CompassAssessment.opened_at,
            Community.name,
            Community.slug,
        )
        .join(Community, Community.id == CompassAssessment.community_id)
        .where(
            *scope,
            sa.exists().where(CompassResponse.assessment_id == CompassAssessment.id),
        )
        .order_by(CompassAssessment.opened_at, CompassAssessment.id)
    )
    latest: dict[int, tuple[int, datetime, str, str]] = {}
    for round_id, community_id, opened_at, name, slug in await session.execute(answered):
        latest[community_id] = (round_id, opened_at, name, slug)  # ordered: the last one wins
    answers = await _responses(session, [v[0] for v in latest.values()])
    rows = []
    for community_id, (round_id, opened_at, name, slug) in latest.items():
        voices = answers[round_id]
        dims = aggregate(voices)
        rows.append(
            HeatmapRow(
                community_id=community_id,
                name=name,
                slug=slug,
                opened_at=opened_at,
                respondents=sum(1 for source, _ in voices if source == SELF),
                survey=any(source == SURVEY for source, _ in voices),
                medians=tuple(d.median for d in dims),
            )
        )
    rows.sort(key=lambda r: (r.mean, r.name.casefold()))
    live = await session.scalar(sa.select(sa.func.count()).select_from(Community).where(*scope))
    return Heatmap(tuple(rows), max(0, int(live or 0) - len(rows)))


# --- how levels look on every surface ---------------------------------------------------------

LEVEL_EMOJI = {1: "🟥", 2: "🟧", 3: "🟨", 4: "🟩", None: "⬜"}
LEVEL_COLOURS = {1: "#f8b4b4", 2: "#fcd9a8", 3: "#fdf0a6", 4: "#b7e4c0", None: "#eaeef2"}


def radar_png(t: Translator, found: Result, *, name: str) -> bytes:
    """The round's radar chart (with the previous round dashed), in the reader's language."""
    from bot import charts

    before: list[float | None] = []
    if found.previous is not None and found.changes:
        old = {c.key: c.before for c in found.changes}
        before = [old.get(key) for key in DIMENSION_KEYS]
    return charts.radar(
        title=t("compass.chart_title", name=name),
        labels=[t(f"compass.dim.{key}") for key in DIMENSION_KEYS],
        current=[d.median for d in found.dimensions],
        current_label=t("compass.chart_now", day=t.date(found.round.opened_at.date())),
        low=[d.low for d in found.dimensions],
        high=[d.high for d in found.dimensions],
        spread_label=t("compass.chart_spread"),
        previous=before,
        previous_label=(
            t("compass.chart_before", day=t.date(found.previous.opened_at.date()))
            if found.previous is not None
            else ""
        ),
        levels=[t(f"compass.level.{n}") for n in LEVELS],
        number=t.axis_number,
    )


# --- privacy (bot.privacy calls these) --------------------------------------------------------


async def answers_for_export(session: AsyncSession, *, person_id: int) -> list[dict[str, object]]:
    """A person's compass answers, for `cop privacy export`."""
    rows = await session.execute(
        sa.select(CompassResponse, CompassAssessment.community_id, CompassAssessment.opened_at)
        .join(CompassAssessment, CompassAssessment.id == CompassResponse.assessment_id)
        .where(CompassResponse.person_id == person_id)
        .order_by(CompassAssessment.opened_at)
    )
    return [
        {
            "community_id": community_id,
            "round_opened_at": opened_at.isoformat(),
            "scores": dict(response.scores or {}),
            "updated_at": response.updated_at.isoformat(),
        }
        for response, community_id, opened_at in rows
    ]


async def detach(session: AsyncSession, *, person_id: int) -> None:
    """An erased person's answers stay in the aggregates, attached to nobody."""
    await session.execute(
        sa.update(CompassResponse)
        .where(CompassResponse.person_id == person_id)
        .values(person_id=None)
    )
    await session.execute(
        sa.update(CompassAssessment)
        .where(CompassAssessment.opened_by_person_id == person_id)
        .values(opened_by_person_id=None)
    )


@dataclass(frozen=True)
class Questionnaire:
    """What the compass's form needs once the person may take it and the round is joined (or
    opened): the same for Slack's modal and Teams' dialog."""

    community_name: str
    current: Round
    found: Result | None
    mine: dict[str, int]  # the person's answers in this round
    answered_on: datetime | None
    person_tz: str | None


async def questionnaire(
    session: AsyncSession,
    *,
    actor: Actor,
    community_id: int,
    now: datetime,
    survey_rule: disclosure.Rule | None = None,
) -> Questionnaire:
    """The guard (NotAllowed), then the open round joined (or one opened), the round's result so
    far and the person's own answers in it, to pre-fill the questionnaire."""
    await require(session, actor=actor, action=Action.TAKE_COMPASS, community_id=community_id)
    community = await communities.get(
        session, workspace_id=actor.workspace_id, community_id=community_id
    )
    person = await people.find(
        session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
    )
    current = await join_or_open(
        session,
        workspace_id=actor.workspace_id,
        community_id=community_id,
        now=now,
        person_id=person.id if person else None,
        survey_rule=survey_rule,
    )
    found = await result(session, community_id=community_id, now=now)
    mine = await answers_of(session, round_id=current.id, person_id=person.id) if person else {}
    answered_on = (
        await answered_at(session, round_id=current.id, person_id=person.id)
        if person and mine
        else None
    )
    return Questionnaire(
        community.name, current, found, mine, answered_on, person.tz if person else None
    )


async def record_as(
    session: AsyncSession,
    *,
    actor: Actor,
    community_id: int,
    scores: Mapping[str, int],
    now: datetime,
) -> tuple[Recorded, Community]:
    """The answers of the person asking, on any platform: the guard (NotAllowed), the person
    (CopError when unknown), then `record_answers`; with the community, for the answer."""
    await require(session, actor=actor, action=Action.TAKE_COMPASS, community_id=community_id)
    community = await communities.get(
        session, workspace_id=actor.workspace_id, community_id=community_id
    )
    person = await people.find(
        session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
    )
    if person is None:
        raise CopError("error.not_found")
    recorded = await record_answers(
        session,
        workspace_id=actor.workspace_id,
        community_id=community_id,
        person_id=person.id,
        scores=scores,
        now=now,
    )
    return recorded, community
