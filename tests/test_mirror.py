"""Expressions drawn as a forward layout and its mirror (issue 11): geometry read back from the scene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bpdiagram import Diagram
from bpdiagram.cli import cli
from bpdiagram.layout.crossings import is_straight_line
from bpdiagram.layout.layering import rows_for, spans_for
from bpdiagram.layout.steps import step_scene

DOCS = Path(__file__).resolve().parent.parent / "docs" / "examples"

CEILINGS = {"cs231n-staged": 17, "micrograd-mlp": 103}
"""Crossings now (before the mirror: 29 and 742); a picture that gets worse fails."""


def diagrams() -> list[Diagram]:
    return [Diagram.load(DOCS / f"{name}.yaml") for name in CEILINGS] + \
        [Diagram.template(t) for t in ("expression-add-mul", "expression-sigmoid-neuron")]


@pytest.fixture(scope="module", params=["cs231n-staged", "micrograd-mlp", "expression-add-mul",
                                        "expression-sigmoid-neuron"])
def diagram(request: pytest.FixtureRequest) -> Diagram:
    name = request.param
    path = DOCS / f"{name}.yaml"
    return Diagram.load(path) if path.exists() else Diagram.template(name)


def test_no_problems(diagram: Diagram) -> None:
    q = diagram.stats()
    assert q.problems == 0, (q.grammar_violations, q.edges_through_nodes, q.overlapping_nodes, q.spilling_labels)
    assert q.misaligned == ()
    assert q.detours == ()


def test_crossings_ratchet(diagram: Diagram) -> None:
    stem = Path(diagram.spec.file).stem if diagram.spec.file else ""
    if stem in CEILINGS:
        assert diagram.stats().crossings <= CEILINGS[stem]


def test_backward_rules_stand_under_their_gates(diagram: Diagram) -> None:
    scene = diagram.layout
    boxes = {n.id: n for n in scene.nodes}
    ties = [e for e in scene.edges if e.kind == "derivative"]
    assert ties
    for e in ties:
        fwd, back = boxes[e.source], boxes[e.target]
        assert (fwd.x, fwd.w) == (back.x, back.w)  # same column, same width
        xs = {p[0] for p in e.points}
        assert len(xs) == 1  # a vertical tie
        assert fwd.y + fwd.h <= min(p[1] for p in e.points) + 0.01


def test_cache_drops_fall_straight_in_their_column(diagram: Diagram) -> None:
    scene = diagram.layout
    boxes = {n.id: n for n in scene.nodes}
    for e in scene.edges:
        if e.kind == "cache" and boxes[e.target].band == "cache":
            assert {p[0] for p in e.points} == {e.tip[0] if e.tip else e.points[-1][0]}
            src, kept = boxes[e.source], boxes[e.target]
            assert src.x <= kept.center[0] <= src.x + src.w


def test_backward_band_mirrors_forward_crossings() -> None:
    scene = Diagram.load(DOCS / "cs231n-staged.yaml").layout
    kinds = {e.id: e.kind for e in scene.edges}
    bands = {n.id: n.band for n in scene.nodes}
    src = {e.id: e.source for e in scene.edges}
    pair = [c for c in scene.crossings if kinds[c.over] == kinds[c.under]]
    forward = sum(1 for c in pair if kinds[c.over] == "forward")
    backward = sum(1 for c in pair if kinds[c.over] == "backward" and bands[src[c.over]] == "backward")
    # the mirror adds no crossing of its own (lines sharing a lane meet at the + instead of crossing there)
    assert 0 < backward <= forward


def test_every_gradient_sum_stands_in_its_variables_column() -> None:
    scene = Diagram.load(DOCS / "cs231n-staged.yaml").layout
    boxes = {n.id: n for n in scene.nodes}
    for var in ("x", "y"):
        plus, grad, value = boxes[f"sum.{var}"], boxes[f"grad.{var}"], boxes[f"var.{var}"]
        assert grad.x + grad.w <= plus.x  # the gradient beside its +
        assert plus.x + plus.w == pytest.approx(value.x + value.w)  # the + under the variable's right edge


def test_an_ops_new_inputs_stand_in_order_of_first_use() -> None:
    # x / w is the first to read x and w; w is read again by w − q, so it stands first, in the higher lane,
    # and x's short stub into x / w runs under it (x first, as the division writes them, made two jumps)
    scene = Diagram.load({"expression": "w - x / w", "values": {"w": 2, "x": 3}}).layout
    boxes = {n.id: n for n in scene.nodes}
    assert boxes["var.w"].x < boxes["var.x"].x
    assert boxes["var.w"].y < boxes["var.x"].y
    assert not [c for c in scene.crossings if c.needs_jump]


def test_rows_stack_so_nothing_waits_under_an_op() -> None:
    spans = spans_for({"x": 0, "a": 1, "b": 2, "c": 3}, {"x": ["a", "c"], "a": ["b"], "b": ["c"]})
    rows = rows_for(spans)
    assert rows["x"] > rows["a"] and rows["x"] > rows["b"]  # x waits above the chain it skips
    assert rows["a"] == rows["b"] == rows["c"] == 0


def test_jump_rule_straight_lines_of_one_kind_do_not_jump() -> None:
    scene = Diagram.template("three-layer-elementwise").layout
    by_id = {e.id: e for e in scene.edges}
    plain = [c for c in scene.crossings if not c.needs_jump]
    assert plain  # the weight fans cross each other
    for c in plain:
        a, b = by_id[c.over], by_id[c.under]
        branch = a.source == b.source or a.target == b.target  # one line leaving a bus's shared run
        assert a.kind == b.kind and (branch or (is_straight_line(a) and is_straight_line(b)))
    for c in scene.crossings:
        a, b = by_id[c.over], by_id[c.under]
        branch = a.kind == b.kind and (a.source == b.source or a.target == b.target)
        if (a.kind != b.kind or not is_straight_line(a) or not is_straight_line(b)) and not branch:
            assert c.needs_jump
    rule = sum(j.crossings for j in scene.jumps)
    every = sum(j.crossings for j in scene.every_jump)
    assert rule < every == len(scene.crossings)


def test_jumps_all_keeps_every_jump() -> None:
    d = Diagram.template("three-layer-elementwise", jumps="all")
    assert d.stats().jumps == d.stats().crossings
    assert Diagram.template("three-layer-elementwise").stats().jumps < d.stats().crossings


def test_steps_draw_no_jump_over_hidden_lines() -> None:
    d = Diagram.template("single-neuron")
    for k in range(1, 5):
        scene = step_scene(d.scene, k)
        shown = {e.id for e in scene.edges}
        assert all(c.over in shown and c.under in shown for c in scene.crossings)
        assert {j.edge for j in scene.drawn_jumps} <= shown
    assert step_scene(d.scene, 1).drawn_jumps == ()


def test_stats_reports_misaligned_and_detours() -> None:
    result = CliRunner().invoke(cli, ["stats", str(DOCS / "cs231n-staged.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["misaligned"] == 0 and data["detours"] == 0
    assert data["details"]["misaligned"] == [] and data["details"]["detours"] == []
    text = CliRunner().invoke(cli, ["stats", "-t", "single-neuron"]).output
    assert "misaligned" in text and "detours" in text
    assert "detours              0" in text  # the element-wise grid drops its cache lines straight down


def test_power_rule_reads_2t_and_constants_keep_nothing() -> None:
    d = Diagram.load({"expression": "(x + y) ** 2 * 3", "values": {"x": 1, "y": 2}})
    labels = [d.graph.nodes[n]["plain"] for n in d.graph.nodes]
    assert any("dq = 2q · dr" in label for label in labels), labels
    assert not any("q¹" in label or "· q^" in label for label in labels)
    # r · 3 reads only the constant: nothing of r is cached; q² reads q: q is
    cached = {d.graph.nodes[n]["mirror"] for n in d.graph.nodes if d.graph.nodes[n]["kind"] == "cached"}
    assert [d.graph.nodes[n]["plain"].split(" = ")[0] for n in cached] == ["q"]


def test_one_naming_scheme_with_subscripts() -> None:
    terms = " + ".join(f"tanh(w{k} * x + b{k})" for k in range(1, 5))
    values = {"x": 1.0} | {f"w{k}": 0.5 for k in range(1, 5)} | {f"b{k}": 0.1 for k in range(1, 5)}
    d = Diagram.load({"expression": terms, "values": values})
    names = [d.graph.nodes[n]["label"].split(" = ")[0] for n in d.graph.nodes if d.graph.nodes[n]["kind"] == "op"]
    assert "f" in names
    others = [n for n in names if n != "f"]
    assert all(n.startswith("q_{") for n in others), others  # q₁ … q₁₄, never a mix with r, s, …


def test_reflected_rows_cross_less_than_translated_rows() -> None:
    from bpdiagram.layout.crossings import find_crossings
    from bpdiagram.layout.label_boxes import measure_labels
    from bpdiagram.layout.mirror import mirror_layout

    model = Diagram.load(DOCS / "cs231n-staged.yaml").model
    m0 = measure_labels(model)
    counts = []
    for reflect in (True, False):
        m = mirror_layout(model, m0.texts, m0.sizes, m0.edge_texts, left=0.0, top=0.0, reflect=reflect,
                          edge_id=m0.ids.__getitem__)
        counts.append(len(find_crossings([m.routes[e] for e in m0.order], list(m.nodes.values()))))
    assert counts[0] < counts[1]
