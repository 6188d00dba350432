"""Plane geometry every layout stage shares: Bézier chains, straight routes, box and ellipse sides.

A route is a chain of cubic Bézier pieces ``p0, c1, c2, p1, c1, c2, p2, …``
in SVG pixels (y down). Straight stretches are cubics whose control points
lie on the chord, so every writer draws one kind of path.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

__all__ = ["Point", "bezier_point", "curves", "ellipse_x", "ellipse_y", "is_straight", "polyline",
           "s_curve", "segment_hits_box", "straight", "with_head"]

Point = tuple[float, float]
ARROW_LENGTH = 7.5
"""An arrowhead's length along its line, in every view: a route ends this far before the box it points at."""
Side = Literal["top", "bottom", "left", "right"]
"""A side of a box, where a line leaves or enters it."""


def bezier_point(p0: Point, p1: Point, p2: Point, p3: Point, t: float) -> Point:
    """The point at parameter ``t`` of one cubic Bézier.

    >>> bezier_point((0, 0), (0, 0), (10, 10), (10, 10), 0.5)
    (5.0, 5.0)
    """
    u = 1.0 - t
    a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
    return (a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1])


def curves(points: Sequence[Point]) -> list[tuple[Point, Point, Point, Point]]:
    """The cubic pieces of a Bézier chain p0, c1, c2, p1, c1, c2, p2, …"""
    return [(points[i], points[i + 1], points[i + 2], points[i + 3]) for i in range(0, len(points) - 3, 3)]


def is_straight(p0: Point, p1: Point, p2: Point, p3: Point) -> bool:
    """Whether a cubic's control points lie on its chord (it draws a straight segment)."""
    span = math.hypot(p3[0] - p0[0], p3[1] - p0[1])
    if span == 0:
        return False
    return all(abs((p3[0] - p0[0]) * (y - p0[1]) - (p3[1] - p0[1]) * (x - p0[0])) / span < 0.01
               for x, y in (p1, p2))


def _r(p: Point) -> Point:
    return (round(p[0], 2), round(p[1], 2))


def straight(a: Point, b: Point) -> tuple[Point, ...]:
    """A straight segment as one cubic Bézier.

    >>> straight((0, 0), (30, 0))
    ((0, 0), (10.0, 0.0), (20.0, 0.0), (30, 0))
    """
    (ax, ay), (bx, by) = a, b
    return (a, (round(ax + (bx - ax) / 3, 2), round(ay + (by - ay) / 3, 2)),
            (round(ax + 2 * (bx - ax) / 3, 2), round(ay + 2 * (by - ay) / 3, 2)), b)


def polyline(points: Sequence[Point]) -> tuple[Point, ...]:
    """A chain of straight segments through ``points`` (repeated points dropped)."""
    kept = [_r(points[0])]
    for p in points[1:]:
        if math.dist(p, kept[-1]) > 0.01:
            kept.append(_r(p))
    if len(kept) == 1:
        kept.append(kept[0])
    out: list[Point] = [kept[0]]
    for a, b in itertools.pairwise(kept):
        out += straight(a, b)[1:]
    return tuple(out)


def s_curve(a: Point, b: Point) -> tuple[Point, ...]:
    """A smooth step from ``a`` to ``b``, leaving and arriving horizontally (a cubic S)."""
    mid = (b[0] - a[0]) / 2
    return (_r(a), _r((a[0] + mid, a[1])), _r((b[0] - mid, b[1])), _r(b))


def with_head(a: Point, b: Point, arrow: float) -> tuple[tuple[Point, ...], Point]:
    """A straight route from ``a`` whose arrowhead ends at ``b``: the path stops ``arrow`` short of it."""
    length = math.hypot(b[0] - a[0], b[1] - a[1]) or 1.0
    base = (round(b[0] - (b[0] - a[0]) * arrow / length, 2), round(b[1] - (b[1] - a[1]) * arrow / length, 2))
    return straight(a, base), b


def segment_hits_box(a: Point, b: Point, box: tuple[float, float, float, float], pad: float) -> bool:
    """Whether segment a–b passes through ``box`` (x, y, w, h) grown by ``pad`` (Liang–Barsky clipping).

    >>> segment_hits_box((0, 5), (100, 5), (40, 0, 10, 10), 0.0)
    True
    >>> segment_hits_box((0, 50), (100, 50), (40, 0, 10, 10), 0.0)
    False
    """
    x, y, w, h = box
    x0, y0 = a
    dx, dy = b[0] - x0, b[1] - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - (x - pad)), (dx, x + w + pad - x0), (-dy, y0 - (y - pad)), (dy, y + h + pad - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def ellipse_x(center: Point, size: tuple[float, float], side: str, y: float) -> float:
    """x where a horizontal line at height ``y`` meets the ``left`` or ``right`` of the ellipse in a box."""
    half = size[0] / 2
    t = (y - center[1]) / (size[1] / 2)
    half *= math.sqrt(max(0.0, 1 - t * t))
    return center[0] - half if side == "left" else center[0] + half


def ellipse_y(center: Point, size: tuple[float, float], side: str, x: float) -> float:
    """y where a vertical line at ``x`` meets the ``top`` or ``bottom`` of the ellipse in a box."""
    half = size[1] / 2
    t = (x - center[0]) / (size[0] / 2)
    half *= math.sqrt(max(0.0, 1 - t * t))
    return center[1] - half if side == "top" else center[1] + half
