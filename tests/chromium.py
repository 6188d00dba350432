"""Debian's chromium, started the one way every browser test starts it.

Headless, with the system's binaries only (never a browser a tool downloaded), no network
services, a fresh profile in a temporary folder, and the console log kept so tests can read it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import CHROMEDRIVER, CHROMIUM

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--window-size=1600,1000")


@contextmanager
def chromium(extra_flags: Sequence[str] = ()) -> Iterator[tuple[Any, Path]]:
    """A selenium driver of Debian's chromium and a temporary folder that lives as long as it does."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, *extra_flags):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="bpdiagram-chromium-") as folder:
        options.add_argument(f"--user-data-dir={folder}/profile")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield browser, Path(folder)
        finally:
            browser.quit()
