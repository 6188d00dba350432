"""Edges as the fewest-point polylines that keep their shape, for editors that edit bends (yEd, draw.io).

A route is a Bézier chain ending at the arrowhead's base, plus the tip. An
editor keeps every bend where it is when a node is dragged, so each bend
must earn its place: a straight route has none, a curve only as many as keep
it within ``TOLERANCE`` of the drawn curve (Ramer–Douglas–Peucker on a fine
sampling of the chain).
"""

from __future__ import annotations

import math

from bpdiagram.layout.scene import EdgeRoute, Point

SAMPLES_PER_CURVE = 24
TOLERANCE = 1.5
"""px: the largest distance between the polyline and the curve it stands for."""
JOG = 6.0
"""px: a route that never strays further than this from the straight line between its ends is written straight.

Two inputs enter a gate a few pixels apart, so a wire from a value level with the gate ends a port's offset
lower: the SVG draws that as a gentle S, which as a polyline would be one or two bends of a few degrees that
an editor keeps and the user has to remove by hand."""
JOG_SLOPE = 0.06
"""...and no further than this share of the line's length, so a short wire's real bend stays a bend."""

__all__ = ["polyline", "sample", "simplify"]


def polyline(edge: EdgeRoute, tolerance: float = TOLERANCE) -> list[Point]:
    """``edge`` from its start to its tip (or end) as a polyline: first and last points are the ends.

    >>> from bpdiagram.layout.scene import EdgeRoute
    >>> straight = EdgeRoute("e0", "a", "b", "forward", "", "", ((0, 0), (1, 0), (2, 0), (3, 0)), (10, 0), None, None)
    >>> polyline(straight)
    [(0, 0), (10, 0)]
    """
    pts = sample(edge.points)
    if edge.tip is not None:
        pts.append(edge.tip)
    simple = simplify(pts, tolerance)
    return [simple[0], simple[-1]] if _nearly_straight(simple) else simple


def _nearly_straight(points: list[Point]) -> bool:
    """Whether a polyline stays within ``JOG`` (and ``JOG_SLOPE`` of its length) of the line between its ends."""
    if len(points) < 3:
        return False
    (x0, y0), (x1, y1) = points[0], points[-1]
    allowed = min(JOG, JOG_SLOPE * math.hypot(x1 - x0, y1 - y0))
    return all(_distance(p, points[0], points[-1]) <= allowed for p in points[1:-1])


def sample(points: tuple[Point, ...], per_curve: int = SAMPLES_PER_CURVE) -> list[Point]:
    """Points along a Bézier chain (ends included, rounded to 0.01 px)."""
    if not points:
        return []
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        steps = 1 if _straight(p0, p1, p2, p3) else per_curve
        for s in range(1, steps + 1):
            t = s / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
            out.append((round(a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], 2),
                        round(a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1], 2)))
    return out


STRAIGHT = 0.01
"""px: control points this close to their chord make a straight piece, sampled by its end alone."""


def _straight(p0: Point, p1: Point, p2: Point, p3: Point) -> bool:
    return _distance(p1, p0, p3) <= STRAIGHT and _distance(p2, p0, p3) <= STRAIGHT


def simplify(points: list[Point], tolerance: float = TOLERANCE) -> list[Point]:
    """Ramer–Douglas–Peucker: the fewest of ``points`` (ends kept) within ``tolerance`` of all of them.

    >>> simplify([(0, 0), (1, 0.1), (2, 0), (3, 5)], 0.5)
    [(0, 0), (2, 0), (3, 5)]
    """
    deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if len(deduped) < 3:
        return deduped
    keep = [False] * len(deduped)
    keep[0] = keep[-1] = True
    stack = [(0, len(deduped) - 1)]
    while stack:
        lo, hi = stack.pop()
        far, index = 0.0, -1
        for i in range(lo + 1, hi):
            d = _distance(deduped[i], deduped[lo], deduped[hi])
            if d > far:
                far, index = d, i
        if index >= 0 and far > tolerance:
            keep[index] = True
            stack += [(lo, index), (index, hi)]
    return [p for p, k in zip(deduped, keep, strict=True) if k]


def _distance(p: Point, a: Point, b: Point) -> float:
    """Distance from ``p`` to the segment ``ab``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return math.hypot(p[0] - a[0], p[1] - a[1])
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)
