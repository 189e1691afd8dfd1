"""Inline SVG charts: stacked bars (vertical or horizontal) and lines, no scripts, no fonts to fetch.

Every drawn value is an element of class `point` carrying `data-series`, `data-x` and
`data-value` (and a `<title>` for hovering), so a reader of the page's DOM, a person or the
browser test, finds the numbers the chart shows. Reference lines (budgets, thresholds) are
elements of class `reference` with `data-label` and `data-value`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

PALETTE = ["#2f7ed8", "#f28f43", "#c42525", "#8bbc21", "#77a1e5", "#a6c96a", "#910000", "#492970",
           "#1aadce", "#e6b800", "#0d233a", "#6b6b6b"]
WIDTH = 960
FONT = 'font-family="system-ui, -apple-system, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif" font-size="11"'


@dataclass
class Reference:
    """A horizontal (vertical charts) or vertical (horizontal charts) line at a value."""

    value: float
    label: str
    colour: str = "#c42525"


@dataclass
class Series:
    name: str
    label: str
    values: list[float | None]
    colour: str | None = None


@dataclass
class Chart:
    categories: list[str]
    series: list[Series]
    unit: str = ""
    references: list[Reference] = field(default_factory=list)
    category_labels: list[str] | None = None

    def colour(self, index: int) -> str:
        return self.series[index].colour or PALETTE[index % len(PALETTE)]


def fmt(value: float) -> str:
    """A number as people read it: whole numbers without decimals, others to 3 significant places."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def data_value(value: float) -> str:
    """The exact value for the DOM (integers without a decimal point)."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(float(value))


def nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def text_width(text: str) -> float:
    """About how wide 11 px text is drawn: CJK characters are square, Latin ones narrower."""
    return sum(11 if ord(c) > 0x2E80 else 6.2 for c in text)


def _legend(chart: Chart, y: float) -> tuple[str, int]:
    """The legend from `y` down, wrapped to the chart's width; returns it and its rows."""
    items = [(s.label, f'<rect x="{{x:.1f}}" y="{{y:.1f}}" width="10" height="10" fill="{chart.colour(i)}"/>', 14, s.name)
             for i, s in enumerate(chart.series)]
    items += [(r.label, f'<line x1="{{x:.1f}}" x2="{{x14:.1f}}" y1="{{y5:.1f}}" y2="{{y5:.1f}}" stroke="{r.colour}" '
               'stroke-dasharray="4 3"/>', 18, None) for r in chart.references]
    parts, x, row = [], 0.0, 0
    for label, mark, gap, name in items:
        width = gap + text_width(label) + 14
        if x > 0 and x + width > WIDTH:
            x, row = 0.0, row + 1
        top = y + 16 * row
        series = f' data-series="{escape(name)}"' if name is not None else ""
        parts.append(f'<g class="legend-item"{series}>' + mark.format(x=x, y=top - 9, x14=x + 14, y5=top - 4)
                     + f'<text x="{x + gap:.1f}" y="{top:.1f}">{escape(label)}</text></g>')
        x += width
    return "".join(parts), row + 1


def _svg(height: float, body: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
            f'role="img" aria-label="{escape(title)}" {FONT}>{body}</svg>')


def _point(shape: str, series: Series, category: str, value: float, tip: str, colour: str) -> str:
    return (f'<{shape} class="point" data-series="{escape(series.name)}" data-x="{escape(category)}" '
            f'data-value="{data_value(value)}" fill="{colour}"><title>{escape(tip)}</title></{shape.split()[0]}>')


def vertical_bars(chart: Chart, title: str, stacked: bool = True, height: int = 280) -> str:
    """Bars per category, series stacked (or side by side); reference lines across."""
    left, right, top, bottom = 64, 12, 12, 58
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    n = max(len(chart.categories), 1)
    totals = [sum((s.values[i] or 0) for s in chart.series) if stacked else
              max([(s.values[i] or 0) for s in chart.series] or [0]) for i in range(len(chart.categories))]
    top_value = nice_max(max(totals + [r.value for r in chart.references] + [0]))
    scale = plot_h / top_value
    slot = plot_w / n
    width = max(slot * 0.8, 1.0)
    parts = [_axis_y(left, top, plot_w, plot_h, top_value, chart.unit)]
    labels = chart.category_labels or chart.categories
    every = label_step(labels)
    for i, category in enumerate(chart.categories):
        x0 = left + i * slot + (slot - width) / 2
        base = 0.0
        for j, s in enumerate(chart.series):
            value = s.values[i]
            if not value:
                continue
            w = width if stacked else width / len(chart.series)
            x = x0 if stacked else x0 + j * w
            y0 = base if stacked else 0.0
            h = value * scale
            shape = f'rect x="{x:.2f}" y="{top + plot_h - (y0 * scale) - h:.2f}" width="{w:.2f}" height="{h:.2f}"'
            parts.append(_point(shape, s, category, value, f"{labels[i]} · {s.label}: {fmt(value)} {chart.unit}", chart.colour(j)))
            if stacked:
                base += value
        if i % every == 0 and labels[i]:
            parts.append(f'<text class="x-label" x="{left + (i + 0.5) * slot:.1f}" y="{top + plot_h + 14}" '
                         f'text-anchor="middle">{escape(labels[i])}</text>')
    for ref in chart.references:
        y = top + plot_h - ref.value * scale
        parts.append(f'<line class="reference" data-label="{escape(ref.label)}" data-value="{data_value(ref.value)}" '
                     f'x1="{left}" x2="{left + plot_w}" y1="{y:.2f}" y2="{y:.2f}" stroke="{ref.colour}" stroke-dasharray="4 3">'
                     f'<title>{escape(ref.label)}: {fmt(ref.value)} {chart.unit}</title></line>')
    legend, rows = _legend(chart, height - 8)
    parts.append(legend)
    return _svg(height + 16 * (rows - 1), "".join(parts), title)


def horizontal_bars(chart: Chart, title: str, axis_max: float | None = None) -> str:
    """One row per category, series stacked left to right; reference lines down the plot."""
    row, left, right, top = 26, 230, 70, 8
    height = top + row * max(len(chart.categories), 1) + 44
    plot_w = WIDTH - left - right
    totals = [sum((s.values[i] or 0) for s in chart.series) for i in range(len(chart.categories))]
    top_value = axis_max or nice_max(max(totals + [r.value for r in chart.references] + [0]))
    scale = plot_w / top_value
    labels = chart.category_labels or chart.categories
    parts = []
    for i, category in enumerate(chart.categories):
        y = top + i * row
        parts.append(f'<text class="y-label" x="{left - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end">{escape(labels[i])}</text>')
        base = 0.0
        for j, s in enumerate(chart.series):
            value = s.values[i]
            if value is None:
                continue
            w = min(value, top_value * 1.2) * scale
            shape = f'rect x="{left + base:.2f}" y="{y + 4}" width="{w:.2f}" height="{row - 8}"'
            parts.append(_point(shape, s, category, value, f"{labels[i]} · {s.label}: {fmt(value)} {chart.unit}", chart.colour(j)))
            base += w
        if totals[i]:
            parts.append(f'<text x="{left + base + 4:.1f}" y="{y + row / 2 + 4:.1f}">{escape(fmt(totals[i]))}</text>')
    bottom = top + row * max(len(chart.categories), 1)
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#999"/>')
    for k in range(5):
        v = top_value * k / 4
        x = left + v * scale
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" fill="#666">{escape(fmt(v))}{escape(chart.unit)}</text>')
    for ref in chart.references:
        x = left + ref.value * scale
        parts.append(f'<line class="reference" data-label="{escape(ref.label)}" data-value="{data_value(ref.value)}" '
                     f'x1="{x:.2f}" x2="{x:.2f}" y1="{top}" y2="{bottom}" stroke="{ref.colour}" stroke-dasharray="4 3">'
                     f'<title>{escape(ref.label)}</title></line>')
    legend, rows = _legend(chart, height - 6)
    parts.append(legend)
    return _svg(height + 16 * (rows - 1), "".join(parts), title)


def lines(chart: Chart, title: str, height: int = 260) -> str:
    """One line per series over the categories; missing values break the line."""
    left, right, top, bottom = 64, 12, 12, 58
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    n = max(len(chart.categories), 1)
    values = [v for s in chart.series for v in s.values if v is not None]
    top_value = nice_max(max([*values, 0]))
    scale = plot_h / top_value
    slot = plot_w / n
    labels = chart.category_labels or chart.categories
    parts = [_axis_y(left, top, plot_w, plot_h, top_value, chart.unit)]
    for j, s in enumerate(chart.series):
        colour = chart.colour(j)
        segment: list[str] = []
        for i, value in enumerate([*s.values, None]):
            if value is None:
                if len(segment) > 1:
                    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
                segment = []
                continue
            x, y = left + (i + 0.5) * slot, top + plot_h - value * scale
            segment.append(f"{x:.2f},{y:.2f}")
            shape = f'circle cx="{x:.2f}" cy="{y:.2f}" r="3.5"'
            parts.append(_point(shape, s, chart.categories[i], value, f"{labels[i]} · {s.label}: {fmt(value)} {chart.unit}", colour))
    every = label_step(labels)
    for i in range(0, n if chart.categories else 0, every):
        parts.append(f'<text class="x-label" x="{left + (i + 0.5) * slot:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{escape(labels[i])}</text>')
    legend, rows = _legend(chart, height - 8)
    parts.append(legend)
    return _svg(height + 16 * (rows - 1), "".join(parts), title)


def label_step(labels: list[str]) -> int:
    """Every label when the caller already thinned them (blanks), else at most about 24."""
    return 1 if any(not label for label in labels) else max(1, math.ceil(len(labels) / 24))


def _axis_y(left: float, top: float, plot_w: float, plot_h: float, top_value: float, unit: str) -> str:
    parts = [f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#999"/>',
             f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>']
    for k in range(5):
        v = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{escape(fmt(v))}</text>')
    if unit:
        parts.append(f'<text x="4" y="{top + 10}" fill="#666">{escape(unit)}</text>')
    return "".join(parts)
