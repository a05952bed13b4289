"""The App Home tab: communities and roles, events ahead with the person's answer, polls, shortcuts."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock
from slack_sdk.models.views import View

from bot import figures
from bot.discover import Listing
from bot.events import span_text
from bot.home import Home, HomeCommunity, HomeEvent
from bot.i18n import Translator
from bot.objectives import Tally
from bot.slack.blocks import engagement as engagement_screens
from bot.slack.blocks import lifecycle as stage_screens
from bot.slack.blocks.common import VIEW_MAX_BLOCKS, header, note, section
from bot.slack.blocks.discover import home_section as discover_section
from bot.slack.blocks.rituals import preference_blocks
from bot.slack.echo import channel, say

CHARTER_EDIT = "home_charter_edit"
EVENT_NEW = "home_event_new"
STORY_SHARE = "home_story_share"  # handled by the stories feature (handlers/stories.py)
HEALTH_OVERVIEW = "health_open_overview"  # handled by the health feature (handlers/health.py)
MAX_POLLS = 10


def build_home(t: Translator, home: Home, *, tz: str, discover: Listing | None = None) -> View:
    """At most VIEW_MAX_BLOCKS blocks whatever the number of communities: the rest is counted."""
    top: list[Block] = [header(t("home.title"))]
    if home.programme is not None:
        p = home.programme
        line = t(
            "home.programme_line",
            communities=t.number(p.communities),
            unique_name=figures.name(t, "members_unique"),
            members=t.number(p.unique_members),
            events=t.number(p.events_next_30_days),
        )
        button = ButtonElement(
            action_id=HEALTH_OVERVIEW, text=t("home.health_button"), value="programme"
        )
        top += [section(line, accessory=button), DividerBlock()]
    polls = _polls(t, home, tz)
    rest = [DividerBlock(), *_events(t, home, tz), *([DividerBlock(), *polls] if polls else [])]
    mine = [c.mine for c in home.communities if c.mine is not None]
    if mine:
        # the person's own tiers: this view is published to them alone (views.publish, user_id)
        own = engagement_screens.mine_blocks(t, mine)
        rest = [DividerBlock(), *own, *rest]
    if home.rituals:
        rest += [
            DividerBlock(),
            section(t("rituals.mute_title")),
            *preference_blocks(t, home.rituals, tz=tz),
            note(t("home.rituals_note")),
        ]
    if discover is not None:
        rest += discover_section(t, discover, tz=tz)
    rest.append(note(t("home.zone_note", tz=tz)))
    # the heading, "… and N more", and the two share lines
    budget = VIEW_MAX_BLOCKS - len(top) - len(rest) - 4
    listed: list[Block] = [section(f"*{t('home.communities')}*")]
    if not home.communities:
        listed.append(section(t("home.no_community")))
    hidden = home.more_communities
    for index, community in enumerate(home.communities):
        blocks = _community(t, community, period=home.engagement_period)
        if len(blocks) > budget:
            hidden += len(home.communities) - index
            break
        listed += blocks
        budget -= len(blocks)
    if hidden:
        listed.append(note(t("home.more_communities", count=hidden)))
    if home.communities:
        listed += _share(t)
    return View(type="home", blocks=[*top, *listed, *rest])


def _community(
    t: Translator, community: HomeCommunity, *, period: str | None = None
) -> list[Block]:
    """Its line, and for those who run it the leaders' shortcuts."""
    role = t(f"role.{community.role.value}") if community.role else t("home.role_manager")
    line = say(
        t,
        "home.community_line",
        name=community.name,
        channel=channel(community.channel_id),
        role=role,
    )
    if community.may_run and community.charter_to_review:
        line += "\n" + t("home.charter_to_review")
    if community.may_run and community.lifecycle is not None:
        line += "\n" + stage_screens.home_line(t, community.lifecycle)
    if community.may_run and community.objectives is not None:
        line += "\n" + _objectives_line(t, community.objectives, community.objectives_year)
    if community.may_run and community.tiers is not None and period:
        line += "\n" + _tiers_line(t, community, period)
    if not community.may_run:
        return [section(line)]
    shortcuts = ActionsBlock(
        block_id=f"home_run_{community.id}",
        elements=[
            ButtonElement(
                action_id=CHARTER_EDIT, text=t("home.charter_button"), value=str(community.id)
            ),
            ButtonElement(
                action_id=EVENT_NEW,
                text=t("home.event_button"),
                value=str(community.id),
                style="primary",
            ),
        ],
    )
    return [section(line), shortcuts]


def _tiers_line(t: Translator, community: HomeCommunity, period: str) -> str:
    """For those who run it: « Cercles d'engagement ce mois-ci : 3 au cœur · 12 actifs ·
    25 périphériques · Fidélité des membres actifs : 60 % (6 sur 10) » — counts, never who."""
    assert community.tiers is not None
    words = engagement_screens.period_words(t, period)
    counts = figures.named(t, "engagement_tiers", figures.tiers(t, community.tiers), period=words)
    kept = figures.named(t, "retention", figures.retention(t, community.tiers))
    return f"{counts} · {kept}"


def _share(t: Translator) -> list[Block]:
    """Any day, not only when the prompt comes: a story, or a testimonial in one sentence."""
    return [
        section(
            t("home.story_line"),
            accessory=ButtonElement(
                action_id=STORY_SHARE, text=t("home.story_button"), value="story", style="primary"
            ),
        ),
        section(
            t("home.testimonial_line"),
            accessory=ButtonElement(
                action_id=f"{STORY_SHARE}_testimonial",
                text=t("home.testimonial_button"),
                value="testimonial",
            ),
        ),
    ]


def _events(t: Translator, home: Home, tz: str) -> list[Block]:
    blocks: list[Block] = [section(f"*{t('home.events')}*")]
    if not home.events:
        blocks.append(section(t("home.no_event")))
    for event in home.events:
        answer = t(f"event.rsvp.{event.answer.value}") if event.answer else t("home.no_answer")
        line = t(
            "home.event_line",
            title=event.title,
            when=_when(t, event, tz),
            community=event.community_name,
            answer=answer,
        )
        blocks.append(section(line))
    return blocks


def _when(t: Translator, event: HomeEvent, tz: str) -> str:
    """The start; over several days, from the first day to the last (as on the announcement)."""
    if event.ends_at is None or not event.spans_days(tz):
        return t.datetime(event.starts_at, tz)
    return span_text(t, event.starts_at, event.ends_at, tz)


def _objectives_line(t: Translator, tally: Tally, year: int | None) -> str:
    """« Objectifs 2026 : 1 sur 3 (33 %) atteints », or that they are still to write."""
    if tally.rate is None:  # none written, or all dropped
        return t("home.objectives_none", year=str(year))
    done = t(
        "objectives.achieved_of",
        achieved=t.number(tally.achieved),
        counted=t.number(tally.counted),
        rate=t.percent(tally.rate),
    )
    return t("home.objectives_line", year=str(year), done=done)


def _polls(t: Translator, home: Home, tz: str) -> list[Block]:
    if not home.polls and not home.polled:
        return []  # never asked a poll: nothing to wait for, nothing to thank them for
    blocks: list[Block] = [section(f"*{t('home.polls')}*")]
    if not home.polls:
        blocks.append(section(t("home.no_poll")))
    for poll in home.polls[:MAX_POLLS]:
        line = t(
            "home.survey_line" if poll.survey else "home.poll_line",
            community=poll.community_name,
            closes=t.datetime(poll.closes_at, tz),
        )
        blocks.append(section(line))
    return blocks
