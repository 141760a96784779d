"""PyWPS 4.8 (WPS 1.0.0) on 127.0.0.1 with the test processes of ``pywps_processes.py``.

``pywps_url`` is a session fixture: the WPS endpoint URL (``http://127.0.0.1:PORT/wps``).
PyWPS runs from its own venv (``.servers/pywps``, built by ``make .make/pywps-server``, see
mk/pywps.mk): a small script serves ``pywps.Service`` with werkzeug's threaded ``run_simple``
and, from the same app, the static routes PyWPS itself does not serve: ``/outputs/`` (status
documents and outputs by reference, PyWPS's ``outputpath``) and ``/data/`` (input files for
tests, e.g. ``/data/polygon.geojson``). The configuration runs async jobs in
``multiprocessing`` mode with a file-backed sqlite log database and DEBUG logging (else failed
jobs only say "check server error log"). The fixture fails (never skips) when something is
missing, and stops the server (its whole process group) at the end of the session.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from . import fail, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("EO_JLAB_PYWPS_VENV", ROOT / ".servers" / "pywps"))
HERE = Path(__file__).resolve().parent

POLYGON = {
    "type": "Polygon",
    "coordinates": [[[10.0, 45.0], [11.0, 45.0], [11.0, 46.0], [10.0, 46.0], [10.0, 45.0]]],
}

CONFIG = """[metadata:main]
identification_title = eo_jlab test WPS
identification_abstract = PyWPS with the eo_jlab test processes
provider_name = eo_jlab tests

[server]
url = {base}/wps
outputurl = {base}/outputs/
outputpath = {home}/outputs
workdir = {home}/work
maxsingleinputsize = 10mb
maxrequestsize = 20mb
parallelprocesses = 4

[processing]
mode = multiprocessing

[logging]
level = DEBUG
file = {home}/pywps.log
database = sqlite:///{home}/pywps-logs.sqlite
"""

SCRIPT = """
import sys

sys.path.insert(0, {processes_dir!r})

from pywps import Service
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from pywps_processes import processes

service = Service(processes(), [{config!r}])


def app(environ, start_response):
    path = Request(environ).path
    if path.rstrip("/") == "/wps":
        return service(environ, start_response)
    return Response("not found", status=404)(environ, start_response)


app = SharedDataMiddleware(app, {{"/outputs": {outputs!r}, "/data": {data!r}}}, cache=False)
run_simple("127.0.0.1", {port}, app, threaded=True, use_reloader=False, use_debugger=False)
"""


@pytest.fixture(scope="session")
def pywps_url(tmp_path_factory):
    started = time.monotonic()
    python = VENV / "bin" / "python"
    if not python.exists():
        fail(f"PyWPS fixture: {python} is missing; run `make .make/pywps-server` first.")
    check = subprocess.run(
        [str(python), "-c", "import pywps, werkzeug"], capture_output=True, text=True
    )
    if check.returncode != 0:
        fail(
            f"PyWPS fixture: pywps/werkzeug cannot be imported in {VENV} "
            f"(run `make .make/pywps-server`): {check.stderr[-800:]}"
        )
    home = tmp_path_factory.mktemp("pywps")
    for folder in ("outputs", "work", "data"):
        (home / folder).mkdir()
    (home / "data" / "polygon.geojson").write_text(json.dumps(POLYGON), encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = home / "pywps.cfg"
    config.write_text(CONFIG.format(base=base, home=home), encoding="utf-8")
    # A copy beside the script: tests/servers itself cannot go on sys.path (this module's name
    # would shadow the pywps package).
    shutil.copy(HERE / "pywps_processes.py", home / "pywps_processes.py")
    script = home / "serve.py"
    script.write_text(
        SCRIPT.format(
            processes_dir=str(home),
            config=str(config),
            outputs=str(home / "outputs"),
            data=str(home / "data"),
            port=port,
        ),
        encoding="utf-8",
    )
    url = f"{base}/wps"
    probe = f"{url}?service=WPS&version=1.0.0&request=GetCapabilities"

    def ready() -> bool:
        with urllib.request.urlopen(probe, timeout=2) as answer:
            return answer.status == 200 and b"Capabilities" in answer.read()

    process, log = launch(python, script, home, config, ready, url)
    print(f"\nPyWPS ready on {url} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    try:
        yield url
    finally:
        _stop(process)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def launch(python: Path, script: Path, home: Path, config: Path, ready, where: str):
    """Start a PyWPS ``script`` in its own process group, logging to ``home/server.log``, and
    wait up to 30 s until ``ready()`` is true (an OSError meaning not yet): (process, log)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYWPS_CFG": str(config)}
    env.pop("PYTHONPATH", None)
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [str(python), str(script)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log.close()
            fail("PyWPS fixture: the server exited early: " + _tail(home / "server.log"))
        try:
            if ready():
                return process, log
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            log.close()
            fail(f"PyWPS fixture: no answer on {where} within 30 s: " + _tail(home / "server.log"))
        time.sleep(0.1)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-1500:]
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and every job process it forked (one process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    try:  # job processes left behind in the group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
