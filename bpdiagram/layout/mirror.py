"""The backward band as the mirror of the forward band (expression graphs).

Backprop is the transposed graph: every forward edge u → v has a backward
edge dv → du. So the forward graph is drawn once, as a layered drawing
(``layering``: one column per value, rows as lanes), and everything else
follows from it without any search:

* each backward op stands in the column of the forward op it
  differentiates, in the mirrored row (``reflect``: the row nearest the
  cache band stays nearest; otherwise the rows keep their order);
* each backward edge is its forward edge reflected and reversed, so the
  backward band has exactly the crossings of the forward band;
* a variable's gradients meet in a ``+`` under the variable, its gradient
  beside it, in the variable's column;
* derivative links are vertical ties from an op down to its backward op;
  a kept value drops straight down into the cache band in its own column,
  and from there runs down to the backward ops that read it, entering them
  left of their tie.

Inside a column, from left to right: the cache lines that enter the
backward op from other columns, the derivative tie, the value's cached copy
(and its drop), and, for the output, its first gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bpdiagram.layout.geometry import Point, polyline, s_curve, straight
from bpdiagram.layout.layering import columns_for, rows_for, spans_for
from bpdiagram.layout.scene import EdgeRoute, NodeBox
from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import EdgeKey, Graph
from bpdiagram.options import EdgeKind
from bpdiagram.richtext import plain

__all__ = ["mirror_layout"]

ARROW = 7.5
ROW_GAP = 24.0
"""Vertical room between the boxes of neighbouring rows (the S-bends between lanes pass there)."""
BAND_GAP = 34.0
"""Vertical room between the forward rows, the cache row and the backward rows."""
BEND = 30.0
"""Length of the S-bend a lane takes into its op's row, just before the op."""
ENTRY_STEP = 12.0
"""Distance between the cache lines that enter a backward op from other columns."""
EDGE_PAD = 12.0
"""Room between a box's left side and the first vertical line in its column."""
SUM_GAP = 16.0
"""Room around the label between a ``+`` and the gradient it sums into."""
PORT_STEP = 10.0
INPUT_GAP = 22.0
"""Gap before a column nothing flows into (between two inputs)."""

@dataclass(frozen=True)
class Mirrored:
    """The laid-out nodes and edges, and the extent of the drawing (right and bottom edge)."""

    nodes: dict[str, NodeBox]
    routes: dict[EdgeKey, EdgeRoute]
    right: float
    bottom: float


def _forward_order(g: Graph) -> list[str]:
    """Ops in evaluation order (the model's ``column``), each input just before the first op that reads it.

    An input then waits only while it is used: a weight read once is a
    short stub into its op, not a lane across the whole picture.
    """
    ops = sorted((n.id for n in g if n.band == "forward" and n.kind != "input"), key=lambda n: (g.node(n).column, n))
    inputs = {n.id for n in g if n.band == "forward" and n.kind == "input"}
    out: list[str] = []
    for op in ops:
        reads = sorted((e.ends for e in g.in_edges(op) if e.source in inputs and e.kind == "forward"),
                       key=lambda e: e[2])
        for u, _, _ in reads:
            if u not in out:
                out.append(u)
        out.append(op)
    out += sorted(inputs - set(out))
    return out


def _users(g: Graph, forward: list[str]) -> dict[str, list[str]]:
    inside = set(forward)
    out: dict[str, list[str]] = {n: [] for n in forward}
    for e in g.edges:
        if e.kind == "forward" and e.source in inside and e.target in inside:
            out[e.source].append(e.target)
    return out


def mirror_layout(g: Graph, texts: dict[str, TextBlock], sizes: dict[str, tuple[float, float]],
                  edge_texts: dict[EdgeKey, TextBlock], *, left: float, top: float, reflect: bool,
                  edge_id: Callable[[EdgeKey], str]) -> Mirrored:
    """Lay ``g`` out as a forward drawing and its mirror; coordinates start at ``left``, ``top``."""
    forward = _forward_order(g)
    users = _users(g, forward)
    column = columns_for(forward)
    row = rows_for(spans_for(column, users))
    rows = max(row.values()) + 1
    mirror_of: dict[str, list[str]] = {n: [] for n in forward}
    cache_of: dict[str, str] = {}
    for node in g:
        if node.band == "backward" and node.mirror in mirror_of:
            mirror_of[node.mirror].append(node.id)
        elif node.band == "cache" and node.mirror in mirror_of:
            cache_of[node.mirror] = node.id
    edges = sorted((e.ends for e in g.edges), key=lambda e: edge_id(e))
    edge_of = {e.ends: e for e in g.edges}
    kind_of = {e: edge_of[e].kind for e in edges}
    home = {n.id: n.mirror or n.id for n in g}
    # cache lines entering each backward op from other columns, in column order
    foreign: dict[str, list[EdgeKey]] = {}
    for e in edges:
        u, v, _ = e
        if kind_of[e] == "cache" and g.node(u).band == "cache" and home[u] != home[v]:
            foreign.setdefault(v, []).append(e)
    for v in foreign:
        foreign[v].sort(key=lambda e: (column[home[e[0]]], e))
    seeds = {home[v] for e in edges for u, v in [e[:2]]
             if kind_of[e] == "backward" and g.node(u).band == "forward"}

    # -- column widths -------------------------------------------------------------------
    width: dict[str, float] = {}
    tie_dx: dict[str, float] = {}
    for n in forward:
        wf = sizes[n][0]
        cached = cache_of.get(n)
        wc = sizes[cached][0] if cached else 0.0
        back = mirror_of[n]
        if g.node(n).kind == "input":
            wb = sum(sizes[b][0] for b in back) + (_sum_gap(g, back, edge_texts, edge_id) if len(back) > 1 else 0.0)
            width[n] = max(wf, wb, wc + 8)
        else:
            wb = max((sizes[b][0] for b in back), default=0.0)
            tie = EDGE_PAD + ENTRY_STEP * sum(len(foreign.get(b, [])) for b in back)
            tie_dx[n] = tie
            need = tie + (10 + wc if cached else 0) + (26 if n in seeds else 10)
            width[n] = max(wf, wb, need)
    # gaps: the labels of the edges into a column (forward values, mirrored gradients), then the S-bend
    label_room: dict[str, float] = {n: 0.0 for n in forward}
    for e in edges:
        u, v, _ = e
        if kind_of[e] in ("forward", "backward") and e in edge_texts:
            into = v if kind_of[e] == "forward" else home[u]
            if into in label_room and g.node(u).band == g.node(v).band and home[u] != home[v]:
                label_room[into] = max(label_room[into], edge_texts[e].width + 8)
    fwd_h = max(sizes[n][1] for n in forward)
    back_nodes = [b for n in forward for b in mirror_of[n]]
    back_h = max((sizes[b][1] for b in back_nodes), default=fwd_h)
    pitch_f, pitch_b = fwd_h + ROW_GAP, back_h + ROW_GAP
    # the S-bend into a column is longer where a lane steps down (or up) many rows: a gentle slope
    bend_len: dict[str, float] = {n: BEND for n in forward}
    for n in forward:
        for u in users[n]:
            drop = abs(row[n] - row[u]) * max(pitch_f, pitch_b)
            bend_len[u] = max(bend_len[u], min(BEND + 0.25 * drop, 3 * BEND))
    x_of: dict[str, float] = {}
    label_x: dict[str, float] = {}
    bend_at: dict[str, tuple[float, float]] = {}
    x = left
    for i, n in enumerate(forward):
        if i:
            fed = bool(users) and any(n in us for us in users.values())
            if fed:
                start = x + 6 + ARROW
                label_x[n] = start + label_room[n] / 2
                xb0 = start + label_room[n] + 4
                xb1 = xb0 + bend_len[n]
                x = xb1 + 2 + ARROW
                bend_at[n] = (xb0, xb1)
            else:
                x += INPUT_GAP
        x_of[n] = x
        x += width[n]
    right = x

    # -- rows ---------------------------------------------------------------------------

    def y_forward(r: int) -> float:
        return top + (rows - 1 - r) * pitch_f + pitch_f / 2

    fwd_bottom = top + rows * pitch_f
    caches = list(cache_of.values())
    cache_h = max((sizes[c][1] for c in caches), default=0.0)
    cache_bottom = fwd_bottom + BAND_GAP + cache_h if caches else fwd_bottom
    back_top = cache_bottom + BAND_GAP - ROW_GAP / 2

    def y_backward(r: int) -> float:
        k = r if reflect else rows - 1 - r
        return back_top + k * pitch_b + pitch_b / 2

    bottom = back_top + rows * pitch_b if back_nodes else fwd_bottom

    # -- nodes --------------------------------------------------------------------------
    boxes: dict[str, NodeBox] = {}

    def place(n: str, x0: float, cy: float, w: float | None = None) -> None:
        data = g.node(n)
        bw, bh = sizes[n]
        if w is not None:
            bw = w
        # whole pixels: every writer (DOT in points included) then states the same positions exactly
        boxes[n] = NodeBox(n, data.kind, data.band, data.layer, data.label, data.plain,
                           float(round(x0)), float(round(cy - bh / 2)), float(math.ceil(bw)), bh, texts[n])

    for n in forward:
        x0, w = x_of[n], width[n]
        if g.node(n).kind == "input":
            place(n, x0 + w - sizes[n][0], y_forward(row[n]))
            back = sorted(mirror_of[n], key=lambda b: g.node(b).kind != "sum")  # the + first, rightmost
            edge = x0 + w
            for b in back:
                place(b, edge - sizes[b][0], y_backward(row[n]))
                edge -= sizes[b][0] + _sum_gap(g, back, edge_texts, edge_id)
            if n in cache_of:
                c = cache_of[n]
                centre = boxes[n].center[0]
                cx = min(max(centre - sizes[c][0] / 2, x0), x0 + w - sizes[c][0])
                place(c, cx, cache_bottom - sizes[c][1] / 2)
        else:
            place(n, x0, y_forward(row[n]), w)
            for b in mirror_of[n]:
                place(b, x0, y_backward(row[n]), w)
            if n in cache_of:
                place(cache_of[n], x0 + tie_dx[n] + 10, cache_bottom - sizes[cache_of[n]][1] / 2)

    # -- routes -------------------------------------------------------------------------
    routes: dict[EdgeKey, EdgeRoute] = {}

    def route(e: EdgeKey, points: tuple[Point, ...], tip: Point | None, label_at: Point | None) -> None:
        label = edge_of[e].label
        text = edge_texts.get(e)
        at = _round(label_at) if text is not None and label_at is not None else None
        routes[e] = EdgeRoute(edge_id(e), e[0], e[1], kind_of[e], label, plain(label),
                              tuple(_round(p) for p in points), _round(tip) if tip else None, at, text)

    fwd_edges = [e for e in edges if kind_of[e] == "forward" and e[0] in column and e[1] in column]
    ports = _ports(fwd_edges, boxes, lambda e: boxes[e[0]].center[1])
    pairs = _pair_backward(g, edges, fwd_edges, home, kind_of)
    back_ports = _ports([pairs[e] for e in fwd_edges if e in pairs], boxes,
                        lambda b: y_backward(row[home[b[1]]]))
    for e in fwd_edges:
        u, v, _ = e
        bu, bv = boxes[u], boxes[v]
        lane, port = bu.center[1], ports[e]
        xb0, xb1 = bend_at[v]
        base = bv.x - ARROW
        if abs(lane - port) < 0.5:
            points = straight((bu.x + bu.w, lane), (base, port))
        else:
            points = polyline([(bu.x + bu.w, lane), (xb0, lane)]) + s_curve((xb0, lane), (xb1, port))[1:] \
                + straight((xb1, port), (base, port))[1:]
        route(e, points, (bv.x, port), (label_x[v], lane))
        if e in pairs:
            mirrored = pairs[e]
            source, target = boxes[mirrored[0]], boxes[mirrored[1]]
            lane_b, port_b = target.center[1], back_ports[mirrored]
            end = target.x + target.w
            if abs(lane_b - port_b) < 0.5:
                points = straight((source.x, port_b), (end + ARROW, lane_b))
            else:
                points = polyline([(source.x, port_b), (xb1, port_b)]) + s_curve((xb1, port_b), (xb0, lane_b))[1:] \
                    + straight((xb0, lane_b), (end + ARROW, lane_b))[1:]
            route(mirrored, points, (end, lane_b), (label_x[v], lane_b))
    for e in edges:
        if e in routes:
            continue
        u, v, _ = e
        bu, bv = boxes[u], boxes[v]
        kind = kind_of[e]
        if kind == "backward" and g.node(u).kind == "sum":  # the + into the gradient beside it
            y = bu.center[1]
            from_sum: Point = (bu.x, y)
            to_grad: Point = (bv.x + bv.w, y)
            route(e, straight(from_sum, (to_grad[0] + ARROW, y)), to_grad, ((from_sum[0] + to_grad[0]) / 2, y))
        elif kind == "backward":  # the output's first gradient, at the right of its column
            x = bu.x + bu.w - 12
            route(e, straight((x, bu.y + bu.h), (x, bv.y - ARROW)), (x, bv.y), (x, (bu.y + bu.h + bv.y) / 2))
        elif kind == "derivative":
            x = boxes[home[u]].x + tie_dx[home[u]]
            route(e, straight((x, bu.y + bu.h), (x, bv.y)), None, None)
        elif kind == "cache" and g.node(v).band == "cache":  # the drop into the cached copy
            x = bv.center[0]
            route(e, straight((x, bu.y + bu.h), (x, bv.y - ARROW)), (x, bv.y), None)
        elif kind == "cache" and home[u] == home[v]:  # the cached output, straight down into its own rule
            x = bu.center[0]
            route(e, straight((x, bu.y + bu.h), (x, bv.y - ARROW)), (x, bv.y), None)
        elif kind == "cache":
            i = foreign[v].index(e)
            mine = [f for f in edges if f[0] == u and f in foreign.get(f[1], [])]
            j = mine.index(e)
            x0 = min(bu.center[0] + 8 + 8 * j, bu.x + bu.w - 4)
            xe = bv.x + EDGE_PAD + ENTRY_STEP * i - ENTRY_STEP / 2 - 2
            knee = back_top + ROW_GAP / 2 - 8
            route(e, polyline([(x0, bu.y + bu.h), (xe, knee), (xe, bv.y - ARROW)]), (xe, bv.y), None)
    return Mirrored(boxes, routes, right, bottom)


def _round(p: Point) -> Point:
    return (round(p[0], 2), round(p[1], 2))


def _sum_gap(g: Graph, back: list[str], edge_texts: dict[EdgeKey, TextBlock],
             edge_id: Callable[[EdgeKey], str]) -> float:
    """Room between a variable's ``+`` and its gradient: the summed gradient's label and an arrow."""
    room = SUM_GAP
    for b in back:
        for e in (f.ends for f in g.out_edges(b)):
            if e in edge_texts and e[1] in back:
                room = max(room, edge_texts[e].width + 2 * SUM_GAP)
    return room


def _pair_backward(g: Graph, edges: list[EdgeKey], fwd_edges: list[EdgeKey], home: dict[str, str],
                   kind_of: dict[EdgeKey, EdgeKind]) -> dict[EdgeKey, EdgeKey]:
    """Each forward edge u → v with its mirror dv → du (the n-th of parallel edges with the n-th)."""
    waiting: dict[tuple[str, str], list[EdgeKey]] = {}
    for e in edges:
        u, v, _ = e
        if kind_of[e] == "backward" and g.node(u).band == "backward" and g.node(u).kind != "sum" \
                and home[u] != home[v]:
            waiting.setdefault((home[v], home[u]), []).append(e)
    out: dict[EdgeKey, EdgeKey] = {}
    for e in fwd_edges:
        queue = waiting.get((e[0], e[1]))
        if queue:
            out[e] = queue.pop(0)
    return out


def _ports(edges: list[EdgeKey], boxes: dict[str, NodeBox], lane: Callable[[EdgeKey], float]) -> dict[EdgeKey, float]:
    """Where each edge meets the side of its op (``e[1]`` forward, ``e[0]`` backward): spread in lane order."""
    by_op: dict[str, list[EdgeKey]] = {}
    for e in edges:
        op = e[1] if boxes[e[1]].band == "forward" else e[0]
        by_op.setdefault(op, []).append(e)
    out: dict[EdgeKey, float] = {}
    for op, mine in by_op.items():
        box = boxes[op]
        mine.sort(key=lambda e: (lane(e), e))
        n = len(mine)
        step = min(PORT_STEP, (box.h - 12) / (n - 1)) if n > 1 else 0.0
        for i, e in enumerate(mine):
            out[e] = round(box.center[1] + (i - (n - 1) / 2) * step, 2)
    return out
