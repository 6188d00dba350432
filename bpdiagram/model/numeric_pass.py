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
from typing import TYPE_CHECKING, Any

from bpdiagram.errors import SpecError
from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    DROPOUT,
    L2,
    LINEAR,
    LOSS_OPS,
    RESIDUAL,
    backward_form,
    output_rule,
)
from bpdiagram.options import Loss
from bpdiagram.spec.network import LayerSpec, NetworkSpec
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
    """The numbers a pass starts from: input, target and parameters (``W[l−1]`` is W of layer l).

    ``gamma``, ``beta`` and ``D`` hold one entry per layer, None where the layer has no batch norm
    (no dropout); a batch-norm layer's ``b`` entry is zeros and unused (it has no bias).
    """

    X: Array
    Y: Array
    W: tuple[Array, ...]
    b: tuple[Array, ...]
    gamma: tuple[Array | None, ...] = ()
    beta: tuple[Array | None, ...] = ()
    D: tuple[Array | None, ...] = ()

    def extra(self, name: str, layer: int) -> Array | None:
        """``gamma``, ``beta`` or ``D`` of ``layer`` (None when the layer has none)."""
        values: tuple[Array | None, ...] = getattr(self, name)
        return values[layer - 1] if values else None


@dataclass(frozen=True)
class LayerPass:
    """Everything one layer l computes, in the diagram's (DLS) convention.

    ``dZ`` and ``dA`` are per-example gradients; ``dW`` and ``db`` carry the loss's
    averaging factor, so they are dJ/dW and dJ/db. ``dA`` is None for the output layer
    when it is fused with the loss: the diagram draws no dA[L] then and none is computed.
    ``dA`` is the whole gradient of A[l]: with a residual from this layer, both paths summed.

    Batch norm fills ``mu``, ``var``, ``Zhat``, ``Zt`` (Z̃), ``gamma``, ``beta`` and their
    gradients ``dZt`` (per example), ``dgamma``, ``dbeta`` (dJ/dγ, dJ/dβ); ``db`` is then zeros.
    ``D`` is the dropout mask; ``dA_main`` is W[l+1]ᵀ dZ[l+1] alone when a residual adds to dA.
    """

    W: Array
    b: Array
    Z: Array
    A: Array
    dA: Array | None
    dZ: Array
    dW: Array
    db: Array
    mu: Array | None = None
    var: Array | None = None
    Zhat: Array | None = None
    Zt: Array | None = None
    gamma: Array | None = None
    beta: Array | None = None
    dZt: Array | None = None
    dgamma: Array | None = None
    dbeta: Array | None = None
    D: Array | None = None
    dA_main: Array | None = None


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
    """X, Y, W, b (then masks D, γ, β): the given ones from ``values``, the rest drawn from its seed.

    Masks are drawn after Y, so adding dropout to a spec leaves every other drawn array as it was;
    γ defaults to ones and β to zeros (PyTorch's initial values).
    """
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
    for layer, layer_spec in enumerate(spec.layers, start=1):
        if layer_spec.dropout is not None:
            drawn[f"D{layer}"] = DROPOUT.draw(rng, (sizes[layer], m), layer_spec.dropout)
        if layer_spec.batchnorm:
            drawn[f"gamma{layer}"] = np.ones((sizes[layer], 1))
            drawn[f"beta{layer}"] = np.zeros((sizes[layer], 1))
    for name, rows in values.arrays.items():
        drawn[name] = np.array(rows, dtype=np.float64)
    for layer, layer_spec in enumerate(spec.layers, start=1):
        if layer_spec.batchnorm:
            drawn[f"b{layer}"] = np.zeros((sizes[layer], 1))
    layers = range(1, len(sizes))
    extended = spec.extended
    return Arrays(drawn["X"], drawn["Y"], tuple(drawn[f"W{k}"] for k in layers), tuple(drawn[f"b{k}"] for k in layers),
                  tuple(drawn.get(f"gamma{k}") for k in layers) if extended else (),
                  tuple(drawn.get(f"beta{k}") for k in layers) if extended else (),
                  tuple(drawn.get(f"D{k}") for k in layers) if extended else ())


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


Probe = tuple[str, int, "Array"]
"""(``Z`` | ``Zt`` | ``A``, layer, array): a forward value replaced, for finite differences."""


@dataclass(frozen=True)
class Forward:
    """A forward pass: per layer Z (linear output), g's argument, A (after any mask), batch norm's values, J."""

    Z: list[Array]
    arguments: list[Array]
    A: list[Array]
    norms: list[tuple[Array, Array, Array, Array] | None]
    """(μ, σ², Ẑ, Z̃) of a batch-norm layer, else None."""
    J: float


def forward(spec: NetworkSpec, arrays: Arrays, probe: Probe | None = None, *,
            reuse: tuple[Forward, int] | None = None) -> Forward:
    """Run every layer through the catalogue's rules; ``probe`` replaces one forward value on the way.

    Finite differences perturb one entry of a W, b, γ or β (new ``arrays``) or of Z[l], Z̃[l], A[l]
    (a ``probe``) and call this to see the loss move, so the check differentiates exactly what ``run``
    computes. ``reuse`` = (an earlier pass, layer k) takes layers 1 … k−1 from that pass unchanged
    (what a change in layer k cannot reach) and runs layers k … L.
    """
    first = reuse[1] if reuse is not None else 1
    zs: list[Array] = reuse[0].Z[:first - 1] if reuse is not None else []
    args: list[Array] = reuse[0].arguments[:first - 1] if reuse is not None else []
    acts: list[Array] = [arrays.X, *(reuse[0].A[:first - 1] if reuse is not None else [])]
    norms: list[tuple[Array, Array, Array, Array] | None] = reuse[0].norms[:first - 1] if reuse is not None else []

    def probed(kind: str, layer: int, value: Array) -> Array:
        return probe[2] if probe is not None and probe[0] == kind and probe[1] == layer else value

    with np.errstate(all="ignore"):  # overflow is reported by ``run``, not printed as a warning
        for k, layer in enumerate(spec.layers[first - 1:], start=first):
            w = arrays.W[k - 1]
            z = probed("Z", k, w @ acts[-1] if layer.batchnorm else LINEAR.z(w, acts[-1], arrays.b[k - 1]))
            arg = z
            norm = None
            if layer.batchnorm:
                gamma, beta = arrays.extra("gamma", k), arrays.extra("beta", k)
                assert gamma is not None and beta is not None
                mu, var, zhat = BATCHNORM.normalize(z)
                arg = probed("Zt", k, BATCHNORM.scale_shift(zhat, gamma, beta))
                norm = (mu, var, zhat, arg)
            if layer.residual is not None:
                arg = RESIDUAL.add(arg, acts[layer.residual])
            a = ACTIVATION_OPS[layer.activation].g(arg)
            mask = arrays.extra("D", k)
            if layer.dropout is not None and mask is not None:
                a = DROPOUT.apply(a, mask, layer.dropout)
            zs.append(z)
            args.append(arg)
            norms.append(norm)
            acts.append(probed("A", k, a))
        loss = LOSS_OPS[spec.loss]
        j = loss.J(acts[-1], arrays.Y)
        if spec.l2 is not None:
            j += L2.J(list(arrays.W), spec.l2, loss.scale(arrays.X.shape[1]))
    return Forward(zs, args, acts[1:], norms, j)


def run(spec: NetworkSpec, values: ValuesSpec | None = None) -> Pass:
    """The forward and backward pass of ``spec`` with ``values`` (default: the spec's numbers)."""
    values = values if values is not None else spec.numbers()
    arrays = draw_arrays(spec, values)
    return run_arrays(spec, arrays, seed=values.seed, line=values.line)


def run_arrays(spec: NetworkSpec, arrays: Arrays, *, seed: int = 0, line: int | None = None) -> Pass:
    """The pass from explicit ``arrays``; numbers that overflow are a located ``SpecError``."""
    f = forward(spec, arrays)
    acts = f.A
    loss = LOSS_OPS[spec.loss]
    m = arrays.X.shape[1]
    scale = loss.scale(m)
    fused = output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)
    n = len(spec.layers)
    layers: list[LayerPass] = []
    skip: dict[int, list[Array]] = {}  # layer k → gradients of the arguments that A[k] was added to
    with np.errstate(all="ignore"):
        d_a: Array | None = None
        d_main: Array | None = None
        for k in range(n, 0, -1):
            layer = spec.layers[k - 1]
            w, arg, a = arrays.W[k - 1], f.arguments[k - 1], acts[k - 1]
            mask = arrays.extra("D", k)
            if k == n and fused is not None:
                d_arg = fused.dZ(a, arrays.Y)
            else:
                if k == n:
                    d_a = loss.dA(a, arrays.Y)
                assert d_a is not None
                d_arg = _argument_gradient(layer, d_a, arg, a, mask)
            if layer.residual is not None:
                skip.setdefault(layer.residual, []).append(RESIDUAL.backward(d_arg))
            norm = f.norms[k - 1]
            a_prev = arrays.X if k == 1 else acts[k - 2]
            extra: dict[str, Any] = {}
            if norm is None:
                d_z = d_arg
                d_w = LINEAR.dW(d_z, a_prev, scale)
                d_b = LINEAR.db(d_z, scale)
            else:
                mu, var, zhat, zt = norm
                gamma, beta = arrays.extra("gamma", k), arrays.extra("beta", k)
                assert gamma is not None and beta is not None
                d_gamma, d_beta, d_z = BATCHNORM.backward(d_arg, zhat, var, gamma, scale)
                d_w = LINEAR.dW(d_z, a_prev, scale)
                d_b = np.zeros_like(arrays.b[k - 1])
                extra = {"mu": mu, "var": var, "Zhat": zhat, "Zt": zt, "gamma": gamma, "beta": beta,
                         "dZt": d_arg, "dgamma": d_gamma, "dbeta": d_beta}
            if spec.l2 is not None:
                d_w = d_w + L2.dW(w, spec.l2, scale)
            layers.append(LayerPass(w, arrays.b[k - 1], f.Z[k - 1], a, d_a, d_z, d_w, d_b, D=mask,
                                    dA_main=d_main, **extra))
            if k > 1:
                d_main = LINEAR.dA_prev(w, d_z)
                d_a = d_main
                for term in skip.get(k - 1, []):
                    d_a = d_a + term
                if k - 1 not in skip:
                    d_main = None
    layers.reverse()
    result = Pass(arrays.X, arrays.Y, tuple(layers), f.J, scale, fused is not None, seed, m)
    _check_finite(spec, result, line)
    return result


def _argument_gradient(layer: LayerSpec, d_a: Array, arg: Array, a: Array, mask: Array | None) -> Array:
    """The gradient of g's argument from dA: the dropout rule, g′ read from g's output, or the activation's own."""
    act = ACTIVATION_OPS[layer.activation]
    form = backward_form(layer.activation, dropout=layer.dropout is not None, residual=layer.residual is not None)
    if form == "dropout" and mask is not None and layer.dropout is not None:
        assert act.g_prime is not None
        return DROPOUT.backward(d_a, mask, layer.dropout) * act.g_prime(arg)
    if form == "output" and act.output_backward is not None:
        return act.output_backward(d_a, a)
    return act.backward(d_a, arg, a)


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
        if layer.Zt is not None:
            yield f"Z̃[{k}]", layer.Zt
        yield f"A[{k}]", layer.A
    yield "Y", p.Y
    for k in range(len(p.layers), 0, -1):
        layer = p.layers[k - 1]
        if layer.dA is not None:
            yield f"dA[{k}]", layer.dA
        if layer.dZt is not None and layer.dgamma is not None and layer.dbeta is not None:
            yield f"dZ̃[{k}]", layer.dZt
            yield f"dγ[{k}]", layer.dgamma
            yield f"dβ[{k}]", layer.dbeta
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
