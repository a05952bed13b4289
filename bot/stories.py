"""Success stories: members tell what the community brought them; leaders validate them.

Only validated stories count as value (level 3, tangible value): `counted()` is the one
definition every KPI, health view, Home, report and export uses; a submitted story waits apart
("awaiting validation", `awaiting()`). Shareable validated ones may be posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import communities, people
from bot import messages as m
from bot.errors import Conflict, CopError, InvalidFields, InvalidInput, NotFound
from bot.i18n import Translator
from bot.models import (
    ChannelStatus,
    CommunityStatus,
    Person,
    StoryKind,
    StoryStatus,
    SuccessStory,
    ValueKind,
    utcnow,
)
from bot.numbers import decimal
from bot.permissions import Action, Actor, may, require
from bot.ports import Owe

UNITS = ("hours", "euros", "quality", "customers", "other")
# The largest value one story may claim, per unit: a story tells one gain, not the whole
# organisation's, so a bigger figure is a typo (an extra zero, a pasted phone number) that would
# swamp the programme's totals. The column holds 12 digits and 2 decimals.
UNIT_MAX = {
    "hours": Decimal(100_000),  # about fifty person-years
    "euros": Decimal(100_000_000),
    "quality": Decimal(10_000),
    "customers": Decimal(10_000_000),
    "other": Decimal(1_000_000_000),
}
AMOUNT_DECIMALS = 2
# Units whose amounts are percentages (quality gained, in points): adding two stories' +10 %
# gives no +20 %, so their figure is the mean over the stories that give one, with that n.
AVERAGED_UNITS = frozenset({"quality"})


def value_phrases(
    t: Translator, values: Mapping[str, float], counts: Mapping[str, int] | None = None
) -> list[str]:
    """Each unit's value in words, in the reader's alphabetical order of the words
    (« 90 heures gagnées », « 12 points de qualité en moyenne (3 histoires) »): the one way
    every surface writes a value (health, Home, report, exports)."""
    counts = counts or {}
    phrases = [
        (
            t.unit(unit),
            t.value(
                amount,
                unit,
                averaged_over=counts.get(unit) if unit in AVERAGED_UNITS else None,
            ),
        )
        for unit, amount in values.items()
    ]
    return [phrase for _, phrase in t.sorted(phrases, key=lambda p: p[0])]


def counted() -> sa.ColumnElement[bool]:
    """The stories that count as value: validated by a leader. The one definition.
    Testimonials are counted apart (`testimonials_counted`)."""
    return sa.and_(
        SuccessStory.status == StoryStatus.VALIDATED, SuccessStory.kind == StoryKind.STORY
    )


def testimonials_counted() -> sa.ColumnElement[bool]:
    """The testimonials that count: validated by a leader, as stories are."""
    return sa.and_(
        SuccessStory.status == StoryStatus.VALIDATED, SuccessStory.kind == StoryKind.TESTIMONIAL
    )


def awaiting() -> sa.ColumnElement[bool]:
    """Submitted stories, not yet validated or rejected: shown apart, never counted."""
    return sa.and_(
        SuccessStory.status == StoryStatus.SUBMITTED, SuccessStory.kind == StoryKind.STORY
    )


@dataclass(frozen=True, slots=True)
class StoryInput:
    title: str
    context: str
    contribution: str
    benefit: str
    value_amount: str | None
    value_unit: str | None
    people_involved: str
    shareable: bool
    value_kind: str | None


TEXT_LIMITS = {  # the modal's limits, refused (not cut) when a payload exceeds them
    "title": 150,
    "context": 2000,
    "contribution": 2000,
    "benefit": 2000,
    "people_involved": 2000,
}


@dataclass(frozen=True, slots=True)
class TestimonialInput:
    """A testimonial: one sentence, whose words they are (the author's own name by default)."""

    sentence: str
    name: str
    shareable: bool


SENTENCE_MAX = 300
NAME_MAX = 80


def check_testimonial(data: TestimonialInput) -> None:
    """Every problem at once, keyed by the modal field."""
    errors: list[InvalidInput] = []
    for name, limit in (("sentence", SENTENCE_MAX), ("name", NAME_MAX)):
        value = getattr(data, name).strip()
        if not value:
            errors.append(InvalidInput("stories.required", field=name))
        elif len(value) > limit:
            errors.append(InvalidInput("stories.too_long", field=name, max=limit))
    if errors:
        raise InvalidFields(errors)


def check(data: StoryInput) -> tuple[Decimal | None, ValueKind | None]:
    """Validate a submission; every problem at once, keyed by the modal field."""
    errors: list[InvalidInput] = []
    for name in ("title", "context", "contribution", "benefit"):
        if not getattr(data, name).strip():
            errors.append(InvalidInput("stories.required", field=name))
    for name, limit in TEXT_LIMITS.items():
        if len(getattr(data, name).strip()) > limit:
            errors.append(InvalidInput("stories.too_long", field=name, max=limit))
    amount: Decimal | None = None
    unit = data.value_unit if data.value_unit in UNITS else None
    if data.value_unit and unit is None:
        errors.append(InvalidInput("stories.unit_needed", field="value_unit"))
    if data.value_amount and data.value_amount.strip():
        amount, problem = _amount(data.value_amount, unit)
        if problem is not None:
            errors.append(problem)
        if not data.value_unit:
            errors.append(InvalidInput("stories.unit_needed", field="value_unit"))
    kind = None
    if data.value_kind:
        try:
            kind = ValueKind(data.value_kind)
        except ValueError:
            errors.append(InvalidInput("stories.required", field="value_kind"))
    if errors:
        raise InvalidFields(errors)
    return amount, kind


def _amount(text: str, unit: str | None) -> tuple[Decimal | None, InvalidInput | None]:
    """The amount typed (`12`, `3,5`, `1 200`), or the field error that says what is wrong:
    never a value silently rounded or cut to fit."""
    amount = decimal(text)  # ASCII digits only: not "١٢", "NaN", "-3"
    if amount is None or amount <= 0:
        return None, InvalidInput("stories.bad_amount", field="value_amount")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_DECIMALS:
        return None, InvalidInput(
            "stories.amount_decimals", field="value_amount", decimals=AMOUNT_DECIMALS
        )
    ceiling = UNIT_MAX.get(unit or "other", UNIT_MAX["other"])
    if amount > ceiling:
        return None, InvalidInput(
            "stories.amount_too_big", field="value_amount", max=ceiling, unit=unit or "other"
        )
    return amount, None


async def submit(
    session: AsyncSession,
    *,
    workspace_id: str,
    community_id: int,
    author_person_id: int,
    data: StoryInput,
    submission_key: str | None = None,
) -> SuccessStory:
    amount, kind = check(data)
    if submission_key:
        existing = await session.scalar(
            sa.select(SuccessStory).where(SuccessStory.submission_key == submission_key)
        )
        if existing is not None:
            return existing
    story = SuccessStory(
        workspace_id=workspace_id,
        community_id=community_id,
        author_person_id=author_person_id,
        title=data.title.strip()[:150],
        context=data.context.strip(),
        contribution=data.contribution.strip(),
        benefit=data.benefit.strip(),
        value_amount=amount,
        value_unit=data.value_unit if amount is not None else None,
        people_involved=data.people_involved.strip(),
        shareable=data.shareable,
        value_kind=kind,
        submission_key=submission_key,
    )
    session.add(story)
    await session.flush()
    return story


async def get(
    session: AsyncSession, *, story_id: int, community_id: int | None = None
) -> SuccessStory:
    story = await session.get(SuccessStory, story_id)
    if story is None or (community_id is not None and story.community_id != community_id):
        raise NotFound("stories.not_found")
    return story


async def decide(
    session: AsyncSession,
    *,
    story: SuccessStory,
    validate: bool,
    by_person_id: int | None,
    now: datetime | None = None,
) -> SuccessStory:
    if story.status != StoryStatus.SUBMITTED:
        raise Conflict("stories.already_decided")
    story.status = StoryStatus.VALIDATED if validate else StoryStatus.REJECTED
    story.validated_by_person_id = by_person_id
    story.validated_at = now or utcnow()
    await session.flush()
    return story


def may_post(story: SuccessStory) -> None:
    if story.status != StoryStatus.VALIDATED or not story.shareable:
        raise Conflict("stories.not_shareable")
    if story.posted_ts:
        raise Conflict("stories.already_posted")


POST_KIND = "story_post"


def post_key(story_id: int) -> str:
    """The outbox key of a story's post in its channel: one post per story."""
    return f"{POST_KIND}:{story_id}"


async def record_posted(session: AsyncSession, *, key: str, ts: str) -> None:
    """The post went out: keep its real message ts (the outbox calls this once Slack answered)."""
    story_id = key.removeprefix(f"{POST_KIND}:")
    if story_id.isdigit():
        await session.execute(
            sa.update(SuccessStory).where(SuccessStory.id == int(story_id)).values(posted_ts=ts)
        )


async def of_community(
    session: AsyncSession, *, community_id: int, statuses: tuple[StoryStatus, ...]
) -> list[SuccessStory]:
    return list(
        await session.scalars(
            sa.select(SuccessStory)
            .where(SuccessStory.community_id == community_id, SuccessStory.status.in_(statuses))
            .order_by(SuccessStory.created_at.desc())
            .limit(20)
        )
    )


# --- use cases: what a person's click or modal asks, each in its own transaction -------------------


async def share(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: Actor,
    community_id: int,
    data: StoryInput,
    submission_key: str | None = None,
) -> SuccessStory:
    """A member's story modal: recorded for the leaders to review (once per submission_key).
    NotFound when the community is not in the actor's workspace."""
    async with sessions.begin() as session:
        await communities.get(session, workspace_id=actor.workspace_id, community_id=community_id)
        person = (
            await people.ensure_many(
                session, workspace_id=actor.workspace_id, slack_user_ids=[actor.slack_user_id]
            )
        )[actor.slack_user_id]
        return await submit(
            session,
            workspace_id=actor.workspace_id,
            community_id=community_id,
            author_person_id=person.id,
            data=data,
            submission_key=submission_key,
        )


async def share_testimonial(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: Actor,
    community_id: int,
    data: TestimonialInput,
    submission_key: str | None = None,
) -> SuccessStory:
    """A member's testimonial: kept as a story of kind "testimonial" (the sentence is its
    title and benefit, the name its people involved), reviewed by leaders like a story."""
    check_testimonial(data)
    async with sessions.begin() as session:
        await communities.get(session, workspace_id=actor.workspace_id, community_id=community_id)
        if submission_key:
            existing = await session.scalar(
                sa.select(SuccessStory).where(SuccessStory.submission_key == submission_key)
            )
            if existing is not None:
                return existing
        person = (
            await people.ensure_many(
                session, workspace_id=actor.workspace_id, slack_user_ids=[actor.slack_user_id]
            )
        )[actor.slack_user_id]
        sentence = data.sentence.strip()
        row = SuccessStory(
            workspace_id=actor.workspace_id,
            community_id=community_id,
            author_person_id=person.id,
            kind=StoryKind.TESTIMONIAL,
            title=sentence[:150],
            benefit=sentence,
            people_involved=data.name.strip(),
            shareable=data.shareable,
            submission_key=submission_key,
        )
        session.add(row)
        await session.flush()
        return row


async def communities_of(
    sessions: async_sessionmaker[AsyncSession], *, actor: Actor
) -> list[tuple[int, str]]:
    """The live communities a person belongs to, by name: where they may share a story."""
    async with sessions() as session:
        me = await people.find(
            session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
        )
        if me is None:
            return []
        rows = await communities.memberships_of(session, person_id=me.id)
        return [
            (c.id, c.name)
            for _, c in rows
            if c.workspace_id == actor.workspace_id
            and c.channel_status == ChannelStatus.OK
            and c.status != CommunityStatus.CLOSED
        ]


@dataclass(frozen=True)
class Review:
    """A community's stories as one reader may see them: leaders also see those to decide."""

    community_name: str
    may_validate: bool
    stories: list[tuple[SuccessStory, str | None]]  # each with its author's user id


async def review(
    sessions: async_sessionmaker[AsyncSession], *, actor: Actor, community_id: int
) -> Review:
    async with sessions() as session:
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=community_id
        )
        editable = await may(
            session, actor=actor, action=Action.VALIDATE_STORY, community_id=community_id
        )
        rows = await of_community(
            session,
            community_id=community_id,
            statuses=(StoryStatus.SUBMITTED, StoryStatus.VALIDATED)
            if editable
            else (StoryStatus.VALIDATED,),
        )
        ids = [s.author_person_id for s in rows if s.author_person_id]
        authors = {
            p.id: p.slack_user_id
            for p in await session.scalars(sa.select(Person).where(Person.id.in_(ids)))
        }
        return Review(
            community_name=community.name,
            may_validate=editable,
            stories=[(s, authors.get(s.author_person_id or 0)) for s in rows],
        )


async def _to_judge(session: AsyncSession, actor: Actor, story_id: int) -> SuccessStory:
    """A story of the actor's workspace that the actor may validate, else a CopError."""
    story = await session.get(SuccessStory, story_id)
    if story is None or story.workspace_id != actor.workspace_id:
        raise CopError("stories.not_found")
    await require(
        session, actor=actor, action=Action.VALIDATE_STORY, community_id=story.community_id
    )
    return story


async def judge(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: Actor,
    story_id: int,
    validate: bool,
    showcase: Showcase | None = None,
) -> int:
    """A leader validates or rejects a submitted story. Returns its community's id.

    A validated, shareable story or testimonial is owed to the programme's showcase channel in
    the same transaction (once: the outbox key is the story's), when the programme names one."""
    async with sessions.begin() as session:
        story = await _to_judge(session, actor, story_id)
        me = await people.find(
            session, workspace_id=actor.workspace_id, slack_user_id=actor.slack_user_id
        )
        await decide(session, story=story, validate=validate, by_person_id=me.id if me else None)
        if validate and story.shareable and showcase is not None and showcase.channel_id:
            community = await communities.get(
                session, workspace_id=actor.workspace_id, community_id=story.community_id
            )
            author = (
                await session.get(Person, story.author_person_id)
                if story.author_person_id
                else None
            )
            await showcase.owe(
                session,
                workspace_id=actor.workspace_id,
                key=showcase_key(story.id),
                kind=SHOWCASE_KIND,
                message=showcase_message(
                    story,
                    community=community.name,
                    author=author.slack_user_id if author else None,
                ),
                reader=m.Reader(showcase.language),
                channel_id=showcase.channel_id,
                community_id=community.id,
            )
        return story.community_id


@dataclass(frozen=True)
class Showcase:
    """The programme's showcase channel (app.yaml `showcase_channel`), the language it is
    written in, and the outbox that owes its posts."""

    channel_id: str | None
    language: str
    owe: Owe


SHOWCASE_KIND = "story_showcase"


def showcase_key(story_id: int) -> str:
    """The outbox key of a story's cross-post to the showcase: one per story, ever."""
    return f"{SHOWCASE_KIND}:{story_id}"


def showcase_message(story: SuccessStory, *, community: str, author: str | None) -> m.Message:
    """A validated, shareable story or testimonial as the showcase shows it, with its community."""
    if story.kind == StoryKind.TESTIMONIAL:
        title = m.Say("stories.showcase_testimonial_title", community=community)
    else:
        title = m.Say("stories.showcase_story_title", community=community, title=story.title)
    return m.Message(title, [m.Paragraph(m.Lines([title, story_text(story, author=author)], True))])


async def post(
    sessions: async_sessionmaker[AsyncSession],
    owe: Owe,
    *,
    actor: Actor,
    story_id: int,
    language: str,
) -> int:
    """A leader posts a validated, shareable story in its community's channel, through the
    outbox (which keeps the post's ts once sent), in `language`. Conflict when it is already
    posted or on its way. Returns its community's id."""
    async with sessions.begin() as session:
        story = await _to_judge(session, actor, story_id)
        may_post(story)
        community = await communities.get(
            session, workspace_id=actor.workspace_id, community_id=story.community_id
        )
        author = (
            await session.get(Person, story.author_person_id) if story.author_person_id else None
        )
        owed = await owe(
            session,
            workspace_id=actor.workspace_id,
            key=post_key(story.id),
            kind=POST_KIND,
            message=post_message(story, author=author.slack_user_id if author else None),
            reader=m.Reader(language),
            channel_id=community.channel_id,
            community_id=community.id,
        )
        if not owed:  # on its way already: the outbox records its ts once posted
            raise Conflict("stories.already_posted")
        return story.community_id


def story_text(story: SuccessStory, *, author: str | None) -> m.Text:
    """The story: what its author typed shows as typed; the author is ours to name."""
    if story.kind == StoryKind.TESTIMONIAL:
        return m.Lines(
            [m.Say("stories.testimonial_line", text=story.benefit, name=story.people_involved)]
        )
    lines: list[m.Text] = [m.Strong(story.title)]
    if author:
        lines.append(m.Say("stories.by", author=m.Person(author)))
    lines += [
        m.Say("stories.line.context", text=story.context[:500]),
        m.Say("stories.line.contribution", text=story.contribution[:500]),
        m.Say("stories.line.benefit", text=story.benefit[:500]),
    ]
    if story.value_amount is not None:
        lines.append(
            m.Say(
                "stories.value",
                amount=m.Number(story.value_amount),
                unit=m.Say(f"stories.unit.{story.value_unit or 'other'}"),
            )
        )
    if story.value_kind:
        lines.append(
            m.Say("stories.line.kind", kind=m.Say(f"stories.kind.{story.value_kind.value}"))
        )
    return m.Lines(lines)


def post_message(story: SuccessStory, *, author: str | None) -> m.Message:
    """A validated story (or testimonial) as posted in its community's channel."""
    if story.kind == StoryKind.TESTIMONIAL:
        title = m.Say("stories.posted_testimonial_title")
    else:
        title = m.Say("stories.posted_title", title=story.title)
    return m.Message(title, [m.Paragraph(m.Lines([title, story_text(story, author=author)], True))])
