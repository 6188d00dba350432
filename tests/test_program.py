"""Program specs: staged assignments with the author's names, checked against an independent autodiff."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdiagram.diagram import Diagram
from bpdiagram.errors import SpecError
from bpdiagram.model.code import generate
from bpdiagram.model.expression_values import evaluate
from bpdiagram.spec import ExpressionSpec, load_spec
from bpdiagram.template_files import template_path
from tests.autodiff import Value, sigmoid


def program(text: str, values: dict[str, float], **extra: Any) -> ExpressionSpec:
    spec = load_spec({"program": text, "values": values, **extra})
    assert isinstance(spec, ExpressionSpec)
    return spec


def micrograd_oracle() -> tuple[float, float, float]:
    """micrograd's README example run by the tests' own autodiff (b**3 as b·b·b, e**2 as e·e)."""
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b * b * b
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + (b + a).relu())
    d = d + (3 * d + (b - a).relu())
    e = c - d
    f = e * e
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return g.data, a.grad, b.grad


def test_micrograd_readme_reproduces_the_published_numbers() -> None:
    spec = load_spec(template_path("micrograd-readme"))
    assert isinstance(spec, ExpressionSpec)
    ev = evaluate(spec)
    g, da, db = micrograd_oracle()
    assert ev.value == pytest.approx(g, rel=1e-12)
    assert ev.grads["a"] == pytest.approx(da, rel=1e-12)
    assert ev.grads["b"] == pytest.approx(db, rel=1e-12)
    assert (f"{g:.4f}", f"{da:.4f}", f"{db:.4f}") == ("24.7041", "138.8338", "645.5773")  # the README's numbers
    svg = Diagram.template("micrograd-readme").render("svg").decode()
    text = re.sub(r"<[^>]+>", "", svg)  # the drawn text, markup left out
    assert "g′ = g + " in text and "= 24.7041" in text
    assert "da = 138.8338" in text
    assert "db = 645.5773" in text


def test_cs231n_staged_matches_the_notes() -> None:
    spec = load_spec(template_path("cs231n-staged"))
    assert isinstance(spec, ExpressionSpec)
    ev = evaluate(spec)
    x, y = Value(3.0), Value(-4.0)
    xpy = x + y
    f = (x + sigmoid(y)) / (sigmoid(x) + xpy * xpy)
    f.backward()
    assert ev.value == pytest.approx(f.data, rel=1e-12)
    assert ev.grads == pytest.approx({"x": x.grad, "y": y.grad}, rel=1e-10)
    names = {g.node.name for g in ev.gates if g.node.name}
    assert names == {"sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"}


@pytest.mark.parametrize("template", ["cs231n-staged", "micrograd-readme"])
def test_every_assigned_name_labels_its_node(template: str) -> None:
    spec = load_spec(template_path(template))
    assert isinstance(spec, ExpressionSpec)
    assigned: list[tuple[str, int]] = []
    for line in spec.source.splitlines():
        name = re.match(r"\s*(\w+)", line).group(1)  # type: ignore[union-attr]
        version = len([n for n in assigned if n[0] == name])
        assigned.append((name, version))
    primes = ["", "′", "″", "‴"]
    diagram = Diagram.template(template)
    svg = re.sub(r"<[^>]+>", "", diagram.render("svg").decode())
    graphml = diagram.render("graphml").decode()
    for name, version in assigned:
        label = f"{name}{primes[version]} = "
        assert label in svg, label
        assert label in graphml, label


def test_a_program_and_its_exported_code_agree(tmp_path: Path) -> None:
    listing = generate(load_spec(template_path("micrograd-readme")), source="micrograd-readme")
    path = tmp_path / "m.py"
    path.write_text(listing.text, encoding="utf-8")
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True).stdout
    g, da, db = micrograd_oracle()
    numbers = dict(re.findall(r"(\w+) = (\S+)", out))
    assert float(numbers["g"]) == pytest.approx(g, rel=1e-9)
    assert float(numbers["da"]) == pytest.approx(da, rel=1e-9)
    assert float(numbers["db"]) == pytest.approx(db, rel=1e-9)
    assert "c_1 = " in listing.text and "d_2 = " in listing.text  # c′ and d″ under the author's names


def test_fan_out_of_an_assigned_value_is_summed_by_a_visible_plus() -> None:
    spec = program("q = x * y\nf = q + q * 3", {"x": 2, "y": 5})
    graph = Diagram(spec, name="p").model
    sums = [n for n in graph if n.kind == "sum"]
    assert [n.mirror for n in sums] == ["g1"]  # q is read twice: one + under q
    assert evaluate(spec).grads == pytest.approx({"x": 4 * 5, "y": 4 * 2})


# -- random programs against the independent autodiff --------------------------------------

OPS = ["+", "-", "*", "/", "exp", "tanh", "sigmoid", "neg", "square"]


def random_program(rng: random.Random, lines: int) -> tuple[str, Value, dict[str, Value]]:
    """A program of ``lines`` assignments over inputs a, b, c (fresh names and augmented ones), run by the oracle."""
    env = {n: Value(rng.choice([-1, 1]) * rng.uniform(0.2, 1.5)) for n in "abc"}
    inputs = dict(env)
    unread: list[str] = []
    text = []

    def operand() -> tuple[str, Value]:
        fresh = unread and rng.random() < 0.6
        name = unread.pop(rng.randrange(len(unread))) if fresh else rng.choice(sorted(env))
        return name, env[name]

    def term() -> tuple[str, Value]:
        op = rng.choice(OPS)
        s, v = operand()
        if op in ("exp", "tanh", "sigmoid"):
            fn = {"exp": Value.exp, "tanh": lambda z: 2 * sigmoid(2 * z) - 1, "sigmoid": sigmoid}[op]
            return f"{op}({s})", fn(v)
        if op == "neg":
            return f"-{s}", -v
        if op == "square":
            return f"{s}**2", v * v
        t, w = operand()
        if op == "/":
            return f"{s} / (1 + {t}**2)", v / (1 + w * w)
        out = {"+": lambda: v + w, "-": lambda: v - w, "*": lambda: v * w}[op]()
        return f"{s} {op} {t}", out

    for i in range(lines):
        rhs, value = term()
        if unread and rng.random() < 0.3:
            name = unread.pop()
            text.append(f"{name} += {rhs}")
            value = env[name] + value
        else:
            name = f"n{i}"
            text.append(f"{name} = {rhs}")
        env[name] = value
        unread.append(name)
    while len(unread) > 1:  # every value feeds the output
        s, t = unread.pop(), unread.pop()
        name = f"m{len(text)}"
        text.append(f"{name} = {s} + {t}")
        env[name] = env[s] + env[t]
        unread.append(name)
    return "\n".join(text), env[unread[0]], inputs


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.integers(0, 10**6), st.integers(1, 9))
def test_random_programs_match_an_independent_autodiff(seed: int, lines: int) -> None:
    text, out, inputs = random_program(random.Random(seed), lines)
    used = {n: v.data for n, v in inputs.items() if re.search(rf"\b{n}\b", text)}
    spec = program(text, used)
    ev = evaluate(spec)
    out.backward()
    assert ev.value == pytest.approx(out.data, rel=1e-9, abs=1e-12), text
    for name in used:
        assert ev.grads[name] == pytest.approx(inputs[name].grad, rel=1e-7, abs=1e-10), (text, name)


def test_a_random_program_draws_and_names_every_value() -> None:
    text, _, inputs = random_program(random.Random(7), 12)
    used = {n: v.data for n, v in inputs.items() if re.search(rf"\b{n}\b", text)}
    diagram = Diagram(program(text, used), name="random")
    svg = re.sub(r"<[^>]+>", "", diagram.render("svg").decode())
    for line in text.splitlines():
        name = line.split()[0]
        assert re.search(rf"\b{name}[′″‴]* = ", svg), name
    assert diagram.stats().grammar_violations == ()
    assert diagram.stats().misaligned == ()


# -- errors: one line, the line of the program in the file, the column in that line ----------

SPEC = """title: t
program: |
  q = x + y   # a comment
{line}
values: {{x: 1, y: 2}}
"""


@pytest.mark.parametrize(("line", "message"), [
    ("  f = q * z", "4: program: unknown name 'z': not assigned above and not given under 'values:' (known: q, x, "
                    "y) at column 9: f = q * z"),
    ("  f = q * r\n  r = 2 * x", "4: program: r is read before it is assigned (line 5 assigns it) at column 9"),
    ("  x = q * 2", "4: program: x is an input given under 'values:' and cannot be assigned; give the result a new "
                    "name at column 1"),
    ("  f = q * +", "4: program: syntax error (invalid syntax) at column"),
    ("  f = q *", "4: program: syntax error"),
    ("  f = (q", "4: program: syntax error"),
    ("  f == q", "4: program: is not an assignment of one name"),
    ("  f, g = q, q", "4: program: is not an assignment of one name"),
    ("  f = foo(q)", "4: program: unknown function 'foo'"),
    ("  f = q", "4: program: f = q is just a name: a line must compute something"),
    ("  f += q", "4: program: f += … reads f before it is assigned at column 1"),
    ("  exp = q * 2", "4: program: exp is a function and cannot be assigned"),
    ("  f = q * 2\n  g = q * 3", "4: program: f is assigned here but never read on the way to the output g"),
    ("  f = x * 2", "3: program: q is assigned here but never read on the way to the output f"),
    ("  f = q / (y - 2)", "4: program: division by zero at column 5: q / (y - 2) with q = 3"),
])
def test_program_errors_name_the_line_and_column(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(SPEC.format(line=line), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        evaluate(Diagram.load(path).spec)  # type: ignore[arg-type]
    assert str(info.value).startswith(f"{path}:{message}"), str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("extra", "message"), [
    ({"output": "z"}, "output: 'z' is not assigned by the program; assigned: q, f"),
    ({"output": "x"}, "output: 'x' is not assigned by the program (it is an input under 'values:')"),
    ({"output": ["f"]}, "output: 'a list' is not assigned"),
    ({"values": {"x": 1, "y": 2, "w": 3}}, "values.w: 'w' is given a value but the program never reads it"),
    ({"expression": "x"}, "a spec has either 'expression:' or 'program:', not both"),
    ({"diagram": {"decimals": 9}}, "diagram.decimals: must be a whole number from 0 to 6"),
])
def test_program_key_errors(extra: dict[str, Any], message: str) -> None:
    data = {"program": "q = x + y\nf = q * 2", "values": {"x": 1, "y": 2}, **extra}
    with pytest.raises(SpecError) as info:
        load_spec(data)
    assert message in str(info.value)


def test_the_cli_reports_a_program_error_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(SPEC.format(line="  f = q * z"), encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "bpdiagram", "render", str(path), "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: {path}:4: program: unknown name 'z'")
    assert run.stderr.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())


def test_a_misspelt_name_gets_a_suggestion() -> None:
    with pytest.raises(SpecError) as info:
        program("q = x + y\nf = q * zz", {"x": 1, "y": 2, "z": 3})
    assert "unknown name 'zz': not assigned above and not given under 'values:' (did you mean 'z'? known: q, x, y, " \
        "z) at column 9: f = q * zz" in str(info.value)


def test_output_defaults_to_the_last_name_assigned_and_can_be_earlier() -> None:
    spec = program("q = x + y\nf = q * 2", {"x": 1, "y": 2})
    assert spec.output == "f" and evaluate(spec).value == 6
    spec = program("q = x + y\nf = q * 2\nq += f", {"x": 1, "y": 2}, output="q")
    assert evaluate(spec).value == 9
    assert math.isclose(evaluate(spec).grads["x"], 3)
