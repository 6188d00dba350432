"""The vectorized view's scene: graphviz places the boxes, bpdiagram chooses most of the lines.

Graphviz (``dot -Tjson``, run once) places every node, one rank per row,
and routes every edge as a spline. The scene then keeps what dot does well
(parameters into their linear step, updates) and replaces the rest: edges
between neighbours in a row become straight arrows, and cache edges,
derivative links and the loss's first gradient become straight lines chosen
by the crossings they make (``layout.router``), dot's spline being the
fallback when no straight line clears the other boxes.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from typing import Any

from bpdiagram.layout.binaries import run_dot
from bpdiagram.layout.crossings import find_crossings
from bpdiagram.layout.dot_input import DotEdge, dot_edges, to_dot
from bpdiagram.layout.frame import BAND_PAD, LEFT, MARGIN, MIN_WIDTH, finish, title_block, title_height
from bpdiagram.layout.geometry import ARROW_LENGTH, straight
from bpdiagram.layout.label_boxes import Labels, measure_labels
from bpdiagram.layout.router import Request, Router
from bpdiagram.layout.scene import EdgeRoute, NodeBox, Point, Scene
from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import Graph
from bpdiagram.options import JumpStyle
from bpdiagram.richtext import plain
from bpdiagram.style import NODE_STYLES


def dot_source(g: Graph) -> str:
    """The DOT text graphviz is handed for ``g`` (for golden files and the benchmark's floor)."""
    return _dot(g, measure_labels(g))


def _dot(g: Graph, labels: Labels) -> str:
    label_boxes = {labels.ids[e]: (t.width + 6, t.height + 2) for e, t in labels.edge_texts.items()}
    return to_dot(g, labels.sizes, label_boxes)


def dot_scene(g: Graph, jump_style: JumpStyle) -> Scene:
    """Lay out ``g`` with graphviz: its node placement, then the lines as the module docstring says."""
    labels = measure_labels(g)
    result = run_dot(_dot(g, labels))
    place = _Placement.of(g.title, result)
    nodes = _node_boxes(g, result, labels, place)
    routes = _routes(g, result, nodes, labels, place)
    return finish(g.title, place.title_text, nodes, routes, find_crossings(routes, nodes), right=place.right,
                  jump_style=jump_style)


@dataclass(frozen=True)
class _Placement:
    """Where dot's drawing goes in the picture: dot's y points up from its bounding box, ours down under the title."""

    x0: float
    """dot's left edge."""
    height: float
    """dot's top (its y of the bounding box's top)."""
    top: float
    """Where the content starts, under the title."""
    right: float
    """Where the content ends on the right."""
    title_text: TextBlock

    @classmethod
    def of(cls, title: str, result: dict[str, Any]) -> _Placement:
        bb = [float(v) for v in result["bb"].split(",")]
        content_width = max(LEFT + (bb[2] - bb[0]) + BAND_PAD + MARGIN, MIN_WIDTH)
        title_text = title_block(title, content_width)
        top = MARGIN + title_height(title, title_text) + BAND_PAD
        return cls(bb[0], bb[3], top, LEFT + (bb[2] - bb[0]), title_text)

    def point(self, p: Point) -> Point:
        """A point of dot's drawing in the picture's coordinates."""
        return (round(p[0] - self.x0 + LEFT, 2), round(self.height - p[1] + self.top, 2))


def _node_boxes(g: Graph, result: dict[str, Any], labels: Labels, place: _Placement) -> list[NodeBox]:
    """Every node's box where dot put its centre, in the stable node order."""
    centers: dict[str, Point] = {}
    for obj in result.get("objects", []):
        if obj.get("name") in g and "pos" in obj:
            centers[obj["name"]] = place.point(_xy(obj["pos"]))
    nodes = []
    for n in g.node_order():
        node = g.node(n)
        cx, cy = centers[n]
        w, h = labels.sizes[n]
        nodes.append(NodeBox(n, node.kind, node.band, node.layer, node.label, node.plain,
                             round(cx - w / 2, 2), round(cy - h / 2, 2), w, h, labels.texts[n]))
    return nodes


def _routes(g: Graph, result: dict[str, Any], nodes: list[NodeBox], labels: Labels,
            place: _Placement) -> list[EdgeRoute]:
    """Every edge's line: dot's spline, a straight arrow between neighbours, or the router's straight choice."""
    by_id = {e.get("id"): e for e in result.get("edges", []) if e.get("id")}
    boxes = {n.id: n for n in nodes}
    row_centres: dict[str, list[float]] = {}
    for nb in nodes:
        row_centres.setdefault(g.node(nb.id).row, []).append(nb.center[0])
    for centres in row_centres.values():
        centres.sort()
    fixed: list[EdgeRoute] = []
    requests: list[Request] = []
    edges = dot_edges(g)
    for e, ends in zip(edges, labels.order, strict=True):
        spline = _spline_route(g, e, ends, by_id[e.id], labels.edge_texts.get(ends), place)
        u, v = ends[0], ends[1]
        row = g.node(u).row
        if e.kind != "derivative" and row == g.node(v).row and _neighbours(boxes[u], boxes[v], row_centres[row]):
            flat, head = _flat_route(boxes[u], boxes[v])
            spot = _label_spot(flat, spline.text) if spline.text is not None else None
            fixed.append(dataclasses.replace(spline, points=flat, tip=head, label_at=spot))
            continue
        request = _request(g, spline)
        if request is None:
            fixed.append(spline)
        else:
            requests.append(request)
    ellipses = {n.id for n in nodes if NODE_STYLES[n.kind].shape == "ellipse"}
    routed = Router(nodes, fixed, ellipses=ellipses, arrow=ARROW_LENGTH).route_all(sorted(requests,
                                                                                          key=_routing_order))
    by_request = {q.id: q.fallback for q in requests}
    # labels of straight routes sit on their middle (dot placed only the labels of its own splines)
    routed = {i: (r if r.text is None or r is by_request.get(i) else
                  dataclasses.replace(r, label_at=_label_spot(r.points, r.text)))
              for i, r in routed.items()}
    by_edge = {r.id: r for r in fixed} | routed
    return [by_edge[e.id] for e in edges]


def _spline_route(g: Graph, e: DotEdge, ends: tuple[str, str, str], raw: dict[str, Any], text: TextBlock | None,
                  place: _Placement) -> EdgeRoute:
    """dot's spline for edge ``e``, in the model's direction, with dot's label spot (or the spline's middle)."""
    label = g.edge(ends).label
    points, start_tip, end_tip = _spline(raw["pos"])
    pts = tuple(place.point(p) for p in points)
    tip: Point | None = place.point(end_tip) if end_tip else None
    if e.reversed:
        pts = pts[::-1]
        tip = place.point(start_tip) if start_tip else None
    label_at = place.point(_xy(raw["lp"])) if "lp" in raw else None
    if text is not None and label_at is None:
        label_at = _label_spot(pts, text)
    return EdgeRoute(e.id, ends[0], ends[1], e.kind, label, plain(label), pts, tip, label_at, text)


def _request(g: Graph, spline: EdgeRoute) -> Request | None:
    """What the router is asked to draw straight instead of dot's spline (None: keep the spline).

    Derivative links straight when one fits; cache edges as short lines down (a cached value may come
    into its user from the side); the loss's first gradient turning down,
    never pointing right.
    """
    u, v, kind = spline.source, spline.target, spline.kind
    if kind == "derivative":
        return Request(spline.id, u, v, kind, head=False, direction="any", faces=False, fallback=spline)
    if kind == "cache":
        return Request(spline.id, u, v, kind, head=True, direction="down", faces=g.node(u).kind == "cached",
                       fallback=spline)
    if kind == "backward" and g.node(u).band == "forward":
        return Request(spline.id, u, v, kind, head=True, direction="left", faces=True, fallback=spline)
    return None


def _xy(text: str) -> Point:
    x, y = text.split(",")[:2]
    return (float(x), float(y))


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
