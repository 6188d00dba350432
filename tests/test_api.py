"""The small public API: bpdiagram.load / template / templates, Diagram.render and save."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import bpdiagram
from bpdiagram.errors import OutputError, SpecError
from bpdiagram.template_files import template_description, template_names
from tests.conftest import ROOT
from tests.narrow import as_network

SPEC = {"input": 2, "layers": [{"size": 3, "activation": "tanh"}, {"size": 1, "activation": "sigmoid"}],
        "loss": "bce"}


def test_import_is_light() -> None:
    """``import bpdiagram`` (and listing templates) loads none of the heavy dependencies."""
    code = ("import sys, bpdiagram; bpdiagram.templates(); "
            "print(sorted(m for m in ('numpy', 'networkx', 'graphviz', 'cairosvg', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_templates_maps_names_to_descriptions() -> None:
    found = bpdiagram.templates()
    assert list(found) == template_names()
    assert found["two-layer-binary"] == template_description("two-layer-binary") != ""


def test_diagram_is_reachable_lazily() -> None:
    from bpdiagram.diagram import Diagram

    assert bpdiagram.Diagram is Diagram
    with pytest.raises(AttributeError, match="no attribute 'Diagramm'"):
        bpdiagram.Diagramm  # noqa: B018


def test_load_from_dict_and_path(tmp_path: Path) -> None:
    from_dict = bpdiagram.load(SPEC)
    assert from_dict.name == "diagram" and len(as_network(from_dict.spec).layers) == 2
    path = tmp_path / "net.yaml"
    path.write_text("input: 2\nlayers:\n  - {size: 3, activation: tanh}\nloss: mse\n", encoding="utf-8")
    d = bpdiagram.load(path, theme="print")
    assert (d.name, d.theme) == ("net", "print")
    assert repr(d) == "<Diagram 'net' (1 layers, theme 'print')>"
    with pytest.raises(SpecError, match="layers"):
        bpdiagram.load({"input": 2, "loss": "bce"})


@pytest.mark.graphviz
def test_save_takes_the_format_from_the_suffix(tmp_path: Path) -> None:
    d = bpdiagram.template("relu-mlp")
    for ext in ("svg", "png", "graphml", "pdf", "html"):
        target = tmp_path / "deep" / "er" / f"picture.{ext}"
        assert d.save(target) == [target]
        assert target.read_bytes() == d.render(ext)
    upper = tmp_path / "PICTURE.SVG"
    assert d.save(str(upper)) == [upper] and upper.read_bytes() == d.render("svg")


@pytest.mark.graphviz
def test_save_to_a_folder_with_formats(tmp_path: Path) -> None:
    d = bpdiagram.template("relu-mlp")
    written = d.save(tmp_path / "figs", ["svg", "pdf", "svg"])
    assert written == [tmp_path / "figs" / "relu-mlp.svg", tmp_path / "figs" / "relu-mlp.pdf"]
    assert d.save(tmp_path / "figs", "svg,pdf") == written


@pytest.mark.parametrize("name", ["picture", "picture.jpeg", "picture.svg.bak"])
def test_save_without_a_known_suffix_is_a_clear_error_and_writes_nothing(tmp_path: Path, name: str) -> None:
    d = bpdiagram.load(SPEC)
    with pytest.raises(OutputError, match="cannot tell the format from the file name; use a suffix "
                                          r"\(\.svg, \.png, \.graphml, \.pdf, \.html, \.dot, \.drawio, \.tex\)"):
        d.save(tmp_path / name)
    with pytest.raises(Exception, match="unknown format 'jpeg'"):
        d.save(tmp_path, ["svg", "jpeg"])
    assert list(tmp_path.iterdir()) == []


def test_every_format_is_registered_and_offered_by_the_cli() -> None:
    from click.testing import CliRunner

    from bpdiagram.cli import cli
    from bpdiagram.options import FORMATS
    from bpdiagram.writers import formats, get_writer

    assert formats() == FORMATS
    assert [get_writer(f).extension for f in FORMATS] == ["tex" if f == "tikz" else f for f in FORMATS]
    help_text = " ".join(CliRunner().invoke(cli, ["render", "--help"]).stdout.split())
    assert "Comma-separated formats: svg, png, graphml, pdf, html, dot, drawio, tikz." in help_text
    for option in ("--theme [default|print]", "--steps", "--force"):
        assert option in help_text


@pytest.mark.graphviz
def test_svg_is_built_once_for_the_formats_made_from_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving SVG, PNG and PDF builds the SVG once (per step), and each file is what its writer alone makes."""
    from bpdiagram.writers import Writer, get_writer, svg

    d = bpdiagram.template("two-layer-binary")
    built = []
    real = svg.render

    def counting(scene: object) -> bytes:
        built.append(scene)
        return real(scene)  # type: ignore[arg-type]

    monkeypatch.setattr(svg, "WRITER", Writer("svg", "svg", counting))
    files = d.save(tmp_path, ["svg", "png", "pdf"])
    assert len(built) == 1
    d.save(tmp_path / "slides", ["svg", "png"], steps=True)
    assert len(built) == 1 + 4
    monkeypatch.undo()
    for file in files:
        assert file.read_bytes() == get_writer(file.suffix[1:]).render(d.scene)
    print_copy = d.with_options(theme="print")
    assert print_copy.render("svg") != d.render("svg")  # a copy in another theme has its own SVG


def test_png_scale_fits_cairos_largest_image() -> None:
    """2× while the picture allows; a picture wider (or taller) than 16383 px gets 32767 px, cairo's limit."""
    import dataclasses

    from bpdiagram.writers.png import MAX_PIXELS, SCALE, scale_for
    from tests.scenes import box, scene

    small = scene([box("a", 10, 10)], [])
    assert scale_for(small) == SCALE
    wide = dataclasses.replace(small, width=67498.0)  # the 128-layer vectorized network
    assert round(wide.width * scale_for(wide)) == MAX_PIXELS
    tall = dataclasses.replace(small, height=20000.0)
    assert round(tall.height * scale_for(tall)) == MAX_PIXELS


def test_png_default_stays_within_25_megapixels() -> None:
    """A poster-sized picture (element-wise 32-32-32-1: 4700 × 6340) gets the scale that fills 25 MP by default;
    an explicit scale is honoured, and pictures that fit at 2× keep it."""
    import dataclasses

    from bpdiagram.writers.png import MAX_AREA, SCALE, pixel_size
    from tests.scenes import box, scene

    poster = dataclasses.replace(scene([box("a", 10, 10)], []), width=4700.0, height=6340.0)
    w, h = pixel_size(poster)
    assert 0.99 * MAX_AREA < w * h <= MAX_AREA * 1.001
    assert w / h == pytest.approx(4700 / 6340, rel=1e-3)
    assert pixel_size(poster, scale=2.0) == (9400, 12680)
    slide = dataclasses.replace(poster, width=2400.0, height=1000.0)  # 9.6 MP at 2×
    assert pixel_size(slide) == (round(2400 * SCALE), round(1000 * SCALE))


def test_to_spec_gives_the_spec_as_plain_data(tmp_path: Path) -> None:
    """A file's, a template's and a dict's spec come back as data that loads to the same spec."""
    path = tmp_path / "net.yaml"
    path.write_text("input: 2\nlayers:\n  - {size: 1, activation: sigmoid}\nloss: bce\n", encoding="utf-8")
    from_file = bpdiagram.load(path)
    assert from_file.to_spec() == {"input": 2, "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce"}
    template = bpdiagram.template("three-layer-logistic")
    assert as_network(bpdiagram.load(template.to_spec()).spec).layers == as_network(template.spec).layers
    spec = template.to_spec()
    spec["layers"].append({"size": 1, "activation": "sigmoid"})  # a copy: the diagram's own data is untouched
    assert template.to_spec() != spec
    narrowed = template.with_options(backprop_to=2, show="forward,backward")
    assert narrowed.to_spec()["diagram"] == {"backprop_to": 2, "show": "forward,backward"}
    assert dataclasses.replace(bpdiagram.load(narrowed.to_spec()).spec, file=narrowed.spec.file) == narrowed.spec
