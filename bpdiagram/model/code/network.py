"""A network's module: ``forward`` (the forward band, then the cache band), ``backward``, and the script part.

``forward`` returns J and the cache as a dict and ``backward`` reads only
that dict, as the diagram's cache band is the only thing the backward band
reads. Each statement comes under the formula of the node it implements, in
the diagram's own notation.
"""

from __future__ import annotations

import re

from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    L2,
    LINEAR,
    PREVIOUS_GRADIENT,
    RESIDUAL,
    fill,
    param_gradients,
)
from bpdiagram.model.code.example import write_example
from bpdiagram.model.code.functions import write_functions
from bpdiagram.model.code.listing import Listing, code_of, flat, flat_lines, header, write_script_main
from bpdiagram.model.code.names import NetworkNames
from bpdiagram.model.layer_labels import default_title
from bpdiagram.richtext import plain


class NetworkModule(NetworkNames):
    """Writes the module of a network spec, part by part, into ``self.m``."""

    def write(self) -> Listing:
        spec, m = self.spec, self.m
        title = spec.title if spec.title is not None else default_title(spec)
        below = f" down to layer {self.k}" if self.k > 1 else ""
        text = header(title, f"forward(params, {self.X}, {self.Y}) returns (J, cache), backward(params, cache) "
                      f"the gradients{below}; each statement is commented with the formula of the diagram node "
                      "it implements. Run it as a script to compute J and every gradient on the spec's numbers.",
                      self.source)
        m.add(text, prose=True)
        m.add()
        m.add("import numpy as np")
        write_functions(self)
        self.forward()
        self.backward()
        write_example(self)
        self.main()
        return m.listing()

    # -- forward -----------------------------------------------------------------------------
    def forward(self) -> None:
        m = self.m
        m.add()
        m.add()
        m.add(f"def forward(params, {self.X}, {self.Y}):")
        m.add('"""The forward band, then the cache band: returns the loss J and the cache backward reads."""', depth=1)
        for layer in range(1, self.L + 1):
            self.layer_forward(layer)
        self.loss_forward()
        m.add("# the cache band: what the backward pass reads", depth=1)
        m.add("cache = {", depth=1)
        for name, node in self.cached():
            m.add(f'"{name}": {name},', f"cache.{node}", depth=2)
        m.add("}", depth=1)
        m.add("return J, cache", depth=1)

    def layer_forward(self, layer: int) -> None:
        """The parameters of ``layer``, its linear step (and batch norm), the mask, and A = g(·)."""
        m, sym = self.m, self.sym
        layer_spec = self.layer(layer)
        if layer_spec.batchnorm:
            self.batchnorm_forward(layer)
        else:
            m.statement([f"{plain(sym.symbol('W', layer))}, {plain(sym.symbol('b', layer))}"],
                        f'W{layer}, b{layer} = params["W{layer}"], params["b{layer}"]', f"W{layer}")
            m.statement([self.formula(LINEAR.forward, layer)],
                        f"Z{layer} = affine_forward(W{layer}, {self.prev(layer)}, b{layer})", f"Z{layer}")
        if layer_spec.dropout is not None:
            m.statement([f"{plain(sym.symbol('D', layer))}, the dropout mask"],
                        f'D{layer} = params["D{layer}"]', f"D{layer}")
        value = f"{layer_spec.activation}_forward({self.argument(layer)})"
        if layer_spec.dropout is not None:
            value = f"dropout_forward({value}, D{layer}, {layer_spec.dropout!r})"
        m.statement([flat(self.labels.activation_label(layer))], f"A{layer} = {value}", f"A{layer}")

    def batchnorm_forward(self, layer: int) -> None:
        """W, the linear step without bias, γ and β, then batch norm (what backward reads kept, the rest ``_``)."""
        m, sym = self.m, self.sym
        m.statement([plain(sym.symbol("W", layer))], f'W{layer} = params["W{layer}"]', f"W{layer}")
        m.statement([self.formula(BATCHNORM.linear, layer)],
                    f"Z{layer} = weight_forward(W{layer}, {self.prev(layer)})", f"Z{layer}")
        m.statement([self.formula(BATCHNORM.params, layer)],
                    f'gamma{layer}, beta{layer} = params["gamma{layer}"], params["beta{layer}"]', f"G{layer}")
        # μ is not cached (Ẑ holds it); nor are σ² and Ẑ above the layer backprop stops at
        kept = ["var", "Znorm"] if layer >= self.k else []
        outputs = ", ".join(f"{'' if name in kept else '_'}{name}{layer}" for name in ("mu", "var", "Znorm"))
        m.statement(flat_lines(sym.render(BATCHNORM.forward, layer)),
                    f"{outputs}, Zbn{layer} = batchnorm_forward(Z{layer}, gamma{layer}, beta{layer})", f"BN{layer}")

    def loss_forward(self) -> None:
        """J from A[L] and the target, plus the L2 penalty."""
        spec, L = self.spec, self.L
        comments = [self.formula(self.loss.forward, L)]
        code = f"J = {spec.loss}_forward(A{L}, {self.Y})"
        if spec.l2 is not None:
            loss = code_of(spec.loss, self.loss.code)
            averaged = self.loss.scale_label != ""
            comments.append(f"{flat(self.sym.render(L2.penalty[averaged]))}, λ = {spec.l2:g}")
            if re.search(r"\bm\b", loss.scale):
                code = f"m = {self.Y}.shape[1]\n" + code
            ws = ", ".join(f"W{layer}" for layer in range(1, L + 1))
            code += f"\nJ = J + l2_forward([{ws}], {spec.l2!r}, {loss.scale})"
        self.m.statement(comments, code, "loss")

    # -- backward ----------------------------------------------------------------------------
    def backward(self) -> None:
        m, spec, L, k = self.m, self.spec, self.L, self.k
        loss = code_of(spec.loss, self.loss.code)
        m.add()
        m.add()
        m.add("def backward(params, cache):")
        below = f"layer {k}" if k > 1 else "layer 1"
        m.add(f'"""The backward band, from the loss down to {below}: reads only the cache, returns the gradients."""',
              depth=1)
        if re.search(r"\bm\b", loss.scale):
            m.add(f'm = cache["{self.Y}"].shape[1]', depth=1)
        m.add(f"scale = {loss.scale}  # the loss's averaging factor: {self.loss.scale_label.strip() or '1'}",
              depth=1)
        out = spec.layers[-1].activation
        if self.fused is not None:
            m.statement([flat(self.labels.activation_gradient_label(L))],
                        f'{self.gradient(L)} = {out}_{spec.loss}_backward(cache["A{L}"], cache["{self.Y}"])', f"dZ{L}")
        else:
            m.statement([self.formula(self.loss.derivative, L)],
                        f'dA{L} = {spec.loss}_backward(cache["A{L}"], cache["{self.Y}"])', f"dA{L}")
            self.activation_backward(L)
        dw, db = param_gradients(self.loss)
        if spec.l2 is not None:
            dw += L2.weight_gradient[self.loss.scale_label != ""]
        for layer in range(L, k - 1, -1):
            self.layer_backward(layer, dw, db)
            if layer > k:
                self.handed_down(layer)
        m.add("return {", depth=1)
        for layer in range(k, L + 1):
            m.add(f'"dW{layer}": dW{layer},', f"dW{layer}", depth=2)
            if self.layer(layer).batchnorm:
                m.add(f'"dgamma{layer}": dgamma{layer},', f"dG{layer}", depth=2)
                m.add(f'"dbeta{layer}": dbeta{layer},', f"dG{layer}", depth=2)
            else:
                m.add(f'"db{layer}": db{layer},', f"dW{layer}", depth=2)
        m.add("}", depth=1)

    def layer_backward(self, layer: int, dw: str, db: str) -> None:
        """dγ, dβ and dZ through batch norm (on a batch-norm layer), then dW and db (with L2's term)."""
        prev = self.prev(layer)
        if self.layer(layer).batchnorm:
            scale = self.loss.scale_label
            self.m.statement([self.formula(fill(BATCHNORM.gamma_gradient, scale=scale), layer),
                              self.formula(fill(BATCHNORM.beta_gradient, scale=scale), layer),
                              self.formula(BATCHNORM.derivative, layer)],
                             f"dgamma{layer}, dbeta{layer}, dZ{layer} = batchnorm_backward(dZbn{layer}, "
                             f'cache["Znorm{layer}"], cache["var{layer}"], cache["gamma{layer}"], scale)',
                             f"dG{layer}")
            code = f'dW{layer} = weight_backward(dZ{layer}, cache["{prev}"], scale)'
            comments = [self.formula(dw, layer)]
        else:
            code = f'dW{layer}, db{layer} = affine_backward(dZ{layer}, cache["{prev}"], scale)'
            comments = [self.formula(dw, layer), self.formula(db, layer)]
        if self.spec.l2 is not None:
            code += f'\ndW{layer} = dW{layer} + l2_backward(cache["W{layer}"], {self.spec.l2!r}, scale)'
        self.m.statement(comments, code, f"dW{layer}")

    def handed_down(self, layer: int) -> None:
        """dA[l−1] = W[l]ᵀ dZ[l], plus the gradient of each skip out of layer l−1, then dZ[l−1]."""
        self.m.statement([self.formula(PREVIOUS_GRADIENT, layer)],
                         f'dA{layer - 1} = affine_backward_input(cache["W{layer}"], dZ{layer})', f"dW{layer}")
        for n in self.labels.skips_into(layer - 1):
            comment = fill(RESIDUAL.sum, skip_grad=self.sym.symbol("dA", layer - 1),
                           grad=self.labels.argument_gradient(n))
            self.m.statement([flat(comment) + ", the skip's gradient"],
                             f"dA{layer - 1} = dA{layer - 1} + residual_backward({self.gradient(n)})",
                             f"sum{layer - 1}")
        self.activation_backward(layer - 1)

    def activation_backward(self, layer: int) -> None:
        """dZ (or dZ_bn) of ``layer`` from dA: the activation's rule, the dropout rule, or g′ from g's output."""
        spec = self.layer(layer)
        name = spec.activation
        act = ACTIVATION_OPS[name]
        form = self.form(layer)
        if form == "dropout":
            value = f'dropout_backward(dA{layer}, cache["D{layer}"], {spec.dropout!r})'
            if act.slope:
                value += f" * {name}_slope({self.argument(layer, cached=True)})"
        elif form == "output":
            value = f'{name}_backward_from_output(dA{layer}, cache["A{layer}"])'
        else:
            uses = [self.argument(layer, cached=True) if used == "Z" else f'cache["A{layer}"]' for used in act.uses]
            value = f"{name}_backward({', '.join([f'dA{layer}', *uses])})"
        self.m.statement([flat(self.labels.activation_gradient_label(layer))], f"{self.gradient(layer)} = {value}",
                         f"dZ{layer}")

    # -- run as a script ---------------------------------------------------------------------
    def main(self) -> None:
        write_script_main(self.m, self.X, self.Y)
