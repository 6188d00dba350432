"""bpdiagram: backpropagation diagrams from a short layer spec.

The pipeline is visible in the sub-packages: ``spec`` (read and validate) →
``model`` (the graph and the op catalogue) → ``layout`` (graphviz, once) →
``writers`` (svg, png, graphml) → ``cli``. ``Diagram`` ties them together::

    from bpdiagram.diagram import Diagram
    Diagram.template("two-layer-binary").save("output", ["svg"])
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
