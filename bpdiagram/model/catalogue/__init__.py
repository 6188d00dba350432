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


The entries, one module a family: ``activations``, ``losses`` (with the fused
output rules), ``linear`` (the linear step), ``layer_ops`` (the ops a course
adds next, each with one entry: ``L2``, ``DROPOUT``, ``BATCHNORM`` and
``RESIDUAL``: forward formula, backward formula(s) as drawn, what it caches
and the numpy of both directions), ``conv`` (convolution, pooling and
flatten on NCHW tensors) and ``gates`` (the gates of expression graphs);
``base`` holds what every entry is made of (``Code``, ``CachedValue``,
``fill``). Every name is imported from this package,
``from bpdiagram.model.catalogue import ACTIVATION_OPS``.

Gradient convention (DLS): ``dZ``/``dA`` are per-example derivatives of the
loss; the averaging factor of the loss (``scale``, 1/m or 1) appears once, in
dW and db.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpdiagram.model.catalogue.activations import ACTIVATION_OPS, LEAKY_SLOPE, ActivationOp
from bpdiagram.model.catalogue.base import CachedValue, Code, fill
from bpdiagram.model.catalogue.conv import AVGPOOL, CONV, FLATTEN, MAXPOOL, POOL_OPS, ConvOp, PoolOp
from bpdiagram.model.catalogue.gates import GATE_OPS, GateOp
from bpdiagram.model.catalogue.layer_ops import (
    BATCHNORM,
    BATCHNORM_EPS,
    DROPOUT,
    L2,
    RESIDUAL,
    BackwardForm,
    BatchNormOp,
    DropoutOp,
    L2Op,
    ResidualOp,
    backward_form,
)
from bpdiagram.model.catalogue.linear import (
    LINEAR,
    LINEAR_FORWARD,
    PREVIOUS_GRADIENT,
    UNIT_LINEAR_FORWARD,
    UNIT_PARAMS,
    UNIT_PREVIOUS_GRADIENT,
    LinearOp,
    param_gradients,
    unit_param_gradients,
)
from bpdiagram.model.catalogue.losses import FUSED_OPS, LOSS_OPS, FusedOp, LossOp, output_rule

if TYPE_CHECKING:
    from bpdiagram.model.catalogue.base import Array

__all__ = [
    "ACTIVATION_OPS", "AVGPOOL", "BATCHNORM", "BATCHNORM_EPS", "CONV", "DROPOUT", "FLATTEN", "FUSED_OPS",
    "GATE_OPS", "L2", "LEAKY_SLOPE", "LINEAR", "LINEAR_FORWARD", "LOSS_OPS", "MAXPOOL", "POOL_OPS",
    "PREVIOUS_GRADIENT", "RESIDUAL", "UNIT_LINEAR_FORWARD", "UNIT_PARAMS", "UNIT_PREVIOUS_GRADIENT", "ActivationOp",
    "Array", "BackwardForm", "BatchNormOp", "CachedValue", "Code", "ConvOp", "DropoutOp", "FusedOp", "GateOp",
    "L2Op", "LinearOp", "LossOp", "PoolOp", "ResidualOp", "backward_form", "fill", "output_rule", "param_gradients",
    "unit_param_gradients",
]


def __getattr__(name: str) -> Any:
    """``Array``, the float64 array type of every rule, for modules that import it at run time."""
    if name == "Array":
        import numpy as np
        from numpy.typing import NDArray

        return NDArray[np.float64]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
