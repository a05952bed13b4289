"""`python -m bot.slack.emulator`: the emulator on its own, with the default workspace."""

from bot.slack.emulator.server import main

main()
