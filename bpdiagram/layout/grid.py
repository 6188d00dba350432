"""The element-wise view as a forward grid and its mirror (no graphviz).

Columns, left to right: the inputs x_i; per layer l the linear steps z_j[l]
(parameters w_j[l] under each) and the activations a_j[l]; the loss, its
targets under it. Unit j of every layer stands in forward row j; the
backward band is the mirror image of the forward band about the cache band:
each backward op stands in the column of the forward op it differentiates
(dw_j, db_j under z_j; da_j, dz_j under a_j), unit 1 farthest from the cache
as in the forward band. Per-weight lines are straight, so the backward fans
are the forward fans reflected.

Nothing that crosses the bands runs through a weight fan where it can be
helped: the gap between a layer's z column and its a column is crossed by
one horizontal line per unit (z_j → a_j, dz_j → dw_j) and no fan, so every
vertical line of a layer runs there, and horizontal travel happens in the
cache band, which no fan crosses. In that gap, left to right:

* per unit, nested (unit 1 outermost): the update dw_j → w_j, which turns
  under w_j and arrives pointing up, and the derivative tie z_j → dw_j;
  mirrored rows make these nest, so they never cross each other;
* the buses of the vectors kept from this layer's column of z and w: every
  unit joins the bus, which drops into the kept value standing under it;
* the derivative ties a_j → dz_j, nested (unit 1 outermost);
* the bus of a[l]: each a_j joins it, it drops into the kept a[l] (standing
  under the bus and the a column), and continues down to the dz_j that read it.

The only lines left crossing a fan are the kept values read across it
(a[l−1] by dw[l], the weights by dz[l−1]): they run down one lane beside
the column they enter. The loss's gradient, its derivative ties and the
kept targets come down to the right of the loss, and turn left into dz[L].
"""

from __future__ import annotations

import math

from bpdiagram.layout.grid_lanes import Line, draw_routes, plan_lines, role
from bpdiagram.layout.orthogonal import CENTRE_GAP, TAP_MARGIN
from bpdiagram.layout.scene import NodeBox, PlacedDrawing
from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import EdgeKey, Graph

__all__ = ["grid_layout"]

PITCH = 9.0
"""Distance between neighbouring lanes."""
PAD = 12.0
"""Room between a column's boxes and the nearest lane."""
FAN = 70.0
"""Width of the room a weight fan crosses (plus FAN_PER_UNIT per unit of the taller layer)."""
FAN_PER_UNIT = 8.0
ROW_GAP = 16.0
BAND_GAP = 40.0
TAP_GAP = 9.0
"""Room a box's side leaves between neighbouring taps."""
CACHE_INSET = 8.0
"""A kept value stands this far left (or right) of the bus that drops into it."""
LOSS_LANES = ("y-loss", "bus.cache.target", "gradient", "loss-tie")
"""The lanes right of the loss, left to right."""


def grid_layout(graph: Graph, texts: dict[str, TextBlock], sizes: dict[str, tuple[float, float]],
                edge_texts: dict[EdgeKey, TextBlock], edge_ids: dict[EdgeKey, str], *,
                left: float, top: float) -> PlacedDrawing:
    """Lay the element-wise graph out from ``left``, ``top``.

    The order matters: which lanes exist decides how tall a box must be
    (its taps) and how wide each gap between columns is; rows, then
    columns and lanes, then the boxes, then the routes between them.
    """
    edges = sorted(graph.edges, key=lambda e: edge_ids[e.ends])
    lines, straight = plan_lines(graph, edges)
    height = _heights(graph, sizes, lines, straight)
    y_of, bottom = _row_centres(graph, height, top)
    columns = _Columns(graph, sizes, {line.lane for line in lines.values()})
    right = columns.place(left)
    boxes = {n.id: columns.box(n.id, height[n.id], y_of[n.row], texts[n.id]) for n in graph}
    routes = draw_routes(graph, boxes, lines, straight, columns.lane_x, edge_texts, edge_ids)
    return PlacedDrawing(boxes, routes, right, bottom)


def _heights(graph: Graph, sizes: dict[str, tuple[float, float]], lines: dict[EdgeKey, Line],
             straight: list[EdgeKey]) -> dict[str, float]:
    """Every box's height: its text's, or taller when the lanes tapping one side need room apart.

    A side that straight lines also use keeps its middle clear for them.
    Heights are even, so box centres fall on whole pixels.
    """
    taps: dict[tuple[str, str], set[str]] = {}
    for line in lines.values():
        for node, s in (line.start, line.end):
            if s in ("left", "right"):
                taps.setdefault((node, s), set()).add(line.lane)
    busy: set[tuple[str, str]] = set()
    for u, v, _ in straight:
        nu, nv = graph.node(u), graph.node(v)
        if nu.row == nv.row or nu.column != nv.column:
            busy.update({(u, "left"), (u, "right"), (v, "left"), (v, "right")})
    height = {n.id: sizes[n.id][1] for n in graph}
    for (n, facing), names in taps.items():
        need = 2 * TAP_MARGIN + (len(names) - 1) * TAP_GAP + (2 * CENTRE_GAP if (n, facing) in busy else 0.0)
        height[n] = max(height[n], need)
    return {n: 2.0 * math.ceil(h / 2) for n, h in height.items()}


def _row_centres(graph: Graph, height: dict[str, float], top: float) -> tuple[dict[str, float], float]:
    """The centre of every row from ``top`` down, and the bottom of the last.

    The forward rows stand in the graph's order, the cache row under them;
    the backward rows are mirrored (unit 1 lowest), so each backward fan is
    its forward fan reflected about the cache band.
    """
    tallest: dict[str, float] = {}
    band: dict[str, str] = {}
    for n in graph:
        tallest[n.row] = max(tallest.get(n.row, 0.0), height[n.id])
        band[n.row] = n.band
    y_of: dict[str, float] = {}
    y = top
    for r in (r for r in graph.rows if band.get(r) == "forward"):
        y_of[r] = y + tallest[r] / 2
        y += tallest[r] + ROW_GAP
    fwd_bottom = y - ROW_GAP
    if "cache" in tallest:
        y_of["cache"] = fwd_bottom + BAND_GAP + tallest["cache"] / 2
        y = fwd_bottom + 2 * BAND_GAP + tallest["cache"]
    else:
        y = fwd_bottom + BAND_GAP
    for r in reversed([r for r in graph.rows if band.get(r) == "backward"]):
        y_of[r] = y + tallest[r] / 2
        y += tallest[r] + ROW_GAP
    return y_of, y - ROW_GAP


class _Columns:
    """The x of every column, lane and kept value, placed in one sweep left to right.

    Layer l's linear steps stand in column 4l − 2 and its activations in
    column 4l (the inputs in 0, the loss in 4L + 2), as the builder numbers
    them. ``x`` is where the sweep has got to.
    """

    def __init__(self, graph: Graph, sizes: dict[str, tuple[float, float]], lanes: set[str]) -> None:
        self.graph = graph
        self.sizes = sizes
        self.lanes = lanes
        self.units = {0: sum(1 for n in graph if n.id.startswith("input_"))}
        for n in graph:
            op, layer, _ = role(graph, n.id)
            if op == "z":
                self.units[layer] = self.units.get(layer, 0) + 1
        self.widths: dict[float, float] = {}
        for n in graph:
            if n.band != "cache":
                self.widths[n.column] = max(self.widths.get(n.column, 0.0), sizes[n.id][0])
        self.col_x: dict[float, float] = {}
        self.lane_x: dict[str, float] = {}
        self.cache_x: dict[str, float] = {}
        self.x = 0.0

    def place(self, left: float) -> float:
        """Place everything from ``left``; returns the right edge of the last lane."""
        self.x = left
        self._inputs()
        layers = self.graph.layers()
        for layer in range(1, layers + 1):
            self._fan(layer)
            self._unit_lanes(layer)
            self._activations(layer)
        self._loss(layers)
        return self.x

    def box(self, node_id: str, h: float, row_y: float, text: TextBlock) -> NodeBox:
        """The box of ``node_id``, ``h`` tall: centred in its column (kept values where their bus put them)."""
        n = self.graph.node(node_id)
        w = self.sizes[node_id][0]
        x0 = self.cache_x[node_id] if n.band == "cache" else self.col_x[n.column] + (self._width(n.column) - w) / 2
        cy = round(row_y)
        return NodeBox(node_id, n.kind, n.band, n.layer, n.label, n.plain, float(round(x0)), cy - h / 2,
                       float(round(w)), h, text)

    def _width(self, column: float) -> float:
        """The widest box of a column (the kept values stand apart, under their buses)."""
        return self.widths.get(column, 0.0)

    def _units(self, layer: int) -> int:
        return self.units.get(layer, 0)

    def _lane(self, name: str) -> None:
        """The next lane at ``x``, when some edge runs in it."""
        if name in self.lanes:
            self.lane_x[name] = self.x
            self.x += PITCH

    def _inputs(self) -> None:
        """The inputs' column, the bus of the kept inputs left of it."""
        if "cache.input" in self.graph:
            self.lane_x["bus.cache.input"] = self.x + CACHE_INSET
            self.cache_x["cache.input"] = self.x
            self.x += CACHE_INSET + PAD + 4
        self.col_x[0] = self.x
        self.x += self._width(0)

    def _fan(self, layer: int) -> None:
        """The room of the weight fan into z[l], then z[l]'s column.

        The kept values read across the fan run down beside the columns
        either side of it: the weights of layer l beside the previous
        column, the previous activations beside z[l].
        """
        prev = f"cache.a{layer - 1}" if layer > 1 else "cache.input"
        room = FAN + FAN_PER_UNIT * max(self._units(layer), self._units(layer - 1))
        if f"read.cache.w{layer}" in self.lanes:
            self.lane_x[f"read.cache.w{layer}"] = self.x + PAD
        z_at = self.x + room + (2 * PAD if prev in self.graph else 0.0)
        if f"read.{prev}" in self.lanes:
            self.lane_x[f"read.{prev}"] = z_at - PAD
        self.col_x[4 * layer - 2] = z_at
        self.x = z_at + self._width(4 * layer - 2) + PAD

    def _unit_lanes(self, layer: int) -> None:
        """The gap after z[l]: updates and z ties nested (unit 1 outermost), the kept w and z, the a ties."""
        units = self._units(layer)
        for j in range(units, 0, -1):
            self._lane(f"update.{layer}.{j}")
            self._lane(f"ztie.{layer}.{j}")
        for kept in (f"cache.w{layer}", f"cache.z{layer}"):
            if kept in self.graph:
                self.x += CACHE_INSET
                self.lane_x[f"bus.{kept}"] = self.x
                self.cache_x[kept] = self.x - CACHE_INSET
                self.x = self.x - CACHE_INSET + self.sizes[kept][0] + PITCH
        for j in range(1, units + 1):
            self._lane(f"atie.{layer}.{j}")

    def _activations(self, layer: int) -> None:
        """The bus of the kept a[l], then a[l]'s column; the kept a[l] may reach past the column."""
        kept = f"cache.a{layer}"
        if kept in self.graph:
            self.x += CACHE_INSET
            self.lane_x[f"bus.{kept}"] = self.x
            self.cache_x[kept] = self.x - CACHE_INSET
            self.x += PITCH
        self.x += PAD - PITCH if self.x > self.col_x[4 * layer - 2] else 0.0
        self.col_x[4 * layer] = self.x
        self.x += self._width(4 * layer)
        if kept in self.graph:
            self.x = max(self.x, self.cache_x[kept] + self.sizes[kept][0] + PAD)

    def _loss(self, layers: int) -> None:
        """The loss's column after the last fan, and the lanes right of it (the kept targets right-aligned)."""
        self.x += FAN + FAN_PER_UNIT * self._units(layers)
        column = 4 * layers + 2
        self.col_x[column] = self.x
        self.x += self._width(column) + PAD
        for name in LOSS_LANES:
            if name == "bus.cache.target" and name in self.lanes:
                self.x += CACHE_INSET
                self.lane_x[name] = self.x
                self.cache_x["cache.target"] = self.x + CACHE_INSET - self.sizes["cache.target"][0]
                self.x += PITCH
            else:
                self._lane(name)
