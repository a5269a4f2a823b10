"""Server-side SVG charts built from numbers: no JavaScript, no external assets, CSP-safe.

Every label is escaped with `django.utils.html.escape` before it enters the markup, and numbers
are formatted by Python, so the output is safe to embed inline. No `style` attributes are used
(the CSP forbids inline styles); colours are presentation attributes."""

from decimal import Decimal

from django.utils.html import escape

PALETTE = ("#1f5f8b", "#d98c1f", "#3a8a4f", "#8b3a62", "#5b5f97", "#7a7a7a")
WIDTH = 400
ROW = 26
AXIS = "#9aa3ad"
TEXT = "#1f2933"


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _clip(label: str, size: int = 18) -> str:
    """Shorten a long label for the axis; the full text stays in the tooltip and the table."""
    return label if len(label) <= size else label[: size - 1] + "…"


def _num(value) -> float:
    # Geometry only (bar lengths in pixels): every amount shown is formatted from its Decimal.
    return float(value or 0)


def _open(height: int, title: str) -> str:
    safe_title = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{safe_title}" class="chart">'
        f"<title>{safe_title}</title>"
    )


def bar_chart(labels, values, *, title: str) -> str:
    """Horizontal bars, one per label."""
    labels = [str(label) for label in labels]
    values = list(values)
    label_w, value_w = 110, 60
    plot_w = WIDTH - label_w - value_w
    top = 8
    height = top + ROW * max(len(labels), 1) + 8
    peak = max([_num(v) for v in values] + [0]) or 1
    parts = [_open(height, title)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * ROW
        w = round(plot_w * _num(value) / peak, 1)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="12" '
            f'fill="{TEXT}">{escape(_clip(label))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{ROW - 8}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(_fmt(value))}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 17}" font-size="12" '
            f'fill="{TEXT}">{escape(_fmt(value))}</text>'
        )
    parts.append(
        f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - 8}" stroke="{AXIS}"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar(labels, series, *, title: str) -> str:
    """Horizontal stacked bars: `series` is a list of (name, values) in stacking order."""
    labels = [str(label) for label in labels]
    label_w, value_w = 120, 30
    plot_w = WIDTH - label_w - value_w
    top = 30
    height = top + ROW * max(len(labels), 1) + 8
    totals = [sum(_num(values[i]) for _name, values in series) for i in range(len(labels))]
    peak = max(totals + [0]) or 1
    parts = [_open(height, title)]
    x = label_w
    for k, (name, _values) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="18" font-size="12" fill="{TEXT}">{escape(name)}</text>'
        )
        x += 26 + 7 * len(str(name))
    for i, label in enumerate(labels):
        y = top + i * ROW
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="11" '
            f'fill="{TEXT}">{escape(_clip(label))}</text>'
        )
        offset = label_w
        for k, (name, values) in enumerate(series):
            w = round(plot_w * _num(values[i]) / peak, 1)
            if w > 0:
                parts.append(
                    f'<rect x="{offset}" y="{y + 4}" width="{w}" height="{ROW - 8}" '
                    f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)} – '
                    f"{escape(name)}: {escape(_fmt(values[i]))}</title></rect>"
                )
            offset += w
        parts.append(
            f'<text x="{offset + 6}" y="{y + 17}" font-size="12" '
            f'fill="{TEXT}">{escape(_fmt(int(totals[i]) if totals[i].is_integer() else totals[i]))}'
            "</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def time_series(labels, values, *, title: str) -> str:
    """Columns over time (e.g. months), with the peak value marked on the axis."""
    labels = [str(label) for label in labels]
    values = list(values)
    left, bottom, top = 56, 30, 14
    height = 190
    plot_w = WIDTH - left - 10
    plot_h = height - top - bottom
    peak = max([_num(v) for v in values] + [0]) or 1
    slot = plot_w / max(len(values), 1)
    parts = [_open(height, title)]
    base_y = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base_y}" x2="{WIDTH - 10}" y2="{base_y}" stroke="{AXIS}"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base_y}" stroke="{AXIS}"/>'
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" '
        f'fill="{TEXT}">{escape(_fmt(Decimal(str(peak)).quantize(Decimal("1"))))}</text>'
        f'<text x="{left - 6}" y="{base_y + 4}" text-anchor="end" font-size="11" '
        f'fill="{TEXT}">0</text>'
    )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = round(plot_h * _num(value) / peak, 1)
        x = round(left + i * slot + slot * 0.15, 1)
        w = round(slot * 0.7, 1)
        parts.append(
            f'<rect x="{x}" y="{round(base_y - h, 1)}" width="{w}" height="{h}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(_fmt(value))}</title></rect>'
            f'<text x="{round(x + w / 2, 1)}" y="{base_y + 14}" text-anchor="middle" '
            f'font-size="9" fill="{TEXT}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
