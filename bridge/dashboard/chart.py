"""The bytes synced per day as an SVG bar chart, drawn on the server: no script, no library.

Geometry goes in attributes (never `style`), so the page's Content-Security-Policy can
forbid inline styles; colours come from the page's stylesheet through class names.
"""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

from arrsync.units import human_size
from arrsync.wire.statistics import DayTotal

WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 24  # room for the axis labels


def _label(day: str) -> str:
    try:
        return date.fromisoformat(day).strftime("%b %d")
    except ValueError:
        return day


def bar_chart(days: list[DayTotal]) -> Markup:
    """One bar per day, the tallest reaching the top; a title on each bar for details."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max((d.bytes for d in days), default=0)
    total = sum(d.bytes for d in days)
    summary = f"Bytes synced per day over the last {len(days)} days: {human_size(total)} in all"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">'
        f"{escape(human_size(peak))}</text>",
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    slot = plot_w / max(len(days), 1)
    for index, day in enumerate(days):
        height = plot_h * day.bytes / peak if peak else 0
        if day.bytes and height < 1:
            height = 1  # a day with anything at all stays visible
        x = LEFT + index * slot + slot * 0.15
        tip = f"{_label(day.date)}: {day.count} job(s), {human_size(day.bytes)}"
        parts.append(
            f'<rect class="bar" data-date="{escape(day.date)}" data-bytes="{day.bytes}" '
            f'x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{escape(tip)}</title></rect>'
        )
    last = len(days) - 1
    for index in sorted({0, len(days) // 2, last}) if days else []:
        # The end labels line up with the plot's edges, so they are never cut off.
        anchor, x = {0: ("start", LEFT), last: ("end", WIDTH - RIGHT)}.get(
            index, ("middle", LEFT + index * slot + slot / 2))
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
                     f"{escape(_label(days[index].date))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value in it is escaped above
