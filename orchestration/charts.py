"""Inline SVG charts for the executive report: no scripts, no fonts, no network.

Each function returns one `<svg>` element as a string. Every chart carries `data-chart="<name>"`
(the Chromium test finds them by it), a `<title>` for screen readers, and a `viewBox`, so it
scales with the page and prints sharply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
ACCENT = "#2563eb"
ACCENT_2 = "#f59e0b"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"


def _svg(name: str, title: str, width: int, height: int, body: str) -> str:
    return (
        f'<svg data-chart="{escape(name)}" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px;{FONT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", **kw) -> str:
    fill = kw.get("fill", INK)
    weight = kw.get("weight", "normal")
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" '
        f'font-weight="{weight}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def bar_chart(
    name: str,
    title: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    width: int = 520,
    bar_height: int = 22,
) -> str:
    """Horizontal bars: (label, value, value label). Negative values draw as empty bars."""
    label_w, value_w, pad = 150, 110, 8
    plot_w = width - label_w - value_w
    height = max(1, len(rows)) * (bar_height + pad) + pad
    top = max((value for _, value, _ in rows), default=0) or 1
    parts = []
    for i, (label, value, value_label) in enumerate(rows):
        y = pad + i * (bar_height + pad)
        w = max(0.0, value) / top * plot_w
        parts.append(
            _text(label_w - 8, y + bar_height * 0.7, _clip(label, 22), anchor="end")
            + f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_height}" '
            f'fill="{GRID}" rx="3"/>'
            + f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{ACCENT}" rx="3"/>'
            + _text(label_w + plot_w + 8, y + bar_height * 0.7, value_label, fill=MUTED)
        )
    if not rows:
        parts.append(_text(width / 2, height / 2 + 4, "no data", anchor="middle", fill=MUTED))
    return _svg(name, title, width, height, "".join(parts))


def pareto_chart(
    name: str, title: str, cumulative_shares: Sequence[float], marker_share: float = 0.2
) -> str:
    """Cumulative share of revenue (y) against share of customers (x), best customers first."""
    width, height, left, bottom, top, right = 520, 300, 48, 36, 12, 16
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(cumulative_shares)

    def xy(fx: float, fy: float) -> tuple[float, float]:
        return left + fx * plot_w, top + (1 - fy) * plot_h

    parts = [_grid(left, top, plot_w, plot_h)]
    if n:
        points = [xy(0, 0)] + [xy((i + 1) / n, s) for i, s in enumerate(cumulative_shares)]
        step = max(1, len(points) // 400)  # a few hundred points draw the curve exactly enough
        sampled = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in sampled)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>'
        )
        at = cumulative_shares[max(0, min(n - 1, round(marker_share * n) - 1))]
        mx, my = xy(marker_share, at)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{top + plot_h}" x2="{mx:.1f}" y2="{my:.1f}" '
            f'stroke="{ACCENT_2}" stroke-dasharray="4 3"/>'
            f'<line x1="{left}" y1="{my:.1f}" x2="{mx:.1f}" y2="{my:.1f}" '
            f'stroke="{ACCENT_2}" stroke-dasharray="4 3"/>'
            f'<circle cx="{mx:.1f}" cy="{my:.1f}" r="4" fill="{ACCENT_2}"/>'
            + _text(
                mx + 8,
                my + 16,
                f"top {marker_share:.0%} of customers: {at:.0%} of revenue",
                weight="600",
            )
        )
    for frac in (0, 0.25, 0.5, 0.75, 1):
        x, y = xy(frac, frac)
        parts.append(_text(left - 6, y + 4, f"{frac:.0%}", size=10, anchor="end", fill=MUTED))
        parts.append(
            _text(x, top + plot_h + 14, f"{frac:.0%}", size=10, anchor="middle", fill=MUTED)
        )
    parts.append(
        _text(
            left + plot_w / 2,
            height - 4,
            "share of customers (by revenue)",
            size=11,
            anchor="middle",
            fill=MUTED,
        )
    )
    return _svg(name, title, width, height, "".join(parts))


def column_line_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    columns: Sequence[float],
    line: Sequence[float],
    *,
    column_label: Callable[[float], str],
    line_label: Callable[[float], str],
) -> str:
    """Monthly columns (e.g. revenue) with a line on a second scale (e.g. active customers)."""
    width, height, left, bottom, top, right = 1000, 260, 70, 40, 16, 90
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(labels)
    parts = [_grid(left, top, plot_w, plot_h, vertical=False)]
    if n:
        top_col = max(max(columns), 1e-9)
        top_line = max(max(line), 1e-9)
        slot = plot_w / n
        for i, value in enumerate(columns):
            h = max(0.0, value) / top_col * plot_h
            x = left + i * slot + slot * 0.15
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{ACCENT}" opacity="0.85"/>'
            )
            if i % max(1, n // 12) == 0 or i == n - 1:
                parts.append(
                    _text(
                        left + i * slot + slot / 2,
                        top + plot_h + 14,
                        labels[i],
                        size=10,
                        anchor="middle",
                        fill=MUTED,
                    )
                )
        points = " ".join(
            f"{left + i * slot + slot / 2:.1f},{top + (1 - v / top_line) * plot_h:.1f}"
            for i, v in enumerate(line)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{ACCENT_2}" stroke-width="2.5"/>'
        )
        parts.append(
            _text(left - 6, top + 10, column_label(top_col), size=10, anchor="end", fill=MUTED)
        )
        parts.append(
            _text(left + plot_w + 6, top + 10, line_label(top_line), size=10, fill=ACCENT_2)
        )
    return _svg(name, title, width, height, "".join(parts))


def heat_map(
    name: str,
    title: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: Sequence[Sequence[float | None]],
    *,
    row_notes: Sequence[str] = (),
) -> str:
    """A grid of shares (0..1); None draws an empty cell (not observable yet)."""
    cell_w, cell_h, left, top, note_w = 50, 24, 80, 24, 70
    width = left + note_w + cell_w * len(column_labels) + 8
    height = top + cell_h * len(row_labels) + 8
    parts = []
    for j, label in enumerate(column_labels):
        parts.append(
            _text(
                left + note_w + j * cell_w + cell_w / 2,
                top - 8,
                label,
                size=11,
                anchor="middle",
                fill=MUTED,
            )
        )
    for i, label in enumerate(row_labels):
        y = top + i * cell_h
        parts.append(_text(left - 6, y + cell_h * 0.68, label, size=11, anchor="end"))
        if i < len(row_notes):
            parts.append(
                _text(
                    left + note_w - 8,
                    y + cell_h * 0.68,
                    row_notes[i],
                    size=11,
                    anchor="end",
                    fill=MUTED,
                )
            )
        for j, value in enumerate(cells[i]):
            x = left + note_w + j * cell_w
            if value is None:
                continue
            parts.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{_blue(value)}" rx="2"/>'
                + _text(
                    x + cell_w / 2,
                    y + cell_h * 0.68,
                    f"{value:.0%}",
                    size=11,
                    anchor="middle",
                    fill="#ffffff" if value > 0.45 else INK,
                )
            )
    return _svg(name, title, width, height, "".join(parts))


def _blue(share: float) -> str:
    """White to deep blue; a share of 1 is the deepest."""
    share = min(1.0, max(0.0, share))
    low, high = (239, 246, 255), (30, 64, 175)
    r, g, b = (round(lo + (hi - lo) * share**0.6) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _grid(left: float, top: float, w: float, h: float, *, vertical: bool = True) -> str:
    lines = []
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = top + frac * h
        lines.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        if vertical:
            x = left + frac * w
            lines.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + h}" stroke="{GRID}"/>'
            )
    return "".join(lines)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
