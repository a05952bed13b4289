"""The leaders' community: who belongs in the leaders' channel, and its monthly digest.

The programme article (source 001) coaches its leaders through « une communauté des leaders ».
The bot serves it with a channel named in app.yaml (`leaders_channel`): every leader and
core-team member of a live community is invited there once, and once a month the channel gets
a digest of the month just closed — the programme's trends (the figures `/cop health` shows,
this month against the month before), the month's best validated stories their authors agreed
to share, the practices that work (the communities whose figures rose most, with the rituals
they had on and the events they held) and an invitation to ask the other leaders for help.

Invitations are remembered in the audit log (`leaders_channel.invited`, one row per person and
channel, whatever Slack answered), so a leader who left the channel of their own will is never
invited again. A channel Slack refuses (archived, the bot not in it, unknown) is recorded as
`leaders_channel.unusable` and not tried again for `RETRY_UNUSABLE`: no retry storm.

No Slack here: the ritual (rituals/leaders_digest.py) asks the platform and writes the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot import disclosure, kpis, periods
from bot import figures as vocabulary
from bot import messages as m
from bot import stories as stories_mod
from bot.models import (
    AuditLog,
    Community,
    CommunityStatus,
    Membership,
    Person,
    Ritual,
    RitualSetting,
    Role,
    SuccessStory,
)

KIND = "leaders_digest"  # the outbox kind (and key prefix) of the monthly post
INVITED = "leaders_channel.invited"
UNUSABLE = "leaders_channel.unusable"
RETRY_UNUSABLE = timedelta(hours=6)
ROLES = (Role.LEADER, Role.CORE_TEAM)
# the programme's trends: the figures /cop health shows, this month against the month before
TRENDS = ("members_unique", "active_members", "messages", "events_held", "attendance", "stories")
STORIES_SHOWN = 3
PRACTICES_SHOWN = 3
# the rituals a community's members notice: what "practices that work" names
PRACTICE_RITUALS = (Ritual.WELCOME, Ritual.REMINDERS, Ritual.PULSE, Ritual.STORIES)


# --- who belongs in the leaders' channel ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invitee:
    person_id: int
    slack_user_id: str


def _live() -> sa.ColumnElement[bool]:
    return sa.and_(Community.archived_at.is_(None), Community.status != CommunityStatus.CLOSED)


async def invited(session: AsyncSession, *, workspace_id: str, channel: str) -> set[int]:
    """The people ever invited to this leaders' channel (whatever Slack answered then)."""
    rows = await session.scalars(
        sa.select(AuditLog.detail).where(
            AuditLog.workspace_id == workspace_id, AuditLog.action == INVITED
        )
    )
    return {
        int(d["person_id"])
        for d in rows
        if isinstance(d, dict) and d.get("channel") == channel and d.get("person_id") is not None
    }


async def to_invite(session: AsyncSession, *, workspace_id: str, channel: str) -> list[Invitee]:
    """Leaders and core-team members of live communities never invited to `channel` yet: bots,
    deactivated, erased and unreachable people are left out."""
    rows = await session.execute(
        sa.select(Person.id, Person.slack_user_id)
        .join(Membership, Membership.person_id == Person.id)
        .join(Community, Community.id == Membership.community_id)
        .where(
            Community.workspace_id == workspace_id,
            _live(),
            Membership.role.in_(ROLES),
            Membership.left_at.is_(None),
            Person.is_bot.is_(False),
            Person.deleted.is_(False),
            Person.erased_at.is_(None),
            Person.unreachable_reason.is_(None),
        )
        .distinct()
        .order_by(Person.id)
    )
    done = await invited(session, workspace_id=workspace_id, channel=channel)
    return [Invitee(pid, uid) for pid, uid in rows if pid not in done]


async def record_invited(
    session: AsyncSession, *, workspace_id: str, channel: str, person_id: int, outcome: str
) -> None:
    """Remember an invitation (`outcome`: "invited", "already_in_channel", or why Slack refused
    this person): never asked again, so leaving the channel is respected."""
    session.add(
        AuditLog(
            workspace_id=workspace_id,
            actor="cop-bot",
            action=INVITED,
            detail={"channel": channel, "person_id": person_id, "outcome": outcome[:60]},
        )
    )
    await session.flush()


async def record_unusable(
    session: AsyncSession, *, workspace_id: str, channel: str, reason: str
) -> None:
    session.add(
        AuditLog(
            workspace_id=workspace_id,
            actor="cop-bot",
            action=UNUSABLE,
            detail={"channel": channel, "reason": reason[:60]},
        )
    )
    await session.flush()


async def unusable_since(
    session: AsyncSession, *, workspace_id: str, channel: str, now: datetime
) -> str | None:
    """Why the channel was refused less than RETRY_UNUSABLE ago, if it was."""
    rows = await session.scalars(
        sa.select(AuditLog.detail)
        .where(
            AuditLog.workspace_id == workspace_id,
            AuditLog.action == UNUSABLE,
            AuditLog.at > now - RETRY_UNUSABLE,
        )
        .order_by(AuditLog.at.desc())
    )
    for detail in rows:
        if isinstance(detail, dict) and detail.get("channel") == channel:
            return str(detail.get("reason") or "")
    return None


# --- the monthly digest -----------------------------------------------------------------------


def closed_month(now: datetime, tz: str) -> periods.Window:
    """The last full month before `now` in the programme's zone: the month a digest tells."""
    today = now.astimezone(ZoneInfo(tz)).date()
    start = periods.period_start(periods.Period.MONTH, today)
    previous = periods.period_start(periods.Period.MONTH, start - timedelta(days=1))
    return periods.Window(previous, start, periods.Period.MONTH, tz)


def digest_key(workspace_id: str, window: periods.Window) -> str:
    """The outbox key of a month's digest: one post per workspace and month, ever."""
    return f"{KIND}:{workspace_id}:{window.label}"


def month_name(window: periods.Window) -> m.Pick:
    """« novembre 2026 » / "November 2026", as each language writes a month."""
    return m.Pick(
        {
            "fr": format_date(window.start, "LLLL y", locale="fr"),
            "en": format_date(window.start, "LLLL y", locale="en"),
        }
    )


@dataclass(frozen=True, slots=True)
class Shared:
    """A validated story of the month its author agreed to share."""

    title: str
    benefit: str
    amount: Decimal | None
    unit: str | None
    community: str


@dataclass(frozen=True, slots=True)
class Practice:
    """A community whose figures rose, and what it did that month."""

    name: str
    active: int
    active_before: int
    activity: int  # messages and replies
    activity_before: int
    events: int
    rituals: tuple[str, ...]  # Ritual values that were on

    @property
    def rise(self) -> tuple[int, int]:
        return (self.active - self.active_before, self.activity - self.activity_before)


@dataclass(frozen=True, slots=True)
class Digest:
    window: periods.Window
    before: periods.Window
    now: kpis.ProgrammeKpis
    then: kpis.ProgrammeKpis
    stories: tuple[Shared, ...]
    practices: tuple[Practice, ...]
    channel_hint: bool = True  # "post your question here" (the digest is read in the channel)


async def month_stories(
    session: AsyncSession, *, workspace_id: str, window: periods.Window, limit: int = STORIES_SHOWN
) -> list[Shared]:
    """The month's best validated, shareable stories (validated that month), largest value first."""
    start, end = window.bounds()
    when = sa.func.coalesce(SuccessStory.validated_at, SuccessStory.created_at)
    rows = await session.execute(
        sa.select(SuccessStory, Community.name)
        .join(Community, Community.id == SuccessStory.community_id)
        .where(
            Community.workspace_id == workspace_id,
            stories_mod.counted(),
            SuccessStory.shareable.is_(True),
            when >= start,
            when < end,
        )
        .order_by(SuccessStory.value_amount.desc().nulls_last(), when.desc(), SuccessStory.id)
        .limit(limit)
    )
    return [Shared(s.title, s.benefit, s.value_amount, s.value_unit, name) for s, name in rows]


async def rituals_on(
    session: AsyncSession, *, community_ids: Sequence[int], defaults: Mapping[Ritual, bool]
) -> dict[int, tuple[str, ...]]:
    """Per community, the member-facing rituals that are on (app.yaml's default where the
    community never touched its settings)."""
    found: dict[int, dict[Ritual, bool]] = {c: {} for c in community_ids}
    if community_ids:
        rows = await session.execute(
            sa.select(
                RitualSetting.community_id, RitualSetting.ritual, RitualSetting.enabled
            ).where(
                RitualSetting.community_id.in_(list(community_ids)),
                RitualSetting.ritual.in_(PRACTICE_RITUALS),
            )
        )
        for cid, ritual, enabled in rows:
            found[cid][Ritual(ritual)] = bool(enabled)
    return {
        cid: tuple(r.value for r in PRACTICE_RITUALS if on.get(r, defaults.get(r, False)))
        for cid, on in found.items()
    }


def practices(
    now: Sequence[kpis.CommunityKpis],
    then: Sequence[kpis.CommunityKpis],
    rituals: Mapping[int, tuple[str, ...]],
    *,
    limit: int = PRACTICES_SHOWN,
) -> tuple[Practice, ...]:
    """The communities whose active members (then their messages and replies) rose most."""
    before = {c.community_id: c for c in then}
    found = []
    for c in now:
        b = before.get(c.community_id)
        practice = Practice(
            name=c.name,
            active=c.active_members,
            active_before=b.active_members if b else 0,
            activity=c.messages + c.replies,
            activity_before=(b.messages + b.replies) if b else 0,
            events=c.events_held,
            rituals=rituals.get(c.community_id, ()),
        )
        active_gain, activity_gain = practice.rise
        if active_gain > 0 or (active_gain == 0 and activity_gain > 0):
            found.append(practice)
    found.sort(key=lambda p: (-p.rise[0], -p.rise[1], p.name.casefold()))
    return tuple(found[:limit])


async def gather(
    session: AsyncSession,
    *,
    workspace_id: str,
    window: periods.Window,
    now: datetime,
    rule: disclosure.Rule,
    question_kinds: Mapping[str, str],
    charter_stale_days: int,
    ritual_defaults: Mapping[Ritual, bool],
) -> Digest:
    """What the month's digest says, read as /cop health reads it (bot.kpis.compute)."""
    before = periods.previous(window)

    async def figures(w: periods.Window) -> kpis.WindowKpis:
        return await kpis.compute(
            session,
            workspace_id=workspace_id,
            window=w,
            question_kinds=question_kinds,
            now=now,
            rule=rule,
            charter_stale_days=charter_stale_days,
        )

    this, last = await figures(window), await figures(before)
    on = await rituals_on(
        session,
        community_ids=[c.community_id for c in this.communities],
        defaults=ritual_defaults,
    )
    return Digest(
        window=window,
        before=before,
        now=this.programme,
        then=last.programme,
        stories=tuple(await month_stories(session, workspace_id=workspace_id, window=window)),
        practices=practices(this.communities, last.communities, on),
    )


# --- how it reads -----------------------------------------------------------------------------


def _signed(delta: int | float) -> m.Text:
    if delta == 0:
        return m.Say("leaders.same")
    sign = "+" if delta > 0 else "−"
    return m.Join([sign, m.Number(abs(delta))])


def _trend(key: str, now: kpis.ProgrammeKpis, then: kpis.ProgrammeKpis) -> m.Text:
    value, before = vocabulary.read(key, now) or 0, vocabulary.read(key, then) or 0
    return m.Say(
        "leaders.trend",
        name=m.Say(vocabulary.figure(key).name_key),
        value=m.Number(value),
        change=_signed(value - before),
    )


def _survey(figures: kpis.ProgrammeKpis) -> m.Text:
    """The perceived value as the disclosure rule left it: with its n, or why not."""
    value, answers, withheld, communities = vocabulary.survey_parts(figures, "pulse")
    name = m.Say(vocabulary.figure("pulse").name_key)
    if withheld is not None:
        shown: m.Text = m.Say(f"health.withheld.{withheld}", answers=m.Number(answers))
    elif value is None:
        shown = m.Say("health.na")
    else:
        shown = m.Say(
            "health.with_n_programme",
            value=m.Join([m.Number(value), " / ", m.Number(5)]),
            answers=m.Number(answers),
            communities=m.Number(communities),
            of=m.Number(figures.communities),
        )
    return m.Say("leaders.trend_survey", name=name, value=shown)


def _story(story: Shared) -> m.Text:
    value: m.Text = ""
    if story.amount is not None:
        value = m.Join(
            [" · ", m.Number(story.amount), " ", m.Say(f"stories.unit.{story.unit or 'other'}")]
        )
    return m.Join(
        ["• ", m.Strong(story.title), " — ", story.community, value, "\n   ", story.benefit[:300]]
    )


def _practice(p: Practice) -> m.Text:
    rituals: m.Text = (
        m.Say(
            "leaders.practice_rituals",
            rituals=m.Join([m.Say(f"rituals.name.{r}") for r in p.rituals], ", "),
        )
        if p.rituals
        else m.Say("leaders.practice_no_ritual")
    )
    return m.Join(
        [
            "• ",
            m.Strong(p.name),
            " — ",
            m.Say(
                "leaders.practice_figures",
                active=m.Number(p.active),
                active_change=_signed(p.active - p.active_before),
                activity=m.Number(p.activity),
                activity_change=_signed(p.activity - p.activity_before),
            ),
            "\n   ",
            rituals,
            " · ",
            m.Say("leaders.practice_events", count=m.Number(p.events)),
        ]
    )


def message(digest: Digest, *, programme: str) -> m.Message:
    """The digest as the leaders' channel reads it."""
    month = month_name(digest.window)
    title = m.Say("leaders.title", month=month)
    trends: list[m.Text] = [
        m.Strong(m.Say("leaders.trends_title", before=month_name(digest.before)))
    ]
    trends += [m.Join(["• ", _trend(k, digest.now, digest.then)]) for k in TRENDS]
    trends.append(m.Join(["• ", _survey(digest.now)]))
    stories: list[m.Text] = [m.Strong(m.Say("leaders.stories_title"))]
    stories += [_story(s) for s in digest.stories] or [m.Say("leaders.no_story")]
    practices: list[m.Text] = [m.Strong(m.Say("leaders.practices_title"))]
    practices += [_practice(p) for p in digest.practices] or [m.Say("leaders.no_practice")]
    blocks: list[m.Block] = [
        m.Heading(title),
        m.Paragraph(m.Say("leaders.intro", programme=programme, month=month)),
        m.Divider(),
        m.Paragraph(m.Lines(trends)),
        m.Paragraph(m.Lines(stories)),
        m.Paragraph(m.Lines(practices)),
        m.Divider(),
        m.Paragraph(
            m.Lines(
                [m.Strong(m.Say("leaders.help_title")), m.Say("leaders.help", command="/cop help")]
            )
        ),
        m.Note(m.Say("leaders.why")),
    ]
    return m.Message(title, blocks)
