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
join neighbouring columns, like the classic picture of a network. Where
every other edge runs (lanes in the gap between a layer's z and a columns,
buses into the kept vectors) is the layout's business: ``layout.grid``.

Every label comes from the catalogue's element-wise templates, rendered by
``notation.UnitSymbols``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, Unpack

from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    LOSS_OPS,
    UNIT_LINEAR_FORWARD,
    UNIT_PARAMS,
    UNIT_PREVIOUS_GRADIENT,
    FusedOp,
    unit_param_gradients,
)
from bpdiagram.model.graph import Edge, Graph, GraphBuilder, Node
from bpdiagram.model.notation import UnitSymbols
from bpdiagram.options import Band, EdgeKind, NodeKind
from bpdiagram.richtext import escape, plain
from bpdiagram.spec.network import NetworkSpec

CACHE_ROW = "cache"


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




@dataclass(frozen=True)
class _Kept:
    """A vector the backward pass keeps: its cache node, who feeds and who reads it."""

    id: str
    label: str
    layer: int
    column: float
    sources: tuple[str, ...]
    users: tuple[str, ...]


def build_elementwise(spec: NetworkSpec, *, shapes: bool, fused: FusedOp | None, title: str) -> Graph:
    """The element-wise model of ``spec``; ``fused`` is the output rule in effect (None: the general chain)."""
    return ElementwiseBuilder(spec, shapes=shapes, fused=fused).build(title)


class _UnitMore(TypedDict, total=False):
    """What a node of the element-wise view may have besides its place and label."""

    shape: bool
    """Show its shape, (1, m): one unit over the m examples (with ``--shapes``)."""
    unit: tuple[str, int]
    """What it is for one unit and the unit's number (``("z", 2)``), which the grid places it by."""


class ElementwiseBuilder:
    """One element-wise network's graph, built in passes: forward units, backward units, kept values, edges."""

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
        self.g = GraphBuilder()

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
             **more: Unpack[_UnitMore]) -> None:
        if self.shapes and more.get("shape"):
            label += "\n(1, m)"  # one unit over the m examples
        self.g.add_node(Node(node_id, kind, band, row, column, layer, label, plain(label), unit=more.get("unit")))

    def edge(self, kind: EdgeKind, source: str, target: str, label: str = "") -> None:
        if kind in self.show and source in self.g and target in self.g:
            self.g.add_edge(Edge(source, target, kind, kind, label))

    # -- the graph -------------------------------------------------------------------------
    def build(self, title: str) -> Graph:
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
        widest = max(self.sizes)
        rows = [r for j in range(1, widest + 1) for r in (forward_row(j), param_row(j))]
        rows += [CACHE_ROW] + [backward_row(j) for j in range(1, widest + 1)]
        used = {n.row for n in self.g.nodes.values()}
        return self.g.freeze(view="elementwise", title=title, rows=tuple(r for r in rows if r in used),
                             notation=self.spec.diagram.notation, loss=self.sym.loss,
                             learning_rate=self.spec.diagram.learning_rate, fused=self.fused is not None)

    def forward_nodes(self) -> None:
        sym, L = self.sym, self.L
        for i in self.units(0):
            self.node(f"input_{i}", "input", "forward", forward_row(i), a_column(0), 0, sym.unit("a", 0, i),
                      shape=True, unit=("input", i))
        for layer in range(1, L + 1):
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation]
            for j in self.units(layer):
                self.node(f"w{layer}_{j}", "param", "forward", param_row(j), z_column(layer), layer,
                          sym.render(UNIT_PARAMS, layer, j), unit=("w", j))
                self.node(f"z{layer}_{j}", "op", "forward", forward_row(j), z_column(layer), layer,
                          sym.render(UNIT_LINEAR_FORWARD, layer, j), shape=True, unit=("z", j))
                self.node(f"a{layer}_{j}", "op", "forward", forward_row(j), a_column(layer), layer,
                          sym.render(act.unit_forward, layer, j), shape=True, unit=("a", j))
        loss_column = a_column(L) + 2
        self.node("loss", "loss", "forward", forward_row(1), loss_column, L, sym.render(self.loss.unit_forward, L, "j"))
        for j in self.units(L):
            self.node(f"target_{j}", "target", "forward", param_row(j), loss_column, L, sym.target(j), shape=True,
                      unit=("target", j))

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
                          "\n".join(lines), shape=True, unit=("dz", j))
                self.node(f"dw{layer}_{j}", "grad", "backward", backward_row(j), z_column(layer), layer,
                          f"{sym.render(dw, layer, j)}\n{sym.render(db, layer, j)}", unit=("dw", j))

    def forward_edges(self) -> None:
        L = self.L
        for layer in range(1, L + 1):
            for j in self.units(layer):
                for i in self.units(layer - 1):
                    self.edge("forward", self.output_of(layer - 1, i), f"z{layer}_{j}")
                self.edge("forward", f"w{layer}_{j}", f"z{layer}_{j}")
                self.edge("forward", f"z{layer}_{j}", f"a{layer}_{j}")
        for j in self.units(L):
            self.edge("forward", f"a{L}_{j}", "loss")
            self.edge("forward", f"target_{j}", "loss")

    def backward_edges(self) -> None:
        L = self.L
        for j in self.units(L):
            self.edge("backward", "loss", f"dz{L}_{j}")
        for layer in range(L, self.k - 1, -1):
            for j in self.units(layer):
                self.edge("backward", f"dz{layer}_{j}", f"dw{layer}_{j}")
                if layer > self.k:
                    for i in self.units(layer - 1):
                        self.edge("backward", f"dw{layer}_{j}", f"dz{layer - 1}_{i}")

    def update_edges(self) -> None:
        rate = f"−{escape(self.spec.diagram.learning_rate)}"
        for layer in range(self.k, self.L + 1):
            for j in self.units(layer):
                self.edge("update", f"dw{layer}_{j}", f"w{layer}_{j}", rate)

    def derivative_links(self) -> None:
        L = self.L
        for layer in range(self.k, L + 1):
            for j in self.units(layer):
                self.edge("derivative", f"z{layer}_{j}", f"dw{layer}_{j}")
                self.edge("derivative", f"a{layer}_{j}", f"dz{layer}_{j}")
        for j in self.units(L):
            self.edge("derivative", "loss", f"dz{L}_{j}")

    def kept(self) -> list[_Kept]:
        """Every vector the backward pass keeps, with the ops that read it."""
        L, out = self.L, []
        for layer in range(L + 1):
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation] if layer else None
            fused_here = layer == L and self.fused is not None
            readers: list[str] = []
            if act is not None and self.drawn(layer) and (layer == L or "A" in act.uses):
                # g′ reads a (sigmoid, tanh, softmax); at the output, the loss's gradient reads it too
                readers += [f"dz{layer}_{j}" for j in self.units(layer)]
            if layer < L and self.drawn(layer + 1):  # dw_ji[l+1] = (1/m) Σ dz_j[l+1] a_i[l]
                readers += [f"dw{layer + 1}_{j}" for j in self.units(layer + 1)]
            if readers:
                sources = tuple(self.output_of(layer, j) for j in self.units(layer))
                out.append(_Kept("cache.input" if layer == 0 else f"cache.a{layer}", self.vector("a", layer), layer,
                                 a_column(layer), sources, tuple(readers)))
            if act is not None and self.drawn(layer) and "Z" in act.uses and not fused_here:
                # relu and leaky relu: g′ reads z; kept beside the z column
                out.append(_Kept(f"cache.z{layer}", self.vector("z", layer), layer, z_column(layer) + 0.25,
                                 tuple(f"z{layer}_{j}" for j in self.units(layer)),
                                 tuple(f"dz{layer}_{j}" for j in self.units(layer))))
            if layer > self.k and self.drawn(layer):
                # da_i[l−1] = Σ_j w_ji[l] dz_j[l] reads the weights
                out.append(_Kept(f"cache.w{layer}", self.sym.weight("w", layer, "j", "i"), layer,
                                 z_column(layer) - 0.25, tuple(f"w{layer}_{j}" for j in self.units(layer)),
                                 tuple(f"dz{layer - 1}_{i}" for i in self.units(layer - 1))))
        out.append(_Kept("cache.target", self.vector("y", L), L, a_column(L) + 2,
                         tuple(f"target_{j}" for j in self.units(L)), tuple(f"dz{L}_{j}" for j in self.units(L))))
        return out

    def vector(self, name: str, layer: int) -> str:
        """``a_{1…4}^{[1]}``: every unit of a layer, as the cache keeps it."""
        n = self.sizes[layer]
        index = None if n == 1 else f"1…{n}"
        return self.sym.target(index) if name == "y" else self.sym.unit(name, layer, index)

    def cache_edges(self, item: _Kept) -> None:
        for source in item.sources:
            self.edge("cache", source, item.id)
        for user in item.users:
            self.edge("cache", item.id, user)
