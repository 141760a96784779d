"""A real HTTP server on 127.0.0.1 playing misbehaving (and well-behaved) EO services.

It runs in its own threads, apart from the Jupyter server's event loop, so a handler that
blocked the loop would show up in tests as requests that stop answering.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WPS_CAPABILITIES = b"""<?xml version="1.0" encoding="UTF-8"?>
<wps:Capabilities service="WPS" version="1.0.0" xml:lang="en-US"
  xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:ServiceIdentification><ows:Title>Loopback WPS</ows:Title></ows:ServiceIdentification>
</wps:Capabilities>"""

OPENSEARCH_DESCRIPTION = b"""<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">
  <ShortName>Loopback</ShortName><LongName>Loopback OpenSearch</LongName>
</OpenSearchDescription>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ows:Capabilities xmlns:ows="http://www.opengis.net/ows/1.1"><ows:ServiceIdentification>
<ows:Title>&lol9;</ows:Title></ows:ServiceIdentification></ows:Capabilities>"""


def xxe_payload(path: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE caps [<!ENTITY secret SYSTEM "file://{path}">]>
<ows:Capabilities xmlns:ows="http://www.opengis.net/ows/1.1"><ows:ServiceIdentification>
<ows:Title>&secret;</ows:Title></ows:ServiceIdentification></ows:Capabilities>""".encode()


class Upstream:
    """Start with ``Upstream().start()``; ``url(path)`` builds loopback URLs; ``stop()``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.big_bytes_sent = 0
        self.slow_in_flight = 0
        self.slow_max_in_flight = 0
        self.xxe_path = ""
        self.stall_seconds = 10.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # see tests/servers/resto.py

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                upstream._dispatch(self)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                self.body = self.rfile.read(length) if length else b""
                upstream._dispatch(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Upstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # --- routes -----------------------------------------------------------------------

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(
                {
                    "method": h.command,
                    "path": parts.path,
                    "query": query,
                    "headers": dict(h.headers),
                }
            )
        route = parts.path.strip("/").split("/")[0] or "stac"
        getattr(self, "route_" + route.replace("-", "_"), self.route_missing)(h, query)

    @staticmethod
    def _send(h, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h, doc, status: int = 200) -> None:
        self._send(h, status, json.dumps(doc).encode(), "application/json")

    def route_missing(self, h, q):
        self._json(h, {"detail": "not found"}, 404)

    def route_stac(self, h, q):
        self._json(
            h,
            {
                "type": "Catalog",
                "id": "loopback",
                "title": "Loopback STAC",
                "links": [{"rel": "self", "href": self.url("/stac")}],
            },
        )

    def route_ogcapi(self, h, q):
        self._json(h, {"title": "Loopback OGC API", "links": []})

    def route_slow(self, h, q):
        with self._lock:
            self.slow_in_flight += 1
            self.slow_max_in_flight = max(self.slow_max_in_flight, self.slow_in_flight)
        try:
            self._stop.wait(float(q.get("s", "3")))
        finally:
            with self._lock:
                self.slow_in_flight -= 1
        self.route_stac(h, q)

    def route_wps(self, h, q):
        self._send(h, 200, WPS_CAPABILITIES, "application/xml")

    def route_opensearch(self, h, q):
        self._send(h, 200, OPENSEARCH_DESCRIPTION, "application/opensearchdescription+xml")

    def route_redirect(self, h, q):
        self._send(h, 302, b"", "text/plain", {"Location": q["to"]})

    def route_echo(self, h, q):
        self._json(h, {"title": "echo", "links": [], "headers": dict(h.headers)})

    def route_status(self, h, q):
        self._send(h, int(q.get("code", "500")), b"<html><body>Oops</body></html>", "text/html")

    def route_garbled(self, h, q):
        self._send(h, 200, b'{"title": "half', "application/json")

    def route_html(self, h, q):
        self._send(h, 200, b"<html><body><h1>Maintenance</h1></body></html>", "text/html")

    def route_xxe(self, h, q):
        self._send(h, 200, xxe_payload(self.xxe_path), "application/xml")

    def route_laughs(self, h, q):
        self._send(h, 200, BILLION_LAUGHS, "application/xml")

    def route_big(self, h, q):
        """``mb`` megabytes of JSON-ish filler, no Content-Length (so only streaming can cap it)."""
        total = int(q.get("mb", "200")) * 1_000_000
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < total and not self._stop.is_set():
                h.wfile.write(chunk)
                sent += len(chunk)
                with self._lock:
                    self.big_bytes_sent = sent
        except OSError:
            pass  # the client hung up: what the cap should make it do

    def route_big_declared(self, h, q):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(10**12))
        h.end_headers()
        try:
            h.wfile.write(b"{")
        except OSError:
            pass
        self._stop.wait(5)

    def route_stall(self, h, q):
        """Headers at once, then no body byte for ``stall_seconds``."""
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.flush()
        self._stop.wait(self.stall_seconds)

    def route_stall_headers(self, h, q):
        self._stop.wait(self.stall_seconds)
