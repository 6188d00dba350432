"""The numeric pass: hand-derived networks number by number, fused vs general chain, drawn values."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from bpdiagram.errors import SpecError
from bpdiagram.model.catalogue import FUSED_OPS
from bpdiagram.model.numeric_pass import draw_arrays, run
from bpdiagram.options import ACTIVATIONS
from bpdiagram.spec import load_spec
from bpdiagram.spec.network import MAX_LAYERS, NetworkSpec
from tests.narrow import as_network


def net(layers: list[tuple[int, str]], loss: str, values: dict[str, Any] | None = None, *, inputs: int = 2,
        simplify: str = "auto") -> NetworkSpec:
    spec: dict[str, Any] = {"input": inputs, "layers": [{"size": n, "activation": a} for n, a in layers],
                            "loss": loss, "diagram": {"simplify": simplify}}
    if values is not None:
        spec["values"] = values
    return as_network(load_spec(spec))


@pytest.mark.parametrize("simplify", ["auto", "false"])
def test_hand_derived_sigmoid_bce(simplify: str) -> None:
    """One input, one sigmoid unit, bce, two examples, derived by hand.

    X = [1, 2], W = 0.5, b = −0.5, Y = [1, 0]
    Z = W X + b = [0, 0.5]
    A = σ(Z) = [0.5, σ(0.5)] with σ(0.5) = 1 / (1 + e^−0.5) = 0.6224593312018546
    J = −½ [1·log 0.5 + (1 − 0)·log(1 − σ(0.5))] = ½ [log 2 + log(1 + e^0.5)]
      = ½ [0.6931471805599453 + 0.9740769841801067] = 0.833612082370026
    dZ = A − Y = [−0.5, 0.6224593312018546]
      (general chain: dA = −Y/A + (1 − Y)/(1 − A) = [−2, 1 + e^0.5 = 2.648721270700128],
       dZ = dA ⊙ A ⊙ (1 − A) = [−2·0.25, 2.6487…·0.62246…·0.37754…] — the same)
    dW = ½ dZ Xᵀ = ½ (−0.5·1 + 0.6224593312018546·2) = 0.3724593312018546
    db = ½ Σ dZ = ½ (−0.5 + 0.6224593312018546) = 0.0612296656009273
    """
    p = run(net([(1, "sigmoid")], "bce", {"X": [[1, 2]], "W1": [[0.5]], "b1": [[-0.5]], "Y": [[1, 0]]},
                inputs=1, simplify=simplify))
    layer = p.layers[0]
    assert layer.Z.tolist() == [[0.0, 0.5]]
    assert layer.A[0, 0] == 0.5
    assert layer.A[0, 1] == pytest.approx(0.6224593312018546, abs=1e-15)
    loss = p.J
    assert loss == pytest.approx(0.833612082370026, abs=1e-15)
    assert layer.dZ[0, 0] == pytest.approx(-0.5, abs=1e-15)
    assert layer.dZ[0, 1] == pytest.approx(0.6224593312018546, abs=1e-15)
    assert layer.dW[0, 0] == pytest.approx(0.3724593312018546, abs=1e-15)
    assert layer.db[0, 0] == pytest.approx(0.0612296656009273, abs=1e-15)
    assert p.scale == 0.5
    if simplify == "false":
        assert layer.dA is not None
        np.testing.assert_allclose(layer.dA, [[-2.0, 2.648721270700128]], rtol=1e-15)
    else:
        assert layer.dA is None  # fused: the diagram draws no dA[1], and none is computed


def test_hand_derived_linear_mse() -> None:
    """Two inputs, one linear unit, mse, two examples.

    X = [[1, 0], [2, 1]], W = [1, −1], b = 0.5, Y = [0, 1]
    Z = A = [1 − 2 + 0.5, 0 − 1 + 0.5] = [−0.5, −0.5]
    J = 1/(2·2) [(−0.5 − 0)² + (−0.5 − 1)²] = ¼ (0.25 + 2.25) = 0.625
    dZ = A − Y = [−0.5, −1.5]
    dW = ½ dZ Xᵀ = ½ [−0.5·1 − 1.5·0, −0.5·2 − 1.5·1] = [−0.25, −1.25]
    db = ½ (−0.5 − 1.5) = −1
    """
    p = run(net([(1, "linear")], "mse", {"X": [[1, 0], [2, 1]], "W1": [[1, -1]], "b1": [[0.5]], "Y": [[0, 1]]}))
    layer = p.layers[0]
    assert layer.A.tolist() == [[-0.5, -0.5]]
    assert p.J == 0.625
    assert layer.dZ.tolist() == [[-0.5, -1.5]]
    assert layer.dW.tolist() == [[-0.25, -1.25]]
    assert layer.db.tolist() == [[-1.0]]


def test_hand_derived_two_layers_sse() -> None:
    """Gradient handed down one layer: 1 → 1 relu → 1 linear, sse, one example.

    x = 2, W1 = 1.5, b1 = −1, W2 = −2, b2 = 0.5, y = 1
    Z1 = 2, A1 = relu(2) = 2, Z2 = A2 = −4 + 0.5 = −3.5, J = (−3.5 − 1)² = 20.25
    dZ2 = 2 (A2 − y) = −9 (fused linear + sse), dW2 = dZ2 A1 = −18, db2 = −9
    dA1 = W2 dZ2 = 18, dZ1 = dA1 [Z1 > 0] = 18, dW1 = dZ1 x = 36, db1 = 18
    """
    p = run(net([(1, "relu"), (1, "linear")], "sse",
                {"X": [[2]], "W1": [[1.5]], "b1": [[-1]], "W2": [[-2]], "b2": [[0.5]], "Y": [[1]]}, inputs=1))
    first, second = p.layers
    assert p.J == 20.25
    assert (second.dZ.item(), second.dW.item(), second.db.item()) == (-9.0, -18.0, -9.0)
    assert first.dA is not None and first.dA.item() == 18.0
    assert (first.dZ.item(), first.dW.item(), first.db.item()) == (18.0, 36.0, 18.0)


@pytest.mark.parametrize(("act", "loss"), sorted(FUSED_OPS))
@pytest.mark.parametrize("hidden", [a for a in ACTIVATIONS if a != "softmax"])
def test_fused_and_general_chain_agree(act: str, loss: str, hidden: str) -> None:
    fused = net([(3, hidden), (3, act)], loss, {"seed": 5, "batch": 5})
    general = dataclasses.replace(fused, diagram=dataclasses.replace(fused.diagram, simplify="false"))
    a, b = run(fused), run(general)
    assert a.fused and not b.fused
    assert a.J == b.J
    for la, lb in zip(a.layers, b.layers, strict=True):
        for name in ("dZ", "dW", "db"):
            np.testing.assert_allclose(getattr(la, name), getattr(lb, name), rtol=1e-9, atol=1e-12)


def test_drawn_values_are_seeded_and_independent_of_the_given_ones() -> None:
    spec = net([(3, "tanh"), (1, "sigmoid")], "bce", {"seed": 9})
    given = net([(3, "tanh"), (1, "sigmoid")], "bce", {"seed": 9, "W2": [[1, 2, 3]]})
    a, b = draw_arrays(spec, spec.numbers()), draw_arrays(given, given.numbers())
    assert b.W[1].tolist() == [[1.0, 2.0, 3.0]]
    for x, y in ((a.X, b.X), (a.W[0], b.W[0]), (a.b[0], b.b[0]), (a.b[1], b.b[1]), (a.Y, b.Y)):
        assert np.array_equal(x, y)
    again = draw_arrays(spec, spec.numbers())
    assert np.array_equal(a.X, again.X) and np.array_equal(a.W[1], again.W[1])
    other = net([(3, "tanh"), (1, "sigmoid")], "bce", {"seed": 10})
    assert not np.array_equal(a.X, draw_arrays(other, other.numbers()).X)


@pytest.mark.parametrize(("out", "loss"), [("sigmoid", "bce"), ("softmax", "ce"), ("sigmoid", "ce"),
                                           ("linear", "mse"), ("tanh", "sse")])
def test_drawn_targets_suit_the_loss(out: str, loss: str) -> None:
    spec = net([(4, "relu"), (3, out)], loss, {"seed": 2, "batch": 50})
    y = draw_arrays(spec, spec.numbers()).Y
    assert y.shape == (3, 50)
    if loss == "bce":
        assert set(np.unique(y)) == {0.0, 1.0}
    elif loss == "ce":
        assert set(np.unique(y)) == {0.0, 1.0} and np.all(y.sum(axis=0) == 1.0)
    else:
        assert len(np.unique(y)) == y.size  # real numbers


def test_overflowing_numbers_are_a_located_error() -> None:
    text = {"input": 1, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce",
            "values": {"X": [[1000]], "W1": [[1000]], "Y": [[0]]}}
    with pytest.raises(SpecError, match=r"values: with these numbers the loss J is inf \(the output reaches 0 or 1"):
        run(as_network(load_spec(text)))
    # (64 · 1e6) ** 40 is beyond float64: a deep, wide linear stack overflows in the forward pass
    width, depth = 64, min(MAX_LAYERS, 40)
    text["loss"] = "mse"
    text["input"] = width
    text["layers"] = [{"size": width, "activation": "linear"}] * depth
    full = [[1e6] * width for _ in range(width)]
    text["values"] = {"X": [[1e6]] * width, **{f"W{k}": full for k in range(1, depth + 1)}, "Y": [[0]] * width}
    with pytest.raises(SpecError, match=r"values: with these numbers Z\[\d+\] overflows"):
        run(as_network(load_spec(text)))
