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

from bpdiagram.layout.geometry import ARROW_LENGTH, Point, polyline, s_curve, straight
from bpdiagram.layout.mirror_plan import (
    EDGE_PAD,
    ENTRY_STEP,
    PORT_STEP,
    ROW_GAP,
    Columns,
    Measured,
    MirrorPlan,
    Rows,
    sum_gap,
)
from bpdiagram.layout.scene import EdgeRoute, NodeBox, PlacedDrawing
from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import EdgeKey, Graph
from bpdiagram.richtext import plain

__all__ = ["mirror_layout"]


def mirror_layout(g: Graph, texts: dict[str, TextBlock], sizes: dict[str, tuple[float, float]],
                  edge_texts: dict[EdgeKey, TextBlock], *, left: float, top: float, reflect: bool,
                  edge_id: Callable[[EdgeKey], str]) -> PlacedDrawing:
    """Lay ``g`` out as a forward drawing and its mirror; coordinates start at ``left``, ``top``.

    Each step reads only the ones before it: where every node stands (columns
    and rows, no sizes yet), the rows' heights, the columns' widths, then the
    boxes and the lines between them.
    """
    measured = Measured(texts, sizes, edge_texts, edge_id)
    plan = MirrorPlan.of(g, edge_id)
    ys = Rows.of(plan, sizes, top=top, reflect=reflect)
    xs = Columns.of(plan, measured, left=left, pitch=max(ys.pitch_f, ys.pitch_b))
    drawing = _Drawing(plan, xs, ys, measured)
    drawing.place_nodes()
    drawing.route_lanes()
    drawing.route_verticals()
    return PlacedDrawing(drawing.boxes, drawing.routes, xs.right, ys.bottom)


class _Drawing:
    """The boxes and lines, placed from the plan and the coordinates of its columns and rows."""

    def __init__(self, plan: MirrorPlan, xs: Columns, ys: Rows, measured: Measured) -> None:
        self.plan, self.xs, self.ys, self.measured = plan, xs, ys, measured
        self.boxes: dict[str, NodeBox] = {}
        self.routes: dict[EdgeKey, EdgeRoute] = {}

    # -- nodes --------------------------------------------------------------------------

    def place_nodes(self) -> None:
        """Each forward node in its column and lane, its backward nodes in the mirrored lane, its copy in the cache."""
        for n in self.plan.forward:
            if self.plan.graph.node(n).kind == "input":
                self._place_input_column(n)
            else:
                self._place_op_column(n)

    def _place(self, n: str, x0: float, cy: float, w: float | None = None) -> None:
        node = self.plan.graph.node(n)
        bw, bh = self.measured.sizes[n]
        if w is not None:
            bw = w
        # whole pixels: every writer (DOT in points included) then states the same positions exactly
        self.boxes[n] = NodeBox(n, node.kind, node.band, node.layer, node.label, node.plain, float(round(x0)),
                                float(round(cy - bh / 2)), float(math.ceil(bw)), bh, self.measured.texts[n])

    def _place_input_column(self, n: str) -> None:
        """A variable at its column's right, its ``+`` under it and its gradient left of the ``+``."""
        plan, sizes = self.plan, self.measured.sizes
        x0, w = self.xs.x[n], self.xs.width[n]
        self._place(n, x0 + w - sizes[n][0], self.ys.forward(plan.row[n]))
        back = sorted(plan.mirror_of[n], key=lambda b: plan.graph.node(b).kind != "sum")  # the + first, rightmost
        edge = x0 + w
        for b in back:
            self._place(b, edge - sizes[b][0], self.ys.backward(plan.row[n]))
            edge -= sizes[b][0] + sum_gap(plan.graph, back, self.measured.edge_texts)
        if n in plan.cache_of:
            c = plan.cache_of[n]
            centre = self.boxes[n].center[0]
            cx = min(max(centre - sizes[c][0] / 2, x0), x0 + w - sizes[c][0])
            self._place(c, cx, self.ys.cache_bottom - sizes[c][1] / 2)

    def _place_op_column(self, n: str) -> None:
        """An op and its backward op as wide as the column; its cached copy right of the derivative tie.

        When the op's value is read several times (a program's value), the ``+`` of its gradients stands at
        the column's right and the backward op, narrower, left of it.
        """
        plan, sizes = self.plan, self.measured.sizes
        x0, w = self.xs.x[n], self.xs.width[n]
        self._place(n, x0, self.ys.forward(plan.row[n]), w)
        back = plan.mirror_of[n]
        sums = [b for b in back if plan.graph.node(b).kind == "sum"]
        rest = w
        for b in sums:
            self._place(b, x0 + w - sizes[b][0], self.ys.backward(plan.row[n]))
            rest = w - sizes[b][0] - sum_gap(plan.graph, back, self.measured.edge_texts)
        for b in back:
            if b not in sums:
                self._place(b, x0, self.ys.backward(plan.row[n]), rest)
        if n in plan.cache_of:
            c = plan.cache_of[n]
            self._place(c, x0 + self.xs.tie_dx[n] + 10, self.ys.cache_bottom - self.measured.sizes[c][1] / 2)

    # -- lines --------------------------------------------------------------------------

    def _route(self, e: EdgeKey, points: tuple[Point, ...], tip: Point | None, label_at: Point | None) -> None:
        edge = self.plan.edge_of[e]
        text = self.measured.edge_texts.get(e)
        at = _round(label_at) if text is not None and label_at is not None else None
        self.routes[e] = EdgeRoute(self.measured.edge_id(e), e[0], e[1], edge.kind, edge.label, plain(edge.label),
                                   tuple(_round(p) for p in points), _round(tip) if tip else None, at, text)

    def route_lanes(self) -> None:
        """Each forward edge along its lane into its op, and its mirrored backward edge the same way reversed."""
        plan, boxes = self.plan, self.boxes
        fwd_edges = [e for e in plan.edges
                     if plan.edge_of[e].kind == "forward" and e[0] in plan.column and e[1] in plan.column]
        ports = _ports(fwd_edges, boxes, lambda e: boxes[e[0]].center[1])
        pairs = _pair_backward(plan, fwd_edges)
        back_ports = _ports([pairs[e] for e in fwd_edges if e in pairs], boxes,
                            lambda b: self.ys.backward(plan.row[plan.home[b[1]]]))
        for e in fwd_edges:
            self._route_forward(e, ports[e])
            if e in pairs:
                self._route_mirrored(pairs[e], back_ports[pairs[e]], e[1])

    def _route_forward(self, e: EdgeKey, port: float) -> None:
        """Along the source's lane, an S-bend into the op's row just before it, into its port."""
        bu, bv = self.boxes[e[0]], self.boxes[e[1]]
        lane = bu.center[1]
        xb0, xb1 = self.xs.bend_at[e[1]]
        base = bv.x - ARROW_LENGTH
        if abs(lane - port) < 0.5:
            points = straight((bu.x + bu.w, lane), (base, port))
        else:
            points = polyline([(bu.x + bu.w, lane), (xb0, lane)]) + s_curve((xb0, lane), (xb1, port))[1:] \
                + straight((xb1, port), (base, port))[1:]
        self._route(e, points, (bv.x, port), (self.xs.label_x[e[1]], lane))

    def _route_mirrored(self, e: EdgeKey, port: float, column: str) -> None:
        """The forward edge into ``column`` reflected and reversed: out of the backward op's port, along its lane."""
        source, target = self.boxes[e[0]], self.boxes[e[1]]
        lane = target.center[1]
        xb0, xb1 = self.xs.bend_at[column]
        end = target.x + target.w
        if abs(lane - port) < 0.5:
            points = straight((source.x, port), (end + ARROW_LENGTH, lane))
        else:
            points = polyline([(source.x, port), (xb1, port)]) + s_curve((xb1, port), (xb0, lane))[1:] \
                + straight((xb0, lane), (end + ARROW_LENGTH, lane))[1:]
        self._route(e, points, (end, lane), (self.xs.label_x[column], lane))

    def route_verticals(self) -> None:
        """Every other edge: within a column (ties, drops, the first gradient, a ``+``) or down from the cache."""
        for e in self.plan.edges:
            if e in self.routes:
                continue
            u, v, _ = e
            kind = self.plan.edge_of[e].kind
            bu, bv = self.boxes[u], self.boxes[v]
            if kind == "backward" and self.plan.graph.node(u).kind == "sum":  # the + into the gradient beside it
                y = bu.center[1]
                from_sum: Point = (bu.x, y)
                to_grad: Point = (bv.x + bv.w, y)
                self._route(e, straight(from_sum, (to_grad[0] + ARROW_LENGTH, y)), to_grad,
                            ((from_sum[0] + to_grad[0]) / 2, y))
            elif kind == "backward":  # the output's first gradient, at the right of its column
                x = bu.x + bu.w - 12
                middle = (x, (bu.y + bu.h + bv.y) / 2)
                self._route(e, straight((x, bu.y + bu.h), (x, bv.y - ARROW_LENGTH)), (x, bv.y), middle)
            elif kind == "derivative":  # the tie from an op down to its backward op
                x = self.boxes[self.plan.home[u]].x + self.xs.tie_dx[self.plan.home[u]]
                self._route(e, straight((x, bu.y + bu.h), (x, bv.y)), None, None)
            elif kind == "cache" and bv.band == "cache":  # the drop into the cached copy
                x = bv.center[0]
                self._route(e, straight((x, bu.y + bu.h), (x, bv.y - ARROW_LENGTH)), (x, bv.y), None)
            elif kind == "cache" and self.plan.home[u] == self.plan.home[v]:  # the cached output into its own rule
                x = bu.center[0]
                self._route(e, straight((x, bu.y + bu.h), (x, bv.y - ARROW_LENGTH)), (x, bv.y), None)
            elif kind == "cache":
                self._route_foreign(e)

    def _route_foreign(self, e: EdgeKey) -> None:
        """A cache line down to a backward op in another column: a knee above the backward band, then straight down.

        It leaves its cached copy right of the copy's centre (one step per line
        leaving it) and enters the op left of its tie (one step per line entering).
        """
        plan = self.plan
        u, v, _ = e
        bu, bv = self.boxes[u], self.boxes[v]
        i = plan.foreign[v].index(e)
        mine = [f for f in plan.edges if f[0] == u and f in plan.foreign.get(f[1], [])]
        j = mine.index(e)
        x0 = min(bu.center[0] + 8 + 8 * j, bu.x + bu.w - 4)
        xe = bv.x + EDGE_PAD + ENTRY_STEP * i - ENTRY_STEP / 2 - 2
        knee = self.ys.back_top + ROW_GAP / 2 - 8
        self._route(e, polyline([(x0, bu.y + bu.h), (xe, knee), (xe, bv.y - ARROW_LENGTH)]), (xe, bv.y), None)


def _round(p: Point) -> Point:
    return (round(p[0], 2), round(p[1], 2))


def _pair_backward(plan: MirrorPlan, fwd_edges: list[EdgeKey]) -> dict[EdgeKey, EdgeKey]:
    """Each forward edge u → v with its mirror dv → du (the n-th of parallel edges with the n-th)."""
    g, home = plan.graph, plan.home
    waiting: dict[tuple[str, str], list[EdgeKey]] = {}
    for e in plan.edges:
        u, v, _ = e
        if plan.edge_of[e].kind == "backward" and g.node(u).band == "backward" and g.node(u).kind != "sum" \
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
