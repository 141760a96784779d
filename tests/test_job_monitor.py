"""JobMonitor against a real OGC API - Processes server (pygeoapi): follows jobs to their end,
announces each change, and resumes from the store after a stop (a server restart)."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from eo_jlab.models import ProcessingEndpoint
from eo_jlab.net import HostPolicy, HttpClient
from eo_jlab.processing.base import Exchange, ExecutionRequest, ProcessingService, RemoteJob
from eo_jlab.processing.jobs import Job, JobStore
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


class Scripted(ProcessingService):
    """A service whose one job answers what the test sets; counts the status requests and
    can hold them (``gate``) to let the test act while a poll is under way."""

    def __init__(self):
        super().__init__(
            ProcessingEndpoint(id="scripted", protocol="ogcapi", url="http://scripted.invalid/")
        )
        self.answer = RemoteJob(status="running", progress=10, message="At 10 %.")
        self.requests = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def processes(self):
        return []

    async def describe(self, process_id):
        raise NotImplementedError

    async def submit(self, process_id, request, exchange):
        raise NotImplementedError

    async def status(self, job, exchange):
        self.requests += 1
        await self.gate.wait()
        exchange.append(Exchange(method="GET", url="http://scripted.invalid/jobs/1", status=200,
                                 response_body=self.answer.model_dump_json()))  # fmt: skip
        return job.model_copy(update=self.answer.model_dump(exclude={"status_url", "job_id"}))


async def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _accepted() -> RemoteJob:
    return RemoteJob(status="accepted", status_url="http://scripted.invalid/jobs/1", job_id="1")


@pytest.mark.asyncio
async def test_a_poll_that_learns_nothing_new_writes_nothing(tmp_path):
    """Repeated identical answers are not written again (no store write, ``updated`` and the
    exchange unchanged); each change is persisted, then announced."""
    store = JobStore(tmp_path / "jobs.sqlite")
    service = Scripted()
    announced = []

    async def announce(job):
        stored = await store.get(job.id)  # persisted before it is announced
        assert (stored.status, stored.progress) == (job.status, job.progress)
        announced.append(job)

    monitor = JobMonitor(store, lambda sid: service, announce, min_interval=0.02,
                         max_interval=0.05)  # fmt: skip
    job = await store.create("scripted", "p", {}, _accepted(), [])
    monitor.watch(job)
    try:
        await _until(lambda: len(announced) == 1)
        first = await store.get(job.id)
        await _until(lambda: service.requests >= 10)
        again = await store.get(job.id)
        assert (again.status, again.progress, again.updated) == ("running", 10, first.updated)
        assert len(await store.exchange(job.id)) == 1
        service.answer = RemoteJob(status="running", progress=50, message="At 50 %.")
        await _until(lambda: len(announced) == 2)
        assert (await store.get(job.id)).updated > first.updated
        service.answer = RemoteJob(status="successful", progress=100, message="Done.")
        await _until(lambda: not monitor.watched)
    finally:
        await monitor.stop()
        store.close()
    assert [(j.status, j.progress) for j in announced] == [
        ("running", 10), ("running", 50), ("successful", 100),
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_a_job_ended_elsewhere_during_a_poll_is_left_alone(tmp_path):
    """The monitor keeps the job it last wrote instead of reading it before every poll: a job
    that ended meanwhile (another server on the same store) stays ended and is not polled
    again; its end is announced once."""
    store = JobStore(tmp_path / "jobs.sqlite")
    service = Scripted()
    service.gate.clear()
    announced = []
    monitor = JobMonitor(store, lambda sid: service, announced.append, min_interval=0.02)
    job = await store.create("scripted", "p", {}, _accepted(), [])
    monitor.watch(job)
    try:
        await _until(lambda: service.requests == 1)
        await store.mark(job.id, "dismissed", "Dismissed elsewhere.")
        service.gate.set()
        await _until(lambda: not monitor.watched)
        assert (await store.get(job.id)).status == "dismissed"
        await asyncio.sleep(0.1)
        assert [j.status for j in announced] == ["dismissed"] and service.requests == 1
    finally:
        await monitor.stop()
        store.close()


class Many(ProcessingService):
    """Many jobs that stay running until ``done`` is set; counts requests in flight."""

    def __init__(self):
        super().__init__(
            ProcessingEndpoint(id="many", protocol="ogcapi", url="http://many.invalid/")
        )
        self.in_flight = 0
        self.most = 0
        self.polled: dict[str, int] = {}
        self.done = False

    async def processes(self):
        return []

    async def describe(self, process_id):
        raise NotImplementedError

    async def submit(self, process_id, request, exchange):
        raise NotImplementedError

    async def status(self, job, exchange):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.polled[job.job_id] = self.polled.get(job.job_id, 0) + 1
        try:
            await asyncio.sleep(0.005)
        finally:
            self.in_flight -= 1
        if self.done:
            return job.model_copy(update={"status": "successful", "progress": 100})
        return job.model_copy(update={"status": "running", "progress": 0})


@pytest.mark.asyncio
async def test_one_scheduler_for_many_jobs(tmp_path):
    """Forty jobs under one scheduler: at most ``concurrency`` requests at a time, every job
    polled, a forgotten (dismissed) job no longer polled, the others followed to their end
    with each end persisted, then announced."""
    store = JobStore(tmp_path / "jobs.sqlite")
    service = Many()
    announced = []
    monitor = JobMonitor(store, lambda sid: service, announced.append, concurrency=3,
                         min_interval=0.01, max_interval=0.05, polls_per_second=2000)  # fmt: skip
    jobs = []
    for n in range(40):
        remote = RemoteJob(status="accepted", status_url=f"http://many.invalid/jobs/{n}",
                           job_id=str(n))  # fmt: skip
        jobs.append(await store.create("many", "p", {}, remote, []))
        monitor.watch(jobs[-1])
    try:
        await _until(lambda: len(service.polled) == 40 and min(service.polled.values()) >= 2)
        monitor.forget(jobs[0].id)
        polled = service.polled["0"]
        assert jobs[0].id not in monitor.watched
        service.done = True
        await _until(lambda: not monitor.watched)
    finally:
        await monitor.stop()
    try:
        assert service.most <= 3
        assert service.polled["0"] <= polled + 1  # at most the poll already under way
        stored = {j.id: j for j in await store.list()}
        assert all(stored[j.id].status == "successful" for j in jobs[1:])
        assert stored[jobs[0].id].status == "running"  # forgotten before it ended
        ends = [j for j in announced if j.status == "successful"]
        assert sorted(j.id for j in ends) == sorted(j.id for j in jobs[1:])
    finally:
        store.close()


# --- the poll policy, counted on a virtual clock ------------------------------------------


class _VirtualClock(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever nothing is ready: minutes
    of monitoring pass in a moment, and the polls are counted against that clock, which
    nothing else moves (no executor threads below, so it never runs ahead of real work)."""

    def __init__(self):
        super().__init__()
        self._virtual = 0.0

    def time(self):
        return self._virtual

    def _run_once(self):
        if not self._ready and self._scheduled:
            self._virtual = max(self._virtual, self._scheduled[0].when())
        super()._run_once()


def _on_virtual_clock(scenario):
    loop = _VirtualClock()
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


class _MemoryStore:
    """The store calls the monitor makes, in memory."""

    def __init__(self):
        self.jobs: dict[str, Job] = {}

    def add(self, job_id: str) -> Job:
        self.jobs[job_id] = Job(id=job_id, service="clocked", process="p", status="accepted",
                                created="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z",
                                remote={"job_id": job_id})  # fmt: skip
        return self.jobs[job_id]

    async def update_many(self, items):
        written = []
        for job_id, remote, _exchange in items:
            job = self.jobs[job_id]
            if not job.final:
                job = self.jobs[job_id] = job.model_copy(update=remote.model_dump(
                    include={"status", "progress", "message", "error"}))  # fmt: skip
            written.append(job)
        return written

    async def mark(self, job_id, status, message):
        self.jobs[job_id] = self.jobs[job_id].model_copy(update={"status": status})
        return self.jobs[job_id]


class Clocked(ProcessingService):
    """Jobs whose state is a function of the (virtual) clock: accepted until ``starts``,
    running at progress 0 until ``ends`` (never, if None), then successful. Keeps the time
    of every status request per job."""

    def __init__(self, starts: float, ends: float | None):
        super().__init__(
            ProcessingEndpoint(id="clocked", protocol="ogcapi", url="http://clocked.invalid/")
        )
        self.starts, self.ends = starts, ends
        self.polls: dict[str, list[float]] = {}

    async def processes(self):
        return []

    async def describe(self, process_id):
        raise NotImplementedError

    async def submit(self, process_id, request, exchange):
        raise NotImplementedError

    async def status(self, job, exchange):
        now = asyncio.get_running_loop().time()
        self.polls.setdefault(job.job_id, []).append(now)
        if self.ends is not None and now >= self.ends:
            return job.model_copy(update={"status": "successful", "progress": 100})
        if now >= self.starts:
            return job.model_copy(update={"status": "running", "progress": 0})
        return job.model_copy(update={"status": "accepted", "progress": None})


async def _follow(count: int, service: Clocked, until: float, **settings) -> JobMonitor:
    store = _MemoryStore()
    monitor = JobMonitor(store, lambda sid: service, lambda job: None, **settings)
    for n in range(count):
        monitor.watch(store.add(str(n)))
    loop = asyncio.get_running_loop()
    try:
        while monitor.watched and loop.time() < until:
            await asyncio.sleep(0.5)
        return monitor
    finally:
        await monitor.stop()


def test_spare_budget_shortens_the_intervals_and_a_new_state_is_polled_soon():
    """100 jobs with the default budget (80 polls/s, half of it to fill): a queued job no
    longer backs off to ``max_interval`` (15 s) but is polled at least every 2.5 s (100 jobs
    / 40 polls/s); the poll that sees a job start running is followed by one within
    ``min_interval`` (plus a scheduler round); the end is seen within the ceiling; the
    budget still caps the polls."""
    service = Clocked(starts=40.0, ends=100.0)
    monitor = _on_virtual_clock(lambda: _follow(100, service, until=200.0))
    assert len(service.polls) == 100
    round_ = 0.5
    for times in service.polls.values():
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        queued = [g for a, g in zip(times, gaps, strict=False) if 5.0 < a < 40.0]
        assert queued and max(queued) <= 2.5 + round_, queued  # was up to 15 s
        seen_running = next(i for i, t in enumerate(times) if t >= 40.0)
        assert times[seen_running + 1] - times[seen_running] <= 1.0 + round_
        assert times[-1] <= 100.0 + 2.5 + round_  # the end seen within the ceiling
    every = sorted(t for times in service.polls.values() for t in times)
    for start in range(0, 100, 10):  # the budget holds over each 10 s (plus one burst)
        assert sum(start <= t < start + 10 for t in every) <= 80 * 10 + 40
    assert monitor.ceiling() == 2.0  # no job left: the floor, 2 × min_interval


def test_the_budget_caps_the_polls_of_many_jobs():
    """1000 quiet jobs: the ceiling is ``max_interval`` (no spare budget to fill), the
    polls stay within 80 a second, and every job is still polled in turn."""
    service = Clocked(starts=0.0, ends=None)
    captured = {}
    store_size = 1000

    async def watch_and_measure():
        store = _MemoryStore()
        monitor = JobMonitor(store, lambda sid: service, lambda job: None)
        for n in range(store_size):
            monitor.watch(store.add(str(n)))
        captured["ceiling"] = monitor.ceiling()
        loop = asyncio.get_running_loop()
        try:
            while loop.time() < 60.0:
                await asyncio.sleep(0.5)
        finally:
            await monitor.stop()

    _on_virtual_clock(watch_and_measure)
    assert captured["ceiling"] == 15.0
    window = [t for times in service.polls.values() for t in times if 10.0 <= t < 60.0]
    assert len(window) <= 80 * 50 + 40
    assert len(window) >= 80 * 50 * 0.9  # the budget is used, not wasted
    for times in service.polls.values():
        assert sum(10.0 <= t < 60.0 for t in times) >= 3  # about every 12.5 s each
