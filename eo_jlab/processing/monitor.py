"""JobMonitor: polls every unfinished job until it ends, and says so on each change.

* one asyncio task per unfinished job, at most ``concurrency`` status requests at a time;
  a poll costs one status request and at most one store write (the task keeps the job it
  last wrote: nothing else changes an unfinished job but ``Jobs.dismiss``, which stops the
  task first, and the store never moves a final job back);
* a poll whose answer is byte for byte the previous one (same state, same raw exchange) is
  not written again: the store, ``updated`` and the job's exchange change only when the
  service says something new, so a thousand waiting jobs cost no disk writes;
* per-job backoff: the interval grows while nothing changes and resets when it does;
* on start, every unfinished job of the store is watched again (jobs survive restarts);
* each change is persisted first, then announced through ``announce`` (the server wires it
  to jupyter-server's event bus), so a browser that reloads sees the same list;
* transient upstream failures keep the job polled (with backoff); a job the service no
  longer knows (404), or one that keeps failing for ``give_up_after`` seconds, is marked
  failed with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from ..errors import EOJLabError, NotFound
from .base import FINAL_STATUSES, Exchange, ProcessingService, RemoteJob
from .jobs import Job, JobStore

log = logging.getLogger(__name__)


class JobMonitor:
    def __init__(
        self,
        store: JobStore,
        service_for: Callable[[str], ProcessingService],
        announce: Callable[[Job], Awaitable[None] | None],
        *,
        concurrency: int = 8,
        min_interval: float = 1.0,
        max_interval: float = 30.0,
        give_up_after: float = 3600.0,
    ):
        self.store = store
        self.service_for = service_for
        self.announce = announce
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.give_up_after = give_up_after
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task] = {}

    @property
    def watched(self) -> set[str]:
        return set(self._tasks)

    async def start(self) -> int:
        """Watch every unfinished job of the store; return how many."""
        jobs = await self.store.unfinished()
        for job in jobs:
            self.watch(job)
        return len(jobs)

    def watch(self, job: Job) -> None:
        if job.status in FINAL_STATUSES or job.id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._follow(job))
        self._tasks[job.id] = task
        task.add_done_callback(lambda _t, jid=job.id: self._tasks.pop(jid, None))

    def forget(self, job_id: str) -> None:
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, job: Job) -> None:
        job_id = job.id
        interval = self.min_interval
        failing_since: float | None = None
        previous: list[dict] | None = None  # the raw exchange of the last poll written
        while True:
            await asyncio.sleep(interval)
            exchange: list[Exchange] = []
            try:
                service = self.service_for(job.service)
                async with self._slots:
                    snapshot = await service.status(job.remote_job(), exchange)
                failing_since = None
            except NotFound as exc:
                await self._finish_failed(job, exc.message)
                return
            except EOJLabError as exc:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > self.give_up_after:
                    await self._finish_failed(job, f"The service stopped answering: {exc.message}")
                    return
                log.info("eo_jlab job %s: status check failed (%s); retrying", job_id, exc.message)
                interval = min(interval * 2, self.max_interval)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not kill the monitor of every other job
                log.exception("eo_jlab job %s: unexpected error while polling", job_id)
                interval = min(interval * 2, self.max_interval)
                continue
            answer = [e.model_dump() for e in exchange]
            if answer == previous and _same_state(snapshot, job):
                interval = min(interval * 1.5, self.max_interval)
                continue
            updated = await self.store.update(job_id, snapshot, exchange)
            previous = answer
            changed = (updated.status, updated.progress, updated.message) != (
                job.status, job.progress, job.message,
            )  # fmt: skip
            if changed:
                await self._announce(updated)
                interval = self.min_interval
            else:
                interval = min(interval * 1.5, self.max_interval)
            if updated.final:
                return
            job = updated

    async def _finish_failed(self, job: Job, message: str) -> None:
        updated = await self.store.mark(job.id, "failed", message)
        await self._announce(updated)

    async def _announce(self, job: Job) -> None:
        try:
            result = self.announce(job)
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("eo_jlab job %s: could not announce the change", job.id)


def _same_state(snapshot: RemoteJob, job: Job) -> bool:
    return (snapshot.status, snapshot.progress, snapshot.message, snapshot.error,
            snapshot.results) == (job.status, job.progress, job.message, job.error,
                                  job.results)  # fmt: skip
