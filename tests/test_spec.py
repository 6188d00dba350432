"""Spec parsing and validation: good specs load, bad ones say file, line and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpdiagram.errors import SpecError
from bpdiagram.spec import load_spec, spec_from_text
from tests.narrow import as_network

GOOD = """\
title: t
input: {name: X, size: 2}
layers:
  - {size: 4, activation: tanh}
  - {size: 1, activation: sigmoid}
loss: bce
"""


def test_long_and_short_input_forms_agree() -> None:
    long = as_network(spec_from_text(GOOD, file="a.yaml"))
    short = as_network(spec_from_text(GOOD.replace("{name: X, size: 2}", "2"), file="b.yaml"))
    assert long.input == short.input
    assert long.layers == short.layers
    assert long.target == "Y"
    assert long.diagram.show == ("forward", "cache", "backward", "update", "derivative")


def test_json_spec_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"input": 3, "layers": [{"size": 2, "activation": "softmax"}], "loss": "ce"}),
                    encoding="utf-8")
    spec = as_network(load_spec(path))
    assert spec.layers[0].activation == "softmax"
    assert spec.file == str(path)


def test_diagram_section_is_read() -> None:
    text = GOOD + "diagram: {notation: cs231n, simplify: false, backprop_to: 2, show: [forward, backward]," \
                  " learning_rate: 0.1}\n"
    d = as_network(spec_from_text(text, file="a.yaml")).diagram
    assert (d.notation, d.simplify, d.backprop_to, d.show, d.learning_rate) == \
        ("cs231n", "false", 2, ("forward", "backward"), "0.1")


BAD = [
    # (replace this, with this, expected line, expected text in message)
    ("loss: bce", "loss: bcee", 6, "loss: 'bcee' is not valid; did you mean 'bce'? valid choices: bce, ce, mse, sse"),
    ("activation: tanh", "activation: tahn", 4, "layers[1].activation: 'tahn' is not valid; did you mean 'tanh'?"),
    ("{size: 4,", "{size: 0,", 4, "layers[1].size: must be between 1 and"),
    ("{size: 4,", "{size: 4.5,", 4, "layers[1].size: must be a whole number of units, not a number"),
    ("{size: 4,", "{size: true,", 4, "layers[1].size: must be a whole number of units, not a boolean"),
    ("{size: 4,", "{size: '4',", 4, "layers[1].size: must be a whole number of units, not a string"),
    ("title: t", "titel: t", 1, "titel: unknown key; did you mean 'title'?"),
    ("activation: sigmoid}", "activation: sigmoid, bias: 1}", 5, "layers[2].bias: unknown key"),
    ("activation: tanh", "activation: softmax", 4, "layers[1].activation: softmax is only allowed on the output layer"),
    ("activation: sigmoid", "activation: softmax", 6, "loss: a softmax output needs loss 'ce'"),
    ("activation: sigmoid", "activation: relu", 5, "loss 'bce' takes logs of the output"),
    ("layers:\n  - {size: 4, activation: tanh}\n  - {size: 1, activation: sigmoid}", "layers: []", 3,
     "layers: needs at least one layer"),
    ("input: {name: X, size: 2}", "input: {name: X, size: 2, sise: 3}", 2, "input.sise: unknown key; did you mean"),
    ("input: {name: X, size: 2}", "input: [2]", 2, "input: must be a size (integer) or a mapping"),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), BAD)
def test_bad_spec_names_file_line_and_key(old: str, new: str, line: int, message: str) -> None:
    text = GOOD.replace(old, new)
    assert text != GOOD
    with pytest.raises(SpecError) as info:
        spec_from_text(text, file="net.yaml")
    assert str(info.value).startswith(f"net.yaml:{line}: ")
    assert message in str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty spec"),
    ("- 1\n- 2\n", "the top level must be a mapping"),
    ("just text", "the top level must be a mapping"),
    ("input: 2\nlayers: [\n", "invalid YAML"),
    ("input: !!python/object/apply:os.system ['echo hi']\n", "YAML tag"),
    (GOOD.replace("loss: bce\n", ""), "missing required key 'loss'"),
    (GOOD + "diagram: {view: elementwize}\n", "did you mean 'elementwise'?"),
    (GOOD + "diagram: {backprop_to: 3}\n", "must be a layer number from 1 to 2"),
    (GOOD + "diagram: {show: [forward, sideways]}\n", "unknown edge kind 'sideways'"),
    (GOOD + "diagram: {simplify: maybe}\n", "must be one of: auto, true, false"),
    ("expression: (x + y) * z\n", "missing value for x, y, z"),
    (GOOD + "expression: x\n", "either a network"),
    ("a: 1\na: 2\n", "key given twice"),
    ("input: " + "9" * 5000 + "\n", "input: cannot read '99999999999999999999…': integer has too many digits"),
    ("title: 2024-13-45\n", "title: cannot read '2024-13-45': month must be in 1..12"),
])
def test_bad_spec_messages(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_text(text, file="x.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("x.yaml")
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(SpecError, match="alias bomb"):
        spec_from_text("\n".join(lines) + "\n", file="bomb.yaml")
