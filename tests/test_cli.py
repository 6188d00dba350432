"""The command line: what it writes, what it prints, and how it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.template_files import template_names

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_templates_lists_one_per_line() -> None:
    code, out, _ = run("templates")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == template_names()
    for required in ("two-layer-binary", "two-layer-binary-general", "three-layer-logistic", "relu-mlp"):
        assert required in names
    assert all(len(line.split(None, 1)) == 2 for line in out.splitlines())


def test_templates_name_prints_valid_yaml(template: str) -> None:
    code, out, _ = run("templates", template)
    assert code == 0
    assert isinstance(yaml.safe_load(out), dict)
    assert out == (ROOT / "templates" / f"{template}.yaml").read_text(encoding="utf-8")


def test_help_shows_examples() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "Examples:" in out and "bpdiagram render" in out
    code, out, _ = run("render", "--help")
    assert code == 0 and "--backprop-to" in out and "Examples:" in out


@pytest.mark.graphviz
def test_render_default_writes_three_formats_like_the_library(tmp_path: Path) -> None:
    code, out, err = run("render", "-o", str(tmp_path))
    assert code == 0, err
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))  # .bpdiagram: fingerprints
    assert files == ["two-layer-binary.graphml", "two-layer-binary.png", "two-layer-binary.svg"]
    d = Diagram.template("two-layer-binary")
    for fmt in ("svg", "png", "graphml"):
        assert (tmp_path / f"two-layer-binary.{fmt}").read_bytes() == d.render(fmt)
    assert out.splitlines() == [str(tmp_path / f) for f in ("two-layer-binary.svg", "two-layer-binary.png",
                                                            "two-layer-binary.graphml")]


@pytest.mark.graphviz
def test_render_spec_file_and_options(tmp_path: Path) -> None:
    spec = tmp_path / "mine.yaml"
    spec.write_text((ROOT / "templates" / "three-layer-logistic.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = run("render", str(spec), "-t", "relu-mlp", "-o", str(tmp_path / "out"), "-f", "svg",
                       "--backprop-to", "2", "--show", "forward,backward,update")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").glob("[!.]*")) == ["mine.svg", "relu-mlp.svg"]
    svg = (tmp_path / "out" / "mine.svg").read_text(encoding="utf-8")
    assert "kind-cache" not in svg and "kind-derivative" not in svg
    assert 'id="node-dW2"' in svg and 'id="node-dW1"' not in svg


@pytest.mark.parametrize(("args", "message"), [
    (["render", "-t", "two-layer-binray"], "unknown template 'two-layer-binray'; did you mean 'two-layer-binary'?"),
    (["render", "-f", "svg,jpeg"], "unknown format 'jpeg'"),
    (["render", "--backprop-to", "9"], "--backprop-to: must be a layer number from 1 to 2"),
    (["render", "--show", "forward,sideways"], "--show: unknown edge kind 'sideways'"),
    (["render", "--frobnicate"],
     "No such option '--frobnicate'. Did you mean '--force'? (see 'bpdiagram render --help')"),
    (["templates", "nope"], "unknown template 'nope'"),
    (["render", "--jumps", "hop"], "Invalid value for '--jumps': 'hop' is not one of 'arc', 'gap', 'none', 'all'."),
    (["stats"], "give a SPEC file or -t NAME (or several)"),
    (["stats", "x.yaml", "-t", "relu-mlp"], "x.yaml: no such file"),  # relu-mlp is still measured
    (["stats", "-t", "relu-mpl"], "unknown template 'relu-mpl'; did you mean 'relu-mlp'?"),
    (["stats", "missing.yaml"], "missing.yaml: no such file"),
    (["render", "missing.yaml"], "missing.yaml: no such file"),
])
def test_bad_usage_is_one_error_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    code, _, err = run(*args, *(["-o", str(tmp_path / "o")] if args[0] == "render" else []))
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.graphviz
def test_one_bad_spec_does_not_stop_the_good_ones(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: 2\nlayers:\n  - {size: 3, activation: tahn}\nloss: mse\n", encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text("input: 2\nlayers:\n  - {size: 1, activation: sigmoid}\nloss: bce\n", encoding="utf-8")
    code, _, err = run("render", str(bad), str(good), "-o", str(tmp_path / "out"), "-f", "svg")
    assert code == 2
    assert err.strip() == (f"error: {bad}:3: layers[1].activation: 'tahn' is not valid; did you mean 'tanh'? "
                           "valid choices: linear, sigmoid, tanh, relu, leaky_relu, softmax")
    assert sorted(p.name for p in (tmp_path / "out").glob("[!.]*")) == ["good.svg"]


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "bpdiagram", "templates"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0
    assert "two-layer-binary" in proc.stdout


@pytest.mark.graphviz
def test_render_jumps_option_writes_what_the_library_writes(tmp_path: Path) -> None:
    code, _, err = run("render", "-t", "relu-mlp", "-o", str(tmp_path), "-f", "svg", "--jumps", "gap")
    assert code == 0, err
    assert (tmp_path / "relu-mlp.svg").read_bytes() == Diagram.template("relu-mlp", jumps="gap").render("svg")


@pytest.mark.graphviz
def test_stats_prints_what_the_library_measures(tmp_path: Path) -> None:
    code, out, err = run("stats", "-t", "three-layer-logistic", "--backprop-to", "2")
    assert code == 0, err
    q = Diagram.template("three-layer-logistic").with_options(backprop_to=2).stats()
    lines = out.splitlines()
    assert lines[0] == "three-layer-logistic"
    fields = {line[2:22].strip(): line[22:].strip() for line in lines[1:]}
    assert fields["size"] == f"{q.width:g} × {q.height:g} px"
    assert fields["nodes"].startswith(f"{sum(q.nodes.values())} (") and "cached 5" in fields["nodes"]
    assert fields["edges"].startswith(f"{sum(q.edges.values())} (forward ")
    assert (fields["crossings"], fields["jumps"]) == (str(q.crossings), str(q.jumps))
    for problem in ("overlapping nodes", "spilling labels", "grammar violations", "edges through nodes"):
        assert fields[problem] == "0"


@pytest.mark.graphviz
def test_stats_json_for_a_spec_file(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 3\nlayers:\n  - {size: 3, activation: leaky_relu}\n  - {size: 2, activation: linear}\n"
                    "loss: mse\ndiagram: {simplify: 'false', notation: cs231n}\n", encoding="utf-8")
    code, out, err = run("stats", str(spec), "--json", "--jumps", "none")
    assert code == 0, err
    data = json.loads(out)
    diagram = Diagram.load(spec, jumps="none")
    cache = diagram.cache()
    assert cache is not None
    assert data == {"name": "net", **diagram.stats().to_dict(), "cache": cache.to_json()}
    assert list(data) == ["name", "size", "tiers", "reader", "nodes", "edges", "crossings", "jumps",
                          "overlapping_nodes", "spilling_labels", "grammar_violations", "edges_through_nodes",
                          "misaligned", "detours", "details", "cache"]
    assert data["jumps"] == 0 and data["edges"]["total"] == sum(v for k, v in data["edges"].items() if k != "total")


def test_render_new_formats_theme_and_steps_like_the_library(tmp_path: Path) -> None:
    code, out, err = run("render", "-t", "relu-mlp", "-o", str(tmp_path), "-f", "pdf,html", "--theme", "print",
                         "--steps")
    assert code == 0, err
    names = [f"relu-mlp-{k}.{ext}" for ext in ("pdf", "html") for k in range(1, 5)]
    assert out.splitlines() == [str(tmp_path / n) for n in names]
    d = Diagram.template("relu-mlp", theme="print")
    assert (tmp_path / "relu-mlp-2.html").read_bytes() == d.render("html", step=2)
    assert (tmp_path / "relu-mlp-4.pdf").read_bytes() == d.render("pdf", step=4)
    code, _, err = run("render", "--theme", "sepia")
    assert code == 2 and "'sepia' is not one of 'default', 'print'" in err


def _specs(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        path = folder / f"{name}.yaml"
        path.write_text(f"input: {i + 2}\nlayers:\n  - {{size: 1, activation: sigmoid}}\nloss: bce\n",
                        encoding="utf-8")
        paths.append(path)
    return paths


def _age(path: Path, seconds: float) -> None:
    """Set ``path``'s modification time ``seconds`` into the past."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


@pytest.mark.graphviz
def test_batch_skips_only_what_is_up_to_date_and_says_so(tmp_path: Path) -> None:
    a, b, c = _specs(tmp_path / "specs", "a", "b", "c")
    out = tmp_path / "site"
    code, stdout, err = run("render", str(a), str(b), str(c), "-o", str(out), "-f", "svg,pdf")
    assert code == 0 and err == ""  # not a terminal: no progress bar, no notes
    assert len(stdout.splitlines()) == 6
    b.write_text(b.read_text(encoding="utf-8").replace("size: 1,", "size: 2,"), encoding="utf-8")  # b edited
    (out / "c.pdf").unlink()  # one of c's outputs is missing
    _age(a, -10)  # a touched (saved again unchanged): still up to date, whatever the clock says
    code, stdout, err = run("render", str(a), str(b), str(c), "-o", str(out), "-f", "svg,pdf")
    assert code == 0
    assert stdout.splitlines() == [str(out / f) for f in ("b.svg", "b.pdf", "c.svg", "c.pdf")]
    assert err.splitlines() == [f"up to date: {out / f}" for f in ("a.svg", "a.pdf")]  # said even off a terminal
    code, stdout, err = run("render", str(a), str(b), str(c), "-o", str(out), "-f", "svg,pdf", "-q")
    assert code == 0 and stdout == "" and err == ""  # -q: skipped quietly
    code, stdout, _ = run("render", str(a), "-o", str(out), "-f", "svg", "--steps")  # other files: not up to date
    assert len(stdout.splitlines()) == 4
    code, stdout, _ = run("render", str(a), str(b), str(c), "-o", str(out), "-f", "svg,pdf", "--force")
    assert code == 0 and len(stdout.splitlines()) == 6


@pytest.mark.graphviz
def test_every_option_and_a_hand_edit_re_render(tmp_path: Path) -> None:
    """The issue's case: a second render with other options is never skipped as 'up to date'."""
    out = tmp_path / "figs"
    base = ["render", "-t", "three-layer-logistic", "-o", str(out), "-f", "svg"]
    svg = out / "three-layer-logistic.svg"
    code, stdout, _ = run(*base)
    assert code == 0 and stdout.splitlines() == [str(svg)]
    first = svg.read_bytes()
    for extra in (["--backprop-to", "2"], ["--theme", "print"], ["--values"], ["--shapes"], ["--jumps", "gap"],
                  ["--show", "forward,backward"], []):
        code, stdout, err = run(*base, *extra)
        assert code == 0 and stdout.splitlines() == [str(svg)], (extra, err)
    assert svg.read_bytes() == first  # back to the plain options: the plain picture again
    code, stdout, err = run(*base)
    assert stdout == "" and err == f"up to date: {svg}\n"
    svg.write_text("<svg/>", encoding="utf-8")  # someone overwrote the file: rendered again
    code, stdout, _ = run(*base)
    assert stdout.splitlines() == [str(svg)] and svg.read_bytes() == first
    record = json.loads((out / ".bpdiagram" / "three-layer-logistic.svg.json").read_text(encoding="utf-8"))
    assert set(record) == {"fingerprint", "size", "mtime_ns"} and len(record["fingerprint"]) == 64


def test_fingerprint_covers_spec_text_and_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bpdiagram.render_job as build

    (spec,) = _specs(tmp_path, "net")
    source = build.Source(spec, "net")

    def prints(**options: object) -> list[str]:
        return [f for _, _, f in build.plan(source, build.Options(**options), tmp_path).files]  # type: ignore[arg-type]

    plain = prints(formats=("svg",))
    assert plain == prints(formats=("svg",))
    assert plain != prints(formats=("svg",), theme="print")
    spec.write_text(spec.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    assert plain != prints(formats=("svg",))  # any change of the text counts, even a comment
    spec.write_text(spec.read_text(encoding="utf-8").replace("# a comment\n", ""), encoding="utf-8")
    assert plain == prints(formats=("svg",))
    monkeypatch.setattr(build, "__version__", "99.0")
    assert plain != prints(formats=("svg",))


@pytest.mark.graphviz
def test_batch_with_a_bad_spec(tmp_path: Path) -> None:
    """A spec that does not load is reported and skipped; the others in the batch render."""
    a, b = _specs(tmp_path / "one", "a", "b")
    bad = tmp_path / "one" / "bad.yaml"
    bad.write_text("input: 2\nlayers: []\nloss: bce\n", encoding="utf-8")
    out = tmp_path / "site"
    code, stdout, err = run("render", str(a), str(bad), str(b), "-o", str(out), "-f", "svg")
    assert code == 2
    assert stdout.splitlines() == [str(out / "a.svg"), str(out / "b.svg")]
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:2: layers:")


@pytest.mark.graphviz
@pytest.mark.parametrize("command", ["render", "watch"])
def test_a_name_clash_is_refused_before_anything_is_written(tmp_path: Path, command: str) -> None:
    """Two specs with one stem would write the same files: one error line, exit 2, and no file at all."""
    a, b = _specs(tmp_path / "one", "a", "b")
    (clash,) = _specs(tmp_path / "two", "a")
    out = tmp_path / "site"
    code, stdout, err = run(command, str(a), str(b), str(clash), "-o", str(out), "-f", "svg")
    assert code == 2
    assert stdout == ""
    assert err == f"error: {clash}: writes the same files as {a} ('a.*' in {out}); rename one of them\n"
    assert not out.exists() or list(out.rglob("*")) == []


def _render_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in an interactive shell) and stdout on a pipe."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bpdiagram", "render", *args], stdout=subprocess.PIPE,
                            stderr=slave, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    code = proc.wait()
    os.close(master)
    return code, stdout, b"".join(chunks).decode()


@pytest.mark.graphviz
def test_progress_bar_and_notes_on_a_terminal(tmp_path: Path) -> None:
    specs = _specs(tmp_path / "specs", "a", "b", "c")
    out = tmp_path / "site"
    code, stdout, tty = _render_on_a_terminal([*map(str, specs), "-o", str(out), "-f", "svg"], tmp_path)
    assert code == 0
    assert stdout.splitlines() == [str(out / f"{n}.svg") for n in "abc"]  # stdout stays a clean list
    assert "rendering" in tty and "0/3" in tty and "3/3" in tty
    assert "3 rendered, 0 skipped (up to date), 0 failed" in tty
    code, stdout, tty = _render_on_a_terminal([*map(str, specs), "-o", str(out), "-f", "svg"], tmp_path)
    assert code == 0 and stdout == ""
    assert f"up to date: {out / 'a.svg'}" in tty
    assert "0 rendered, 3 skipped (up to date), 0 failed" in tty
