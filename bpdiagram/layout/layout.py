"""Lay out a model graph: measure labels, run dot once, read the geometry back.

The result is a ``Scene`` in SVG pixels with the title on top, the three
bands as background strips, and the legend below; SVG, PNG and GraphML are
all written from it, so they show the same picture.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx

from bpdiagram.layout.dot import ARROW_LENGTH, dot_edges, edge_order, node_order, to_dot
from bpdiagram.layout.engine import run_dot
from bpdiagram.layout.lanes import route_lanes, tap_heights
from bpdiagram.layout.scene import BandRect, EdgeRoute, LegendEntry, NodeBox, Point, Scene
from bpdiagram.layout.text import TextBlock, layout_text
from bpdiagram.options import BANDS, EDGE_KINDS, Band, EdgeKind
from bpdiagram.richtext import escape, plain
from bpdiagram.style import EDGE_STYLES, FONT_SIZE, NODE_STYLES, PAD_X, PAD_Y, SMALL_SIZE, TITLE_SIZE

MARGIN = 16.0
GUTTER = 30.0
"""Room on the left for the band titles, written upwards."""
BAND_PAD = 12.0
LEGEND_ROW = 24.0
ELLIPSE_STRETCH = 1.25
"""An ellipse's box must be wider and taller than its text block to contain it."""


def node_size(kind: str, text: TextBlock) -> tuple[float, float]:
    """Box size for a node of ``kind`` around ``text``."""
    w = text.width + 2 * PAD_X
    h = text.height + 2 * PAD_Y
    if NODE_STYLES[kind].shape == "ellipse":  # type: ignore[index]
        w, h = w * ELLIPSE_STRETCH + 4, h * ELLIPSE_STRETCH
    return (round(max(w, 40.0), 1), round(max(h, 30.0), 1))


def node_sizes(g: nx.MultiDiGraph, texts: dict[str, TextBlock]) -> dict[str, tuple[float, float]]:
    """Every node's box: around its text, and tall enough for the lanes that tap its sides."""
    sizes = {n: node_size(g.nodes[n]["kind"], texts[n]) for n in g.nodes}
    for n, height in tap_heights(g).items():
        w, h = sizes[n]
        sizes[n] = (w, max(h, height))
    return sizes


def layout_graph(g: nx.MultiDiGraph) -> Scene:
    """Lay out ``g`` (from ``model.build_graph``) into a ``Scene``."""
    texts = {n: layout_text(g.nodes[n]["label"], FONT_SIZE) for n in g.nodes}
    sizes = node_sizes(g, texts)
    edges = dot_edges(g)
    edge_texts: dict[str, TextBlock] = {}
    for e, (u, v, key) in zip(edges, edge_order(g), strict=True):
        label = g.edges[u, v, key]["label"]
        if label:
            edge_texts[e.id] = layout_text(label, SMALL_SIZE)
    label_boxes = {i: (t.width + 6, t.height + 2) for i, t in edge_texts.items()}
    result = run_dot(to_dot(g, sizes, label_boxes))
    return _scene(g, result, sizes, texts, edge_texts)


def _xy(text: str) -> Point:
    x, y = text.split(",")[:2]
    return (float(x), float(y))


def _scene(g: nx.MultiDiGraph, result: dict[str, Any], sizes: dict[str, tuple[float, float]],
           texts: dict[str, TextBlock], edge_texts: dict[str, TextBlock]) -> Scene:
    bb = [float(v) for v in result["bb"].split(",")]
    title = g.graph.get("title", "")
    title_markup = escape(title)
    title_text = layout_text(title_markup, TITLE_SIZE)
    top = MARGIN + (title_text.height + 12 if title else 0) + BAND_PAD
    left = MARGIN + GUTTER + BAND_PAD
    height_bb = bb[3]

    def tr(p: Point) -> Point:
        return (round(p[0] - bb[0] + left, 2), round(height_bb - p[1] + top, 2))

    centers: dict[str, Point] = {}
    for obj in result.get("objects", []):
        if obj.get("name") in g.nodes and "pos" in obj:
            centers[obj["name"]] = tr(_xy(obj["pos"]))
    nodes = []
    for n in node_order(g):
        data = g.nodes[n]
        cx, cy = centers[n]
        w, h = sizes[n]
        nodes.append(NodeBox(n, data["kind"], data["band"], data["layer"], data["label"], data["plain"],
                             round(cx - w / 2, 2), round(cy - h / 2, 2), w, h, texts[n]))
    by_id = {e.get("id"): e for e in result.get("edges", []) if e.get("id")}
    boxes = {n.id: n for n in nodes}
    named = route_lanes(g, boxes, arrow=ARROW_LENGTH)
    routes = []
    for e, (u, v, key) in zip(dot_edges(g), edge_order(g), strict=True):
        label = g.edges[u, v, key]["label"]
        label_at = None
        if (u, v, key) in named:
            pts, tip, run = named[(u, v, key)]
            if run is not None and label:
                x, y0, y1 = run
                label_at = (round(x + 4 + edge_texts[e.id].width / 2, 2), round((y0 + y1) / 2, 2))
        elif key == "derivative":
            pts, tip = _derivative_route(boxes[u], boxes[v], nodes), None
        elif g.nodes[u]["row"] == g.nodes[v]["row"] and _neighbours(boxes[u], boxes[v], nodes, g):
            pts, tip = _flat_route(boxes[u], boxes[v])
        elif key == "backward" and g.nodes[u]["kind"] == "loss" and \
                (drop := _link_route(boxes[u], boxes[v], nodes, from_right=False, vertical_only=True)) is not None:
            pts, tip = _with_head(drop)  # the loss turns straight down into the first gradient when it can
        else:
            raw = by_id[e.id]
            points, start_tip, end_tip = _spline(raw["pos"])
            pts = tuple(tr(p) for p in points)
            tip = tr(end_tip) if end_tip else None
            if e.reversed:
                pts = pts[::-1]
                tip = tr(start_tip) if start_tip else None
            label_at = tr(_xy(raw["lp"])) if "lp" in raw else None
        routes.append(EdgeRoute(e.id, u, v, key, label, plain(label), pts, tip, label_at, edge_texts.get(e.id)))
    bands = _bands(nodes, left)
    content_bottom = max(b.y + b.h for b in bands) if bands else top + height_bb
    width = max(left + (bb[2] - bb[0]) + BAND_PAD + MARGIN, left + title_text.width, 560.0)
    kinds = [k for k in EDGE_KINDS if any(r.kind == k for r in routes)]
    legend, box = _legend(kinds, left - BAND_PAD, content_bottom + 14, width - MARGIN)
    height = box[1] + box[3] + MARGIN
    return Scene(title, title_text, round(width, 2), round(height, 2), bands, tuple(nodes), tuple(routes),
                 legend, box)


def _legend(kinds: list[EdgeKind], x0: float, y0: float, right: float) -> tuple[tuple[LegendEntry, ...],
                                                                              tuple[float, float, float, float]]:
    """Legend entries in rows that fit between ``x0`` and ``right``: sample line, then name and meaning."""
    entries: list[LegendEntry] = []
    sample, gap, pad = 38.0, 22.0, 10.0
    x, y = x0 + pad, y0 + pad
    row_h = LEGEND_ROW
    widest = 0.0
    for kind in kinds:
        text = layout_text(f"{kind}: {EDGE_STYLES[kind].meaning}", SMALL_SIZE)
        need = sample + 8 + text.width
        if x > x0 + pad and x + need > right - pad:
            x, y = x0 + pad, y + row_h
        mid = y + row_h / 2
        entries.append(LegendEntry(kind, (x, mid), (x + sample, mid), (x + sample + 8, mid), text))
        x += need + gap
        widest = max(widest, x - gap)
    h = (y - y0) + row_h + pad if entries else 0.0
    return tuple(entries), (x0, y0, round(widest + pad - x0, 2), round(h, 2))


def _straight(a: Point, b: Point) -> tuple[Point, ...]:
    """A straight segment as one cubic Bézier."""
    (ax, ay), (bx, by) = a, b
    return (a, (round(ax + (bx - ax) / 3, 2), round(ay + (by - ay) / 3, 2)),
            (round(ax + 2 * (bx - ax) / 3, 2), round(ay + 2 * (by - ay) / 3, 2)), b)


def _neighbours(u: NodeBox, v: NodeBox, nodes: list[NodeBox], g: nx.MultiDiGraph) -> bool:
    """Whether no other node of the same row stands between ``u`` and ``v``."""
    lo, hi = sorted((u.center[0], v.center[0]))
    row = g.nodes[u.id]["row"]
    return not any(n.id not in (u.id, v.id) and g.nodes[n.id]["row"] == row and lo < n.center[0] < hi
                   for n in nodes)


def _flat_route(u: NodeBox, v: NodeBox) -> tuple[tuple[Point, ...], Point]:
    """Neighbours in one row: a straight horizontal arrow between facing sides."""
    lo = max(u.y, v.y)
    hi = min(u.y + u.h, v.y + v.h)
    y = round((lo + hi) / 2, 2)
    sx = u.x + u.w if v.x > u.x else u.x
    tx = v.x if v.x > u.x else v.x + v.w
    step = ARROW_LENGTH if tx > sx else -ARROW_LENGTH
    return _straight((round(sx, 2), y), (round(tx - step, 2), y)), (round(tx, 2), y)


LANE_STEP = 6.0
CLEARANCE = 6.0


def _segment_hits(a: Point, b: Point, box: NodeBox, pad: float) -> bool:
    """Whether segment a–b passes through ``box`` grown by ``pad`` (Liang–Barsky clipping)."""
    x0, y0 = a
    dx, dy = b[0] - x0, b[1] - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - (box.x - pad)), (dx, box.x + box.w + pad - x0),
                 (-dy, y0 - (box.y - pad)), (dy, box.y + box.h + pad - y0)):
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


def _link_route(u: NodeBox, v: NodeBox, nodes: list[NodeBox], *, from_right: bool,
                vertical_only: bool = False) -> tuple[Point, ...] | None:
    """The most vertical straight line from ``u``'s facing side to ``v``'s that crosses no other node.

    Used for derivative links and for the loss's first gradient. End points
    are tried across both boxes' facing sides, from the right (derivative
    links) or from the left (the loss's gradient, clear of the target that
    stands under the loss); lines keep clear of other nodes and of the
    column centres where cache and update edges run. None when nothing fits.
    """
    down = u.y < v.y
    ya = u.y + u.h if down else u.y
    yb = v.y if down else v.y + v.h
    top, bottom = min(ya, yb), max(ya, yb)
    others = [n for n in nodes if n.id not in (u.id, v.id) and n.y < bottom and n.y + n.h > top]

    def xs(box: NodeBox) -> list[float]:
        count = int((box.w - 20) // LANE_STEP) + 1
        pts = [box.x + 10 + LANE_STEP * i for i in range(max(count, 1))]
        return pts[::-1] if from_right else pts

    best: tuple[float, int, tuple[Point, Point]] | None = None
    order = 0
    for xa in xs(u):
        if abs(xa - u.center[0]) <= 8:
            continue
        straight_down = [xa] if v.x + 10 <= xa <= v.x + v.w - 10 else []
        for xb in straight_down + xs(v):
            order += 1
            slope = abs(xb - xa)
            if (best is not None and slope >= best[0]) or (vertical_only and slope > 0):
                continue
            if abs(xb - v.center[0]) <= 8:
                continue
            a, b = (xa, ya), (xb, yb)
            if any(_segment_hits(a, b, n, CLEARANCE) for n in others):
                continue
            if any(abs(xa + (xb - xa) * (n.center[1] - ya) / ((yb - ya) or 1.0) - n.center[0]) <= 8
                   for n in others):
                continue
            best = (slope, order, ((round(xa, 2), round(ya, 2)), (round(xb, 2), round(yb, 2))))
            if slope == 0:
                break
        if best is not None and best[0] == 0:
            break
    return _straight(*best[2]) if best is not None else None


def _derivative_route(u: NodeBox, v: NodeBox, nodes: list[NodeBox]) -> tuple[Point, ...]:
    """A derivative link: the most vertical free straight line, else centre to centre between the boxes."""
    route = _link_route(u, v, nodes, from_right=True)
    if route is not None:
        return route
    down = u.y < v.y
    return _straight((u.center[0], u.y + u.h if down else u.y), (v.center[0], v.y if down else v.y + v.h))


def _with_head(points: tuple[Point, ...]) -> tuple[tuple[Point, ...], Point]:
    """Shorten a straight route by the arrowhead's length; the removed end becomes the tip."""
    (ax, ay), (bx, by) = points[0], points[-1]
    length = math.hypot(bx - ax, by - ay) or 1.0
    base = (round(bx - (bx - ax) * ARROW_LENGTH / length, 2), round(by - (by - ay) * ARROW_LENGTH / length, 2))
    return _straight(points[0], base), points[-1]


def _spline(pos: str) -> tuple[list[Point], Point | None, Point | None]:
    start = end = None
    points: list[Point] = []
    for part in pos.split():
        if part.startswith("s,"):
            start = _xy(part[2:])
        elif part.startswith("e,"):
            end = _xy(part[2:])
        else:
            points.append(_xy(part))
    return points, start, end


def _bands(nodes: list[NodeBox], left: float) -> tuple[BandRect, ...]:
    extents: dict[Band, tuple[float, float]] = {}
    for n in nodes:
        lo, hi = extents.get(n.band, (n.y, n.y + n.h))
        extents[n.band] = (min(lo, n.y), max(hi, n.y + n.h))
    present = [b for b in BANDS if b in extents]
    out = []
    for i, band in enumerate(present):
        lo, hi = extents[band]
        top = lo - BAND_PAD if i == 0 else (extents[present[i - 1]][1] + lo) / 2
        bottom = hi + BAND_PAD if i == len(present) - 1 else (hi + extents[present[i + 1]][0]) / 2
        out.append(BandRect(band, round(top, 2), round(bottom - top, 2)))
    return tuple(out)


