"""The model graph: DESIGN's worked example, edge by edge, and the diagram options."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from bpdiagram.model.build import build_graph
from bpdiagram.spec import ExpressionSpec, load_spec
from bpdiagram.spec.network import NetworkSpec
from bpdiagram.template_files import template_path


def spec_of(name: str, **diagram: Any) -> NetworkSpec | ExpressionSpec:
    import dataclasses

    spec = load_spec(template_path(name))
    if isinstance(spec, ExpressionSpec):
        return spec
    return dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, **diagram))


def edges(g: nx.MultiDiGraph, kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, k in g.edges(keys=True) if k == kind}


def labels(g: nx.MultiDiGraph) -> dict[str, str]:
    return {n: d["plain"] for n, d in g.nodes(data=True)}


def test_default_template_is_the_worked_example() -> None:
    g = build_graph(spec_of("two-layer-binary")).to_networkx()
    lab = labels(g)
    assert lab["Z1"] == "Z[1] = W[1]X + b[1]"
    assert lab["A1"] == "A[1] = tanh(Z[1])"
    assert lab["Z2"] == "Z[2] = W[2]A[1] + b[2]"
    assert lab["A2"] == "A[2] = σ(Z[2])"
    assert lab["loss"] == "J = −(1/m) Σ [Y log A[2] / + (1 − Y) log(1 − A[2])]"
    assert lab["dZ2"] == "dZ[2] = A[2] − Y"
    assert lab["dW2"] == "dW[2] = (1/m) dZ[2] A[1]ᵀ / db[2] = (1/m) Σ dZ[2] / dA[1] = W[2]ᵀ dZ[2]"
    assert lab["dZ1"] == "dZ[1] = dA[1] ⊙ (1 − A[1]²)"
    assert lab["dW1"] == "dW[1] = (1/m) dZ[1] Xᵀ / db[1] = (1/m) Σ dZ[1]"
    assert edges(g, "forward") == {("input", "Z1"), ("W1", "Z1"), ("Z1", "A1"), ("A1", "Z2"), ("W2", "Z2"),
                                   ("Z2", "A2"), ("A2", "loss"), ("target", "loss")}
    # cache: A[2] and Y for dZ[2]; A[1] for dW[2] and dZ[1]; W[2] for dA[1]; X for dW[1]
    assert edges(g, "cache") == {
        ("A2", "cache.A2"), ("cache.A2", "dZ2"), ("target", "cache.target"), ("cache.target", "dZ2"),
        ("A1", "cache.A1"), ("cache.A1", "dW2"), ("cache.A1", "dZ1"), ("W2", "cache.W2"), ("cache.W2", "dW2"),
        ("input", "cache.input"), ("cache.input", "dW1")}
    assert edges(g, "backward") == {("loss", "dZ2"), ("dZ2", "dW2"), ("dW2", "dZ1"), ("dZ1", "dW1")}
    assert edges(g, "update") == {("dW1", "W1"), ("dW2", "W2")}
    assert edges(g, "derivative") == {("Z1", "dW1"), ("A1", "dZ1"), ("Z2", "dW2"), ("A2", "dZ2"), ("loss", "dZ2")}


def test_general_chain_starts_with_dA() -> None:
    g = build_graph(spec_of("two-layer-binary-general")).to_networkx()
    lab = labels(g)
    assert lab["dA2"] == "dA[2] = −Y / A[2] + (1 − Y) / (1 − A[2])"
    assert lab["dZ2"] == "dZ[2] = dA[2] ⊙ A[2] ⊙ (1 − A[2])"
    assert ("loss", "dA2") in edges(g, "backward")
    assert ("dA2", "dZ2") in edges(g, "backward")
    assert ("loss", "dA2") in edges(g, "derivative")


def test_every_node_has_kind_band_layer_label(template: str) -> None:
    g = build_graph(spec_of(template)).to_networkx()
    for _, data in g.nodes(data=True):
        assert data["kind"] in {"input", "target", "param", "op", "loss", "cached", "grad", "sum"}
        assert data["band"] in {"forward", "cache", "backward"}
        assert isinstance(data["layer"], int)
        assert data["plain"]
    for node, data in g.nodes(data=True):
        if data["kind"] == "op":
            assert any(k == "derivative" for _, _, k in g.out_edges(node, keys=True)), node


def test_cs231n_notation() -> None:
    lab = labels(build_graph(spec_of("relu-mlp")).to_networkx())
    assert lab["Z1"] == "Z1 = W1x + b1"
    assert lab["dZ1"] == "dZ1 = dA1 ⊙ [Z1 > 0]"
    assert lab["loss"].startswith("L = ")


@pytest.mark.parametrize("k", [1, 2, 3])
def test_backprop_to_draws_exactly_the_layers_asked_for(k: int) -> None:
    g = build_graph(spec_of("three-layer-logistic", backprop_to=k)).to_networkx()
    grads = {n for n, d in g.nodes(data=True) if d["band"] == "backward"}
    assert grads == {f"dZ{layer}" for layer in range(k, 4)} | {f"dW{layer}" for layer in range(k, 4)}
    assert edges(g, "update") == {(f"dW{layer}", f"W{layer}") for layer in range(k, 4)}
    # the lowest drawn layer hands no gradient further down
    assert "dA" not in labels(g)[f"dW{k}"]


def test_show_hides_kinds_and_their_nodes() -> None:
    g = build_graph(spec_of("two-layer-binary", show=("forward",))).to_networkx()
    assert {d["band"] for _, d in g.nodes(data=True)} == {"forward"}
    assert {k for _, _, k in g.edges(keys=True)} == {"forward"}
    g = build_graph(spec_of("two-layer-binary", show=("forward", "backward", "update"))).to_networkx()
    assert {d["band"] for _, d in g.nodes(data=True)} == {"forward", "backward"}
    assert {k for _, _, k in g.edges(keys=True)} == {"forward", "backward", "update"}
