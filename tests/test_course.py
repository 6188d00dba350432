"""L2, dropout, batch norm and residuals (INTERFACE §11): spec, diagram, numbers and check.

The gradients are compared with ``tests/autodiff.py``'s ``course_network_gradients``, a scalar
reverse-mode autodiff that builds batch norm, the masks and the skip additions from +, ×, ÷ and √
and never reads the catalogue; ``check``'s own finite differences are the second oracle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bpdiagram import Diagram
from bpdiagram.cli import cli
from bpdiagram.model.build import BuildOptions, build_graph
from bpdiagram.model.gradcheck import CheckError, check_gradients
from bpdiagram.model.numeric_pass import run
from bpdiagram.richtext import plain, plain_lines
from bpdiagram.spec import load_spec
from bpdiagram.spec.network import NetworkSpec
from bpdiagram.template_files import template_path
from tests.autodiff import course_network_gradients

NEW_TEMPLATES = ["l2-regularized", "dropout", "batchnorm", "residual-block"]


def cli_run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def network(spec: dict[str, Any]) -> NetworkSpec:
    loaded = load_spec(spec)
    assert isinstance(loaded, NetworkSpec)
    return loaded


def template_spec(name: str, **diagram: Any) -> NetworkSpec:
    loaded = load_spec(template_path(name))
    assert isinstance(loaded, NetworkSpec)
    if diagram:
        from dataclasses import replace
        loaded = replace(loaded, diagram=replace(loaded.diagram, **diagram))
    return loaded


def labels(g: nx.MultiDiGraph) -> dict[str, str]:
    return {n: plain(d["label"]) for n, d in g.nodes(data=True)}


def edges(g: nx.MultiDiGraph, kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, k in g.edges(data="kind") if k == kind}


# -- check on the templates and on random networks with every feature ----------------------------


@pytest.mark.parametrize("name", NEW_TEMPLATES)
def test_each_new_template_passes_check(name: str) -> None:
    code, stdout, stderr = cli_run("check", "-t", name, "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["ok"] is True
    names = [g["name"] for g in report["gradients"]]
    if name == "batchnorm":  # no b1: γ1 and β1 take its place, checked like every parameter
        assert names == ["W1", "gamma1", "beta1", "W2", "b2"]
    else:
        assert names == [f"{p}{k}" for k in range(1, len(names) // 2 + 1) for p in "Wb"]


def explicit(layers: list[dict[str, Any]], n0: int, m: int, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every array of a spec written out (random γ and β, random masks), and the same as autodiff layers."""
    rng = np.random.default_rng(seed)
    values: dict[str, Any] = {"X": rng.normal(size=(n0, m)).tolist()}
    oracle = []
    prev = n0
    for k, layer in enumerate(layers, start=1):
        n = layer["size"]
        entry: dict[str, Any] = {"activation": layer["activation"], "residual": layer.get("residual")}
        entry["W"] = values[f"W{k}"] = (rng.normal(size=(n, prev)) / np.sqrt(prev)).tolist()
        if layer.get("batchnorm"):
            entry["gamma"] = values[f"gamma{k}"] = rng.uniform(0.5, 1.5, size=(n, 1)).tolist()
            entry["beta"] = values[f"beta{k}"] = rng.normal(scale=0.3, size=(n, 1)).tolist()
        else:
            entry["b"] = values[f"b{k}"] = rng.normal(scale=0.3, size=(n, 1)).tolist()
        if "dropout" in layer:
            entry["D"] = values[f"D{k}"] = (rng.random((n, m)) < layer["dropout"]).astype(float).tolist()
            entry["keep"] = layer["dropout"]
        oracle.append(entry)
        prev = n
    values["Y"] = rng.integers(0, 2, size=(layers[-1]["size"], m)).astype(float).tolist()
    return values, oracle


HIDDEN = ["linear", "sigmoid", "tanh", "relu", "leaky_relu"]


@st.composite
def course_networks(draw: st.DrawFn) -> dict[str, Any]:
    """2–4 hidden layers of one width with dropout, batch norm and residuals mixed at random, sigmoid + bce out."""
    width = draw(st.integers(1, 3))
    n_hidden = draw(st.integers(2, 4))
    layers: list[dict[str, Any]] = []
    for k in range(1, n_hidden + 1):
        layer: dict[str, Any] = {"size": width, "activation": draw(st.sampled_from(HIDDEN))}
        if draw(st.booleans()):
            layer["dropout"] = draw(st.sampled_from([0.5, 0.8, 1.0]))
        if draw(st.booleans()):
            layer["batchnorm"] = True
        if k > 1 and draw(st.booleans()):
            layer["residual"] = draw(st.integers(1, k - 1))
        layers.append(layer)
    layers.append({"size": draw(st.integers(1, 2)), "activation": "sigmoid",
                   **({"batchnorm": True} if draw(st.booleans()) else {}),
                   **({"residual": n_hidden} if width == 1 and draw(st.booleans()) else {})})
    return {"input": draw(st.integers(1, 3)), "layers": layers, "loss": "bce",
            "regularization": {"l2": draw(st.sampled_from([0.0, 0.1, 0.7]))},
            "diagram": {"simplify": draw(st.sampled_from(["auto", "false"]))},
            "batch": draw(st.integers(2, 4)), "seed": draw(st.integers(0, 2**16))}


@settings(max_examples=25, deadline=None, derandomize=True)
@given(case=course_networks())
def test_random_networks_with_every_feature_pass_check_and_match_an_independent_autodiff(case: dict[str, Any]) -> None:
    batch, seed = case.pop("batch"), case.pop("seed")
    values, oracle = explicit(case["layers"], case["input"], batch, seed)
    # the output layer's residual needs equal sizes: the strategy only asks for it when they are
    spec = network({**case, "values": values})
    try:
        report = check_gradients(spec)
    except CheckError:  # a finite-difference step across a ReLU kink: not checkable, said so
        assume(False)
        raise
    assert report.ok, [(g.label, g.max_abs_error) for g in report.gradients if not g.ok]
    j, grads = course_network_gradients(values["X"], values["Y"], oracle, "bce", l2=case["regularization"]["l2"])
    assert report.loss == pytest.approx(j, rel=1e-9, abs=1e-12)
    params = {g.name: g for g in report.gradients if g.param}
    assert set(params) == set(grads)
    for name, expected in grads.items():
        np.testing.assert_allclose(params[name].analytic, expected, rtol=1e-7, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("loss", ["mse", "sse"])
def test_l2_scales_with_the_loss_and_matches_the_autodiff(loss: str) -> None:
    layers = [{"size": 3, "activation": "tanh", "dropout": 0.5, "batchnorm": True},
              {"size": 3, "activation": "sigmoid", "residual": 1}, {"size": 2, "activation": "linear"}]
    values, oracle = explicit(layers, 2, 3, seed=5)
    values["Y"] = np.random.default_rng(1).normal(size=(2, 3)).tolist()
    spec = network({"input": 2, "layers": layers, "loss": loss, "regularization": {"l2": 0.3}, "values": values})
    report = check_gradients(spec)
    assert report.ok
    j, grads = course_network_gradients(values["X"], values["Y"], oracle, loss, l2=0.3)
    assert report.loss == pytest.approx(j, rel=1e-9)
    for g in report.gradients:
        if g.param:
            np.testing.assert_allclose(g.analytic, grads[g.name], rtol=1e-7, atol=1e-10, err_msg=g.name)


def test_a_wrong_formula_is_caught() -> None:
    """The oracle can fail: without the skip path's second term dA[1] disagrees with it."""
    layers = [{"size": 2, "activation": "tanh"}, {"size": 2, "activation": "tanh", "residual": 1},
              {"size": 1, "activation": "sigmoid"}]
    values, oracle = explicit(layers, 2, 3, seed=2)
    oracle[1]["residual"] = None
    _, without_skip = course_network_gradients(values["X"], values["Y"], oracle, "bce")
    report = check_gradients(network({"input": 2, "layers": layers, "loss": "bce", "values": values}))
    w1 = next(g for g in report.gradients if g.name == "W1")
    assert not np.allclose(w1.analytic, without_skip["W1"], rtol=1e-3)


def test_masks_are_drawn_from_the_seed_with_the_keep_probability_and_given_ones_are_used() -> None:
    base: dict[str, Any] = {"input": 2, "layers": [{"size": 50, "activation": "relu", "dropout": 0.8},
                                   {"size": 1, "activation": "sigmoid"}], "loss": "bce"}
    first = run(network({**base, "values": {"seed": 1, "batch": 40}})).layers[0].D
    again = run(network({**base, "values": {"seed": 1, "batch": 40}})).layers[0].D
    other = run(network({**base, "values": {"seed": 2, "batch": 40}})).layers[0].D
    assert first is not None and again is not None and other is not None
    assert set(np.unique(first)) == {0.0, 1.0} and abs(first.mean() - 0.8) < 0.03
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    plain_net = run(network({**base, "layers": [{"size": 50, "activation": "relu"}, base["layers"][1]],
                             "values": {"seed": 1, "batch": 40}}))
    masked = run(network({**base, "values": {"seed": 1, "batch": 40}}))
    # masks are drawn after every other array: adding dropout leaves X and W as they were
    assert np.array_equal(plain_net.X, masked.X) and np.array_equal(plain_net.layers[0].W, masked.layers[0].W)
    mask = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    given_net = run(network({"input": 1, "layers": [{"size": 2, "activation": "linear", "dropout": 0.5},
                                                    {"size": 1, "activation": "sigmoid"}], "loss": "bce",
                             "values": {"batch": 3, "D1": mask}}))
    layer = given_net.layers[0]
    np.testing.assert_array_equal(layer.A, np.array(mask) * layer.Z / 0.5)


# -- the diagram -----------------------------------------------------------------------------------


def test_l2_draws_the_penalty_and_the_weight_term_with_W_cached() -> None:
    g = build_graph(template_spec("l2-regularized")).to_networkx()
    lab = labels(g)
    assert lab["loss"].endswith(" / + (λ/2m) Σl ‖W[l]‖², λ = 0.7")
    assert lab["dW1"].startswith("dW[1] = (1/m) dZ[1] Xᵀ + (λ/m) W[1] / ")
    assert lab["dW2"].startswith("dW[2] = (1/m) dZ[2] A[1]ᵀ + (λ/m) W[2] / ")
    assert {("W1", "cache.W1"), ("cache.W1", "dW1"), ("cache.W2", "dW2")} <= edges(g, "cache")


def test_dropout_draws_the_mask_into_A_and_its_cached_copy_into_dZ() -> None:
    g = build_graph(template_spec("dropout")).to_networkx()
    lab = labels(g)
    assert lab["A1"] == "A[1] = D[1] ⊙ max(0, Z[1]) / 0.8"
    assert lab["dZ1"] == "dZ[1] = dA[1] ⊙ D[1] / 0.8 ⊙ [Z[1] > 0]"
    assert g.nodes["D1"]["band"] == "forward"
    assert ("D1", "A1") in edges(g, "forward")
    assert {("D1", "cache.D1"), ("cache.D1", "dZ1"), ("cache.Z1", "dZ1")} <= edges(g, "cache")
    assert ("cache.A1", "dZ1") not in edges(g, "cache")  # the masked A cannot give g′


@pytest.mark.parametrize(("activation", "a2", "dz2"), [
    ("tanh", "A[2] = D[2] ⊙ tanh(Z[2] + A[1]) / 0.5", "dZ[2] = dA[2] ⊙ D[2] / 0.5 ⊙ (1 − tanh²(Z[2] + A[1]))"),
    ("linear", "A[2] = D[2] ⊙ (Z[2] + A[1]) / 0.5", "dZ[2] = dA[2] ⊙ D[2] / 0.5"),
    ("leaky_relu", "A[2] = D[2] ⊙ max(0.01 (Z[2] + A[1]), Z[2] + A[1]) / 0.5",
     "dZ[2] = dA[2] ⊙ D[2] / 0.5 ⊙ ([Z[2] + A[1] > 0] + 0.01 [Z[2] + A[1] ≤ 0])"),
])
def test_dropout_on_a_residual_layer_reads_g_prime_from_the_sum(activation: str, a2: str, dz2: str) -> None:
    spec = network({"input": 2, "layers": [{"size": 2, "activation": "relu"},
                                           {"size": 2, "activation": activation, "dropout": 0.5, "residual": 1},
                                           {"size": 1, "activation": "sigmoid"}], "loss": "bce"})
    g = build_graph(spec).to_networkx()
    lab = labels(g)
    assert (lab["A2"], lab["dZ2"]) == (a2, dz2)
    reads = {u for u, v in edges(g, "cache") if v == "dZ2"}
    assert reads == ({"cache.D2"} if activation == "linear" else {"cache.D2", "cache.Z2", "cache.A1"})
    assert check_gradients(spec).ok


def test_batchnorm_draws_gamma_beta_as_parameters_and_no_bias() -> None:
    g = build_graph(template_spec("batchnorm")).to_networkx()
    lab = labels(g)
    assert lab["W1"] == "W[1]" and lab["Z1"] == "Z[1] = W[1]X"
    assert "db[1]" not in " ".join(lab.values())
    assert lab["G1"] == "γ[1], β[1]" and g.nodes["G1"]["kind"] == "param"
    assert plain_lines(g.nodes["BN1"]["label"]) == [
        "μ[1] = mean(Z[1]), σ²[1] = mean((Z[1] − μ[1])²)", "Znorm[1] = (Z[1] − μ[1]) / √(σ²[1] + ε)",
        "Zbn[1] = γ[1] ⊙ Znorm[1] + β[1]"]
    assert plain_lines(g.nodes["dG1"]["label"]) == [
        "dγ[1] = (1/m) Σ dZbn[1] ⊙ Znorm[1]", "dβ[1] = (1/m) Σ dZbn[1]",
        "dZ[1] = γ[1] ⊙ (dZbn[1] − mean(dZbn[1])", "− Znorm[1] ⊙ mean(dZbn[1] ⊙ Znorm[1])) / √(σ²[1] + ε)"]
    assert lab["dZ1"] == "dZbn[1] = dA[1] ⊙ [Zbn[1] > 0]"
    assert ("dG1", "G1") in edges(g, "update") and ("BN1", "dG1") in edges(g, "derivative")
    assert {("G1", "BN1"), ("Z1", "BN1"), ("BN1", "A1")} <= edges(g, "forward")
    assert {("cache.BN1.Zhat", "dG1"), ("cache.BN1.var", "dG1"), ("cache.G1", "dG1"),
            ("cache.BN1.Zt", "dZ1")} <= edges(g, "cache")
    assert {lab["cache.BN1.Zhat"], lab["cache.BN1.var"], lab["cache.G1"]} == {"Znorm[1]", "σ²[1]", "γ[1]"}
    assert sorted(e for e in edges(g, "backward") if "dG1" in e) == [("dG1", "dW1"), ("dZ1", "dG1")]


def test_residual_draws_the_skip_forward_and_the_sum_of_both_paths_backward() -> None:
    g = build_graph(template_spec("residual-block")).to_networkx()
    lab = labels(g)
    assert lab["A3"] == "A[3] = max(0, Z[3] + A[1])"
    assert lab["dZ3"] == "dZ[3] = dA[3] ⊙ [A[3] > 0]"  # g′ from relu's own output: Z[3] + A[1] is kept nowhere
    assert ("A1", "A3") in edges(g, "forward")
    assert g.nodes["sum1"]["kind"] == "sum" and g.nodes["sum1"]["band"] == "backward"
    assert lab["sum1"] == "dA[1] += dZ[3]"
    assert {("dZ3", "sum1"), ("dW2", "sum1"), ("sum1", "dZ1")} <= edges(g, "backward")
    assert ("dW2", "dZ1") not in edges(g, "backward")


def test_cs231n_notation_names_every_new_symbol() -> None:
    lab = labels(build_graph(template_spec("batchnorm", notation="cs231n")).to_networkx())
    assert lab["G1"] == "γ1, β1" and lab["dZ1"] == "dZbn,1 = dA1 ⊙ [Zbn,1 > 0]"
    assert lab["dG1"].startswith("dγ1 = (1/m) Σ dZbn,1 ⊙ Znorm,1")
    lab = labels(build_graph(template_spec("residual-block", notation="cs231n")).to_networkx())
    assert lab["sum1"] == "dA1 += dZ3"


def test_values_draw_the_new_arrays() -> None:
    spec = template_spec("batchnorm")
    p = run(spec)
    lab = labels(build_graph(spec, BuildOptions(values=True)).to_networkx())
    layer = p.layers[0]
    assert layer.dgamma is not None and layer.var is not None
    assert f"{layer.dgamma[0, 0]:.3f}".replace("-", "−") in lab["dG1"]
    assert "(4, 1) │ (4, 1)" in lab["G1"] and "(4, 1)" in lab["cache.BN1.var"]
    res = template_spec("residual-block")
    total = run(res).layers[0].dA
    assert total is not None
    sum_label = labels(build_graph(res, BuildOptions(values=True)).to_networkx())["sum1"]
    assert sum_label.startswith("dA[1] += dZ[3] / (4, 4)")
    d = labels(build_graph(template_spec("dropout"), BuildOptions(values=True)).to_networkx())
    assert d["D1"].startswith("D[1] / (4, 4)") and d["cache.D1"] == d["D1"]


@pytest.mark.graphviz
@pytest.mark.parametrize("name", NEW_TEMPLATES)
def test_each_new_template_holds_the_grammar_with_no_crossings(name: str) -> None:
    for notation in ("dls", "cs231n"):
        stats = Diagram(template_spec(name, notation=notation)).stats()
        assert stats.crossings == 0, notation
        assert not (stats.grammar_violations or stats.overlapping_nodes or stats.spilling_labels), notation


@pytest.mark.graphviz
@pytest.mark.parametrize("notation", ["dls", "cs231n"])
def test_a_network_mixing_all_four_draws_against_no_rule_of_the_grammar(notation: str) -> None:
    spec = network({"input": 3, "layers": [
        {"size": 4, "activation": "tanh", "dropout": 0.8}, {"size": 4, "activation": "sigmoid", "batchnorm": True},
        {"size": 4, "activation": "relu", "residual": 1, "batchnorm": True},
        {"size": 4, "activation": "leaky_relu", "residual": 2, "dropout": 0.5}, {"size": 2, "activation": "softmax"}],
        "loss": "ce", "regularization": {"l2": 0.7}, "diagram": {"notation": notation}})
    assert check_gradients(spec).ok
    d = Diagram(spec)  # no values: the picture of formulas (numbers only make the boxes bigger)
    stats = d.stats()
    assert not (stats.grammar_violations or stats.overlapping_nodes or stats.spilling_labels)
    assert stats.jumps == stats.crossings  # every crossing that remains is bridged


# -- bad input ----------------------------------------------------------------------------------------

BASE = {"input": 2, "loss": "bce"}
ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({"layers": [{"size": 2, "activation": "relu"}, {"size": 1, "activation": "sigmoid", "dropout": 0.5}]},
     "layers[2].dropout", "dropout is for hidden layers only"),
    ({"layers": [{"size": 2, "activation": "relu", "dropout": 0}, {"size": 1, "activation": "sigmoid"}]},
     "layers[1].dropout", "the keep probability must lie in (0, 1]"),
    ({"layers": [{"size": 2, "activation": "relu", "dropout": 1.5}, {"size": 1, "activation": "sigmoid"}]},
     "layers[1].dropout", "the keep probability must lie in (0, 1] (got 1.5)"),
    ({"layers": [{"size": 2, "activation": "relu", "dropout": "high"}, {"size": 1, "activation": "sigmoid"}]},
     "layers[1].dropout", "must be the keep probability"),
    ({"layers": [{"size": 2, "activation": "relu", "residual": 2}, {"size": 2, "activation": "relu"},
                 {"size": 1, "activation": "sigmoid"}]}, "layers[1].residual", "layer 1 has no earlier layer"),
    ({"layers": [{"size": 2, "activation": "relu"}, {"size": 2, "activation": "relu", "residual": 2},
                 {"size": 1, "activation": "sigmoid"}]}, "layers[2].residual", "must name an earlier layer, 1 to 1"),
    ({"layers": [{"size": 3, "activation": "relu"}, {"size": 2, "activation": "relu", "residual": 1},
                 {"size": 1, "activation": "sigmoid"}]}, "layers[2].residual",
     "layer 1 has 3 units and layer 2 has 2"),
    ({"layers": [{"size": 2, "activation": "relu", "batchnorm": "yes"}, {"size": 1, "activation": "sigmoid"}]},
     "layers[1].batchnorm", "must be true or false"),
    ({"layers": [{"size": 2, "activation": "relu", "batchnorm": True}, {"size": 1, "activation": "sigmoid"}],
      "values": {"b1": [[0.0], [0.0]]}}, "values.b1", "layer 1 uses batch norm, which has no bias b1"),
    ({"layers": [{"size": 2, "activation": "relu", "dropout": 0.5}, {"size": 1, "activation": "sigmoid"}],
      "values": {"batch": 2, "D1": [[1, 0.5], [0, 1]]}}, "values.D1[1][2]",
     "a dropout mask holds 0 (unit dropped) and 1 (kept) only"),
    ({"layers": [{"size": 2, "activation": "relu", "dropout": 0.5}, {"size": 1, "activation": "sigmoid"}],
      "values": {"batch": 2, "D1": [[1, 0, 1], [0, 1, 1]]}}, "values.D1", "shape (2, 3) expected (n[1], m) = (2, 2)"),
    ({"layers": [{"size": 2, "activation": "relu", "batchnorm": True}, {"size": 1, "activation": "sigmoid"}],
      "values": {"gamma1": [[1.0]]}}, "values.gamma1", "shape (1, 1) expected (n[1], 1) = (2, 1)"),
    ({"layers": [{"size": 2, "activation": "relu"}, {"size": 1, "activation": "sigmoid"}],
      "values": {"D1": [[1, 0, 1, 1], [0, 1, 1, 1]]}}, "values.D1", "unknown key"),
    ({"layers": [{"size": 2, "activation": "relu"}, {"size": 1, "activation": "sigmoid"}],
      "regularization": {"l2": -1}}, "regularization.l2", "λ must be a number from 0"),
    ({"layers": [{"size": 2, "activation": "relu"}, {"size": 1, "activation": "sigmoid"}],
      "regularization": {"l1": 1}}, "regularization.l1", "unknown key"),
    ({"layers": [{"size": 2, "activation": "relu", "dropout": 0.5}, {"size": 1, "activation": "sigmoid"}],
      "diagram": {"view": "elementwise"}}, "layers[1].dropout", "dropout is not drawn unit by unit"),
    ({"layers": [{"size": 2, "activation": "relu"}, {"size": 1, "activation": "sigmoid"}],
      "regularization": {"l2": 0.1}, "diagram": {"view": "elementwise"}}, "regularization",
     "L2 regularisation is not drawn unit by unit"),
]


@pytest.mark.parametrize(("extra", "key", "message"), ERRORS, ids=[e[1] + ":" + e[2][:20] for e in ERRORS])
def test_bad_input_is_one_located_error_line(tmp_path: Path, extra: dict[str, Any], key: str, message: str) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({**BASE, **extra}), encoding="utf-8")
    out = tmp_path / "out"
    for args in (["check", str(path)], ["render", str(path), "-o", str(out), "-f", "svg"]):
        code, stdout, stderr = cli_run(*args)
        assert code == 2 and not stdout, stderr
        assert stderr.count("\n") == 1 and stderr.startswith("error: ") and "Traceback" not in stderr
        assert str(path) in stderr and key in stderr and message in stderr, stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("name", NEW_TEMPLATES)
def test_code_exports_each_new_template_and_the_script_prints_its_gradients(name: str, tmp_path: Path) -> None:
    """``bpdiagram code`` writes the module (its numbers are checked in tests/test_code.py) and it runs."""
    import subprocess
    import sys

    out = tmp_path / "net.py"
    code, stdout, stderr = cli_run("code", "-t", name, "-o", str(out))
    assert code == 0 and stdout == f"{out}\n", stderr
    done = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = [line.split(" =")[0] for line in done.stdout.splitlines() if " =" in line]
    spec = template_spec(name)
    expected = ["J"] + [f"{p}{k}" for k, layer in enumerate(spec.layers, start=1)
                        for p in (("dW", "dgamma", "dbeta") if layer.batchnorm else ("dW", "db"))]
    assert printed == expected
