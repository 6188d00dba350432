"""Labels as a tiny markup: ``Z^{[1]} = W^{[1]}X`` with ``^{}``/``_{}`` and ``\\n``.

The op catalogue writes formulas once in this markup; each writer turns the
runs into its own form (positioned SVG tspans, yEd HTML, plain text for data
keys and titles). User text is escaped with ``escape`` before it joins markup,
so a title full of ``^`` and ``{`` stays literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Script = Literal["normal", "sup", "sub"]

_SUPERSCRIPTS = str.maketrans("0123456789+−-=()nTi", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿᵀⁱ")
_SPECIAL = set("\\^_{}")


@dataclass(frozen=True)
class Run:
    """A stretch of text in one script position."""

    text: str
    script: Script = "normal"


def escape(text: str) -> str:
    r"""Make user text literal inside markup.

    >>> escape("x^{2}_a")
    'x\\^\\{2\\}\\_a'
    >>> plain(escape("x^{2}")), plain("x^{2}")
    ('x^{2}', 'x²')
    """
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def parse(markup: str) -> list[list[Run]]:
    r"""Split markup into lines of runs; unbalanced braces are read literally.

    >>> [[(run.text, run.script) for run in line] for line in parse("Z^{[1]} = W_{1}\nb")]
    [[('Z', 'normal'), ('[1]', 'sup'), (' = W', 'normal'), ('1', 'sub')], [('b', 'normal')]]
    >>> parse("x^{2")
    [[Run(text='x^{2', script='normal')]]
    """
    return [list(line) for line in _parsed(markup)]


@lru_cache(maxsize=8192)
def _parsed(markup: str) -> tuple[tuple[Run, ...], ...]:
    """``parse``, kept for the labels seen last: every writer and the text measure read the same labels."""
    lines: list[list[Run]] = [[]]
    buf: list[str] = []
    script: Script = "normal"
    i = 0

    def flush() -> None:
        if buf:
            lines[-1].append(Run("".join(buf), script))
            buf.clear()

    while i < len(markup):
        c = markup[i]
        if c == "\\" and i + 1 < len(markup):
            buf.append(markup[i + 1])
            i += 2
            continue
        if c == "\n":
            flush()
            lines.append([])
        elif c in "^_" and markup.startswith("{", i + 1) and script == "normal":
            end = _closing(markup, i + 2)
            if end < 0:
                buf.append(c)
            else:
                flush()
                script = "sup" if c == "^" else "sub"
                inner = _parsed(markup[i + 2:end])
                for run in inner[0]:
                    buf.append(run.text)
                flush()
                script = "normal"
                i = end + 1
                continue
        else:
            buf.append(c)
        i += 1
    flush()
    return tuple(tuple(_merge(line)) for line in lines)


def plain(markup: str) -> str:
    r"""One-line plain text: ``W^{[2]T}`` → ``W[2]ᵀ``, ``A^{2}`` → ``A²``, ``W_{1}`` → ``W1``.

    Brackets in a superscript stay on the line (a layer index); lines are joined with `` / ``.

    >>> plain("W^{[2]T}"), plain("A^{2}"), plain("W_{1}"), plain("x^{n+1}")
    ('W[2]ᵀ', 'A²', 'W1', 'xⁿ⁺¹')
    >>> plain("dW^{[1]}\n(1, 1)")
    'dW[1] / (1, 1)'
    """
    return " / ".join(plain_lines(markup))


def plain_lines(markup: str) -> list[str]:
    r"""Plain text, one string per line of the label.

    >>> plain_lines("A^{[1]} = tanh(Z^{[1]})\n(4, m)")
    ['A[1] = tanh(Z[1])', '(4, m)']
    """
    out = []
    for line in _parsed(markup):
        text = ""
        for run in line:
            text += _plain_sup(run.text) if run.script == "sup" else run.text
        out.append(text)
    return out


def _plain_sup(text: str) -> str:
    out, depth = "", 0
    for c in text:
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        out += c if depth > 0 or c in "[]" else c.translate(_SUPERSCRIPTS)
    return out


def _closing(markup: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(markup):
        c = markup[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _merge(line: list[Run]) -> list[Run]:
    out: list[Run] = []
    for run in line:
        if out and out[-1].script == run.script:
            out[-1] = Run(out[-1].text + run.text, run.script)
        elif run.text:
            out.append(run)
    return out
