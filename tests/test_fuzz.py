"""Fuzzing: random spec documents, valid and broken, either render or fail with the library's own error.

The default run is short; for a long run set BPDIAGRAM_FUZZ_EXAMPLES, e.g.
``BPDIAGRAM_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdiagram.diagram import Diagram
from bpdiagram.errors import BpdiagramError
from bpdiagram.model.expression_values import evaluate
from bpdiagram.model.gradcheck import check_expression
from bpdiagram.spec import ExpressionSpec, NetworkSpec, load_spec, spec_from_text

EXAMPLES = int(os.environ.get("BPDIAGRAM_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

ACTS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]
junk = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**10), st.floats(allow_nan=True),
                 st.text(max_size=12), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually the valid value, now and then junk."""
    return st.integers(0, 9).flatmap(lambda i: junk if i == 9 else strategy)


OUTPUT = {"bce": ["sigmoid"], "ce": ["softmax", "sigmoid"], "mse": ACTS, "sse": ACTS}
hidden = st.fixed_dictionaries({"size": maybe(st.integers(1, 6)), "activation": maybe(st.sampled_from(ACTS[:5]))})
diagram = st.fixed_dictionaries({}, optional={
    "view": maybe(st.sampled_from(["vectorized", "elementwise"])),
    "notation": maybe(st.sampled_from(["dls", "cs231n"])),
    "simplify": maybe(st.sampled_from(["auto", True, False])),
    "backprop_to": maybe(st.integers(1, 4)),
    "show": maybe(st.lists(st.sampled_from(["forward", "cache", "backward", "update", "derivative"]),
                           min_size=1, unique=True)),
    "learning_rate": maybe(st.sampled_from(["α", "η", 0.1])),
})


@st.composite
def document(draw: st.DrawFn) -> dict[str, Any]:
    """A spec document: mostly valid, with junk in any field now and then, sometimes an unknown key."""
    loss = draw(st.sampled_from(["bce", "ce", "mse", "sse"]))
    out = {"size": draw(st.integers(1, 4)), "activation": draw(st.sampled_from(OUTPUT[loss]))}
    doc: dict[str, Any] = {
        "input": draw(maybe(st.one_of(st.integers(1, 5), st.fixed_dictionaries(
            {"name": st.sampled_from(["X", "x", "In", "<b>&"]), "size": st.integers(1, 5)})))),
        "layers": draw(maybe(st.lists(hidden, max_size=3).map(lambda hs: [*hs, out]))),
        "loss": draw(maybe(st.just(loss))),
    }
    for key, value in (("title", st.text(max_size=30)), ("target", st.sampled_from(["Y", "y", "T"])),
                       ("diagram", diagram)):
        if draw(st.booleans()):
            doc[key] = draw(maybe(value))
    if draw(st.integers(0, 9)) == 9:
        doc[draw(st.text(min_size=1, max_size=6))] = draw(junk)
    return doc


@pytest.mark.graphviz
@FUZZ
@given(document())
def test_random_documents_render_or_fail_cleanly(doc: dict[str, Any]) -> None:
    try:
        spec = load_spec(doc)
    except BpdiagramError:
        return
    svg = Diagram(spec).render("svg")
    assert svg.startswith(b"<?xml")


@FUZZ
@given(st.one_of(st.text(max_size=200), document().map(lambda d: yaml.safe_dump(d, allow_unicode=True)).flatmap(
    lambda text: st.integers(0, max(len(text) - 1, 0)).map(lambda cut: text[:cut]))))
def test_random_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        spec_from_text(text, file="fuzz.yaml")
    except BpdiagramError as exc:
        assert str(exc).startswith("fuzz.yaml")


# -- numbers near float64's limits and surrogate escapes (issue 12) ----------------------------------------

EDGE_FLOATS = [0.0, 5e-324, -5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-200, 1e-160, 1e-7, 1e154,
               1e200, 1e300, 1.7976931348623157e308, -1.7976931348623157e308, 709.0, 710.0, -745.0, 1e6, -1e6]
edge_number = st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=False, allow_infinity=False),
                        st.sampled_from([10**400, -(10**400), 2**1024, 2**1023]))
"""Values at and beyond float64's edges: subnormals, the largest finite, exp's overflow point, integers float64
cannot hold; now and then an ordinary float."""

EXPRESSIONS = ["x * y", "x / y", "x ** 0.5", "x ** -1", "x ** -2", "log(x) * y", "exp(x) * y", "sigmoid(x) / y",
               "tanh(x * y)", "x * y + x * y", "log(x) + log(y)", "(x + y) ** 3", "max(x, y) / (x - y)",
               "relu(x) * exp(y)", "1 / (x * y)"]


def drawn_text(svg: bytes) -> str:
    """The text an SVG draws (attribute names such as dominant-baseline hold 'nan')."""
    return " ".join(re.findall(r">([^<]*)<", svg.decode("utf-8")))


@FUZZ
@given(st.sampled_from(EXPRESSIONS), edge_number, edge_number)
def test_expressions_at_float64_edges_draw_finite_numbers_or_fail_cleanly(expression: str, x: Any, y: Any) -> None:
    try:
        spec = load_spec({"expression": expression, "values": {"x": x, "y": y}})
        assert isinstance(spec, ExpressionSpec)
        ev = evaluate(spec)
    except BpdiagramError as exc:
        assert str(exc).startswith("<dict>"), exc
        return
    numbers = [ev.value, *ev.grads.values()] + [g.out.value for g in ev.gates] + [d for g in ev.gates for d in g.dins]
    assert all(math.isfinite(n) for n in numbers)
    assert not re.search(r"\b(inf|nan)\b", drawn_text(Diagram(spec).render("svg")), re.IGNORECASE)
    try:
        report = check_expression(spec)
    except BpdiagramError:
        return
    assert all(math.isfinite(g.numeric) for g in report.gradients)


@FUZZ
@given(st.lists(edge_number, min_size=4, max_size=4), st.sampled_from(["mse", "bce"]))
def test_network_values_at_float64_edges_draw_finite_numbers_or_fail_cleanly(entries: list[Any], loss: str) -> None:
    x, w, b, y = entries
    doc = {"input": 1, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": loss,
           "diagram": {"simplify": False}, "values": {"X": [[x]], "W1": [[w]], "b1": [[b]], "Y": [[y]]}}
    try:
        svg = Diagram(load_spec(doc), values=True).render("svg")
    except BpdiagramError:
        return
    assert not re.search(r"\b(inf|nan)\b", drawn_text(svg), re.IGNORECASE)


@FUZZ
@given(st.text(st.characters(codec=None, categories=["Cs", "So", "Lu", "Zs"]), max_size=8), st.booleans())
def test_surrogate_escapes_in_any_syntax_join_or_fail_cleanly(title: str, is_json: bool) -> None:
    escaped = json.dumps(title)  # surrogates (and every non-ASCII character) as \uXXXX escapes
    text = (f'{{"title": {escaped}, "input": 2, "layers": [{{"size": 1, "activation": "sigmoid"}}], "loss": "bce"}}'
            if is_json else f"title: {escaped}\ninput: 2\nlayers: [{{size: 1, activation: sigmoid}}]\nloss: bce\n")
    try:
        spec = spec_from_text(text, file="fuzz", is_json=is_json)
    except BpdiagramError as exc:
        assert str(exc).startswith("fuzz:1: title: has a lone surrogate"), exc
        return
    assert isinstance(spec, NetworkSpec) and spec.title is not None
    spec.title.encode("utf-8")  # every character is a real one now
    Diagram(spec).render("graphml").decode("utf-8")
