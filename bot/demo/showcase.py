"""Demo scene: a story on an ordinary day (no prompt), validated by the leader, cross-posted to the
programme's showcase channel with its community's name."""

from __future__ import annotations

from bot.demo import Demo
from bot.demo.cast import BOT, DATA, GENERAL, LEADER, MEMBER
from rituals.outbox import Drain

_STORY = {
    "fr": {
        "title": "Un tableau de bord qualité partagé",
        "context": "Chaque usine suivait ses défauts dans son propre tableur.",
        "contribution": "Une question posée dans la communauté, trois réponses en une heure.",
        "benefit": "Un seul tableau de bord pour cinq usines.",
    },
    "en": {
        "title": "One shared quality dashboard",
        "context": "Each plant tracked its defects in its own spreadsheet.",
        "contribution": "A question asked in the community, three answers within the hour.",
        "benefit": "One dashboard for five plants.",
    },
}


async def scene(demo: Demo) -> None:
    demo.title("demo.showcase.title")
    french = demo.cast.words(MEMBER)["stories"] == "histoires"
    story = _STORY["fr" if french else "en"]
    demo.say("demo.showcase.any_day", who=demo.first_name(MEMBER))
    before = set(demo.emulator.views)
    await demo.command("histoire" if french else "story", user=MEMBER, channel=DATA)
    view_id = sorted(set(demo.emulator.views) - before)[-1]
    demo.show_view(demo.emulator.views[view_id])
    demo.say("demo.submits", who=demo.who(MEMBER))
    await demo.slack.submit_view(
        view_id,
        user=MEMBER,
        values={**story, "value_amount": "40", "value_unit": "hours", "shareable": ["yes"]},
    )
    await demo.settle()
    demo.say("demo.showcase.validate", who=demo.first_name(LEADER))
    listing = await demo.quietly(demo.cast.words(LEADER)["stories"], user=LEADER, channel=DATA)
    posted = demo.emulator.add_message(
        DATA, user=BOT, text=listing["text"], blocks=listing["blocks"]
    )
    action = [
        e["action_id"]
        for b in listing["blocks"]
        for e in b.get("elements", [])
        if str(e.get("action_id", "")).startswith("story_validate:")
    ][-1]
    await demo.slack.click(user=LEADER, action_id=action, message=(DATA, posted["ts"]))
    await demo.settle()
    await Drain(demo.deps, rate_per_minute=60000).run_until_empty(poll=0.05)
    await demo.settle()
    demo.say("demo.showcase.posted", channel=demo.where(GENERAL))
    shown = [
        m for m in demo.emulator.messages.get(GENERAL, []) if story["title"] in str(m.get("text"))
    ]
    demo.show_message(shown[-1])
