"""From the diagram to the code: one self-contained Python module that computes what the diagram draws.

``generate(spec)`` writes the module ``bpdiagram code`` prints: statement by
statement in the order of the diagram's bands (forward, what goes into the
cache, backward), each statement under a comment with the formula of the node
it implements, names as on the diagram (``Z1``, ``A1``, ``dZ2``, ``dW2``).

The expressions are the catalogue's own: every op used contributes a pair of
small functions (``tanh_forward``/``tanh_backward``) whose bodies are the
``Code`` of its catalogue entry, next to the formula the diagram draws and the
numpy rule ``check`` runs. Function pairs rather than gate objects, because the
diagram's cache band is a value the student can see: ``forward`` returns it as
a dict and ``backward`` reads only it, as the DLS assignments do.

The listing also records, for each line, the diagram nodes it implements, so
the HTML page can link a statement and its node.

The parts, one module each: ``listing`` (the lines and their nodes, the text
helpers), ``names`` (a network as the code names it, and what its cache
keeps), ``functions`` (a network's function pairs), ``network`` (its
``forward`` and ``backward``), ``example`` (its ``example()``: the spec's
numbers), ``conv`` (a network with conv, pooling and flatten layers, whole)
and ``expression`` (an expression's module).
"""

from __future__ import annotations

from bpdiagram.model.code.conv import ConvModule
from bpdiagram.model.code.expression import ExpressionModule
from bpdiagram.model.code.listing import Listing, link_to
from bpdiagram.model.code.network import NetworkModule
from bpdiagram.spec.expression import ExpressionSpec
from bpdiagram.spec.network import NetworkSpec

__all__ = ["Listing", "generate", "link_to"]


def generate(spec: NetworkSpec | ExpressionSpec, *, source: str = "a spec") -> Listing:
    """The module for ``spec``; ``source`` names where the spec came from, for the header."""
    if isinstance(spec, ExpressionSpec):
        return ExpressionModule(spec, source).write()
    if spec.conv:
        return ConvModule(spec, source).write()
    return NetworkModule(spec, source).write()
