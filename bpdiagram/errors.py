"""The exception hierarchy: every error a user can cause is a ``BpdiagramError``.

The CLI turns any of these into one ``error:`` line and exit status 2, so the
message must stand on its own: say where (file, line, key) and what would be
valid.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` fit for one terminal line: newlines, control characters and lone surrogates become escapes.

    Error messages quote the user's own keys and values, which may hold any of these.
    """
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


class BpdiagramError(Exception):
    """Base class of every error bpdiagram reports to its user."""


class SpecError(BpdiagramError):
    """A spec file that cannot be read or is not valid.

    Attributes:
        file: the spec's path as the user gave it (or ``<dict>`` for in-memory specs).
        line: 1-based line of the offending key or value, when known.
        key: dotted path of the offending key, e.g. ``layers[1].activation``.
        reason: what is wrong, with the valid choices where there are some.
    """

    def __init__(self, reason: str, *, file: str = "<spec>", line: int | None = None,
                 key: str | None = None) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            where = self.file
        elif self.file.startswith("template "):  # a name, not a path: ``template relu-mlp: line 4``
            where = f"{self.file}: line {self.line}"
        else:
            where = f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.reason}" if self.key else f"{where}: {self.reason}"


class GraphvizError(BpdiagramError):
    """The graphviz ``dot`` binary is missing, failed or timed out."""


class OutputError(BpdiagramError):
    """An output file or folder cannot be written."""


class RasteriserError(BpdiagramError):
    """librsvg's ``rsvg-convert`` (which makes the PNG and the PDF) is missing, failed or timed out."""
