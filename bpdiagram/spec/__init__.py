"""Stage 1 of the pipeline: read and validate spec files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpdiagram.spec.load import Document, parse_spec_text, read_spec_file
from bpdiagram.spec.network import DiagramOptions, InputSpec, LayerSpec, NetworkSpec, validate_network

__all__ = ["DiagramOptions", "Document", "InputSpec", "LayerSpec", "NetworkSpec", "load_spec", "spec_from_text"]


def load_spec(source: str | Path | dict[str, Any]) -> NetworkSpec:
    """Read and validate a spec from a path or an in-memory mapping."""
    if isinstance(source, dict):
        return validate_network(Document(source, "<dict>"))
    return validate_network(read_spec_file(source))


def spec_from_text(text: str, *, file: str, is_json: bool = False) -> NetworkSpec:
    """Validate spec text (a template's YAML, say) with ``file`` named in errors."""
    return validate_network(parse_spec_text(text, file=file, is_json=is_json))


