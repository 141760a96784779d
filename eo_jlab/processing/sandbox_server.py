"""The local PyWPS sandbox: a PyWPS 4.8 server run as a child process of the Jupyter server.

``SandboxService`` (sandbox.py) starts it with the Jupyter server's own Python::

    python -m eo_jlab.processing.sandbox_server --dir SANDBOX_DIR --state STATE_DIR \\
        --ready READY_FILE --parent-pid PID

**Process files.** Every ``*.py`` file of ``SANDBOX_DIR`` whose name does not start with ``_``
or ``.`` is loaded on its own (a unique module name each), so a broken file never hides the
others. A file offers its processes in one of two ways:

* a module-level ``processes`` list (or tuple) of ``pywps.Process`` instances; else
* every ``pywps.Process`` subclass *defined in that file*, instantiated without arguments.

Files starting with ``_`` are helpers: not loaded as process files, but importable from the
process files (the folder is on ``sys.path``). A file that fails to load (syntax error,
exception at import, a ``processes`` entry that is not a process, a process identifier
already taken) is reported with its file name, line number and message, and the others are
served all the same.

**What it serves** on ``127.0.0.1`` (a free port it picks itself), with werkzeug's threaded
server (a process whose input references this same server would hang a single thread), to
whoever holds its token only (see *Access* below):

* ``/wps``: ``pywps.Service`` (WPS 1.0.0); async jobs in PyWPS's ``multiprocessing`` mode
  (fork), a file-backed sqlite log database, DEBUG logging (so failures carry the reason);
* ``/outputs/``: the status documents and outputs by reference (PyWPS does not serve its
  ``outputpath``), a folder that outlives the child (``STATE_DIR/outputs``);
* ``/eo-jlab-sandbox/status``: JSON ``{"processes": [ids], "errors": [{"file", "line",
  "message"}], "pid", "dir"}``;
* ``POST /eo-jlab-sandbox/dismiss/<job uuid>``: stops that job's process (WPS 1.0.0 has no
  dismiss operation) and marks its status document failed; JSON ``{"dismissed": bool}``.

**Access.** Any local program (another user's on a shared host, a web page through the
browser, DNS rebinding) can reach a loopback port, so every request must carry
``Authorization: Bearer <token>``, a random token drawn at each start; the ``Host`` must be
``127.0.0.1:<port>``, ``localhost:<port>`` or ``[::1]:<port>``; and a request a browser sends
on a page's behalf (an ``Origin`` header, or ``Sec-Fetch-Site`` other than ``none``) is refused.
Otherwise 403 with a sentence, before anything runs. The token goes to the parent in
``READY_FILE`` and to generated code in ``STATE_DIR/connection.json`` (JSON: ``url``, ``wps``,
``token``, ``outputs`` (the folder of the outputs), ``pid``), both mode 0600 and written
atomically; never on a command line, in a URL or in the log. PyWPS's own fetches of inputs by
reference to this server (``requests``) carry the token too.

**Start-up.** The child takes an exclusive lock on ``STATE_DIR/.lock`` (one sandbox per state
folder; job processes inherit it, so a new child waits until the old one's jobs are gone),
starts a fresh PyWPS log database, and marks every status document still *accepted* or
*running* as failed: no process of an earlier child runs any more, so those jobs can never
finish ("The sandbox was restarted while this job ran; run it again."). Then it binds its
port, writes its PyWPS configuration, loads the process files and writes ``READY_FILE``
(JSON: ``port``, ``token``, ``pid``, ``processes``, ``errors``) and the connection file.

**Logging.** stdout and stderr (opened by the parent in append mode on ``STATE_DIR/sandbox.log``)
receive the PyWPS log, werkzeug's access log, tracebacks and whatever process code prints;
a thread keeps the file under ``--log-max`` bytes by dropping its oldest half.

**Stopping.** The parent kills the whole process group (SIGTERM, then SIGKILL). On SIGTERM the
server stops its job processes and reaps them; it also stops by itself when its parent dies.
"""

from __future__ import annotations

import argparse
import errno
import functools
import hmac
import importlib.util
import json
import logging
import multiprocessing
import os
import re
import secrets
import signal
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESTARTED = "The sandbox was restarted while this job ran; run it again."
DISMISSED = "Dismissed: the sandbox stopped this job."
HUNG_AT_START = "The sandbox could not start this job (its process hung); run it again."
STUCK_AFTER = 30.0  # seconds a job process may take to say it started
CONNECTION_FILE = "connection.json"
STATUS_PATH = "/eo-jlab-sandbox/status"
DISMISS_PATH = "/eo-jlab-sandbox/dismiss/"
EXIT_NO_PYWPS = 3
EXIT_LOCKED = 4
LOCK_WAIT = 15.0  # seconds to wait for a previous child (and its jobs) to let go of the folder
MESSAGE_LIMIT = 1000
WPS_NS = "http://www.opengis.net/wps/1.0.0"
OWS_NS = "http://www.opengis.net/ows/1.1"
CONFIG = """[metadata:main]
identification_title = eo_jlab local sandbox
identification_abstract = PyWPS processes of {folder}
provider_name = eo_jlab sandbox

[server]
url = {base}/wps
outputurl = {base}/outputs/
outputpath = {outputs}
workdir = {work}
maxsingleinputsize = 100mb
maxrequestsize = 200mb
parallelprocesses = {parallel}
maxprocesses = 100
cleantempdir = true

[processing]
mode = multiprocessing

[logging]
level = DEBUG
file =
database = {database}
"""

log = logging.getLogger("eo_jlab.sandbox")
_connection: Path | None = None  # this child's connection file, removed when it stops


# -- loading process files -----------------------------------------------------------------


class _FileProblem(Exception):
    """A process file loaded but does not offer usable processes."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def process_files(folder: Path) -> list[Path]:
    """The process files of a sandbox folder, in name order."""
    return sorted(
        p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(("_", "."))
    )


def load_processes(folder: Path) -> tuple[list[Any], list[dict[str, Any]]]:
    """Load every process file of ``folder``; return (processes, load errors)."""
    from pywps import Process

    folder = folder.resolve()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    processes: list[Any] = []
    errors: list[dict[str, Any]] = []
    owners: dict[str, str] = {}
    for index, path in enumerate(process_files(folder)):
        name = f"eo_jlab_sandbox_{index}_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"
        try:
            found = _load_file(path, name, Process)
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # anything a user file raises, SystemExit included
            sys.modules.pop(name, None)
            error = _error(path, exc)
            errors.append(error)
            log.error(
                "sandbox: %s could not be loaded (line %s): %s\n%s",
                path.name,
                error["line"],
                error["message"],
                _user_traceback(exc),
            )
            continue
        for process in found:
            identifier = str(process.identifier)
            if identifier in owners:
                errors.append(
                    {
                        "file": path.name,
                        "line": None,
                        "message": f"The process identifier {identifier!r} is already taken "
                        f"by {owners[identifier]}: this one is ignored.",
                    }
                )
                continue
            owners[identifier] = path.name
            processes.append(process)
        log.info(
            "sandbox: %s offers %s", path.name, ", ".join(p.identifier for p in found) or "nothing"
        )
    return processes, errors


def _load_file(path: Path, name: str, process_class: type) -> list[Any]:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _FileProblem("Python cannot load this file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if hasattr(module, "processes"):
        declared = module.processes
        if not isinstance(declared, (list, tuple)):
            raise _FileProblem(
                "The module-level 'processes' must be a list of pywps.Process instances, "
                f"not {type(declared).__name__}."
            )
        for position, item in enumerate(declared):
            if not isinstance(item, process_class):
                raise _FileProblem(
                    f"processes[{position}] is a {type(item).__name__}, not a pywps.Process."
                )
        return list(declared)
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, process_class)
            and value is not process_class
            and value.__module__ == name
        ):
            found.append(value())
    if not found:
        raise _FileProblem(
            "This file defines no process: add a module-level 'processes' list of "
            "pywps.Process instances, or a pywps.Process subclass whose __init__ takes no "
            "arguments. Name helper files with a leading '_'."
        )
    return found


def _user_traceback(exc: BaseException) -> str:
    """The traceback of a load error without the loader's own frames."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename != __file__ and not f.filename.startswith("<frozen")
    ]
    text = "".join(traceback.format_list(frames))
    return ("Traceback (most recent call last):\n" + text if text else "") + "".join(
        traceback.format_exception_only(type(exc), exc)
    )


def _error(path: Path, exc: BaseException) -> dict[str, Any]:
    line: int | None = getattr(exc, "line", None)
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:
        line = exc.lineno
        message = f"SyntaxError: {exc.msg}"
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        if frames:
            line = frames[-1].lineno
        text = str(exc).strip()
        if isinstance(exc, _FileProblem):
            message = text
        elif isinstance(exc, SyntaxError):
            where = Path(exc.filename).name if exc.filename else "an imported file"
            message = f"SyntaxError in {where} line {exc.lineno}: {exc.msg}"
        else:
            message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return {"file": path.name, "line": line, "message": message[:MESSAGE_LIMIT]}


# -- status documents of an earlier child ------------------------------------------------------


def fail_unfinished(outputs: Path) -> int:
    """Mark the status documents still accepted/running as failed; return how many."""
    from lxml import etree

    count = 0
    for path in outputs.glob("*.xml"):
        try:
            if path.stat().st_size > 5_000_000:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        try:
            root = etree.fromstring(
                data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            )
        except etree.XMLSyntaxError:
            if b"ExecuteResponse" not in data[:2000]:
                continue
            root = None  # caught half written by a job that was killed: rewrite it whole
        if root is not None:
            if etree.QName(root).localname != "ExecuteResponse":
                continue
            status = root.find(f"{{{WPS_NS}}}Status")
            if status is None:
                continue
            states = [c for c in status if isinstance(c.tag, str)]
            if not states or etree.QName(states[0]).localname not in (
                "ProcessAccepted",
                "ProcessStarted",
                "ProcessPaused",
            ):
                continue
        _write_failed(path, root, RESTARTED)
        count += 1
    return count


def _write_failed(path: Path, root: Any, message: str) -> None:
    from lxml import etree

    if root is None:
        root = etree.Element(
            f"{{{WPS_NS}}}ExecuteResponse",
            nsmap={"wps": WPS_NS, "ows": OWS_NS},
            service="WPS",
            version="1.0.0",
        )
    status = root.find(f"{{{WPS_NS}}}Status")
    if status is None:
        status = etree.SubElement(root, f"{{{WPS_NS}}}Status")
    for child in list(status):
        status.remove(child)
    status.set("creationTime", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    failed = etree.SubElement(status, f"{{{WPS_NS}}}ProcessFailed")
    report = etree.SubElement(failed, f"{{{WPS_NS}}}ExceptionReport")
    exception = etree.SubElement(report, f"{{{OWS_NS}}}Exception", exceptionCode="NoApplicableCode")
    etree.SubElement(exception, f"{{{OWS_NS}}}ExceptionText").text = message
    outputs = root.find(f"{{{WPS_NS}}}ProcessOutputs")
    if outputs is not None:
        root.remove(outputs)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
    os.replace(tmp, path)


def _stop_child(child: Any) -> None:
    """SIGTERM a job process of this server, SIGKILL after 3 s, and reap it."""
    child.terminate()
    child.join(3.0)
    if child.is_alive():
        child.kill()
        child.join(1.0)


def _end_failed(outputs: Path, job_id: str, message: str) -> None:
    """Record a job as failed with ``message``: its status document and PyWPS's database."""
    from lxml import etree
    from pywps import dblog
    from pywps.response.status import WPS_STATUS

    path = outputs / f"{job_id}.xml"
    try:
        root = etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False))
    except Exception:
        root = None
    _write_failed(path, root, message)
    dblog.store_status(job_id, WPS_STATUS.FAILED, message, 100)


def dismiss(job_id: str, outputs: Path) -> bool:
    """Stop the running job ``job_id`` (a job process of this server only); True if stopped."""
    if not re.fullmatch(r"[0-9A-Za-z-]{1,64}", job_id):
        return False
    from pywps import dblog

    with _DB_LOCK:
        session = dblog.get_session()
        try:
            row = session.query(dblog.ProcessInstance).filter_by(uuid=job_id).first()
            pid = row.pid if row is not None else None
        finally:
            session.close()
    children = {c.pid: c for c in multiprocessing.active_children()}
    child = children.get(pid)
    if child is not None:
        _stop_child(child)
    elif pid and _below_this_server(pid):
        # A job that waited in PyWPS's queue is started by the process of the job that ended
        # before it: a grandchild (or further) of this server, reaped by that process.
        _stop(pid)
    else:
        return False
    _end_failed(outputs, job_id, DISMISSED)
    log.info("sandbox: job %s dismissed (process %s stopped)", job_id, pid)
    return True


def _below_this_server(pid: int) -> bool:
    """Whether ``pid`` is a descendant of this process (Linux /proc; False elsewhere)."""
    me = os.getpid()
    for _ in range(64):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == me:
            return True
        if pid <= 1:
            return False
    return False


def _stop(pid: int) -> None:
    """SIGTERM, then SIGKILL after 3 s, to a process that is not our child (its parent reaps it)."""

    def gone() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if gone():
                return
            time.sleep(0.05)


# -- housekeeping threads ----------------------------------------------------------------------


def _trim(fd: int, limit: int) -> None:
    """Keep an append-mode log file under ``limit`` bytes by dropping its oldest half."""
    size = os.fstat(fd).st_size
    if size <= limit:
        return
    keep = limit // 2
    tail = os.pread(fd, keep, size - keep)
    newline = tail.find(b"\n")
    tail = tail[newline + 1 :] if newline >= 0 else tail
    os.ftruncate(fd, 0)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    os.write(fd, f"[{stamp}] (older log lines dropped)\n".encode() + tail)


def _housekeeping(parent_pid: int, limit: int) -> None:
    while True:
        time.sleep(1.0)
        if parent_pid and os.getppid() != parent_pid:
            log.warning("sandbox: the Jupyter server is gone; stopping")
            _shutdown(signal.SIGTERM, None)
        try:
            _trim(2, limit)
        except OSError:
            pass


def _shutdown(signum: int, frame: Any) -> None:
    """Stop the job processes, reap them, and exit (SIGTERM, or the parent died)."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + 2.0
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join(1.0)
    _forget_connection()
    logging.shutdown()
    os._exit(0)


def _lock(path: Path) -> int:
    import fcntl  # POSIX only, like the rest of the child; the parent imports this module too

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        if time.monotonic() > deadline:
            print(
                f"eo_jlab sandbox: another sandbox still uses {path.parent} (another Jupyter "
                "server with the same data directory?); giving up.",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(EXIT_LOCKED)
        time.sleep(0.1)


def _quiet_sql_echo(database: str) -> None:
    """PyWPS echoes every SQL statement when its log level is DEBUG (which it needs for useful
    failure messages): open its session factory once without the echo. PyWPS 4.8 internals,
    pinned by the ``sandbox`` extra; on anything else only the log gets noisier."""
    try:
        import sqlalchemy
        from pywps import dblog
        from sqlalchemy.orm import sessionmaker
        from sqlalchemy.pool import NullPool

        engine = sqlalchemy.create_engine(
            database, echo=False, connect_args={"check_same_thread": False}, poolclass=NullPool
        )
        dblog.ProcessInstance.metadata.create_all(engine)
        dblog.RequestInstance.metadata.create_all(engine)
        dblog._SESSION_MAKER = sessionmaker(bind=engine)
        dblog._SESSION_MAKER_DATABASE = database
    except Exception as exc:  # the log only gets noisier
        log.debug("sandbox: PyWPS SQL echo left on (%s)", exc)


# PyWPS's sqlite log database is used by every request thread, and async jobs are forked from
# one of them. A fork while another thread is inside an sqlite transaction copies SQLite's
# per-process lock bookkeeping ("this process holds the file locked") into the job process,
# where nothing will ever release it: the job's first query waits 5 s, fails with "database
# is locked", the job process dies before its handler runs, and the job stays *accepted* for
# ever, holding one of PyWPS's parallel slots (seen with 20 clients submitting jobs at once,
# tests/test_load.py). So PyWPS's database functions and fork() exclude each other.
_DB_LOCK = threading.RLock()
_DB_FUNCTIONS = (
    "log_request",
    "get_process_counts",
    "store_status",
    "update_pid",
    "cleanup_crashed_process",
    "store_process",
)


def _serialised(function: Any) -> Any:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _DB_LOCK:
            return function(*args, **kwargs)

    return call


def _fork_safe_database() -> None:
    """Wrap PyWPS 4.8's database functions (internals, pinned by the ``sandbox`` extra) in
    ``_DB_LOCK`` and hold that lock across every fork of this process."""
    try:
        import pywps.app.Service as service_module
        import pywps.response.basic as response_module
        from pywps import dblog
    except ImportError:
        return
    for name in _DB_FUNCTIONS:
        setattr(dblog, name, _serialised(getattr(dblog, name)))
    pop = dblog.pop_first_stored

    def pop_first_stored() -> Any:
        with _DB_LOCK:
            request = pop()
            if request is not None:  # its attributes are loaded (a query) before any fork
                _ = (request.uuid, request.request)
            return request

    dblog.pop_first_stored = pop_first_stored
    service_module.log_request = dblog.log_request
    service_module.store_status = dblog.store_status
    response_module.store_status = dblog.store_status

    def reset_in_child() -> None:
        global _DB_LOCK
        _DB_LOCK = threading.RLock()

    os.register_at_fork(
        before=lambda: _DB_LOCK.acquire(),
        after_in_parent=lambda: _DB_LOCK.release(),
        after_in_child=reset_in_child,
    )


def _watch_queue(service: Any, outputs: Path, every: float = 2.0) -> None:
    """Start queued jobs nobody else will start, and end jobs whose process hung at start.

    PyWPS runs at most ``parallelprocesses`` async jobs; the others wait in its queue and
    each is started by the process of a job that ends (in its ``finally``). A job process that
    never gets there (dismissed: stopped by ``dismiss``; killed; crashed) leaves the queue
    stuck until another job happens to end: seen under load as a job ``accepted`` for ever
    (tests/test_load.py). Every ``every`` seconds this thread marks jobs whose process is
    gone as failed (PyWPS's own check) and, while there is room, starts the next queued job.

    Rarely (about once in 60 jobs under tests/test_load.py's load), a job process forked
    while other threads of this server were busy hangs in its first database call, before
    it records its pid: alive, its job ``accepted`` for ever. The cause is not pinned down
    (the database functions and fork() already exclude each other, see ``_DB_LOCK``); a
    child of this server whose job is still accepted, under this server's pid, after
    ``STUCK_AFTER`` seconds is stopped and its job ends failed with ``HUNG_AT_START``.
    """
    from pywps import configuration, dblog
    from pywps.response.status import WPS_STATUS

    limit = int(configuration.get_config_value("server", "parallelprocesses"))
    first_seen: dict[int, float] = {}

    def hung_children() -> list[tuple[Any, str]]:
        now = time.monotonic()
        children = multiprocessing.active_children()  # also reaps ended job processes
        alive = {child.pid for child in children}
        for pid in list(first_seen):
            if pid not in alive:
                del first_seen[pid]
        candidates = []
        for child in children:
            started = first_seen.setdefault(child.pid, now)
            uuid = getattr((getattr(child, "_args", None) or (None, None))[1], "uuid", None)
            if uuid and now - started > STUCK_AFTER:
                candidates.append((child, str(uuid)))
        if not candidates:
            return []
        with _DB_LOCK:
            session = dblog.get_session()
            try:
                rows = {
                    row.uuid: row
                    for row in session.query(dblog.ProcessInstance).filter(
                        dblog.ProcessInstance.uuid.in_([u for _, u in candidates])
                    )
                }
            finally:
                session.close()
        me = os.getpid()
        return [
            (child, uuid)
            for child, uuid in candidates
            if uuid in rows
            and rows[uuid].status == WPS_STATUS.ACCEPTED
            and rows[uuid].pid in (me, None)  # never reached update_pid
        ]

    def end_hung(child: Any, uuid: str) -> None:
        _stop_child(child)
        _end_failed(outputs, uuid, HUNG_AT_START)
        log.warning("sandbox: job %s hung at start (process %s): stopped, failed", uuid, child.pid)

    def run() -> None:
        while True:
            time.sleep(every)
            try:
                for child, uuid in hung_children():
                    end_hung(child, uuid)
                with _DB_LOCK:
                    dblog.cleanup_crashed_process()
                    running, stored = dblog.get_process_counts()
                if stored and (limit == -1 or running < limit) and service.processes:
                    identifier = next(iter(service.processes))
                    log.info("sandbox: starting a queued job (%d running, %d queued)",
                             running, stored)  # fmt: skip
                    service.prepare_process_for_execution(identifier).launch_next_process()
            except Exception:  # the server goes on; the next round tries again
                log.exception("sandbox: the queue check failed")

    threading.Thread(target=run, name="sandbox-queue", daemon=True).start()


# -- access --------------------------------------------------------------------------------


def guarded(app: Any, port: int, token: str) -> Any:
    """``app`` answering only requests with this server's token and Host, and no browser
    marks (see *Access* in the module docstring); 403 with a sentence otherwise."""
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    expected = f"Bearer {token}".encode()

    def refuse(start_response: Any, sentence: str) -> list[bytes]:
        body = json.dumps({"error": sentence}).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def check(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_HOST", "").lower() not in hosts:
            return refuse(start_response, "The local sandbox answers only to its loopback address.")
        fetch_site = environ.get("HTTP_SEC_FETCH_SITE", "none").lower()
        if "HTTP_ORIGIN" in environ or fetch_site != "none":
            return refuse(start_response, "The local sandbox does not answer web pages.")
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, expected):
            return refuse(
                start_response,
                "The local sandbox needs its token (Authorization: Bearer, from its "
                "connection file).",
            )
        return app(environ, start_response)

    return check


def _own_requests_carry_token(base: str, token: str) -> None:
    """PyWPS fetches inputs by reference with ``requests``: those to this server (an output of
    an earlier job) carry the token. Job processes are forked from here and inherit it."""
    try:
        import requests
    except ImportError:
        return
    send = requests.Session.request

    def request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if str(url).startswith(base + "/"):
            kwargs["headers"] = {
                "Authorization": f"Bearer {token}",
                **(kwargs.get("headers") or {}),
            }
        return send(self, method, url, *args, **kwargs)

    requests.Session.request = request


def write_private(path: Path, data: dict[str, Any]) -> None:
    """``data`` as JSON in ``path``, readable by this user only, replaced atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older tmp of the same name kept its mode
        os.write(fd, json.dumps(data).encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _forget_connection() -> None:
    """Remove this child's connection file (not a newer child's)."""
    if _connection is None:
        return
    try:
        if json.loads(_connection.read_text(encoding="utf-8")).get("pid") == os.getpid():
            _connection.unlink()
    except (OSError, ValueError, AttributeError):
        pass


# -- the server ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="eo_jlab local PyWPS sandbox (child process)")
    parser.add_argument("--dir", required=True, help="folder of the process files")
    parser.add_argument("--state", required=True, help="folder of outputs, logs and config")
    parser.add_argument("--ready", required=True, help="file written once the server answers")
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--parallel", type=int, default=4, help="PyWPS parallelprocesses")
    parser.add_argument("--log-max", type=int, default=5_000_000, help="log file size cap")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("PYWPS").setLevel(logging.DEBUG)
    # No __pycache__ in the user's folder, and no stale bytecode after a quick edit.
    sys.dont_write_bytecode = True
    signal.signal(signal.SIGTERM, _shutdown)
    threading.Thread(
        target=_housekeeping, args=(args.parent_pid, args.log_max), daemon=True
    ).start()

    try:
        import pywps  # noqa: F401
        from werkzeug.middleware.shared_data import SharedDataMiddleware
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response
    except ImportError as exc:
        print(
            f"eo_jlab sandbox: PyWPS is not installed in {sys.executable} ({exc}); "
            "install eo-jlab[sandbox].",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_NO_PYWPS
    from pywps import Service

    if os.name == "posix":
        # PyWPS starts async jobs with multiprocessing; the processes come from files loaded
        # by path, which only a forked job process knows (spawn/forkserver would re-import).
        multiprocessing.set_start_method("fork", force=True)

    folder = Path(args.dir).expanduser().resolve()
    state = Path(args.state).expanduser().resolve()
    outputs, work = state / "outputs", state / "work"
    for path in (outputs, work):
        path.mkdir(parents=True, exist_ok=True)
    _lock(state / ".lock")
    started = time.monotonic()
    log.info("sandbox: starting (pid %s) for %s", os.getpid(), folder)

    database_file = state / "pywps-logs.sqlite"
    for stale in (database_file, state / "pywps-logs.sqlite-journal"):
        stale.unlink(missing_ok=True)  # queued requests of an earlier child must not run
    swept = fail_unfinished(outputs)
    if swept:
        log.warning("sandbox: %d job(s) of an earlier sandbox marked failed", swept)

    status: dict[str, Any] = {"processes": [], "errors": [], "pid": os.getpid(), "dir": str(folder)}
    service: Any = None

    def dispatch(environ, start_response):
        request = Request(environ)
        path = request.path.rstrip("/")
        if path == "/wps" and service is not None:
            return service(environ, start_response)
        if path == STATUS_PATH:
            body = json.dumps(status)
            return Response(body, mimetype="application/json")(environ, start_response)
        if path.startswith(DISMISS_PATH) and request.method == "POST":
            stopped = dismiss(path[len(DISMISS_PATH) :], outputs)
            body = json.dumps({"dismissed": stopped})
            return Response(body, mimetype="application/json")(environ, start_response)
        return Response("not found", status=404)(environ, start_response)

    token = secrets.token_urlsafe(32)
    app = SharedDataMiddleware(dispatch, {"/outputs": str(outputs)}, cache=False)
    server = _bind(state / "port", lambda port: make_server("127.0.0.1", port, app, threaded=True))
    server.app = guarded(app, server.server_port, token)  # before it serves its first request
    base = f"http://127.0.0.1:{server.server_port}"
    _own_requests_carry_token(base, token)
    config = state / "pywps.cfg"
    config.write_text(
        CONFIG.format(
            folder=folder,
            base=base,
            outputs=outputs,
            work=work,
            parallel=max(1, args.parallel),
            database=f"sqlite:///{database_file}",
        ),
        encoding="utf-8",
    )
    from pywps import configuration

    configuration.load_configuration([str(config)])
    _quiet_sql_echo(f"sqlite:///{database_file}")
    _fork_safe_database()

    processes, errors = load_processes(folder)
    service = Service(processes, [str(config)])
    _watch_queue(service, outputs)
    status["processes"] = [p.identifier for p in processes]
    status["errors"] = errors

    global _connection
    _connection = state / CONNECTION_FILE
    write_private(
        _connection,
        {
            "url": base,
            "wps": f"{base}/wps",
            "token": token,
            "outputs": str(outputs),
            "pid": os.getpid(),
        },
    )
    write_private(Path(args.ready), {**status, "port": server.server_port, "token": token})
    log.info(
        "sandbox: serving %d process(es) on %s/wps (%d file error(s)) after %.1f s",
        len(processes),
        base,
        len(errors),
        time.monotonic() - started,
    )
    server.serve_forever()
    return 0


def _bind(port_file: Path, make: Any) -> Any:
    """Serve on the port of the previous run when it is free (so code written against the
    sandbox's address keeps working across reloads and restarts), else on a free one; the
    port is remembered in ``port_file``."""
    try:
        previous = int(port_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        previous = 0
    server = None
    if 1024 <= previous <= 65535:
        try:
            server = make(previous)
        except (OSError, SystemExit):  # werkzeug exits when the port is taken
            server = None
    if server is None:
        server = make(0)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_port), encoding="utf-8")
    os.replace(tmp, port_file)
    return server


if __name__ == "__main__":
    sys.exit(main())
