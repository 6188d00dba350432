"""Validate a network spec document into typed, immutable objects.

Validation happens here, once, before anything is built: every later stage
may trust a ``NetworkSpec``. Each check raises a ``SpecError`` that names the
file, line and key and lists the valid choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, cast

from bpdiagram.errors import SpecError
from bpdiagram.options import ACTIVATIONS, LOSSES, PRECISIONS, Activation, LayerType, Loss
from bpdiagram.spec.conv import Shape, conv_layer, feature_shape, layer_type
from bpdiagram.spec.diagram_options import (
    ELEMENTWISE_WRAP,
    DiagramOptions,
    parse_loss_scale,
    parse_show,
    parse_wrap,
    validate_diagram,
)
from bpdiagram.spec.fields import MAX_TEXT, check_keys, choice, flag, optional_text, valid_name
from bpdiagram.spec.keys import (
    DENSE_KEYS,
    INPUT_KEYS,
    LAYER_KEYS,
    MAX_L2,
    MAX_LAYERS,
    MAX_UNITS,
    REGULARIZATION_KEYS,
    REQUIRED_LAYER_KEYS,
    REQUIRED_TOP_KEYS,
    TOP_KEYS,
)
from bpdiagram.spec.load import Document, PathKey, finite_float, shown_number, type_name
from bpdiagram.spec.values import ValuesSpec, default_values, validate_values

__all__ = [
    "ELEMENTWISE_MAX_LAYERS", "ELEMENTWISE_MAX_UNITS", "ELEMENTWISE_MAX_WEIGHTS", "ELEMENTWISE_WRAP", "MAX_LAYERS",
    "MAX_TEXT", "MAX_UNITS", "OUTPUT_RANGE", "DiagramOptions", "InputSpec", "LayerSpec", "NetworkSpec",
    "check_keys", "parse_show", "parse_wrap", "validate_network",
]
"""The network format's names; ``DiagramOptions``, ``MAX_TEXT``, ``check_keys`` and the parsers live in
``spec.diagram_options`` and ``spec.fields`` and are importable from here as before."""

ELEMENTWISE_MAX_UNITS = 32
"""Units per layer (the input included) the element-wise view draws; 16 stay readable, 32 are a poster."""

ELEMENTWISE_MAX_WEIGHTS = 1536
"""Weights (Σ n[l−1] n[l]) the element-wise view draws: each is two edges. Set from ``tools/limits.py``
(``make limits``) so the largest accepted network renders in every format within 10 s on 2 cores: on
2026-12-07 (bytecode compiled) 32 → 32 → 16 (1,536 weights) took 7.9 s of CPU, 32 → 32 → 32 → 1 (2,080)
11.7 to 13 s, most of it the 790,000 crossings of its weights and the PNG."""

ELEMENTWISE_MAX_LAYERS = 8
"""Layers the element-wise view draws; each is four columns wide, and the picture grows with the width. Set
from ``tools/limits.py`` (``make limits``): on 2026-12-07 8 layers of 13 units took 8.3 s of CPU, 8 of 14
9.4 s and 16 layers of 10 10.3 s."""

OUTPUT_RANGE: dict[Loss, tuple[Activation, ...]] = {
    "bce": ("sigmoid",),
    "ce": ("softmax", "sigmoid"),
    "mse": ACTIVATIONS,
    "sse": ACTIVATIONS,
}
"""Output activations each loss accepts: bce and ce take logs, so A must lie in (0, 1)."""


@dataclass(frozen=True)
class InputSpec:
    """The input layer: its symbol and the number of features n[0]."""

    name: str
    """The input's symbol in the diagram: ``X`` unless the spec names it (``input: {name: x, size: 3}``)."""
    size: int
    shape: tuple[int, int, int] | None = None
    """(C, H, W) of a feature-map input (``input: {shape: [1, 6, 6]}``); ``size`` is then C·H·W."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer l (1-based): n[l] units and the activation g[l]."""

    size: int
    activation: Activation
    dropout: float | None = None
    """Keep probability of inverted dropout (0 < keep ≤ 1), None without dropout: A = D ⊙ g(·) / keep."""
    batchnorm: bool = False
    """Batch norm between the linear step and g: Ẑ = (Z − μ)/√(σ² + ε), Z̃ = γ ⊙ Ẑ + β; no bias b."""
    residual: int | None = None
    """Layer k whose A[k] is added to g's argument: A = g(Z + A[k]) (g(Z̃ + A[k]) with batch norm)."""
    type: LayerType = "dense"
    """``dense``, or a feature-map layer: ``conv``, ``maxpool``, ``avgpool``, ``flatten`` (``size`` is then the
    number of numbers it outputs per example, C·H·W, and ``activation`` linear unless a conv layer has one)."""
    shape: Shape = ()
    """Its output per example: (F, H, W) for conv and pooling, (n,) for flatten and dense."""
    filters: int = 0
    kernel: int = 0
    """The window's side k (conv and pooling; square windows)."""
    stride: int = 1
    padding: int = 0
    """Zeros added on every side of the input (conv only)."""

    @property
    def spatial(self) -> bool:
        """A conv or pooling layer: it outputs a C×H×W feature map."""
        return self.type in ("conv", "maxpool", "avgpool")


@dataclass(frozen=True)
class NetworkSpec:
    """A validated network spec."""

    title: str | None
    input: InputSpec
    layers: tuple[LayerSpec, ...]
    loss: Loss
    target: str
    diagram: DiagramOptions
    values: ValuesSpec | None
    """The spec's ``values:`` section, None when it has none (then diagrams show no numbers by default)."""
    file: str
    l2: float | None = None
    """λ of L2 regularisation (``regularization: {l2: λ}``), None without it."""

    @property
    def sizes(self) -> tuple[int, ...]:
        """n[0], n[1], …, n[L]."""
        return (self.input.size, *(layer.size for layer in self.layers))

    def numbers(self) -> ValuesSpec:
        """The values to compute with: the spec's, else seed 0 and batch 4 (refused when too big)."""
        if self.values is not None:
            return self.values
        if self.input.shape is not None:
            from bpdiagram.spec.conv_values import check_conv_size
            from bpdiagram.spec.values import DEFAULT_BATCH

            check_conv_size(self.input.shape, self.layers, DEFAULT_BATCH, file=self.file)
            return ValuesSpec()
        return default_values(self.sizes, file=self.file)

    @property
    def conv(self) -> bool:
        """A network with a feature-map input (conv, pooling and flatten layers)."""
        return self.input.shape is not None

    def shapes(self) -> tuple[Shape, ...]:
        """The input's shape and every layer's output per example: (C, H, W) or (n,)."""
        first: Shape = self.input.shape if self.input.shape is not None else (self.input.size,)
        return (first, *(layer.shape if layer.shape else (layer.size,) for layer in self.layers))

    @property
    def extended(self) -> bool:
        """The network uses L2, dropout, batch norm or a residual (README, "Regularisation, dropout, batch norm and
        residual connections")."""
        return self.l2 is not None or any(layer.dropout is not None or layer.batchnorm or layer.residual is not None
                                          for layer in self.layers)


def validate_network(doc: Document) -> NetworkSpec:
    """Check ``doc`` against the network spec format (README, "The spec")."""
    data = doc.data
    if "expression" in data:
        raise doc.error(("expression",),
                        "a spec is either a network (input, layers, loss) or an expression, not both")
    check_keys(doc, (), data, TOP_KEYS)
    for required in REQUIRED_TOP_KEYS:
        if required not in data:
            raise doc.error((), f"missing required key '{required}'")
    title = optional_text(doc, ("title",), data.get("title"))
    inp = _input(doc, data["input"])
    layers = _layers(doc, data["layers"], inp)
    loss = cast(Loss, choice(doc, ("loss",), data["loss"], LOSSES))
    target = valid_name(doc, ("target",), data.get("target", "Y"))
    if target == inp.name:
        raise doc.error(("target",), f"target and input are both named {target!r}; give them different names")
    out = layers[-1].activation
    for i, layer in enumerate(layers[:-1]):
        if layer.activation == "softmax":
            raise doc.error(("layers", i, "activation"), "softmax is only allowed on the output layer (with loss ce)")
    if out == "softmax" and loss != "ce":
        raise doc.error(("loss",), f"a softmax output needs loss 'ce', not {loss!r}")
    if out not in OUTPUT_RANGE[loss]:
        allowed = ", ".join(OUTPUT_RANGE[loss])
        raise doc.error(("layers", len(layers) - 1, "activation"),
                        f"loss {loss!r} takes logs of the output, so the output activation must be one of: {allowed}")
    l2 = _regularization(doc, data.get("regularization"))
    diagram = validate_diagram(doc, data.get("diagram"), len(layers))
    if inp.shape is not None:
        _check_conv_network(doc, data, layers, l2, diagram.view)
    if diagram.view == "elementwise":
        _check_elementwise(doc, data["input"], inp, layers)
        _refuse_elementwise_extensions(doc, data, layers, l2)
    values = _values(doc, data, inp, layers, loss, target) if "values" in data else None
    if diagram.precision is not None and values is None:
        raise doc.error(("diagram", "precision"), "needs numbers: add a values: section (e.g. values: {seed: 0})")
    return NetworkSpec(title, inp, layers, loss, target, diagram, values, doc.file, l2)


def _values(doc: Document, data: dict[str, Any], inp: InputSpec, layers: tuple[LayerSpec, ...], loss: Loss,
            target: str) -> ValuesSpec:
    """The ``values:`` section: matrices for a vector input, NCHW tensors for a feature-map input."""
    if inp.shape is not None:
        from bpdiagram.spec.conv_values import validate_conv_values

        return validate_conv_values(doc, data["values"], input_shape=inp.shape, layers=layers, loss=loss,
                                    input_name=inp.name, target_name=target)
    sizes = (inp.size, *(layer.size for layer in layers))
    return validate_values(doc, data["values"], sizes=sizes, loss=loss, input_name=inp.name,
                           target_name=target, layers=layers)


def _input(doc: Document, value: Any) -> InputSpec:
    if isinstance(value, dict):
        check_keys(doc, ("input",), value, INPUT_KEYS)
        name = valid_name(doc, ("input", "name"), value.get("name", "X"))
        if "shape" in value:
            if "size" in value:
                raise doc.error(("input", "size"), "give either size (a vector input) or shape [C, H, W] "
                                                   "(a feature map), not both")
            shape = feature_shape(doc, ("input", "shape"), value["shape"])
            return InputSpec(name, shape[0] * shape[1] * shape[2], shape)
        if "size" not in value:
            raise doc.error(("input",), "missing required key 'size' (or 'shape' for a feature map)")
        return InputSpec(name, _size(doc, ("input", "size"), value["size"]))
    if isinstance(value, int) and not isinstance(value, bool):
        return InputSpec("X", _size(doc, ("input",), value))
    raise doc.error(("input",), f"must be a size (integer) or a mapping {{name, size}}, not a {type_name(value)}")


def _layers(doc: Document, value: Any, inp: InputSpec) -> tuple[LayerSpec, ...]:
    if not isinstance(value, list):
        raise doc.error(("layers",),
                        f"must be a list of layers like {{size: 4, activation: tanh}}, not a {type_name(value)}")
    if not value:
        raise doc.error(("layers",), "needs at least one layer")
    if len(value) > MAX_LAYERS:
        raise doc.error(("layers",), f"{len(value)} layers; at most {MAX_LAYERS} are supported")
    out: list[LayerSpec] = []
    shape: Shape = inp.shape if inp.shape is not None else (inp.size,)
    for i, item in enumerate(value):
        path: PathKey = ("layers", i)
        if not isinstance(item, dict):
            raise doc.error(path, f"each layer must be a mapping {{size, activation}}, not a {type_name(item)}")
        kind = layer_type(doc, path, item)
        if kind != "dense":
            shape, activation, window = conv_layer(doc, path, item, kind, i + 1, shape)
            out.append(LayerSpec(math.prod(shape), activation, type=kind, shape=shape,
                                 filters=window.get("filters", 0), kernel=window.get("kernel", 0),
                                 stride=window.get("stride", 1), padding=window.get("padding", 0)))
            continue
        if len(shape) == 3:
            c, h, w = shape
            raise doc.error(path, f"layer {i + 1} (dense) receives a {c}×{h}×{w} feature map; put "
                                  "{type: flatten} before it (a dense layer takes a vector)")
        check_keys(doc, path, item, DENSE_KEYS if inp.shape is not None else LAYER_KEYS)
        for required in REQUIRED_LAYER_KEYS:
            if required not in item:
                raise doc.error(path, f"missing required key '{required}'")
        size = _size(doc, (*path, "size"), item["size"])
        act = cast(Activation, choice(doc, (*path, "activation"), item["activation"], ACTIVATIONS))
        keep = _keep(doc, (*path, "dropout"), item["dropout"], i, len(value)) if "dropout" in item else None
        batchnorm = flag(doc, (*path, "batchnorm"), item.get("batchnorm", False))
        residual = _residual(doc, (*path, "residual"), item["residual"], i, size, out) if "residual" in item else None
        out.append(LayerSpec(size, act, keep, batchnorm, residual, shape=(size,) if inp.shape is not None else ()))
        shape = (size,)
    if out[-1].type != "dense":
        raise doc.error(("layers", len(out) - 1), f"layer {len(out)} ({out[-1].type}) cannot be the output "
                                                  "layer; end with flatten and a dense layer")
    return tuple(out)


def _check_conv_network(doc: Document, data: dict[str, Any], layers: tuple[LayerSpec, ...], l2: float | None,
                        view: str) -> None:
    """A feature-map network ends in a dense layer, and draws plain dense layers after flatten (vectorized only)."""
    if view == "elementwise":
        raise doc.error(("diagram", "view"), "the element-wise view draws dense units one by one, not feature "
                                             "maps; a network with conv layers uses diagram.view: vectorized")
    if l2 is not None:
        raise doc.error(("regularization",), "L2 regularisation is not drawn for networks with conv layers yet")
    for i, layer in enumerate(layers):
        for key, used in (("dropout", layer.dropout is not None), ("batchnorm", layer.batchnorm),
                          ("residual", layer.residual is not None)):
            if used:
                raise doc.error(("layers", i, key), f"{key} is not drawn for networks with conv layers yet")


def _keep(doc: Document, path: PathKey, value: Any, index: int, n_layers: int) -> float | None:
    """The keep probability of inverted dropout, in (0, 1]; hidden layers only."""
    if index == n_layers - 1:
        raise doc.error(path, "dropout is for hidden layers only, not the output layer (its A goes into the loss)")
    if finite_float(value) is None:
        raise doc.error(path, f"must be the keep probability, a number in (0, 1] such as 0.8, not "
                              f"{shown_number(value)}")
    if not 0 < value <= 1:
        raise doc.error(path, f"the keep probability must lie in (0, 1] (got {value!r}); "
                              "dropout: 0.8 keeps 80 % of the units")
    return float(value)


def _residual(doc: Document, path: PathKey, value: Any, index: int, size: int,
              earlier: list[LayerSpec]) -> int:
    """``residual: k``: an earlier layer 1 ≤ k < l of the same size, whose A[k] is added to g's argument."""
    layer = index + 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(path, f"must be the number of an earlier layer (1 to {layer - 1}), not {value!r}")
    if not 1 <= value < layer:
        if layer == 1:
            raise doc.error(path, "layer 1 has no earlier layer to take a residual from")
        raise doc.error(path, f"must name an earlier layer, 1 to {layer - 1} (got {value}); "
                              "a residual adds A[k] of a layer below")
    other = earlier[value - 1].size
    if other != size:
        raise doc.error(path, f"layer {value} has {other} units and layer {layer} has {size}; "
                              "a residual adds A[k] to Z, so their sizes must be equal")
    return value


def _regularization(doc: Document, value: Any) -> float | None:
    """``regularization: {l2: λ}``: λ ≥ 0, None when absent."""
    if value is None:
        return None
    path: PathKey = ("regularization",)
    if not isinstance(value, dict):
        raise doc.error(path, f"must be a mapping such as {{l2: 0.7}}, not a {type_name(value)}")
    check_keys(doc, path, value, REGULARIZATION_KEYS)
    if "l2" not in value:
        return None
    lam = value["l2"]
    number = finite_float(lam)
    if number is None or not 0 <= number <= MAX_L2:
        raise doc.error((*path, "l2"), f"λ must be a number from 0 to {MAX_L2:g} (got {shown_number(lam)})")
    return float(lam)


def _refuse_elementwise_extensions(doc: Document, data: dict[str, Any], layers: tuple[LayerSpec, ...],
                                   l2: float | None) -> None:
    """The element-wise view draws plain layers only; say which key to drop, and that vectorized draws it."""
    hint = "the element-wise view draws plain layers only; use diagram.view: vectorized"
    if l2 is not None:
        raise doc.error(("regularization",), f"L2 regularisation is not drawn unit by unit; {hint}")
    for i, layer in enumerate(layers):
        for key, used in (("dropout", layer.dropout is not None), ("batchnorm", layer.batchnorm),
                          ("residual", layer.residual is not None)):
            if used:
                raise doc.error(("layers", i, key), f"{key} is not drawn unit by unit; {hint}")


def _check_elementwise(doc: Document, raw_input: Any, inp: InputSpec, layers: tuple[LayerSpec, ...]) -> None:
    """Refuse networks too big to draw unit by unit, before anything is built (arithmetic on sizes only)."""
    input_path: PathKey = ("input", "size") if isinstance(raw_input, dict) else ("input",)
    sized: list[tuple[PathKey, int]] = [(input_path, inp.size)]
    sized += [(("layers", i, "size"), layer.size) for i, layer in enumerate(layers)]
    hint = "use diagram.view: vectorized for a network this size"
    if len(layers) > ELEMENTWISE_MAX_LAYERS:
        raise doc.error(("layers",), f"{len(layers)} layers; the element-wise view draws at most "
                                     f"{ELEMENTWISE_MAX_LAYERS}; {hint}")
    for path, size in sized:
        if size > ELEMENTWISE_MAX_UNITS:
            raise doc.error(path, f"{size} units; the element-wise view draws at most {ELEMENTWISE_MAX_UNITS} "
                                  f"units a layer; {hint}")
    weights = sum(a * b for (_, a), (_, b) in pairwise(sized))
    if weights > ELEMENTWISE_MAX_WEIGHTS:
        raise doc.error(("diagram", "view"), f"the network has {weights} weights; the element-wise view draws at "
                                             f"most {ELEMENTWISE_MAX_WEIGHTS}; {hint}")


def _size(doc: Document, path: PathKey, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(path, f"must be a whole number of units, not a {type_name(value)} ({value!r})")
    if not 1 <= value <= MAX_UNITS:
        raise doc.error(path, f"must be between 1 and {MAX_UNITS} (got {value})")
    return value


def with_precision_options(spec: Any, precision: str | None, loss_scale: str | None) -> Any:
    """``spec`` with ``--precision`` and ``--loss-scale`` in its ``diagram:`` (a SpecError naming the option if bad).

    Either may be None (keep the spec's). Only a network with ``values:`` can be judged; an expression
    graph has no layers to scale.
    """
    import dataclasses

    if precision is None and loss_scale is None:
        return spec
    key = "--precision" if precision is not None else "--loss-scale"
    if not isinstance(spec, NetworkSpec):
        raise SpecError("applies to networks; an expression graph has no layers to judge", file=spec.file, key=key)
    diagram = spec.diagram
    if precision is not None:
        if precision not in PRECISIONS:
            raise SpecError(f"must be one of: {', '.join(PRECISIONS)} (got {precision!r})", file=spec.file,
                            key="--precision")
        diagram = dataclasses.replace(diagram, precision=precision)
    if loss_scale is not None:
        try:
            diagram = dataclasses.replace(diagram, loss_scale=parse_loss_scale(loss_scale))
        except ValueError as exc:
            raise SpecError(str(exc), file=spec.file, key="--loss-scale") from None
        if diagram.precision is None:
            raise SpecError("needs --precision float16 or bfloat16 (the format it scales for)", file=spec.file,
                            key="--loss-scale")
    if spec.values is None:
        raise SpecError("needs numbers: add a values: section to the spec (e.g. values: {seed: 0})",
                        file=spec.file, key=key)
    return dataclasses.replace(spec, diagram=diagram)
