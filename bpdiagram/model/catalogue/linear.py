"""The linear step Z[l] = W[l] A[l−1] + b[l]: its rules for a layer and for one unit, and dW, db."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpdiagram.model.catalogue.base import Code
from bpdiagram.model.catalogue.losses import LossOp

if TYPE_CHECKING:
    from bpdiagram.model.catalogue.base import Array


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
