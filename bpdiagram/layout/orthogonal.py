"""Orthogonal lines with rounded corners, and where they tap the sides of boxes (the element-wise grid).

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

from bpdiagram.layout.geometry import Side, ellipse_y
from bpdiagram.layout.scene import NodeBox, Point
from bpdiagram.options import EdgeKind
from bpdiagram.style import EDGE_STYLES, NODE_STYLES

TAP_MARGIN = 7.0
"""Taps keep this far from a box's corners (as far as the SVG rounds them)."""
CENTRE_GAP = 7.0
"""Taps keep this far from the middle of a side that straight edges use."""
CORNER = 4.0
"""Radius of the rounded corners of lane routes."""

EdgeKey = tuple[str, str, str]
"""(source, target, key) of a model edge."""


def _ellipse(box: NodeBox) -> bool:
    return NODE_STYLES[box.kind].shape == "ellipse"


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


def allocate_taps(boxes: dict[str, NodeBox], lanes: dict[EdgeKey, tuple[float, Side, Side]],
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


def rounded(points: list[Point], *, shorten: float) -> tuple[Point, ...]:
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


def lead_in(curve: tuple[Point, ...], kind: EdgeKind, *, into: float) -> tuple[Point, ...]:
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
