"""A network as its generated module names it: the layers' values, g's arguments, and what the cache keeps.

``NetworkNames`` answers the questions every part of a network's module asks
(the function pairs, ``forward``/``backward``, ``example()``): what a value is
called in code, which backward rule a layer's dZ takes, and which values go
through the cache, chosen as the diagram's cache band chooses them.
"""

from __future__ import annotations

from keyword import iskeyword

from bpdiagram.model.catalogue import ACTIVATION_OPS, LOSS_OPS, backward_form, output_rule
from bpdiagram.model.code.listing import ModuleText, flat
from bpdiagram.model.layer_labels import LayerLabels
from bpdiagram.model.notation import Symbols
from bpdiagram.spec.network import LayerSpec, NetworkSpec

_RESERVED = {"np", "params", "cache", "grads", "m", "scale", "J", "forward", "backward", "example", "main",
             "rng", "name", "grad", "l", "I", "O"}
"""Names the module itself uses: a spec's input or target named so gets a fallback name."""


def identifier(name: str, fallback: str, taken: set[str]) -> str:
    """``name`` when it is a usable Python name (not a keyword, not one the module needs), else ``fallback``."""
    if name.isidentifier() and not iskeyword(name) and name not in taken and name.isascii() and len(name) <= 24:
        return name
    while fallback in taken:
        fallback += "_"
    return fallback


class NetworkNames:
    """The spec, its symbols and the module being written, with the names the code gives the diagram's values."""

    def __init__(self, spec: NetworkSpec, source: str) -> None:
        self.spec = spec
        self.source = source
        self.L = len(spec.layers)
        self.k = spec.diagram.backprop_to
        self.sym = Symbols(spec.diagram.notation, spec.input.name, spec.target)
        self.labels = LayerLabels(spec)
        """The diagram's own labels of g's argument, dropout and the residual sums, for the comments."""
        self.loss = LOSS_OPS[spec.loss]
        self.fused = output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)
        names = {f"{p}{layer}" for layer in range(0, self.L + 1)
                 for p in ("W", "b", "Z", "A", "dW", "db", "dZ", "dA", "D", "gamma", "beta", "mu", "var", "Znorm",
                           "Zbn", "dZbn", "dgamma", "dbeta")}
        taken = _RESERVED | names
        self.X = identifier(spec.input.name, "X", taken)
        self.Y = identifier(spec.target, "Y", taken | {self.X})
        self.m = ModuleText()

    def prev(self, layer: int) -> str:
        """A[l−1] as the code names it: the input for layer 1."""
        return self.X if layer == 1 else f"A{layer - 1}"

    def prev_node(self, layer: int) -> str:
        return "input" if layer == 1 else f"A{layer - 1}"

    def formula(self, template: str, layer: int) -> str:
        return flat(self.sym.render(template, layer))

    def layer(self, layer: int) -> LayerSpec:
        return self.spec.layers[layer - 1]

    def form(self, layer: int) -> str:
        """How dZ (of g's argument) of ``layer`` is computed: ``fused``, or ``backward_form``'s answer."""
        spec = self.layer(layer)
        if layer == self.L and self.fused is not None:
            return "fused"
        return backward_form(spec.activation, dropout=spec.dropout is not None, residual=spec.residual is not None)

    def argument(self, layer: int, cached: bool = False) -> str:
        """g's argument of ``layer`` in code: Z (Z_bn with batch norm), plus A[k] with a residual."""
        spec = self.layer(layer)
        base = f"{'Zbn' if spec.batchnorm else 'Z'}{layer}"
        names = [base] if spec.residual is None else [base, f"A{spec.residual}"]
        if cached:
            names = [f'cache["{name}"]' for name in names]
        return names[0] if len(names) == 1 else f"residual_forward({names[0]}, {names[1]})"

    def gradient(self, layer: int) -> str:
        """The gradient of g's argument as the code names it: dZ_bn with batch norm, else dZ."""
        return f"{'dZbn' if self.layer(layer).batchnorm else 'dZ'}{layer}"

    def sources(self) -> list[int]:
        """The layers whose A a residual takes forward."""
        return [spec.residual for spec in self.spec.layers if spec.residual is not None]

    def cached(self) -> list[tuple[str, str]]:
        """What the backward pass reads, as (code name, diagram node id), in the cache band's order.

        The same choice as the diagram's cache band (``vectorized.VectorizedBuilder.cache_edges``), value by value.
        """
        keep: dict[str, str] = {}
        for layer in range(self.L, self.k - 1, -1):
            spec = self.layer(layer)
            keep[self.prev_node(layer)] = self.prev(layer)
            if layer > self.k or self.spec.l2 is not None:
                keep[f"W{layer}"] = f"W{layer}"
            if layer == self.L:
                keep[f"A{layer}"] = f"A{layer}"
                keep["target"] = self.Y
            if self.form(layer) != "fused":
                keep |= self._activation_reads(layer)
            if spec.batchnorm:
                keep[f"BN{layer}.Zhat"] = f"Znorm{layer}"
                keep[f"BN{layer}.var"] = f"var{layer}"
                keep[f"G{layer}"] = f"gamma{layer}"
        order = ["input"] + [f"{p}{layer}" for layer in range(1, self.L + 1)
                             for p in ("W", "Z", "BN", "G", "D", "A")] + ["target"]
        rank = {node: i for i, node in enumerate(order)}
        nodes = sorted(keep, key=lambda node: (rank[node.split(".")[0]], node))
        return [(keep[node], node) for node in nodes]

    def _activation_reads(self, layer: int) -> dict[str, str]:
        """What the backward rule of ``layer``'s activation (not fused) reads: g's argument, A, the mask."""
        spec = self.layer(layer)
        act = ACTIVATION_OPS[spec.activation]
        form = self.form(layer)
        keep: dict[str, str] = {}
        if (form == "dropout" and act.slope) or (form == "plain" and "Z" in act.uses):
            if spec.batchnorm:
                keep[f"BN{layer}.Zt"] = f"Zbn{layer}"
            else:
                keep[f"Z{layer}"] = f"Z{layer}"
            if spec.residual is not None:
                keep[f"A{spec.residual}"] = f"A{spec.residual}"
        if form == "output" or (form == "plain" and "A" in act.uses):
            keep[f"A{layer}"] = f"A{layer}"
        if spec.dropout is not None:
            keep[f"D{layer}"] = f"D{layer}"
        return keep
