"""A bucket grid of boxes, so that a question about one place looks only at what lies near it.

The router asks, for every candidate line, which nodes it might hit and which
routed edges it might cross; the crossing finder asks which pairs of edges
might meet. Asked of every node and edge, these questions make the layout
quadratic in the size of the diagram: a 128-layer network spent most of its
time checking lines hundreds of columns apart. Boxes kept in a grid of fixed
cells answer them by looking at the few cells a box covers instead.

Answers come in the order the keys were added, the order a plain scan would
have produced, so using the grid never changes a layout.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Generic, TypeVar

Box = tuple[float, float, float, float]
"""min x, min y, max x, max y."""

K = TypeVar("K", bound=Hashable)

CELL = 128.0
"""Cell size in px: about a column of a diagram, so a short edge or a node sits in one to four cells."""


def overlaps(a: Box, b: Box) -> bool:
    """Whether two boxes overlap or touch."""
    return not (b[2] < a[0] or b[0] > a[2] or b[3] < a[1] or b[1] > a[3])


class Grid(Generic[K]):
    """Keys with boxes, bucketed by the grid cells each box covers.

    Example:
        >>> g: Grid[str] = Grid()
        >>> g.add("a", (0, 0, 10, 10)); g.add("b", (500, 0, 510, 10)); g.add("c", (5, 5, 300, 8))
        >>> g.query((8, 0, 20, 20))
        ['a', 'c']
        >>> g.remove("a"); g.add("a", (0, 0, 10, 10)); g.query((0, 0, 600, 10))
        ['b', 'c', 'a']
    """

    def __init__(self, cell: float = CELL) -> None:
        self.cell = cell
        self._boxes: dict[K, Box] = {}
        self._seq: dict[K, int] = {}
        self._next = 0
        self._cells: dict[tuple[int, int], set[K]] = {}

    def __len__(self) -> int:
        return len(self._boxes)

    def _span(self, box: Box) -> tuple[range, range]:
        c = self.cell
        return (range(math.floor(box[0] / c), math.floor(box[2] / c) + 1),
                range(math.floor(box[1] / c), math.floor(box[3] / c) + 1))

    def add(self, key: K, box: Box) -> None:
        """Put ``key`` at ``box`` (it must not be in the grid yet); it counts as the newest key."""
        self._boxes[key] = box
        self._seq[key] = self._next
        self._next += 1
        xs, ys = self._span(box)
        for i in xs:
            for j in ys:
                self._cells.setdefault((i, j), set()).add(key)

    def remove(self, key: K) -> None:
        """Take ``key`` out of the grid."""
        box = self._boxes.pop(key)
        del self._seq[key]
        xs, ys = self._span(box)
        for i in xs:
            for j in ys:
                self._cells[i, j].discard(key)

    def query(self, box: Box) -> list[K]:
        """Every key whose box overlaps or touches ``box``, oldest first (the order they were added in)."""
        xs, ys = self._span(box)
        found: set[K] = set()
        for i in xs:
            for j in ys:
                cell = self._cells.get((i, j))
                if cell:
                    found |= cell
        hits = [k for k in found if overlaps(self._boxes[k], box)]
        hits.sort(key=self._seq.__getitem__)
        return hits
