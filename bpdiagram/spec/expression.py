"""Validate an expression spec: parse ``expression`` into a tree of gates, check ``values``.

The expression is parsed with Python's ``ast`` and only a whitelist of node
types is accepted (numbers, names, ``+ - * / **``, unary minus, and calls of
the functions in ``options.FUNCTIONS``); it is never evaluated as Python.
Errors name the column inside the expression.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from bpdiagram.options import EDGE_KINDS, FUNCTIONS, EdgeKind, Gate
from bpdiagram.spec.diagram_options import parse_show
from bpdiagram.spec.fields import MAX_TEXT, check_keys
from bpdiagram.spec.keys import EXPRESSION_DIAGRAM_KEYS, EXPRESSION_KEYS, MAX_DECIMALS
from bpdiagram.spec.load import Document, finite_float, shown_number, type_name

MAX_GATES = 60
"""Gates in one expression. Set from ``tools/limits.py`` (``make limits``) so the largest accepted expression
renders in every format within 10 s on 2 cores: on 2026-11-30, with the mirrored expression layout,
60 gates took at most 9.6 s of CPU (a fan-out chain); with the layout before it, 24 gates took over 40 s of
wall-clock time and 60 gates over 10 minutes (the limit was 20 for that layout)."""

_BINARY: dict[type[ast.operator], Gate] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
                                           ast.Pow: "pow"}


@dataclass(frozen=True)
class Var:
    """A variable of the expression."""

    name: str
    column: int
    """Where it is written in the expression (1-based), for error messages."""


@dataclass(frozen=True)
class Const:
    """A number written in the expression."""

    value: float
    column: int
    """Where it is written in the expression (1-based), for error messages."""


@dataclass(frozen=True)
class GateNode:
    """One gate: an operation on its arguments (``exponent`` for ``pow``)."""

    op: Gate
    args: tuple[Var | Const | GateNode, ...]
    column: int
    text: str
    exponent: float | None = None
    name: str | None = None
    """The author's name for the value (a program line's top operation), else None: the tool names it."""
    version: int = 0
    """Which assignment of ``name`` this is (0 the first; ``c += 1`` makes version 1 of c)."""
    line: int | None = None
    """The spec file's line the operation is written on, when it is not the expression's own (programs)."""


Expr = Var | Const | GateNode


@dataclass(frozen=True)
class ExpressionSpec:
    """A validated expression spec: the gate tree, the variables in order of first use, their values."""

    title: str | None
    source: str
    tree: Expr
    variables: tuple[str, ...]
    values: dict[str, float]
    show: tuple[EdgeKind, ...]
    file: str
    line: int | None
    decimals: int = 2
    """Decimals of the numbers drawn (``diagram: {decimals: 4}``), 2 as course notes print them."""
    stages: tuple[GateNode, ...] = ()
    """A program's assigned values in line order: evaluated (and drawn) in the order the author wrote them."""
    output: str | None = None
    """A program's output name (``program:`` specs); None for an expression, whose output is f."""

    @property
    def heading(self) -> str:
        """The title, else what the picture computes: ``f = (x + y) * z``, or the program's output name."""
        if self.title is not None:
            return self.title
        if self.output is not None:
            lines = self.source.count("\n") + 1
            return f"{self.output}, computed by a program of {lines} line{'s' if lines > 1 else ''}"
        return f"f = {self.source}"


def validate_expression(doc: Document) -> ExpressionSpec:
    """Check ``doc`` against the expression spec format (README, "Expression specs")."""
    data = doc.data
    check_keys(doc, (), data, EXPRESSION_KEYS)
    raw = data["expression"]
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise doc.error(("expression",), f"must be an expression such as (x + y) * z, not a {type_name(raw)}")
    source = str(raw).strip()
    if not source:
        raise doc.error(("expression",), "is empty; write an expression such as (x + y) * z")
    if len(source) > MAX_TEXT:
        raise doc.error(("expression",), f"is {len(source)} characters long; at most {MAX_TEXT}")
    title = data.get("title")
    if isinstance(title, (dict, list)):
        raise doc.error(("title",), f"must be text, not a {type_name(title)}")
    if title is not None and len(str(title)) > MAX_TEXT:
        raise doc.error(("title",), f"is {len(str(title))} characters long; at most {MAX_TEXT}")
    tree = _Parser(doc, source).parse()
    variables = tuple(dict.fromkeys(_variables(tree)))
    if not variables:
        raise doc.error(("expression",), f"has no variable to differentiate by: {source}")
    values = _values(doc, data.get("values"), variables)
    show, decimals = drawing_options(doc)
    return ExpressionSpec(None if title is None else str(title), source, tree, variables, values, show, doc.file,
                          doc.line_of(("expression",)), decimals=decimals)


def drawing_options(doc: Document) -> tuple[tuple[EdgeKind, ...], int]:
    """The ``diagram:`` options of an expression or a program: the edge kinds shown, the decimals drawn."""
    show: tuple[EdgeKind, ...] = EDGE_KINDS
    decimals = 2
    diagram = doc.data.get("diagram")
    if diagram is not None:
        if not isinstance(diagram, dict):
            raise doc.error(("diagram",), f"must be a mapping, not a {type_name(diagram)}")
        check_keys(doc, ("diagram",), diagram, EXPRESSION_DIAGRAM_KEYS)
        if "show" in diagram:
            parsed = parse_show(diagram["show"])
            if isinstance(parsed, str):
                raise doc.error(("diagram", "show"), parsed)
            show = parsed
        if "decimals" in diagram:
            raw = diagram["decimals"]
            if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_DECIMALS:
                raise doc.error(("diagram", "decimals"), f"must be a whole number from 0 to {MAX_DECIMALS}, "
                                f"not {shown_number(raw)}")
            decimals = raw
    return show, decimals


def _variables(node: Expr) -> list[str]:
    if isinstance(node, Var):
        return [node.name]
    if isinstance(node, Const):
        return []
    return [name for arg in node.args for name in _variables(arg)]


def _values(doc: Document, raw: Any, variables: tuple[str, ...]) -> dict[str, float]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise doc.error(("values",), f"must be a mapping of variable to number, e.g. {{x: -2}}, not a {type_name(raw)}")
    for key, value in raw.items():
        if key not in variables:
            known = ", ".join(variables)
            raise doc.error(("values", key), f"no variable {key!r} in the expression (variables: {known})")
        if finite_float(value) is None:
            raise doc.error(("values", key), f"must be a finite number, not {shown_number(value)}")
    missing = [v for v in variables if v not in raw]
    if missing:
        raise doc.error(("values",) if "values" in doc.data else ("expression",),
                        f"missing value for {', '.join(missing)}; give every variable a number under 'values:'")
    return {v: float(raw[v]) for v in variables}  # each checked by finite_float above


class _Parser:
    """Turns the whitelisted subset of Python expression syntax into gates."""

    def __init__(self, doc: Document, source: str) -> None:
        self.doc = doc
        self.source = source
        self.gates = 0

    def fail(self, reason: str, column: int | None = None) -> Exception:
        where = f" at column {column}" if column is not None else ""
        return self.doc.error(("expression",), f"{reason}{where}: {self.source}")

    def column(self, node: ast.AST) -> int:
        offset = getattr(node, "col_offset", 0)
        return len(self.source.encode("utf-8")[:offset].decode("utf-8", "ignore")) + 1

    def parse(self) -> Expr:
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            raise self.fail(f"syntax error ({exc.msg})", exc.offset) from None
        except (ValueError, RecursionError, MemoryError):
            raise self.fail("cannot be parsed") from None
        try:
            return self.node(tree.body)
        except RecursionError:
            raise self.fail("is nested too deeply") from None

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def gate(self, op: Gate, args: tuple[Expr, ...], node: ast.AST, exponent: float | None = None) -> GateNode:
        self.gates += 1
        if self.gates > MAX_GATES:
            raise self.fail(f"has more than {MAX_GATES} operations; split it into smaller expressions")
        return GateNode(op, args, self.column(node), self.text(node), exponent)

    def node(self, node: ast.AST) -> Expr:
        """The tree of ``node``: only the node types of the whitelist, each read by its own method."""
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.unary(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(f"{self.text(node)!r} is not allowed (use numbers, variables, + - * / **, and "
                        f"{', '.join(FUNCTIONS)})", self.column(node))

    def name(self, node: ast.Name) -> Expr:
        if node.id in FUNCTIONS:
            raise self.fail(f"{node.id} is a function; call it like {node.id}(x)", self.column(node))
        return Var(node.id, self.column(node))

    def constant(self, node: ast.Constant) -> Expr:
        value = finite_float(node.value)
        if value is None:
            shown = self.text(node)
            shown = shown if len(shown) <= 24 else shown[:20] + "…"
            raise self.fail(f"{shown!r} is not a finite number", self.column(node))
        return Const(value, self.column(node))

    def unary(self, node: ast.UnaryOp) -> Expr:
        """``+x`` is x; ``-c`` of a constant is the constant −c, of anything else a ``neg`` gate.

        A run of signs is read in a loop, not by recursion: signs make no gates, so only the text's
        length bounds how many there are.
        """
        signs: list[ast.UnaryOp] = []
        operand: ast.AST = node
        while isinstance(operand, ast.UnaryOp) and isinstance(operand.op, (ast.USub, ast.UAdd)):
            signs.append(operand)
            operand = operand.operand
        inner = self.node(operand)
        for sign in reversed(signs):
            if isinstance(sign.op, ast.UAdd):
                continue
            if isinstance(inner, Const):
                inner = Const(-inner.value, self.column(sign))
            else:
                inner = self.gate("neg", (inner,), sign)
        return inner

    def binary(self, node: ast.BinOp) -> Expr:
        op = _BINARY[type(node.op)]
        left = self.node(node.left)
        right = self.node(node.right)
        if op == "pow":
            if not isinstance(right, Const):
                raise self.fail("** needs a constant exponent, such as x ** 2", self.column(node.right))
            return self.gate("pow", (left,), node, exponent=right.value)
        return self.gate(op, (left, right), node)

    def call(self, node: ast.Call) -> Expr:
        """A call of one of ``options.FUNCTIONS`` with its number of arguments, no keywords."""
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            shown = name or self.text(node.func)
            raise self.fail(f"unknown function {shown!r} (known: {', '.join(FUNCTIONS)})", self.column(node))
        if node.keywords or len(node.args) != FUNCTIONS[name]:
            count = FUNCTIONS[name]
            raise self.fail(f"{name} takes {count} argument{'s' if count > 1 else ''}", self.column(node))
        args = tuple(self.node(a) for a in node.args)
        return self.gate(name, args, node)  # type: ignore[arg-type]
