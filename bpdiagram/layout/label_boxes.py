"""Every label of a model measured: the boxes nodes need around their text, and the edges' label blocks.

bpdiagram sizes every box itself from DejaVu Sans metrics (``layout.text``)
before anything is placed, so graphviz, the mirror and the grid all place
boxes of the same size, and no label spills out of its node in any format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bpdiagram.layout.text import TextBlock, layout_text
from bpdiagram.model.graph import EdgeKey, Graph
from bpdiagram.options import NodeKind
from bpdiagram.style import FONT_SIZE, NODE_STYLES, PAD_X, PAD_Y, SMALL_SIZE

ELLIPSE_STRETCH = 1.25
"""An ellipse's box must be wider and taller than its text block to contain it."""


def node_size(kind: NodeKind, text: TextBlock) -> tuple[float, float]:
    """Box size for a node of ``kind`` around ``text``."""
    w = text.width + 2 * PAD_X
    h = text.height + 2 * PAD_Y
    if NODE_STYLES[kind].shape == "ellipse":
        # the text must fit the rectangle inscribed in the ellipse (its half-axes over √2); the snug
        # stretch already does for one short line, big blocks (a parameter's numbers) need the √2
        w = max(w * ELLIPSE_STRETCH + 4, math.sqrt(2) * (text.width + PAD_X))
        h = max(h * ELLIPSE_STRETCH, math.sqrt(2) * (text.height + PAD_Y))
    return (round(max(w, 40.0), 1), round(max(h, 30.0), 1))


@dataclass(frozen=True)
class Labels:
    """Every label of a graph measured, with the edges in output order and their ids (``e0``, ``e1`` …)."""

    texts: dict[str, TextBlock]
    """Each node's label, laid out."""
    sizes: dict[str, tuple[float, float]]
    """Each node's box (width, height) around its label."""
    order: list[EdgeKey]
    """The edges in output order (``Graph.edge_order``)."""
    ids: dict[EdgeKey, str]
    """Each edge's id in every output."""
    edge_texts: dict[EdgeKey, TextBlock]
    """The label of every edge that has one, laid out in the small size."""


def measure_labels(g: Graph) -> Labels:
    """Every node's and edge's label of ``g`` laid out, and the boxes the nodes need."""
    texts = {n.id: layout_text(n.label, FONT_SIZE) for n in g}
    order = g.edge_order()
    return Labels(texts, {n.id: node_size(n.kind, texts[n.id]) for n in g}, order,
                  {e: f"e{i}" for i, e in enumerate(order)},
                  {e: layout_text(g.edge(e).label, SMALL_SIZE) for e in order if g.edge(e).label})
