"""The benchmark's ``--quick`` run measures every view that exists (the performance record in the docs keeps its word).

The timings are faked here (speed is never asserted in tests), but every
diagram the quick run draws is built for real: a view that exists but is
reported "not measured", or a network an aim needs that the quick run
leaves out, fails this test.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_record", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run_record"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_not_measured_for_no_view_that_exists(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _load()
    built: list[str] = []

    def bpdiagram_once(net: Any, failed: dict[str, str]) -> dict[str, float]:
        graph = net.diagram().graph  # the real builder: a view that does not exist raises here
        built.append(net.name)
        return {"build": 0.01, "layout": 0.02, "svg": 0.01, "png": 0.02, "graphml": 0.01, "cpu": 0.04,
                "build_layout_cpu": 0.03, "nodes": float(graph.number_of_nodes())}

    monkeypatch.setattr(bench, "bpdiagram_once", bpdiagram_once)
    monkeypatch.setattr(bench, "micrograd_once",
                        lambda net, timeout: {"python": 0.05, "dot": 0.05, "total": 0.1, "nodes": 10.0,
                                                      "cpu": 0.1})
    monkeypatch.setattr(bench, "subprocess_median", lambda cmd, n, data=None: (0.05, 0.05))
    monkeypatch.setattr(bench, "dot_source", lambda graph: "digraph {}")
    monkeypatch.setattr(bench, "graphviz_version", lambda: "dot - graphviz version (test)")
    monkeypatch.setattr(bench, "measure_torchview", lambda b, net, install: {"skipped": "not run in the tests"})
    monkeypatch.setattr(bench.compileall, "compile_dir", lambda *a, **k: True)
    monkeypatch.setattr(bench, "alternated", lambda cmds, rounds, env: dict.fromkeys(cmds, (0.05, 0.05)))
    monkeypatch.setattr(bench, "render_every_format", lambda spec, env: (1.0, 1.0))
    monkeypatch.setattr(bench, "expression_growth", lambda gates, program=False: 1.0)
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "results-quick.txt").read_text(encoding="utf-8")
    assert set(built) == {net.name for net in bench.networks(quick=True)}
    assert "element-wise 16-16-16-1" in built  # the network issue 16's element-wise aim is about
    assert "not measured" not in text
    assert "not in this build" not in text and "not available" not in text
    assert "Aims: start-up and layout" in text and "Aims: end to end" in text and "Aims: as installed" in text
    for aim in ("-f svg ≤ 2.5× its floor", "-f svg,png,graphml ≤ 4× its floor", "--help ≤ 1.5× a bare start-up",
                "256 vectorized layers in every format < 10 s", "element-wise 32-32-32-1 in every format < 10 s",
                "growth ≤ 1.5 against nodes", "16-16-16-1 (svg) ≤ ½ micrograd-style", "expressions growth ≤ 1.3",
                "programs growth ≤ 1.3"):
        assert aim in text
    for aim in ("within 5× its floor", "≤ ½ the micrograd-style time", "costs ≤ ½ its svg-only render",
                "layout within 3× torchview's drawing"):
        assert aim in text
