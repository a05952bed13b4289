"""The Teams app package: the zip a Teams administrator uploads (`cop teams package`).

At its root: manifest.json, fr.json (the French strings), color.png and outline.png. The entries
carry a fixed date, so the same settings give the same bytes (a package can be compared with the
one already uploaded).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from bot.teams import icons, manifest

_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's first date: no build time in the package


def contents(settings: manifest.PackageSettings) -> dict[str, bytes]:
    """The package's files, by name, in the order they are written."""
    return {
        "manifest.json": _json(manifest.build(settings)),
        manifest.FRENCH_FILE: _json(manifest.french()),
        manifest.COLOR_ICON: icons.color(),
        manifest.OUTLINE_ICON: icons.outline(),
    }


def write(settings: manifest.PackageSettings, out: Path) -> Path:
    """Write the zip to `out` (replacing it), and return it."""
    files = contents(settings)
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return out


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
