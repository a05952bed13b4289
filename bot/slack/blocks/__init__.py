"""Block Kit builders, one module per screen, built from slack_sdk models."""
