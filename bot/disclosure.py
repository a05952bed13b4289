"""Disclosure: which survey results may be shown, and in which figure. The one guard every
surface goes through (/cop health, the App Home, the leaders' results DM, the channel summary,
KPI snapshots, exports, the sponsor report, the CLI): none of them reads answers any other way.

The rule (docs/privacy.md has the reasoning):
- A *cell* is one question of one poll. Its results — mean, distribution, eNPS, comments — may be
  shown for its community only once the poll is closed and when *that question* has at least k
  answers (app.yaml `privacy.min_answers`, default 5, never below 3).
- A closed cell under k is never shown for its community. It counts in programme figures only
  as part of a *batch*: the workspace's closed cells under k, in the order their polls closed,
  are cut into consecutive batches of at least k answers (the last, incomplete batch waits for
  more). A figure takes a batch whole or not at all. So a programme figure minus the communities
  shown beside it, or minus the same figure computed a day earlier, or over a shorter period,
  always differs by whole cells of k answers or whole batches of k — never by one person.
- While a poll is open nothing of its answers is shown anywhere; how many people answered (the
  response rate) may always show.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Programme
from bot.models import Poll, PollResponse, PollStatus
from bot.programme import Workspaces
from bot.programme import where as in_workspaces


class Withheld(enum.StrEnum):
    """Why a figure is not shown: its poll is still open, or too few answered."""

    OPEN = "open"
    TOO_FEW = "too_few"


CellId = tuple[int, str]  # (poll id, question key)


@dataclass(frozen=True, slots=True)
class Cell:
    """The answers to one question of one poll, as counts (never who gave them)."""

    poll_id: int
    community_id: int
    question_key: str
    closed: bool
    answers: int
    scores: Mapping[int, int] = field(default_factory=dict)  # score → how many gave it

    @property
    def id(self) -> CellId:
        return (self.poll_id, self.question_key)


@dataclass(frozen=True, slots=True)
class Batches:
    """The cells under k that roll up into programme figures, batch by batch."""

    of: Mapping[CellId, int] = field(default_factory=dict)  # cell → its batch
    cells: tuple[frozenset[CellId], ...] = ()  # batch → its cells


NO_BATCHES = Batches()


@dataclass(frozen=True, slots=True)
class Figure:
    """A result as a surface may show it: a value with its n, or why there is none.

    `answers` is how many answers the value rests on, or, when withheld, how many there are so
    far (a count of answers is a response rate, which may show).
    """

    answers: int = 0
    mean: float | None = None
    enps: float | None = None
    distribution: Mapping[int, int] = field(default_factory=dict)
    withheld: Withheld | None = None
    communities: int = 0  # how many communities those answers come from

    @property
    def shown(self) -> bool:
        return self.withheld is None and self.answers > 0


NOTHING = Figure()


def enps(scores: Mapping[int, int]) -> float | None:
    """Promoters (9–10) minus detractors (0–6), in points of the whole, from a distribution."""
    n = sum(scores.values())
    if not n:
        return None
    promoters = sum(c for s, c in scores.items() if s >= 9)
    detractors = sum(c for s, c in scores.items() if s <= 6)
    return round(100 * (promoters - detractors) / n, 1)


@dataclass(frozen=True, slots=True)
class Rule:
    """The disclosure rule with the programme's threshold k."""

    min_answers: int

    def allows(self, cell: Cell) -> bool:
        """May this cell be shown for its own community?"""
        return cell.closed and cell.answers >= self.min_answers

    def for_community(self, cells: Iterable[Cell], *, nps: bool = False) -> Figure:
        """One community's figure from its cells (one question, or a family of questions such as
        every 'scale' question): only the cells that may be shown on their own count."""
        cells = list(cells)
        if not cells:
            return NOTHING
        allowed = [c for c in cells if self.allows(c)]
        if allowed:
            return _combine(allowed, nps=nps)
        return _withheld(cells)

    def for_programme(
        self, cells: Iterable[Cell], *, batches: Batches, nps: bool = False
    ) -> Figure:
        """A figure over many communities: the cells shown on their own, plus every batch of
        cells under k that lies wholly among `cells` (see `batches`)."""
        cells = list(cells)
        if not cells:
            return NOTHING
        closed = [c for c in cells if c.closed]
        alone = [c for c in closed if self.allows(c)]
        present = {c.id for c in closed}
        pooled = [
            c
            for c in closed
            if not self.allows(c)
            and (batch := batches.of.get(c.id)) is not None
            and batches.cells[batch] <= present
        ]
        used = alone + pooled
        if used:
            return _combine(used, nps=nps)
        return _withheld(cells)

    def cut(self, small: Iterable[tuple[CellId, int]]) -> Batches:
        """Consecutive batches of at least k answers from cells under k given in the order their
        polls closed; the remainder (fewer than k so far) is in no batch yet."""
        of: dict[CellId, int] = {}
        members: list[frozenset[CellId]] = []
        current: list[CellId] = []
        total = 0
        for cell_id, answers in small:
            current.append(cell_id)
            total += answers
            if total >= self.min_answers:
                members.append(frozenset(current))
                of.update(dict.fromkeys(current, len(members) - 1))
                current, total = [], 0
        return Batches(of=of, cells=tuple(members))

    @classmethod
    def of(cls, programme: Programme) -> Rule:
        """The rule with the programme's threshold (app.yaml `privacy.min_answers`)."""
        return cls(min_answers=programme.privacy.min_answers)

    def comments_allowed(self, cell: Cell) -> bool:
        """Comments are answers too: shown only where the cell itself may be shown."""
        return self.allows(cell)


def _combine(cells: list[Cell], *, nps: bool) -> Figure:
    distribution: Counter[int] = Counter()
    for cell in cells:
        distribution.update(cell.scores)
    answers = sum(c.answers for c in cells)
    scored = sum(distribution.values())
    mean = round(sum(s * c for s, c in distribution.items()) / scored, 2) if scored else None
    return Figure(
        answers=answers,
        mean=mean,
        enps=enps(distribution) if nps else None,
        distribution=dict(sorted(distribution.items())),
        communities=len({c.community_id for c in cells}),
    )


def _withheld(cells: list[Cell]) -> Figure:
    reason = Withheld.TOO_FEW if any(c.closed for c in cells) else Withheld.OPEN
    return Figure(
        answers=sum(c.answers for c in cells),
        withheld=reason,
        communities=len({c.community_id for c in cells}),
    )


async def cells(
    session: AsyncSession,
    *,
    where: sa.ColumnElement[bool],
    question_keys: Iterable[str] | None = None,
) -> list[Cell]:
    """The cells of the polls matching `where` (a condition on Poll), as counts per score:
    one GROUP BY, whatever the number of polls."""
    query = (
        sa.select(
            PollResponse.poll_id,
            Poll.community_id,
            Poll.status,
            PollResponse.question_key,
            PollResponse.score,
            sa.func.count(),
        )
        .join(Poll, Poll.id == PollResponse.poll_id)
        .where(where)
        .group_by(
            PollResponse.poll_id,
            Poll.community_id,
            Poll.status,
            PollResponse.question_key,
            PollResponse.score,
        )
    )
    if question_keys is not None:
        query = query.where(PollResponse.question_key.in_(list(question_keys)))
    found: dict[tuple[int, str], tuple[int, bool, Counter[int], list[int]]] = {}
    for poll_id, community_id, status, key, score, n in await session.execute(query):
        entry = found.setdefault(
            (poll_id, key), (community_id, status == PollStatus.CLOSED, Counter(), [0])
        )
        entry[3][0] += int(n)
        if score is not None:
            entry[2][int(score)] += int(n)
    return [
        Cell(
            poll_id=poll_id,
            community_id=community_id,
            question_key=key,
            closed=closed,
            answers=total[0],
            scores=dict(scores),
        )
        for (poll_id, key), (community_id, closed, scores, total) in sorted(found.items())
    ]


async def comments(session: AsyncSession, *, rule: Rule, cell: Cell) -> list[str]:
    """A text question's comments, only where the rule allows the cell (sorted: never in the
    order they were written)."""
    if not rule.comments_allowed(cell):
        return []
    rows = await session.scalars(
        sa.select(PollResponse.comment).where(
            PollResponse.poll_id == cell.poll_id,
            PollResponse.question_key == cell.question_key,
            PollResponse.comment.is_not(None),
        )
    )
    return sorted(c for c in rows if c)


async def respondents(session: AsyncSession, *, where: sa.ColumnElement[bool]) -> dict[int, int]:
    """How many people answered each poll matching `where` (a response rate may always show)."""
    ballots = (
        sa.select(PollResponse.poll_id, PollResponse.ballot)
        .join(Poll, Poll.id == PollResponse.poll_id)
        .where(where)
        .distinct()
        .subquery()
    )
    rows = await session.execute(
        sa.select(ballots.c.poll_id, sa.func.count()).group_by(ballots.c.poll_id)
    )
    return {int(poll_id): int(n) for poll_id, n in rows}


async def batches(
    session: AsyncSession, *, rule: Rule, workspace_id: Workspaces, question_keys: Iterable[str]
) -> Batches:
    """The batches of one family of questions (e.g. every 'scale' question) in a workspace:
    formed over every closed poll, whatever its community's state or the period asked, so
    that they never change as time passes or as the figure's scope changes — a figure only
    takes or leaves a batch whole."""
    keys = list(question_keys)
    if not keys:
        return NO_BATCHES
    rows = await session.execute(
        sa.select(PollResponse.poll_id, PollResponse.question_key, sa.func.count())
        .join(Poll, Poll.id == PollResponse.poll_id)
        .where(
            in_workspaces(Poll.workspace_id, workspace_id),
            Poll.status == PollStatus.CLOSED,
            PollResponse.question_key.in_(keys),
        )
        .group_by(Poll.closed_at, PollResponse.poll_id, PollResponse.question_key)
        .having(sa.func.count() < rule.min_answers)
        .order_by(Poll.closed_at, PollResponse.poll_id, PollResponse.question_key)
    )
    return rule.cut(((poll_id, key), int(n)) for poll_id, key, n in rows)


def by_community(cells: Iterable[Cell], keys: Iterable[str]) -> dict[int, list[Cell]]:
    """The cells of these questions, per community."""
    wanted = set(keys)
    out: dict[int, list[Cell]] = {}
    for cell in cells:
        if cell.question_key in wanted:
            out.setdefault(cell.community_id, []).append(cell)
    return out
