"""Tiers (INTERFACE §9): a deep vectorized network wrapped into rows of layers, each tier in the full grammar.

The ten-layer network of docs/examples/ten-layers.yaml is the issue's yardstick: with
``wrap: auto`` it must be at most 2:1, clean in every tier, and its labels at
least 7 pt once the picture is scaled to a 16 cm text width.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.layout.quality import measure, text_points
from bpdiagram.layout.tiers import MAX_ASPECT, layout_tiers, split, tier_of
from bpdiagram.model.build import build_graph
from bpdiagram.spec import load_spec
from tests.scenes import box, scene

ROOT = Path(__file__).resolve().parent.parent
TEN = ROOT / "docs" / "examples" / "ten-layers.yaml"
SVG = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.graphviz


@pytest.fixture(scope="module")
def ten() -> Diagram:
    return Diagram.load(TEN)


def test_ten_layers_with_wrap_auto_fit_the_page(ten: Diagram) -> None:
    q = ten.stats()
    assert q.tiers > 1 and ten.layout.wrap >= 1
    assert q.width <= MAX_ASPECT * q.height
    assert q.problems == 0, (q.overlapping_nodes, q.spilling_labels, q.grammar_violations, q.edges_through_nodes)
    assert q.crossings == q.jumps
    # the reader's text: node labels scaled to a 16 cm text width (16 cm = 453.5 pt)
    assert q.text_pt >= 7.0
    assert q.text_pt == pytest.approx(14.0 * 16 / 2.54 * 72 / q.width, abs=0.05)
    unwrapped = Diagram.load(TEN).with_options(wrap=10 ** 3).stats()  # one tier: today's single row
    assert unwrapped.tiers == 1 and unwrapped.width > 4 * unwrapped.height and unwrapped.text_pt < 2


def test_auto_picks_the_smallest_wrap_whose_picture_is_at_most_2_to_1(ten: Diagram) -> None:
    scenes = {n: layout_tiers(ten.model, n) for n in (1, 2, 4, 10)}
    ratios = {n: s.width / s.height for n, s in scenes.items()}
    fitting = [n for n, r in sorted(ratios.items()) if r <= MAX_ASPECT]
    assert ten.layout.wrap == fitting[0]
    assert ratios[10] > MAX_ASPECT  # unwrapped the network is far too wide, so auto had to wrap


def test_auto_on_a_one_layer_network_keeps_its_single_tier() -> None:
    d = Diagram.load({"input": 3, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce",
                      "diagram": {"wrap": "auto"}})
    assert d.layout.wrap == 1 and {n.tier for n in d.layout.nodes} == {1}


@pytest.mark.parametrize("wrap", [1, 3, 4])
def test_every_tier_keeps_the_grammar(ten: Diagram, wrap: int) -> None:
    s = ten.with_options(wrap=wrap).scene
    q = measure(s)
    assert q.problems == 0, q.grammar_violations
    assert q.tiers == -(-10 // wrap)
    tiers = sorted({n.tier for n in s.nodes})
    assert tiers == list(range(1, q.tiers + 1))
    # tiers stacked top to bottom, strictly apart; within each, forward above cache above backward
    spans = {t: (min(n.y for n in s.nodes if n.tier == t), max(n.y + n.h for n in s.nodes if n.tier == t))
             for t in tiers}
    assert all(spans[a][1] < spans[b][0] for a, b in pairwise(tiers))
    for t in tiers:
        bands = [b for b in s.bands if b.tier == t]
        assert [b.band for b in bands] == ["forward", "cache", "backward"]
        assert all(a.y + a.h <= b.y + 0.01 for a, b in pairwise(bands))
    # each band is named once (the SVG writes three band titles), and there is one legend
    root = ET.fromstring(ten.with_options(wrap=wrap).render("svg"))
    titles = [t.text for t in root.iter(f"{SVG}text") if t.text in ("FORWARD", "CACHE", "BACKWARD")]
    assert sorted(titles) == ["BACKWARD", "CACHE", "FORWARD"]
    assert len([g for g in root.iter(f"{SVG}g") if g.get("id") == "legend"]) == 1


def test_continuations_stand_for_the_values_that_cross_tiers(ten: Diagram) -> None:
    g = ten.graph
    graphs = [sub.to_networkx() for sub in split(ten.model, 3)]
    assert len(graphs) == 4
    for t, sub in enumerate(graphs, start=1):
        conts = {n: d for n, d in sub.nodes(data=True) if d["kind"] == "continuation"}
        forward = sorted(d["plain"] for d in conts.values() if d["band"] == "forward")
        backward = sorted(d["plain"] for d in conts.values() if d["band"] == "backward")
        # A[3t−3] enters tier t from the left (forward, and its cached copy), dA[3t] enters from the right
        assert forward == ([] if t == 1 else [f"A[{3 * t - 3}]"])
        assert backward == ([] if t == 4 else [f"dA[{3 * t}]"])
        for n, d in conts.items():
            assert sub.in_degree(n) == 0 and sub.out_degree(n) >= 1
            row = [m for m in sub.nodes if sub.nodes[m]["row"] == d["row"]]
            columns = [sub.nodes[m]["column"] for m in row if m != n]
            if d["band"] == "backward":  # feeds leftwards: the rightmost of its row
                assert d["column"] > max(columns)
            elif d["band"] == "forward":  # feeds rightwards: the leftmost of its row
                assert d["column"] < min(columns)
    # nothing is lost: every model edge is in exactly one tier, continuations standing in for far ends
    assert sum(sub.number_of_edges() for sub in graphs) == g.number_of_edges()
    kinds = sorted(k for sub in graphs for *_, k in sub.edges(data="kind"))
    assert kinds == sorted(k for *_, k in g.edges(data="kind"))
    assert {n for sub in graphs for n in sub.nodes if not n.startswith("cont.")} == set(g.nodes)


def test_a_cached_value_goes_to_the_tier_that_uses_it() -> None:
    g = build_graph(load_spec(TEN))
    tiers = tier_of(g, 3)
    assert tiers["cache.A3"] == 2  # relu's dZ[3] uses Z[3]: A[3] is kept only for dW[4], in tier 2
    assert tiers["cache.A5"] == 2  # tanh's dZ[5] uses A[5] too: kept where A[5] is (layer 5, tier 2)
    assert tiers["cache.A6"] == 3 and tiers["A6"] == 2
    assert tiers["input"] == 1 and tiers["loss"] == tiers["target"] == 4


def test_graphml_nodes_carry_their_tier(ten: Diagram, tmp_path: Path) -> None:
    path = tmp_path / "ten.graphml"
    path.write_bytes(ten.with_options(wrap=4).render("graphml"))
    g = nx.read_graphml(path)
    nodes = {n: d for n, d in g.nodes(data=True) if d["kind"] not in ("legend", "band")}  # not the band groups
    assert {d["tier"] for d in nodes.values()} == {1, 2, 3}
    tops = {t: min(float(d["y"]) for d in nodes.values() if d["tier"] == t) for t in (1, 2, 3)}
    assert tops[1] < tops[2] < tops[3]  # 1 = top
    assert nodes["cont.A4"]["kind"] == "continuation" and nodes["cont.A4"]["label"] == "A[4]"
    # an unwrapped picture writes no tier key at all
    plain = Diagram.template("two-layer-binary").render("graphml")
    assert b'attr.name="tier"' not in plain


def test_partial_views_values_shapes_steps_and_every_format_work_with_tiers(tmp_path: Path) -> None:
    d = Diagram.template("three-layer-logistic", values=True, shapes=True).with_options(wrap=1, backprop_to=2)
    assert d.stats().problems == 0
    assert d.stats().tiers == 3
    written = d.save(tmp_path, ["svg", "png", "graphml", "pdf", "html", "dot"])
    written += d.save(tmp_path, ["svg"], steps=True)
    assert len(written) == 10 and all(p.stat().st_size > 0 for p in written)
    first = ET.fromstring((tmp_path / "three-layer-logistic-1.svg").read_bytes())  # the forward pass alone
    assert {g.get("class") for g in first.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()} == {
        "node kind-input band-forward", "node kind-op band-forward", "node kind-param band-forward",
        "node kind-loss band-forward", "node kind-target band-forward", "node kind-continuation band-forward"}
    shown = d.with_options(show="forward,cache,backward")
    assert shown.stats().problems == 0 and shown.stats().edges["update"] == 0


def test_a_grammar_check_that_ignored_tiers_would_miss_tiers_that_touch() -> None:
    upper = [dataclasses.replace(box("a", 0, 0), tier=1), dataclasses.replace(box("b", 0, 40, band="backward"), tier=1)]
    lower = [dataclasses.replace(box("c", 0, 80), tier=2), dataclasses.replace(box("d", 0, 120, band="backward"),
                                                                                tier=2)]
    ok = measure(scene(upper + lower, []))
    assert ok.grammar_violations == () and ok.tiers == 2  # tier 2's forward under tier 1's backward is fine
    touching = [dataclasses.replace(n, y=n.y - 15) for n in lower]
    q = measure(scene(upper + touching, []))
    assert "tiers 1 and 2 overlap" in q.grammar_violations
    # without tiers the same boxes are interleaved bands
    flat = measure(scene([dataclasses.replace(n, tier=0) for n in upper + lower], []))
    assert "bands forward and backward interleave" in flat.grammar_violations


def test_text_points_scale_with_the_picture() -> None:
    assert text_points(14.0, 907.1) == 7.0
    assert text_points(14.0, 453.5) == 14.0


def test_wrap_errors_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    runner = CliRunner()
    for args, says in [(["-t", "three-layer-elementwise", "--wrap", "2"], "vectorized view only"),
                       (["-t", "expression-add-mul", "--wrap", "2"], "applies to networks"),
                       (["-t", "relu-mlp", "--wrap", "0"], "1 or more"),
                       (["-t", "relu-mlp", "--wrap", "many"], "or auto")]:
        result = runner.invoke(cli, ["render", *args, "-o", str(tmp_path)])
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "--wrap" in lines[0] and says in lines[0]
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 2\nlayers:\n  - {size: 1, activation: sigmoid}\nloss: bce\n"
                    "diagram:\n  view: elementwise\n  wrap: 2\n", encoding="utf-8")
    result = runner.invoke(cli, ["render", str(spec), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "net.yaml:7" in result.stderr and "diagram.wrap" in result.stderr
    assert not (tmp_path / "out").exists()
