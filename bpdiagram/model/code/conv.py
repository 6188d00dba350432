"""The module of a network with conv, pooling and flatten layers: numpy only, what the diagram draws.

The convolution and pooling functions are the catalogue's own (``catalogue.conv``),
their source copied into the module unchanged, so the exported code is the code
``check`` verifies; the activations, the dense layers and the loss come from their
catalogue entries' ``Code`` as in every network's module. ``forward`` returns J and
the cache (what the diagram's cache band holds: A[l−1], Z[l] or A[l] for g′, W[l]
for dA[l−1], max pooling's argmax mask), ``backward`` reads only that.
"""

from __future__ import annotations

import inspect
import textwrap

from bpdiagram.model.catalogue import ACTIVATION_OPS, CONV, LINEAR, POOL_OPS, fill, param_gradients
from bpdiagram.model.catalogue import PREVIOUS_GRADIENT as DENSE_PREVIOUS
from bpdiagram.model.catalogue.conv import SOURCES
from bpdiagram.model.code.functions import _loss
from bpdiagram.model.code.listing import Listing, code_of, flat, generic, header, write_script_main
from bpdiagram.model.code.names import NetworkNames
from bpdiagram.model.conv_pass import draw_conv_arrays
from bpdiagram.model.layer_labels import default_title
from bpdiagram.richtext import plain
from bpdiagram.spec.conv_values import param_shapes

__all__ = ["ConvModule"]

PARAM_TYPES = ("conv", "dense")


class ConvModule(NetworkNames):
    """Writes the module of a network with conv layers into ``self.m``."""

    def write(self) -> Listing:
        spec, m = self.spec, self.m
        title = spec.title if spec.title is not None else default_title(spec)
        text = header(title, f"forward(params, {self.X}, {self.Y}) returns (J, cache), backward(params, cache) "
                      f"the gradients; {self.X} is (m, C, H, W), a conv layer's W is (F, C, k, k) and its b (F,); "
                      "each statement is commented with the formula of the diagram node it implements. Run it "
                      "as a script to compute J and every gradient on the spec's numbers.", self.source)
        m.add(text, prose=True)
        m.add()
        m.add("import numpy as np")
        m.add()
        m.add("Array = np.ndarray  # the type named in the catalogue's annotations")
        m.add()
        m.add("# -- convolution, pooling and flatten: bpdiagram's catalogue, copied as it is --")
        for function in SOURCES:
            m.add()
            m.add()
            m.add(textwrap.dedent(inspect.getsource(function)).rstrip())
        m.add()
        m.add("# -- the dense layers, the activations and the loss, from the catalogue's entries --")
        self.functions()
        self.forward()
        self.backward()
        self.example()
        self.main()
        return m.listing()

    def _kept(self, layer: int) -> str:
        return f'cache["{self.prev(layer)}"]'

    def functions(self) -> None:
        m = self.m
        linear = code_of("linear step", LINEAR.code)
        m.function("affine_forward", ("W", "A_prev", "b"), "The linear step, " + generic(LINEAR.forward),
                   linear.forward)
        dw, db = (generic(t.format(scale="scale · ")) for t in (LINEAR.weight_gradient, LINEAR.bias_gradient))
        m.function("affine_backward", ("dZ", "A_prev", "scale"), f"{dw}, {db}", "", linear.backward[:2])
        m.function("affine_backward_input", ("W", "dZ"), generic(DENSE_PREVIOUS), "", linear.backward[2:])
        seen: set[str] = set()
        for layer in range(1, self.L + 1):
            spec = self.layer(layer)
            if spec.type not in PARAM_TYPES or spec.activation in seen:
                continue
            seen.add(spec.activation)
            act = ACTIVATION_OPS[spec.activation]
            code = code_of(spec.activation, act.code)
            m.function(f"{spec.activation}_forward", ("Z",), generic(act.forward), code.forward)
            m.function(f"{spec.activation}_backward", ("dA", *act.uses), generic(act.derivative), "", code.backward)
        _loss(self)

    # -- forward -------------------------------------------------------------------------
    def forward(self) -> None:
        m = self.m
        m.add()
        m.add()
        m.add(f"def forward(params, {self.X}, {self.Y}):")
        m.add('"""The forward band, then the cache band: returns the loss J and the cache backward reads."""', depth=1)
        kept: list[tuple[str, str]] = []
        for layer in range(1, self.L + 1):
            if self.layer(layer).type in PARAM_TYPES:
                kept += self.param_forward(layer)
            else:
                kept += self.pool_forward(layer)
        m.statement([self.formula(self.loss.forward, self.L)], f"J = {self.spec.loss}_forward(A{self.L}, {self.Y})",
                    "loss")
        kept += [(f"A{self.L}", f"cache.A{self.L}"), (self.Y, "cache.target")]
        m.add("# the cache band: what the backward pass reads (and the shapes pooling and flatten undo)", depth=1)
        m.add("cache = {", depth=1)
        seen: set[str] = set()
        for name, node in kept:
            if name not in seen:
                seen.add(name)
                m.add(f'"{name}": {name},', node, depth=2)
        for layer in range(max(self.k, 2), self.L + 1):
            if self.layer(layer).type in ("maxpool", "avgpool", "flatten"):
                m.add(f'"shape{layer - 1}": {self.prev(layer)}.shape,', depth=2)
        m.add("}", depth=1)
        m.add("return J, cache", depth=1)

    def param_forward(self, layer: int) -> list[tuple[str, str]]:
        """W, b, the conv or linear step and g of ``layer``; returns what it keeps (name, cache node)."""
        m, sym, spec, prev = self.m, self.sym, self.layer(layer), self.prev(layer)
        m.statement([f"{plain(sym.symbol('W', layer))}, {plain(sym.symbol('b', layer))}"],
                    f'W{layer}, b{layer} = params["W{layer}"], params["b{layer}"]', f"W{layer}")
        if spec.type == "conv":
            m.statement([self.formula(CONV.forward, layer), self._window(layer)],
                        f"Z{layer} = conv_forward(W{layer}, {prev}, b{layer}, {spec.stride}, {spec.padding})",
                        f"Z{layer}")
        else:
            m.statement([self.formula(LINEAR.forward, layer)],
                        f"Z{layer} = affine_forward(W{layer}, {prev}, b{layer})", f"Z{layer}")
        m.statement([flat(self.labels.activation_label(layer))],
                    f"A{layer} = {spec.activation}_forward(Z{layer})", f"A{layer}")
        if layer < self.k:  # below the layer backprop stops at, nothing is kept
            return []
        kept = [(prev, f"cache.{self.prev_node(layer)}")]
        if layer > self.k:
            kept.append((f"W{layer}", f"cache.W{layer}"))
        if layer < self.L or self.fused is None:
            kept += [(f"{used}{layer}", f"cache.{used}{layer}") for used in ACTIVATION_OPS[spec.activation].uses]
        return kept

    def pool_forward(self, layer: int) -> list[tuple[str, str]]:
        """A pooling or flatten layer; returns what it keeps (max pooling's mask)."""
        spec, prev = self.layer(layer), self.prev(layer)
        op = POOL_OPS[spec.type]
        comments = [self.formula(op.forward, layer)] + ([self._window(layer)] if spec.type != "flatten" else [])
        kept = []
        if spec.type == "maxpool":
            code = f"A{layer}, M{layer} = maxpool_forward({prev}, {spec.kernel}, {spec.stride})"
            if layer > self.k:
                kept.append((f"M{layer}", f"cache.A{layer}.mask"))
        elif spec.type == "avgpool":
            code = f"A{layer} = avgpool_forward({prev}, {spec.kernel}, {spec.stride})"
        else:
            code = f"A{layer} = flatten_forward({prev})"
        self.m.statement(comments, code, f"A{layer}")
        return kept

    def _window(self, layer: int) -> str:
        spec = self.layer(layer)
        if spec.type == "conv":
            return fill(CONV.window, filters=str(spec.filters), kernel=str(spec.kernel), stride=str(spec.stride),
                        padding=str(spec.padding))
        return fill(POOL_OPS[spec.type].window, kernel=str(spec.kernel), stride=str(spec.stride))

    # -- backward ------------------------------------------------------------------------
    def backward(self) -> None:
        m, spec, L, k = self.m, self.spec, self.L, self.k
        loss = code_of(spec.loss, self.loss.code)
        m.add()
        m.add()
        m.add("def backward(params, cache):")
        m.add(f'"""The backward band, from the loss down to layer {k}: reads only the cache, returns the '
              'gradients."""', depth=1)
        if "m" in loss.scale:
            m.add(f'm = cache["{self.Y}"].shape[1]', depth=1)
        factor = self.loss.scale_label.strip() or "1"
        m.add(f"scale = {loss.scale}  # the loss's averaging factor: {factor}", depth=1)
        out = spec.layers[-1].activation
        if self.fused is not None:
            m.statement([flat(self.labels.activation_gradient_label(L))],
                        f'dZ{L} = {out}_{spec.loss}_backward(cache["A{L}"], cache["{self.Y}"])', f"dZ{L}")
        else:
            m.statement([self.formula(self.loss.derivative, L)],
                        f'dA{L} = {spec.loss}_backward(cache["A{L}"], cache["{self.Y}"])', f"dA{L}")
        returned: list[int] = []
        for layer in range(L, k - 1, -1):
            if self.layer(layer).type in PARAM_TYPES:
                returned.append(layer)
                self.param_backward(layer)
            elif layer > k:
                self.pool_backward(layer)
        m.add("return {", depth=1)
        for layer in sorted(returned):
            m.add(f'"dW{layer}": dW{layer},', f"dW{layer}", depth=2)
            m.add(f'"db{layer}": db{layer},', f"dW{layer}", depth=2)
        m.add("}", depth=1)

    def param_backward(self, layer: int) -> None:
        """dZ (unless fused with the loss), dW, db and, above ``backprop_to``, dA[l−1] of a conv or dense layer."""
        m, spec, L, k = self.m, self.layer(layer), self.L, self.k
        if not (layer == L and self.fused is not None):
            uses = [f'cache["{used}{layer}"]' for used in ACTIVATION_OPS[spec.activation].uses]
            m.statement([flat(self.labels.activation_gradient_label(layer))],
                        f"dZ{layer} = {spec.activation}_backward({', '.join([f'dA{layer}', *uses])})", f"dZ{layer}")
        if spec.type == "dense":
            dw, db = param_gradients(self.loss)
            m.statement([self.formula(dw, layer), self.formula(db, layer)],
                        f"dW{layer}, db{layer} = affine_backward(dZ{layer}, {self._kept(layer)}, scale)", f"dW{layer}")
            if layer > k:
                m.statement([self.formula(DENSE_PREVIOUS, layer)],
                            f'dA{layer - 1} = affine_backward_input(cache["W{layer}"], dZ{layer})', f"dW{layer}")
            return
        scale = self.loss.scale_label
        window = f"{spec.stride}, {spec.padding}"
        m.statement([self.formula(fill(CONV.weight_gradient, scale=scale), layer)],
                    f"dW{layer} = conv_dW(dZ{layer}, {self._kept(layer)}, {spec.kernel}, {window}, scale)",
                    f"dW{layer}")
        m.statement([self.formula(fill(CONV.bias_gradient, scale=scale), layer)],
                    f"db{layer} = conv_db(dZ{layer}, scale)", f"dW{layer}")
        if layer > k:
            m.statement([self.formula(CONV.previous_gradient, layer)],
                        f'dA{layer - 1} = conv_dA_prev(cache["W{layer}"], dZ{layer}, {window})', f"dW{layer}")

    def pool_backward(self, layer: int) -> None:
        """dA[l−1] of a pooling or flatten layer: the mask's routing, the even spread, or the reshape undone."""
        spec = self.layer(layer)
        rule = fill(POOL_OPS[spec.type].backward, k2=str(spec.kernel ** 2))
        shape = f'cache["shape{layer - 1}"]'
        window = f"{spec.kernel}, {spec.stride}"
        if spec.type == "maxpool":
            code = f'dA{layer - 1} = maxpool_backward(dA{layer}, cache["M{layer}"], {window}, {shape})'
        elif spec.type == "avgpool":
            code = f"dA{layer - 1} = avgpool_backward(dA{layer}, {window}, {shape})"
        else:
            code = f"dA{layer - 1} = flatten_backward(dA{layer}, {shape})"
        self.m.statement([self.formula(rule, layer)], code, f"dP{layer}")

    # -- the spec's numbers, and the script ----------------------------------------------
    def example(self) -> None:
        """``example()``: the arrays the diagram computes with, written out (small networks only)."""
        m, spec = self.m, self.spec
        values = spec.numbers()
        arrays = draw_conv_arrays(spec, values)
        assert spec.input.shape is not None
        shapes = param_shapes(spec.input.shape, spec.layers)
        m.add()
        m.add()
        m.add("def example():")
        m.add(f'"""The spec\'s numbers: params, {self.X} and {self.Y} (batch m = {values.batch}, seed '
              f'{values.seed}, drawn as bpdiagram draws them)."""', depth=1, prose=True)
        m.add(f"rng = np.random.default_rng({values.seed})", depth=1)
        m.add(f"{self.X} = rng.standard_normal(({values.batch}, {', '.join(str(n) for n in spec.input.shape)}))",
              depth=1)
        m.add("params = {}", depth=1)
        for layer in range(1, self.L + 1):
            if f"W{layer}" not in shapes:
                continue
            w_shape, b_shape = shapes[f"W{layer}"], shapes[f"b{layer}"]
            fan_in = 1
            for n in w_shape[1:]:
                fan_in *= n
            w_draw = f"rng.standard_normal({w_shape!r})"
            b_draw = f"0.1 * rng.standard_normal({b_shape!r})"
            if values.init is None:
                m.add(f'params["W{layer}"] = {w_draw} / np.sqrt({fan_in})', depth=1)
                m.add(f'params["b{layer}"] = {b_draw}', depth=1)
            else:
                from bpdiagram.model.numeric_pass import init_factor

                m.add(f'params["W{layer}"] = {w_draw} * {init_factor(values, fan_in)!r}', depth=1)
                m.add(f"rng.standard_normal({b_shape!r})  # b's draw: with init, biases start at 0", depth=1)
                m.add(f'params["b{layer}"] = np.zeros({b_shape!r})', depth=1)
        target = arrays.Y.shape
        if spec.loss == "bce":
            m.add(f"{self.Y} = rng.integers(0, 2, size={target!r}).astype(np.float64)", depth=1)
        elif spec.loss == "ce":
            m.add(f"{self.Y} = np.eye({target[0]})[:, rng.integers(0, {target[0]}, size={target[1]})]", depth=1)
        else:
            m.add(f"{self.Y} = rng.standard_normal({target!r})", depth=1)
        for name in sorted([*values.arrays, *values.tensors]):
            given = arrays.X if name == "X" else arrays.Y if name == "Y" else \
                getattr(arrays, name[0])[int(name[1:]) - 1]
            target_name = self.X if name == "X" else self.Y if name == "Y" else f'params["{name}"]'
            m.add(f"{target_name} = np.array({given.tolist()!r})  # given in the spec", depth=1)
        m.add(f"return params, {self.X}, {self.Y}", depth=1)

    def main(self) -> None:
        write_script_main(self.m, self.X, self.Y)
