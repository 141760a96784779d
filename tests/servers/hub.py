"""A real JupyterHub on 127.0.0.1 with the eo-jlab share service, for two-user sharing tests.

``hub`` is a session fixture (a ``Hub``): JupyterHub from the main venv (``make .make/hub``,
see mk/hub.mk) with configurable-http-proxy from ``.servers/chp``, on free ports, configured
by ``eo_jlab.sharing.demo_hub`` (the same configuration as ``make demo-hub``):
DummyAuthenticator with the users alice, bob and carol and a group ``class`` holding bob;
SimpleLocalProcessSpawner with per-user homes under the session's temp dir, starting
``.venv/bin/jupyterhub-singleuser`` (eo_jlab installed) with ``c.EOJLab.share_service_url``
pointing straight at the share service; the share service (``eo_jlab.sharing.service``) as a
managed service with its store in the temp dir; and ``test-driver``, an api-token service the
tests use to start servers and mint user tokens. A module may give the user servers extra
configuration before starting them (``Hub.server_config``: a JSON config file in the user's
home, e.g. a processing endpoint) and read a running server's environment (its own hub token)
with ``Hub.server_environ``.

Every process the hub starts carries a marker in its environment: teardown stops the user
servers, then the hub (which stops the proxy and the service), then kills whatever still
carries the marker, so nothing is left running. The fixture fails (never skips) when
something is missing or does not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eo_jlab.sharing.demo_hub import SERVICE, USERS, hub_settings, write_hub

from . import fail

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
CHP = ROOT / ".servers" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
MARKER_ENV = "EO_JLAB_TEST_HUB"


class Hub:
    """The running hub, as the tests see it."""

    def __init__(self, home: Path, url: str, service_url: str, admin_token: str, marker: str = ""):
        self.home = home
        self.marker = marker  # MARKER_ENV's value in every process the hub starts
        self.url = url  # the proxy's public URL, ending with "/"
        self.api = url + "hub/api/"
        self.service_url = service_url  # the share service, directly (ends with "/")
        self.store = home / "store"
        self.admin_token = admin_token
        self.client = httpx.Client(timeout=30, trust_env=False)
        self._tokens: dict[tuple[str, tuple[str, ...]], str] = {}
        self._started: set[str] = set()

    def home_of(self, user: str) -> Path:
        return self.home / "users" / user

    def admin(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"token {self.admin_token}"}
        return self.client.request(method, self.api + path, headers=headers, **kwargs)

    def token(self, user: str, *scopes: str) -> str:
        """A fresh API token of ``user`` (default scopes: its server and the share service)."""
        scopes = scopes or (f"access:servers!user={user}", f"access:services!service={SERVICE}")
        key = (user, scopes)
        if key not in self._tokens:
            answer = self.admin(
                "POST", f"users/{user}/tokens",
                json={"scopes": list(scopes), "expires_in": 3600, "note": "eo_jlab tests"},
            )  # fmt: skip
            assert answer.status_code in (200, 201), answer.text
            self._tokens[key] = answer.json()["token"]
        return self._tokens[key]

    def start_servers(self, *users: str, timeout: float = 60) -> None:
        """Start the users' servers (in parallel) and wait until each is ready."""
        wanted = [u for u in users if u not in self._started]
        for user in wanted:
            answer = self.admin("POST", f"users/{user}/server")
            if answer.status_code not in (201, 202, 400):  # 400: already running
                fail(f"hub fixture: starting {user}'s server: {answer.status_code} {answer.text}")
        deadline = time.monotonic() + timeout
        for user in wanted:
            while True:
                model = self.admin("GET", f"users/{user}").json()
                server = (model.get("servers") or {}).get("")
                if server and server.get("ready"):
                    break
                if time.monotonic() > deadline:
                    fail(
                        f"hub fixture: {user}'s server was not ready within {timeout:.0f} s; "
                        + self.log_tail()
                    )
                time.sleep(0.2)
            self._started.add(user)

    def server_url(self, user: str) -> str:
        return f"{self.url}user/{user}/"

    def server_config(self, user: str, config: dict | None) -> None:
        """Give ``user``'s server extra configuration (``{"EOJLab": {...}}``) from its next
        start on (``$HOME/.jupyter/jupyter_server_config.json``); ``None`` removes it."""
        path = self.home_of(user) / ".jupyter" / "jupyter_server_config.json"
        if config is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config), encoding="utf-8")

    def server_environ(self, user: str) -> dict[str, str]:
        """The environment of ``user``'s running single-user server (its hub token, HOME)."""
        for pid in _marked_pids(self.marker):
            with contextlib.suppress(OSError):
                raw = (Path("/proc") / str(pid) / "environ").read_bytes()
                env = dict(
                    item.decode(errors="replace").split("=", 1)
                    for item in raw.split(b"\0")
                    if b"=" in item
                )
                cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
                if env.get("JUPYTERHUB_USER") == user and b"jupyterhub-singleuser" in cmdline:
                    return env
        fail(f"hub fixture: no running server of {user} found")
        return {}  # pragma: no cover

    def log_tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return (self.home / "hub.log").read_text(errors="replace")[-n:]
        return ""

    def stop_servers(self, timeout: float = 30) -> None:
        """Stop the servers this fixture started and wait until the hub says they are gone
        (with a stop still pending, the next module's ``start_servers`` would time out)."""
        stopping = list(self._started)
        for user in stopping:
            with contextlib.suppress(httpx.HTTPError):
                self.admin("DELETE", f"users/{user}/server")
        self._started.clear()
        deadline = time.monotonic() + timeout
        for user in stopping:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    if not (self.admin("GET", f"users/{user}").json().get("servers") or {}):
                        break
                time.sleep(0.2)


def _marked_pids(marker: str) -> list[int]:
    needle = f"{MARKER_ENV}={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
    return pids


def _kill_marked(marker: str, grace: float = 5.0) -> None:
    deadline = time.monotonic() + grace
    while (pids := _marked_pids(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _marked_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    started = time.monotonic()
    jupyterhub = VENV / "bin" / "jupyterhub"
    singleuser = VENV / "bin" / "jupyterhub-singleuser"
    for needed in (jupyterhub, singleuser, CHP):
        if not needed.exists():
            fail(f"hub fixture: {needed} is missing; run `make .make/hub` first.")
    home = tmp_path_factory.mktemp("hub")
    marker = secrets.token_hex(8)
    admin_token = secrets.token_hex(32)
    settings = hub_settings(
        home,
        CHP,
        users=USERS,
        environment={MARKER_ENV: marker},
        api_services={"test-driver": admin_token},
        extra_roles=[
            {
                "name": "test-driver",
                "scopes": ["admin:users", "admin:servers", "admin:groups", "tokens",
                           "access:servers", "read:services", "shares"],
                "services": ["test-driver"],
            }
        ],
        cache_max_age=1,
    )  # fmt: skip
    config = write_hub(settings)
    service_url = settings["service_url"]
    env = {
        **os.environ,
        MARKER_ENV: marker,
        "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
        "PYTHONWARNINGS": "ignore",
    }
    log = (home / "hub.log").open("w")
    process = subprocess.Popen(
        [str(jupyterhub), "-f", str(config)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{settings['proxy_port']}/"
    state = Hub(home, url, service_url, admin_token, marker)

    def stop() -> None:
        state.stop_servers()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        _kill_marked(marker)
        state.client.close()
        log.close()

    deadline = time.monotonic() + 60
    probes = [url + "hub/api/", service_url]
    try:
        while probes:
            if process.poll() is not None:
                log.flush()
                fail("hub fixture: JupyterHub exited early: " + state.log_tail())
            try:
                if state.client.get(probes[0], timeout=2).status_code == 200:
                    probes.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                fail(f"hub fixture: {probes[0]} did not answer within 60 s; " + state.log_tail())
            time.sleep(0.1)
    except BaseException:
        stop()
        raise
    print(f"\nJupyterHub ready on {url} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    try:
        yield state
    finally:
        stop()
        if os.environ.get("EO_JLAB_KEEP_HUB_LOG"):
            print(state.log_tail(20000), file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)


def json_body(response: httpx.Response):
    try:
        return response.json()
    except json.JSONDecodeError:
        return {"error": response.text[:500]}
