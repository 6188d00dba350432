"""Hand-made scenes for tests that must not depend on graphviz's choices: boxes and routes placed by hand."""

from __future__ import annotations

from bpdiagram.layout.crossings import find_crossings, plan_jumps
from bpdiagram.layout.geometry import straight
from bpdiagram.layout.scene import BandRect, EdgeRoute, NodeBox, Point, Scene
from bpdiagram.layout.text import layout_text
from bpdiagram.options import Band, EdgeKind, JumpStyle, NodeKind
from bpdiagram.style import FONT_SIZE


def box(node_id: str, x: float, y: float, w: float = 40.0, h: float = 30.0, *, kind: NodeKind = "op",
        band: Band = "forward", label: str = "") -> NodeBox:
    """A node at (x, y) of size w × h whose label is ``label`` (default: its id)."""
    text = layout_text(label or node_id, FONT_SIZE)
    return NodeBox(node_id, kind, band, 1, label or node_id, label or node_id, x, y, w, h, text)


def line(edge_id: str, source: str, target: str, a: Point, b: Point, *, kind: EdgeKind = "forward",
         head: bool = False) -> EdgeRoute:
    """A straight edge from ``a`` to ``b``; with ``head`` the path stops 7.5 px short and ``b`` is the tip."""
    if head:
        length = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        base = (b[0] - (b[0] - a[0]) * 7.5 / length, b[1] - (b[1] - a[1]) * 7.5 / length)
        return EdgeRoute(edge_id, source, target, kind, "", "", straight(a, base), b, None, None)
    return EdgeRoute(edge_id, source, target, kind, "", "", straight(a, b), None, None, None)


def curve(edge_id: str, source: str, target: str, points: tuple[Point, ...], *,
          kind: EdgeKind = "forward") -> EdgeRoute:
    """An edge along the Bézier chain ``points``."""
    return EdgeRoute(edge_id, source, target, kind, "", "", points, None, None, None)


def scene(nodes: list[NodeBox], edges: list[EdgeRoute], *, jumps: JumpStyle = "arc") -> Scene:
    """A scene of ``nodes`` and ``edges`` with crossings and jumps computed as the layout computes them."""
    crossings = find_crossings(edges, nodes)
    return Scene("", layout_text("", FONT_SIZE), 400.0, 300.0, (BandRect("forward", 0.0, 300.0),), tuple(nodes),
                 tuple(edges), (), (0.0, 0.0, 0.0, 0.0), crossings, plan_jumps(edges, crossings), jumps)


def plus(jumps: JumpStyle = "arc") -> Scene:
    """A horizontal edge W→E crossing a vertical edge N→S once, in the middle, clear of every node."""
    nodes = [box("W", 10, 135), box("E", 250, 135), box("N", 130, 10), box("S", 130, 250)]
    edges = [line("e0", "W", "E", (50, 150), (250, 150), head=True),
             line("e1", "N", "S", (150, 40), (150, 250), head=True, kind="cache")]
    return scene(nodes, edges, jumps=jumps)
