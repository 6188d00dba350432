"""Conv, pooling and flatten: the math against an independent autodiff, the spec's errors, the pictures' grammar.

The oracle is ``tests.autodiff.cnn_gradients``: convolution as the textbook
sum over each window, max built from relu of differences, entry by entry in
Python floats. Networks are drawn at random (``random.Random``) from every
layer kind, stride, padding, activation and loss the spec takes, so they
were not designed to make the formulas look right.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bpdiagram.errors import SpecError
from bpdiagram.model.build import BuildOptions, build_graph
from bpdiagram.model.conv_pass import draw_conv_arrays, run_conv
from bpdiagram.model.gradcheck import CheckError, check_gradients
from bpdiagram.spec import load_spec, spec_from_text
from bpdiagram.spec.network import NetworkSpec
from tests.autodiff import cnn_gradients
from tests.narrow import as_network

SMOOTH = ("tanh", "sigmoid", "linear")


def random_cnn(rng: random.Random) -> dict[str, Any]:
    """A valid small CNN spec, its sizes and kinds drawn at random (invalid draws are drawn again)."""
    while True:
        c, h = rng.randint(1, 2), rng.randint(4, 8)
        shape = [c, h, rng.choice([h, h + 1])]
        layers: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 2)):
            layers.append({"type": "conv", "filters": rng.randint(1, 3), "kernel": rng.randint(1, 3),
                           "stride": rng.randint(1, 2), "padding": rng.randint(0, 1),
                           "activation": rng.choice(["relu", "tanh", "sigmoid", "linear", "leaky_relu"])})
            if rng.random() < 0.7:
                layers.append({"type": rng.choice(["maxpool", "avgpool"]), "kernel": rng.randint(1, 2),
                               "stride": rng.randint(1, 2)})
        layers.append({"type": "flatten"})
        if rng.random() < 0.5:
            layers.append({"size": rng.randint(2, 4), "activation": rng.choice(["tanh", "relu", "sigmoid"])})
        loss = rng.choice(["bce", "ce"])
        out = rng.randint(2, 3) if loss == "ce" else 1
        layers.append({"size": out, "activation": "softmax" if loss == "ce" else "sigmoid"})
        spec = {"input": {"shape": shape}, "layers": layers, "loss": loss,
                "values": {"seed": rng.randint(0, 10**6), "batch": rng.randint(1, 3)}}
        try:
            load_spec(spec)
        except SpecError:
            continue
        return spec


def oracle_layers(spec: NetworkSpec) -> tuple[list[Any], list[list[float]], list[dict[str, Any]]]:
    """The spec's numbers (as the pass draws them) in the autodiff's plain lists."""
    arrays = draw_conv_arrays(spec, spec.numbers())
    layers = []
    for layer, w, b in zip(spec.layers, arrays.W, arrays.b, strict=True):
        entry: dict[str, Any] = {"type": layer.type, "kernel": layer.kernel, "stride": layer.stride,
                                 "padding": layer.padding, "activation": layer.activation}
        if w is not None and b is not None:
            entry |= {"W": w.tolist(), "b": b.tolist()}
        layers.append(entry)
    return arrays.X.tolist(), arrays.Y.tolist(), layers


@pytest.mark.parametrize("seed", range(24))
def test_random_cnns_agree_with_autodiff(seed: int) -> None:
    """J, every dW and db of a random CNN equal the independent autodiff's to 1e-6 (in fact ~1e-12)."""
    spec = as_network(load_spec(random_cnn(random.Random(seed))))
    p = run_conv(spec)
    x, y, layers = oracle_layers(spec)
    j, grads = cnn_gradients(x, y, layers, spec.loss)
    assert pytest.approx(j, abs=1e-9) == p.J
    checked = 0
    for k, layer in enumerate(p.layers, start=1):
        if layer.dW is None or layer.db is None:
            assert f"W{k}" not in grads
            continue
        np.testing.assert_allclose(layer.dW, np.array(grads[f"W{k}"]), atol=1e-6, rtol=0)
        np.testing.assert_allclose(layer.db, np.array(grads[f"b{k}"]), atol=1e-6, rtol=0)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("seed", range(8))
def test_random_cnns_pass_the_finite_difference_check(seed: int) -> None:
    """``check`` agrees on random CNNs with smooth activations (relu and max pool may sit on a kink)."""
    raw = random_cnn(random.Random(100 + seed))
    for layer in raw["layers"]:
        if layer.get("type") == "conv":
            layer["activation"] = SMOOTH[seed % 3]
    spec = as_network(load_spec(raw))
    try:
        report = check_gradients(spec)
    except CheckError:  # a parameter step moved a max-pool window's maximum: say so, never a false failure
        pytest.skip("these numbers sit on a max-pool kink")
    assert report.ok, [(g.label, g.max_abs_error) for g in report.gradients if not g.ok]
    names = {g.name for g in report.gradients if g.param}
    assert names == {f"{p}{k}" for k, layer in enumerate(spec.layers, start=1)
                     if layer.type in ("conv", "dense") for p in "Wb"}


def test_a_wrong_rule_is_caught() -> None:
    """The oracle can fail: dropping the 180° turn from dA[l−1] disagrees with the autodiff."""
    from bpdiagram.model.catalogue import conv as ops

    rng = np.random.default_rng(0)
    w, dz = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((1, 2, 4, 4))
    right = ops.conv_dA_prev(w, dz, 1, 0)
    a = rng.standard_normal((1, 3, 6, 6))
    # J = Σ dZ ⊙ conv(W, A): its gradient in A is dA, entry by entry by finite differences
    h, idx = 1e-6, (0, 1, 2, 3)
    up, down = a.copy(), a.copy()
    up[idx] += h
    down[idx] -= h
    numeric = ((dz * ops.conv_forward(w, up, np.zeros(2), 1, 0)).sum()
               - (dz * ops.conv_forward(w, down, np.zeros(2), 1, 0)).sum()) / (2 * h)
    assert right[idx] == pytest.approx(numeric, abs=1e-7)
    unturned = ops.conv_dA_prev(w[:, :, ::-1, ::-1], dz, 1, 0)
    assert abs(unturned[idx] - numeric) > 1e-3


def test_template_tiny_cnn_checks() -> None:
    spec = as_network(load_spec(Path("templates/tiny-cnn.yaml")))
    report = check_gradients(spec)
    assert report.ok
    assert [g.name for g in report.gradients if g.param] == ["W4", "b4", "W1", "b1"]
    assert report.to_dict()["gradients"][0]["name"] == "W1"


def _spec(body: str) -> str:
    return f"input: {{shape: [1, 6, 6]}}\nlayers:\n{body}loss: bce\n"


FLAT = "  - {type: flatten}\n  - {size: 1, activation: sigmoid}\n"


@pytest.mark.parametrize(("body", "message"), [
    ("  - {type: conv, filters: 2, kernel: 7, activation: relu}\n" + FLAT,
     "cnn.yaml:3: layers[1].kernel: layer 1 (conv): kernel 7×7 is larger than its input 6×6"),
    ("  - {type: conv, filters: 2, kernel: 3, stride: 2, activation: relu}\n" + FLAT,
     "layer 1 (conv): the windows do not fit the height: (6 + 2·0 − 3) / 2 + 1 = 2.5 is not a whole number"),
    ("  - {size: 3, activation: relu}\n  - {size: 1, activation: sigmoid}\n",
     "layer 1 (dense) receives a 1×6×6 feature map; put {type: flatten} before it"),
    ("  - {type: flatten}\n  - {type: conv, filters: 2, kernel: 3, activation: relu}\n"
     "  - {size: 1, activation: sigmoid}\n",
     "layer 2 (conv) receives a vector of 36 units, not a C×H×W feature map"),
    ("  - {type: maxpool, kernel: 4, stride: 4}\n" + FLAT,
     "layer 1 (max pool): the windows do not fit the height: (6 + 2·0 − 4) / 4 + 1 = 1.5"),
    ("  - {type: maxpool, kernel: 2, padding: 1}\n" + FLAT, "layers[1].padding: unknown key"),
    ("  - {type: flatten}\n  - {type: flatten}\n  - {size: 1, activation: sigmoid}\n",
     "layer 2 (flatten) receives a vector of 36 units, already flat"),
    ("  - {type: conv, filters: 2, kernel: 3, activation: relu}\n",
     "layer 1 (conv) cannot be the output layer"),
    ("  - {type: pool, kernel: 2}\n" + FLAT, "'pool' is not valid; did you mean 'maxpool'?"),
    ("  - {type: conv, kernel: 3, activation: relu}\n" + FLAT, "layer 1 (conv): missing required key 'filters'"),
])
def test_shapes_that_do_not_fit_are_one_line_errors(body: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_text(_spec(body), file="cnn.yaml")
    text = str(info.value)
    assert message in text and "\n" not in text


def test_values_in_nchw_are_checked() -> None:
    good = _spec("  - {type: conv, filters: 1, kernel: 3, activation: tanh}\n" + FLAT)
    x = [[[[0.1 * (i + j) for j in range(6)] for i in range(6)]]]
    spec = as_network(spec_from_text(good + f"values: {{X: {x}, W1: [[[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]], "
                                            "b1: [0.5]}\n", file="cnn.yaml"))
    p = run_conv(spec)
    assert p.batch == 1
    assert p.layers[0].Z is not None
    # the diagonal filter on the ramp 0.1·(i + j): every window sums 0.1·(3(i + j) + 6) = Z − 0.5
    assert p.layers[0].Z[0, 0, 1, 2] == pytest.approx(0.1 * (3 * 3 + 6) + 0.5)
    wrong = r"values\.W1\[1\]\[1\]: has 2 entries where 3 are expected \(\[F\]\[C\]\[k\]\[k\], shape 1 × 1 × 3 × 3\)"
    with pytest.raises(SpecError, match=wrong):
        spec_from_text(good + "values: {W1: [[[[1, 0, 0], [0, 1]]]]}\n", file="cnn.yaml")
    with pytest.raises(SpecError, match="layer 2 \\(flatten\\) has no parameters"):
        spec_from_text(good + "values: {W2: [[1]]}\n", file="cnn.yaml")


def test_the_elementwise_view_refuses_conv() -> None:
    body = "  - {type: conv, filters: 1, kernel: 3, activation: tanh}\n" + FLAT
    with pytest.raises(SpecError, match="element-wise view draws dense units one by one, not feature maps"):
        spec_from_text(_spec(body) + "diagram: {view: elementwise}\n", file="cnn.yaml")


def test_the_graph_names_every_op_and_keeps_the_mask() -> None:
    spec = as_network(load_spec(Path("templates/tiny-cnn.yaml")))
    g = build_graph(spec, BuildOptions(shapes=True))
    labels = {n.id: n.plain for n in g.nodes.values()}
    assert labels["Z1"].startswith("Z[1] = W[1] ∗ X + b[1]")
    assert "2×4×4×m" in labels["Z1"]
    assert labels["A2"].startswith("A[2] = maxpool(A[1])")
    assert "dA[1] = scatter(dA[2] → argmax M[2])" in labels["dP2"]
    assert "dA[2] = reshape(dA[3])" in labels["dP3"]
    assert "dA[3] = W[4]T dZ[4]" in labels["dW4"] or "dA[3] = W[4]ᵀ dZ[4]" in labels["dW4"]
    assert "dX" not in labels["dW1"]  # layer 1 hands nothing down
    assert labels["cache.A2.mask"].startswith("M[2] = argmax")
    kinds = {(e.kind, e.source, e.target) for e in g.edges}
    assert ("update", "dW1", "W1") in kinds and ("update", "dW4", "W4") in kinds
    assert ("backward", "dW4", "dP3") in kinds and ("backward", "dP2", "dZ1") in kinds
    assert ("derivative", "A2", "dP2") in kinds


def test_cs231n_notation() -> None:
    raw = load_spec(Path("templates/tiny-cnn.yaml"))
    spec = as_network(raw)
    import dataclasses

    spec = dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, notation="cs231n"))
    labels = {n.id: n.plain for n in build_graph(spec).nodes.values()}
    assert labels["Z1"].startswith("Z1 = W1 ∗ X + b1")
    assert "dW1 = (1/m) Σ X ⋆ dZ1" in labels["dW1"]


def test_memory_counts_the_mask() -> None:
    from bpdiagram.model.memory import MemoryOptions, cache_memory

    spec = as_network(load_spec(Path("templates/tiny-cnn.yaml")))
    g = build_graph(spec, BuildOptions(memory=MemoryOptions(batch=64)))
    memory = {v.name: v for v in cache_memory(g.nodes.values(), MemoryOptions(batch=64)).values}
    assert memory["M2"].shape == (2, 2, 2, 64) and memory["M2"].bytes == 2 * 2 * 2 * 64 * 4
    assert memory["X"].shape == (1, 6, 6, 64)
    assert memory["W4"].shape == (1, 8) and "W1" not in memory  # W[1] hands no dA down: not kept


def test_exported_code_runs_and_matches(tmp_path: Path) -> None:
    """``bpdiagram code`` of random CNNs: the module runs and its gradients equal the autodiff's."""
    from bpdiagram.model.code import generate

    for seed in range(4):
        spec = as_network(load_spec(random_cnn(random.Random(200 + seed))))
        module = tmp_path / f"cnn{seed}.py"
        module.write_text(generate(spec).text)
        out = subprocess.run([sys.executable, str(module)], capture_output=True, text=True, check=True)
        assert "dW1" in out.stdout
        namespace: dict[str, Any] = {}
        exec(compile(module.read_text(), str(module), "exec"), namespace)  # our own generated module
        x, y, layers = oracle_layers(spec)
        arrays = draw_conv_arrays(spec, spec.numbers())
        params = {f"{p}{k}": getattr(arrays, p)[k - 1] for k in range(1, len(spec.layers) + 1) for p in "Wb"
                  if getattr(arrays, p)[k - 1] is not None}
        j, cache = namespace["forward"](params, arrays.X, arrays.Y)
        grads = namespace["backward"](params, cache)
        j_ref, ref = cnn_gradients(x, y, layers, spec.loss)
        assert j == pytest.approx(j_ref, abs=1e-9)
        for name, value in ref.items():
            np.testing.assert_allclose(grads[f"d{name}"], np.array(value), atol=1e-6, rtol=0)


def test_every_feature_map_node_shows_its_array() -> None:
    """With numbers on, each tensor node of tiny-cnn shows the pass's array: maps as blocks, vectors as matrices."""
    from bpdiagram.model import array_labels
    from bpdiagram.richtext import plain_lines
    from tests.test_values_diagram import labels

    spec = as_network(load_spec(Path("templates/tiny-cnn.yaml")))
    p = run_conv(spec)
    shown = labels(spec, values=True)
    arrays = {"input": p.X, "cache.input": p.X, "target": p.Y, "cache.target": p.Y}
    for k, layer in enumerate(p.layers, start=1):
        arrays |= {f"A{k}": layer.A, f"cache.A{k}": layer.A}
        if layer.Z is not None and layer.dZ is not None:
            arrays |= {f"Z{k}": layer.Z, f"cache.Z{k}": layer.Z, f"dZ{k}": layer.dZ}
    assert p.layers[1].mask is not None
    arrays["cache.A2.mask"] = p.layers[1].mask.astype(float)
    for node, array in arrays.items():
        if node in shown:
            first = 2 if node in ("Z1", "A2") else 1  # their second line is the window
            assert shown[node][first:] == plain_lines(array_labels.tensor_block(array)), node
    assert shown["A1"][1] == "2×4×4×m, m = 2: example 1"
    assert shown["input"][1] == "1×6×6×m, m = 2: example 1" and len(shown["input"]) == 2 + 6
    handed = p.layers[0].dA  # dA[1], what max pooling hands down
    assert handed is not None
    dp2 = plain_lines(array_labels.tensor_block(handed))
    assert shown["dP2"][1:] == dp2


@pytest.mark.graphviz
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("options", [{}, {"values": True}, {"shapes": True, "notation": "cs231n", "simplify": "false"}])
def test_random_cnn_pictures_hold_the_grammar(seed: int, options: dict[str, Any]) -> None:
    """The visual grammar on the GraphML geometry of random CNNs: symbols, numbers, shapes and the general chain."""
    from bpdiagram.diagram import Diagram
    from tests.geometry import grammar_violations, read

    raw = random_cnn(random.Random(300 + seed))
    if "simplify" in options:
        raw["diagram"] = {"notation": options["notation"], "simplify": options["simplify"]}
    spec = as_network(load_spec(raw))
    d = Diagram(spec, values=options.get("values", False), shapes=options.get("shapes", False))
    boxes, lines = read(d.render("graphml"))
    assert grammar_violations(boxes, lines) == []
    assert {line.kind for line in lines} == {"forward", "cache", "backward", "update", "derivative"}
