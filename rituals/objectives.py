"""The objectives review: once a quarter, each community's leaders get one DM listing the year's
charter objectives with a button per status; a click updates the objective and the message.

The year reviewed is the one of the quarter just closed, as the sponsor digest counts it: the
January run asks about last year's objectives (their final status), the others about this
year's. A community with no objectives for that year gets a nudge to write them instead, with
the button that opens the charter (leaders only; the Home shows the charter "to review" too).
The same neutral message answers `/cop charter objectives` (handlers/objectives.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import communities, disclosure, figures, kpis, objectives, periods
from bot import messages as m
from bot.deps import Deps
from bot.models import Community, ObjectiveStatus, RitualSetting, Role
from rituals import recipients
from rituals.outbox import Owed, enqueue_many
from rituals.sponsor_digest import closed_quarter

KIND = "objectives_review"  # the DM: waits for working hours (quiet_hours.WORKING_HOURS_KINDS)
NUDGE_KIND = "objectives_nudge"
STATUS = (
    "objective_status"  # action ids `objective_status:<status>`; value `<community>:<year>:<id>`
)
INDICATOR = "objective_indicator"  # opens the indicator modal; same value
WRITE = "objectives_write"  # opens the charter modal; value: the community's id
STATUSES = (ObjectiveStatus.ACHIEVED, ObjectiveStatus.IN_PROGRESS, ObjectiveStatus.DROPPED)


# --- the board: the year's objectives with their indicators' values so far ----------------------


@dataclass(frozen=True, slots=True)
class Line:
    objective: objectives.ObjectiveView
    value: float | int | None  # the indicator's value for the year so far (None: no figure yet)


@dataclass(frozen=True, slots=True)
class Board:
    community_id: int
    community_name: str
    year: int
    lines: tuple[Line, ...]

    @property
    def tally(self) -> objectives.Tally:
        return objectives.tally([line.objective for line in self.lines])


async def board(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    year: int,
    today: date,
    default_tz: str,
    rule: disclosure.Rule,
    question_kinds: Mapping[str, str] | None = None,
) -> Board:
    """The year's objectives of a community, each with its indicator's value over the year up
    to `today` (or the whole year once it is over), as bot.kpis counts it for every surface."""
    community = await communities.get(session, workspace_id=workspace_id, community_id=community_id)
    items = await objectives.of_year(session, community_id=community_id, year=year)
    values: dict[str, Any] = {}
    if any(o.indicator for o in items):
        tz = community.tz or default_tz
        year_window = periods.Window(
            date(year, 1, 1), date(year + 1, 1, 1), periods.Period.YEAR, tz
        )
        window = periods.so_far(year_window, today)
        computed = await kpis.compute(
            session,
            workspace_id=workspace_id,
            window=window,
            community_ids=[community_id],
            rule=rule,
            question_kinds=question_kinds,
        )
        if computed.communities:
            (figures_of,) = computed.communities
            values = {
                key: figures.read(key, figures_of)
                for key in {o.indicator for o in items if o.indicator}
            }
    return Board(
        community_id=community_id,
        community_name=community.name,
        year=year,
        lines=tuple(Line(o, values.get(o.indicator) if o.indicator else None) for o in items),
    )


def target_value(value: Decimal | None, *, indicator: str) -> m.Text:
    if value is None:
        return ""
    if indicator in objectives.RATES:
        return m.Percent(float(value))
    return m.Number(int(value) if value == value.to_integral() else value)


def _figure_value(line: Line) -> m.Text:
    indicator = line.objective.indicator
    assert indicator is not None
    if line.value is None:
        return m.Say("health.na")
    if indicator in objectives.RATES:
        return m.Percent(float(line.value))
    if isinstance(line.value, float) and indicator == "enps":
        return m.Number(round(line.value))
    return m.Number(line.value)


def _line_text(position: int, line: Line) -> m.Text:
    o = line.objective
    parts: list[m.Text] = [
        m.Join([m.Strong(f"{position}."), " ", o.text]),
        m.Say(f"objectives.status.{o.status.value}"),
    ]
    if o.indicator:
        figure = m.Say(f"figure.{o.indicator}")
        if o.target is not None:
            parts.append(
                m.Say(
                    "objectives.indicator_target",
                    name=figure,
                    value=_figure_value(line),
                    target=target_value(o.target, indicator=o.indicator),
                )
            )
        else:
            parts.append(m.Say("objectives.indicator_line", name=figure, value=_figure_value(line)))
    return m.Lines(parts)


def _buttons(board: Board, o: objectives.ObjectiveView) -> m.Choices:
    value = f"{board.community_id}:{board.year}:{o.id}"
    choices = [
        m.Choice(
            f"{STATUS}:{status.value}",
            m.Say(f"objectives.button.{status.value}"),
            value,
            "primary" if status == o.status else None,
        )
        for status in STATUSES
    ]
    choices.append(m.Choice(INDICATOR, m.Say("objectives.button.indicator"), value))
    return m.Choices(choices, group=f"objective_{o.id}")


def objectives_message(board: Board, *, review: bool) -> m.Message:
    """The year's objectives with a status button each (the DM when `review`, else the answer to
    /cop charter objectives); an empty year says how to write them."""
    title = m.Say("objectives.title", community=board.community_name, year=str(board.year))
    blocks: list[m.Block] = [m.Heading(title)]
    if not board.lines:
        blocks.append(
            m.Paragraph(
                m.Say("objectives.none_yet", year=str(board.year)),
                m.Choice(WRITE, m.Say("objectives.write"), str(board.community_id)),
            )
        )
        return m.Message(title, blocks)
    if review:
        blocks.append(m.Paragraph(m.Say("objectives.review_intro", year=str(board.year))))
    for position, line in enumerate(board.lines, start=1):
        blocks += [m.Paragraph(_line_text(position, line)), _buttons(board, line.objective)]
    tally = board.tally
    summary: m.Text = (
        m.Say(
            "objectives.achieved_of",
            achieved=m.Number(tally.achieved),
            counted=m.Number(tally.counted),
            rate=m.Percent(tally.rate),
        )
        if tally.rate is not None
        else m.Say("objectives.none_counted")
    )
    blocks.append(
        m.Note(
            m.Say("objectives.summary", name=m.Say("figure.objectives_achieved"), figure=summary)
        )
    )
    return m.Message(title, blocks)


def nudge_message(*, community_id: int, community: str, year: int) -> m.Message:
    text = m.Say("objectives.nudge", community=community, year=str(year))
    return m.Message(
        text,
        [m.Paragraph(text, m.Choice(WRITE, m.Say("objectives.write"), str(community_id)))],
    )


async def run(
    deps: Deps, *, community: Community, setting: RitualSetting, period_key: str, now: datetime
) -> str:
    """One DM per leader: the year's objectives to update, or a nudge to write them."""
    programme = deps.programme
    zone = community.tz or programme.timezone
    year = closed_quarter(now, zone).last_day.year
    async with deps.sessions.begin() as session:
        leaders = await recipients.members(
            session, community=community, default_language=programme.language, roles=(Role.LEADER,)
        )
        if not leaders:
            return "no leader"
        found = await board(
            session,
            workspace_id=community.workspace_id,
            community_id=community.id,
            year=year,
            today=now.astimezone(ZoneInfo(zone)).date(),
            default_tz=zone,
            rule=deps.disclosure,
            question_kinds={q.key: q.kind for q in programme.rituals.pulse.questions},
        )
        this_year = now.astimezone(ZoneInfo(zone)).year
        if found.lines:
            kind, said = KIND, objectives_message(found, review=True)
        elif year < this_year and await objectives.of_year(
            session, community_id=community.id, year=this_year
        ):
            return f"no objectives for {year}; {this_year}'s are written"
        else:
            # the nudge is for the year to come, never one that is over (a January run closes
            # last year's review: with nothing to review, write this year's)
            kind = NUDGE_KIND
            said = nudge_message(
                community_id=community.id, community=community.name, year=this_year
            )
        owed = [
            Owed(
                key=f"{kind}:{community.id}:{period_key}:{r.person_id}",
                kind=kind,
                message=said,
                reader=m.Reader(r.language, r.tz or zone),
                person_id=r.person_id,
                not_before=now,  # the drain holds it until the reader's working hours
            )
            for r in leaders
        ]
        await enqueue_many(
            session, workspace_id=community.workspace_id, community_id=community.id, messages=owed
        )
    return f"{year}: {len(found.lines)} objectives, {len(owed)} leaders"
