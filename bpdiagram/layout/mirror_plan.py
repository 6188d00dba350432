"""Where every node of an expression graph stands in the mirror layout, and the coordinates of its columns and rows.

The first half of ``layout.mirror``: it reads the typed model and the
measured sizes, and decides everything that does not depend on drawing a
line. ``MirrorPlan`` says where each node stands (one column per forward value,
its lane; the backward and cached nodes under it); ``Rows`` and ``Columns``
turn lanes and columns into y and x, with room for the labels and the
S-bends of the lanes that enter a column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bpdiagram.layout.geometry import ARROW_LENGTH
from bpdiagram.layout.layering import columns_for, rows_for, spans_for
from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import Edge, EdgeKey, Graph

__all__ = ["EDGE_PAD", "ENTRY_STEP", "PORT_STEP", "ROW_GAP", "Columns", "Measured", "MirrorPlan", "Rows",
           "sum_gap"]

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
class Measured:
    """What the scene measured before layout: each node's text and size, each edge's label text and id."""

    texts: Mapping[str, TextBlock]
    sizes: Mapping[str, tuple[float, float]]
    edge_texts: Mapping[EdgeKey, TextBlock]
    edge_id: Callable[[EdgeKey], str]


@dataclass(frozen=True)
class MirrorPlan:
    """Where every node stands before any size is known: the forward columns and rows, and what hangs under them."""

    graph: Graph
    forward: list[str]
    """The forward nodes left to right, one column each."""
    users: dict[str, list[str]]
    """The forward ops reading each forward value."""
    column: dict[str, int]
    row: dict[str, int]
    """Each forward value's lane, 0 nearest the cache band."""
    rows: int
    mirror_of: dict[str, list[str]]
    """The backward nodes standing in each forward node's column."""
    cache_of: dict[str, str]
    """The cached copy of each forward value that is kept."""
    home: dict[str, str]
    """The forward node whose column each node stands in (a forward node's own)."""
    edges: list[EdgeKey]
    """Every edge in id order, so that ties break the same way in every pass and every format."""
    edge_of: dict[EdgeKey, Edge]
    foreign: dict[str, list[EdgeKey]]
    """The cache lines entering each backward op from other columns, left to right."""
    seeds: set[str]
    """The columns where the output's first gradient starts (it needs room at the column's right)."""

    @classmethod
    def of(cls, g: Graph, edge_id: Callable[[EdgeKey], str]) -> MirrorPlan:
        forward = _forward_order(g)
        users = _users(g, forward)
        column = columns_for(forward)
        row = rows_for(spans_for(column, users))
        mirror_of: dict[str, list[str]] = {n: [] for n in forward}
        cache_of: dict[str, str] = {}
        for node in g:
            if node.band == "backward" and node.mirror in mirror_of:
                mirror_of[node.mirror].append(node.id)
            elif node.band == "cache" and node.mirror in mirror_of:
                cache_of[node.mirror] = node.id
        home = {n.id: n.id if n.mirror is None else n.mirror for n in g}
        edge_of = {e.ends: e for e in g.edges}
        edges = sorted(edge_of, key=edge_id)
        seeds = {home[e.target] for e in g.edges if e.kind == "backward" and g.node(e.source).band == "forward"}
        return cls(g, forward, users, column, row, max(row.values()) + 1, mirror_of, cache_of, home, edges,
                   edge_of, _foreign(g, edges, home, column), seeds)


def _forward_order(g: Graph) -> list[str]:
    """Ops in evaluation order (the model's ``column``), each input just before the first op that reads it.

    An input then waits only while it is used: a weight read once is a
    short stub into its op, not a lane across the whole picture. Two inputs
    an op is the first to read come in the model's order, the order the
    variables first appear in the expression: in ``w − x / w`` the ``w``
    that is read again later stands first, so its lane runs above ``x``'s
    stub instead of crossing it.
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


def _foreign(g: Graph, edges: list[EdgeKey], home: dict[str, str], column: dict[str, int]) -> dict[str, list[EdgeKey]]:
    """The cache lines that enter each backward op from another column, sorted by the column they come from.

    They enter left of the op's derivative tie in that order, so they cross
    neither each other nor the tie.
    """
    out: dict[str, list[EdgeKey]] = {}
    for e in edges:
        u, v, _ = e
        if g.edge(e).kind == "cache" and g.node(u).band == "cache" and home[u] != home[v]:
            out.setdefault(v, []).append(e)
    for v in out:
        out[v].sort(key=lambda e: (column[home[e[0]]], e))
    return out


@dataclass(frozen=True)
class Rows:
    """The y of every row: the forward lanes, the cache row under them, then the backward lanes.

    The backward lanes are the forward ones reflected (``reflect``: the lane
    nearest the cache stays nearest) or translated (same order as forward).
    """

    top: float
    rows: int
    pitch_f: float
    pitch_b: float
    cache_bottom: float
    back_top: float
    bottom: float
    reflect: bool

    @classmethod
    def of(cls, plan: MirrorPlan, sizes: Mapping[str, tuple[float, float]], *, top: float, reflect: bool) -> Rows:
        fwd_h = max(sizes[n][1] for n in plan.forward)
        back_nodes = [b for n in plan.forward for b in plan.mirror_of[n]]
        back_h = max((sizes[b][1] for b in back_nodes), default=fwd_h)
        pitch_f, pitch_b = fwd_h + ROW_GAP, back_h + ROW_GAP
        fwd_bottom = top + plan.rows * pitch_f
        caches = list(plan.cache_of.values())
        cache_h = max((sizes[c][1] for c in caches), default=0.0)
        cache_bottom = fwd_bottom + BAND_GAP + cache_h if caches else fwd_bottom
        back_top = cache_bottom + BAND_GAP - ROW_GAP / 2
        bottom = back_top + plan.rows * pitch_b if back_nodes else fwd_bottom
        return cls(top, plan.rows, pitch_f, pitch_b, cache_bottom, back_top, bottom, reflect)

    def forward(self, r: int) -> float:
        """The centre line of forward lane ``r`` (lane 0 lowest, nearest the cache)."""
        return self.top + (self.rows - 1 - r) * self.pitch_f + self.pitch_f / 2

    def backward(self, r: int) -> float:
        """The centre line of the backward lane mirroring forward lane ``r``."""
        k = r if self.reflect else self.rows - 1 - r
        return self.back_top + k * self.pitch_b + self.pitch_b / 2


@dataclass(frozen=True)
class Columns:
    """The x of every column, and the room before it for the lanes that enter it."""

    x: dict[str, float]
    """The left side of each forward node's column."""
    width: dict[str, float]
    tie_dx: dict[str, float]
    """How far right of its column's left side an op's derivative tie runs."""
    label_x: dict[str, float]
    """Where the labels of the lanes into a column stand (centre)."""
    bend_at: dict[str, tuple[float, float]]
    """Where the S-bends into a column start and end."""
    right: float

    @classmethod
    def of(cls, plan: MirrorPlan, measured: Measured, *, left: float, pitch: float) -> Columns:
        width, tie_dx = _widths(plan, measured)
        label_room = _label_room(plan, measured.edge_texts)
        bend_len = _bend_lengths(plan, pitch)
        fed = {v for us in plan.users.values() for v in us}
        x_of: dict[str, float] = {}
        label_x: dict[str, float] = {}
        bend_at: dict[str, tuple[float, float]] = {}
        x = left
        for i, n in enumerate(plan.forward):
            if i and n in fed:  # a gap for the lanes' labels, then their S-bends
                start = x + 6 + ARROW_LENGTH
                label_x[n] = start + label_room[n] / 2
                xb0 = start + label_room[n] + 4
                xb1 = xb0 + bend_len[n]
                x = xb1 + 2 + ARROW_LENGTH
                bend_at[n] = (xb0, xb1)
            elif i:
                x += INPUT_GAP
            x_of[n] = x
            x += width[n]
        return cls(x_of, width, tie_dx, label_x, bend_at, x)


def _widths(plan: MirrorPlan, measured: Measured) -> tuple[dict[str, float], dict[str, float]]:
    """Each column's width, and where in an op's column its derivative tie runs.

    An input's column holds its gradient and its ``+`` side by side; an op's
    column holds, left to right, the cache lines entering its backward op, the
    tie, the cached copy and, for the output, its first gradient.
    """
    sizes = measured.sizes
    width: dict[str, float] = {}
    tie_dx: dict[str, float] = {}
    for n in plan.forward:
        wf = sizes[n][0]
        cached = plan.cache_of.get(n)
        wc = sizes[cached][0] if cached else 0.0
        back = plan.mirror_of[n]
        if plan.graph.node(n).kind == "input":
            gap = sum_gap(plan.graph, back, measured.edge_texts) if len(back) > 1 else 0.0
            width[n] = max(wf, sum(sizes[b][0] for b in back) + gap, wc + 8)
        else:
            sums = [b for b in back if plan.graph.node(b).kind == "sum"]
            wb = max((sizes[b][0] for b in back if b not in sums), default=0.0)
            tie = EDGE_PAD + ENTRY_STEP * sum(len(plan.foreign.get(b, [])) for b in back)
            tie_dx[n] = tie
            need = tie + (10 + wc if cached else 0) + (26 if n in plan.seeds else 10)
            width[n] = max(wf, wb, need)
            if sums:  # a program's value read twice: its + at the right, the rule left of it, still under the op
                beside = sum(sizes[b][0] for b in sums) + sum_gap(plan.graph, back, measured.edge_texts)
                width[n] = max(wf, wb + beside, need + beside, 2 * beside)
    return width, tie_dx


def _label_room(plan: MirrorPlan, edge_texts: Mapping[EdgeKey, TextBlock]) -> dict[str, float]:
    """The room before each column for the labels of the lanes entering it (forward values, mirrored gradients)."""
    g, home = plan.graph, plan.home
    room = {n: 0.0 for n in plan.forward}
    for e in plan.edges:
        u, v, _ = e
        kind = plan.edge_of[e].kind
        if kind in ("forward", "backward") and e in edge_texts:
            into = v if kind == "forward" else home[u]
            if into in room and g.node(u).band == g.node(v).band and home[u] != home[v]:
                room[into] = max(room[into], edge_texts[e].width + 8)
    return room


def _bend_lengths(plan: MirrorPlan, pitch: float) -> dict[str, float]:
    """The S-bend into a column is longer where a lane steps down (or up) many rows: a gentle slope."""
    bend_len = {n: BEND for n in plan.forward}
    for n in plan.forward:
        for u in plan.users[n]:
            drop = abs(plan.row[n] - plan.row[u]) * pitch
            bend_len[u] = max(bend_len[u], min(BEND + 0.25 * drop, 3 * BEND))
    return bend_len


def sum_gap(g: Graph, back: list[str], edge_texts: Mapping[EdgeKey, TextBlock]) -> float:
    """Room between a variable's ``+`` and its gradient: the summed gradient's label and an arrow."""
    room = SUM_GAP
    for b in back:
        for e in g.out_edges(b):
            if e.ends in edge_texts and e.target in back:
                room = max(room, edge_texts[e.ends].width + 2 * SUM_GAP)
    return room
