"""Expression graphs: published worked examples, an independent autodiff, fan-out sums, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bpdiagram.diagram import Diagram
from bpdiagram.errors import SpecError
from bpdiagram.model.expression_values import evaluate, numeric_gradients
from bpdiagram.spec import ExpressionSpec, load_spec
from bpdiagram.template_files import template_path
from tests.autodiff import Value, sigmoid, tanh, vmax, vmin


def expr(text: str, **values: float) -> ExpressionSpec:
    spec = load_spec({"expression": text, "values": values})
    assert isinstance(spec, ExpressionSpec)
    return spec


def test_add_mul_reproduces_the_published_example() -> None:
    spec = load_spec(template_path("expression-add-mul"))
    assert isinstance(spec, ExpressionSpec)
    ev = evaluate(spec)
    assert ev.value == -12
    assert ev.grads == {"x": -4, "y": -4, "z": 3}
    labels = {d["plain"] for _, d in Diagram(spec).graph.nodes(data=True)}
    assert {"q = x + y = 3", "f = q · z = −12", "dx = −4", "dy = −4", "dz = 3"} <= labels
    assert "dq = z · df = −4 / dz = q · df = 3" in labels


def test_sigmoid_neuron_reproduces_the_published_example() -> None:
    spec = load_spec(template_path("expression-sigmoid-neuron"))
    assert isinstance(spec, ExpressionSpec)
    ev = evaluate(spec)
    assert ev.value == pytest.approx(0.73, abs=0.005)
    assert [ev.grads[v] for v in ("x0", "x1")] == pytest.approx([0.39, -0.59], abs=0.005)
    assert [ev.grads[v] for v in ("w0", "w1", "w2")] == pytest.approx([-0.20, -0.39, 0.20], abs=0.005)
    labels = {d["plain"] for _, d in Diagram(spec).graph.nodes(data=True)}
    assert {"dw0 = −0.2", "dx0 = 0.39", "dw1 = −0.39", "dx1 = −0.59", "dw2 = 0.2", "f = σ(t) = 0.73"} <= labels


def test_fan_out_shows_an_explicit_sum() -> None:
    spec = expr("x * x + exp(x)", x=0.5)
    g = Diagram(spec).graph
    assert g.nodes["sum.x"]["kind"] == "sum"
    into_sum = [(u, v) for u, v, k in g.in_edges("sum.x", data="kind") if k == "backward"]
    assert len(into_sum) == 3
    assert ("sum.x", "grad.x") in {(u, v) for u, v, k in g.edges(data="kind") if k == "backward"}
    assert evaluate(spec).grads["x"] == pytest.approx(2 * 0.5 + math.exp(0.5))


def test_gradients_agree_with_finite_differences() -> None:
    spec = expr("log(a * b + 2) / (1 + b ** 2) - max(a, b) * tanh(c) + min(a, -c) + relu(a - b)", a=0.7, b=-0.3, c=1.1)
    analytic = evaluate(spec).grads
    numeric = numeric_gradients(spec)
    for var in ("a", "b", "c"):
        assert analytic[var] == pytest.approx(numeric[var], rel=1e-6, abs=1e-8)


# -- an independent autodiff on random expressions ---------------------------------------

UNARY = ["exp", "tanh", "sigmoid", "neg", "square"]
BINARY = ["+", "-", "*", "/", "max", "min"]


@st.composite
def tree(draw: st.DrawFn, depth: int = 0) -> Any:
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["a", "b", "c"]))
    if draw(st.booleans()):
        return (draw(st.sampled_from(UNARY)), draw(tree(depth + 1)))
    return (draw(st.sampled_from(BINARY)), draw(tree(depth + 1)), draw(tree(depth + 1)))


def to_text(t: Any) -> str:
    if isinstance(t, str):
        return t
    if len(t) == 2:
        op, x = t
        inner = to_text(x)
        return {"neg": f"-({inner})", "square": f"({inner}) ** 2"}.get(op, f"{op}({inner})")
    op, x, y = t
    if op in ("max", "min"):
        return f"{op}({to_text(x)}, {to_text(y)})"
    return f"({to_text(x)} {op} {to_text(y)})"


def to_value(t: Any, env: dict[str, Value]) -> Value:
    if isinstance(t, str):
        return env[t]
    if len(t) == 2:
        op, x = t
        v = to_value(x, env)
        unary: dict[str, Callable[[], Value]] = {"exp": v.exp, "tanh": lambda: tanh(v), "sigmoid": lambda: sigmoid(v),
                                                 "neg": lambda: -v, "square": lambda: v * v}
        return unary[op]()
    op, x, y = t
    a, b = to_value(x, env), to_value(y, env)
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
            "max": lambda: vmax(a, b), "min": lambda: vmin(a, b)}[op]()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(tree(), st.lists(st.floats(-2, 2).filter(lambda v: abs(v) > 0.05), min_size=3, max_size=3))
def test_random_expressions_match_an_independent_autodiff(t: Any, xs: list[float]) -> None:
    assume(len({round(x, 6) for x in xs}) == 3)  # max/min at a tie have no derivative
    if isinstance(t, str):
        t = ("*", t, t)
    text = to_text(t)
    env = {name: Value(x) for name, x in zip("abc", xs, strict=True)}
    try:
        out = to_value(t, env)
    except (ZeroDivisionError, OverflowError):
        return
    used = [v for v in "abc" if v in text]
    try:
        spec = expr(text, **{v: x for v, x in zip("abc", xs, strict=True) if v in used})
        ev = evaluate(spec)
    except SpecError:
        return  # a domain error the oracle did not hit exactly (e.g. overflow); tested elsewhere
    if not math.isfinite(out.data) or abs(out.data) > 1e6:
        return
    out.backward()
    assert ev.value == pytest.approx(out.data, rel=1e-9, abs=1e-12)
    for v in used:
        assert ev.grads[v] == pytest.approx(env[v].grad, rel=1e-6, abs=1e-9), (text, v)


@pytest.mark.parametrize(("text", "values", "message"), [
    ("(x + y * z", {"x": 1, "y": 1, "z": 1}, "syntax error"),
    ("x +* y", {"x": 1, "y": 1}, "at column"),
    ("foo(x)", {"x": 1}, "unknown function 'foo' (known: exp, log, sigmoid, tanh, relu, max, min) at column 1"),
    ("__import__('os').system('ls')", {}, "unknown function"),
    ("x.real + 1", {"x": 1}, "is not allowed"),
    ("lambda: 1", {}, "is not allowed"),
    ("x ** y", {"x": 1, "y": 2}, "** needs a constant exponent"),
    ("'a' * x", {"x": 1}, "is not a finite number"),
    ("max(x)", {"x": 1}, "max takes 2 arguments"),
    ("exp * x", {"x": 1}, "exp is a function"),
    ("x * y", {"x": 1}, "missing value for y"),
    ("x * 2", {"x": 1, "q": 3}, "values.q: no variable 'q' in the expression"),
    ("x * 2", {"x": float("nan")}, "must be a finite number"),
    ("log(x - y)", {"x": 1, "y": 4}, "log of a number ≤ 0 at column 1: log(x - y) with q = -3"),
    ("x / (y - 2)", {"x": 1, "y": 2}, "division by zero"),
    ("(x - 3) ** 0.5", {"x": 1}, "negative number raised to a fractional power"),
    ("exp(x * 1000)", {"x": 1}, "exp overflows"),
    ("3 * 4", {}, "has no variable to differentiate by"),
    ("x", {"x": 1}, "has no operation to differentiate"),
])
def test_bad_expressions_are_located_errors(text: str, values: dict[str, float], message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec = load_spec({"expression": text, "values": values})
        assert isinstance(spec, ExpressionSpec)
        evaluate(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_expression_errors_name_the_line(tmp_path: Any) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("title: t\nexpression: log(x)\nvalues: {x: -1}\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        Diagram.load(path).graph  # noqa: B018
    assert str(info.value).startswith(f"{path}:2: expression: log of a number ≤ 0")


def test_check_json_for_an_expression_has_one_entry_per_variable() -> None:
    import json

    from click.testing import CliRunner

    from bpdiagram.cli import cli

    result = CliRunner().invoke(cli, ["check", "-t", "expression-add-mul", "--json"])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) == {"ok", "loss", "gradients"} and out["ok"] is True and out["loss"] == -12
    assert [(g["name"], g["analytic"]) for g in out["gradients"]] == [("x", -4), ("y", -4), ("z", 3)]
    for g in out["gradients"]:
        assert set(g) == {"name", "analytic", "numeric", "max_abs_error"}
        assert g["max_abs_error"] < 1e-6


def test_check_fails_when_a_gate_rule_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from click.testing import CliRunner

    from bpdiagram.cli import cli
    from bpdiagram.model import catalogue

    broken = dataclasses.replace(catalogue.GATE_OPS["mul"], local=lambda a, b, o, c: (b, 2 * a))
    monkeypatch.setitem(catalogue.GATE_OPS, "mul", broken)
    result = CliRunner().invoke(cli, ["check", "-t", "expression-add-mul"])
    assert result.exit_code == 1
    assert "FAILED: dz disagree" in result.stdout
