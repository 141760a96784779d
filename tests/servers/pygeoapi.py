"""pygeoapi 0.21 (OGC API - Processes) on 127.0.0.1 with hello-world and two test processes.

``pygeoapi_url`` is a session fixture: the landing page URL. pygeoapi runs from its own venv
(``.servers/pygeoapi``, built by ``make .make/pygeoapi-server``, see mk/pygeoapi.mk) with
Flask's threaded server. Jobs are kept by the TinyDB manager in the session's temp dir. The
processes ``slow`` and ``fail`` come from tests/servers/pygeoapi_processes.py, copied next to
the config and registered by import path. The fixture fails (never skips) when something is
missing or a step fails.
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
VENV = Path(os.environ.get("EO_JLAB_PYGEOAPI_VENV", ROOT / ".servers" / "pygeoapi"))
PROCESSES = Path(__file__).with_name("pygeoapi_processes.py")
MODULE = "eo_jlab_test_processes"

SERVE = """
import sys
from pygeoapi.flask_app import APP
APP.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True, debug=False, use_reloader=False)
"""


def config(home: Path, port: int) -> dict:
    url = f"http://127.0.0.1:{port}"
    contact = {
        key: "eo_jlab tests"
        for key in ("name", "position", "address", "city", "stateorprovince", "postalcode")
    }
    contact.update(country="none", email="none@example.org", url="https://example.org")
    contact.update(phone="+00", fax="+00", hours="always", instructions="none")
    contact["role"] = "pointOfContact"
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 50},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "-"},
            "manager": {
                "name": "TinyDB",
                "connection": str(home / "jobs.db"),
                "output_dir": str(home / "outputs"),
            },
        },
        "logging": {"level": "ERROR", "logfile": str(home / "pygeoapi.log")},
        "metadata": {
            "identification": {
                "title": "eo_jlab test processes",
                "description": "pygeoapi serving eo_jlab's test processes",
                "keywords": ["eo_jlab", "test"],
                "keywords_type": "theme",
                "terms_of_service": "https://example.org/terms",
                "url": "https://example.org",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "eo_jlab tests", "url": "https://example.org"},
            "contact": contact,
        },
        "resources": {
            "hello-world": {"type": "process", "processor": {"name": "HelloWorld"}},
            "slow": {"type": "process", "processor": {"name": f"{MODULE}.SlowProcessor"}},
            "fail": {"type": "process", "processor": {"name": f"{MODULE}.FailProcessor"}},
        },
    }


@pytest.fixture(scope="session")
def pygeoapi_url(tmp_path_factory):
    started = time.monotonic()
    python = VENV / "bin" / "python"
    command = VENV / "bin" / "pygeoapi"
    for needed in (python, command):
        if not needed.exists():
            fail(f"pygeoapi fixture: {needed} is missing; run `make .make/pygeoapi-server` first.")
    home = tmp_path_factory.mktemp("pygeoapi")
    (home / "outputs").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config_file = home / "pygeoapi.config.yml"
    # JSON is YAML: no YAML library needed on the test side.
    config_file.write_text(json.dumps(config(home, port), indent=1), encoding="utf-8")
    shutil.copy(PROCESSES, home / f"{MODULE}.py")
    openapi = home / "openapi.yml"
    env = {
        **os.environ,
        "PYGEOAPI_CONFIG": str(config_file),
        "PYGEOAPI_OPENAPI": str(openapi),
        "PYTHONPATH": str(home),
        "PYTHONWARNINGS": "ignore",
    }
    done = subprocess.run(
        [str(command), "openapi", "generate", str(config_file), "--output-file", str(openapi)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0 or not openapi.exists():
        fail(
            f"pygeoapi fixture: `pygeoapi openapi generate` failed ({done.returncode}): "
            f"{(done.stderr or done.stdout)[-1500:]}"
        )
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [str(python), "-c", SERVE, str(port)],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    probe = f"{url}/processes?f=json"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log.flush()
            fail(
                "pygeoapi fixture: the server exited early: "
                + (home / "server.log").read_text()[-1500:]
            )
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200 and b"hello-world" in answer.read():
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            fail(f"pygeoapi fixture: pygeoapi did not answer on {url} within 30 s.")
        time.sleep(0.1)
    print(f"\npygeoapi ready on {url} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    try:
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)
