"""Layer the forward graph: one column per value, rows as lanes for values that wait.

A layered drawing that stacked several ops in one column would send every
vertical line (a derivative tie, a cache drop) through the other boxes of
that column. So every forward node gets a column of its own, left to right
in evaluation order (inputs first), and the rows work like the lanes of a
git branch graph: a value runs along its row from the op that makes it to
its last user, and ops whose values live at the same time stand in
different rows.

Rows are numbered from the cache band upwards (row 0 is nearest the cache),
and they work like a stack: a value stands below every value that is still
waiting when it is made. Then nothing waits below an op, and the vertical
lines that leave it downwards (its derivative tie, its cache drop) cross no
lane. Each value takes the lowest row under every older value alive at its
birth; values whose lives do not overlap share a row.

>>> spans = {"x": (0, 3), "a": (1, 2), "b": (2, 3)}
>>> rows_for(spans)
{'a': 0, 'b': 0, 'x': 1}
>>> rows_for({"x": (0, 5), "y": (1, 4), "p": (2, 3), "q": (3, 5)})
{'p': 0, 'q': 0, 'x': 2, 'y': 1}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["columns_for", "rows_for", "spans_for"]


def columns_for(order: Sequence[str]) -> dict[str, int]:
    """Column of each forward node: its place in ``order`` (inputs first, then ops as they are evaluated)."""
    return {n: i for i, n in enumerate(order)}


def spans_for(columns: Mapping[str, int], users: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, int]]:
    """The columns each value occupies in its row: from its op up to (not including) its last user's column.

    A value nobody reads (the output) occupies its own column only.
    """
    out = {}
    for n, c in columns.items():
        ends = [columns[u] for u in users.get(n, ())]
        out[n] = (c, max(ends) if ends else c + 1)
    return out


def rows_for(spans: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Row of each value (0 nearest the cache), given the half-open column span it occupies."""
    order = sorted(spans, key=lambda n: (-spans[n][0], n))  # the youngest first: it stands lowest
    rows: dict[str, int] = {}
    placed: list[str] = []
    for n in order:
        lo, hi = spans[n]
        below = [rows[w] for w in placed if spans[w][0] < hi and lo < spans[w][1]]
        rows[n] = max(below) + 1 if below else 0
        placed.append(n)
    return dict(sorted(rows.items()))
