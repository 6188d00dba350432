"""Prove the diagram's gradients: compare them with central finite differences of J.

Every gradient the diagram shows is checked: dW[l] and db[l] of every layer,
and the intermediate dZ[l], dA[l] (and dA[L] when the output is drawn as the
general chain). The analytic values come from ``model.numeric_pass``, which
evaluates the very catalogue entries the labels are drawn from.

DLS convention: dZ and dA are per-example gradients, so the check compares
``scale · dZ`` (scale = 1/m, or 1 for ``sse``) with ∂J/∂Z; dW and db already
carry the scale and are compared with ∂J/∂W and ∂J/∂b directly.

Tolerance. Central differences ``(J(x + h) − J(x − h)) / 2h`` with h = 1e-6 in
float64 err by about h² |J‴| / 6 ≈ 1e-13 (truncation) plus ε |J| / h ≈ 1e-10 |J|
(rounding, ε = 2.2e-16). Measured on 780 random networks (every activation,
loss and chain, 1–3 layers of 1–4 units, batch 1–6), the largest error was
8e-9 and at most 0.3 % of the tolerance. An entry agrees when
``|analytic − numeric| ≤ ATOL · max(1, |J|) + RTOL · |numeric|`` with ATOL = 1e-7
and RTOL = 1e-5: the absolute part grows with |J| because the rounding error
does, and both are far below what a wrong formula gives (a missing factor, a
sign, a transpose are off by the gradient's own size).

A finite-difference step that moves a ReLU's pre-activation across 0 measures
the average of two slopes, not a derivative; such values cannot be checked,
and the check says so instead of reporting a false failure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bpdiagram.errors import SpecError
from bpdiagram.model.catalogue import ACTIVATION_OPS, Array, output_rule
from bpdiagram.model.conv_pass import (
    ConvArrays,
    ConvForward,
    conv_forward,
    conv_layer_norms,
    draw_conv_arrays,
    run_conv_arrays,
)
from bpdiagram.model.expression_values import evaluate, numeric_gradients
from bpdiagram.model.notation import Symbols
from bpdiagram.model.numeric_pass import Arrays, LayerNorms, draw_arrays, forward, layer_norms, run_arrays
from bpdiagram.richtext import plain
from bpdiagram.spec.expression import ExpressionSpec
from bpdiagram.spec.network import NetworkSpec

STEP = 1e-6
"""h of the central differences."""
ATOL = 1e-7
"""Absolute tolerance, per unit of |J| (rounding error grows with the loss's size)."""
RTOL = 1e-5
"""Relative tolerance."""

LAYER_COST = 5_000
"""Cost of running one layer apart from its multiply-adds (numpy call overhead), in multiply-adds."""
MAX_COST = 2e9
"""Largest finite-difference job accepted: a few seconds. Beyond it ``check`` refuses instead of hanging."""


class CheckError(SpecError):
    """The network cannot be checked with these numbers (too large, or sitting on a ReLU kink): bad input."""


@dataclass(frozen=True)
class GradientCheck:
    """One gradient: dJ/d(``name``) computed by backprop and by finite differences.

    Attributes:
        name: the array differentiated: ``W1``, ``b1`` (the JSON names) or ``Z2``, ``A1``.
        label: the gradient as the diagram writes it, e.g. ``dW[1]`` or ``dZ2``.
        analytic: dJ/d(name) from the diagram's formulas (``scale · dZ`` for dZ and dA).
        numeric: the same by central differences.
        max_abs_error: the largest |analytic − numeric|.
        ok: every entry within tolerance.
        param: a parameter gradient (dW, db): the entries of ``--json``.
        kinked: entries not compared because a step on them crosses a kink (a max-pool window whose
            largest entries tie, as the zeros of a relu do); only intermediate values (dA, dZ) have any.
    """

    name: str
    label: str
    analytic: Array
    numeric: Array
    max_abs_error: float
    ok: bool
    param: bool
    kinked: int = 0


class _Verdict:
    """What both reports share: ok when every gradient is, and the JSON ``check --json`` prints."""

    gradients: tuple[GradientCheck, ...] | tuple[VariableCheck, ...]

    @property
    def ok(self) -> bool:
        """Every gradient agrees with finite differences."""
        return all(g.ok for g in self.gradients)

    def to_json(self) -> str:
        """The JSON text ``check --json`` prints (``to_dict`` as one line)."""
        return json.dumps(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class CheckReport(_Verdict):
    """The outcome of ``check``: the loss and every gradient checked, in backward order."""

    loss: float
    seed: int
    batch: int
    scale: float
    gradients: tuple[GradientCheck, ...]
    given: tuple[str, ...] = ()
    """Arrays the spec wrote out (``X``, ``W2``, …); the others were drawn from ``seed``."""
    drawn: int = 0
    """How many arrays were drawn from ``seed``."""
    layers: tuple[LayerNorms, ...] = ()
    """The gradients' norms layer by layer, 1 … L."""

    def to_dict(self) -> dict[str, Any]:
        """``ok``, ``loss`` and one entry per W<l> and b<l> (W1, b1, W2, b2, …), (README, "Checking gradients")."""
        params = sorted((g for g in self.gradients if g.param), key=lambda g: _array_order(g.name))
        return {"ok": self.ok, "loss": self.loss,
                "gradients": [{"name": g.name, "analytic": g.analytic.tolist(), "numeric": g.numeric.tolist(),
                               "max_abs_error": g.max_abs_error} for g in params],
                "layers": [{"layer": n.layer, "dW_norm": n.dW_norm, "dZ_norm": n.dZ_norm} for n in self.layers]}


def check_gradients(spec: NetworkSpec) -> CheckReport:
    """Run ``spec`` with its numbers and compare every gradient the diagram shows with finite differences.

    Besides dW, db, dZ and dA: dγ, dβ and dZ̃ of batch-norm layers (which have no db); dA[k] is the
    whole gradient of A[k], both paths summed where a residual takes A[k] forward.
    """
    if spec.conv:
        return _check_conv(spec)
    values = spec.numbers()
    _check_cost(spec, values.batch)
    arrays = draw_arrays(spec, values)
    p = run_arrays(spec, arrays, seed=values.seed, line=values.line)
    sym = Symbols(spec.diagram.notation, spec.input.name, spec.target)
    probe = _Prober(spec, arrays, values.line)
    tol = ATOL * max(1.0, abs(p.J))
    out = []
    for k in range(len(spec.layers), 0, -1):
        layer = p.layers[k - 1]
        label = partial(_label, sym, k)
        if layer.dA is not None:
            out.append(_compare(f"A{k}", label("dA"), p.scale * layer.dA, probe.value("A", k, layer.A), tol))
        if layer.dZt is not None and layer.Zt is not None:
            out.append(_compare(f"Zt{k}", label("dT"), p.scale * layer.dZt, probe.value("Zt", k, layer.Zt), tol))
        out.append(_compare(f"Z{k}", label("dZ"), p.scale * layer.dZ, probe.value("Z", k, layer.Z), tol))
        out.append(_compare(f"W{k}", label("dW"), layer.dW, probe.param("W", k), tol, param=True))
        if layer.dgamma is not None and layer.dbeta is not None:
            out.append(_compare(f"gamma{k}", label("dG"), layer.dgamma, probe.param("gamma", k), tol, param=True))
            out.append(_compare(f"beta{k}", label("dB"), layer.dbeta, probe.param("beta", k), tol, param=True))
        else:
            out.append(_compare(f"b{k}", label("db"), layer.db, probe.param("b", k), tol, param=True))
    given = tuple(sorted(values.arrays, key=_array_order))
    total = 2 + sum(2 + (layer.dropout is not None) + layer.batchnorm for layer in spec.layers)
    return CheckReport(p.J, p.seed, p.batch, p.scale, tuple(out), given, total - len(given), layer_norms(p))


def _label(sym: Symbols, layer: int, name: str) -> str:
    return plain(sym.symbol(name, layer))


PARAM_ORDER = ("W", "b", "gamma", "beta", "D")


def _split(name: str) -> tuple[str, int]:
    """``gamma2`` → (``gamma``, 2)."""
    base = name.rstrip("0123456789")
    return base, int(name[len(base):])


def _array_order(name: str) -> tuple[int, int]:
    """X, then W1, b1, gamma1, beta1, D1, W2, …, then Y: the order of the check's report."""
    if name in ("X", "Y"):
        return (0 if name == "X" else 10**6, 0)
    base, layer = _split(name)
    return (layer, PARAM_ORDER.index(base))


def _compare(name: str, label: str, analytic: Array, numeric: Array, tol: float, *,
             param: bool = False, kinked: NDArray[np.bool_] | None = None) -> GradientCheck:
    """``kinked`` marks entries that cannot be compared (their numeric value is NaN): left out of the verdict."""
    error = np.abs(analytic - numeric)
    keep = ~kinked if kinked is not None else np.ones(error.shape, dtype=bool)
    ok = bool(np.all((error <= tol + RTOL * np.abs(numeric))[keep]))
    worst = float(error[keep].max()) if keep.any() else 0.0
    return GradientCheck(name, label, analytic, numeric, worst, ok, param, int((~keep).sum()))


class _Prober:
    """Central differences of J with respect to every entry of a parameter or of Z[l], Z̃[l] or A[l]."""

    def __init__(self, spec: NetworkSpec, arrays: Arrays, line: int | None) -> None:
        self.spec = spec
        self.arrays = arrays
        self.line = line
        self.kinked = [not ACTIVATION_OPS[layer.activation].smooth for layer in spec.layers]
        self.start = forward(spec, arrays)
        self.base = [arg > 0 for arg in self.start.arguments]

    def param(self, name: str, k: int) -> Array:
        """dJ/d``name``[k] (``W``, ``b``, ``gamma``, ``beta``)."""
        values: tuple[Array | None, ...] = getattr(self.arrays, name)
        start = values[k - 1]
        assert start is not None

        def loss(x: Array) -> tuple[float, list[Array]]:
            changed = list(values)
            changed[k - 1] = x
            fields: dict[str, Any] = {name: tuple(changed)}
            f = forward(self.spec, replace(self.arrays, **fields), reuse=(self.start, k))
            return f.J, f.arguments

        return self._differences(start, loss, f"{name}{k}")

    def value(self, kind: str, k: int, start: Array) -> Array:
        """dJ/d(``kind``[k]) for ``Z``, ``Zt`` or ``A``, everything else held."""
        def loss(x: Array) -> tuple[float, list[Array]]:
            f = forward(self.spec, self.arrays, (kind, k, x), reuse=(self.start, k))
            return f.J, f.arguments

        return self._differences(start, loss, f"{kind}{k}")

    def _differences(self, x: Array, loss: Callable[[Array], tuple[float, list[Array]]], name: str) -> Array:
        """∂J/∂x entry by entry; ``loss`` returns J and g's argument in every layer (to watch the kinks)."""
        out = np.zeros_like(x)
        probe = x.copy()
        for idx in np.ndindex(x.shape):
            old = probe[idx]
            probe[idx] = old + STEP
            hi, args_hi = loss(probe)
            probe[idx] = old - STEP
            lo, args_lo = loss(probe)
            probe[idx] = old
            for args in (args_hi, args_lo):
                self._watch_kinks(args, name, idx)
            out[idx] = (hi - lo) / (2 * STEP)
        return out

    def _watch_kinks(self, args: list[Array], name: str, idx: tuple[int, ...]) -> None:
        for layer, (before, arg) in enumerate(zip(self.base, args, strict=True), start=1):
            if self.kinked[layer - 1] and not np.array_equal(before, arg > 0):
                act = self.spec.layers[layer - 1].activation
                entry = "".join(f"[{i + 1}]" for i in idx)
                raise CheckError(f"cannot check these numbers: a step of {STEP:g} on {name}{entry} moves "
                                 f"Z[{layer}] across 0, where {act}'s slope jumps; use values away from the kink "
                                 "(or another seed)", file=self.spec.file, line=self.line, key="values")


def check_cost(sizes: tuple[int, ...], batch: int, general: bool) -> float:
    """Estimated multiply-adds of the finite differences: two partial forward passes per entry probed."""
    n_layers = len(sizes) - 1
    layer = [sizes[k] * sizes[k - 1] * batch + LAYER_COST for k in range(1, n_layers + 1)]
    tail = [math.fsum(layer[k:]) for k in range(n_layers + 1)]  # cost of running layers k+1 … L
    params = sum(sizes[k] * sizes[k - 1] + sizes[k] for k in range(1, n_layers + 1))
    cost = params * tail[0]
    for k in range(1, n_layers + 1):
        probes_z = sizes[k] * batch
        probes_a = sizes[k] * batch if k < n_layers or general else 0
        cost += probes_z * (tail[k] + LAYER_COST) + probes_a * tail[k]
    return 2 * cost


def _check_cost(spec: NetworkSpec, batch: int) -> None:
    general = output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify) is None
    cost = check_cost(spec.sizes, batch, general)
    if cost > MAX_COST:
        raise CheckError(f"the network is too large to check by finite differences (about {cost:.1e} "
                         f"operations with batch {batch}; at most {MAX_COST:.0e}); check a smaller network "
                         "or batch with the same layer types", file=spec.file,
                         line=spec.values.line if spec.values else None)


def _check_conv(spec: NetworkSpec) -> CheckReport:
    """``check_gradients`` for a network with conv layers: dW, db, dZ of every layer with parameters, dA of each.

    A step that flips a relu's Z across 0 or moves the maximum of a max-pool window to another entry
    measures no derivative; such numbers are refused as for dense networks.
    """
    values = spec.numbers()
    arrays = draw_conv_arrays(spec, values)
    cost = _conv_cost(spec, arrays)
    if cost > MAX_COST:
        raise CheckError(f"the network is too large to check by finite differences (about {cost:.1e} "
                         f"operations with batch {values.batch}; at most {MAX_COST:.0e}); check smaller feature "
                         "maps or a smaller batch", file=spec.file, line=values.line)
    p = run_conv_arrays(spec, arrays, seed=values.seed, line=values.line)
    sym = Symbols(spec.diagram.notation, spec.input.name, spec.target)
    start = conv_forward(spec, arrays)
    base = list(start.kinks(spec))
    tol = ATOL * max(1.0, abs(p.J))

    def differences(x: Array, loss: Callable[[Array], ConvForward], name: str,
                    kinked: NDArray[np.bool_] | None = None) -> Array:
        """∂J/∂x entry by entry; with ``kinked`` (intermediate values) an entry whose step crosses a kink is
        marked there and left NaN, for a parameter it is refused."""
        out = np.zeros_like(x)
        probe = x.copy()
        for idx in np.ndindex(x.shape):
            old = probe[idx]
            probe[idx] = old + STEP
            hi = loss(probe)
            probe[idx] = old - STEP
            lo = loss(probe)
            probe[idx] = old
            crossed = _crossed(base, hi.kinks(spec), lo.kinks(spec))
            if crossed is not None and kinked is not None:
                kinked[idx] = True
                out[idx] = np.nan
                continue
            if crossed is not None:
                entry = "".join(f"[{i + 1}]" for i in idx)
                what = "a max-pool window's largest entry" if spec.layers[crossed - 1].type == "maxpool" \
                    else f"Z[{crossed}] across 0"
                raise CheckError(f"cannot check these numbers: a step of {STEP:g} on {name}{entry} moves "
                                 f"{what}, where the slope jumps; use values away from the kink (or "
                                 "another seed)", file=spec.file, line=values.line, key="values")
            out[idx] = (hi.J - lo.J) / (2 * STEP)
        return out

    def param(name: str, k: int) -> Array:
        current: tuple[Array | None, ...] = getattr(arrays, name)
        start_value = current[k - 1]
        assert start_value is not None

        def loss(x: Array) -> ConvForward:
            changed = list(current)
            changed[k - 1] = x
            fields: dict[str, Any] = {name: tuple(changed)}
            return conv_forward(spec, replace(arrays, **fields))

        return differences(start_value, loss, f"{name}{k}")

    def value(kind: str, k: int, x: Array, label: str, analytic: Array) -> GradientCheck:
        kinked = np.zeros(x.shape, dtype=bool)
        numeric = differences(x, lambda v: conv_forward(spec, arrays, (kind, k, v)), f"{kind}{k}", kinked)
        return _compare(f"{kind}{k}", label, analytic, numeric, tol, kinked=kinked)

    out = []
    for k in range(len(spec.layers), 0, -1):
        layer = p.layers[k - 1]
        label = partial(_label, sym, k)
        if layer.dA is not None:
            out.append(value("A", k, layer.A, label("dA"), p.scale * layer.dA))
        if layer.dZ is not None and layer.Z is not None and layer.dW is not None and layer.db is not None:
            out.append(value("Z", k, layer.Z, label("dZ"), p.scale * layer.dZ))
            out.append(_compare(f"W{k}", label("dW"), layer.dW, param("W", k), tol, param=True))
            out.append(_compare(f"b{k}", label("db"), layer.db, param("b", k), tol, param=True))
    given = tuple(sorted([*values.arrays, *values.tensors], key=_array_order))
    total = 2 + 2 * sum(layer.type in ("conv", "dense") for layer in spec.layers)
    return CheckReport(p.J, p.seed, p.batch, p.scale, tuple(out), given, total - len(given), conv_layer_norms(p))


def _crossed(base: list[tuple[int, NDArray[Any]]], *steps: Iterator[tuple[int, NDArray[Any]]]) -> int | None:
    """The first layer whose kink pattern (relu's signs, max pool's argmax) a step changed, else None."""
    for step in steps:
        for (layer, before), (_, after) in zip(base, step, strict=True):
            if not np.array_equal(before, after):
                return layer
    return None


def _conv_cost(spec: NetworkSpec, arrays: ConvArrays) -> float:
    """Multiply-adds of the finite differences: two full forward passes per entry probed."""
    assert spec.input.shape is not None
    m = arrays.X.shape[0]
    forward_cost = 0.0
    entries = 0
    for layer, w in zip(spec.layers, arrays.W, strict=True):
        per_output = math.prod(w.shape[1:]) if w is not None else max(layer.kernel, 1) ** 2
        forward_cost += m * layer.size * per_output + LAYER_COST
        entries += (2 * m * layer.size) + (w.size + layer.size if w is not None else 0)
    return 2 * entries * forward_cost


def format_table(report: CheckReport, *, title: str) -> str:
    """The report as a table for a terminal: one gradient a line, in backward order."""
    rows = [("gradient", "shape", "max |analytic − numeric|", "result")]
    for g in report.gradients:
        rows.append((g.label, str(tuple(int(n) for n in g.analytic.shape)), f"{g.max_abs_error:.1e}",
                     ("ok" if g.ok else "FAILED") + (f" ({g.kinked} at a kink, not compared)" if g.kinked else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    if not report.drawn:
        origin = "every array given"
    elif report.given:
        origin = f"{', '.join(report.given)} given, the rest drawn from seed {report.seed}"
    else:
        origin = f"drawn from seed {report.seed}"
    lines = [f"check: {title}",
             f"numbers: {origin}; batch m = {report.batch}; loss J = {report.loss:.6g}",
             f"finite differences: central, h = {STEP:g}; an entry agrees when "
             f"|analytic − numeric| ≤ {ATOL:g}·max(1, |J|) + {RTOL:g}·|numeric|"]
    if report.scale != 1.0:
        if any(g.name.startswith("A") for g in report.gradients):
            lines.append("dZ and dA are per example: (1/m)·dZ is compared with ∂J/∂Z, (1/m)·dA with ∂J/∂A")
        else:
            lines.append("dZ is per example: (1/m)·dZ is compared with ∂J/∂Z")
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if report.layers:
        lines += ["", "gradient norms by layer (Frobenius; dZ per example):"]
        norms = [("layer", "‖dW‖", "‖dZ‖")]
        norms += [(str(n.layer), f"{n.dW_norm:.3g}", f"{n.dZ_norm:.3g}") for n in report.layers]
        col = [max(len(r[i]) for r in norms) for i in range(3)]
        lines += ["  ".join(cell.rjust(w) for cell, w in zip(r, col, strict=True)) for r in norms]
    failed = [g.label for g in report.gradients if not g.ok]
    lines.append("")
    if failed:
        lines.append(f"FAILED: {', '.join(failed)} disagree with finite differences")
    else:
        lines.append(f"ok: all {len(report.gradients)} gradients agree with finite differences")
    return "\n".join(lines)


@dataclass(frozen=True)
class VariableCheck:
    """One variable of an expression: df/d(``name``) by the gates' backward rules and by finite differences."""

    name: str
    analytic: float
    numeric: float
    max_abs_error: float
    ok: bool


@dataclass(frozen=True)
class ExpressionCheckReport(_Verdict):
    """The outcome of ``check`` on an expression: f and one gradient per variable."""

    value: float
    gradients: tuple[VariableCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        """``ok``, ``loss`` (the value f) and one entry per variable, as numbers."""
        return {"ok": self.ok, "loss": self.value,
                "gradients": [{"name": g.name, "analytic": g.analytic, "numeric": g.numeric,
                               "max_abs_error": g.max_abs_error} for g in self.gradients]}


def check_expression(spec: ExpressionSpec) -> ExpressionCheckReport:
    """Compare each variable's gradient from the gate rules with central differences of f (same tolerance)."""
    ev = evaluate(spec)
    numeric = numeric_gradients(spec, STEP)
    tol = ATOL * max(1.0, abs(ev.value))
    out = []
    for var in spec.variables:
        a, n = ev.grads[var], numeric[var]
        err = abs(a - n)
        out.append(VariableCheck(var, a, n, err, err <= tol + RTOL * abs(n)))
    return ExpressionCheckReport(ev.value, tuple(out))


def format_expression_table(report: ExpressionCheckReport, *, title: str) -> str:
    """An expression's check as a table for a terminal: one variable a line."""
    rows = [("gradient", "analytic", "numeric", "|analytic − numeric|", "result")]
    for g in report.gradients:
        rows.append((f"d{g.name}", f"{g.analytic:.6g}", f"{g.numeric:.6g}", f"{g.max_abs_error:.1e}",
                     "ok" if g.ok else "FAILED"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"check: {title}", f"f = {report.value:.6g}",
             f"finite differences: central, h = {STEP:g}; a gradient agrees when "
             f"|analytic − numeric| ≤ {ATOL:g}·max(1, |f|) + {RTOL:g}·|numeric|", ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    failed = [f"d{g.name}" for g in report.gradients if not g.ok]
    lines.append("")
    lines.append(f"FAILED: {', '.join(failed)} disagree with finite differences" if failed
                 else f"ok: all {len(report.gradients)} gradients agree with finite differences")
    return "\n".join(lines)
