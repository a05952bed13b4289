"""The app's two icons, drawn at build time (Pillow), the same bytes every time.

Teams wants a color icon of 192×192 pixels and an outline icon of 32×32: white on a transparent
background. Both show the same mark: three people linked in a ring, a community.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from bot.teams.manifest import ACCENT_COLOR

COLOR_SIZE = 192
OUTLINE_SIZE = 32
_SUPERSAMPLE = 8  # drawn large, then reduced: smooth edges without depending on a font


def _mark(size: int, *, margin: float) -> Image.Image:
    """The mark as an 8-bit mask (255: ink) of `size`×`size`, `margin` (a fraction) left empty
    around it."""
    big = size * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    inner = big * (1 - 2 * margin)
    offset = big * margin
    # three heads on a triangle, joined by a ring
    centres = [(0.5, 0.2), (0.2, 0.74), (0.8, 0.74)]
    points = [(offset + x * inner, offset + y * inner) for x, y in centres]
    ring = round(inner * 0.07)
    draw.line([*points, points[0]], fill=255, width=ring, joint="curve")
    radius = inner * 0.17
    for x, y in points:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return mask.resize((size, size), Image.Resampling.LANCZOS)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)  # no timestamp: the same bytes every build
    return out.getvalue()


def color() -> bytes:
    """192×192, the white mark on the accent color (opaque RGB)."""
    image = Image.new("RGB", (COLOR_SIZE, COLOR_SIZE), ACCENT_COLOR)
    white = Image.new("RGB", image.size, "white")
    image.paste(white, (0, 0), _mark(COLOR_SIZE, margin=0.2))
    return _png(image)


def outline() -> bytes:
    """32×32 RGBA: every pixel white, the mark in the alpha channel, transparent elsewhere."""
    image = Image.new("RGBA", (OUTLINE_SIZE, OUTLINE_SIZE), (255, 255, 255, 0))
    image.putalpha(_mark(OUTLINE_SIZE, margin=0.04))
    return _png(image)
