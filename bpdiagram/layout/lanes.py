"""Draw the routes a model asks for by name (``bpdiagram.routes``): straight lines and lanes.

A model may give an edge a ``route`` attribute; dot then never sees the edge
(it would bend it around every box on the way) and it is drawn here:
``Straight`` as a straight line between the facing sides of the two boxes,
``Lane`` as an orthogonal line that leaves the source sideways, runs along a
vertical lane and enters the target. A ``CorridorLane`` stands in a corridor
the graph declares (``g.graph["corridors"]``: column → (lanes, room beside
them); ``dot`` holds the room open), centred between the boxes either side;
a ``BesideLane`` beside one box. Edges on one lane share their vertical run,
like a bus.

Where several lanes meet one side of a box, their taps are spread along it:
lanes going up above lanes going down, the nearest lane of each group
outermost, so taps cross as few lanes as possible.

A dashed bus that gathers into one box (several edges, one lane, one
target) would look solid where its edges overlap, their dash patterns
starting at different sources. Each such edge starts with a hidden lead-in
under its source box that makes its length a whole number of dash periods,
so the patterns line up from the shared end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import networkx as nx

from bpdiagram.layout.geometry import ellipse_x, ellipse_y
from bpdiagram.layout.scene import NodeBox, Point
from bpdiagram.options import EdgeKind
from bpdiagram.routes import BesideLane, CorridorLane, Lane, Side, Straight
from bpdiagram.style import EDGE_STYLES, NODE_STYLES

LANE_PITCH = 7.0
"""Distance between neighbouring lanes, px."""
LANE_PAD = 12.0
"""Room between a corridor's outer lanes and the boxes beside it."""
TAP_MARGIN = 7.0
"""Taps keep this far from a box's corners (as far as the SVG rounds them)."""
CENTRE_GAP = 7.0
"""Taps keep this far from the middle of a side that straight edges use."""
CORNER = 4.0
"""Radius of the rounded corners of lane routes."""
TAP_GAP = 9.0
"""Least distance between two taps on one side: a box with many grows taller to keep it."""

EdgeKey = tuple[str, str, str]
"""(source, target, key) of a model edge."""
LaneRoute = tuple[tuple[Point, ...], Point | None, tuple[float, float, float] | None]
"""Bézier points, arrow tip (None without a head) and the vertical run (x, y0, y1), if any, for a label."""


def corridor_width(lanes: int, room: float) -> float:
    """Width of a corridor: ``lanes`` lanes in the middle, ``room`` px beside them for whatever crosses it."""
    return room + (2 * LANE_PAD + (lanes - 1) * LANE_PITCH if lanes else 0.0)


def routed(g: nx.MultiDiGraph, u: str, v: str, key: str) -> bool:
    """Whether the model routes this edge by name (so dot must not)."""
    return isinstance(g.edges[u, v, key].get("route"), (Straight, Lane))


def tap_heights(g: nx.MultiDiGraph) -> dict[str, float]:
    """Height each box needs so the lanes tapping one of its sides stand ``TAP_GAP`` apart.

    Known before layout: a side's taps are its distinct lanes, and straight
    edges use the middle of a side when they join different columns.
    """
    lanes: dict[tuple[str, str], set[object]] = {}
    busy: set[tuple[str, str]] = set()
    for u, v, route in g.edges(data="route"):
        if isinstance(route, Lane):
            for node, side in ((u, route.exit), (v, route.enter)):
                if side in ("left", "right"):
                    lanes.setdefault((node, side), set()).add(route.lane)
        elif isinstance(route, Straight) and g.nodes[u]["column"] != g.nodes[v]["column"]:
            forward = g.nodes[u]["column"] < g.nodes[v]["column"]
            busy.update({(u, "right" if forward else "left"), (v, "left" if forward else "right")})
    out: dict[str, float] = {}
    for (node, facing), taps in lanes.items():
        need = 2 * TAP_MARGIN + (len(taps) - 1) * TAP_GAP + (2 * CENTRE_GAP if (node, facing) in busy else 0.0)
        out[node] = max(out.get(node, 0.0), need)
    return out


def _has_head(kind: EdgeKind) -> bool:
    return EDGE_STYLES[kind].head != "none"


def _ellipse(box: NodeBox) -> bool:
    return NODE_STYLES[box.kind].shape == "ellipse"


def side_x(box: NodeBox, side: str, y: float) -> float:
    """x where a horizontal line at height ``y`` meets ``side`` of the box (its outline, for an ellipse)."""
    if _ellipse(box):
        return ellipse_x(box.center, (box.w, box.h), side, y)
    return box.x if side == "left" else box.x + box.w


def side_y(box: NodeBox, side: str, x: float) -> float:
    """y where a vertical line at ``x`` meets the top or bottom of the box."""
    if _ellipse(box):
        return ellipse_y(box.center, (box.w, box.h), side, x)
    return box.y if side == "top" else box.y + box.h


def _straight_sides(u: NodeBox, v: NodeBox) -> tuple[str, str]:
    """The facing sides of two boxes: right/left when they stand side by side, else bottom/top."""
    if v.x >= u.x + u.w:
        return "right", "left"
    if u.x >= v.x + v.w:
        return "left", "right"
    return ("bottom", "top") if v.center[1] > u.center[1] else ("top", "bottom")


def _corridor_extent(g: nx.MultiDiGraph, boxes: dict[str, NodeBox], column: float, width: float,
                     ) -> tuple[float, float]:
    """Free x range of corridor ``column``: between the boxes of the columns left and right of it."""
    left = [b.x + b.w for n, b in boxes.items() if g.nodes[n]["column"] < column]
    right = [b.x for n, b in boxes.items() if g.nodes[n]["column"] > column]
    lo = max(left) if left else (min(right) - width if right else 0.0)
    hi = min(right) if right else lo + width
    return lo, hi


def route_lanes(g: nx.MultiDiGraph, boxes: dict[str, NodeBox], *, arrow: float) -> dict[EdgeKey, LaneRoute]:
    """Routes of every edge that carries a ``route`` attribute; lines with a head stop ``arrow`` px short."""
    corridors: dict[float, tuple[int, float]] = g.graph.get("corridors", {})
    extents = {c: _corridor_extent(g, boxes, c, corridor_width(*spec)) for c, spec in corridors.items()}

    # lanes beside a box that end in another box's top or bottom must stay under that box: closer if need be
    pitch: dict[tuple[str, str], float] = {}
    for _, v, route in g.edges(data="route"):
        if isinstance(route, Lane) and isinstance(route.lane, BesideLane) and route.enter in ("top", "bottom"):
            beside, anchor, into = route.lane, boxes[route.lane.node], boxes[v]
            room = into.x + into.w - anchor.x - anchor.w if beside.side == "right" else anchor.x - into.x
            fit = (room - LANE_PAD - TAP_MARGIN) / max(beside.slot, 1)
            pitch[(beside.node, beside.side)] = min(pitch.get((beside.node, beside.side), LANE_PITCH), max(fit, 1.0))

    def lane_x(lane: CorridorLane | BesideLane) -> float:
        if isinstance(lane, CorridorLane):
            lo, hi = extents[lane.column]
            count = corridors[lane.column][0]
            return round((lo + hi) / 2 + (lane.slot - (count - 1) / 2) * LANE_PITCH, 2)
        box = boxes[lane.node]
        step = LANE_PAD + lane.slot * pitch.get((lane.node, lane.side), LANE_PITCH)
        return round(box.x + box.w + step if lane.side == "right" else box.x - step, 2)

    lanes: dict[EdgeKey, tuple[float, Side, Side]] = {}
    straight: list[EdgeKey] = []
    for u, v, key, route in g.edges(keys=True, data="route"):
        if isinstance(route, Straight):
            straight.append((u, v, key))
        elif isinstance(route, Lane):
            lanes[(u, v, key)] = (lane_x(route.lane), route.exit, route.enter)
    taps = _allocate_taps(boxes, lanes, straight)
    gathered: dict[tuple[float, str, str], int] = {}
    for (_, v, _), (x, _, enter_side) in lanes.items():
        gathered[(x, v, enter_side)] = gathered.get((x, v, enter_side), 0) + 1
    out: dict[EdgeKey, LaneRoute] = {}
    for u, v, key in straight:
        out[(u, v, key)] = _straight_route(boxes[u], boxes[v], g.edges[u, v, key]["kind"], arrow)
    for (u, v, key), (x, exit_side, enter_side) in lanes.items():
        start = _endpoint(boxes[u], exit_side, x, taps.get((u, exit_side, x)))
        end = _endpoint(boxes[v], enter_side, x, taps.get((v, enter_side, x)))
        corners = [start]
        if exit_side in ("left", "right"):
            corners.append((x, start[1]))
        if enter_side in ("left", "right"):
            corners.append((x, end[1]))
        corners.append(end)
        run = (x, start[1], end[1]) if abs(end[1] - start[1]) > 1 else None
        kind = g.edges[u, v, key]["kind"]
        head = _has_head(kind)
        curve = _rounded(_dedupe(corners), shorten=arrow if head else 0.0)
        if gathered[(x, v, enter_side)] > 1 and exit_side in ("left", "right"):
            curve = _lead_in(curve, kind, into=1.0 if exit_side == "left" else -1.0)
        out[(u, v, key)] = (curve, end if head else None, run)
    return out


def _straight_route(u: NodeBox, v: NodeBox, kind: EdgeKind, arrow: float) -> LaneRoute:
    su, sv = _straight_sides(u, v)
    if su in ("left", "right"):
        a = (side_x(u, su, u.center[1]), u.center[1])
        b = (side_x(v, sv, v.center[1]), v.center[1])
    else:
        a = (u.center[0], side_y(u, su, u.center[0]))
        b = (v.center[0], side_y(v, sv, v.center[0]))
    a = (round(a[0], 2), round(a[1], 2))
    b = (round(b[0], 2), round(b[1], 2))
    head = _has_head(kind)
    return _rounded([a, b], shorten=arrow if head else 0.0), b if head else None, None


def _endpoint(box: NodeBox, side: str, x: float, y: float | None) -> Point:
    if side in ("left", "right"):
        tap = box.center[1] if y is None else y
        return (round(side_x(box, side, tap), 2), round(tap, 2))
    return (x, round(side_y(box, side, x), 2))


def _allocate_taps(boxes: dict[str, NodeBox], lanes: dict[EdgeKey, tuple[float, Side, Side]],
                   straight: Iterable[EdgeKey]) -> dict[tuple[str, str, float], float]:
    """Heights of the lane taps on every left or right side; edges sharing a lane share a tap."""
    busy: set[tuple[str, str]] = set()
    for u, v, _ in straight:
        su, sv = _straight_sides(boxes[u], boxes[v])
        busy.update({(u, su), (v, sv)})
    wanted: dict[tuple[str, str], dict[float, float]] = {}
    for (u, v, _), (x, exit_side, enter_side) in lanes.items():
        for node, side, other in ((u, exit_side, v), (v, enter_side, u)):
            if side in ("left", "right"):
                # >0: the lane runs up from this tap; its reach decides the order
                up = boxes[other].center[1] < boxes[node].center[1]
                wanted.setdefault((node, side), {})[x] = 1.0 if up else -1.0
    heights: dict[tuple[str, str, float], float] = {}
    for (node, facing), by_lane in wanted.items():
        box = boxes[node]
        edge_x = box.x if facing == "left" else box.x + box.w
        ups = sorted((x for x, d in by_lane.items() if d > 0), key=lambda x: abs(x - edge_x))
        downs = sorted((x for x, d in by_lane.items() if d < 0), key=lambda x: abs(x - edge_x), reverse=True)
        for x, y in zip(ups + downs, _spread(box, len(ups), len(downs), (node, facing) in busy), strict=True):
            heights[(node, facing, x)] = y
    return heights


def _spread(box: NodeBox, ups: int, downs: int, centre_busy: bool) -> list[float]:
    """Tap heights down a side, clear of the corners: ``ups`` taps first, then ``downs``.

    When straight edges use the middle of the side, taps keep clear of it:
    lanes going up tap above it, lanes going down below it.
    """
    top, bottom = box.y + TAP_MARGIN, box.y + box.h - TAP_MARGIN
    if not centre_busy:
        return _even(top, bottom, ups + downs)
    upper, lower = (top, box.center[1] - CENTRE_GAP), (box.center[1] + CENTRE_GAP, bottom)
    if not downs:
        return _even(*upper, ups)
    if not ups:
        return _even(*lower, downs)
    return _even(*upper, ups) + _even(*lower, downs)


def _even(top: float, bottom: float, count: int) -> list[float]:
    """``count`` heights spread evenly over [top, bottom], each in the middle of its share."""
    return [round(top + (bottom - top) * (i + 0.5) / count, 2) for i in range(count)]


def _dedupe(points: list[Point]) -> list[Point]:
    out = [points[0]]
    for p in points[1:]:
        if abs(p[0] - out[-1][0]) > 0.01 or abs(p[1] - out[-1][1]) > 0.01:
            out.append(p)
    return out


def _rounded(points: list[Point], *, shorten: float) -> tuple[Point, ...]:
    """A Bézier chain through a polyline with rounded corners; the last segment loses ``shorten`` px."""
    if len(points) == 1:
        points = points * 2
    if shorten:
        (ax, ay), (bx, by) = points[-2], points[-1]
        length = math.hypot(bx - ax, by - ay) or 1.0
        cut = min(shorten, length * 0.8)
        points = [*points[:-1], (bx - (bx - ax) * cut / length, by - (by - ay) * cut / length)]
    out: list[Point] = [points[0]]
    current = points[0]
    for i in range(1, len(points)):
        p = points[i]
        if i == len(points) - 1:
            out += _line(current, p)[1:]
            break
        nxt = points[i + 1]
        r = min(CORNER, math.dist(current, p) / 2, math.dist(p, nxt) / 2)
        before = _toward(p, current, r)
        after = _toward(p, nxt, r)
        out += _line(current, before)[1:]
        k = 0.5523  # quarter circle
        out += [_toward(before, p, r * k), _toward(after, p, r * k), after]
        current = after
    return tuple((round(x, 2), round(y, 2)) for x, y in out)


def _lead_in(curve: tuple[Point, ...], kind: EdgeKind, *, into: float) -> tuple[Point, ...]:
    """``curve`` with a straight lead-in from inside its source box (``into``: +1 right, −1 left).

    The lead-in makes the length a whole number of the kind's dash periods,
    so edges that end together have their dashes in phase where they overlap;
    the source box, drawn over its edges, hides it.
    """
    dashes = [float(v) for v in EDGE_STYLES[kind].dash.split()]
    period = sum(dashes)
    if not period:
        return curve
    need = (-path_length(curve)) % period
    if need < 0.05 or period - need < 0.05:
        return curve
    x, y = curve[0]
    return (*_line((round(x + into * need, 2), y), curve[0]), *curve[1:])


def path_length(curve: tuple[Point, ...]) -> float:
    """Length of a Bézier chain, each cubic measured along 12 chords."""
    total = 0.0
    for i in range(0, len(curve) - 3, 3):
        p0, p1, p2, p3 = curve[i:i + 4]
        last = p0
        for step in range(1, 13):
            t = step / 12
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
            point = (a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1])
            total += math.dist(last, point)
            last = point
    return total


def _toward(a: Point, b: Point, d: float) -> Point:
    length = math.dist(a, b) or 1.0
    return (a[0] + (b[0] - a[0]) * d / length, a[1] + (b[1] - a[1]) * d / length)


def _line(a: Point, b: Point) -> list[Point]:
    """A straight segment as one cubic Bézier."""
    return [a, _toward(a, b, math.dist(a, b) / 3), _toward(a, b, 2 * math.dist(a, b) / 3), b]
