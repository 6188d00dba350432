"""The element-wise grid's lines: which edges run straight, which run in a lane, and the points of each.

An edge between neighbouring columns (a weight of a fan, z_j → a_j, a
parameter up into its linear step) is a straight line. Every other edge runs
in a lane, a vertical run at one x: it leaves its source sideways (or out of
a kept value's bottom, down the value's bus) and enters its target sideways,
from below turning up (an update, so it arrives pointing at the parameter),
or into a kept value's top. This module names each edge's lane; where the
lanes stand is ``layout.grid``'s business, and once boxes and lanes have
their coordinates this module draws every route.

Lane names say what runs there: ``update.l.j`` and ``ztie.l.j``
(dw_j → w_j and z_j → dw_j, one per unit), ``atie.l.j`` (a_j → dz_j),
``bus.<kept>`` (the values gathering into a kept vector, and that vector
read down the same lane), ``read.<kept>`` (a kept vector read across a
weight fan), and right of the loss ``y-loss``, ``gradient`` and ``loss-tie``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from bpdiagram.layout.geometry import ARROW_LENGTH, Side, ellipse_x, polyline
from bpdiagram.layout.orthogonal import allocate_taps, lead_in, rounded, side_y
from bpdiagram.layout.scene import EdgeRoute, NodeBox, Point
from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import Edge, EdgeKey, Graph
from bpdiagram.richtext import plain
from bpdiagram.style import NODE_STYLES

__all__ = ["Line", "draw_routes", "plan_lines", "role"]

JOG = 9.0
"""How far under a parameter an update turns to arrive pointing up."""
SQUARE = ("bus.", "read.", "gradient", "loss-tie")
"""Lanes that several edges share: their corners stay square, so a line branching off the shared run only
touches it."""

@dataclass
class Line:
    """An edge's route through one lane: the side it leaves by, the lane, the side it enters by."""

    start: tuple[str, Side]
    lane: str
    end: tuple[str, Side]
    jog: bool = False
    """Turn under the target and arrive pointing up (updates)."""


def role(graph: Graph, node_id: str) -> tuple[str, int, int]:
    """(what, layer, unit) of a unit node (``("z", 2, 3)`` for z_3[2]); (its id, 0, 0) for any other node."""
    node = graph.node(node_id)
    if node.unit is None:
        return (node_id, 0, 0)
    return (node.unit[0], node.layer, node.unit[1])


def plan_lines(graph: Graph, edges: Iterable[Edge]) -> tuple[dict[EdgeKey, Line], list[EdgeKey]]:
    """The lane of every edge that runs in one, and (in order) the edges drawn straight."""
    lines: dict[EdgeKey, Line] = {}
    straight: list[EdgeKey] = []
    for e in edges:
        line = _line_of(graph, e)
        if line is None:
            straight.append(e.ends)
        else:
            lines[e.ends] = line
    return lines, straight


def _line_of(graph: Graph, e: Edge) -> Line | None:
    """The lane ``e`` runs in, or None when it is a straight line."""
    u, v = e.source, e.target
    if e.kind in ("forward", "backward"):
        return _loss_line(graph, e)
    if e.kind == "update":
        _, layer, unit = role(graph, u)
        return Line((u, "right"), f"update.{layer}.{unit}", (v, "bottom"), jog=True)
    if e.kind == "derivative":
        return _tie_line(graph, u, v)
    if graph.node(v).band == "cache":  # a value into its kept copy, on the copy's bus
        side: Side = "left" if role(graph, u)[0] in ("input", "a") else "right"
        return Line((u, side), f"bus.{v}", (v, "top"))
    return _read_line(graph, u, v)


def _loss_line(graph: Graph, e: Edge) -> Line | None:
    """Forward and backward edges are straight, but for the targets into the loss and its gradient.

    The first target stands under the loss and goes straight up into it;
    the others come up a lane right of the loss, as the loss's gradient
    comes down one into dz[L].
    """
    u, v = e.source, e.target
    if u != "loss" and not (role(graph, u)[0] == "target" and v == "loss"):
        return None
    if e.kind == "backward":
        return Line(("loss", "right"), "gradient", (v, "right"))
    if role(graph, u)[2] == 1:
        return None
    return Line((u, "right"), "y-loss", ("loss", "right"))


def _tie_line(graph: Graph, u: str, v: str) -> Line:
    """A derivative tie from a forward op down to the backward op in its column.

    z_j's tie leaves and enters on the right, a_j's on the left: both stay
    in the gap between the layer's z and a columns.
    """
    if u == "loss":
        return Line(("loss", "right"), "loss-tie", (v, "right"))
    op, layer, unit = role(graph, u)
    if op == "z":
        return Line((u, "right"), f"ztie.{layer}.{unit}", (v, "right"))
    return Line((u, "left"), f"atie.{layer}.{unit}", (v, "left"))


def _read_line(graph: Graph, u: str, v: str) -> Line:
    """A kept value into a backward op that reads it.

    a[l−1] read by dw[l] and the weights read by dz[l−1] cross a weight fan,
    each in a lane of its own beside the column it enters; the others come
    down their own bus.
    """
    if u.startswith(("cache.a", "cache.input")) and role(graph, v)[0] == "dw":
        return Line((u, "right"), f"read.{u}", (v, "left"))
    if u.startswith("cache.w"):
        return Line((u, "left"), f"read.{u}", (v, "right"))
    if u == "cache.target":
        return Line((u, "bottom"), f"bus.{u}", (v, "right"))
    return Line((u, "bottom"), f"bus.{u}", (v, "left"))  # cache.a or cache.z into dz of its own layer


def draw_routes(graph: Graph, boxes: dict[str, NodeBox], lines: dict[EdgeKey, Line], straight: list[EdgeKey],
                lane_x: dict[str, float], edge_texts: dict[EdgeKey, TextBlock],
                edge_ids: dict[EdgeKey, str]) -> dict[EdgeKey, EdgeRoute]:
    """Every edge's route, once the boxes stand and each lane has its x: the straight ones, then the lanes."""
    return _Routes(graph, boxes, lines, lane_x, edge_texts, edge_ids).draw(straight)


@dataclass
class _Routes:
    """What drawing a route needs to know, shared by the straight edges and the ones in lanes."""

    graph: Graph
    boxes: dict[str, NodeBox]
    lines: dict[EdgeKey, Line]
    lane_x: dict[str, float]
    edge_texts: dict[EdgeKey, TextBlock]
    edge_ids: dict[EdgeKey, str]
    routes: dict[EdgeKey, EdgeRoute] = field(default_factory=dict)

    def draw(self, straight: list[EdgeKey]) -> dict[EdgeKey, EdgeRoute]:
        lane_of = {e: (self.lane_x[line.lane], line.start[1], line.end[1]) for e, line in self.lines.items()}
        tap_y = allocate_taps(self.boxes, lane_of, straight)
        for e in straight:
            self._straight(e)
        for e, line in self.lines.items():
            self._in_lane(e, line, tap_y)
        return self.routes

    def _straight(self, e: EdgeKey) -> None:
        """Straight up within a column (w → z, y → J), else sideways between facing sides."""
        u, v, _ = e
        bu, bv = self.boxes[u], self.boxes[v]
        head = self.graph.edge(e).kind != "derivative"
        if self.graph.node(u).column == self.graph.node(v).column:
            cx = bv.center[0]
            self._put(e, [(cx, side_y(bu, "top", cx)), (cx, side_y(bv, "bottom", cx))], head)
        elif bv.x > bu.x:
            self._put(e, [(_side(bu, "right", bu.center[1]), bu.center[1]),
                          (_side(bv, "left", bv.center[1]), bv.center[1])], head)
        else:
            self._put(e, [(_side(bu, "left", bu.center[1]), bu.center[1]),
                          (_side(bv, "right", bv.center[1]), bv.center[1])], head)

    def _in_lane(self, e: EdgeKey, line: Line, tap_y: dict[tuple[str, str, float], float]) -> None:
        u, v, _ = e
        bu, bv = self.boxes[u], self.boxes[v]
        lx = self.lane_x[line.lane]
        pts = _lane_points(line, bu, bv, lx, tap_y)
        label_at = None
        text = self.edge_texts.get(e)
        if text is not None and line.jog:  # on the turn under the parameter, where nothing else runs
            label_at = ((lx + bv.center[0]) / 2, bv.y + bv.h + JOG)
        elif text is not None:  # beside the lane, halfway down its run
            label_at = (lx + 4 + text.width / 2, (pts[1][1] + pts[-3][1]) / 2 if len(pts) >= 4 else pts[0][1])
        self._put(e, pts, self.graph.edge(e).kind != "derivative", label_at)

    def _put(self, e: EdgeKey, corners: list[Point], head: bool, label_at: Point | None = None) -> None:
        """The route through ``corners``: corners square or rounded, the arrow's room cut off, the label placed."""
        edge = self.graph.edge(e)
        text = self.edge_texts.get(e)
        line = self.lines.get(e)
        if line is not None and line.lane.startswith(SQUARE):
            pts = polyline(_shorten(_dedupe(corners), ARROW_LENGTH if head else 0.0))
        else:
            pts = rounded(_dedupe(corners), shorten=ARROW_LENGTH if head else 0.0)
        if line is not None and line.end[1] == "top" and line.start[1] in ("left", "right"):
            # a bus gathering into a kept value: the dashes of its lines in phase where they overlap
            pts = lead_in(pts, edge.kind, into=1.0 if line.start[1] == "left" else -1.0)
        tip = corners[-1] if head else None
        at = label_at if text is not None else None
        if text is not None and at is None:
            a, b = corners[len(corners) // 2 - 1], corners[len(corners) // 2]
            at = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        self.routes[e] = EdgeRoute(self.edge_ids[e], e[0], e[1], edge.kind, edge.label, plain(edge.label), pts,
                                   _r(tip) if tip else None, _r(at) if at else None, text)


def _lane_points(line: Line, bu: NodeBox, bv: NodeBox, lx: float,
                 tap_y: dict[tuple[str, str, float], float]) -> list[Point]:
    """The corners of a route down the lane at ``lx``, from its source box ``bu`` into ``bv``."""
    (u, s0), (v, s1) = line.start, line.end
    pts: list[Point] = []
    if s0 in ("left", "right"):
        ty = tap_y.get((u, s0, lx), bu.center[1])
        pts += [(_side(bu, s0, ty), ty), (lx, ty)]
    else:  # out of a kept value's bottom, on its bus
        pts.append((lx, bu.y + bu.h))
    if s1 in ("left", "right"):
        ty = tap_y.get((v, s1, lx), bv.center[1])
        pts += [(lx, ty), (_side(bv, s1, ty), ty)]
    elif line.jog:  # under the parameter, then up into it
        cx = bv.center[0]
        below = bv.y + bv.h + JOG
        pts += [(lx, below), (cx, below), (cx, side_y(bv, "bottom", cx))]
    else:  # into a kept value's top
        pts.append((lx, bv.y))
    return pts


def _shorten(points: list[Point], by: float) -> list[Point]:
    """``points`` with the last segment ``by`` px shorter (room for the arrow head)."""
    (ax, ay), (bx, by_) = points[-2], points[-1]
    length = math.hypot(bx - ax, by_ - ay) or 1.0
    cut = min(by, length * 0.8)
    return [*points[:-1], (bx - (bx - ax) * cut / length, by_ - (by_ - ay) * cut / length)]


def _side(box: NodeBox, side: str, y: float) -> float:
    """x where a horizontal line at ``y`` meets the left or right of the box (its outline, for an ellipse)."""
    if NODE_STYLES[box.kind].shape == "ellipse":
        return ellipse_x(box.center, (box.w, box.h), side, y)
    return box.x if side == "left" else box.x + box.w


def _dedupe(points: list[Point]) -> list[Point]:
    """``points`` rounded, without a corner repeated (a lane that starts where its tap ends)."""
    out = [_r(points[0])]
    for p in points[1:]:
        if abs(p[0] - out[-1][0]) > 0.01 or abs(p[1] - out[-1][1]) > 0.01:
            out.append(_r(p))
    return out


def _r(p: Point) -> Point:
    return (round(p[0], 2), round(p[1], 2))
