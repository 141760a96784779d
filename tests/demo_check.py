"""Start `eo-jlab demo` and check what a person would see; print the findings as JSON.

Run by tests/test_demo.py inside a network namespace with only loopback (``unshare -n``),
so the demo is proved to work with no network at all.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def main(workspace: str, only_jobs: bool = False) -> None:
    if os.environ.get("EO_JLAB_SET_LO_UP"):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    port = free_port()
    eo_jlab = Path(sys.executable).with_name("eo-jlab")
    demo = subprocess.Popen(
        [str(eo_jlab), "demo", "--workspace", workspace, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    findings: dict = {"port": port}
    output = []
    try:
        token = None
        deadline = time.monotonic() + 90
        while token is None and time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            output.append(line)
            match = re.search(rf"open http://127\.0\.0\.1:{port}/lab\?token=(\w+)", line)
            if match:
                token = match.group(1)
        findings["token_printed"] = token is not None
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        status, body = get(f"{base}/eo-jlab/jobs", token)
        findings["jobs_status"] = status
        findings["jobs"] = json.loads(body) if status == 200 else body
        if only_jobs:
            return
        status, page = get(f"{base}/lab", token)
        findings["lab_status"] = status
        findings["labextension_listed"] = '"name": "eo_jlab"' in page or '"eo_jlab"' in page
        status, body = get(f"{base}/eo-jlab/config", token)
        findings["config_status"] = status
        findings["config"] = json.loads(body) if status == 200 else body
        findings["config_without_token"] = get(f"{base}/eo-jlab/config")[0]
        status, body = get(
            f"{base}/eo-jlab/catalogues/demo/search",
            token,
            {"bbox": [0.9, 43.5, 1.5, 43.9], "datetime": "2025-03-01/2025-03-31", "limit": 5},
        )
        findings["search_status"] = status
        findings["search"] = json.loads(body) if status == 200 else body
        findings["probe"] = json.loads(get(f"{base}/eo-jlab/endpoints/demo/probe", token)[1])
        findings["static_bundle"] = get(f"{base}/lab/extensions/eo_jlab/static/style.js", token)[0]
        # The sandbox examples run offline: start the sandbox by POST as the Processes
        # section does (no GET starts it), list them, run NDVI, fetch its picture.
        findings["sandbox_start_status"] = get(
            f"{base}/eo-jlab/processing/sandbox/sandbox/start", token, {}
        )[0]
        status, body = get(f"{base}/eo-jlab/processing/sandbox/processes", token)
        findings["sandbox_processes"] = (
            [p["id"] for p in json.loads(body)["processes"]] if status == 200 else body
        )
        status, body = get(
            f"{base}/eo-jlab/processing/sandbox/processes/ndvi/execution",
            token,
            {"inputs": {"bbox": {"bbox": [1.3, 43.5, 1.5, 43.7]}}, "mode": "sync"},
        )
        findings["ndvi_status"] = status
        findings["ndvi"] = json.loads(body) if body.startswith("{") else body
        if status == 200:
            request = urllib.request.Request(
                f"{base}/eo-jlab/jobs/{findings['ndvi']['id']}/results/ndvi_png",
                headers={"Authorization": f"token {token}"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                findings["ndvi_png"] = [response.headers["Content-Type"], response.read(8).hex()]
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            rest, _ = demo.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            rest, _ = demo.communicate()
        output.append(rest or "")
        findings["log_tail"] = "".join(output)[-20000:]
        print("FINDINGS " + json.dumps(findings))


if __name__ == "__main__":
    main(sys.argv[1], only_jobs="--only-jobs" in sys.argv[2:])
