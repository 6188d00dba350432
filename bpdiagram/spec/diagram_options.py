"""The ``diagram:`` section of a network spec: what to draw and how, and the parsers the CLI shares.

``parse_show``, ``parse_wrap`` and ``parse_simplify`` read a value as it comes
from YAML or from a command-line flag, so ``--show`` and ``show:`` (and the
others) accept the same things and say the same when they do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from bpdiagram.options import (
    EDGE_KINDS,
    NOTATIONS,
    PRECISIONS,
    VIEWS,
    Dynamic,
    EdgeKind,
    Notation,
    Precision,
    Simplify,
    View,
    WrapAuto,
)
from bpdiagram.spec.fields import check_keys, choice, flag, text
from bpdiagram.spec.keys import DIAGRAM_KEYS
from bpdiagram.spec.load import Document, type_name

ELEMENTWISE_WRAP = ("applies to the vectorized view only: the element-wise view draws every unit's lanes "
                    "across the whole network, which tiers would cut; use view: vectorized to wrap")


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
    precision: Precision | None = None
    """Judge every drawn gradient against this 16-bit format's range (mixed precision); None: do not."""
    loss_scale: float | Dynamic = 1.0
    """S, the factor the loss is multiplied by before the 16-bit backward pass, or ``dynamic``."""


def validate_diagram(doc: Document, value: Any, n_layers: int) -> DiagramOptions:
    """The ``diagram:`` section of a network of ``n_layers`` layers (the defaults when it is absent)."""
    if value is None:
        return DiagramOptions()
    if not isinstance(value, dict):
        raise doc.error(("diagram",), f"must be a mapping, not a {type_name(value)}")
    check_keys(doc, ("diagram",), value, DIAGRAM_KEYS)
    base = DiagramOptions()
    view = cast(View, choice(doc, ("diagram", "view"), value.get("view", base.view), VIEWS))
    notation = cast(Notation, choice(doc, ("diagram", "notation"), value.get("notation", base.notation), NOTATIONS))
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
    rate_text = _learning_rate(doc, value.get("learning_rate", base.learning_rate))
    memory = flag(doc, ("diagram", "memory"), value.get("memory", base.memory))
    flow = flag(doc, ("diagram", "gradient_flow"), value.get("gradient_flow", base.gradient_flow))
    numbers = flag(doc, ("diagram", "show_values"), value["show_values"]) if "show_values" in value else None
    try:
        wrap = parse_wrap(value.get("wrap"))
    except ValueError as exc:
        raise doc.error(("diagram", "wrap"), str(exc)) from None
    if wrap is not None and view == "elementwise":
        raise doc.error(("diagram", "wrap"), ELEMENTWISE_WRAP)
    precision = value.get("precision")
    if precision is not None:
        precision = choice(doc, ("diagram", "precision"), precision, PRECISIONS)
    try:
        scale = parse_loss_scale(value.get("loss_scale", base.loss_scale))
    except ValueError as exc:
        raise doc.error(("diagram", "loss_scale"), str(exc)) from None
    if "loss_scale" in value and precision is None:
        raise doc.error(("diagram", "loss_scale"), "needs precision: float16 or bfloat16 (the format it scales for)")
    return DiagramOptions(view, notation, simplify, backprop_to, show, rate_text, memory, flow, numbers, wrap,
                          cast("Precision | None", precision), scale)


def parse_loss_scale(value: Any) -> float | Dynamic:
    """``loss_scale:`` / ``--loss-scale``: a positive finite number or ``dynamic``; ValueError (the message) otherwise.

    >>> parse_loss_scale("1024"), parse_loss_scale(8), parse_loss_scale("dynamic")
    (1024.0, 8.0, 'dynamic')
    """
    if value == "dynamic":
        return "dynamic"
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) or number <= 0:
        raise ValueError(f"must be a positive number or dynamic (got {value!r})")
    return float(number)


def _learning_rate(doc: Document, rate: Any) -> str:
    """The learning rate as drawn in the update nodes: a symbol such as α, or a finite number."""
    bad_number = isinstance(rate, float) and not math.isfinite(rate)
    if isinstance(rate, bool) or not isinstance(rate, (str, int, float)) or bad_number:
        raise doc.error(("diagram", "learning_rate"),
                        f"must be a symbol such as α or a number, not {rate!r}")
    return text(doc, ("diagram", "learning_rate"), str(rate))


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
