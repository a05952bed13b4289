"""The App Home tab: communities and roles, events ahead with the person's answer, polls, shortcuts."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.home import Home
from bot.i18n import Translator

CHARTER_EDIT = "home_charter_edit"
EVENT_NEW = "home_event_new"
HEALTH_OVERVIEW = "health_open_overview"  # handled by the health feature (handlers/health.py)
MAX_COMMUNITIES = 20


def build_home(t: Translator, home: Home, *, tz: str) -> View:
    blocks: list[Block] = [HeaderBlock(text=t("home.title"))]
    if home.programme is not None:
        p = home.programme
        blocks += [
            SectionBlock(
                text=MarkdownTextObject(
                    text=t(
                        "home.programme_line",
                        communities=t.number(p.communities),
                        members=t.number(p.unique_members),
                        events=t.number(p.events_next_30_days),
                    )
                ),
                accessory=ButtonElement(
                    action_id=HEALTH_OVERVIEW, text=t("home.health_button"), value="programme"
                ),
            ),
            DividerBlock(),
        ]
    blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{t('home.communities')}*")))
    if not home.communities:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t("home.no_community"))))
    for community in home.communities[:MAX_COMMUNITIES]:
        role = t(f"role.{community.role.value}") if community.role else t("home.role_manager")
        line = t(
            "home.community_line", name=community.name, channel=community.channel_id, role=role
        )
        if community.may_run and community.charter_to_review:
            line += "\n" + t("home.charter_to_review")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line)))
        if community.may_run:
            blocks.append(
                ActionsBlock(
                    block_id=f"home_run_{community.id}",
                    elements=[
                        ButtonElement(
                            action_id=CHARTER_EDIT,
                            text=t("home.charter_button"),
                            value=str(community.id),
                        ),
                        ButtonElement(
                            action_id=EVENT_NEW,
                            text=t("home.event_button"),
                            value=str(community.id),
                            style="primary",
                        ),
                    ],
                )
            )
    if len(home.communities) > MAX_COMMUNITIES:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=t(
                            "home.more_communities", count=len(home.communities) - MAX_COMMUNITIES
                        )
                    )
                ]
            )
        )
    blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=f"*{t('home.events')}*"))]
    if not home.events:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t("home.no_event"))))
    for event in home.events:
        answer = t(f"event.rsvp.{event.answer.value}") if event.answer else t("home.no_answer")
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=t(
                        "home.event_line",
                        title=event.title,
                        when=t.datetime(event.starts_at, tz),
                        community=event.community_name,
                        answer=answer,
                    )
                )
            )
        )
    blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=f"*{t('home.polls')}*"))]
    if not home.polls:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=t("home.no_poll"))))
    for poll in home.polls[:10]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=t(
                        "home.poll_line",
                        community=poll.community_name,
                        closes=t.datetime(poll.closes_at, tz),
                    )
                )
            )
        )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t("home.zone_note", tz=tz))]))
    return View(type="home", blocks=blocks)
