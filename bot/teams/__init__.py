"""Microsoft Teams edge: Bot Framework authentication, the /api/messages route, the emulator."""
