"""PNG and PDF come from librsvg's ``rsvg-convert``, run by one function (``layout.binaries.run_rsvg``).

Its failures are the user's to fix (install it) or a bug to report, and each
is one ``error:`` line with exit status 2, like graphviz's.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.errors import RasteriserError
from bpdiagram.layout import binaries

SQUARE = (b'<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20" viewBox="0 0 30 20">'
          b'<rect width="30" height="20" fill="#ff0000"/><text x="2" y="15" font-size="12">Ab</text></svg>')


def _bin_with(folder: Path, rsvg_body: str | None) -> str:
    """A PATH holding the real ``dot`` and, unless ``rsvg_body`` is None, a fake ``rsvg-convert``."""
    folder.mkdir()
    dot = shutil.which("dot")
    assert dot is not None
    (folder / "dot").symlink_to(dot)
    if rsvg_body is not None:
        fake = folder / "rsvg-convert"
        fake.write_text(f"#!/bin/sh\n{rsvg_body}\n", encoding="utf-8")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def test_png_takes_the_pixel_size_asked_for() -> None:
    for size in ((30, 20), (60, 40), (15, 10), (61, 41)):
        png = binaries.run_rsvg(SQUARE, "png", size=size)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == size
    assert struct.unpack(">II", binaries.run_rsvg(SQUARE, "png")[16:24]) == (30, 20)


def test_pdf_is_a_vector_page_of_the_svg_size_with_its_text_as_text() -> None:
    pdf = binaries.run_rsvg(SQUARE, "pdf")
    assert pdf.startswith(b"%PDF-")
    assert b"/MediaBox [ 0 0 22.5 15 ]" in pdf  # 30 × 20 px at 0.75 pt a pixel
    assert b"/FontFile" in pdf and b"/Subtype /Image" not in pdf


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="png or pdf"):
        binaries.run_rsvg(SQUARE, "jpeg")


@pytest.mark.graphviz
def test_rsvg_missing_is_one_line_with_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _bin_with(tmp_path / "bin", None))
    result = CliRunner().invoke(cli, ["render", "-f", "png", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "apt-get install librsvg2-bin" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    # svg alone needs no rasteriser
    result = CliRunner().invoke(cli, ["render", "-f", "svg", "-o", str(tmp_path / "svg")])
    assert result.exit_code == 0, result.stderr


@pytest.mark.graphviz
def test_rsvg_crash_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bin_with(tmp_path / "bin", "echo 'Error rendering SVG: something broke' >&2; exit 1")
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(cli, ["render", "-f", "pdf", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "'rsvg-convert' failed to write the PDF: Error rendering SVG: something broke" in result.stderr


def test_rsvg_hang_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bin_with(tmp_path / "bin", "exec sleep 30")
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RasteriserError, match=r"did not finish within 0\.5 s"):
        binaries.run_rsvg(SQUARE, "png", timeout=0.5)


def test_empty_output_is_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bin_with(tmp_path / "bin", "cat >/dev/null")
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RasteriserError, match="failed to write the PNG: exit status 0"):
        binaries.run_rsvg(SQUARE, "png")


IMPORTS = """
import sys
from bpdiagram.cli import main
sys.argv = ["bpdiagram", "render", "--force", "-o", sys.argv[1], "-f", sys.argv[2]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(" ".join(sorted(m for m in sys.modules if not type(sys.modules[m]).__name__ == "_LazyModule")))
"""


@pytest.mark.graphviz
@pytest.mark.parametrize(("formats", "unwanted"), [
    ("svg", {"bpdiagram.writers.png", "bpdiagram.writers.pdf", "bpdiagram.writers.graphml",
             "bpdiagram.writers.html", "bpdiagram.writers.dot"}),
    ("png", {"bpdiagram.writers.pdf", "bpdiagram.writers.graphml", "bpdiagram.writers.html"}),
    ("graphml", {"bpdiagram.writers.svg", "bpdiagram.writers.png", "bpdiagram.writers.pdf"}),
])
def test_a_render_imports_only_what_its_formats_need(tmp_path: Path, formats: str, unwanted: set[str]) -> None:
    """Each format's writer is imported only when asked for; no Python rasteriser, and no numpy without numbers."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", IMPORTS, str(tmp_path), formats], capture_output=True, text=True,
                          check=True, timeout=120)
    modules = set(proc.stdout.split())
    assert f"bpdiagram.writers.{formats}" in modules  # the check sees the writer it asked for
    assert not modules & unwanted
    assert not {m for m in modules if m.split(".")[0] in ("cairosvg", "cairocffi", "PIL", "numpy")}
