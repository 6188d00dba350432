"""The labels of a vectorized layer's activation and its gradient, as the diagram and the code write them.

Batch norm, a residual connection and dropout each change g's argument or
wrap g's output, and so the formulas of the activation node and of its
backward node. The graph builder (``model.vectorized``) draws these labels
and ``model.code`` writes them as the comments of the generated module, so
both say the same thing in the same notation.
"""

from __future__ import annotations

from bpdiagram.model.catalogue import ACTIVATION_OPS, DROPOUT, RESIDUAL, FusedOp, backward_form, fill, output_rule
from bpdiagram.model.notation import Symbols
from bpdiagram.richtext import plain
from bpdiagram.spec.network import LayerSpec, NetworkSpec


def output_fusion(spec: NetworkSpec) -> FusedOp | None:
    """The fused output rule in effect, or None for the general chain."""
    return output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)


def default_title(spec: NetworkSpec) -> str:
    """``2 → 4 tanh → 1 sigmoid, bce``: the network in one line (``, element-wise`` in that view)."""
    if spec.input.shape is not None:
        parts = ["×".join(str(n) for n in spec.input.shape)] + [_layer_title(layer) for layer in spec.layers]
        return " → ".join(parts) + f", {spec.loss}"
    parts = [str(spec.input.size)] + [f"{layer.size} {layer.activation}" for layer in spec.layers]
    view = ", element-wise" if spec.diagram.view == "elementwise" else ""
    return " → ".join(parts) + f", {spec.loss}{view}"


def _layer_title(layer: LayerSpec) -> str:
    """``conv 2@3×3 relu``, ``maxpool 2×2``, ``flatten``, ``1 sigmoid``: one layer of a title."""
    if layer.type == "conv":
        return f"conv {layer.filters}@{layer.kernel}×{layer.kernel} {layer.activation}"
    if layer.type in ("maxpool", "avgpool"):
        return f"{layer.type} {layer.kernel}×{layer.kernel}"
    if layer.type == "flatten":
        return "flatten"
    return f"{layer.size} {layer.activation}"


class LayerLabels:
    """The markup of each layer's argument, activation and activation gradient, in the spec's notation."""

    def __init__(self, spec: NetworkSpec) -> None:
        self.spec = spec
        self.sym = Symbols(spec.diagram.notation, spec.input.name, spec.target)
        self.L = len(spec.layers)
        self.fused = output_fusion(spec)

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
        """A[l] = g(argument), with dropout's mask and scaling around it."""
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
        """The argument's gradient: the fused output rule, the output form, or the chain through g′ (and dropout)."""
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


def _top_level_sum(text: str) -> bool:
    """``Z + A`` is a sum at the top level; ``tanh(Z + A)`` is not."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if depth == 0 and text.startswith((" + ", " − "), i):
            return True
    return False
