"""The losses J(A, Y) with their output gradient dA, and the fused output rules (dZ[L] = A[L] − Y)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpdiagram.model.catalogue.base import Code
from bpdiagram.options import Activation, Loss, Simplify

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue.base import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")  # imported when a rule first computes: diagrams without numbers never do


@dataclass(frozen=True)
class LossOp:
    """J(A, Y) and the per-example output gradient dA."""

    name: Loss
    forward: str
    derivative: str
    scale_label: str
    """Factor shown in dW and db: ``(1/m) `` or empty."""
    J: Callable[[Array, Array], float]
    dA: Callable[[Array, Array], Array]
    scale: Callable[[int], float]
    unit_forward: str
    """J summed over the output units j (and the m examples)."""
    unit_derivative: str
    """da_j of one output unit."""
    code: Code | None = None
    """The pair as Python: J from ``A`` and ``Y`` (``m`` examples), then dA from ``A`` and ``Y``."""


@dataclass(frozen=True)
class FusedOp:
    """Output activation and loss differentiated together: dZ[L] straight from A[L] and Y."""

    derivative: str
    dZ: Callable[[Array, Array], Array]
    unit_derivative: str
    """dz_j of one output unit."""
    code: Code | None = None
    """dZ from ``A`` and ``Y`` as Python (``backward`` only)."""


LOSS_OPS: dict[Loss, LossOp] = {
    "bce": LossOp("bce", "$J = −(1/m) Σ [$Y log $A\n+ (1 − $Y) log(1 − $A)]", "$dA = −$Y / $A + (1 − $Y) / (1 − $A)",
                  "(1/m) ",
                  lambda a, y: float(-np.mean(np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=0))),
                  lambda a, y: -y / a + (1 - y) / (1 - a), lambda m: 1.0 / m,
                  unit_forward="$J = −(1/m) Σ $Σ[$y log $a\n+ (1 − $y) log(1 − $a)]",
                  unit_derivative="$da = −$y / $a + (1 − $y) / (1 − $a)",
                  code=Code("float(-np.mean(np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A), axis=0)))",
                            ("-Y / A + (1 - Y) / (1 - A)",), scale="1 / m")),
    "ce": LossOp("ce", "$J = −(1/m) Σ $Y ⊙ log $A", "$dA = −$Y / $A", "(1/m) ",
                 lambda a, y: float(-np.mean(np.sum(y * np.log(a), axis=0))),
                 lambda a, y: -y / a, lambda m: 1.0 / m,
                 unit_forward="$J = −(1/m) Σ $Σ$y log $a", unit_derivative="$da = −$y / $a",
                 code=Code("float(-np.mean(np.sum(Y * np.log(A), axis=0)))", ("-Y / A",), scale="1 / m")),
    "mse": LossOp("mse", "$J = (1/2m) Σ ($A − $Y)^{2}", "$dA = $A − $Y", "(1/m) ",
                  lambda a, y: float(np.sum((a - y) ** 2) / (2 * a.shape[1])),
                  lambda a, y: a - y, lambda m: 1.0 / m,
                  unit_forward="$J = (1/2m) Σ $Σ($a − $y)^{2}", unit_derivative="$da = $a − $y",
                  code=Code("float(np.sum((A - Y) ** 2) / (2 * A.shape[1]))", ("A - Y",), scale="1 / m")),
    "sse": LossOp("sse", "$J = Σ ($A − $Y)^{2}", "$dA = 2($A − $Y)", "",
                  lambda a, y: float(np.sum((a - y) ** 2)),
                  lambda a, y: 2 * (a - y), lambda m: 1.0,
                  unit_forward="$J = Σ $Σ($a − $y)^{2}", unit_derivative="$da = 2($a − $y)",
                  code=Code("float(np.sum((A - Y) ** 2))", ("2 * (A - Y)",), scale="1.0")),
}

FUSED_OPS: dict[tuple[Activation, Loss], FusedOp] = {
    ("sigmoid", "bce"): FusedOp("$dZ = $A − $Y", lambda a, y: a - y, unit_derivative="$dz = $a − $y",
                                  code=Code("", ("A - Y",))),
    ("softmax", "ce"): FusedOp("$dZ = $A − $Y", lambda a, y: a - y, unit_derivative="$dz = $a − $y",
                                  code=Code("", ("A - Y",))),
    ("linear", "mse"): FusedOp("$dZ = $A − $Y", lambda a, y: a - y, unit_derivative="$dz = $a − $y",
                                  code=Code("", ("A - Y",))),
    ("linear", "sse"): FusedOp("$dZ = 2($A − $Y)", lambda a, y: 2 * (a - y), unit_derivative="$dz = 2($a − $y)",
                                  code=Code("", ("2 * (A - Y)",))),
}


def output_rule(activation: Activation, loss: Loss, simplify: Simplify) -> FusedOp | None:
    """The fused output rule in effect, or None for the general chain dA[L] then dZ[L]."""
    if simplify == "false":
        return None
    return FUSED_OPS.get((activation, loss))
