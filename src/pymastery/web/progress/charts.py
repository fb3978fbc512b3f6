"""Small server-rendered SVG charts: no JavaScript; screen readers get <title> and <desc>."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

WIDTH, HEIGHT, PAD = 640, 220, 36


def bar_chart(title: str, bars: Sequence[tuple[str, float | None]]) -> str:
    """Horizontal-axis bars of values in 0..1 (None: no data yet)."""
    inner_width = WIDTH - 2 * PAD
    step = inner_width / max(len(bars), 1)
    parts = [svg_open(title, "; ".join(f"{label}: {percent(value)}" for label, value in bars))]
    parts.append(axis())
    for index, (label, value) in enumerate(bars):
        x = PAD + index * step + step * 0.15
        width = step * 0.7
        height = (HEIGHT - 2 * PAD) * (value or 0)
        y = HEIGHT - PAD - height
        css = "bar" if value is not None else "bar empty"
        parts.append(
            f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{max(height, 1):.1f}"><title>{escape(label)}: '
            f"{percent(value)}</title></rect>"
        )
        parts.append(
            f'<text class="tick" x="{x + width / 2:.1f}" y="{HEIGHT - PAD + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: Sequence[tuple[date, int]], total: int) -> str:
    """Cumulative count over days, against a ceiling of `total`."""
    description = "; ".join(f"{day:%d %b}: {value}" for day, value in points) or "no data yet"
    parts = [svg_open(title, description), axis()]
    if points:
        first, last = points[0][0], points[-1][0]
        span = max((last - first).days, 1)
        ceiling = max(total, points[-1][1], 1)
        coordinates = [
            (
                PAD + (WIDTH - 2 * PAD) * (day - first).days / span,
                HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / ceiling,
            )
            for day, value in points
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        parts.append(f'<polyline class="line" points="{path}"/>')
        for (x, y), (day, value) in zip(coordinates, points, strict=True):
            parts.append(
                f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                f"<title>{day:%d %b %Y}: {value}</title></circle>"
            )
        parts.append(f'<text class="tick" x="{PAD}" y="{HEIGHT - PAD + 14}">{first:%d %b}</text>')
        parts.append(
            f'<text class="tick" x="{WIDTH - PAD}" y="{HEIGHT - PAD + 14}" '
            f'text-anchor="end">{last:%d %b}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_open(title: str, description: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"<desc>{escape(description)}</desc>"
    )


def axis() -> str:
    return (
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/><line class="axis" x1="{PAD}" y1="{PAD}" x2="{PAD}" '
        f'y2="{HEIGHT - PAD}"/>'
    )


def percent(value: float | None) -> str:
    return "no answers yet" if value is None else f"{value:.0%}"
