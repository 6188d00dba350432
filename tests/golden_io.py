"""What the golden files hold for each template, computed the same way by the test and the regenerator."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from bpdiagram.diagram import Diagram
from bpdiagram.layout.dot_scene import dot_source


def dot_text(name: str) -> str:
    """The DOT source bpdiagram hands to graphviz (needs no graphviz)."""
    return dot_source(Diagram.template(name).model)


def svg_structure(name: str) -> str:
    """The SVG's element outline: tag, id and class of every group, one per line, no coordinates."""
    root = ET.fromstring(Diagram.template(name).render("svg"))
    lines = []
    for el in root.iter():
        tag = el.tag.split("}")[1]
        if tag in ("g", "title"):
            text = (el.text or "").strip() if tag == "title" else ""
            jumps = f"jumps={el.get('data-jumps')}" if el.get("data-jumps") is not None else ""
            lines.append(" ".join(x for x in (tag, el.get("id", ""), el.get("class", ""), jumps, text) if x))
    return "\n".join(lines) + "\n"


def crossing_counts(names: list[str]) -> dict[str, int]:
    """Each template's crossings, as ``stats`` measures them: the numbers no change may raise."""
    return {name: Diagram.template(name).stats().crossings for name in names}


def crossings_text(names: list[str]) -> str:
    """``crossings.json``: template name → crossing count, sorted, one per line."""
    return json.dumps(crossing_counts(names), indent=2, sort_keys=True) + "\n"


def graphml_text(name: str) -> str:
    return Diagram.template(name).render("graphml").decode("utf-8")
