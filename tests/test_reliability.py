"""Reliability: malformed and hostile specs, graphviz failures, safe output."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.errors import SpecError
from bpdiagram.layout import binaries
from bpdiagram.spec import load_spec
from bpdiagram.spec.network import MAX_LAYERS
from tests.geometry import grammar_violations, read

GOOD = "input: 2\nlayers:\n  - {size: 3, activation: tanh}\n  - {size: 1, activation: sigmoid}\nloss: bce\n"

MALFORMED: list[tuple[str, bytes, str]] = [
    ("empty.yaml", b"", "empty spec"),
    ("blank.yaml", b"\n\n   \n", "empty spec"),
    ("comment.yaml", b"# nothing here\n", "empty spec"),
    ("list.yaml", b"- input: 2\n", "top level must be a mapping"),
    ("scalar.yaml", b"42\n", "top level must be a mapping"),
    ("garbage.yaml", bytes(range(256)) * 4, "not UTF-8 text"),
    ("nul.yaml", b"input: 2\x00\n", "binary data"),
    ("latin1.yaml", "title: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("tabs.yaml", b"input: 2\nlayers:\n\t- {size: 3}\n", "invalid YAML"),
    ("unclosed.yaml", b"input: {name: X, size: 2\nloss: bce\n", "invalid YAML"),
    ("badjson.json", b'{"input": 2, "layers": [}', "invalid JSON"),
    ("deep.yaml", b"[" * 5000 + b"]" * 5000, ""),
    ("pyobj.yaml", b"input: !!python/object/new:os.system [echo pwned]\n", "YAML tag"),
    ("pyname.yaml", b"title: !!python/name:os.system\n", "YAML tag"),
    ("custom-tag.yaml", b"input: !mytag 2\n", "YAML tag"),
    ("set.yaml", b"input: !!set {a, b}\n", "YAML tag"),
    ("float-size.yaml", GOOD.replace("size: 3", "size: 3.0").encode(), "not a number"),
    ("str-size.yaml", GOOD.replace("size: 3", "size: three").encode(), "not a string"),
    ("bool-size.yaml", GOOD.replace("input: 2", "input: yes").encode(), "must be a size"),
    ("neg-size.yaml", GOOD.replace("size: 3", "size: -3").encode(), "between 1 and"),
    ("huge-size.yaml", GOOD.replace("size: 3", "size: 1000000000").encode(), "between 1 and 1000000"),
    ("many-layers.yaml", ("input: 2\nloss: mse\nlayers:\n" + "  - {size: 1, activation: linear}\n" * 300).encode(),
     f"at most {MAX_LAYERS}"),
    ("show-empty.yaml", (GOOD + "diagram: {show: []}\n").encode(), "at least one edge kind"),
    ("upper.yaml", GOOD.replace("loss: bce", "loss: BCE").encode(), "did you mean 'bce'?"),
    ("nan-rate.yaml", (GOOD + "diagram: {learning_rate: .nan}\n").encode(), "learning_rate"),
    ("typo.yaml", GOOD.replace("layers:", "layer:").encode(), "did you mean 'layers'?"),
    ("both.yaml", (GOOD + "expression: x * y\n").encode(), "either a network"),
    ("show-str.yaml", (GOOD + "diagram: {show: 3}\n").encode(), "list of edge kinds"),
    ("dup.yaml", (GOOD + "loss: mse\n").encode(), "key given twice"),
    ("values-list.yaml", (GOOD + "values: [1, 2]\n").encode(), "values"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_spec_is_one_line_exit_2_no_file(name: str, content: bytes, message: str, tmp_path: Path) -> None:
    spec = tmp_path / name
    spec.write_bytes(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(spec), "-o", str(out)])
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.startswith(f"error: {spec}"), err
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists() or list(out.iterdir()) == []


def test_missing_unreadable_and_directory_specs(tmp_path: Path) -> None:
    for target, message in ((tmp_path / "nope.yaml", "no such file"), (tmp_path, "is a directory")):
        result = CliRunner().invoke(cli, ["render", str(target), "-o", str(tmp_path / "out")])
        assert result.exit_code == 2
        assert message in result.stderr and len(result.stderr.splitlines()) == 1


def test_oversized_spec_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_bytes(GOOD.encode() + b"#" * 1_100_000)
    with pytest.raises(SpecError, match="limited to"):
        load_spec(spec)


def test_hostile_keys_stay_on_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "keys.yaml"
    spec.write_text(GOOD + '"evil\\nkey\\u2028\\x1b[31m": 1\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(spec), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "\x1b" not in result.stderr


HOSTILE = [
    "<script>alert('x')</script> & \"quotes\" 'single' ]]> <![CDATA[ x ]]>",
    "control\x01\x02\x07chars\x0b\x0c and a tab\t",
    "right-to-left \u202e gnirts \u200f and emoji 🧠🔥 and CJK 反向传播",
    "long " * 400,
    "markup ^{sup} _{sub} \\ { } $Z $A- %s {0}",
]


@pytest.mark.graphviz
@pytest.mark.parametrize("text", HOSTILE, ids=["markup", "controls", "rtl-emoji", "long", "richtext"])
def test_hostile_text_stays_text(text: str) -> None:
    spec = load_spec({"title": text[:500], "input": {"name": text[:40], "size": 2},
                      "layers": [{"size": 3, "activation": "tanh"}, {"size": 1, "activation": "sigmoid"}],
                      "loss": "bce", "target": text[5:30] + "Y", "diagram": {"learning_rate": text[:20]}})
    d = Diagram(spec)
    svg = d.render("svg")
    root = ET.fromstring(svg)  # well-formed XML
    assert not [el for el in root.iter() if el.tag.split("}")[1] in ("script", "foreignObject")]
    assert not any(k.startswith("on") for el in root.iter() for k in el.attrib)
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None
    visible = "".join(c for c in text[:500] if c >= " " or c in "\t\n")
    assert (title.text or "") == visible
    graphml = d.render("graphml")
    groot = ET.fromstring(graphml)
    assert not [el for el in groot.iter() if el.tag.endswith("script")]
    boxes, lines = read(graphml)
    assert grammar_violations(boxes, lines) == []
    assert d.render("png")[:4] == b"\x89PNG"
    # long labels are cut with an ellipsis rather than stretching the picture
    assert max(b.w for b in boxes.values() if b.kind != "legend") < 600


def _fake_dot(folder: Path, body: str) -> None:
    folder.mkdir()
    dot = folder / "dot"
    dot.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    dot.chmod(dot.stat().st_mode | stat.S_IEXEC)


def test_graphviz_missing_is_one_line_with_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = CliRunner().invoke(cli, ["render", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "apt-get install graphviz" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_graphviz_crash_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path / "bin", "echo 'Error: something broke' >&2; exit 3")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(cli, ["render", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "graphviz 'dot' failed: Error: something broke" in result.stderr


def test_graphviz_hang_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path / "bin", "exec sleep 30")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(binaries, "DOT_TIMEOUT", 0.5)
    result = CliRunner().invoke(cli, ["render", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "did not finish within 0.5 s" in result.stderr


@pytest.mark.graphviz
def test_output_folder_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", "-o", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "cannot create output folder" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.graphviz
def test_failure_mid_way_leaves_earlier_files_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "two-layer-binary.svg").write_bytes(b"old good file")
    from bpdiagram.errors import OutputError
    from bpdiagram.writers import Writer

    def broken(scene: object) -> bytes:
        raise OutputError("rasteriser exploded")

    monkeypatch.setattr("bpdiagram.writers.png.WRITER", Writer("png", "png", broken))
    result = CliRunner().invoke(cli, ["render", "-o", str(out)])
    assert result.exit_code == 2
    assert "rasteriser exploded" in result.stderr
    assert sorted(p.name for p in out.glob("[!.]*")) == ["two-layer-binary.svg"]
    assert (out / "two-layer-binary.svg").read_bytes() == b"old good file"


def test_numbers_in_scientific_notation_are_numbers(tmp_path: Path) -> None:
    """YAML 1.2 and JSON write 1e-3; PyYAML's YAML 1.1 rules alone would read it as a string."""
    spec = tmp_path / "sci.yaml"
    spec.write_text("expression: x * y\nvalues: {x: 1e-3, y: -2E2}\n", encoding="utf-8")
    loaded = load_spec(spec)
    assert loaded.values == {"x": 0.001, "y": -200.0}
    nan = tmp_path / "nan.json"
    nan.write_text('{"expression": "x * 2", "values": {"x": NaN}}', encoding="utf-8")
    with pytest.raises(SpecError, match="must be a finite number, not nan"):
        load_spec(nan)


def test_bare_command_prints_the_help_and_a_closed_stdout_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0 and result.stdout.startswith("Usage: bpdiagram")
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m bpdiagram templates relu-mlp > /dev/full", shell=True,
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: cannot write the output: No space left on device"


def test_a_closed_stdout_pipe_ends_quietly() -> None:
    """``bpdiagram templates NAME | head -1``: no traceback, and not status 1 (which means a failed check)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "bpdiagram", "templates", "two-layer-binary"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 0
    assert b"Traceback" not in err
