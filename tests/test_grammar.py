"""The visual grammar holds on the GraphML geometry of every template and of variants."""

from __future__ import annotations

import dataclasses
from typing import Any

import networkx as nx
import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.spec import load_spec
from tests.conftest import EXPRESSION_TEMPLATES
from tests.geometry import grammar_violations, group_id, read
from tests.narrow import as_network

pytestmark = pytest.mark.graphviz


def test_template_grammar(template: str) -> None:
    boxes, lines = read(Diagram.template(template).render("graphml"))
    assert grammar_violations(boxes, lines) == []
    kinds = {line.kind for line in lines}
    expected = {"forward", "cache", "backward", "update", "derivative"}
    if template in EXPRESSION_TEMPLATES:
        expected.remove("update")  # an expression has no parameters to update
    assert kinds == expected


@pytest.mark.parametrize("variant", [
    {"backprop_to": 2}, {"backprop_to": 3}, {"notation": "cs231n"}, {"simplify": "false"},
    {"show": ("forward", "backward", "update")},
])
def test_variant_grammar(variant: dict[str, Any]) -> None:
    d = Diagram.template("three-layer-logistic")
    network = as_network(d.spec)
    spec = dataclasses.replace(network, diagram=dataclasses.replace(network.diagram, **variant))
    boxes, lines = read(Diagram(spec, shapes=True).render("graphml"))
    violations = grammar_violations(boxes, lines)
    # ops below layer k have no backward partner in a partial view; hidden links are not drawn
    if "backprop_to" in variant or "show" in variant:
        violations = [v for v in violations if "no derivative link" not in v]
    assert violations == []


@pytest.mark.parametrize("layers", [
    [{"size": 3, "activation": "sigmoid"}],
    [{"size": 3, "activation": "leaky_relu"}, {"size": 2, "activation": "linear"}],
    [{"size": 5, "activation": "relu"}] * 5 + [{"size": 4, "activation": "softmax"}],
])
@pytest.mark.parametrize("simplify", ["auto", "false"])
def test_unseen_networks_hold_the_grammar(layers: list[dict[str, object]], simplify: str) -> None:
    out = layers[-1]["activation"]
    loss = {"sigmoid": "bce", "linear": "sse", "softmax": "ce"}[str(out)]
    spec = load_spec({"input": 3, "layers": layers, "loss": loss, "diagram": {"simplify": simplify}})
    boxes, lines = read(Diagram(spec).render("graphml"))
    assert grammar_violations(boxes, lines) == []


def test_graphml_reads_with_networkx(template: str, tmp_path: object) -> None:
    d = Diagram.template(template)
    path = d.save(str(tmp_path), ["graphml"])[0]
    g = nx.read_graphml(path)  # networkx flattens yEd's nested band graphs
    model = d.graph
    bands = {group_id(n.band, n.tier): (n.band, n.tier) for n in d.scene.nodes}
    # the model's nodes (and a wrapped picture's continuations), the legend, the band groups
    assert set(g.nodes) == {n.id for n in d.scene.nodes} | {"legend"} | set(bands)
    assert set(g.nodes) >= set(model.nodes)
    for group, (band, tier) in bands.items():
        assert g.nodes[group]["kind"] == "band" and g.nodes[group]["band"] == band
        assert g.nodes[group].get("tier", 0) == tier
    assert g.number_of_edges() == len(d.scene.edges) >= model.number_of_edges()
    for n, data in model.nodes(data=True):
        assert g.nodes[n]["kind"] == data["kind"]
        assert g.nodes[n]["band"] == data["band"]
        assert g.nodes[n]["layer"] == data["layer"]
        assert g.nodes[n]["label"] == data["plain"]
    assert sorted(k for _, _, k in g.edges(data="kind")) == sorted(e.kind for e in d.scene.edges)


def test_ids_are_unique(template: str) -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(Diagram.template(template).render("graphml"))
    ids = [el.get("id") for el in root.iter() if el.tag.endswith(("}node", "}edge"))]
    assert len(ids) == len(set(ids))
