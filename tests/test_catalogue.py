"""The op catalogue's numpy rules against central finite differences (an independent oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from bpdiagram.model.catalogue import ACTIVATION_OPS, FUSED_OPS, LINEAR, LOSS_OPS, Array, output_rule
from bpdiagram.options import ACTIVATIONS, LOSSES

EPS = 1e-6
RNG = np.random.default_rng(7)


def numeric_grad(f, x: Array) -> Array:  # type: ignore[no-untyped-def]
    """Central differences of the scalar function f at x, entry by entry."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + EPS
        hi = f(x)
        x[idx] = old - EPS
        lo = f(x)
        x[idx] = old
        g[idx] = (hi - lo) / (2 * EPS)
    return g


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_matches_finite_differences(name: str) -> None:
    op = ACTIVATION_OPS[name]  # type: ignore[index]
    z = RNG.normal(size=(3, 4))
    z[np.abs(z) < 1e-3] = 0.5  # keep relu kinks away from the probe
    da = RNG.normal(size=(3, 4))
    analytic = op.backward(da, z, op.g(z))
    numeric = numeric_grad(lambda zz: float(np.sum(da * op.g(zz))), z.copy())
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def _output_for(loss: str, shape: tuple[int, int]) -> tuple[Array, Array]:
    a = RNG.uniform(0.1, 0.9, size=shape)
    if loss == "ce":
        a = a / a.sum(axis=0, keepdims=True)
        y = np.eye(shape[0])[:, RNG.integers(0, shape[0], size=shape[1])]
    elif loss == "bce":
        y = RNG.integers(0, 2, size=shape).astype(float)
    else:
        y = RNG.normal(size=shape)
    return a, y


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradient_matches_finite_differences(name: str) -> None:
    op = LOSS_OPS[name]  # type: ignore[index]
    a, y = _output_for(name, (3, 5))
    m = a.shape[1]
    # dA is per example: dJ/dA = scale(m) · dA
    numeric = numeric_grad(lambda aa: op.J(aa, y), a.copy())
    np.testing.assert_allclose(op.scale(m) * op.dA(a, y), numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(("act", "loss"), sorted(FUSED_OPS))
def test_fused_output_equals_the_general_chain_and_finite_differences(act: str, loss: str) -> None:
    g, lo, fused = ACTIVATION_OPS[act], LOSS_OPS[loss], FUSED_OPS[(act, loss)]  # type: ignore[index]
    z = RNG.normal(size=(3, 4))
    _, y = _output_for(loss, (3, 4))
    a = g.g(z)
    general = g.backward(lo.dA(a, y), z, a)
    np.testing.assert_allclose(fused.dZ(a, y), general, rtol=1e-9, atol=1e-12)
    numeric = numeric_grad(lambda zz: lo.J(g.g(zz), y), z.copy())
    np.testing.assert_allclose(lo.scale(4) * fused.dZ(a, y), numeric, rtol=1e-5, atol=1e-8)


def test_hand_derived_tanh_bce_example() -> None:
    """One step done by hand: z = 0.5, sigmoid output, y = 1 → J = log(1 + e^−0.5), dZ = σ(0.5) − 1."""
    z = np.array([[0.5]])
    a = ACTIVATION_OPS["sigmoid"].g(z)
    assert a[0, 0] == pytest.approx(0.6224593312018546, abs=1e-15)
    assert LOSS_OPS["bce"].J(a, np.array([[1.0]])) == pytest.approx(0.47407698418010663, abs=1e-12)
    assert FUSED_OPS[("sigmoid", "bce")].dZ(a, np.array([[1.0]]))[0, 0] == pytest.approx(-0.3775406687981454)


def test_linear_step_backward_matches_finite_differences() -> None:
    """dW, db and dA[l−1] of Z = W A + b, for a loss whose dJ/dZ is G (so dZ = G / scale)."""
    w, a, b = RNG.normal(size=(3, 2)), RNG.normal(size=(2, 4)), RNG.normal(size=(3, 1))
    g = RNG.normal(size=(3, 4))
    scale = 0.25

    def j(ww: Array, aa: Array, bb: Array) -> float:
        return float(np.sum(g * LINEAR.z(ww, aa, bb)))

    dz = g / scale  # per-example dZ, as the diagram's convention has it
    np.testing.assert_allclose(LINEAR.dW(dz, a, scale), numeric_grad(lambda x: j(x, a, b), w.copy()), rtol=1e-6)
    np.testing.assert_allclose(LINEAR.db(dz, scale), numeric_grad(lambda x: j(w, a, x), b.copy()), rtol=1e-6)
    np.testing.assert_allclose(scale * LINEAR.dA_prev(w, dz), numeric_grad(lambda x: j(w, x, b), a.copy()),
                               rtol=1e-6)


def test_output_rule_fuses_only_where_a_fused_form_exists() -> None:
    assert output_rule("sigmoid", "bce", "auto") is FUSED_OPS[("sigmoid", "bce")]
    assert output_rule("sigmoid", "bce", "true") is FUSED_OPS[("sigmoid", "bce")]
    assert output_rule("sigmoid", "bce", "false") is None
    assert output_rule("tanh", "mse", "auto") is None
