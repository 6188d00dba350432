"""The element-wise view: one node per unit, one edge per weight, the backward pass unit by unit.

The picture is a grid. Columns, left to right: the input units x_i; for each
layer l a column of linear steps z_j[l] (each with its parameters w_j·[l],
b_j[l] underneath) and a column of activations a_j[l]; the loss, with the
targets y_j under it. Rows: unit j of every layer stands in row ``f<j>`` of
the forward band (its parameters in ``p<j>``) and its backward ops in row
``b<j>`` of the backward band, each under the forward op it differentiates:
dw_j·[l], db_j[l] under z_j[l]; under a_j[l] what the unit receives (da_j[l])
and hands on (dz_j[l]). The cache band is one row holding, per layer, the
vectors the backward pass keeps: every dw_j[l] reads all of a[l−1], so the
kept values are drawn a vector a node.

Per-weight edges (a_i[l−1] → z_j[l] forward, dw_j[l] → da_i[l−1] backward)
are straight lines between neighbouring columns, like the classic picture of
a network. Everything that crosses the bands (cache edges, updates,
derivative links, the loss's gradient) would have to pass the other units of
its column, so it runs in vertical lanes between the columns instead: the
graph declares those corridors and each such edge its lane (``routes``);
the layout draws them. The cache edges of one vector share a lane, like a bus.

Every label comes from the catalogue's element-wise templates, rendered by
``notation.UnitSymbols``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    LOSS_OPS,
    UNIT_LINEAR_FORWARD,
    UNIT_PARAMS,
    UNIT_PREVIOUS_GRADIENT,
    FusedOp,
    unit_param_gradients,
)
from bpdiagram.model.notation import UnitSymbols
from bpdiagram.options import Band, EdgeKind, NodeKind
from bpdiagram.richtext import escape, plain
from bpdiagram.routes import BesideLane, CorridorLane, Lane, Route, Side, Straight
from bpdiagram.spec.network import NetworkSpec

CORRIDOR_ROOM = 40.0
"""Room (px) beside the lanes of a corridor between two layers: the per-weight lines fan out across it."""
CORRIDOR_PER_UNIT = 5.0
"""More room per unit of the taller of the two layers, so dense fans of weights stay apart."""
GAP_ROOM = 8.0
"""Room beside the lanes of the gap between a layer's z and a columns (only z → a crosses it)."""
CACHE_ROW = "cache"
STRAIGHT = Straight()


def forward_row(unit: int) -> str:
    """Row of unit ``unit``'s forward ops: x_j, and z_j, a_j of every layer."""
    return f"f{unit}"


def param_row(unit: int) -> str:
    """Row of unit ``unit``'s parameters, under its linear step (and of target y_j, under the loss)."""
    return f"p{unit}"


def backward_row(unit: int) -> str:
    """Row of unit ``unit``'s backward ops."""
    return f"b{unit}"


def z_column(layer: int) -> int:
    """Column of layer ``layer``'s linear steps and, in the backward band, of their dw, db."""
    return 4 * layer - 2


def a_column(layer: int) -> int:
    """Column of layer ``layer``'s activations (and of da, dz); layer 0's is the input's."""
    return 4 * layer


def corridor_after(layer: int) -> int:
    """Corridor between layer ``layer``'s activations and the next layer's linear steps (or the loss)."""
    return 4 * layer + 1


def gap_of(layer: int) -> int:
    """Corridor between layer ``layer``'s z column and its a column."""
    return 4 * layer - 1


@dataclass(frozen=True)
class _Kept:
    """A vector the backward pass keeps: its cache node, where its lanes run, who feeds and reads it."""

    id: str
    label: str
    layer: int
    column: float
    corridor: int
    lane_in: str
    lane_out: str
    side: Side
    """The cache node's side facing its corridor (both lanes enter and leave by it)."""
    sources: tuple[str, ...]
    source_side: Side
    users: tuple[tuple[str, Side], ...]


@dataclass(frozen=True)
class _LaneRequest:
    """An edge waiting for its lane's slot (slots are numbered once every lane of a corridor is known)."""

    edge: tuple[str, str, EdgeKind]
    column: int
    lane: str
    exit: Side
    enter: Side


def build_elementwise(spec: NetworkSpec, *, shapes: bool, fused: FusedOp | None, title: str) -> nx.MultiDiGraph:
    """The element-wise model of ``spec``; ``fused`` is the output rule in effect (None: the general chain)."""
    return _Builder(spec, shapes=shapes, fused=fused).build(title)


class _Builder:
    def __init__(self, spec: NetworkSpec, *, shapes: bool, fused: FusedOp | None) -> None:
        self.spec = spec
        self.shapes = shapes
        self.fused = fused
        self.sizes = (spec.input.size, *(layer.size for layer in spec.layers))
        self.L = len(spec.layers)
        self.k = spec.diagram.backprop_to
        self.sym = UnitSymbols(spec.diagram.notation, self.sizes, spec.input.name, spec.target)
        self.show = set(spec.diagram.show)
        self.backward = "backward" in self.show
        self.cache = self.backward and "cache" in self.show
        self.loss = LOSS_OPS[spec.loss]
        self.g = nx.MultiDiGraph()
        self.requests: list[_LaneRequest] = []

    # -- helpers -------------------------------------------------------------------------
    def units(self, layer: int) -> range:
        """Unit numbers 1 … n[layer]."""
        return range(1, self.sizes[layer] + 1)

    def output_of(self, layer: int, unit: int) -> str:
        """The forward node whose value is a_unit[layer] (x_unit for layer 0)."""
        return f"input_{unit}" if layer == 0 else f"a{layer}_{unit}"

    def drawn(self, layer: int) -> bool:
        """Whether ``layer``'s backward ops are drawn (the backward pass reaches down to layer k)."""
        return self.backward and layer >= self.k

    def node(self, node_id: str, kind: NodeKind, band: Band, row: str, column: float, layer: int, label: str,
             *, shape: bool = False) -> None:
        if self.shapes and shape:
            label += "\n(1, m)"  # one unit over the m examples
        self.g.add_node(node_id, kind=kind, band=band, row=row, column=column, layer=layer, label=label,
                        plain=plain(label))

    def edge(self, kind: EdgeKind, source: str, target: str, route: Route, label: str = "") -> bool:
        if kind not in self.show or source not in self.g or target not in self.g:
            return False
        self.g.add_edge(source, target, key=kind, kind=kind, label=label, route=route)
        return True

    def lane_edge(self, kind: EdgeKind, source: str, target: str, column: int, lane: str, exit_side: Side,
                  enter_side: Side, label: str = "") -> None:
        """An edge along lane ``lane`` of the corridor at ``column`` (its slot is settled in ``assign_lanes``)."""
        if self.edge(kind, source, target, STRAIGHT, label):
            self.requests.append(_LaneRequest((source, target, kind), column, lane, exit_side, enter_side))

    # -- the graph -------------------------------------------------------------------------
    def build(self, title: str) -> nx.MultiDiGraph:
        kept = self.kept() if self.cache else []
        self.forward_nodes()
        if self.backward:
            self.backward_nodes()
        for item in kept:
            self.node(item.id, "cached", "cache", CACHE_ROW, item.column, item.layer, item.label)
        self.forward_edges()
        if self.backward:
            self.backward_edges()
            self.update_edges()
            self.derivative_links()
        for item in kept:
            self.cache_edges(item)
        corridors = self.assign_lanes()
        widest = max(self.sizes)
        rows = [r for j in range(1, widest + 1) for r in (forward_row(j), param_row(j))]
        rows += [CACHE_ROW] + [backward_row(j) for j in range(1, widest + 1)]
        used = {row for _, row in self.g.nodes(data="row")}
        self.g.graph.update(title=title, rows=tuple(r for r in rows if r in used), view="elementwise",
                            notation=self.spec.diagram.notation, loss=self.sym.loss,
                            learning_rate=self.spec.diagram.learning_rate, fused=self.fused is not None,
                            grid=True, order_weight=1, corridors=corridors)
        return self.g

    def forward_nodes(self) -> None:
        sym, L = self.sym, self.L
        for i in self.units(0):
            self.node(f"input_{i}", "input", "forward", forward_row(i), a_column(0), 0, sym.unit("a", 0, i),
                      shape=True)
        for layer in range(1, L + 1):
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation]
            for j in self.units(layer):
                self.node(f"w{layer}_{j}", "param", "forward", param_row(j), z_column(layer), layer,
                          sym.render(UNIT_PARAMS, layer, j))
                self.node(f"z{layer}_{j}", "op", "forward", forward_row(j), z_column(layer), layer,
                          sym.render(UNIT_LINEAR_FORWARD, layer, j), shape=True)
                self.node(f"a{layer}_{j}", "op", "forward", forward_row(j), a_column(layer), layer,
                          sym.render(act.unit_forward, layer, j), shape=True)
        loss_column = a_column(L) + 2
        self.node("loss", "loss", "forward", forward_row(1), loss_column, L, sym.render(self.loss.unit_forward, L, "j"))
        for j in self.units(L):
            self.node(f"target_{j}", "target", "forward", param_row(j), loss_column, L, sym.target(j), shape=True)

    def backward_nodes(self) -> None:
        sym, L = self.sym, self.L
        dw, db = unit_param_gradients(self.loss)
        for layer in range(self.k, L + 1):
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation]
            for j in self.units(layer):
                if layer == L and self.fused is not None:
                    lines = [sym.render(self.fused.unit_derivative, layer, j)]
                elif layer == L:
                    lines = [sym.render(self.loss.unit_derivative, layer, j), sym.render(act.unit_derivative, layer, j)]
                else:
                    # what unit j receives from every unit of the layer above, then through its activation
                    lines = [sym.render(UNIT_PREVIOUS_GRADIENT, layer + 1, "j", j),
                             sym.render(act.unit_derivative, layer, j)]
                self.node(f"dz{layer}_{j}", "grad", "backward", backward_row(j), a_column(layer), layer,
                          "\n".join(lines), shape=True)
                self.node(f"dw{layer}_{j}", "grad", "backward", backward_row(j), z_column(layer), layer,
                          f"{sym.render(dw, layer, j)}\n{sym.render(db, layer, j)}")

    def forward_edges(self) -> None:
        L = self.L
        for layer in range(1, L + 1):
            for j in self.units(layer):
                for i in self.units(layer - 1):
                    self.edge("forward", self.output_of(layer - 1, i), f"z{layer}_{j}", STRAIGHT)
                self.edge("forward", f"w{layer}_{j}", f"z{layer}_{j}", STRAIGHT)
                self.edge("forward", f"z{layer}_{j}", f"a{layer}_{j}", STRAIGHT)
        for j in self.units(L):
            self.edge("forward", f"a{L}_{j}", "loss", STRAIGHT)
            # the first target stands right under the loss; the others turn up into it beside the first
            into_loss: Route = STRAIGHT if j == 1 else Lane(BesideLane("target_1", "right", j - 2), "right", "bottom")
            self.edge("forward", f"target_{j}", "loss", into_loss)

    def backward_edges(self) -> None:
        L = self.L
        for j in self.units(L):
            self.lane_edge("backward", "loss", f"dz{L}_{j}", corridor_after(L), "gradient", "left", "right")
        for layer in range(L, self.k - 1, -1):
            for j in self.units(layer):
                self.edge("backward", f"dz{layer}_{j}", f"dw{layer}_{j}", STRAIGHT)
                if layer > self.k:
                    for i in self.units(layer - 1):
                        self.edge("backward", f"dw{layer}_{j}", f"dz{layer - 1}_{i}", STRAIGHT)

    def update_edges(self) -> None:
        rate = f"−{escape(self.spec.diagram.learning_rate)}"
        for layer in range(self.k, self.L + 1):
            for j in self.units(layer):
                self.lane_edge("update", f"dw{layer}_{j}", f"w{layer}_{j}", corridor_after(layer - 1),
                               f"update{j}", "left", "left", rate)

    def derivative_links(self) -> None:
        L = self.L
        for layer in range(self.k, L + 1):
            for j in self.units(layer):
                self.lane_edge("derivative", f"z{layer}_{j}", f"dw{layer}_{j}", gap_of(layer), f"dz{j}",
                               "right", "right")
                self.lane_edge("derivative", f"a{layer}_{j}", f"dz{layer}_{j}", gap_of(layer), f"da{j}",
                               "left", "left")
        for j in self.units(L):
            self.lane_edge("derivative", "loss", f"dz{L}_{j}", corridor_after(L) + 2, "loss", "right", "right")

    def kept(self) -> list[_Kept]:
        """Every vector the backward pass keeps, with the ops that read it."""
        L, out = self.L, []
        for layer in range(L + 1):
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation] if layer else None
            fused_here = layer == L and self.fused is not None
            readers: list[tuple[str, Side]] = []
            if act is not None and self.drawn(layer) and (layer == L or "A" in act.uses):
                # g′ reads a (sigmoid, tanh, softmax); at the output, the loss's gradient reads it too
                readers += [(f"dz{layer}_{j}", "right") for j in self.units(layer)]
            if layer < L and self.drawn(layer + 1):  # dw_ji[l+1] = (1/m) Σ dz_j[l+1] a_i[l]
                readers += [(f"dw{layer + 1}_{j}", "left") for j in self.units(layer + 1)]
            if readers:
                sources = tuple(self.output_of(layer, j) for j in self.units(layer))
                out.append(_Kept("cache.input" if layer == 0 else f"cache.a{layer}", self.vector("a", layer), layer,
                                 a_column(layer), corridor_after(layer), "a-in", "a-out", "right", sources, "right",
                                 tuple(readers)))
            if act is not None and self.drawn(layer) and "Z" in act.uses and not fused_here:
                # relu and leaky relu: g′ reads z; kept beside the z column, its lanes in the z–a gap
                out.append(_Kept(f"cache.z{layer}", self.vector("z", layer), layer, z_column(layer) + 0.25,
                                 gap_of(layer), "z-in", "z-out", "right",
                                 tuple(f"z{layer}_{j}" for j in self.units(layer)), "right",
                                 tuple((f"dz{layer}_{j}", "left") for j in self.units(layer))))
            if layer > self.k and self.drawn(layer):
                # da_i[l−1] = Σ_j w_ji[l] dz_j[l] reads the weights
                out.append(_Kept(f"cache.w{layer}", self.sym.weight("w", layer, "j", "i"), layer,
                                 z_column(layer) - 0.25, corridor_after(layer - 1), "w-in", "w-out", "left",
                                 tuple(f"w{layer}_{j}" for j in self.units(layer)), "left",
                                 tuple((f"dz{layer - 1}_{i}", "right") for i in self.units(layer - 1))))
        out.append(_Kept("cache.target", self.vector("y", L), L, a_column(L) + 2, corridor_after(L), "y-in", "y-out",
                         "left", tuple(f"target_{j}" for j in self.units(L)), "left",
                         tuple((f"dz{L}_{j}", "right") for j in self.units(L))))
        return out

    def vector(self, name: str, layer: int) -> str:
        """``a_{1…4}^{[1]}``: every unit of a layer, as the cache keeps it."""
        n = self.sizes[layer]
        index = None if n == 1 else f"1…{n}"
        return self.sym.target(index) if name == "y" else self.sym.unit(name, layer, index)

    def cache_edges(self, item: _Kept) -> None:
        for source in item.sources:
            self.lane_edge("cache", source, item.id, item.corridor, item.lane_in, item.source_side, item.side)
        for user, side in item.users:
            self.lane_edge("cache", item.id, user, item.corridor, item.lane_out, item.side, side)

    # -- lanes ---------------------------------------------------------------------------
    def is_gap(self, column: int) -> bool:
        """Whether ``column`` is the corridor between a layer's z and a columns."""
        return column % 4 == 3 and column < a_column(self.L)

    def lane_plan(self, column: int) -> list[str]:
        """The lanes a corridor may hold, left to right, ordered so their taps cross few other lanes.

        Lanes fed from the left column stand left, those fed from the right
        column right; the z links hug the z column and the a links the a
        column, unit 1 nearest; updates reach their parameters nearest.
        """
        if self.is_gap(column):
            n = self.sizes[(column + 1) // 4]
            return [f"dz{j}" for j in range(1, n + 1)] + ["z-in", "z-out"] + [f"da{j}" for j in range(n, 0, -1)]
        layer = (column - 1) // 4
        if layer >= self.L:  # beside the loss
            return ["a-in", "a-out", "y-out", "gradient", "y-in", "loss"]
        n = self.sizes[layer + 1]
        return ["a-in", "a-out", "w-out"] + [f"update{j}" for j in range(n, 0, -1)] + ["w-in"]

    def assign_lanes(self) -> dict[int, tuple[int, float]]:
        """Give every lane edge its slot: the used lanes of each corridor, in plan order.

        Returns the corridors (column → lanes, room beside them); every
        corridor between two layers is declared, lanes or not, since the
        per-weight lines need the room.
        """
        used: dict[int, set[str]] = {}
        for request in self.requests:
            used.setdefault(request.column, set()).add(request.lane)
        slots = {column: {name: i for i, name in enumerate(n for n in self.lane_plan(column) if n in names)}
                 for column, names in used.items()}
        for request in self.requests:
            u, v, key = request.edge
            lane = CorridorLane(request.column, slots[request.column][request.lane])
            self.g.edges[u, v, key]["route"] = Lane(lane, request.exit, request.enter)
        corridors: dict[int, tuple[int, float]] = {}
        for layer in range(self.L + 1):
            taller = max(self.sizes[layer], self.sizes[layer + 1] if layer < self.L else 1)
            corridors[corridor_after(layer)] = (0, CORRIDOR_ROOM + CORRIDOR_PER_UNIT * taller)
            if layer:
                corridors[gap_of(layer)] = (0, GAP_ROOM)
        for column, names in slots.items():
            room = corridors.get(column, (0, GAP_ROOM))[1]
            corridors[column] = (len(names), room)
        return dict(sorted(corridors.items()))
