"""The JSON Schema (draft 2020-12) of both spec kinds, written from the field tables of ``spec.keys``.

Editors (VS Code's YAML extension, JetBrains IDEs, anything speaking the YAML language server) use it to
complete keys, show each key's description and mark unknown keys or choices as you type. It is derived, never
written by hand, so it cannot drift from what the loader accepts; the loader stays the judge of what the
schema cannot say (a layer size that must match a residual's, an activation a loss refuses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bpdiagram.spec.keys import (
    CONV_FIELDS,
    DENSE_FIELDS,
    FLATTEN_FIELDS,
    POOL_FIELDS,
    REQUIRED_TOP_KEYS,
    SPEC_KINDS,
    TOP_FIELDS,
    Field,
    required,
)

SCHEMA_ID = "https://bpdiagram.invalid/schema/spec.json"
"""A stable identifier (the ``.invalid`` domain is never resolved: editors read the saved file, not the web)."""

_NUMERIC = ("integer", "number")


def _alternative(field: Field, kind: str) -> dict[str, Any]:
    """The schema of ``field``'s values of JSON type ``kind``, with the choices, bounds, items or keys it has."""
    if kind == "string" and field.choices:
        return {"enum": list(field.choices)}
    out: dict[str, Any] = {"type": kind}
    if kind in _NUMERIC:
        if field.minimum is not None:
            out["exclusiveMinimum" if field.exclusive_minimum else "minimum"] = field.minimum
        if field.maximum is not None:
            out["maximum"] = field.maximum
    if kind == "array" and field.items is not None:
        out["items"] = field.items
    if kind == "object" and field.table is not None:
        out.update(mapping(field.table))
    return out


def field_schema(field: Field) -> dict[str, Any]:
    """One key's schema: its description, then one alternative per JSON type (``anyOf`` when there are several)."""
    alternatives = [_alternative(field, kind) for kind in field.types]
    out: dict[str, Any] = {"description": field.description}
    if len(alternatives) == 1:
        out.update(alternatives[0])
    else:
        out["anyOf"] = alternatives
    if field.schema:
        out.update(field.schema)
    return out


def mapping(table: Sequence[Field]) -> dict[str, Any]:
    """A mapping holding the keys of ``table`` only (the loader refuses any other), the required ones present."""
    out: dict[str, Any] = {"type": "object", "properties": {f.name: field_schema(f) for f in table},
                           "additionalProperties": False}
    if required(table):
        out["required"] = list(required(table))
    return out


def _layer(kind: str, table: Sequence[Field], *, typed: bool) -> dict[str, Any]:
    """A layer of ``kind`` with the keys of ``table``; ``typed``: it must say ``type: kind``."""
    out = mapping(table)
    if "type" in out["properties"]:
        out["properties"]["type"] = {**out["properties"]["type"], "const": kind}
    if typed:
        out["required"] = ["type", *out.get("required", [])]
    return out


LAYER_KINDS: dict[str, Sequence[Field]] = {"dense": DENSE_FIELDS, "conv": CONV_FIELDS, "maxpool": POOL_FIELDS,
                                           "avgpool": POOL_FIELDS, "flatten": FLATTEN_FIELDS}
"""The keys of each layer ``type``; a layer without ``type`` is dense."""


def _by_type(kinds: Sequence[str]) -> dict[str, Any]:
    """Each layer checked against its own kind's keys only (if/then/else on ``type``), so an editor and a validator
    name the wrong key, not "matches none of five kinds"."""
    kind, *rest = kinds
    then = {"$ref": f"#/$defs/{kind}-layer"}
    if not rest:
        return then
    return {"if": {"required": ["type"], "properties": {"type": {"const": kind}}}, "then": then,
            "else": _by_type(rest)}


def spec_schema() -> dict[str, Any]:
    """The schema: a network spec or an expression spec, each key described.

    The loader tells the kinds apart by ``expression`` (without ``input``, ``layers`` or ``loss``); the schema
    says the same with if/then/else rather than ``oneOf``, so a mistake is reported against the kind the spec is
    (``'sigmod' is not one of ...``), not as "matches neither kind".
    """
    network = mapping(TOP_FIELDS)
    network["title"] = "network spec"
    network["properties"]["layers"]["items"] = {
        "description": "One layer: dense {size, activation}, or a conv, maxpool, avgpool or flatten layer "
                       "(with an input shape).", **_by_type([*(k for k in LAYER_KINDS if k != "dense"), "dense"])}
    values = network["properties"]["values"]["anyOf"][0]
    values["additionalProperties"] = {"description": "An array such as X, Y, W1, b1 (named by the network): "
                                                     "rows of numbers, or nested lists for feature maps.",
                                      "type": "array"}
    kinds = {"network": network}
    for kind, table in SPEC_KINDS.items():
        kinds[kind] = {**mapping(table), "title": f"{kind} spec"}
    layers = {f"{kind}-layer": _layer(kind, table, typed=kind != "dense") for kind, table in LAYER_KINDS.items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "bpdiagram spec",
        "description": "A bpdiagram spec: a network (input, layers, loss), an expression (expression, values) "
                       "or a program (program, values).",
        **_by_kind(list(SPEC_KINDS)),
        "$defs": {**kinds, **layers},
    }


def _by_kind(kinds: Sequence[str]) -> dict[str, Any]:
    """The first of ``kinds`` whose key the document has (and no network key), else the next, else a network."""
    if not kinds:
        return {"$ref": "#/$defs/network"}
    kind, *rest = kinds
    condition = {"required": [kind], "not": {"anyOf": [{"required": [key]} for key in REQUIRED_TOP_KEYS]}}
    return {"if": condition, "then": {"$ref": f"#/$defs/{kind}"}, "else": _by_kind(rest)}
