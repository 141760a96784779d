"""Sharing through the REST routes in local mode (c.EOJLab.shared_root), several users.

Other users are simulated by letting the server's identity provider read an ``X-Test-User``
header: the handlers take the caller from ``current_user`` as in a real server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from jupyter_server.auth.identity import User

from eo_jlab.sharing import SHARING_OFF

GB = 1 << 30


@pytest.fixture
def share_root(tmp_path) -> Path:
    return tmp_path / "share-store"


@pytest.fixture
def eo_config(share_root):
    return {"shared_root": str(share_root)}


@pytest.fixture
def users(jp_serverapp, monkeypatch):
    """Requests with ``X-Test-User: name`` are made as that user."""
    provider = jp_serverapp.identity_provider
    original = provider.get_user

    async def get_user(handler):
        user = original(handler)  # authenticates the token as usual
        user = await user if asyncio.iscoroutine(user) else user
        name = handler.request.headers.get("X-Test-User")
        return User(username=name) if user is not None and name else user

    monkeypatch.setattr(provider, "get_user", get_user)
    return provider


@pytest.fixture
def api(jp_fetch, users):
    async def call(method: str, *path: str, user: str = "alice", body=None, params=None):
        kwargs = {"method": method, "headers": {"X-Test-User": user}, "raise_error": False}
        if body is not None or method == "POST":
            kwargs["body"] = json.dumps(body or {})
        response = await jp_fetch("eo-jlab", *path, params=params, **kwargs)
        data = response.body
        if response.headers.get("Content-Type", "").startswith("application/json") and data:
            try:
                data = json.loads(data)
            except ValueError:
                pass
        return response.code, data, response.headers

    return call


@pytest.fixture
def workspace(jp_root_dir) -> Path:
    root = Path(jp_root_dir)
    (root / "notebooks").mkdir()
    (root / "notebooks" / "ndvi.ipynb").write_text('{"cells": [], "nbformat": 4}')
    (root / "course" / "data").mkdir(parents=True)
    (root / "course" / "intro.md").write_text("# Intro\n<script>alert(1)</script>\n")
    (root / "course" / "data" / "blob.bin").write_bytes(b"\x00\x01binary")
    (root / "course" / "page.html").write_text("<html><script>alert(1)</script></html>")
    return root


async def test_config_reports_local_sharing(eo_get):
    status, body = await eo_get("config")
    assert status == 200 and body["sharing"] == {"enabled": True, "mode": "local"}


async def test_share_list_read_copy_rules(api, workspace):
    recipients = {"users": ["bob"], "groups": [], "public": False}
    status, share, headers = await api(
        "POST", "shares", body={"path": "notebooks/ndvi.ipynb", "recipients": recipients,
                                "message": "NDVI over Toulouse"},
    )  # fmt: skip
    assert status == 201, share
    assert headers["Location"].endswith(f"/eo-jlab/shares/{share['id']}")
    assert {"id", "owner", "name", "kind", "version", "created", "updated", "message",
            "recipients", "size", "files"} <= set(share)  # fmt: skip
    assert (share["owner"], share["name"], share["kind"], share["version"]) == (
        "alice", "ndvi.ipynb", "file", 1,
    )  # fmt: skip
    assert share["recipients"] == recipients and share["files"] == ["ndvi.ipynb"]
    sid = share["id"]

    status, body, _ = await api("GET", "shares", params={"scope": "by-me"})
    assert status == 200 and [s["id"] for s in body["shares"]] == [sid]
    status, body, _ = await api("GET", "shares", user="bob", params={"scope": "with-me"})
    assert [s["id"] for s in body["shares"]] == [sid]
    status, body, _ = await api("GET", "shares", user="eve", params={"scope": "with-me"})
    assert body["shares"] == []
    status, body, _ = await api("GET", "shares", params={"scope": "nope"})
    assert status == 400 and "scope" in body["error"]

    assert (await api("GET", "shares", sid, user="bob"))[0] == 200
    status, body, _ = await api("GET", "shares", sid, user="eve")
    assert status == 404 and body == {"error": f"There is no share {sid!r} you can see.",
                                      "details": {}}  # fmt: skip
    status, body, headers = await api("GET", "shares", sid, "files", "ndvi.ipynb", user="bob")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == {"cells": [], "nbformat": 4}
    assert (await api("GET", "shares", sid, "files", "ndvi.ipynb", user="eve"))[0] == 404

    status, body, _ = await api("POST", "shares", sid, "copy", user="bob")
    assert (status, body) == (200, {"path": "ndvi.ipynb"})
    status, body, _ = await api("POST", "shares", sid, "copy", user="bob")
    assert body == {"path": "ndvi-1.ipynb"}
    status, body, _ = await api(
        "POST", "shares", sid, "copy", user="bob", body={"destination": "notebooks/ndvi.ipynb"}
    )
    assert body == {"path": "notebooks/ndvi-1.ipynb"}
    assert (workspace / "notebooks" / "ndvi.ipynb").read_text() == '{"cells": [], "nbformat": 4}'
    assert (await api("POST", "shares", sid, "copy", user="eve"))[0] == 404

    # Only the owner adds versions or unshares; recipients 403, others 404.
    for method, path in [("POST", ("versions",)), ("DELETE", ())]:
        status, body, _ = await api(method, "shares", sid, *path, user="bob")
        assert status == 403 and "owner" in body["error"] and body["details"] == {}
        assert (await api(method, "shares", sid, *path, user="eve"))[0] == 404
    (workspace / "notebooks" / "ndvi.ipynb").write_text('{"cells": [1], "nbformat": 4}')
    status, v2, _ = await api("POST", "shares", sid, "versions", body={"message": "v2"})
    assert status == 201 and v2["version"] == 2 and v2["message"] == "v2"
    status, body, _ = await api("GET", "shares", sid, "files", "ndvi.ipynb", user="bob")
    assert body["cells"] == [1]
    status, body, _ = await api("DELETE", "shares", sid)
    assert status == 204 and body == b""
    assert (await api("GET", "shares", sid))[0] == 404


async def test_public_folder_share_and_file_types(api, workspace):
    status, share, _ = await api(
        "POST", "shares", body={"path": "course", "recipients": {"public": True}}
    )
    assert status == 201 and share["kind"] == "directory"
    assert share["files"] == ["data/blob.bin", "intro.md", "page.html"]
    sid = share["id"]
    status, body, _ = await api("GET", "shares", user="zoe", params={"scope": "public"})
    assert [s["id"] for s in body["shares"]] == [sid]
    status, body, headers = await api("GET", "shares", sid, "files", "intro.md", user="zoe")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    status, body, headers = await api("GET", "shares", sid, "files", "page.html", user="zoe")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Security-Policy"] == "sandbox"
    status, body, headers = await api("GET", "shares", sid, "files", "data/blob.bin", user="zoe")
    assert status == 200 and body == b"\x00\x01binary"
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="blob.bin"'
    status, body, _ = await api("POST", "shares", sid, "copy", user="zoe")
    assert body == {"path": "course-1"}
    assert (workspace / "course-1" / "data" / "blob.bin").read_bytes() == b"\x00\x01binary"
    # An admin (EO_JLAB_SHARE_ADMINS) removes anyone's share.
    os.environ["EO_JLAB_SHARE_ADMINS"] = "operator"
    try:
        assert (await api("DELETE", "shares", sid, user="zoe"))[0] == 403
        assert (await api("DELETE", "shares", sid, user="operator"))[0] == 204
    finally:
        del os.environ["EO_JLAB_SHARE_ADMINS"]


async def test_traversal_and_symlink_escapes_refused(
    api, workspace, tmp_path, http_server_client, jp_base_url, jp_auth_header, users
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (workspace / "escape").symlink_to(outside)
    (workspace / "escape.txt").symlink_to(outside / "secret.txt")
    (workspace / ".hidden").mkdir()
    for path in ["../outside/secret.txt", "/etc/passwd", "notebooks/../../outside",
                 "escape", "escape/secret.txt", "escape.txt", ".hidden", "", ".",
                 "%2e%2e/outside"]:  # fmt: skip
        status, body, _ = await api(
            "POST", "shares", body={"path": path, "recipients": {"public": True}}
        )
        assert status in (400, 404), (path, status, body)
        assert "Traceback" not in json.dumps(body)
    # The store itself cannot be shared even when it lives in the workspace: tested in
    # test_store_inside_workspace_is_not_shareable below.
    status, share, _ = await api(
        "POST", "shares", body={"path": "notebooks", "recipients": {"public": True}}
    )
    sid = share["id"]
    for destination in ["../x", "/tmp/x", "notebooks/../../x", "escape/x", ".hidden/x"]:
        status, body, _ = await api(
            "POST", "shares", sid, "copy", body={"destination": destination}
        )
        assert status == 400, (destination, body)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    for raw in ["..%2Fmanifest.json", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                "ndvi.ipynb%2F..%2F..%2Fmanifest.json"]:  # fmt: skip
        response = await http_server_client.fetch(
            f"{jp_base_url}eo-jlab/shares/{sid}/files/{raw}",
            headers=jp_auth_header, raise_error=False,
        )  # fmt: skip
        assert response.code in (400, 404), raw
        assert b"secret" not in response.body and b"root:" not in response.body


class TestSharingOff:
    @pytest.fixture
    def eo_config(self):
        return {}

    async def test_every_route_says_how_to_turn_it_on(self, jp_fetch):
        routes = [("GET", "shares"), ("POST", "shares"), ("GET", "shares/x"),
                  ("DELETE", "shares/x"), ("POST", "shares/x/versions"),
                  ("POST", "shares/x/copy"), ("GET", "shares/x/files/a.txt")]  # fmt: skip
        for method, path in routes:
            response = await jp_fetch(
                "eo-jlab", path, method=method, raise_error=False,
                body="{}" if method == "POST" else None,
            )  # fmt: skip
            assert response.code == 400
            assert json.loads(response.body) == {"error": SHARING_OFF, "details": {}}


class TestStoreInWorkspace:
    @pytest.fixture
    def eo_config(self, jp_root_dir):
        return {"shared_root": str(Path(jp_root_dir) / "store")}

    async def test_store_inside_workspace_is_not_shareable(self, api, workspace):
        status, body, _ = await api("POST", "shares", body={"path": "store"})
        assert status == 400 and "share store" in body["error"]
        status, share, _ = await api("POST", "shares", body={"path": "notebooks"})
        assert status == 201
        status, body, _ = await api("POST", "shares", share["id"], "copy",
                                    body={"destination": "store/shares/x"})  # fmt: skip
        assert status == 400 and "share store" in body["error"]


async def test_concurrent_shares_and_versions(api, workspace, share_root):
    async def one(n: int):
        if n % 3:
            return await api("POST", "shares", body={"path": "course", "message": str(n)})
        return await api("POST", "shares", first["id"], "versions", body={"message": str(n)})

    status, first, _ = await api("POST", "shares", body={"path": "course"})
    results = await asyncio.gather(*(one(n) for n in range(30)))
    assert all(code == 201 for code, _, _ in results), [r[:2] for r in results if r[0] != 201]
    manifests = [json.loads(p.read_text()) for p in (share_root / "shares").glob("*/manifest.json")]
    assert len(manifests) == 1 + 20
    for manifest in manifests:
        assert [v["version"] for v in manifest["versions"]] == list(
            range(1, manifest["version"] + 1)
        )
    assert max(m["version"] for m in manifests) == 11
    assert not [p for p in share_root.rglob("*") if ".tmp" in p.name]


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class _PeakRSS:
    def __init__(self):
        self.base = _rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.base


@pytest.mark.timeout(120)
async def test_one_gigabyte_folder_without_memory_growth(api, workspace, share_root, jp_fetch):
    free = shutil.disk_usage(workspace).free
    assert free > 3 * GB, f"this test needs 3 GiB free on {workspace}, there are {free >> 20} MiB"
    big = workspace / "big"
    big.mkdir()
    for i in range(8):  # 8 sparse files of 128 MiB with a little real data in each
        with open(big / f"part{i}.bin", "wb") as f:
            f.write(os.urandom(4096))
            f.truncate(GB // 8)
    pings: list[float] = []

    async def ping_while(task):
        while not task.done():
            t0 = time.perf_counter()
            await jp_fetch("api", "status")
            pings.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)

    rss = _PeakRSS()
    t0 = time.perf_counter()
    task = asyncio.ensure_future(api("POST", "shares", body={"path": "big"}))
    await ping_while(task)
    status, share, _ = task.result()
    task = asyncio.ensure_future(api("POST", "shares", share["id"], "copy"))
    await ping_while(task)
    copied = task.result()
    elapsed = time.perf_counter() - t0
    growth = rss.stop()
    assert status == 201 and share["size"] == GB
    assert copied[:2] == (200, {"path": "big-1"})
    assert (workspace / "big-1" / "part3.bin").stat().st_size == GB // 8
    assert growth < 100 << 20, f"RSS grew by {growth >> 20} MiB"
    assert elapsed < 60
    assert pings and max(pings) < 1.0, f"the event loop stalled {max(pings):.2f} s"


async def test_token_user_is_the_server_account(jp_fetch, workspace):
    """jupyter-server's random "Anonymous <moon>" token user shares as the OS account."""
    import getpass

    response = await jp_fetch(
        "eo-jlab", "shares", method="POST", body=json.dumps({"path": "notebooks"})
    )
    assert response.code == 201
    assert json.loads(response.body)["owner"] == getpass.getuser()


async def test_demo_examples_share_is_public_and_copies(api, workspace, share_root):
    from eo_jlab.demo.shares import NOTEBOOK, seed_examples

    seeded = seed_examples(share_root)
    status, body, _ = await api("GET", "shares", user="bob", params={"scope": "public"})
    assert [(s["id"], s["owner"], s["name"]) for s in body["shares"]] == [
        (seeded["id"], "operator", "examples")
    ]
    status, body, headers = await api("GET", "shares", seeded["id"], "files", NOTEBOOK, user="bob")
    assert status == 200 and body["nbformat"] == 4
    status, body, _ = await api("POST", "shares", seeded["id"], "copy", user="bob")
    assert body == {"path": "examples"}
    assert json.loads((workspace / "examples" / NOTEBOOK).read_text())["nbformat"] == 4
    assert (await api("DELETE", "shares", seeded["id"], user="bob"))[0] == 403


async def test_a_single_server_has_no_user_directory(jp_fetch):
    """The recipient picker's names exist in hub mode only: here a sentence, no list."""
    from tornado.httpclient import HTTPClientError

    for what in ("users", "groups"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("eo-jlab", "shares", what)
        assert info.value.code == 400
        assert "type the names" in json.loads(info.value.response.body)["error"]
