"""Who plays the demo, and what they type, in each of its languages.

The scenes speak of roles (the manager, a community's leader, a member far away…); a cast gives
each role a person — a name, a language, a time zone — and the words they type. `--lang fr` is
played by French speakers only, `--lang en` by English speakers only, and `both` by a French
programme with two English-speaking members, to show each person answered in their own language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.slack.emulator import Channel, User, Workspace

# The roles of the demo, as Slack user ids (the same in every language; never shown).
MANAGER = "U0MANAGER"  # the programme's community manager
LEADER = "U0LEADER"  # leads Data Science
CORE = "U0CORE"  # Data Science's core team
SPONSOR = "U0SPONSOR"  # Data Science's sponsor
AGILE_LEADER = "U0AGILE"  # leads the second community
GUILD_LEADER = "U0GUILD"  # leads the third community, joins Data Science later
NEWCOMER = "U0NEWCOMER"  # joins Data Science during the demo
MEMBER = "U0MEMBER"  # a Data Science member far from Paris, in her own zone
PASSER_BY = "U0PASSER"  # types a command that does not exist, joins Data Science later
GONE = "U0GONE"  # a deactivated account, still listed in a channel
JIRA = "U0JIRA"  # another app's bot: its messages are not counted
BOT = "UBOT"

DATA, AGILE, GUILD, GENERAL = "C0DATA", "C0AGILE", "C0SEC", "C0GEN"

# The words of each sub-command, as a French or an English speaker types them.
WORDS = {
    "fr": {
        "community": "communauté créer",
        "role": "rôle",
        "leader": "animateur",
        "core": "noyau",
        "sponsor": "sponsor",
        "help": "aide",
        "charter": "charte",
        "show": "voir",
        "history": "historique",
        "event": "événement",
        "list": "liste",
        "rituals": "rituels",
        "stories": "histoires",
        "mute": "sourdine",
        "health": "santé",
        "report": "rapport",
        "piloted": "--type pilotée",
    },
    "en": {
        "community": "community create",
        "role": "role",
        "leader": "leader",
        "core": "core",
        "sponsor": "sponsor",
        "help": "help",
        "charter": "charter",
        "show": "show",
        "history": "history",
        "event": "event",
        "list": "list",
        "rituals": "rituals",
        "stories": "stories",
        "mute": "mute",
        "health": "health",
        "report": "report",
        "piloted": "--kind piloted",
    },
}


@dataclass(frozen=True)
class Persona:
    name: str
    locale: str = "fr-FR"
    tz: str = "Europe/Paris"
    city: str = "Paris"

    @property
    def language(self) -> str:
        return self.locale[:2]


@dataclass(frozen=True)
class Cast:
    """One way of playing the demo: its narrator's language, people, channels and content."""

    narration: str
    programme_language: str
    programme_name: str
    people: dict[str, Persona]
    channels: dict[str, str]
    communities: dict[str, str]  # channel → the name its community gets
    community_flags: dict[str, str] = field(default_factory=dict)  # channel → extra options
    content: dict[str, str] = field(default_factory=dict)

    def words(self, user: str) -> dict[str, str]:
        """The sub-command words as `user` types them, in their own language."""
        return WORDS[self.people[user].language]

    def workspace(self) -> Workspace:
        users = [
            User(uid, p.name.lower().replace(" ", "."), p.name, tz=p.tz, locale=p.locale)
            for uid, p in self.people.items()
        ]
        for user in users:
            user.is_admin = user.id == MANAGER
            user.deleted = user.id == GONE
        users += [
            User(JIRA, "jira", "Jira Cloud", "America/Los_Angeles", "en-US", is_bot=True),
            User(BOT, "cop-bot", "CoP Bot", is_bot=True),
        ]
        humans = [u.id for u in users if not u.is_bot]
        members = {
            DATA: [MANAGER, LEADER, CORE, SPONSOR, MEMBER],
            AGILE: [MANAGER, AGILE_LEADER, PASSER_BY, NEWCOMER, GUILD_LEADER],
            GUILD: [SPONSOR, PASSER_BY, LEADER, GONE],
            GENERAL: [*humans, JIRA],
        }
        channels = [Channel(cid, self.channels[cid], [*ids, BOT]) for cid, ids in members.items()]
        return Workspace(
            team_id="T0COP",
            team_name="CoP Demo",
            bot_user_id=BOT,
            bot_token="xoxb-emulator",
            users={u.id: u for u in users},
            channels={c.id: c for c in channels},
        )


_FRENCH_PEOPLE = {
    MANAGER: Persona("Camille Martin"),
    LEADER: Persona("Lucas Bernard"),
    CORE: Persona("Chloé Dubois"),
    SPONSOR: Persona("Hugo Thomas"),
    AGILE_LEADER: Persona("Léa Robert"),
    GUILD_LEADER: Persona("Julien Faure"),
    NEWCOMER: Persona("Manon Durand"),
    MEMBER: Persona("Inès Moreau", "fr-CA", "America/Toronto", "Montréal"),
    PASSER_BY: Persona("Nathan Petit"),
    GONE: Persona("Pierre Leroy"),
}

_FRENCH_CONTENT = {
    "mission": "Faire progresser ensemble la pratique de la data science dans le groupe.",
    "ambition": "Que chaque équipe trouve ici, en moins d'une journée, l'aide d'un pair.",
    "objectives": "Quatre webinaires dans l'année\nUn guide MLOps partagé\n30 membres actifs",
    "values": "Bienveillance, partage, droit à l'erreur.",
    "member_benefits": "Apprendre des pairs, trouver de l'aide vite, se faire connaître.",
    "org_benefits": "Moins de doublons, des modèles en production plus vite.",
    "indicators": "Membres actifs par mois\nParticipation aux webinaires\nTémoignages de valeur",
    "webinar": "Webinaire : MLOps en production",
    "webinar_description": (
        "Déployer un modèle, le surveiller, le corriger : retour d'expérience de l'équipe Pricing."
    ),
    "kickoff": "Lancement de la communauté",
    "workshop": "Atelier Spark",
    "past_description": "Retour d'expérience et questions ouvertes.",
    "guild_mission": "Faire de la sécurité l'affaire de tous, pas un contrôle en bout de chaîne.",
    "guild_objectives": "Une clinique de modélisation des menaces par mois\nUne check-list de code sûr",
    "guild_event": "Clinique de modélisation des menaces",
    "story_title": "Un modèle de churn réutilisé",
    "story_context": "L'équipe CRM partait de zéro pour prédire les résiliations.",
    "story_contribution": "Le notebook partagé lors du dernier atelier de la communauté.",
    "story_benefit": "Trois semaines de développement évitées.",
    "chat_question": "Qui vient au webinaire ?",
    "chat_thanks": "Merci !",
}

_ENGLISH_CONTENT = {
    "mission": "Grow the practice of data science across the group, together.",
    "ambition": "Every team finds a peer's help here in less than a day.",
    "objectives": "Four webinars this year\nA shared MLOps guide\n30 active members",
    "values": "Kindness, sharing, the right to make mistakes.",
    "member_benefits": "Learn from peers, get help fast, be known for what you do.",
    "org_benefits": "Less duplicated work, models in production sooner.",
    "indicators": "Active members per month\nWebinar attendance\nValue stories",
    "webinar": "Webinar: MLOps in production",
    "webinar_description": (
        "Deploying a model, watching it, fixing it: what the Pricing team learnt the hard way."
    ),
    "kickoff": "Community kick-off",
    "workshop": "Spark workshop",
    "past_description": "Lessons learnt and open questions.",
    "guild_mission": "Make security everyone's craft, not a gate at the end.",
    "guild_objectives": "Threat-modelling clinic every month\nA secure-coding checklist",
    "guild_event": "Threat-modelling clinic",
    "story_title": "A churn model reused",
    "story_context": "The CRM team was starting from scratch to predict cancellations.",
    "story_contribution": "The notebook shared at the community's last workshop.",
    "story_benefit": "Three weeks of development saved.",
    "chat_question": "Who's coming to the webinar?",
    "chat_thanks": "Thanks!",
}

FRENCH = Cast(
    narration="fr",
    programme_language="fr",
    programme_name="Communautés de pratique",
    people=_FRENCH_PEOPLE,
    channels={DATA: "data-science", AGILE: "agilite", GUILD: "securite", GENERAL: "general"},
    communities={DATA: "Data Science", AGILE: "Agilité & Lean", GUILD: "Sécurité applicative"},
    community_flags={GUILD: "piloted"},
    content=_FRENCH_CONTENT,
)

ENGLISH = Cast(
    narration="en",
    programme_language="en",
    programme_name="Communities of practice",
    people={
        MANAGER: Persona("Charlotte Evans", "en-GB", "Europe/London", "London"),
        LEADER: Persona("Oliver Hughes", "en-GB", "Europe/London", "London"),
        CORE: Persona("Amelia Clarke", "en-GB", "Europe/London", "London"),
        SPONSOR: Persona("Harry Walker", "en-GB", "Europe/London", "London"),
        AGILE_LEADER: Persona("Grace Wood", "en-GB", "Europe/London", "London"),
        GUILD_LEADER: Persona("James Brown", "en-GB", "Europe/London", "London"),
        NEWCOMER: Persona("Sophie Turner", "en-GB", "Europe/London", "London"),
        MEMBER: Persona("Emily Smith", "en-US", "America/New_York", "New York"),
        PASSER_BY: Persona("Noah Patel", "en-GB", "Europe/London", "London"),
        GONE: Persona("Peter Gray", "en-GB", "Europe/London", "London"),
    },
    channels={DATA: "data-science", AGILE: "agile", GUILD: "security", GENERAL: "general"},
    communities={DATA: "Data Science", AGILE: "Agile & Lean", GUILD: "Security Guild"},
    community_flags={GUILD: "piloted"},
    content=_ENGLISH_CONTENT,
)

# French programme, two English-speaking members: each person is answered in their language.
BOTH = Cast(
    narration="en",
    programme_language="fr",
    programme_name="Communautés de pratique",
    people={
        **_FRENCH_PEOPLE,
        GUILD_LEADER: Persona("James Brown", "en-GB", "Europe/London", "London"),
        MEMBER: Persona("Emily Smith", "en-US", "America/New_York", "New York"),
    },
    channels=FRENCH.channels,
    communities={**FRENCH.communities, GUILD: "Security Guild"},
    community_flags={GUILD: "piloted en"},
    content={
        **_FRENCH_CONTENT,
        **{k: _ENGLISH_CONTENT[k] for k in ("guild_mission", "guild_objectives", "guild_event")},
    },
)

CASTS = {"fr": FRENCH, "en": ENGLISH, "both": BOTH}
