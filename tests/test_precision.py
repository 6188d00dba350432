"""Mixed precision: ``check --json``'s shares against an independent autodiff judged with numpy's own constants.

The oracle: ``tests/autodiff.py`` (scalar reverse mode, nothing from bpdiagram) gives dJ/dW, dJ/db and
dJ/dZ of random networks nobody tuned; the float16 range comes from ``np.finfo(np.float16)``, bfloat16's
from its bit patterns (float32's top 16 bits). Each entry is judged as the range is defined:
underflow 0 < |S·x| < smallest subnormal, overflow |S·x| > largest finite. Then, for float16, numpy's
own cast says what really happens to the entries counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from tests.autodiff import network_gradients_with_z

FLOAT16 = np.finfo(np.float16)
BFLOAT16_TINY = float(np.array([0x00010000], dtype=np.uint32).view(np.float32)[0])
"""bfloat16 is float32's top half: its smallest subnormal has only the mantissa's lowest kept bit set."""
BFLOAT16_MAX = float(np.array([0x7F7F0000], dtype=np.uint32).view(np.float32)[0])
RANGES = {"float16": (float(FLOAT16.smallest_subnormal), float(FLOAT16.max)), "bfloat16": (BFLOAT16_TINY, BFLOAT16_MAX)}
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
    "leaky_relu": lambda v: np.where(v > 0, v, 0.01 * v), "linear": lambda v: v}
"""The activations in numpy, only to see whether a drawn network saturates (never to compute a gradient)."""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def random_network(seed: int) -> dict[str, Any]:
    """A network with every array written out: depth, widths, activations, loss and the weights' size all drawn.

    The weights' scale is log-uniform over 10^-2 … 10^1 (10^0 with bce) and an mse target may be large, so gradients
    land anywhere from far below float16's subnormals to far above its largest value.
    """
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    sizes = [int(rng.integers(1, 5)) for _ in range(depth + 1)]
    m = int(rng.integers(1, 5))
    hidden = [str(rng.choice(HIDDEN)) for _ in range(depth - 1)]
    loss = str(rng.choice(["bce", "mse", "sse"]))
    out = "sigmoid" if loss == "bce" else str(rng.choice(["linear", "sigmoid", "tanh"]))
    scale = 10.0 ** rng.uniform(-2, 0 if loss == "bce" else 1)  # a sigmoid saturated to 1.0 has no log(1 − A)
    x = rng.normal(size=(sizes[0], m))
    ws = [rng.normal(size=(sizes[k], sizes[k - 1])) for k in range(1, depth + 1)]
    bs = [rng.normal(size=(sizes[k], 1)) * 0.1 for k in range(1, depth + 1)]
    while _saturates(x, [w * scale for w in ws], [b * scale for b in bs], [*hidden, out]):
        scale /= 2
    ws, bs = [w * scale for w in ws], [b * scale for b in bs]
    if loss == "bce":
        y = rng.integers(0, 2, size=(sizes[-1], m)).astype(float)
    else:
        y = rng.normal(size=(sizes[-1], m)) * 10.0 ** rng.uniform(0, 4)
    values: dict[str, Any] = {"X": x.tolist(), "Y": y.tolist()}
    for k in range(depth):
        values[f"W{k + 1}"], values[f"b{k + 1}"] = ws[k].tolist(), bs[k].tolist()
    return {"input": sizes[0], "loss": loss, "values": values,
            "layers": [{"size": n, "activation": a} for n, a in zip(sizes[1:], [*hidden, out], strict=True)],
            "diagram": {"simplify": "false"}}


def _saturates(x: np.ndarray, ws: list[np.ndarray], bs: list[np.ndarray], activations: list[str]) -> bool:
    """Whether a sigmoid or tanh is driven past |z| = 12, where float64 computes σ′ = A(1 − A) and
    1 − A² with no correct digit left (A rounds towards 1) while the autodiff's chain through exp keeps
    them: the two would then disagree on rounding, not on the rule."""
    a = x
    for w, b, act in zip(ws, bs, activations, strict=True):
        z = w @ a + b
        if act in ("sigmoid", "tanh") and np.max(np.abs(z)) > 12:
            return True
        a = FORWARD[act](z)
    return False


def oracle(spec: dict[str, Any]) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """dJ/dW[l], dJ/db[l] and the drawn dZ[l] (per example: m·dJ/dZ for a mean loss, dJ/dZ for sse)."""
    v, n = spec["values"], len(spec["layers"])
    _, dw, db, dz = network_gradients_with_z(v["X"], v["Y"], [v[f"W{k}"] for k in range(1, n + 1)],
                                             [v[f"b{k}"] for k in range(1, n + 1)],
                                             [layer["activation"] for layer in spec["layers"]], spec["loss"])
    m = len(v["X"][0])
    per_example = 1.0 if spec["loss"] == "sse" else float(m)
    return [np.array(g) for g in dw], [np.array(g) for g in db], [np.array(g) * per_example for g in dz]


def shares(x: np.ndarray, s: float, dtype: str) -> tuple[float, float]:
    tiny, largest = RANGES[dtype]
    y = np.abs(s * x)
    return float(np.mean((y > 0) & (y < tiny))), float(np.mean(y > largest))


def dynamic(dw: list[np.ndarray], db: list[np.ndarray], dtype: str) -> float:
    """The largest 2^k, k = 0 … 24, with no scaled dW or db entry above the largest finite value (1 if none)."""
    largest = RANGES[dtype][1]
    fits = [k for k in range(25) if all(np.all(np.abs(2.0 ** k * g) <= largest) for g in dw + db)]
    return 2.0 ** max(fits) if fits else 1.0


def report(tmp_path: Path, spec: dict[str, Any], dtype: str, scale: str) -> dict[str, Any]:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    code, stdout, stderr = run("check", str(path), "--json", "--precision", dtype, "--loss-scale", scale)
    assert code == 0, stderr
    precision: dict[str, Any] = json.loads(stdout)["precision"]
    return precision


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("seed", range(12))
def test_shares_equal_an_independent_autodiff_to_the_entry(tmp_path: Path, seed: int, dtype: str) -> None:
    spec = random_network(seed)
    dw, db, dz = oracle(spec)
    for asked in ("1", "1024", "dynamic"):
        got = report(tmp_path, spec, dtype, asked)
        s = dynamic(dw, db, dtype) if asked == "dynamic" else float(asked)
        assert got["dtype"] == dtype
        assert got["loss_scale"] == s
        expected = [{"layer": k, "dW_underflow": shares(dw[k - 1], s, dtype)[0],
                     "dW_overflow": shares(dw[k - 1], s, dtype)[1], "dZ_underflow": shares(dz[k - 1], s, dtype)[0]}
                    for k in range(1, len(dw) + 1)]
        assert got["layers"] == expected, (seed, asked)


def test_the_random_networks_reach_both_ends_of_float16() -> None:
    """The oracle test above means something only if some entries underflow and some overflow."""
    under = over = 0
    for seed in range(12):
        dw, _, dz = oracle(random_network(seed))
        for g in dw + dz:
            under += shares(g, 1.0, "float16")[0] > 0
            over += shares(g, 1024.0, "float16")[1] > 0
    assert under > 0 and over > 0


@pytest.mark.parametrize("seed", range(12))
def test_what_is_counted_is_what_float16_really_stores(tmp_path: Path, seed: int) -> None:
    """numpy's cast: an underflow entry becomes 0 (or, within a factor 2 of the subnormal, rounds up to it:
    its value is lost either way); an overflow entry becomes inf (or, within half an ulp, rounds down to
    65504); nothing else becomes 0 or inf."""
    spec = random_network(seed)
    dw, _, dz = oracle(spec)
    got = report(tmp_path, spec, "float16", "1024")
    tiny = float(FLOAT16.smallest_subnormal)
    for k, layer in enumerate(got["layers"], start=1):
        for name, g in (("dW", dw[k - 1]), ("dZ", dz[k - 1])):
            scaled = 1024.0 * g
            with np.errstate(over="ignore"):  # the overflow is what is tested
                stored = scaled.astype(np.float16).astype(np.float64)
            under = (np.abs(scaled) > 0) & (np.abs(scaled) < tiny)
            assert np.all((stored[under] == 0) | (np.abs(stored[under]) == tiny))
            assert np.all(under[(stored == 0) & (scaled != 0)])  # every entry flushed to zero was counted
            assert layer[f"{name}_underflow"] == pytest.approx(float(np.mean(under)))
            if name == "dW":
                over = np.abs(scaled) > float(FLOAT16.max)
                assert np.all(np.isinf(stored[over]) | (np.abs(stored[over]) == float(FLOAT16.max)))
                assert np.all(over[np.isinf(stored)])  # every entry that became inf was counted
                assert layer["dW_overflow"] == float(np.mean(over))


def test_the_template_is_saved_by_scaling(tmp_path: Path) -> None:
    """loss-scaling: unscaled, most of dW[1] flushes to zero; at S = 1024 under 1 %; the dynamic scale loses none."""
    shares_at = {}
    for scale in ("1", "1024", "dynamic"):
        code, stdout, stderr = run("check", "-t", "loss-scaling", "--json", "--loss-scale", scale)
        assert code == 0, stderr
        shares_at[scale] = json.loads(stdout)["precision"]
    assert shares_at["1"]["layers"][0]["dW_underflow"] > 0.5
    assert 0 < shares_at["1024"]["layers"][0]["dW_underflow"] < 0.01
    assert shares_at["dynamic"]["loss_scale"] == 2.0 ** 20
    assert all(layer["dW_underflow"] == layer["dW_overflow"] == 0 for layer in shares_at["dynamic"]["layers"])


@pytest.mark.parametrize(("args", "message"), [
    (["check", "-t", "two-layer-binary", "--precision", "float16"], "--precision: needs numbers: add a values:"),
    (["check", "-t", "loss-scaling", "--loss-scale", "0"], "--loss-scale: must be a positive number or dynamic"),
    (["render", "-t", "two-layer-binary", "--loss-scale", "8", "-o", "OUT"], "--loss-scale: needs --precision"),
    (["check", "-t", "expression-add-mul", "--precision", "float16"], "applies to networks"),
])
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, stderr = run(*[str(tmp_path / "out") if a == "OUT" else a for a in args])
    assert code == 2
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and message in stderr, stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("diagram", "message"), [
    ({"precision": "float8"}, "1:"),
    ({"precision": "float16", "loss_scale": "big"}, "must be a positive number or dynamic"),
    ({"loss_scale": 4}, "needs precision"),
])
def test_bad_spec_keys_are_one_line(tmp_path: Path, diagram: dict[str, Any], message: str) -> None:
    spec = random_network(0)
    spec["diagram"] = diagram
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    code, _, stderr = run("check", str(path))
    assert code == 2 and stderr.startswith(f"error: {path}:") and stderr.count("\n") == 1 and message in stderr, stderr


def test_a_spec_without_values_is_refused_where_it_says_precision(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("input: 2\nlayers:\n  - {size: 1, activation: sigmoid}\nloss: bce\n"
                    "diagram: {precision: float16}\n", encoding="utf-8")
    code, _, stderr = run("check", str(path))
    assert code == 2 and stderr.startswith(f"error: {path}:5:") and "needs numbers" in stderr, stderr


def test_every_format_carries_the_judgement(tmp_path: Path) -> None:
    """The loss × S, the badges and the unscaling updates in every format; the range lines in SVG and draw.io."""
    code, _, stderr = run("render", "-t", "loss-scaling", "--loss-scale", "1", "-o", str(tmp_path),
                          "-f", "svg,html,graphml,drawio,dot", "--wrap", "4")
    assert code == 0, stderr
    for ext in ("svg", "html", "graphml", "drawio", "dot"):
        text = (tmp_path / f"loss-scaling.{ext}").read_text(encoding="utf-8")
        assert "float16 loss scaling" in text and "float32 master" in text and "81% → 0" in text, ext
    svg = (tmp_path / "loss-scaling.svg").read_text(encoding="utf-8")
    assert 'class="precision precision-underflow"' in svg and 'class="precision precision-overflow"' in svg
    assert "0.8125 flushed to zero" in svg  # the exact share in the tooltip
    assert 'kind="precision-underflow"' in (tmp_path / "loss-scaling.drawio").read_text(encoding="utf-8")
    code, _, _ = run("render", "-t", "loss-scaling", "--loss-scale", "dynamic", "-o", str(tmp_path / "d"), "-f", "svg")
    scaled = (tmp_path / "d" / "loss-scaling.svg").read_text(encoding="utf-8")
    assert code == 0 and "dW 81%" not in scaled and "2²⁰ (dynamic)" in scaled
