"""``bpdiagram watch`` and ``watch --serve`` end to end: a real process, real file changes, a real browser.

Each test starts ``python -m bpdiagram watch`` in a subprocess, edits the spec
file on disk as an editor would, and reads the process's lines (and, with
``--serve``, drives Debian's chromium on the served page). Every wait is
bounded by a timeout, and the process is always ended (Ctrl-C, then kill).
The timeouts are generous because the test machine may be busy; how fast a
rebuild is, is measured in benchmarks/run.py, not here.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bpdiagram.diagram import Diagram
from tests.conftest import ROOT

pytestmark = pytest.mark.graphviz
START = 60.0
"""Seconds for the first build (a cold start on a loaded machine)."""
REBUILD = 20.0
"""Seconds for a rebuild to be reported after a save."""

SPEC = """title: Watched network
input: {name: X, size: 2}
layers:
  - {size: 3, activation: tanh}
  - {size: 1, activation: sigmoid}
loss: bce
"""


class Watch:
    """A running ``bpdiagram watch`` whose stdout and stderr lines arrive in queues."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "bpdiagram", "watch", *args], cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.seen_err: list[str] = []
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _pump(stream: Any, lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    def next_line(self, lines: queue.Queue[str], timeout: float) -> str:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s; stderr so far: {self.seen_err}") from None
        if lines is self.err:
            self.seen_err.append(line)
        return line

    def stdout_line(self, timeout: float = REBUILD) -> str:
        return self.next_line(self.out, timeout)

    def stderr_line(self, timeout: float = REBUILD) -> str:
        return self.next_line(self.err, timeout)

    def stderr_until(self, prefix: str, timeout: float = START) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.stderr_line(max(deadline - time.monotonic(), 0.01))
            if line.startswith(prefix):
                return line

    def stop(self) -> int:
        """Ctrl-C, as a user would; the exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def save(path: Path, text: str) -> None:
    """Save as an editor does; the watcher must already be watching, so give it a moment first."""
    path.write_text(text, encoding="utf-8")


def settle() -> None:
    """After 'watching …' is printed the watcher starts its file watch; a moment later it surely runs."""
    time.sleep(1.0)


def test_watch_rebuilds_on_save_reports_errors_and_stops_on_ctrl_c(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    watch = Watch(str(spec), "-o", str(out), "-f", "svg,png", cwd=tmp_path)
    try:
        assert watch.stdout_line(START) == f"rendered: {out / 'net.svg'} {out / 'net.png'}"
        assert watch.stderr_until("watching") == "watching 1 spec (Ctrl-C stops)"
        settle()
        save(spec, SPEC.replace("activation: tanh", "activation: relu"))
        assert watch.stdout_line().startswith("rendered: ")
        assert (out / "net.svg").read_bytes() == Diagram.load(spec).render("svg")
        assert b"max(0, Z" in (out / "net.svg").read_bytes()
        save(spec, SPEC.replace("activation: tanh", "activation: tahn"))
        error = watch.stderr_line()
        assert error.startswith(f"error: {spec}:4: layers[1].activation: 'tahn' is not valid")
        assert watch.proc.poll() is None  # still watching
        save(spec, SPEC)
        assert watch.stdout_line().startswith("rendered: ")
        assert (out / "net.svg").read_bytes() == Diagram.load(spec).render("svg")
        assert watch.out.empty()  # one line per build
        assert watch.stop() == 0
        rest = watch.proc.stderr.read() if watch.proc.stderr else ""
        assert "Traceback" not in rest and "KeyboardInterrupt" not in rest
    finally:
        watch.close()


def test_watch_sees_an_editor_that_saves_by_renaming(spec: Path, tmp_path: Path) -> None:
    """vim, many IDEs: write a new file beside the spec, then rename it over the spec."""
    out = tmp_path / "out"
    watch = Watch(str(spec), "-o", str(out), "-f", "svg", "--backprop-to", "2,1", cwd=tmp_path)
    try:
        assert watch.stdout_line(START) == f"rendered: {out / 'net-to-2.svg'} {out / 'net-to-1.svg'}"
        watch.stderr_until("watching")
        settle()
        fresh = tmp_path / ".net.yaml.swp"
        fresh.write_text(SPEC.replace("size: 3", "size: 5"), encoding="utf-8")
        os.replace(fresh, spec)
        assert watch.stdout_line() == f"rendered: {out / 'net-to-2.svg'} {out / 'net-to-1.svg'}"
        assert (out / "net-to-1.svg").read_bytes() == Diagram.load(spec).with_options(backprop_to=1).render("svg")
        assert watch.stop() == 0
    finally:
        watch.close()


def test_watch_refuses_bad_arguments_at_once(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bpdiagram", "watch", "-t", "no-such-template"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stderr.startswith("error: unknown template 'no-such-template'")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "bpdiagram", "watch", "-t", "relu-mlp", "--serve", "--port",
                               str(port), "-o", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot serve on 127.0.0.1:{port}: ") and "--port N" in done.stderr
    assert done.stdout == ""


# -- live preview in the browser --------------------------------------------------------------------------------


def wait_for(driver: Any, condition: Any, timeout: float = REBUILD) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def page_text(driver: Any) -> str:
    return str(driver.execute_script("return document.body ? document.body.innerText : ''"))


@pytest.mark.browser
def test_serve_reloads_the_open_page_keeping_toggles_and_shows_errors(driver: Any, spec: Path,
                                                                      tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    out = tmp_path / "out"
    watch = Watch(str(spec), "-o", str(out), "-f", "svg", "--serve", "--port", "0", cwd=tmp_path)
    try:
        assert watch.stdout_line(START).startswith("rendered: ")
        serving = watch.stderr_until("serving")
        match = re.fullmatch(r"serving (http://127\.0\.0\.1:(\d+)/)", serving)
        assert match, serving
        url = match.group(1)
        watch.stderr_until("watching")
        settle()
        driver.get(url)  # the index lists the diagram
        link = driver.find_element(By.LINK_TEXT, "net")
        link.click()
        assert driver.current_url == url + "net.html"
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".bpdiagram[data-bp-ready]"))
        assert "tanh(Z" in page_text(driver)
        driver.find_element(By.CSS_SELECTOR, "input.bp-kind[value='cache']").find_element(By.XPATH, "..").click()
        driver.execute_script("window.bpMarker = 1")  # gone after a reload: proves the page reloaded itself

        save(spec, SPEC.replace("activation: tanh", "activation: relu"))
        assert watch.stdout_line().startswith("rendered: ")
        wait_for(driver, lambda d: "max(0, Z" in page_text(d))
        assert driver.execute_script("return window.bpMarker === undefined")
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".bpdiagram[data-bp-ready]"))
        box = driver.find_element(By.CSS_SELECTOR, "input.bp-kind[value='cache']")
        assert not box.is_selected()  # the reader's toggle survived the reload
        assert not any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, "g.edge.kind-cache"))
        assert any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, "g.edge.kind-backward"))

        save(spec, SPEC.replace("activation: tanh", "activation: tahn"))
        assert watch.stderr_line().startswith("error: ")
        error = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".bp-error"))[0]
        assert "'tahn' is not valid" in error.text and error.text.startswith("error: ")
        assert not driver.find_elements(By.CSS_SELECTOR, "svg")  # no stale picture
        driver.get(url)
        assert "'tahn' is not valid" in page_text(driver)  # the index says which diagram fails
        driver.get(url + "net.html")

        save(spec, SPEC)
        assert watch.stdout_line().startswith("rendered: ")
        wait_for(driver, lambda d: "tanh(Z" in page_text(d) and d.find_elements(By.CSS_SELECTOR, "svg"))
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
        assert watch.stop() == 0
    finally:
        watch.close()


def test_serve_binds_the_loopback_interface_only(spec: Path, tmp_path: Path) -> None:
    watch = Watch(str(spec), "-o", str(tmp_path / "out"), "-f", "svg", "--serve", "--port", "0", cwd=tmp_path)
    try:
        port = int(watch.stderr_until("serving").rsplit(":", 1)[1].rstrip("/"))
        listening = Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
        ours = [line.split()[1] for line in listening if line.split()[1].endswith(f":{port:04X}")
                and line.split()[3] == "0A"]  # 0A: LISTEN
        assert ours == [f"0100007F:{port:04X}"]  # 127.0.0.1, not 0.0.0.0
        assert watch.stop() == 0
    finally:
        watch.close()


def test_serve_refuses_other_host_names(spec: Path, tmp_path: Path) -> None:
    """A request naming another host (a DNS-rebinding page) gets 403; 127.0.0.1 and localhost with the port work."""
    import http.client

    watch = Watch(str(spec), "-o", str(tmp_path / "out"), "-f", "svg", "--serve", "--port", "0", cwd=tmp_path)
    try:
        port = int(watch.stderr_until("serving").rsplit(":", 1)[1].rstrip("/"))

        def status(host: str | None) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.putrequest("GET", "/", skip_host=True)
            if host is not None:
                conn.putheader("Host", host)
            conn.endheaders()
            code = conn.getresponse().status
            conn.close()
            return code

        assert [status(h) for h in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", "LOCALHOST:" + str(port))] \
            == [200, 200, 200, 200]
        assert [status(h) for h in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}",
                                    f"localhost.evil.example:{port}", "", None)] == [403] * 6
        assert watch.stop() == 0
    finally:
        watch.close()
