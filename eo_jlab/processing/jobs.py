"""The job store: every submitted job, persisted in SQLite under the Jupyter data directory.

One row per job, written in one transaction at a time (no half-written records), read and
written in an executor so the event loop never waits on the disk. A job carries all the
remote state (``remote``: status URL, remote job id) needed to poll or dismiss it after a
server restart. The raw exchange with the service is kept per job, bounded.
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
    remote TEXT NOT NULL DEFAULT '{}',
    exchange TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
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
                " updated, finished, inputs, results, error, remote, exchange)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id, service, process, remote.status, remote.progress, remote.message,
                    stamp, stamp, stamp if remote.status in FINAL_STATUSES else None,
                    json.dumps(inputs), _results(remote), remote.error, _remote(remote),
                    _bounded(exchange, []),
                ),
            )  # fmt: skip
        return self._get(job_id)

    def _update(self, job_id: str, remote: RemoteJob, exchange: list[Exchange]) -> Job:
        stamp = now()
        with self._lock, self._db:
            row = self._row(job_id)
            if row["status"] in FINAL_STATUSES:  # final states never change back
                return _job(row)
            kept = json.loads(row["exchange"])
            self._db.execute(
                "UPDATE jobs SET status=?, progress=?, message=?, updated=?, finished=?,"
                " results=?, error=?, remote=?, exchange=? WHERE id=?",
                (
                    remote.status, remote.progress, remote.message, stamp,
                    stamp if remote.status in FINAL_STATUSES else None, _results(remote),
                    remote.error, _remote(remote, json.loads(row["remote"])),
                    _bounded(exchange, kept), job_id,
                ),
            )  # fmt: skip
        return self._get(job_id)

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
            return json.loads(self._row(job_id)["exchange"])


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


def _bounded(new: list[Exchange], kept: list[dict[str, Any]]) -> str:
    """The exchange so far plus ``new``, oldest entries dropped past EXCHANGE_LIMIT."""
    entries = kept + [e.model_dump() for e in new]
    text = json.dumps(entries)
    while len(text) > EXCHANGE_LIMIT and len(entries) > 1:
        entries = entries[1:]
        text = json.dumps(entries)
    return text
