"""Server start-up time with and without the eo_jlab server extension.

Starts ``jupyter server`` (this venv's) RUNS times each way, alternating, on a free port with
fresh temporary config, data, runtime and home folders each time (so no user configuration;
the venv's own, where the extensions are enabled, is read both ways), and measures the time
from the process start to the first 200 of ``GET /api/status``. The extension is switched on
or off by ``{"ServerApp": {"jpserver_extensions": {"eo_jlab": true|false}}}`` in the
temporary user config folder, which comes before the venv's; everything else is the same.

Prints each run, eo_jlab's import and load time from the server log (the import is logged
only when over 0.1 s), p50 / min / max each way, and last the with/without ratios of the
p50s and of the minimums (on a busy machine the minimums are the steadier figure).

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
JUPYTER = Path(sys.executable).parent / "jupyter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start_once(enabled: bool, tmp: Path) -> tuple[float, list[str], dict[str, float]]:
    """Seconds from spawn to the first 200 of /api/status, the extensions it loaded and
    the phases of eo_jlab's start (see eo_jlab_phases)."""
    port, token = free_port(), secrets.token_hex(16)
    home = tmp / "home"
    for folder in ("config", "data", "runtime", "root", "home"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("JUPYTER_CONFIG_PATH", None)
    # The user config folder comes before the venv's (where `eo_jlab` is enabled): it wins.
    (tmp / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"eo_jlab": enabled}}})
    )
    command = [
        str(JUPYTER), "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--port-retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp / 'root'}", "--ServerApp.allow_root=True", "--log-level=INFO",
    ]  # fmt: skip
    log = (tmp / "server.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/api/status"
    elapsed = None
    try:
        with httpx.Client(headers={"Authorization": f"token {token}"}, timeout=2) as client:
            while time.perf_counter() - started < 120:
                if process.poll() is not None:
                    break
                try:
                    if client.get(url).status_code == 200:
                        elapsed = time.perf_counter() - started
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)
    finally:
        stop(process)
        log.close()
    text = (tmp / "server.log").read_text()
    if elapsed is None:
        raise SystemExit(f"the server did not answer (eo_jlab {enabled}):\n{text[-3000:]}")
    loaded = sorted(
        {
            line.split("] ", 1)[1].split(" | ", 1)[0]
            for line in text.splitlines()
            if "| extension was successfully loaded" in line
        }
    )
    return elapsed, loaded, eo_jlab_phases(text)


def eo_jlab_phases(log: str) -> dict[str, float]:
    """From the server log: eo_jlab's import time (logged when over 0.1 s) and the time its
    ``_load_jupyter_server_extension`` took (its "loaded" line minus the last line logged
    before it by something else)."""
    lines = log.splitlines()
    phases: dict[str, float] = {}

    def stamp(line: str) -> float | None:
        try:
            clock = line.split("]", 1)[0].split()[2]
            h, m, sec = clock.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except (IndexError, ValueError):
            return None

    for i, line in enumerate(lines):
        if "Extension package eo_jlab took" in line:
            phases["import"] = float(line.rsplit("took ", 1)[1].split("s", 1)[0])
        if "eo_jlab | extension was successfully loaded" in line and i:
            j = i - 1
            while j > 0 and "EOJLabApp]" in lines[j]:  # eo_jlab's own lines while loading
                j -= 1
            before, after = stamp(lines[j]), stamp(line)
            if before is not None and after is not None:
                phases["load"] = after - before
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    times: dict[bool, list[float]] = {True: [], False: []}
    loaded: dict[bool, list[str]] = {}
    phases: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="eo-jlab-startup-") as tmp:
        start_once(True, Path(tmp) / "warm-up")  # page cache: imports read from disk once
        for i in range(args.runs):
            for enabled in (True, False) if i % 2 == 0 else (False, True):
                seconds, names, phase = start_once(enabled, Path(tmp) / f"run{i}-{enabled}")
                times[enabled].append(seconds)
                loaded[enabled] = names
                if enabled:
                    phases.append(phase)
                print(f"run {i + 1} eo_jlab {'on ' if enabled else 'off'}: {seconds:.3f} s")

    import jupyter_server

    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"jupyter_server {jupyter_server.__version__}"
    )
    for enabled in (True, False):
        print(f"extensions loaded with eo_jlab {'on' if enabled else 'off'}: {loaded[enabled]}")
    for name in ("import", "load"):
        values = [p[name] for p in phases if name in p]
        if values:
            print(
                f"eo_jlab {name} (server log): p50 {statistics.median(values) * 1000:.0f} ms "
                f"in {len(values)} of {len(phases)} runs"
            )
    rows = {}
    for enabled, label in ((True, "with eo_jlab"), (False, "without eo_jlab")):
        values = times[enabled]
        rows[enabled] = statistics.median(values)
        print(
            f"{label:16} n={len(values)} p50 {rows[enabled]:.3f} s  "
            f"min {min(values):.3f} s  max {max(values):.3f} s"
        )
    lows = {enabled: min(values) for enabled, values in times.items()}
    print(
        f"with/without ratio: p50 {rows[True] / rows[False]:.2f} "
        f"({(rows[True] - rows[False]) * 1000:+.0f} ms), "
        f"min {lows[True] / lows[False]:.2f} ({(lows[True] - lows[False]) * 1000:+.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
