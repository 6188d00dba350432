"""The ``bpdiagram`` directive for Sphinx (and Jupyter Book, which is Sphinx underneath).

In ``conf.py``: ``extensions = ["bpdiagram.sphinx"]``; in a page::

    .. bpdiagram:: nets/two-layer.yaml
       :show: forward,backward
       :alt: The two-layer network's forward and backward pass

or the spec itself as the directive's content. Options: ``:backprop-to: N``,
``:show: KINDS``, ``:values:`` (a flag, or ``yes``/``no``), ``:alt: TEXT``,
``:format: svg|png``, ``:inline:`` (the SVG's markup in the page rather than an
``<img>``, so page styles and find-in-page reach its text), ``:theme:``, and
the flags ``:shapes:``, ``:memory:``, ``:gradient-flow:``.

As ``sphinx.ext.graphviz`` does, the picture is drawn when the page is read and
kept under the build's doctree folder, named by a digest of the spec's text,
the options and bpdiagram's version; the HTML builder copies it into
``_images``. A spec file is a dependency of its page, so editing it rebuilds
that page, and a picture whose inputs did not change is never drawn again.
A bad spec is a Sphinx warning at the page's line of the fault (the spec file's
line for a file), and the page is built without the picture.
"""

from __future__ import annotations

import dataclasses
import html
import shutil
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bpdiagram import __version__
from bpdiagram.embed import EmbedOptions, Picture, cached, diagram_of, in_page, options_from, picture_key, read_text
from bpdiagram.errors import BpdiagramError

logger = logging.getLogger(__name__)
CACHE_FOLDER = "bpdiagram"
"""The folder under the doctree folder that keeps drawn pictures between builds."""


class bpdiagram_node(nodes.General, nodes.Element):  # docutils names node classes in lower case
    """A drawn diagram in the doctree: the cached file's path, its text alternative, the spec for other formats."""


def _flag_or_text(argument: str | None) -> str:
    return "" if argument is None else argument.strip()


class BpdiagramDirective(SphinxDirective):
    """``.. bpdiagram:: [FILE]`` with the spec as content when no file is given."""

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = {
        "backprop-to": directives.unchanged_required,
        "show": directives.unchanged_required,
        "values": _flag_or_text,
        "alt": directives.unchanged,
        "format": directives.unchanged_required,
        "theme": directives.unchanged_required,
        "inline": directives.flag,
        "shapes": _flag_or_text,
        "memory": _flag_or_text,
        "gradient-flow": _flag_or_text,
        "class": directives.class_option,
    }

    def run(self) -> list[nodes.Node]:
        """The picture's node, or nothing and a warning at the fault's line."""
        source, _ = self.get_source_info()
        given = {k: v for k, v in self.options.items() if k not in ("inline", "class")}
        try:
            options = options_from(given)
            text, name, offset = self._spec(source)
        except BpdiagramError as exc:
            return self._warn(str(exc), self.lineno)
        folder = Path(self.env.app.doctreedir) / CACHE_FOLDER
        try:
            picture = cached(text, file=name, options=options, folder=folder)
        except BpdiagramError as exc:
            message, line = in_page(exc, source)
            return self._warn(message, offset + line if line is not None else self.lineno)
        node = bpdiagram_node()
        node["file"] = str(folder / picture.filename)
        node["filename"] = picture.filename
        node["alt"] = picture.alt
        node["inline"] = "inline" in self.options
        node["spec"] = text
        node["spec_name"] = name
        node["options"] = options
        node["classes"] = ["bpdiagram", *self.options.get("class", [])]
        self.set_source_info(node)
        return [node]

    def _spec(self, source: str) -> tuple[str, str, int]:
        """The spec's text, its name in messages and the page line just above the spec's first line."""
        if self.arguments:
            if self.content:
                raise BpdiagramError("give a spec file or the spec as content, not both")
            rel, path = self.env.relfn2path(self.arguments[0])
            self.env.note_dependency(rel)
            return read_text(Path(path), rel), rel, 0
        if not self.content:
            raise BpdiagramError("needs a spec file as its argument or the spec as its content")
        return "\n".join(self.content), source, self.content_offset

    def _warn(self, message: str, line: int) -> list[nodes.Node]:
        logger.warning("bpdiagram: %s", message, location=(self.env.docname, line), type="bpdiagram")
        return []


def _copy_into(builder_dir: Path, node: bpdiagram_node) -> None:
    target = builder_dir / node["filename"]
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node["file"], target)


def visit_html(self: Any, node: bpdiagram_node) -> None:
    """An ``<img>`` of the file copied into ``_images``, or the SVG's own markup with ``:inline:``."""
    classes = " ".join(node["classes"])
    alt = html.escape(node["alt"], quote=True)
    if node["inline"] and node["filename"].endswith(".svg"):
        picture = Picture(Path(node["file"]).read_bytes(), "svg", node["alt"], "")
        self.body.append(f'<div class="{classes}">{picture.inline_svg()}</div>\n')
    else:
        builder: Any = self.builder
        _copy_into(Path(builder.outdir) / builder.imagedir, node)
        src = f"{builder.imgpath}/{node['filename']}"
        self.body.append(f'<div class="{classes}"><img src="{html.escape(src, quote=True)}" alt="{alt}" '
                         f'style="max-width: 100%; height: auto"/></div>\n')
    raise nodes.SkipNode


def visit_latex(self: Any, node: bpdiagram_node) -> None:
    """The diagram as a vector PDF beside the ``.tex``, included at the text's width."""
    builder: Any = self.builder
    options: EmbedOptions = node["options"]
    pdf_options = dataclasses.replace(options, format="svg")
    key = picture_key(node["spec"], pdf_options) + "-pdf"
    target = Path(builder.outdir) / f"bpdiagram-{key}.pdf"
    if not target.is_file():
        target.write_bytes(diagram_of(node["spec"], file=node["spec_name"], options=pdf_options).render("pdf"))
    self.body.append("\n\\begin{center}\\includegraphics[width=\\linewidth,height=0.8\\textheight,"
                     f"keepaspectratio]{{{target.name}}}\\end{{center}}\n")
    raise nodes.SkipNode


def visit_text(self: Any, node: bpdiagram_node) -> None:
    """Builders without pictures (text, man, texinfo) show the text alternative."""
    if hasattr(self, "add_text"):
        self.add_text(f"[{node['alt']}]")
    else:
        self.body.append(f"[{node['alt']}]")
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and the ways each builder shows it."""
    app.add_node(bpdiagram_node, html=(visit_html, None), latex=(visit_latex, None), text=(visit_text, None),
                 man=(visit_text, None), texinfo=(visit_text, None))
    app.add_directive("bpdiagram", BpdiagramDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
