"""Job monitoring at scale: server CPU, memory and event delay for 100, 1000 and 5000 jobs.

Starts, per job count, a loopback OGC API - Processes service (its own process, below) and a
real Jupyter server with eo_jlab (a child process, fresh job store, token auth) configured
with that service, then:

* subscribes to the event bus over ``/api/events/subscribe`` (a tornado websocket client);
* submits the jobs through the REST API (``POST eo-jlab/processing/{sid}/processes/{pid}/
  execution``, mode async). The service gives each job a schedule when it is created: it
  stays accepted for a while, runs through progress 0, 10 .. 90, then succeeds, the changes
  spread at random over the run;
* measures the server's CPU seconds per minute (/proc, user + system) over a window after
  submission settled, while every job is still being followed, and its resident memory
  before submission and at its peak (``VmHWM``, the whole run);
* matches each job event to the upstream change it shows. The delay of a change is the time
  from the change upstream to the first event showing it (or a later state of the job, when
  the monitor only saw the later one: "superseded").

Prints the monitor settings, one row per job count and the ratios to the smallest count
last. Figures vary between machines and runs; the ratios, measured in one run, are what to
compare. About 7 minutes with the defaults (the 5000 jobs take 3).

    python bench/jobs.py [--jobs 100 1000 5000] [--duration 120] [--big-duration 120]
    python bench/jobs.py --quick          # smoke: 20 jobs over 20 s

The service (``HttpService``, ``Service``, ``Upstream``) is also what bench/event_loop.py
monitors while it measures the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import JupyterServer, percentile  # noqa: E402
from eo_jlab.processing import JOB_SCHEMA_ID  # noqa: E402
from eo_jlab.processing.monitor import JobMonitor  # noqa: E402

SERVICE, PROCESS = "bench", "count"
FINAL = ("successful", "failed", "dismissed")
SUBMIT_CONCURRENCY = 16
SETTLE = 5.0  # seconds after the last submission before the CPU window opens
BIG, BIG_DURATION = 5000, 120.0  # job counts from BIG on run over BIG_DURATION seconds


# --- the loopback OGC API - Processes service (run as `jobs.py --upstream`) ------------------


def schedule(rng: random.Random, duration: float) -> list[tuple[float, str, int | None]]:
    """(seconds after creation, status, progress) of one job's upstream changes.

    The job lives 60..85 % of ``duration``; it is accepted (queued) for 1 s to 40 % of its
    life, then running at progress 0, then 10 .. 90 at random times, then successful.
    """
    life = duration * rng.uniform(0.60, 0.85)
    queued = rng.uniform(min(1.0, life / 10), 0.4 * life)
    steps = sorted(rng.uniform(queued, life) for _ in range(9))
    changes: list[tuple[float, str, int | None]] = [(0.0, "accepted", None)]
    changes.append((queued, "running", 0))
    changes += [(t, "running", 10 * (i + 1)) for i, t in enumerate(steps)]
    changes.append((life, "successful", 100))
    return changes


class HttpService:
    """A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) for loopback services
    run in their own process: a subclass answers ``route`` (a status, a JSON document or
    bytes, extra headers) and may hold an answer back (``delay``). bench/event_loop.py
    reuses it for its slow STAC API."""

    def route(self, method: str, path: str, body: bytes) -> tuple[int, dict | bytes, dict]:
        raise NotImplementedError

    def delay(self, method: str, path: str) -> float:
        """Seconds to wait before answering this request (other connections go on)."""
        return 0.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 with keep-alive: request line, headers, Content-Length body."""
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target, _version = line.decode("latin-1").split(" ", 2)
                headers = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, _, value = header.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if (pause := self.delay(method, target)) > 0:
                    await asyncio.sleep(pause)
                status, doc, extra = self.route(method, target, body)
                payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
                head = [
                    f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}",
                    "Content-Type: application/json",
                    f"Content-Length: {len(payload)}",
                ]
                head += [f"{k}: {v}" for k, v in extra.items()]  # fmt: skip
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def serve(make: Callable[[int], HttpService]) -> None:
    """Serve ``make(port)`` on a free loopback port; print the port (the parent reads it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = await asyncio.start_server(make(port).handle, sock=sock, backlog=4096)
    print(port, flush=True)
    async with server:
        await server.serve_forever()


class Service(HttpService):
    """Jobs whose status is a function of the clock (``time.monotonic``, shared by every
    process on Linux), so the time of each change is known exactly. ``status_delay``
    (seconds, low and high) holds each status answer back a random time in that range."""

    def __init__(
        self, port: int, duration: float, seed: int, status_delay: tuple[float, float] = (0, 0)
    ):
        self.base = f"http://127.0.0.1:{port}"
        self.duration = duration
        self.seed = seed
        self.status_delay = status_delay
        self._delays = random.Random(seed)
        self.jobs: dict[str, tuple[float, list]] = {}  # id -> (created, schedule)
        self.counts = {"status": 0, "results": 0, "execute": 0, "other": 0}

    def delay(self, method: str, path: str) -> float:
        low, high = self.status_delay
        if high <= 0 or method != "GET" or not path.startswith("/jobs/"):
            return 0.0
        return self._delays.uniform(low, high)

    def state(self, job_id: str, at: float) -> tuple[str, int | None]:
        created, changes = self.jobs[job_id]
        current = changes[0]
        for change in changes:
            if created + change[0] <= at:
                current = change
        return current[1], current[2]

    def job_doc(self, job_id: str, status: str, progress: int | None) -> dict:
        message = {"accepted": "Queued.", "successful": "Done."}.get(status, f"At {progress} %.")
        links = [{"href": f"{self.base}/jobs/{job_id}", "rel": "self", "type": "application/json"}]
        if status == "successful":
            links.append({"href": f"{self.base}/jobs/{job_id}/results", "rel": "results",
                          "type": "application/json"})  # fmt: skip
        return {"jobID": job_id, "processID": PROCESS, "type": "process", "status": status,
                "progress": progress, "message": message, "links": links}  # fmt: skip

    def route(self, method: str, path: str, body: bytes) -> tuple[int, dict, dict]:
        now = time.monotonic()
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        if method == "GET" and len(parts) == 2 and parts[0] == "jobs" and parts[1] in self.jobs:
            self.counts["status"] += 1
            return 200, self.job_doc(parts[1], *self.state(parts[1], now)), {}
        if method == "GET" and parts[:1] == ["jobs"] and parts[2:] == ["results"]:
            self.counts["results"] += 1
            if parts[1] not in self.jobs or self.state(parts[1], now)[0] != "successful":
                return 404, {"type": "no-such-job", "detail": "No results (yet)."}, {}
            return 200, {"count": int(parts[1])}, {}
        if method == "POST" and parts == ["processes", PROCESS, "execution"]:
            self.counts["execute"] += 1
            job_id = str(len(self.jobs) + 1)
            rng = random.Random(self.seed * 1_000_003 + int(job_id))
            self.jobs[job_id] = (now, schedule(rng, self.duration))
            location = f"{self.base}/jobs/{job_id}"
            return 201, self.job_doc(job_id, "accepted", None), {"Location": location}
        if method == "GET" and parts == ["_bench", "schedules"]:
            return 200, {k: [created, changes] for k, (created, changes) in self.jobs.items()}, {}
        if method == "GET" and parts == ["_bench", "counts"]:
            return 200, {**self.counts, "at": now, "cpu": time.process_time()}, {}
        self.counts["other"] += 1
        if method == "GET" and not parts:
            return 200, {"title": "Bench processes", "links": [
                {"href": f"{self.base}/processes", "rel": "processes", "type": "application/json"},
            ]}, {}  # fmt: skip
        if method == "GET" and parts == ["conformance"]:
            return 200, {"conformsTo": [
                "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
                "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
            ]}, {}  # fmt: skip
        summary = {"id": PROCESS, "title": "Count", "version": "1.0.0",
                   "jobControlOptions": ["async-execute"]}  # fmt: skip
        if method == "GET" and parts == ["processes"]:
            return 200, {"processes": [summary], "links": []}, {}
        if method == "GET" and parts == ["processes", PROCESS]:
            return 200, {**summary,
                         "inputs": {"n": {"title": "N", "schema": {"type": "integer"}}},
                         "outputs": {"count": {"title": "Count", "schema": {"type": "integer"}}},
                         }, {}  # fmt: skip
        if method == "DELETE" and parts[:1] == ["jobs"] and len(parts) == 2:
            return 200, {"jobID": parts[1], "status": "dismissed"}, {}
        return 404, {"type": "not-found", "detail": f"Nothing at {path}."}, {}


def spawn(argv: list[str]) -> tuple[subprocess.Popen, str]:
    """Start a script that runs ``serve`` (its own process group); the process and its URL."""
    process = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}"


class Upstream:
    """The service above in its own process, so it competes with neither side for the GIL.
    ``status_delay``: see ``Service``."""

    def __init__(self, duration: float, seed: int, status_delay: tuple[float, float] = (0, 0)):
        low, high = status_delay
        self.process, self.url = spawn(
            [__file__, "--upstream", f"--duration={duration}", f"--seed={seed}",
             f"--status-delay={low},{high}"]
        )  # fmt: skip

    def get(self, path: str) -> dict:
        return httpx.get(self.url + path, timeout=30).json()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


# --- the Jupyter server ----------------------------------------------------------------------


def processing_config(service_url: str) -> dict:
    """``EOJLab`` configuration with the loopback service as processing service ``bench``."""
    return {"processing": [{"id": SERVICE, "title": "Bench", "protocol": "ogcapi",
                            "url": service_url}]}  # fmt: skip


def memory(server: JupyterServer, field: str = "VmRSS") -> float:
    """MiB of the server process: ``VmRSS`` now, ``VmHWM`` its peak so far."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB$", status, re.M).group(1)) / 1024


# --- one run -----------------------------------------------------------------------------


class Subscriber:
    """The event bus websocket; keeps (arrival time, job event) for eo_jlab job events."""

    def __init__(self) -> None:
        self.events: list[tuple[float, dict]] = []
        self.finals: set[str] = set()

    async def run(self, server: JupyterServer) -> None:
        url = server.base.replace("http://", "ws://") + "api/events/subscribe"
        self.connection = await websocket_connect(HTTPRequest(url, headers=server.headers))
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while (message := await self.connection.read_message()) is not None:
            arrived = time.monotonic()
            data = json.loads(message)
            if data.get("schema_id") == JOB_SCHEMA_ID:
                self.events.append((arrived, data))
                if data["status"] in FINAL:
                    self.finals.add(data["job_id"])

    def close(self) -> None:
        self.connection.close()
        self._reader.cancel()


async def sample_status(client: httpx.AsyncClient, url: str, until: float) -> list[float]:
    latencies = []
    while time.monotonic() < until:
        started = time.perf_counter()
        (await client.get(url)).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.25)
    return latencies


async def measure(count: int, duration: float, seed: int) -> dict:
    upstream = Upstream(duration, seed)
    tmp = tempfile.TemporaryDirectory()
    server = JupyterServer(Path(tmp.name), processing_config(upstream.url))
    subscriber = Subscriber()
    try:
        await subscriber.run(server)
        limits = httpx.Limits(max_connections=SUBMIT_CONCURRENCY + 4)
        async with httpx.AsyncClient(headers=server.headers, limits=limits, timeout=60) as client:
            # Idle CPU: the server with its websocket subscriber, nothing to follow.
            await asyncio.sleep(1.0)
            idle_from, idle_cpu = time.monotonic(), server.cpu()
            await asyncio.sleep(5.0)
            idle = (server.cpu() - idle_cpu) / (time.monotonic() - idle_from) * 60
            rss_start = memory(server)

            execution = (f"{server.base}eo-jlab/processing/{SERVICE}/processes/{PROCESS}"
                         "/execution")  # fmt: skip
            remote_of: dict[str, str] = {}
            slots = asyncio.Semaphore(SUBMIT_CONCURRENCY)

            async def submit(n: int) -> None:
                async with slots:
                    answer = await client.post(execution, json={"inputs": {"n": n},
                                                                "mode": "async"})  # fmt: skip
                if answer.status_code != 201:
                    raise SystemExit(f"submission {n}: HTTP {answer.status_code} {answer.text}")
                job = answer.json()
                remote_of[job["id"]] = job["remote"]["job_id"]

            submit_from = time.monotonic()
            await asyncio.gather(*(submit(n) for n in range(count)))
            submitted = time.monotonic()
            schedules = upstream.get("/_bench/schedules")
            first_final = min(created + changes[-1][0] for created, changes in schedules.values())
            last_final = max(created + changes[-1][0] for created, changes in schedules.values())

            # The CPU window: from submission settled until the first job ends upstream.
            window_from = submitted + SETTLE
            window_to = max(first_final - 0.5, window_from + 2.0)
            await asyncio.sleep(max(0.0, window_from - time.monotonic()))
            cpu_from, counts_from = server.cpu(), upstream.get("/_bench/counts")
            written_from = server.written()
            window_from = time.monotonic()
            status_ms = await sample_status(client, f"{server.base}api/status", window_to)
            cpu_to, counts_to = server.cpu(), upstream.get("/_bench/counts")
            written = server.written() - written_from
            window = time.monotonic() - window_from

            # Then every job to its end: until each final event arrived, or well past the last
            # upstream end (the longest poll interval, or the budget's round through every
            # job if longer, plus a margin).
            budget_round = count / monitor_default("polls_per_second")
            deadline = last_final + max(monitor_default("max_interval"), 1.5 * budget_round) + 15
            while len(subscriber.finals) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.5)
            listed = (await client.get(f"{server.base}eo-jlab/jobs")).json()["jobs"]
            rss_peak, rss_end = memory(server, "VmHWM"), memory(server)
    finally:
        subscriber.close()
        server.stop()
        upstream.stop()
        tmp.cleanup()

    delays, superseded, missing = match(subscriber.events, remote_of, schedules)
    statuses = [j["status"] for j in listed if j["id"] in remote_of]
    polls = counts_to["status"] - counts_from["status"]
    return {
        "jobs": count,
        "submit": submitted - submit_from,
        "window": window,
        "cpu": (cpu_to - cpu_from) / window * 60,
        "idle": idle,
        "writes": written / window * 60 / 1e6,
        "polls": polls / window,
        "upstream_cpu": (counts_to["cpu"] - counts_from["cpu"]) / window * 60,
        "rss_start": rss_start,
        "rss_peak": rss_peak,
        "rss_end": rss_end,
        "duration": duration,
        "status_ms": status_ms,
        "delays": delays,
        "superseded": superseded,
        "missing": missing,
        "successful": statuses.count("successful"),
        "events": len(subscriber.events),
    }


def monitor_default(name: str):
    return inspect.signature(JobMonitor.__init__).parameters[name].default


def match(
    events: list[tuple[float, dict]], remote_of: dict[str, str], schedules: dict
) -> tuple[list[float], int, int]:
    """Per upstream change (after creation): seconds until the first event of that job
    showing it or a later state. Returns the delays, how many changes were only seen
    through a later state (superseded), and how many were never announced (missing)."""
    seen: dict[str, list[tuple[float, int]]] = {}
    for arrived, data in events:
        remote = remote_of.get(data["job_id"])
        if remote is None:
            continue
        _created, changes = schedules[remote]
        for index, (_t, status, progress) in enumerate(changes):
            if status == data["status"] and (status != "running" or progress == data["progress"]):
                seen.setdefault(remote, []).append((arrived, index))
                break
        else:
            raise SystemExit(f"event matches no upstream state: {data}")
    delays: list[float] = []
    superseded = missing = 0
    for remote, (created, changes) in schedules.items():
        arrivals = seen.get(remote, [])
        for index in range(1, len(changes)):
            first = next(((t, i) for t, i in arrivals if i >= index), None)
            if first is None:
                missing += 1
                continue
            delays.append(first[0] - (created + changes[index][0]))
            superseded += first[1] != index
    return delays, superseded, missing


# --- report ------------------------------------------------------------------------------


def monitor_settings() -> str:
    params = inspect.signature(JobMonitor.__init__).parameters.values()
    found = [f"{p.name}={p.default:g}" for p in params if p.kind is p.KEYWORD_ONLY]
    return ", ".join(found)


COLUMNS = [  # heading, width, value of a run
    ("jobs", 5, lambda r: f"{r['jobs']}"),
    ("submit s", 9, lambda r: f"{r['submit']:.1f}"),
    ("window s", 9, lambda r: f"{r['window']:.1f}"),
    ("CPU s/min", 10, lambda r: f"{r['cpu']:.2f}"),
    ("idle", 6, lambda r: f"{r['idle']:.2f}"),
    ("polls/s", 8, lambda r: f"{r['polls']:.1f}"),
    ("MB/min", 8, lambda r: f"{r['writes']:.1f}"),
    ("changes", 8, lambda r: f"{len(r['delays'])}"),
    ("supers.", 8, lambda r: f"{r['superseded']}"),
    ("miss", 5, lambda r: f"{r['missing']}"),
    ("p50 s", 7, lambda r: f"{percentile(r['delays'], 50):.2f}"),
    ("p95 s", 7, lambda r: f"{percentile(r['delays'], 95):.2f}"),
    ("max s", 7, lambda r: f"{max(r['delays']):.2f}"),
    ("status p95 ms", 14, lambda r: f"{percentile(r['status_ms'], 95):.1f}"),
    ("RSS MiB", 8, lambda r: f"{r['rss_start']:.0f}"),
    ("peak", 6, lambda r: f"{r['rss_peak']:.0f}"),
    ("svc CPU", 8, lambda r: f"{r['upstream_cpu']:.2f}"),
    ("ok", 6, lambda r: f"{r['successful']}"),
]
LEGEND = (
    "CPU s/min: server CPU over the window; idle: the same before submission; polls/s: status "
    "requests upstream; MB/min: written by the server (its job store, mostly); changes: "
    "upstream changes after creation; supers.: of them, first shown by a later state; miss: "
    "never shown; p50/p95/max: delay from an upstream change to the event; status p95: GET "
    "/api/status over the window; RSS MiB: server resident memory before submission; peak: "
    "its peak (VmHWM) over the run; svc CPU: the loopback service's CPU s/min over the "
    "window (its own process); ok: jobs successful in GET jobs at the end"
)


def report(runs: list[dict]) -> None:
    import jupyter_server

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"jupyter_server {jupyter_server.__version__}")  # fmt: skip
    print(f"monitor (JobMonitor defaults, as Jobs builds it): {monitor_settings()}")
    durations = sorted({r["duration"] for r in runs}, reverse=True)
    print("schedule: each job lives 60-85 % of the run's duration ("
          + ", ".join(f"{d:g} s for {', '.join(str(r['jobs']) for r in runs if r['duration'] == d)}"
                      f" jobs" for d in durations)
          + "): accepted for up to 40 % of its life, running at progress 0, 10 .. 90 at random "
          "times, then successful")  # fmt: skip
    if len(durations) > 1:
        print(f"(lives shortened to {durations[-1]:g} s for the largest job count, so the whole "
              "script stays within a few minutes)")  # fmt: skip
    print(f"({LEGEND})")
    print("".join(f"{name:>{width}}" for name, width, _ in COLUMNS))
    for run in runs:
        print("".join(f"{value(run):>{width}}" for _, width, value in COLUMNS))
    small = runs[0]
    for big in runs[1:]:
        ratios = {
            "CPU": big["cpu"] / small["cpu"],
            "polls": big["polls"] / small["polls"],
            "peak RSS": big["rss_peak"] / small["rss_peak"],
            "p50 delay": percentile(big["delays"], 50) / percentile(small["delays"], 50),
            "p95 delay": percentile(big["delays"], 95) / percentile(small["delays"], 95),
            "max delay": max(big["delays"]) / max(small["delays"]),
        }
        print(f"ratios {big['jobs']}/{small['jobs']} jobs (x{big['jobs'] / small['jobs']:g} "
              "jobs): " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument(
        "--duration",
        type=float,
        default=120.0,
        help="seconds over which each job count runs (jobs end by 85 %%)",
    )
    parser.add_argument(
        "--big-duration",
        type=float,
        default=BIG_DURATION,
        help=f"--duration for job counts of {BIG} and more",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke: 20 jobs over 20 s")
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--status-delay", default="0,0", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        delay = tuple(float(x) for x in args.status_delay.split(","))
        asyncio.run(serve(lambda port: Service(port, args.duration, args.seed, delay)))
        return 0
    if args.quick:
        args.jobs, args.duration = [20], 20.0
    runs = []
    for count in args.jobs:
        duration = args.big_duration if count >= BIG else args.duration
        runs.append(asyncio.run(measure(count, duration, args.seed)))
        failures = count - runs[-1]["successful"]
        if failures:
            print(f"{failures} of {count} jobs did not end successful", file=sys.stderr)
    report(runs)
    return 0 if all(r["successful"] == r["jobs"] and not r["missing"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
