"""Numbers on the diagram: labels hold the numeric pass's arrays, aligned, and the picture stays sound."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.layout.text import text_width
from bpdiagram.model import array_labels
from bpdiagram.model.build import BuildOptions, build_graph
from bpdiagram.model.numeric_pass import run
from bpdiagram.richtext import plain_lines
from bpdiagram.spec import Spec, load_spec
from bpdiagram.template_files import template_path
from tests.conftest import CONV_TEMPLATES, VECTORIZED_TEMPLATES
from tests.geometry import grammar_violations, read
from tests.narrow import as_network
from tests.test_writers import assert_labels_inside

HAND = {"input": 1, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce",
        "values": {"X": [[1, 2]], "W1": [[0.5]], "b1": [[-0.5]], "Y": [[1, 0]]}}
"""The hand-derived network of test_numeric: J = 0.8336…, dZ = [−0.5, 0.6225], dW = 0.3725, db = 0.0612."""


def labels(spec: Spec, *, shapes: bool = False, values: bool = False) -> dict[str, list[str]]:
    g = build_graph(as_network(spec), BuildOptions(shapes=shapes, values=values)).to_networkx()
    return {n: plain_lines(d["label"]) for n, d in g.nodes(data=True)}


# --- formatting ----------------------------------------------------------------------------------------


def test_entries_are_right_aligned_in_columns_with_a_real_minus() -> None:
    rows, factor = array_labels.matrix_rows(np.array([[0.5, -12.25], [-1.0, 3.0], [10.25, 0.0]]))
    assert factor == ""
    # a figure space is one digit wide, figure + thin space one minus sign
    assert [r.replace(array_labels.FIGURE_SPACE, " ").replace("\u2009", "") for r in rows] == \
        ["  0.50  −12.25", " −1.00    3.00", " 10.25    0.00"]
    widths = {round(text_width(r, 14.0), 1) for r in rows}
    assert len(widths) == 1  # every row as wide as the others: columns line up when centred
    assert "-" not in "".join(rows)


@pytest.mark.parametrize(("array", "expected"), [
    ([[1.0, 0.0, 1.0]], ["(1, 3)", "1  0  1"]),  # whole numbers: no decimals
    ([[0.1234, -0.0012]], ["(1, 2)", "0.123  −0.001"]),  # below 1: three digits of the largest entry
    ([[0.01234, 0.002]], ["(1, 2)", "0.0123  0.0020"]),
    ([[2.5e-7, -1e-6]], ["(1, 2) ×10^{−6}", "0.25  −1.00"]),  # a vanishing gradient keeps its digits
    ([[123456.0]], ["(1, 1) ×10^{5}", "1.23"]),
])
def test_number_formats(array: list[list[float]], expected: list[str]) -> None:
    text = array_labels.block(np.array(array))
    squeeze = [" ".join(line.replace(array_labels.FIGURE_SPACE, " ").replace("\u2009", "").split()) for line in
               text.split("\n")]
    assert squeeze == [" ".join(e.split()) for e in expected]


def test_large_arrays_show_shape_and_summary() -> None:
    a = np.arange(40.0).reshape(8, 5) - 10
    assert array_labels.block(a) == "(8, 5)\nmin −10.0, mean 9.50, max 29.0"
    noisy = np.array([[1.0, -1.0 + 1e-17]] * 5)  # mean is rounding noise: shown as 0
    assert array_labels.summary(noisy) == "min −1.00, mean 0, max 1.00"


# --- the model's labels --------------------------------------------------------------------------------


def test_labels_show_the_numeric_pass() -> None:
    spec = load_spec(HAND)
    lab = labels(spec, values=True)
    assert lab["input"] == ["X", "(1, 2)", "1  2".replace("  ", array_labels.COLUMN_GAP)]
    assert lab["Z1"][1:] == ["(1, 2)", f"0.000{array_labels.COLUMN_GAP}0.500"]
    assert lab["A1"][2] == f"0.500{array_labels.COLUMN_GAP}0.622"
    assert lab["W1"] == ["W[1], b[1]", "(1, 1) │ (1, 1)", "0.500 │ −0.500"]
    assert lab["loss"][-1] == "J = 0.8336"
    assert lab["dZ1"][1:] == ["(1, 2)", f"−0.500{array_labels.COLUMN_GAP}0.622"]
    assert lab["dW1"] == ["dW[1] = (1/m) dZ[1] Xᵀ", "(1, 1)", "0.372", "db[1] = (1/m) Σ dZ[1]", "(1, 1)", "0.0612"]
    # cached copies show the same numbers as the value they keep
    assert lab["cache.A1"] == ["A[1]", *lab["A1"][1:]]
    assert lab["cache.target"] == ["Y", "(1, 2)", f"1{array_labels.COLUMN_GAP}0"]


@pytest.mark.parametrize("template", [t for t in VECTORIZED_TEMPLATES if t not in CONV_TEMPLATES])  # conv: below
def test_every_tensor_node_shows_its_array(template: str) -> None:
    spec = as_network(load_spec(template_path(template)))
    p = run(spec)
    lab = labels(spec, values=True)
    arrays = {"input": p.X, "target": p.Y, "cache.input": p.X, "cache.target": p.Y}
    for k, layer in enumerate(p.layers, start=1):
        arrays.update({f"Z{k}": layer.Z, f"A{k}": layer.A, f"dZ{k}": layer.dZ, f"cache.A{k}": layer.A,
                       f"cache.Z{k}": layer.Z, f"cache.W{k}": layer.W})
        if layer.dA is not None and k == len(p.layers):
            arrays[f"dA{k}"] = layer.dA
        # INTERFACE §11: masks, batch norm's values (its first backward node shows dZ̃), residual sums
        if layer.D is not None:
            arrays.update({f"D{k}": layer.D, f"cache.D{k}": layer.D})
        if layer.Zt is not None and layer.dZt is not None and layer.Zhat is not None and layer.var is not None \
                and layer.gamma is not None:
            arrays.update({f"BN{k}": layer.Zt, f"cache.BN{k}.Zt": layer.Zt, f"cache.BN{k}.Zhat": layer.Zhat,
                           f"cache.BN{k}.var": layer.var, f"cache.G{k}": layer.gamma, f"dZ{k}": layer.dZt})
        if layer.dA is not None:
            arrays[f"sum{k}"] = layer.dA
    for node, lines in lab.items():
        if node in arrays:
            first = 3 if node.startswith("BN") else 1  # batch norm's label is three lines of formulas
            assert "\n".join(lines[first:]) == "\n".join(plain_lines(array_labels.block(arrays[node]))), node
        elif node == "loss":
            assert lines[-1].endswith(array_labels.scalar(p.J))
        else:
            assert node.startswith(("W", "dW", "G", "dG")), node


def test_the_lowest_drawn_layer_shows_no_dA() -> None:
    spec = as_network(load_spec(template_path("three-layer-logistic")))
    spec = dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, backprop_to=2))
    lab = labels(spec, values=True)
    assert not any(line.startswith("dA") for line in lab["dW2"])
    assert [line for line in lab["dW3"] if line.startswith("dA")] == ["dA[2] = W[3]ᵀ dZ[3]"]


def test_values_replace_symbolic_shapes_and_shapes_alone_show_symbols() -> None:
    spec = load_spec(template_path("two-layer-binary"))
    assert labels(spec, shapes=True)["Z1"] == ["Z[1] = W[1]X + b[1]", "(4, m)"]
    assert labels(spec, shapes=True, values=True)["Z1"][1] == "(4, 4)"
    assert labels(spec)["Z1"] == ["Z[1] = W[1]X + b[1]"]


def test_diagram_follows_the_spec_unless_told() -> None:
    with_values = Diagram.load(HAND)
    assert with_values.values is True
    assert with_values.graph.nodes["loss"]["plain"].endswith("J = 0.8336")
    assert Diagram.load(HAND, values=False).graph.nodes["loss"]["plain"].endswith(")]")
    plain_spec = Diagram.template("two-layer-binary")
    assert plain_spec.values is False
    assert plain_spec.with_options(values=True).graph.nodes["loss"]["plain"].endswith("J = 0.6927")
    assert plain_spec.with_options(values=True, backprop_to=2).values is True


def test_numbers_are_deterministic() -> None:
    a = Diagram.template("softmax-classifier", values=True).graph
    b = Diagram.template("softmax-classifier", values=True).graph
    assert [d["label"] for _, d in a.nodes(data=True)] == [d["label"] for _, d in b.nodes(data=True)]


# --- the picture ---------------------------------------------------------------------------------------


@pytest.mark.graphviz
def test_pictures_with_numbers_keep_the_grammar_and_their_labels_inside(template: str) -> None:
    d = Diagram.template(template, values=True)
    boxes, lines = read(d.render("graphml"))
    assert grammar_violations(boxes, lines) == []
    assert_labels_inside(d.render("svg"))


@pytest.mark.graphviz
def test_render_values_writes_what_the_library_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", "-t", "relu-mlp", "--values", "-o", str(tmp_path), "-f", "svg"])
    assert result.exit_code == 0, result.stderr
    svg = (tmp_path / "relu-mlp.svg").read_bytes()
    assert svg == Diagram.template("relu-mlp", values=True).render("svg")
    assert b"L = 1.3735" in svg


@pytest.mark.graphviz
def test_bad_values_render_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 2\nlayers:\n  - {size: 1, activation: sigmoid}\nloss: bce\nvalues:\n"
                    "  W1: [[1, 2, 3]]\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(spec), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {spec}:6: values.W1: shape (1, 3) expected (n[1], n[0]) = (1, 2)\n"
    assert not out.exists() or not any(out.iterdir())
    big = tmp_path / "big.yaml"
    big.write_text("input: 2000\nlayers:\n  - {size: 1000, activation: sigmoid}\nloss: bce\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(big), "--values", "-o", str(out)])
    assert result.exit_code == 2 and "numbers are limited to 1,000,000" in result.stderr
    assert not out.exists() or not any(out.iterdir())
