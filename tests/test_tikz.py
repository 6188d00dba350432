"""``-f tikz``: a LaTeX file that Debian's pdflatex compiles into the same picture as the SVG.

The compiled PDF is rasterised (poppler's pdftoppm, at 96 dpi so one pixel is one SVG unit) and compared with
the SVG's own PNG colour by colour: the pixels of each node fill and each edge colour lie where the SVG's do.
Text is typeset by LaTeX in its own font, so only its place is compared, not its glyphs.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bpdiagram
from bpdiagram.diagram import Diagram
from bpdiagram.style import style_table
from bpdiagram.template_files import template_names
from bpdiagram.writers.tikz import latex_text
from tests.conftest import ROOT

pytestmark = pytest.mark.graphviz
EXAMPLES = ROOT / "docs" / "examples"


def compile_tex(tex: bytes, folder: Path, stem: str = "diagram") -> Path:
    """``tex`` compiled by pdflatex in ``folder``: the PDF's path (the log in the failure message)."""
    (folder / f"{stem}.tex").write_bytes(tex)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{stem}.tex"], cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    return folder / f"{stem}.pdf"


def raster(pdf: Path) -> np.ndarray:
    """The PDF's one page as RGB at 96 dpi (1 px per SVG unit)."""
    root = pdf.with_name(pdf.stem + "-page")
    subprocess.run(["pdftoppm", "-png", "-r", "96", "-singlefile", str(pdf), str(root)], capture_output=True,
                   timeout=120, check=True)
    return np.asarray(Image.open(root.with_suffix(".png")).convert("RGB")).astype(int)


def svg_raster(d: Diagram) -> np.ndarray:
    png = d.with_options(scale=1).render("png")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def mask(img: np.ndarray, color: str, tolerance: int = 24) -> np.ndarray:
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
    close: np.ndarray = np.abs(img - rgb).max(axis=2) <= tolerance
    return close


def grow(m: np.ndarray, r: int) -> np.ndarray:
    """``m`` dilated by ``r`` pixels (a square neighbourhood)."""
    out = m.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(m, dy, axis=0), dx, axis=1)
    return out


def near(a: np.ndarray, b: np.ndarray, r: int = 2) -> float:
    """The share of ``a``'s pixels within ``r`` pixels of one of ``b``'s."""
    return float((a & grow(b, r)).sum() / max(1, a.sum()))


def text_areas(d: Diagram, h: int, w: int) -> np.ndarray:
    """Where the picture has text (inside nodes, edge labels, the legend's and the strip's words, the title):
    LaTeX sets it in its own font, so those pixels are not compared."""
    out = np.zeros((h, w), dtype=bool)
    scene = d.scene

    def box(x0: float, y0: float, x1: float, y1: float) -> None:
        out[max(0, int(y0)):max(0, int(y1) + 1), max(0, int(x0)):max(0, int(x1) + 1)] = True

    for n in scene.nodes:
        box(n.x + 4, n.y + 4, n.x + n.w - 4, n.y + n.h - 4)
    for e in scene.edges:
        if e.text is not None and e.label_at is not None:
            (x, y), t = e.label_at, e.text
            box(x - t.width / 2 - 4, y - t.height / 2 - 1, x + t.width / 2 + 4, y + t.height / 2 + 1)
    for entry in scene.legend:
        (x, y), t = entry.text_at, entry.text
        box(x - 1, y - t.height / 2 - 1, x + t.width + 2, y + t.height / 2 + 1)
    box(0, 0, w, 30)  # the title
    if scene.flow is not None:
        box(0, scene.flow.y - 4, w, scene.flow.y + scene.flow.h + 4)  # its bars are compared by their fill below
    return out


def same_picture(d: Diagram, folder: Path) -> None:
    tikz = raster(compile_tex(d.render("tikz"), folder))
    svg = svg_raster(d)
    assert abs(tikz.shape[0] - svg.shape[0]) <= 1 and abs(tikz.shape[1] - svg.shape[1]) <= 1
    h, w = min(tikz.shape[0], svg.shape[0]), min(tikz.shape[1], svg.shape[1])
    tikz, svg = tikz[:h, :w], svg[:h, :w]
    keep = ~text_areas(d, h, w)
    tikz, svg = tikz * keep[..., None] + 255 * ~keep[..., None], svg * keep[..., None] + 255 * ~keep[..., None]
    table = style_table(d.theme)
    fills = {table.nodes[k].fill for k in ("op", "grad", "param", "loss") if table.nodes[k].fill != "#FFFFFF"}
    colors = fills | {s.color for s in table.edges.values()}
    for color in sorted(colors):
        # a pixel of the colour in one picture has one of (nearly, as anti-aliasing blends edges) that colour
        # within 2 px in the other
        a, b = mask(tikz, color), mask(svg, color)
        if b.sum() < 20:  # a colour this picture does not use
            continue
        loose_a, loose_b = mask(tikz, color, 90), mask(svg, color, 90)
        assert near(a, loose_b) >= 0.95 and near(b, loose_a) >= 0.95, (color, near(a, loose_b), near(b, loose_a))


@pytest.mark.latex
@pytest.mark.parametrize("case", ["two-layer-binary", "line-jumps", "loss-scaling-flow", "tiny-cnn-values",
                                  "print-memory", "cs231n-staged"])
def test_the_compiled_pdf_is_the_svgs_picture(case: str, tmp_path: Path) -> None:
    d = {"two-layer-binary": lambda: bpdiagram.template("two-layer-binary"),
         "line-jumps": lambda: bpdiagram.load(EXAMPLES / "line-jumps.yaml"),
         "loss-scaling-flow": lambda: bpdiagram.template("loss-scaling", gradient_flow=True),
         "tiny-cnn-values": lambda: bpdiagram.template("tiny-cnn", values=True),
         "print-memory": lambda: bpdiagram.template("relu-mlp", theme="print", memory=True),
         "cs231n-staged": lambda: bpdiagram.template("cs231n-staged")}[case]()
    same_picture(d, tmp_path)


@pytest.mark.latex
def test_every_template_compiles(tmp_path: Path) -> None:
    for name in template_names():
        pdf = compile_tex(bpdiagram.template(name).render("tikz"), tmp_path, name)
        assert pdf.read_bytes().startswith(b"%PDF-"), name


@pytest.mark.latex
def test_a_hostile_title_compiles_and_keeps_its_text(tmp_path: Path) -> None:
    spec = {"title": r"50% & $5 #1 _a_ {b} ~c^ \d <e> ü σ⊙ 🙂", "expression": "x * y", "values": {"x": 1, "y": 2}}
    tex = bpdiagram.load(spec).render("tikz")
    pdf = compile_tex(tex, tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "50% & $5 #1 _a_ {b}" in text and "ü" in text


def test_the_file_is_a_document_with_the_picture_marked_for_copying() -> None:
    tex = bpdiagram.template("two-layer-binary").render("tikz").decode()
    assert tex.startswith("% Backpropagation diagram drawn by bpdiagram")
    assert "\\documentclass{article}" in tex and tex.rstrip().endswith("\\end{document}")
    body = tex.split("% --- the picture (copy from here) ---")[1].split("% --- the picture (to here) ---")[0]
    assert body.strip().startswith("\\begin{tikzpicture}") and body.strip().endswith("\\end{tikzpicture}")
    for color in re.findall(r"\b(bp[0-9A-F]{6})\b", body):  # every colour the picture uses is defined
        assert f"\\definecolor{{{color}}}" in tex


def test_every_node_edge_jump_and_script_is_drawn() -> None:
    d = bpdiagram.load(EXAMPLES / "line-jumps.yaml")
    scene = d.scene
    tex = d.render("tikz").decode()
    assert tex.count("% node ") == len(scene.nodes)
    assert tex.count("\\draw[draw=") >= len(scene.edges)
    hops = len(scene.drawn_jumps)
    assert hops > 0 and tex.count(".. controls") >= sum(len(e.points) // 3 for e in scene.edges) + 2 * hops
    cnn = bpdiagram.template("two-layer-binary").render("tikz").decode()
    assert "Z$^{\\text{[1]}}$" in cnn  # superscripts in math mode


def test_output_is_deterministic_and_long_pictures_are_scaled_to_what_tex_can_measure() -> None:
    d = bpdiagram.template("micrograd-readme")
    assert d.render("tikz") == bpdiagram.template("micrograd-readme").render("tikz")
    spec = {"input": {"size": 2}, "layers": [{"size": 2, "activation": "relu"}] * 63 +
            [{"size": 1, "activation": "sigmoid"}], "loss": "bce"}
    tex = bpdiagram.load(spec).render("tikz").decode()
    width = float(re.search(r"\\pdfpagewidth=([\d.]+)bp", tex).group(1))  # type: ignore[union-attr]
    assert width <= 14000


def test_latex_text_escapes_and_maps_symbols() -> None:
    assert latex_text("a_b") == r"a\_b"
    assert latex_text("dZ ⊙ σ′") == r"dZ $\odot$ $\sigma$${}^{\prime}$"
    assert latex_text("\u2007") == r"\phantom{0}"
    assert latex_text("🙂") == ""
