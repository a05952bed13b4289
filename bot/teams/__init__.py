"""The Microsoft Teams edge: the app package (manifest, icons), and what speaks to Teams."""
