"""Discover: the programme's communities as cards (a message, or a section of the Home), the
kind filter and the pager; the leaders' Accept / Decline message for a private community.

Every click carries its state in its value ("kind|page|query"), so a page or a filter is drawn
again from the value alone; the query is cut to bot.discover.QUERY_MAX characters.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.discover import QUERY_MAX, Card, Filters, Listing
from bot.i18n import Translator
from bot.models import CommunityKind
from bot.numbers import whole
from bot.slack.blocks.common import header, note, section
from bot.slack.blocks.proposals import propose_blocks
from bot.slack.echo import Mrkdwn, cut, mention, mrkdwn, say

JOIN = "discover_join"
OPEN = "discover_open"  # a link button: Slack opens the channel, the click is only acknowledged
KIND = "discover_kind"
PAGE_PREVIOUS = "discover_page_previous"
PAGE_NEXT = "discover_page_next"
BROWSE_ACTIONS = (KIND, PAGE_PREVIOUS, PAGE_NEXT)
ACCEPT = "discover_accept"
DECLINE = "discover_decline"
MISSION_MAX = 280  # a card shows the start of the mission; the charter has the rest


def encode(filters: Filters, page: int | None = None) -> str:
    kind = filters.kind.value if filters.kind else ""
    return f"{kind}|{max(filters.page if page is None else page, 0)}|{filters.query[:QUERY_MAX]}"


def decode(value: str | None) -> Filters:
    """Anything unreadable reads as "no filter, first page": a forged value shows page one."""
    kind_text, _, rest = (value or "").partition("|")
    page_text, _, query = rest.partition("|")
    try:
        kind = CommunityKind(kind_text) if kind_text else None
    except ValueError:
        kind = None
    page = whole(page_text, max_digits=4) or 0
    return Filters(query=" ".join(query.split())[:QUERY_MAX], kind=kind, page=page)


def channel_url(channel_id: str) -> str:
    return f"https://slack.com/app_redirect?channel={channel_id}"


def _card_text(t: Translator, card: Card, tz: str) -> Mrkdwn:
    lines = [
        say(
            t,
            "discover.card",
            name=card.name,
            stage=t(f"health.stage.{card.stage.value}"),
            kind=t(f"health.kind.{card.kind.value}"),
        ),
        cut(card.mission, MISSION_MAX) if card.mission.strip() else say(t, "discover.no_mission"),
    ]
    leaders = (
        say(t, "discover.leaders", names=", ".join(card.leaders))
        if card.leaders
        else say(t, "discover.no_leader")
    )
    lines.append(leaders + Mrkdwn(" · ") + say(t, "discover.members", count=card.members))
    if card.next_event is not None:
        lines.append(
            say(
                t,
                "discover.next_event",
                title=card.next_event.title,
                when=t.datetime(card.next_event.starts_at, tz),
            )
        )
    else:
        lines.append(say(t, "discover.no_event"))
    return Mrkdwn("\n").join(lines)


def card_block(t: Translator, card: Card, tz: str) -> SectionBlock:
    """A community's card: Open (a link to its channel) for its members, else Join."""
    if card.is_member:
        button = ButtonElement(
            text=t("discover.open"),
            action_id=OPEN,
            url=channel_url(card.channel_id),
            value=str(card.id),
        )
    else:
        button = ButtonElement(
            text=t("discover.join"), action_id=JOIN, value=str(card.id), style="primary"
        )
    return SectionBlock(
        block_id=f"discover_card_{card.id}", text=mrkdwn(_card_text(t, card, tz)), accessory=button
    )


def _summary(t: Translator, listing: Listing) -> Mrkdwn:
    if listing.total == 0:
        if listing.filters.query or listing.filters.kind:
            return say(t, "discover.no_match")
        return say(t, "discover.empty")
    line = say(
        t,
        "discover.summary" if listing.pages > 1 else "discover.summary_one_page",
        total=listing.total,
        first=t.number(listing.first),
        last=t.number(listing.first + len(listing.cards) - 1),
        page=t.number(listing.page + 1),
        pages=t.number(listing.pages),
    )
    if listing.filters.query:
        line += Mrkdwn(" · ") + say(t, "discover.searched", query=listing.filters.query)
    return line


def _kind_select(t: Translator, filters: Filters) -> StaticSelectElement:
    everything = Option(
        text=t("discover.filter.all_kinds"), value=encode(Filters(filters.query, None), 0)
    )
    options, initial = [everything], everything
    for kind in CommunityKind:
        option = Option(
            text=t(f"health.kind.{kind.value}"), value=encode(Filters(filters.query, kind), 0)
        )
        options.append(option)
        if filters.kind == kind:
            initial = option
    return StaticSelectElement(
        action_id=KIND,
        placeholder=t("discover.filter.kind"),
        options=options,
        initial_option=initial,
    )


def _pager(t: Translator, listing: Listing) -> list[ButtonElement]:
    buttons = []
    if listing.page > 0:
        buttons.append(
            ButtonElement(
                text=t("discover.previous"),
                action_id=PAGE_PREVIOUS,
                value=encode(listing.filters, listing.page - 1),
            )
        )
    if listing.page < listing.pages - 1:
        buttons.append(
            ButtonElement(
                text=t("discover.next"),
                action_id=PAGE_NEXT,
                value=encode(listing.filters, listing.page + 1),
            )
        )
    return buttons


def listing_blocks(t: Translator, listing: Listing, *, tz: str) -> list[Block]:
    """The filter with the pager beside it, the summary, then the cards: at most
    3 + page size blocks (13 for a message, 8 on the Home)."""
    blocks: list[Block] = [
        ActionsBlock(
            block_id="discover_browse",
            elements=[_kind_select(t, listing.filters), *_pager(t, listing)],
        ),
        ContextBlock(elements=[mrkdwn(_summary(t, listing))]),
    ]
    blocks += [card_block(t, card, tz) for card in listing.cards]
    return blocks


def build_listing(t: Translator, listing: Listing, *, tz: str) -> tuple[Mrkdwn, list[Block]]:
    """`/cop communities` as a message."""
    title = t("discover.title")
    return say(t, "discover.title"), [
        header(title),
        *listing_blocks(t, listing, tz=tz),
        *_propose(t, listing),
    ]


def _propose(t: Translator, listing: Listing) -> list[Block]:
    """The way to propose a community, under the list (what was searched in vain: its name)."""
    return propose_blocks(t, searched=listing.filters.query, nothing_found=listing.total == 0)


def home_section(t: Translator, listing: Listing, *, tz: str) -> list[Block]:
    """The Home's Discover section (its pager republishes the Home)."""
    return [
        DividerBlock(),
        section(say(t, "discover.home_title")),
        *listing_blocks(t, listing, tz=tz),
        note(t("discover.home_more")),
        *_propose(t, listing),
    ]


def request_blocks(
    t: Translator, *, requester: str, community_name: str, request_id: int
) -> tuple[Mrkdwn, list[Block]]:
    """What each leader of a private community receives: who asks, Accept and Decline."""
    text = say(t, "discover.ask_leaders", who=mention(requester), name=community_name)
    return text, [
        section(text),
        ActionsBlock(
            block_id=f"discover_request_{request_id}",
            elements=[
                ButtonElement(
                    text=t("discover.accept"),
                    action_id=ACCEPT,
                    value=str(request_id),
                    style="primary",
                ),
                ButtonElement(
                    text=t("discover.decline"),
                    action_id=DECLINE,
                    value=str(request_id),
                    style="danger",
                ),
            ],
        ),
    ]


def decided_text(
    t: Translator, *, accepted: bool, who: str, requester: str, community_name: str
) -> Mrkdwn:
    return say(
        t,
        "discover.accepted_by" if accepted else "discover.declined_by",
        who=mention(who),
        requester=mention(requester),
        name=community_name,
    )
