"""Notations: how a symbol of layer l is written (DLS ``W^{[l]}``, CS231n ``W_{l}``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bpdiagram.options import Notation
from bpdiagram.richtext import escape, plain

_TOKEN = re.compile(r"\$(d?[A-Za-z])([+-]?)(')?(@l)?")

LETTERS: dict[str, str] = {"N": "Z_{norm}", "T": "Z_{bn}", "G": "γ", "B": "β", "V": "σ²", "M": "μ", "K": "M"}
"""Template letters of batch norm (catalogue ``BATCHNORM``) and the symbols they stand for. Ẑ and Z̃
are written Z_norm and Z_bn (as the DLS course's code does): a hat or tilde over Z is a combining mark
that neither our font metrics nor yEd and draw.io place reliably. K is max pooling's argmax mask M[l] (M itself
being batch norm's μ)."""


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

    def symbol(self, name: str, layer: int | str, *, transpose: bool = False) -> str:
        """Markup for ``name`` of ``layer`` (a number, or ``l`` for any layer); A of layer 0 is the input."""
        grad, base = ("d", name[1:]) if len(name) == 2 and name[0] == "d" else ("", name)
        name = grad + LETTERS.get(base, base)
        if name in ("A", "X") and layer == 0:
            base = escape(self.input_name)
            return base + ("^{T}" if transpose else "")
        if name == "dA" and layer == 0:
            base = "d" + escape(self.input_name)
            return base + ("^{T}" if transpose else "")
        t = "T" if transpose else ""
        if name.endswith("}"):  # a name with a subscript of its own: Z_{norm}
            if self.notation == "dls":
                return f"{name}^{{[{layer}]{t}}}"
            return f"{name[:-1]},{layer}}}" + (f"^{{{t}}}" if t else "")
        if self.notation == "dls":
            return f"{name}^{{[{layer}]{t}}}"
        return f"{name}_{{{layer}}}" + (f"^{{{t}}}" if t else "")

    def render(self, template: str, layer: int = 0, *, argument: str | None = None,
               gradient: str | None = None) -> str:
        """Replace ``$Z``, ``$A-``, ``$W+'``, ``$X``, ``$Y``, ``$J`` in a catalogue template.

        ``argument`` (markup) stands for ``$Z`` of this layer when g's argument is not Z[l]
        (``Z̃[l]``, ``Z[l] + A[k]``), and ``gradient`` for ``$dZ``; an argument that is a sum is
        bracketed where a factor precedes it (``0.01 (Z + A)``).
        """

        def sub(match: re.Match[str]) -> str:
            name, shift, prime, generic = match.group(1), match.group(2), match.group(3), match.group(4)
            if generic:
                return self.symbol(name, "l")
            if argument is not None and name == "Z" and not shift and not prime:
                before = template[max(0, match.start() - 2):match.start()]
                factor = len(before) == 2 and before[1] == " " and before[0].isalnum()
                return f"({argument})" if factor and " " in plain(argument) else argument
            if gradient is not None and name == "dZ" and not shift and not prime:
                return gradient
            if name == "X":
                return escape(self.input_name)
            if name == "Y":
                return escape(self.target_name)
            if name == "J":
                return self.loss
            k = layer + (1 if shift == "+" else -1 if shift == "-" else 0)
            return self.symbol(name, k, transpose=bool(prime))

        return _TOKEN.sub(sub, template)


_UNIT_TOKEN = re.compile(r"\$(Σ|d?[A-Za-z])(-)?(?:@([a-z]))?")

Index = int | str
"""A unit index: a number (this unit) or a letter (any unit, as in a sum)."""


@dataclass(frozen=True)
class UnitSymbols:
    """Renders the catalogue's element-wise templates: one symbol per unit, in lower case.

    DLS writes unit j of layer l as ``z_j^{[l]}`` (``w_{ji}^{[l]}`` for the
    weight from unit i of layer l−1), CS231n as ``z_{l,j}``. A layer with a
    single unit drops its index (``z^{[1]} = Σ_i w_i^{[1]} x_i + b^{[1]}``,
    as course notes write a single neuron), and sums over it vanish. The
    input and target are ``x_i`` and ``y_j``: a one-letter name is written in
    lower case (unless input and target would then look the same), a longer
    one as given.

    Args:
        notation: ``dls`` or ``cs231n``.
        sizes: units per layer, input first (n[0], n[1], …, n[L]).
        input_name: the spec's input name.
        target_name: the spec's target name.
    """

    notation: Notation
    sizes: tuple[int, ...]
    input_name: str = "X"
    target_name: str = "Y"

    @property
    def loss(self) -> str:
        """The loss symbol: J in DLS, L in CS231n."""
        return "J" if self.notation == "dls" else "L"

    def _index(self, layer: int, index: Index | None) -> str:
        """The subscript part for ``layer``: empty when the layer has one unit."""
        if index is None or self.sizes[layer] == 1:
            return ""
        return str(index)

    def _compose(self, base: str, layer: int | None, parts: list[str]) -> str:
        parts = [p for p in parts if p]
        if self.notation == "cs231n" and layer is not None:
            sub = ",".join([str(layer), *parts])
            return f"{base}_{{{sub}}}"
        joined = ("," if any(len(p) > 1 for p in parts) else "").join(parts)
        out = f"{base}_{{{joined}}}" if joined else base
        return out + (f"^{{[{layer}]}}" if layer is not None else "")

    def unit(self, name: str, layer: int, index: Index | None) -> str:
        """Markup for ``name`` (``z``, ``a``, ``b``, ``dz``, …) of one unit of ``layer``; a of layer 0 is the input."""
        if name in ("a", "da") and layer == 0:
            base = ("d" if name == "da" else "") + escape(self._scalar(self.input_name))
            return self._compose(base, None, [self._index(0, index)])
        return self._compose(name, layer, [self._index(layer, index)])

    def weight(self, name: str, layer: int, row: Index | None, col: Index | None) -> str:
        """``w_{ji}^{[l]}`` (or ``dw``): the weight from unit ``col`` of layer l−1 to unit ``row`` of layer l."""
        return self._compose(name, layer, [self._index(layer, row), self._index(layer - 1, col)])

    def target(self, index: Index | None) -> str:
        """``y_j``: the target of output unit ``index``."""
        return self._compose(escape(self._scalar(self.target_name)), None, [self._index(len(self.sizes) - 1, index)])

    def _scalar(self, name: str) -> str:
        """One entry of the input or target: lower case, unless that would make the two look the same."""
        if scalar_name(self.input_name) == scalar_name(self.target_name):
            return name
        return scalar_name(name)

    def sum_over(self, layer: int, letter: Index) -> str:
        """``Σ_{i} `` over the units of ``layer``, or nothing when it has one unit."""
        return "" if self.sizes[layer] == 1 else f"Σ_{{{letter}}} "

    def render(self, template: str, layer: int, own: Index, prev: Index = "i") -> str:
        """Render an element-wise template for unit ``own`` of ``layer``; ``prev`` indexes layer l−1.

        ``$z``/``$a``/``$b``/``$dz``/``$da``/``$db`` are of layer l (unit ``own``),
        with ``-`` of layer l−1 (unit ``prev``); ``$w``/``$dw`` join them; ``@k``
        names another unit of the same layer; ``$y`` is the target of unit
        ``own``; ``$J`` the loss; ``$Σ``/``$Σ-``/``$Σ@k`` sum over a layer.
        """

        def sub(match: re.Match[str]) -> str:
            name, shift, letter = match.group(1), match.group(2), match.group(3)
            k = layer - 1 if shift else layer
            index: Index = letter if letter else prev if shift else own
            if name == "J":
                return self.loss
            if name == "Σ":
                return self.sum_over(k, index)
            if name == "y":
                return self.target(index)
            if name in ("w", "dw"):
                return self.weight(name, layer, own, prev)
            return self.unit(name, k, index)

        return _UNIT_TOKEN.sub(sub, template)


def scalar_name(name: str) -> str:
    """The name of one entry of a vector named ``name``: ``X`` → ``x``; longer names stay as given."""
    return name.lower() if len(name) == 1 else name
