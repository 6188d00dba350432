"""Screenshot a template's .drawio file as draw.io's engine (npm mxgraph) draws it, for the README: ``make docs``.

Loads the file with the page the tests use (tests/mxgraph_page.py) in Debian's
chromium through selenium; ``make mxgraph`` installs the npm package.

    python tools/drawio_screenshot.py TEMPLATE OUT.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpdiagram import template
from tests.conftest import MXGRAPH
from tests.mxgraph_page import read, write_page

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1800,1000",
         "--hide-scrollbars")


def main(name: str, out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (*FLAGS, f"--user-data-dir={tmp}/profile"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(write_page(Path(tmp), MXGRAPH).as_uri())
            read(driver, template(name).render("drawio"))
            Path(out).write_bytes(driver.find_element(By.ID, "graph").screenshot_as_png)
        finally:
            driver.quit()
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
