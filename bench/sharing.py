"""Sharing throughput: share and copy a 1 GiB folder through eo-jlab, against ``cp -r``.

Starts a real Jupyter server with eo_jlab in local sharing mode (a child process; its
workspace and share store in one temporary folder on the disk of ``--dir``), writes a folder
of FILES files of SIZE MiB of random data, then measures in one run, ROUNDS times each:

* ``cp -r`` of the folder (same disk);
* ``POST eo-jlab/shares`` of the folder (snapshot: read, sha256, write read-only copies);
* ``POST eo-jlab/shares/{id}/copy`` (the share back into the workspace under a free name);

and the server's peak RSS growth over its RSS before the operations (VmRSS sampled every
20 ms). Prints the best time of each, MiB/s, the ratio to ``cp -r`` and the RSS growth last.
Each operation starts after a sync and is timed without one: page-cache throughput, the same
for both sides.

    python bench/sharing.py [--files 50] [--size 20] [--rounds 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakRSS:
    def __init__(self, pid: int):
        self.pid, self.base = pid, rss(pid)
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.base


def timed(fn) -> tuple[float, object]:
    os.sync()  # every operation starts with no dirty pages of the one before
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--size", type=int, default=20, help="MiB per file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the temp folder goes")
    args = parser.parse_args()
    total = args.files * args.size << 20
    need = total * (2 + 2 * args.rounds) + (1 << 30)
    free = shutil.disk_usage(args.dir).free
    if free < need:
        print(f"bench/sharing.py needs {need >> 30} GiB free in {args.dir}, has {free >> 30} GiB")
        return 1

    port, token = free_port(), secrets.token_hex(16)
    headers = {"Authorization": f"token {token}"}
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="eo-jlab-bench-") as tmp:
        work, store = Path(tmp) / "work", Path(tmp) / "store"
        data = work / "data"
        data.mkdir(parents=True)
        for i in range(args.files):
            (data / f"part{i:03d}.bin").write_bytes(os.urandom(args.size << 20))
        config = {
            "ServerApp": {"jpserver_extensions": {"eo_jlab": True}, "allow_root": True},
            "EOJLab": {"shared_root": str(store)},
        }
        config_file = Path(tmp) / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config))
        server = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter_server", f"--config={config_file}",
                f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
                "--ServerApp.open_browser=False",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}/"
        times: dict[str, list[float]] = {"cp -r": [], "share": [], "copy": []}
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}api/status", headers=headers).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            client = httpx.Client(base_url=f"{base}eo-jlab/", headers=headers, timeout=600)
            peak = PeakRSS(server.pid)
            base_rss = peak.base
            for r in range(args.rounds):
                target = Path(tmp) / f"cp-{r}"
                t, _ = timed(
                    lambda t=target: subprocess.run(["cp", "-r", str(data), str(t)], check=True)
                )  # noqa: E501
                times["cp -r"].append(t)
                t, answer = timed(lambda: client.post("shares", json={"path": "data"}))
                answer.raise_for_status()
                share = answer.json()
                assert share["size"] == total, share["size"]
                times["share"].append(t)
                t, answer = timed(lambda s=share: client.post(f"shares/{s['id']}/copy"))
                answer.raise_for_status()
                times["copy"].append(t)
                # free the disk for the next round
                shutil.rmtree(target)
                shutil.rmtree(work / answer.json()["path"])
                client.delete(f"shares/{share['id']}").raise_for_status()
            growth = peak.stop()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    mib = total / (1 << 20)
    cp = min(times["cp -r"])
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; folder: "
          f"{args.files} files x {args.size} MiB = {mib:.0f} MiB random data; best of "
          f"{args.rounds}")  # fmt: skip
    print(f"{'':8}{'s':>8}{'MiB/s':>9}{'rate/cp':>9}")
    for name, values in times.items():
        best = min(values)
        print(f"{name:8}{best:>8.2f}{mib / best:>9.0f}{cp / best:>9.2f}")
    print(f"server RSS before: {base_rss >> 20} MiB; peak growth during the runs: "
          f"{growth / (1 << 20):.1f} MiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
