"""Validate a program spec: staged assignments whose values carry the author's names.

A program is what course notes write when they stage a computation
(``q = x + y`` then ``f = q * z``): one assignment a line, each right-hand
side in the grammar of ``expression:`` (parsed by the same whitelist, never
run as Python). Reading an assigned name reuses its value, so the program
becomes one expression whose tree shares nodes (a DAG); the top operation
of each line carries the author's name. ``c += e`` (and ``-= *= /=``) is
``c = c + e``: a new version of c, shown as c′, then c″, c‴.

The result is an ``ExpressionSpec``: every command that takes an
expression takes a program. Every error names the line of the spec file
the program line stands on and the column inside that program line.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from bpdiagram.errors import SpecError
from bpdiagram.options import FUNCTIONS, Gate
from bpdiagram.spec.expression import MAX_GATES, Const, Expr, ExpressionSpec, GateNode, Var, _Parser, drawing_options
from bpdiagram.spec.fields import MAX_TEXT, check_keys
from bpdiagram.spec.keys import PROGRAM_KEYS
from bpdiagram.spec.load import Document, finite_float, shown_number, type_name

__all__ = ["PROGRAM_KEYS", "primes", "validate_program"]


_AUGMENTED: dict[type[ast.operator], Gate] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}
_SIGNS = {"add": "+=", "sub": "-=", "mul": "*=", "div": "/="}


def primes(version: int) -> str:
    """The version mark of a reassigned name: nothing, then ′, ″, ‴, then that many ′.

    >>> [primes(v) for v in range(5)]
    ['', '′', '″', '‴', '′′′′']
    """
    return {0: "", 1: "′", 2: "″", 3: "‴"}.get(version, "′" * version)


@dataclass(frozen=True)
class _Line:
    """One program line: where it stands and what it says."""

    number: int
    """Its line in the spec file (the program's own line number when the file's is not known)."""
    text: str


class _LineParser(_Parser):
    """The expression parser, reading one program line: errors name the file's line and the line's column."""

    def __init__(self, doc: Document, line: _Line) -> None:
        super().__init__(doc, line.text)
        self.line = line

    def fail(self, reason: str, column: int | None = None) -> Exception:
        return _error(self.doc, self.line, reason, column)


def _error(doc: Document, line: _Line, reason: str, column: int | None = None) -> SpecError:
    where = f" at column {column}" if column is not None else ""
    return SpecError(f"{reason}{where}: {line.text.strip()}", file=doc.file, line=line.number, key="program")


class _Program:
    """Reads the lines in order, keeping the current version of every assigned name."""

    def __init__(self, doc: Document, inputs: dict[str, Any], lines: list[_Line]) -> None:
        self.doc = doc
        self.inputs = inputs
        self.lines = lines
        self.current: dict[str, GateNode] = {}
        self.versions: dict[str, int] = {}
        self.assigned: list[tuple[GateNode, _Line]] = []
        """Every value assigned, in order, with its line: for the error of a value nobody reads."""
        self.read_inputs: list[str] = []
        self.gates = 0
        self.later = self.assigned_names()

    def assigned_names(self) -> dict[str, _Line]:
        """The first line assigning each name, to tell "read before assigned" from "unknown"."""
        out: dict[str, _Line] = {}
        for line in self.lines:
            target = line.text.split("=", 1)[0].strip().rstrip("+-*/").strip()
            if target.isidentifier():
                out.setdefault(target, line)
        return out

    def run(self) -> None:
        for line in self.lines:
            self.statement(line)

    def statement(self, line: _Line) -> None:
        """One line: its right-hand side read, its names resolved, its top operation named and versioned."""
        parser = _LineParser(self.doc, line)
        parser.gates = self.gates
        target, value, op = _assignment(parser, line)
        name = target.id
        column = parser.column(target)
        if name in FUNCTIONS:
            raise parser.fail(f"{name} is a function and cannot be assigned", column)
        if name in self.inputs:
            raise parser.fail(f"{name} is an input given under 'values:' and cannot be assigned; "
                              "give the result a new name", column)
        try:
            rhs = parser.node(value)
        except RecursionError:
            raise parser.fail("is nested too deeply") from None
        if op is not None:
            if name not in self.current:
                raise parser.fail(f"{name} {_SIGNS[op]} … reads {name} before it is assigned", column)
            rhs = GateNode(op, (Var(name, column), rhs), column, line.text)
            parser.gates += 1
            if parser.gates > MAX_GATES:
                raise parser.fail(f"has more than {MAX_GATES} operations in all; split the program")
        if not isinstance(rhs, GateNode):
            what = "a name" if isinstance(rhs, Var) else "a number"
            raise parser.fail(f"{name} = {line.text.split('=', 1)[1].strip()} is just {what}: a line must compute "
                              "something (use the name or number where it is read)", parser.column(value))
        self.gates = parser.gates
        version = self.versions.get(name, -1) + 1
        args = tuple(self.resolve(a, line) for a in rhs.args)
        named = dataclasses.replace(rhs, args=args, line=line.number, name=name, version=version)
        self.versions[name] = version
        self.current[name] = named
        self.assigned.append((named, line))

    def resolve(self, node: Expr, line: _Line) -> Expr:
        """``node`` with every line number set and every assigned name replaced by its current value."""
        if isinstance(node, Const):
            return node
        if isinstance(node, Var):
            if node.name in self.current:
                return self.current[node.name]
            if node.name in self.inputs:
                self.read_inputs.append(node.name)
                return node
            if node.name in self.later:
                first = self.later[node.name]
                raise _error(self.doc, line, f"{node.name} is read before it is assigned (line {first.number} "
                             "assigns it)", node.column)
            names = sorted(set(self.inputs) | set(self.current))
            close = difflib.get_close_matches(node.name, names, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _error(self.doc, line, f"unknown name {node.name!r}: not assigned above and not given under "
                         f"'values:' ({hint}known: {', '.join(names) or 'none'})", node.column)
        args = tuple(self.resolve(a, line) for a in node.args)
        return dataclasses.replace(node, args=args, line=line.number)


def _assignment(parser: _LineParser, line: _Line) -> tuple[ast.Name, ast.expr, Gate | None]:
    """The assigned name, the right-hand side and the augmented operation (None for ``=``) of one line."""
    try:
        module = ast.parse(line.text, mode="exec")
    except SyntaxError as exc:
        raise parser.fail(f"syntax error ({exc.msg})", exc.offset) from None
    except (ValueError, RecursionError, MemoryError):
        raise parser.fail("cannot be parsed") from None
    if len(module.body) != 1:
        raise parser.fail("one assignment a line, such as q = x + y")
    stmt = module.body[0]
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0], stmt.value, None
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and type(stmt.op) in _AUGMENTED:
        return stmt.target, stmt.value, _AUGMENTED[type(stmt.op)]
    raise parser.fail("is not an assignment of one name (write name = expression, or name += expression "
                      "with += -= *= /=)", parser.column(stmt))


def _lines(doc: Document, source: str) -> list[_Line]:
    """The program's lines that hold an assignment, comments and surrounding blanks removed, each with its file line."""
    start = doc.text_starts.get(("program",))
    out = []
    for i, raw in enumerate(source.split("\n")):
        text = raw.split("#", 1)[0].rstrip()
        if text.strip():
            out.append(_Line(start + i if start is not None else i + 1, text.strip()))
    return out


def _reads(node: Expr, seen: set[int]) -> None:
    """Every gate ``node`` depends on (by ``id``), itself included."""
    if isinstance(node, GateNode) and id(node) not in seen:
        seen.add(id(node))
        for a in node.args:
            _reads(a, seen)


def _variables(node: Expr, seen: set[int], out: dict[str, None]) -> None:
    if isinstance(node, Var):
        out.setdefault(node.name)
    elif isinstance(node, GateNode) and id(node) not in seen:
        seen.add(id(node))
        for a in node.args:
            _variables(a, seen, out)


def validate_program(doc: Document) -> ExpressionSpec:
    """Check ``doc`` against the program spec format: ``program``, ``output``, ``values``, ``title``, ``diagram``."""
    data = doc.data
    check_keys(doc, (), data, PROGRAM_KEYS)
    raw = data["program"]
    if not isinstance(raw, str):
        raise doc.error(("program",), f"must be text, one assignment a line such as q = x + y, not a {type_name(raw)}")
    if len(raw) > MAX_TEXT * 20:
        raise doc.error(("program",), f"is {len(raw)} characters long; at most {MAX_TEXT * 20}")
    title = _title(doc)
    values = _inputs(doc)
    lines = _lines(doc, raw)
    if not lines:
        raise doc.error(("program",), "is empty; write one assignment a line, such as q = x + y")
    program = _Program(doc, values, lines)
    program.run()
    output = _output(doc, program, values)
    tree = program.current[output]
    used: set[int] = set()
    _reads(tree, used)
    for node, line in program.assigned:
        if id(node) not in used:
            raise _error(doc, line, f"{node.name}{primes(node.version)} is assigned here but never read on the way "
                         f"to the output {output}; remove the line or use the value")
    variables: dict[str, None] = {}
    _variables(tree, set(), variables)
    for key in values:
        if key not in variables:
            raise doc.error(("values", key), f"{key!r} is given a value but the program never reads it on the way "
                            f"to {output} (inputs read: {', '.join(variables) or 'none'})")
    if not variables:
        raise doc.error(("program",), "reads no input to differentiate by; give inputs under 'values:'")
    show, decimals = drawing_options(doc)
    source = "\n".join(line.text for line in lines)
    return ExpressionSpec(title, source, tree, tuple(variables),
                          {v: float(values[v]) for v in variables}, show, doc.file, doc.line_of(("program",)),
                          decimals=decimals, stages=tuple(node for node, _ in program.assigned), output=output)



def _title(doc: Document) -> str | None:
    title = doc.data.get("title")
    if isinstance(title, (dict, list)):
        raise doc.error(("title",), f"must be text, not a {type_name(title)}")
    if title is not None and len(str(title)) > MAX_TEXT:
        raise doc.error(("title",), f"is {len(str(title))} characters long; at most {MAX_TEXT}")
    return None if title is None else str(title)


def _inputs(doc: Document) -> dict[str, Any]:
    """``values:``, each a finite number (the program's inputs)."""
    values = doc.data.get("values")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise doc.error(("values",), f"must be a mapping of input to number, e.g. {{x: -2}}, not a {type_name(values)}")
    for key, value in values.items():
        if finite_float(value) is None:
            raise doc.error(("values", key), f"must be a finite number, not {shown_number(value)}")
    return values


def _output(doc: Document, program: _Program, values: dict[str, Any]) -> str:
    """The name ``output:`` gives (it must be assigned), else the name the last line assigns."""
    output = doc.data.get("output")
    if output is None:
        return str(program.assigned[-1][0].name)
    if not isinstance(output, str) or output not in program.current:
        shown = output if isinstance(output, (str, int, float)) else f"a {type_name(output)}"
        where = " (it is an input under 'values:')" if isinstance(output, str) and output in values else ""
        raise doc.error(("output",), f"{shown!r} is not assigned by the program{where}; assigned: "
                        f"{', '.join(program.current)}")
    return output
