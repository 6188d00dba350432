"""The benchmark's own arithmetic and its micrograd-style alternative (no timings are asserted here).

The benchmark compares bpdiagram with a scalar autodiff graph it builds
itself; that graph must compute the right gradients, or the comparison is
with a tool that does less work than micrograd does. The growth exponent is
what the performance record quotes, so its fit is checked on known powers.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bpdiagram.errors import SpecError
from bpdiagram.spec.network import MAX_LAYERS
from tests.conftest import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()


@pytest.mark.parametrize("power", [1.0, 1.3, 2.0])
def test_growth_exponent_recovers_a_power_law(power: float) -> None:
    points = [(n, 0.004 * n**power) for n in (60, 228, 452, 900)]
    assert bench.growth_exponent(points) == pytest.approx(power)


def test_growth_exponent_needs_two_sizes() -> None:
    assert bench.growth_exponent([(60, 1.0)]) is None
    assert bench.growth_exponent([(60, 1.0), (60, 2.0)]) is None


def test_medians_per_stage() -> None:
    assert bench.medians([{"a": 1.0, "b": 5.0}, {"a": 3.0}, {"a": 2.0, "b": 7.0}]) == {"a": 2.0, "b": 6.0}


def _f(x: float, y: float) -> float:
    return math.tanh(x * y + 2) * (1 / (1 + math.exp(-x))) - math.log(y) + (1 - x) * y


def test_value_gradients_agree_with_finite_differences() -> None:
    x, y = bench.Value(0.3), bench.Value(1.7)
    f = (x * y + 2).tanh() * x.sigmoid() - y.log() + (1 - x) * y
    f.backward()
    assert f.data == pytest.approx(_f(0.3, 1.7))
    h = 1e-6
    assert x.grad == pytest.approx((_f(0.3 + h, 1.7) - _f(0.3 - h, 1.7)) / (2 * h), rel=1e-6)
    assert y.grad == pytest.approx((_f(0.3, 1.7 + h) - _f(0.3, 1.7 - h)) / (2 * h), rel=1e-6)


def test_mlp_graph_is_drawn_one_record_per_value_and_one_node_per_operation() -> None:
    loss = bench.mlp_loss((2, 4, 1))
    loss.backward()
    values = bench.topological(loss)
    source = bench.draw_dot(loss).source
    assert source.count("shape=record") == len(values)
    ops = [v for v in values if v._op]
    op_nodes = [line for line in source.splitlines() if "[label=" in line and "shape=record" not in line]
    assert len(op_nodes) == len(ops) > 0
    assert source == bench.draw_dot(loss).source  # counter ids: the same DOT every time
    assert math.isfinite(loss.data) and loss.data > 0


def test_deep_graphs_need_no_recursion() -> None:
    loss = bench.mlp_loss((8,) * 130)
    loss.backward()  # a recursive topological sort would overflow Python's stack here
    assert len(bench.topological(loss)) > 10_000


def test_benchmark_networks_are_valid_specs() -> None:
    nets = bench.networks(quick=False)
    assert [n.name for n in nets if n.sweep == "vectorized depth"] == [
        f"vectorized depth {d}" for d in (8, 32, 64, 128)]
    deepest = next(n for n in nets if n.name == "vectorized depth 128")
    assert len(deepest.spec()["layers"]) == 128
    if MAX_LAYERS >= 128:
        assert deepest.diagram().spec.sizes == (8,) * 129  # validates: within the spec's limits
    else:  # beyond the limit set from tools/limits.py's measurements: measure_network skips it
        with pytest.raises(SpecError):
            deepest.diagram()
    elementwise = [n for n in nets if n.elementwise]
    assert [n.sizes for n in elementwise] == [(2, 4, 1), (4, 8, 8, 1), (16, 16, 16, 1), (24, 24, 24, 1),
                                              (32, 32, 32, 1)]
    assert all(n.spec()["diagram"] == {"view": "elementwise"} for n in elementwise)


def test_measured_processes_run_without_pythondontwritebytecode() -> None:
    env = bench.measured_env({"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/bin"})
    assert env == {"PATH": "/bin"}


def test_alternated_runs_every_command_each_round(tmp_path: Path) -> None:
    log = tmp_path / "log"
    cmds = {name: ([sys.executable, "-c", f"open({str(log)!r}, 'a').write({name!r})"], None) for name in "ab"}
    times = bench.alternated(cmds, 3, bench.measured_env())
    assert log.read_text() == "ab" + "ab" * 3  # one warm-up each, then a, b in turn
    assert set(times) == {"a", "b"} and all(w > 0 and c >= 0 for w, c in times.values())


def test_verdicts() -> None:
    assert [bench.verdict(m) for m in (True, False, None)] == ["met", "NOT met", "not measured"]
    assert bench.verdict(None, "absent: this build draws no programs") == "absent"
