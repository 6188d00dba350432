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

from bpdiagram.layout.lanes import corridor_width, routed
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


def grid_node(row: str, column: float) -> str:
    """Name of the invisible member that holds ``column`` in ``row`` of a grid."""
    return f"grid.{row}.{column:g}"


def _grid(d: graphviz.Digraph, g: nx.MultiDiGraph, members_of: dict[str, list[str]]) -> None:
    """Make a grid graph's columns straight lines through every row (``g.graph["grid"]``).

    Every integer column gets a member in every row (an invisible point where
    no node stands) and consecutive members of a column are tied by heavy
    invisible edges. Dot's ``group`` alone does not align nodes that share no
    edge, and a tie across missing rows would leave virtual nodes that dot
    may place anywhere. The graph's corridors (``g.graph["corridors"]``,
    column → (lanes, room beside them)) are held open the same way, by members as
    wide as their lanes need: the layout routes those lanes itself, and dot,
    never seeing them, would close the gap.
    """
    if not g.graph.get("grid"):
        return
    corridors: dict[float, tuple[int, float]] = g.graph.get("corridors", {})
    columns = sorted({c for _, c in g.nodes(data="column") if float(c).is_integer()} | set(corridors))
    order = rows(g)
    previous: dict[float, str] = {}
    for row in order:
        members = members_of[row]
        here = {g.nodes[m]["column"]: m for m in members if float(g.nodes[m]["column"]).is_integer()}
        for column in columns:
            member = here.get(column)
            if member is None:
                member = grid_node(row, column)
                attrs = {"shape": "point", "style": "invis", "width": "0.01", "height": "0.01",
                         "group": f"c{int(column)}"}
                if column in corridors:
                    width = corridor_width(*corridors[column])
                    attrs.update(shape="box", width=f"{width / POINTS_PER_INCH:.4f}")
                d.node(member, **attrs)
                at = next((i for i, m in enumerate(members) if m in g.nodes and g.nodes[m]["column"] > column),
                          len(members))
                members.insert(at, member)
            if column in previous:
                d.edge(previous[column], member, style="invis", weight="100")
            previous[column] = member


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
    _grid(d, g, members_of)
    # dot places a row by its real edges and treats weightless order edges as hints; a grid whose
    # edges dot never sees (routed by name) needs them to count
    order_weight = str(g.graph.get("order_weight", 0))
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
            d.edge(a, b, style="invis", weight=order_weight)
    for a, b in pairwise(firsts):
        d.edge(a, b, style="invis", weight="0")
    for e, (u, v, key) in zip(dot_edges(g), edge_order(g), strict=True):
        if routed(g, u, v, key):
            continue  # the model names this edge's route (the element-wise view's lanes): dot must not place it
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
