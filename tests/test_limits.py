"""``tools/limits.py`` measures the largest input each limit accepts: check its specs sit exactly at the limits.

The timing itself is a measurement (``make limits``), never asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

from bpdiagram.errors import SpecError
from bpdiagram.model.expression_values import evaluate
from bpdiagram.spec import ExpressionSpec, NetworkSpec, load_spec
from bpdiagram.spec.expression import MAX_GATES
from bpdiagram.spec.network import ELEMENTWISE_MAX_LAYERS, ELEMENTWISE_MAX_UNITS, ELEMENTWISE_MAX_WEIGHTS, MAX_LAYERS


def _tool() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "tools" / "limits.py"
    spec = importlib.util.spec_from_file_location("limits_tool", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["limits_tool"] = module
    spec.loader.exec_module(module)
    return module


LIMITS = _tool()


@pytest.mark.parametrize("case", LIMITS.cases(), ids=lambda c: c.name)
def test_each_case_is_the_largest_input_its_limit_accepts(case: object) -> None:
    spec = load_spec(case.spec)  # type: ignore[attr-defined]
    with pytest.raises(SpecError):
        load_spec(case.beyond)  # type: ignore[attr-defined]
    if isinstance(spec, ExpressionSpec):
        assert len(evaluate(spec).gates) == MAX_GATES
        return
    assert isinstance(spec, NetworkSpec)
    sizes = spec.sizes
    weights = sum(a * b for a, b in pairwise(sizes))
    if spec.diagram.view == "vectorized":
        assert len(spec.layers) == MAX_LAYERS
    elif case.name.endswith(f"-of-{sizes[0]}"):  # type: ignore[attr-defined]
        assert len(spec.layers) == ELEMENTWISE_MAX_LAYERS
        wider = [size + 1 for size in sizes]
        assert sum(a * b for a, b in pairwise(wider)) > ELEMENTWISE_MAX_WEIGHTS
    else:  # as many weights as fit: not one more unit's worth left over
        assert max(sizes) <= ELEMENTWISE_MAX_UNITS
        assert ELEMENTWISE_MAX_WEIGHTS - max(sizes) < weights <= ELEMENTWISE_MAX_WEIGHTS


def test_the_expression_shapes_have_the_gates_asked_for() -> None:
    for build in (LIMITS.fan_out_chain, LIMITS.sum_of_products, LIMITS.unary_nest):
        for gates in (1, 2, 7, 20):
            spec = load_spec(LIMITS.expression_spec(build, gates))
            assert isinstance(spec, ExpressionSpec)
            assert len(evaluate(spec).gates) == gates
