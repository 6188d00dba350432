"""The activations: g(Z), its backward rule, the same rules for one unit, and their code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpdiagram.model.catalogue.base import Code
from bpdiagram.options import Activation

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue.base import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")  # imported when a rule first computes: diagrams without numbers never do

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class ActivationOp:
    """g(Z) and the backward rule dZ = dA ⊙ g′(Z) (or its Jacobian product, for softmax)."""

    name: Activation
    forward: str
    derivative: str
    uses: tuple[str, ...]
    """Forward values the derivative reads ("Z" or "A"): these go through the cache."""
    g: Callable[[Array], Array]
    backward: Callable[[Array, Array, Array], Array]
    """(dA, Z, A) → dZ."""
    unit_forward: str
    unit_derivative: str
    """The same rules for one unit j: a_j = g(z_j) and dz_j from da_j (element-wise view)."""
    smooth: bool = True
    """False for relu and leaky_relu: g′ jumps at Z = 0, where finite differences cannot check it."""
    code: Code | None = None
    """The pair as Python for ``bpdiagram code``: forward body from ``Z``, backward body from ``dA`` and ``uses``."""
    slope: str | None = None
    """g′ written from g's argument ``$Z`` alone (``(1 − tanh^{2}($Z))``), for a dropout layer, whose
    cached A is masked and scaled and so cannot give g′; empty for linear (g′ = 1), None for softmax."""
    g_prime: Callable[[Array], Array] | None = None
    """Z → g′(Z), the numbers of ``slope``."""
    output_derivative: str | None = None
    """dZ with g′ read from g's output A (relu, leaky relu: [A > 0] is [Z > 0]), as PyTorch keeps it; used
    where g's argument is a sum Z[l] + A[k] that nothing else keeps (a residual layer)."""
    output_backward: Callable[[Array, Array], Array] | None = None
    """(dA, A) → dZ, the numbers of ``output_derivative``."""
    slope_code: str | None = None
    """``slope`` as Python from ``Z`` (g's argument), for ``bpdiagram code``; None where ``slope`` is None or empty."""
    output_code: str | None = None
    """``output_derivative`` as Python from ``dA`` and ``A``, for ``bpdiagram code``."""


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=0, keepdims=True))
    out: Array = e / e.sum(axis=0, keepdims=True)
    return out


def _sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATION_OPS: dict[Activation, ActivationOp] = {
    "linear": ActivationOp("linear", "$A = $Z", "$dZ = $dA", (), lambda z: z.copy(), lambda da, z, a: da.copy(),
                           unit_forward="$a = $z", unit_derivative="$dz = $da", code=Code("Z", ("dA",)),
                           slope="", g_prime=lambda z: np.ones_like(z)),
    "sigmoid": ActivationOp("sigmoid", "$A = σ($Z)", "$dZ = $dA ⊙ $A ⊙ (1 − $A)", ("A",), _sigmoid,
                            lambda da, z, a: da * a * (1 - a),
                            unit_forward="$a = σ($z)", unit_derivative="$dz = $da · $a (1 − $a)",
                            code=Code("1 / (1 + np.exp(-Z))", ("dA * A * (1 - A)",)),
                            slope="σ($Z) ⊙ (1 − σ($Z))", g_prime=lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
                            slope_code="1 / (1 + np.exp(-Z)) * (1 - 1 / (1 + np.exp(-Z)))"),
    "tanh": ActivationOp("tanh", "$A = tanh($Z)", "$dZ = $dA ⊙ (1 − $A^{2})", ("A",), lambda z: np.tanh(z),
                         lambda da, z, a: da * (1 - a**2),
                         unit_forward="$a = tanh($z)", unit_derivative="$dz = $da · (1 − $a^{2})",
                         code=Code("np.tanh(Z)", ("dA * (1 - A ** 2)",)),
                         slope="(1 − tanh^{2}($Z))", g_prime=lambda z: 1 - np.tanh(z) ** 2,
                         slope_code="1 - np.tanh(Z) ** 2"),
    "relu": ActivationOp("relu", "$A = max(0, $Z)", "$dZ = $dA ⊙ [$Z > 0]", ("Z",),
                         lambda z: np.maximum(0.0, z), lambda da, z, a: da * (z > 0),
                         unit_forward="$a = max(0, $z)", unit_derivative="$dz = $da · [$z > 0]", smooth=False,
                         code=Code("np.maximum(0.0, Z)", ("dA * (Z > 0)",)),
                         slope="[$Z > 0]", g_prime=lambda z: (z > 0).astype(np.float64),
                         output_derivative="$dZ = $dA ⊙ [$A > 0]", output_backward=lambda da, a: da * (a > 0),
                         slope_code="(Z > 0).astype(np.float64)", output_code="dA * (A > 0)"),
    "leaky_relu": ActivationOp("leaky_relu", "$A = max(0.01 $Z, $Z)", "$dZ = $dA ⊙ ([$Z > 0] + 0.01 [$Z ≤ 0])",
                               ("Z",), lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
                               lambda da, z, a: da * np.where(z > 0, 1.0, LEAKY_SLOPE),
                               unit_forward="$a = max(0.01 $z, $z)",
                               unit_derivative="$dz = $da · ([$z > 0] + 0.01 [$z ≤ 0])", smooth=False,
                               code=Code(f"np.where(Z > 0, Z, {LEAKY_SLOPE} * Z)",
                                         (f"dA * np.where(Z > 0, 1.0, {LEAKY_SLOPE})",)),
                               slope="([$Z > 0] + 0.01 [$Z ≤ 0])",
                               g_prime=lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE),
                               output_derivative="$dZ = $dA ⊙ ([$A > 0] + 0.01 [$A ≤ 0])",
                               output_backward=lambda da, a: da * np.where(a > 0, 1.0, LEAKY_SLOPE),
                               slope_code=f"np.where(Z > 0, 1.0, {LEAKY_SLOPE})",
                               output_code=f"dA * np.where(A > 0, 1.0, {LEAKY_SLOPE})"),
    "softmax": ActivationOp("softmax", "$A = softmax($Z)", "$dZ = $A ⊙ ($dA − Σ_{k} $A ⊙ $dA)", ("A",), _softmax,
                            lambda da, z, a: a * (da - (a * da).sum(axis=0, keepdims=True)),
                            unit_forward="$a = exp($z) / $Σ@kexp($z@k)",
                            unit_derivative="$dz = $a ($da − $Σ@k$a@k $da@k)",
                            code=Code("E = np.exp(Z - Z.max(axis=0, keepdims=True))\nE / E.sum(axis=0, keepdims=True)",
                                      ("A * (dA - (A * dA).sum(axis=0, keepdims=True))",))),
}
