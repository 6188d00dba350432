"""The exception hierarchy: every error a user can cause is a ``BpdiagramError``.

The CLI turns any of these into one ``error:`` line and exit status 2, so the
message must stand on its own: say where (file, line, key) and what would be
valid.
"""

from __future__ import annotations


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
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.reason}" if self.key else f"{where}: {self.reason}"


class GraphvizError(BpdiagramError):
    """The graphviz ``dot`` binary is missing, failed or timed out."""


class OutputError(BpdiagramError):
    """An output file or folder cannot be written."""
