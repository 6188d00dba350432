"""Expression specs in numbers: evaluate an expression gate by gate, forward and backward, in float64.

Every gate takes its function and its local derivatives from the op
catalogue (``GATE_OPS``), the same entries whose formulas the diagram
draws; ``numeric_gradients`` is the independent oracle ``check`` compares
with (central finite differences). ``model.expression`` builds the
diagram from an ``Evaluation``, and ``model.code`` the Python listing.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bpdiagram.errors import SpecError
from bpdiagram.model.catalogue import GATE_OPS
from bpdiagram.richtext import escape, plain
from bpdiagram.spec.expression import Const, Expr, ExpressionSpec, GateNode, Var
from bpdiagram.spec.program import primes

NAMES = ("q", "r", "s", "t", "u", "v", "p", "h", "k", "g")
"""Names for intermediate results (the output is f), skipping any the expression uses."""


def fmt(value: float, decimals: int = 2) -> str:
    """A number as course notes print it: at most two decimals (or ``decimals``), a real minus sign.

    >>> fmt(-1.5), fmt(645.57729, 4), fmt(0.001)
    ('−1.5', '645.5773', '1.00e−03')
    """
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 0.5 * 10.0 ** -decimals):
        text = f"{value:.2e}"
    else:
        text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return text.replace("-", "−")


def var_node(name: str) -> str:
    """The id of variable ``name``'s node (``var.x``): its wires come from it, its gradient goes back to it.

    >>> var_node("w0")
    'var.w0'
    """
    return f"var.{name}"


def author_markup(node: GateNode) -> str | None:
    """The author's name of a program value with its version mark (c, c′, c″), or None for a tool-named gate."""
    return None if node.name is None else name_markup(node.name) + primes(node.version)


def name_markup(name: str) -> str:
    """``w0`` → w₀ (trailing digits as a subscript), other names escaped as they are."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    return f"{match.group(1)}_{{{match.group(2)}}}" if match else escape(name)


@dataclass
class Wire:
    """A value flowing into a gate: from a variable, a constant or another gate."""

    node: str | None
    """The producing node's id (None for a constant)."""
    name: str
    """Markup shown in formulas: the variable's or result's name, or the number."""
    value: float
    var: str | None = None
    """The variable's name, when the wire comes straight from a variable."""


@dataclass
class GateValue:
    """One evaluated gate: inputs, output, and (after the backward pass) the gradients."""

    id: str
    node: GateNode
    inputs: list[Wire]
    out: Wire
    dout: float = 0.0
    dins: list[float] = field(default_factory=list)


@dataclass
class Evaluation:
    """The forward and backward pass of an expression, in numbers."""

    gates: list[GateValue]
    value: float
    grads: dict[str, float]
    contributions: dict[str, list[tuple[str, float]]]
    """Per variable, the (gate id, gradient) of each use: more than one means a fan-out sum."""


_R = TypeVar("_R", float, tuple[float, ...])


def exact(value: float) -> str:
    """A number as the user would write it in a spec: ``0``, ``-2``, ``1e-200``, ``0.1`` (shortest round trip)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


class _Guard:
    """The one place where a gate's numbers are computed, forward and backward, in float64.

    Every result of a gate function, a backward rule, a chain-rule product and a fan-out sum goes
    through ``__call__``: an arithmetic exception (division by zero, overflow) or a result that is not
    finite becomes one ``SpecError`` naming the gate (its text and column in the expression) and its
    inputs' values as a spec would write them — never a traceback, never ``inf`` or ``nan`` drawn.
    """

    def __init__(self, spec: ExpressionSpec) -> None:
        self.spec = spec

    def __call__(self, what: str, node: GateNode, inputs: list[Wire], compute: Callable[..., _R],
                 *args: Any) -> _R:
        """``compute(*args)`` (a number or a tuple of numbers), or the error saying which gate failed how."""
        try:
            value = compute(*args)
        except ZeroDivisionError:
            raise self.fail(f"{what} divides by zero", node, inputs) from None
        except (OverflowError, ValueError):
            raise self.fail(f"{what} is out of the range of float64 numbers", node, inputs) from None
        for number in value if isinstance(value, tuple) else (value,):
            if not math.isfinite(number):
                raise self.fail(f"{what} is {'not a number' if math.isnan(number) else 'infinite'} in float64",
                                node, inputs)
        return value

    def fail(self, problem: str, node: GateNode, inputs: list[Wire]) -> SpecError:
        """The error for gate ``node``: the problem, where it is, and the values going in."""
        shown = ", ".join(f"{plain(w.name)} = {exact(w.value)}" for w in inputs if w.node is not None)
        return SpecError(f"{problem} at column {node.column}: {node.text}" + (f" with {shown}" if shown else ""),
                         file=self.spec.file, line=node.line or self.spec.line,
                         key="program" if self.spec.output is not None else "expression")


def evaluate(spec: ExpressionSpec, values: dict[str, float] | None = None, *, backward: bool = True) -> Evaluation:
    """Run ``spec`` forward (and backward) with the catalogue's gate functions.

    Raises a ``SpecError`` located at the expression when a value leaves a
    gate's domain (log of a negative, division by zero, …) or any number,
    forward or backward, is not a finite float64 (see ``_Guard``).
    """
    env = spec.values if values is None else values
    taken = set(spec.variables) | _authors(spec.tree)
    letters = [n for n in NAMES if n not in taken]
    named_output = isinstance(spec.tree, GateNode) and spec.tree.name is not None
    count = _count_gates(spec.tree, set()) - (0 if named_output else 1)  # an expression's output is f
    # one naming scheme per picture: letters while they last, else q₁, q₂, … for every result
    base = next((n for n in letters if not any(v.startswith(n) for v in taken)), "g")
    names = iter(letters if count <= len(letters) else [name_markup(f"{base}{i}") for i in range(1, count + 1)])
    gates: list[GateValue] = []
    guard = _Guard(spec)
    done: dict[int, Wire] = {}  # a program's value read by several lines is evaluated once
    needs: dict[int, int] = {}

    def walk(node: Expr, final: bool) -> Wire:
        if isinstance(node, Var):
            return Wire(var_node(node.name), name_markup(node.name), env[node.name], var=node.name)
        if isinstance(node, Const):
            return Wire(None, fmt(node.value), node.value)
        if id(node) in done:
            return done[id(node)]
        # the argument that needs more values kept at once goes first (Sethi–Ullman order): fewer values
        # wait at the same time, so the drawing needs fewer rows and its lanes cross less
        order = sorted(range(len(node.args)), key=lambda i: -_need(node.args[i], needs))
        walked = {i: walk(node.args[i], False) for i in order}
        inputs = [walked[i] for i in range(len(node.args))]
        op = GATE_OPS[node.op]
        a, b, c = _operands(node, inputs)
        problem = op.domain(a, b, c)
        if problem is not None:
            raise guard.fail(problem, node, inputs)
        out = guard("the value", node, inputs, lambda: op.f(a, b, c))
        gid = f"g{len(gates) + 1}"
        name = author_markup(node) or ("f" if final else next(names))
        gate = GateValue(gid, node, inputs, Wire(gid, name, out))
        gates.append(gate)
        done[id(node)] = gate.out
        return gate.out

    for stage in spec.stages:  # a program's lines in the author's order, each line's inner gates just before it
        if stage is not spec.tree:
            walk(stage, False)
    root = walk(spec.tree, True)
    if not gates:
        raise SpecError("has no operation to differentiate; write e.g. 2 * x", file=spec.file, line=spec.line,
                        key="expression")
    contributions: dict[str, list[tuple[str, float]]] = {v: [] for v in spec.variables}
    if not backward:
        return Evaluation(gates, root.value, {}, contributions)
    grads = _backward(gates, contributions, guard)
    return Evaluation(gates, root.value, grads, contributions)


def _backward(gates: list[GateValue], contributions: dict[str, list[tuple[str, float]]],
              guard: _Guard) -> dict[str, float]:
    """The backward pass: each gate's input gradients (into ``dins``), the uses of each variable, their sums."""
    by_id = {g.id: g for g in gates}
    gates[-1].dout = 1.0
    for gate in reversed(gates):
        op = GATE_OPS[gate.node.op]
        a, b, c = _operands(gate.node, gate.inputs)
        rule = "the gradient through it"
        local = guard(rule, gate.node, gate.inputs, op.local, a, b, gate.out.value, c)
        gate.dins = [guard(rule, gate.node, gate.inputs, operator.mul, x, gate.dout) for x in local]
        for wire, din in zip(gate.inputs, gate.dins, strict=True):
            if wire.node is None:
                continue
            if wire.var is not None:
                contributions[wire.var].append((gate.id, din))
            else:
                into = by_id[wire.node]
                into.dout = guard("the sum of gradients into it", into.node, into.inputs, operator.add, into.dout, din)
    grads = {}
    for var, uses in contributions.items():
        first = by_id[uses[0][0]]
        grads[var] = guard(f"the sum of d{var}", first.node, first.inputs, math.fsum, [d for _, d in uses])
    return grads


def _operands(node: GateNode, inputs: list[Wire]) -> tuple[float, float, float]:
    """(a, b, c) for the catalogue's gate functions: the inputs and the constant exponent."""
    b = inputs[1].value if len(inputs) > 1 else 0.0
    return inputs[0].value, b, node.exponent if node.exponent is not None else 0.0


def _count_gates(node: Expr, seen: set[int]) -> int:
    """Gates of ``node`` that the tool names (a program's shared values counted once, its named ones not at all)."""
    if not isinstance(node, GateNode) or id(node) in seen:
        return 0
    seen.add(id(node))
    return (1 if node.name is None else 0) + sum(_count_gates(a, seen) for a in node.args)


def _authors(node: Expr) -> set[str]:
    """The names a program's author gave its values: the tool's own names avoid them."""
    out: set[str] = set()
    stack = [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if isinstance(n, GateNode) and id(n) not in seen:
            seen.add(id(n))
            if n.name is not None:
                out.add(n.name)
            stack.extend(n.args)
    return out


def _need(node: Expr, memo: dict[int, int]) -> int:
    """Values an evaluation of ``node`` keeps at once, in the best order (its Sethi–Ullman number).

    ``memo`` holds the numbers already found: a program's shared values would otherwise be visited once per path.
    """
    if not isinstance(node, GateNode):
        return 0
    if id(node) in memo:
        return memo[id(node)]
    needs = sorted((_need(arg, memo) for arg in node.args), reverse=True)
    out = max(1, needs[0]) if len(needs) == 1 else needs[0] if needs[0] != needs[1] else needs[0] + 1
    memo[id(node)] = out
    return out


def numeric_gradients(spec: ExpressionSpec, step: float = 1e-6) -> dict[str, float]:
    """Central finite differences of f with respect to each variable: the oracle ``check`` compares with.

    When f is not defined (or not finite) a step away from a variable's value, the error names the
    variable and the value the user gave, not the perturbed one.
    """
    out = {}
    for var in spec.variables:
        at = spec.values[var]
        hi = dict(spec.values, **{var: at + step})
        lo = dict(spec.values, **{var: at - step})
        try:
            rise = evaluate(spec, hi, backward=False).value - evaluate(spec, lo, backward=False).value
            out[var] = rise / (2 * step)
        except SpecError as exc:
            reason = exc.reason.split(" at column ")[0]
            raise SpecError(f"cannot check d{var} by central differences: {var} = {exact(at)} is within "
                            f"h = {step:g} of where f stops being finite ({reason} at {var} ± h)",
                            file=spec.file, line=spec.line, key="expression") from None
        if not math.isfinite(out[var]):
            raise SpecError(f"cannot check d{var} by central differences at {var} = {exact(at)}: the difference "
                            "quotient is not finite", file=spec.file, line=spec.line, key="expression")
    return out


def fill_gate(template: str, gate: GateValue) -> str:
    """A gate template with its inputs', output's and exponent's names filled in."""
    a = gate.inputs[0].name
    b = gate.inputs[1].name if len(gate.inputs) > 1 else ""
    c = fmt(gate.node.exponent) if gate.node.exponent is not None else ""
    k = fmt(gate.node.exponent - 1) if gate.node.exponent is not None else ""
    if gate.node.exponent is not None:
        # the power rule as course notes print it: 2t, not 2 · t¹; 3t², not 3 · t²; and c alone for t¹
        e = gate.node.exponent - 1
        template = template.replace("$c · $a^{$k}", "$c" if e == 0 else "$c$a" if e == 1 else "$c$a^{$k}")
    # constants and negative numbers read better in parentheses inside a formula
    if gate.inputs[0].node is None and a.startswith("−"):
        a = f"({a})"
    if len(gate.inputs) > 1 and gate.inputs[1].node is None and b.startswith("−"):
        b = f"({b})"
    return template.replace("$a", a).replace("$b", b).replace("$o", gate.out.name).replace("$c", c).replace("$k", k)
