"""Read a spec document (YAML or JSON) into plain data plus the line of every key.

PyYAML's composer gives every node its position; we walk the node tree
ourselves (instead of ``safe_load``) so that each key and list item keeps its
line, and validation errors can say ``file:line``. Only the safe YAML types
are constructed: a tag that would build a Python object is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bpdiagram.errors import SpecError

MAX_SPEC_BYTES = 1_000_000
"""Specs are a few dozen lines; anything bigger is a mistake (or an attack)."""

MAX_YAML_NODES = 200_000
"""Alias expansion budget: a "billion laughs" document is refused, not expanded."""

PathKey = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:timestamp",
}


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading floats the YAML 1.2 (and JSON) way.

    PyYAML follows YAML 1.1, where ``1e-3`` and ``2E5`` (no dot) are strings;
    every JSON writer produces them, and people write them for learning rates
    and small weights. JSON's ``NaN`` and ``Infinity`` become floats too, so
    validation can say they are not finite instead of calling them strings.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+|NaN|[-+]?Infinity)$"),
    list("-+0123456789NI"),
)


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(node.value)
    if text in ("NaN", "Infinity", "+Infinity", "-Infinity"):
        return float(text.replace("Infinity", "inf"))
    value: float = loader.construct_yaml_float(node)
    return value


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


@dataclass
class Document:
    """A parsed spec: its data, where it came from and where each key stands."""

    data: Any
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def error(self, path: PathKey, reason: str) -> SpecError:
        """A ``SpecError`` located at ``path`` (tuple of keys and list indices)."""
        return SpecError(reason, file=self.file, line=self.line_of(path), key=dotted(path) or None)


def dotted(path: PathKey) -> str:
    """``("layers", 1, "size")`` → ``layers[1].size`` (list indices 1-based, as users count layers)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out


def read_spec_file(path: str | Path) -> Document:
    """Read and parse the spec at ``path``; every failure is a located ``SpecError``."""
    name = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise SpecError("is a directory, not a spec file", file=name)
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(f"file is {size} bytes; specs are limited to {MAX_SPEC_BYTES}", file=name)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SpecError("no such file", file=name) from None
    except PermissionError:
        raise SpecError("permission denied", file=name) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    return parse_spec_text(text, file=name, is_json=p.suffix.lower() == ".json")


def parse_spec_text(text: str, *, file: str = "<spec>", is_json: bool = False) -> Document:
    """Parse spec text (YAML, or JSON when ``is_json``) into a ``Document``."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is longer than {MAX_SPEC_BYTES} characters", file=file)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SpecError("binary data (NUL byte), not a spec", file=file, line=line)
    if is_json:
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=exc.lineno) from None
    try:
        doc = _compose(text, file)
    except SpecError:
        if is_json:  # valid JSON that PyYAML cannot read (e.g. tabs): keep it, without lines
            return Document(json.loads(text), file)
        raise
    if doc.data is None:
        raise SpecError("empty spec (expected a mapping such as 'input:', 'layers:', 'loss:')", file=file)
    if not isinstance(doc.data, dict):
        raise SpecError(f"the top level must be a mapping of keys, not a {type_name(doc.data)}", file=file,
                        line=doc.lines.get(()))
    return doc


def type_name(value: object) -> str:
    """A user-facing name for the YAML type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return type(value).__name__


def _compose(text: str, file: str) -> Document:
    try:
        loader = _Loader(text)  # the reader already rejects control characters here
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise SpecError(f"invalid YAML: character {exc.character!r} is not allowed", file=file, line=line) from None
    try:
        node = loader.get_single_node()
        doc = Document(None, file)
        if node is not None:
            budget = [MAX_YAML_NODES]
            doc.data = _convert(node, (), loader, doc, budget)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"invalid YAML: {problem}", file=file, line=where) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise SpecError("spec is nested too deeply", file=file, line=1) from None
    finally:
        loader.dispose()


def _convert(node: yaml.Node, path: PathKey, loader: _Loader, doc: Document,
             budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"spec expands to more than {MAX_YAML_NODES} values (alias bomb?)", file=doc.file)
    line = node.start_mark.line + 1
    doc.lines.setdefault(path, line)
    if node.tag not in _STANDARD_TAGS:
        raise SpecError(f"YAML tag {node.tag!r} is not allowed (plain data only)", file=doc.file, line=line,
                        key=dotted(path) or None)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("keys must be plain names", file=doc.file, line=key_node.start_mark.line + 1,
                                key=dotted(path) or None)
            key = loader.construct_object(key_node)
            key = str(key) if not isinstance(key, str) else key
            child = (*path, key)
            if key in out:
                raise SpecError("key given twice", file=doc.file, line=key_node.start_mark.line + 1, key=dotted(child))
            doc.lines[child] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, child, loader, doc, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), loader, doc, budget) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node)
    except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date like 2024-13-45
        shown = str(node.value)
        shown = shown if len(shown) <= 24 else shown[:20] + "…"
        reason = "integer has too many digits" if node.tag.endswith(":int") else str(exc)
        raise SpecError(f"cannot read {shown!r}: {reason}", file=doc.file, line=line,
                        key=dotted(path) or None) from None
