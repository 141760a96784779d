"""Fault suite (issue 6): real components on loopback, upstreams and the server failing.

* an upstream that dies in the middle of a search answer, then comes back;
* an OGC API - Processes service stopped under a running job (comes back / never does);
* upstreams that are slow, garble their XML or JSON, or answer with HTML error pages, and
  garbled job status documents (retried, not fatal);
* the Jupyter server killed with SIGKILL under 100 running jobs, then restarted;
* a disk that fills up while a share is written (a real 2 MiB tmpfs, in a mount namespace).

The misbehaving services are tests/servers/faulty.py (one threaded HTTP server that can be
stopped and started again on the same port). Nothing here asserts a duration: deadlines only
stop a test that would otherwise hang.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .servers.faulty import Faulty
from .test_jobs_restart import JupyterServer

TIMEOUT = 2.0  # c.EOJLab.request_timeout of the slow-upstream tests
ROOMY_TIMEOUT = 20.0  # the other tests': a loaded machine must not turn them into 504s
FINAL = ("successful", "failed", "dismissed")


@pytest.fixture
def faulty():
    server = Faulty().start()
    yield server
    server.close()


@pytest.fixture
def eo_config(faulty, request) -> dict:
    slow = request.node.name.startswith("test_slow_upstreams")
    return {
        "catalogues": [{"id": "stac", "title": "Faulty STAC", "protocol": "stac",
                        "url": faulty.url("/stac/")}],
        "processing": [
            {"id": "ades", "title": "Faulty OGC API", "protocol": "ogcapi",
             "url": faulty.url("/ogc")},
            {"id": "wps", "title": "Faulty WPS", "protocol": "wps", "url": faulty.url("/wps")},
        ],
        "request_timeout": TIMEOUT if slow else ROOMY_TIMEOUT,
    }  # fmt: skip


@pytest.fixture
def monitor(jp_serverapp):
    """The server's job monitor, polling often (and giving up after an hour unless a test
    says otherwise), so a test sees several polls in a few seconds."""
    jobs_monitor = jp_serverapp.web_app.settings["eo_jlab_services"].jobs.monitor
    jobs_monitor.min_interval, jobs_monitor.max_interval = 0.1, 0.4
    return jobs_monitor


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def monitor_log():
    """Lines the job monitor logs (one per failed status check it will retry)."""
    logger = logging.getLogger("eo_jlab.processing.monitor")
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def call(jp_fetch):
    async def request(*path, method="GET", body=None):
        response = await jp_fetch(
            "eo-jlab", *path, method=method, raise_error=False,
            body=json.dumps(body) if body is not None else None,
        )  # fmt: skip
        text = response.body.decode()
        return response.code, json.loads(text), text

    return request


def assert_sentence(status: int, body: dict, text: str, expected: int, *names: str) -> None:
    """A contract error: the status, one human sentence naming the service, no internals."""
    assert status == expected, text
    assert set(body) == {"error", "details"}, text
    error = body["error"]
    assert isinstance(error, str) and error.endswith(".") and "\n" not in error, error
    assert any(name in error for name in names), (error, names)
    assert "<" not in error, error  # an HTML error page is read, not pasted
    for leak in ("Traceback", 'File "', "Error:", "httpx", "httpcore", "lxml", "json.decoder"):
        assert leak not in text, text


async def until(check, timeout: float = 60.0, every: float = 0.1):
    """Wait until ``await check()`` is truthy and return it (a guard, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last value: {value!r}"
        await asyncio.sleep(every)


async def job_in(call, job_id: str, statuses) -> dict | None:
    status, job, text = await call("jobs", job_id)
    assert status == 200, text
    return job if job["status"] in statuses else None


def failures(lines: list[str], job_id: str) -> int:
    return sum(1 for line in lines if job_id in line and "retrying" in line)


SEARCH = {"collections": ["sentinel-2-l2a"], "bbox": [10, 45, 11, 46], "limit": 5}


# --- 1. an upstream killed mid-search -----------------------------------------------------


async def test_upstream_killed_mid_search_then_back(call, faulty):
    status, page, text = await call("catalogues", "stac", "search", method="POST", body=SEARCH)
    assert status == 200 and [f["id"] for f in page["features"]] == ["S2A_TILE_1"], text

    faulty.faults["stac_search"] = "die"  # headers, half a body, then the service is gone
    status, body, text = await call("catalogues", "stac", "search", method="POST", body=SEARCH)
    assert_sentence(status, body, text, 502, f"127.0.0.1:{faulty.port}", "'stac'")
    assert "broke while reading" in body["error"], body  # not "could not connect"

    status, body, text = await call("catalogues", "stac", "search", method="POST", body=SEARCH)
    assert_sentence(status, body, text, 502, f"127.0.0.1:{faulty.port}")  # still down

    faulty.start()  # back, same port
    status, page, text = await call("catalogues", "stac", "search", method="POST", body=SEARCH)
    assert status == 200 and [f["id"] for f in page["features"]] == ["S2A_TILE_1"], text


# --- 2. an upstream killed mid-job ----------------------------------------------------------


async def _running_job(call, service: str) -> dict:
    status, job, text = await call(
        "processing", service, "processes", "count", "execution", method="POST",
        body={"inputs": {"n": 7}, "mode": "async"},
    )  # fmt: skip
    assert status == 201, text
    return await until(lambda: job_in(call, job["id"], ("running",)))


async def test_job_survives_its_service_going_away_and_coming_back(
    call, faulty, monitor, monitor_log
):
    job = await _running_job(call, "ades")
    faulty.stop()
    # Polled again and again while the service is away: failures logged, the job unchanged.
    await until(lambda: asyncio.sleep(0, failures(monitor_log, job["id"]) >= 4))
    assert job["id"] in monitor.watched
    status, listed, text = await call("jobs")
    assert status == 200 and job["id"] in {j["id"] for j in listed["jobs"]}, text
    assert await job_in(call, job["id"], ("running",)), "failed at once"

    faulty.open_gate()
    faulty.start()  # same port, same job table: the job finishes there
    final = await until(lambda: job_in(call, job["id"], FINAL))
    assert final["status"] == "successful", final
    assert [(r["id"], r["value"]) for r in final["results"]] == [("count", 7)], final
    assert final["remote"]["job_id"] in faulty.jobs and faulty.executions == 1  # not resubmitted


async def test_job_fails_with_a_sentence_when_its_service_never_comes_back(
    call, faulty, monitor, monitor_log
):
    monitor.give_up_after = 3.0
    job = await _running_job(call, "ades")
    faulty.stop()
    final = await until(lambda: job_in(call, job["id"], FINAL))
    assert final["status"] == "failed", final
    assert failures(monitor_log, job["id"]) >= 2, "not retried before giving up"
    message = final["message"]
    assert message.startswith("The service stopped answering:"), message
    assert f"127.0.0.1:{faulty.port}" in message and message.endswith("."), message
    assert "Traceback" not in message
    assert job["id"] not in monitor.watched


# --- 3. slow, garbled and HTML-answering upstreams ------------------------------------------

STAC_SEARCH = ("catalogues", "stac", "search")
OGC_PROCESSES = ("processing", "ades", "processes")
WPS_PROCESSES = ("processing", "wps", "processes")
WPS_DESCRIBE = ("processing", "wps", "processes", "count")


async def _bad_answer(call, faulty, route, fault, path, expected) -> dict:
    faulty.faults[route] = fault
    search = path == STAC_SEARCH
    status, body, text = await call(
        *path, method="POST" if search else "GET", body=SEARCH if search else None
    )
    assert_sentence(status, body, text, expected, f"127.0.0.1:{faulty.port}", "'stac'")
    assert faulty.hits.get(route), "the faulty route was never asked"

    faulty.faults.clear()  # the service recovers: so does eo_jlab, nothing was cached broken
    status, _, text = await call(
        *path, method="POST" if search else "GET", body=SEARCH if search else None
    )
    assert status == 200, text
    return body


@pytest.mark.parametrize(
    ("route", "path"), [("stac_search", STAC_SEARCH), ("wps_capabilities", WPS_PROCESSES)]
)
async def test_slow_upstreams_are_504_sentences(call, faulty, route, path):
    body = await _bad_answer(call, faulty, route, "slow", path, 504)
    assert f"within {TIMEOUT:g} seconds" in body["error"], body


@pytest.mark.parametrize(
    ("route", "fault", "path", "expected"),
    [
        ("stac_search", "garbled", STAC_SEARCH, 502),
        ("ogc_processes", "garbled", OGC_PROCESSES, 502),
        ("wps_capabilities", "garbled", WPS_PROCESSES, 502),
        ("wps_describe", "garbled", WPS_DESCRIBE, 502),
        ("stac_search", "html", STAC_SEARCH, 502),
        ("ogc_processes", "html", OGC_PROCESSES, 502),
        ("wps_capabilities", "html", WPS_PROCESSES, 502),
        ("wps_describe", "html", WPS_DESCRIBE, 502),
    ],
)
async def test_bad_upstream_answers_are_sentences(call, faulty, route, fault, path, expected):
    await _bad_answer(call, faulty, route, fault, path, expected)


@pytest.mark.parametrize(
    ("service", "route", "fault"),
    [("ades", "ogc_status", "garbled"), ("ades", "ogc_status", "html"),
     ("wps", "wps_status", "garbled"), ("wps", "wps_status", "html")],
)  # fmt: skip
async def test_bad_job_status_documents_are_retried(
    call, faulty, monitor, monitor_log, service, route, fault
):
    job = await _running_job(call, service)
    faulty.faults[route] = fault
    await until(lambda: asyncio.sleep(0, failures(monitor_log, job["id"]) >= 3))
    assert await job_in(call, job["id"], ("running",)), "a bad status document was fatal"
    assert job["id"] in monitor.watched

    faulty.faults.clear()
    faulty.open_gate()
    final = await until(lambda: job_in(call, job["id"], FINAL))
    assert final["status"] == "successful", final
    assert [(r["id"], r["value"]) for r in final["results"]] == [("count", 7)], final


# --- 4. the Jupyter server killed (SIGKILL) under 100 running jobs --------------------------

JOBS = 100


def test_server_killed_under_100_jobs_loses_and_duplicates_nothing(tmp_path):
    upstream = Faulty().start()
    upstream.duration = 3.0  # once the gate opens, each job runs 3 s more
    server = JupyterServer(tmp_path, upstream.url("/ogc"))
    try:
        server.start()

        def submit(n: int) -> str:
            answer = server.post("eo-jlab/processing/ades/processes/count/execution",
                                 {"inputs": {"n": n}, "mode": "async"})  # fmt: skip
            assert answer.status_code == 201, answer.text
            return answer.json()["id"]

        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(submit, range(JOBS)))
        assert len(set(ids)) == JOBS
        # The monitor is at work (progress changes on every poll: the store is being written).
        deadline = time.monotonic() + 60
        while sum(job["polls"] for job in upstream.jobs.values()) < JOBS:
            assert time.monotonic() < deadline, "the jobs were never polled"
            time.sleep(0.2)

        os.killpg(server.process.pid, signal.SIGKILL)  # no shutdown, no cleanup
        server.process.wait(timeout=30)
        upstream.open_gate()
        server.start()  # same data dir

        deadline = time.monotonic() + 120
        while True:
            jobs = server.get("eo-jlab/jobs").json()["jobs"]
            if len(jobs) == JOBS and all(job["status"] in FINAL for job in jobs):
                break
            assert time.monotonic() < deadline, (
                sorted({job["status"] for job in jobs}),
                len(jobs),
                server.log(),
            )
            time.sleep(0.5)
    finally:
        server.stop()
        upstream.close()

    assert sorted(job["id"] for job in jobs) == sorted(ids)
    assert {job["status"] for job in jobs} == {"successful"}, server.log()
    assert sorted(job["results"][0]["value"] for job in jobs) == list(range(JOBS))
    remote = [job["remote"]["job_id"] for job in jobs]
    assert len(set(remote)) == JOBS and set(remote) == set(upstream.jobs)
    assert upstream.executions == JOBS  # nothing submitted twice
    assert f"following {JOBS} unfinished job" in server.log()
    # The store itself: exactly one row per job, nothing half written.
    db = sqlite3.connect(tmp_path / "data" / "eo_jlab" / "jobs.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT id, status FROM jobs").fetchall()
    finally:
        db.close()
    assert sorted(rows) == sorted((i, "successful") for i in ids)


# --- 5. a full disk while a share is written ----------------------------------------------

FULL_DISK = r"""
import json, os, sys
from pathlib import Path

import eo_jlab.sharing.store as store_module
from eo_jlab.sharing.store import Caller, ShareStore

root, work = Path(sys.argv[1]), Path(sys.argv[2])
out = {}
store = ShareStore(root / "store", quota_bytes=100 << 20)
alice = Caller("alice")
small = work / "small"
small.mkdir()
(small / "a.txt").write_bytes(os.urandom(100_000))
kept = store.create(alice, small, {"users": ["bob"]})
out["usage_before"] = store.usage("alice")

def tree():
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

out["tree_before"] = tree()
out["df_before"] = os.statvfs(root).f_bfree
big = work / "big"
big.mkdir()
for i in range(6):
    (big / f"part-{i}.bin").write_bytes(os.urandom(600_000))  # 3.6 MB > the 2 MiB disk
try:
    store.create(alice, big, {"public": True}, message="too big")
    out["error"] = None
except Exception as exc:
    out["error"] = type(exc).__name__
    out["status"] = getattr(exc, "status", None)
    out["message"] = getattr(exc, "message", str(exc))
out["tree_after"] = tree()
try:  # a new version of the kept share, too big as well
    store.new_version(alice, kept["id"], big, message="too big")
    out["version_error"] = None
except Exception as exc:
    out["version_error"] = type(exc).__name__
    out["version_message"] = getattr(exc, "message", str(exc))
out["tree_after_version"] = tree()
out["kept_version"] = store.get(alice, kept["id"])["version"]

# A version whose content fills the disk exactly: the copy succeeds, the manifest write fails
# (seen, not caused, by the wrapper), and the version folder already in place must go.
manifest_errors = []
write_manifest = store_module._write_json_atomic


def watched_write(path, data):
    try:
        return write_manifest(path, data)
    except OSError as exc:
        manifest_errors.append(exc.errno)
        raise


store_module._write_json_atomic = watched_write
st = os.statvfs(root)
fit = work / "fit"
fit.mkdir()
(fit / "a.txt").write_bytes(os.urandom(st.f_bavail * st.f_frsize))
try:
    store.new_version(alice, kept["id"], fit, message="exactly full")
    out["fit_error"] = None
except Exception as exc:
    out["fit_error"] = type(exc).__name__
store_module._write_json_atomic = write_manifest
out["manifest_errors"] = manifest_errors
out["tree_after_fit"] = tree()
out["fit_version"] = store.get(alice, kept["id"])["version"]
out["df_after"] = os.statvfs(root).f_bfree
out["usage_after"] = store.usage("alice")
out["reserved"] = dict(store._reserved)
out["listed"] = [s["id"] for s in store.list(alice, "by-me")]
out["kept"] = kept["id"]
out["bob_sees"] = [s["id"] for s in store.list(Caller("bob"), "with-me")]
# The same store still works once there is room again.
again = store.create(alice, small, {"public": True}, message="after")
out["after_ok"] = store.get(alice, again["id"])["files"]
out["next_version"] = store.new_version(alice, kept["id"], small, message="room again")["version"]
print(json.dumps(out))
"""


def _namespaced(tmp_path: Path) -> list[str] | None:
    """A command prefix that runs its command in a private mount namespace with a 2 MiB
    tmpfs mounted on ``tmp_path/disk``; None when this machine allows neither way."""
    disk = tmp_path / "disk"
    disk.mkdir(exist_ok=True)
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for flags in (["-m"], ["-r", "-m"]):
        prefix = [unshare, *flags, "sh", "-c",
                  f'mount -t tmpfs -o size=2m tmpfs "{disk}" && exec "$0" "$@"']  # fmt: skip
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return prefix
    return None


def test_full_disk_while_sharing_leaves_nothing_behind(tmp_path):
    prefix = _namespaced(tmp_path)
    if prefix is None:
        pytest.skip("cannot mount a small tmpfs here (unshare -m / unshare -rm both refused)")
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [*prefix, sys.executable, "-c", FULL_DISK, str(tmp_path / "disk"), str(work)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # A clear error, not an OSError with a traceback: a 409 Conflict sentence.
    assert out["error"] == "Conflict" and out["status"] == 409, out
    message = out["message"]
    assert "space" in message and message.endswith(".") and "Errno" not in message, message
    # Nothing half written: no manifest, no version folder, no temporary file or folder.
    assert out["tree_after"] == out["tree_before"], out
    assert out["version_error"] == "Conflict" and "space" in out["version_message"], out
    assert out["tree_after_version"] == out["tree_before"] and out["kept_version"] == 1, out
    assert out["df_after"] == out["df_before"], out
    # The other share is still there for its owner and recipient; accounting unchanged.
    assert out["listed"] == [out["kept"]] and out["bob_sees"] == [out["kept"]], out
    assert out["usage_after"] == out["usage_before"] and out["reserved"] == {}, out
    # Disk full at the manifest write: the version folder already renamed in is removed.
    assert out["manifest_errors"] == [errno.ENOSPC] and out["fit_error"] == "Conflict", out
    assert out["tree_after_fit"] == out["tree_before"] and out["fit_version"] == 1, out
    assert out["after_ok"] == ["a.txt"] and out["next_version"] == 2, out
