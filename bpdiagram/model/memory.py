"""What the cache band costs: every value kept from the forward pass for the backward pass, in bytes.

Training needs more memory than inference because of the cache: each value
drawn in the cache band is held from the moment the forward pass makes it
until the backward pass has read it, for every example of the batch. The
builder records each tensor's dimensions (``dims``, where ``"m"`` stands for
the batch) and its array name on the node; this module reads them off the
cached nodes of the built graph, so what is counted is exactly what is drawn.

Counted: every value in the cache band, the parameters kept for the backward
pass (W[l] for dA[l−1]) and the target Y included. Not counted: the
parameters themselves (inference holds them too), the gradients being built,
optimizer state, and the framework's own workspace.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpdiagram.options import Dtype

if TYPE_CHECKING:
    from bpdiagram.model.graph import Node

BYTES: dict[Dtype, int] = {"float16": 2, "float32": 4, "float64": 8}
"""Bytes per number of each dtype."""

DEFAULT_BATCH = 64
"""m when neither ``--batch`` nor the spec's ``values: {batch}`` gives one: a common mini-batch size."""

MAX_BATCH = 1_000_000
"""Largest m ``--batch`` accepts: nothing is allocated, only counted, so this guards the arithmetic alone."""

DEFAULT_DTYPE: Dtype = "float32"

FORWARD_ORDER = "XWZAY"
"""Initials of the arrays in the order the forward pass makes them within a layer."""

Dims = tuple[int | str, ...]
"""A tensor's dimensions as the builder knows them: numbers, and ``"m"`` for the batch."""


@dataclass(frozen=True)
class MemoryOptions:
    """The batch size and dtype the cache is counted at."""

    batch: int = DEFAULT_BATCH
    dtype: Dtype = DEFAULT_DTYPE

    def shape(self, dims: Dims) -> tuple[int, ...]:
        """``dims`` with the batch filled in: ``(4, "m")`` → ``(4, 64)``.

        >>> MemoryOptions(batch=64).shape((4, "m"))
        (4, 64)
        """
        return tuple(self.batch if d == "m" else int(d) for d in dims)

    def nbytes(self, dims: Dims) -> int:
        """Bytes of one tensor of ``dims``.

        >>> MemoryOptions(batch=64, dtype="float16").nbytes((4, "m"))
        512
        """
        return math.prod(self.shape(dims)) * BYTES[self.dtype]


@dataclass(frozen=True)
class CachedBytes:
    """One value of the cache band: its array name (``A1``, ``W2``, ``Y``), shape and bytes."""

    name: str
    shape: tuple[int, ...]
    bytes: int


@dataclass(frozen=True)
class CacheMemory:
    """The cache band's values and their total, at one batch size and dtype."""

    batch: int
    dtype: Dtype
    values: tuple[CachedBytes, ...]

    @property
    def bytes(self) -> int:
        """The total of every cached value."""
        return sum(v.bytes for v in self.values)

    def to_json(self) -> dict[str, Any]:
        """``stats --json``'s ``"cache"``: batch, dtype, total bytes and one entry per cached value."""
        return {"batch": self.batch, "dtype": self.dtype, "bytes": self.bytes,
                "values": [{"name": v.name, "shape": list(v.shape), "bytes": v.bytes} for v in self.values]}


def cache_memory(nodes: Iterable[Node], options: MemoryOptions) -> CacheMemory:
    """The memory of the cached nodes among ``nodes`` (in the graph's order): those that name their tensor."""
    cached = sorted(((n.array, n.dims, n.layer) for n in nodes
                     if n.kind == "cached" and n.array is not None and n.dims is not None), key=_forward_order)
    values = tuple(CachedBytes(array, options.shape(dims), options.nbytes(dims)) for array, dims, _ in cached)
    return CacheMemory(options.batch, options.dtype, values)


def _forward_order(kept: tuple[str, Dims, int]) -> tuple[int, int]:
    """Layer by layer, and in a layer as the forward pass makes them: W[l], Z[l], A[l] (X first, Y last)."""
    name, _, layer = kept
    return (layer, FORWARD_ORDER.index(name[0]) if name[0] in FORWARD_ORDER else len(FORWARD_ORDER))


def human(n: int) -> str:
    """Bytes for a label, in binary units with three significant digits.

    >>> human(512), human(1024), human(3_145_728), human(4_718_592)
    ('512 B', '1 KiB', '3 MiB', '4.5 MiB')
    """
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.3g} {unit}"
