"""Lay out a model graph: measure labels, run dot once, read the geometry back.

The result is a ``Scene`` in SVG pixels with the title on top, the three
bands as background strips, and the legend below; SVG, PNG and GraphML are
all written from it, so they show the same picture.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from bpdiagram.layout.binaries import run_dot
from bpdiagram.layout.crossings import find_crossings, plan_jumps
from bpdiagram.layout.dot_input import ARROW_LENGTH, dot_edges, edge_order, node_order, to_dot
from bpdiagram.layout.geometry import straight
from bpdiagram.layout.grid import grid_layout
from bpdiagram.layout.mirror import mirror_layout
from bpdiagram.layout.router import Request, Router
from bpdiagram.layout.scene import BandRect, Crossing, EdgeRoute, LegendEntry, NodeBox, Point, Scene
from bpdiagram.layout.text import TextBlock, layout_text, wrap_words
from bpdiagram.model.graph import from_networkx
from bpdiagram.options import BANDS, EDGE_KINDS, Band, EdgeKind, JumpStyle
from bpdiagram.richtext import plain
from bpdiagram.style import EDGE_STYLES, FONT_SIZE, NODE_STYLES, PAD_X, PAD_Y, SMALL_SIZE, TITLE_SIZE

MARGIN = 16.0
GUTTER = 30.0
"""Room on the left for the band titles, written upwards."""
BAND_PAD = 12.0
LEGEND_ROW = 24.0
MIN_WIDTH = 560.0
ELLIPSE_STRETCH = 1.25
"""An ellipse's box must be wider and taller than its text block to contain it."""


def node_size(kind: str, text: TextBlock) -> tuple[float, float]:
    """Box size for a node of ``kind`` around ``text``."""
    w = text.width + 2 * PAD_X
    h = text.height + 2 * PAD_Y
    if NODE_STYLES[kind].shape == "ellipse":  # type: ignore[index]
        # the text must fit the rectangle inscribed in the ellipse (its half-axes over √2); the snug
        # stretch already does for one short line, big blocks (a parameter's numbers) need the √2
        w = max(w * ELLIPSE_STRETCH + 4, math.sqrt(2) * (text.width + PAD_X))
        h = max(h * ELLIPSE_STRETCH, math.sqrt(2) * (text.height + PAD_Y))
    return (round(max(w, 40.0), 1), round(max(h, 30.0), 1))


def node_sizes(g: nx.MultiDiGraph, texts: dict[str, TextBlock]) -> dict[str, tuple[float, float]]:
    """Every node's box, around its text."""
    return {n: node_size(g.nodes[n]["kind"], texts[n]) for n in g.nodes}


@dataclass(frozen=True)
class _Measured:
    """Every label measured, and the DOT text that hands graphviz the resulting boxes."""

    texts: dict[str, TextBlock]
    sizes: dict[str, tuple[float, float]]
    edge_texts: dict[str, TextBlock]
    dot: str


def _measure(g: nx.MultiDiGraph) -> _Measured:
    texts = {n: layout_text(g.nodes[n]["label"], FONT_SIZE) for n in g.nodes}
    sizes = node_sizes(g, texts)
    edges = dot_edges(g)
    edge_texts: dict[str, TextBlock] = {}
    for e, (u, v, key) in zip(edges, edge_order(g), strict=True):
        label = g.edges[u, v, key]["label"]
        if label:
            edge_texts[e.id] = layout_text(label, SMALL_SIZE)
    label_boxes = {i: (t.width + 6, t.height + 2) for i, t in edge_texts.items()}
    return _Measured(texts, sizes, edge_texts, to_dot(g, sizes, label_boxes))


def dot_source(g: nx.MultiDiGraph) -> str:
    """The DOT text ``layout_graph`` hands graphviz for ``g`` (for golden files and the benchmark's floor)."""
    return _measure(g).dot


def layout_graph(g: nx.MultiDiGraph, *, jumps: JumpStyle = "arc") -> Scene:
    """Lay out ``g`` (from ``model.build_graph``) into a ``Scene``.

    Every crossing and the jump that bridges it are computed here, whatever
    ``jumps`` says; ``jumps`` only tells the writers how to draw them.
    """
    if g.graph.get("layout") == "mirror":
        return _mirror_scene(g, jumps)
    if g.graph.get("view") == "elementwise":
        return _grid_scene(g, jumps)
    m = _measure(g)
    result = run_dot(m.dot)
    return _scene(g, result, m.sizes, m.texts, m.edge_texts, jumps)


def _xy(text: str) -> Point:
    x, y = text.split(",")[:2]
    return (float(x), float(y))


def _scene(g: nx.MultiDiGraph, result: dict[str, Any], sizes: dict[str, tuple[float, float]],
           texts: dict[str, TextBlock], edge_texts: dict[str, TextBlock], jump_style: JumpStyle) -> Scene:
    bb = [float(v) for v in result["bb"].split(",")]
    title = g.graph.get("title", "")
    left = MARGIN + GUTTER + BAND_PAD
    content_width = max(left + (bb[2] - bb[0]) + BAND_PAD + MARGIN, MIN_WIDTH)
    title_text = title_block(title, content_width)
    top = MARGIN + (title_text.height + 12 if title else 0) + BAND_PAD
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
    row_centres: dict[str, list[float]] = {}
    for nb in nodes:
        row_centres.setdefault(g.nodes[nb.id]["row"], []).append(nb.center[0])
    for centres in row_centres.values():
        centres.sort()
    fixed: list[EdgeRoute] = []
    requests: list[Request] = []
    for e, (u, v, key) in zip(dot_edges(g), edge_order(g), strict=True):
        label = g.edges[u, v, key]["label"]
        text = edge_texts.get(e.id)
        kind = e.kind
        raw = by_id[e.id]
        points, start_tip, end_tip = _spline(raw["pos"])
        pts = tuple(tr(p) for p in points)
        tip: Point | None = tr(end_tip) if end_tip else None
        if e.reversed:
            pts = pts[::-1]
            tip = tr(start_tip) if start_tip else None
        label_at = tr(_xy(raw["lp"])) if "lp" in raw else None
        if text is not None and label_at is None:
            label_at = _label_spot(pts, text)
        spline = EdgeRoute(e.id, u, v, kind, label, plain(label), pts, tip, label_at, text)
        if kind == "derivative":
            # a straight link when one fits; dot's spline (it routes derivative links too) otherwise
            requests.append(Request(e.id, u, v, kind, head=False, direction="any", faces=False, fallback=spline))
            continue
        row = g.nodes[u]["row"]
        if row == g.nodes[v]["row"] and _neighbours(boxes[u], boxes[v], row_centres[row]):
            flat, head = _flat_route(boxes[u], boxes[v])
            spot = _label_spot(flat, text) if text is not None else None
            fixed.append(EdgeRoute(e.id, u, v, kind, label, plain(label), flat, head, spot, text))
            continue
        if kind == "cache":
            # cache edges: short straight lines down; a cached value may come into its user from the side
            requests.append(Request(e.id, u, v, kind, head=True, direction="down",
                                    faces=g.nodes[u]["kind"] == "cached", fallback=spline))
        elif kind == "backward" and g.nodes[u]["band"] == "forward":
            # the loss (or an expression's output) turns down into the first gradient, never pointing right
            requests.append(Request(e.id, u, v, kind, head=True, direction="left", faces=True, fallback=spline))
        else:
            fixed.append(spline)
    ellipses = {n.id for n in nodes if NODE_STYLES[n.kind].shape == "ellipse"}
    router = Router(nodes, fixed, ellipses=ellipses, arrow=ARROW_LENGTH)
    routed = router.route_all(sorted(requests, key=_routing_order))
    by_request = {q.id: q.fallback for q in requests}
    # labels of straight routes sit on their middle (dot placed only the labels of its own splines)
    routed = {i: (r if r.text is None or r is by_request.get(i) else
                  dataclasses.replace(r, label_at=_label_spot(r.points, r.text)))
              for i, r in routed.items()}
    by_edge = {r.id: r for r in fixed} | routed
    routes = [by_edge[e.id] for e in dot_edges(g)]
    return _finish(title, title_text, nodes, routes, find_crossings(routes, nodes), left=left,
                   right=left + (bb[2] - bb[0]), jump_style=jump_style)


def _finish(title: str, title_text: TextBlock, nodes: list[NodeBox], routes: list[EdgeRoute],
            crossings: tuple[Crossing, ...], *, left: float, right: float, jump_style: JumpStyle) -> Scene:
    """The scene around laid-out nodes and routes: jumps, band strips, the legend below, the canvas size."""
    bands = _bands(nodes, left)
    content_bottom = max(b.y + b.h for b in bands)
    content_width = max(right + BAND_PAD + MARGIN, MIN_WIDTH)
    width = max(content_width, title_text.width + 2 * MARGIN)
    kinds = [k for k in EDGE_KINDS if any(r.kind == k for r in routes)]
    legend, box = _legend(kinds, left - BAND_PAD, content_bottom + 14, width - MARGIN)
    height = box[1] + box[3] + MARGIN
    return Scene(title, title_text, round(width, 2), round(height, 2), bands, tuple(nodes), tuple(routes),
                 legend, box, crossings, plan_jumps(routes, [c for c in crossings if c.needs_jump]), jump_style,
                 every_jump=plan_jumps(routes, crossings))


def _mirror_scene(g: nx.MultiDiGraph, jump_style: JumpStyle) -> Scene:
    """Expression graphs: the forward drawing and its mirror (``layout.mirror``), no graphviz.

    The rows are reflected (the row nearest the cache stays nearest): on every expression measured that
    crosses about half as often as the rows translated (README, "How an expression is drawn").
    """
    return _placed_scene(g, jump_style, lambda m, top: mirror_layout(
        from_networkx(g), m.texts, m.sizes, m.edge_texts, left=m.left, top=top, reflect=True,
        edge_id=m.ids.__getitem__))


def _grid_scene(g: nx.MultiDiGraph, jump_style: JumpStyle) -> Scene:
    """The element-wise view: a grid of unit columns and its mirror (``layout.grid``), no graphviz."""
    return _placed_scene(g, jump_style, lambda m, top: grid_layout(
        g, m.texts, m.sizes, m.edge_texts, m.ids, left=m.left, top=top))


@dataclass(frozen=True)
class _Labels:
    """Every label of ``g`` measured, with the edges' ids, for the layouts that place boxes themselves."""

    texts: dict[str, TextBlock]
    sizes: dict[str, tuple[float, float]]
    order: list[tuple[str, str, str]]
    ids: dict[tuple[str, str, str], str]
    edge_texts: dict[tuple[str, str, str], TextBlock]
    left: float


def _placed_scene(g: nx.MultiDiGraph, jump_style: JumpStyle, place: Callable[[_Labels, float], Any]) -> Scene:
    """A scene from a layout that places every box and line itself (``place(labels, top)``).

    A first pass only measures the width, which the title wraps to; the title's height sets the top of
    the second.
    """
    texts = {n: layout_text(g.nodes[n]["label"], FONT_SIZE) for n in g.nodes}
    order = edge_order(g)
    labels = _Labels(texts, {n: node_size(g.nodes[n]["kind"], texts[n]) for n in g.nodes}, order,
                     {e: f"e{i}" for i, e in enumerate(order)},
                     {e: layout_text(g.edges[e]["label"], SMALL_SIZE) for e in order if g.edges[e]["label"]},
                     MARGIN + GUTTER + BAND_PAD)
    title = g.graph.get("title", "")
    m = place(labels, 0.0)
    title_text = title_block(title, max(m.right + BAND_PAD + MARGIN, MIN_WIDTH))
    m = place(labels, MARGIN + (title_text.height + 12 if title else 0) + BAND_PAD)
    nodes = [m.nodes[n] for n in node_order(g)]
    routes = [m.routes[e] for e in order]
    return _finish(title, title_text, nodes, routes, find_crossings(routes, nodes), left=labels.left,
                   right=m.right, jump_style=jump_style)


def title_block(title: str, width: float) -> TextBlock:
    """The title of a picture ``width`` px wide: whole, in as many lines as it needs (wrapped between words)."""
    return layout_text(wrap_words(title, TITLE_SIZE, width - 2 * MARGIN, bold=True), TITLE_SIZE, cut=False, bold=True)


def place_legend(kinds: list[EdgeKind], x0: float, y0: float,
                 right: float) -> tuple[tuple[LegendEntry, ...], tuple[float, float, float, float]]:
    """The legend of ``kinds`` from (``x0``, ``y0``), in rows that end before ``right`` (for composed scenes)."""
    return _legend(kinds, x0, y0, right)


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


def _neighbours(u: NodeBox, v: NodeBox, centres: list[float]) -> bool:
    """Whether no other node of the same row stands between ``u`` and ``v``.

    ``centres`` are the x centres of the row's nodes, sorted; ``u`` and ``v``
    themselves are at the ends of the open interval looked into, never inside.
    """
    lo, hi = sorted((u.center[0], v.center[0]))
    return bisect.bisect_right(centres, lo) >= bisect.bisect_left(centres, hi)


def _flat_route(u: NodeBox, v: NodeBox) -> tuple[tuple[Point, ...], Point]:
    """Neighbours in one row: a straight horizontal arrow between facing sides."""
    lo = max(u.y, v.y)
    hi = min(u.y + u.h, v.y + v.h)
    y = round((lo + hi) / 2, 2)
    sx = u.x + u.w if v.x > u.x else u.x
    tx = v.x if v.x > u.x else v.x + v.w
    step = ARROW_LENGTH if tx > sx else -ARROW_LENGTH
    return straight((round(sx, 2), y), (round(tx - step, 2), y)), (round(tx, 2), y)


def _routing_order(req: Request) -> int:
    """Values into the cache first, then derivative links, the loss's gradient, cached values into their users.

    Later edges see the earlier ones and route around them; the rip-up and
    reroute rounds after the first pass repair what this order gets wrong.
    Within a rank, edges keep the model's edge order (the sort is stable).
    """
    if req.kind == "cache":
        return 3 if req.faces else 0
    if req.kind == "derivative":
        return 1
    return 2


def _label_spot(points: tuple[Point, ...], text: TextBlock) -> Point:
    """Where a label sits when dot did not place it: on the route's middle (its backdrop breaks the line)."""
    seg = (len(points) - 1) // 3 // 2 * 3
    p0, c1, c2, p1 = points[seg:seg + 4]
    mid = ((p0[0] + 3 * c1[0] + 3 * c2[0] + p1[0]) / 8, (p0[1] + 3 * c1[1] + 3 * c2[1] + p1[1]) / 8)
    return (round(mid[0], 2), round(mid[1], 2))


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


