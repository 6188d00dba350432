"""The vectorized view of a network with conv, pooling and flatten layers.

The same grammar as every dense network (``model.vectorized``): layer l owns
columns 2l−1 (its linear step: Z[l] = W[l] ∗ A[l−1] + b[l] for conv) and 2l
(its activation); a pooling or flatten layer has one op, A[l], in column 2l.
Backward ops stand under the forward op they differentiate: dZ[l] under A[l],
dW[l], db[l] and dA[l−1] under Z[l], and a pooling layer's dA[l−1] under its
A[l], reading the argmax mask M[l] that max pooling keeps in the cache.
Feature maps are C×H×W×m (``--shapes``), and with numbers the small ones are
drawn as blocks, the first example's maps side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpdiagram.model import array_labels
from bpdiagram.model.catalogue import ACTIVATION_OPS, CONV, LINEAR_FORWARD, POOL_OPS, fill, param_gradients
from bpdiagram.model.catalogue import PREVIOUS_GRADIENT as DENSE_PREVIOUS
from bpdiagram.model.conv_pass import ConvLayerPass, ConvPass, run_conv
from bpdiagram.model.memory import Dims
from bpdiagram.model.vectorized import VectorizedBuilder
from bpdiagram.richtext import escape

if TYPE_CHECKING:
    from bpdiagram.model.build import BuildOptions
    from bpdiagram.model.catalogue import Array
    from bpdiagram.spec.network import NetworkSpec

__all__ = ["ConvBuilder"]


class ConvBuilder(VectorizedBuilder):
    """The vectorized graph of a network whose input is a feature map (``input: {shape: [C, H, W]}``)."""

    def __init__(self, spec: NetworkSpec, options: BuildOptions) -> None:
        super().__init__(spec, options)
        self.cp: ConvPass | None = run_conv(spec) if options.values else None

    # -- shapes and numbers --------------------------------------------------------
    def shape(self, layer: int) -> str:
        """``2×4×4×m`` for a feature map (C×H×W×m), ``(8, m)`` for a vector."""
        shape = self.spec.shapes()[layer]
        return "×".join(str(n) for n in shape) + "×m" if len(shape) == 3 else f"({shape[0]}, m)"

    def dims(self, layer: int) -> Dims:
        """(C, H, W, ``m``) or (n, ``m``): what the cache's bytes are counted from."""
        return (*self.spec.shapes()[layer], "m")

    def block(self, array: Array | None) -> str | None:
        """Any array as label text (``array_labels.tensor_block``) when numbers are on."""
        return array_labels.tensor_block(array) if self.cp is not None and array is not None else None

    @staticmethod
    def _stack(rules: list[tuple[str, Array | None]], *, filters: bool = True) -> str:
        """Backward rules one under the other, each followed by its numbers (any rank) when they are on.

        With ``filters`` the first rule is a conv layer's dW, whose 4-D array is the filters (F×C×k×k);
        every other 4-D array is a batch of feature maps.
        """
        out = []
        for i, (rule, array) in enumerate(rules):
            if array is None:
                out.append(rule)
            elif array.ndim == 4 and i == 0 and filters:
                out.append(f"{rule}\n{array_labels.filter_block(array)}")
            else:
                out.append(f"{rule}\n{array_labels.tensor_block(array)}")
        return "\n".join(out)

    def _values(self, layer: int) -> ConvLayerPass | None:
        return self.cp.layers[layer - 1] if self.cp is not None else None

    def _param_dims(self, layer: int) -> Dims:
        spec = self.spec.layers[layer - 1]
        below = self.spec.shapes()[layer - 1]
        if spec.type == "conv":
            return (spec.filters, below[0], spec.kernel, spec.kernel)
        return (spec.size, self.spec.sizes[layer - 1])

    def _window(self, layer: int) -> str:
        spec = self.spec.layers[layer - 1]
        if spec.type == "conv":
            return fill(CONV.window, filters=str(spec.filters), kernel=str(spec.kernel), stride=str(spec.stride),
                        padding=str(spec.padding))
        return fill(POOL_OPS[spec.type].window, kernel=str(spec.kernel), stride=str(spec.stride))

    def _entry(self, layer: int) -> str:
        """The backward node that receives dA[``layer``]."""
        return f"dZ{layer}" if self.spec.layers[layer - 1].type in ("conv", "dense") else f"dP{layer}"

    # -- the graph -----------------------------------------------------------------
    def forward_nodes(self) -> None:
        spec, sym, p = self.spec, self.sym, self.cp
        self.node("input", "input", "ops", 0, 0, escape(spec.input.name), shape=self.shape(0),
                  value=self.block(p.X if p else None), array=("X", self.dims(0)))
        for layer, layer_spec in enumerate(spec.layers, start=1):
            values = self._values(layer)
            if layer_spec.type in ("conv", "dense"):
                params = f"{sym.symbol('W', layer)}, {sym.symbol('b', layer)}"
                shown = None
                if values is not None and values.W is not None and values.b is not None:
                    if layer_spec.type == "conv":
                        shown = f"{array_labels.filter_block(values.W)}\n{array_labels.tensor_block(values.b)}"
                        self.blocks[f"W{layer}"] = array_labels.filter_block(values.W)
                    else:
                        shown = array_labels.side_by_side(values.W, values.b)
                        self.blocks[f"W{layer}"] = array_labels.block(values.W)
                self.node(f"W{layer}", "param", "params", 2 * layer - 1, layer, params, name=sym.symbol("W", layer),
                          value=shown, array=(f"W{layer}", self._param_dims(layer)))
                label = sym.render(CONV.forward if layer_spec.type == "conv" else LINEAR_FORWARD, layer)
                if layer_spec.type == "conv":
                    label += "\n" + self._window(layer)
                self.node(f"Z{layer}", "op", "ops", 2 * layer - 1, layer, label, shape=self.shape(layer),
                          name=sym.symbol("Z", layer), value=self.block(values.Z if values else None),
                          array=(f"Z{layer}", self.dims(layer)))
                label = self.activation_label(layer)
            else:
                label = sym.render(POOL_OPS[layer_spec.type].forward, layer)
                if layer_spec.type != "flatten":
                    label += "\n" + self._window(layer)
            self.node(f"A{layer}", "op", "ops", 2 * layer, layer, label, shape=self.shape(layer),
                      name=sym.symbol("A", layer), value=self.block(values.A if values else None),
                      array=(f"A{layer}", self.dims(layer)))
        L = self.L
        self.node("target", "target", "params", 2 * L + 1, L, escape(spec.target),
                  shape=self.shape(L), value=self.block(p.Y if p else None), array=("Y", self.dims(L)))
        self.node("loss", "loss", "ops", 2 * L + 1, L, sym.render(self.loss.forward, L),
                  value=f"{sym.loss} = {array_labels.scalar(p.J)}" if p else None)

    def backward_nodes(self) -> None:
        sym, L = self.sym, self.L
        dw, db = param_gradients(self.loss)
        for layer in range(self.k, L + 1):
            layer_spec = self.spec.layers[layer - 1]
            values = self._values(layer)
            below = self._values(layer - 1) if layer > 1 else None
            handed = below.dA if below is not None else None  # dA[l−1], as the layer below receives it
            if layer_spec.type not in ("conv", "dense"):
                if layer > self.k:
                    rule = sym.render(fill(POOL_OPS[layer_spec.type].backward, k2=str(layer_spec.kernel ** 2)),
                                      layer)
                    if handed is None and self.options.shapes:
                        rule += f"\n{self.shape(layer - 1)}"
                    label = self._stack([(rule, handed)], filters=False)
                    self.node(f"dP{layer}", "grad", "chain", 2 * layer, layer, label, name=sym.symbol("dA", layer - 1))
                continue
            self.node(f"dZ{layer}", "grad", "chain", 2 * layer, layer, self.activation_gradient_label(layer),
                      shape=self.shape(layer), value=self.block(values.dZ if values else None),
                      name=sym.symbol("dZ", layer))
            conv = layer_spec.type == "conv"
            rules = [(sym.render(fill(CONV.weight_gradient, scale=self.loss.scale_label) if conv else dw, layer),
                      values.dW if values else None),
                     (sym.render(fill(CONV.bias_gradient, scale=self.loss.scale_label) if conv else db, layer),
                      values.db if values else None)]
            if layer > self.k:
                rule = sym.render(CONV.previous_gradient if conv else DENSE_PREVIOUS, layer)
                if handed is None and self.options.shapes:
                    rule += f"\n{self.shape(layer - 1)}"
                rules.append((rule, handed))
            self.node(f"dW{layer}", "grad", "chain", 2 * layer - 1, layer, self._stack(rules),
                      name=sym.symbol("dW", layer))
        if self.fused is None:
            last = self._values(L)
            self.node(f"dA{L}", "grad", "chain", 2 * L + 0.5, L, self.sym.render(self.loss.derivative, L),
                      shape=self.shape(L), value=self.block(last.dA if last else None))

    def forward_edges(self) -> None:
        prev = "input"
        for layer, spec in enumerate(self.spec.layers, start=1):
            if spec.type in ("conv", "dense"):
                self.edge("forward", prev, f"Z{layer}")
                self.edge("forward", f"W{layer}", f"Z{layer}")
                self.edge("forward", f"Z{layer}", f"A{layer}")
            else:
                self.edge("forward", prev, f"A{layer}")
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
            if spec.type in ("conv", "dense"):
                self.edge("backward", f"dZ{layer}", f"dW{layer}")
                source = f"dW{layer}"
            else:
                source = f"dP{layer}"
            if layer > self.k:
                self.edge("backward", source, self._entry(layer - 1), value=self.sym.symbol("dA", layer - 1))

    def cache_edges(self) -> None:
        L, sym = self.L, self.sym
        for layer in range(L, self.k - 1, -1):
            spec = self.spec.layers[layer - 1]
            prev = "input" if layer == 1 else f"A{layer - 1}"
            if spec.type == "maxpool" and layer > self.k:
                values = self._values(layer)
                self.cached(f"A{layer}", f"dP{layer}", part="mask", label=sym.render(POOL_OPS["maxpool"].mask or "",
                                                                                      layer),
                            value=self.block(values.mask.astype(float) if values and values.mask is not None
                                             else None),
                            kept=(f"M{layer}", self.dims(layer)))
            if spec.type not in ("conv", "dense"):
                continue
            self.cached(prev, f"dW{layer}")
            if layer > self.k:
                self.cached(f"W{layer}", f"dW{layer}")
            if layer == L:
                user = f"dZ{L}" if self.fused is not None else f"dA{L}"
                self.cached(f"A{L}", user)
                self.cached("target", user)
                if self.fused is not None:
                    continue
            act = ACTIVATION_OPS[spec.activation]
            if "Z" in act.uses:
                self.cached(f"Z{layer}", f"dZ{layer}")
            if "A" in act.uses:
                self.cached(f"A{layer}", f"dZ{layer}")

    def derivative_links(self) -> None:
        L = self.L
        for layer in range(self.k, L + 1):
            self.edge("derivative", f"Z{layer}", f"dW{layer}")
            self.edge("derivative", f"A{layer}", self._entry(layer))
        self.edge("derivative", "loss", f"dZ{L}" if self.fused is not None else f"dA{L}")
