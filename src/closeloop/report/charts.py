"""Inline SVG charts: no JavaScript, no CDN, so a report opens offline and prints well.

Each function returns an SVG string whose marks carry their data (``data-value``,
``data-low``/``data-high``, ``<title>`` tooltips), so tests — and curious readers — can
check a chart against the numbers in the tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04")


def _fmt(v: float, pct: bool) -> str:
    return f"{v * 100:.1f}%" if pct else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag: float = 10 ** math.floor(math.log10(v))  # an int power of ten, or a fraction below 1
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def line_chart(
    title: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]], pct: bool = False,
    width: int = 560, height: int = 220,
) -> str:
    """Lines over periods (trends); None values leave gaps."""
    left, right, top, bottom = 48, 110, 24, 34
    w, h = width - left - right, height - top - bottom
    values = [v for s in series.values() for v in s if v is not None]
    ymax = _nice_max(max(values)) if values else 1.0
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h - h * v / ymax

    parts = [_open(width, height, title), _axes(left, top, w, h, ymax, pct)]
    step = max(1, n // 8)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{top + h + 16}" font-size="10" text-anchor="middle">'
                         f"{escape(str(label))}</text>")
    for k, (name, vals) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        pts: list[str] = []
        segs: list[list[str]] = []
        for i, v in enumerate(vals):
            if v is None:
                if pts:
                    segs.append(pts)
                pts = []
                continue
            pts.append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}" '
                         f'data-series="{escape(name)}" data-value="{v:.6g}"><title>{escape(name)} '
                         f"{escape(str(x_labels[i]))}: {_fmt(v, pct)}</title></circle>")
        segs.append(pts)
        for seg in segs:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{" ".join(seg)}"/>')
        parts.append(f'<text x="{left + w + 8}" y="{top + 12 + 14 * k}" font-size="11" fill="{color}">'
                     f"{escape(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def forest_plot(
    title: str, labels: Sequence[str], values: Sequence[float | None], lows: Sequence[float | None],
    highs: Sequence[float | None], reference: float | None = None, pct: bool = True, width: int = 560,
) -> str:
    """Point estimates with CI whiskers, one row per group; an optional reference line."""
    left, right, top, row = 150, 60, 24, 20
    height = top + row * len(labels) + 30
    w = width - left - right
    his = [v for v in highs if v is not None] + [v for v in values if v is not None]
    xmax = _nice_max(max(his)) if his else 1.0

    def x(v: float) -> float:
        return left + w * v / xmax

    parts = [_open(width, height, title)]
    for t in range(5):
        tick = xmax * t / 4
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" y2="{height - 26}" stroke="#e5e7eb"/>'
                     f'<text x="{x(tick):.1f}" y="{height - 12}" font-size="10" text-anchor="middle">'
                     f"{_fmt(tick, pct)}</text>")
    if reference is not None:
        parts.append(f'<line class="reference" x1="{x(reference):.1f}" y1="{top - 4}" x2="{x(reference):.1f}" '
                     f'y2="{height - 26}" stroke="#6b7280" stroke-dasharray="4 3" data-value="{reference:.6g}"/>')
    for i, (label, v, lo, hi) in enumerate(zip(labels, values, lows, highs, strict=True)):
        cy = top + row * i + row / 2
        parts.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" font-size="11" text-anchor="end">'
                     f"{escape(str(label))[:24]}</text>")
        if v is None:
            continue
        if lo is not None and hi is not None:
            parts.append(f'<line x1="{x(lo):.1f}" y1="{cy:.1f}" x2="{x(hi):.1f}" y2="{cy:.1f}" stroke="#374151" '
                         f'stroke-width="1.5"/>')
        parts.append(
            f'<rect class="estimate" x="{x(v) - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" fill="{PALETTE[0]}" '
            f'data-label="{escape(str(label))}" data-value="{v:.6g}" data-low="{_num(lo)}" data-high="{_num(hi)}">'
            f"<title>{escape(str(label))}: {_fmt(v, pct)} [{_fmt(lo or 0, pct)}, {_fmt(hi or 0, pct)}]</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], pct: bool = False,
              width: int = 560) -> str:
    """Horizontal bars (funnels, breakdowns), each labelled with its value."""
    left, right, top, row = 150, 70, 24, 22
    height = top + row * len(labels) + 10
    w = width - left - right
    vmax = max([v for v in values if v is not None] + [0]) or 1.0
    parts = [_open(width, height, title)]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = top + row * i
        bw = w * (v or 0) / vmax
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" font-size="11" text-anchor="end">{escape(str(label))[:24]}</text>'
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{bw:.1f}" height="{row - 6}" fill="{PALETTE[0]}" '
            f'data-label="{escape(str(label))}" data-value="{v:.6g}"><title>{escape(str(label))}: '
            f"{_fmt(v, pct)}</title></rect>"
            f'<text x="{left + bw + 4:.1f}" y="{y + 15}" font-size="11">{_fmt(v, pct)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}"


def _open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif"><title>{escape(title)}</title>'
            f'<text x="4" y="14" font-size="12" font-weight="600">{escape(title)}</text>')


def _axes(left: int, top: int, w: int, h: int, ymax: float, pct: bool) -> str:
    out = []
    for t in range(5):
        v = ymax * t / 4
        y = top + h - h * t / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{_fmt(v, pct)}</text>')
    return "".join(out)
