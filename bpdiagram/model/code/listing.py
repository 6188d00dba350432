"""The listing builder: lines of generated code, each tagged with the diagram nodes it implements.

Both kinds of module (a network's, an expression's) are written through
``ModuleText``, so they share one way of wrapping comments, writing small
functions and docstrings, and keeping every line within ruff's length. The
text helpers here turn the catalogue's templates and labels into plain
one-line comments and docstrings.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bpdiagram.errors import BpdiagramError, one_line
from bpdiagram.model.catalogue import Code
from bpdiagram.richtext import plain_lines

INDENT = "    "
WIDTH = 110
"""Longest generated line aimed at."""
MAX_LINE = 120
"""The project's ruff line length."""


@dataclass(frozen=True)
class Listing:
    """A generated module: its text, and for each of its lines the ids of the diagram nodes it implements."""

    text: str
    nodes: tuple[tuple[str, ...], ...]

    def statements(self) -> dict[str, tuple[int, ...]]:
        """For each node id, the (0-based) lines that implement it."""
        out: dict[str, list[int]] = {}
        for i, ids in enumerate(self.nodes):
            for node in ids:
                out.setdefault(node, []).append(i)
        return {k: tuple(v) for k, v in out.items()}


@dataclass
class ModuleText:
    """Lines of the module being written, each with the node ids it implements."""

    lines: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def add(self, text: str = "", *nodes: str, depth: int = 0, prose: bool = False) -> None:
        """Lines of code (or, with ``prose``, of a docstring); a line of code too long for ruff says so.

        Only the spec's own names make a line that long (an expression's variable
        may be hundreds of characters), and those cannot be renamed.
        """
        for line in text.split("\n"):
            line = (INDENT * depth + line).rstrip()
            if len(line) > MAX_LINE and not prose and not line.lstrip().startswith("#"):
                line = line.replace("# noqa: ", "# noqa: E501, ") if "# noqa: " in line else line + "  # noqa: E501"
            self.lines.append((line, nodes))

    def statement(self, comments: Sequence[str], code: str, *nodes: str) -> None:
        """``code`` in a function body, under its comments (wrapped), all tagged with ``nodes``."""
        for comment in comments:
            for line in textwrap.wrap(one_line(comment), WIDTH - 6, break_on_hyphens=False) or [""]:
                self.add(f"# {line}", *nodes, depth=1)
        self.add(code, *nodes, depth=1)

    def function(self, name: str, args: Sequence[str], doc: str, body: str, returns: Sequence[str] = ()) -> None:
        """A small function: ``body`` (its last line is returned, unless ``returns`` lists the values)."""
        self.add()
        self.add()
        self.add(f"def {name}({', '.join(args)}):")
        text = docstring(doc)
        if len(text) + 10 <= WIDTH:
            self.add(f'"""{text}"""', depth=1, prose=True)
        else:  # a long formula (batch norm's): wrapped, the closing quotes on a line of their own
            self.add('"""' + "\n".join(textwrap.wrap(text, WIDTH - 4, break_on_hyphens=False)) + '\n"""', depth=1,
                     prose=True)
        lines = body.split("\n") if body else []
        if returns:
            lines.append(", ".join(returns))
        for line in lines[:-1]:
            self.add(line, depth=1)
        self.add(f"return {lines[-1]}", depth=1)

    def listing(self) -> Listing:
        while self.lines and not self.lines[-1][0]:
            self.lines.pop()
        return Listing("\n".join(text for text, _ in self.lines) + "\n", tuple(nodes for _, nodes in self.lines))


def link_to(listing: Listing, node_ids: Iterable[str]) -> Listing:
    """``listing`` with its node ids as the graph ``node_ids`` names them.

    The module is written in the vectorized view's ids (``Z1``, ``dW2``,
    ``cache.A1``). The element-wise view names the same values in lower case,
    one node per unit (``z1_1``, ``z1_2``, ``cache.a1``): a statement there
    links to every unit of its value. Ids the graph does not have are dropped.
    """
    ids = sorted(node_ids)
    present = set(ids)
    units: dict[str, list[str]] = {}
    for node in ids:
        match = re.fullmatch(r"(.+)_\d+", node)
        if match:
            units.setdefault(match.group(1), []).append(node)

    def find(node: str) -> tuple[str, ...]:
        if node in present:
            return (node,)
        lower = node.lower()
        if lower in present:
            return (lower,)
        return tuple(units.get(lower, ()))

    nodes = tuple(tuple(dict.fromkeys(found for node in line for found in find(node))) for line in listing.nodes)
    return Listing(listing.text, nodes)


def docstring(text: str) -> str:
    """Text safe inside a one-line docstring (a title may hold backslashes, quotes or control characters)."""
    text = one_line(text.replace("\\", "\\\\")).replace('"', '\\"')
    return text if text.endswith(".") else text + "."


def header(title: str, what: str, source: str) -> str:
    """The module docstring: the title, wrapped, and what the module is."""
    lines = textwrap.wrap(one_line(title.replace("\\", "\\\\")).replace('"', '\\"'), WIDTH) or [""]
    body = textwrap.wrap(f"Generated by bpdiagram from {source}. {what}", WIDTH)
    return '"""' + "\n".join(lines) + "\n\n" + "\n".join(body) + '\n"""'


def missing(op: str) -> BpdiagramError:
    """The error for a catalogue entry that has no code yet: the module cannot be written without it."""
    return BpdiagramError(f"the catalogue entry {op!r} has no code template yet, so 'bpdiagram code' cannot export it")


def code_of(op: str, code: Code | None) -> Code:
    """The ``Code`` of catalogue entry ``op``, or the error saying it has none."""
    if code is None:
        raise missing(op)
    return code


def body_of(op: str, text: str | None) -> str:
    """A code body of a catalogue entry that keeps it in a field of its own (``slope_code``, ``draw_code``)."""
    if not text:
        raise missing(op)
    return text


_TOKEN = re.compile(r"\$(d?[A-Za-z])([+-]?)(')?")

_CODE_NAMES = {"M": "mu", "V": "var", "N": "Znorm", "T": "Zbn", "G": "gamma", "B": "beta"}
"""Batch norm's template letters as the generated code names them (the diagram's Z_norm, Z_bn, σ², γ, β)."""


def generic(template: str) -> str:
    """A catalogue template with the argument names of the function pair: ``$A-`` → A_prev, ``$W'`` → Wᵀ."""

    def sub(match: re.Match[str]) -> str:
        name, shift, prime = match.group(1), match.group(2), match.group(3)
        grad, base = ("d", name[1:]) if len(name) == 2 else ("", name)
        return grad + _CODE_NAMES.get(base, base) + ("_prev" if shift == "-" else "") + ("^{T}" if prime else "")

    return flat(_TOKEN.sub(sub, template.replace("$W$", "$W $").replace("$W@l", "$W")))


def flat(markup: str) -> str:
    """Plain text on one line (a label's lines joined by spaces)."""
    return " ".join(plain_lines(markup))


def flat_lines(markup: str) -> list[str]:
    """Each line of a label as plain text (batch norm's μ, Ẑ and Z̃ lines, one comment each)."""
    return [line for line in plain_lines(markup) if line]


def assign(names: Sequence[str], expressions: Sequence[str]) -> str:
    """``name = expression`` lines; an expression's continuation lines are indented under its first."""
    lines = []
    for name, expression in zip(names, expressions, strict=True):
        first, *rest = expression.split("\n")
        lines.append(f"{name} = {first}")
        lines += [" " * (len(name) + 3) + line for line in rest]
    return "\n".join(lines)


def write_script_main(m: ModuleText, x: str, y: str) -> None:
    """The ``if __name__ == "__main__":`` block of a network's module: run the example, print J and every gradient.

    One block for dense and convolutional networks, so a script prints the same way whatever it exports.
    """
    m.add()
    m.add()
    m.add('if __name__ == "__main__":')
    m.add(f"params, {x}, {y} = example()", depth=1)
    m.add(f"J, cache = forward(params, {x}, {y})", depth=1)
    m.add("grads = backward(params, cache)", depth=1)
    m.add("np.set_printoptions(precision=6, suppress=True)", depth=1)
    m.add('print(f"J = {J:.10g}")', depth=1)
    m.add("for name, grad in grads.items():", depth=1)
    m.add('print(f"{name} =\\n{grad}")', depth=2)
