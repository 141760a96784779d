"""A loopback EO service that can be told to misbehave, stopped and started on the same port.

One threaded HTTP server on 127.0.0.1 plays three services at once, with just enough of each
protocol for eo_jlab's adapters:

* ``/stac``: a STAC API (landing page, ``POST /stac/search``);
* ``/ogc``: an OGC API - Processes service with one process ``count`` whose async jobs run
  until ``gate`` is open, then finish ``duration`` seconds later (the job table lives in this
  object, so it survives ``stop()``/``start()`` like a real service with a database);
* ``/wps``: a WPS 1.0.0 service (GetCapabilities, DescribeProcess, async Execute, status
  documents under ``/wps-status/``) with the same ``count`` process and gate.

``faults[name]`` switches one route to a failure: ``"garbled"`` (a truncated document),
``"html"`` (503 with an HTML error page), ``"slow"`` (no answer for ``slow_seconds``) and, for
the STAC search, ``"die"`` (headers and half a body, then the whole server stops). Route names:
``stac_search``, ``ogc_processes``, ``ogc_status``, ``wps_capabilities``, ``wps_describe``,
``wps_status``.

Every answer closes its connection (HTTP/1.0), so a stopped server really is unreachable: no
kept-alive connection outlives ``stop()``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import free_port

HTML_ERROR = (
    b"<html><head><title>503</title></head><body><h1>Service Unavailable</h1></body></html>"
)

WPS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<wps:{root} xmlns:wps="http://www.opengis.net/wps/1.0.0" '
    'xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'service="WPS" version="1.0.0" xml:lang="en-US"{attrs}>'
)

WPS_CAPABILITIES = (
    WPS_HEAD.format(root="Capabilities", attrs="")
    + "<ows:ServiceIdentification><ows:Title>Faulty WPS</ows:Title></ows:ServiceIdentification>"
    '<wps:ProcessOfferings><wps:Process wps:processVersion="1">'
    "<ows:Identifier>count</ows:Identifier><ows:Title>Count</ows:Title></wps:Process>"
    "</wps:ProcessOfferings></wps:Capabilities>"
).encode()

WPS_DESCRIBE = (
    WPS_HEAD.format(root="ProcessDescriptions", attrs="")
    + '<ProcessDescription wps:processVersion="1" storeSupported="true" statusSupported="true">'
    "<ows:Identifier>count</ows:Identifier><ows:Title>Count</ows:Title>"
    '<DataInputs><Input minOccurs="0" maxOccurs="1"><ows:Identifier>n</ows:Identifier>'
    "<ows:Title>N</ows:Title><LiteralData>"
    '<ows:DataType ows:reference="http://www.w3.org/TR/xmlschema-2/#integer">integer</ows:DataType>'
    "<ows:AnyValue/></LiteralData></Input></DataInputs>"
    "<ProcessOutputs><Output><ows:Identifier>count</ows:Identifier><ows:Title>Count</ows:Title>"
    "<LiteralOutput><ows:DataType>integer</ows:DataType></LiteralOutput></Output>"
    "</ProcessOutputs></ProcessDescription></wps:ProcessDescriptions>"
).encode()


def wps_status(status_url: str, state: str, value: int | None = None) -> bytes:
    outputs = ""
    if value is not None:
        outputs = (
            "<wps:ProcessOutputs><wps:Output><ows:Identifier>count</ows:Identifier>"
            "<ows:Title>Count</ows:Title><wps:Data>"
            f'<wps:LiteralData dataType="integer">{value}</wps:LiteralData>'
            "</wps:Data></wps:Output></wps:ProcessOutputs>"
        )
    return (
        WPS_HEAD.format(root="ExecuteResponse", attrs=f' statusLocation="{status_url}"')
        + '<wps:Process wps:processVersion="1"><ows:Identifier>count</ows:Identifier>'
        "<ows:Title>Count</ows:Title></wps:Process>"
        f'<wps:Status creationTime="2026-01-01T00:00:00Z">{state}</wps:Status>'
        f"{outputs}</wps:ExecuteResponse>"
    ).encode()


class Faulty:
    """``Faulty().start()``; ``url(path)``; ``stop()`` (a crash: the port goes dark) and
    ``start()`` again on the same port; ``close()`` at the end."""

    def __init__(self) -> None:
        self.port = free_port()
        self.faults: dict[str, str] = {}
        self.slow_seconds = 30.0
        self.gate = threading.Event()  # jobs run until it opens
        self.opened_at = 0.0
        self.duration = 0.0  # seconds a job still runs once the gate is open
        self.jobs: dict[str, dict] = {}  # remote job id -> {"created", "polls", "n"}
        self.hits: dict[str, int] = {}  # route name -> requests served
        self.executions = 0
        self._lock = threading.Lock()
        self._halt = threading.Event()  # ends slow answers at close()
        self._server: ThreadingHTTPServer | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> Faulty:
        faulty = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                self.body = b""
                faulty._dispatch(self)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                self.body = self.rfile.read(length) if length else b""
                faulty._dispatch(self)

        deadline = time.monotonic() + 30
        while True:  # the port was in use a moment ago (TIME_WAIT is fine: SO_REUSEADDR)
            try:
                server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def close(self) -> None:
        self._halt.set()
        self.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def open_gate(self) -> None:
        self.opened_at = time.monotonic()
        self.gate.set()

    # --- routes -------------------------------------------------------------------------

    def _dispatch(self, h) -> None:
        parts = urlsplit(h.path)
        query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]
        head = segments[0] if segments else ""
        try:
            if head == "stac":
                self._stac(h, segments[1:])
            elif head == "ogc":
                self._ogc(h, segments[1:])
            elif head == "wps":
                self._wps(h, query)
            elif head == "wps-status" and len(segments) == 2:
                self._wps_status(h, segments[1].removesuffix(".xml"))
            else:
                self._json(h, {"detail": "not found"}, 404)
        except OSError:
            pass  # the client went away (a timeout on its side)

    def _count(self, route: str) -> None:
        with self._lock:
            self.hits[route] = self.hits.get(route, 0) + 1

    def _fault(self, h, route: str, garbled: bytes, content_type: str) -> bool:
        """Answer with the fault set for ``route``; False when there is none."""
        self._count(route)
        fault = self.faults.get(route)
        if fault is None:
            return False
        if fault == "garbled":
            self._send(h, 200, garbled, content_type)
        elif fault == "html":
            self._send(h, 503, HTML_ERROR, "text/html; charset=utf-8")
        elif fault == "slow":
            self._halt.wait(self.slow_seconds)
            self._send(h, 503, HTML_ERROR, "text/html")
        elif fault == "die":
            h.send_response(200)
            h.send_header("Content-Type", "application/geo+json")
            h.send_header("Content-Length", "50000")
            h.end_headers()
            h.wfile.write(b'{"type": "FeatureCollection", "features": [{"type": "Feat')
            h.wfile.flush()
            self.faults.pop(route)
            self.stop()  # the service dies with the answer half sent
            h.close_connection = True
        else:  # pragma: no cover
            raise AssertionError(fault)
        return True

    @staticmethod
    def _send(h, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h, doc, status: int = 200, extra: dict | None = None) -> None:
        self._send(h, status, json.dumps(doc).encode(), "application/json", extra)

    # STAC

    def _stac(self, h, rest: list[str]) -> None:
        if not rest:
            root = self.url("/stac/")
            self._json(h, {
                "type": "Catalog", "id": "faulty", "title": "Faulty STAC",
                "description": "A STAC API that misbehaves on demand", "stac_version": "1.0.0",
                "conformsTo": ["https://api.stacspec.org/v1.0.0/core",
                               "https://api.stacspec.org/v1.0.0/item-search"],
                "links": [{"rel": "self", "href": root},
                          {"rel": "search", "href": root + "search", "method": "POST",
                           "type": "application/geo+json"}],
            })  # fmt: skip
            return
        if rest == ["search"]:
            if self._fault(
                h, "stac_search", b'{"type": "FeatureCollection", "feat', "application/geo+json"
            ):
                return
            item = {
                "type": "Feature", "stac_version": "1.0.0", "id": "S2A_TILE_1",
                "collection": "sentinel-2-l2a",
                "geometry": {"type": "Point", "coordinates": [10.5, 45.5]},
                "bbox": [10.5, 45.5, 10.5, 45.5],
                "properties": {"datetime": "2024-06-01T10:00:00Z"},
                "assets": {}, "links": [],
            }  # fmt: skip
            self._send(
                h, 200,
                json.dumps({"type": "FeatureCollection", "features": [item], "links": []}).encode(),
                "application/geo+json",
            )  # fmt: skip
            return
        self._json(h, {"description": "not found"}, 404)

    # OGC API - Processes

    def _state(self, job: dict) -> tuple[str, int]:
        """(status, progress) of a job now; each call is one poll."""
        job["polls"] += 1
        if self.gate.is_set() and time.monotonic() >= max(job["created"], self.opened_at) + (
            self.duration
        ):
            return "successful", 100
        return "running", min(90, 5 * job["polls"])

    def _ogc(self, h, rest: list[str]) -> None:
        if not rest:
            self._json(h, {"title": "Faulty OGC API - Processes", "links": []})
        elif rest == ["processes"]:
            if self._fault(h, "ogc_processes", b'{"processes": [{"id": "co', "application/json"):
                return
            self._json(h, {"processes": [{"id": "count", "title": "Count", "version": "1",
                                          "jobControlOptions": ["async-execute"]}],
                           "links": []})  # fmt: skip
        elif rest == ["processes", "count"]:
            self._json(h, {
                "id": "count", "title": "Count", "version": "1",
                "jobControlOptions": ["async-execute"],
                "inputs": {"n": {"title": "N", "schema": {"type": "integer"}}},
                "outputs": {"count": {"title": "Count", "schema": {"type": "integer"}}},
            })  # fmt: skip
        elif rest == ["processes", "count", "execution"] and h.command == "POST":
            n = json.loads(h.body or b"{}").get("inputs", {}).get("n", 0)
            job_id = uuid.uuid4().hex
            with self._lock:
                self.executions += 1
                self.jobs[job_id] = {"created": time.monotonic(), "polls": 0, "n": n}
            self._json(h, {"jobID": job_id, "status": "accepted", "type": "process"}, 201,
                       {"Location": self.url(f"/ogc/jobs/{job_id}")})  # fmt: skip
        elif len(rest) == 2 and rest[0] == "jobs":
            if self._fault(h, "ogc_status", b'{"jobID": "x", "status": "runn', "application/json"):
                return
            job = self.jobs.get(rest[1])
            if job is None:
                self._json(h, {"description": "no such job"}, 404)
                return
            status, progress = self._state(job)
            self._json(h, {
                "jobID": rest[1], "status": status, "progress": progress, "type": "process",
                "message": f"{status} at {progress}%",
                "links": [{"rel": "results", "type": "application/json",
                           "href": self.url(f"/ogc/jobs/{rest[1]}/results")}],
            })  # fmt: skip
        elif len(rest) == 3 and rest[0] == "jobs" and rest[2] == "results":
            job = self.jobs.get(rest[1])
            if job is None:
                self._json(h, {"description": "no such job"}, 404)
                return
            self._json(h, {"count": {"value": job["n"]}})
        else:
            self._json(h, {"description": "not found"}, 404)

    # WPS 1.0.0

    def _wps(self, h, query: dict) -> None:
        request = query.get("request", "").lower()
        garbled = b'<?xml version="1.0"?><wps:Capabilities xmlns:wps="http://www.opengis.net/wps/1'
        if h.command == "POST":
            job_id = uuid.uuid4().hex
            with self._lock:
                self.executions += 1
                self.jobs[job_id] = {"created": time.monotonic(), "polls": 0, "n": 7}
            status_url = self.url(f"/wps-status/{job_id}.xml")
            accepted = "<wps:ProcessAccepted>Queued</wps:ProcessAccepted>"
            self._send(h, 200, wps_status(status_url, accepted), "text/xml")
        elif request == "getcapabilities":
            if not self._fault(h, "wps_capabilities", garbled, "text/xml"):
                self._send(h, 200, WPS_CAPABILITIES, "text/xml")
        elif request == "describeprocess":
            if not self._fault(
                h, "wps_describe", garbled.replace(b"Capab", b"ProcessDesc"), "text/xml"
            ):
                self._send(h, 200, WPS_DESCRIBE, "text/xml")
        else:
            self._send(h, 400, b"unknown request", "text/plain")

    def _wps_status(self, h, job_id: str) -> None:
        if self._fault(
            h, "wps_status", b'<?xml version="1.0"?><wps:ExecuteResponse xmlns:wps="ht', "text/xml"
        ):
            return
        job = self.jobs.get(job_id)
        if job is None:
            self._send(h, 404, b"gone", "text/plain")
            return
        status, progress = self._state(job)
        url = self.url(f"/wps-status/{job_id}.xml")
        if status == "successful":
            body = wps_status(url, "<wps:ProcessSucceeded>Done</wps:ProcessSucceeded>", job["n"])
        else:
            body = wps_status(
                url,
                f'<wps:ProcessStarted percentCompleted="{progress}">Counting</wps:ProcessStarted>',
            )
        self._send(h, 200, body, "text/xml")
