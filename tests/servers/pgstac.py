"""A real STAC API for the tests: stac-fastapi-pgstac on a throw-away PostgreSQL 15 + PostGIS.

``stac_api_url`` (session scope) initialises a cluster in a temporary folder (as ``postgres``
when run as root: initdb refuses root), starts it on a free 127.0.0.1 port with its socket in
that folder and fsync off, runs ``pypgstac migrate``, loads the demo's synthetic collections
and items (the files ``write_catalogue`` writes once per session, asset hrefs made absolute)
with per-collection queryables, turns pgstac's ``context`` (numberMatched) on, and serves the
API with uvicorn from the ``.servers/stac`` venv (``make .make/stac-server``). It yields the
landing page URL and stops everything afterwards. Anything missing fails the tests with a
sentence, never skips.

``stac_api_factory`` starts more API processes on the same database (other extension sets).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eo_jlab.catalogue.base import infer_queryables
from eo_jlab.demo.catalogue import write_catalogue

from . import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
STAC_BIN = ROOT / ".servers" / "stac" / "bin"
SET_UP = "run `make .make/stac-server` (or `make install`) first"
# Properties that have their own search parameter or are free text: not queryables.
NOT_QUERYABLE = {"title", "datetime", "start_datetime", "end_datetime", "created", "updated"}


def _run(args: list[str], *, user: str | None = None, env: dict | None = None) -> str:
    if user and os.geteuid() == 0:
        args = ["runuser", "-u", user, "--", *args]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(args[:4])} failed ({done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-1500:]}",
            pytrace=False,
        )
    return done.stdout


def _check_installed() -> None:
    missing = [str(p) for p in (PG_BIN / "initdb", PG_BIN / "pg_ctl") if not p.exists()]
    missing += [str(STAC_BIN / n) for n in ("uvicorn", "pypgstac") if not (STAC_BIN / n).exists()]
    if missing:
        pytest.fail(
            f"The STAC API test server is not installed ({', '.join(missing)} missing): {SET_UP}.",
            pytrace=False,
        )
    if not Path("/usr/share/postgresql/15/extension/postgis.control").exists():
        pytest.fail(f"PostGIS for PostgreSQL 15 is not installed: {SET_UP}.", pytrace=False)


def _queryables(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON Schema of the items' scalar properties (type, range, enum), STAC names."""
    properties = infer_queryables((item["properties"] for item in items), NOT_QUERYABLE)
    return {"type": "object", "properties": properties}


def _load_files(catalog: Path, dest: Path) -> tuple[Path, Path, dict[str, Any]]:
    """ndjson files of the collections and items ``write_catalogue`` wrote; queryables."""
    collections, items, queryables = [], [], {}
    for collection_file in sorted(catalog.parent.glob("*/collection.json")):
        collection = json.loads(collection_file.read_text())
        collection["links"] = []
        collections.append(collection)
        members = []
        for item_file in sorted(collection_file.parent.glob("*/*.json")):
            item = json.loads(item_file.read_text())
            item["properties"].pop("_seed", None)
            item["links"] = []
            for asset in item.get("assets", {}).values():
                asset["href"] = str((item_file.parent / asset["href"]).resolve())
            members.append(item)
        items += members
        queryables[collection["id"]] = _queryables(members)
    (dest / "collections.ndjson").write_text("\n".join(json.dumps(c) for c in collections))
    (dest / "items.ndjson").write_text("\n".join(json.dumps(i) for i in items))
    return dest / "collections.ndjson", dest / "items.ndjson", queryables


class PgStac:
    """The database and the API processes on it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/pgstac"
        self.apis: list[subprocess.Popen] = []
        self.started = False
        self.start_time = 0.0  # seconds to set the database up

    def start_database(self, catalog: Path) -> None:
        owner = "postgres" if os.geteuid() == 0 else None
        if owner:
            shutil.chown(self.folder, owner, owner)
        os.chmod(self.folder, 0o755)
        _run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
            + ["--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"],
            user=owner,
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "pg.log")]
            + ["-o", options, "-w", "-t", "30", "start"],
            user=owner,
        )
        self.started = True
        psql = [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        psql += ["-p", str(self.port), "-U", "postgres"]
        _run([*psql, "-d", "postgres", "-c", "CREATE DATABASE pgstac"])
        _run([*psql, "-d", "pgstac", "-c", "CREATE EXTENSION IF NOT EXISTS postgis"])
        env = {**os.environ, "PGPASSWORD": "unused"}
        _run([str(STAC_BIN / "pypgstac"), "migrate", "--dsn", self.dsn], env=env)
        collections, items, queryables = _load_files(catalog, self.folder)
        for kind, path in (("collections", collections), ("items", items)):
            _run(
                [str(STAC_BIN / "pypgstac"), "load", kind, str(path), "--dsn", self.dsn]
                + ["--method", "insert"],
                env=env,
            )
        sql = ["UPDATE pgstac.pgstac_settings SET value = 'on' WHERE name = 'context';"]
        for cid, schema in queryables.items():
            literal = json.dumps(schema).replace("'", "''")
            sql.append(
                f"SELECT pgstac.upsert_queryables('{literal}'::jsonb, ARRAY['{cid}']::text[]);"
            )
        _run([*psql, "-d", "pgstac", "-c", "\n".join(sql)])

    def start_api(self, extensions: str | None = None) -> str:
        port = free_port()
        env = {
            **os.environ,
            "PGUSER": "postgres",
            "PGPASSWORD": "unused",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGDATABASE": "pgstac",
            "DB_MIN_CONN_SIZE": "1",
            "DB_MAX_CONN_SIZE": "4",
            "STAC_FASTAPI_TITLE": "eo_jlab test STAC API",
            "STAC_FASTAPI_DESCRIPTION": "pgstac with the demo's synthetic products",
            "STAC_FASTAPI_LANDING_ID": "eo-jlab-test",
        }
        if extensions is not None:
            env["ENABLED_EXTENSIONS"] = extensions
        log = open(self.folder / f"api-{port}.log", "wb")  # noqa: SIM115 (closed with the folder)
        process = subprocess.Popen(
            [str(STAC_BIN / "uvicorn"), "--factory", "stac_fastapi.pgstac.app:create_app"]
            + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        self.apis.append(process)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = (self.folder / f"api-{port}.log").read_text(errors="replace")
                pytest.fail(f"stac-fastapi-pgstac exited at start-up: {text[-1500:]}", False)
            try:
                with urllib.request.urlopen(url + "_mgmt/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return url
            except OSError:
                time.sleep(0.1)
        pytest.fail("stac-fastapi-pgstac did not answer within 30 seconds.", pytrace=False)

    def stop(self) -> None:
        for process in self.apis:
            process.terminate()
        for process in self.apis:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.started:
            owner = "postgres" if os.geteuid() == 0 else None
            args = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            if owner:
                args = ["runuser", "-u", owner, "--", *args]
            subprocess.run(args, capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def _synthetic(tmp_path_factory) -> Path:
    return write_catalogue(tmp_path_factory.getbasetemp() / "synthetic-catalogue")


_RUNNING: dict[str, PgStac] = {}


@pytest.fixture(scope="session")
def synthetic_catalogue(tmp_path_factory) -> Path:
    """The demo's static catalogue (``catalog.json``), written once per test session."""
    return _synthetic(tmp_path_factory)


@pytest.fixture(scope="session")
def stac_api_url(tmp_path_factory) -> Iterator[str]:
    """The landing page URL of stac-fastapi-pgstac serving the demo's synthetic products.

    Self-contained (needs no other fixture of this module), so a test module can import it
    alone: ``from .servers.pgstac import stac_api_url  # noqa: F401``.
    """
    _check_installed()
    started = time.monotonic()
    server = PgStac(Path(tempfile.mkdtemp(prefix="eo-jlab-pgstac-")))
    try:
        server.start_database(_synthetic(tmp_path_factory))
        server.start_time = time.monotonic() - started
        url = server.start_api()
        _RUNNING["server"] = server
        yield url
    finally:
        _RUNNING.pop("server", None)
        server.stop()


@pytest.fixture(scope="session")
def stac_api_factory(stac_api_url):
    """``start(extensions)``: another API process on the same data, e.g. without ``filter``."""
    return _RUNNING["server"].start_api
