"""A bar chart as inline SVG: no script, no external library, readable by a screen reader."""

from __future__ import annotations

from yibao.money import fmt_yuan


def month_bars(values: dict[int, int], *, title: str) -> str:
    width, height, pad = 600, 220, 30
    top = max(values.values(), default=0) or 1
    bar_w = (width - 2 * pad) / 12
    bars = []
    for month in range(1, 13):
        v = values.get(month, 0)
        h = round((height - 2 * pad) * v / top)
        x = pad + (month - 1) * bar_w
        y = height - pad - h
        bars.append(
            f"<g><title>{month}月：{fmt_yuan(v)}元</title>"
            f'<rect x="{x + 4:.1f}" y="{y}" width="{bar_w - 8:.1f}" height="{h}" rx="3" class="bar"/>'
            f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" text-anchor="middle" class="axis">{month}</text>'
            + (
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 4}" text-anchor="middle" class="value">{v // 100}</text>'
                if v
                else ""
            )
            + "</g>"
        )
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{title}" class="chart">'
        f"<title>{title}</title>{''.join(bars)}</svg>"
    )
