"""Validate a network spec document into typed, immutable objects.

Validation happens here, once, before anything is built: every later stage
may trust a ``NetworkSpec``. Each check raises a ``SpecError`` that names the
file, line and key and lists the valid choices.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, cast

from bpdiagram.options import (
    ACTIVATIONS,
    EDGE_KINDS,
    LOSSES,
    NOTATIONS,
    VIEWS,
    Activation,
    EdgeKind,
    Loss,
    Notation,
    Simplify,
    View,
    WrapAuto,
)
from bpdiagram.spec.load import Document, PathKey, finite_float, shown_number, type_name
from bpdiagram.spec.values import ValuesSpec, default_values, validate_values

MAX_LAYERS = 64
"""Layers of a network (the vectorized view). Set from ``tools/limits.py`` (``make limits``): the largest
accepted network must render in every format within 10 s on 2 cores; on 2026-11-30 40 layers took 9 s of CPU,
most of it rasterising the PNG and PDF (64 layers took 13 s, 256 layers far longer)."""

MAX_UNITS = 1_000_000
"""Units per layer; the vectorized view draws shapes, not units, so this only guards arithmetic."""

ELEMENTWISE_MAX_UNITS = 20
"""Units per layer (the input included) the element-wise view draws; 16 stay readable, 32 are a poster."""

ELEMENTWISE_MAX_WEIGHTS = 528
"""Weights (Σ n[l−1] n[l]) the element-wise view draws: each is two edges. Set from ``tools/limits.py``
(``make limits``) so the largest accepted network renders in every format within 10 s on 2 cores: on
2026-11-30 9 → 21 units (189 weights) took 8.3 s of CPU, 12 → 12 → 12 (288) 8.5 to 10 s, 512 weights 12.6 s
and 2,048 about a minute."""

ELEMENTWISE_MAX_LAYERS = 4
"""Layers the element-wise view draws; each is four columns wide, and dot slows with the width. Set from
``tools/limits.py`` (``make limits``): on 2026-11-30 6 layers of 5 units took 8.2 s of CPU, 8 layers of 5
9.5 s and 16 layers of 4 13.3 s."""

MAX_TEXT = 500
"""Longest title, name or learning-rate symbol accepted."""

TOP_KEYS = ("title", "input", "layers", "loss", "target", "regularization", "diagram", "values")
DIAGRAM_KEYS = ("view", "notation", "simplify", "backprop_to", "show", "learning_rate", "memory", "gradient_flow",
                "show_values", "wrap")
LAYER_KEYS = ("size", "activation", "dropout", "batchnorm", "residual")
REQUIRED_LAYER_KEYS = ("size", "activation")
REGULARIZATION_KEYS = ("l2",)
MAX_L2 = 1e6
"""Largest λ accepted: beyond it the penalty swamps every loss and finite differences lose their digits."""
INPUT_KEYS = ("name", "size")

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
    size: int


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


@dataclass(frozen=True)
class DiagramOptions:
    """What to draw and how; every field has a default so ``diagram:`` may be omitted."""

    view: View = "vectorized"
    notation: Notation = "dls"
    simplify: Simplify = "auto"
    backprop_to: int = 1
    show: tuple[EdgeKind, ...] = EDGE_KINDS
    learning_rate: str = "α"
    memory: bool = False
    """Annotate every cached value with its shape and bytes, and the cache band with the total."""
    gradient_flow: bool = False
    """Draw the strip of ‖dW[l]‖ bars under the backward band (computes the numbers)."""
    show_values: bool | None = None
    """Draw the numbers on the nodes; None: exactly when the spec has ``values:``. A deep network whose
    numbers only feed the gradient-flow strip says false."""
    wrap: int | WrapAuto | None = None
    """Layers per tier (``auto``: chosen to keep the picture at most 2:1); None draws one row of layers."""


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
        return self.values if self.values is not None else default_values(self.sizes, file=self.file)

    @property
    def extended(self) -> bool:
        """The network uses L2, dropout, batch norm or a residual (INTERFACE §11)."""
        return self.l2 is not None or any(layer.dropout is not None or layer.batchnorm or layer.residual is not None
                                          for layer in self.layers)


def validate_network(doc: Document) -> NetworkSpec:
    """Check ``doc`` against the network spec format (INTERFACE §2)."""
    data = doc.data
    if "expression" in data:
        raise doc.error(("expression",),
                        "a spec is either a network (input, layers, loss) or an expression, not both")
    check_keys(doc, (), data, TOP_KEYS)
    for required in ("input", "layers", "loss"):
        if required not in data:
            raise doc.error((), f"missing required key '{required}'")
    title = _opt_text(doc, ("title",), data.get("title"))
    inp = _input(doc, data["input"])
    layers = _layers(doc, data["layers"])
    loss = cast(Loss, _choice(doc, ("loss",), data["loss"], LOSSES))
    target = _name(doc, ("target",), data.get("target", "Y"))
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
    diagram = _diagram(doc, data.get("diagram"), len(layers))
    if diagram.view == "elementwise":
        _check_elementwise(doc, data["input"], inp, layers)
        _refuse_elementwise_extensions(doc, data, layers, l2)
    values = None
    if "values" in data:
        sizes = (inp.size, *(layer.size for layer in layers))
        values = validate_values(doc, data["values"], sizes=sizes, loss=loss, input_name=inp.name,
                                 target_name=target, layers=layers)
    return NetworkSpec(title, inp, layers, loss, target, diagram, values, doc.file, l2)


def check_keys(doc: Document, path: PathKey, mapping: dict[str, Any], allowed: Sequence[str]) -> None:
    """Refuse keys outside ``allowed``, suggesting the closest valid one."""
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise doc.error((*path, key), f"unknown key; {hint}valid keys: {', '.join(allowed)}")


def _input(doc: Document, value: Any) -> InputSpec:
    if isinstance(value, dict):
        check_keys(doc, ("input",), value, INPUT_KEYS)
        if "size" not in value:
            raise doc.error(("input",), "missing required key 'size'")
        name = _name(doc, ("input", "name"), value.get("name", "X"))
        return InputSpec(name, _size(doc, ("input", "size"), value["size"]))
    if isinstance(value, int) and not isinstance(value, bool):
        return InputSpec("X", _size(doc, ("input",), value))
    raise doc.error(("input",), f"must be a size (integer) or a mapping {{name, size}}, not a {type_name(value)}")


def _layers(doc: Document, value: Any) -> tuple[LayerSpec, ...]:
    if not isinstance(value, list):
        raise doc.error(("layers",),
                        f"must be a list of layers like {{size: 4, activation: tanh}}, not a {type_name(value)}")
    if not value:
        raise doc.error(("layers",), "needs at least one layer")
    if len(value) > MAX_LAYERS:
        raise doc.error(("layers",), f"{len(value)} layers; at most {MAX_LAYERS} are supported")
    out: list[LayerSpec] = []
    for i, item in enumerate(value):
        path: PathKey = ("layers", i)
        if not isinstance(item, dict):
            raise doc.error(path, f"each layer must be a mapping {{size, activation}}, not a {type_name(item)}")
        check_keys(doc, path, item, LAYER_KEYS)
        for required in REQUIRED_LAYER_KEYS:
            if required not in item:
                raise doc.error(path, f"missing required key '{required}'")
        size = _size(doc, (*path, "size"), item["size"])
        act = cast(Activation, _choice(doc, (*path, "activation"), item["activation"], ACTIVATIONS))
        keep = _keep(doc, (*path, "dropout"), item["dropout"], i, len(value)) if "dropout" in item else None
        batchnorm = item.get("batchnorm", False)
        if not isinstance(batchnorm, bool):
            raise doc.error((*path, "batchnorm"), f"must be true or false, not {batchnorm!r}")
        residual = _residual(doc, (*path, "residual"), item["residual"], i, size, out) if "residual" in item else None
        out.append(LayerSpec(size, act, keep, batchnorm, residual))
    return tuple(out)


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


def _diagram(doc: Document, value: Any, n_layers: int) -> DiagramOptions:
    if value is None:
        return DiagramOptions()
    if not isinstance(value, dict):
        raise doc.error(("diagram",), f"must be a mapping, not a {type_name(value)}")
    check_keys(doc, ("diagram",), value, DIAGRAM_KEYS)
    base = DiagramOptions()
    view = cast(View, _choice(doc, ("diagram", "view"), value.get("view", base.view), VIEWS))
    notation = cast(Notation, _choice(doc, ("diagram", "notation"), value.get("notation", base.notation), NOTATIONS))
    simplify = parse_simplify(value.get("simplify", base.simplify))
    if simplify is None:
        raise doc.error(("diagram", "simplify"), f"must be one of: auto, true, false (got {value['simplify']!r})")
    backprop_to = value.get("backprop_to", base.backprop_to)
    if not isinstance(backprop_to, int) or isinstance(backprop_to, bool) or not 1 <= backprop_to <= n_layers:
        raise doc.error(("diagram", "backprop_to"),
                        f"must be a layer number from 1 to {n_layers} (got {backprop_to!r})")
    show = parse_show(value.get("show", list(base.show)))
    if isinstance(show, str):
        raise doc.error(("diagram", "show"), show)
    rate = value.get("learning_rate", base.learning_rate)
    bad_number = isinstance(rate, float) and not math.isfinite(rate)
    if isinstance(rate, bool) or not isinstance(rate, (str, int, float)) or bad_number:
        raise doc.error(("diagram", "learning_rate"),
                        f"must be a symbol such as α or a number, not {rate!r}")
    rate_text = _text(doc, ("diagram", "learning_rate"), str(rate))
    memory = _flag(doc, ("diagram", "memory"), value.get("memory", base.memory))
    flow = _flag(doc, ("diagram", "gradient_flow"), value.get("gradient_flow", base.gradient_flow))
    numbers = _flag(doc, ("diagram", "show_values"), value["show_values"]) if "show_values" in value else None
    try:
        wrap = parse_wrap(value.get("wrap"))
    except ValueError as exc:
        raise doc.error(("diagram", "wrap"), str(exc)) from None
    if wrap is not None and view == "elementwise":
        raise doc.error(("diagram", "wrap"), ELEMENTWISE_WRAP)
    return DiagramOptions(view, notation, simplify, backprop_to, show, rate_text, memory, flow, numbers, wrap)


def _flag(doc: Document, path: PathKey, value: Any) -> bool:
    if not isinstance(value, bool):
        raise doc.error(path, f"must be true or false, not {value!r}")
    return value


ELEMENTWISE_WRAP = ("applies to the vectorized view only: the element-wise view draws every unit's lanes "
                    "across the whole network, which tiers would cut; use view: vectorized to wrap")


def parse_wrap(value: Any) -> int | WrapAuto | None:
    """``wrap:`` / ``--wrap``: a layer count (1 or more), ``auto`` or None; ValueError (the message) otherwise."""
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError(f"must be a number of layers per tier (1 or more) or auto (got {value!r})")


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


def parse_simplify(value: Any) -> Simplify | None:
    """``auto``/``true``/``false`` from YAML (booleans or strings); None when invalid."""
    if value is True or value in ("true", "True", "yes"):
        return "true"
    if value is False or value in ("false", "False", "no"):
        return "false"
    if value == "auto":
        return "auto"
    return None


def parse_show(value: Any) -> tuple[EdgeKind, ...] | str:
    """Edge kinds to show, from a list or a comma-separated string; an error message when invalid."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return f"must be a list of edge kinds ({', '.join(EDGE_KINDS)}), not a {type_name(value)}"
    if not items:
        return f"must list at least one edge kind ({', '.join(EDGE_KINDS)})"
    kinds = []
    for item in items:
        name = item.strip() if isinstance(item, str) else item
        if name not in EDGE_KINDS:
            return f"unknown edge kind {name!r}; valid kinds: {', '.join(EDGE_KINDS)}"
        kinds.append(name)
    return tuple(k for k in EDGE_KINDS if k in kinds)


def _choice(doc: Document, path: PathKey, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, (str, int, float, bool)) or value is None else f"a {type_name(value)}"
        close = []
        if isinstance(value, str):
            lowered = [c for c in choices if c == value.lower()]
            close = lowered or difflib.get_close_matches(value.lower(), choices, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise doc.error(path, f"{shown} is not valid; {hint}valid choices: {', '.join(choices)}")
    return value


def _size(doc: Document, path: PathKey, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(path, f"must be a whole number of units, not a {type_name(value)} ({value!r})")
    if not 1 <= value <= MAX_UNITS:
        raise doc.error(path, f"must be between 1 and {MAX_UNITS} (got {value})")
    return value


def _text(doc: Document, path: PathKey, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise doc.error(path, f"is {len(value)} characters long; at most {MAX_TEXT}")
    return value


def _opt_text(doc: Document, path: PathKey, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise doc.error(path, f"must be text, not a {type_name(value)}")
    return _text(doc, path, str(value))


def _name(doc: Document, path: PathKey, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise doc.error(path, f"must be a non-empty name such as X or Y, not {value!r}")
    return _text(doc, path, value.strip())
