"""Stage 1 of the pipeline: read and validate spec files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpdiagram.spec.expression import ExpressionSpec, validate_expression
from bpdiagram.spec.load import Document, check_data, parse_spec_text, read_spec_file
from bpdiagram.spec.network import DiagramOptions, InputSpec, LayerSpec, NetworkSpec, validate_network
from bpdiagram.spec.program import validate_program

__all__ = ["DiagramOptions", "Document", "ExpressionSpec", "InputSpec", "LayerSpec", "NetworkSpec", "Spec",
           "load_spec", "spec_from_text"]

Spec = NetworkSpec | ExpressionSpec


def validate(doc: Document) -> Spec:
    """A network spec, or an expression spec when the document has ``expression`` or ``program`` (and no layers)."""
    network = "layers" in doc.data or "input" in doc.data or "loss" in doc.data
    if "program" in doc.data and not network:
        if "expression" in doc.data:
            raise doc.error(("program",), "a spec has either 'expression:' or 'program:', not both")
        return validate_program(doc)
    if "expression" in doc.data and not ("layers" in doc.data or "input" in doc.data or "loss" in doc.data):
        return validate_expression(doc)
    return validate_network(doc)


def load_spec(source: str | Path | dict[str, Any]) -> Spec:
    """Read and validate a spec from a path or an in-memory mapping."""
    if isinstance(source, dict):
        return validate(check_data(source))
    return validate(read_spec_file(source))


def spec_from_text(text: str, *, file: str, is_json: bool = False) -> Spec:
    """Validate spec text (a template's YAML, say) with ``file`` named in errors."""
    return validate(parse_spec_text(text, file=file, is_json=is_json))


