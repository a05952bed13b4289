"""`cop demo --scale large`: a realistic big programme, written with bulk inserts.

220 communities, 30,000 people (many in two or more communities), 12 months of daily activity
with lively, steady, fading and dormant communities, events with attendance, charters, quarterly
pulse polls with their deliveries and anonymous answers, and success stories with their value.
Deterministic for a given seed, so benchmarks compare like with like.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import db, people
from bot.demo import lifecycle, objectives
from bot.demo.compass import fill_rounds_positional as compass_rounds
from bot.models import (
    ActivityDaily,
    Base,
    CharterObjective,
    CharterVersion,
    Community,
    CommunityKind,
    Event,
    EventKind,
    Membership,
    Person,
    Poll,
    PollDelivery,
    PollResponse,
    PollStatus,
    Role,
    Stage,
    StoryStatus,
    SuccessStory,
    ValueKind,
    utcnow,
)

_PRACTICES = [
    "Data Engineering",
    "Machine Learning",
    "DevOps",
    "Cloud",
    "Cybersécurité",
    "UX Design",
    "Product Management",
    "Lean Management",
    "Scrum Masters",
    "Qualité",
    "Achats responsables",
    "Maintenance prédictive",
    "Jumeau numérique",
    "RGPD",
    "Finance d'entreprise",
    "Contrôle de gestion",
    "Supply Chain",
    "Logistique",
    "Expérience client",
    "Service client",
    "Communication interne",
    "Marque employeur",
    "Recrutement",
    "Formation",
    "Management de projet",
    "Architecture SI",
    "API",
    "Mobile",
    "Front-end",
    "Back-end",
    "Tests automatisés",
    "Accessibilité",
    "Green IT",
    "RSE",
    "Énergie",
    "Sécurité industrielle",
    "Robotique",
    "IoT",
    "Automatisme",
    "Lean Six Sigma",
    "Innovation",
    "Design Thinking",
    "Juridique",
    "Fiscalité",
    "Trésorerie",
    "Open Source",
    "Rust",
    "Python",
    "Java",
    "SAP",
    "Salesforce",
    "Power BI",
    "Excel avancé",
    "Low-code",
]
_UNITS = [("hours", 2, 400), ("EUR", 500, 150_000), ("customers", 1, 40), ("quality_pct", 1, 30)]
_KIND_WEIGHTS = [
    (ValueKind.IMMEDIATE, 3),
    (ValueKind.POTENTIAL, 2),
    (ValueKind.APPLIED, 3),
    (ValueKind.REALISED, 4),
    (ValueKind.REFRAMING, 1),
]


@dataclass
class Summary:
    communities: int = 0
    people: int = 0
    memberships: int = 0
    activity_rows: int = 0
    events: int = 0
    polls: int = 0
    deliveries: int = 0
    responses: int = 0
    stories: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.communities} communities, {self.people} people, {self.memberships} memberships, "
            f"{self.activity_rows} activity rows, {self.events} events, {self.polls} polls "
            f"({self.deliveries} deliveries, {self.responses} answers), {self.stories} stories "
            f"in {self.seconds:.1f}s"
        )


def _at(day: date, hour: int, rng: random.Random) -> datetime:
    return datetime(
        day.year, day.month, day.day, hour, rng.choice((0, 15, 30, 45)), tzinfo=utcnow().tzinfo
    )


async def _bulk(
    session: AsyncSession, table: Any, rows: list[dict[str, Any]], chunk: int = 5000
) -> None:
    for start in range(0, len(rows), chunk):
        await session.execute(sa.insert(table), rows[start : start + chunk])


def _profile(rng: random.Random) -> tuple[str, float, float]:
    """(trend, base weekly active share, slope over the year)."""
    trend = rng.choices(
        ["lively", "steady", "fading", "dormant", "new"], weights=[20, 45, 18, 10, 7]
    )[0]
    base = {"lively": 0.16, "steady": 0.11, "fading": 0.12, "dormant": 0.02, "new": 0.10}[trend]
    slope = {"lively": 0.8, "steady": 0.0, "fading": -0.85, "dormant": -0.6, "new": 0.5}[trend]
    return trend, base, slope


async def generate(
    sessions: async_sessionmaker[AsyncSession],
    *,
    workspace_id: str,
    communities: int = 220,
    people_count: int = 30_000,
    months: int = 12,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[..., None] | None = None,
) -> Summary:
    """Write the programme; returns what was written and how long it took.

    `progress(key, **counts)` is told of each phase as it is done (a few lines, not a flood)."""
    told = progress or (lambda key, **counts: None)
    told("demo.large.start", people=people_count, communities=communities, months=months)
    started = time.perf_counter()
    rng = random.Random(seed)
    now = now or utcnow()
    today = now.date()
    first_day = today - timedelta(days=months * 30)
    summary = Summary()
    async with sessions.begin() as session:
        await people.ensure_workspace(session, workspace_id, "Programme démo")
        await _bulk(
            session,
            Person,
            [
                {
                    "workspace_id": workspace_id,
                    "slack_user_id": f"UL{i:07d}",
                    "name": f"person{i}",
                    "real_name": f"Personne {i}",
                    "tz": "Europe/Paris" if i % 10 < 8 else "America/New_York",
                    "locale": "fr-FR" if i % 10 < 8 else "en-US",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(people_count)
            ],
        )
        person_ids = list(
            await session.scalars(
                sa.select(Person.id)
                .where(Person.workspace_id == workspace_id, Person.slack_user_id.like("UL%"))
                .order_by(Person.slack_user_id)
            )
        )
        community_rows = []
        for j in range(communities):
            practice = _PRACTICES[j % len(_PRACTICES)]
            suffix = "" if j < len(_PRACTICES) else f" {j // len(_PRACTICES) + 1}"
            age = rng.randint(60, 1100)
            community_rows.append(
                {
                    "workspace_id": workspace_id,
                    "name": f"{practice}{suffix}",
                    "slug": f"cop-{j:03d}",
                    "channel_id": f"CL{j:06d}",
                    "kind": rng.choice(list(CommunityKind)),
                    "stage": rng.choice(
                        [Stage.LAUNCH, Stage.GROWTH, Stage.GROWTH, Stage.REORIENTATION]
                    ),
                    "language": "en" if j % 9 == 0 else "fr",
                    "created_at": now - timedelta(days=age),
                }
            )
        await _bulk(session, Community, community_rows)
        community_ids = list(
            await session.scalars(
                sa.select(Community.id)
                .where(Community.workspace_id == workspace_id, Community.channel_id.like("CL%"))
                .order_by(Community.channel_id)
            )
        )
        await lifecycle.history(  # the stages each went through, who moved them and why
            session, workspace_id=workspace_id, community_ids=community_ids, rng=rng, now=now
        )
    summary.communities, summary.people = len(community_ids), len(person_ids)
    told("demo.large.people", people=summary.people, communities=summary.communities)

    # --- memberships with overlap: Zipf-like community sizes; 1, 2 or 3+ communities each -----
    weights = [1.0 / (rank + 3) ** 0.9 for rank in range(len(community_ids))]
    rng.shuffle(weights)
    members_of: dict[int, list[int]] = {cid: [] for cid in community_ids}
    membership_rows: list[dict[str, Any]] = []
    for pid in person_ids:
        k = rng.choices([1, 2, 3, 4, 5], weights=[58, 24, 10, 5, 3])[0]
        chosen = set(rng.choices(community_ids, weights=weights, k=k))
        for cid in chosen:
            joined = now - timedelta(days=rng.randint(1, months * 30 + 200))
            left = None
            if rng.random() < 0.08:
                left = joined + timedelta(days=rng.randint(1, max(1, (now - joined).days)))
                left = min(left, now - timedelta(hours=1))
            else:
                members_of[cid].append(pid)
            membership_rows.append(
                {
                    "workspace_id": workspace_id,
                    "community_id": cid,
                    "person_id": pid,
                    "role": Role.MEMBER,
                    "joined_at": joined,
                    "left_at": left,
                    "source": "demo",
                }
            )
    leaders: dict[int, int] = {}
    for row in membership_rows:
        cid = row["community_id"]
        if row["left_at"] is None and cid not in leaders:
            leaders[cid] = row["person_id"]
            row["role"] = Role.LEADER
        elif row["left_at"] is None and rng.random() < 0.03:
            row["role"] = rng.choice([Role.CORE_TEAM, Role.CORE_TEAM, Role.SPONSOR])
    summary.memberships = len(membership_rows)

    # --- activity: weekly active people per community following its profile ------------------
    activity_rows: list[dict[str, Any]] = []
    profiles: dict[int, tuple[str, float, float]] = {}
    weeks = (today - first_day).days // 7 + 1
    for cid in community_ids:
        trend, base, slope = profiles.setdefault(cid, _profile(rng))
        pool = members_of[cid]
        if not pool:
            continue
        regulars = rng.sample(pool, max(1, len(pool) // 3))
        for w in range(weeks):
            through = w / max(1, weeks - 1)
            share = max(0.0, base * (1 + slope * (through - 0.5) * 2))
            if trend == "dormant" and through > 0.6:
                share = 0.0
            if trend == "new" and through < 0.7:
                continue
            if trend in {"lively", "new"}:  # a community taking off in recent months
                fraction = 0.15 + 0.85 * through**4
            else:
                fraction = min(1.0, max(0.05, 0.5 + slope * (through - 0.5)))
            reach = regulars[: max(1, int(len(regulars) * fraction))]
            n_active = min(len(reach), int(len(pool) * share + rng.random()))
            week_start = first_day + timedelta(weeks=w)
            for pid in rng.sample(reach, n_active):
                for offset in {rng.randrange(7) for _ in range(rng.choice((1, 1, 2, 3)))}:
                    day = week_start + timedelta(days=offset)
                    if day > today:
                        continue
                    activity_rows.append(
                        {
                            "workspace_id": workspace_id,
                            "community_id": cid,
                            "person_id": pid,
                            "day": day,
                            "messages": rng.choice((0, 1, 1, 2, 3)),
                            "replies": rng.choice((0, 0, 1, 2)),
                            "reactions": rng.choice((0, 1, 2, 4)),
                        }
                    )
    summary.activity_rows = len(activity_rows)

    # --- events, charters -----------------------------------------------------------------------
    event_rows: list[dict[str, Any]] = []
    charter_rows: list[dict[str, Any]] = []
    for cid in community_ids:
        trend, _, _ = profiles[cid]
        per_month = {"lively": 2, "steady": 1, "fading": 1, "dormant": 0, "new": 1}[trend]
        for m in range(months + 1):
            month_start = first_day + timedelta(days=30 * m)
            late = m > months * 0.5
            n = per_month if not (trend == "fading" and late) else 0
            if trend == "dormant" and not late and rng.random() < 0.5:
                n = 1
            for _ in range(n):
                day = month_start + timedelta(days=rng.randrange(30))
                size = len(members_of[cid])
                event_rows.append(
                    {
                        "workspace_id": workspace_id,
                        "community_id": cid,
                        "title": rng.choice(
                            ["Webinaire", "Retour d'expérience", "Atelier", "Café"]
                        ),
                        "kind": rng.choice(
                            [EventKind.WEBINAR, EventKind.MEETING, EventKind.WORKSHOP]
                        ),
                        "starts_at": _at(day, rng.choice((9, 12, 14, 16)), rng),
                        "tz": "Europe/Paris",
                        "attendance_count": (
                            rng.randint(3, max(4, size // 6)) if day < today else None
                        ),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        if rng.random() < 0.75:
            versions = rng.randint(1, 3)
            for v in range(1, versions + 1):
                year = today.year if v == versions and rng.random() < 0.7 else today.year - 1
                charter_rows.append(
                    {
                        "workspace_id": workspace_id,
                        "community_id": cid,
                        "version": v,
                        "mission": "Partager nos pratiques",
                        "objectives": ["Partager", "Former", "Capitaliser"],
                        "objectives_year": year,
                        "created_at": now - timedelta(days=rng.randint(10, 500) // v),
                    }
                )
    summary.events = len(event_rows)

    async with sessions.begin() as session:
        await _bulk(session, Membership, membership_rows)
        await _bulk(session, ActivityDaily, activity_rows, chunk=20_000)
        await _bulk(session, Event, event_rows)
        await _bulk(session, CharterVersion, charter_rows)
        await _bulk(
            session, CharterObjective, objectives.large_rows(charter_rows, seed=seed, now=now)
        )
    told(
        "demo.large.activity",
        memberships=len(membership_rows),
        rows=len(activity_rows),
        events=len(event_rows),
        charters=len(charter_rows),
    )

    # --- quarterly pulse polls, deliveries and anonymous answers ------------------------------
    poll_rows: list[dict[str, Any]] = []
    for cid in community_ids:
        if rng.random() > 0.6:
            continue
        for q in range(months // 3):
            opens = now - timedelta(days=30 * months - 90 * q - rng.randint(0, 20))
            poll_rows.append(
                {
                    "workspace_id": workspace_id,
                    "community_id": cid,
                    "period_key": f"demo-q{q}",
                    "questions": [],
                    "opens_at": opens,
                    "closes_at": opens + timedelta(days=7),
                    "status": PollStatus.CLOSED,
                    "closed_at": opens + timedelta(days=7),
                }
            )
    async with sessions.begin() as session:
        await _bulk(session, Poll, poll_rows)
        polls = (
            await session.execute(
                sa.select(Poll.id, Poll.community_id, Poll.opens_at).where(
                    Poll.workspace_id == workspace_id, Poll.period_key.like("demo-q%")
                )
            )
        ).all()
    told("demo.large.polls", polls=len(poll_rows))
    delivery_rows: list[dict[str, Any]] = []
    response_rows: list[dict[str, Any]] = []
    for poll_id, cid, opens in polls:
        trend = profiles[cid][0]
        answer_rate = {"lively": 0.45, "steady": 0.3, "fading": 0.15, "dormant": 0.05, "new": 0.35}[
            trend
        ]
        mood = {"lively": 4.2, "steady": 3.6, "fading": 2.8, "dormant": 2.5, "new": 3.9}[trend]
        audience = members_of[cid]
        sample = audience if len(audience) <= 150 else rng.sample(audience, 150)
        for pid in sample:
            answered = rng.random() < answer_rate
            delivery_rows.append(
                {
                    "workspace_id": workspace_id,
                    "poll_id": poll_id,
                    "person_id": pid,
                    "delivered_at": opens,
                }
            )
            if answered:
                ballot = f"{rng.getrandbits(128):032x}"  # closed polls: random, as at close
                value = min(5, max(1, round(rng.gauss(mood, 0.9))))
                recommend = min(10, max(0, round(rng.gauss(mood * 2, 2.0))))
                for key, score in (("value", value), ("recommend", recommend)):
                    response_rows.append(
                        {
                            "workspace_id": workspace_id,
                            "poll_id": poll_id,
                            "ballot": ballot,
                            "question_key": key,
                            "score": score,
                        }
                    )
    story_rows: list[dict[str, Any]] = []
    for cid in community_ids:
        trend = profiles[cid][0]
        for _ in range(
            rng.choice(
                {
                    "lively": (3, 5, 8),
                    "steady": (1, 2, 3),
                    "fading": (0, 1),
                    "dormant": (0,),
                    "new": (0, 1, 2),
                }[trend]
            )
        ):
            unit, low, high = rng.choice(_UNITS)
            kind = rng.choices(
                [k for k, _ in _KIND_WEIGHTS], weights=[w for _, w in _KIND_WEIGHTS]
            )[0]
            story_rows.append(
                {
                    "workspace_id": workspace_id,
                    "community_id": cid,
                    "author_person_id": rng.choice(members_of[cid]) if members_of[cid] else None,
                    "title": rng.choice(
                        [
                            "Un script partagé",
                            "Une panne évitée",
                            "Un client sauvé",
                            "Une formation mutualisée",
                            "Un modèle réutilisé",
                        ]
                    ),
                    "context": "…",
                    "contribution": "…",
                    "benefit": rng.choice(
                        [
                            "du temps gagné chaque semaine",
                            "un incident évité",
                            "un contrat renouvelé",
                            "une meilleure qualité de service",
                        ]
                    ),
                    "value_amount": Decimal(rng.randint(low, high)),
                    "value_unit": unit,
                    "value_kind": kind,
                    "shareable": rng.random() < 0.7,
                    "status": rng.choices(
                        [StoryStatus.VALIDATED, StoryStatus.SUBMITTED, StoryStatus.REJECTED],
                        weights=[70, 25, 5],
                    )[0],
                    "created_at": now - timedelta(days=rng.randint(1, months * 30)),
                }
            )
    async with sessions.begin() as session:
        await _bulk(session, PollDelivery, delivery_rows, chunk=20_000)
        await _bulk(session, PollResponse, response_rows, chunk=20_000)
        await _bulk(session, SuccessStory, story_rows)
        await compass_rounds(session, workspace_id, community_ids, profiles, rng, now)
        # a programme that appeared in seconds: give the planner its real size at once
        await db.refresh_statistics(session, *Base.metadata.sorted_tables)
    summary.polls, summary.deliveries = len(poll_rows), len(delivery_rows)
    summary.responses, summary.stories = len(response_rows), len(story_rows)
    summary.seconds = time.perf_counter() - started
    told(
        "demo.large.answers",
        answers=summary.responses,
        stories=summary.stories,
        seconds=round(summary.seconds),
    )
    return summary
