"""Validate a network spec's ``values:`` section: seed, batch and explicit arrays.

Every array the user writes is checked here, before anything is computed:
its shape against the layer sizes, its entries (numbers, finite, not huge)
and, for the target Y, the range the loss needs. The arrays not given are
drawn later (``model.numeric_pass``) from ``seed``; this stage stays free of numpy
so that the spec is plain, immutable data.

Sizes are refused before anything is allocated: numbers on a diagram or a
finite-difference check are for lecture-sized networks.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from bpdiagram.errors import SpecError
from bpdiagram.options import INITS, Init, Loss
from bpdiagram.spec.load import Document, PathKey, shown_number, type_name

if TYPE_CHECKING:
    from bpdiagram.spec.network import LayerSpec

DEFAULT_SEED = 0
DEFAULT_BATCH = 4

MAX_BATCH = 10_000
"""Examples per batch (m); a worked example has a handful."""

MAX_ENTRIES = 1_000_000
"""Numbers held by X, Y and every W, b, Z and A together (8 MB of float64 each way)."""

MAX_ABS = 1e6
"""Largest magnitude of a given entry: beyond it exp overflows and finite differences lose every digit."""

MAX_SEED = 2**63 - 1

INIT_SCALE = 0.01
"""S of ``init: normal`` when no ``scale`` is given: N(0, 1)·0.01, the classic small random start."""

SETTINGS = ("seed", "batch", "init", "scale")
"""Keys of ``values:`` that are not arrays."""

TARGET_TOLERANCE = 1e-9
"""How far a cross-entropy target column may sum away from 1. The fused rule dZ = A − Y holds only for
columns summing to 1 (its error is A·(ΣY − 1)), so this is tight enough to keep it exact within ``check``'s
tolerance, and loose enough for decimals written by hand (0.1 + 0.2 + 0.7 is 1 only to 1e-16)."""

Matrix = tuple[tuple[float, ...], ...]
Tensor = tuple[Any, ...]
"""Nested tuples of floats, any depth (a conv layer's [F][C][k][k] weights)."""


@dataclass(frozen=True)
class ValuesSpec:
    """Numbers to run the network with: ``arrays`` given by the user, the rest drawn from ``seed``.

    Attributes:
        seed: seed of ``numpy.random.default_rng`` for every array not given.
        batch: m, the number of examples (columns of X and Y).
        arrays: given arrays by canonical name (``X``, ``Y``, ``W1``, ``b1``, …), shapes already checked.
        line: line of the ``values:`` key, so that later errors (an overflowing forward pass) can point at it.
    """

    seed: int = DEFAULT_SEED
    batch: int = DEFAULT_BATCH
    arrays: Mapping[str, Matrix] = field(default_factory=dict)
    line: int | None = None
    init: Init | None = None
    """How weights not given are drawn (``normal``, ``xavier``, ``he``); None keeps the default draw,
    N(0, 1/n[l−1]) weights and small random biases. With an ``init``, biases not given are 0."""
    scale: float | None = None
    """The factor of the drawn weights with ``init`` (None: 0.01 for ``normal``, 1 for xavier and he)."""
    tensors: Mapping[str, Tensor] = field(default_factory=dict)
    """Given arrays of a network with conv layers that are not matrices: X as [m][C][H][W], a conv layer's
    W<l> as [F][C][k][k] and b<l> as [F] (nested tuples, shapes already checked)."""

    @property
    def weight_scale(self) -> float:
        """The factor the drawn weights are multiplied by, the default made explicit."""
        if self.scale is not None:
            return self.scale
        return INIT_SCALE if self.init == "normal" else 1.0


def value_entries(sizes: Sequence[int], batch: int) -> int:
    """Numbers in X, Y and every W, b, Z and A of a network with layer ``sizes`` (n[0] first)."""
    params = sum(n * prev + n for prev, n in pairwise(sizes))
    activations = batch * (sizes[0] + sizes[-1] + 2 * sum(sizes[1:]))
    return params + activations


def check_size(sizes: Sequence[int], batch: int, *, file: str, line: int | None = None) -> None:
    """Refuse a network too big to hold its numbers, before any array is allocated."""
    entries = value_entries(sizes, batch)
    if entries > MAX_ENTRIES:
        raise SpecError(f"the network's arrays would hold {entries:,} numbers with batch {batch}; "
                        f"numbers are limited to {MAX_ENTRIES:,} (use smaller layers or a smaller batch)",
                        file=file, line=line, key="values")


def default_values(sizes: Sequence[int], *, file: str) -> ValuesSpec:
    """The values used when a spec has no ``values:``: seed 0, batch 4 (size-checked)."""
    check_size(sizes, DEFAULT_BATCH, file=file)
    return ValuesSpec()


def validate_values(doc: Document, value: Any, *, sizes: Sequence[int], loss: Loss, input_name: str,
                    target_name: str, layers: Sequence[LayerSpec] = ()) -> ValuesSpec:
    """Check ``values:`` against a network with layer ``sizes`` (n[0] first).

    ``layers`` tells which extra arrays exist: D<l> for a dropout layer, gamma<l> and beta<l> for a
    batch-norm layer (which has no b<l>). The format is README's "Showing numbers".
    """
    path: PathKey = ("values",)
    if value is None:  # a bare ``values:`` asks for numbers, all drawn from the default seed
        value = {}
    if not isinstance(value, dict):
        raise doc.error(path, f"must be a mapping (seed, batch, X, Y, W1, b1, ...), not a {type_name(value)}")
    n_layers = len(sizes) - 1
    names = _array_names(n_layers) + _layer_op_arrays(doc, value, layers)
    aliases = {alias: canon for alias, canon in ((input_name, "X"), (target_name, "Y"))
               if alias not in names and alias not in SETTINGS}
    _check_keys(doc, value, names, aliases, n_layers)
    seed = _whole(doc, (*path, "seed"), value.get("seed", DEFAULT_SEED), 0, MAX_SEED, "seed")
    init, scale = _init(doc, value)
    raw = _arrays(doc, value, aliases)
    batch = _batch(doc, value, raw)
    check_size(sizes, batch, file=doc.file, line=doc.line_of(path))
    for canon, (where, matrix) in raw.items():
        _check_shape(doc, where, canon, matrix, sizes, batch)
    if "Y" in raw:
        _check_target(doc, raw["Y"][0], raw["Y"][1], loss)
    for canon, (where, matrix) in raw.items():
        if canon.startswith("D"):
            _check_mask(doc, where, matrix)
    return ValuesSpec(seed, batch, {canon: matrix for canon, (_, matrix) in raw.items()}, doc.line_of(path),
                      init, scale)


def _layer_op_arrays(doc: Document, value: dict[str, Any], layers: Sequence[LayerSpec]) -> list[str]:
    """The arrays dropout and batch norm add (D<l>; gamma<l>, beta<l>); a b<l> of a batch-norm layer refused."""
    names: list[str] = []
    for k, layer in enumerate(layers, start=1):
        if layer.batchnorm and f"b{k}" in value:
            raise doc.error(("values", f"b{k}"), f"layer {k} uses batch norm, which has no bias b{k} "
                                                 f"(β{k} takes its place); give beta{k} instead")
        if layer.dropout is not None:
            names.append(f"D{k}")
        if layer.batchnorm:
            names += [f"gamma{k}", f"beta{k}"]
    return names


def _arrays(doc: Document, value: dict[str, Any], aliases: dict[str, str]) -> dict[str, tuple[PathKey, Matrix]]:
    """The arrays given, by their canonical names (the input's and target's names read as X and Y)."""
    raw: dict[str, tuple[PathKey, Matrix]] = {}
    for key, item in value.items():
        if key in SETTINGS:
            continue
        canon = aliases.get(str(key), str(key))
        if canon in raw:
            first = next(k for k in value if aliases.get(k, k) == canon)
            raise doc.error(("values", key), f"{first} and {key} both give the array {canon}; keep one")
        raw[canon] = (("values", key), _matrix(doc, ("values", key), item))
    return raw


def _init(doc: Document, value: dict[str, Any]) -> tuple[Init | None, float | None]:
    """``init`` (one of INITS) and ``scale`` (a positive number, only with ``init``)."""
    init = value.get("init")
    if init is not None and (not isinstance(init, str) or init not in INITS):
        close = [c for c in INITS if isinstance(init, str) and c == init.lower()]
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise doc.error(("values", "init"), f"{init!r} is not valid; {hint}valid choices: {', '.join(INITS)}")
    if "scale" not in value:
        return init, None
    where: PathKey = ("values", "scale")
    if init is None:
        raise doc.error(where, "scales the weights drawn by init; give init too (normal, xavier or he)")
    scale = value["scale"]
    if not _is_number(scale):
        raise doc.error(where, f"must be a positive number, not a {type_name(scale)} ({scale!r})")
    if abs(scale) > MAX_ABS:  # a huge YAML int is never turned into a float: that can overflow
        raise doc.error(where, f"is too large; the scale must be a positive number up to {MAX_ABS:.0e}")
    if not scale > 0:  # also NaN
        raise doc.error(where, f"is {scale}; the scale must be a positive number up to {MAX_ABS:.0e}")
    return init, float(scale)


def expected_shape(name: str, sizes: Sequence[int], batch: int) -> tuple[str, tuple[int, int]]:
    """Shape of array ``name`` in symbols and in numbers: ``W2`` → (``(n[2], n[1])``, ``(1, 4)``)."""
    n_layers = len(sizes) - 1
    if name == "X":
        return "(n[0], m)", (sizes[0], batch)
    if name == "Y":
        return f"(n[{n_layers}], m)", (sizes[-1], batch)
    if name.startswith(("gamma", "beta")):
        layer = int(name.lstrip("gamebt"))
        return f"(n[{layer}], 1)", (sizes[layer], 1)
    layer = int(name[1:])
    if name[0] == "D":
        return f"(n[{layer}], m)", (sizes[layer], batch)
    if name[0] == "W":
        return f"(n[{layer}], n[{layer - 1}])", (sizes[layer], sizes[layer - 1])
    return f"(n[{layer}], 1)", (sizes[layer], 1)


def _array_names(n_layers: int) -> list[str]:
    names = ["X", "Y"]
    for layer in range(1, n_layers + 1):
        names += [f"W{layer}", f"b{layer}"]
    return names


def _check_keys(doc: Document, value: dict[str, Any], names: list[str], aliases: dict[str, str],
                n_layers: int) -> None:
    allowed = [*SETTINGS, *names, *aliases]
    for key in value:
        if key in allowed:
            continue
        folded = [k for k in allowed if k.lower() == str(key).lower()]
        close = folded or difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        if not close and re.fullmatch(r"[Wb]\d+", str(key)):
            hint = f"the network has {n_layers} layer{'s' if n_layers > 1 else ''}; "
        extras = names[2 + 2 * n_layers:]
        params = ", ".join(names[2:2 + 2 * n_layers]) if n_layers <= 3 else f"W1 … W{n_layers}, b1 … b{n_layers}"
        params += "".join(f", {e}" for e in extras)
        shown = ", ".join([*SETTINGS, "X", "Y", *(f"{a} (for {c})" for a, c in aliases.items())])
        raise doc.error(("values", key), f"unknown key; {hint}valid keys: {shown}, {params}")


def _whole(doc: Document, path: PathKey, value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(path, f"the {what} must be a whole number, not a {type_name(value)} ({value!r})")
    if not low <= value <= high:
        raise doc.error(path, f"the {what} must be between {low} and {high:,} (got {value})")
    return value


def _batch(doc: Document, value: dict[str, Any], raw: dict[str, tuple[PathKey, Matrix]]) -> int:
    """m from X's columns, else Y's, else ``batch``, else 4; disagreements are errors."""
    explicit = None
    if "batch" in value:
        explicit = _whole(doc, ("values", "batch"), value["batch"], 1, MAX_BATCH, "batch (number of examples m)")
    for name in ("X", "Y"):
        if name not in raw:
            continue
        where, matrix = raw[name]
        columns = len(matrix[0]) if matrix and matrix[0] else 0
        if columns < 1:
            raise doc.error(where, f"needs at least one column (one example), got shape {_shape(matrix)}")
        if explicit is not None and columns != explicit:
            raise doc.error(where, f"has {columns} columns (examples) but batch is {explicit}; "
                                   "make them agree or drop batch")
        if columns > MAX_BATCH:
            raise doc.error(where, f"has {columns} columns (examples); at most {MAX_BATCH:,}")
        return columns
    return explicit if explicit is not None else DEFAULT_BATCH


def _matrix(doc: Document, path: PathKey, value: Any) -> Matrix:
    """A rectangular list of rows of finite numbers; anything else names the offending entry."""
    example = "write a matrix as a list of rows, e.g. [[0.1, -0.2], [0.3, 0.4]]"
    if not isinstance(value, list):
        if _is_number(value):
            raise doc.error(path, f"shape () is a single number; {example} (a 1×1 matrix is [[{value}]])")
        raise doc.error(path, f"must be a list of rows of numbers, not a {type_name(value)}; {example}")
    if value and all(_is_number(v) for v in value):
        raise doc.error(path, f"shape ({len(value)},) is a flat list; {example}, and a column as "
                              "[[0.1], [0.2], ...]")
    rows: list[tuple[float, ...]] = []
    for i, row in enumerate(value):
        if not isinstance(row, list):
            raise doc.error((*path, i), f"row {i + 1} is a {type_name(row)}, not a list of numbers; {example}")
        if rows and len(row) != len(rows[0]):
            raise doc.error((*path, i), f"row {i + 1} has {len(row)} entries but row 1 has {len(rows[0])} "
                                        "(rows must all be the same length)")
        rows.append(tuple(_entry(doc, (*path, i, j), v) for j, v in enumerate(row)))
    return tuple(rows)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _entry(doc: Document, path: PathKey, value: Any) -> float:
    if not _is_number(value):
        shown = f"a {type_name(value)}" if isinstance(value, (list, dict)) else f"a {type_name(value)} ({value!r})"
        raise doc.error(path, f"is {shown}, not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise doc.error(path, f"is {value}; entries must be finite numbers")
    if abs(value) > MAX_ABS:
        # a huge YAML int is never turned into text or float: both can overflow
        shown = f"{value:.3g}" if isinstance(value, float) else shown_number(value)
        raise doc.error(path, f"is {shown}; entries are limited to ±{MAX_ABS:.0e} (exp overflows beyond)")
    return float(value)


def _shape(matrix: Matrix) -> tuple[int, int]:
    return (len(matrix), len(matrix[0]) if matrix else 0)


def _check_shape(doc: Document, path: PathKey, name: str, matrix: Matrix, sizes: Sequence[int], batch: int) -> None:
    symbols, shape = expected_shape(name, sizes, batch)
    got = _shape(matrix)
    if got != shape:
        raise doc.error(path, f"shape {got} expected {symbols} = {shape}")


def _check_mask(doc: Document, path: PathKey, mask: Matrix) -> None:
    """A dropout mask holds 0 (dropped) and 1 (kept) only."""
    for i, row in enumerate(mask):
        for j, v in enumerate(row):
            if v not in (0.0, 1.0):
                raise doc.error((*path, i, j), f"is {v:g}; a dropout mask holds 0 (unit dropped) and 1 (kept) only")


def _check_target(doc: Document, path: PathKey, y: Matrix, loss: Loss) -> None:
    """Y must be a target the loss can take: 0/1 (or in [0, 1]) for bce, one-hot columns for ce."""
    if loss == "bce":
        for i, row in enumerate(y):
            for j, v in enumerate(row):
                if not 0.0 <= v <= 1.0:
                    raise doc.error((*path, i, j), f"is {v:g}; binary cross-entropy targets are 0 or 1 "
                                                   "(or probabilities in [0, 1])")
    elif loss == "ce":
        for j in range(len(y[0])):
            column = [row[j] for row in y]
            for i, v in enumerate(column):
                if v < 0.0:
                    raise doc.error((*path, i, j), f"is {v:g}; cross-entropy targets are one-hot columns "
                                                   "(or probabilities summing to 1)")
            total = math.fsum(column)
            if abs(total - 1.0) > TARGET_TOLERANCE:
                raise doc.error(path, f"column {j + 1} sums to {total:g}, not 1; cross-entropy targets are "
                                      "one-hot columns (or probabilities summing to 1)")
