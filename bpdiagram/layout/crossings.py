"""Where edges cross, and which of the two jumps: geometry on the laid-out routes.

Diagram editors (yEd, graphviz) cannot draw line jumps, and a reader loses an
arrow where two cross; so the layout finds every crossing on the real curves
and decides, once, which edge hops over the other. Writers that can draw jumps
(SVG, and PNG through it) read the result; the ``stats`` command counts it.

Definitions, shared by every consumer:

* An edge's *drawn line* is its Bézier chain, flattened into a polyline fine
  enough to follow the curve (``FLAT_STEP``), plus the arrowhead's segment up
  to its tip.
* A *crossing* is a point where the drawn lines of two edges properly
  intersect, except where both edges touch the same node and the point lies
  within ``SHARED_NODE_PAD`` of that node's box: edges meeting at a node are
  not crossing. Touching or overlapping without passing through is not a
  crossing either.
* *Which crossings get a jump*: a crossing between lines of different kinds,
  or one where either line is bent (a curve, a lane with corners), is
  bridged; two straight lines of the same kind (two weights of one fan) are
  not, their crossing is plain to read (``--jumps all`` bridges every one).
* The *jump rule*: at each crossing the edge that is more horizontal there
  hops over the more vertical one (the CAD convention, "horizontal lines
  jump"); when both are equally steep, the one drawn later hops. An edge only
  hops where the arc fits on its path (not on its arrowhead, not over its
  ends); otherwise the other edge hops.
* The arc bulges upwards on lines flatter than 45° and to the left on steeper
  ones, so every jump in a picture faces the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache, partial
from operator import attrgetter
from typing import Any, NamedTuple

from bpdiagram.layout.geometry import bezier_point, curves, is_straight
from bpdiagram.layout.scene import Crossing, EdgeRoute, Jump, NodeBox, PathPos, Point

FLAT_STEP = 3.0
"""Longest chord, in px, of the polyline that stands for a curve (control-polygon length / pieces)."""
MAX_PIECES = 96
SHARED_NODE_PAD = 10.0
"""Crossings this close to a node both edges touch are edges meeting there, not crossing."""
JUMP_RADIUS = 5.5
"""Radius of a jump's arc (half the gap in ``gap`` style), in px."""
END_CLEARANCE = 2.0
"""Room a jump keeps from the ends of its path, so the arc never eats an arrowhead or a node side."""
SAME_POINT = 1.0
"""Two crossings of the same pair closer than this are one (a crossing at a polyline vertex)."""


CHUNK = 16
"""Chords per run in ``DrawnLine.chunks``."""


class Segment(NamedTuple):
    """One chord of a drawn line: ends, and where it lies on the Bézier chain.

    ``curve`` is the index of the cubic piece (``len(curves)`` for the
    arrowhead's segment, which has no curve), ``t0``/``t1`` the parameter
    range it spans, ``s0`` the arc length along the drawn line at its start.
    (A tuple: the router measures tens of thousands of candidate lines.)
    """

    a: Point
    b: Point
    curve: int
    t0: float
    t1: float
    s0: float

    @property
    def length(self) -> float:
        """Chord length."""
        return math.hypot(self.b[0] - self.a[0], self.b[1] - self.a[1])


@dataclass(frozen=True)
class DrawnLine:
    """An edge's drawn line as chords, with the length of the stroked path (the head excluded)."""

    edge: EdgeRoute
    segments: tuple[Segment, ...]
    path_length: float
    bbox: tuple[float, float, float, float]
    """min x, min y, max x, max y of the line."""
    pieces: int
    """Cubic pieces in the path; a segment with ``curve == pieces`` is the arrowhead's."""

    @cached_property
    def chunks(self) -> tuple[tuple[float, float, float, float, tuple[tuple[Segment, float, float, float, float],
                                                                       ...]], ...]:
        """Runs of ``CHUNK`` consecutive chords, each with its bounding box and its chords' boxes.

        A long curve is hundreds of 3 px chords; testing a box per run first
        lets a pair of lines skip the runs that cannot meet.
        """
        out = []
        segments = self.segments
        for i in range(0, len(segments), CHUNK):
            boxed = []
            for seg in segments[i:i + CHUNK]:
                (ax, ay), (bx, by) = seg.a, seg.b
                boxed.append((seg, ax if ax <= bx else bx, ay if ay <= by else by, bx if ax <= bx else ax,
                              by if ay <= by else ay))
            out.append((min([b[1] for b in boxed]), min([b[2] for b in boxed]), max([b[3] for b in boxed]),
                        max([b[4] for b in boxed]), tuple(boxed)))
        return tuple(out)

    @property
    def points(self) -> list[Point]:
        """The polyline's vertices, first to last."""
        if not self.segments:
            return []
        return [self.segments[0].a] + [s.b for s in self.segments]


@lru_cache(maxsize=16384)
def drawn_line(edge: EdgeRoute) -> DrawnLine:
    """The drawn line of ``edge``: its flattened Bézier chain, then the arrowhead's segment.

    Kept for the edges seen last: the crossings, the jumps and ``stats`` ask for the same lines.
    """
    segments: list[Segment] = []
    s = 0.0
    pieces = curves(edge.points)
    for index, (p0, p1, p2, p3) in enumerate(pieces):
        polygon = math.dist(p0, p1) + math.dist(p1, p2) + math.dist(p2, p3)
        steps = 1 if is_straight(p0, p1, p2, p3) else min(MAX_PIECES, max(2, math.ceil(polygon / FLAT_STEP)))
        prev = p0
        for k in range(1, steps + 1):
            t = k / steps
            point = p3 if k == steps else bezier_point(p0, p1, p2, p3, t)
            seg = Segment(prev, point, index, (k - 1) / steps, t, s)
            segments.append(seg)
            s += seg.length
            prev = point
    path_length = s
    if edge.tip is not None and edge.points:
        segments.append(Segment(edge.points[-1], edge.tip, len(pieces), 0.0, 1.0, s))
    xs = [p[0] for seg in segments for p in (seg.a, seg.b)] or [0.0]
    ys = [p[1] for seg in segments for p in (seg.a, seg.b)] or [0.0]
    return DrawnLine(edge, tuple(segments), path_length, (min(xs), min(ys), max(xs), max(ys)), len(pieces))


def is_straight_line(edge: EdgeRoute) -> bool:
    """Whether ``edge`` is drawn as one straight line (its pieces all straight and in one direction)."""
    pieces = curves(edge.points)
    if not pieces or not all(is_straight(*p) for p in pieces):
        return False
    (x0, y0), (x1, y1) = edge.points[0], edge.points[-1]
    span = math.hypot(x1 - x0, y1 - y0)
    return span > 0 and all(abs((x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0)) / span < 0.5 for p in edge.points)


def _intersect(a: Segment, b: Segment) -> tuple[float, float] | None:
    """Parameters (along ``a``, along ``b``) of a proper intersection, half-open at each chord's end.

    Half-open ranges make a crossing through a shared polyline vertex count
    once; parallel and collinear chords never cross.
    """
    (x1, y1), (x2, y2) = a.a, a.b
    (x3, y3), (x4, y4) = b.a, b.b
    dx1, dy1, dx2, dy2 = x2 - x1, y2 - y1, x4 - x3, y4 - y3
    den = dx1 * dy2 - dy1 * dx2
    if abs(den) < 1e-12:
        return None
    ex, ey = x3 - x1, y3 - y1
    u = (ex * dy2 - ey * dx2) / den
    v = (ex * dy1 - ey * dx1) / den
    if 0.0 <= u < 1.0 and 0.0 <= v < 1.0:
        return (u, v)
    return None


def _near(box: NodeBox, p: Point, pad: float) -> bool:
    return box.x - pad <= p[0] <= box.x + box.w + pad and box.y - pad <= p[1] <= box.y + box.h + pad


@dataclass(frozen=True)
class _Hit:
    point: Point
    seg_a: Segment
    u: float
    seg_b: Segment
    v: float


def _pair_hits(a: DrawnLine, b: DrawnLine, shared: list[NodeBox]) -> list[_Hit]:
    hits: list[_Hit] = []
    b_chunks = b.chunks
    bx_lo, by_lo, bx_hi, by_hi = b.bbox
    for ax0, ay0, ax1, ay1, a_boxed in a.chunks:
        if bx_hi < ax0 or bx_lo > ax1 or by_hi < ay0 or by_lo > ay1:
            continue
        for sa, sx0, sy0, sx1, sy1 in a_boxed:  # chord by chord, in order, as the hits are kept
            for bx0, by0, bx1, by1, b_boxed in b_chunks:
                if bx1 < sx0 or bx0 > sx1 or by1 < sy0 or by0 > sy1:
                    continue
                for sb, tx0, ty0, tx1, ty1 in b_boxed:
                    if tx1 < sx0 or tx0 > sx1 or ty1 < sy0 or ty0 > sy1:
                        continue
                    found = _intersect(sa, sb)
                    if found is None:
                        continue
                    u, v = found
                    p = (sa.a[0] + (sa.b[0] - sa.a[0]) * u, sa.a[1] + (sa.b[1] - sa.a[1]) * u)
                    if any(_near(box, p, SHARED_NODE_PAD) for box in shared):
                        continue
                    if any(math.dist(p, h.point) < SAME_POINT for h in hits):
                        continue
                    hits.append(_Hit(p, sa, u, sb, v))
    return hits


def crossing_points(a: DrawnLine, b: DrawnLine, nodes: dict[str, NodeBox]) -> list[Point]:
    """Where the drawn lines ``a`` and ``b`` cross (see the module's definition)."""
    ba, bb = a.bbox, b.bbox
    if bb[2] < ba[0] or bb[0] > ba[2] or bb[3] < ba[1] or bb[1] > ba[3]:
        return []
    return [h.point for h in _pair_hits(a, b, _shared(a.edge, b.edge, nodes))]


def _shared(a: EdgeRoute, b: EdgeRoute, nodes: dict[str, NodeBox]) -> list[NodeBox]:
    return [nodes[n] for n in sorted({a.source, a.target} & {b.source, b.target}) if n in nodes]


def _slope(seg: Segment) -> float:
    """Angle to the horizontal in [0, π/2]: 0 for a horizontal chord."""
    return math.atan2(abs(seg.b[1] - seg.a[1]), abs(seg.b[0] - seg.a[0]))


def _fits(line: DrawnLine, seg: Segment, u: float) -> bool:
    """Whether a jump's arc around this point of ``line`` stays on its stroked path, clear of its ends."""
    if seg.curve >= line.pieces:
        return False  # on the arrowhead
    s = seg.s0 + seg.length * u
    room = JUMP_RADIUS + END_CLEARANCE
    return room <= s <= line.path_length - room


def _overlapping_pairs(lines: Sequence[DrawnLine]) -> list[tuple[int, int]]:
    """Index pairs (i < j) of lines whose bounding boxes overlap or touch, in the order (i, j) sorts.

    Sweeping the boxes from left to right only pairs lines whose x ranges
    meet, instead of trying every pair: a wide diagram's edges meet few
    others. The pairs are sorted so crossings are found in the same order
    as by trying every pair.
    """
    order = sorted(range(len(lines)), key=lambda k: lines[k].bbox[0])
    pairs: list[tuple[int, int]] = []
    for pos, i in enumerate(order):
        a = lines[i].bbox
        for q in range(pos + 1, len(order)):
            j = order[q]
            b = lines[j].bbox
            if b[0] > a[2]:
                break
            if not (b[3] < a[1] or b[1] > a[3]):
                pairs.append((i, j) if i < j else (j, i))
    pairs.sort()
    return pairs


BULK_LINES = 300
"""From this many lines on, the crossings of the short straight ones (a chord and an arrowhead at most: the
element-wise view's weights) are found with numpy, all pairs at once (``_bulk_crossings``); the same numbers
come out, since every quantity is computed with the same float operations in the same order."""


def find_crossings(edges: Sequence[EdgeRoute], nodes: Sequence[NodeBox], *,
                   bulk: bool | None = None) -> tuple[Crossing, ...]:
    """Every crossing between ``edges``, each with the edge that jumps (``over``) chosen by the jump rule.

    ``bulk`` forces numpy's search for the short lines on or off (None: from ``BULK_LINES`` lines on).
    """
    boxes = {n.id: n for n in nodes}
    lines = [drawn_line(e) for e in edges]
    bent = [not is_straight_line(e) for e in edges]
    out: list[Crossing] = []
    if not (bulk if bulk is not None else len(lines) >= BULK_LINES):
        for i, j in _overlapping_pairs(lines):
            out += _pair_crossings(lines[i], lines[j], bent[i] or bent[j], boxes)
        return tuple(sorted(out, key=attrgetter("over", "at_length", "under")))
    import numpy as np  # only big diagrams come here; the others never load numpy

    keys: list[tuple[Any, Any, Any]] = []  # per batch of ``out``: over's and under's line, at_length
    pairs = _bulk_crossings(np, lines, bent, boxes, out, keys)
    bulk_count = len(out)
    for i, j in pairs:
        out += _pair_crossings(lines[i], lines[j], bent[i] or bent[j], boxes)
    # sorted as above, by numpy: edge ids ranked as strings, a stable sort on (over, at_length, under)
    rank = {edge_id: k for k, edge_id in enumerate(sorted({e.id for e in edges}))}
    line_rank = np.array([rank[line.edge.id] for line in lines], dtype=np.int64)
    rest = out[bulk_count:]
    over = np.concatenate([line_rank[o] for o, _, _ in keys] +
                          [np.fromiter((rank[c.over] for c in rest), dtype=np.int64, count=len(rest))])
    under = np.concatenate([line_rank[u] for _, u, _ in keys] +
                           [np.fromiter((rank[c.under] for c in rest), dtype=np.int64, count=len(rest))])
    at_length = np.concatenate([s for _, _, s in keys] +
                               [np.fromiter((c.at_length for c in rest), dtype=float, count=len(rest))])
    return tuple(map(out.__getitem__, np.lexsort((under, at_length, over)).tolist()))


def _rounded(np: Any, x: Any, digits: int) -> list[float]:
    """``[round(v, digits) for v in x]``, the same floats, mostly by numpy.

    numpy's ``rint(x·10^d) / 10^d`` is Python's correctly rounded ``round``
    except where ``x·10^d`` lies within its rounding error of a half (the
    product is inexact there and may round the other way); those few are
    rounded by Python.
    """
    scale = 10.0 ** digits
    scaled = x * scale
    out: list[float] = (np.rint(scaled) / scale).tolist()
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 1e-9 * np.maximum(1.0, np.abs(scaled))
    for k in np.flatnonzero(near_half).tolist():
        out[k] = round(float(x[k]), digits)
    return out


def _pair_crossings(a: DrawnLine, b: DrawnLine, bent: bool, boxes: dict[str, NodeBox]) -> list[Crossing]:
    """The crossings of lines ``a`` and ``b`` (``b`` drawn later), the jump rule applied; ``bent``: either is."""
    out: list[Crossing] = []
    for hit in _pair_hits(a, b, _shared(a.edge, b.edge, boxes)):
        slope_a, slope_b = _slope(hit.seg_a), _slope(hit.seg_b)
        # the flatter one jumps; equally steep: the later-drawn one (b)
        a_first = slope_a < slope_b - 1e-9
        fit_a, fit_b = _fits(a, hit.seg_a, hit.u), _fits(b, hit.seg_b, hit.v)
        if a_first and not fit_a and fit_b:
            a_first = False
        elif not a_first and not fit_b and fit_a:
            a_first = True
        over, under = (a, b) if a_first else (b, a)
        seg, t = (hit.seg_a, hit.u) if a_first else (hit.seg_b, hit.v)
        # lines of one kind from one node (or into one) meet where one branches off their shared run,
        # a bus: no jump there
        branch = a.edge.kind == b.edge.kind and (a.edge.source == b.edge.source or a.edge.target == b.edge.target)
        needs = (a.edge.kind != b.edge.kind or bent) and not branch
        out.append(Crossing(over.edge.id, under.edge.id, (round(hit.point[0], 2), round(hit.point[1], 2)),
                            round(seg.s0 + seg.length * t, 3), needs))
    return out


def _bulk_crossings(np: Any, lines: Sequence[DrawnLine], bent: Sequence[bool], boxes: dict[str, NodeBox],
                    out: list[Crossing], keys: list[tuple[Any, Any, Any]]) -> list[tuple[int, int]]:
    """``find_crossings`` for the pairs of short lines, with numpy: adds their crossings to ``out``.

    For each batch added, ``keys`` gets the arrays of over's line, under's line and ``at_length``.

    Returns the other overlapping pairs (a longer line, or two hits in one pair), for the plain search.
    Each step is ``_pair_hits``'s and ``_pair_crossings``' (the same bounding-box tests, the same
    intersection formula, the same jump rule) on arrays, so the crossings are the same floats.
    """
    pi, pj = _bulk_pairs(np, lines)
    short = np.array([len(line.segments) <= 2 for line in lines], dtype=bool)
    both = short[pi] & short[pj]
    rest = list(zip(pi[~both].tolist(), pj[~both].tolist(), strict=True))
    pi, pj = pi[both], pj[both]
    ends = _LineEnds.of(np, lines, boxes)
    chords = [_chords(np, lines, 0), _chords(np, lines, 1)]
    found = [(ka, kb, *_chord_hits(np, chords[ka], chords[kb], pi, pj, ends)) for ka in (0, 1) for kb in (0, 1)]
    count = sum(hits[0].astype(int) for _, _, *hits in found)
    rest += zip(pi[count > 1].tolist(), pj[count > 1].tolist(), strict=True)  # two hits: SAME_POINT decides
    room = JUMP_RADIUS + END_CLEARANCE
    ids = [line.edge.id for line in lines]
    plen = np.array([line.path_length for line in lines])
    kind, bent_arr = ends.kind, np.array(bent, dtype=bool)
    for ka, kb, ok, u, v, px, py in found:  # in _pair_hits' order of chords (one hit a pair here)
        keep = ok & (count == 1)
        i, j = pi[keep], pj[keep]
        sa, sb = chords[ka], chords[kb]
        s_a = sa["s0"][i] + sa["len"][i] * u[keep]
        s_b = sb["s0"][j] + sb["len"][j] * v[keep]
        fit_a = ~sa["head"][i] & (room <= s_a) & (s_a <= plen[i] - room)
        fit_b = ~sb["head"][j] & (room <= s_b) & (s_b <= plen[j] - room)
        a_first = sa["slope"][i] < sb["slope"][j] - 1e-9
        a_first = (a_first & ~(~fit_a & fit_b)) | (~a_first & ~fit_b & fit_a)
        branch = (kind[i] == kind[j]) & ((ends.src[i] == ends.src[j]) | (ends.tgt[i] == ends.tgt[j]))
        needs = ((kind[i] != kind[j]) | bent_arr[i] | bent_arr[j]) & ~branch
        over, under = np.where(a_first, i, j), np.where(a_first, j, i)
        at_length = _rounded(np, np.where(a_first, s_a, s_b), 3)
        keys.append((over, under, np.array(at_length, dtype=float)))
        at = zip(_rounded(np, px[keep], 2), _rounded(np, py[keep], 2), strict=True)
        out += map(_new_crossing, zip(map(ids.__getitem__, over.tolist()), map(ids.__getitem__, under.tolist()),
                                      at, at_length, needs.tolist(), strict=True))
    return rest


_new_crossing = partial(tuple.__new__, Crossing)
"""``Crossing`` from a tuple of its five fields, all in C (the named tuple's own ``__new__`` is Python)."""


def _bulk_pairs(np: Any, lines: Sequence[DrawnLine]) -> tuple[Any, Any]:
    """Index arrays of the pairs i < j of lines whose boxes overlap or touch (``_overlapping_pairs``' pairs)."""
    n = len(lines)
    bbox = np.array([line.bbox for line in lines], dtype=float).reshape(n, 4)
    ii, jj = [np.zeros(0, dtype=int)], [np.zeros(0, dtype=int)]
    for lo in range(0, n, 256):  # a block of rows at a time: 256 × n booleans
        a = bbox[lo:lo + 256, None, :]
        meet = ~((bbox[None, :, 0] > a[..., 2]) | (bbox[None, :, 2] < a[..., 0]) |
                 (bbox[None, :, 3] < a[..., 1]) | (bbox[None, :, 1] > a[..., 3]))
        meet &= np.arange(n)[None, :] > np.arange(lo, lo + len(a))[:, None]
        i, j = np.nonzero(meet)
        ii.append(i + lo)
        jj.append(j)
    return np.concatenate(ii), np.concatenate(jj)


@dataclass(frozen=True)
class _LineEnds:
    """Per line, as arrays: its two nodes (codes, ``no_box`` for none) and its kind; per node its padded box."""

    src: Any
    tgt: Any
    kind: Any
    has_box: Any
    box: Any
    """x0, y0, x1, y1 of each node's box grown by ``SHARED_NODE_PAD`` (rows), and a last row for none."""
    no_box: int

    @classmethod
    def of(cls, np: Any, lines: Sequence[DrawnLine], boxes: dict[str, NodeBox]) -> _LineEnds:
        names = sorted({name for line in lines for name in (line.edge.source, line.edge.target)})
        code = {name: k for k, name in enumerate(names)}
        kinds = {k: c for c, k in enumerate(sorted({line.edge.kind for line in lines}))}
        pad = SHARED_NODE_PAD
        rows = [(b.x - pad, b.y - pad, b.x + b.w + pad, b.y + b.h + pad) if b else (0.0, 0.0, 0.0, 0.0)
                for b in (boxes.get(name) for name in names)]
        return cls(np.array([code[line.edge.source] for line in lines], dtype=int),
                   np.array([code[line.edge.target] for line in lines], dtype=int),
                   np.array([kinds[line.edge.kind] for line in lines], dtype=int),
                   np.array([name in boxes for name in names] + [False], dtype=bool),
                   np.array([*rows, (0.0, 0.0, 0.0, 0.0)], dtype=float).reshape(len(names) + 1, 4), len(names))

    def near(self, node: Any, px: Any, py: Any) -> Any:
        """``_near`` of each point to its node's box (False for ``no_box``)."""
        b = self.box[node]
        return self.has_box[node] & (b[:, 0] <= px) & (px <= b[:, 2]) & (b[:, 1] <= py) & (py <= b[:, 3])


def _chords(np: Any, lines: Sequence[DrawnLine], k: int) -> dict[str, Any]:
    """Chord ``k`` of every line as arrays: present, ends, box, start along the line, length, slope, arrowhead."""
    segs = [line.segments[k] if len(line.segments) > k else None for line in lines]
    ok = [s is not None for s in segs]
    real = [s if s is not None else Segment((0.0, 0.0), (0.0, 0.0), 0, 0.0, 1.0, 0.0) for s in segs]
    out: dict[str, Any] = {
        "ok": np.array(ok, dtype=bool),
        "ax": np.array([s.a[0] for s in real], dtype=float), "ay": np.array([s.a[1] for s in real], dtype=float),
        "bx": np.array([s.b[0] for s in real], dtype=float), "by": np.array([s.b[1] for s in real], dtype=float),
        "s0": np.array([s.s0 for s in real], dtype=float), "len": np.array([s.length for s in real], dtype=float),
        "slope": np.array([_slope(s) for s in real], dtype=float),
        "head": np.array([s.curve >= line.pieces for s, line in zip(real, lines, strict=True)], dtype=bool),
    }
    out["x0"], out["x1"] = np.minimum(out["ax"], out["bx"]), np.maximum(out["ax"], out["bx"])
    out["y0"], out["y1"] = np.minimum(out["ay"], out["by"]), np.maximum(out["ay"], out["by"])
    return out


def _chord_hits(np: Any, sa: dict[str, Any], sb: dict[str, Any], pi: Any, pj: Any,
                ends: _LineEnds) -> tuple[Any, Any, Any, Any, Any]:
    """``_pair_hits`` for one chord of each line of the pairs (pi, pj): which count, u, v and the point."""
    ok = sa["ok"][pi] & sb["ok"][pj]
    ok &= ~((sb["x1"][pj] < sa["x0"][pi]) | (sb["x0"][pj] > sa["x1"][pi]) |
            (sb["y1"][pj] < sa["y0"][pi]) | (sb["y0"][pj] > sa["y1"][pi]))
    x1, y1, x2, y2 = sa["ax"][pi], sa["ay"][pi], sa["bx"][pi], sa["by"][pi]
    x3, y3, x4, y4 = sb["ax"][pj], sb["ay"][pj], sb["bx"][pj], sb["by"][pj]
    dx1, dy1, dx2, dy2 = x2 - x1, y2 - y1, x4 - x3, y4 - y3  # _intersect's formula, operation for operation
    den = dx1 * dy2 - dy1 * dx2
    ok &= np.abs(den) >= 1e-12
    den = np.where(ok, den, 1.0)
    ex, ey = x3 - x1, y3 - y1
    u = (ex * dy2 - ey * dx2) / den
    v = (ex * dy1 - ey * dx1) / den
    ok &= (u >= 0.0) & (u < 1.0) & (v >= 0.0) & (v < 1.0)
    px, py = x1 + (x2 - x1) * u, y1 + (y2 - y1) * u
    a_src, a_tgt, b_src, b_tgt = ends.src[pi], ends.tgt[pi], ends.src[pj], ends.tgt[pj]
    shared_src = np.where((a_src == b_src) | (a_src == b_tgt), a_src, ends.no_box)
    shared_tgt = np.where((a_tgt == b_src) | (a_tgt == b_tgt), a_tgt, ends.no_box)
    ok &= ~(ends.near(shared_src, px, py) | ends.near(shared_tgt, px, py))
    return ok, u, v, px, py


def _position(line: DrawnLine, s: float) -> tuple[PathPos, Point, Point]:
    """Where arc length ``s`` lies on the Bézier chain, that point, and the line's direction there."""
    s = min(max(s, 0.0), line.path_length)
    pieces = curves(line.edge.points)
    stroked = [seg for seg in line.segments if seg.curve < line.pieces]
    for seg in stroked:
        if s <= seg.s0 + seg.length or seg is stroked[-1]:
            f = 0.0 if seg.length == 0 else min(max((s - seg.s0) / seg.length, 0.0), 1.0)
            t = seg.t0 + (seg.t1 - seg.t0) * f
            p0, p1, p2, p3 = pieces[seg.curve]
            point = bezier_point(p0, p1, p2, p3, t)
            d = (seg.b[0] - seg.a[0], seg.b[1] - seg.a[1])
            return PathPos(seg.curve, round(t, 6)), point, d
    raise ValueError("an edge without a path has no positions")  # pragma: no cover - callers check


def _bulge(direction: Point) -> Point:
    """The side a jump bulges to: up on lines flatter than 45°, left on steeper ones."""
    dx, dy = direction
    length = math.hypot(dx, dy) or 1.0
    nx, ny = dy / length, -dx / length  # one normal; flip it to face up (or left)
    if abs(dx) >= abs(dy):
        return (nx, ny) if ny < 0 else (-nx, -ny)
    return (nx, ny) if nx < 0 else (-nx, -ny)


def plan_jumps(edges: Sequence[EdgeRoute], crossings: Sequence[Crossing]) -> tuple[Jump, ...]:
    """The jumps to draw: one per crossing, on its ``over`` edge, merged where two would overlap.

    Each jump is the stretch of the path cut out around the crossing (from
    ``JUMP_RADIUS`` before to ``JUMP_RADIUS`` after it, measured along the
    path), to be bridged by an arc or left as a gap.
    """
    by_edge: dict[str, list[Crossing]] = {}
    for c in crossings:
        by_edge.setdefault(c.over, []).append(c)
    jumps: list[Jump] = []
    for edge in edges:
        mine = sorted(by_edge.get(edge.id, []), key=lambda c: c.at_length)
        if not mine:
            continue
        line = drawn_line(edge)
        groups: list[list[Crossing]] = []
        for c in mine:
            if groups and c.at_length - groups[-1][-1].at_length < 2 * JUMP_RADIUS + 2:
                groups[-1].append(c)
            else:
                groups.append([c])
        lo_limit, hi_limit = END_CLEARANCE, line.path_length - END_CLEARANCE
        for group in groups:
            lo = max(group[0].at_length - JUMP_RADIUS, lo_limit)
            hi = min(group[-1].at_length + JUMP_RADIUS, hi_limit)
            if hi <= lo:
                lo, hi = max(group[0].at_length - 0.5, 0.0), min(group[0].at_length + 0.5, line.path_length)
            start, p_in, _ = _position(line, lo)
            end, p_out, _ = _position(line, hi)
            _, _, direction = _position(line, (group[0].at_length + group[-1].at_length) / 2)
            bulge = _bulge(direction)
            jumps.append(Jump(edge.id, start, end, (round(p_in[0], 2), round(p_in[1], 2)),
                              (round(p_out[0], 2), round(p_out[1], 2)),
                              (round(bulge[0], 4), round(bulge[1], 4)), len(group)))
    return tuple(jumps)
