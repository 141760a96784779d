"""JobMonitor against a real OGC API - Processes server (pygeoapi): follows jobs to their end,
announces each change, and resumes from the store after a stop (a server restart)."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from eo_jlab.models import ProcessingEndpoint
from eo_jlab.net import HostPolicy, HttpClient
from eo_jlab.processing.base import ExecutionRequest, RemoteJob
from eo_jlab.processing.jobs import JobStore
from eo_jlab.processing.monitor import JobMonitor
from eo_jlab.processing.ogcapi import OgcApiService

from .servers.pygeoapi import pygeoapi_url  # noqa: F401  (session fixture)


@pytest_asyncio.fixture
async def ades(pygeoapi_url):  # noqa: F811
    endpoint = ProcessingEndpoint(id="ades", protocol="ogcapi", url=pygeoapi_url)
    service = OgcApiService(endpoint, HttpClient(HostPolicy([endpoint])))
    yield service
    await service.http.aclose()


async def _all_final(store: JobStore, ids: list[str], timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        jobs = [await store.get(i) for i in ids]
        if all(j.final for j in jobs):
            return jobs
        assert time.monotonic() < deadline, [(j.status, j.progress) for j in jobs]
        await asyncio.sleep(0.2)


@pytest.mark.asyncio
async def test_jobs_followed_to_the_end_across_a_restart(ades, tmp_path):
    path = tmp_path / "jobs.sqlite"
    store = JobStore(path)
    announced = []
    monitor = JobMonitor(store, lambda sid: ades, announced.append, min_interval=0.2,
                         max_interval=0.5)  # fmt: skip
    ids = []
    for steps in (6, 8, 10):
        exchange = []
        remote = await ades.submit("slow", ExecutionRequest(inputs={"steps": steps},
                                   mode="async"), exchange)  # fmt: skip
        job = await store.create("ades", "slow", {"steps": steps}, remote, exchange)
        monitor.watch(job)
        ids.append(job.id)
    await asyncio.sleep(1.5)
    # The Jupyter server stops: the monitor goes, the store is closed.
    await monitor.stop()
    store.close()
    assert any(j.status == "running" for j in announced)

    store = JobStore(path)
    resumed = JobMonitor(store, lambda sid: ades, announced.append, min_interval=0.2,
                         max_interval=0.5)  # fmt: skip
    try:
        assert await resumed.start() >= 1  # at least the longest job was still running
        jobs = await _all_final(store, ids)
    finally:
        await resumed.stop()
        store.close()
    assert [j.status for j in jobs] == ["successful"] * 3
    assert [[(r.id, r.value) for r in j.results] for j in jobs] == [
        [("count", 6)],
        [("count", 8)],
        [("count", 10)],
    ]
    for job_id in ids:  # progress seen at least twice between start and end, per job
        progress = {
            j.progress
            for j in announced
            if j.id == job_id and j.status == "running" and j.progress is not None
        }
        assert len(progress) >= 2, (job_id, progress)
    assert not resumed.watched


@pytest.mark.asyncio
async def test_failed_and_unknown_jobs_end(ades, tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    monitor = JobMonitor(store, lambda sid: ades, lambda job: None, min_interval=0.2,
                         max_interval=0.5)  # fmt: skip
    try:
        exchange = []
        remote = await ades.submit("fail", ExecutionRequest(inputs={"reason": "no water"},
                                   mode="async"), exchange)  # fmt: skip
        failing = await store.create("ades", "fail", {}, remote, exchange)
        lost = await store.create("ades", "slow", {}, RemoteJob(
            status="accepted", status_url=ades.endpoint.url.rstrip("/") + "/jobs/no-such-job",
            job_id="no-such-job"), [])  # fmt: skip
        monitor.watch(failing)
        monitor.watch(lost)
        failing, lost = await _all_final(store, [failing.id, lost.id])
    finally:
        await monitor.stop()
        store.close()
    assert failing.status == "failed" and "no water" in (failing.message + (failing.error or ""))
    assert lost.final  # the service no longer knows it: not polled for ever
