"""Demo scene: discover and join. A member who belongs to none of its channels looks for the
security community with `/cop communautés`, reads its card (mission, leaders, size, next
event) and joins with one click; the list then offers "Open" instead of "Join"."""

from __future__ import annotations

from bot.demo import Demo
from bot.demo.cast import GENERAL, GUILD, NEWCOMER
from bot.slack.blocks import discover as screens

WORD = {"fr": "communautés", "en": "communities"}


async def scene(demo: Demo) -> None:
    demo.title("demo.discover.title")
    language = demo.cast.people[NEWCOMER].language
    searched = demo.cast.communities[GUILD].split()[0].lower()
    demo.say("demo.discover.browse", who=demo.first_name(NEWCOMER))
    reply = await demo.command(f"{WORD[language]} {searched}", user=NEWCOMER, channel=GENERAL)
    join = next(
        (
            block["accessory"]
            for block in reply.get("blocks") or []
            if (block.get("accessory") or {}).get("action_id") == screens.JOIN
        ),
        None,
    )
    if join is None:
        return
    demo.say("demo.discover.join", who=demo.first_name(NEWCOMER))
    dm = demo.emulator.dm_channel_for(NEWCOMER)
    shown = demo.emulator.add_message(dm, user="UBOT", blocks=reply["blocks"])
    await demo.settle()
    await demo.slack.click(
        user=NEWCOMER, action_id=screens.JOIN, message=(dm, shown["ts"]), value=join["value"]
    )
    await demo.settle()
    key = (demo.slack.last_response_url or "").rsplit("/", 1)[-1]
    for answer in [r for r in demo.emulator.responses if r.get("key") == key]:
        demo.show_message(answer)
    demo.say("demo.discover.again", who=demo.first_name(NEWCOMER))
    await demo.command(f"{WORD[language]} {searched}", user=NEWCOMER, channel=GENERAL)
