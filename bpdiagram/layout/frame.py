"""The frame around laid-out nodes and lines: the title, the band strips, the legend, the canvas size.

Every layout (graphviz's, the mirror's, the grid's) ends here, and the
stacked tiers use the same title block and legend, so every picture has
the same margins, the same wrapped title and the same legend, whichever way
its nodes were placed.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpdiagram.layout.crossings import plan_jumps
from bpdiagram.layout.scene import BandRect, Crossing, EdgeRoute, LegendEntry, NodeBox, Scene
from bpdiagram.layout.text import TextBlock, layout_text, wrap_words
from bpdiagram.options import BANDS, EDGE_KINDS, Band, EdgeKind, JumpStyle
from bpdiagram.style import EDGE_STYLES, SMALL_SIZE, TITLE_SIZE

MARGIN = 16.0
GUTTER = 30.0
"""Room on the left for the band titles, written upwards."""
BAND_PAD = 12.0
LEGEND_ROW = 24.0
MIN_WIDTH = 560.0
LEFT = MARGIN + GUTTER + BAND_PAD
"""Where the content starts: the margin, the band titles' gutter and the band's own padding."""


def title_block(title: str, width: float) -> TextBlock:
    """The title of a picture ``width`` px wide: whole, in as many lines as it needs (wrapped between words)."""
    return layout_text(wrap_words(title, TITLE_SIZE, width - 2 * MARGIN, bold=True), TITLE_SIZE, cut=False, bold=True)


def title_height(title: str, title_text: TextBlock) -> float:
    """The height the title takes above the content (none without a title)."""
    return title_text.height + 12 if title else 0.0


def finish(title: str, title_text: TextBlock, nodes: list[NodeBox], routes: list[EdgeRoute],
           crossings: tuple[Crossing, ...], *, right: float, jump_style: JumpStyle) -> Scene:
    """The scene around laid-out nodes and routes: jumps, band strips, the legend below, the canvas size."""
    bands = _bands(nodes)
    content_bottom = max(b.y + b.h for b in bands)
    content_width = max(right + BAND_PAD + MARGIN, MIN_WIDTH)
    width = max(content_width, title_text.width + 2 * MARGIN)
    legend, box, height = legend_below(routes, content_bottom, width)
    return Scene(title, title_text, round(width, 2), round(height, 2), bands, tuple(nodes), tuple(routes),
                 legend, box, crossings, plan_jumps(routes, [c for c in crossings if c.needs_jump]), jump_style)


def legend_below(routes: Sequence[EdgeRoute], content_bottom: float,
                 width: float) -> tuple[tuple[LegendEntry, ...], tuple[float, float, float, float], float]:
    """The legend of the edge kinds drawn, under the content of a picture ``width`` px wide, and its height."""
    kinds = [k for k in EDGE_KINDS if any(r.kind == k for r in routes)]
    legend, box = place_legend(kinds, LEFT - BAND_PAD, content_bottom + 14, width - MARGIN)
    return legend, box, box[1] + box[3] + MARGIN


def place_legend(kinds: list[EdgeKind], x0: float, y0: float,
                 right: float) -> tuple[tuple[LegendEntry, ...], tuple[float, float, float, float]]:
    """Legend entries in rows that fit between ``x0`` and ``right``: sample line, then name and meaning."""
    entries: list[LegendEntry] = []
    sample, gap, pad = 38.0, 22.0, 10.0
    x, y = x0 + pad, y0 + pad
    row_h = LEGEND_ROW
    widest = 0.0
    for kind in kinds:
        text = layout_text(f"{kind}: {EDGE_STYLES[kind].meaning}", SMALL_SIZE)
        need = sample + 8 + text.width
        if x > x0 + pad and x + need > right - pad:
            x, y = x0 + pad, y + row_h
        mid = y + row_h / 2
        entries.append(LegendEntry(kind, (x, mid), (x + sample, mid), (x + sample + 8, mid), text))
        x += need + gap
        widest = max(widest, x - gap)
    h = (y - y0) + row_h + pad if entries else 0.0
    return tuple(entries), (x0, y0, round(widest + pad - x0, 2), round(h, 2))


def _bands(nodes: list[NodeBox]) -> tuple[BandRect, ...]:
    """One strip per band present, from its top node to its bottom one, meeting its neighbours halfway."""
    extents: dict[Band, tuple[float, float]] = {}
    for n in nodes:
        lo, hi = extents.get(n.band, (n.y, n.y + n.h))
        extents[n.band] = (min(lo, n.y), max(hi, n.y + n.h))
    present = [b for b in BANDS if b in extents]
    out = []
    for i, band in enumerate(present):
        lo, hi = extents[band]
        top = lo - BAND_PAD if i == 0 else (extents[present[i - 1]][1] + lo) / 2
        bottom = hi + BAND_PAD if i == len(present) - 1 else (hi + extents[present[i + 1]][0]) / 2
        out.append(BandRect(band, round(top, 2), round(bottom - top, 2)))
    return tuple(out)
