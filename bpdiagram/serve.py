"""``watch --serve``: the diagrams' interactive pages on 127.0.0.1, reloading themselves after each build.

The server holds the latest page of every diagram in memory (the ``html``
writer's page, or the series page) and serves nothing from the disk. Each
page gets a small script that asks ``/_bp/version`` four times a second
whether a newer build exists and then reloads, keeping the reader's edge
kind toggles and scroll position (in ``sessionStorage``) and, for a series,
the frame shown (in the URL's fragment). A build that failed replaces the
picture with its one ``error:`` line, so a stale diagram is never taken for
the current one. Only the loopback interface is bound, and a request whose
``Host`` header names anything but 127.0.0.1 or localhost (with the server's
port) gets 403: otherwise a page on another site could read the diagrams by
pointing its own host name at 127.0.0.1 (DNS rebinding), as Jupyter's
server refuses unknown hosts for the same reason.
"""

from __future__ import annotations

import html
import json
import re
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

from bpdiagram.errors import BpdiagramError, one_line
from bpdiagram.writers.html import _csp_hash

HOST = "127.0.0.1"
POLL_MS = 250

LIVE_SCRIPT = """
(function () {
  "use strict";
  var info = JSON.parse(document.getElementById("bp-live").textContent);
  var key = "bp-live:" + location.pathname;
  function boxes(root) { return Array.prototype.slice.call(root.querySelectorAll("input.bp-kind")); }
  var saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { saved = null; }
  if (saved) {
    sessionStorage.removeItem(key);
    document.querySelectorAll(".bpdiagram").forEach(function (root, i) {
      var hidden = saved.hidden[i] || [];
      boxes(root).forEach(function (box) {
        var want = hidden.indexOf(box.value) < 0;
        if (box.checked !== want) { box.checked = want; box.dispatchEvent(new Event("change")); }
      });
    });
    window.scrollTo(saved.x, saved.y);
  }
  function save() {
    var hidden = [];
    document.querySelectorAll(".bpdiagram").forEach(function (root) {
      hidden.push(boxes(root).filter(function (b) { return !b.checked; }).map(function (b) { return b.value; }));
    });
    sessionStorage.setItem(key, JSON.stringify({hidden: hidden, x: window.scrollX, y: window.scrollY}));
  }
  function poll() {
    fetch("/_bp/version?page=" + encodeURIComponent(info.page), {cache: "no-store"})
      .then(function (r) { return r.text(); })
      .then(function (text) {
        if (Number(text) !== info.version) { save(); location.reload(); } else { setTimeout(poll, @POLL@); }
      }, function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, @POLL@);
})();
""".lstrip().replace("@POLL@", str(POLL_MS))

SITE_CSS = """
body{margin:1.5em;font:15px/1.5 sans-serif;color:#1A1A1A}
.bp-error{font:14px/1.4 monospace;color:#8B0000;background:#FFF0F0;border:1px solid #E0B0B0;padding:.6em .8em;
white-space:pre-wrap}
""".lstrip()

SITE_CSP = (f"default-src 'none'; script-src {_csp_hash(LIVE_SCRIPT)}; style-src {_csp_hash(SITE_CSS)}; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'")
_CSP_META = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(">)')


@dataclass(frozen=True)
class Page:
    """The latest build of one diagram: its page, or the error that stopped it."""

    version: int
    body: bytes | None
    error: str | None


def live(page: bytes, name: str, version: int) -> bytes:
    """A writer's page with the live-reload script added (and allowed by its Content-Security-Policy)."""
    text = page.decode("utf-8")

    def allow(match: re.Match[str]) -> str:
        policy = match.group(2).replace("script-src ", f"script-src {_csp_hash(LIVE_SCRIPT)} ", 1)
        return f"{match.group(1)}{policy}; connect-src 'self'{match.group(3)}"

    text, found = _CSP_META.subn(allow, text, count=1)
    if not found:
        raise BpdiagramError("the HTML page has no Content-Security-Policy to extend")
    head, sep, tail = text.rpartition("</body>")
    return (head + _live_tags(name, version) + sep + tail).encode("utf-8")


def _live_tags(name: str, version: int) -> str:
    data = json.dumps({"page": name, "version": version}).replace("<", "\\u003c")
    return f'<script type="application/json" id="bp-live">{data}</script>\n<script>{LIVE_SCRIPT}</script>\n'


def _site_page(title: str, body: str, name: str, version: int) -> bytes:
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{SITE_CSP}">\n'
            f"<title>{html.escape(title)}</title>\n<style>{SITE_CSS}</style>\n</head>\n<body>\n{body}"
            f"{_live_tags(name, version)}</body>\n</html>\n").encode()


class Site:
    """The pages being served, updated by the watcher's thread and read by the server's."""

    def __init__(self, names: list[str]) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._pages: dict[str, Page] = {n: Page(0, None, None) for n in names}

    def publish(self, name: str, page: bytes) -> None:
        """``name``'s new page."""
        with self._lock:
            self._version += 1
            self._pages[name] = Page(self._version, page, None)

    def publish_error(self, name: str, message: str) -> None:
        """``name`` failed to build: its page shows ``message`` until a build succeeds."""
        with self._lock:
            self._version += 1
            self._pages[name] = Page(self._version, None, one_line(message))

    def version(self, name: str) -> int | None:
        """The build number of page ``name`` ("" for the index, which changes with any page)."""
        with self._lock:
            if name == "":
                return self._version
            page = self._pages.get(name)
            return None if page is None else page.version

    def page(self, name: str) -> bytes | None:
        """Page ``name`` as served, or None when there is no such diagram."""
        with self._lock:
            page = self._pages.get(name)
        if page is None:
            return None
        if page.body is not None:
            return live(page.body, name, page.version)
        message = page.error if page.error is not None else "not built yet"
        return _site_page(f"error: {name}", f'<h1>{html.escape(name)}</h1>\n<p class="bp-error" role="alert">'
                          f"error: {html.escape(message)}</p>\n", name, page.version)

    def index(self) -> bytes:
        """The list of diagrams, each linked to its page, a failing one with its error line."""
        with self._lock:
            pages = sorted(self._pages.items())
            version = self._version
        items = []
        for name, page in pages:
            link = f'<a href="/{quote(name)}.html">{html.escape(name)}</a>'
            if page.error is not None:
                link += f' <span class="bp-error">error: {html.escape(page.error)}</span>'
            items.append(f"<li>{link}</li>")
        body = "<h1>bpdiagram: live preview</h1>\n<ul>\n" + "\n".join(items) + "\n</ul>\n"
        return _site_page("bpdiagram: live preview", body, "", version)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A reader that went away mid-answer (a page reloading during a poll) is normal: say nothing.

        Anything else is one ``error:`` line, never a traceback in the terminal.
        """
        kind, exc = sys.exc_info()[:2]
        if kind is not None and issubclass(kind, ConnectionError):
            return
        print(f"error: serving a request: {one_line(str(exc))}", file=sys.stderr, flush=True)


def host_allowed(host: str | None, port: int) -> bool:
    """Whether a request's ``Host`` header names this server: 127.0.0.1 or localhost, with its port or none."""
    if not host:
        return False
    name, _, given = host.strip().lower().rpartition(":")
    if not name or "]" in given:  # no port given (or a bare IPv6 literal): the whole header is the name
        name, given = host.strip().lower(), ""
    return name in (HOST, "localhost") and given in ("", str(port))


def serve(site: Site, port: int) -> ThreadingHTTPServer:
    """Serve ``site`` on 127.0.0.1:``port`` (0: any free port) from a background thread; the running server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not host_allowed(self.headers.get("Host"), cast(_Server, self.server).server_port):
                self._send(403, "text/plain", b"forbidden: this preview answers only to 127.0.0.1 and localhost\n")
                return
            url = urlsplit(self.path)
            path = unquote(url.path)
            if path == "/_bp/version":
                name = parse_qs(url.query).get("page", [""])[0]
                version = site.version(name)
                self._send(404 if version is None else 200, "text/plain", str(version).encode())
            elif path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", site.index())
            elif path.endswith(".html") and (page := site.page(path[1:-5])) is not None:
                self._send(200, "text/html; charset=utf-8", page)
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, status: int, kind: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the terminal shows one line per build, not one per request."""

    try:
        server = _Server((HOST, port), Handler)
    except OSError as exc:
        raise BpdiagramError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}; choose another port "
                             "with --port N") from None
    threading.Thread(target=server.serve_forever, name="bpdiagram-serve", daemon=True).start()
    return server
