"""Run a network with conv, pooling and flatten layers with numbers: float64, through the op catalogue.

The feature-map twin of ``model.numeric_pass``: every number comes from the
catalogue entry whose formula the diagram draws (``catalogue.conv`` for conv,
pooling and flatten, ``LINEAR`` and the activations and losses for the dense
layers after flatten), so ``check`` verifies what is drawn.

Tensors are NCHW, (m, C, H, W); after flatten, (n, m) with examples as
columns, as every dense layer. Arrays not given in ``values:`` are drawn from
``numpy.random.default_rng(seed)`` in one fixed order (X, then W[l] and b[l]
of every layer with parameters, then Y), each of them every time, so giving
W4 by hand leaves X, W1 and Y as they were. Drawn weights are N(0, 1/fan-in)
(fan-in C·k·k for a filter) and biases N(0, 0.1²), as for dense layers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpdiagram.errors import SpecError
from bpdiagram.model.catalogue import ACTIVATION_OPS, LINEAR, LOSS_OPS, output_rule
from bpdiagram.model.catalogue import conv as ops
from bpdiagram.model.numeric_pass import BIAS_SCALE, LayerNorms, _draw_target, init_factor
from bpdiagram.options import LayerType
from bpdiagram.spec.conv_values import param_shapes
from bpdiagram.spec.network import NetworkSpec
from bpdiagram.spec.values import ValuesSpec

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from bpdiagram.model.catalogue import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")

__all__ = ["ConvArrays", "ConvForward", "ConvLayerPass", "ConvPass", "conv_forward", "conv_layer_norms",
           "draw_conv_arrays", "run_conv", "run_conv_arrays"]


@dataclass(frozen=True)
class ConvArrays:
    """The numbers a pass starts from: X (m, C, H, W), Y (n[L], m), and W, b per layer (None without parameters)."""

    X: Array
    Y: Array
    W: tuple[Array | None, ...]
    b: tuple[Array | None, ...]


def draw_conv_arrays(spec: NetworkSpec, values: ValuesSpec) -> ConvArrays:
    """X, every W and b, then Y: the given ones from ``values``, the rest drawn from its seed."""
    assert spec.input.shape is not None
    rng = np.random.default_rng(values.seed)
    m = values.batch
    drawn: dict[str, Array] = {"X": rng.standard_normal((m, *spec.input.shape))}
    shapes = param_shapes(spec.input.shape, spec.layers)
    for k in range(1, len(spec.layers) + 1):
        if f"W{k}" not in shapes:
            continue
        w_shape, b_shape = shapes[f"W{k}"], shapes[f"b{k}"]
        fan_in = math.prod(w_shape[1:])
        w = rng.standard_normal(w_shape)
        b = BIAS_SCALE * rng.standard_normal(b_shape)
        drawn[f"W{k}"] = w / math.sqrt(fan_in) if values.init is None else w * init_factor(values, fan_in)
        drawn[f"b{k}"] = b if values.init is None else np.zeros_like(b)
    drawn["Y"] = _draw_target(rng, spec.loss, (spec.layers[-1].size, m))
    for name, rows in values.arrays.items():
        drawn[name] = np.array(rows, dtype=np.float64)
    for name, nested in values.tensors.items():
        drawn[name] = np.array(nested, dtype=np.float64)
    n = len(spec.layers)
    return ConvArrays(drawn["X"], drawn["Y"], tuple(drawn.get(f"W{k}") for k in range(1, n + 1)),
                      tuple(drawn.get(f"b{k}") for k in range(1, n + 1)))


Probe = tuple[str, int, "Array"]
"""(``Z`` | ``A``, layer, array): a forward value replaced, for finite differences."""


@dataclass(frozen=True)
class ConvForward:
    """A forward pass: per layer Z (None for pooling and flatten), A, the max-pool mask (else None), and J."""

    Z: list[Array | None]
    A: list[Array]
    masks: list[Array | None]
    J: float

    def kinks(self, spec: NetworkSpec) -> Iterator[tuple[int, NDArray[Any]]]:
        """Per layer the pattern a finite-difference step must not change: relu's Z > 0, max pool's argmax."""
        for k, layer in enumerate(spec.layers, start=1):
            z, mask = self.Z[k - 1], self.masks[k - 1]
            if z is not None and not ACTIVATION_OPS[layer.activation].smooth:
                yield k, z > 0
            if mask is not None:
                yield k, mask


def conv_forward(spec: NetworkSpec, arrays: ConvArrays, probe: Probe | None = None) -> ConvForward:
    """Every layer through the catalogue's rules; ``probe`` replaces one Z[l] or A[l] on the way."""
    def probed(kind: str, layer: int, value: Array) -> Array:
        return probe[2] if probe is not None and probe[0] == kind and probe[1] == layer else value

    zs: list[Array | None] = []
    acts: list[Array] = [arrays.X]
    masks: list[Array | None] = []
    with np.errstate(all="ignore"):
        for k, layer in enumerate(spec.layers, start=1):
            prev, w, b = acts[-1], arrays.W[k - 1], arrays.b[k - 1]
            z: Array | None = None
            mask: Array | None = None
            if layer.type in ("conv", "dense"):
                assert w is not None and b is not None
                z = probed("Z", k, ops.conv_forward(w, prev, b, layer.stride, layer.padding)
                           if layer.type == "conv" else LINEAR.z(w, prev, b))
                a = ACTIVATION_OPS[layer.activation].g(z)
            elif layer.type == "maxpool":
                a, mask = ops.maxpool_forward(prev, layer.kernel, layer.stride)
            elif layer.type == "avgpool":
                a = ops.avgpool_forward(prev, layer.kernel, layer.stride)
            else:
                a = ops.flatten_forward(prev)
            zs.append(z)
            masks.append(mask)
            acts.append(probed("A", k, a))
        j = LOSS_OPS[spec.loss].J(acts[-1], arrays.Y)
    return ConvForward(zs, acts[1:], masks, j)


@dataclass(frozen=True)
class ConvLayerPass:
    """Everything layer l computes, in the diagram's (DLS) convention.

    ``dA`` is the gradient of A[l] (None for the output layer fused with the loss); ``dZ``, ``dW``
    and ``db`` are None for pooling and flatten, which have no parameters; ``dA_prev`` is what the
    layer hands down (None for layer 1: dX is not drawn). ``mask`` is max pooling's argmax mask.
    """

    type: LayerType
    W: Array | None
    b: Array | None
    Z: Array | None
    A: Array
    mask: Array | None
    dA: Array | None
    dZ: Array | None
    dW: Array | None
    db: Array | None
    dA_prev: Array | None


@dataclass(frozen=True)
class ConvPass:
    """A forward and backward pass of a network with conv layers (``layers[l−1]`` is layer l)."""

    X: Array
    Y: Array
    layers: tuple[ConvLayerPass, ...]
    J: float
    scale: float
    fused: bool
    seed: int
    batch: int


def run_conv(spec: NetworkSpec, values: ValuesSpec | None = None) -> ConvPass:
    """The forward and backward pass of ``spec`` with ``values`` (default: the spec's numbers)."""
    values = values if values is not None else spec.numbers()
    return run_conv_arrays(spec, draw_conv_arrays(spec, values), seed=values.seed, line=values.line)


def run_conv_arrays(spec: NetworkSpec, arrays: ConvArrays, *, seed: int = 0, line: int | None = None) -> ConvPass:
    """The pass from explicit ``arrays``; numbers that overflow are a located ``SpecError``."""
    f = conv_forward(spec, arrays)
    loss = LOSS_OPS[spec.loss]
    m = arrays.X.shape[0]
    scale = loss.scale(m)
    fused = output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)
    n = len(spec.layers)
    out: list[ConvLayerPass] = []
    d_a: Array | None = None
    with np.errstate(all="ignore"):
        for k in range(n, 0, -1):
            layer = spec.layers[k - 1]
            a, z, mask = f.A[k - 1], f.Z[k - 1], f.masks[k - 1]
            w, b = arrays.W[k - 1], arrays.b[k - 1]
            prev = arrays.X if k == 1 else f.A[k - 2]
            d_z = d_w = d_b = d_prev = None
            if k == n and fused is not None:
                d_z = fused.dZ(a, arrays.Y)
            elif k == n:
                d_a = loss.dA(a, arrays.Y)
            if layer.type in ("conv", "dense"):
                assert w is not None and z is not None
                if d_z is None:
                    assert d_a is not None
                    d_z = ACTIVATION_OPS[layer.activation].backward(d_a, z, a)
                if layer.type == "conv":
                    d_w = ops.conv_dW(d_z, prev, layer.kernel, layer.stride, layer.padding, scale)
                    d_b = ops.conv_db(d_z, scale)
                    d_prev = ops.conv_dA_prev(w, d_z, layer.stride, layer.padding) if k > 1 else None
                else:
                    d_w, d_b = LINEAR.dW(d_z, prev, scale), LINEAR.db(d_z, scale)
                    d_prev = LINEAR.dA_prev(w, d_z) if k > 1 else None
            else:
                assert d_a is not None
                if layer.type == "maxpool":
                    assert mask is not None
                    d_prev = ops.maxpool_backward(d_a, mask, layer.kernel, layer.stride, prev.shape)
                elif layer.type == "avgpool":
                    d_prev = ops.avgpool_backward(d_a, layer.kernel, layer.stride, prev.shape)
                else:
                    d_prev = ops.flatten_backward(d_a, prev.shape)
            out.append(ConvLayerPass(layer.type, w, b, z, a, mask, d_a, d_z, d_w, d_b, d_prev))
            d_a = d_prev
    out.reverse()
    result = ConvPass(arrays.X, arrays.Y, tuple(out), f.J, scale, fused is not None, seed, m)
    _check_finite(spec, result, line)
    return result


def conv_layer_norms(p: ConvPass) -> tuple[LayerNorms, ...]:
    """‖dW[l]‖_F and ‖dZ[l]‖_F of every layer with parameters (pooling and flatten have none)."""
    return tuple(LayerNorms(k, float(np.linalg.norm(layer.dW)), float(np.linalg.norm(layer.dZ)))
                 for k, layer in enumerate(p.layers, start=1) if layer.dW is not None and layer.dZ is not None)


def _check_finite(spec: NetworkSpec, p: ConvPass, line: int | None) -> None:
    """Overflowing numbers are bad input, said once, naming the first array that overflows."""
    def fail(reason: str) -> SpecError:
        return SpecError(f"with these numbers {reason}; use smaller inputs or weights (or another seed)",
                         file=spec.file, line=line, key="values")

    for k, layer in enumerate(p.layers, start=1):
        for name, array in (("Z", layer.Z), ("A", layer.A)):
            if array is not None and not np.all(np.isfinite(array)):
                raise fail(f"{name}[{k}] overflows")
    if not math.isfinite(p.J):
        raise fail(f"the loss J is {p.J} (the output reaches 0 or 1, where the loss takes its log)")
    for k, layer in enumerate(p.layers, start=1):
        for name, array in (("dA", layer.dA), ("dZ", layer.dZ), ("dW", layer.dW)):
            if array is not None and not np.all(np.isfinite(array)):
                raise fail(f"{name}[{k}] overflows")
