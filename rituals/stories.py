"""The success-story prompt ritual: invite members to share what the community brought them."""

from __future__ import annotations

from datetime import datetime

from bot import messages as m
from bot.deps import Deps
from bot.models import Community, Delivery, Ritual, RitualSetting
from rituals import recipients
from rituals.outbox.enqueueing import Owed, enqueue_many

SHARE = "story_share"  # the prompt's button; value: the community's id


def prompt_message(*, community_id: int, community: str, cadence: str = "quarterly") -> m.Message:
    """The invitation to share a success story, with the button that opens the form; « ce
    trimestre » only when the prompt comes each quarter: the period follows the cadence."""
    text = m.Say("stories.prompt", community=community, period=m.Say(f"rituals.period.{cadence}"))
    share = m.Choice(SHARE, m.Say("stories.share_button"), str(community_id), "primary")
    return m.Message(text, [m.Paragraph(text), m.Choices([share])])


async def run(
    deps: Deps, *, community: Community, setting: RitualSetting, period_key: str, now: datetime
) -> str:
    programme = deps.programme
    async with deps.sessions.begin() as session:
        if setting.delivery == Delivery.CHANNEL:
            owed = [
                Owed(
                    key=f"story_prompt:{community.id}:{period_key}:channel",
                    kind="story_prompt_channel",
                    message=prompt_message(
                        community_id=community.id,
                        community=community.name,
                        cadence=setting.cadence or "quarterly",
                    ),
                    reader=m.Reader(
                        community.language or programme.language,
                        community.tz or programme.timezone,
                    ),
                    channel_id=community.channel_id,
                )
            ]
        else:
            people, _ = await recipients.for_ritual_dm(
                session,
                community=community,
                ritual=Ritual.STORIES,
                default_language=programme.language,
                cap=programme.rituals.dm_cap_per_week,
                now=now,
            )
            message = prompt_message(
                community_id=community.id,
                community=community.name,
                cadence=setting.cadence or "quarterly",
            )
            owed = [
                Owed(
                    key=f"story_prompt:{community.id}:{period_key}:{p.person_id}",
                    kind="story_prompt",
                    message=message,
                    reader=m.Reader(p.language, p.tz),
                    person_id=p.person_id,
                )
                for p in people
            ]
        await enqueue_many(
            session, workspace_id=community.workspace_id, community_id=community.id, messages=owed
        )
    return f"{len(owed)} owed"
