"""The local PyWPS sandbox (``protocol: sandbox``): the user's own PyWPS processes, served by
a child process of the Jupyter server (sandbox_server.py) and used through the WPS adapter.

* **Where**: process files come from ``c.EOJLab.sandbox_dir`` (created when missing); the
  child's outputs, status documents, PyWPS configuration and log live in
  ``<Jupyter data dir>/eo_jlab/sandbox/<service id>/`` and outlive it.
* **Start**: on ``POST processing/{sid}/sandbox/start`` or ``reload``, or on demand by the
  other POST routes that need the child to answer (executions, snippets) and by the job
  monitor (the status of an unfinished job). No GET route starts it (no side effect behind a
  GET): ``GET processing/{sid}/sandbox`` only reports, the process list and descriptions of a
  stopped sandbox are ``Conflict`` (409, "start it from the Processes section"), and results
  are read from its outputs folder whether it runs or not (*Outputs*). With the Jupyter server's own
  Python (``sys.executable -m eo_jlab.processing.sandbox_server``) as an asyncio subprocess
  in its own process group. It picks a free loopback port itself and says so in a ready
  file; start-up is bounded (``start_timeout``) and a child that dies while starting gives a
  readable error with the end of its log. The child's ``127.0.0.1:port`` is added to the
  HTTP client's allow-list while it runs, with the child's per-start token as that origin's
  credentials (sandbox_server.py, *Access*): it never reaches the browser, a job record or a log.
* **Generated code** finds the child through its connection file
  (``<state>/connection.json``: url, token, outputs folder), rewritten at each start.
* **Stop**: at server shutdown (``ProcessingRegistry.close``), on ``reload`` and when a start
  times out: SIGTERM to the process group, SIGKILL after ``stop_timeout``, the child awaited
  (no zombie). The child also stops by itself when the Jupyter server dies.
* **Dismiss** stops the job's process in the child (WPS 1.0.0 has no such operation).
* **Outputs**: a result's ``href`` under the child's ``/outputs/`` (any loopback port: the child
  may have moved) names a file of ``<state>/outputs/``; ``read_output`` reads it from there,
  off the event loop, confined to that folder: its path unquoted once, no empty, ``.`` or
  ``..`` segment (403), resolved with its symlinks and still inside the folder (403), opened
  without following a last symlink and without waiting (a FIFO), a regular file only (403),
  at most ``max_response_bytes`` (502); a missing file is 404.
* **Jobs** survive a restart of the child on another port: status and result URLs under the
  child's ``/outputs/`` are rewritten to the current child (outputs are persistent). A job
  still running when its child stopped is marked failed by the next child as it starts
  ("The sandbox was restarted while this job ran; run it again."), so the monitor sees it
  end instead of polling for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import mimetypes
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import BadRequest, Conflict, Forbidden, NotFound, UpstreamError, UpstreamTimeout
from ..models import ProcessingEndpoint
from ..net import HostRule, HttpClient
from ..proxied import media_type
from .base import (
    Exchange,
    ExecutionRequest,
    ProcessDescription,
    ProcessingService,
    ProcessSummary,
    RemoteJob,
)
from .sandbox_server import CONNECTION_FILE, DISMISS_PATH, RESTARTED
from .wps import WpsService

CHILD_MODULE = "eo_jlab.processing.sandbox_server"
INSTALL_HINT = 'install eo-jlab[sandbox] (pip install "eo-jlab[sandbox]")'
LOG_FILE = "sandbox.log"
LOG_MAX_BYTES = 5_000_000
MAX_TAIL_LINES = 5000
TAIL_READ_BYTES = 1_000_000
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_OUTPUTS = "/outputs/"  # where the child serves its outputs folder
_EXIT_REASONS = {
    3: f"PyWPS is not installed in the Python that runs Jupyter: {INSTALL_HINT}",
    4: "another sandbox (another Jupyter server with the same data directory?) uses its folder",
}


def pywps_missing(module: str = "pywps") -> str | None:
    """The sentence to show when PyWPS cannot be imported by the server's Python, else None."""
    try:
        if importlib.util.find_spec(module) is not None:
            return None
    except (ImportError, ValueError):
        pass
    return f"The local sandbox needs PyWPS in the Python that runs Jupyter: {INSTALL_HINT}."


class SandboxToken:
    """The child's per-start token as HTTP client credentials (``net.HttpClient``)."""

    def __init__(self, token: str):
        self._token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def __repr__(self) -> str:  # never the token itself, whatever logs this object
        return "SandboxToken(...)"


class SandboxService(ProcessingService):
    """One ``sandbox`` processing service: its child PyWPS server and a WPS adapter on it."""

    start_timeout = 60.0
    stop_timeout = 5.0

    def __init__(
        self, endpoint: ProcessingEndpoint, http: HttpClient, sandbox_dir: str, state_dir: Path
    ):
        super().__init__(endpoint)
        self.http = http
        self.folder = Path(sandbox_dir).expanduser().absolute()
        self.state = Path(state_dir)
        self.log_path = self.state / LOG_FILE
        self.connection_path = self.state / CONNECTION_FILE
        self._lock = asyncio.Lock()
        self._child: asyncio.subprocess.Process | None = None
        self._wps: WpsService | None = None
        self._base: str | None = None
        self._rule: HostRule | None = None
        self.errors: list[dict[str, Any]] = []
        self._failure: str | None = None  # why the last start failed, for info()

    # -- the child ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.returncode is None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self.running and self._child else None

    async def _current(self) -> tuple[WpsService, str]:
        """The WPS adapter on the running child (started, or started again, if needed)."""
        async with self._lock:
            if not self.running or self._wps is None or self._base is None:
                await self._stop_locked()
                await self._start_locked()
            assert self._wps is not None and self._base is not None
            return self._wps, self._base

    async def _running(self) -> tuple[WpsService, str]:
        """The WPS adapter on the running child, started by nothing here (for GET routes: no
        side effect behind a GET); a start under way is waited for. ``Conflict`` when the
        child is not running."""
        async with self._lock:
            if self.running and self._wps is not None and self._base is not None:
                return self._wps, self._base
        raise Conflict(
            "The local sandbox is not running: start it from the Processes section "
            f"(POST processing/{self.endpoint.id}/sandbox/start).",
            {"running": False},
        )

    async def reload(self) -> dict[str, Any]:
        """Restart the child (new, changed and deleted process files are picked up)."""
        async with self._lock:
            await self._stop_locked()
            await self._start_locked()
            wps = self._wps
        assert wps is not None
        processes = await wps.processes()
        return {"processes": processes, "errors": list(self.errors)}

    async def start(self) -> dict[str, Any]:
        """``POST processing/{sid}/sandbox/start``: the child started (when it is not running)
        and ``info()``."""
        await self._current()
        return await self.info()

    async def info(self) -> dict[str, Any]:
        """``GET processing/{sid}/sandbox``: the folder, the child, its processes and errors.
        Starts nothing: a stopped sandbox is ``running: false`` with no processes."""
        wps = self._wps if self.running else None  # no lock: a start under way is not waited for
        if wps is None:
            return {
                "dir": str(self.folder),
                "running": False,
                "processes": [],
                "errors": [*self.errors, *self._failed()],
            }
        try:
            processes = await wps.processes()
        except (UpstreamError, UpstreamTimeout) as exc:
            return {
                "dir": str(self.folder),
                "running": self.running,
                "processes": [],
                "errors": [*self.errors, {"file": "", "line": None, "message": exc.message}],
            }
        return {
            "dir": str(self.folder),
            "running": self.running,
            "processes": processes,
            "errors": list(self.errors),
        }

    def _failed(self) -> list[dict[str, Any]]:
        failure = self._failure
        return [{"file": "", "line": None, "message": failure}] if failure else []

    async def log(self, tail: int = 200) -> str:
        """The last ``tail`` lines of the child's log (stdout, stderr and the PyWPS log)."""
        tail = max(1, min(int(tail), MAX_TAIL_LINES))
        return await asyncio.get_running_loop().run_in_executor(None, _tail, self.log_path, tail)

    async def close(self) -> None:
        async with self._lock:
            await self._stop_locked()

    async def _start_locked(self) -> None:
        try:
            await self._start_child()
        except Exception as exc:  # info() says why, whatever failed (OSError of a folder too)
            self._failure = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            raise
        self._failure = None

    async def _start_child(self) -> None:
        loop = asyncio.get_running_loop()
        missing = await loop.run_in_executor(None, pywps_missing)
        if missing:
            raise UpstreamError(missing)
        await loop.run_in_executor(None, self._prepare)
        ready = self.state / "ready.json"
        log = await loop.run_in_executor(None, _open_log, self.log_path)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", CHILD_MODULE,
                "--dir", str(self.folder), "--state", str(self.state),
                "--ready", str(ready), "--parent-pid", str(os.getpid()),
                "--log-max", str(LOG_MAX_BYTES),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=str(self.folder), env=env, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        self._child = child
        deadline = loop.time() + self.start_timeout
        waiter = loop.create_task(child.wait())
        try:
            while True:
                info = await loop.run_in_executor(None, _read_json, ready)
                if info is not None:
                    break
                if waiter.done():
                    raise await self._died_starting(child.returncode)
                if loop.time() > deadline:
                    await self._stop_locked()
                    raise UpstreamTimeout(
                        f"The local sandbox did not start within {self.start_timeout:g} seconds "
                        "(a process file may be stuck while it is imported); see its log.",
                        {"log": await self.log(40)},
                    )
                await asyncio.wait({waiter}, timeout=0.05)
        finally:
            if not waiter.done():
                waiter.cancel()
        port = int(info["port"])
        self._base = f"http://127.0.0.1:{port}"
        self._rule = HostRule("127.0.0.1", port)
        self.http.policy.rules.append(self._rule)
        self.http.set_credentials(self._base, SandboxToken(str(info.get("token") or "")))
        self.errors = list(info.get("errors") or [])
        endpoint = ProcessingEndpoint(
            id=self.endpoint.id, title=self.endpoint.title, protocol="wps", url=f"{self._base}/wps"
        )
        self._wps = WpsService(endpoint, self.http)

    async def _died_starting(self, code: int | None) -> Exception:
        if self._child is not None:
            _kill_group(self._child.pid, signal.SIGKILL)  # anything it forked before dying
        self._child = None
        tail = await self.log(40)
        reason = _EXIT_REASONS.get(code or 0)
        if reason is None:
            last = [line for line in tail.splitlines() if line.strip()]
            reason = f"exit code {code}" + (f": {last[-1].strip()[:300]}" if last else "")
        return UpstreamError(f"The local sandbox stopped while starting ({reason}).", {"log": tail})

    def _prepare(self) -> None:
        """Blocking: the folders, and no ready file of an earlier child."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadRequest(
                f"The sandbox folder {self.folder} cannot be created ({exc.strerror})."
            ) from None
        if not self.folder.is_dir():
            raise BadRequest(f"The sandbox folder {self.folder} is not a folder.")
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "ready.json").unlink(missing_ok=True)

    async def _stop_locked(self) -> None:
        child, self._child = self._child, None
        wps, self._wps = self._wps, None
        if wps is not None:  # its cached descriptions go with it: a reload describes anew
            await wps.close()
        if self._base is not None:
            self.http.set_credentials(self._base, None)
        self._base = None
        if self._rule is not None:
            with contextlib.suppress(ValueError):
                self.http.policy.rules.remove(self._rule)
            self._rule = None
        if child is None:
            return
        if child.returncode is None:
            _kill_group(child.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), self.stop_timeout)
            except asyncio.TimeoutError:
                _kill_group(child.pid, signal.SIGKILL)
                await child.wait()
        _kill_group(child.pid, signal.SIGKILL)  # job processes left in the group, if any

    # -- URLs of the child ---------------------------------------------------------------------

    def local_url(self, url: str | None, base: str) -> str | None:
        """``url`` moved to the current child when it is under a sandbox ``/outputs/``."""
        if not url:
            return url
        parts = urlsplit(url)
        if parts.hostname in _LOOPBACK and parts.path.startswith("/outputs/"):
            target = urlsplit(base)
            return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
        return url

    async def read_output(self, href: str, max_bytes: int) -> tuple[bytes, str] | None:
        """The file a result's ``href`` names under the child's ``/outputs/``, read from the
        outputs folder whether the child runs or not (*Outputs*): its bytes and the media type
        its name gives (``""`` when none, as the child's own file route said); None when
        ``href`` is not such a link."""
        name = _output_name(href)
        if name is None:
            return None
        return await asyncio.get_running_loop().run_in_executor(
            None, _read_output, self.state / "outputs", name, max_bytes
        )

    async def wps(self) -> tuple[WpsService, str]:
        """The WPS adapter on the running child and its WPS URL (for generated code)."""
        wps, base = await self._current()
        return wps, f"{base}/wps"

    # -- ProcessingService ---------------------------------------------------------------------

    async def processes(self) -> list[ProcessSummary]:
        wps, _ = await self._running()
        return await wps.processes()

    async def describe(self, process_id: str) -> ProcessDescription:
        wps, _ = await self._running()
        try:
            return await wps.describe(process_id)
        except NotFound:
            failed = ", ".join(sorted({e["file"] for e in self.errors if e.get("file")}))
            hint = f" ({failed} could not be loaded; see the sandbox errors)" if failed else ""
            raise NotFound(f"The local sandbox has no process {process_id!r}{hint}.") from None

    async def submit(
        self, process_id: str, request: ExecutionRequest, exchange: list[Exchange]
    ) -> RemoteJob:
        wps, base = await self._current()
        return self._localised(await wps.submit(process_id, request, exchange), base)

    async def status(self, job: RemoteJob, exchange: list[Exchange]) -> RemoteJob:
        wps, base = await self._current()
        if job.job_id and not await asyncio.get_running_loop().run_in_executor(
            None, (self.state / "outputs" / f"{job.job_id}.xml").exists
        ):
            raise NotFound(
                "The local sandbox no longer has this job's status document (its outputs "
                "were removed); run it again."
            )
        moved = job.model_copy(update={"status_url": self.local_url(job.status_url, base)})
        return self._localised(await wps.status(moved, exchange), base)

    async def dismiss(self, job: RemoteJob, exchange: list[Exchange]) -> bool:
        """Stop the job's process in the sandbox (WPS 1.0.0 itself cannot)."""
        if not job.job_id or not self.running:
            return False  # a job of an earlier sandbox runs no more
        _, base = await self._current()
        url = f"{base}{DISMISS_PATH}{job.job_id}"
        record = Exchange(method="POST", url=url)
        exchange.append(record)
        response = await self.http.post(url)
        record.status, record.response_body = response.status, response.text[:2000]
        return bool(response.json().get("dismissed"))

    def _localised(self, job: RemoteJob, base: str) -> RemoteJob:
        if job.status == "failed" and job.error == RESTARTED.rstrip("."):
            job.error = job.message = RESTARTED  # the WPS adapter drops the final stop
        job.status_url = self.local_url(job.status_url, base)
        for result in job.results:
            result.href = self.local_url(result.href, base)
        return job


def _output_name(href: str) -> str | None:
    """The path under the outputs folder a sandbox result's ``href`` names (unquoted once), or
    None when it is not a link to a loopback ``/outputs/``."""
    try:
        parts = urlsplit(href)
        host = parts.hostname
    except ValueError:  # no URL parser takes it: not a sandbox link
        return None
    if host not in _LOOPBACK or not parts.path.startswith(_OUTPUTS):
        return None
    return unquote(parts.path[len(_OUTPUTS) :])


def _read_output(root: Path, name: str, max_bytes: int) -> tuple[bytes, str]:
    """Blocking: the file ``name`` of the outputs folder ``root`` (see *Outputs*)."""
    if not name:
        raise NotFound("This result's link names no file of the sandbox's outputs.")
    segments = name.split("/")
    outside = Forbidden(
        "This result's link leads out of the sandbox's outputs folder; it is not served.",
        {"path": name[:200]},
    )
    if "\0" in name or any(s in ("", ".", "..") for s in segments):
        raise outside
    base = root.resolve()
    path = base.joinpath(*segments).resolve()  # every symlink followed
    if not path.is_relative_to(base):
        raise outside
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(
            "The sandbox no longer has this result's file (its outputs were removed); run the "
            "job again."
        ) from None
    except OSError:  # a symlink put there since (ELOOP), no permission
        raise outside from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO, a device
            raise Forbidden("This result of the sandbox is not a regular file; it is not served.")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        body = handle.read(max_bytes + 1) if info.st_size <= max_bytes else b""
    if info.st_size > max_bytes or len(body) > max_bytes:
        raise UpstreamError(
            f"This result of the sandbox is larger than the limit of {max_bytes:,} bytes "
            "(c.EOJLab.max_response_bytes).",
            {"limit": max_bytes},
        )
    return body, media_type(mimetypes.guess_type(path.name)[0]) or ""


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _open_log(path: Path):
    """The log file in append mode, trimmed to its newest half when it grew too big."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")  # noqa: SIM115  (read+append: the child trims it in place)
    try:
        size = os.fstat(handle.fileno()).st_size
        if size > LOG_MAX_BYTES:
            keep = LOG_MAX_BYTES // 2
            tail = os.pread(handle.fileno(), keep, size - keep)
            tail = tail[tail.find(b"\n") + 1 :]
            os.ftruncate(handle.fileno(), 0)
            handle.write(b"(older log lines dropped)\n" + tail)
            handle.flush()
    except OSError:
        pass
    return handle


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "port" in data else None


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - TAIL_READ_BYTES))
            data = handle.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > TAIL_READ_BYTES:  # the first line read is cut: drop it
        text = text.split("\n", 1)[-1]
    return "\n".join(text.splitlines()[-lines:])
