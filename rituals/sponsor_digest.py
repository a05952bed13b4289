"""The sponsor digest: each quarter, what a community brought, told to the one who backs it.

The programme's documents give the sponsor a role (support and promote the community, make sure
it has the resources it needs) and the programme a duty: prove the communities' value on three
levels. So at the start of each quarter (the quarterly run, first Tuesday of January, April,
July and October) the ritual looks back on the quarter just closed and writes, per community:

- to each of its leaders, at once, a *preview*: the very message their sponsor will receive;
- to each of its sponsors, `rituals.sponsor_digest.preview_days` later, that message: the three
  levels (as `bot.kpis.compute` counts them, survey figures through the disclosure rule), the
  weekly trend as a chart, the validated stories their authors agreed to share, and what the
  community asks of its sponsor.

Both are written to the outbox in the same run, so the sponsor gets exactly what the leaders
saw, and a second run in the quarter writes nothing (its keys are taken). A sponsor of several
communities gets one message per community: each is the one its leaders previewed, carries its
own chart, and shows no other community's figures to those leaders. A community without a
sponsor gets nothing. The programme's sponsor (app.yaml `sponsor`) gets the programme's view the
same way, previewed by the programme managers.

The charter holds no "resources needed" or requests field: what the community asks of its
sponsor is read from its health (its next step and its points of attention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import disclosure, health, kpis, people, periods, report
from bot import figures as vocabulary
from bot import messages as m
from bot import stories as stories_mod
from bot.deps import Deps
from bot.i18n import language_of
from bot.models import (
    Community,
    Membership,
    Outbox,
    Person,
    RitualSetting,
    Role,
    SuccessStory,
)
from rituals import recipients
from rituals.outbox import Owed, enqueue_many

KIND = "sponsor_digest"
PREVIEW_KIND = "sponsor_preview"
STORIES_SHOWN = 5
TREND_WEEKS = 13  # a quarter


# --- what the digest says -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shared:
    """A validated story its author agreed to share (the only ones a sponsor is shown)."""

    title: str
    benefit: str
    amount: Decimal | None
    unit: str | None
    community: str = ""


def closed_quarter(now: datetime, tz: str) -> periods.Window:
    """The last full quarter before `now` in the programme's zone (the one a digest tells)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    start = periods.period_start(periods.Period.QUARTER, today)
    previous = periods.period_start(periods.Period.QUARTER, start - timedelta(days=1))
    return periods.Window(previous, start, periods.Period.QUARTER, tz)


def quarter_name(window: periods.Window) -> m.Say:
    return m.Say(
        "format.quarter", quarter=(window.start.month - 1) // 3 + 1, year=window.start.year
    )


def _name(key: str) -> m.Say:
    """A figure's name, as every surface names it (bot/figures.py)."""
    return m.Say(vocabulary.figure(key).name_key)


def _survey(figures: kpis.Kpis, key: str, *, of: int | None) -> m.Text:
    """A survey figure as the disclosure rule left it: the value with its n (and, over several
    communities, how many of them the answers come from), or why not — bot.figures.survey's
    sentence, as a neutral message."""
    value, answers, withheld, communities = vocabulary.survey_parts(figures, key)
    if withheld is not None:
        return m.Say(f"health.withheld.{withheld}", answers=m.Number(answers))
    if value is None:
        return m.Say("health.na")
    shown: m.Text = (
        m.Number(round(value)) if key == "enps" else m.Join([m.Number(value), " / ", m.Number(5)])
    )
    if of is None:
        return m.Say("health.with_n", value=shown, answers=m.Number(answers))
    return m.Say(
        "health.with_n_programme",
        value=shown,
        answers=m.Number(answers),
        communities=m.Number(communities),
        of=m.Number(of),
    )


def _rate(value: float | None) -> m.Text:
    return m.Say("health.na") if value is None else m.Percent(value)


def _values(figures: kpis.Kpis) -> m.Text:
    """Each unit's value (« 90 heures gagnées »); an averaged unit says so, with its n."""
    if not figures.value_by_unit:
        return m.Say("health.no_value")
    parts: list[m.Text] = []
    for unit, amount in sorted(figures.value_by_unit.items()):
        word = m.Say(f"stories.unit.{unit}")
        if unit in stories_mod.AVERAGED_UNITS:
            stories = m.Number(figures.value_stories_by_unit.get(unit, 0))
            parts.append(
                m.Say("stories.value_average", amount=m.Number(amount), unit=word, stories=stories)
            )
        else:
            parts.append(m.Join([m.Number(amount), " ", word]))
    return m.Join(parts, ", ")


def _retention(figures: kpis.Kpis) -> list[m.Text]:
    """Retention of active members (bot.figures.retention's sentence, as a neutral message),
    when anyone was active in the previous period."""
    if figures.retention is None:
        return []
    return [
        m.Say(
            "engagement.named",
            name=_name("retention"),
            value=m.Say(
                "engagement.retention",
                rate=m.Percent(figures.retention),
                retained=m.Number(figures.retained),
                of=m.Number(figures.retained_of),
            ),
        )
    ]


def levels(figures: kpis.Kpis, *, members_line: m.Text, of: int | None = None) -> list[m.Block]:
    """The three levels of one scope over the quarter, as `bot.kpis` counted them."""
    adoption = m.Lines(
        [
            m.Strong(m.Say("report.level1")),
            members_line,
            m.Say(
                "sponsor.activity",
                messages=m.Number(figures.messages),
                replies=m.Number(figures.replies),
                reactions=m.Number(figures.reactions),
                events=m.Number(figures.events_held),
                attendance=m.Number(figures.attendance),
            ),
        ]
    )
    engagement = m.Lines(
        [
            m.Strong(m.Say("report.level2")),
            m.Say(
                "sponsor.engagement",
                pulse_name=_name("pulse"),
                pulse=_survey(figures, "pulse", of=of),
                enps_name=_name("enps"),
                enps=_survey(figures, "enps", of=of),
                rate_name=_name("response_rate"),
                rate=_rate(figures.response_rate),
            ),
            *_retention(figures),
        ]
    )
    value: list[m.Text] = [
        m.Strong(m.Say("report.level3")),
        m.Say(
            "sponsor.value",
            stories_name=_name("stories"),
            stories=m.Number(figures.stories),
            values=_values(figures),
        ),
    ]
    if figures.stories_pending:
        value.append(m.Say("health.stories_pending", pending=m.Number(figures.stories_pending)))
    if figures.objectives_rate is not None:
        # bot.figures.objectives' sentence, as a neutral message
        value.append(
            m.Say(
                "objectives.health_line",
                name=_name("objectives_achieved"),
                figure=m.Say(
                    "objectives.achieved_of",
                    achieved=m.Number(figures.objectives_achieved),
                    counted=m.Number(figures.objectives_counted),
                    rate=m.Percent(figures.objectives_rate),
                ),
            )
        )
    return [m.Paragraph(adoption), m.Paragraph(engagement), m.Paragraph(m.Lines(value))]


def _story_lines(shared: Sequence[Shared], *, total: int, programme: bool) -> m.Block:
    lines: list[m.Text] = [m.Strong(m.Say("sponsor.stories_title"))]
    if not shared:
        lines.append(m.Say("sponsor.no_story"))
    for story in shared:
        value: m.Text = ""
        if story.amount is not None:
            value = m.Join(
                [
                    " · ",
                    m.Number(story.amount),
                    " ",
                    m.Say(f"stories.unit.{story.unit or 'other'}"),
                ]
            )
        where: m.Text = m.Join([story.community, " · "]) if programme else ""
        lines.append(
            m.Join(["• ", where, m.Strong(story.title), " — ", story.benefit[:300], value])
        )
    if total > len(shared):
        lines.append(m.Say("sponsor.stories_more", count=m.Number(total - len(shared))))
    return m.Paragraph(m.Lines(lines))


def _reason(reason: health.Reason) -> m.Say:
    """A health reason as a sentence of ours, its numbers and days shown the reader's way."""
    params: dict[str, Any] = {}
    for name, value in reason.params.items():
        if isinstance(value, date):
            day = datetime(value.year, value.month, value.day, tzinfo=UTC)
            params[name] = m.Moment(day, tz="UTC", style="date")
        elif name in {"drop", "growth", "rate"}:
            params[name] = m.Percent(float(value))
        elif isinstance(value, int | float | Decimal):
            params[name] = m.Number(value)
        else:
            params[name] = value
    return m.Say(reason.key, **params)


def _asks(item: health.Health | None) -> m.Block:
    """What the community asks of its sponsor: its charter has no field for it, so its health
    says it (the next step its leaders were given, and what health points at)."""
    lines: list[m.Text] = [m.Strong(m.Say("sponsor.asks_title"))]
    if item is None:
        lines.append(m.Say("sponsor.asks_nothing"))
    else:
        lines.append(
            m.Say(
                "sponsor.asks_status",
                status=m.Say(f"health.status.{item.status.value}"),
                stage=m.Say(f"health.stage.{item.stage.value}"),
            )
        )
        lines.append(m.Say("sponsor.asks_next", action=_reason(item.action)))
        if item.reasons:
            lines.append(
                m.Say(
                    "sponsor.asks_reasons",
                    reasons=m.Join([_reason(r) for r in item.reasons], " · "),
                )
            )
    lines.append(m.Say("sponsor.role"))
    return m.Paragraph(m.Lines(lines))


def community_message(
    *,
    name: str,
    window: periods.Window,
    figures: kpis.Kpis,
    item: health.Health | None,
    trend: Sequence[kpis.WeekPoint],
    shared: Sequence[Shared],
) -> m.Message:
    """One community's digest, as its sponsor reads it (and its leaders a week before)."""
    title = m.Say("sponsor.title", community=name, quarter=quarter_name(window))
    members = m.Say(
        "sponsor.members",
        members_name=_name("members"),
        members=m.Number(figures.members),
        active_name=_name("active_members"),
        new=m.Number(figures.new_members),
        departed=m.Number(figures.departed_members),
        active=m.Number(figures.active_members),
        rate=_rate(figures.active_rate),
        charter=m.Say(
            "sponsor.charter_ok" if figures.charter_up_to_date else "sponsor.charter_old"
        ),
    )
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(m.Say("sponsor.intro", community=name)),
        m.Divider(),
        *levels(figures, members_line=members),
        _chart(name, trend),
        m.Divider(),
        _story_lines(shared, total=figures.stories, programme=False),
        _asks(item),
        m.Note(m.Say("sponsor.why")),
    ]
    return m.Message(title, blocks)


def programme_message(
    *,
    name: str,
    window: periods.Window,
    figures: kpis.ProgrammeKpis,
    items: Sequence[health.Health],
    unsponsored: int,
    trend: Sequence[kpis.WeekPoint],
    shared: Sequence[Shared],
) -> m.Message:
    """The programme's digest, for the programme's sponsor (and its managers a week before)."""
    title = m.Say("sponsor.title", community=name, quarter=quarter_name(window))
    members = m.Say(
        "sponsor.programme_members",
        communities_name=_name("communities"),
        communities=m.Number(figures.communities),
        unique_name=_name("members_unique"),
        unique=m.Number(figures.members_unique),
        summed_name=_name("members_summed"),
        summed=m.Number(figures.members_summed),
        active_name=_name("active_members"),
        active=m.Number(figures.active_members),
        rate=_rate(figures.active_rate),
        charters_name=_name("charters"),
        charters=m.Number(figures.charter_up_to_date),
    )
    counts = health.count_by_status(items)
    status = m.Join(
        [
            m.Join([m.Say(f"health.status.{s.value}"), " ", m.Number(n)])
            for s, n in counts.items()
            if n
        ],
        " · ",
    )
    health_lines: list[m.Text] = [m.Strong(m.Say("sponsor.communities_title")), status]
    if unsponsored:
        health_lines.append(m.Say("sponsor.unsponsored", count=m.Number(unsponsored)))
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(m.Say("sponsor.programme_intro")),
        m.Divider(),
        *levels(figures, members_line=members, of=figures.communities),
        m.Paragraph(m.Lines(health_lines)),
        _chart(name, trend),
        m.Divider(),
        _story_lines(shared, total=figures.stories, programme=True),
        m.Note(m.Say("sponsor.programme_why")),
    ]
    return m.Message(title, blocks)


def _chart(name: str, trend: Sequence[kpis.WeekPoint]) -> m.Chart:
    return m.Chart(
        m.Say("sponsor.chart_title", community=name),
        [p.start for p in trend],
        [p.active for p in trend],
        [p.messages + p.replies for p in trend],  # as /cop health draws it
    )


def previewed(message: m.Message, *, sponsors: Sequence[str], day: datetime) -> m.Message:
    """The leaders' copy: the same message under a line saying it is a preview, for whom, when."""
    who = m.Join([m.Person(s) for s in sponsors], ", ")
    banner = m.Say("sponsor.preview", sponsors=who, day=m.Moment(day, style="date"))
    fallback = m.Join([m.Say("sponsor.preview_short"), message.fallback], " — ")
    return m.Message(fallback, [m.Note(banner), *message.blocks])


# --- what is read ---------------------------------------------------------------------------


async def shared_stories(
    session: AsyncSession,
    *,
    workspace_id: str,
    window: periods.Window,
    community_id: int | None = None,
) -> list[Shared]:
    """Validated stories of the quarter that their authors agreed to share, largest value first."""
    start, end = window.bounds()
    stmt = (
        sa.select(SuccessStory, Community.name)
        .join(Community, Community.id == SuccessStory.community_id)
        .where(
            Community.workspace_id == workspace_id,
            stories_mod.counted(),
            SuccessStory.shareable.is_(True),
            SuccessStory.created_at >= start,
            SuccessStory.created_at < end,
        )
        .order_by(SuccessStory.value_amount.desc().nulls_last(), SuccessStory.created_at.desc())
        .limit(STORIES_SHOWN)
    )
    if community_id is not None:
        stmt = stmt.where(SuccessStory.community_id == community_id)
    return [
        Shared(
            title=story.title,
            benefit=story.benefit,
            amount=story.value_amount,
            unit=story.value_unit,
            community=name,
        )
        for story, name in await session.execute(stmt)
    ]


def _kinds(deps: Deps) -> dict[str, str]:
    return {q.key: q.kind for q in deps.programme.rituals.pulse.questions}


async def for_community(
    session: AsyncSession,
    deps: Deps,
    *,
    community: Community,
    window: periods.Window,
    now: datetime,
) -> m.Message | None:
    """A community's digest for the quarter, or None when it has no figures (archived)."""
    programme = deps.programme
    rule = disclosure.Rule.of(programme)
    found = await kpis.compute(
        session,
        workspace_id=community.workspace_id,
        window=window,
        question_kinds=_kinds(deps),
        community_ids=[community.id],
        now=now,
        rule=rule,
        charter_stale_days=programme.health.charter_stale_days,
        engagement_rule=programme.engagement,
    )
    figures = next((c for c in found.communities if c.community_id == community.id), None)
    if figures is None:
        return None
    as_of = window.end - timedelta(days=1)
    items = await health.overview(
        session,
        workspace_id=community.workspace_id,
        today=as_of,
        thresholds=programme.health,
        community_ids=[community.id],
        question_kinds=_kinds(deps),
        now=now,
        rule=rule,
    )
    trend = await kpis.weekly_trend(
        session,
        workspace_id=community.workspace_id,
        last_day=as_of,
        weeks=TREND_WEEKS,
        community_ids=[community.id],
    )
    shared = await shared_stories(
        session, workspace_id=community.workspace_id, window=window, community_id=community.id
    )
    return community_message(
        name=community.name,
        window=window,
        figures=figures,
        item=items[0] if items else None,
        trend=trend,
        shared=shared,
    )


async def for_programme(
    session: AsyncSession, deps: Deps, *, workspace_id: str, window: periods.Window, now: datetime
) -> m.Message:
    """The programme's digest for the quarter: the value report's figures (`bot.report.build`)."""
    programme = deps.programme
    built = await report.build(
        session,
        workspace_id=workspace_id,
        window=window,
        programme_name=programme.name,
        thresholds=programme.health,
        question_kinds=_kinds(deps),
        now=now,
        rule=disclosure.Rule.of(programme),
        engagement_rule=programme.engagement,
    )
    trend = await kpis.weekly_trend(
        session,
        workspace_id=workspace_id,
        last_day=window.end - timedelta(days=1),
        weeks=TREND_WEEKS,
    )
    sponsored = (
        sa.select(Membership.community_id)
        .where(Membership.role == Role.SPONSOR, Membership.left_at.is_(None))
        .scalar_subquery()
    )
    live = {h.signals.community_id for h in built.health}
    unsponsored = len(
        live
        - set(
            await session.scalars(
                sa.select(Community.id).where(
                    Community.workspace_id == workspace_id, Community.id.in_(sponsored)
                )
            )
        )
    )
    shared = await shared_stories(session, workspace_id=workspace_id, window=window)
    return programme_message(
        name=programme.name,
        window=window,
        figures=built.kpis.programme,
        items=built.health,
        unsponsored=unsponsored,
        trend=trend,
        shared=shared,
    )


# --- the ritual -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reader:
    person_id: int
    slack_user_id: str
    language: str
    tz: str | None


def _owed(
    deps: Deps,
    *,
    key: str,
    kind: str,
    message: m.Message,
    readers: Sequence[_Reader],
    at: datetime,
    default_tz: str,
) -> list[Owed]:
    return [
        Owed(
            key=f"{key}:{r.person_id}",
            kind=kind,
            message=message,
            reader=m.Reader(r.language, r.tz or default_tz),
            person_id=r.person_id,
            # the drain holds it until the reader's working hours (WORKING_HOURS_KINDS)
            not_before=at,
        )
        for r in readers
    ]


async def run(
    deps: Deps, *, community: Community, setting: RitualSetting, period_key: str, now: datetime
) -> str:
    """The quarterly run: previews to the leaders now, the digest to the sponsors later."""
    programme = deps.programme
    window = closed_quarter(now, programme.timezone)
    label = window.label
    send_at = now + timedelta(days=programme.rituals.sponsor_digest.preview_days)
    zone = community.tz or programme.timezone
    detail = "no sponsor"
    async with deps.sessions.begin() as session:
        sponsors = await recipients.members(
            session, community=community, default_language=programme.language, roles=(Role.SPONSOR,)
        )
        if sponsors:
            leaders = await recipients.members(
                session,
                community=community,
                default_language=programme.language,
                roles=(Role.LEADER,),
            )
            backers = {s.person_id for s in sponsors}
            leaders = [r for r in leaders if r.person_id not in backers]  # theirs is the real one
            message = await for_community(
                session, deps, community=community, window=window, now=now
            )
            if message is None:
                return "no figures"
            owed = _owed(
                deps,
                key=f"{KIND}:{community.id}:{label}",
                kind=KIND,
                message=message,
                readers=[_Reader(r.person_id, r.slack_user_id, r.language, r.tz) for r in sponsors],
                at=send_at,
                default_tz=zone,
            ) + _owed(
                deps,
                key=f"{PREVIEW_KIND}:{community.id}:{label}",
                kind=PREVIEW_KIND,
                message=previewed(
                    message, sponsors=[s.slack_user_id for s in sponsors], day=send_at
                ),
                readers=[_Reader(r.person_id, r.slack_user_id, r.language, r.tz) for r in leaders],
                at=now,
                default_tz=zone,
            )
            added = await enqueue_many(
                session,
                workspace_id=community.workspace_id,
                community_id=community.id,
                messages=owed,
            )
            detail = f"{label}: {len(sponsors)} sponsors, {len(leaders)} leaders previewed"
            if not added:
                detail = f"{label}: already written"
    if programme.sponsor:
        detail += "; " + await _programme_run(
            deps, workspace_id=community.workspace_id, window=window, now=now, send_at=send_at
        )
    return detail


async def _programme_run(
    deps: Deps, *, workspace_id: str, window: periods.Window, now: datetime, send_at: datetime
) -> str:
    """The programme's digest, written once per quarter by whichever community runs first."""
    programme = deps.programme
    key = f"{KIND}:programme:{workspace_id}:{window.label}"
    async with deps.sessions.begin() as session:
        written = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .where(Outbox.idempotency_key.startswith(f"{key}:", autoescape=True))
        )
        if written:
            return "programme already written"
        sponsor = programme.sponsor
        assert sponsor is not None
        managers = sorted(deps.config.managers - {sponsor})
        found = await people.ensure_many(
            session, workspace_id=workspace_id, slack_user_ids=[sponsor, *managers]
        )
        readers = {
            uid: _reader_of(p, programme.language) for uid, p in found.items() if _reachable(p)
        }
        if sponsor not in readers:
            return "programme sponsor unreachable"
        message = await for_programme(
            session, deps, workspace_id=workspace_id, window=window, now=now
        )
        owed = _owed(
            deps,
            key=key,
            kind=KIND,
            message=message,
            readers=[readers[sponsor]],
            at=send_at,
            default_tz=programme.timezone,
        ) + _owed(
            deps,
            key=f"{PREVIEW_KIND}:programme:{workspace_id}:{window.label}",
            kind=PREVIEW_KIND,
            message=previewed(message, sponsors=[sponsor], day=send_at),
            readers=[readers[uid] for uid in managers if uid in readers],
            at=now,
            default_tz=programme.timezone,
        )
        await enqueue_many(session, workspace_id=workspace_id, community_id=None, messages=owed)
    return f"programme: 1 sponsor, {len(owed) - 1} managers previewed"


def _reachable(person: Person) -> bool:
    return not (person.is_bot or person.deleted or person.erased_at or person.unreachable_reason)


def _reader_of(person: Person, default_language: str) -> _Reader:
    language = language_of(person.locale, default_language) if person.locale else default_language
    return _Reader(person.id, person.slack_user_id, language, person.tz)
