"""The gates of expression graphs: each gate's formula, one backward rule per input, and the numbers.

Templates: ``$a`` and ``$b`` are the gate's inputs, ``$o`` its output, ``$c``
the constant exponent of ``pow`` and ``$k`` that exponent minus one; ``d$a``
is the gradient of f with respect to ``$a``. ``local`` gives ∂o/∂input for
each input, from the inputs, the output and c.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bpdiagram.model.catalogue.base import Code
from bpdiagram.options import Gate


@dataclass(frozen=True)
class GateOp:
    """A gate: its formula, one backward rule per input, what it keeps, and the numbers."""

    name: Gate
    forward: str
    rules: tuple[str, ...]
    keeps: tuple[str, ...]
    """Values the backward rules read ("a", "b" inputs, "o" output): these go through the cache."""
    f: Callable[[float, float, float], float]
    """(a, b, c) → o; unary gates ignore b."""
    local: Callable[[float, float, float, float], tuple[float, ...]]
    """(a, b, o, c) → ∂o/∂a (, ∂o/∂b)."""
    domain: Callable[[float, float, float], str | None] = lambda a, b, c: None
    """(a, b, c) → why the inputs are outside the gate's domain, or None."""
    code: Code | None = None
    """The gate as Python over floats (``math``): its output from a (, b, c); each input's gradient from the
    kept values (``a``, ``b``, ``out``), c and ``dout`` (see ``Code``)."""


def _sig(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


def _pow_domain(a: float, b: float, c: float) -> str | None:
    if a == 0 and c < 0:
        return "0 raised to a negative power"
    if a < 0 and not float(c).is_integer():
        return "a negative number raised to a fractional power"
    return None


GATE_OPS: dict[Gate, GateOp] = {
    "add": GateOp("add", "$a + $b", ("d$a = d$o", "d$b = d$o"), (),
                  lambda a, b, c: a + b, lambda a, b, o, c: (1.0, 1.0),
                  code=Code("a + b", ("dout", "dout"))),
    "sub": GateOp("sub", "$a − $b", ("d$a = d$o", "d$b = −d$o"), (),
                  lambda a, b, c: a - b, lambda a, b, o, c: (1.0, -1.0),
                  code=Code("a - b", ("dout", "-dout"))),
    "mul": GateOp("mul", "$a · $b", ("d$a = $b · d$o", "d$b = $a · d$o"), ("a", "b"),
                  lambda a, b, c: a * b, lambda a, b, o, c: (b, a),
                  code=Code("a * b", ("b * dout", "a * dout"))),
    "div": GateOp("div", "$a / $b", ("d$a = d$o / $b", "d$b = −$a · d$o / $b^{2}"), ("a", "b"),
                  lambda a, b, c: a / b, lambda a, b, o, c: (1.0 / b, -a / (b * b)),
                  lambda a, b, c: "division by zero" if b == 0 else None,
                  code=Code("a / b", ("dout / b", "-a * dout / b ** 2"))),
    "neg": GateOp("neg", "−$a", ("d$a = −d$o",), (), lambda a, b, c: -a, lambda a, b, o, c: (-1.0,),
                  code=Code("-a", ("-dout",))),
    "pow": GateOp("pow", "$a^{$c}", ("d$a = $c · $a^{$k} · d$o",), ("a",),
                  lambda a, b, c: a**c, lambda a, b, o, c: (c * a ** (c - 1),), _pow_domain,
                  code=Code("a ** c", ("c * a ** (c - 1) * dout",))),
    "exp": GateOp("exp", "exp($a)", ("d$a = $o · d$o",), ("o",),
                  lambda a, b, c: math.exp(a), lambda a, b, o, c: (o,),
                  lambda a, b, c: "exp overflows" if a > 700 else None,
                  code=Code("math.exp(a)", ("out * dout",))),
    "log": GateOp("log", "log($a)", ("d$a = d$o / $a",), ("a",),
                  lambda a, b, c: math.log(a), lambda a, b, o, c: (1.0 / a,),
                  lambda a, b, c: "log of a number ≤ 0" if a <= 0 else None,
                  code=Code("math.log(a)", ("dout / a",))),
    "sigmoid": GateOp("sigmoid", "σ($a)", ("d$a = $o (1 − $o) · d$o",), ("o",),
                      lambda a, b, c: _sig(a), lambda a, b, o, c: (o * (1 - o),),
                      code=Code("1 / (1 + math.exp(-a))", ("out * (1 - out) * dout",))),
    "tanh": GateOp("tanh", "tanh($a)", ("d$a = (1 − $o^{2}) · d$o",), ("o",),
                   lambda a, b, c: math.tanh(a), lambda a, b, o, c: (1 - o * o,),
                   code=Code("math.tanh(a)", ("(1 - out ** 2) * dout",))),
    "relu": GateOp("relu", "max(0, $a)", ("d$a = [$a > 0] · d$o",), ("a",),
                   lambda a, b, c: max(0.0, a), lambda a, b, o, c: (1.0 if a > 0 else 0.0,),
                   code=Code("max(0.0, a)", ("dout if a > 0 else 0.0",))),
    "max": GateOp("max", "max($a, $b)", ("d$a = [$a ≥ $b] · d$o", "d$b = [$b > $a] · d$o"), ("a", "b"),
                  lambda a, b, c: max(a, b), lambda a, b, o, c: ((1.0, 0.0) if a >= b else (0.0, 1.0)),
                  code=Code("max(a, b)", ("dout if a >= b else 0.0", "dout if b > a else 0.0"))),
    "min": GateOp("min", "min($a, $b)", ("d$a = [$a ≤ $b] · d$o", "d$b = [$b < $a] · d$o"), ("a", "b"),
                  lambda a, b, c: min(a, b), lambda a, b, o, c: ((1.0, 0.0) if a <= b else (0.0, 1.0)),
                  code=Code("min(a, b)", ("dout if a <= b else 0.0", "dout if b < a else 0.0"))),
}
