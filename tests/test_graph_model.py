"""The typed model (``model/graph.py``): frozen, ordered as networkx orders the same graph, and convertible.

Every layout breaks ties by the model's edge order, and the pictures were
measured with networkx's order; ``GraphBuilder`` promises the same order for
a graph built the same way. networkx itself is the oracle here.
"""

from __future__ import annotations

import dataclasses
import random

import networkx as nx
import pytest

from bpdiagram import Diagram
from bpdiagram.model.graph import Edge, GraphBuilder, Node
from bpdiagram.template_files import template_names


def _node(n: str) -> Node:
    return Node(n, "op", "forward", "ops", 1.0, 1, n, n)


@pytest.mark.parametrize("seed", range(20))
def test_edges_come_in_the_order_networkx_gives_the_same_graph(seed: int) -> None:
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(rng.randint(2, 9))]
    ours, theirs = GraphBuilder(), nx.MultiDiGraph()
    added = 0
    for step in range(60):
        if added < len(ids) and (step % 3 == 0 or not added):  # nodes keep arriving between the edges
            ours.add_node(_node(ids[added]))
            theirs.add_node(ids[added])
            added += 1
            continue
        u, v = rng.choice(ids[:added]), rng.choice(ids[:added])
        key = rng.choice(["forward", "backward", "cache"])
        ours.add_edge(Edge(u, v, key, "forward"))
        theirs.add_edge(u, v, key=key)
    graph = ours.freeze(view="vectorized", title="", rows=("ops",), notation="dls")
    assert [e.ends for e in graph.edges] == list(theirs.edges(keys=True))
    for n in graph.nodes:
        assert [e.ends for e in graph.out_edges(n)] == list(theirs.out_edges(n, keys=True))
        assert sorted(e.ends for e in graph.in_edges(n)) == sorted(theirs.in_edges(n, keys=True))


@pytest.mark.parametrize("name", template_names())
def test_the_networkx_copy_holds_the_model_whole(name: str) -> None:
    d = Diagram.template(name)
    model, g = d.model, d.graph
    assert list(g.nodes) == list(model.nodes)
    assert [(u, v, k) for u, v, k in g.edges(keys=True)] == [e.ends for e in model.edges]
    for node in model:
        data = g.nodes[node.id]
        assert (data["kind"], data["band"], data["row"], data["layer"], data["label"]) == \
            (node.kind, node.band, node.row, node.layer, node.label)
    for edge in model.edges:
        assert g.edges[edge.ends]["kind"] == edge.kind and g.edges[edge.ends]["label"] == edge.label
    assert g.graph["title"] == model.title and tuple(g.graph["rows"]) == model.rows
    assert g.graph["view"] == model.view


def test_the_model_is_frozen() -> None:
    model = Diagram.template("two-layer-binary").model
    node = next(iter(model))
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.label = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.edges[0].kind = "update"  # type: ignore[misc]
    with pytest.raises(TypeError):  # the node table and the band titles are read-only views
        model.nodes["extra"] = node  # type: ignore[index]
    with pytest.raises(TypeError):
        model.band_titles["cache"] = "changed"  # type: ignore[index]


def test_an_edge_needs_both_its_nodes() -> None:
    b = GraphBuilder()
    b.add_node(_node("a"))
    with pytest.raises(KeyError, match="not in the graph"):
        b.add_edge(Edge("a", "b", "forward", "forward"))
