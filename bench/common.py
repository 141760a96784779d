"""What several benchmarks share: a real `jupyter server` child process, free ports, percentiles."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 8888:  # Galata's port: a UI run may start at any time
            return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class JupyterServer:
    """A real `jupyter server` with eo_jlab in its own process group and a fresh data
    directory (so a fresh job store) under ``home``; ``eo_config`` is ``c.EOJLab``; ``cpus``
    pins it to those processors (a bench keeps its load generators off them)."""

    def __init__(
        self,
        home: Path,
        eo_config: dict[str, Any],
        timeout: float = 60,
        cpus: set[int] | None = None,
    ):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{port}/"
        config = {
            "ServerApp": {"jpserver_extensions": {"eo_jlab": True}, "allow_root": True,
                          "root_dir": str(home), "open_browser": False},
            "EOJLab": eo_config,
        }  # fmt: skip
        config_file = home / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config))
        env = {**os.environ, "JUPYTER_DATA_DIR": str(home / "data"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTER_CONFIG_DIR": str(home / "config")}  # fmt: skip
        self.log_file = home / "server.log"
        with open(self.log_file, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", f"--config={config_file}",
                 f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
                 f"--IdentityProvider.token={self.token}"],
                env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                # Pinned before it starts any thread, so every thread of it stays there.
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            )  # fmt: skip
        self.headers = {"Authorization": f"token {self.token}"}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "api/status", headers=self.headers).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("jupyter server did not start:\n" + self.log())

    def cpu(self) -> float:
        """CPU seconds (user + system, every thread) of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int:
        """Resident memory of the server process, bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB$", status, re.M).group(1)) * 1024

    def written(self) -> int:
        """Bytes the server process passed to write(2) so far (its job store, mostly)."""
        io = Path(f"/proc/{self.process.pid}/io").read_text()
        return int(re.search(r"^wchar: (\d+)$", io, re.M).group(1))

    def log(self) -> str:
        return self.log_file.read_text()[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(the server's processors, everyone else's) on a machine with at least two, so that
    load generators and fake upstreams do not take the measured server's CPU; None on one."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    half = len(available) // 2
    return set(available[:half]), set(available[half:])
