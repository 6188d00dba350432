"""Build the backprop graph of a network spec: five edge kinds, three bands.

The graph is a ``networkx.MultiDiGraph`` whose nodes carry ``kind``, ``band``,
``row`` (a sub-row of the band), ``column`` (an ordering hint: layer l owns
columns 2l−1 for its linear step and 2l for its activation), ``layer`` and a
``label`` in richtext markup. Edges carry ``kind`` and an optional ``label``.
Layout reads rows and columns; writers never see the spec. This module builds
the vectorized view; ``model.elementwise`` builds the element-wise one and
``model.expression`` the computational graph of an expression.

With numbers on (``BuildOptions.values``), every tensor node of the vectorized
view also shows its array from ``model.numeric_pass`` (the catalogue's own numpy
rules) as text, so the numbers are part of the model's labels and every writer
shows the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from bpdiagram.model import array_labels
from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    DROPOUT,
    L2,
    LINEAR_FORWARD,
    LOSS_OPS,
    PREVIOUS_GRADIENT,
    RESIDUAL,
    FusedOp,
    backward_form,
    fill,
    output_rule,
    param_gradients,
)
from bpdiagram.model.elementwise import build_elementwise
from bpdiagram.model.expression import build_expression_graph
from bpdiagram.model.memory import Dims, MemoryOptions, cache_memory, human
from bpdiagram.model.notation import Symbols
from bpdiagram.model.numeric_pass import Pass, layer_norms, run
from bpdiagram.options import EdgeKind, NodeKind
from bpdiagram.richtext import escape, plain
from bpdiagram.spec.expression import ExpressionSpec
from bpdiagram.spec.network import NetworkSpec

if TYPE_CHECKING:
    from bpdiagram.model.catalogue import Array

ROWS: dict[str, str] = {"ops": "forward", "params": "forward", "cache": "cache", "chain": "backward",
                        "sums": "backward"}
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

    def cached(self, source: str, user: str, *, part: str | None = None, label: str | None = None,
               value: str | None = None, shift: float = 0.0, kept: tuple[str, Dims] | None = None) -> None:
        """Route a kept forward value through its cache node into ``user``.

        ``part`` keeps one of several values of the same op (batch norm keeps Ẑ and σ²), under its own
        ``label``, numbers ``value`` and array ``kept`` (name and dimensions, for the memory count),
        ``shift`` columns aside.
        """
        if not self.cache or user not in self.g or source not in self.g:
            return
        cid = f"cache.{source}" + (f".{part}" if part else "")
        if cid not in self.g:
            src = self.g.nodes[source]
            if label is None:
                label = self.names[source]
                if source in self.blocks:
                    label += "\n" + self.blocks[source]
            elif value is not None:
                label += "\n" + value
            # params and pre-activations step aside so their column keeps a free lane
            # for update edges and derivative links
            column = src["column"] - 0.25 if src["kind"] == "param" else src["column"]
            if source.startswith("Z"):
                column += 0.5
            array = kept if kept is not None else (src["array"], src["dims"])
            memory = self.options.memory
            if memory is not None:
                shape = ", ".join(str(d) for d in memory.shape(array[1]))
                label += f"\n({shape})\n{human(memory.nbytes(array[1]))}"
            self.node(cid, "cached", "cache", column + shift, src["layer"], label, array=array)
            self.edge("cache", source, cid)
        self.edge("cache", cid, user)

    # -- the graph -----------------------------------------------------------------
    def build(self) -> nx.MultiDiGraph:
        spec, sym, L = self.spec, self.sym, self.L
        title = spec.title if spec.title is not None else default_title(spec)
        # the row under the chain holds the ``+`` of residual gradients, and only when there are some
        rows = tuple(ROWS) if any(layer.residual for layer in spec.layers) else tuple(ROWS)[:-1]
        self.g.graph.update(title=title, rows=rows, notation=spec.diagram.notation, loss=sym.loss,
                            learning_rate=spec.diagram.learning_rate, fused=self.fused is not None)
        self.forward_nodes()
        if self.backward:
            self.backward_nodes()
        self.forward_edges()
        if self.backward:
            self.backward_edges()
            self.cache_edges()
            rate = f"−{escape(spec.diagram.learning_rate)}"
            for layer in range(self.k, L + 1):
                self.edge("update", f"dW{layer}", f"W{layer}", rate)
                self.edge("update", f"dG{layer}", f"G{layer}", rate)
            self.derivative_links()
        if self.options.memory is not None:
            total = cache_memory((self.g.nodes[n] for n in self.g.nodes), self.options.memory).bytes
            self.g.graph["band_titles"] = {"cache": f"CACHE · {human(total)}"}
        return self.g

    def block(self, array: Array | None) -> str | None:
        """The array as label text when numbers are on."""
        return array_labels.block(array) if self.numbers is not None and array is not None else None

    # -- what §11 changes in a layer: g's argument, its gradient, the skip sums ------------------
    def argument(self, layer: int) -> str:
        """g's argument in ``layer``: Z[l], Z̃[l] with batch norm, plus A[k] with a residual (markup)."""
        spec = self.spec.layers[layer - 1]
        base = self.sym.symbol("T" if spec.batchnorm else "Z", layer)
        if spec.residual is None:
            return base
        return fill(RESIDUAL.argument, base=base, skip=self.sym.symbol("A", spec.residual))

    def argument_gradient(self, layer: int) -> str:
        """The gradient of g's argument as drawn: dZ̃[l] with batch norm, else dZ[l]."""
        return self.sym.symbol("dT" if self.spec.layers[layer - 1].batchnorm else "dZ", layer)

    def skips_into(self, layer: int) -> list[int]:
        """Layers whose residual takes A[``layer``] forward (their gradients are summed into dA[layer])."""
        return [n for n, s in enumerate(self.spec.layers, start=1) if s.residual == layer]

    def activation_label(self, layer: int) -> str:
        spec = self.spec.layers[layer - 1]
        act = ACTIVATION_OPS[spec.activation]
        rendered = self.sym.render(act.forward, layer, argument=self.argument(layer))
        if spec.dropout is None:
            return rendered
        g = rendered.split(" = ", 1)[1]
        if _top_level_sum(plain(g)):  # a linear layer's Z[l] + A[k]: D ⊙ (Z + A) / keep
            g = f"({g})"
        return self.sym.render(fill(DROPOUT.forward, g=g, keep=f"{spec.dropout:g}"), layer)

    def activation_gradient_label(self, layer: int) -> str:
        spec = self.spec.layers[layer - 1]
        act = ACTIVATION_OPS[spec.activation]
        gradient = self.argument_gradient(layer)
        if layer == self.L and self.fused is not None:
            return self.sym.render(self.fused.derivative, layer, gradient=gradient)
        form = backward_form(spec.activation, dropout=spec.dropout is not None, residual=spec.residual is not None)
        if form == "output" and act.output_derivative is not None:
            return self.sym.render(act.output_derivative, layer, gradient=gradient)
        if spec.dropout is None:
            return self.sym.render(act.derivative, layer, argument=self.argument(layer), gradient=gradient)
        slope = f" ⊙ {act.slope}" if act.slope else ""
        return self.sym.render(fill(DROPOUT.derivative, keep=f"{spec.dropout:g}", slope=slope), layer,
                               argument=self.argument(layer), gradient=gradient)

    def forward_nodes(self) -> None:
        spec, sym, p = self.spec, self.sym, self.numbers
        self.node("input", "input", "ops", 0, 0, escape(spec.input.name), shape=self.shape(0),
                  value=self.block(p.X if p else None), array=("X", self.dims(0)))
        for layer, layer_spec in enumerate(spec.layers, start=1):
            values = p.layers[layer - 1] if p else None
            bn = layer_spec.batchnorm
            if bn:
                self.node(f"W{layer}", "param", "params", 2 * layer - 1, layer, sym.symbol("W", layer),
                          value=self.block(values.W if values else None),
                          array=(f"W{layer}", (spec.sizes[layer], spec.sizes[layer - 1])))
            else:
                self.node(f"W{layer}", "param", "params", 2 * layer - 1, layer,
                          f"{sym.symbol('W', layer)}, {sym.symbol('b', layer)}", name=sym.symbol("W", layer),
                          value=array_labels.side_by_side(values.W, values.b) if values else None,
                          array=(f"W{layer}", (spec.sizes[layer], spec.sizes[layer - 1])))
            if values:  # only W goes through the cache (for dA[l−1] = W[l]ᵀ dZ[l])
                self.blocks[f"W{layer}"] = array_labels.block(values.W)
            self.node(f"Z{layer}", "op", "ops", 2 * layer - 1, layer,
                      sym.render(BATCHNORM.linear if bn else LINEAR_FORWARD, layer),
                      shape=self.shape(layer), value=self.block(values.Z if values else None),
                      array=(f"Z{layer}", self.dims(layer)))
            if bn:
                gamma = values.gamma if values else None
                beta = values.beta if values else None
                self.node(f"G{layer}", "param", "params", 2 * layer - 0.5, layer, sym.render(BATCHNORM.params, layer),
                          name=sym.symbol("G", layer),
                          value=(array_labels.side_by_side(gamma, beta)
                                 if gamma is not None and beta is not None else None),
                          array=(f"gamma{layer}", (spec.sizes[layer], 1)))
                if gamma is not None:
                    self.blocks[f"G{layer}"] = array_labels.block(gamma)
                self.node(f"BN{layer}", "op", "ops", 2 * layer - 0.5, layer, sym.render(BATCHNORM.forward, layer),
                          shape=self.shape(layer), name=sym.symbol("N", layer),
                          value=self.block(values.Zt if values else None), array=(f"Zbn{layer}", self.dims(layer)))
            if layer_spec.dropout is not None:
                self.node(f"D{layer}", "input", "params", 2 * layer, layer, sym.symbol("D", layer),
                          shape=self.shape(layer), value=self.block(values.D if values else None),
                          array=(f"D{layer}", self.dims(layer)))
            self.node(f"A{layer}", "op", "ops", 2 * layer, layer, self.activation_label(layer),
                      shape=self.shape(layer), value=self.block(values.A if values else None),
                      array=(f"A{layer}", self.dims(layer)))
        # the target shares the loss's column (2L+1), so dot keeps Y → J straight up, never leftwards
        self.node("target", "target", "params", 2 * self.L + 1, self.L, escape(spec.target),
                  shape=self.shape(self.L), value=self.block(p.Y if p else None), array=("Y", self.dims(self.L)))
        label = sym.render(self.loss.forward, self.L)
        if spec.l2 is not None:
            averaged = self.loss.scale_label != ""
            label += "\n" + sym.render(L2.penalty[averaged]) + f", λ = {spec.l2:g}"
        self.node("loss", "loss", "ops", 2 * self.L + 1, self.L, label,
                  value=f"{sym.loss} = {array_labels.scalar(p.J)}" if p else None)

    def backward_nodes(self) -> None:
        sym, L, p = self.sym, self.L, self.numbers
        dw, db = param_gradients(self.loss)
        if self.spec.l2 is not None:
            dw += L2.weight_gradient[self.loss.scale_label != ""]
        for layer in range(self.k, L + 1):
            layer_spec = self.spec.layers[layer - 1]
            values = p.layers[layer - 1] if p else None
            first = values.dZt if values and layer_spec.batchnorm else values.dZ if values else None
            self.node(f"dZ{layer}", "grad", "chain", 2 * layer, layer, self.activation_gradient_label(layer),
                      shape=self.shape(layer), value=self.block(first))
            if layer_spec.batchnorm:
                scale = self.loss.scale_label
                rules = [(sym.render(fill(BATCHNORM.gamma_gradient, scale=scale), layer),
                          values.dgamma if values else None),
                         (sym.render(fill(BATCHNORM.beta_gradient, scale=scale), layer),
                          values.dbeta if values else None),
                         (sym.render(BATCHNORM.derivative, layer), values.dZ if values else None)]
                self.node(f"dG{layer}", "grad", "chain", 2 * layer - 0.5, layer, self._stack(rules),
                          name=sym.symbol("dZ", layer))
            # the backward of the linear step: dW, db and (below layer k: not drawn) dA[l−1],
            # each followed by its numbers when they are on
            rules = [(sym.render(dw, layer), values.dW if values else None)]
            if not layer_spec.batchnorm:
                rules.append((sym.render(db, layer), values.db if values else None))
            if layer > self.k:
                below = p.layers[layer - 2] if p else None
                main = below.dA_main if below is not None and below.dA_main is not None else \
                    below.dA if below is not None else None
                rule = sym.render(PREVIOUS_GRADIENT, layer)
                if main is None and self.options.shapes:  # dA[l−1] is a tensor like dZ[l]: its shape (dW, db: none)
                    rule += f"\n{self.shape(layer - 1)}"
                rules.append((rule, main))
            self.node(f"dW{layer}", "grad", "chain", 2 * layer - 1, layer, self._stack(rules),
                      name=sym.symbol("dW", layer))
            skips = self.skips_into(layer)
            if skips:
                grads = " + ".join(self.argument_gradient(n) for n in skips)
                self.node(f"sum{layer}", "sum", "sums", 2 * layer + 0.5, layer,
                          fill(RESIDUAL.sum, skip_grad=sym.symbol("dA", layer), grad=grads),
                          name=sym.symbol("dA", layer), value=self.block(values.dA if values else None))
        if self.fused is None:
            # left of the loss's column (where Y and its cache stand), so J → dA[L] never points right
            self.node(f"dA{L}", "grad", "chain", 2 * L + 0.5, L, sym.render(self.loss.derivative, L),
                      shape=self.shape(L), value=self.block(p.layers[-1].dA if p else None))

    @staticmethod
    def _stack(rules: list[tuple[str, Array | None]]) -> str:
        """Backward rules one under the other, each followed by its numbers when they are on."""
        return "\n".join(rule if array is None else f"{rule}\n{array_labels.block(array)}" for rule, array in rules)

    def forward_edges(self) -> None:
        prev = "input"
        for layer, spec in enumerate(self.spec.layers, start=1):
            self.edge("forward", prev, f"Z{layer}")
            self.edge("forward", f"W{layer}", f"Z{layer}")
            if spec.batchnorm:
                self.edge("forward", f"Z{layer}", f"BN{layer}")
                self.edge("forward", f"G{layer}", f"BN{layer}")
                self.edge("forward", f"BN{layer}", f"A{layer}", value=self.sym.symbol("T", layer))
            else:
                self.edge("forward", f"Z{layer}", f"A{layer}")
            self.edge("forward", f"D{layer}", f"A{layer}")
            if spec.residual is not None:
                self.edge("forward", f"A{spec.residual}", f"A{layer}")
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
            spec = self.spec.layers[layer - 1]
            if spec.batchnorm:
                self.edge("backward", f"dZ{layer}", f"dG{layer}")
                self.edge("backward", f"dG{layer}", f"dW{layer}")
            else:
                self.edge("backward", f"dZ{layer}", f"dW{layer}")
            if spec.residual is not None:
                self.edge("backward", f"dZ{layer}", f"sum{spec.residual}", value=self.argument_gradient(layer))
            if layer > self.k:
                below = f"sum{layer - 1}" if f"sum{layer - 1}" in self.g else f"dZ{layer - 1}"
                main = self.sym.symbol("dA", layer - 1)
                self.edge("backward", f"dW{layer}", below, value=main)
                self.edge("backward", f"sum{layer - 1}", f"dZ{layer - 1}", value=main)

    def cache_edges(self) -> None:
        L, sym, p = self.L, self.sym, self.numbers
        for layer in range(L, self.k - 1, -1):
            spec = self.spec.layers[layer - 1]
            values = p.layers[layer - 1] if p else None
            prev = "input" if layer == 1 else f"A{layer - 1}"
            self.cached(prev, f"dW{layer}")
            if layer > self.k or self.spec.l2 is not None:
                self.cached(f"W{layer}", f"dW{layer}")
            act = ACTIVATION_OPS[spec.activation]
            if layer == L and self.fused is not None:
                self.cached(f"A{L}", f"dZ{L}")
                self.cached("target", f"dZ{L}")
            else:
                if layer == L:
                    self.cached(f"A{L}", f"dA{L}")
                    self.cached("target", f"dA{L}")
                form = backward_form(spec.activation, dropout=spec.dropout is not None,
                                     residual=spec.residual is not None)
                reads_argument = (form == "dropout" and act.slope) or (form == "plain" and "Z" in act.uses)
                if reads_argument:
                    if spec.batchnorm:
                        self.cached(f"BN{layer}", f"dZ{layer}", part="Zt", label=sym.symbol("T", layer),
                                    value=self.block(values.Zt if values else None), shift=0.25,
                                    kept=(f"Zbn{layer}", self.dims(layer)))
                    else:
                        self.cached(f"Z{layer}", f"dZ{layer}")
                    if spec.residual is not None:
                        self.cached(f"A{spec.residual}", f"dZ{layer}")
                if form == "output" or (form == "plain" and "A" in act.uses):
                    self.cached(f"A{layer}", f"dZ{layer}")
                self.cached(f"D{layer}", f"dZ{layer}")
            if spec.batchnorm:
                self.cached(f"BN{layer}", f"dG{layer}", part="Zhat", label=sym.symbol("N", layer),
                            value=self.block(values.Zhat if values else None), shift=-0.25,
                            kept=(f"Znorm{layer}", self.dims(layer)))
                self.cached(f"BN{layer}", f"dG{layer}", part="var", label=sym.symbol("V", layer),
                            value=self.block(values.var if values else None),
                            kept=(f"var{layer}", (self.spec.sizes[layer], 1)))
                self.cached(f"G{layer}", f"dG{layer}")

    def derivative_links(self) -> None:
        L = self.L
        for layer in range(self.k, L + 1):
            self.edge("derivative", f"Z{layer}", f"dW{layer}")
            self.edge("derivative", f"BN{layer}", f"dG{layer}")
            self.edge("derivative", f"A{layer}", f"dZ{layer}")
        self.edge("derivative", "loss", f"dZ{L}" if self.fused is not None else f"dA{L}")


def _top_level_sum(text: str) -> bool:
    """``Z + A`` is a sum at the top level; ``tanh(Z + A)`` is not."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if depth == 0 and text.startswith((" + ", " − "), i):
            return True
    return False
