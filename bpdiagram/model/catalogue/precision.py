"""Mixed precision: the range of float16 and bfloat16, and which gradient entries fall outside it.

A mixed-precision run keeps float32 master weights but computes the backward
pass in a 16-bit format. An entry whose magnitude is below the format's
smallest subnormal flushes to zero (the gradient is lost), one above its
largest finite value becomes inf. Multiplying the loss by S multiplies every
gradient by S (backprop is linear in dJ), so a gradient too small to store
can be lifted into range, then divided by S again before the float32 update.

The judgement is of the float64 gradients of the pass, each scaled by S:
``underflow`` 0 < |S·x| < smallest subnormal, ``overflow`` |S·x| > largest
finite. It does not emulate 16-bit arithmetic (rounding inside the pass is
not modelled); exact zeros are not counted as lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpdiagram.options import Precision

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue.base import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")


@dataclass(frozen=True)
class FloatFormat:
    """A 16-bit float format's range: the smallest positive subnormal and the largest finite value."""

    name: Precision
    tiny: float
    """Smallest positive subnormal: anything nonzero below it is stored as 0."""
    max: float
    """Largest finite value: anything above it is stored as inf."""
    tiny_text: str
    """``tiny`` as drawn (a power of two)."""


FORMATS: dict[Precision, FloatFormat] = {
    # float16: 5 exponent bits, 10 mantissa bits; subnormals reach 2^-14 · 2^-10
    "float16": FloatFormat("float16", 2.0 ** -24, 65504.0, "2⁻²⁴"),
    # bfloat16: float32's 8 exponent bits, 7 mantissa bits; subnormals reach 2^-126 · 2^-7
    "bfloat16": FloatFormat("bfloat16", 2.0 ** -133, float((2 - 2.0 ** -7) * 2.0 ** 127), "2⁻¹³³"),
}

MAX_DYNAMIC_EXPONENT = 24
"""A dynamic scaler's scale is searched among 2^0 … 2^24 (GradScaler starts at 2^16 and grows from there)."""


@dataclass(frozen=True)
class Shares:
    """What share of one array's entries a format loses after scaling: flushed to zero, overflowed to inf."""

    underflow: float
    overflow: float
    size: int


def judge(x: Array, scale: float, fmt: FloatFormat) -> Shares:
    """The shares of ``scale · x``'s entries below the smallest subnormal (nonzero) and above the largest finite."""
    scaled = np.abs(np.asarray(x, dtype=np.float64)) * scale
    size = int(scaled.size)
    if size == 0:
        return Shares(0.0, 0.0, 0)
    under = int(np.count_nonzero((scaled > 0) & (scaled < fmt.tiny)))
    over = int(np.count_nonzero(scaled > fmt.max))
    return Shares(under / size, over / size, size)


def dynamic_scale(parameter_gradients: list[Array], fmt: FloatFormat) -> float:
    """The scale a dynamic loss scaler settles on: the largest 2^k, 0 ≤ k ≤ 24, that overflows no dW or db entry.

    A real scaler halves S on every step that overflows and doubles it after a run of clean ones;
    on one fixed batch it settles on this power of two. When even S = 1 overflows it stays at 1.
    """
    largest = max((float(np.max(np.abs(g))) for g in parameter_gradients if g.size), default=0.0)
    for k in range(MAX_DYNAMIC_EXPONENT, 0, -1):
        if largest * 2.0 ** k <= fmt.max:
            return 2.0 ** k
    return 1.0
