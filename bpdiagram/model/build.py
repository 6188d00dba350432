"""Build the backprop graph of a network spec: five edge kinds, three bands.

The graph is a ``networkx.MultiDiGraph`` whose nodes carry ``kind``, ``band``,
``row`` (a sub-row of the band), ``column`` (an ordering hint: layer l owns
columns 2l−1 for its linear step and 2l for its activation), ``layer`` and a
``label`` in richtext markup. Edges carry ``kind`` and an optional ``label``.
Layout reads rows and columns; writers never see the spec. This module builds
the vectorized view; ``model.elementwise`` builds the element-wise one and
``model.expression`` the computational graph of an expression.

With numbers on (``BuildOptions.values``), every tensor node of the vectorized
view also shows its array from ``model.numeric`` (the catalogue's own numpy
rules) as text, so the numbers are part of the model's labels and every writer
shows the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from bpdiagram.model import numbers
from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    LINEAR_FORWARD,
    LOSS_OPS,
    PREVIOUS_GRADIENT,
    FusedOp,
    output_rule,
    param_gradients,
)
from bpdiagram.model.elementwise import build_elementwise
from bpdiagram.model.expression import build_expression_graph
from bpdiagram.model.memory import Dims, MemoryOptions, cache_memory, human
from bpdiagram.model.notation import Symbols
from bpdiagram.model.numeric import Pass, layer_norms, run
from bpdiagram.options import EdgeKind, NodeKind
from bpdiagram.richtext import escape, plain
from bpdiagram.spec.expression import ExpressionSpec
from bpdiagram.spec.network import NetworkSpec

if TYPE_CHECKING:
    from bpdiagram.model.catalogue import Array

ROWS: dict[str, str] = {"ops": "forward", "params": "forward", "cache": "cache", "chain": "backward"}
"""Sub-rows top to bottom, each with its band. Params sit under the ops they feed, so
update edges go straight up from the backward chain; every backward op sits in the
column of the forward op it differentiates, so derivative links are short and vertical."""


@dataclass(frozen=True)
class BuildOptions:
    """Model-level switches that do not come from the spec's ``diagram:`` section."""

    shapes: bool = False
    """Show symbolic shapes such as (n[1], m) = (4, m) on tensor nodes."""
    values: bool = False
    """Show numbers (the spec's ``values:``, else seed 0 and batch 4); they bring concrete shapes with them."""
    memory: MemoryOptions | None = None
    """Show each cached value's shape and bytes at this batch size and dtype, and the total on the cache band."""
    gradient_flow: bool = False
    """Record ‖dW[l]‖_F of every layer drawn (``graph["gradient_flow"]``) for the strip under the backward band."""


def output_fusion(spec: NetworkSpec) -> FusedOp | None:
    """The fused output rule in effect, or None for the general chain."""
    return output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)


def default_title(spec: NetworkSpec) -> str:
    """``2 → 4 tanh → 1 sigmoid, bce``: the network in one line (``, element-wise`` in that view)."""
    parts = [str(spec.input.size)] + [f"{layer.size} {layer.activation}" for layer in spec.layers]
    view = ", element-wise" if spec.diagram.view == "elementwise" else ""
    return " → ".join(parts) + f", {spec.loss}{view}"


def build_graph(spec: NetworkSpec | ExpressionSpec, options: BuildOptions | None = None) -> nx.MultiDiGraph:
    """The model of ``spec``: nodes and edges of every shown kind, in the view the spec asks for."""
    if isinstance(spec, ExpressionSpec):
        return build_expression_graph(spec)
    options = options or BuildOptions()
    if spec.diagram.view == "elementwise":
        title = spec.title if spec.title is not None else default_title(spec)
        g = build_elementwise(spec, shapes=options.shapes, fused=output_fusion(spec), title=title)
    else:
        g = _Builder(spec, options).build()
    if options.gradient_flow:
        g.graph["gradient_flow"] = gradient_norms(spec)
    return g


def gradient_norms(spec: NetworkSpec) -> tuple[tuple[int, float, str | None], ...]:
    """(l, ‖dW[l]‖_F, the node computing dW[l]) for every layer the backward pass reaches.

    The numbers are the spec's (else seed 0 and batch 4). The element-wise view has no single
    node computing dW[l] (None): its bar stands under the layer's backward nodes.
    """
    vectorized = spec.diagram.view == "vectorized"
    return tuple((n.layer, n.dW_norm, f"dW{n.layer}" if vectorized else None) for n in layer_norms(run(spec))
                 if n.layer >= spec.diagram.backprop_to)


class _Builder:
    def __init__(self, spec: NetworkSpec, options: BuildOptions) -> None:
        self.spec = spec
        self.options = options
        self.sym = Symbols(spec.diagram.notation, spec.input.name, spec.target)
        self.show = set(spec.diagram.show)
        self.backward = "backward" in self.show
        self.cache = self.backward and "cache" in self.show
        self.g = nx.MultiDiGraph()
        self.L = len(spec.layers)
        self.k = spec.diagram.backprop_to
        self.fused = output_fusion(spec)
        self.loss = LOSS_OPS[spec.loss]
        self.numbers: Pass | None = run(spec) if options.values else None
        self.names: dict[str, str] = {}
        """Each node's short name (``A^{[1]}``), the label of its cached copy."""
        self.blocks: dict[str, str] = {}
        """Each tensor node's array as text (numbers on), for its cached copy."""

    # -- helpers -----------------------------------------------------------------
    def shape(self, layer: int) -> str:
        """``(4, m)``: rows are units of ``layer`` (0 = input), columns the m examples."""
        return f"({self.spec.sizes[layer]}, m)"

    def dims(self, layer: int) -> Dims:
        """``(4, "m")``: the dimensions of a tensor of ``layer``, for counting the cache's bytes."""
        return (self.spec.sizes[layer], "m")

    def node(self, node_id: str, kind: NodeKind, row: str, column: float, layer: int, label: str,
             *, shape: str | None = None, name: str | None = None, value: str | None = None,
             array: tuple[str, Dims] | None = None) -> None:
        """Add a node; ``value`` (numbers on) replaces the symbolic ``shape`` (``--shapes``).

        ``array`` names the tensor the node holds and its dimensions (``("A1", (4, "m"))``),
        which its cached copy carries for ``model.memory``.
        """
        self.names[node_id] = name if name is not None else label.split(" = ")[0].split("\n")[0]
        if value is not None:
            self.blocks[node_id] = value
            label += f"\n{value}"
        elif self.options.shapes and shape:
            label += f"\n{shape}"
        extra = {"array": array[0], "dims": array[1]} if array is not None else {}
        self.g.add_node(node_id, kind=kind, band=ROWS[row], row=row, column=column, layer=layer, label=label,
                        plain=plain(label), name=self.names[node_id], **extra)

    def edge(self, kind: EdgeKind, source: str, target: str, label: str = "", *, value: str | None = None) -> None:
        """Add an edge; ``value`` names what flows along it when that is not the source's own name
        (a wrapped diagram labels the edge's stand-in at a tier's edge with it)."""
        if kind in self.show and source in self.g and target in self.g:
            self.g.add_edge(source, target, key=kind, kind=kind, label=label,
                            value=value if value is not None else self.names[source])

    def cached(self, source: str, user: str) -> None:
        """Route a kept forward value through its cache node into ``user``."""
        if not self.cache or user not in self.g:
            return
        cid = f"cache.{source}"
        if cid not in self.g:
            src = self.g.nodes[source]
            label = self.names[source]
            if source in self.blocks:
                label += "\n" + self.blocks[source]
            # params and pre-activations step aside so their column keeps a free lane
            # for update edges and derivative links
            column = src["column"] - 0.25 if src["kind"] == "param" else src["column"]
            if source.startswith("Z"):
                column += 0.5
            array = (src["array"], src["dims"])
            memory = self.options.memory
            if memory is not None:
                shape = ", ".join(str(d) for d in memory.shape(array[1]))
                label += f"\n({shape})\n{human(memory.nbytes(array[1]))}"
            self.node(cid, "cached", "cache", column, src["layer"], label, array=array)
            self.edge("cache", source, cid)
        self.edge("cache", cid, user)

    # -- the graph -----------------------------------------------------------------
    def build(self) -> nx.MultiDiGraph:
        spec, sym, L = self.spec, self.sym, self.L
        title = spec.title if spec.title is not None else default_title(spec)
        self.g.graph.update(title=title, rows=tuple(ROWS), notation=spec.diagram.notation, loss=sym.loss,
                            learning_rate=spec.diagram.learning_rate, fused=self.fused is not None)
        self.forward_nodes()
        if self.backward:
            self.backward_nodes()
        self.forward_edges()
        if self.backward:
            self.backward_edges()
            self.cache_edges()
            for layer in range(self.k, L + 1):
                self.edge("update", f"dW{layer}", f"W{layer}", f"−{escape(spec.diagram.learning_rate)}")
            self.derivative_links()
        if self.options.memory is not None:
            total = cache_memory((self.g.nodes[n] for n in self.g.nodes), self.options.memory).bytes
            self.g.graph["band_titles"] = {"cache": f"CACHE · {human(total)}"}
        return self.g

    def block(self, array: Array | None) -> str | None:
        """The array as label text when numbers are on."""
        return numbers.block(array) if self.numbers is not None and array is not None else None

    def forward_nodes(self) -> None:
        spec, sym, p = self.spec, self.sym, self.numbers
        self.node("input", "input", "ops", 0, 0, escape(spec.input.name), shape=self.shape(0),
                  value=self.block(p.X if p else None), array=("X", self.dims(0)))
        for layer, layer_spec in enumerate(spec.layers, start=1):
            act = ACTIVATION_OPS[layer_spec.activation]
            values = p.layers[layer - 1] if p else None
            self.node(f"W{layer}", "param", "params", 2 * layer - 1, layer,
                      f"{sym.symbol('W', layer)}, {sym.symbol('b', layer)}", name=sym.symbol("W", layer),
                      value=numbers.side_by_side(values.W, values.b) if values else None,
                      array=(f"W{layer}", (spec.sizes[layer], spec.sizes[layer - 1])))
            if values:  # only W goes through the cache (for dA[l−1] = W[l]ᵀ dZ[l])
                self.blocks[f"W{layer}"] = numbers.block(values.W)
            self.node(f"Z{layer}", "op", "ops", 2 * layer - 1, layer, sym.render(LINEAR_FORWARD, layer),
                      shape=self.shape(layer), value=self.block(values.Z if values else None),
                      array=(f"Z{layer}", self.dims(layer)))
            self.node(f"A{layer}", "op", "ops", 2 * layer, layer, sym.render(act.forward, layer),
                      shape=self.shape(layer), value=self.block(values.A if values else None),
                      array=(f"A{layer}", self.dims(layer)))
        # the target shares the loss's column (2L+1), so dot keeps Y → J straight up, never leftwards
        self.node("target", "target", "params", 2 * self.L + 1, self.L, escape(spec.target),
                  shape=self.shape(self.L), value=self.block(p.Y if p else None), array=("Y", self.dims(self.L)))
        self.node("loss", "loss", "ops", 2 * self.L + 1, self.L, sym.render(self.loss.forward, self.L),
                  value=f"{sym.loss} = {numbers.scalar(p.J)}" if p else None)

    def backward_nodes(self) -> None:
        sym, L, p = self.sym, self.L, self.numbers
        dw, db = param_gradients(self.loss)
        for layer in range(self.k, L + 1):
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation]
            values = p.layers[layer - 1] if p else None
            rule = self.fused.derivative if layer == L and self.fused is not None else act.derivative
            self.node(f"dZ{layer}", "grad", "chain", 2 * layer, layer, sym.render(rule, layer), shape=self.shape(layer),
                      value=self.block(values.dZ if values else None))
            # the backward of the linear step: dW, db and (below layer k: not drawn) dA[l−1],
            # each followed by its numbers when they are on
            rules = [(sym.render(dw, layer), values.dW if values else None),
                     (sym.render(db, layer), values.db if values else None)]
            if layer > self.k:
                below = p.layers[layer - 2].dA if p else None
                rules.append((sym.render(PREVIOUS_GRADIENT, layer), below))
            label = "\n".join(rule if array is None else f"{rule}\n{numbers.block(array)}" for rule, array in rules)
            self.node(f"dW{layer}", "grad", "chain", 2 * layer - 1, layer, label, name=sym.symbol("dW", layer))
        if self.fused is None:
            # left of the loss's column (where Y and its cache stand), so J → dA[L] never points right
            self.node(f"dA{L}", "grad", "chain", 2 * L + 0.5, L, sym.render(self.loss.derivative, L),
                      shape=self.shape(L), value=self.block(p.layers[-1].dA if p else None))

    def forward_edges(self) -> None:
        prev = "input"
        for layer in range(1, self.L + 1):
            self.edge("forward", prev, f"Z{layer}")
            self.edge("forward", f"W{layer}", f"Z{layer}")
            self.edge("forward", f"Z{layer}", f"A{layer}")
            prev = f"A{layer}"
        self.edge("forward", prev, "loss")
        self.edge("forward", "target", "loss")

    def backward_edges(self) -> None:
        L = self.L
        if self.fused is None:
            self.edge("backward", "loss", f"dA{L}")
            self.edge("backward", f"dA{L}", f"dZ{L}")
        else:
            self.edge("backward", "loss", f"dZ{L}")
        for layer in range(L, self.k - 1, -1):
            self.edge("backward", f"dZ{layer}", f"dW{layer}")
            if layer > self.k:
                self.edge("backward", f"dW{layer}", f"dZ{layer - 1}", value=self.sym.symbol("dA", layer - 1))

    def cache_edges(self) -> None:
        L = self.L
        for layer in range(L, self.k - 1, -1):
            prev = "input" if layer == 1 else f"A{layer - 1}"
            self.cached(prev, f"dW{layer}")
            if layer > self.k:
                self.cached(f"W{layer}", f"dW{layer}")
            act = ACTIVATION_OPS[self.spec.layers[layer - 1].activation]
            if layer == L and self.fused is not None:
                self.cached(f"A{L}", f"dZ{L}")
                self.cached("target", f"dZ{L}")
                continue
            if layer == L:
                self.cached(f"A{L}", f"dA{L}")
                self.cached("target", f"dA{L}")
            for used in act.uses:
                self.cached(f"{used}{layer}", f"dZ{layer}")

    def derivative_links(self) -> None:
        L = self.L
        for layer in range(self.k, L + 1):
            self.edge("derivative", f"Z{layer}", f"dW{layer}")
            self.edge("derivative", f"A{layer}", f"dZ{layer}")
        self.edge("derivative", "loss", f"dZ{L}" if self.fused is not None else f"dA{L}")
