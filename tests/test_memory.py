"""What backprop costs and what it does: cache bytes, weight initialisation, gradient norms and their strip.

The byte counts are checked against sums written out by hand here (which
value each activation keeps, times rows × m × bytes per number), not against
``model.memory``; the norms against ``tests/autodiff.py``, an autodiff that
shares no code with bpdiagram.
"""

from __future__ import annotations

import doctest
import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import bpdiagram
from bpdiagram.cli import cli
from bpdiagram.layout import overlays
from bpdiagram.model import memory
from bpdiagram.model.numeric_pass import run as run_pass
from bpdiagram.spec import load_spec
from tests.autodiff import network_gradients_with_z
from tests.narrow import as_network

SVG = "{http://www.w3.org/2000/svg}"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, spec: dict[str, Any], name: str = "net.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def net(hidden: str, *, out: str = "sigmoid", loss: str = "bce", **extra: Any) -> dict[str, Any]:
    """3 → 5 ``hidden`` → 1 ``out``."""
    return {"input": 3, "layers": [{"size": 5, "activation": hidden}, {"size": 1, "activation": out}],
            "loss": loss, **extra}


# What each hidden activation's backward rule reads besides dA: tanh′ = 1 − A², σ′ = A(1 − A),
# relu′ and leaky_relu′ test Z > 0, linear′ = 1 reads nothing.
KEEPS = {"tanh": ["A1"], "sigmoid": ["A1"], "relu": ["Z1", "A1"], "leaky_relu": ["Z1", "A1"], "linear": ["A1"]}
"""Hidden layer's cached values: A[1] always (dW[2] = (1/m) dZ[2] A[1]ᵀ), Z[1] when g′ reads Z."""


@pytest.mark.parametrize("hidden", list(KEEPS))
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_cache_bytes_by_hand_for_every_hidden_activation(tmp_path: Path, hidden: str, dtype: str) -> None:
    code, out, err = run("stats", str(write(tmp_path, net(hidden))), "--json", "--batch", "64", "--dtype", dtype)
    assert code == 0, err
    cache = json.loads(out)["cache"]
    size = {"float16": 2, "float32": 4, "float64": 8}[dtype]
    rows = {"X": 3 * 64, "A1": 5 * 64, "Z1": 5 * 64, "W2": 1 * 5, "A2": 64, "Y": 64}
    # fused σ + bce: dZ[2] = A[2] − Y keeps A[2] and Y; dA[1] = W[2]ᵀ dZ[2] keeps W[2]; dW[1] keeps X
    expected = {name: rows[name] * size for name in ["X", *KEEPS[hidden], "W2", "A2", "Y"]}
    assert {v["name"]: v["bytes"] for v in cache["values"]} == expected
    assert cache["bytes"] == sum(expected.values())
    assert (cache["batch"], cache["dtype"]) == (64, dtype)
    shapes = {v["name"]: v["shape"] for v in cache["values"]}
    assert shapes["X"] == [3, 64] and shapes["W2"] == [1, 5]


def test_float16_is_exactly_half_of_float32_and_float64_twice() -> None:
    totals = {}
    for dtype in ("float16", "float32", "float64"):
        code, out, _ = run("stats", "-t", "three-layer-logistic", "--json", "--dtype", dtype)
        assert code == 0
        totals[dtype] = json.loads(out)["cache"]["bytes"]
    assert totals["float16"] * 2 == totals["float32"] == totals["float64"] // 2


def test_general_chain_softmax_and_partial_views_count_what_is_drawn(tmp_path: Path) -> None:
    general = net("tanh", diagram={"simplify": False})
    code, out, _ = run("stats", str(write(tmp_path, general)), "--json", "--batch", "10")
    # dA[2] = −Y/A[2] + (1−Y)/(1−A[2]) and σ′ = A[2](1 − A[2]) read the same kept A[2] and Y
    assert code == 0 and sorted(v["name"] for v in json.loads(out)["cache"]["values"]) == \
        ["A1", "A2", "W2", "X", "Y"]
    softmax = {"input": 2, "layers": [{"size": 3, "activation": "relu"}, {"size": 4, "activation": "softmax"}],
               "loss": "ce"}
    code, out, _ = run("stats", str(write(tmp_path, softmax)), "--json", "--batch", "8")
    values = {v["name"]: v["bytes"] for v in json.loads(out)["cache"]["values"]}
    assert values == {"X": 2 * 8 * 4, "Z1": 3 * 8 * 4, "A1": 3 * 8 * 4, "W2": 4 * 3 * 4, "A2": 4 * 8 * 4,
                      "Y": 4 * 8 * 4}
    # backprop to layer 3 of three: only what dZ[3], dW[3] read — A[3], Y and A[2] (no W[3]: no dA[2] drawn)
    code, out, _ = run("stats", "-t", "three-layer-logistic", "--json", "--backprop-to", "3", "--batch", "2")
    assert sorted(v["name"] for v in json.loads(out)["cache"]["values"]) == ["A2", "A3", "Y"]


def test_batch_comes_from_the_option_then_the_spec_then_64(tmp_path: Path) -> None:
    with_values = net("tanh", values={"batch": 7})
    path = write(tmp_path, with_values)
    assert json.loads(run("stats", str(path), "--json")[1])["cache"]["batch"] == 7
    assert json.loads(run("stats", str(path), "--json", "--batch", "3")[1])["cache"]["batch"] == 3
    assert json.loads(run("stats", str(write(tmp_path, net("tanh"), "b.json")), "--json")[1])["cache"]["batch"] == 64


def test_memory_labels_and_band_title_in_the_svg(tmp_path: Path) -> None:
    code, _, err = run("render", "-t", "three-layer-logistic", "--memory", "--batch", "64", "-f", "svg",
                       "-o", str(tmp_path))
    assert code == 0, err
    svg = (tmp_path / "three-layer-logistic.svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    cached = [n for n in root.iter(f"{SVG}g") if "kind-cached" in n.get("class", "")]
    texts = [" ".join("".join(t.itertext()).split()) for t in cached]
    assert any("(5, 64) 1.25 KiB" in t for t in texts)  # Z[1] and A[1]: 5 × 64 × 4 bytes
    assert any("(4, 64) 1 KiB" in t for t in texts)  # X: 4 × 64 × 4
    bands = "".join(root.find(f"{SVG}g[@id='bands']").itertext())  # type: ignore[union-attr]
    total = json.loads(run("stats", "-t", "three-layer-logistic", "--json")[1])["cache"]["bytes"]
    assert memory.human(total) in bands and "CACHE" in bands


def test_memory_in_the_spec_and_the_dls_l_layer_network(tmp_path: Path) -> None:
    dls = {"input": 12288, "layers": [{"size": 20, "activation": "relu"}, {"size": 7, "activation": "relu"},
                                      {"size": 5, "activation": "relu"}, {"size": 1, "activation": "sigmoid"}],
           "loss": "bce", "diagram": {"memory": True}}
    code, out, err = run("stats", str(write(tmp_path, dls)), "--json")
    assert code == 0, err
    cache = json.loads(out)["cache"]
    # X and every Z, A of the relu layers; W2 … W4; A4 and Y — at batch 64, float32
    hand = (12288 * 64 + 2 * (20 + 7 + 5) * 64 + 7 * 20 + 5 * 7 + 1 * 5 + 64 + 64) * 4
    assert cache["bytes"] == hand
    code, _, err = run("render", str(write(tmp_path, dls)), "-f", "svg", "-o", str(tmp_path / "o"))
    assert code == 0, err
    assert "3 MiB" in (tmp_path / "o" / "net.svg").read_text(encoding="utf-8")  # X: 12288 × 64 × 4


@pytest.mark.parametrize("init", ["normal", "xavier", "he"])
def test_init_draws_weights_with_the_documented_spread(tmp_path: Path, init: str) -> None:
    spec: dict[str, Any] = {"input": 400, "layers": [{"size": 300, "activation": "relu"},
                                                     {"size": 1, "activation": "sigmoid"}],
                            "loss": "bce", "values": {"init": init, "batch": 1}}
    p = run_pass(as_network(load_spec(write(tmp_path, spec))))
    w, b = p.layers[0].W, p.layers[0].b
    expected = {"normal": 0.01, "xavier": math.sqrt(1 / 400), "he": math.sqrt(2 / 400)}[init]
    assert w.std() == pytest.approx(expected, rel=0.02)  # 120,000 draws: the standard error is 0.2 %
    assert abs(w.mean()) < 4 * expected / math.sqrt(w.size)
    assert not b.any()  # biases not given are 0 with an init
    spec["values"]["scale"] = 2 * (0.01 if init == "normal" else 1)  # scale replaces S: twice the default
    scaled = run_pass(as_network(load_spec(write(tmp_path, spec)))).layers[0].W
    np.testing.assert_allclose(scaled, 2 * w)


def test_init_keeps_the_other_arrays_when_one_is_given(tmp_path: Path) -> None:
    spec = net("tanh", values={"init": "he", "seed": 3})
    base = run_pass(as_network(load_spec(write(tmp_path, spec))))
    spec["values"]["W2"] = [[1, 2, 3, 4, 5]]
    given = run_pass(as_network(load_spec(write(tmp_path, spec, "g.json"))))
    np.testing.assert_array_equal(base.X, given.X)
    np.testing.assert_array_equal(base.layers[0].W, given.layers[0].W)
    np.testing.assert_array_equal(given.layers[1].W, [[1, 2, 3, 4, 5]])


@pytest.mark.parametrize("init", ["normal", "xavier", "he"])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
def test_layer_norms_agree_with_an_independent_autodiff(tmp_path: Path, hidden: str, init: str) -> None:
    spec = {"input": 3, "layers": [{"size": 4, "activation": hidden}, {"size": 3, "activation": hidden},
                                   {"size": 1, "activation": "sigmoid"}],
            "loss": "bce", "values": {"init": init, "seed": 5, "batch": 3}}
    code, out, err = run("check", str(write(tmp_path, spec)), "--json")
    assert code == 0, err
    report = json.loads(out)
    p = run_pass(as_network(load_spec(write(tmp_path, spec))))
    ws = [layer.W.tolist() for layer in p.layers]
    bs = [layer.b.tolist() for layer in p.layers]
    _, dw, _, dz = network_gradients_with_z(p.X.tolist(), p.Y.tolist(), ws, bs, [hidden, hidden, "sigmoid"], "bce")
    m = 3
    assert [entry["layer"] for entry in report["layers"]] == [1, 2, 3]
    for entry, d_w, d_z in zip(report["layers"], dw, dz, strict=True):
        assert entry["dW_norm"] == pytest.approx(float(np.linalg.norm(d_w)), rel=1e-9, abs=1e-300)
        # the diagram's dZ is per example: m · ∂J/∂Z
        assert entry["dZ_norm"] == pytest.approx(m * float(np.linalg.norm(d_z)), rel=1e-9, abs=1e-300)


def test_check_table_shows_the_norms() -> None:
    code, out, _ = run("check", "-t", "vanishing-gradients")
    assert code == 0
    rows = re.findall(r"^ +(\d+) +(\S+) +(\S+)$", out, re.MULTILINE)
    assert [int(r[0]) for r in rows] == list(range(1, 11))
    norms = [float(r[1]) for r in rows]
    assert norms[0] < 1e-15 < 1e-6 < norms[-1]  # vanishing: many decades between layer 10 and layer 1


def flow_bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    strip = root.find(f".//{SVG}g[@id='gradient-flow']")
    assert strip is not None
    return [g for g in strip.iter(f"{SVG}g") if "flow-bar" in g.get("class", "")]


def bar_height(bar: ET.Element) -> float:
    rect = bar.find(f"{SVG}rect")
    return float(rect.get("height", "0")) if rect is not None else 0.0


def test_gradient_flow_strip_one_bar_per_layer_under_its_backward_op(tmp_path: Path) -> None:
    d = bpdiagram.template("vanishing-gradients")
    svg = d.render("svg").decode("utf-8")
    bars = flow_bars(svg)
    assert [int(b.get("data-layer", "0")) for b in bars] == list(range(1, 11))
    _, out, _ = run("check", "-t", "vanishing-gradients", "--json")
    norms = [entry["dW_norm"] for entry in json.loads(out)["layers"]]
    # check's number to six significant digits, for hover (more would depend on the machine's BLAS kernel)
    assert [float(b.get("data-norm", "nan")) for b in bars] == [float(f"{n:.6g}") for n in norms]
    assert all(f"= {n:.6g}" in "".join(b.itertext()) for b, n in zip(bars, norms, strict=True))
    # log scale: heights in the order of the norms, and equal decades give equal steps
    heights = [bar_height(b) for b in bars]
    order = sorted(range(10), key=lambda i: norms[i])
    assert [heights[i] for i in order] == sorted(heights)
    h = {i: heights[i] for i in (0, 9)}
    per_decade = (h[9] - h[0]) / math.log10(norms[9] / norms[0])
    middle = h[0] + per_decade * math.log10(norms[4] / norms[0])
    assert heights[4] == pytest.approx(middle, abs=0.05)
    # each bar stands under the node computing its dW[l]
    scene = d.scene
    assert scene.flow is not None
    for bar in scene.flow.bars:
        node = next(n for n in scene.nodes if n.id == f"dW{bar.layer}")
        assert bar.x == pytest.approx(node.center[0], abs=0.01)
        assert scene.flow.y > max(b.y + b.h for b in scene.bands)  # under the backward band
    assert scene.legend_box[1] > scene.flow.y + scene.flow.h  # the legend made room


def test_in_tiers_the_bars_stand_in_a_row_of_their_own_each_named() -> None:
    d = bpdiagram.template("vanishing-gradients").with_options(wrap=3)  # four tiers, as the README draws it
    scene = d.scene
    assert scene.flow is not None and len({n.tier for n in scene.nodes}) == 4
    xs = [bar.x for bar in scene.flow.bars]
    assert xs == sorted(xs) and min(b - a for a, b in itertools.pairwise(xs)) > scene.flow.bar_width
    assert [bar.caption.lines[0].runs[0].text for bar in scene.flow.bars if bar.caption] == \
        [f"layer {layer}" for layer in range(1, 11)]
    assert scene.flow.y > max(b.y + b.h for b in scene.bands)  # under the last tier
    strip = ET.fromstring(d.render("svg")).find(f".//{SVG}g[@id='gradient-flow']")
    assert strip is not None and "layer 10" in "".join(strip.itertext())


def test_the_scale_is_the_same_in_every_picture() -> None:
    """6 px a decade in every strip: two strips side by side compare by eye."""
    normal = bpdiagram.template("vanishing-gradients").with_options(wrap=3).scene.flow
    docs = Path(__file__).resolve().parent.parent / "docs" / "examples"
    xavier = bpdiagram.load(docs / "vanishing-gradients-xavier.yaml").scene.flow
    assert normal is not None and xavier is not None
    for strip in (normal, xavier):
        bars = [b for b in strip.bars if not b.broken]
        first, last = bars[0], bars[-1]
        assert (last.h - first.h) == pytest.approx(overlays.DECADE * math.log10(last.value / first.value), abs=0.02)


def test_a_zero_norm_gets_a_mark_not_a_bar(tmp_path: Path) -> None:
    # W[2] = 0: dA[1] = W[2]ᵀ dZ[2] = 0, so dZ[1] = 0 and dW[1] = 0, while dW[2] = (1/m) dZ[2] A[1]ᵀ is not
    spec = {"input": 2, "layers": [{"size": 2, "activation": "tanh"}, {"size": 1, "activation": "sigmoid"}],
            "loss": "bce", "diagram": {"gradient_flow": True},
            "values": {"X": [[1.0, 2.0], [0.5, 1.5]], "W1": [[1.0, -1.0], [-2.0, 0.5]], "W2": [[0.0, 0.0]],
                       "Y": [[1, 0]]}}
    code, _, err = run("render", str(write(tmp_path, spec)), "-f", "svg", "-o", str(tmp_path))
    assert code == 0, err
    bars = flow_bars((tmp_path / "net.svg").read_text(encoding="utf-8"))
    assert [b.get("class") for b in bars] == ["flow-bar flow-broken", "flow-bar"]
    assert bars[0].find(f"{SVG}rect") is None and bars[0].find(f"{SVG}path") is not None
    assert "".join(bars[0].itertext()).strip().endswith("0")


def test_strip_only_from_the_backward_slide_on(tmp_path: Path) -> None:
    d = bpdiagram.template("vanishing-gradients")
    assert b"gradient-flow" not in d.render("svg", step=2)
    assert b"gradient-flow" in d.render("svg", step=3)
    assert d.render("png")[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "needle"), [
    (["render", "-t", "expression-add-mul", "--memory"], "--memory: applies to networks"),
    (["render", "-t", "expression-add-mul", "--gradient-flow"], "--gradient-flow: applies to networks"),
    (["render", "-t", "three-layer-elementwise", "--memory"], "vectorized view"),
    (["render", "-t", "two-layer-binary", "--memory", "--batch", "0"], "--batch: must be a number of examples"),
    (["render", "-t", "two-layer-binary", "--dtype", "int8"], "--dtype"),
])
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    code, _, err = run(*args, "-o", str(tmp_path))
    assert code == 2 and needle in err and err.count("\n") == 1 and err.startswith("error:")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("values", "needle"), [
    ({"init": "glorot"}, "values.init: 'glorot' is not valid; valid choices: normal, xavier, he"),
    ({"init": "Xavier"}, "did you mean 'xavier'"),
    ({"scale": 2}, "values.scale: scales the weights drawn by init; give init too"),
    ({"init": "he", "scale": 0}, "values.scale: is 0; the scale must be a positive number"),
    ({"init": "he", "scale": "big"}, "values.scale: must be a positive number, not a string"),
    ({"init": "he", "scale": 10**400}, "values.scale: is too large"),
])
def test_bad_init_is_one_line(tmp_path: Path, values: dict[str, Any], needle: str) -> None:
    path = tmp_path / "net.yaml"
    spec = net("tanh", values=values)
    import yaml

    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    code, _, err = run("render", str(path), "-o", str(tmp_path / "o"))
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_show_values_false_keeps_numbers_off_the_nodes() -> None:
    d = bpdiagram.template("vanishing-gradients")
    assert d.values is False and d.gradient_flow is True
    assert bpdiagram.template("vanishing-gradients", values=True).values is True


def test_doctests_of_the_helpers() -> None:
    for module in (memory, overlays):
        failed, tried = doctest.testmod(module)
        assert tried and not failed


COURSE_CACHES: dict[str, dict[str, tuple[int | str, int | str]]] = {
    # inverted dropout on a relu layer: Z[1] for g′ (the kept A[1] is masked and scaled), A[1] for dW[2],
    # the mask D[1] to reapply, then W[2], A[2], Y as in any network
    "dropout": {"X": (3, "m"), "Z1": (4, "m"), "A1": (4, "m"), "D1": (4, "m"), "W2": (1, 4), "A2": (1, "m"),
                "Y": (1, "m")},
    # batch norm: Z̃ for relu′, Ẑ and σ² for the three-term dZ, γ for dẐ = γ ⊙ dZ̃ (μ is not needed)
    "batchnorm": {"X": (3, "m"), "Zbn1": (4, "m"), "Znorm1": (4, "m"), "A1": (4, "m"), "var1": (4, 1),
                  "gamma1": (4, 1), "W2": (1, 4), "A2": (1, "m"), "Y": (1, "m")},
    # the residual layer's relu′ is read from its output A[3], so Z[3] is not kept
    "residual-block": {"X": (2, "m"), "Z1": (4, "m"), "A1": (4, "m"), "W2": (4, 4), "Z2": (4, "m"),
                       "A2": (4, "m"), "W3": (4, 4), "A3": (4, "m"), "W4": (1, 4), "A4": (1, "m"), "Y": (1, "m")},
    # L2: dW[1] += (λ/m) W[1] keeps W[1] too
    "l2-regularized": {"X": (2, "m"), "W1": (4, 2), "A1": (4, "m"), "W2": (1, 4), "A2": (1, "m"), "Y": (1, "m")},
}


@pytest.mark.parametrize("template", list(COURSE_CACHES))
def test_cache_bytes_by_hand_for_dropout_batch_norm_residual_and_l2(template: str) -> None:
    for batch, dtype, size in ((10, "float32", 4), (64, "float16", 2)):
        code, out, err = run("stats", "-t", template, "--json", "--batch", str(batch), "--dtype", dtype)
        assert code == 0, err
        cache = json.loads(out)["cache"]
        expected = {name: math.prod(batch if d == "m" else int(d) for d in dims) * size
                    for name, dims in COURSE_CACHES[template].items()}
        assert {v["name"]: v["bytes"] for v in cache["values"]} == expected
        assert cache["bytes"] == sum(expected.values())
