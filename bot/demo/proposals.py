"""Demo scene: a member proposes a community. Nothing matches their search, so they propose it
from the list; each programme manager gets it by DM with Accept / Decline / Ask for more; the
manager accepts: the channel is created, the community registered in préparation with the
proposer as leader, and the launch checklist posted in the channel and sent to them."""

from __future__ import annotations

from bot.demo import Demo
from bot.demo.cast import MANAGER, NEWCOMER, PASSER_BY
from bot.slack.blocks import proposals as screens

_PROPOSAL = {
    "fr": {
        "search": "communautés cuisine",
        "name": "Cuisine durable",
        "purpose": (
            "Partager recettes, fournisseurs locaux et retours d'expérience pour des "
            "restaurants d'entreprise plus sobres."
        ),
    },
    "en": {
        "search": "communities cooking",
        "name": "Sustainable cooking",
        "purpose": (
            "Share recipes, local suppliers and lessons learnt for more sustainable company "
            "restaurants."
        ),
    },
}


async def scene(demo: Demo) -> None:
    demo.title("demo.proposals.title")
    proposer, manager = PASSER_BY, MANAGER
    words = _PROPOSAL[demo.cast.people[proposer].language]
    demo.say("demo.proposals.search", who=demo.first_name(proposer))
    reply = await demo.command(words["search"], user=proposer, channel="C0GEN")
    if screens.PROPOSE not in str(reply.get("blocks")):
        return
    demo.say("demo.proposals.propose", who=demo.first_name(proposer))
    dm = demo.emulator.dm_channel_for(proposer)
    shown = demo.emulator.add_message(dm, user="UBOT", blocks=reply["blocks"])
    before = set(demo.emulator.views)
    await demo.settle()
    await demo.slack.click(user=proposer, action_id=screens.PROPOSE, message=(dm, shown["ts"]))
    await demo.settle()
    opened = sorted(set(demo.emulator.views) - before)
    if not opened:
        return
    demo.show_view(demo.emulator.views[opened[-1]])
    demo.say("demo.submits", who=demo.who(proposer))
    await demo.slack.submit_view(
        opened[-1],
        user=proposer,
        values={
            screens.NAME: words["name"],
            screens.PURPOSE: words["purpose"],
            screens.INTERESTED: [NEWCOMER],
        },
    )
    await demo.settle()
    demo.say("demo.proposals.thanked", who=demo.first_name(proposer))
    demo.show_message(demo.emulator.messages[dm][-1])
    inbox = demo.emulator.dm_channel_for(manager)
    asked = [
        m for m in demo.emulator.messages.get(inbox, []) if screens.ACCEPT in str(m.get("blocks"))
    ]
    if not asked:
        return
    demo.say("demo.proposals.managers", who=demo.first_name(manager))
    demo.show_message(asked[-1])
    demo.say("demo.proposals.accept", who=demo.first_name(manager))
    await demo.slack.click(user=manager, action_id=screens.ACCEPT, message=(inbox, asked[-1]["ts"]))
    await demo.settle()
    key = (demo.slack.last_response_url or "").rsplit("/", 1)[-1]
    for answer in [r for r in demo.emulator.responses if r.get("key") == key]:
        demo.show_message(answer)
    made = [c for c in demo.emulator.calls_to("conversations.create") if c.response.get("ok")]
    if made:
        channel_id = str(made[-1].response["channel"]["id"])
        demo.say("demo.proposals.channel", channel=demo.where(channel_id))
        demo.show_message(demo.emulator.messages[channel_id][0])
    demo.say("demo.proposals.proposer", who=demo.first_name(proposer))
    demo.show_message(demo.emulator.messages[dm][-1])
    demo.say("demo.proposals.copy", who=demo.first_name(manager))
    demo.show_message(demo.emulator.find_message(inbox, asked[-1]["ts"]) or asked[-1])
