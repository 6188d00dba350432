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
import networkx as nx

from bpdiagram.options import EDGE_KINDS, EdgeKind
from bpdiagram.style import FONT_FAMILY, NODE_STYLES

POINTS_PER_INCH = 72.0
ARROW_SIZE = 0.75
"""Graphviz arrowsize: dot leaves 10 pt × this between the spline end and the node for our arrowhead."""
ARROW_LENGTH = 10.0 * ARROW_SIZE



def rows(g: nx.MultiDiGraph) -> tuple[str, ...]:
    """The graph's rows, top to bottom (every model builder sets ``g.graph["rows"]``)."""
    order: tuple[str, ...] = tuple(g.graph["rows"])
    return order


@dataclass(frozen=True)
class DotEdge:
    """A model edge as written to DOT: its id, endpoints in DOT order and whether it is reversed."""

    id: str
    source: str
    target: str
    kind: EdgeKind
    reversed: bool


def node_order(g: nx.MultiDiGraph) -> list[str]:
    """Nodes sorted by row, then column, then id: the stable order of every output."""
    order = rows(g)
    return sorted(g.nodes, key=lambda n: (order.index(g.nodes[n]["row"]), g.nodes[n]["column"], n))


def edge_order(g: nx.MultiDiGraph) -> list[tuple[str, str, str]]:
    """Edge (source, target, key) triples sorted by kind, then by the order of their endpoints, then key."""
    rank = {n: i for i, n in enumerate(node_order(g))}
    return sorted(g.edges(keys=True),
                  key=lambda e: (EDGE_KINDS.index(g.edges[e]["kind"]), rank[e[0]], rank[e[1]], e[2]))


def _goes_up_or_left(g: nx.MultiDiGraph, source: str, target: str) -> bool:
    s, t = g.nodes[source], g.nodes[target]
    order = rows(g)
    rs, rt = order.index(s["row"]), order.index(t["row"])
    return rt < rs or (rt == rs and t["column"] < s["column"])


def dot_edges(g: nx.MultiDiGraph) -> list[DotEdge]:
    """Every model edge with its id and DOT direction (derivative links included; ``to_dot`` skips them)."""
    out = []
    for i, (u, v, key) in enumerate(edge_order(g)):
        rev = _goes_up_or_left(g, u, v)
        out.append(DotEdge(f"e{i}", v if rev else u, u if rev else v, g.edges[u, v, key]["kind"], rev))
    return out


def to_dot(g: nx.MultiDiGraph, sizes: dict[str, tuple[float, float]],
           edge_labels: dict[str, tuple[float, float]]) -> str:
    """DOT source for ``g``: node boxes of ``sizes`` (px), edge label boxes of ``edge_labels`` (px)."""
    d = graphviz.Digraph("bpdiagram")
    d.attr("graph", rankdir="TB", newrank="true", nodesep="0.32", ranksep="0.42", splines="spline",
           fontname=FONT_FAMILY, outputorder="edgesfirst", pad="0")
    d.attr("node", shape="box", fixedsize="true", label="", margin="0")
    d.attr("edge", arrowsize=str(ARROW_SIZE), fontname=FONT_FAMILY)
    order = node_order(g)
    for n in order:
        w, h = sizes[n]
        shape = "ellipse" if NODE_STYLES[g.nodes[n]["kind"]].shape == "ellipse" else "box"
        col = g.nodes[n]["column"]
        group = f"c{int(col)}" if float(col).is_integer() else None
        attrs = {"width": f"{w / POINTS_PER_INCH:.4f}", "height": f"{h / POINTS_PER_INCH:.4f}", "shape": shape}
        if group:
            attrs["group"] = group
        d.node(n, **attrs)
    members_of: dict[str, list[str]] = {r: [] for r in rows(g)}
    for n in order:
        members_of[g.nodes[n]["row"]].append(n)
    firsts = []
    for row in rows(g):
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
    for e in dot_edges(g):
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
        flat = g.nodes[e.source]["row"] == g.nodes[e.target]["row"]
        tail = e.target if e.reversed else e.source
        # the output's first gradient is drawn straight by the layout: a label node would push it aside
        seed = kind == "backward" and g.nodes[tail]["band"] == "forward"
        if seed:
            attrs["weight"] = "8"
        if e.id in edge_labels and not flat and not seed:  # dot loses labelled flat edges; the layout labels them
            w, h = edge_labels[e.id]
            # a blank label of the right size: dot reserves the room, we draw the text
            attrs["label"] = "<<table border='0' cellpadding='0' cellspacing='0'><tr><td fixedsize='true' " \
                f"width='{w:.0f}' height='{h:.0f}'></td></tr></table>>"
        d.edge(e.source, e.target, **attrs)
    source: str = d.source
    return source
