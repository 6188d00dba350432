"""The ``values:`` section of a network with conv layers: arrays in PyTorch's layouts, shapes checked.

X is [m][C][H][W] (examples first, as a batch of images is written), a conv
layer's W<l> is [F][C][k][k] and its b<l> is [F]; a dense layer's W<l> and b<l>
and the target Y are matrices as in every other network, examples as columns.
Pooling and flatten layers have no parameters, so W<l> of such a layer is an
unknown key.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bpdiagram.errors import SpecError
from bpdiagram.options import Loss
from bpdiagram.spec.load import Document, PathKey, type_name
from bpdiagram.spec.values import (
    DEFAULT_BATCH,
    MAX_BATCH,
    MAX_ENTRIES,
    MAX_SEED,
    SETTINGS,
    Matrix,
    Tensor,
    ValuesSpec,
    _check_target,
    _entry,
    _init,
    _matrix,
    _whole,
)

if TYPE_CHECKING:
    from bpdiagram.spec.network import LayerSpec

__all__ = ["conv_entries", "param_shapes", "validate_conv_values"]


def param_shapes(input_shape: tuple[int, ...], layers: Sequence[LayerSpec]) -> dict[str, tuple[int, ...]]:
    """Every parameter's shape by name: conv W<l> (F, C, k, k) and b<l> (F,); dense W<l> (n, n[l−1]), b<l> (n, 1)."""
    shapes: dict[str, tuple[int, ...]] = {}
    incoming: tuple[int, ...] = input_shape
    for k, layer in enumerate(layers, start=1):
        if layer.type == "conv":
            shapes[f"W{k}"] = (layer.filters, incoming[0], layer.kernel, layer.kernel)
            shapes[f"b{k}"] = (layer.filters,)
        elif layer.type == "dense":
            shapes[f"W{k}"] = (layer.size, math.prod(incoming))
            shapes[f"b{k}"] = (layer.size, 1)
        incoming = layer.shape
    return shapes


def conv_entries(input_shape: tuple[int, ...], layers: Sequence[LayerSpec], batch: int) -> int:
    """Numbers in X, Y, every parameter and every layer's output and pre-activation, at batch ``batch``."""
    params = sum(math.prod(s) for s in param_shapes(input_shape, layers).values())
    outputs = sum(2 * layer.size for layer in layers)
    return params + batch * (math.prod(input_shape) + layers[-1].size + outputs)


def check_conv_size(input_shape: tuple[int, ...], layers: Sequence[LayerSpec], batch: int, *, file: str,
                    line: int | None = None) -> None:
    """Refuse a network too big to hold its numbers, before any array is allocated."""
    entries = conv_entries(input_shape, layers, batch)
    if entries > MAX_ENTRIES:
        raise SpecError(f"the network's arrays would hold {entries:,} numbers with batch {batch}; numbers are "
                        f"limited to {MAX_ENTRIES:,} (use smaller feature maps or a smaller batch)",
                        file=file, line=line, key="values")


def validate_conv_values(doc: Document, value: Any, *, input_shape: tuple[int, int, int],
                         layers: Sequence[LayerSpec], loss: Loss, input_name: str, target_name: str) -> ValuesSpec:
    """Check ``values:`` of a network with conv layers (seed, batch, init, scale and the arrays)."""
    path: PathKey = ("values",)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise doc.error(path, f"must be a mapping (seed, batch, X, Y, W1, b1, ...), not a {type_name(value)}")
    shapes = param_shapes(input_shape, layers)
    names = ["X", "Y", *shapes]
    aliases = {input_name: "X", target_name: "Y"}
    aliases = {a: c for a, c in aliases.items() if a not in names and a not in SETTINGS}
    for key in value:
        if key in SETTINGS or key in names or key in aliases:
            continue
        allowed = [*SETTINGS, *names, *aliases]
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        if str(key)[:1] in "Wb" and str(key)[1:].isdigit() and 1 <= int(str(key)[1:]) <= len(layers):
            hint = f"layer {key[1:]} ({layers[int(key[1:]) - 1].type}) has no parameters; "
        raise doc.error((*path, key), f"unknown key; {hint}valid keys: {', '.join(allowed)}")
    seed = _whole(doc, (*path, "seed"), value.get("seed", 0), 0, MAX_SEED, "seed")
    init, scale = _init(doc, value)
    given: dict[str, tuple[PathKey, Any]] = {aliases.get(str(k), str(k)): (("values", k), item)
                                             for k, item in value.items() if k not in SETTINGS}
    batch = _batch(doc, value, given, input_shape)
    check_conv_size(input_shape, layers, batch, file=doc.file, line=doc.line_of(path))
    matrices: dict[str, Matrix] = {}
    tensors: dict[str, Tensor] = {}
    for canon, (where, item) in given.items():
        if canon == "X":
            tensors["X"] = _tensor(doc, where, item, (batch, *input_shape), "[m][C][H][W]")
        elif canon == "Y":
            y = _matrix(doc, where, item)
            target = (layers[-1].size, batch)
            if (len(y), len(y[0]) if y else 0) != target:
                raise doc.error(where, f"shape ({len(y)}, {len(y[0]) if y else 0}) expected (n[L], m) = {target}")
            _check_target(doc, where, y, loss)
            matrices["Y"] = y
        else:
            want = shapes[canon]
            if len(want) == 2:
                w = _matrix(doc, where, item)
                got = (len(w), len(w[0]) if w else 0)
                if got != want:
                    raise doc.error(where, f"shape {got} expected {want} (a dense layer's matrix)")
                matrices[canon] = w
            else:
                layout = "[F][C][k][k]" if canon.startswith("W") else "[F]"
                tensors[canon] = _tensor(doc, where, item, want, layout)
    return ValuesSpec(seed, batch, matrices, doc.line_of(path), init, scale, tensors)


def _batch(doc: Document, value: dict[str, Any], given: dict[str, tuple[PathKey, Any]],
           input_shape: tuple[int, ...]) -> int:
    """m from X's first axis, else Y's columns, else ``batch``, else 4; disagreements are errors."""
    explicit = None
    if "batch" in value:
        explicit = _whole(doc, ("values", "batch"), value["batch"], 1, MAX_BATCH, "batch (number of examples m)")
    found = None
    if "X" in given and isinstance(given["X"][1], list):
        found = ("X", len(given["X"][1]), "examples (the first axis of [m][C][H][W])")
    elif "Y" in given and isinstance(given["Y"][1], list) and given["Y"][1] and isinstance(given["Y"][1][0], list):
        found = ("Y", len(given["Y"][1][0]), "columns (examples)")
    if found is None:
        return explicit if explicit is not None else DEFAULT_BATCH
    name, m, what = found
    where = given[name][0]
    if m < 1:
        raise doc.error(where, "needs at least one example")
    if explicit is not None and m != explicit:
        raise doc.error(where, f"has {m} {what} but batch is {explicit}; make them agree or drop batch")
    if m > MAX_BATCH:
        raise doc.error(where, f"has {m} examples; at most {MAX_BATCH:,}")
    return m


def _tensor(doc: Document, path: PathKey, value: Any, shape: tuple[int, ...], layout: str,
            full: tuple[int, ...] | None = None) -> Tensor:
    """Nested lists of finite numbers of exactly ``shape``; anything else names the offending entry."""
    want = " × ".join(str(n) for n in (full or shape))
    if not isinstance(value, list):
        raise doc.error(path, f"must be nested lists {layout} of shape {want}, not a {type_name(value)}")
    if len(value) != shape[0]:
        raise doc.error(path, f"has {len(value)} entries where {shape[0]} are expected ({layout}, shape {want})")
    if len(shape) == 1:
        return tuple(_entry(doc, (*path, i), v) for i, v in enumerate(value))
    return tuple(_tensor(doc, (*path, i), v, shape[1:], layout, full or shape) for i, v in enumerate(value))
