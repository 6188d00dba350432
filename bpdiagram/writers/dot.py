"""DOT writer: the laid-out diagram as graphviz source with every position pinned.

For people who keep working in graphviz: ``neato -n2 -Tsvg net.dot`` (or
``-Tpdf``) redraws exactly bpdiagram's layout, and the file stays editable
(move a node, change a colour). Positions are in points with graphviz's
y axis pointing up; edges carry their Bézier routes and arrow tips; labels are
HTML-like with real superscripts and subscripts. Line jumps and band strips
are SVG/PNG only.
"""

from __future__ import annotations

import graphviz

from bpdiagram.layout.dot_input import POINTS_PER_INCH
from bpdiagram.layout.scene import Point, Scene
from bpdiagram.style import FONT_FAMILY, FONT_SIZE, SMALL_SIZE, style_table
from bpdiagram.writers import Writer
from bpdiagram.writers.xmltext import clean, markup_lines, num

ARROWHEADS = {"standard": "normal", "delta": "normal", "white_delta": "empty", "plain": "vee", "none": "none"}
SHAPES = {"rectangle": "box", "roundrectangle": "box", "ellipse": "ellipse"}


def quote(value: str) -> str:
    """``value`` as a DOT ID, quoted by the graphviz package where DOT needs quotes.

    >>> quote("filled"), quote("filled,rounded"), quote("#FFFFFF"), quote("node")
    ('filled', '"filled,rounded"', '"#FFFFFF"', '"node"')
    """
    quoted: str = graphviz.quoting.quote(value)
    return quoted


def text(value: str) -> str:
    r"""Text drawn as written (a title, a tooltip, a node's id): backslashes and ``<…>`` lose their DOT meaning.

    >>> print(text('say "hi" \\ <b>'))
    "say \"hi\" \\ <b>"
    >>> text("Z1"), text("cache.A1")
    ('Z1', '"cache.A1"')
    """
    return quote(graphviz.escape(clean(value)))


def html_label(markup: str) -> str:
    """A graphviz HTML-like label: ``<SUP>``/``<SUB>`` for scripts, ``<BR/>`` between lines."""
    return "<" + "<BR/>".join(line or " " for line in markup_lines(markup, sup="SUP", sub="SUB")) + ">"


def render(scene: Scene) -> bytes:
    """The scene as DOT source (UTF-8) for ``neato -n2``."""
    st = style_table(scene.theme)
    height = scene.height

    def pt(p: Point) -> str:
        return f"{num(p[0])},{num(height - p[1])}"

    out = ["digraph bpdiagram {",
           f"  graph [bb={quote(f'0,0,{num(scene.width)},{num(height)}')}, label={text(scene.title)}, "
           f"labelloc=t, fontname={quote(FONT_FAMILY)}, fontsize={num(FONT_SIZE + 4)}, "
           f"bgcolor={quote(st.background)}, splines=true, outputorder=edgesfirst];",
           f"  node [fixedsize=true, fontname={quote(FONT_FAMILY)}, fontsize={num(FONT_SIZE)}, "
           f"fontcolor={quote(st.text_color)}, style=filled];",
           f"  edge [fontname={quote(FONT_FAMILY)}, fontsize={num(SMALL_SIZE)}];"]
    for node in scene.nodes:
        ns = st.node(node.kind, node.alert)
        styles = ["filled"] + (["rounded"] if ns.shape == "roundrectangle" else []) + (["dashed"] if ns.dash else [])
        out.append(f"  {text(node.id)} [pos={quote(pt(node.center) + '!')}, "
                   f"width={num(node.w / POINTS_PER_INCH)}, height={num(node.h / POINTS_PER_INCH)}, "
                   f"shape={SHAPES[ns.shape]}, style={quote(','.join(styles))}, fillcolor={quote(ns.fill)}, "
                   f"color={quote(ns.stroke)}, penwidth={num(ns.stroke_width)}, label={html_label(node.label)}, "
                   f"tooltip={text(node.plain)}, class={quote(f'kind-{node.kind} band-{node.band}')}];")
    for edge in scene.edges:
        es = st.edges[edge.kind]
        route = " ".join(pt(p) for p in edge.points)
        pos = f"e,{pt(edge.tip)} {route}" if edge.tip is not None else route
        style = "solid" if not es.dash else ("dotted" if es.yed_line == "dotted" else "dashed")
        attrs = [f"pos={quote(pos)}", f"id={text(edge.id)}", f"class={quote('kind-' + edge.kind)}",
                 f"color={quote(es.color)}", f"penwidth={num(es.width)}", f"style={style}",
                 f"arrowhead={ARROWHEADS[es.head]}", f"arrowsize={num(0.75 if es.head != 'delta' else 0.95)}"]
        if edge.plain:
            attrs.append(f"label={text(edge.plain)}")
            attrs.append(f"fontcolor={quote(es.color)}")
            if edge.label_at is not None:
                attrs.append(f"lp={quote(pt(edge.label_at))}")
        out.append(f"  {text(edge.source)} -> {text(edge.target)} [{', '.join(attrs)}];")
    out.append("}")
    return ("\n".join(out) + "\n").encode("utf-8")


WRITER = Writer("dot", "dot", render)
