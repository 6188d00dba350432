"""SVG and PNG from one layout: structure, labels inside nodes, same picture, same bytes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.layout.metrics import WIDTHS

pytestmark = pytest.mark.graphviz
SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parent.parent


def classes(el: ET.Element) -> list[str]:
    return (el.get("class") or "").split()


def test_svg_structure(template: str) -> None:
    d = Diagram.template(template)
    root = ET.fromstring(d.render("svg"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 ")
    nodes = [g for g in root.iter(f"{SVG}g") if "node" in classes(g)]
    edges = [g for g in root.iter(f"{SVG}g") if "edge" in classes(g)]
    scene = {n.id: n for n in d.scene.nodes}  # the model's nodes, plus the continuations of a wrapped picture
    assert len(nodes) == len(scene) >= d.graph.number_of_nodes()
    assert len(edges) == len(d.scene.edges) >= d.graph.number_of_edges()
    for g in nodes:
        kind = next(c for c in classes(g) if c.startswith("kind-"))[5:]
        band = next(c for c in classes(g) if c.startswith("band-"))[5:]
        node_id = g.get("id", "")[5:]
        assert (kind, band) == (scene[node_id].kind, scene[node_id].band)
        if node_id in d.graph.nodes:
            assert (kind, band) == (d.graph.nodes[node_id]["kind"], d.graph.nodes[node_id]["band"])
        assert g.find(f"{SVG}title") is not None
    for g in edges:
        assert any(c.startswith("kind-") for c in classes(g))
        assert g.get("data-jumps") is not None and int(g.get("data-jumps", "")) >= 0
        assert g.find(f"{SVG}title") is not None
    legend = root.find(f".//{SVG}g[@id='legend']")
    assert legend is not None
    drawn = {c[5:] for g in legend.iter(f"{SVG}g") for c in classes(g) if c.startswith("kind-")}
    assert drawn == {d.graph.edges[e]["kind"] for e in d.graph.edges(keys=True)}  # the kinds on the picture
    assert not list(root.iter(f"{SVG}script"))


def _text_width(text: str, size: float) -> float:
    return sum(WIDTHS.get(ord(c), 1.0) for c in text) * size


def test_every_label_stays_inside_its_node(template: str) -> None:
    assert_labels_inside(Diagram.template(template).render("svg"))


def assert_labels_inside(svg: bytes) -> None:
    """Measured on the SVG: each tspan's extent, at its font size, lies inside the node's shape box."""
    root = ET.fromstring(svg)
    for g in root.iter(f"{SVG}g"):
        if "node" not in classes(g):
            continue
        shape = g.find(f"{SVG}rect")
        if shape is not None:
            x0, y0 = float(shape.get("x", 0)), float(shape.get("y", 0))
            x1, y1 = x0 + float(shape.get("width", 0)), y0 + float(shape.get("height", 0))
        else:
            e = g.find(f"{SVG}ellipse")
            assert e is not None
            cx, cy, rx, ry = (float(e.get(k, 0)) for k in ("cx", "cy", "rx", "ry"))
            # the text must fit the rectangle inscribed in the ellipse
            x0, x1, y0, y1 = cx - rx * 0.707, cx + rx * 0.707, cy - ry * 0.707, cy + ry * 0.707
        text = g.find(f"{SVG}text")
        assert text is not None
        base = float(text.get("font-size", 0))
        for span in text.iter(f"{SVG}tspan"):
            size = float(span.get("font-size", base))
            x, y = float(span.get("x", 0)), float(span.get("y", 0))
            right = x + _text_width(span.text or "", size)
            assert x0 <= x and right <= x1 + 0.5, (g.get("id"), span.text)
            assert y0 <= y - 0.75 * size and y + 0.2 * size <= y1, (g.get("id"), span.text)


def test_png_is_the_svg_at_twice_the_size() -> None:
    d = Diagram.template("two-layer-binary")
    png = d.render("png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    root = ET.fromstring(d.render("svg"))
    assert (width, height) == (round(2 * float(root.get("width", 0))), round(2 * float(root.get("height", 0))))


def test_svg_png_graphml_share_one_layout() -> None:
    d = Diagram.template("two-layer-binary")
    svg = ET.fromstring(d.render("svg"))
    graphml = ET.fromstring(d.render("graphml"))
    y = "{http://www.yworks.com/xml/graphml}"
    geo = {n.get("id"): n.find(f".//{y}Geometry") for n in graphml.iter("{http://graphml.graphdrawing.org/xmlns}node")}
    for g in svg.iter(f"{SVG}g"):
        if "node" in classes(g) and g.find(f"{SVG}rect") is not None:
            rect = g.find(f"{SVG}rect")
            assert rect is not None
            node = geo[g.get("id", "")[5:]]
            assert node is not None
            assert (rect.get("x"), rect.get("y"), rect.get("width")) == (node.get("x"), node.get("y"),
                                                                         node.get("width"))


def test_output_is_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    script = ("import sys; from bpdiagram.diagram import Diagram; "
              "Diagram.template('three-layer-logistic').save(sys.argv[1], ['svg', 'png', 'graphml', 'pdf', 'html', "
              "'drawio'])")
    outs = []
    for seed in ("0", "12345"):
        folder = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", script, str(folder)], check=True, env=env)
        outs.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert outs[0] == outs[1]
    assert len(outs[0]) == 6


# -- the PNG's size (--scale, --width): computed once, exactly what was asked ---------------------------------------
@pytest.mark.parametrize(("scale", "width"), [(1.0, None), (1.5, None), (3.25, None), (None, 1920), (None, 801)])
def test_png_has_exactly_the_requested_size(scale: float | None, width: int | None) -> None:
    d = Diagram.template("two-layer-binary").with_options(scale=scale, width=width)
    png = d.render("png")
    size = struct.unpack(">II", png[16:24])
    root = ET.fromstring(d.render("svg"))
    w, h = float(root.get("width", 0)), float(root.get("height", 0))
    if width is not None:  # the width exactly, the height following the picture's proportions
        assert size == (width, round(h * width / w))
    else:
        assert size == (round(w * scale), round(h * scale))  # type: ignore[operator]


def test_png_size_from_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bpdiagram.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["render", "-t", "relu-mlp", "-o", str(tmp_path), "-f", "png", "--width", "1920"])
    assert result.exit_code == 0, result.output
    assert struct.unpack(">II", (tmp_path / "relu-mlp.png").read_bytes()[16:24])[0] == 1920
    result = runner.invoke(cli, ["render", "-t", "relu-mlp", "-o", str(tmp_path / "s"), "-f", "png", "--scale", "1"])
    svg = ET.fromstring(Diagram.template("relu-mlp").render("svg"))
    assert struct.unpack(">II", (tmp_path / "s" / "relu-mlp.png").read_bytes()[16:24]) == (
        round(float(svg.get("width", 0))), round(float(svg.get("height", 0))))
    for args in (["--scale", "2", "--width", "800"], ["--scale", "0"], ["--width", "0"], ["--scale", "1000"]):
        result = runner.invoke(cli, ["render", "-t", "relu-mlp", "-o", str(tmp_path / "bad"), "-f", "png", *args])
        assert result.exit_code == 2, args
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "bad").exists()


def test_png_size_is_decided_before_any_rasteriser_runs() -> None:
    from bpdiagram.errors import BpdiagramError
    from bpdiagram.writers.png import MAX_PIXELS, pixel_size

    s = Diagram.template("two-layer-binary").scene
    assert pixel_size(s) == (round(2 * s.width), round(2 * s.height))
    assert pixel_size(s, width=300) == (300, round(s.height * 300 / s.width))
    assert pixel_size(s, scale=0.5) == (round(s.width / 2), round(s.height / 2))
    with pytest.raises(BpdiagramError, match="not both"):
        pixel_size(s, scale=1.0, width=100)
    with pytest.raises(BpdiagramError, match=str(MAX_PIXELS)):
        pixel_size(s, width=MAX_PIXELS + 1)
    with pytest.raises(BpdiagramError, match="above 0"):
        pixel_size(s, scale=-1.0)


# -- titles: whole while the picture is wide enough, wrapped when longer ----------------------------------------
def test_a_long_title_wraps_instead_of_being_cut() -> None:
    title = "A rather long title for a small network that explains what the diagram shows in some detail"
    words = title.split()
    d = Diagram.load({"title": title, "input": 2, "layers": [{"size": 1, "activation": "sigmoid"}],
                      "loss": "bce"})
    s = d.scene
    lines = [" ".join(r.text for r in line.runs) for line in s.title_text.lines]
    assert len(lines) >= 2
    assert " ".join(lines).split() == words  # every word, in order: nothing cut
    assert s.title_text.width <= s.width - 2 * 16
    assert "…" not in d.render("svg").decode()
    # the bands start below the whole title
    assert min(b.y for b in s.bands) > 16 + s.title_text.height


def test_a_title_that_fits_stays_on_one_line_and_whole() -> None:
    title = "Two-layer network, binary classification, with a title longer than thirty-four em of old"
    d = Diagram.load({"title": title, "input": 2, "layers": [{"size": 4, "activation": "tanh"},
                                                           {"size": 1, "activation": "sigmoid"}], "loss": "bce"})
    s = d.scene
    assert len(s.title_text.lines) == 1  # the picture (over 1000 px) is wide enough for it
    assert " ".join(r.text for r in s.title_text.lines[0].runs).split() == title.split()
