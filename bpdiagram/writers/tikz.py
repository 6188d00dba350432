"""TikZ writer: the scene as a LaTeX document that pdflatex compiles, for course notes written in LaTeX.

The picture is drawn from the same scene as the SVG: every box, Bézier
chain, line jump, arrowhead, dash pattern and colour at the SVG's
coordinates (the picture's unit is 1 px = 0.75 bp, as the PDF writer's page,
with y pointing down as in SVG). Text is typeset by LaTeX at the positions
the layout measured: each line centred where the SVG centres it, on the same
baseline, superscripts and subscripts in math mode (``W$^{\\text{[1]}}$``)
so they sit where LaTeX puts scripts. The symbols labels use (σ, ⊙, Σ, ·,
primes, arrows …) become math commands, so no Unicode font is needed.

The document needs only what a basic TeX installation has (Debian's
``texlive-latex-base``, ``texlive-latex-recommended`` and
``texlive-pictures``): ``article`` with the page set to the picture's size,
``tikz``, ``amsmath`` and Latin Modern. To put the picture into your own
document, copy the ``tikzpicture`` environment (between the two marker
comments) and the colour definitions above it.

TeX cannot measure lengths beyond about 5.7 m; a picture longer than
``MAX_SIDE_PT`` is scaled down as a whole (geometry, lines and text alike).
"""

from __future__ import annotations

import math

from bpdiagram.layout.overlays import AXIS_X
from bpdiagram.layout.scene import EdgeRoute, FlowStrip, Jump, NodeBox, Point, Scene
from bpdiagram.layout.text import PlacedRun, TextBlock, text_width
from bpdiagram.options import JumpStyle
from bpdiagram.style import BAND_TITLES, EdgeStyle, StyleTable, style_table
from bpdiagram.writers import Writer
from bpdiagram.writers.svg import CORNER, Segment, head_points, path_segments, short_names
from bpdiagram.writers.xmltext import clean, num

PX = 0.75
"""PDF points (TeX's ``bp``) per SVG pixel (CSS px at 96 dpi), as the PDF writer's page."""
MAX_SIDE_PT = 14000.0
"""The longest side TeX draws comfortably (its largest length is 16383.99 pt); longer pictures are scaled down."""
KAPPA = 0.5522847498
"""Control-point distance of a cubic Bézier quarter circle, as a share of the radius."""

_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
}
_MATH = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ζ": r"\zeta",
    "η": r"\eta", "θ": r"\theta", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi",
    "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "φ": r"\phi", "χ": r"\chi", "ψ": r"\psi",
    "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Π": r"\Pi",
    "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
    "·": r"\cdot", "×": r"\times", "÷": r"\div", "−": "-", "±": r"\pm", "∗": r"\ast", "⋆": r"\star",
    "⊙": r"\odot", "⊗": r"\otimes", "⊕": r"\oplus", "∘": r"\circ", "√": r"\surd", "∂": r"\partial",
    "∇": r"\nabla", "∑": r"\Sigma", "∏": r"\Pi", "∞": r"\infty", "≈": r"\approx", "≠": r"\neq",
    "≤": r"\leq", "≥": r"\geq", "∈": r"\in", "→": r"\rightarrow", "←": r"\leftarrow", "↔": r"\leftrightarrow",
    "⇒": r"\Rightarrow", "‖": r"\Vert", "│": r"\vert", "′": r"{}^{\prime}", "″": r"{}^{\prime\prime}",
    "‴": r"{}^{\prime\prime\prime}", "²": r"{}^{2}", "³": r"{}^{3}", "¹": r"{}^{1}", "ᵀ": r"{}^{\mathsf{T}}",
    "⁻": r"{}^{-}", "┈": r"\cdots", "…": r"\ldots", "⋯": r"\cdots", "½": r"\tfrac{1}{2}",
}
_TEXT = {
    "\u2007": r"\phantom{0}", "\u2009": r"\,", "\u00a0": "~", "⚠": r"\textbf{!}", "–": "--", "—": "---",
    "‘": "`", "’": "'", "“": "``", "”": "''", "°": r"\ensuremath{^\circ}",
}


def render(scene: Scene) -> bytes:
    """The scene as a LaTeX document (UTF-8), ready for pdflatex."""
    return TikzPicture(scene).document().encode("utf-8")


def latex_text(text: str) -> str:
    r"""Plain ``text`` as LaTeX: specials escaped, the labels' symbols as math, other characters as they are.

    Latin-1 letters pass through (the document loads T1 fonts and UTF-8 input);
    a character neither table knows is dropped rather than stopping pdflatex.

    >>> latex_text("σ(Z) · 50% & more")
    '$\\sigma$(Z) $\\cdot$ 50\\% \\& more'
    """
    out = []
    for c in clean(text):
        if c in _SPECIALS:
            out.append(_SPECIALS[c])
        elif c in _MATH:
            out.append(f"${_MATH[c]}$")
        elif c in _TEXT:
            out.append(_TEXT[c])
        elif ord(c) < 0x250 and (c.isprintable() or c == " "):
            out.append(c)
    return "".join(out)


class TikzPicture:
    """One scene's TikZ commands, in the order the SVG paints: bands, title, edges, nodes, strip, legend."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.st: StyleTable = style_table(scene.theme)
        side = max(scene.width, scene.height) * PX
        self.k = min(1.0, MAX_SIDE_PT / side) if side > 0 else 1.0
        """Scale of the whole picture: 1 unless TeX could not measure it at full size."""
        self.colors: dict[str, str] = {}
        self.lines: list[str] = []

    def document(self) -> str:
        """The whole document: preamble, colour definitions, the picture."""
        body = self.picture()
        w, h = (num(v * PX * self.k) for v in (self.scene.width, self.scene.height))
        title = latex_text(self.scene.title or "backpropagation diagram")
        head = [
            "% Backpropagation diagram drawn by bpdiagram; compile with pdflatex.",
            r"\documentclass{article}",
            r"\usepackage[T1]{fontenc}",
            r"\usepackage[utf8]{inputenc}",
            r"\usepackage{lmodern}",
            r"\renewcommand{\familydefault}{\sfdefault}",
            r"\usepackage{amsmath}",
            r"\usepackage{tikz}",
            rf"\pdfpagewidth={w}bp \pdfpageheight={h}bp",
            rf"\paperwidth={w}bp \paperheight={h}bp",
            r"\hoffset=-1in \voffset=-1in \oddsidemargin=0pt \evensidemargin=0pt \topmargin=0pt",
            r"\headheight=0pt \headsep=0pt \footskip=0pt \marginparwidth=0pt \marginparsep=0pt",
            # the text block is the page with room to spare below (the page itself is cut to the picture),
            # so the picture, one line of height h, never spills onto a second page
            rf"\textwidth={w}bp \textheight={h}bp \advance\textheight by 100pt \topskip=0pt \parindent=0pt",
            r"\pagestyle{empty}",
            rf"\pdfinfo{{/Title ({_pdf_string(self.scene.title or 'backpropagation diagram')})"
            r" /Creator (bpdiagram)}",
            r"\pdfinfoomitdate=1 \pdftrailerid{} \pdfsuppressptexinfo=-1",
            f"% colours of the {self.scene.theme} theme",
            *(rf"\definecolor{{{name}}}{{HTML}}{{{hex_}}}" for hex_, name in sorted(self.colors.items())),
            r"\begin{document}",
            f"% {title}",
            "% --- the picture (copy from here) ---",
        ]
        tail = ["% --- the picture (to here) ---", r"\end{document}", ""]
        return "\n".join(head + body + tail)

    def picture(self) -> list[str]:
        """The ``tikzpicture`` environment as lines (colours are collected on the way)."""
        s, st = self.scene, self.st
        u = num(PX * self.k)
        self.lines = [rf"\begin{{tikzpicture}}[x={u}bp, y=-{u}bp, line join=round, inner sep=0pt]",
                      rf"\useasboundingbox (0,0) rectangle ({num(s.width)},{num(s.height)});",
                      rf"\fill[{self.color(st.background)}] (0,0) rectangle ({num(s.width)},{num(s.height)});"]
        self._bands()
        if s.title:
            self.text(s.title_text, s.width / 2 - s.title_text.width / 2, 16.0, color=st.text_color,
                      width=s.title_text.width, bold=True)
        names = short_names(s)
        jumps: dict[str, list[Jump]] = {}
        for jump in s.drawn_jumps:
            jumps.setdefault(jump.edge, []).append(jump)
        for edge in s.edges:
            self._edge(edge, names, tuple(jumps.get(edge.id, ())), s.jump_style)
        for node in s.nodes:
            self._node(node)
        if s.flow is not None:
            self._flow(s.flow)
        self._legend()
        self.lines.append(r"\end{tikzpicture}")
        return self.lines

    # --- paint -------------------------------------------------------------------------------------------------

    def color(self, hex_color: str) -> str:
        """The LaTeX name of ``#RRGGBB`` (defined once in the preamble)."""
        hex_ = hex_color.lstrip("#").upper()
        return self.colors.setdefault(hex_, f"bp{hex_}")

    def pt(self, px: float) -> str:
        """A length in px as PDF points (TeX's ``bp``, 1/72 in; the picture's scale applied)."""
        return f"{num(px * PX * self.k)}bp"

    def dash(self, pattern: str) -> str:
        """An SVG dasharray as a TikZ ``dash pattern`` (empty for solid)."""
        if not pattern:
            return ""
        parts = [float(v) for v in pattern.replace(",", " ").split()]
        if len(parts) % 2:
            parts *= 2
        pairs = " ".join(f"on {self.pt(parts[i])} off {self.pt(parts[i + 1])}" for i in range(0, len(parts), 2))
        return f", dash pattern={pairs}"

    def stroke(self, style: EdgeStyle) -> str:
        """The draw options of an edge style: colour, width, dashes, round caps for head-less kinds."""
        cap = ", line cap=round" if style.head == "none" else ""
        return f"draw={self.color(style.color)}, line width={self.pt(style.width)}{self.dash(style.dash)}{cap}"

    # --- text --------------------------------------------------------------------------------------------------

    def text(self, block: TextBlock, x: float, top: float, *, color: str, width: float | None = None,
             bold: bool = False) -> None:
        """Each line of ``block`` on its baseline, starting at ``x`` or centred in ``width`` when given."""
        size = block.size * PX * self.k
        font = rf"\fontsize{{{num(size)}}}{{{num(size * 1.2)}}}\selectfont" + (r"\bfseries" if bold else "")
        for i, line in enumerate(block.lines):
            if not line.runs:
                continue
            base = top + block.first_baseline + i * block.line_height
            # centred lines are centred on the SVG's centre, others start where the SVG's start: LaTeX's
            # glyphs are a little narrower than the DejaVu Sans the layout measured, so anchors keep them in place
            anchor, at = ("base", x + width / 2) if width is not None else ("base west", x)
            self.lines.append(rf"\node[anchor={anchor}, text={self.color(color)}, font={font}] at "
                              f"({num(at)},{num(base)}) {{{self.line_markup(line.runs, block.size)}}};")

    @staticmethod
    def line_markup(runs: tuple[PlacedRun, ...], size: float) -> str:
        """One line's runs as LaTeX: scripts in math mode, the measured gaps between runs as spaces."""
        out: list[str] = []
        end = 0.0
        for run in runs:
            if out and run.dx - end > 0.15 * size:
                out.append(" ")
            text = latex_text(run.text)
            out.append({"sup": f"$^{{\\text{{{text}}}}}$", "sub": f"$_{{\\text{{{text}}}}}$"}.get(run.script, text))
            end = run.dx + text_width(run.text, run.size)
        return "".join(out)

    # --- parts -------------------------------------------------------------------------------------------------

    def _bands(self) -> None:
        s, st = self.scene, self.st
        for band in s.bands:
            self.lines.append(rf"\fill[{self.color(st.band_fills[band.band])}] (8,{num(band.y)}) rectangle "
                              f"({num(s.width - 8)},{num(band.y + band.h)});")
            if not band.titled:
                continue
            lines = (band.title or BAND_TITLES[band.band]).split(" · ", 1)
            size = 11 * PX * self.k
            for i, line in enumerate(lines):
                cx, cy = 8 + 17.0 + (i - (len(lines) - 1) / 2) * 13, band.y + band.h / 2
                self.lines.append(
                    rf"\node[rotate=90, anchor=center, text={self.color(st.band_title_color)}, "
                    rf"font=\fontsize{{{num(size)}}}{{{num(size * 1.2)}}}\selectfont] at ({num(cx)},{num(cy)}) "
                    f"{{{latex_text(line)}}};")

    def _node(self, node: NodeBox) -> None:
        style = self.st.node(node.kind, node.alert)
        opts = (f"fill={self.color(style.fill)}, draw={self.color(style.stroke)}, "
                f"line width={self.pt(style.stroke_width)}{self.dash(style.dash)}")
        self.lines.append(f"% node {latex_text(node.id).replace(chr(10), ' ')} ({node.kind})")
        if style.shape == "ellipse":
            cx, cy = node.center
            self.lines.append(rf"\filldraw[{opts}] ({num(cx)},{num(cy)}) ellipse "
                              f"[x radius={self.pt(node.w / 2)}, y radius={self.pt(node.h / 2)}];")
        else:
            corners = f", rounded corners={self.pt(CORNER)}" if style.shape == "roundrectangle" else ""
            self.lines.append(rf"\filldraw[{opts}{corners}] ({num(node.x)},{num(node.y)}) rectangle "
                              f"({num(node.x + node.w)},{num(node.y + node.h)});")
        self.text(node.text, node.x, node.text_top, width=node.w, color=self.st.text_color)

    def _edge(self, edge: EdgeRoute, names: dict[str, str], jumps: tuple[Jump, ...], jump_style: JumpStyle) -> None:
        style = self.st.edges[edge.kind]
        self.lines.append(f"% {latex_text(names[edge.source])} -> {latex_text(names[edge.target])} ({edge.kind})")
        self.lines.append(rf"\draw[{self.stroke(style)}] {self.path(path_segments(edge.points, jumps, jump_style))};")
        if edge.tip is not None and edge.points:
            self._head(edge.points[-1], edge.tip, style)
        if edge.text is not None and edge.label_at is not None:
            block = edge.text
            x, y = edge.label_at
            self.lines.append(
                rf"\fill[{self.color(self.st.background)}, fill opacity=0.85, rounded corners={self.pt(3)}] "
                f"({num(x - block.width / 2 - 3)},{num(y - block.height / 2)}) rectangle "
                f"({num(x + block.width / 2 + 3)},{num(y + block.height / 2)});")
            self.text(block, x - block.width / 2, y - block.height / 2, width=block.width, color=style.color)

    def path(self, segments: list[Segment]) -> str:
        """A Bézier chain as a TikZ path; a jump's half-circle as two quarter-circle curves."""
        out: list[str] = []
        for op, pts in segments:
            if op == "M":
                out.append(_xy(pts[0]))
            elif op == "C":
                c1, c2, p = pts
                out.append(f".. controls {_xy(c1)} and {_xy(c2)} .. {_xy(p)}")
            else:
                out.append(_half_circle(*pts))
        return " ".join(out)

    def _head(self, base: Point, tip: Point, style: EdgeStyle) -> None:
        left, tip_, right = head_points(base, tip, style.head)
        color = self.color(style.color)
        if style.head == "plain":
            self.lines.append(rf"\draw[draw={color}, line width={self.pt(style.width)}, line join=miter] "
                              f"{_xy(left)} -- {_xy(tip_)} -- {_xy(right)};")
        else:
            fill = self.color(self.st.background if style.head == "white_delta" else style.color)
            self.lines.append(rf"\filldraw[fill={fill}, draw={color}, line width={self.pt(min(style.width, 1.4))}, "
                              f"line join=miter] {_xy(left)} -- {_xy(tip_)} -- {_xy(right)} -- cycle;")

    def _flow(self, strip: FlowStrip) -> None:
        st = self.st
        axis = f"draw={self.color(st.legend_stroke)}, line width={self.pt(1)}"
        self.text(strip.caption, AXIS_X + 6, strip.y, color=st.band_title_color)
        top = min((y for y, _ in strip.ticks), default=strip.baseline)
        right = max((b.x for b in strip.bars), default=AXIS_X) + strip.bar_width
        self.lines.append(rf"\draw[{axis}] ({num(AXIS_X)},{num(top)}) -- ({num(AXIS_X)},{num(strip.baseline)}) -- "
                          f"({num(right)},{num(strip.baseline)});")
        for y, text in strip.ticks:
            self.lines.append(rf"\draw[{axis}] ({num(AXIS_X - 3)},{num(y)}) -- ({num(AXIS_X)},{num(y)});")
            self.text(text, AXIS_X - 5 - text.width, y - text.height / 2, color=st.band_title_color)
        for limit in strip.limits:
            if limit.kind == "underflow":
                self.lines.append(rf"\fill[{self.color(st.precision_band)}] ({num(AXIS_X)},{num(limit.y)}) rectangle "
                                  f"({num(right)},{num(max(limit.y, strip.baseline))});")
            self.lines.append(rf"\draw[draw={self.color(st.precision_line)}, line width={self.pt(1.4)}"
                              rf"{self.dash(st.precision_dash)}] ({num(AXIS_X)},{num(limit.y)}) -- "
                              f"({num(right)},{num(limit.y)});")
            self.text(limit.label, right + 6, limit.y - limit.label.height / 2, color=st.precision_line)
        for bar in strip.bars:
            if bar.broken:
                r, y0 = 5.0, strip.baseline
                self.lines.append(rf"\draw[draw={self.color(st.flow_broken)}, line width={self.pt(2.2)}] "
                                  f"({num(bar.x - r)},{num(y0 - 2 * r)}) -- ({num(bar.x + r)},{num(y0)}) "
                                  f"({num(bar.x + r)},{num(y0 - 2 * r)}) -- ({num(bar.x - r)},{num(y0)});")
                label_bottom, color = y0 - 2 * r - 2, st.flow_broken
            else:
                x = bar.x - strip.bar_width / 2
                fill = st.precision_line if bar.lost else st.flow_bar
                self.lines.append(rf"\fill[{self.color(fill)}] ({num(x)},{num(strip.baseline - bar.h)}) rectangle "
                                  f"({num(x + strip.bar_width)},{num(strip.baseline)});")
                label_bottom = strip.baseline - bar.h - 2
                color = st.precision_line if bar.lost else st.text_color
            self.text(bar.label, bar.x - bar.label.width / 2, label_bottom - bar.label.height, color=color)
            if bar.caption is not None:
                self.text(bar.caption, bar.x - bar.caption.width / 2, strip.baseline + 2, color=st.band_title_color)

    def _legend(self) -> None:
        s, st = self.scene, self.st
        x, y, w, h = s.legend_box
        self.lines.append(rf"\filldraw[fill={self.color(st.background)}, draw={self.color(st.legend_stroke)}, "
                          f"line width={self.pt(1)}, rounded corners={self.pt(4)}] ({num(x)},{num(y)}) rectangle "
                          f"({num(x + w)},{num(y + h)});")
        for entry in s.legend:
            style = st.edges[entry.kind]
            (x0, y0), (x1, y1) = entry.start, entry.end
            head = 8.0 if style.head != "none" else 0.0
            self.lines.append(rf"\draw[{self.stroke(style)}] ({num(x0)},{num(y0)}) -- ({num(x1 - head)},{num(y1)});")
            if head:
                self._head((x1 - head, y1), (x1, y1), style)
            tx, ty = entry.text_at
            self.text(entry.text, tx, ty - entry.text.height / 2, color=st.text_color)


def _xy(p: Point) -> str:
    return f"({num(p[0])},{num(p[1])})"


def _half_circle(p_in: Point, p_out: Point, bulge: Point) -> str:
    """The hop of a line jump: a half-circle from ``p_in`` to ``p_out`` through the side ``bulge`` points to."""
    cx, cy = (p_in[0] + p_out[0]) / 2, (p_in[1] + p_out[1]) / 2
    r = math.hypot(p_out[0] - p_in[0], p_out[1] - p_in[1]) / 2
    ux, uy = (p_in[0] - cx) / r if r else 0.0, (p_in[1] - cy) / r if r else 0.0
    nx, ny = bulge
    top = (cx + r * nx, cy + r * ny)
    k = KAPPA * r
    first = (f".. controls {_xy((p_in[0] + k * nx, p_in[1] + k * ny))} and "
             f"{_xy((top[0] + k * ux, top[1] + k * uy))} .. {_xy(top)}")
    second = (f".. controls {_xy((top[0] - k * ux, top[1] - k * uy))} and "
              f"{_xy((p_out[0] + k * nx, p_out[1] + k * ny))} .. {_xy(p_out)}")
    return f"{first} {second}"


def _pdf_string(text: str) -> str:
    """``text`` for a PDF string in ``\\pdfinfo``: ASCII, without what PDF strings and TeX treat specially."""
    return "".join(c for c in clean(text) if 32 <= ord(c) < 127 and c not in "\\()%#{}$&^_~")


WRITER = Writer("tikz", "tex", render)
