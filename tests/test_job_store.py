"""The SQLite job store: records, transitions, persistence, bounded exchange, crash safety."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eo_jlab.errors import NotFound
from eo_jlab.processing.base import Exchange, RemoteJob, Result
from eo_jlab.processing.jobs import EXCHANGE_LIMIT, JobStore


@pytest.fixture
def store(tmp_path):
    jobs = JobStore(tmp_path / "jobs.sqlite")
    yield jobs
    jobs.close()


def accepted(url="http://wps.example/status/1.xml"):
    return RemoteJob(status="accepted", status_url=url, job_id="r1")


async def test_create_get_list(store):
    first = await store.create("wps", "slow", {"n": 3}, accepted(), [])
    await asyncio.sleep(0.01)
    second = await store.create("ades", "echo", {}, RemoteJob(status="successful"), [])
    assert (await store.get(first.id)).inputs == {"n": 3}
    assert first.remote == {"status_url": "http://wps.example/status/1.xml", "job_id": "r1"}
    assert first.finished is None and second.finished is not None
    assert [j.id for j in await store.list()] == [second.id, first.id]  # newest first
    assert [j.id for j in await store.list("accepted")] == [first.id]
    assert [j.id for j in await store.unfinished()] == [first.id]
    with pytest.raises(NotFound, match="There is no job 'nope'."):
        await store.get("nope")


async def test_transitions_and_final_states_stay_final(store):
    job = await store.create("wps", "slow", {}, accepted(), [])
    job = await store.update(job.id, RemoteJob(status="running", progress=40, message="half"), [])
    assert (job.status, job.progress, job.message) == ("running", 40, "half")
    assert job.remote["status_url"].endswith("1.xml")  # kept when a snapshot omits it
    done = RemoteJob(
        status="successful",
        progress=100,
        results=[Result(id="out", href="http://wps.example/out.tif")],
    )
    job = await store.update(job.id, done, [])
    assert job.status == "successful" and job.finished and job.results[0].href.endswith(".tif")
    again = await store.update(job.id, RemoteJob(status="running", progress=10), [])
    assert again.status == "successful" and again.progress == 100
    dismissed = await store.mark(job.id, "dismissed", "by the user")
    assert dismissed.status == "successful"  # a finished job is not dismissed afterwards


async def test_jobs_survive_reopening(tmp_path):
    path = tmp_path / "jobs.sqlite"
    first = JobStore(path)
    job = await first.create("wps", "slow", {"a": 1}, accepted(), [])
    first.close()
    second = JobStore(path)
    try:
        assert [j.id for j in await second.unfinished()] == [job.id]
        assert (await second.get(job.id)).remote_job().status_url.endswith("1.xml")
    finally:
        second.close()


async def test_exchange_is_kept_and_bounded(store):
    job = await store.create(
        "wps", "p", {}, accepted(), [Exchange(method="POST", url="http://w/", request_body="<x/>")]
    )
    big = "x" * 60_000
    for _ in range(6):
        await store.update(
            job.id,
            RemoteJob(status="running"),
            [Exchange(method="GET", url="http://w/s", response_body=big)],
        )
    exchange = await store.exchange(job.id)
    assert len(json.dumps(exchange)) <= EXCHANGE_LIMIT
    assert exchange[-1]["response_body"] == big  # the newest are kept


async def test_the_oldest_entries_go_first(store):
    job = await store.create(
        "ades", "p", {}, accepted(), [Exchange(method="POST", url="http://w/0")]
    )
    for i in range(1, 1000):
        poll = Exchange(method="GET", url=f"http://w/{i}", status=200, response_body="z" * 300)
        await store.update(job.id, RemoteJob(status="running"), [poll])
    exchange = await store.exchange(job.id)
    assert len(json.dumps(exchange)) <= EXCHANGE_LIMIT < len(json.dumps(exchange)) + 400
    urls = [e["url"] for e in exchange]
    assert urls == [f"http://w/{i}" for i in range(1000 - len(urls), 1000)]
    huge = Exchange(method="GET", url="http://w/huge", response_body="h" * (EXCHANGE_LIMIT + 1))
    await store.update(job.id, RemoteJob(status="running"), [huge])
    assert [e["url"] for e in await store.exchange(job.id)] == ["http://w/huge"]  # kept alone


def _written() -> int:
    """Bytes this process has passed to write(2) (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


async def test_an_update_writes_its_own_entry_not_the_whole_history(store):
    """With a full history (EXCHANGE_LIMIT), a poll writes a few pages, not the history again:
    a thousand followed jobs would otherwise write hundreds of MB a minute."""
    job = await store.create("ades", "p", {}, accepted(), [])

    def poll(progress: int) -> list[Exchange]:
        body = json.dumps({"status": "running", "progress": progress, "pad": "y" * 400})
        return [Exchange(method="GET", url="http://w/jobs/1", status=200, response_body=body)]

    for i in range(500):
        await store.update(job.id, RemoteJob(status="running", progress=i % 100), poll(i % 100))
    assert len(json.dumps(await store.exchange(job.id))) > 0.9 * EXCHANGE_LIMIT
    before = _written()
    for i in range(200):
        await store.update(job.id, RemoteJob(status="running", progress=i % 100), poll(i % 100))
    per_update = (_written() - before) / 200
    assert per_update < EXCHANGE_LIMIT / 2, per_update  # it was over EXCHANGE_LIMIT


LEGACY_SCHEMA = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, service TEXT NOT NULL, process TEXT NOT NULL, status TEXT NOT NULL,
    progress INTEGER, message TEXT NOT NULL DEFAULT '', created TEXT NOT NULL,
    updated TEXT NOT NULL, finished TEXT, inputs TEXT NOT NULL,
    results TEXT NOT NULL DEFAULT '[]', error TEXT, remote TEXT NOT NULL DEFAULT '{}',
    exchange TEXT NOT NULL DEFAULT '[]'
);
"""


async def test_a_store_of_an_earlier_version_is_moved_over(tmp_path):
    """Stores written before the exchange table kept each job's exchange as a JSON column."""
    path = tmp_path / "jobs.sqlite"
    entries = [
        {"method": "POST", "url": "http://w/run", "request_body": "{}", "status": 201,
         "response_body": None},
        {"method": "GET", "url": "http://w/jobs/1", "request_body": None, "status": 200,
         "response_body": '{"status": "running"}'},
    ]  # fmt: skip
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.execute(
            "INSERT INTO jobs (id, service, process, status, progress, created, updated, inputs,"
            " remote, exchange) VALUES ('old', 'ades', 'p', 'running', 20, '2026-01-01T00:00:00Z',"
            " '2026-01-01T00:00:05Z', '{}', ?, ?)",
            (json.dumps({"status_url": "http://w/jobs/1", "job_id": "1"}), json.dumps(entries)),
        )
    db.close()
    store = JobStore(path)
    try:
        assert [j.id for j in await store.unfinished()] == ["old"]
        assert await store.exchange("old") == entries
        poll = Exchange(method="GET", url="http://w/jobs/1", status=200, response_body="{}")
        job = await store.update("old", RemoteJob(status="running", progress=40), [poll])
        assert job.progress == 40 and job.remote["status_url"] == "http://w/jobs/1"
        created = await store.create("ades", "p", {}, accepted(), [poll])
        assert len(await store.exchange(created.id)) == 1
    finally:
        store.close()
    again = JobStore(path)  # opening again moves nothing twice
    try:
        assert [e["method"] for e in await again.exchange("old")] == ["POST", "GET", "GET"]
    finally:
        again.close()


async def test_concurrent_updates_leave_valid_records(store):
    jobs = [await store.create("wps", f"p{i}", {}, accepted(), []) for i in range(10)]

    async def churn(job_id):
        for progress in range(0, 100, 5):
            await store.update(job_id, RemoteJob(status="running", progress=progress), [])

    await asyncio.gather(*(churn(j.id) for j in jobs for _ in range(3)))
    for job in await store.list():
        assert job.status == "running" and job.progress == 95


WRITER = """
import asyncio, sys
from eo_jlab.processing.base import RemoteJob
from eo_jlab.processing.jobs import JobStore

async def main():
    store = JobStore(sys.argv[1])
    print("ready", flush=True)
    while True:
        job = await store.create("wps", "p", {"k": "v" * 500}, RemoteJob(status="accepted"), [])
        await store.update(job.id, RemoteJob(status="running", progress=50), [])

asyncio.run(main())
"""


async def test_kill_9_mid_write_leaves_no_half_record(tmp_path):
    path = tmp_path / "jobs.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(1.0)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    store = JobStore(path)
    try:
        jobs = await store.list()
        assert len(jobs) > 10
        for job in jobs:
            assert job.inputs == {"k": "v" * 500}
            assert job.status in ("accepted", "running")
    finally:
        store.close()


async def test_update_many_writes_in_one_transaction(store):
    first = await store.create("wps", "slow", {}, accepted(), [])
    second = await store.create("wps", "slow", {}, accepted(), [])
    await store.mark(second.id, "dismissed", "gone")
    entry = Exchange(method="GET", url="http://wps.example/status/1.xml", status=200)
    results = await store.update_many([
        (first.id, RemoteJob(status="running", progress=30, message="m"), [entry]),
        (second.id, RemoteJob(status="running", progress=30), []),
        ("nope", RemoteJob(status="running"), [entry]),
    ])  # fmt: skip
    assert (results[0].status, results[0].progress, results[0].message) == ("running", 30, "m")
    assert results[0] == await store.get(first.id)  # what it returns is what was written
    assert results[1].status == "dismissed"  # final states stay final
    assert isinstance(results[2], NotFound)
    assert len(await store.exchange(first.id)) == 1
