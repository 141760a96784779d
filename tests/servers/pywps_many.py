"""A real PyWPS 4.8 with 50 processes and one it cannot describe, its requests counted.

``pywps_many`` is a session fixture: a ``ManyWps`` with the WPS endpoint URL and helpers.
The server (PyWPS's own venv, as in ``pywps.py``) offers ``p00`` .. ``p49``: one literal
input each; the even ones are async-capable (``storeSupported``/``statusSupported``).
Its capabilities also list ``retired``, a process the server no longer has: PyWPS answers
its DescribeProcess with an ``InvalidParameterValue`` exception report (as public servers
do for processes that fail to load). A WSGI wrapper counts the WPS requests by operation
(``GET /_stats``) and can hold every DescribeProcess until released (``POST /_gate/close``,
``POST /_gate/open``; ``POST /_reset`` opens the gate and zeroes the counts).
"""

from __future__ import annotations

import json
import sys
import urllib.request

import pytest

from . import fail, free_port
from .pywps import CONFIG, VENV, _stop, launch

COUNT = 50
RETIRED = "retired"

SCRIPT = """
import json
import threading

from pywps import LiteralInput, LiteralOutput, Process, Service
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response


def _handler(request, response):
    response.outputs["value"].data = request.inputs["value"][0].data
    return response


def _process(index):
    return Process(
        _handler,
        identifier=f"p{{index:02d}}",
        title=f"Process {{index:02d}}",
        abstract=f"Test process number {{index}}",
        version="2.1",
        inputs=[LiteralInput("value", "Value", data_type="string")],
        outputs=[LiteralOutput("value", "Value", data_type="string")],
        store_supported=index % 2 == 0,
        status_supported=index % 2 == 0,
    )


service = Service([_process(i) for i in range({count})], [{config!r}])
counts = {{}}
lock = threading.Lock()
gate = threading.Event()
gate.set()
RETIRED = (
    '<wps:Process wps:processVersion="1.0"><ows:Identifier>{retired}</ows:Identifier>'
    "<ows:Title>Retired</ows:Title></wps:Process>"
)


def app(environ, start_response):
    request = Request(environ)
    path = request.path.rstrip("/")
    if path == "/_stats":
        with lock:
            body = json.dumps(counts)
        return Response(body, mimetype="application/json")(environ, start_response)
    if path in ("/_gate/close", "/_gate/open", "/_reset"):
        if path == "/_gate/close":
            gate.clear()
        else:
            gate.set()
        if path == "/_reset":
            with lock:
                counts.clear()
        return Response("ok")(environ, start_response)
    if path != "/wps":
        return Response("not found", status=404)(environ, start_response)
    operation = {{k.lower(): v for k, v in request.args.items()}}.get("request", "post")
    with lock:
        counts[operation] = counts.get(operation, 0) + 1
    if operation.lower() == "describeprocess":
        gate.wait(60)
    if operation.lower() != "getcapabilities":
        return service(environ, start_response)
    captured = {{}}

    def keep(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = b"".join(service(environ, keep)).decode("utf-8")
    body = body.replace("</wps:ProcessOfferings>", RETIRED + "</wps:ProcessOfferings>", 1)
    return Response(body, status=captured["status"], mimetype="text/xml")(
        environ, start_response
    )


run_simple("127.0.0.1", {port}, app, threaded=True, use_reloader=False, use_debugger=False)
"""


class ManyWps:
    """The running server: ``url`` (the WPS endpoint) and its counters and gate."""

    def __init__(self, base: str):
        self.base = base
        self.url = f"{base}/wps"

    def _post(self, path: str) -> None:
        request = urllib.request.Request(self.base + path, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            answer.read()

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.base + "/_stats", timeout=5) as answer:
            return {k.lower(): v for k, v in json.loads(answer.read()).items()}

    def reset(self) -> None:
        self._post("/_reset")

    def hold_descriptions(self) -> None:
        self._post("/_gate/close")

    def release_descriptions(self) -> None:
        self._post("/_gate/open")


@pytest.fixture(scope="session")
def pywps_many(tmp_path_factory):
    python = VENV / "bin" / "python"
    if not python.exists():
        fail(f"PyWPS fixture: {python} is missing; run `make .make/pywps-server` first.")
    home = tmp_path_factory.mktemp("pywps-many")
    for folder in ("outputs", "work"):
        (home / folder).mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = home / "pywps.cfg"
    config.write_text(CONFIG.format(base=base, home=home), encoding="utf-8")
    script = home / "serve.py"
    script.write_text(
        SCRIPT.format(count=COUNT, config=str(config), retired=RETIRED, port=port),
        encoding="utf-8",
    )
    server = ManyWps(base)

    def ready() -> bool:
        server.stats()
        return True

    process, log = launch(python, script, home, config, ready, base)
    print(f"\nPyWPS ({COUNT} processes) ready on {server.url}", file=sys.stderr)
    try:
        yield server
    finally:
        server.release_descriptions()
        _stop(process)
        log.close()
