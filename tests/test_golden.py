"""Golden files: DOT, GraphML and SVG structure of every template (regenerate with ``make golden``)."""

from __future__ import annotations

import difflib
import json

import pytest

from tests.conftest import GOLDEN
from tests.golden_io import crossing_counts, dot_text, graphml_text, svg_structure

HINT = "output changed; if intended, run 'make golden' and review the diff of tests/golden/"


def _compare(actual: str, path_name: str) -> None:
    expected = (GOLDEN / path_name).read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                 "golden", "actual"))[:40])
        pytest.fail(f"{path_name}: {HINT}\n{diff}")


def test_golden_dot(template: str) -> None:
    _compare(dot_text(template), f"{template}.dot")


@pytest.mark.graphviz
def test_golden_graphml(template: str) -> None:
    _compare(graphml_text(template), f"{template}.graphml")


@pytest.mark.graphviz
def test_golden_svg_structure(template: str) -> None:
    _compare(svg_structure(template), f"{template}.svg.txt")


def test_every_template_has_golden_files(template: str) -> None:
    for suffix in (".dot", ".graphml", ".svg.txt"):
        assert (GOLDEN / f"{template}{suffix}").is_file(), "missing golden file; run 'make golden'"


@pytest.mark.graphviz
def test_crossings_never_rise_above_the_golden_counts(template: str) -> None:
    """``crossings.json`` records each template's crossings; more is a regression, fewer must be recorded."""
    golden = json.loads((GOLDEN / "crossings.json").read_text(encoding="utf-8"))
    assert template in golden, "template missing from crossings.json; run 'make golden'"
    actual = crossing_counts([template])[template]
    assert actual <= golden[template], f"{template}: {actual} crossings, golden allows {golden[template]}"
    assert actual == golden[template], f"{template}: crossings fell to {actual}; run 'make golden' to record it"
