"""DOT text for a model graph: rows become ranks, columns become an order.

Graphviz never sees labels: every node is a fixed-size box of the size our
own text metrics give, so graphviz positions and routes while bpdiagram keeps
control of the text. Edges that run against dot's top-to-bottom rank order
(params feeding up into ops, updates going up, gradients flowing right to
left) are written reversed with ``dir=back``; the layout reads them back in
the model's direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import graphviz

from bpdiagram.layout.geometry import ARROW_LENGTH
from bpdiagram.model.graph import Graph
from bpdiagram.options import EdgeKind
from bpdiagram.style import FONT_FAMILY, NODE_STYLES

POINTS_PER_INCH = 72.0
ARROW_SIZE = ARROW_LENGTH / 10.0
"""Graphviz arrowsize: dot leaves 10 pt × this between the spline end and the node, room for our arrowhead."""


@dataclass(frozen=True)
class DotEdge:
    """A model edge as written to DOT: its id, endpoints in DOT order and whether it is reversed."""

    id: str
    source: str
    target: str
    kind: EdgeKind
    reversed: bool


def _goes_up_or_left(g: Graph, source: str, target: str) -> bool:
    s, t = g.node(source), g.node(target)
    rs, rt = g.rows.index(s.row), g.rows.index(t.row)
    return rt < rs or (rt == rs and t.column < s.column)


def dot_edges(g: Graph) -> list[DotEdge]:
    """Every model edge with its id and DOT direction (derivative links included; ``to_dot`` skips them)."""
    out = []
    for i, (u, v, key) in enumerate(g.edge_order()):
        rev = _goes_up_or_left(g, u, v)
        out.append(DotEdge(f"e{i}", v if rev else u, u if rev else v, g.edge((u, v, key)).kind, rev))
    return out


def to_dot(g: Graph, sizes: dict[str, tuple[float, float]], edge_labels: dict[str, tuple[float, float]]) -> str:
    """DOT source for ``g``: node boxes of ``sizes`` (px), edge label boxes of ``edge_labels`` (px)."""
    d = graphviz.Digraph("bpdiagram")
    d.attr("graph", rankdir="TB", newrank="true", nodesep="0.32", ranksep="0.42", splines="spline",
           fontname=FONT_FAMILY, outputorder="edgesfirst", pad="0")
    d.attr("node", shape="box", fixedsize="true", label="", margin="0")
    d.attr("edge", arrowsize=str(ARROW_SIZE), fontname=FONT_FAMILY)
    order = g.node_order()
    _nodes(d, g, order, sizes)
    _rows(d, g, order)
    for e in dot_edges(g):
        d.edge(e.source, e.target, **_edge_attrs(g, e, edge_labels))
    source: str = d.source
    return source


def _nodes(d: graphviz.Digraph, g: Graph, order: list[str], sizes: dict[str, tuple[float, float]]) -> None:
    """Every node a fixed-size box (or ellipse) of our measured size; whole columns share a ``group``."""
    for n in order:
        w, h = sizes[n]
        node = g.node(n)
        shape = "ellipse" if NODE_STYLES[node.kind].shape == "ellipse" else "box"
        group = f"c{int(node.column)}" if float(node.column).is_integer() else None
        attrs = {"width": f"{w / POINTS_PER_INCH:.4f}", "height": f"{h / POINTS_PER_INCH:.4f}", "shape": shape}
        if group:
            attrs["group"] = group
        d.node(n, **attrs)


def _rows(d: graphviz.Digraph, g: Graph, order: list[str]) -> None:
    """One rank per row, its nodes chained left to right and the rows' first nodes top to bottom (invisibly)."""
    members_of: dict[str, list[str]] = {r: [] for r in g.rows}
    for n in order:
        members_of[g.node(n).row].append(n)
    firsts = []
    for row in g.rows:
        members = members_of[row]
        if not members:
            continue
        firsts.append(members[0])
        with d.subgraph() as s:
            s.attr(rank="same")
            for n in members:
                s.node(n)
        for a, b in pairwise(members):
            d.edge(a, b, style="invis", weight="0")
    for a, b in pairwise(firsts):
        d.edge(a, b, style="invis", weight="0")


def _edge_attrs(g: Graph, e: DotEdge, edge_labels: dict[str, tuple[float, float]]) -> dict[str, str]:
    """An edge's DOT attributes: direction, weight by kind, and a blank label box of the label's size."""
    attrs = {"id": e.id}
    kind = e.kind
    if kind == "derivative":
        # the layout draws a straight link when one fits; dot's route is the fallback
        attrs.update(constraint="false", dir="none")
    elif e.reversed:
        attrs["dir"] = "back"
    if kind in ("cache", "update"):
        attrs["weight"] = "4"
    if kind == "forward":
        attrs["weight"] = "3"
    flat = g.node(e.source).row == g.node(e.target).row
    tail = e.target if e.reversed else e.source
    # the output's first gradient is drawn straight by the layout: a label node would push it aside
    seed = kind == "backward" and g.node(tail).band == "forward"
    if seed:
        attrs["weight"] = "8"
    if e.id in edge_labels and not flat and not seed:  # dot loses labelled flat edges; the layout labels them
        w, h = edge_labels[e.id]
        # a blank label of the right size: dot reserves the room, we draw the text
        attrs["label"] = "<<table border='0' cellpadding='0' cellspacing='0'><tr><td fixedsize='true' " \
            f"width='{w:.0f}' height='{h:.0f}'></td></tr></table>>"
    return attrs
