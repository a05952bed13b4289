"""The welcome ritual: a newcomer gets the mission, the leaders, the next event and how to say hello.

Not for bots, not for people rejoining within `rejoin_days`, not for bulk additions (more than
`bulk_threshold` joins within a few minutes): those show up in the leaders' digest instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot import messages as m
from bot.communities import JoinResult, rejoined_recently
from bot.deps import Deps
from bot.models import (
    CharterVersion,
    Community,
    CommunityStatus,
    Delivery,
    Event,
    EventStatus,
    Membership,
    Person,
    Ritual,
    Role,
    utcnow,
)
from bot.preferences import muted_people
from rituals import recipients
from rituals.cadence import settings_of
from rituals.outbox import enqueue

logger = logging.getLogger(__name__)
BULK_WINDOW = timedelta(minutes=5)


def welcome_message(
    *,
    user_id: str,
    community: str,
    channel_id: str,
    mission: str | None,
    leaders: list[str],
    next_event: tuple[str, datetime] | None,
    in_channel: bool,
    greeting: Mapping[str, str] | None = None,
) -> m.Message:
    """The mission, the next event's title and the community's name are typed by people: they
    show as typed; the newcomer, the leaders and the channel are ours to name. `greeting` is the
    programme's own first line (app.yaml `templates.welcome`), per language."""
    said = m.Say("welcome.hello", user=m.Person(user_id), community=community)
    hello: m.Text = said
    if greeting:
        params = {"name": m.Person(user_id), "community": community, "channel": m.Place(channel_id)}
        hello = m.Fill(greeting, params, otherwise=said)
    lines: list[m.Text] = [hello]
    if mission:
        lines.append(m.Say("welcome.mission", mission=mission[:1000]))
    if leaders:
        lines.append(m.Say("welcome.leaders", leaders=m.Join([m.Person(u) for u in leaders], ", ")))
    if next_event:
        title, when = next_event
        lines.append(m.Say("welcome.next_event", title=title, when=m.Moment(when, with_zone=True)))
    lines.append(
        m.Say("welcome.introduce_here")
        if in_channel
        else m.Say("welcome.introduce", channel=m.Place(channel_id))
    )
    return m.Message(
        hello, [m.Paragraph(m.Lines(lines, blank=True)), m.Note(m.Say("welcome.mute_hint"))]
    )


async def on_join(
    deps: Deps, *, community_id: int, joined: JoinResult, now: datetime | None = None
) -> str:
    """Owe a welcome for this join, or say why not (the reason is logged, never shown)."""
    now = now or utcnow()
    programme = deps.programme
    conf = programme.rituals.welcome
    if not joined.joined:
        return "already_member"
    if rejoined_recently(joined.previous_left_at, now=now, days=conf.rejoin_days):
        return "rejoin"
    async with deps.sessions.begin() as session:
        community = await session.get(Community, community_id)
        person = await session.get(Person, joined.person_id)
        if community is None or person is None:
            return "unknown"
        if community.status == CommunityStatus.CLOSED:  # people closed it: no more rituals
            return "closed"
        if person.is_bot or person.deleted:
            return "bot"
        setting = (await settings_of(session, community=community, programme=programme, now=now))[
            Ritual.WELCOME
        ]
        if not setting.enabled:
            return "disabled"
        recent = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(
                Membership.community_id == community_id,
                Membership.source == "event",
                Membership.joined_at > now - BULK_WINDOW,
            )
        )
        if (recent or 0) > conf.bulk_threshold:
            return "bulk"
        if setting.delivery == Delivery.DM and person.id in await muted_people(
            session, ritual=Ritual.WELCOME, now=now
        ):
            return "muted"
        mission = await session.scalar(
            sa.select(CharterVersion.mission)
            .where(CharterVersion.community_id == community_id)
            .order_by(CharterVersion.version.desc())
            .limit(1)
        )
        leaders = [
            r.slack_user_id
            for r in await recipients.members(
                session,
                community=community,
                default_language=programme.language,
                roles=(Role.LEADER,),
            )
        ]
        upcoming = (
            await session.execute(
                sa.select(Event.title, Event.starts_at)
                .where(
                    Event.community_id == community_id,
                    Event.status == EventStatus.SCHEDULED,
                    Event.starts_at > now,
                )
                .order_by(Event.starts_at)
                .limit(1)
            )
        ).first()
        in_channel = setting.delivery == Delivery.CHANNEL
        language = (
            community.language or programme.language
            if in_channel
            else recipients.language_for(person.locale, community, programme.language)
        )
        message = welcome_message(
            user_id=person.slack_user_id,
            community=community.name,
            channel_id=community.channel_id,
            mission=mission or None,
            leaders=leaders,
            next_event=(upcoming.title, upcoming.starts_at) if upcoming else None,
            in_channel=in_channel,
            greeting=programme.templates.get("welcome"),
        )
        zone = community.tz if in_channel else person.tz
        await enqueue(
            session,
            workspace_id=community.workspace_id,
            key=f"welcome:{community_id}:{person.id}:{now.date().isoformat()}",
            kind="welcome_channel" if in_channel else "welcome",
            message=message,
            reader=m.Reader(language, zone or programme.timezone),
            channel_id=community.channel_id if in_channel else None,
            person_id=None if in_channel else person.id,
            community_id=community_id,
        )
    return "welcomed"
