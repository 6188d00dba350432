"""The HTML page's code panel (``render --code``) in a real browser: Debian's chromium through selenium.

Hovering a node highlights the statements that implement it; hovering a
statement highlights its node and dims the rest. Started as
``tests/test_browser.py`` starts the browser: system binaries, headless, fresh profile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpdiagram.diagram import Diagram
from tests.chromium import chromium
from tests.test_browser import highlighted, hover, opacity, open_page

pytestmark = [pytest.mark.browser, pytest.mark.graphviz]


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with chromium(["--window-size=1800,1000"]) as (browser, _):
        yield browser


def lines_of(driver: Any, node: str) -> list[str]:
    """The text of the code lines linked to ``node`` (by its SVG id)."""
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll('.bp-line[data-nodes]'))"
        ".filter(l => l.getAttribute('data-nodes').split(' ').includes(arguments[0]))"
        ".map(l => l.textContent)", node))


def lit_lines(driver: Any) -> list[str]:
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll('.bp-line.highlight'), l => l.textContent.trim())"))


def line_element(driver: Any, text: str, *, linked: bool = True) -> Any:
    from selenium.webdriver.common.by import By

    selector = ".bp-line[data-nodes]" if linked else ".bp-line:not([data-nodes])"
    return next(e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.text.strip() == text)


@pytest.mark.parametrize("name", ["two-layer-binary", "expression-add-mul"])
def test_node_and_statement_highlight_each_other(driver: Any, tmp_path: Path, name: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    diagram = Diagram.template(name, code=True)
    open_page(driver, tmp_path / f"{name}.html", diagram.render("html"))
    node, statement, comment = {
        "two-layer-binary": ("dZ1", 'dZ1 = tanh_backward(dA1, cache["A1"])', "# dZ[1] = dA[1] ⊙ (1 − A[1]²)"),
        "expression-add-mul": ("d.g1", "dx, dy = add_backward(dq)", "# dx = dq; dy = dq"),
    }[name]
    assert [text.strip() for text in lines_of(driver, f"node-{node}")] == [comment, statement]
    # node → statement
    hover(driver, f"node-{node}")
    assert lit_lines(driver) == [comment, statement]
    # statement → node: only its node stays bright, the rest of the diagram dims
    element = line_element(driver, statement)
    ActionChains(driver).move_to_element(element).perform()
    assert highlighted(driver) >= {f"node-{node}"}
    assert {i for i in highlighted(driver) if i.startswith("node-")} == {f"node-{node}"}
    assert lit_lines(driver) == [comment, statement]
    assert opacity(driver, f"node-{node}") == 1.0
    other = "node-W1" if name == "two-layer-binary" else "node-g1"
    assert opacity(driver, other) < 0.5
    unlinked = line_element(driver, "return J, cache" if name == "two-layer-binary" else "return f, cache",
                            linked=False)
    ActionChains(driver).move_to_element(unlinked).perform()  # a line that implements no node: all clear
    assert highlighted(driver) == set() and lit_lines(driver) == []
    ActionChains(driver).move_to_element(element).perform()
    assert lit_lines(driver) == [comment, statement]
    hover(driver, "title")
    assert highlighted(driver) == set() and lit_lines(driver) == []
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []  # the CSP lets the panel's own script and style run, and nothing else


def test_without_code_the_page_has_no_panel(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = Diagram.template("two-layer-binary").render("html")
    assert b"bp-code" not in page
    open_page(driver, tmp_path / "plain.html", page)
    assert driver.find_elements(By.CSS_SELECTOR, ".bp-code") == []
