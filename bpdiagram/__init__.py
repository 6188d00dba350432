"""bpdiagram: backpropagation diagrams from a short layer spec.

The pipeline is visible in the sub-packages: ``spec`` (read and validate) →
``model`` (the op catalogue and the typed graph) → ``layout`` (once per diagram) →
``writers`` (svg, png, graphml, pdf, html, dot, drawio, tikz) → ``cli``. The small public API::

    import bpdiagram
    bpdiagram.templates()                      # {'two-layer-binary': '2 → 4 tanh → …', …}
    d = bpdiagram.load("my-net.yaml")          # or a dict, or bpdiagram.template("relu-mlp")
    d.render("svg")                            # bytes; in Jupyter, ``d`` alone shows it
    d.save("figs/my-net.pdf")                  # the format from the suffix
    print(d.listing.text)                      # the forward and backward pass as Python (bpdiagram code)
    bpdiagram.from_torch(model, loss="bce", input=x, weights=True)   # an nn.Sequential's diagram

In course notes: ``extensions = ["bpdiagram.sphinx"]`` (Sphinx, Jupyter Book), ``plugins: [bpdiagram]``
(MkDocs), ``%load_ext bpdiagram`` then ``%%bpdiagram`` cells (Jupyter), ``-f tikz`` (LaTeX).

Importing ``bpdiagram`` is light: graphviz loads on the first
``load``/``template``, numpy when numbers are needed, and networkx only when a
script asks for ``Diagram.graph``, so the CLI's help and scripts that only
list templates start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bpdiagram.diagram import Diagram
    from bpdiagram.options import JumpStyle, Theme

__version__ = "0.1.0"
__all__ = ["Diagram", "__version__", "from_torch", "load", "template", "templates"]


def load(source: str | Path | dict[str, Any], *, name: str | None = None, theme: Theme = "default",
         shapes: bool = False, values: bool | None = None, jumps: JumpStyle = "arc", code: bool = False,
         **options: Any) -> Diagram:
    """A diagram of the spec at path ``source`` (YAML or JSON), or of a spec given as a dict.

    Args:
        source: a spec file's path, or the spec itself as a mapping.
        name: file stem for ``save`` into a folder (default: the file's stem, or ``diagram``).
        theme: ``default`` (colour) or ``print`` (grayscale-safe).
        shapes: show (n[l], m) shapes on tensor nodes.
        values: show numbers (None: exactly when the spec has ``values:``).
        jumps: how SVG and PNG draw crossings: ``arc``, ``gap`` or ``none``.
        code: HTML shows the diagram's Python (``d.listing.text``, as ``bpdiagram code``) beside it.
        options: the other options of ``Diagram`` (``memory``, ``batch``, ``dtype``, ``gradient_flow``).

    Raises:
        bpdiagram.errors.SpecError: the spec cannot be read or is not valid (the message names file, line, key).
    """
    from bpdiagram.diagram import Diagram

    return Diagram.load(source, name=name, theme=theme, shapes=shapes, values=values, jumps=jumps, code=code,
                        **options)


def template(name: str, *, theme: Theme = "default", shapes: bool = False, values: bool | None = None,
             jumps: JumpStyle = "arc", code: bool = False, **options: Any) -> Diagram:
    """A diagram of the shipped template ``name`` (see ``templates()``); options as for ``load``."""
    from bpdiagram.diagram import Diagram

    return Diagram.template(name, theme=theme, shapes=shapes, values=values, jumps=jumps, code=code, **options)


def from_torch(model: Any, *, loss: str, input: Any, target: Any = None, weights: bool = False,
               **options: Any) -> Diagram:
    """The diagram of a PyTorch ``nn.Sequential`` trained with ``loss`` on the example batch ``input``.

    ``input`` has one example per row, as torch takes it; with ``weights=True`` the model's parameters,
    ``input`` and ``target`` become the spec's ``values:``, so the diagram's numbers are the model's
    (``d.to_spec()`` gives that spec as a dict). Needs PyTorch (``pip install 'bpdiagram[torch]'``);
    the arguments are those of ``bpdiagram.pytorch.from_torch``.
    """
    from bpdiagram.pytorch import from_torch as convert

    return convert(model, loss=loss, input=input, target=target, weights=weights, **options)


def templates() -> dict[str, str]:
    """Every shipped template: name → one-line description, sorted by name."""
    from bpdiagram.template_files import template_description, template_names

    return {n: template_description(n) for n in template_names()}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext bpdiagram`` in Jupyter or IPython: registers the ``%%bpdiagram`` cell magic."""
    from bpdiagram.magic import load_ipython_extension as register

    register(ipython)


def __getattr__(name: str) -> Any:
    """``bpdiagram.Diagram`` without importing graphviz and the layout at ``import bpdiagram``."""
    if name == "Diagram":
        from bpdiagram.diagram import Diagram

        return Diagram
    raise AttributeError(f"module 'bpdiagram' has no attribute {name!r}")
