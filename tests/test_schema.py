"""``bpdiagram schema``: a valid 2020-12 JSON Schema that accepts every shipped spec and refuses what the loader does.

The schema is written from the field tables the loader reads its keys from; these tests hold it to the loader's
behaviour from outside: the keys the loader lists in its own "unknown key" errors are the schema's keys.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bpdiagram.errors import SpecError
from bpdiagram.spec import load_spec, spec_from_text
from bpdiagram.spec.keys import VALUES_SETTINGS
from bpdiagram.spec.schema import spec_schema
from bpdiagram.spec.values import SETTINGS
from tests.test_docs_examples import PAGES, _is_whole_spec, blocks

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = spec_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

NETWORK: dict[str, Any] = {"input": 2, "layers": [{"size": 3, "activation": "tanh"}, {"size": 1,
                                                                                       "activation": "sigmoid"}],
                           "loss": "bce", "diagram": {"view": "vectorized"}, "regularization": {"l2": 0.1}}
CONV: dict[str, Any] = {"input": {"shape": [1, 6, 6]},
                        "layers": [{"type": "conv", "filters": 2, "kernel": 3, "activation": "relu"},
                                   {"type": "maxpool", "kernel": 2}, {"type": "flatten"},
                                   {"size": 1, "activation": "sigmoid"}], "loss": "bce"}
EXPRESSION: dict[str, Any] = {"expression": "(x + y) * z", "values": {"x": 1, "y": 2, "z": 3},
                              "diagram": {"show": ["forward"]}}


PROGRAM: dict[str, Any] = {"program": "q = x + y\nf = q * z\n", "values": {"x": 1, "y": 2, "z": 3},
                           "diagram": {"show": ["forward", "backward"]}}
def _spec_files() -> list[Path]:
    return sorted([*(ROOT / "templates").glob("*.yaml"), *(ROOT / "docs").rglob("*.yaml")])


def _page_specs() -> list[tuple[str, str]]:
    """Every whole spec written in a docs page's yaml block, with where it is."""
    found = []
    for page in PAGES:
        for block in blocks(page):
            if block.lang == "yaml" and block.directive != "norun" and _is_whole_spec(block.body):
                found.append((f"{page.relative_to(ROOT).as_posix()}:{block.line + 1}", block.body))
    return found


def _refused(data: dict[str, Any], where: tuple[Any, ...]) -> bool:
    """The schema refuses ``data``, and its most relevant error is at ``where`` or inside it (as editors show it)."""
    error = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(data))
    return error is not None and tuple(error.absolute_path)[:len(where)] == where


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].startswith("https://") and SCHEMA["title"]
    assert SCHEMA["then"] == {"$ref": "#/$defs/program"}
    assert (SCHEMA["else"]["then"], SCHEMA["else"]["else"]) == ({"$ref": "#/$defs/expression"},
                                                                {"$ref": "#/$defs/network"})
    assert [SCHEMA["$defs"][kind]["title"] for kind in ("network", "expression", "program")] == [
        "network spec", "expression spec", "program spec"]


@pytest.mark.parametrize("path", _spec_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_template_and_docs_spec_validates(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not ({"layers", "expression"} & set(data)):
        pytest.skip("not a whole spec")
    load_spec(path)  # the loader accepts it, so the schema must
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(data)]
    assert not errors, errors


def test_every_spec_in_the_docs_pages_validates() -> None:
    specs = _page_specs()
    assert len(specs) >= 3
    for where, text in specs:
        spec_from_text(text, file=where)
        assert VALIDATOR.is_valid(yaml.safe_load(text)), where


def _with(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


REFUSED = [
    ("unknown top key", NETWORK, ("colour",), "red"),
    ("unknown layer key", NETWORK, ("layers", 0, "units"), 3),
    ("unknown input key", _with(NETWORK, ("input",), {"size": 2}), ("input", "kind"), "x"),
    ("unknown diagram key", NETWORK, ("diagram", "veiw"), "vectorized"),
    ("unknown regularization key", NETWORK, ("regularization", "l1"), 0.1),
    ("bad activation", NETWORK, ("layers", 0, "activation"), "gelu"),
    ("bad loss", NETWORK, ("loss",), "hinge"),
    ("bad view", NETWORK, ("diagram", "view"), "matrix"),
    ("bad notation", NETWORK, ("diagram", "notation"), "cs229"),
    ("bad edge kind", NETWORK, ("diagram", "show"), ["forward", "sideways"]),
    ("bad simplify", NETWORK, ("diagram", "simplify"), "maybe"),
    ("bad init", _with(NETWORK, ("values",), {}), ("values", "init"), "glorot"),
    ("keep probability 0", NETWORK, ("layers", 0, "dropout"), 0),
    ("no units", NETWORK, ("layers", 0, "size"), 0),
    ("negative l2", NETWORK, ("regularization", "l2"), -1),
    ("wrap 0", NETWORK, ("diagram", "wrap"), 0),
    ("unknown conv key", CONV, ("layers", 0, "dilation"), 2),
    ("bad layer type", CONV, ("layers", 1, "type"), "minpool"),
    ("padding on a pool", CONV, ("layers", 1, "padding"), 1),
    ("a shape of two sides", CONV, ("input", "shape"), [6, 6]),
    ("unknown expression key", EXPRESSION, ("matrix",), 1),
    ("unknown expression diagram key", EXPRESSION, ("diagram", "view"), "vectorized"),
    ("a title as a mapping", EXPRESSION, ("title",), {"text": "t"}),
]


@pytest.mark.parametrize(("what", "base", "path", "value"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_the_loader_refuses_the_schema_refuses(what: str, base: dict[str, Any], path: tuple[Any, ...],
                                                    value: Any) -> None:
    assert VALIDATOR.is_valid(base) and load_spec(copy.deepcopy(base))
    data = _with(base, path, value)
    with pytest.raises(SpecError):
        load_spec(copy.deepcopy(data))
    assert _refused(data, path[:-1]), what


def _loader_keys(base: dict[str, Any], path: tuple[Any, ...]) -> list[str]:
    """The valid keys the loader lists when the mapping at ``path`` gets an unknown key."""
    data = _with(base, (*path, "zzzz"), 1)
    with pytest.raises(SpecError) as caught:
        load_spec(data)
    listed = re.search(r"valid keys: (.*)$", str(caught.value))
    assert listed, str(caught.value)
    return listed[1].split(", ")


def _schema_keys(node: dict[str, Any]) -> list[str]:
    return list(node["properties"])


def _object(node: dict[str, Any]) -> dict[str, Any]:
    """The object alternative of a key that may also be a number or null."""
    return next(alt for alt in node.get("anyOf", [node]) if alt.get("type") == "object")


def test_every_key_the_loader_accepts_is_in_the_schema() -> None:
    network, expression = SCHEMA["$defs"]["network"], SCHEMA["$defs"]["expression"]
    top = network["properties"]
    by_type = {kind: SCHEMA["$defs"][f"{kind}-layer"] for kind in ("dense", "conv", "maxpool", "avgpool", "flatten")}
    cases = [
        (NETWORK, (), network),
        (_with(NETWORK, ("input",), {"size": 2}), ("input",), _object(top["input"])),
        (NETWORK, ("layers", 0), {"properties": {k: v for k, v in by_type["dense"]["properties"].items()
                                                 if k != "type"}}),
        (CONV, ("layers", 3), by_type["dense"]),
        (CONV, ("layers", 0), by_type["conv"]),
        (CONV, ("layers", 1), by_type["maxpool"]),
        (_with(CONV, ("layers", 1, "type"), "avgpool"), ("layers", 1), by_type["avgpool"]),
        (CONV, ("layers", 2), by_type["flatten"]),
        (NETWORK, ("diagram",), top["diagram"]),
        (NETWORK, ("regularization",), top["regularization"]),
        (EXPRESSION, (), expression),
        (EXPRESSION, ("diagram",), expression["properties"]["diagram"]),
        (PROGRAM, (), SCHEMA["$defs"]["program"]),
        (PROGRAM, ("diagram",), SCHEMA["$defs"]["program"]["properties"]["diagram"]),
    ]
    for base, path, node in cases:
        assert sorted(_loader_keys(base, path)) == sorted(_schema_keys(node)), path
    assert list(_object(top["values"])["properties"]) == list(SETTINGS) == list(VALUES_SETTINGS)


def test_every_key_has_a_description_and_every_choice_an_enum() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                assert sub.get("description"), f"{where}/{key}"
            for key, sub in node.items():
                if key not in ("if", "not"):  # conditions that tell the kinds apart, not keys
                    walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}")

    walk(SCHEMA, "")
    activation = SCHEMA["$defs"]["dense-layer"]["properties"]["activation"]
    assert activation["enum"] == ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]


def test_the_command_prints_or_writes_the_schema(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "bpdiagram", "schema"]
    printed = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert json.loads(printed) == SCHEMA
    out = tmp_path / "spec.schema.json"
    subprocess.run([*run, "-o", str(out)], check=True)
    assert out.read_text(encoding="utf-8") == printed
    bad = subprocess.run([*run, "-o", str(tmp_path / "missing" / "dir" / "s.json")], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and len(bad.stderr.splitlines()) == 1
