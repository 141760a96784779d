"""Event-loop freedom: latency of GET /api/status, idle and while upstream requests wait.

Starts a real Jupyter server with eo_jlab (a child process) and a loopback "slow service"
that answers after DELAY seconds, then measures, in one run:

* idle: status latency with nothing else going on;
* busy: status latency while N probes through eo-jlab wait on the slow service.

Prints p50 / p95 / p99 of each and the busy/idle ratios last. Figures vary between machines
and runs; the ratio, measured in one run, is what to compare.

    python bench/event_loop.py [--requests 20] [--delay 3] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.upstream import Upstream  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def sample_status(client: httpx.AsyncClient, url: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        await asyncio.sleep(0.005)
    return latencies


async def measure(base: str, token: str, requests: int, samples: int) -> dict:
    headers = {"Authorization": f"token {token}"}
    limits = httpx.Limits(max_connections=requests + 10)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=120) as client:
        await sample_status(client, f"{base}api/status", 20)  # warm up
        idle = await sample_status(client, f"{base}api/status", samples)
        probes = [
            asyncio.ensure_future(client.get(f"{base}eo-jlab/endpoints/slow/probe"))
            for _ in range(requests)
        ]
        await asyncio.sleep(0.3)  # let them all reach the slow service
        busy = []
        while not all(p.done() for p in probes) and len(busy) < samples:
            busy += await sample_status(client, f"{base}api/status", 1)
        results = await asyncio.gather(*probes)
        codes = sorted({r.status_code for r in results})
    return {"idle": idle, "busy": busy, "probe_codes": codes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    upstream = Upstream().start()
    port, token = free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "ServerApp": {"jpserver_extensions": {"eo_jlab": True}, "allow_root": True},
            "EOJLab": {
                "catalogues": [
                    {"id": "slow", "protocol": "stac", "url": upstream.url(f"/slow?s={args.delay}")}
                ],
                "request_timeout": args.delay + 30,
            },
        }
        config_file = Path(tmp) / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--config={config_file}",
                f"--ServerApp.port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={tmp}",
                "--ServerApp.open_browser=False",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}api/status", headers={"Authorization": f"token {token}"})
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            figures = asyncio.run(measure(base, token, args.requests, args.samples))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            upstream.stop()

    idle, busy = figures["idle"], figures["busy"]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"upstream: {args.requests} probes waiting {args.delay:g} s each; "
        f"probe status codes: {figures['probe_codes']}; max in flight upstream: "
        f"{upstream.slow_max_in_flight}"
    )
    print(f"{'':6}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for name, values in (("idle", idle), ("busy", busy)):
        print(
            f"{name:6}{len(values):>6}{percentile(values, 50):>10.2f}"
            f"{percentile(values, 95):>10.2f}{percentile(values, 99):>10.2f}"
        )
    for q in (50, 95, 99):
        print(f"busy/idle ratio p{q}: {percentile(busy, q) / percentile(idle, q):.2f}")
    print(f"busy/idle ratio mean: {statistics.mean(busy) / statistics.mean(idle):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
