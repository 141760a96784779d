"""JobMonitor: polls every unfinished job until it ends, and says so on each change.

* one scheduler for every job: a heap of (due time, job), served earliest first in rounds
  (``TICK``), at most ``polls_per_second`` status requests a second on average and
  ``concurrency`` at a time. With few jobs each is polled on its own interval (capped while
  the budget has room, below); with many, the budget spreads the polls (a thousand jobs at
  80 polls/s are each polled about every 12.5 s), so the server's CPU stays bounded
  whatever the number of jobs, and every job is still polled in turn (earliest due first).
  Polls go out in bursts, one round every ``TICK``: the process wakes up once per round
  rather than once per poll, which halves the CPU of a poll;
* a poll costs one status request and at most one store write (the monitor keeps the job it
  last wrote: nothing else changes an unfinished job but ``Jobs.dismiss``, which stops its
  polling first, and the store never moves a final job back). The writes of polls that end
  together go to the store in one transaction;
* a poll whose answer is byte for byte the previous one (same state, same raw exchange) is
  not written again: the store, ``updated`` and the job's exchange change only when the
  service says something new, so a thousand waiting jobs cost no disk writes;
* per-job interval from the observed change rate: after a change of progress or message,
  half the job's average time between such changes (``min_interval`` .. ``max_interval``);
  after a change of state, ``min_interval``; ×1.5 while nothing changes, up to
  ``max_interval``. A job reporting progress every 6 s is polled every 3 s, not reset to
  1 s on each tick; a queued job backs off;
* spare budget shortens the long intervals: while the jobs are few, no job waits longer
  than ``ceiling = jobs / (fill_budget × polls_per_second)`` seconds between polls (at
  least ``2 × min_interval``, at most ``max_interval``). With the defaults, 100 jobs are
  each polled at least every 2.5 s (about 35-45 polls/s, within the budget of 80) instead of
  backing off to 15 s, 20 jobs every 2 s; from 600 jobs on the ceiling is ``max_interval``
  and the per-job intervals (then the budget) alone decide. The ceiling is O(1) to compute
  (the number of jobs followed) and applies when a poll is scheduled, not to a job whose
  service fails (that backoff stands);
* on start, every unfinished job of the store is watched again (jobs survive restarts);
* each change is persisted first, then announced through ``announce`` (the server wires it
  to jupyter-server's event bus), so a browser that reloads sees the same list;
* transient upstream failures keep the job polled (with backoff); a job the service no
  longer knows (404), or one that keeps failing for ``give_up_after`` seconds, is marked
  failed with the reason. A poll that raises anything but eo-jlab's own errors (a bug, a
  value no adapter expected) is logged with its traceback and retried with backoff; the
  third in a row marks the job failed with a sentence, so no job stays unfinished for ever.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable

from ..errors import EOJLabError, NotFound
from ..net import AddressRefused, HostNotAllowed, UnusableURL, redact_urls
from .base import FINAL_STATUSES, Exchange, ProcessingService, RemoteJob
from .jobs import Job, JobStore

log = logging.getLogger(__name__)

TICK = 0.5  # seconds between the scheduler's rounds while polls are due
UNEXPECTED_LIMIT = 3  # polls in a row failing with an unexpected error fail the job


class _Watch:
    """What the monitor knows of one followed job."""

    __slots__ = ("job", "interval", "gap", "changed_at", "failing_since", "previous", "key",
                 "task", "errors")  # fmt: skip

    def __init__(self, job: Job, interval: float, now: float):
        self.job = job
        self.interval = interval
        self.gap: float | None = None  # average seconds between observed changes
        self.changed_at = now
        self.failing_since: float | None = None
        self.previous: list[dict] | None = None  # the raw exchange of the last poll written
        self.key = 0  # the heap entry that is current for this job (older ones are stale)
        self.task: asyncio.Task | None = None  # the poll under way
        self.errors = 0  # unexpected errors of the polls in a row


class JobMonitor:
    def __init__(
        self,
        store: JobStore,
        service_for: Callable[[str], ProcessingService],
        announce: Callable[[Job], Awaitable[None] | None],
        *,
        concurrency: int = 8,
        min_interval: float = 1.0,
        max_interval: float = 15.0,
        polls_per_second: float = 80.0,
        fill_budget: float = 0.5,
        give_up_after: float = 3600.0,
    ):
        self.store = store
        self.service_for = service_for
        self.announce = announce
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.polls_per_second = polls_per_second
        self.fill_budget = fill_budget
        self.give_up_after = give_up_after
        self._slots = asyncio.Semaphore(concurrency)
        self._watches: dict[str, _Watch] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._keys = itertools.count(1)
        self._scheduler: asyncio.Task | None = None
        self._wakeup: asyncio.Future | None = None
        self._busy = 0  # status requests under way
        self._pending: list[tuple[str, RemoteJob, list[Exchange], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    @property
    def watched(self) -> set[str]:
        return set(self._watches)

    async def start(self) -> int:
        """Watch every unfinished job of the store; return how many."""
        jobs = await self.store.unfinished()
        for job in jobs:
            self.watch(job)
        return len(jobs)

    def watch(self, job: Job) -> None:
        if job.status in FINAL_STATUSES or job.id in self._watches:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        watch = self._watches[job.id] = _Watch(job, self.min_interval, now)
        self._schedule(watch, now + self.min_interval)
        if self._scheduler is None or self._scheduler.done():
            self._scheduler = loop.create_task(self._run())

    def forget(self, job_id: str) -> None:
        watch = self._watches.pop(job_id, None)
        if watch is not None and watch.task is not None:
            watch.task.cancel()

    async def stop(self) -> None:
        tasks = [w.task for w in self._watches.values() if w.task is not None]
        tasks += [t for t in (self._scheduler, self._flusher) if t is not None]
        self._watches.clear()
        self._heap.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- scheduling --------------------------------------------------------------------

    def ceiling(self) -> float:
        """The longest a job waits between polls now: with few jobs, short enough that the
        quiet ones together use ``fill_budget`` of the budget; ``max_interval`` with many."""
        share = self.fill_budget * self.polls_per_second
        if share <= 0:
            return self.max_interval
        ceiling = max(len(self._watches) / share, 2 * self.min_interval)
        return min(ceiling, self.max_interval)

    def next_interval(self, watch: _Watch) -> float:
        """Seconds until the job's next poll: its own interval, capped by ``ceiling`` (not
        while its service fails: that backoff stands)."""
        if watch.failing_since is not None:
            return watch.interval
        return min(watch.interval, self.ceiling())

    def _schedule(self, watch: _Watch, due: float) -> None:
        watch.key = next(self._keys)
        heapq.heappush(self._heap, (due, watch.key, watch.job.id))
        if self._heap[0][1] == watch.key:  # earlier than what the scheduler waits for
            self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _sleep_until(self, when: float | None) -> None:
        loop = asyncio.get_running_loop()
        self._wakeup = waiter = loop.create_future()
        timer = None if when is None else loop.call_at(when, self._wake)
        try:
            await waiter
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    async def _run(self) -> None:
        """Start the due polls, earliest first, in rounds ``TICK`` seconds apart (at most
        ``min_interval``) and at most
        ``polls_per_second`` on average (the polls themselves wait for one of the
        ``concurrency`` slots). Polls started together end together: their store writes
        share a transaction and the process wakes up once per tick, not once per poll."""
        loop = asyncio.get_running_loop()
        rate = self.polls_per_second
        tick = min(TICK, self.min_interval)
        burst = max(1.0, rate * tick)
        tokens, last = burst, loop.time()
        while True:
            now = loop.time()
            if rate > 0:
                tokens = min(burst, tokens + (now - last) * rate)
            last = now
            heap = self._heap
            while heap:
                due, key, job_id = heap[0]
                watch = self._watches.get(job_id)
                if watch is None or watch.key != key:  # forgotten, or rescheduled since
                    heapq.heappop(heap)
                    continue
                if due > now or (rate > 0 and tokens < 1):
                    break
                heapq.heappop(heap)
                tokens -= 1
                watch.key = 0
                watch.task = loop.create_task(self._poll(watch))
            if not heap:
                await self._sleep_until(None)
                last = loop.time()
                continue
            await self._sleep_until(max(heap[0][0], now + tick))

    async def _poll(self, watch: _Watch) -> None:
        try:
            again = await self._poll_once(watch)
            watch.errors = 0
        except asyncio.CancelledError:
            raise
        except NotFound:  # the job left the store
            again = False
        except Exception as exc:  # a bug must not stop the monitor of every other job
            log.exception("eo_jlab job %s: unexpected error while polling", watch.job.id)
            watch.errors += 1
            watch.interval = min(watch.interval * 2, self.max_interval)
            # ... nor leave this one unfinished for ever: UNEXPECTED_LIMIT such polls in a
            # row end the job, with a sentence.
            again = watch.errors < UNEXPECTED_LIMIT or not await self._give_up(watch.job, exc)
        finally:
            watch.task = None
        if self._watches.get(watch.job.id) is not watch:
            return  # forgotten meanwhile
        if again:
            self._schedule(watch, asyncio.get_running_loop().time() + self.next_interval(watch))
        else:
            self._watches.pop(watch.job.id, None)

    async def _poll_once(self, watch: _Watch) -> bool:
        """One status request; True while the job is to be polled again."""
        job = watch.job
        exchange: list[Exchange] = []
        try:
            service = self.service_for(job.service)
            async with self._slots:
                self._busy += 1
                try:
                    snapshot = await service.status(job.remote_job(), exchange)
                finally:
                    self._busy -= 1
            watch.failing_since = None
        except NotFound as exc:
            await self._finish_failed(job, exc.message)
            return False
        except (AddressRefused, HostNotAllowed, UnusableURL) as exc:
            # The service's status link points where eo-jlab never fetches (a metadata
            # address, a host not allowed, not an http(s) URL): asking again cannot help,
            # and an hour of "running" would hide it. Said at once, with the operator's
            # remedy. (Missing credentials, also a 403, keep the retry: an operator may
            # fix them and restart.)
            await self._finish_failed(job, f"eo-jlab cannot follow this job: {exc.message}")
            return False
        except EOJLabError as exc:
            watch.failing_since = watch.failing_since or time.monotonic()
            if time.monotonic() - watch.failing_since > self.give_up_after:
                await self._finish_failed(job, f"The service stopped answering: {exc.message}")
                return False
            log.info(
                "eo_jlab job %s: status check failed (%s); retrying",
                job.id,
                redact_urls(exc.message),
            )
            watch.interval = min(watch.interval * 2, self.max_interval)
            return True
        answer = [e.model_dump() for e in exchange]
        if answer == watch.previous and _same_state(snapshot, job):
            watch.interval = min(watch.interval * 1.5, self.max_interval)
            return True
        updated = await self._write(job.id, snapshot, exchange)
        watch.previous = answer
        changed = (updated.status, updated.progress, updated.message) != (
            job.status, job.progress, job.message,
        )  # fmt: skip
        watch.job = updated
        if changed:
            await self._announce(updated)
            now = asyncio.get_running_loop().time()
            if job.status == updated.status:  # progress within a state: learn the job's pace
                since = now - watch.changed_at
                watch.gap = since if watch.gap is None else (watch.gap + since) / 2
                watch.interval = min(max(watch.gap / 2, self.min_interval), self.max_interval)
            else:  # a new state (it started running, say): look again soon
                watch.interval = self.min_interval
            watch.changed_at = now
        else:
            watch.interval = min(watch.interval * 1.5, self.max_interval)
        return not updated.final

    # --- store writes, batched ---------------------------------------------------------

    async def _write(self, job_id: str, snapshot: RemoteJob, exchange: list[Exchange]) -> Job:
        """Persist one poll's answer; polls that end meanwhile share one transaction."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((job_id, snapshot, exchange, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await asyncio.shield(done)

    async def _flush(self) -> None:
        for _ in range(10):  # let the polls of this round end, up to 50 ms
            if not self._busy:
                break
            await asyncio.sleep(0.005)
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self.store.update_many([item[:3] for item in batch])
            except Exception as exc:  # the whole transaction failed
                results = [exc] * len(batch)
            for (*_item, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    async def _give_up(self, job: Job, exc: Exception) -> bool:
        """Fail a job whose polls keep raising what nobody expected; True once it is final."""
        try:
            await self._finish_failed(
                job,
                "eo-jlab could not follow this job: reading the service's answer failed "
                f"{UNEXPECTED_LIMIT} times ({type(exc).__name__}); the server log has the details.",
            )
        except Exception:
            log.exception("eo_jlab job %s: could not be marked failed", job.id)
            return False
        return True

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
