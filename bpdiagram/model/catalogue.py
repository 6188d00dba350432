"""The op catalogue: the single home of the math.

For every activation, loss and fused output, one entry holds the formula the
diagram draws (in symbol templates, rendered by a ``Notation``) and the numpy
functions that compute it. The numeric check evaluates the very entries the
labels come from, so what is drawn is what is checked.

Symbol templates: ``$Z`` is Z of the current layer l, ``$A-`` is A of layer
l−1 (the input X when l = 1), ``$W+'`` is the transpose of W of layer l+1,
``$X``, ``$Y`` and ``$J`` are the input, the target and the loss.

Element-wise templates (``unit_forward``, ``unit_derivative``) write the same
rule for one unit, in lower case: ``$z`` and ``$a`` are z and a of one unit of
layer l (its index given when rendered), ``$a-`` a unit of layer l−1,
``$w`` the weight w_ji joining unit i of layer l−1 to unit j of layer l,
``$y`` one target; ``@k`` names a unit by letter (``$a@k``) and ``$Σ``,
``$Σ-``, ``$Σ@k`` sum over a layer's units (nothing when it has one unit).
See ``notation.UnitSymbols``.

The second course's ops (INTERFACE §11) have one entry each, at the end: ``L2``,
``DROPOUT``, ``BATCHNORM`` and ``RESIDUAL``, each with its forward formula, its
backward formula(s) as drawn, what it caches (``CachedValue``: symbol and shape)
and the numpy of both directions; ``backward_form`` says which activation rule a
hidden layer's dZ uses when dropout or a residual changes what is kept.

Gradient convention (DLS): ``dZ``/``dA`` are per-example derivatives of the
loss; the averaging factor of the loss (``scale``, 1/m or 1) appears once, in
dW and db.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bpdiagram.options import Activation, Gate, Loss, Simplify

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")  # imported when a rule first computes: diagrams without numbers never do


def __getattr__(name: str) -> Any:
    """``Array``, the float64 array type of every rule, for modules that import it at run time."""
    if name == "Array":
        from numpy.typing import NDArray

        return NDArray[np.float64]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Code:
    """An op as Python, for ``bpdiagram code``: the bodies of its forward/backward function pair.

    Bodies are written over fixed argument names, numpy as ``np`` (networks) or
    ``math`` (expression gates); a body may hold several lines, the last one
    being the value returned. ``model.code`` turns them into functions such as
    ``tanh_forward(Z)`` and ``tanh_backward(dA, A)``, with arguments by family:

    - activation: forward ``(Z)``, backward ``(dA, *uses)`` → dZ;
    - loss: forward ``(A, Y)`` → J, backward ``(A, Y)`` → dA; ``scale`` from ``m``;
    - fused output: backward ``(A, Y)`` → dZ (no forward);
    - linear step: forward ``(W, A_prev, b)``; backward ``(dZ, A_prev, scale)`` → dW, db,
      and ``(W, dZ)`` → dA_prev;
    - gate: forward ``(a[, b][, c])``, backward ``(*keeps, [c,] dout)`` (the kept output ``o`` is ``out``),
      one expression per input.

    A new catalogue entry adds its ``Code`` next to its formula and its numpy rule;
    ``tests/test_code.py`` runs every body against the entry's numpy rule.
    """

    forward: str
    backward: tuple[str, ...]
    scale: str = ""
    """The loss's averaging factor from ``m`` (losses only): ``1 / m`` or ``1.0``."""


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



@dataclass(frozen=True)
class LinearOp:
    """The linear step Z[l] = W[l] A[l−1] + b[l] and its backward rules."""

    forward: str
    weight_gradient: str
    """dW[l], after the loss's averaging factor (``{scale}``)."""
    bias_gradient: str
    previous_gradient: str
    """dA[l−1] = W[l]ᵀ dZ[l]: the gradient handed to the layer below."""
    z: Callable[[Array, Array, Array], Array]
    """(W, A[l−1], b) → Z."""
    dW: Callable[[Array, Array, float], Array]
    """(dZ, A[l−1], scale) → dW."""
    db: Callable[[Array, float], Array]
    """(dZ, scale) → db."""
    dA_prev: Callable[[Array, Array], Array]
    """(W, dZ) → dA[l−1]."""
    code: Code | None = None
    """Z; then dW, db and dA[l−1] as Python (see ``Code``)."""


LINEAR = LinearOp(
    "$Z = $W$A- + $b", "$dW = {scale}$dZ $A-'", "$db = {scale}Σ $dZ", "$dA- = $W' $dZ",
    lambda w, a_prev, b: w @ a_prev + b,
    lambda dz, a_prev, scale: scale * (dz @ a_prev.T),
    lambda dz, scale: scale * dz.sum(axis=1, keepdims=True),
    lambda w, dz: w.T @ dz,
    code=Code("W @ A_prev + b", ("scale * (dZ @ A_prev.T)", "scale * dZ.sum(axis=1, keepdims=True)", "W.T @ dZ")),
)

LINEAR_FORWARD = LINEAR.forward
"""The linear step of every layer, Z[l] = W[l] A[l−1] + b[l]."""

PREVIOUS_GRADIENT = LINEAR.previous_gradient
"""dA[l−1] = W[l]ᵀ dZ[l]: the gradient handed to the layer below."""


UNIT_LINEAR_FORWARD = "$z = $Σ-$w $a- + $b"
"""One unit's linear step, z_j[l] = Σ_i w_ji[l] a_i[l−1] + b_j[l]."""

UNIT_PREVIOUS_GRADIENT = "$da- = $Σ$w $dz"
"""da_i[l−1] = Σ_j w_ji[l] dz_j[l]: what unit i of the layer below receives, one term per weight."""

UNIT_PARAMS = "$w, $b"
"""The parameters of one unit j: its weights w_ji (every i) and its bias b_j."""


def param_gradients(loss: LossOp) -> tuple[str, str]:
    """dW[l] and db[l] with the loss's averaging factor."""
    return (LINEAR.weight_gradient.format(scale=loss.scale_label), LINEAR.bias_gradient.format(scale=loss.scale_label))


def unit_param_gradients(loss: LossOp) -> tuple[str, str]:
    """dw_ji[l] (every i) and db_j[l] of one unit j, with the loss's averaging factor."""
    return (f"$dw = {loss.scale_label}Σ $dz $a-", f"$db = {loss.scale_label}Σ $dz")


def output_rule(activation: Activation, loss: Loss, simplify: Simplify) -> FusedOp | None:
    """The fused output rule in effect, or None for the general chain dA[L] then dZ[L]."""
    if simplify == "false":
        return None
    return FUSED_OPS.get((activation, loss))


# -- what the next weeks of a course add: L2, dropout, batch norm, residuals (INTERFACE §11) ----
#
# Each entry holds, in this order: its forward formula, its backward formula(s) as drawn, what it
# caches for the backward pass (``caches``: names of the cached arrays and their shapes, so a memory
# count can read them), and the numpy of both directions. Templates use the notation tokens above
# plus ``$D`` (dropout mask), ``$M`` (μ), ``$V`` (σ²), ``$N`` (Ẑ), ``$T`` (Z̃), ``$G`` (γ), ``$B`` (β),
# ``$W@l`` (W of a generic layer l), and ``{name}`` placeholders filled with ``fill``.
# Shapes: ``n`` is n[l] (units of the layer), ``m`` the batch.

BATCHNORM_EPS = 1e-5
"""ε of batch norm, as PyTorch's default."""


BackwardForm = Literal["plain", "dropout", "output"]


def backward_form(activation: Activation, *, dropout: bool, residual: bool) -> BackwardForm:
    """Which rule gives dZ of a hidden layer's activation: the catalogue's own (``plain``), the dropout
    rule (mask, 1/keep, then g′ of g's argument), or g′ read from g's output (a residual layer whose
    activation's g′ would otherwise read the sum Z + A[k])."""
    op = ACTIVATION_OPS[activation]
    if dropout:
        return "dropout"
    if residual and "Z" in op.uses and op.output_derivative is not None:
        return "output"
    return "plain"


def fill(template: str, **parts: str) -> str:
    """Put ``parts`` into a template's ``{name}`` placeholders (markup braces such as ``^{2}`` stay)."""
    for name, text in parts.items():
        template = template.replace("{" + name + "}", text)
    return template


@dataclass(frozen=True)
class CachedValue:
    """A value an op keeps for the backward pass: its template symbol and its shape in n (= n[l]) and m."""

    symbol: str
    shape: tuple[str, str]


@dataclass(frozen=True)
class L2Op:
    """L2 regularisation: J += (λ/2m) Σ_l ‖W[l]‖², and every dW[l] gains (λ/m) W[l] (sse: λ/2 and λ)."""

    penalty: dict[bool, str]
    """The term added to J, by ``averaged`` (the loss divides by m, else sse)."""
    weight_gradient: dict[bool, str]
    """The term added to dW[l], by ``averaged``."""
    caches: tuple[CachedValue, ...]
    """W[l] goes into dW[l] (its shape: n[l] × n[l−1], written ``(n, n-)``)."""
    J: Callable[[list[Array], float, float], float]
    """(every W, λ, scale) → the penalty; scale is the loss's 1/m (or 1)."""
    dW: Callable[[Array, float, float], Array]
    """(W, λ, scale) → the term added to dW."""
    code: Code | None = None
    """The penalty from ``Ws`` (every W), ``lambd`` and ``scale``; then dW's term from ``W``, ``lambd``, ``scale``."""


L2 = L2Op(
    penalty={True: "+ (λ/2m) Σ_{l} ‖$W@l‖^{2}", False: "+ (λ/2) Σ_{l} ‖$W@l‖^{2}"},
    weight_gradient={True: " + (λ/m) $W", False: " + λ $W"},
    caches=(CachedValue("$W", ("n", "n-")),),
    J=lambda ws, lam, scale: float(lam * scale / 2 * sum(float(np.sum(w * w)) for w in ws)),
    dW=lambda w, lam, scale: lam * scale * w,
    code=Code("float(lambd * scale / 2 * sum(float(np.sum(W * W)) for W in Ws))", ("lambd * scale * W",)),
)


@dataclass(frozen=True)
class DropoutOp:
    """Inverted dropout with keep probability ``keep``: A = D ⊙ g(·) / keep, D of 0/1 with P(1) = keep."""

    forward: str
    """A[l] with ``{g}`` the activation's right-hand side and ``{keep}`` the probability."""
    derivative: str
    """dZ[l]: the mask and 1/keep reapplied to dA, then g′ from its argument (``{slope}``, may be empty)."""
    caches: tuple[CachedValue, ...]
    apply: Callable[[Array, Array, float], Array]
    """(g(·), D, keep) → A."""
    backward: Callable[[Array, Array, float], Array]
    """(dA, D, keep) → the gradient of g's output."""
    draw: Callable[[np.random.Generator, tuple[int, int], float], Array]
    """(rng, shape, keep) → a mask of 0/1 with P(1) = keep."""
    code: Code | None = None
    """A from ``G`` (g's output), ``D`` and ``keep``; then the gradient of G from ``dA``, ``D``, ``keep``."""
    draw_code: str = ""
    """``draw`` as Python from ``rng``, ``shape`` and ``keep`` (the same calls, so the same bits)."""


DROPOUT = DropoutOp(
    forward="$A = $D ⊙ {g} / {keep}",
    derivative="$dZ = $dA ⊙ $D / {keep}{slope}",
    caches=(CachedValue("$D", ("n", "m")),),
    apply=lambda g, d, keep: d * g / keep,
    backward=lambda da, d, keep: da * d / keep,
    draw=lambda rng, shape, keep: (rng.random(shape) < keep).astype(np.float64),
    code=Code("D * G / keep", ("dA * D / keep",)),
    draw_code="(rng.random(shape) < keep).astype(np.float64)",
)


@dataclass(frozen=True)
class BatchNormOp:
    """Batch norm over the m examples (batch mean, biased variance, ε), with scale γ and shift β.

    The linear step has no bias then (β takes its place). Per-example convention as everywhere:
    dZ̃ is per example, dγ and dβ carry the loss's factor ``{scale}`` and are dJ/dγ, dJ/dβ; ``mean``
    is over the batch, (1/m) Σ, whatever the loss.
    """

    linear: str
    """Z[l] = W[l] A[l−1], no bias."""
    forward: str
    """μ, σ², Ẑ and Z̃, one line each."""
    params: str
    """The parameter node's label: γ[l], β[l]."""
    gamma_gradient: str
    beta_gradient: str
    derivative: str
    """dZ[l] from dZ̃[l]: the three-term gradient."""
    caches: tuple[CachedValue, ...]
    """Ẑ and σ² (the backward needs no μ once Ẑ is kept), and γ."""
    normalize: Callable[[Array], tuple[Array, Array, Array]]
    """Z → (μ, σ², Ẑ)."""
    scale_shift: Callable[[Array, Array, Array], Array]
    """(Ẑ, γ, β) → Z̃."""
    backward: Callable[[Array, Array, Array, Array, float], tuple[Array, Array, Array]]
    """(dZ̃, Ẑ, σ², γ, scale) → (dγ, dβ, dZ)."""
    code: Code | None = None
    """μ, σ², Ẑ, Z̃ (``mu``, ``var``, ``Znorm``, ``Zbn``) from ``Z``, ``gamma``, ``beta``; then dγ, dβ, dZ from
    ``dZbn``, ``Znorm``, ``var``, ``gamma``, ``scale`` (one expression each)."""
    linear_code: str = ""
    """``linear`` as Python from ``W`` and ``A_prev``; dW is the linear step's own (``LINEAR.code``)."""


def _normalize(z: Array) -> tuple[Array, Array, Array]:
    mu = z.mean(axis=1, keepdims=True)
    var = ((z - mu) ** 2).mean(axis=1, keepdims=True)
    return mu, var, (z - mu) / np.sqrt(var + BATCHNORM_EPS)


def _batchnorm_backward(dzt: Array, zhat: Array, var: Array, gamma: Array,
                        scale: float) -> tuple[Array, Array, Array]:
    dgamma = scale * (dzt * zhat).sum(axis=1, keepdims=True)
    dbeta = scale * dzt.sum(axis=1, keepdims=True)
    dz = gamma * (dzt - dzt.mean(axis=1, keepdims=True)
                  - zhat * (dzt * zhat).mean(axis=1, keepdims=True)) / np.sqrt(var + BATCHNORM_EPS)
    return dgamma, dbeta, dz


BATCHNORM = BatchNormOp(
    linear="$Z = $W$A-",
    forward="$M = mean($Z), $V = mean(($Z − $M)^{2})\n$N = ($Z − $M) / √($V + ε)\n$T = $G ⊙ $N + $B",
    params="$G, $B",
    gamma_gradient="$dG = {scale}Σ $dT ⊙ $N",
    beta_gradient="$dB = {scale}Σ $dT",
    derivative="$dZ = $G ⊙ ($dT − mean($dT)\n− $N ⊙ mean($dT ⊙ $N)) / √($V + ε)",
    caches=(CachedValue("$N", ("n", "m")), CachedValue("$V", ("n", "1")), CachedValue("$G", ("n", "1"))),
    normalize=_normalize,
    scale_shift=lambda zhat, gamma, beta: gamma * zhat + beta,
    backward=_batchnorm_backward,
    code=Code("mu = Z.mean(axis=1, keepdims=True)\n"
              "var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)\n"
              f"Znorm = (Z - mu) / np.sqrt(var + {BATCHNORM_EPS!r})\n"
              "Zbn = gamma * Znorm + beta\n"
              "mu, var, Znorm, Zbn",
              ("scale * (dZbn * Znorm).sum(axis=1, keepdims=True)", "scale * dZbn.sum(axis=1, keepdims=True)",
               "gamma * (dZbn - dZbn.mean(axis=1, keepdims=True)\n"
               f"         - Znorm * (dZbn * Znorm).mean(axis=1, keepdims=True)) / np.sqrt(var + {BATCHNORM_EPS!r})")),
    linear_code="W @ A_prev",
)


@dataclass(frozen=True)
class ResidualOp:
    """A skip connection: A[k] added to g's argument at layer l, A[l] = g(Z[l] + A[k]).

    The addition passes its gradient to both inputs unchanged, so dA[k] gets a second term,
    summed where the two paths meet.
    """

    argument: str
    """g's argument at layer l, ``{base}`` being Z[l] (or Z̃[l] with batch norm) and ``{skip}`` A[k]."""
    sum: str
    """The ``+`` in the backward band: dA[k] gains the gradient of g's argument (``{grad}``)."""
    caches: tuple[CachedValue, ...]
    """Nothing of its own; a g′ read from the argument (relu) reads A[k] through A[k]'s cached copy."""
    add: Callable[[Array, Array], Array]
    """(Z, A[k]) → the argument."""
    backward: Callable[[Array], Array]
    """gradient of the argument → the term added to dA[k]."""
    code: Code | None = None
    """The argument from ``Z`` and ``A_skip``; then the term added to dA[k] from ``dZ``."""


RESIDUAL = ResidualOp(
    argument="{base} + {skip}",
    sum="{skip_grad} += {grad}",
    caches=(),
    add=lambda z, a: z + a,
    backward=lambda d: d.copy(),
    code=Code("Z + A_skip", ("dZ.copy()",)),
)


# -- gates of expression graphs ----------------------------------------------------------
#
# Templates: ``$a`` and ``$b`` are the gate's inputs, ``$o`` its output, ``$c`` the
# constant exponent of ``pow`` and ``$k`` that exponent minus one; ``d$a`` is the
# gradient of f with respect to ``$a``.
# ``local`` gives ∂o/∂input for each input, from the inputs, the output and c.


@dataclass(frozen=True)
class GateOp:
    """A gate: its formula, one backward rule per input, what it keeps, and the numbers."""

    name: Gate
    forward: str
    rules: tuple[str, ...]
    keeps: tuple[str, ...]
    """Values the backward rules read ("a", "b" inputs, "o" output): these go through the cache."""
    f: Callable[[float, float, float], float]
    """(a, b, c) → o; unary gates ignore b."""
    local: Callable[[float, float, float, float], tuple[float, ...]]
    """(a, b, o, c) → ∂o/∂a (, ∂o/∂b)."""
    domain: Callable[[float, float, float], str | None] = lambda a, b, c: None
    """(a, b, c) → why the inputs are outside the gate's domain, or None."""
    code: Code | None = None
    """The gate as Python over floats (``math``): its output from a (, b, c); each input's gradient from the
    kept values (``a``, ``b``, ``out``), c and ``dout`` (see ``Code``)."""


def _sig(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


def _pow_domain(a: float, b: float, c: float) -> str | None:
    if a == 0 and c < 0:
        return "0 raised to a negative power"
    if a < 0 and not float(c).is_integer():
        return "a negative number raised to a fractional power"
    return None


GATE_OPS: dict[Gate, GateOp] = {
    "add": GateOp("add", "$a + $b", ("d$a = d$o", "d$b = d$o"), (),
                  lambda a, b, c: a + b, lambda a, b, o, c: (1.0, 1.0),
                  code=Code("a + b", ("dout", "dout"))),
    "sub": GateOp("sub", "$a − $b", ("d$a = d$o", "d$b = −d$o"), (),
                  lambda a, b, c: a - b, lambda a, b, o, c: (1.0, -1.0),
                  code=Code("a - b", ("dout", "-dout"))),
    "mul": GateOp("mul", "$a · $b", ("d$a = $b · d$o", "d$b = $a · d$o"), ("a", "b"),
                  lambda a, b, c: a * b, lambda a, b, o, c: (b, a),
                  code=Code("a * b", ("b * dout", "a * dout"))),
    "div": GateOp("div", "$a / $b", ("d$a = d$o / $b", "d$b = −$a · d$o / $b^{2}"), ("a", "b"),
                  lambda a, b, c: a / b, lambda a, b, o, c: (1.0 / b, -a / (b * b)),
                  lambda a, b, c: "division by zero" if b == 0 else None,
                  code=Code("a / b", ("dout / b", "-a * dout / b ** 2"))),
    "neg": GateOp("neg", "−$a", ("d$a = −d$o",), (), lambda a, b, c: -a, lambda a, b, o, c: (-1.0,),
                  code=Code("-a", ("-dout",))),
    "pow": GateOp("pow", "$a^{$c}", ("d$a = $c · $a^{$k} · d$o",), ("a",),
                  lambda a, b, c: a**c, lambda a, b, o, c: (c * a ** (c - 1),), _pow_domain,
                  code=Code("a ** c", ("c * a ** (c - 1) * dout",))),
    "exp": GateOp("exp", "exp($a)", ("d$a = $o · d$o",), ("o",),
                  lambda a, b, c: math.exp(a), lambda a, b, o, c: (o,),
                  lambda a, b, c: "exp overflows" if a > 700 else None,
                  code=Code("math.exp(a)", ("out * dout",))),
    "log": GateOp("log", "log($a)", ("d$a = d$o / $a",), ("a",),
                  lambda a, b, c: math.log(a), lambda a, b, o, c: (1.0 / a,),
                  lambda a, b, c: "log of a number ≤ 0" if a <= 0 else None,
                  code=Code("math.log(a)", ("dout / a",))),
    "sigmoid": GateOp("sigmoid", "σ($a)", ("d$a = $o (1 − $o) · d$o",), ("o",),
                      lambda a, b, c: _sig(a), lambda a, b, o, c: (o * (1 - o),),
                      code=Code("1 / (1 + math.exp(-a))", ("out * (1 - out) * dout",))),
    "tanh": GateOp("tanh", "tanh($a)", ("d$a = (1 − $o^{2}) · d$o",), ("o",),
                   lambda a, b, c: math.tanh(a), lambda a, b, o, c: (1 - o * o,),
                   code=Code("math.tanh(a)", ("(1 - out ** 2) * dout",))),
    "relu": GateOp("relu", "max(0, $a)", ("d$a = [$a > 0] · d$o",), ("a",),
                   lambda a, b, c: max(0.0, a), lambda a, b, o, c: (1.0 if a > 0 else 0.0,),
                   code=Code("max(0.0, a)", ("dout if a > 0 else 0.0",))),
    "max": GateOp("max", "max($a, $b)", ("d$a = [$a ≥ $b] · d$o", "d$b = [$b > $a] · d$o"), ("a", "b"),
                  lambda a, b, c: max(a, b), lambda a, b, o, c: ((1.0, 0.0) if a >= b else (0.0, 1.0)),
                  code=Code("max(a, b)", ("dout if a >= b else 0.0", "dout if b > a else 0.0"))),
    "min": GateOp("min", "min($a, $b)", ("d$a = [$a ≤ $b] · d$o", "d$b = [$b < $a] · d$o"), ("a", "b"),
                  lambda a, b, c: min(a, b), lambda a, b, o, c: ((1.0, 0.0) if a <= b else (0.0, 1.0)),
                  code=Code("min(a, b)", ("dout if a <= b else 0.0", "dout if b < a else 0.0"))),
}
