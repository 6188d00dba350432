"""The vectorized view's graph: one node per tensor and op, the layer's math in matrix form.

Each layer l owns two columns, 2l−1 for its linear step and 2l for its
activation; the parameters stand under the ops they feed, the cache in the
middle, and every backward op in the column of the forward op it
differentiates, so derivative links are short and vertical and update edges
go straight up. ``model.build.build_graph`` calls this for the vectorized
view; the numbers, when shown, come from ``model.numeric_pass``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, Unpack

from bpdiagram.model import array_labels
from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    L2,
    LINEAR_FORWARD,
    LOSS_OPS,
    PREVIOUS_GRADIENT,
    RESIDUAL,
    backward_form,
    fill,
    param_gradients,
)
from bpdiagram.model.graph import Edge, Graph, GraphBuilder, Node
from bpdiagram.model.layer_labels import LayerLabels, default_title
from bpdiagram.model.memory import Dims, cache_memory, human
from bpdiagram.model.numeric_pass import Pass, run
from bpdiagram.options import Band, EdgeKind, NodeKind
from bpdiagram.richtext import escape, plain
from bpdiagram.spec.network import NetworkSpec

if TYPE_CHECKING:
    from bpdiagram.model.build import BuildOptions
    from bpdiagram.model.catalogue import Array

ROWS: dict[str, Band] = {"ops": "forward", "params": "forward", "cache": "cache", "chain": "backward",
                         "sums": "backward"}
"""Sub-rows top to bottom, each with its band. Params sit under the ops they feed, so
update edges go straight up from the backward chain; every backward op sits in the
column of the forward op it differentiates, so derivative links are short and vertical."""


class _NodeMore(TypedDict, total=False):
    """What a node of the vectorized view may have besides its place and label."""

    shape: str | None
    """The symbolic shape (``(4, m)``), shown with ``--shapes``."""
    name: str | None
    """The short name its cached copy and a tier's stand-in are labelled with (default: the label's left side)."""
    value: str | None
    """The array as text (numbers on); replaces ``shape``."""
    array: tuple[str, Dims] | None
    """The tensor the node holds and its dimensions (``("A1", (4, "m"))``), for counting the cache's bytes."""


def _held(node: Node) -> tuple[str, Dims]:
    """The tensor ``node`` holds, for its cached copy (every tensor node of this view names one)."""
    if node.array is None or node.dims is None:
        raise ValueError(f"{node.id} holds no tensor to cache")
    return (node.array, node.dims)


class VectorizedBuilder(LayerLabels):
    """One vectorized network's graph, built in passes: forward nodes, backward nodes, then each edge kind."""

    def __init__(self, spec: NetworkSpec, options: BuildOptions) -> None:
        super().__init__(spec)
        self.options = options
        self.show = set(spec.diagram.show)
        self.backward = "backward" in self.show
        self.cache = self.backward and "cache" in self.show
        self.g = GraphBuilder()
        self.k = spec.diagram.backprop_to
        self.loss = LOSS_OPS[spec.loss]
        # a network with conv layers runs its own pass (``model.conv_view``)
        self.numbers: Pass | None = run(spec) if options.values and not spec.conv else None
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
             **more: Unpack[_NodeMore]) -> None:
        """Add a node; ``value`` (numbers on) replaces the symbolic ``shape`` (``--shapes``).

        ``array`` names the tensor the node holds and its dimensions (``("A1", (4, "m"))``),
        which its cached copy carries for ``model.memory``.
        """
        name, value, shape, array = more.get("name"), more.get("value"), more.get("shape"), more.get("array")
        self.names[node_id] = name if name is not None else label.split(" = ")[0].split("\n")[0]
        if value is not None:
            self.blocks[node_id] = value
            label += f"\n{value}"
        elif self.options.shapes and shape:
            label += f"\n{shape}"
        held, dims = array if array is not None else (None, None)
        self.g.add_node(Node(node_id, kind, ROWS[row], row, column, layer, label, plain(label),
                             name=self.names[node_id], array=held, dims=dims))

    def edge(self, kind: EdgeKind, source: str, target: str, label: str = "", *, value: str | None = None) -> None:
        """Add an edge; ``value`` names what flows along it when that is not the source's own name
        (a wrapped diagram labels the edge's stand-in at a tier's edge with it)."""
        if kind in self.show and source in self.g and target in self.g:
            self.g.add_edge(Edge(source, target, kind, kind, label,
                                 value=value if value is not None else self.names[source]))

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
            src = self.g.node(source)
            if label is None:
                label = self.names[source]
                if source in self.blocks:
                    label += "\n" + self.blocks[source]
            elif value is not None:
                label += "\n" + value
            # params and pre-activations step aside so their column keeps a free lane
            # for update edges and derivative links
            column = src.column - 0.25 if src.kind == "param" else src.column
            if source.startswith("Z"):
                column += 0.5
            array = kept if kept is not None else _held(src)
            memory = self.options.memory
            if memory is not None:
                shape = ", ".join(str(d) for d in memory.shape(array[1]))
                label += f"\n({shape})\n{human(memory.nbytes(array[1]))}"
            self.node(cid, "cached", "cache", column + shift, src.layer, label, array=array)
            self.edge("cache", source, cid)
        self.edge("cache", cid, user)

    # -- the graph -----------------------------------------------------------------
    def build(self) -> Graph:
        spec, sym, L = self.spec, self.sym, self.L
        title = spec.title if spec.title is not None else default_title(spec)
        # the row under the chain holds the ``+`` of residual gradients, and only when there are some
        rows = tuple(ROWS) if any(layer.residual for layer in spec.layers) else tuple(ROWS)[:-1]
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
        band_titles: dict[str, str] = {}
        if self.options.memory is not None:
            total = cache_memory(self.g.nodes.values(), self.options.memory).bytes
            band_titles["cache"] = f"CACHE · {human(total)}"
        return self.g.freeze(view="vectorized", title=title, rows=rows, notation=spec.diagram.notation,
                             loss=sym.loss, learning_rate=spec.diagram.learning_rate, fused=self.fused is not None,
                             band_titles=band_titles)

    def block(self, array: Array | None) -> str | None:
        """The array as label text when numbers are on."""
        return array_labels.block(array) if self.numbers is not None and array is not None else None

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
