"""Reliability at the edges: float64's limits, JSON read like YAML, surrogate escapes, special files,
all-or-nothing output (issue 12). Each class fails as one ``error:`` line or draws a correct picture."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.errors import BpdiagramError, SpecError
from bpdiagram.model import array_labels
from bpdiagram.model.expression_values import evaluate
from bpdiagram.spec import ExpressionSpec, load_spec, spec_from_text
from bpdiagram.spec.load import MAX_DEPTH, parse_spec_text
from tests.test_fuzz import FUZZ

BIG = "1" + "0" * 400
"""An integer YAML and JSON read exactly, and float64 cannot hold."""


def draws_non_finite(svg: str) -> bool:
    """Whether the text drawn in ``svg`` (not its attribute names) holds inf or nan."""
    return re.search(r"\b(inf|nan)\b", " ".join(re.findall(r">([^<]*)<", svg)), re.IGNORECASE) is not None


def run_cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stderr


def assert_one_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


# -- 1. numbers at the edges of float64 ------------------------------------------------------------------

EDGE_EXPRESSIONS: list[tuple[str, str, tuple[str, ...]]] = [
    # (expression, values, what the one error line must say)
    ("x * y", f"{{x: {BIG}, y: 2}}", ("values.x", "integer of 401 digits")),
    (f"x * {BIG}", "{x: 2}", ("expression", "not a finite number", "column 5")),
    ("x ** 0.5", "{x: 0}", ("the gradient", "divides by zero", "x ** 0.5 with x = 0")),
    ("x ** -1", "{x: 1e-200}", ("the gradient", "x ** -1 with x = 1e-200")),
    ("x / y", "{x: 1, y: 1e-200}", ("the gradient", "x / y with x = 1, y = 1e-200")),
    ("log(x)", "{x: 1e-310}", ("the gradient", "infinite", "log(x) with x = 1e-310")),
    ("log(x) * y", "{x: 1e-300, y: 1e10}", ("the gradient", "log(x) with x = 1e-300")),
    ("x * y", "{x: 1e300, y: 1e300}", ("the value", "x * y with x = 1e+300, y = 1e+300")),
    ("x ** -2", "{x: 1e-160}", ("the value", "x ** -2 with x = 1e-160")),
    ("1 / x", "{x: 1e-310}", ("the value", "1 / x with x = 1e-310")),
    ("x * x + x * x", "{x: 1e154}", ("the value", "x * x + x * x")),
    ("log(x) + log(x)", "{x: 1e-308}", ("the sum of dx", "x = 1e-308")),
    ("exp(x) * exp(x)", "{x: 400}", ("the value", "exp(x) * exp(x)")),
]


@pytest.mark.parametrize(("expression", "values", "fragments"), EDGE_EXPRESSIONS,
                         ids=[f"{e} at {v}"[:60] for e, v, _ in EDGE_EXPRESSIONS])
def test_numbers_beyond_float64_are_one_error_in_every_command(expression: str, values: str,
                                                                fragments: tuple[str, ...], tmp_path: Path) -> None:
    spec = tmp_path / "edge.yaml"
    spec.write_text(f"expression: {expression}\nvalues: {values}\n", encoding="utf-8")
    out = tmp_path / "out"
    for args in (["render", str(spec), "-o", str(out), "-f", "svg"], ["check", str(spec)], ["stats", str(spec)],
                 ["code", str(spec), "-o", str(out / "f.py")]):
        code, err = run_cli(args)
        assert_one_error(code, err, f"{spec}:", *fragments)
    assert not out.exists() or not list(out.iterdir())


def test_tiny_and_huge_finite_numbers_are_drawn_as_they_are(tmp_path: Path) -> None:
    spec = load_spec({"expression": "x * y", "values": {"x": 5e-324, "y": 1.5e308}})
    assert isinstance(spec, ExpressionSpec)
    ev = evaluate(spec)
    assert ev.value == 5e-324 * 1.5e308
    assert ev.grads == {"x": 1.5e308, "y": 5e-324}
    svg = Diagram(spec).render("svg").decode("utf-8")
    assert "x = 4.94e−324" in svg and "dx = 1.50e+308" in svg
    assert not draws_non_finite(svg)


def test_check_names_the_users_value_when_a_difference_step_leaves_the_domain(tmp_path: Path) -> None:
    spec = tmp_path / "near.yaml"
    spec.write_text("expression: log(x)\nvalues: {x: 1e-7}\n", encoding="utf-8")
    code, err = run_cli(["check", str(spec)])
    assert_one_error(code, err, "x = 1e-07", "log of a number ≤ 0")
    assert "1.00e−06" not in err and "-1e-06" not in err  # not the perturbed value


@pytest.mark.parametrize("value", [5e-324, -5e-324, 1e-320, 2.2250738585072014e-308, 1.7976931348623157e308,
                                   -1e308, 1e-305, 3.3e-301])
def test_arrays_at_float64_limits_are_labelled_with_their_value(value: float) -> None:
    text = array_labels.block(np.array([[value, 0.0]]))
    head, row = text.split("\n")
    exponent = int(head.split("{")[1].rstrip("}").replace("−", "-"))
    mantissa = float(row.split("\u2007\u2007")[0].replace("−", "-").replace("\u2007", "").replace("\u2009", ""))
    drawn = Decimal(mantissa).scaleb(exponent)  # in decimal: 1.80 ×10^308 is beyond float64
    assert abs(drawn - Decimal(value)) <= Decimal("0.01") * abs(Decimal(value))
    large = np.full((5, 5), value)
    assert "inf" not in array_labels.summary(large) and "nan" not in array_labels.summary(large)


def test_network_values_at_float64_limits_render_or_fail_cleanly(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    net = "input: 1\nlayers: [{size: 1, activation: linear}]\nloss: sse\n"
    spec.write_text(net + f"values: {{X: [[{BIG}]]}}\n", encoding="utf-8")
    assert_one_error(*run_cli(["render", str(spec), "-o", str(tmp_path / "o")]), "values.X[1][1]", "401 digits")
    spec.write_text(net + "values: {X: [[5e-324]], W1: [[1]], b1: [[0]], Y: [[0]]}\n", encoding="utf-8")
    code, err = run_cli(["render", str(spec), "--values", "-o", str(tmp_path / "o"), "-f", "svg"])
    assert code == 0, err
    svg = (tmp_path / "o" / "net.svg").read_text(encoding="utf-8")
    assert "×10" in svg and not draws_non_finite(svg)


# -- 2. JSON through the same reader as YAML ---------------------------------------------------------------

GOOD_EXPRESSION = {"expression": "x * y", "values": {"x": 1, "y": 2}}


@pytest.mark.parametrize(("text", "fragment"), [
    ('\t"abc"', "top level must be a mapping of keys, not a string"),
    ('\t["i", 1]', "top level must be a mapping of keys, not a list"),
    ("\t42", "top level must be a mapping of keys, not a integer"),
    ('{"expression": "x*y", "expression": "x+y", "values": {"x": 1, "y": 2}}', "expression: key given twice"),
    ('\t{"expression": "x*y", "values": {"x": 1, "x": 2}}', "values.x: key given twice"),
    ("[" * 100_000 + "]" * 100_000, f"nested more than {MAX_DEPTH} levels"),
    ('{"a": ' * 40 + "1" + "}" * 40, f"nested more than {MAX_DEPTH} levels"),
    ('{"expression": "x", "values": {"x": ' + "9" * 5000 + "}}", "too many digits"),
    ('{"' + "k" * 2000 + '": 1, "' + "k" * 2000 + '": 2}', "key given twice"),
    ('{"' + "k" * 2000 + '": {"t": "\\ud83e"}}', "lone surrogate"),
])
def test_json_gets_the_checks_yaml_gets(text: str, fragment: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(text, encoding="utf-8")
    code, err = run_cli(["render", str(spec), "-o", str(tmp_path / "out")])
    assert_one_error(code, err, f"{spec}", fragment)
    assert not (tmp_path / "out").exists()


def test_json_with_tabs_long_keys_and_line_separators_reads_as_json(tmp_path: Path) -> None:
    doc = dict(GOOD_EXPRESSION, title="a\x85b\u2028c\x7fd\tq 🧠")
    text = json.dumps(doc, ensure_ascii=False, indent="\t")
    assert parse_spec_text(text, file="t.json", is_json=True).data == doc
    assert parse_spec_text(text, file="t.json", is_json=True).line_of(("values", "y")) == 5
    long_key = json.dumps({**doc, "k" * 2000: 1})
    with pytest.raises(SpecError, match="unknown key"):
        spec_from_text(long_key, file="t.json", is_json=True)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


@FUZZ
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.booleans(),
       st.sampled_from([None, 2, "\t", "  \t"]))
def test_any_json_document_reads_as_json_reads_it(data: dict[str, Any], ascii_only: bool,
                                                  indent: int | str | None) -> None:
    text = json.dumps(data, ensure_ascii=ascii_only, indent=indent)
    assert parse_spec_text(text, file="r.json", is_json=True).data == data


# -- 3. surrogate escapes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_surrogate_pairs_are_joined_in_every_syntax(suffix: str, tmp_path: Path) -> None:
    spec = tmp_path / f"brain{suffix}"
    escaped = "\\ud83e\\udde0 brain"
    if suffix == ".json":
        spec.write_text(f'{{"title": "{escaped}", "expression": "x * y", "values": {{"x": 1, "y": 2}}}}')
    else:
        spec.write_text(f'title: "{escaped}"\nexpression: x * y\nvalues: {{x: 1, y: 2}}\n')
    assert load_spec(spec).title == "🧠 brain"
    code, err = run_cli(["render", str(spec), "-o", str(tmp_path / "out"), "-f", "svg,graphml"])
    assert code == 0, err
    assert "🧠 brain" in (tmp_path / "out" / "brain.svg").read_text(encoding="utf-8")
    assert "🧠 brain" in (tmp_path / "out" / "brain.graphml").read_text(encoding="utf-8")


NETWORK_WITH_TITLE = ('{{"title": "{t}", "input": {{"name": "{n}", "size": 2}}, '
                      '"layers": [{{"size": 1, "activation": "sigmoid"}}], "loss": "bce"}}')


@pytest.mark.parametrize(("title", "name", "where"), [
    ("\\ud83e lone high", "X", "title"),
    ("lone low \\udde0", "X", "title"),
    ("ok", "X\\udc80", "input.name"),
    ("reversed \\udde0\\ud83e", "X", "title"),
])
@pytest.mark.parametrize("command", ["render", "check", "stats", "code"])
def test_lone_surrogates_are_the_same_error_in_every_command(title: str, name: str, where: str, command: str,
                                                             tmp_path: Path) -> None:
    spec = tmp_path / "lone.json"
    spec.write_text(NETWORK_WITH_TITLE.format(t=title, n=name), encoding="utf-8")
    args = [command, str(spec)] + (["-o", str(tmp_path / "out")] if command == "render" else [])
    code, err = run_cli(args)
    assert_one_error(code, err, f"{spec}:1: {where}: has a lone surrogate escape \\u")
    yaml_spec = tmp_path / "lone.yaml"
    yaml_spec.write_text(NETWORK_WITH_TITLE.format(t=title, n=name), encoding="utf-8")
    assert run_cli([command, str(yaml_spec), *args[2:]])[1] == err.replace(str(spec), str(yaml_spec))


def test_lone_surrogates_in_an_api_dict_are_refused_too() -> None:
    with pytest.raises(SpecError, match="title: has a lone surrogate"):
        load_spec({**GOOD_EXPRESSION, "title": "half \ud83e"})
    assert load_spec({**GOOD_EXPRESSION, "title": "pair \ud83e\udde0"}).title == "pair 🧠"


@FUZZ
@given(st.text(st.characters(codec=None, categories=["Cs", "So", "Ll"]), max_size=6))
def test_surrogate_escapes_join_or_fail_the_same_way_in_json_and_yaml(title: str) -> None:
    escaped = json.dumps(title)  # every surrogate as a \\uXXXX escape
    outcomes = []
    for is_json, text in ((True, f'{{"title": {escaped}, "expression": "2 * x", "values": {{"x": 1}}}}'),
                          (False, f"title: {escaped}\nexpression: 2 * x\nvalues: {{x: 1}}\n")):
        try:
            outcomes.append(spec_from_text(text, file="s", is_json=is_json).title)
        except SpecError as exc:
            assert "lone surrogate" in exc.reason
            outcomes.append("error")
    joined = title.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    assert outcomes[0] == outcomes[1] == (joined if "\ufffd" not in joined else "error")


# -- 4. special files ------------------------------------------------------------------------------------

def _cli_in_subprocess(spec: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process: a hang fails the test instead of hanging the suite."""
    command = [sys.executable, "-c", "from bpdiagram.cli import main; main()", "render", spec, "-o", str(tmp_path)]
    return subprocess.run(command,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    done = _cli_in_subprocess(str(fifo), tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: {fifo}: is a FIFO (named pipe), not a regular file; give a spec file\n"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused_before_it_is_read(tmp_path: Path) -> None:
    done = _cli_in_subprocess("/dev/zero", tmp_path)
    assert done.returncode == 2
    assert done.stderr == "error: /dev/zero: is a character device, not a regular file; give a spec file\n"


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert_one_error(*run_cli(["check", str(path)]), "is a socket, not a regular file")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no procfs")
def test_at_most_the_size_limit_is_read_even_when_the_size_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files in /proc say they are 0 bytes long and are not: the limit holds on what is read."""
    monkeypatch.setattr("bpdiagram.spec.load.MAX_SPEC_BYTES", 16)
    assert os.stat("/proc/self/status").st_size == 0
    assert_one_error(*run_cli(["check", "/proc/self/status"]), "more than 16 bytes")


# -- 6. all of a diagram's files or none -------------------------------------------------------------------

@pytest.mark.graphviz
def test_a_format_that_cannot_be_written_leaves_no_other_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "two-layer-binary.graphml").mkdir(parents=True)
    (out / "two-layer-binary.svg").write_bytes(b"old svg")
    code, err = run_cli(["render", "-o", str(out), "-f", "svg,png,graphml", "--force"])
    assert_one_error(code, err, "two-layer-binary.graphml: cannot write: is a directory")
    assert sorted(p.name for p in out.iterdir()) == ["two-layer-binary.graphml", "two-layer-binary.svg"]
    assert (out / "two-layer-binary.svg").read_bytes() == b"old svg"


@pytest.mark.graphviz
@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_a_rename_failing_midway_puts_back_the_files_that_were_there(fail_at: int, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "two-layer-binary.png").write_bytes(b"old png")
    real = os.replace
    calls = {"renames into place": 0}

    def flaky(source: Any, target: Any) -> None:
        if str(source).endswith(".tmp"):
            calls["renames into place"] += 1
            if calls["renames into place"] == fail_at:
                raise OSError(28, "No space left on device")
        real(source, target)

    monkeypatch.setattr("bpdiagram.atomic_write.os.replace", flaky)
    code, err = run_cli(["render", "-o", str(out), "-f", "svg,png,graphml"])
    assert_one_error(code, err, "No space left on device")
    assert [p.name for p in out.iterdir()] == ["two-layer-binary.png"]
    assert (out / "two-layer-binary.png").read_bytes() == b"old png"


def test_save_writes_every_file_when_nothing_fails(tmp_path: Path) -> None:
    diagram = Diagram(load_spec(GOOD_EXPRESSION), name="ok")
    (tmp_path / "ok.svg").write_bytes(b"old")
    written = diagram.save(tmp_path, ["svg", "graphml", "dot"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.dot", "ok.graphml", "ok.svg"]
    assert written[0].read_bytes().startswith(b"<?xml")


def test_bpdiagram_errors_are_the_only_failures_of_edge_documents() -> None:
    """A guard for the classes above: nothing of them escapes as another exception type."""
    for text in ('\t"x"', "[" * 5000, '{"title": "\\udc00"}'):
        with pytest.raises(BpdiagramError):
            spec_from_text(text, file="e.json", is_json=True)


@pytest.mark.parametrize(("extra", "fragment"), [
    (f"layers:\n  - {{size: 3, activation: relu, dropout: {BIG}}}\n  - {{size: 1, activation: sigmoid}}\n",
     "layers[1].dropout"),
    ("layers:\n  - {size: 3, activation: relu}\n  - {size: 1, activation: sigmoid}\n"
     f"regularization: {{l2: {BIG}}}\n",
     "regularization.l2"),
])
def test_integers_beyond_float64_in_any_numeric_key_are_one_error(extra: str, fragment: str, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("input: 2\nloss: bce\n" + extra, encoding="utf-8")
    assert_one_error(*run_cli(["check", str(spec)]), fragment, "an integer of 401 digits")
