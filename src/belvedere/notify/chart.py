"""The metric of an alert as a small PNG chart for emails (mail clients show PNG, not SVG): the recent
buckets as a line, the threshold as a dashed line, breaching buckets marked."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

WIDTH, HEIGHT, PAD = 560, 160, 12
INK, GRID, ALERT, LINE = (55, 65, 81), (209, 213, 219), (220, 38, 38), (37, 99, 235)


def render(
    values: Sequence[float | None], threshold: float | None = None, breaching: Sequence[bool] = ()
) -> bytes:
    """PNG bytes; ``values`` oldest first (None: no value in that bucket)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    known = [v for v in values if v is not None]
    scale = [*known, *([threshold] if threshold is not None else [])] or [0.0]
    low, high = min(min(scale), 0.0), max(scale)
    span = (high - low) or 1.0

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD)

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / max(len(values) - 1, 1)

    draw.line([(PAD, y(low)), (WIDTH - PAD, y(low))], fill=GRID, width=1)
    if threshold is not None:
        level = y(threshold)
        for start in range(PAD, WIDTH - PAD, 12):
            draw.line([(start, level), (min(start + 6, WIDTH - PAD), level)], fill=ALERT, width=2)
    points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
    if len(points) > 1:
        draw.line(points, fill=LINE, width=3, joint="curve")
    for i, v in enumerate(values):
        if v is None:
            continue
        hot = i < len(breaching) and breaching[i]
        r = 5 if hot else 3
        draw.ellipse([x(i) - r, y(v) - r, x(i) + r, y(v) + r], fill=ALERT if hot else INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
