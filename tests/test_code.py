"""``bpdiagram code``: the generated module, imported and run, against independent oracles.

Every generated module is imported and run; J (or f) and every gradient are
compared with ``tests/autodiff.py`` (scalar reverse mode, nothing from
bpdiagram) and with central finite differences of the module's own forward
pass, to 1e-6. The catalogue's ``Code`` bodies are checked against the
entries' numpy rules, the listing's node links against the diagram's nodes,
and every module against ruff with the project's settings.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.model.build import build_graph
from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    DROPOUT,
    FUSED_OPS,
    GATE_OPS,
    L2,
    LINEAR,
    LOSS_OPS,
    RESIDUAL,
    Code,
)
from bpdiagram.model.code import Listing, generate
from bpdiagram.model.expression_values import evaluate
from bpdiagram.model.numeric_pass import draw_arrays
from bpdiagram.options import ACTIVATIONS
from bpdiagram.spec import ExpressionSpec, load_spec
from bpdiagram.spec.network import NetworkSpec
from bpdiagram.template_files import template_path
from tests.autodiff import Value, course_network_gradients, network_gradients
from tests.conftest import COURSE_TEMPLATES, DENSE_TEMPLATES, ROOT
from tests.conftest import TEMPLATES as TEMPLATES
from tests.test_expression import to_text, to_value

TOL = 1e-6
_counter = itertools.count()


def close(a: Any, b: Any) -> bool:
    """Agreement to 1e-6, relative to the size of the values (at least 1)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= TOL * np.maximum(1.0, np.abs(b))))


def import_listing(listing: Listing, folder: Path) -> ModuleType:
    path = folder / f"generated_{next(_counter)}.py"
    path.write_text(listing.text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def network(layers: list[tuple[int, str]], loss: str, *, inputs: int = 2, diagram: dict[str, Any] | None = None,
            values: dict[str, Any] | None = None) -> NetworkSpec:
    doc: dict[str, Any] = {"input": inputs, "layers": [{"size": n, "activation": a} for n, a in layers],
                           "loss": loss, "diagram": diagram or {}}
    if values is not None:
        doc["values"] = values
    spec = load_spec(doc)
    assert isinstance(spec, NetworkSpec)
    return spec


# -- networks ------------------------------------------------------------------------------


def _check_example(spec: NetworkSpec, params: dict[str, Any], arrays: Any) -> None:
    """The module's parameters are the diagram's, to the bit: W, b (none on a batch-norm layer), gamma, beta, D."""
    layers = range(1, len(spec.layers) + 1)
    own = {f"W{layer}" for layer in layers}
    for layer, layer_spec in zip(layers, spec.layers, strict=True):
        assert np.array_equal(params[f"W{layer}"], arrays.W[layer - 1])
        extras = (["gamma", "beta"] if layer_spec.batchnorm else []) + (["D"] if layer_spec.dropout else [])
        for name in extras:
            drawn = arrays.extra(name, layer)
            assert drawn is not None and np.array_equal(params[f"{name}{layer}"], drawn), (name, layer)
        if not layer_spec.batchnorm:
            bias = arrays.b[layer - 1]
            assert bias is not None and np.array_equal(params[f"b{layer}"], bias)
        own |= {f"{name}{layer}" for name in extras + ([] if layer_spec.batchnorm else ["b"])}
    assert set(params) == own


def check_network(spec: NetworkSpec, folder: Path, *, finite_differences: bool = True) -> None:
    """Import the module of ``spec``, run it, and hold it against autodiff and finite differences."""
    module = import_listing(generate(spec), folder)
    params, x, y = module.example()
    arrays = draw_arrays(spec, spec.numbers())  # the module's numbers are the diagram's numbers, to the bit
    assert np.array_equal(x, arrays.X) and np.array_equal(y, arrays.Y)
    layers = range(1, len(spec.layers) + 1)
    _check_example(spec, params, arrays)
    j, cache = module.forward(params, x, y)
    grads = module.backward(params, cache)
    k = spec.diagram.backprop_to
    assert list(grads) == [f"{p}{layer}" for layer in layers if layer >= k
                           for p in (("dW", "dgamma", "dbeta") if spec.layers[layer - 1].batchnorm else ("dW", "db"))]
    if spec.extended:
        oracle = []
        for layer, layer_spec in zip(layers, spec.layers, strict=True):
            entry = {"W": params[f"W{layer}"].tolist(), "activation": layer_spec.activation,
                     "residual": layer_spec.residual}
            names = ("gamma", "beta") if layer_spec.batchnorm else ("b",)
            entry |= {name: params[f"{name}{layer}"].tolist() for name in names}
            if layer_spec.dropout is not None:
                entry |= {"D": params[f"D{layer}"].tolist(), "keep": layer_spec.dropout}
            oracle.append(entry)
        ref_j, ref = course_network_gradients(x.tolist(), y.tolist(), oracle, spec.loss, l2=spec.l2)
        assert close(j, ref_j), (j, ref_j)
        assert {name for name in ref if int(re.sub(r"\D", "", name)) >= k} == {name[1:] for name in grads}
        for name, grad in grads.items():
            assert close(grad, ref[name[1:]]), (name, grad, ref[name[1:]])
    else:
        ref_j, ref_dw, ref_db = network_gradients(
            x.tolist(), y.tolist(), [params[f"W{layer}"].tolist() for layer in layers],
            [params[f"b{layer}"].tolist() for layer in layers], [layer.activation for layer in spec.layers],
            spec.loss)
        assert close(j, ref_j), (j, ref_j)
        for layer in layers:
            if layer >= k:
                assert close(grads[f"dW{layer}"], ref_dw[layer - 1]), (layer, grads[f"dW{layer}"], ref_dw[layer - 1])
                assert close(grads[f"db{layer}"], ref_db[layer - 1]), (layer, grads[f"db{layer}"], ref_db[layer - 1])
    if not finite_differences:
        return
    h = 1e-6
    for name in grads:
        param = params[name[1:]]
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            hi = module.forward(params, x, y)[0]
            param[index] = saved - h
            lo = module.forward(params, x, y)[0]
            param[index] = saved
            numeric[index] = (hi - lo) / (2 * h)
        assert close(grads[name], numeric), (name, grads[name], numeric)


@pytest.mark.parametrize("name", DENSE_TEMPLATES)  # conv templates: test_conv
def test_every_network_template_matches_autodiff_and_finite_differences(name: str, tmp_path: Path) -> None:
    spec = load_spec(template_path(name))
    assert isinstance(spec, NetworkSpec)
    check_network(spec, tmp_path)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_partial_backprop_to_stops_where_the_diagram_stops(k: int, tmp_path: Path) -> None:
    spec = load_spec({**_doc("three-layer-logistic"), "diagram": {"backprop_to": k}})
    assert isinstance(spec, NetworkSpec)
    listing = generate(spec)
    assert f"dZ{k} = " in listing.text and f"dZ{k - 1} = " not in listing.text
    assert f"dA{k - 1} = " not in listing.text  # the diagram draws no gradient below layer k
    check_network(spec, tmp_path)


def _doc(name: str) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(template_path(name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("out", ACTIVATIONS)
@pytest.mark.parametrize("simplify", ["auto", "false"])
def test_every_activation_and_loss_in_both_chains(out: str, simplify: str, tmp_path: Path) -> None:
    losses = {"sigmoid": ["bce", "ce", "mse", "sse"], "softmax": ["ce"]}.get(out, ["mse", "sse"])
    hidden = [a for a in ACTIVATIONS if a != "softmax"]
    for loss in losses:
        spec = network([(3, hidden[len(loss) % len(hidden)]), (2, out)], loss, inputs=3,
                       diagram={"simplify": simplify})
        listing = generate(spec)
        fused = simplify == "auto" and (out, loss) in FUSED_OPS
        assert (f"def {out}_{loss}_backward(A, Y):" in listing.text) == fused
        assert (f"def {loss}_backward(A, Y):" in listing.text) == (not fused)
        check_network(spec, tmp_path)
    for act in hidden:  # every activation's backward, in a hidden layer
        check_network(network([(3, act), (1, "sigmoid")], "bce"), tmp_path)


def test_random_networks_match_autodiff(tmp_path: Path) -> None:
    rng = random.Random(19)
    hidden = [a for a in ACTIVATIONS if a != "softmax"]
    pairs = [("sigmoid", "bce"), ("sigmoid", "ce"), ("softmax", "ce")] + \
        [(a, loss) for a in hidden for loss in ("mse", "sse")]
    for _ in range(40):
        depth = rng.randint(1, 3)
        out, loss = rng.choice(pairs)
        layers: list[tuple[int, str]] = [(rng.randint(1, 4), rng.choice(hidden)) for _ in range(depth - 1)]
        layers.append((rng.randint(2, 4) if out == "softmax" else rng.randint(1, 3), out))
        diagram = {"simplify": rng.choice(["auto", "true", "false"]), "backprop_to": rng.randint(1, depth),
                   "notation": rng.choice(["dls", "cs231n"])}
        spec = network(layers, loss, inputs=rng.randint(1, 4), diagram=diagram,
                       values={"seed": rng.randint(0, 10**6), "batch": rng.randint(1, 5)})
        check_network(spec, tmp_path, finite_differences=rng.random() < 0.3)


@pytest.mark.parametrize("name", COURSE_TEMPLATES)
@pytest.mark.parametrize("k", [1, 2])
def test_l2_dropout_batchnorm_and_residual_templates_match_the_course_autodiff(name: str, k: int,
                                                                              tmp_path: Path) -> None:
    spec = load_spec({**_doc(name), "diagram": {"backprop_to": k}})
    assert isinstance(spec, NetworkSpec) and spec.extended
    check_network(spec, tmp_path)


def _course_doc(rng: random.Random) -> dict[str, Any]:
    """A network mixing L2, dropout, batch norm and residuals at random (hidden layers of one width)."""
    width = rng.randint(1, 3)
    hidden = [a for a in ACTIVATIONS if a != "softmax"]
    layers: list[dict[str, Any]] = []
    for k in range(1, rng.randint(2, 4) + 1):
        layer: dict[str, Any] = {"size": width, "activation": rng.choice(hidden)}
        if rng.random() < 0.5:
            layer["dropout"] = rng.choice([0.5, 0.8, 1.0])
        if rng.random() < 0.5:
            layer["batchnorm"] = True
        if k > 1 and rng.random() < 0.5:
            layer["residual"] = rng.randint(1, k - 1)
        layers.append(layer)
    out, loss = rng.choice([("sigmoid", "bce"), ("softmax", "ce"), ("linear", "mse"), ("tanh", "sse")])
    size = width if rng.random() < 0.3 and out != "softmax" else rng.randint(2, 3)
    last: dict[str, Any] = {"size": size, "activation": out}
    if rng.random() < 0.3:
        last["batchnorm"] = True
    if size == width and rng.random() < 0.5:
        last["residual"] = rng.randint(1, len(layers))
    doc: dict[str, Any] = {"input": rng.randint(1, 3), "layers": [*layers, last], "loss": loss,
                           "diagram": {"simplify": rng.choice(["auto", "false"]),
                                       "backprop_to": rng.randint(1, len(layers) + 1),
                                       "notation": rng.choice(["dls", "cs231n"])},
                           "values": {"seed": rng.randint(0, 10**6), "batch": rng.randint(2, 5)}}
    if rng.random() < 0.6:
        doc["regularization"] = {"l2": rng.choice([0.0, 0.1, 0.7])}
    return doc


def test_random_networks_mixing_all_four_features_match_the_course_autodiff(tmp_path: Path) -> None:
    rng = random.Random(1117)
    seen = set()
    for _ in range(40):
        doc = _course_doc(rng)
        spec = load_spec(doc)
        assert isinstance(spec, NetworkSpec)
        if rng.random() < 0.3:  # masks, γ and β given in the spec rather than drawn
            arrays = draw_arrays(spec, spec.numbers())
            given: dict[str, Any] = {}
            for layer, layer_spec in enumerate(spec.layers, start=1):
                if layer_spec.dropout is not None:
                    mask = arrays.extra("D", layer)
                    assert mask is not None
                    given[f"D{layer}"] = (1 - mask).tolist()  # the other units dropped
                if layer_spec.batchnorm:
                    given[f"gamma{layer}"] = [[rng.uniform(0.5, 1.5)] for _ in range(layer_spec.size)]
                    given[f"beta{layer}"] = [[rng.uniform(-0.5, 0.5)] for _ in range(layer_spec.size)]
            spec = load_spec({**doc, "values": {**doc["values"], **given}})
            assert isinstance(spec, NetworkSpec)
        seen |= {key for layer in spec.layers for key, on in (("dropout", layer.dropout is not None),
                                                               ("batchnorm", layer.batchnorm),
                                                               ("residual", layer.residual is not None)) if on}
        seen |= {"l2"} if spec.l2 else set()
        check_network(spec, tmp_path, finite_differences=rng.random() < 0.5)
    assert seen == {"dropout", "batchnorm", "residual", "l2"}


def test_the_cache_holds_what_the_diagrams_cache_band_draws(tmp_path: Path) -> None:
    """For every course template and random mix: the cache dict's keys are the cache band's nodes, one each."""
    rng = random.Random(5)
    specs = [load_spec(template_path(name)) for name in COURSE_TEMPLATES] + [load_spec(_course_doc(rng))
                                                                            for _ in range(15)]
    for spec in specs:
        assert isinstance(spec, NetworkSpec)
        graph = build_graph(spec).to_networkx()
        band = {n for n, d in graph.nodes(data=True) if d["kind"] == "cached"}
        module = import_listing(generate(spec), tmp_path)
        params, x, y = module.example()
        _, cache = module.forward(params, x, y)
        linked = {node for node in generate(spec).statements() if node.startswith("cache.")}
        assert linked == band, (linked ^ band)
        assert len(cache) == len(band)


def test_given_values_are_written_exactly(tmp_path: Path) -> None:
    spec = load_spec(ROOT / "docs" / "examples" / "worked-example-values.yaml")
    assert isinstance(spec, NetworkSpec)
    text = generate(spec).text
    assert 'params["W1"] = np.array([\n        [0.5, -0.25],\n        [0.1, 0.4],\n    ])' in text
    check_network(spec, tmp_path)


def test_wide_given_arrays_wrap_within_the_line_width(tmp_path: Path) -> None:
    m = 40
    x = [[(-1) ** j * (j + 0.123456789) / 7 for j in range(m)]]
    spec = network([(1, "sigmoid")], "bce", inputs=1, values={"X": x, "Y": [[j % 2 for j in range(m)]]})
    listing = generate(spec)
    assert max(len(line) for line in listing.text.splitlines()) <= 120
    check_network(spec, tmp_path)


# -- expressions -----------------------------------------------------------------------------


def check_expression(spec: ExpressionSpec, folder: Path, reference: tuple[float, dict[str, float]]) -> None:
    module = import_listing(generate(spec), folder)
    assert spec.values == module.VALUES
    f, cache = module.forward(**spec.values)
    grads = module.backward(cache)
    ref_f, ref_grads = reference
    assert list(grads) == list(spec.variables)
    assert close(f, ref_f)
    for var in spec.variables:
        assert close(grads[var], ref_grads[var]), (spec.source, var, grads[var], ref_grads[var])
    h = 1e-6
    for var in spec.variables:
        hi = module.forward(**{**spec.values, var: spec.values[var] + h})[0]
        lo = module.forward(**{**spec.values, var: spec.values[var] - h})[0]
        assert abs(grads[var] - (hi - lo) / (2 * h)) <= 1e-5 * max(1.0, abs(grads[var])), (spec.source, var)


def _autodiff(t: Any, values: dict[str, float]) -> tuple[float, dict[str, float]]:
    env = {name: Value(v) for name, v in values.items()}
    out = to_value(t, env)
    out.backward()
    return out.data, {name: v.grad for name, v in env.items()}


def test_the_published_examples(tmp_path: Path) -> None:
    add_mul = load_spec(template_path("expression-add-mul"))
    assert isinstance(add_mul, ExpressionSpec)
    check_expression(add_mul, tmp_path, (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0}))
    neuron = load_spec(template_path("expression-sigmoid-neuron"))
    assert isinstance(neuron, ExpressionSpec)
    check_expression(neuron, tmp_path, (0.7310585786300049, {"w0": -0.19661193324148185, "x0": 0.3932238664829637,
                                                             "w1": -0.3932238664829637, "x1": -0.5898357997244456,
                                                             "w2": 0.19661193324148185}))


def test_random_expressions_match_autodiff(tmp_path: Path) -> None:
    rng = random.Random(19)
    checked = 0
    for _ in range(80):
        t = _random_tree(rng)
        if isinstance(t, str):
            t = ("*", t, t)  # a variable on its own has no gate
        text = to_text(t)
        used = sorted(_leaves(t))
        values = {v: rng.choice([-1, 1]) * rng.uniform(0.2, 1.8) for v in used}
        if len({round(v, 3) for v in values.values()}) < len(values):
            continue  # max/min at a tie have no derivative
        try:
            reference = _autodiff(t, values)
        except (ZeroDivisionError, OverflowError):
            continue
        if not math.isfinite(reference[0]) or abs(reference[0]) > 1e6:
            continue
        spec = load_spec({"expression": text, "values": values})
        assert isinstance(spec, ExpressionSpec)
        check_expression(spec, tmp_path, reference)
        checked += 1
    assert checked >= 40


def _leaves(t: Any) -> set[str]:
    return {t} if isinstance(t, str) else set().union(*(_leaves(x) for x in t[1:]))


def _random_tree(rng: random.Random, depth: int = 0) -> Any:
    """A random expression tree in ``tests.test_expression``'s form (its ``to_text`` and ``to_value`` read it)."""
    if depth > 3 or rng.randint(0, 3) == 0:
        return rng.choice("abc")
    if rng.random() < 0.5:
        return (rng.choice(["exp", "tanh", "sigmoid", "neg", "square"]), _random_tree(rng, depth + 1))
    return (rng.choice(["+", "-", "*", "/", "max", "min"]), _random_tree(rng, depth + 1), _random_tree(rng, depth + 1))


@pytest.mark.parametrize(("text", "oracle"), [
    ("x * 2 + 3 / x - x ** 3 + 0 * y", lambda x, y: x * 2.0 + 3.0 / x - x * x * x + 0.0 * y),
    ("log(x * x + 1) * relu(y) - exp(2) * y", lambda x, y: (x * x + 1.0).log() * y.relu() - math.exp(2) * y),
    ("max(x, y) / min(x, -y) + tanh(-x)", lambda x, y: _vmax(x, y) / _vmin(x, -y) + _tanh(-x)),
    ("x * x * x + sigmoid(y * x)", lambda x, y: x * x * x + 1.0 / (1.0 + (-(y * x)).exp())),
])
def test_constants_powers_and_every_gate(text: str, oracle: Any, tmp_path: Path) -> None:
    values = {"x": 0.7, "y": -1.3}
    spec = load_spec({"expression": text, "values": values})
    assert isinstance(spec, ExpressionSpec)
    env = {k: Value(v) for k, v in values.items()}
    out = oracle(env["x"], env["y"])
    out.backward()
    check_expression(spec, tmp_path, (out.data, {k: v.grad for k, v in env.items()}))


def _vmax(a: Value, b: Value) -> Value:
    return (a - b).relu() + b


def _vmin(a: Value, b: Value) -> Value:
    return a - (a - b).relu()


def _tanh(z: Value) -> Value:
    e = (2.0 * z).exp()
    return (e - 1.0) / (e + 1.0)


# -- the catalogue's Code is the catalogue's numpy ----------------------------------------------


def compile_body(code: str, args: tuple[str, ...]) -> Any:
    """A catalogue body as a function (as ``model.code`` writes it): its last line is returned."""
    lines = code.split("\n")
    body = "".join(f"    {line}\n" for line in lines[:-1]) + f"    return {lines[-1]}\n"
    source = f"def f({', '.join(args)}):\n" + body
    scope: dict[str, Any] = {"np": np, "math": math}
    exec(source, scope)  # our own catalogue's text, not user input
    return scope["f"]


def test_every_catalogue_body_computes_what_the_entrys_numpy_rule_computes() -> None:
    rng = np.random.default_rng(19)
    z = rng.standard_normal((3, 5))
    da = rng.standard_normal((3, 5))
    for name, act in ACTIVATION_OPS.items():
        assert isinstance(act.code, Code), name
        a = act.g(z)
        assert np.allclose(compile_body(act.code.forward, ("Z",))(z), a, rtol=1e-14, atol=1e-14), name
        backward = compile_body(", ".join(act.code.backward), ("dA", "Z", "A"))
        assert np.allclose(backward(da, z, a), act.backward(da, z, a), rtol=1e-14, atol=1e-14), name
    a = 1 / (1 + np.exp(-z))
    y = np.eye(3)[:, [0, 2, 1, 1, 0]]
    for loss_name, loss in LOSS_OPS.items():
        assert isinstance(loss.code, Code), loss_name
        assert math.isclose(compile_body(loss.code.forward, ("A", "Y"))(a, y), loss.J(a, y), rel_tol=1e-14), loss_name
        assert np.allclose(compile_body(loss.code.backward[0], ("A", "Y"))(a, y), loss.dA(a, y)), loss_name
        assert compile_body(loss.code.scale, ("m",))(5) == loss.scale(5), loss_name
    for pair, fused in FUSED_OPS.items():
        assert isinstance(fused.code, Code), pair
        assert np.allclose(compile_body(fused.code.backward[0], ("A", "Y"))(a, y), fused.dZ(a, y)), pair
    assert isinstance(LINEAR.code, Code)
    w, b, a_prev = rng.standard_normal((3, 4)), rng.standard_normal((3, 1)), rng.standard_normal((4, 5))
    assert np.allclose(compile_body(LINEAR.code.forward, ("W", "A_prev", "b"))(w, a_prev, b), LINEAR.z(w, a_prev, b))
    dw, db, da_prev = (compile_body(body, ("dZ", "A_prev", "W", "scale")) for body in LINEAR.code.backward)
    assert np.allclose(dw(da, a_prev, w, 0.2), LINEAR.dW(da, a_prev, 0.2))
    assert np.allclose(db(da, a_prev, w, 0.2), LINEAR.db(da, 0.2))
    assert np.allclose(da_prev(da, a_prev, w, 0.2), LINEAR.dA_prev(w, da))
    for gate_name, gate in GATE_OPS.items():
        assert isinstance(gate.code, Code), gate_name
        assert len(gate.code.backward) == len(gate.rules), gate_name
        for x, yy in ((0.7, -1.3), (-0.4, 0.9), (1.5, 2.5)):
            c = 3.0 if gate_name == "pow" else 0.0
            if gate.domain(x, yy, c) is not None:
                continue
            o = gate.f(x, yy, c)
            assert math.isclose(compile_body(gate.code.forward, ("a", "b", "c"))(x, yy, c), o,
                                rel_tol=1e-12), gate_name
            for body, local in zip(gate.code.backward, gate.local(x, yy, o, c), strict=True):
                got = compile_body(body, ("a", "b", "out", "c", "dout"))(x, yy, o, c, 1.5)
                assert math.isclose(got, 1.5 * local, rel_tol=1e-12, abs_tol=1e-15), (gate_name, body)


def test_the_course_entries_bodies_compute_what_their_numpy_rules_compute() -> None:
    """L2, dropout, batch norm, residual, and the activations' g′ from Z and dZ from A (INTERFACE §11)."""
    rng = np.random.default_rng(17)
    z, da, w = rng.standard_normal((3, 5)), rng.standard_normal((3, 5)), rng.standard_normal((3, 4))
    for name, act in ACTIVATION_OPS.items():
        if act.slope:
            assert act.slope_code is not None and act.g_prime is not None, name
            assert np.array_equal(compile_body(act.slope_code, ("Z",))(z), act.g_prime(z)), name
        if act.output_derivative is not None:
            assert act.output_code is not None and act.output_backward is not None, name
            a = act.g(z)
            assert np.array_equal(compile_body(act.output_code, ("dA", "A"))(da, a), act.output_backward(da, a)), name
    assert isinstance(L2.code, Code)
    ws = [w, z]
    assert math.isclose(compile_body(L2.code.forward, ("Ws", "lambd", "scale"))(ws, 0.7, 0.2), L2.J(ws, 0.7, 0.2),
                        rel_tol=1e-14)
    assert np.allclose(compile_body(L2.code.backward[0], ("W", "lambd", "scale"))(w, 0.7, 0.2), L2.dW(w, 0.7, 0.2))
    assert isinstance(DROPOUT.code, Code)
    mask = DROPOUT.draw(np.random.default_rng(3), (3, 5), 0.6)
    same = compile_body(DROPOUT.draw_code, ("rng", "shape", "keep"))(np.random.default_rng(3), (3, 5), 0.6)
    assert np.array_equal(same, mask)  # the same bits: example() draws the diagram's mask
    assert np.allclose(compile_body(DROPOUT.code.forward, ("G", "D", "keep"))(z, mask, 0.6),
                       DROPOUT.apply(z, mask, 0.6))
    assert np.allclose(compile_body(DROPOUT.code.backward[0], ("dA", "D", "keep"))(da, mask, 0.6),
                       DROPOUT.backward(da, mask, 0.6))
    assert isinstance(BATCHNORM.code, Code)
    gamma, beta = rng.uniform(0.5, 1.5, (3, 1)), rng.standard_normal((3, 1))
    mu, var, znorm, zbn = compile_body(BATCHNORM.code.forward, ("Z", "gamma", "beta"))(z, gamma, beta)
    ref_mu, ref_var, ref_norm = BATCHNORM.normalize(z)
    ref_bn = BATCHNORM.scale_shift(ref_norm, gamma, beta)
    for got, ref in ((mu, ref_mu), (var, ref_var), (znorm, ref_norm), (zbn, ref_bn)):
        assert np.allclose(got, ref, rtol=1e-14, atol=1e-14)
    assert np.allclose(compile_body(BATCHNORM.linear_code, ("W", "A_prev"))(w, z.T[:4]), w @ z.T[:4])
    expected = BATCHNORM.backward(da, ref_norm, ref_var, gamma, 0.2)
    for body, ref in zip(BATCHNORM.code.backward, expected, strict=True):
        # one expression over several lines (dZ's): written as model.code writes it, ``name = expression``
        got = compile_body(f"out = {body}\nout", ("dZbn", "Znorm", "var", "gamma", "scale"))(da, ref_norm, ref_var,
                                                                                              gamma, 0.2)
        assert np.allclose(got, ref, rtol=1e-13, atol=1e-14)
    assert isinstance(RESIDUAL.code, Code)
    assert np.array_equal(compile_body(RESIDUAL.code.forward, ("Z", "A_skip"))(z, da), RESIDUAL.add(z, da))
    assert np.array_equal(compile_body(RESIDUAL.code.backward[0], ("dZ",))(da), RESIDUAL.backward(da))


def test_a_catalogue_entry_without_code_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from bpdiagram.errors import BpdiagramError

    monkeypatch.setitem(ACTIVATION_OPS, "tanh", dataclasses.replace(ACTIVATION_OPS["tanh"], code=None))
    with pytest.raises(BpdiagramError, match="the catalogue entry 'tanh' has no code template"):
        generate(load_spec(template_path("two-layer-binary")))


# -- statements and nodes ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [t for t in TEMPLATES if t not in ("single-neuron", "three-layer-elementwise")])
@pytest.mark.parametrize("k", [None, 2])
def test_every_statement_names_a_node_of_the_diagram_and_every_node_has_one(name: str, k: int | None) -> None:
    spec = load_spec(template_path(name))
    if k is not None:
        if isinstance(spec, ExpressionSpec):
            return
        import dataclasses

        spec = dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, backprop_to=k))
    graph = build_graph(spec).to_networkx()
    listing = generate(spec)
    assert len(listing.nodes) == len(listing.text.splitlines())
    linked = listing.statements()
    assert set(linked) <= set(graph.nodes), set(linked) - set(graph.nodes)
    # every forward op, the loss, every cached value and every backward op is a statement
    must = {n for n, d in graph.nodes(data=True) if d["kind"] in ("op", "loss", "cached", "grad", "sum", "param")}
    if isinstance(spec, ExpressionSpec):  # a gate whose inputs are all constants passes nothing back
        ev = evaluate(spec)
        must -= {f"d.{g.id}" for g in ev.gates if all(w.node is None for w in g.inputs)}
    assert must <= set(linked), must - set(linked)
    lines = listing.text.splitlines()
    for node, rows in linked.items():
        code = [lines[i].strip() for i in rows if not lines[i].strip().startswith("#")]
        assert code, node  # a comment alone is not a statement


def test_the_comments_are_the_diagrams_formulas() -> None:
    text = generate(load_spec(template_path("two-layer-binary"))).text
    for comment, statement in [("# Z[1] = W[1]X + b[1]", "Z1 = affine_forward(W1, X, b1)"),
                               ("# A[1] = tanh(Z[1])", "A1 = tanh_forward(Z1)"),
                               ("# dZ[2] = A[2] − Y", 'dZ2 = sigmoid_bce_backward(cache["A2"], cache["Y"])'),
                               ("# dZ[1] = dA[1] ⊙ (1 − A[1]²)", 'dZ1 = tanh_backward(dA1, cache["A1"])'),
                               ("# dA[1] = W[2]ᵀ dZ[2]", 'dA1 = affine_backward_input(cache["W2"], dZ2)')]:
        assert f"    {comment}\n    {statement}\n" in text
    steps = ("Z1 = ", "A1 = ", "Z2 = ", "A2 = ", "J = ", "cache = {", "dZ2 = ", "dW2, db2", "dA1 = ", "dZ1 = ",
             "dW1, db1")
    order = [text.index("\n    " + s) for s in steps]
    assert order == sorted(order)  # forward, cache, backward: the diagram's bands


def test_names_follow_the_spec(tmp_path: Path) -> None:
    text = generate(load_spec(template_path("relu-mlp"))).text
    assert "def forward(params, x, y):" in text and "# Z2 = W2A1 + b2" in text  # CS231n notation in comments
    odd = network([(2, "tanh"), (1, "sigmoid")], "bce")
    odd_doc = {"input": {"name": "A1", "size": 2}, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce",
               "target": "class"}
    assert "def forward(params, X, Y):" in generate(load_spec(odd_doc)).text  # not Python names of their own
    assert "def forward(params, X, Y):" in generate(odd).text
    doc = {"expression": "f * cache + tanh_forward", "values": {"f": 1.0, "cache": 2.0, "tanh_forward": 0.5}}
    spec = load_spec(doc)
    assert isinstance(spec, ExpressionSpec)
    check_expression(spec, tmp_path, (2.5, {"f": 2.0, "cache": 1.0, "tanh_forward": 1.0}))


def test_a_title_with_quotes_and_backslashes_stays_a_docstring(tmp_path: Path) -> None:
    doc = {**_doc("two-layer-binary"), "title": 'A "quoted" \\ title """ with\u2028odd text ' + "long " * 40}
    module = import_listing(generate(load_spec(doc)), tmp_path)
    assert module.__doc__ is not None and module.__doc__.startswith('A "quoted" \\ title """')


# -- ruff, the command line, the script ----------------------------------------------------------


def test_every_generated_module_passes_ruff_with_the_projects_settings(tmp_path: Path) -> None:
    for name in TEMPLATES:
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(generate(load_spec(template_path(name))).text)
    rng = random.Random(7)
    for i in range(6):
        spec = network([(rng.randint(1, 4), rng.choice(["relu", "leaky_relu", "linear"])), (3, "softmax")], "ce",
                       diagram={"simplify": rng.choice(["auto", "false"]), "backprop_to": rng.randint(1, 2)},
                       values={"batch": 30})
        (tmp_path / f"random_{i}.py").write_text(generate(spec).text)
    (tmp_path / "ambiguous.py").write_text(generate(load_spec({"expression": "l * I + O",
                                                                "values": {"l": 1, "I": 2, "O": 3}})).text)
    long_a, long_b = "a" * 100, "b" * 60
    stress = {"expression": f"{long_a} * {long_b} + {long_a} / ({long_b} + 3) - {long_a} ** 2",
              "values": {long_a: 0.5, long_b: 1.5}, "title": "x" * 300}
    (tmp_path / "long_names.py").write_text(generate(load_spec(stress)).text)
    worked = ROOT / "docs" / "examples" / "worked-example-values.yaml"
    (tmp_path / "given.py").write_text(generate(load_spec(worked)).text)
    for i in range(12):  # L2, dropout, batch norm and residuals mixed
        (tmp_path / f"course_{i}.py").write_text(generate(load_spec(_course_doc(rng))).text)
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_prints_or_writes_the_module_and_the_script_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(cli, ["code", "-t", "two-layer-binary"])
    assert printed.exit_code == 0
    assert printed.output == generate(load_spec(template_path("two-layer-binary")),
                                      source="the template two-layer-binary").text
    target = tmp_path / "net.py"
    written = runner.invoke(cli, ["code", str(template_path("softmax-classifier")), "-o", str(target)])
    assert written.exit_code == 0 and written.output == f"{target}\n"
    run = subprocess.run([sys.executable, str(target)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    module = import_listing(generate(load_spec(template_path("softmax-classifier"))), tmp_path)
    params, x, y = module.example()
    j, _ = module.forward(params, x, y)
    assert run.stdout.startswith(f"J = {j:.10g}\ndW1 =\n")
    assert [line.split(" =")[0] for line in run.stdout.splitlines() if " =" in line] == \
        ["J", "dW1", "db1", "dW2", "db2"]
    expression = tmp_path / "f.py"
    assert runner.invoke(cli, ["code", "-t", "expression-add-mul", "-o", str(expression)]).exit_code == 0
    out = subprocess.run([sys.executable, str(expression)], capture_output=True, text=True, timeout=60).stdout
    assert out == "f = -12\ndx = -4\ndy = -4\ndz = 3\n"


@pytest.mark.parametrize(("args", "message"), [
    (["code"], "error: give either a SPEC file or -t NAME (exactly one)"),
    (["code", "-t", "nope"], "error: unknown template 'nope'"),
    (["code", "missing.yaml"], "error: missing.yaml"),
    (["code", "bad.yaml", "-o", "out.py"], "error: bad.yaml:2: layers[1].activation: 'foo' is not valid"),
    (["code", "-t", "relu-mlp", "-o", "no/such/out.py"], "error: no/such: no such folder"),
    (["code", "-t", "relu-mlp", "-o", "."], "error: .: is a folder"),
])
def test_errors_are_one_line_exit_2_and_leave_no_file(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("input: 2\nlayers: [{size: 3, activation: foo}]\nloss: bce\n")
    done = subprocess.run([str(Path(sys.executable).parent / "bpdiagram"), *args], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_output_is_byte_identical_across_runs_and_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        done = subprocess.run([str(Path(sys.executable).parent / "bpdiagram"), "code", "-t", "three-layer-logistic"],
                              capture_output=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_the_docs_show_the_default_templates_module_as_bpdiagram_code_prints_it() -> None:
    readme = (ROOT / "docs" / "how-to" / "code-export.md").read_text(encoding="utf-8")
    text = generate(load_spec(template_path("two-layer-binary")), source="the template two-layer-binary").text
    assert f"```python\n{text}```" in readme  # the whole module
    forward = text[text.index("def forward("):text.index("def example(")].rstrip() + "\n"
    assert f"```python\n{forward}```" in readme  # the part beside the picture


def test_html_with_code_carries_the_panel_and_allows_only_its_own_script() -> None:
    import base64
    import hashlib

    from bpdiagram.diagram import Diagram
    from bpdiagram.writers import codepanel

    plain_page = Diagram.template("two-layer-binary").render("html").decode()
    page = Diagram.template("two-layer-binary", code=True).render("html").decode()
    assert "bp-code" not in plain_page and 'class="bp-code"' in page
    for text in (codepanel.SCRIPT, codepanel.CSS):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in page and digest not in plain_page
    assert '<span class="bp-line" data-nodes="node-dZ1">    dZ1 = tanh_backward(dA1, cache[&quot;A1&quot;])</span>' \
        in page


@pytest.mark.parametrize("name", ["three-layer-elementwise", "single-neuron"])
def test_in_the_element_wise_view_a_statement_links_every_unit_of_its_value(name: str) -> None:
    from bpdiagram.model.code import link_to

    graph = build_graph(load_spec(template_path(name))).to_networkx()
    listing = link_to(generate(load_spec(template_path(name))), graph.nodes)
    linked = listing.statements()
    assert set(linked) <= set(graph.nodes)
    assert {n for n, kind in graph.nodes(data="kind") if kind not in ("input", "target")} <= set(linked)
    lines = listing.text.splitlines()
    z1 = {lines[i].strip() for node in graph.nodes if node.startswith("z1_") for i in linked[node]}
    assert z1 == {"# Z[1] = W[1]X + b[1]", "Z1 = affine_forward(W1, X, b1)"}


def test_very_long_variable_names_still_make_a_working_module(tmp_path: Path) -> None:
    long_a, long_b = "a" * 100, "b" * 60
    spec = load_spec({"expression": f"{long_a} * {long_b} + {long_a} / ({long_b} + 3) - {long_a} ** 2",
                      "values": {long_a: 0.5, long_b: 1.5}})
    assert isinstance(spec, ExpressionSpec)
    a, b = Value(0.5), Value(1.5)
    out = a * b + a / (b + 3.0) - a * a
    out.backward()
    check_expression(spec, tmp_path, (out.data, {long_a: a.grad, long_b: b.grad}))


@pytest.mark.parametrize(("init", "scale"), [("normal", None), ("xavier", None), ("he", 0.5), ("normal", 0.3)])
def test_the_module_draws_weights_as_the_spec_s_init_says(tmp_path: Path, init: str, scale: float | None) -> None:
    values: dict[str, Any] = {"init": init, "seed": 4, "batch": 3}
    if scale is not None:
        values["scale"] = scale
    spec = network([(3, "tanh"), (2, "relu"), (1, "sigmoid")], "bce", inputs=2, values=values)
    check_network(spec, tmp_path)  # the module's example() is draw_arrays to the last bit, biases 0
    assert not draw_arrays(spec, spec.numbers()).b[0].any()
