"""Text safe for XML 1.0: characters XML cannot carry are dropped.

Escaping of ``< > & " '`` is left to ElementTree; this removes what no
escaping can carry (C0 controls other than tab and newline, lone surrogates,
U+FFFE/U+FFFF), so hostile titles still give well-formed files.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bpdiagram import richtext

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    r"""``text`` without the characters XML 1.0 forbids (tab and newline are allowed).

    >>> clean("a\x00b\x1fc\td\ne")
    'abc\td\ne'
    """
    return _INVALID.sub("", text)


def document(root: ET.Element, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    """``root`` as an indented UTF-8 file: ``declaration``, the element, a final newline.

    The text is made by ElementTree and encoded once: its own UTF-8 output
    encodes write by write through a text wrapper (for a 256-layer
    diagram's SVG, half a million writes and a third of a second), for the
    same bytes.
    """
    ET.indent(root, space=" ")
    return (declaration + "\n" + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros: stable, compact output.

    >>> num(12.0), num(3.14159), num(0.005), num(-0.001), num(-2.50)
    ('12', '3.14', '0.01', '0', '-2.5')
    """
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def markup_lines(markup: str, *, sup: str, sub: str) -> list[str]:
    """Each line of a richtext label as HTML-like text: escaped runs, scripts in ``<sup>``/``<sub>`` tags.

    The tag names are the format's (yEd's Swing HTML takes ``sup``, graphviz's
    HTML-like labels ``SUP``); the caller joins the lines with its own break.
    """
    lines = []
    for line in richtext.parse(markup):
        parts = []
        for run in line:
            text = clean(run.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            tag = {"sup": sup, "sub": sub}.get(run.script)
            parts.append(f"<{tag}>{text}</{tag}>" if tag else text)
        lines.append("".join(parts))
    return lines
