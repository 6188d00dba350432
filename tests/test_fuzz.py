"""Fuzzing: random spec documents, valid and broken, either render or fail with the library's own error.

The default run is short; for a long run set BPDIAGRAM_FUZZ_EXAMPLES, e.g.
``BPDIAGRAM_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdiagram.diagram import Diagram
from bpdiagram.errors import BpdiagramError
from bpdiagram.spec import load_spec, spec_from_text

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
