"""The ops a course adds after the plain network: L2, dropout, batch norm and residual connections.

Each entry holds, in this order: its forward formula, its backward formula(s)
as drawn, what it caches for the backward pass (``caches``: ``CachedValue``s,
the symbol and shape of each cached array, so a memory count can read them),
and the numpy of both directions. Templates use the notation tokens of the
other entries plus ``$D`` (dropout mask), ``$M`` (μ), ``$V`` (σ²), ``$N``
(Ẑ), ``$T`` (Z̃), ``$G`` (γ), ``$B`` (β), ``$W@l`` (W of a generic layer l),
and ``{name}`` placeholders filled with ``fill``. Shapes: ``n`` is n[l]
(units of the layer), ``m`` the batch.

``backward_form`` says which activation rule a hidden layer's dZ uses when
dropout or a residual changes what is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bpdiagram.model.catalogue.activations import ACTIVATION_OPS
from bpdiagram.model.catalogue.base import CachedValue, Code
from bpdiagram.options import Activation

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue.base import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")  # imported when a rule first computes: diagrams without numbers never do

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
