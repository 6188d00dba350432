"""The ``values:`` section: good ones load, bad ones say file, line, key and the expected shape."""

from __future__ import annotations

import re

import pytest

from bpdiagram.errors import SpecError
from bpdiagram.spec import spec_from_text
from bpdiagram.spec.values import MAX_ENTRIES, ValuesSpec, value_entries
from tests.narrow import as_network

NET = """\
input: 2
layers:
  - {size: 3, activation: tanh}
  - {size: 1, activation: sigmoid}
loss: bce
values:
  seed: 1
"""
# line 8 is the first line appended to NET


def load(extra: str = "", base: str = NET) -> ValuesSpec:
    values = as_network(spec_from_text(base + extra, file="net.yaml")).values
    assert values is not None
    return values


def test_no_values_means_none_and_the_defaults_for_numbers() -> None:
    spec = spec_from_text(NET.replace("values:\n  seed: 1\n", ""), file="net.yaml")
    assert spec.values is None
    assert spec.numbers() == ValuesSpec(seed=0, batch=4)


def test_bare_values_asks_for_numbers_with_the_defaults() -> None:
    spec = spec_from_text(NET.replace("  seed: 1\n", ""), file="net.yaml")
    assert spec.values == ValuesSpec(seed=0, batch=4, line=6)


def test_arrays_are_kept_as_given_and_batch_comes_from_x() -> None:
    v = load("  X: [[1, 2, 3], [4, 5, 6.5]]\n  W2: [[0.1, -0.2, 0.3]]\n  b2: [[0]]\n  Y: [[1, 0, 1]]\n")
    assert (v.seed, v.batch) == (1, 3)
    assert v.arrays == {"X": ((1.0, 2.0, 3.0), (4.0, 5.0, 6.5)), "W2": ((0.1, -0.2, 0.3),), "b2": ((0.0,),),
                        "Y": ((1.0, 0.0, 1.0),)}


def test_batch_comes_from_y_when_x_is_not_given() -> None:
    assert load("  Y: [[1, 0]]\n").batch == 2
    assert load("  batch: 7\n").batch == 7


def test_the_input_and_target_names_are_accepted_for_x_and_y() -> None:
    base = NET.replace("input: 2", "input: {name: x, size: 2}").replace("loss: bce", "loss: bce\ntarget: t")
    v = load("  x: [[1], [2]]\n  t: [[1]]\n", base)
    assert v.arrays == {"X": ((1.0,), (2.0,)), "Y": ((1.0,),)}
    with pytest.raises(SpecError, match="X and x both give the array X; keep one"):
        load("  X: [[1], [2]]\n  x: [[1], [2]]\n", base)


def test_soft_targets_are_accepted() -> None:
    assert load("  Y: [[0.25, 1, 0]]\n").arrays["Y"] == ((0.25, 1.0, 0.0),)
    ce = NET.replace("activation: sigmoid", "activation: softmax").replace("size: 1,", "size: 3,") \
        .replace("loss: bce", "loss: ce")
    assert load("  Y: [[0.5, 0], [0.5, 0], [0, 1]]\n", ce).batch == 2
    assert load("  Y: [[0.1], [0.2], [0.7]]\n", ce).batch == 1  # sums to 1 only up to float rounding


BAD = [
    ("  W2: [[1, 2]]\n", 8, "values.W2: shape (1, 2) expected (n[2], n[1]) = (1, 3)"),
    ("  W1: [[1, 2], [3, 4]]\n", 8, "values.W1: shape (2, 2) expected (n[1], n[0]) = (3, 2)"),
    ("  b1: [[1], [2]]\n", 8, "values.b1: shape (2, 1) expected (n[1], 1) = (3, 1)"),
    ("  X: [[1, 2], [3, 4], [5, 6]]\n", 8, "values.X: shape (3, 2) expected (n[0], m) = (2, 2)"),
    ("  Y: [[1, 0], [0, 1]]\n", 8, "values.Y: shape (2, 2) expected (n[2], m) = (1, 2)"),
    ("  X: [[1, 2, 3], [1, 2, 3]]\n  Y: [[1, 0]]\n", 9, "values.Y: shape (1, 2) expected (n[2], m) = (1, 3)"),
    ("  b1: [1, 2, 3]\n", 8, "values.b1: shape (3,) is a flat list; write a matrix as a list of rows"),
    ("  W2: 0.5\n", 8, "values.W2: shape () is a single number; write a matrix as a list of rows"),
    ("  W2: hello\n", 8, "values.W2: must be a list of rows of numbers, not a string"),
    ("  X:\n    - [1, 2]\n    - [3]\n", 10, "values.X[2]: row 2 has 1 entries but row 1 has 2"),
    ("  X: [[1, 2], 3]\n", 8, "values.X[2]: row 2 is a integer, not a list of numbers"),
    ("  X:\n    - [1, a]\n    - [3, 4]\n", 9, "values.X[1][2]: is a string ('a'), not a number"),
    ("  X: [[1, .nan], [3, 4]]\n", 8, "values.X[1][2]: is nan; entries must be finite numbers"),
    ("  X: [[1, -.inf], [3, 4]]\n", 8, "values.X[1][2]: is -inf; entries must be finite numbers"),
    ("  X: [[1, true], [3, 4]]\n", 8, "values.X[1][2]: is a boolean (True), not a number"),
    ("  X: [[1, [2]], [3, 4]]\n", 8, "values.X[1][2]: is a list, not a number"),
    ("  X: [[1, 1.0e+300], [3, 4]]\n", 8, "values.X[1][2]: is 1e+300; entries are limited to ±1e+06"),
    ("  X: [[1, 12345678901234567890], [3, 4]]\n", 8, "is 12345678901234567890; entries are limited to ±1e+06"),
    ("  X: [[], []]\n", 8, "values.X: needs at least one column (one example), got shape (2, 0)"),
    ("  batch: 0\n", 8, "values.batch: the batch (number of examples m) must be between 1 and 10,000 (got 0)"),
    ("  batch: 10001\n", 8, "must be between 1 and 10,000 (got 10001)"),
    ("  batch: 2.5\n", 8, "values.batch: the batch (number of examples m) must be a whole number, not a number (2.5)"),
    ("  batch: 3\n  X: [[1, 2], [3, 4]]\n", 9, "values.X: has 2 columns (examples) but batch is 3"),
    ("  Y: [[0, 2, 1]]\n", 8, "values.Y[1][2]: is 2; binary cross-entropy targets are 0 or 1 (or probabilities"),
    ("  Y: [[0, -0.5, 1]]\n", 8, "values.Y[1][2]: is -0.5; binary cross-entropy targets are 0 or 1"),
    ("  w1: [[1]]\n", 8,
     "values.w1: unknown key; did you mean 'W1'? valid keys: seed, batch, init, scale, X, Y, W1, b1, W2, b2"),
    ("  W3: [[1]]\n", 8, "values.W3: unknown key; the network has 2 layers; valid keys"),
    ("  sead: 2\n", 8, "values.sead: unknown key; did you mean 'seed'?"),
]


@pytest.mark.parametrize(("extra", "line", "message"), BAD)
def test_bad_values_name_file_line_key_and_shape(extra: str, line: int, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load(extra)
    text = str(info.value)
    assert text.startswith(f"net.yaml:{line}: "), text
    assert message in text, text
    assert "\n" not in text


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  seed: 1", "  seed: -1", "values.seed: the seed must be between 0 and"),
    ("  seed: 1", "  seed: x", "values.seed: the seed must be a whole number, not a string ('x')"),
    ("values:\n  seed: 1", "values: [1, 2]", "values: must be a mapping (seed, batch, X, Y, W1, b1, ...), not a list"),
])
def test_bad_seed_and_section(old: str, new: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        load(base=NET.replace(old, new))


CE = NET.replace("activation: sigmoid", "activation: softmax").replace("size: 1,", "size: 3,") \
    .replace("loss: bce", "loss: ce")


@pytest.mark.parametrize(("extra", "message"), [
    ("  Y: [[1, 0], [0, 0], [0, 0]]\n", "values.Y: column 2 sums to 0, not 1; cross-entropy targets are one-hot"),
    ("  Y: [[1, 0.5], [0, 0.6], [0, 0]]\n", "values.Y: column 2 sums to 1.1, not 1"),
    ("  Y: [[1, 0.3333], [0, 0.3333], [0, 0.3333]]\n", "values.Y: column 2 sums to 0.9999, not 1"),
    ("  Y: [[1, 1.5], [0, -0.5], [0, 0]]\n", "values.Y[2][2]: is -0.5; cross-entropy targets are one-hot"),
])
def test_cross_entropy_targets_must_be_distributions(extra: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        load(extra, CE)


def test_absurd_sizes_are_refused_before_anything_is_allocated() -> None:
    big = "input: 1000\nlayers:\n  - {size: 1000, activation: tanh}\n  - {size: 1, activation: sigmoid}\n" \
          "loss: bce\nvalues: {batch: 4}\n"
    with pytest.raises(SpecError) as info:
        spec_from_text(big, file="big.yaml")
    assert str(info.value).startswith("big.yaml:6: values: the network's arrays would hold 1,014,013 numbers")
    assert value_entries((1000, 1000, 1), 4) > MAX_ENTRIES
    # without values: the spec is fine (it can be drawn), but asking it for numbers is refused
    spec = as_network(spec_from_text(big.replace("values: {batch: 4}\n", ""), file="big.yaml"))
    with pytest.raises(SpecError, match="numbers are limited to 1,000,000"):
        spec.numbers()


def test_value_entries_counts_every_array() -> None:
    # 2 → 3 → 1, m = 4: W1 6 + b1 3 + W2 3 + b2 1, X 8, Y 4, Z and A 2·(12 + 4)
    assert value_entries((2, 3, 1), 4) == 13 + 8 + 4 + 32
