"""The element-wise view and the single neuron: labels, counts, partial views, the size limit, the picture."""

from __future__ import annotations

import dataclasses
import itertools
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.errors import SpecError
from bpdiagram.model.build import build_graph
from bpdiagram.model.catalogue import ACTIVATION_OPS, FUSED_OPS, LOSS_OPS
from bpdiagram.model.notation import Symbols, UnitSymbols
from bpdiagram.options import ACTIVATIONS, LOSSES
from bpdiagram.richtext import plain
from bpdiagram.spec import Spec, load_spec, spec_from_text
from bpdiagram.spec.network import (
    ELEMENTWISE_MAX_LAYERS,
    ELEMENTWISE_MAX_UNITS,
    ELEMENTWISE_MAX_WEIGHTS,
    OUTPUT_RANGE,
    NetworkSpec,
)
from bpdiagram.template_files import template_path
from tests.geometry import Box, Line, grammar_violations, read
from tests.narrow import as_network


def network(sizes: list[int], activations: list[str], loss: str, **diagram: Any) -> NetworkSpec:
    layers = [{"size": n, "activation": a} for n, a in zip(sizes[1:], activations, strict=True)]
    return as_network(load_spec({"input": sizes[0], "layers": layers, "loss": loss,
                                 "diagram": {"view": "elementwise", **diagram}}))


def labels(g: nx.MultiDiGraph) -> dict[str, str]:
    return {n: d["plain"] for n, d in g.nodes(data=True)}


def edges(g: nx.MultiDiGraph, kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, k in g.edges(keys=True) if k == kind}


def with_diagram(spec: Spec, **diagram: Any) -> NetworkSpec:
    network = as_network(spec)
    return dataclasses.replace(network, diagram=dataclasses.replace(network.diagram, **diagram))


# -- the single neuron: the four-diagram explanation's building block ---------------------

def test_single_neuron_reads_like_course_notes() -> None:
    g = build_graph(load_spec(template_path("single-neuron"))).to_networkx()
    lab = labels(g)
    assert lab["z1_1"] == "z[1] = Σi wi[1] xi + b[1]"  # the weighted sum (one unit: no unit index)
    assert lab["a1_1"] == "a[1] = σ(z[1])"  # the activation, O
    assert lab["loss"] == "J = (1/2m) Σ (a[1] − y)²"  # mse: ½ (O − y)² for one example
    # the general chain: ∂c/∂O, then σ′, then the weight gradient a_i · σ′ · ∂c/∂O
    assert lab["dz1_1"] == "da[1] = a[1] − y / dz[1] = da[1] · a[1] (1 − a[1])"
    assert lab["dw1_1"] == "dwi[1] = (1/m) Σ dz[1] xi / db[1] = (1/m) Σ dz[1]"
    assert lab["w1_1"] == "wi[1], b[1]"
    assert [lab[f"input_{i}"] for i in (1, 2, 3)] == ["x1", "x2", "x3"]
    assert lab["target_1"] == "y"
    assert edges(g, "forward") == {("input_1", "z1_1"), ("input_2", "z1_1"), ("input_3", "z1_1"),
                                   ("w1_1", "z1_1"), ("z1_1", "a1_1"), ("a1_1", "loss"), ("target_1", "loss")}
    assert edges(g, "backward") == {("loss", "dz1_1"), ("dz1_1", "dw1_1")}
    assert edges(g, "update") == {("dw1_1", "w1_1")}
    assert edges(g, "derivative") == {("z1_1", "dw1_1"), ("a1_1", "dz1_1"), ("loss", "dz1_1")}
    # kept: the inputs for dw, a for σ′ and the loss's gradient, y for the loss's gradient
    assert lab["cache.input"] == "x1…3" and lab["cache.a1"] == "a[1]" and lab["cache.target"] == "y"
    assert edges(g, "cache") == {
        ("input_1", "cache.input"), ("input_2", "cache.input"), ("input_3", "cache.input"),
        ("cache.input", "dw1_1"), ("a1_1", "cache.a1"), ("cache.a1", "dz1_1"),
        ("target_1", "cache.target"), ("cache.target", "dz1_1")}


def test_fused_output_is_one_line() -> None:
    g = build_graph(network([2, 3, 2], ["tanh", "sigmoid"], "bce")).to_networkx()
    lab = labels(g)
    assert lab["dz2_2"] == "dz2[2] = a2[2] − y2"
    assert lab["dz1_3"] == "da3[1] = Σj wj3[2] dzj[2] / dz3[1] = da3[1] · (1 − a3[1]²)"
    assert lab["z2_1"] == "z1[2] = Σi w1i[2] ai[1] + b1[2]"
    assert lab["loss"] == "J = −(1/m) Σ Σj [yj log aj[2] / + (1 − yj) log(1 − aj[2])]"


def test_unit_and_vectorized_formulas_agree_on_a_single_unit() -> None:
    """One unit per layer: the element-wise rule is the vectorized one in lower case."""
    vec, unit = Symbols("dls", "X", "Y"), UnitSymbols("dls", (1, 1), "X", "Y")

    def same(vectorized: str, elementwise: str) -> None:
        assert plain(unit.render(elementwise, 1, 1)) == plain(vec.render(vectorized, 1)).lower()

    for name in ACTIVATIONS:
        if name != "softmax":  # a sum over the units, written out per unit
            same(ACTIVATION_OPS[name].forward, ACTIVATION_OPS[name].unit_forward)
    for loss in LOSSES:
        same(LOSS_OPS[loss].derivative, LOSS_OPS[loss].unit_derivative)
    for fused in FUSED_OPS.values():
        same(fused.derivative, fused.unit_derivative)


@pytest.mark.parametrize(("notation", "sizes", "row", "col", "expected"), [
    ("dls", (3, 12, 12), 12, "i", "w12,i[2]"),  # a two-digit unit: the indices are separated
    ("dls", (3, 4, 1), 1, "i", "wi[2]"),        # one unit in layer 2: no row index
    ("dls", (3, 1, 5), 4, 1, "w4[2]"),          # one unit in layer 1: no column index
    ("dls", (1, 4, 5), 1, 2, "w12[2]"),         # both single digits: written together
    ("cs231n", (3, 12, 4), 3, "i", "w2,3,i"),
])
def test_weight_subscripts(notation: str, sizes: tuple[int, ...], row: int | str, col: int | str,
                           expected: str) -> None:
    sym = UnitSymbols(notation, sizes)  # type: ignore[arg-type]
    assert plain(sym.weight("w", 2, row, col)) == expected


def test_cs231n_and_names() -> None:
    spec = load_spec({"input": {"name": "x", "size": 2}, "layers": [{"size": 2, "activation": "relu"}],
                      "loss": "sse", "target": "Targets",
                      "diagram": {"view": "elementwise", "notation": "cs231n"}})
    lab = labels(build_graph(spec).to_networkx())
    assert lab["z1_2"] == "z1,2 = Σi w1,2,i xi + b1,2"
    assert lab["target_2"] == "Targets2"  # longer names are kept as given
    assert lab["loss"] == "L = Σ Σj (a1,j − Targetsj)²"


def test_input_and_target_never_look_the_same() -> None:
    """Lower case would write both input x and target X as x_i: then both keep their names."""
    spec = load_spec({"input": {"name": "x", "size": 2}, "layers": [{"size": 2, "activation": "linear"}],
                      "loss": "mse", "target": "X", "diagram": {"view": "elementwise"}})
    lab = labels(build_graph(spec).to_networkx())
    assert (lab["input_1"], lab["target_1"]) == ("x1", "X1")


# -- counts: one node per unit, one edge per weight ----------------------------------------

@pytest.mark.parametrize("sizes", [[3, 4, 3, 1], [1, 1], [5, 2, 6], [2, 7, 1, 3]])
def test_one_node_per_unit_and_one_edge_per_weight(sizes: list[int]) -> None:
    L = len(sizes) - 1
    g = build_graph(network(sizes, ["tanh"] * (L - 1) + ["linear"], "mse")).to_networkx()
    ids = set(g.nodes)
    for layer in range(L + 1):
        for prefix in (["input_"] if layer == 0 else [f"{p}{layer}_" for p in ("z", "a", "w", "dz", "dw")]):
            assert len({n for n in ids if n.startswith(prefix)}) == sizes[layer], prefix
        assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "op" and d["layer"] == layer) == \
            (2 * sizes[layer] if layer else 0)
    assert len({n for n in ids if n.startswith("target_")}) == sizes[-1]
    forward, backward = edges(g, "forward"), edges(g, "backward")
    for layer in range(1, L + 1):
        into = {(u, v) for u, v in forward if v.startswith(f"z{layer}_") and not u.startswith("w")}
        assert len(into) == sizes[layer - 1] * sizes[layer]
        if layer > 1:
            down = {(u, v) for u, v in backward if u.startswith(f"dw{layer}_") and v.startswith(f"dz{layer - 1}_")}
            assert len(down) == sizes[layer - 1] * sizes[layer]
    for n, data in g.nodes(data=True):
        assert data["band"] in {"forward", "cache", "backward"}
        if data["kind"] == "op":
            assert any(k == "derivative" for _, _, k in g.out_edges(n, keys=True)), n
        if data["kind"] == "cached":
            assert g.in_degree(n) >= 1 and g.out_degree(n) >= 1, n


@pytest.mark.parametrize("k", [1, 2, 3])
def test_backprop_to_draws_exactly_the_layers_asked_for(k: int) -> None:
    spec = with_diagram(load_spec(template_path("three-layer-elementwise")), backprop_to=k)
    g = build_graph(spec).to_networkx()
    sizes = (3, 4, 3, 1)
    grads = {n for n, d in g.nodes(data=True) if d["band"] == "backward"}
    assert grads == {f"{p}{layer}_{j}" for layer in range(k, 4) for j in range(1, sizes[layer] + 1)
                     for p in ("dz", "dw")}
    assert edges(g, "update") == {(f"dw{layer}_{j}", f"w{layer}_{j}") for layer in range(k, 4)
                                  for j in range(1, sizes[layer] + 1)}
    # the lowest drawn layer hands no gradient further down, and forward ops below it have no partner
    assert not any(v.startswith(f"dz{k - 1}_") for _, v in edges(g, "backward"))
    linked = {u for u, _ in edges(g, "derivative")}
    assert all(int(n[1]) >= k for n in linked if n != "loss")
    # the weights of layer k are not kept: nothing below it reads them
    assert f"cache.w{k}" not in g and all(f"cache.w{layer}" in g for layer in range(k + 1, 4))


def test_show_hides_kinds_and_their_nodes() -> None:
    spec = load_spec(template_path("three-layer-elementwise"))
    g = build_graph(with_diagram(spec, show=("forward",))).to_networkx()
    assert {d["band"] for _, d in g.nodes(data=True)} == {"forward"}
    assert {k for _, _, k in g.edges(keys=True)} == {"forward"}
    g = build_graph(with_diagram(spec, show=("forward", "backward", "update"))).to_networkx()
    assert {d["band"] for _, d in g.nodes(data=True)} == {"forward", "backward"}
    assert {k for _, _, k in g.edges(keys=True)} == {"forward", "backward", "update"}


# -- the limit: refused in validation, before anything is built ----------------------------

def _spec_text(sizes: list[int]) -> str:
    layers = "".join(f"  - {{size: {n}, activation: tanh}}\n" for n in sizes[1:])
    return f"input: {sizes[0]}\nlayers:\n{layers}loss: mse\ndiagram:\n  view: elementwise\n"


@pytest.mark.parametrize(("sizes", "line", "message"), [
    ([2, 3, ELEMENTWISE_MAX_UNITS + 1, 1], 4, f"layers[2].size: {ELEMENTWISE_MAX_UNITS + 1} units; the element-wise "
                                              f"view draws at most {ELEMENTWISE_MAX_UNITS} units a layer"),
    ([40, 3], 1, "input: 40 units"),
    ([30, 30, 30, 30], 8, f"diagram.view: the network has 2700 weights; the element-wise view draws at most "
                          f"{ELEMENTWISE_MAX_WEIGHTS}"),
    ([1] * (ELEMENTWISE_MAX_LAYERS + 2), 2, f"layers: {ELEMENTWISE_MAX_LAYERS + 1} layers"),
])
def test_too_big_is_one_located_error(sizes: list[int], line: int, message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_text(_spec_text(sizes), file="big.yaml")
    text = str(info.value)
    assert text.startswith(f"big.yaml:{line}: ") and message in text, text
    assert "use diagram.view: vectorized" in text and "\n" not in text


def test_the_limits_themselves_are_drawn() -> None:
    widest = [ELEMENTWISE_MAX_UNITS, min(ELEMENTWISE_MAX_UNITS, ELEMENTWISE_MAX_WEIGHTS // ELEMENTWISE_MAX_UNITS)]
    spec_from_text(_spec_text([16, 16, 16, 1]), file="ok.yaml")  # the benchmark's networks
    spec_from_text(_spec_text([32, 32, 15, 1]), file="ok.yaml")
    spec_from_text(_spec_text(widest), file="ok.yaml")
    spec_from_text(_spec_text([1] * (ELEMENTWISE_MAX_LAYERS + 1)), file="ok.yaml")
    # the vectorized view of the same network is not limited
    spec_from_text(_spec_text([40, 3]).replace("elementwise", "vectorized"), file="ok.yaml")


def test_a_million_units_is_refused_at_once(tmp_path: Path) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text(_spec_text([4, 1_000_000, 1]), encoding="utf-8")
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["render", str(spec), "-o", str(tmp_path / "out")])
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {spec}:3: layers[1].size: 1000000 units;")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert elapsed < 0.5, f"took {elapsed:.2f} s"


# -- the picture -----------------------------------------------------------------------------

def _segment_hits(a: tuple[float, float], b: tuple[float, float], box: Box) -> bool:
    """Whether segment a–b passes through the inside of ``box`` (1 px in from its outline)."""
    x0, y0 = a
    dx, dy = b[0] - x0, b[1] - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x - 1), (dx, box.x + box.w - 1 - x0), (-dy, y0 - box.y - 1),
                 (dy, box.y + box.h - 1 - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        lo, hi = (max(lo, t), hi) if p < 0 else (lo, min(hi, t))
        if lo > hi:
            return False
    return True


def edges_through_boxes(boxes: dict[str, Box], lines: list[Line]) -> list[str]:
    """Every edge that runs through a box other than its own two ends."""
    out = []
    for line in lines:
        others = [b for b in boxes.values() if b.id not in (line.source, line.target) and b.kind != "legend"]
        for a, b in itertools.pairwise(line.points):
            hit = next((box.id for box in others if _segment_hits(a, b, box)), None)
            if hit:
                out.append(f"{line.kind} {line.source}->{line.target} runs through {hit}")
                break
    return out


VARIANTS: list[dict[str, Any]] = [{}, {"notation": "cs231n", "simplify": "false"},
                                  {"show": ("forward", "backward", "update")}]


@pytest.mark.graphviz
@pytest.mark.parametrize(("name", "variant"), [("single-neuron", v) for v in VARIANTS] + [
    ("three-layer-elementwise", v) for v in [*VARIANTS, {"backprop_to": 2}, {"backprop_to": 3}]])
def test_templates_hold_the_grammar(name: str, variant: dict[str, Any]) -> None:
    spec = load_spec(template_path(name))
    boxes, lines = read(Diagram(with_diagram(spec, **variant), shapes=True).render("graphml"))
    violations = grammar_violations(boxes, lines)
    if "backprop_to" in variant or "show" in variant:
        violations = [v for v in violations if "no derivative link" not in v]
    assert violations == []
    assert edges_through_boxes(boxes, lines) == []


def _combinations() -> list[tuple[str, str, str, str]]:
    """Every output activation × loss × simplify the spec accepts, with a hidden activation in turn."""
    hidden = itertools.cycle([a for a in ACTIVATIONS if a != "softmax"])
    return [(next(hidden), out, loss, simplify)
            for out, loss, simplify in itertools.product(ACTIVATIONS, LOSSES, ("auto", "false"))
            if out in OUTPUT_RANGE[loss] and (out != "softmax" or loss == "ce")]


@pytest.mark.graphviz
@pytest.mark.parametrize(("hidden", "out", "loss", "simplify"), _combinations())
def test_unseen_networks_hold_the_grammar(hidden: str, out: str, loss: str, simplify: str) -> None:
    spec = network([2, 2, 3 if out == "softmax" else 2], [hidden, out], loss, simplify=simplify)
    boxes, lines = read(Diagram(spec).render("graphml"))
    assert grammar_violations(boxes, lines) == []
    assert edges_through_boxes(boxes, lines) == []
    assert {line.kind for line in lines} == {"forward", "cache", "backward", "update", "derivative"}


@pytest.mark.graphviz
def test_units_stack_in_columns_and_bands_in_rows() -> None:
    """Units of a layer stand in one column, unit 1 on top; each backward op under its forward op."""
    boxes, _ = read(Diagram.template("three-layer-elementwise").render("graphml"))
    for layer, n in ((1, 4), (2, 3)):
        for prefix, partner in (("z", "dw"), ("a", "dz")):
            column = [boxes[f"{prefix}{layer}_{j}"] for j in range(1, n + 1)]
            assert len({round(b.cx) for b in column}) == 1
            assert [b.cy for b in column] == sorted(b.cy for b in column)
            assert all(abs(boxes[f"{partner}{layer}_{j}"].cx - column[0].cx) < 1 for j in range(1, n + 1))
    assert boxes["z1_1"].cx < boxes["a1_1"].cx < boxes["z2_1"].cx < boxes["a2_1"].cx < boxes["loss"].cx


@pytest.mark.graphviz
@pytest.mark.parametrize("name", ["three-layer-elementwise", "single-neuron"])
def test_cli_renders_the_templates(name: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", "-t", name, "-o", str(tmp_path), "-f", "svg,png,graphml"])
    assert result.exit_code == 0, result.stderr
    d = Diagram.template(name)
    svg = (tmp_path / f"{name}.svg").read_bytes()
    assert svg == d.render("svg")
    root = ET.fromstring(svg)
    assert root.get("viewBox") and len(root.findall(".//{*}g[@class]")) > 10
    png = (tmp_path / f"{name}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (round(2 * d.scene.width), round(2 * d.scene.height))
    g = nx.read_graphml(tmp_path / f"{name}.graphml")
    assert set(g.nodes) == set(d.graph.nodes) | {"legend", "band.forward", "band.cache", "band.backward"}


@pytest.mark.graphviz
def test_a_bus_stays_dashed_where_its_edges_overlap() -> None:
    """Edges gathering into one cache node along one lane have their dash patterns in phase at the end."""
    from bpdiagram.layout.orthogonal import path_length
    from bpdiagram.style import EDGE_STYLES

    scene = Diagram.template("three-layer-elementwise").scene
    period = sum(float(v) for v in EDGE_STYLES["cache"].dash.split())
    for cache in ("cache.input", "cache.a1", "cache.z1", "cache.w2"):
        gathering = [e for e in scene.edges if e.target == cache]
        assert len(gathering) >= 3, cache
        for edge in gathering:
            phase = path_length(edge.points) % period
            assert min(phase, period - phase) < 0.1, (edge.source, cache, phase)
        # and they do share their last stretch: the same end, the same lane
        assert len({e.points[-1] for e in gathering}) == 1
