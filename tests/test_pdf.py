"""PDF: vector, the SVG's picture at the SVG's size, and the same bytes every time."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.writers.pdf import without_dates


def xref_offsets_valid(pdf: bytes) -> bool:
    """Every in-use entry of the (classic) cross-reference table points at its ``N 0 obj``."""
    start = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    table = pdf[start:]
    assert table.startswith(b"xref")
    lines = table.split(b"\n")
    first, count = (int(x) for x in lines[1].split())
    for i, line in enumerate(lines[2:2 + count]):
        offset, _, used = line.split()[:3]
        if used == b"n" and not pdf[int(offset):].startswith(b"%d 0 obj" % (first + i)):
            return False
    return True


def test_without_dates_blanks_dates_and_keeps_offsets() -> None:
    pdf = (b"%PDF-1.5\n1 0 obj\n<< /Producer (cairo)\n   /CreationDate (D:20261122071508+01'00')\n"
           b"   /ModDate (D:20261122071508Z) >>\nendobj\n")
    out = without_dates(pdf)
    assert len(out) == len(pdf)
    assert b"CreationDate" not in out and b"ModDate" not in out and b"/Producer (cairo)" in out
    assert out.index(b"endobj") == pdf.index(b"endobj")


@pytest.mark.graphviz
def test_pdf_is_vector_at_the_svg_size() -> None:
    d = Diagram.template("two-layer-binary")
    pdf = d.render("pdf")
    assert pdf.startswith(b"%PDF-")
    svg = ET.fromstring(d.render("svg"))
    box = [float(v) for v in re.search(rb"/MediaBox \[\s*([\d.\s]+)\]", pdf).group(1).split()]  # type: ignore[union-attr]
    # CSS pixels to points: 72/96
    assert box[2:] == pytest.approx([float(svg.get("width", 0)) * 0.75, float(svg.get("height", 0)) * 0.75], abs=0.01)
    assert b"/Subtype /Image" not in pdf  # drawn as paths and text, not a raster
    assert b"/FontFile" in pdf  # the DejaVu glyphs embedded, so LaTeX shows the same text
    assert xref_offsets_valid(pdf)


@pytest.mark.graphviz
def test_pdf_bytes_do_not_depend_on_the_time() -> None:
    from bpdiagram.layout.binaries import run_rsvg

    d = Diagram.template("relu-mlp")
    raw = run_rsvg(d.render("svg"), "pdf")
    assert b"/CreationDate" in raw  # cairo does stamp the time; the writer must remove it
    first = d.render("pdf")
    time.sleep(1.1)
    second = Diagram.template("relu-mlp").render("pdf")
    assert first == second
    assert b"/CreationDate" not in first
