"""The job store: every submitted job, persisted in SQLite under the Jupyter data directory.

One row per job, written in one transaction at a time (no half-written records), read and
written in an executor so the event loop never waits on the disk. A job carries all the
remote state (``remote``: status URL, remote job id) needed to poll or dismiss it after a
server restart. The raw exchange with the service is kept per job, bounded: one row per
request/response in the ``exchange`` table, appended (never rewritten) with the job's update
in the same transaction, the oldest dropped past ``EXCHANGE_LIMIT``. A status poll so costs
a few hundred bytes of writes whatever the length of the job's history (stores of earlier
versions, which kept the exchange as one JSON column of ``jobs``, are moved over on open).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import NotFound
from .base import FINAL_STATUSES, Exchange, JobStatus, RemoteJob, Result

EXCHANGE_LIMIT = 200_000  # characters of raw exchange kept per job
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    process TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER,
    message TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    finished TEXT,
    inputs TEXT NOT NULL,
    results TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    remote TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
CREATE TABLE IF NOT EXISTS exchange (
    seq INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exchange_job ON exchange (job_id, seq, size);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Job(BaseModel):
    """The contract's ``Job``."""

    id: str
    service: str
    process: str
    status: JobStatus
    progress: int | None = None
    message: str = ""
    created: str
    updated: str
    finished: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    results: list[Result] = Field(default_factory=list)
    error: str | None = None
    remote: dict[str, Any] = Field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def remote_job(self) -> RemoteJob:
        return RemoteJob(
            status=self.status,
            progress=self.progress,
            message=self.message,
            status_url=self.remote.get("status_url"),
            job_id=self.remote.get("job_id"),
            results=self.results,
            error=self.error,
        )


class JobStore:
    """SQLite-backed jobs. Safe to share between the event loop and executor threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._move_legacy_exchange()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # --- async API ---------------------------------------------------------------------

    async def create(
        self, service: str, process: str, inputs: dict[str, Any], remote: RemoteJob,
        exchange: list[Exchange],
    ) -> Job:  # fmt: skip
        return await self._run(self._create, service, process, inputs, remote, exchange)

    async def update(self, job_id: str, remote: RemoteJob, exchange: list[Exchange]) -> Job:
        return await self._run(self._update, job_id, remote, exchange)

    async def update_many(
        self, items: list[tuple[str, RemoteJob, list[Exchange]]]
    ) -> list[Job | NotFound]:
        """``update`` of several jobs in one transaction (one executor hop, one commit);
        per job, the job as written or ``NotFound``."""
        return await self._run(self._update_many, items)

    async def mark(self, job_id: str, status: JobStatus, message: str) -> Job:
        return await self._run(self._mark, job_id, status, message)

    async def get(self, job_id: str) -> Job:
        return await self._run(self._get, job_id)

    async def list(self, status: str | None = None) -> list[Job]:
        return await self._run(self._list, status)

    async def unfinished(self) -> list[Job]:
        return await self._run(self._unfinished)

    async def exchange(self, job_id: str) -> list[dict[str, Any]]:
        return await self._run(self._exchange, job_id)

    # --- blocking implementation (executor threads) -------------------------------------

    def _create(self, service, process, inputs, remote: RemoteJob, exchange) -> Job:
        stamp = now()
        job_id = uuid.uuid4().hex
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO jobs (id, service, process, status, progress, message, created,"
                " updated, finished, inputs, results, error, remote)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id, service, process, remote.status, remote.progress, remote.message,
                    stamp, stamp, stamp if remote.status in FINAL_STATUSES else None,
                    json.dumps(inputs), _results(remote), remote.error, _remote(remote),
                ),
            )  # fmt: skip
            self._append(job_id, [e.model_dump() for e in exchange])
            return _job(self._row(job_id))

    def _update(self, job_id: str, remote: RemoteJob, exchange: list[Exchange]) -> Job:
        with self._lock, self._db:
            return self._apply(job_id, remote, exchange, now())

    def _update_many(self, items: list[tuple[str, RemoteJob, list[Exchange]]]) -> list:
        stamp = now()
        results: list = []
        with self._lock, self._db:
            for job_id, remote, exchange in items:
                try:
                    results.append(self._apply(job_id, remote, exchange, stamp))
                except NotFound as exc:  # nothing of this one was written
                    results.append(exc)
        return results

    def _apply(self, job_id: str, remote: RemoteJob, exchange: list[Exchange], stamp: str) -> Job:
        """One job's update, inside the caller's transaction; the job as written."""
        row = self._row(job_id)
        if row["status"] in FINAL_STATUSES:  # final states never change back
            return _job(row)
        finished = stamp if remote.status in FINAL_STATUSES else None
        results = _results(remote)
        kept = _remote(remote, json.loads(row["remote"]))
        self._db.execute(
            "UPDATE jobs SET status=?, progress=?, message=?, updated=?, finished=?,"
            " results=?, error=?, remote=? WHERE id=?",
            (
                remote.status, remote.progress, remote.message, stamp, finished, results,
                remote.error, kept, job_id,
            ),
        )  # fmt: skip
        self._append(job_id, [e.model_dump() for e in exchange])
        return Job(
            id=row["id"], service=row["service"], process=row["process"], status=remote.status,
            progress=remote.progress, message=remote.message, created=row["created"],
            updated=stamp, finished=finished, inputs=json.loads(row["inputs"]),
            results=json.loads(results), error=remote.error, remote=json.loads(kept),
        )  # fmt: skip

    def _mark(self, job_id: str, status: str, message: str) -> Job:
        stamp = now()
        with self._lock, self._db:
            row = self._row(job_id)
            if row["status"] not in FINAL_STATUSES:
                self._db.execute(
                    "UPDATE jobs SET status=?, message=?, updated=?, finished=? WHERE id=?",
                    (status, message, stamp, stamp, job_id),
                )
        return self._get(job_id)

    def _row(self, job_id: str) -> sqlite3.Row:
        row = self._db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"There is no job {job_id!r}.")
        return row

    def _get(self, job_id: str) -> Job:
        with self._lock:
            return _job(self._row(job_id))

    def _list(self, status: str | None) -> list[Job]:
        with self._lock:
            if status:
                rows = self._db.execute(
                    "SELECT * FROM jobs WHERE status=? ORDER BY created DESC, id", (status,)
                ).fetchall()
            else:
                rows = self._db.execute("SELECT * FROM jobs ORDER BY created DESC, id").fetchall()
        return [_job(row) for row in rows]

    def _unfinished(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE status IN ('accepted', 'running') ORDER BY created"
            ).fetchall()
        return [_job(row) for row in rows]

    def _exchange(self, job_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._row(job_id)
            rows = self._db.execute(
                "SELECT entry FROM exchange WHERE job_id=? ORDER BY seq", (job_id,)
            ).fetchall()
        return [json.loads(row["entry"]) for row in rows]

    def _append(self, job_id: str, entries: list[dict[str, Any]]) -> None:
        """Add ``entries`` to the job's exchange, then drop its oldest entries while the
        exchange as one JSON list would be longer than EXCHANGE_LIMIT (the newest one stays).
        Runs inside the caller's transaction."""
        if not entries:
            return
        # As one list, an entry takes its own JSON text plus ", " (or the two brackets).
        texts = [json.dumps(entry) for entry in entries]
        self._db.executemany(
            "INSERT INTO exchange (job_id, size, entry) VALUES (?, ?, ?)",
            [(job_id, len(text) + 2, text) for text in texts],
        )
        (total,) = self._db.execute(
            "SELECT COALESCE(SUM(size), 0) FROM exchange WHERE job_id=?", (job_id,)
        ).fetchone()
        if total <= EXCHANGE_LIMIT:
            return
        rows = self._db.execute(
            "SELECT seq, size FROM exchange WHERE job_id=? ORDER BY seq", (job_id,)
        ).fetchall()
        cutoff = None
        for seq, size in rows[:-1]:
            if total <= EXCHANGE_LIMIT:
                break
            total -= size
            cutoff = seq
        if cutoff is not None:
            self._db.execute("DELETE FROM exchange WHERE job_id=? AND seq<=?", (job_id, cutoff))

    def _move_legacy_exchange(self) -> None:
        """Stores written before the exchange table kept it as a JSON list in ``jobs``."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "exchange" not in columns:
            return
        with self._lock, self._db:
            rows = self._db.execute(
                "SELECT id, exchange FROM jobs WHERE exchange != '[]' ORDER BY created"
            ).fetchall()
            for row in rows:
                try:
                    entries = json.loads(row["exchange"])
                except ValueError:
                    entries = []
                self._append(row["id"], [e for e in entries if isinstance(e, dict)])
                self._db.execute("UPDATE jobs SET exchange='[]' WHERE id=?", (row["id"],))


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], service=row["service"], process=row["process"], status=row["status"],
        progress=row["progress"], message=row["message"], created=row["created"],
        updated=row["updated"], finished=row["finished"], inputs=json.loads(row["inputs"]),
        results=json.loads(row["results"]), error=row["error"], remote=json.loads(row["remote"]),
    )  # fmt: skip


def _results(remote: RemoteJob) -> str:
    return json.dumps([r.model_dump(mode="json") for r in remote.results])


def _remote(remote: RemoteJob, previous: dict[str, Any] | None = None) -> str:
    kept = dict(previous or {})
    if remote.status_url:
        kept["status_url"] = remote.status_url
    if remote.job_id:
        kept["job_id"] = remote.job_id
    return json.dumps(kept)
