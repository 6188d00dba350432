"""Notations: how a symbol of layer l is written (DLS ``W^{[l]}``, CS231n ``W_{l}``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bpdiagram.options import Notation
from bpdiagram.richtext import escape

_TOKEN = re.compile(r"\$(d?[A-Za-z])([+-]?)(')?")


@dataclass(frozen=True)
class Symbols:
    """Renders catalogue templates for one notation and one network's names."""

    notation: Notation
    input_name: str = "X"
    target_name: str = "Y"

    @property
    def loss(self) -> str:
        """The loss symbol: J in DLS, L in CS231n."""
        return "J" if self.notation == "dls" else "L"

    def symbol(self, name: str, layer: int, *, transpose: bool = False) -> str:
        """Markup for ``name`` of ``layer``; A of layer 0 is the input."""
        if name in ("A", "X") and layer == 0:
            base = escape(self.input_name)
            return base + ("^{T}" if transpose else "")
        if name == "dA" and layer == 0:
            base = "d" + escape(self.input_name)
            return base + ("^{T}" if transpose else "")
        t = "T" if transpose else ""
        if self.notation == "dls":
            return f"{name}^{{[{layer}]{t}}}"
        return f"{name}_{{{layer}}}" + (f"^{{{t}}}" if t else "")

    def render(self, template: str, layer: int = 0) -> str:
        """Replace ``$Z``, ``$A-``, ``$W+'``, ``$X``, ``$Y``, ``$J`` in a catalogue template."""

        def sub(match: re.Match[str]) -> str:
            name, shift, prime = match.group(1), match.group(2), match.group(3)
            if name == "X":
                return escape(self.input_name)
            if name == "Y":
                return escape(self.target_name)
            if name == "J":
                return self.loss
            k = layer + (1 if shift == "+" else -1 if shift == "-" else 0)
            return self.symbol(name, k, transpose=bool(prime))

        return _TOKEN.sub(sub, template)
