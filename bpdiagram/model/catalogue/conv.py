"""Convolution, pooling and flatten: the formulas drawn and the numpy of both directions.

Tensors are PyTorch's NCHW: (m, C, H, W), examples first. Windows are taken
with ``numpy.lib.stride_tricks.sliding_window_view`` (im2col without a copy)
and contracted with ``numpy.tensordot``. ``benchmarks/conv_kernels.py``
measures this against the textbook loop over output positions (on 2 shared
cores, best of five): on stride-1 layers, from the tiny-cnn template to a
16×3×32×32 batch, the window view is 1.4 to 9 times faster forward and 1.2 to
6.5 times backward; on a 16-channel, stride-2 layer the loop wins (about 5×
forward, 10× backward: the strided view is copied, and the full convolution
below multiplies the zeros the stride inserts). Networks with numbers are
lecture-sized here (at most a million numbers), so the window view stays.

dA[l−1] is computed as the formula draws it: dZ[l] dilated by the stride,
padded by k − 1 on every side, cross-correlated with W[l] turned by 180°
(filters and channels swapped), the forward padding cropped. So the picture's
rule is the number ``check`` verifies.

The numpy rules are plain functions using only ``np`` and each other, so
``bpdiagram code`` copies their source into the exported module unchanged
(``SOURCES``): the exported code is the catalogue's code.

Gradient convention (DLS), as for dense layers: dZ and dA are per-example
gradients; dW and db carry the loss's averaging factor ``scale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue.base import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")


def pad(a: Array, padding: int) -> Array:
    """``a`` (m, C, H, W) with ``padding`` zeros on every side of each map."""
    if padding == 0:
        return a
    out: Array = np.pad(a, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return out


def windows(a: Array, kernel: int, stride: int) -> Array:
    """Every kernel×kernel window of ``a`` (m, C, H, W) at ``stride``: a view (m, C, H′, W′, k, k), no copy."""
    view: Array = np.lib.stride_tricks.sliding_window_view(a, (kernel, kernel), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def conv_forward(W: Array, A_prev: Array, b: Array, stride: int, padding: int) -> Array:
    """Z = W ∗ A_prev + b: cross-correlation of every filter (F, C, k, k) with every window, plus its bias (F,)."""
    cols = windows(pad(A_prev, padding), W.shape[2], stride)
    z: Array = np.tensordot(cols, W, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return z + b.reshape(1, -1, 1, 1)


def conv_dW(dZ: Array, A_prev: Array, kernel: int, stride: int, padding: int, scale: float) -> Array:
    """dW = scale Σ A_prev ⋆ dZ: each filter's gradient, the input's windows weighted by dZ, summed over examples."""
    cols = windows(pad(A_prev, padding), kernel, stride)
    out: Array = scale * np.tensordot(dZ, cols, axes=([0, 2, 3], [0, 2, 3]))
    return out


def conv_db(dZ: Array, scale: float) -> Array:
    """db = scale Σ dZ over examples and positions: one number per filter."""
    out: Array = scale * dZ.sum(axis=(0, 2, 3))
    return out


def conv_dA_prev(W: Array, dZ: Array, stride: int, padding: int) -> Array:
    """dA_prev = dZ ∗full rot180(W): dZ dilated by the stride, padded by k − 1, correlated with W turned 180°."""
    m, f, h, w = dZ.shape
    k = W.shape[2]
    dilated = np.zeros((m, f, stride * (h - 1) + 1, stride * (w - 1) + 1))
    dilated[:, :, ::stride, ::stride] = dZ
    rot180 = W[:, :, ::-1, ::-1]
    full = np.tensordot(windows(pad(dilated, k - 1), k, 1), rot180, axes=([1, 4, 5], [0, 2, 3]))
    full = full.transpose(0, 3, 1, 2)
    out: Array = full[:, :, padding:full.shape[2] - padding, padding:full.shape[3] - padding]
    return out


def maxpool_forward(A_prev: Array, kernel: int, stride: int) -> tuple[Array, Array]:
    """The largest entry of every window, and the argmax mask: where in its window (0 … k²−1) each one sits."""
    cols = windows(A_prev, kernel, stride)
    flat = cols.reshape(*cols.shape[:4], kernel * kernel)
    return flat.max(axis=4), flat.argmax(axis=4)


def maxpool_backward(dA: Array, mask: Array, kernel: int, stride: int, shape: tuple[int, ...]) -> Array:
    """Each window's gradient routed to its argmax (summed where windows overlap); zero everywhere else."""
    dA_prev = np.zeros(shape)
    h, w = dA.shape[2], dA.shape[3]
    for i in range(kernel):
        for j in range(kernel):
            dA_prev[:, :, i:i + stride * h:stride, j:j + stride * w:stride] += dA * (mask == i * kernel + j)
    return dA_prev


def avgpool_forward(A_prev: Array, kernel: int, stride: int) -> Array:
    """The mean of every window."""
    out: Array = windows(A_prev, kernel, stride).mean(axis=(4, 5))
    return out


def avgpool_backward(dA: Array, kernel: int, stride: int, shape: tuple[int, ...]) -> Array:
    """Each window's gradient spread evenly over its k² entries (summed where windows overlap)."""
    dA_prev = np.zeros(shape)
    h, w = dA.shape[2], dA.shape[3]
    for i in range(kernel):
        for j in range(kernel):
            dA_prev[:, :, i:i + stride * h:stride, j:j + stride * w:stride] += dA / (kernel * kernel)
    return dA_prev


def flatten_forward(A_prev: Array) -> Array:
    """(m, C, H, W) → (C·H·W, m): PyTorch's order (channel, row, column), examples as columns."""
    out: Array = A_prev.reshape(A_prev.shape[0], -1).T
    return out


def flatten_backward(dA: Array, shape: tuple[int, ...]) -> Array:
    """(C·H·W, m) → (m, C, H, W): the reshape undone."""
    out: Array = dA.T.reshape(shape)
    return out


SOURCES = (pad, windows, conv_forward, conv_dW, conv_db, conv_dA_prev, maxpool_forward, maxpool_backward,
           avgpool_forward, avgpool_backward, flatten_forward, flatten_backward)
"""Every function above, in dependency order: ``bpdiagram code`` writes their source into the exported module."""


@dataclass(frozen=True)
class ConvOp:
    """A convolution layer's formulas: Z[l] = W[l] ∗ A[l−1] + b[l] and its three backward rules."""

    forward: str
    weight_gradient: str
    """dW[l], after the loss's averaging factor (``{scale}``)."""
    bias_gradient: str
    previous_gradient: str
    window: str
    """The second line of the forward op: filters, kernel, stride, padding."""


@dataclass(frozen=True)
class PoolOp:
    """A pooling or flatten layer's formulas; ``mask`` is what max pooling keeps (None: nothing kept)."""

    forward: str
    backward: str
    window: str
    mask: str | None = None


CONV = ConvOp(
    "$Z = $W ∗ $A- + $b",
    "$dW = {scale}Σ $A- ⋆ $dZ",
    "$db = {scale}Σ $dZ",
    "$dA- = $dZ ∗^{full} rot180($W)",
    "{filters} filters {kernel}×{kernel}, stride {stride}, padding {padding}",
)
"""∗ is cross-correlation (as every framework computes it), ⋆ the correlation of the input with dZ; the sums
run over the m examples (and, for db, every position)."""

MAXPOOL = PoolOp("$A = maxpool($A-)", "$dA- = scatter($dA → argmax $K)", "{kernel}×{kernel}, stride {stride}",
                 mask="$K = argmax")
AVGPOOL = PoolOp("$A = avgpool($A-)", "$dA- = scatter($dA / {k2} → window)", "{kernel}×{kernel}, stride {stride}")
FLATTEN = PoolOp("$A = flatten($A-)", "$dA- = reshape($dA)", "(C, H, W) → C·H·W")
POOL_OPS = {"maxpool": MAXPOOL, "avgpool": AVGPOOL, "flatten": FLATTEN}
