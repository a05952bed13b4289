"""Settings from the environment (secrets, URLs) and the programme from app.yaml.

Both are validated at start; any problem becomes one `ConfigError` line that names the file or
variable, the field and what is expected, so an operator never reads a traceback.
"""

from __future__ import annotations

import hmac
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.numbers import whole
from bot.zones import find_zone

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
LANGUAGES = ("fr", "en")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# a Microsoft Entra (Azure AD) object id, Teams' `from.aadObjectId`
_ENTRA_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_EMAIL = re.compile(r"^[^@\s,;:<>()\[\]\"']+@[^@\s,;:<>()\[\]\"'.]+(\.[^@\s,;:<>()\[\]\"'.]+)+$")


class ConfigError(Exception):
    """A configuration problem, worded for the operator; `cop` prints it and exits 2."""


def _check_tz(value: str) -> str:
    """The programme's zone must be a place's zone (bot.zones): `localtime` would follow the
    server's clock, `Factory` has no offset anyone lives by."""
    zone = find_zone(value)
    if zone is None:
        raise ValueError(
            f"expected an IANA time zone such as Europe/Paris, got {value!r}"
            + (" (not the zone of a place)" if _loads(value) else "")
        )
    return zone


def _loads(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_user_ids(values: list[str]) -> list[str]:
    for value in values:
        if not _USER_ID.match(value):
            raise ValueError(f"expected Slack user ids such as U012ABC, got {value!r}")
    return values


_WORKSPACE_ID = re.compile(
    r"^(?:[TE][A-Z0-9]{2,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


def _check_workspaces(values: list[str]) -> list[str]:
    """Slack team ids (T…) or Teams tenant ids (GUIDs, lower case as Teams sends them)."""
    for value in values:
        if not _WORKSPACE_ID.match(value):
            raise ValueError(
                "expected Slack team ids such as T012ABC or Teams tenant ids such as "
                f"72f988bf-86f1-41af-91ab-2d7cd011db47, got {value!r}"
            )
    if len(set(values)) != len(values):
        raise ValueError("a workspace is listed twice")
    return values


def _check_manager_ids(values: list[str]) -> list[str]:
    """A programme manager is named by their Slack user id (U012ABC), their Microsoft Entra
    object id (a GUID: what Teams sends as `aadObjectId`, the same whatever the bot — where the
    Teams "29:…" ids change with each bot registration), or their work e-mail (Slack or Teams,
    once the platform gave it: bot.permissions). Entra ids and e-mails are kept in lower case,
    as they compare."""
    checked = []
    for value in (v.strip() for v in values):
        if _USER_ID.match(value):
            checked.append(value)
        elif _ENTRA_ID.match(value) or _EMAIL.match(value):
            checked.append(value.lower())
        elif value.startswith("29:"):
            raise ValueError(
                "a Teams user id (29:…) changes with each bot registration: name the manager by "
                f"their Microsoft Entra object id (a GUID) or their e-mail, got {value!r}"
            )
        else:
            raise ValueError(
                "expected Slack user ids (U012ABC), Microsoft Entra object ids (a GUID such as "
                f"5f0c2d9e-8b1a-4c3d-9e2f-0a1b2c3d4e5f) or e-mail addresses, got {value!r}"
            )
    return checked


def is_slack_user_id(value: str) -> bool:
    return bool(_USER_ID.match(value))


_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def _check_channel_id(value: str) -> str:
    if not _CHANNEL_ID.match(value):
        raise ValueError(f"expected a Slack channel id such as C012ABC, got {value!r}")
    return value


_CHANNEL_NAME = re.compile(r"^#?[a-z0-9][a-z0-9_\-]{0,79}$")


def _check_channel_ref(value: str) -> str:
    """A channel id (C012ABC) or a channel's name (cop-leaders or #cop-leaders, as Slack writes
    names: lower case, digits, hyphens, underscores); a name is kept without its « # »."""
    value = value.strip()
    if _CHANNEL_ID.match(value):
        return value
    if _CHANNEL_NAME.match(value):
        return value.removeprefix("#")
    raise ValueError(
        "expected a Slack channel id such as C012ABC or a channel name such as #cop-leaders "
        f"(lower case, digits, - and _), got {value!r}"
    )


def is_channel_id(value: str) -> bool:
    return bool(_CHANNEL_ID.match(value))


# The messages app.yaml `templates` may reword, per language, and the placeholders each may use.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "welcome": ("name", "community", "channel"),  # the welcome's first line
}


def _check_templates(
    templates: dict[str, dict[str, str]],
) -> dict[str, dict[str, str]]:
    """Unknown templates and placeholders are refused at start, not at the first welcome."""
    for name, texts in templates.items():
        if name not in TEMPLATES:
            raise ValueError(f"unknown template {name!r} (known: {', '.join(sorted(TEMPLATES))})")
        known = TEMPLATES[name]
        for language, text in texts.items():
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
            except ValueError as exc:
                raise ValueError(
                    f"{name}.{language}: {exc} (write {{{{ and }}}} for braces)"
                ) from None
            for found in fields:
                if found not in known:
                    raise ValueError(
                        f"{name}.{language}: unknown placeholder {{{found}}} (known: "
                        + ", ".join(f"{{{k}}}" for k in known)
                        + ")"
                    )
    return templates


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_clock(value: Any) -> Any:
    """A time of day HH:MM from 00:00 to 23:59, checked when app.yaml loads (not when the outbox
    first needs it). YAML reads an unquoted 18:00 as the number 1080 (base 60): taken back."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100 * 60:
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ValueError(f"expected a time HH:MM from 00:00 to 23:59, got {value!r}")
    return value


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")


class QuietHours(_Strict):
    start: str = "09:00"
    end: str = "18:00"
    days: list[Day] = Field(default_factory=lambda: list(WORKDAYS))

    _clock = field_validator("start", "end", mode="before")(
        classmethod(lambda cls, v: _check_clock(v))
    )

    @model_validator(mode="after")
    def _a_window_within_the_day(self) -> QuietHours:
        """The hours when ritual DMs may go out, within one day: a window across midnight
        (22:00 to 06:00) would hold every message for good."""
        if self.start >= self.end:
            raise ValueError(
                f"the hours when DMs may go out, within one day: start ({self.start}) must be "
                f"before end ({self.end})"
            )
        return self


class WelcomeRitual(_Strict):
    enabled: bool = True
    delivery: Literal["dm", "channel"] = "dm"
    rejoin_days: int = Field(30, ge=0)
    bulk_threshold: int = Field(20, ge=1)
    digest_cadence: Literal["weekly", "off"] = "weekly"


class RemindersRitual(_Strict):
    enabled: bool = True
    offsets_hours: list[float] = Field(default_factory=lambda: [24.0, 1.0])


class Question(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    kind: Literal["scale", "nps", "text"]
    text: dict[Literal["fr", "en"], str]
    min: int = 1
    max: int = 5
    optional: bool = False


def _default_questions() -> list[Question]:
    return [
        Question(
            key="value",
            kind="scale",
            min=1,
            max=5,
            text={
                "fr": "La communauté m'a été utile {period} (1 = pas du tout, 5 = énormément)",
                "en": "The community was useful to me {period} (1 = not at all, 5 = very much)",
            },
        ),
        Question(
            key="recommend",
            kind="nps",
            min=0,
            max=10,
            text={
                "fr": "Recommanderiez-vous la communauté à un collègue ? (0 à 10)",
                "en": "Would you recommend the community to a colleague? (0 to 10)",
            },
        ),
        Question(
            key="comment",
            kind="text",
            optional=True,
            text={
                "fr": "Un mot pour l'équipe d'animation ?",
                "en": "Anything to tell the leaders?",
            },
        ),
    ]


class PulseRitual(_Strict):
    enabled: bool = True
    cadence: Literal["weekly", "monthly", "quarterly"] = "monthly"
    delivery: Literal["dm", "channel"] = "dm"
    audience: Literal["all", "active"] = "all"
    open_days: int = Field(7, ge=1, le=60)
    reminder_after_days: int = Field(3, ge=1)
    questions: list[Question] = Field(default_factory=_default_questions)


# --- the annual member survey (sources 001 « un sondage annuel », 003 « un mail type ») -----

_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
SURVEY_COVER_FIELDS = ("community", "closes", "year")  # the cover's placeholders


def check_survey_cover(texts: dict[str, str]) -> dict[str, str]:
    """The cover message (« le mail type ») per language, its placeholders checked at load."""
    for language, text in texts.items():
        try:
            found = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise ValueError(f"{language}: {exc} (write {{{{ and }}}} for braces)") from None
        for name in found:
            if name not in SURVEY_COVER_FIELDS:
                raise ValueError(
                    f"{language}: unknown placeholder {{{name}}} (known: "
                    + ", ".join(f"{{{k}}}" for k in SURVEY_COVER_FIELDS)
                    + ")"
                )
        if len(text) > 2500:
            raise ValueError(f"{language}: at most 2500 characters, got {len(text)}")
    return texts


CompassDimension = Literal["purpose", "members", "practice", "animation", "governance", "value"]


class SurveyQuestion(_Strict):
    """One question of the annual survey. `scale` (min/max 1–5 or 0–10), `nps` (0–10),
    `single` and `multiple` (options, at most 10: a modal's radio buttons and checkboxes),
    `text` (free text)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    kind: Literal["scale", "nps", "single", "multiple", "text"]
    text: dict[Literal["fr", "en"], str]
    options: list[dict[Literal["fr", "en"], str]] = Field(default_factory=list)
    min: int | None = None
    max: int | None = None
    optional: bool = False
    # the compass dimension this question's community mean informs (bot/compass.py), if any
    compass: CompassDimension | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SurveyQuestion:
        for text in self.text.values():
            if not 1 <= len(text) <= 300:
                raise ValueError(f"{self.key}: a question's text takes 1 to 300 characters")
        if self.kind in ("single", "multiple"):
            if not 2 <= len(self.options) <= 10:
                raise ValueError(
                    f"{self.key}: a {self.kind} question needs 2 to 10 options, got {len(self.options)}"
                )
            for option in self.options:
                if not option or any(not 1 <= len(v) <= 75 for v in option.values()):
                    raise ValueError(
                        f"{self.key}: each option takes 1 to 75 characters per language"
                    )
        elif self.options:
            raise ValueError(f"{self.key}: only single and multiple questions have options")
        if self.kind == "scale" and (self.min, self.max) not in ((1, 5), (0, 10), (None, None)):
            raise ValueError(f"{self.key}: a scale goes from 1 to 5 or from 0 to 10")
        if self.kind != "scale" and (self.min is not None or self.max is not None):
            raise ValueError(f"{self.key}: only scale questions take min and max")
        if self.compass is not None and self.kind not in ("scale", "nps"):
            raise ValueError(f"{self.key}: only scale and nps questions inform the compass")
        return self

    def bounds(self) -> tuple[int, int]:
        """The scores an answer may take (an option's index; a bit mask of options)."""
        if self.kind == "scale":
            return (self.min, self.max) if self.min is not None and self.max is not None else (1, 5)
        if self.kind == "nps":
            return 0, 10
        if self.kind == "single":
            return 0, len(self.options) - 1
        if self.kind == "multiple":
            return 1, (1 << len(self.options)) - 1
        return 0, 0


def _q(key: str, kind: str, fr: str, en: str, **more: Any) -> SurveyQuestion:
    return SurveyQuestion.model_validate(
        {"key": key, "kind": kind, "text": {"fr": fr, "en": en}, **more}
    )


def _default_survey_questions() -> list[SurveyQuestion]:
    """Ours, covering the three levels of value: participation; belonging and usefulness;
    tangible value."""
    return [
        _q(
            "participation",
            "single",
            "À quelle fréquence participez-vous à la vie de la communauté ?",
            "How often do you take part in the community?",
            options=[
                {"fr": "Chaque semaine", "en": "Every week"},
                {"fr": "Chaque mois", "en": "Every month"},
                {"fr": "Quelques fois par an", "en": "A few times a year"},
                {"fr": "Presque jamais", "en": "Hardly ever"},
            ],
        ),
        _q(
            "activities",
            "multiple",
            "Qu'avez-vous fait cette année dans la communauté ?",
            "What did you do in the community this year?",
            options=[
                {"fr": "Lire les échanges", "en": "Read the conversations"},
                {"fr": "Poser une question", "en": "Ask a question"},
                {"fr": "Répondre à un collègue", "en": "Answer a colleague"},
                {
                    "fr": "Assister à un webinaire ou un atelier",
                    "en": "Attend a webinar or workshop",
                },
                {"fr": "Partager un retour d'expérience", "en": "Share a lesson learned"},
                {"fr": "Animer ou co-animer", "en": "Lead or co-lead something"},
            ],
        ),
        _q(
            "belonging",
            "scale",
            "Je me sens membre à part entière de cette communauté (1 = pas du tout, 5 = tout à fait)",
            "I feel I truly belong to this community (1 = not at all, 5 = completely)",
            min=1,
            max=5,
            compass="members",
        ),
        _q(
            "usefulness",
            "scale",
            "La communauté m'est utile dans mon travail (1 = pas du tout, 5 = énormément)",
            "The community helps me in my work (1 = not at all, 5 = very much)",
            min=1,
            max=5,
            compass="value",
        ),
        _q(
            "nps",
            "nps",
            "Conseilleriez-vous cette communauté à un collègue ? (0 = sûrement pas, 10 = sans hésiter)",
            "Would you recommend this community to a colleague? (0 = certainly not, 10 = without a doubt)",
        ),
        _q(
            "gains",
            "multiple",
            "Cette année, grâce à la communauté, j'ai…",
            "This year, thanks to the community, I…",
            optional=True,
            options=[
                {"fr": "gagné du temps", "en": "saved time"},
                {"fr": "résolu un problème", "en": "solved a problem"},
                {"fr": "progressé dans mon métier", "en": "grew in my job"},
                {"fr": "rencontré des personnes utiles", "en": "met useful people"},
                {"fr": "rien de tout cela", "en": "none of these"},
            ],
        ),
        _q(
            "example",
            "text",
            "Un exemple concret de ce que la communauté vous a apporté ?",
            "A concrete example of what the community brought you?",
            optional=True,
        ),
    ]


def _default_cover() -> dict[Literal["fr", "en"], str]:
    return {
        "fr": (
            "Bonjour, une fois par an, nous prenons le pouls de nos communautés. Vous êtes "
            "membre de {community} : pourriez-vous nous donner cinq minutes ? Vos réponses sont "
            "anonymes ; elles aideront l'équipe d'animation à faire vivre la communauté. "
            "L'enquête reste ouverte jusqu'au {closes}. Merci !"
        ),
        "en": (
            "Hello! Once a year we ask our communities how they are doing. You are a member of "
            "{community}: could you spare five minutes? Your answers are anonymous; they will "
            "help the leaders keep the community alive. The survey is open until {closes}. "
            "Thank you!"
        ),
    }


class Survey(_Strict):
    """The annual member survey: when it opens, how long, one reminder, the questionnaire and
    the cover message the manager can still edit in Slack (`/cop survey`)."""

    enabled: bool = True
    opens_on: str = "03-01"  # month-day, each year, in the programme's time zone
    open_days: int = Field(21, ge=1, le=90)
    reminder_after_days: int = Field(7, ge=1)
    results_delay_hours: int = Field(
        48, ge=0, le=24 * 30
    )  # leaders may hold results back meanwhile
    questions: list[SurveyQuestion] = Field(default_factory=_default_survey_questions)
    cover: dict[Literal["fr", "en"], str] = Field(default_factory=_default_cover)

    _cover = field_validator("cover")(classmethod(lambda cls, v: check_survey_cover(v)))

    @field_validator("opens_on", mode="before")
    @classmethod
    def _month_day(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _MONTH_DAY.match(value):
            raise ValueError(f"expected a month-day MM-DD such as 03-01, got {value!r}")
        month, day = (int(part) for part in value.split("-"))
        try:
            date(2001, month, day)  # a year with no 29 February: the survey opens every year
        except ValueError:
            raise ValueError(f"{value!r} is not a day that comes every year") from None
        return value

    @model_validator(mode="after")
    def _questions(self) -> Survey:
        if not 1 <= len(self.questions) <= 20:
            raise ValueError(f"questions: 1 to 20 questions, got {len(self.questions)}")
        keys = [q.key for q in self.questions]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"questions: the key {twice[0]!r} is used twice")
        if self.reminder_after_days >= self.open_days:
            raise ValueError(
                f"reminder_after_days ({self.reminder_after_days}) must come before the survey "
                f"closes (open_days: {self.open_days})"
            )
        return self


class StoriesRitual(_Strict):
    enabled: bool = True
    cadence: Literal["monthly", "quarterly", "yearly"] = "quarterly"
    delivery: Literal["dm", "channel"] = "channel"


class SponsorDigestRitual(_Strict):
    """Each quarter, every sponsor gets their community's three levels; its leaders see the same
    message `preview_days` before (the first Tuesday of January, April, July and October)."""

    enabled: bool = True
    preview_days: int = Field(7, ge=1, le=28)


class ObjectivesRitual(_Strict):
    """Each quarter, a community's leaders update the status of the year's charter objectives
    (one DM with a button per status; rituals/objectives.py)."""

    enabled: bool = True
    cadence: Literal["quarterly", "off"] = "quarterly"


class Rituals(_Strict):
    grace_hours: float = Field(24.0, ge=0)
    run_hour: int = Field(10, ge=0, le=23)
    dm_cap_per_week: int = Field(3, ge=1)
    welcome: WelcomeRitual = Field(default_factory=WelcomeRitual)
    reminders: RemindersRitual = Field(default_factory=RemindersRitual)
    pulse: PulseRitual = Field(default_factory=PulseRitual)
    stories: StoriesRitual = Field(default_factory=StoriesRitual)
    sponsor_digest: SponsorDigestRitual = Field(default_factory=SponsorDigestRitual)
    objectives: ObjectivesRitual = Field(default_factory=ObjectivesRitual)


class HealthThresholds(_Strict):
    active_window_days: int = Field(56, ge=7)
    thriving_growth: float = 0.10
    at_risk_drop: float = 0.25
    dormant_active_rate: float = 0.02
    event_gap_days: int = Field(90, ge=1)
    low_pulse: float = 3.0
    charter_stale_days: int = Field(365, ge=1)
    # a community this young is "starting" (with a first step to take), never "at risk": it
    # has not had the time to write its charter, hold an event or find its active members
    starting_days: int = Field(30, ge=0)


MIN_ANSWERS_FLOOR = 3  # under three answers, a result is one or two people's answers


class Privacy(_Strict):
    activity_retention_months: int = Field(24, ge=1, le=120)
    # A survey question's results (mean, distribution, eNPS, comments) show for a community only
    # from this many answers to *that question*, once the poll is closed (bot/disclosure.py).
    min_answers: int = Field(5, ge=MIN_ANSWERS_FLOOR)


_PERIOD_DAYS = {"week": 7, "month": 28, "quarter": 90}  # the shortest of each period


class Engagement(_Strict):
    """Engagement tiers (bot/engagement.py, docs/engagement.md): over each period, a community's
    members are core, active or peripheral by what they did there."""

    period: Literal["week", "month", "quarter"] = "month"
    # core: this many contributions (messages, replies, events attended, stories shared)…
    core_contributions: int = Field(10, ge=1)
    # …on this many different days active in the channel (or an event attended and a story shared)
    core_days: int = Field(4, ge=1)
    # active: this many actions of any kind (a reaction counts); fewer: peripheral
    active_actions: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _tiers_in_order(self) -> Engagement:
        """The core is a part of the active members, and its days fit in the period."""
        if self.core_contributions < self.active_actions:
            raise ValueError(
                f"core_contributions ({self.core_contributions}) must be at least active_actions "
                f"({self.active_actions}): the core is a part of the active members"
            )
        days = _PERIOD_DAYS[self.period]
        if self.core_days > days:
            raise ValueError(
                f"core_days ({self.core_days}) must fit in a {self.period} (at most {days} days)"
            )
        return self


class HomeRefresh(_Strict):
    """After a change, which App Homes are republished (handlers/home.py): only those opened in
    the last `window_minutes`, at most `max_per_change` (most recent first), paced at
    `per_minute` views.publish calls (Slack's Tier 4 is about 100 a minute per workspace)."""

    window_minutes: int = Field(10, ge=0, le=24 * 60)
    max_per_change: int = Field(10, ge=0, le=100)
    per_minute: int = Field(90, ge=1, le=600)


class Programme(_Strict):
    """The programme as app.yaml describes it."""

    name: str = Field(min_length=1, max_length=120)
    language: Literal["fr", "en"] = "fr"
    timezone: str = "Europe/Paris"
    # the programme managers: Slack user ids, Microsoft Entra object ids (Teams), e-mails
    managers: list[str] = Field(default_factory=list)
    # the Slack team ids and Teams tenant ids this one programme spans (bot/programme.py): its
    # programme views cover them all; empty, each workspace is a programme of its own
    workspaces: list[str] = Field(default_factory=list)
    sponsor: str | None = None  # the programme's sponsor (a Slack user id): the programme's digest
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    rituals: Rituals = Field(default_factory=Rituals)
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    privacy: Privacy = Field(default_factory=Privacy)
    templates: dict[str, dict[Literal["fr", "en"], str]] = Field(default_factory=dict)
    survey: Survey = Field(default_factory=Survey)  # the annual member survey
    # the programme's showcase: validated, shareable stories and testimonials are cross-posted
    showcase_channel: str | None = None
    # engagement tiers: core / active / peripheral per period, and retention (bot/engagement.py)
    engagement: Engagement = Field(default_factory=Engagement)
    # the leaders' community: its channel (an id or a name), where every leader and core-team
    # member is invited and the monthly leaders' digest is posted
    leaders_channel: str | None = None
    # App Homes republished after a change: only recently opened ones, bounded and paced
    home: HomeRefresh = Field(default_factory=HomeRefresh)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_tz(v)))
    _managers = field_validator("managers")(classmethod(lambda cls, v: _check_manager_ids(v)))
    _workspaces = field_validator("workspaces")(classmethod(lambda cls, v: _check_workspaces(v)))
    _sponsor = field_validator("sponsor")(
        classmethod(lambda cls, v: v if v is None else _check_user_ids([v])[0])
    )
    _showcase = field_validator("showcase_channel")(
        classmethod(lambda cls, v: v if v is None else _check_channel_id(v))
    )
    _leaders = field_validator("leaders_channel")(
        classmethod(lambda cls, v: v if v is None else _check_channel_ref(v))
    )
    _templates = field_validator("templates")(classmethod(lambda cls, v: _check_templates(v)))

    @model_validator(mode="after")
    def _survey_keys_apart(self) -> Programme:
        """The survey's questions are read by their keys, as the pulse's are: one key, one
        question, or the pulse's figures would count the survey's answers."""
        pulse = {q.key for q in self.rituals.pulse.questions}
        shared = sorted(pulse & {q.key for q in self.survey.questions})
        if shared:
            raise ValueError(
                f"survey.questions: the key {shared[0]!r} is already a pulse question's "
                "(rituals.pulse.questions): give it another key"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _moved_min_answers(cls, data: Any) -> Any:
        """`rituals.pulse.min_answers` became `privacy.min_answers` (it guards every survey, not
        only the pulse): an older app.yaml keeps working, validated by the new field."""
        if not isinstance(data, dict):
            return data
        rituals = data.get("rituals")
        pulse = rituals.get("pulse") if isinstance(rituals, dict) else None
        if isinstance(pulse, dict) and "min_answers" in pulse:
            pulse = dict(pulse)
            legacy = pulse.pop("min_answers")
            privacy = dict(data.get("privacy") or {})
            privacy.setdefault("min_answers", legacy)
            data = {**data, "rituals": {**(rituals or {}), "pulse": pulse}, "privacy": privacy}
        return data


@dataclass(frozen=True, slots=True)
class Settings:
    """What the process needs from its environment."""

    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    slack_api_url: str
    database_url: str
    config_path: Path
    extra_managers: tuple[str, ...] = ()
    quiet_hours: bool = True
    host: str = "127.0.0.1"
    port: int = 3000
    log_level: str = "INFO"
    instance_id: str = field(default="")
    # The key of anonymous ballots (bot/polls.py): COP_BALLOT_KEY, else derived from the signing
    # secret (or the app token in Socket Mode). Deliberately kept out of the database: an operator
    # holding only the database cannot recompute who cast which ballot (docs/privacy.md).
    ballot_key: bytes | None = field(default=None, repr=False)
    # The key that signs dashboard links (bot/dashboard/links.py): COP_DASHBOARD_KEY, else
    # derived from the signing secret; and the address people reach `cop serve` at
    # (COP_PUBLIC_URL), else http://host:port.
    dashboard_key: bytes | None = field(default=None, repr=False)
    public_url: str = ""
    # Many workspaces (bot/slack/oauth.py): Slack's OAuth install flow, a bot token per workspace
    # stored in the database, when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set (and
    # SLACK_BOT_TOKEN is not); SLACK_SCOPES (comma-separated) defaults to manifest.yaml's bot
    # scopes, SLACK_REDIRECT_URI to COP_PUBLIC_URL + /slack/oauth_redirect.
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
    redirect_uri: str | None = None
    # Microsoft Teams (bot/teams/): the bot's Microsoft App ID and client secret (TEAMS_APP_ID,
    # TEAMS_APP_PASSWORD), its Entra tenant (TEAMS_TENANT_ID; single-tenant bots get their token
    # there, else from botframework.com), and, for tests and the demo, where Microsoft's Bot
    # Framework OpenID metadata (TEAMS_OPENID_URL) and token endpoint (TEAMS_TOKEN_URL) are.
    teams_app_id: str | None = None
    teams_app_password: str | None = field(default=None, repr=False)
    teams_tenant_id: str | None = None
    teams_openid_url: str | None = None
    teams_token_url: str | None = None

    @property
    def teams(self) -> bool:
        """Teams activities are received at /api/messages."""
        return bool(self.teams_app_id and self.teams_app_password)

    @property
    def oauth(self) -> bool:
        """Installed through Slack's OAuth flow in any number of workspaces."""
        return bool(self.client_id and self.client_secret)

    def require(self, *names: str) -> None:
        """Stop the start when a secret the chosen mode needs is missing."""
        env_names = {
            "bot_token": "SLACK_BOT_TOKEN",
            "signing_secret": "SLACK_SIGNING_SECRET",
            "app_token": "SLACK_APP_TOKEN",
        }
        missing = [
            env_names[n]
            for n in names
            if not getattr(self, n) and not (n == "bot_token" and self.oauth)
        ]
        if missing:
            raise ConfigError(
                f"environment: {', '.join(missing)}: missing; set "
                f"{'it' if len(missing) == 1 else 'them'} to the value(s) from your Slack app settings"
            )


def default_database_url(cwd: Path | None = None) -> str:
    return f"sqlite+aiosqlite:///{(cwd or Path.cwd()) / 'cop-bot.db'}"


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read settings from an environment mapping (tests pass a dict)."""
    url = environ.get("COP_DATABASE_URL") or default_database_url()
    url = normalise_database_url(url)
    named = [m.strip() for m in environ.get("COP_PROGRAMME_MANAGERS", "").split(",") if m.strip()]
    try:
        managers = tuple(_check_manager_ids(named))
    except ValueError as exc:
        raise ConfigError(f"environment: COP_PROGRAMME_MANAGERS: {exc}") from None
    quiet = environ.get("COP_QUIET_HOURS", "on").lower()
    if quiet not in {"on", "off"}:
        raise ConfigError(f"environment: COP_QUIET_HOURS: expected on|off, got {quiet!r}")
    port_text = environ.get("PORT") or environ.get("COP_PORT") or "3000"
    port = whole(port_text, max_digits=5)
    if port is None:
        raise ConfigError(f"environment: COP_PORT: expected a port number, got {port_text!r}")
    signing_secret = environ.get("SLACK_SIGNING_SECRET") or None
    app_token = environ.get("SLACK_APP_TOKEN") or None
    api_url = environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    client_id, client_secret = oauth_credentials(environ)
    public_url = (
        environ.get("COP_PUBLIC_URL") or f"http://{environ.get('COP_HOST', '127.0.0.1')}:{port}"
    ).rstrip("/")
    derive_from = signing_secret or app_token or environ.get("TEAMS_APP_PASSWORD") or None
    return Settings(
        bot_token=environ.get("SLACK_BOT_TOKEN") or None,
        signing_secret=signing_secret,
        app_token=app_token,
        slack_api_url=api_url,
        database_url=url,
        config_path=Path(environ.get("COP_CONFIG") or "app.yaml"),
        extra_managers=managers,
        quiet_hours=quiet == "on",
        host=environ.get("COP_HOST", "127.0.0.1"),
        port=port,
        log_level=environ.get("COP_LOG_LEVEL", "INFO").upper(),
        instance_id=environ.get("COP_INSTANCE_ID", ""),
        # Teams alone (cop serve --platform teams) derives them from the Teams app password
        ballot_key=ballot_key(environ.get("COP_BALLOT_KEY"), derive_from),
        dashboard_key=dashboard_key(environ.get("COP_DASHBOARD_KEY"), derive_from),
        public_url=public_url,
        client_id=client_id,
        client_secret=client_secret,
        scopes=tuple(
            s.strip()
            for s in (environ.get("SLACK_SCOPES") or DEFAULT_SCOPES).split(",")
            if s.strip()
        ),
        redirect_uri=(
            (environ.get("SLACK_REDIRECT_URI") or f"{public_url}/slack/oauth_redirect")
            if client_id
            else None
        ),
        **teams_settings(environ),
    )


def teams_settings(environ: Mapping[str, str]) -> dict[str, str | None]:
    """TEAMS_APP_ID and TEAMS_APP_PASSWORD go together; the URLs must be http(s)."""
    values = {
        name: (environ.get(name) or "").strip() or None
        for name in (
            "TEAMS_APP_ID",
            "TEAMS_APP_PASSWORD",
            "TEAMS_TENANT_ID",
            "TEAMS_OPENID_URL",
            "TEAMS_TOKEN_URL",
        )
    }
    app_id, password = values["TEAMS_APP_ID"], values["TEAMS_APP_PASSWORD"]
    if bool(app_id) != bool(password):
        missing = "TEAMS_APP_PASSWORD" if app_id else "TEAMS_APP_ID"
        given = "TEAMS_APP_ID" if app_id else "TEAMS_APP_PASSWORD"
        raise ConfigError(f"environment: {missing}: missing (needed with {given} for Teams)")
    for name in ("TEAMS_OPENID_URL", "TEAMS_TOKEN_URL"):
        url = values[name]
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(f"environment: {name}: expected an http(s) URL, got {url!r}")
    return {
        "teams_app_id": app_id,
        "teams_app_password": password,
        "teams_tenant_id": values["TEAMS_TENANT_ID"],
        "teams_openid_url": values["TEAMS_OPENID_URL"],
        "teams_token_url": values["TEAMS_TOKEN_URL"],
    }


# manifest.yaml's bot scopes: what an OAuth install asks for unless SLACK_SCOPES says otherwise
DEFAULT_SCOPES = (
    "commands,chat:write,im:write,users:read,users:read.email,channels:read,channels:manage,channels:join,"
    "groups:write,groups:read,channels:history,groups:history,im:history,reactions:read,"
    "files:write,team:read"
)


def oauth_credentials(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: both or neither, and not beside SLACK_BOT_TOKEN
    (one token for one workspace, or OAuth for many: the operator says which)."""
    client_id = (environ.get("SLACK_CLIENT_ID") or "").strip() or None
    client_secret = (environ.get("SLACK_CLIENT_SECRET") or "").strip() or None
    if bool(client_id) != bool(client_secret):
        given, missing = (
            ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
            if client_id
            else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
        )
        raise ConfigError(
            f"environment: {missing}: missing (needed with {given} for OAuth installs)"
        )
    if client_id and environ.get("SLACK_BOT_TOKEN"):
        raise ConfigError(
            "environment: SLACK_BOT_TOKEN: set with SLACK_CLIENT_ID; keep SLACK_BOT_TOKEN for one "
            "workspace, or the client id and secret to install in many, not both"
        )
    return client_id, client_secret


BALLOT_KEY_MIN = 16


def ballot_key(explicit: str | None, fallback_secret: str | None) -> bytes | None:
    """The ballot key: COP_BALLOT_KEY as given, or one derived from a secret the process already
    has (so a default install needs nothing more). Set COP_BALLOT_KEY in production: rotating the
    signing secret would otherwise change the key while a poll is open (docs/privacy.md)."""
    if explicit:
        if len(explicit) < BALLOT_KEY_MIN:
            raise ConfigError(
                f"environment: COP_BALLOT_KEY: expected at least {BALLOT_KEY_MIN} characters "
                "(e.g. the output of `openssl rand -hex 32`)"
            )
        return explicit.encode()
    if fallback_secret:
        return hmac.new(fallback_secret.encode(), b"cop-bot ballot key v1", "sha256").digest()
    return None


def dashboard_key(explicit: str | None, fallback_secret: str | None) -> bytes | None:
    """The key of dashboard links: COP_DASHBOARD_KEY as given, or one derived from a secret the
    process already has; none (no dashboard) without either. Rotating it voids every link."""
    if explicit:
        if len(explicit) < BALLOT_KEY_MIN:
            raise ConfigError(
                f"environment: COP_DASHBOARD_KEY: expected at least {BALLOT_KEY_MIN} characters "
                "(e.g. the output of `openssl rand -hex 32`)"
            )
        return explicit.encode()
    if fallback_secret:
        return hmac.new(fallback_secret.encode(), b"cop-bot dashboard key v1", "sha256").digest()
    return None


def normalise_database_url(url: str) -> str:
    """Accept the usual URL spellings and pick the async drivers we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if not (url.startswith("postgresql+asyncpg://") or url.startswith("sqlite+aiosqlite://")):
        raise ConfigError(
            f"environment: COP_DATABASE_URL: expected a postgresql:// or sqlite:/// URL, got {url.split(':')[0]!r}"
        )
    return url


def load_programme(path: Path) -> Programme:
    """Read and validate app.yaml; with no ./app.yaml at all, the embedded defaults apply."""
    if not path.exists():
        if path == Path("app.yaml"):
            return Programme(name="Communautés de pratique")
        raise ConfigError(f"{path}: file not found (set COP_CONFIG to your programme file)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    raw = raw.get("programme", raw) if isinstance(raw.get("programme"), dict) else raw
    try:
        return Programme.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_first_problem(path, exc)) from None


def _first_problem(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        got = err.get("input")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif err["type"] == "missing":
            message = "required field missing"
        elif not isinstance(got, dict | list) and "got" not in message:
            message = f"{message}, got {got!r}"
        lines.append(f"{path}: {where}: {message}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Config:
    """Settings and programme together, as the composition root needs them."""

    settings: Settings
    programme: Programme

    @property
    def manager_ids(self) -> frozenset[str]:
        """Every identity app.yaml and COP_PROGRAMME_MANAGERS name a manager by: Slack user ids,
        Microsoft Entra object ids, e-mails (bot.permissions.names_manager reads them)."""
        return frozenset(self.programme.managers) | frozenset(self.settings.extra_managers)

    @property
    def managers(self) -> frozenset[str]:
        """The managers' Slack user ids: those the bot writes to in Slack (proposals, the
        sponsor's digest preview)."""
        return frozenset(m for m in self.manager_ids if is_slack_user_id(m))


def load(environ: Mapping[str, str]) -> Config:
    settings = load_settings(environ)
    return Config(settings=settings, programme=load_programme(settings.config_path))


def as_plain(obj: Any) -> Any:
    """Programme parts as plain data (for outbox payloads and templates)."""
    return obj.model_dump() if isinstance(obj, BaseModel) else obj
