"""`@cop santé` in Teams: the programme overview (counts by status, the communities ranked from
the most worrying, each with why and what to do next) and one community's view — the figures and
sentences Slack's /cop health shows, as an Adaptive Card; the trend chart through the neutral
renderer (bot.teams.render), as every platform draws it."""

from __future__ import annotations

from collections.abc import Mapping

from bot import health, lifecycle
from bot import messages as m
from bot.health import Health, Listing, Overview, Status, explain, na
from bot.i18n import Translator
from bot.kpis import Kpis
from bot.models import CommunityStatus
from bot.teams import render
from bot.teams.cards.common import Json, card, heading, markdown, note, say, text

SHOWN = 12  # communities on the card (Slack's page); the rest: « … et N autres »


def value_line(t: Translator, kpis: Kpis) -> str:
    """Validated stories and their value (bot.health.value_line), as Teams' markdown."""
    return markdown(health.value_line(t, kpis))


def _engagement(t: Translator, overview: Overview, *, charters: str, of: int | None) -> str:
    """Level 2, each figure by its name (bot.health.engagement_line), as Slack's overview says it."""
    return markdown(health.engagement_line(t, overview, charters=charters, of=of))


def _totals(t: Translator, overview: Overview) -> list[str]:
    p = overview.totals
    return [
        markdown(
            t(
                "health.totals_members",
                unique=t.number(p.members_unique),
                summed=t.number(p.members_summed),
                communities=t.number(p.communities),
            )
        ),
        markdown(
            t(
                "health.totals_active",
                active=t.number(p.active_members),
                rate=na(t, p.active_rate, percent=True),
                new=t.number(p.new_members),
                departed=t.number(p.departed_members),
            )
        ),
        markdown(
            t(
                "health.totals_activity",
                messages=t.number(p.messages),
                replies=t.number(p.replies),
                reactions=t.number(p.reactions),
                events=t.number(p.events_held),
                attendance=t.number(p.attendance),
            )
        ),
        _engagement(
            t,
            overview,
            charters=f"{t.number(p.charter_up_to_date)}/{t.number(p.communities)}",
            of=p.communities,
        ),
        value_line(t, p),
    ]


def row(t: Translator, item: Health, review: lifecycle.Review | None = None) -> list[str]:
    """One community: name, status, active members; why; what to do next (as Slack's row)."""
    s = item.signals
    first = say(
        t,
        "health.row",
        typed={"name": s.name},
        status=t(f"health.status.{item.status.value}"),
        active=t.number(s.active_recent),
        members=t.number(s.members),
    )
    if s.lifecycle_status != CommunityStatus.ACTIVE:  # dormant, as people declared it
        status = t(f"lifecycle.status.{s.lifecycle_status.value}")
        first += " · " + markdown(t("lifecycle.row_status", status=status))
    action = health.next_step(t, item, review)
    reasons = " · ".join(explain(t, r) for r in item.reasons)
    return [first, markdown(reasons), markdown(action)]


def _chart(t: Translator, overview: Overview, tz: str | None) -> list[Json]:
    """The weekly trend (active people, messages), drawn by the neutral renderer."""
    if not overview.trend:
        return []
    chart = m.Chart(
        m.Say("health.chart_title"),
        [p.start for p in overview.trend],
        [p.active for p in overview.trend],
        [p.messages + p.replies for p in overview.trend],
    )
    drawn = render.card(m.Message(m.Say("health.chart_title"), [chart]), m.Reader(t.language, tz))
    body: list[Json] = drawn.get("body") or []
    return body


def build_programme(
    t: Translator,
    overview: Overview,
    *,
    programme_name: str,
    listing: Listing,
    reviews: Mapping[int, lifecycle.Review] | None = None,
    tz: str | None = None,
) -> Json:
    counts = overview.counts
    body: list[Json] = [
        heading(say(t, "health.title_programme", typed={"name": programme_name})),
        note(t("health.as_of", day=t.date(overview.today))),
        text("\n\n".join(_totals(t, overview))),
        text(
            markdown(t("health.counts", **{s.value: counts[s] for s in Status})), spacing="Medium"
        ),
    ]
    if not listing.items:
        body.append(text(t("health.empty")))
        return card(body + _chart(t, overview, tz))
    body.append(text(markdown(t("health.ranked")), separator=True, spacing="Medium"))
    for item in listing.items[:SHOWN]:
        lines = row(t, item, (reviews or {}).get(item.signals.community_id))
        body.append(
            {
                "type": "Container",
                "id": f"community-{item.signals.community_id}",
                "separator": True,
                "items": [
                    text(lines[0]),
                    text(lines[1], spacing="None", isSubtle=True),
                    text(lines[2], spacing="None"),
                ],
            }
        )
    hidden = listing.total - min(len(listing.items), SHOWN)
    if hidden > 0:
        body.append(note(t("teams.health.more", count=t.number(hidden))))
    return card(body + _chart(t, overview, tz))


def build_community(
    t: Translator,
    overview: Overview,
    review: lifecycle.Review | None = None,
    *,
    tz: str | None = None,
) -> Json:
    """One community: its status and why, what to do next, its stage, this month's figures."""
    item = overview.items[0]
    s, k = item.signals, overview.totals
    status = markdown(t("health.community_status", status=t(f"health.status.{item.status.value}")))
    why = "\n".join(f"- {explain(t, r)}" for r in item.reasons)
    next_step = t(
        "health.next", action=explain(t, item.action), stage=t(f"health.stage.{item.stage.value}")
    )
    numbers = health.community_figures(t, k)
    body: list[Json] = [
        heading(say(t, "health.title_community", typed={"name": s.name})),
        note(t("health.as_of", day=t.date(overview.today))),
        text(status),
        text(markdown(t("health.why")), spacing="Small"),
        text(markdown(why), spacing="None"),
        text(markdown(next_step)),
    ]
    if review is not None:
        f = review.facts
        current = t(
            "lifecycle.current",
            stage=t(f"health.stage.{f.stage.value}"),
            status=t(f"lifecycle.status.{f.status.value}"),
        )
        since = t("lifecycle.since", day=t.date(lifecycle.since(f, s.created), "medium"))
        body.append(text(markdown(f"{current} · {since}")))
    body += [
        text(markdown(numbers), separator=True, spacing="Medium"),
        text(_engagement(t, overview, charters=f"{t.number(k.charter_up_to_date)}/1", of=None)),
        text(value_line(t, k)),
    ]
    return card(body + _chart(t, overview, tz))


def with_exports(built: Json, t: Translator, links: Mapping[str, str]) -> Json:
    """The manager's overview with « Exporter (CSV) » and « Exporter (Excel) »: what Slack's
    `/cop health` uploads, here an `Action.OpenUrl` each to the file's signed link (format →
    address, bot.downloads), personal and asked again of the guard when opened."""
    buttons = [
        {"type": "Action.OpenUrl", "title": t(f"teams.files.export_{fmt}"), "url": url}
        for fmt, url in links.items()
    ]
    if buttons:
        built["body"].append(note(t("teams.files.export_note")))
        built.setdefault("actions", []).extend(buttons)
    return built
