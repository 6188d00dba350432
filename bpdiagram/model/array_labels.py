"""Arrays as label text: a shape line, then the entries (small arrays) or a summary (large ones).

Labels are drawn in a proportional font, so columns are aligned with
typographic spaces instead of ASCII ones: DejaVu Sans draws every digit one
figure space (U+2007) wide, and a figure space plus a thin space (U+2009) is
as wide as the minus sign (U+2212) to 0.002 em. Entries are right-aligned per
column; renderers do not collapse these spaces as they do runs of ASCII ones.

Entries have two decimals, or three significant digits of the largest entry
when it is below 1 (gradients are often small), and none when they are whole
numbers (0/1 targets). An array far from 1 in size gets a common factor
(×10⁻⁵) on its shape line, so a vanishing gradient shows as such instead of
as zeros.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from bpdiagram.model.catalogue import Array
else:
    from bpdiagram.lazy import lazy_module

    np = lazy_module("numpy")  # only diagrams with numbers call into this module

MAX_SHOWN = 4
"""Arrays up to 4 × 4 show every entry; larger ones show their shape and a summary."""

MINUS = "−"
FIGURE_SPACE = "\u2007"
SIGN_SPACE = "\u2007\u2009"
"""As wide as ``MINUS``: stands in for the sign of a positive entry in a column that has negative ones."""
COLUMN_GAP = "\u2007\u2007"
BAR = " │ "
"""Between W and b when a parameter node shows both side by side."""

SMALL = 1e-3
LARGE = 1e4
EXACT_SCALE = 300
"""Beyond 10^±300 a common factor is divided out exactly (in decimal) rather than by a float64 power of ten."""
NOISE = 1e-12
"""Relative size below which a summary's mean is rounding noise."""


def shape_text(array: Array) -> str:
    """``(4, 2)``.

    >>> import numpy as np
    >>> shape_text(np.zeros((4, 2)))
    '(4, 2)'
    """
    return f"({array.shape[0]}, {array.shape[1]})"


def is_small(array: Array) -> bool:
    """Whether every entry of ``array`` is shown.

    >>> import numpy as np
    >>> is_small(np.zeros((4, 4))), is_small(np.zeros((5, 1)))
    (True, False)
    """
    rows, columns = array.shape
    return bool(rows <= MAX_SHOWN and columns <= MAX_SHOWN)


def block(array: Array) -> str:
    """Markup for ``array``: its shape line, then rows of entries or a one-line summary.

    In the examples ``_`` stands for a figure space (one digit wide) and ``+``
    for the sign space that lines a positive entry up with a negative one.

    >>> import numpy as np
    >>> def show(text): print(text.replace(SIGN_SPACE, "+").replace(FIGURE_SPACE, "_"))
    >>> show(block(np.array([[1.0, -0.5], [0.25, 2.0]])))
    (2, 2)
    1.00__−0.50
    0.25__+2.00
    >>> show(block(np.array([[1.0, 0.0], [0.0, 1.0]])))  # whole numbers: no decimals
    (2, 2)
    1__0
    0__1
    >>> show(block(np.array([[0.00012, -0.000034]])))  # far from 1: a common factor
    (1, 2) ×10^{−4}
    1.20__−0.34
    >>> show(block(np.arange(10.0).reshape(2, 5)))  # more than 4 columns: a summary
    (2, 5)
    min 0, mean 4.50, max 9.00
    """
    if not is_small(array):
        return f"{shape_text(array)}\n{summary(array)}"
    rows, factor = matrix_rows(array)
    return "\n".join([shape_text(array) + factor, *rows])


def side_by_side(left: Array, right: Array) -> str:
    """Two arrays with the same rows as one block, ``[W │ b]``, when both are small; else one block each.

    >>> import numpy as np
    >>> print(side_by_side(np.array([[0.5]]), np.array([[-0.5]])))
    (1, 1) │ (1, 1)
    0.500 │ −0.500
    """
    if not (is_small(left) and is_small(right)):
        return f"{block(left)}\n{block(right)}"
    left_rows, left_factor = matrix_rows(left)
    right_rows, right_factor = matrix_rows(right)
    head = f"{shape_text(left)}{left_factor}{BAR}{shape_text(right)}{right_factor}"
    return "\n".join([head, *(a + BAR + b for a, b in zip(left_rows, right_rows, strict=True))])


def matrix_rows(array: Array) -> tuple[list[str], str]:
    """The rows of ``array`` as aligned text, and the common factor (``" ×10^{−5}"`` or ``""``)."""
    exponent = _exponent(array)
    scaled = _scaled(array, exponent) if exponent else array
    decimals = _decimals(scaled)
    cells = [[_fixed(float(v), decimals) for v in row] for row in scaled]
    columns = list(zip(*cells, strict=True))
    signed = [any(c.startswith(MINUS) for c in col) for col in columns]
    digits = [max(_int_digits(c) for c in col) for col in columns]
    rows = []
    for row in cells:
        parts = []
        for j, cell in enumerate(row):
            pad = SIGN_SPACE if signed[j] and not cell.startswith(MINUS) else ""
            parts.append(pad + FIGURE_SPACE * (digits[j] - _int_digits(cell)) + cell)
        rows.append(COLUMN_GAP.join(parts))
    factor = f" ×10^{{{_minus(str(exponent))}}}" if exponent else ""
    return rows, factor


def summary(array: Array) -> str:
    """``min −1.23, mean 0.0512, max 2.34``: what a large array holds, in one line.

    >>> import numpy as np
    >>> summary(np.array([[-1.234, 0.1, 2.345, 0.0, 1.0]]))
    'min −1.23, mean 0.442, max 2.35'
    """
    top = float(np.max(np.abs(array)))
    with np.errstate(over="ignore"):
        mean = float(array.mean())
    if not math.isfinite(mean):  # entries near float64's largest overflow as a plain sum: average them scaled
        mean = float((array / top).mean()) * top
    # a mean that is zero in exact arithmetic (softmax gradients) comes out as ±1e-18: say 0
    mean = mean if abs(mean) > NOISE * top else 0.0
    return f"min {short(float(array.min()))}, mean {short(mean)}, max {short(float(array.max()))}"


def short(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, a real minus sign and ×10ⁿ instead of e-notation.

    >>> short(0.000123456), short(-1234.5), short(2.0), short(0.0)
    ('0.000123', '−1.23×10^{3}', '2.00', '0')
    """
    if value == 0.0:
        return "0"
    text = f"{value:#.{digits}g}".rstrip(".")
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}×10^{{{int(exp)}}}"
    return _minus(text)


def scalar(value: float) -> str:
    """A loss value: four decimals, or four significant digits when far from 1.

    >>> scalar(0.83361), scalar(-2.5), scalar(1.5e-6), scalar(0.0)
    ('0.8336', '−2.5000', '1.500×10^{−6}', '0.0000')
    """
    if value == 0 or SMALL <= abs(value) < LARGE:
        return _minus(f"{value:.4f}")
    return short(value, 4)


def _exponent(array: Array) -> int:
    top = float(np.max(np.abs(array))) if array.size else 0.0
    if top == 0.0 or SMALL <= top < LARGE:
        return 0
    return math.floor(math.log10(top))


def _scaled(array: Array, exponent: int) -> Array:
    """``array`` / 10^exponent. Near float64's limits 10^exponent is no longer a float64 (beyond 10^308) or only
    a rough one (subnormal, below 10^−307), so dividing by it would draw 1e-320 as 10.02 ×10⁻³²¹ or 5e-324 as
    inf: there each entry is scaled exactly, in decimal."""
    if abs(exponent) <= EXACT_SCALE:
        out: Array = array / 10.0**exponent
        return out
    out = np.array([[float(Decimal(float(v)).scaleb(-exponent)) for v in row] for row in array])
    return out


def _decimals(array: Array) -> int:
    """None for whole numbers (0/1 targets); else two, or up to four so the largest entry keeps three digits."""
    if np.all(array == np.round(array)):
        return 0
    top = float(np.max(np.abs(array)))
    if top >= 1.0:
        return 2
    return min(4, 2 - math.floor(math.log10(top)))


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")  # −0.00 says nothing the reader can use
    return _minus(text)


def _int_digits(cell: str) -> int:
    return len(cell.lstrip(MINUS).split(".")[0])


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


MAX_MAP = 6
"""Feature maps up to 6 × 6 show every entry; larger ones are summarised."""

MAX_MAPS = 4
"""At most four maps in one block (the channels of one example, or the filters' channels)."""

MAX_ROW_EM = 32.0
"""Maps stand side by side while a row stays within this width in em (a label line is cut at 34 em);
wider, they stand one under the other."""

_EM = {"\u2009": 0.2, ".": 0.318, " ": 0.318, MINUS: 0.838, "│": 0.5}
"""Rough advance widths in em of DejaVu Sans (digits and the figure space 0.636): the model cannot
measure with the layout's tables, and only needs to know whether a row is near the limit."""

MAP_RULE = "┈┈┈┈"
"""Between two maps standing one under the other."""


def tensor_block(array: Array) -> str:
    """Markup for an array of any rank: a matrix as ``block``, a vector (b of a conv layer) as one row, and a
    4-D tensor as its maps side by side.

    A batch of feature maps (m, C, H, W) shows the C maps of the first example, a conv layer's
    filters (F, C, k, k) every filter's channels; the shape line says which. Too many or too large
    maps get the shape and a one-line summary instead.

    >>> import numpy as np
    >>> def show(text): print(text.replace(SIGN_SPACE, "+").replace(FIGURE_SPACE, "_"))
    >>> show(tensor_block(np.array([0.5, -0.25])))
    (2,)
    0.500__−0.250
    >>> show(tensor_block(np.arange(8.0).reshape(2, 1, 2, 2)))
    1×2×2×m, m = 2: example 1
    0__1
    2__3
    >>> show(tensor_block(np.ones((2, 3, 8, 8))))
    3×8×8×m, m = 2
    min 1.00, mean 1.00, max 1.00
    """
    if array.ndim == 2:
        return block(array)
    if array.ndim == 1:
        rows, factor = matrix_rows(array.reshape(1, -1))
        return f"({array.shape[0]},){factor}\n{rows[0]}"
    return feature_block(array, filters=False)


def filter_block(array: Array) -> str:
    """A conv layer's weights (F, C, k, k): every filter's channels side by side, or a summary."""
    return feature_block(array, filters=True)


def feature_block(array: Array, *, filters: bool) -> str:
    """Maps side by side under one shape line (see ``tensor_block``)."""
    n, c, h, w = array.shape
    if filters:
        head = f"{n}×{c}×{h}×{w} (F×C×k×k)"
        maps = [array[f, ch] for f in range(n) for ch in range(c)]
    else:
        head = f"{c}×{h}×{w}×m, m = {n}"
        maps = [array[0, ch] for ch in range(c)]
    if len(maps) > MAX_MAPS or h > MAX_MAP or w > MAX_MAP:
        return f"{head}\n{summary(array)}"
    if not filters:
        head += ": example 1"
    laid = [matrix_rows(m) for m in maps]
    factors = {factor for _, factor in laid}
    if len(factors) > 1:  # maps of very different sizes: one common factor would hide the small ones
        return f"{head}\n{summary(array)}"
    out = [BAR.join(rows[i] for rows, _ in laid) for i in range(h)]
    if max(sum(_EM.get(c, 0.636) for c in row) for row in out) > MAX_ROW_EM:  # too wide: one under the other
        out = [line for i, (rows, _) in enumerate(laid) for line in ([MAP_RULE] if i else []) + rows]
    return "\n".join([head + factors.pop(), *out])
