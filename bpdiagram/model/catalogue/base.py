"""What every catalogue entry is made of: its code for ``bpdiagram code``, the values it caches, its templates.

``Array`` is the float64 array type of every numpy rule; numpy itself is
imported only when a rule first computes (``bpdiagram.lazy``), since diagrams
without numbers never compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]


@dataclass(frozen=True)
class Code:
    """An op as Python, for ``bpdiagram code``: the bodies of its forward/backward function pair.

    Bodies are written over fixed argument names, numpy as ``np`` (networks) or
    ``math`` (expression gates); a body may hold several lines, the last one
    being the value returned. ``model.code`` turns them into functions such as
    ``tanh_forward(Z)`` and ``tanh_backward(dA, A)``, with arguments by family:

    - activation: forward ``(Z)``, backward ``(dA, *uses)`` → dZ;
    - loss: forward ``(A, Y)`` → J, backward ``(A, Y)`` → dA; ``scale`` from ``m``;
    - fused output: backward ``(A, Y)`` → dZ (no forward);
    - linear step: forward ``(W, A_prev, b)``; backward ``(dZ, A_prev, scale)`` → dW, db,
      and ``(W, dZ)`` → dA_prev;
    - gate: forward ``(a[, b][, c])``, backward ``(*keeps, [c,] dout)`` (the kept output ``o`` is ``out``),
      one expression per input.

    A new catalogue entry adds its ``Code`` next to its formula and its numpy rule;
    ``tests/test_code.py`` runs every body against the entry's numpy rule.
    """

    forward: str
    backward: tuple[str, ...]
    scale: str = ""
    """The loss's averaging factor from ``m`` (losses only): ``1 / m`` or ``1.0``."""


def fill(template: str, **parts: str) -> str:
    """Put ``parts`` into a template's ``{name}`` placeholders (markup braces such as ``^{2}`` stay)."""
    for name, text in parts.items():
        template = template.replace("{" + name + "}", text)
    return template


@dataclass(frozen=True)
class CachedValue:
    """A value an op keeps for the backward pass: its template symbol and its shape in n (= n[l]) and m."""

    symbol: str
    shape: tuple[str, str]
