"""Run a network with numbers: a float64 forward and backward pass through the op catalogue.

Every number comes from the catalogue entry whose formula the diagram draws:
``ActivationOp.g`` and ``backward``, ``LossOp.J`` and ``dA``, ``FusedOp.dZ``
when the output is fused (``output_rule``, the same choice the builder makes),
and ``LINEAR`` for Z, dW, db and dA[l−1]. So a wrong formula on the diagram is
a wrong number here, and ``gradcheck`` catches it.

Arrays not given in the spec's ``values:`` are drawn from
``numpy.random.default_rng(seed)`` in one fixed order (X, then W[l] and b[l]
layer by layer, then Y), every one of them every time, so giving W2 by hand
leaves X, W1 and Y exactly as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpdiagram.errors import SpecError
from bpdiagram.model.catalogue import ACTIVATION_OPS, LINEAR, LOSS_OPS, output_rule
from bpdiagram.options import Loss
from bpdiagram.spec.network import NetworkSpec
from bpdiagram.spec.values import ValuesSpec

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")  # the model imports this module; only diagrams with numbers run it

BIAS_SCALE = 0.1
"""Drawn biases are small (N(0, 0.1²)) but not zero, so the pictures show b at work and db is checked with b ≠ 0."""


@dataclass(frozen=True)
class Arrays:
    """The numbers a pass starts from: input, target and parameters (``W[l−1]`` is W of layer l)."""

    X: Array
    Y: Array
    W: tuple[Array, ...]
    b: tuple[Array, ...]


@dataclass(frozen=True)
class LayerPass:
    """Everything one layer l computes, in the diagram's (DLS) convention.

    ``dZ`` and ``dA`` are per-example gradients; ``dW`` and ``db`` carry the loss's
    averaging factor, so they are dJ/dW and dJ/db. ``dA`` is None for the output layer
    when it is fused with the loss: the diagram draws no dA[L] then and none is computed.
    """

    W: Array
    b: Array
    Z: Array
    A: Array
    dA: Array | None
    dZ: Array
    dW: Array
    db: Array


@dataclass(frozen=True)
class Pass:
    """A forward and backward pass: the loss and every intermediate, layer by layer (``layers[l−1]``)."""

    X: Array
    Y: Array
    layers: tuple[LayerPass, ...]
    J: float
    scale: float
    """The loss's averaging factor (1/m or 1): dJ/dZ = scale · dZ."""
    fused: bool
    seed: int
    batch: int


def draw_arrays(spec: NetworkSpec, values: ValuesSpec) -> Arrays:
    """X, Y, W, b: the given ones from ``values``, the rest drawn from its seed."""
    rng = np.random.default_rng(values.seed)
    sizes, m = spec.sizes, values.batch
    drawn: dict[str, Array] = {"X": rng.standard_normal((sizes[0], m))}
    for layer in range(1, len(sizes)):
        fan_in = sizes[layer - 1]
        # every array is drawn every time, in one order, whatever init says: a given W2 leaves the rest alone
        w = rng.standard_normal((sizes[layer], fan_in))
        b = BIAS_SCALE * rng.standard_normal((sizes[layer], 1))
        if values.init is None:  # the draw of every spec before ``init`` existed, to the last bit
            drawn[f"W{layer}"] = w / math.sqrt(fan_in)
            drawn[f"b{layer}"] = b
        else:
            drawn[f"W{layer}"] = w * init_factor(values, fan_in)
            drawn[f"b{layer}"] = np.zeros_like(b)
    drawn["Y"] = _draw_target(rng, spec.loss, (sizes[-1], m))
    for name, rows in values.arrays.items():
        drawn[name] = np.array(rows, dtype=np.float64)
    layers = range(1, len(sizes))
    return Arrays(drawn["X"], drawn["Y"], tuple(drawn[f"W{k}"] for k in layers), tuple(drawn[f"b{k}"] for k in layers))


def init_factor(values: ValuesSpec, fan_in: int) -> float:
    """The factor of N(0, 1) weights with an ``init``: ``normal`` S; ``xavier`` S·√(1/n[l−1]); ``he`` S·√(2/n[l−1]).

    Without ``init`` the weights are N(0, 1)/√n[l−1] (Xavier's variance), divided as before ``init`` existed.
    """
    if values.init is None or values.init == "xavier":
        return values.weight_scale / math.sqrt(fan_in)
    if values.init == "he":
        return values.weight_scale * math.sqrt(2.0 / fan_in)
    return values.weight_scale


def _draw_target(rng: np.random.Generator, loss: Loss, shape: tuple[int, int]) -> Array:
    """A target the loss accepts: 0/1 for bce, one-hot columns for ce, real numbers for mse and sse."""
    if loss == "bce":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if loss == "ce":
        out: Array = np.eye(shape[0])[:, rng.integers(0, shape[0], size=shape[1])]
        return out
    return rng.standard_normal(shape)


def forward_from(spec: NetworkSpec, arrays: Arrays, layer: int, a: Array) -> tuple[list[Array], list[Array], float]:
    """Run layers ``layer``+1 … L from A[layer] = ``a`` (layer 0: the input): their Z, their A, and J.

    Finite differences perturb one entry of A[l] (or of Z[l], via ``g``) and call this
    to see the loss move, so the check differentiates exactly what ``run`` computes.
    """
    zs: list[Array] = []
    activations: list[Array] = []
    with np.errstate(all="ignore"):  # overflow is reported by ``run``, not printed as a warning
        for k in range(layer + 1, len(spec.layers) + 1):
            z = LINEAR.z(arrays.W[k - 1], a, arrays.b[k - 1])
            a = ACTIVATION_OPS[spec.layers[k - 1].activation].g(z)
            zs.append(z)
            activations.append(a)
        j = LOSS_OPS[spec.loss].J(a, arrays.Y)
    return zs, activations, j


def run(spec: NetworkSpec, values: ValuesSpec | None = None) -> Pass:
    """The forward and backward pass of ``spec`` with ``values`` (default: the spec's numbers)."""
    values = values if values is not None else spec.numbers()
    arrays = draw_arrays(spec, values)
    return run_arrays(spec, arrays, seed=values.seed, line=values.line)


def run_arrays(spec: NetworkSpec, arrays: Arrays, *, seed: int = 0, line: int | None = None) -> Pass:
    """The pass from explicit ``arrays``; numbers that overflow are a located ``SpecError``."""
    zs, acts, j = forward_from(spec, arrays, 0, arrays.X)
    loss = LOSS_OPS[spec.loss]
    m = arrays.X.shape[1]
    scale = loss.scale(m)
    fused = output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)
    n = len(spec.layers)
    grads: list[tuple[Array | None, Array, Array, Array]] = []  # (dA, dZ, dW, db) from layer L down
    with np.errstate(all="ignore"):
        d_a: Array | None = None
        if fused is not None:
            d_z = fused.dZ(acts[-1], arrays.Y)
        else:
            d_a = loss.dA(acts[-1], arrays.Y)
            d_z = ACTIVATION_OPS[spec.layers[-1].activation].backward(d_a, zs[-1], acts[-1])
        for k in range(n, 0, -1):
            a_prev = arrays.X if k == 1 else acts[k - 2]
            grads.append((d_a, d_z, LINEAR.dW(d_z, a_prev, scale), LINEAR.db(d_z, scale)))
            if k > 1:
                d_a = LINEAR.dA_prev(arrays.W[k - 1], d_z)
                d_z = ACTIVATION_OPS[spec.layers[k - 2].activation].backward(d_a, zs[k - 2], acts[k - 2])
    grads.reverse()
    layers = tuple(LayerPass(arrays.W[i], arrays.b[i], zs[i], acts[i], *grads[i]) for i in range(n))
    result = Pass(arrays.X, arrays.Y, layers, j, scale, fused is not None, seed, m)
    _check_finite(spec, result, line)
    return result


@dataclass(frozen=True)
class LayerNorms:
    """How big one layer's gradients are: ‖dW[l]‖_F and ‖dZ[l]‖_F (dZ per example, as the diagram draws it).

    Read down the layers, these show vanishing (shrinking towards the input) or exploding gradients.
    """

    layer: int
    dW_norm: float
    dZ_norm: float


def layer_norms(p: Pass) -> tuple[LayerNorms, ...]:
    """‖dW[l]‖_F and ‖dZ[l]‖_F of every layer of the pass ``p`` (``check`` reports them, the strip draws dW's)."""
    return tuple(LayerNorms(k, float(np.linalg.norm(layer.dW)), float(np.linalg.norm(layer.dZ)))
                 for k, layer in enumerate(p.layers, start=1))


def tensors(p: Pass) -> Iterator[tuple[str, Array]]:
    """Every array of a pass with its name in plain DLS notation (``Z[1]``, ``dW[2]``), forward then backward."""
    yield "X", p.X
    for k, layer in enumerate(p.layers, start=1):
        yield f"W[{k}]", layer.W
        yield f"b[{k}]", layer.b
        yield f"Z[{k}]", layer.Z
        yield f"A[{k}]", layer.A
    yield "Y", p.Y
    for k in range(len(p.layers), 0, -1):
        layer = p.layers[k - 1]
        if layer.dA is not None:
            yield f"dA[{k}]", layer.dA
        yield f"dZ[{k}]", layer.dZ
        yield f"dW[{k}]", layer.dW
        yield f"db[{k}]", layer.db


def _check_finite(spec: NetworkSpec, p: Pass, line: int | None) -> None:
    """Overflowing numbers (exp of a huge Z, log of an output that reached 0 or 1) are bad input, said once."""
    def fail(reason: str) -> SpecError:
        return SpecError(f"with these numbers {reason}; use smaller inputs or weights (or another seed)",
                         file=spec.file, line=line, key="values")

    for name, array in tensors(p):
        if name.startswith("d"):
            break
        if not np.all(np.isfinite(array)):
            raise fail(f"{name} overflows")
    if not math.isfinite(p.J):
        where = "the output reaches 0 or 1, where the loss takes its log" if spec.loss in ("bce", "ce") \
            else "the output overflows"
        raise fail(f"the loss J is {p.J} ({where})")
    for name, array in tensors(p):
        if not np.all(np.isfinite(array)):
            raise fail(f"{name} overflows")
