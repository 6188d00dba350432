"""What a laid-out scene can carry beyond nodes and edges: band titles with figures, the gradient-flow strip.

Both are read off the model (``Graph.band_titles``, ``Graph.gradient_flow``)
after the layout has placed every node, so they
never move a node: the strip is added under the backward band and the legend
moves down to make room.

The strip shows ‖dW[l]‖_F of every layer on a log scale: vanishing gradients
are bars that shrink decade by decade towards the input, exploding ones bars
that grow. Each bar stands under its layer's backward op (the node that
computes dW[l]), so the picture above says which op the bar measures; in a
picture drawn in tiers the bars stand in a row of their own, each named.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from bpdiagram.layout.scene import FlowBar, FlowLimit, FlowStrip, NodeBox, Scene
from bpdiagram.layout.text import layout_text
from bpdiagram.model.graph import Graph
from bpdiagram.model.precision import percent, power_text
from bpdiagram.richtext import escape, plain
from bpdiagram.style import SMALL_SIZE

STRIP_GAP = 10.0
"""Space between the backward band and the strip, and between the strip and the legend."""
DECADE = 6.0
"""Height of one decade on the strip's log scale. It is the same in every picture, so two pictures side by
side (small random weights against Xavier's) compare by eye: a steep fall is many decades, wherever it is."""
MIN_DECADES = 10
"""Decades the axis spans at least: gradients within one or two decades of each other read as even bars."""
TICK_PITCH = 18.0
"""Least distance between two decades marked on the axis, so their labels never touch."""
BAR_WIDTH = 26.0
BAR_PITCH = 64.0
"""Distance between bars standing in a row of their own (a picture in tiers)."""
CAPTION = "gradient flow: ‖dW[l]‖ per layer, log scale"
CAPTION_SCALED = "gradient flow: ‖S·dW[l]‖ per layer, log scale"
AXIS_X = 54.0
"""x of the strip's axis: just left of the nodes, right of the band titles' gutter."""


def annotate(scene: Scene, graph: Graph) -> Scene:
    """``scene`` with the band titles and the gradient-flow strip the model asks for."""
    titles = graph.band_titles
    if titles:
        scene = dataclasses.replace(scene, bands=tuple(
            dataclasses.replace(b, title=titles[b.band]) if b.band in titles else b for b in scene.bands))
    alerts = {n.id for n in graph.nodes.values() if n.alert}
    if alerts:
        scene = dataclasses.replace(scene, nodes=tuple(dataclasses.replace(n, alert=True) if n.id in alerts else n
                                                       for n in scene.nodes))
    flow = graph.gradient_flow
    if flow:
        scene = with_flow_strip(scene, flow, graph.flow_limits, graph.flow_lost)
    return scene


def with_flow_strip(scene: Scene, norms: Sequence[tuple[int, float, str | None]],
                    limits: tuple[str, float, float, float] | None = None,
                    lost: Mapping[int, float] | None = None) -> Scene:
    """Add the strip of bars for ``norms`` — (layer, ‖dW[l]‖, the node computing dW[l] or None) — under the bands.

    The log scale runs from the decade above the largest norm (rounded up)
    down to a decade below the smallest (rounded down), and over at least
    ``MIN_DECADES``, at ``DECADE`` px a decade: the smallest bar still has a
    height, and a difference in height reads as the same number of decades in
    every picture. Under mixed precision (``limits``: the format, its smallest subnormal, its largest
    finite value, S) the bars are the scaled norms ‖S·dW[l]‖ and the scale reaches both ends of the
    format's range, where a line is drawn.
    """
    bottom = max((b.y + b.h for b in scene.bands), default=scene.legend_box[1] - 14)
    y0 = bottom + STRIP_GAP
    caption = layout_text(escape(CAPTION), SMALL_SIZE)
    label_h = layout_text("0", SMALL_SIZE).height
    finite = [v for _, v, _ in norms if math.isfinite(v) and v > 0]
    ends = [limits[1], limits[2]] if limits is not None else []
    hi = math.ceil(math.log10(max(finite + ends))) if finite or ends else 0
    lo = min(math.floor(math.log10(min(finite + ends))) - 1 if finite or ends else hi, hi - MIN_DECADES)
    top = y0 + caption.height + 4 + label_h + 2
    baseline = top + (hi - lo) * DECADE
    lost = lost or {}
    bars = tuple(_bar(scene.nodes, layer, value, anchor, lo, lost.get(layer, 0.0)) for layer, value, anchor in norms)
    if len({n.tier for n in scene.nodes}) > 1:
        # in tiers the layers' ops stand above one another, so the bars stand in a row of their own, named
        bars = tuple(dataclasses.replace(bar, x=round(AXIS_X + BAR_PITCH * (i + 0.75), 2),
                                         caption=layout_text(f"layer {bar.layer}", SMALL_SIZE))
                     for i, bar in enumerate(bars))
    ticks = tuple((round(baseline - (d - lo) * DECADE, 2), layout_text(f"1e{d}", SMALL_SIZE))
                  for d in _decades(lo, hi))
    below = max((bar.caption.height + 2 for bar in bars if bar.caption is not None), default=0.0)
    lines: tuple[FlowLimit, ...] = ()
    if limits is not None:
        name, tiny, largest, s = limits
        lines = tuple(FlowLimit(kind, round(baseline - (math.log10(v) - lo) * DECADE, 2), v,
                                layout_text(escape(f"{name} {kind} {'<' if kind == 'underflow' else '>'} {v:.3g}"),
                                            SMALL_SIZE))
                      for kind, v in (("underflow", tiny), ("overflow", largest)))
        caption = layout_text(escape(f"{CAPTION_SCALED} (S = {plain(power_text(s))})") + "\n"
                              + escape(f"dashed: {name}'s range; red: a layer losing entries"), SMALL_SIZE)
    strip = FlowStrip(round(y0, 2), round(baseline + 4 + below - y0, 2), round(baseline, 2), BAR_WIDTH, bars,
                      ticks, caption, lines)
    shift = strip.h + STRIP_GAP
    x0, ly, lw, lh = scene.legend_box
    legend = tuple(dataclasses.replace(e, start=(e.start[0], e.start[1] + shift), end=(e.end[0], e.end[1] + shift),
                                       text_at=(e.text_at[0], e.text_at[1] + shift)) for e in scene.legend)
    return dataclasses.replace(scene, flow=strip, legend=legend, legend_box=(x0, round(ly + shift, 2), lw, lh),
                               height=round(scene.height + shift, 2))


def _bar(nodes: Sequence[NodeBox], layer: int, value: float, anchor: str | None, lo: int,
         lost: float = 0.0) -> FlowBar:
    """One bar under ``anchor`` (else under the middle of the layer's backward nodes).

    A bar whose dW[l] loses entries to a 16-bit format (``lost``, a share) says how many in its label:
    the norm is the largest entries' size, so a bar above the underflow line can still lose most of them.
    """
    under = [n for n in nodes if n.id == anchor] or [n for n in nodes if n.band == "backward" and n.layer == layer]
    x = sum(n.center[0] for n in under) / len(under) if under else AXIS_X + BAR_WIDTH * layer
    broken = not (math.isfinite(value) and value > 0)
    h = 0.0 if broken else max(2.0, (math.log10(value) - lo) * DECADE)
    text = _short(value) + (f"\n{percent(lost)} lost" if lost else "")
    return FlowBar(layer, round(x, 2), round(h, 2), value, layout_text(escape(text), SMALL_SIZE), broken,
                   lost=lost)


def _short(value: float) -> str:
    """A norm for the label over its bar: two significant digits, ``0``, ``inf`` or ``nan``.

    >>> _short(3.14159e-5), _short(0.0), _short(12.5), _short(float("inf"))
    ('3.1e-05', '0', '12', 'inf')
    """
    if value == 0:
        return "0"
    return f"{value:.2g}"


def _decades(lo: int, hi: int) -> list[int]:
    """The decades marked on the axis: every one when they stand far enough apart, else every k-th.

    The top decade is always marked; the others step down from it.

    >>> _decades(-10, 0), _decades(-24, -3)
    ([-9, -6, -3, 0], [-24, -21, -18, -15, -12, -9, -6, -3])
    """
    step = max(1, math.ceil(TICK_PITCH / DECADE))
    return list(range(hi, lo - 1, -step))[::-1]

