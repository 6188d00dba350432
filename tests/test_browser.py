"""The HTML page in a real browser: Debian's chromium, driven through its chromedriver by selenium.

The browser is started with the system's binaries only (never one downloaded
by a tool), headless, without network services, with a fresh profile. Pages
are loaded from file:// URLs, as a course author opening the file would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.writers.html import IDLE_STATUS, fragment

pytestmark = [pytest.mark.browser, pytest.mark.graphviz]


def open_page(driver: Any, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    driver.get(path.as_uri())
    driver.get_log("browser")  # start each page with an empty console log


def classes(driver: Any, element_id: str) -> set[str]:
    from selenium.webdriver.common.by import By

    return set((driver.find_element(By.ID, element_id).get_attribute("class") or "").split())


def highlighted(driver: Any) -> set[str]:
    return set(driver.execute_script("return Array.from(document.querySelectorAll('.highlight'), e => e.id)"))


def opacity(driver: Any, element_id: str) -> float:
    return float(driver.execute_script(
        "return getComputedStyle(document.getElementById(arguments[0])).opacity", element_id))


def hover(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    ActionChains(driver).move_to_element(driver.find_element(By.ID, element_id)).perform()


def edge_id(d: Diagram, kind: str, source: str, target: str) -> str:
    return next(f"edge-{e.id}" for e in d.scene.edges if (e.kind, e.source, e.target) == (kind, source, target))


@pytest.fixture(scope="module")
def diagram() -> Diagram:
    return Diagram.template("two-layer-binary")


@pytest.fixture
def page(driver: Any, diagram: Diagram, tmp_path: Path) -> Any:
    open_page(driver, tmp_path / "two-layer-binary.html", diagram.render("html"))
    return driver


def test_hovering_a_forward_op_highlights_its_partner_and_dims_the_rest(page: Any, diagram: Diagram) -> None:
    from selenium.webdriver.common.by import By

    assert highlighted(page) == set()
    hover(page, "node-A1")
    lit = highlighted(page)
    assert {"node-A1", "node-dZ1", "node-cache.A1", edge_id(diagram, "derivative", "A1", "dZ1"),
            edge_id(diagram, "backward", "dW2", "dZ1")} <= lit
    assert "node-W1" not in lit
    assert opacity(page, "node-W1") < 0.5 and opacity(page, "node-dZ1") == 1.0
    assert page.find_element(By.CSS_SELECTOR, ".bp-status").text.startswith("A[1] = tanh(Z[1]): derivative link")
    hover(page, "node-dW1")  # moving to another node moves the highlight
    assert "node-Z1" in highlighted(page) and "node-A1" not in highlighted(page)
    hover(page, "node-W1")
    hover(page, "title")  # off every node: all clear
    assert highlighted(page) == set() and opacity(page, "node-W1") == 1.0
    assert page.find_element(By.CSS_SELECTOR, ".bp-status").text == IDLE_STATUS


def test_toggling_a_kind_hides_its_edges(page: Any, diagram: Diagram) -> None:
    from selenium.webdriver.common.by import By

    cache = page.find_elements(By.CSS_SELECTOR, "g.edge.kind-cache")
    backward = page.find_elements(By.CSS_SELECTOR, "g.edge.kind-backward")
    assert cache and backward and all(e.is_displayed() for e in cache + backward)
    box = page.find_element(By.CSS_SELECTOR, "input.bp-kind[value='cache']")
    label = box.find_element(By.XPATH, "..")
    assert label.tag_name == "label" and label.text.strip() == "cache"
    label.click()  # the label toggles its checkbox
    assert not box.is_selected()
    assert not any(e.is_displayed() for e in cache)
    assert all(e.is_displayed() for e in backward)
    box.click()
    assert all(e.is_displayed() for e in cache)


def test_keyboard_focus_enter_and_escape(page: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def active() -> str:
        return str(page.execute_script(
            "var e = document.activeElement; return (e.id || e.value || e.tagName) + '|' + e.getAttribute('class')"))

    seen = []  # from a freshly loaded page, Tab starts at the top
    for _ in range(12):  # the five kind checkboxes come first, then the nodes in reading order
        ActionChains(page).send_keys(Keys.TAB).perform()
        seen.append(active())
        if seen[-1].startswith("node-"):
            break
    assert [s.split("|")[0] for s in seen[:5]] == ["forward", "cache", "backward", "update", "derivative"]
    assert seen[-1].startswith("node-input|")
    assert "node-input" in highlighted(page) and "node-cache.input" in highlighted(page)
    ActionChains(page).send_keys(Keys.TAB).perform()
    assert active().startswith("node-Z1|")
    assert "node-dW1" in highlighted(page) and "node-A2" not in highlighted(page)
    ActionChains(page).send_keys(Keys.ESCAPE).perform()
    assert highlighted(page) == set()
    ActionChains(page).send_keys(Keys.ENTER).perform()
    assert "node-dW1" in highlighted(page)
    ActionChains(page).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert active().startswith("node-input|") and "node-dW1" not in highlighted(page)
    # a checkbox toggles from the keyboard too
    for _ in range(6):
        ActionChains(page).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        if active().startswith("derivative|"):
            break
    ActionChains(page).send_keys(Keys.SPACE).perform()
    assert not page.find_element("css selector", "g.edge.kind-derivative").is_displayed()


def test_page_loads_nothing_and_logs_no_error(page: Any) -> None:
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert page.execute_script("return document.querySelector('.bpdiagram').hasAttribute('data-bp-ready')")
    assert [e for e in page.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []


def test_hostile_title_runs_no_script(driver: Any, tmp_path: Path) -> None:
    title = "</script><script>window.pwned=1</script> ]]> <img src=x onerror=window.pwned=2> & <!--"
    d = Diagram.load({"title": title, "input": {"name": "<script>window.pwned=3</script>", "size": 2},
                      "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce"})
    open_page(driver, tmp_path / "hostile.html", d.render("html"))
    assert driver.execute_script("return window.pwned === undefined")
    assert driver.title == title
    assert driver.execute_script("return document.querySelectorAll('script').length") == 2
    hover(driver, "node-Z1")
    assert "node-dW1" in highlighted(driver)
    status = driver.find_element("css selector", ".bp-status").text
    assert "<script>window.pwned=3</script>" in status


def test_two_diagrams_on_one_page_stay_apart(driver: Any, tmp_path: Path) -> None:
    """As in a notebook showing several diagrams: each fragment's script works on its own diagram only."""
    a = Diagram.template("two-layer-binary")
    b = Diagram.template("relu-mlp")
    page = f"<!DOCTYPE html><html><body>{fragment(a.scene)}{fragment(b.scene)}</body></html>"
    open_page(driver, tmp_path / "two.html", page.encode())
    roots = driver.find_elements("css selector", ".bpdiagram[data-bp-ready]")
    assert len(roots) == 2
    from selenium.webdriver.common.action_chains import ActionChains

    second_a1 = roots[1].find_element("css selector", "g.node[id='node-A1']")
    ActionChains(driver).move_to_element(second_a1).perform()
    assert roots[0].find_elements("css selector", ".highlight") == []
    assert "highlight" in (roots[1].find_element("css selector", "g.node[id='node-dZ1']").get_attribute("class")
                           or "")
    roots[0].find_element("css selector", "input.bp-kind[value='forward']").click()
    assert not roots[0].find_element("css selector", "g.edge.kind-forward").is_displayed()
    assert roots[1].find_element("css selector", "g.edge.kind-forward").is_displayed()


def test_hovering_a_gradient_flow_bar_shows_its_exact_norm(driver: Any, tmp_path: Path) -> None:
    d = Diagram.template("three-layer-logistic", gradient_flow=True)
    open_page(driver, tmp_path / "flow.html", d.render("html"))
    from selenium.webdriver.common.action_chains import ActionChains

    assert d.scene.flow is not None
    norms = {bar.layer: bar.value for bar in d.scene.flow.bars}
    bar = driver.find_element("css selector", "g.flow-bar[data-layer='2'] rect")
    ActionChains(driver).move_to_element(bar).perform()
    status = driver.find_element("css selector", ".bp-status").text
    assert status == f"‖dW[2]‖ = {norms[2]!r}"
    ActionChains(driver).move_by_offset(0, -400).perform()  # away from the strip: the idle text again
    assert driver.find_element("css selector", ".bp-status").text == IDLE_STATUS
    assert [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
