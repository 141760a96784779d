"""Jobs survive a Jupyter server restart (issue 4): three async jobs are started, the server
is stopped mid-run and started again, and without any browser the jobs are still listed
and reach 'successful' (followed again by the restarted server's monitor)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .servers import free_port
from .servers.pygeoapi import pygeoapi_url  # noqa: F401


class JupyterServer:
    """A real `jupyter server` with eo_jlab, in its own process."""

    def __init__(self, home: Path, service_url: str):
        self.home = home
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}/"
        config = {
            "ServerApp": {"jpserver_extensions": {"eo_jlab": True}, "allow_root": True,
                          "root_dir": str(home), "open_browser": False},
            "EOJLab": {"processing": [{"id": "ades", "protocol": "ogcapi", "url": service_url}]},
        }  # fmt: skip
        self.config = home / "jupyter_server_config.json"
        self.config.write_text(json.dumps(config))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "JUPYTER_DATA_DIR": str(self.home / "data"),
               "JUPYTER_RUNTIME_DIR": str(self.home / "runtime")}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={self.config}",
             f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={self.token}"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.home / "server.log", "a"),
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("api/status").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("jupyter server did not start: " + self.log())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return (self.home / "server.log").read_text()[-3000:]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base + path, headers={"Authorization": f"token {self.token}"},
                         timeout=30)  # fmt: skip

    def post(self, path: str, body: dict) -> httpx.Response:
        return httpx.post(self.base + path, json=body, timeout=30,
                          headers={"Authorization": f"token {self.token}"})  # fmt: skip


def test_jobs_survive_a_server_restart(tmp_path, pygeoapi_url):  # noqa: F811
    server = JupyterServer(tmp_path, pygeoapi_url)
    server.start()
    try:
        ids = []
        for steps in (8, 10, 12):  # about 4 to 6 s each
            answer = server.post("eo-jlab/processing/ades/processes/slow/execution",
                                 {"inputs": {"steps": steps}, "mode": "async"})  # fmt: skip
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        time.sleep(1.0)
        before = {j["id"]: j["status"] for j in server.get("eo-jlab/jobs").json()["jobs"]}
        assert set(ids) <= set(before)
        assert any(status in ("accepted", "running") for status in before.values())
    finally:
        server.stop()

    server.start()  # same data dir, new process: nothing in memory survives
    try:
        deadline = time.monotonic() + 90
        while True:
            jobs = {j["id"]: j for j in server.get("eo-jlab/jobs").json()["jobs"]}
            assert set(ids) <= set(jobs), jobs
            if all(jobs[i]["status"] in ("successful", "failed", "dismissed") for i in ids):
                break
            assert time.monotonic() < deadline, [jobs[i]["status"] for i in ids]
            time.sleep(0.5)
        assert [jobs[i]["status"] for i in ids] == ["successful"] * 3, server.log()
        assert [jobs[i]["results"][0]["value"] for i in ids] == [8, 10, 12]
        assert "following" in server.log() and "unfinished job" in server.log()
    finally:
        server.stop()


def test_the_start_up_heap_is_frozen_once_the_server_runs(tmp_path, pygeoapi_url):  # noqa: F811
    """The garbage collector stops walking the start-up heap a few seconds after the start
    (app.FREEZE_AFTER), so its full passes stay short while searches churn (bench/
    event_loop.py measures the effect)."""
    server = JupyterServer(tmp_path, pygeoapi_url)
    server.start()
    try:
        deadline = time.monotonic() + 30
        while "start-up heap frozen" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.3)
        frozen = int(re.search(r"heap frozen for the garbage collector \((\d+) objects\)",
                               server.log()).group(1))  # fmt: skip
        assert frozen > 10_000  # jupyter-server, tornado, eo_jlab and the other extensions
    finally:
        server.stop()
