"""Our sentences as a Teams member reads them: the commands they name, Teams' way.

The catalogue (bot/i18n) is shared by both platforms and names Slack's slash commands:
« `/cop sourdine` », "`/cop charter`". Teams has no slash commands: the bot answers
« @cop sourdine » in a channel (the bot @mentioned) and in the 1:1 chat (where the edge also
takes the bare word, « sourdine », and a typed « @cop » in front of it).

Two rules, applied to OUR sentences only (a catalogue or app.yaml template, before any typed
text goes in — bot/teams/render.py and bot/teams/cards/common.py call them; typed text never
passes here):

- `commands(sentence)`: `/cop <word>` becomes `@cop <word>` when Teams answers that word
  (`ANSWERED`, the words the Teams handlers register: tests/test_teams_idiom.py checks the two
  agree, so a command added on one side and not the other fails there). A word Teams does not
  answer is left as Slack wrote it — the sentences that reach Teams members and name such a
  command have a Teams wording instead (next rule).
- `key(key, language)`: a sentence with a Teams wording, `teams.as.<key>` in the catalogue
  (bot/i18n/*/teams_idiom.po), is read in that wording in Teams: « l'onglet Accueil de
  l'application » is Slack's App Home; Teams' is the « @cop accueil » card.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.i18n import catalogue_keys

# The words Teams' handlers answer (handlers/teams/*: edge.command(...)), folded (no case, no
# accents), plus the edge's own help. tests/test_teams_idiom.py compares them with the edge's.
ANSWERED: frozenset[str] = frozenset(
    {
        "help",
        "aide",
        "charter",
        "charte",
        "event",
        "evenement",
        "evenements",
        "events",
        "health",
        "sante",
        "story",
        "histoire",
        "recit",
        "stories",
        "histoires",
        "recits",
        "mute",
        "sourdine",
        "snooze",
        "home",
        "accueil",
        "community",
        "communaute",
        "compass",
        "boussole",
    }
)
PREFIX = "teams.as."
# `/cop` then a word (letters, with accents) — not a placeholder `{command}`, not a path
_SLASH = re.compile(r"(?<![\w/])/cop(?=\s+(?P<word>[^\W\d_][\w'’-]*))")


def fold(word: str) -> str:
    """A command word without case or accents, as the edge matches it."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def answers(word: str) -> bool:
    return fold(word) in ANSWERED


def commands(sentence: str) -> str:
    """`/cop <word>` as Teams says it (`@cop <word>`) where Teams answers the word."""

    def teams(found: re.Match[str]) -> str:
        return "@cop" if answers(found.group("word")) else found.group()

    return _SLASH.sub(teams, sentence) if "/cop" in sentence else sentence


def key(key: str, language: str) -> str:
    """The catalogue key to read in Teams: its Teams wording when it has one."""
    teams = PREFIX + key
    return teams if teams in _worded(language) else key


@cache
def _worded(language: str) -> frozenset[str]:
    """The Teams wordings of one language (read once: every sentence rendered asks)."""
    return frozenset(k for k in catalogue_keys(language) if k.startswith(PREFIX))
