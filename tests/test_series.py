"""Authoring a series (INTERFACE §8): series, --name, partial views that keep their places, small fixes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.layout import layout_graph
from bpdiagram.layout.quality import measure

SVG = "{http://www.w3.org/2000/svg}"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def node_boxes(svg: bytes) -> dict[str, tuple[str, ...]]:
    """Each node group's id → the geometry of its shape (rect or ellipse)."""
    boxes = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            shape = next(el for el in g if el.tag in (f"{SVG}rect", f"{SVG}ellipse"))
            boxes[g.get("id", "")] = tuple(f"{k}={shape.get(k)}" for k in ("x", "y", "width", "height", "cx", "cy")
                                           if shape.get(k) is not None)
    return boxes


@pytest.mark.graphviz
def test_series_writes_one_set_per_value_and_one_stepping_page(tmp_path: Path) -> None:
    code, out, err = run("render", "-t", "three-layer-logistic", "--backprop-to", "3,2,1", "-o", str(tmp_path),
                         "-f", "svg,html")
    assert code == 0, err
    names = [f"three-layer-logistic-to-{k}.svg" for k in (3, 2, 1)] + ["three-layer-logistic.html"]
    assert out.splitlines() == [str(tmp_path / n) for n in names]
    base = Diagram.template("three-layer-logistic")
    for k in (3, 2, 1):
        assert (tmp_path / f"three-layer-logistic-to-{k}.svg").read_bytes() == \
            base.with_options(backprop_to=k).render("svg")
    page = (tmp_path / "three-layer-logistic.html").read_text(encoding="utf-8")
    assert page.count('<section class="bp-frame"') == 3
    assert page.index('id="to-3"') < page.index('id="to-2"') < page.index('id="to-1"')
    # 'all' is the same series (from the last layer down) and its files are up to date
    code, out, err = run("render", "-t", "three-layer-logistic", "--backprop-to", "all", "-o", str(tmp_path),
                         "-f", "svg,html")
    assert code == 0 and out == "" and err.count("up to date: ") == 4
    # one value keeps today's naming
    code, out, _ = run("render", "-t", "three-layer-logistic", "--backprop-to", "2", "-o", str(tmp_path), "-f", "svg")
    assert out.splitlines() == [str(tmp_path / "three-layer-logistic.svg")]


@pytest.mark.graphviz
def test_series_with_other_formats_and_steps(tmp_path: Path) -> None:
    code, out, err = run("render", "-t", "two-layer-binary", "--backprop-to", "all", "-o", str(tmp_path),
                         "-f", "png,graphml", "--steps")
    assert code == 0, err
    assert len(out.splitlines()) == 2 * 2 * 4  # two values × two formats × four slides
    assert (tmp_path / "two-layer-binary-to-1-3.png").exists()
    assert (tmp_path / "two-layer-binary-to-2-4.graphml").exists()


@pytest.mark.parametrize(("value", "message"), [
    ("5", "template three-layer-logistic: --backprop-to: must be a layer number from 1 to 3 (got 5)"),
    ("3,x", "--backprop-to: expected a layer number, a list such as 3,2,1, or 'all'"),
    ("2,2", "--backprop-to: a layer is given twice"),
])
def test_bad_series_values(tmp_path: Path, value: str, message: str) -> None:
    code, out, err = run("render", "-t", "three-layer-logistic", "--backprop-to", value, "-o", str(tmp_path))
    assert code == 2 and out == "" and message in err and err.startswith("error: ")
    assert not any(tmp_path.iterdir())


def test_series_of_an_expression_is_refused(tmp_path: Path) -> None:
    code, _, err = run("render", "-t", "expression-add-mul", "--backprop-to", "all", "-o", str(tmp_path))
    assert code == 2 and "applies to networks" in err


@pytest.mark.graphviz
def test_name_names_the_files(tmp_path: Path) -> None:
    code, out, _ = run("render", "-t", "relu-mlp", "--name", "week-3", "-o", str(tmp_path), "-f", "svg")
    assert code == 0 and out.splitlines() == [str(tmp_path / "week-3.svg")]
    code, out, _ = run("render", "-t", "three-layer-logistic", "--name", "fig", "--backprop-to", "2,1",
                       "-o", str(tmp_path), "-f", "svg")
    assert out.splitlines() == [str(tmp_path / "fig-to-2.svg"), str(tmp_path / "fig-to-1.svg")]
    code, out, err = run("render", "-t", "relu-mlp", "-t", "two-layer-binary", "--name", "x", "-o", str(tmp_path))
    assert code == 2 and out == "" and "--name names the files of one diagram" in err
    code, _, err = run("render", "-t", "relu-mlp", "--name", "../x", "-o", str(tmp_path))
    assert code == 2 and "is not a file name stem" in err


@pytest.mark.graphviz
@pytest.mark.parametrize("template", ["three-layer-logistic", "relu-mlp", "expression-sigmoid-neuron",
                                      "three-layer-elementwise"])
@pytest.mark.parametrize("show", ["backward", "backward,cache", "cache,backward,update"])
def test_show_without_forward_keeps_every_node_in_place(template: str, show: str) -> None:
    full = Diagram.template(template)
    part = full.with_options(show=show)
    whole, partial = node_boxes(full.render("svg")), node_boxes(part.render("svg"))
    assert partial and set(partial) <= set(whole)
    assert {n: whole[n] for n in partial} == partial
    assert {e.kind for e in part.scene.edges} <= set(show.split(","))
    quality = part.stats()
    assert quality.problems == 0, quality
    legend = {e.kind for e in part.scene.legend}
    assert legend == {e.kind for e in part.scene.edges}
    assert min(e.start[0] for e in part.scene.legend) == min(e.start[0] for e in full.scene.legend)


@pytest.mark.graphviz
def test_stats_checks_the_order_of_layers_along_each_band() -> None:
    """The layout that scrambled ``--show backward`` (graphviz on a graph without forward edges) is caught."""
    d = Diagram.template("three-layer-logistic").with_options(show="backward,cache")
    scrambled = measure(layout_graph(d.model)).grammar_violations
    assert "forward band: layer 3 (Z3) stands left of layer 2 (Z2)" in scrambled
    assert "forward band: layer 1 (W1) stands left of layer 0 (input)" in scrambled
    assert d.stats().grammar_violations == ()
    code, out, _ = run("stats", "-t", "three-layer-logistic", "--show", "backward,cache", "--json")
    assert code == 0 and json.loads(out)["grammar_violations"] == 0


@pytest.mark.graphviz
def test_stats_measures_each_template_given() -> None:
    code, out, _ = run("stats", "-t", "relu-mlp", "-t", "two-layer-binary", "--json")
    assert code == 0
    reports = json.loads(out)
    assert [r["name"] for r in reports] == ["relu-mlp", "two-layer-binary"]
    assert reports[0]["nodes"] != reports[1]["nodes"]
    code, out, _ = run("stats", "-t", "relu-mlp", "-t", "two-layer-binary")
    assert [line for line in out.splitlines() if line and not line.startswith(" ")] == ["relu-mlp",
                                                                                          "two-layer-binary"]
    code, out, _ = run("stats", "-t", "relu-mlp", "--json")
    assert json.loads(out)["name"] == "relu-mlp"  # one diagram: one object, as before


@pytest.mark.graphviz
def test_format_names_are_case_insensitive(tmp_path: Path) -> None:
    code, out, err = run("render", "-t", "relu-mlp", "-f", "SVG,Png", "-o", str(tmp_path))
    assert code == 0, err
    assert out.splitlines() == [str(tmp_path / "relu-mlp.svg"), str(tmp_path / "relu-mlp.png")]


def test_template_errors_name_the_template(tmp_path: Path) -> None:
    code, _, err = run("render", "-t", "relu-mlp", "--backprop-to", "7", "-o", str(tmp_path))
    assert code == 2 and err.startswith("error: template relu-mlp: --backprop-to: ")
    assert "/templates/" not in err and ".yaml" not in err
    from bpdiagram.errors import SpecError
    from bpdiagram.spec import spec_from_text

    with pytest.raises(SpecError) as caught:
        spec_from_text("input: 2\nlayers:\n  - {size: 1, activation: sigmoid}\nloss: bce\ndiagram: {view: x}\n",
                       file="template three-layer-logistic")
    assert str(caught.value).startswith("template three-layer-logistic: line 5: diagram.view: ")


@pytest.mark.graphviz
def test_shapes_on_the_previous_gradient_line() -> None:
    d = Diagram.template("two-layer-binary", shapes=True)
    label = d.graph.nodes["dW2"]["plain"].split(" / ")
    assert label[-2].startswith("dA[1] = ") and label[-1] == "(4, m)"
    assert Diagram.template("two-layer-binary").graph.nodes["dW2"]["plain"].split(" / ")[-1].startswith("dA[1] = ")
    assert d.stats().problems == 0


def test_check_report_to_json_is_json_text() -> None:
    from bpdiagram.diagram import load_template
    from bpdiagram.model.gradcheck import check_gradients

    report = check_gradients(load_template("two-layer-binary"))  # type: ignore[arg-type]
    text = report.to_json()
    assert isinstance(text, str) and json.loads(text) == json.loads(json.dumps(report.to_dict()))
    assert json.loads(text)["ok"] is True


# -- the series page in a real browser ------------------------------------------------------------------------


def shown_frame(driver: Any) -> list[str]:
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll('section.bp-frame'))"
        ".filter(s => !s.hidden && s.offsetParent !== null).map(s => s.id)"))


@pytest.mark.browser
@pytest.mark.graphviz
def test_series_page_steps_with_buttons_and_arrow_keys(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    code, _, err = run("render", "-t", "three-layer-logistic", "--backprop-to", "all", "-o", str(tmp_path),
                       "-f", "html")
    assert code == 0, err
    driver.get((tmp_path / "three-layer-logistic.html").as_uri())
    driver.get_log("browser")
    label = driver.find_element(By.CSS_SELECTOR, ".bp-series-label")
    assert shown_frame(driver) == ["to-3"] and label.text == "backprop to layer 3 (1 of 3)"
    assert not driver.find_element(By.CSS_SELECTOR, "button.bp-prev").is_enabled()
    ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
    assert shown_frame(driver) == ["to-2"] and label.text == "backprop to layer 2 (2 of 3)"
    assert driver.execute_script("return location.hash") == "#to-2"
    # a toggle made in one frame holds in the next
    frame = driver.find_element(By.ID, "to-2")
    frame.find_element(By.CSS_SELECTOR, "input.bp-kind[value='cache']").find_element(By.XPATH, "..").click()
    driver.find_element(By.CSS_SELECTOR, "button.bp-next").click()
    assert shown_frame(driver) == ["to-1"] and not driver.find_element(By.CSS_SELECTOR, "button.bp-next").is_enabled()
    last = driver.find_element(By.ID, "to-1")
    assert not last.find_element(By.CSS_SELECTOR, "input.bp-kind[value='cache']").is_selected()
    assert not any(e.is_displayed() for e in last.find_elements(By.CSS_SELECTOR, "g.edge.kind-cache"))
    assert any(e.is_displayed() for e in last.find_elements(By.CSS_SELECTOR, "g.edge.kind-backward"))
    assert last.find_elements(By.ID, "node-dW1") and not driver.find_element(By.ID, "to-3").find_elements(
        By.ID, "node-dW1")
    ActionChains(driver).send_keys(Keys.ARROW_LEFT).send_keys(Keys.ARROW_LEFT).perform()
    assert shown_frame(driver) == ["to-3"]
    driver.get((tmp_path / "three-layer-logistic.html").as_uri() + "#to-1")
    assert shown_frame(driver) == ["to-1"]  # the frame is in the URL: a link or a reload opens the same one
    # the page loads nothing and logs no error
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
