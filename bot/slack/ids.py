"""Every action_id, callback_id and block_id, shared by the builders and the listeners."""

from __future__ import annotations

# /cop help
HELP = "cop_help"
