"""Screenshot the interactive HTML with a node hovered, for the README: ``make docs``.

Uses Debian's chromium and chromedriver (``make browser`` installs them) through
selenium from the test extra, exactly as tests/test_browser.py does.

    python tools/html_screenshot.py TEMPLATE NODE_ID OUT.png [--code]

With ``--code`` the page has the code panel (``render --code``) and the window is wider.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpdiagram import template

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1500,800",
         "--hide-scrollbars")


def main(name: str, node: str, out: str, *flags: str) -> None:
    code = "--code" in flags
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / f"{name}.html"
        template(name, code=code).save(page)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        size = ("--window-size=1800,1000",) if code else ()
        for flag in (*FLAGS, *size, f"--user-data-dir={tmp}/profile"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(page.as_uri())
            ActionChains(driver).move_to_element(driver.find_element(By.ID, f"node-{node}")).perform()
            Path(out).write_bytes(driver.find_element(By.CSS_SELECTOR, ".bpdiagram").screenshot_as_png)
        finally:
            driver.quit()
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
