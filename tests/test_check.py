"""``bpdiagram check``: every gradient against finite differences, and against an independent autodiff.

The oracles are outside bpdiagram: central differences of J (inside ``check``),
and ``tests/autodiff.py``, a scalar reverse-mode implementation written from
INTERFACE's formulas with none of bpdiagram's code. Breaking one catalogue
formula on purpose must make ``check`` fail.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bpdiagram.cli import cli
from bpdiagram.model import numeric_pass
from bpdiagram.model.catalogue import ACTIVATION_OPS, FUSED_OPS, LINEAR, LOSS_OPS
from bpdiagram.model.gradcheck import check_gradients
from bpdiagram.spec import load_spec
from tests.autodiff import network_gradients
from tests.narrow import as_network

HIDDEN = ["linear", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUTS = [("sigmoid", "bce"), ("softmax", "ce"), ("sigmoid", "ce")] + \
    [(a, loss) for loss in ("mse", "sse") for a in HIDDEN]
"""Every output activation with every loss that accepts it (INTERFACE §2)."""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, spec: dict[str, Any], name: str = "net.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(spec), encoding="utf-8")  # JSON keeps every float exactly
    return path


@pytest.mark.parametrize(("out", "loss"), OUTPUTS)
@pytest.mark.parametrize("simplify", ["auto", "false"])
@settings(max_examples=4, deadline=None, derandomize=True)
@given(hidden=st.lists(st.sampled_from(HIDDEN), max_size=2), sizes=st.lists(st.integers(1, 4), min_size=4, max_size=4),
       batch=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_every_activation_loss_and_chain_passes_check(out: str, loss: str, simplify: str, hidden: list[str],
                                                      sizes: list[int], batch: int, seed: int) -> None:
    out_size = max(sizes[-1], 2) if out == "softmax" else sizes[-1]
    layers = [{"size": n, "activation": a} for n, a in zip(sizes[1:], hidden, strict=False)]
    layers.append({"size": out_size, "activation": out})
    spec = as_network(load_spec({"input": sizes[0], "layers": layers, "loss": loss, "diagram": {"simplify": simplify},
                                 "values": {"seed": seed, "batch": batch}}))
    report = check_gradients(spec)
    assert report.ok, [(g.label, g.max_abs_error) for g in report.gradients]
    n = len(layers)
    drawn_da = n - 1 + (1 if simplify == "false" or (out, loss) not in FUSED_OPS else 0)
    assert len(report.gradients) == 3 * n + drawn_da  # dZ, dW, db per layer, and every dA the diagram shows


def explicit_network(hidden: str, out: str, loss: str, seed: int) -> dict[str, Any]:
    """A 3 → 3 hidden → 2 output network with every array written out, as a user would."""
    rng = np.random.default_rng(seed)
    sizes, m = (3, 3, 2), 3
    x = rng.normal(size=(sizes[0], m))
    ws = [rng.normal(size=(sizes[k], sizes[k - 1])) for k in (1, 2)]
    bs = [rng.normal(size=(sizes[k], 1)) * 0.5 for k in (1, 2)]
    if loss == "bce":
        y = rng.integers(0, 2, size=(2, m)).astype(float)
    elif loss == "ce":
        y = np.eye(2)[:, rng.integers(0, 2, size=m)]
    else:
        y = rng.normal(size=(2, m))
    values = {"X": x.tolist(), "Y": y.tolist(), "W1": ws[0].tolist(), "b1": bs[0].tolist(), "W2": ws[1].tolist(),
              "b2": bs[1].tolist()}
    return {"input": sizes[0], "layers": [{"size": 3, "activation": hidden}, {"size": 2, "activation": out}],
            "loss": loss, "values": values}


@pytest.mark.parametrize(("out", "loss"), OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("simplify", ["auto", "false"])
def test_check_json_agrees_with_an_independent_autodiff(tmp_path: Path, hidden: str, out: str, loss: str,
                                                        simplify: str) -> None:
    spec = explicit_network(hidden, out, loss, seed=len(hidden) * 7 + len(out) + len(loss))
    spec["diagram"] = {"simplify": simplify}
    code, stdout, stderr = run("check", str(write(tmp_path, spec)), "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    v = spec["values"]
    j, dw, db = network_gradients(v["X"], v["Y"], [v["W1"], v["W2"]], [v["b1"], v["b2"]], [hidden, out], loss)
    assert report["loss"] == pytest.approx(j, rel=1e-6)
    expected = {"W1": dw[0], "b1": db[0], "W2": dw[1], "b2": db[1]}
    assert [g["name"] for g in report["gradients"]] == ["W1", "b1", "W2", "b2"]
    for g in report["gradients"]:
        np.testing.assert_allclose(g["analytic"], expected[g["name"]], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(g["numeric"], expected[g["name"]], rtol=1e-5, atol=1e-8)


def test_json_has_exactly_the_documented_keys() -> None:
    code, stdout, _ = run("check", "-t", "three-layer-logistic", "--json")
    assert code == 0
    report = json.loads(stdout)
    assert set(report) == {"ok", "loss", "gradients", "layers"}
    assert report["ok"] is True and isinstance(report["loss"], float)
    assert [g["name"] for g in report["gradients"]] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    shapes = {"W1": (5, 4), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
    for g in report["gradients"]:
        assert set(g) == {"name", "analytic", "numeric", "max_abs_error"}
        assert np.array(g["analytic"]).shape == shapes[g["name"]] == np.array(g["numeric"]).shape
        assert isinstance(g["max_abs_error"], float) and 0 <= g["max_abs_error"] < 1e-7


def test_table_lists_every_drawn_gradient_in_backward_order() -> None:
    code, stdout, _ = run("check", "-t", "two-layer-binary-general")
    assert code == 0
    rows = [m.group(1) for m in re.finditer(r"^(d\S+) +\(", stdout, re.MULTILINE)]
    assert rows == ["dA[2]", "dZ[2]", "dW[2]", "db[2]", "dA[1]", "dZ[1]", "dW[1]", "db[1]"]
    assert "loss J = " in stdout and "numbers: drawn from seed 0; batch m = 4" in stdout
    assert stdout.rstrip().endswith("ok: all 8 gradients agree with finite differences")
    code, stdout, _ = run("check", "-t", "relu-mlp")  # CS231n notation: the diagram's names
    assert [m.group(1) for m in re.finditer(r"^(d\S+) +\(", stdout, re.MULTILINE)] == \
        ["dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]


def test_check_uses_the_specs_values(tmp_path: Path) -> None:
    spec = {"input": 1, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce",
            "values": {"X": [[1, 2]], "W1": [[0.5]], "b1": [[-0.5]], "Y": [[1, 0]]}}
    path = write(tmp_path, spec)
    code, stdout, _ = run("check", str(path), "--json")
    assert code == 0
    report = json.loads(stdout)
    assert report["loss"] == pytest.approx(0.833612082370026, abs=1e-15)  # the hand derivation in test_numeric
    assert report["gradients"][0]["analytic"] == [[pytest.approx(0.3724593312018546, abs=1e-15)]]
    _, table, _ = run("check", str(path))
    assert "numbers: every array given; batch m = 2; loss J = 0.833612" in table
    assert "dZ is per example: (1/m)·dZ is compared with ∂J/∂Z\n" in table  # no dA drawn, none mentioned
    spec["values"] = {"seed": 3, "W1": [[0.5]], "Y": [[1, 0]]}
    _, table, _ = run("check", str(write(tmp_path, spec)))
    assert "numbers: W1, Y given, the rest drawn from seed 3; batch m = 2;" in table


# --- a wrong formula must fail the check -------------------------------------------------------------


def broken_check(template: str) -> tuple[int, dict[str, Any], str]:
    code, stdout, _ = run("check", "-t", template, "--json")
    table_code, table, _ = run("check", "-t", template)
    assert table_code == code
    return code, json.loads(stdout), table


def test_a_wrong_activation_derivative_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    tanh = ACTIVATION_OPS["tanh"]
    wrong = dataclasses.replace(tanh, backward=lambda da, z, a: da * (1 - a))  # forgot the square
    monkeypatch.setitem(ACTIVATION_OPS, "tanh", wrong)
    code, report, table = broken_check("two-layer-binary")
    assert code == 1 and report["ok"] is False
    failed = [line.split()[0] for line in table.splitlines() if line.rstrip().endswith("FAILED")]
    assert failed == ["dZ[1]", "dW[1]", "db[1]"]  # layer 2 stays right: the error is where the formula is
    assert "FAILED: dZ[1], dW[1], db[1] disagree with finite differences" in table


def test_a_wrong_fused_output_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    fused = FUSED_OPS[("sigmoid", "bce")]
    monkeypatch.setitem(FUSED_OPS, ("sigmoid", "bce"), dataclasses.replace(fused, dZ=lambda a, y: y - a))
    code, report, _ = broken_check("two-layer-binary")
    assert code == 1 and report["ok"] is False
    assert all(g["max_abs_error"] > 1e-3 for g in report["gradients"])


def test_a_wrong_loss_gradient_fails_only_where_it_is_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    bce = LOSS_OPS["bce"]
    monkeypatch.setitem(LOSS_OPS, "bce", dataclasses.replace(bce, dA=lambda a, y: -y / a + (1 - y) / a))
    assert broken_check("two-layer-binary-general")[0] == 1  # the general chain draws dA[2]
    assert broken_check("two-layer-binary")[0] == 0  # the fused chain does not use it


def test_a_missing_averaging_factor_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    linear = LINEAR  # the entry numeric_pass computes Z, dW, db and dA[l−1] with
    monkeypatch.setattr(numeric_pass, "LINEAR", dataclasses.replace(linear, dW=lambda dz, a_prev, scale: dz @ a_prev.T))
    code, report, _ = broken_check("relu-mlp")
    assert code == 1
    assert [g["name"] for g in report["gradients"] if g["max_abs_error"] > 1e-6] == ["W1", "W2"]


# --- bad input: one error line, exit 2 ----------------------------------------------------------------


NET = {"input": 2, "layers": [{"size": 3, "activation": "relu"}, {"size": 1, "activation": "sigmoid"}],
       "loss": "bce"}


@pytest.mark.parametrize(("values", "message"), [
    ({"W2": [[1, 2]]}, "values.W2: shape (1, 2) expected (n[2], n[1]) = (1, 3)"),
    ({"X": [[1, float("nan")], [1, 2]]}, "values.X[1][2]: is nan; entries must be finite numbers"),
    ({"batch": 0}, "values.batch: the batch (number of examples m) must be between 1 and 10,000 (got 0)"),
    ({"Y": [[0, 3]]}, "values.Y[1][2]: is 3; binary cross-entropy targets are 0 or 1"),
    ({"X": [[1, 2], [3]]}, "values.X[2]: row 2 has 1 entries but row 1 has 2"),
    # every Z[1] is exactly 0: relu has no derivative there, finite differences cannot check it
    ({"X": [[0, 0], [0, 0]], "b1": [[0], [0], [0]]}, "values: cannot check these numbers: a step of 1e-06 on b1[1][1]"
                                                      " moves Z[1] across 0, where relu's slope jumps"),
    ({"X": [[1000], [1000]], "W1": [[1000, 1000]] * 3, "W2": [[1000] * 3], "Y": [[0]]},
     "values: with these numbers the loss J is inf"),
])
def test_bad_values_are_one_error_line_exit_2(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    path = tmp_path / "net.yaml"  # YAML, which has NaN (.nan); JSON has none
    path.write_text(yaml.safe_dump({**NET, "values": values}), encoding="utf-8")
    for args in (["check", str(path)], ["check", str(path), "--json"]):
        code, stdout, stderr = run(*args)
        assert code == 2, stderr
        assert stdout == ""
        assert stderr.startswith(f"error: {path}") and message in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_too_large_to_check_is_refused_quickly(tmp_path: Path) -> None:
    spec = {"input": 200, "layers": [{"size": 200, "activation": "tanh"}, {"size": 10, "activation": "linear"}],
            "loss": "mse", "values": {"batch": 20}}
    code, _, stderr = run("check", str(write(tmp_path, spec)))
    assert code == 2
    assert "the network is too large to check by finite differences" in stderr


@pytest.mark.parametrize(("args", "message"), [
    (["check"], "give either a SPEC file or -t NAME (exactly one)"),
    (["check", "x.yaml", "-t", "relu-mlp"], "give either a SPEC file or -t NAME (exactly one)"),
    (["check", "-t", "nope"], "unknown template 'nope'"),
    (["check", "missing.yaml"], "missing.yaml: no such file"),
])
def test_check_usage_errors(args: list[str], message: str) -> None:
    code, _, stderr = run(*args)
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1


def test_check_every_template(template: str) -> None:
    code, stdout, stderr = run("check", "-t", template, "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["ok"] is True


def test_the_docs_examples_are_what_check_prints(tmp_path: Path) -> None:
    """The outputs the check page shows are what check prints today."""
    docs = Path(__file__).resolve().parent.parent / "docs"
    page = (docs / "how-to" / "check-gradients.md").read_text(encoding="utf-8")
    section = page[page.index("For the one-neuron network"):]
    spec = section.split("```yaml\n")[1].split("```")[0]
    printed = section.split("```json\n")[1].split("```")[0]
    path = tmp_path / "neuron.yaml"
    path.write_text(spec, encoding="utf-8")
    code, stdout, _ = run("check", str(path), "--json")
    assert code == 0 and stdout == printed
    shown = page[page.index("$ bpdiagram check -t two-layer-binary\n"):].split("```")[0]
    expected = shown.splitlines()[1:]
    code, stdout, _ = run("check", "-t", "two-layer-binary")
    assert stdout.splitlines() == expected
