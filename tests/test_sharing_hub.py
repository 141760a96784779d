"""Hub-mode sharing with a real JupyterHub: the share service, and user servers using it.

alice, bob and carol each get their own single-user server (eo_jlab, hub mode); the share
service alone writes the store. The REST calls go to each user's own server
(``{hub}/user/{name}/eo-jlab/shares...``) with a token of that user minted through the hub
API; a few go straight to the service to check its own rules (tokens, tar safety, lists).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import tarfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from eo_jlab.errors import UpstreamError
from eo_jlab.sharing.hub import HubSharing, _pack, _unpack_and_place

from .servers import free_port
from .servers.hub import hub  # noqa: F401  (session fixture)

NOTEBOOK = {
    "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# NDVI over Lake Geneva"]}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def users(hub):  # noqa: F811
    """The three users' servers, started for this module (stopped after it)."""
    hub.start_servers("alice", "bob", "carol")
    yield ("alice", "bob", "carol")
    hub.stop_servers()


def rest(hub, user, method, path, raw=False, **kwargs):  # noqa: F811
    """(status, JSON, or bytes when ``raw``) of ``{hub}/user/{user}/eo-jlab/{path}`` as
    ``user``."""
    headers = {"Authorization": f"token {hub.token(user)}"}
    answer = hub.client.request(
        method, hub.server_url(user) + "eo-jlab/" + path, headers=headers, **kwargs
    )
    if raw and answer.status_code == 200:
        return answer.status_code, answer.content
    return answer.status_code, answer.json() if answer.content else None


def service(hub, method, path, token=None, **kwargs):  # noqa: F811
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"token {token}"
    return hub.client.request(method, hub.service_url + path, headers=headers, **kwargs)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def share(hub, owner, path, users=(), groups=(), public=False, message=""):  # noqa: F811
    status, body = rest(hub, owner, "POST", "shares", json={
        "path": path, "recipients": {"users": list(users), "groups": list(groups),
                                     "public": public}, "message": message})  # fmt: skip
    assert status == 201, body
    return body


def ids(hub, user, scope="with-me"):  # noqa: F811
    status, body = rest(hub, user, "GET", f"shares?scope={scope}")
    assert status == 200, body
    return {s["id"] for s in body["shares"]}


# -- the service itself --------------------------------------------------------------------


def test_service_refuses_missing_foreign_and_narrow_tokens(hub):  # noqa: F811
    answer = service(hub, "GET", "")
    assert answer.status_code == 200 and answer.json()["service"] == "eo-jlab-share"
    for token in (None, "not-a-hub-token", hub.token("alice", "access:servers!user=alice")):
        answer = service(hub, "GET", "shares", token)
        assert answer.status_code == 403, answer.text
        assert set(answer.json()) == {"error", "details"}
    # The hub's own admin service token is not a user.
    assert service(hub, "GET", "shares", hub.admin_token).status_code == 403
    answer = service(hub, "GET", "shares/x/y/z", hub.token("alice"))
    assert answer.status_code == 404 and "error" in answer.json()


def test_service_lists_users_and_groups_for_the_picker(hub):  # noqa: F811
    token = hub.token("carol")
    assert service(hub, "GET", "users", token).json() == {"users": ["alice", "bob", "carol"]}
    assert service(hub, "GET", "groups", token).json() == {"groups": ["class"]}


def _tar(*members: tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_service_refuses_unsafe_tar_streams(hub):  # noqa: F811
    token = hub.token("alice")
    before = sorted(p.name for p in (hub.store / "shares").iterdir())
    meta = {"name": "evil", "kind": "directory", "recipients": {"users": ["bob"]}}
    for body in (
        _tar(("../escape.txt", b"x")),
        _tar(("/etc/cron.d/x", b"x")),
        b"this is not a tar stream at all" * 40,
    ):
        answer = service(hub, "POST", "shares?meta=" + quote(json.dumps(meta)), token,
                         content=body, headers={"Content-Type": "application/x-tar"})  # fmt: skip
        assert answer.status_code == 400, answer.text
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as tar:
        info = tarfile.TarInfo("passwd")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    answer = service(hub, "POST", "shares?meta=" + quote(json.dumps(meta)), token,
                     content=link.getvalue())  # fmt: skip
    assert answer.status_code == 400, answer.text
    answer = service(hub, "POST", "shares?meta=not-json", token, content=_tar(("a", b"a")))
    assert answer.status_code == 400
    assert sorted(p.name for p in (hub.store / "shares").iterdir()) == before


def test_service_tar_round_trip(hub):  # noqa: F811
    token, bob = hub.token("alice"), hub.token("bob")
    meta = {"name": "data", "kind": "directory", "recipients": {"users": ["bob"]},
            "message": "raw upload", "origin": "work/data"}  # fmt: skip
    body = _tar(("a.txt", b"alpha"), ("sub/b.csv", b"1,2\n"), (".hidden", b"secret"))
    answer = service(hub, "POST", "shares?meta=" + quote(json.dumps(meta)), token, content=body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["files"] == ["a.txt", "sub/b.csv"] and created["source"] == "work/data"
    archive = service(hub, "GET", f"shares/{created['id']}/archive", bob)
    assert archive.headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(archive.content)) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}
    assert got == {"a.txt": b"alpha", "sub/b.csv": b"1,2\n"}
    one = service(hub, "GET", f"shares/{created['id']}/files/sub/b.csv", bob)
    assert one.status_code == 200 and one.content == b"1,2\n"
    assert service(hub, "GET", f"shares/{created['id']}/files/../x", bob).status_code in (400, 404)
    carol = hub.token("carol")
    assert service(hub, "GET", f"shares/{created['id']}/archive", carol).status_code == 404
    assert service(hub, "DELETE", f"shares/{created['id']}", bob).status_code == 403
    assert service(hub, "DELETE", f"shares/{created['id']}", token).status_code == 204


# -- the client, without a hub -------------------------------------------------------------


def test_client_pack_leaves_out_links_and_hidden_entries(tmp_path):
    folder = tmp_path / "course"
    write(folder / "week1" / "intro.ipynb", "{}")
    write(folder / ".secret", "x")
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "week1" / "up").symlink_to(tmp_path)
    with _pack(folder, "directory", "course") as packed, tarfile.open(fileobj=packed) as tar:
        assert sorted(m.name for m in tar) == ["week1", "week1/intro.ipynb"]


def test_client_unpack_never_overwrites_and_refuses_odd_members(tmp_path):
    archive = write(tmp_path / "a.tar", _tar(("notes.txt", b"v1")))
    dest = tmp_path / "ws"
    dest.mkdir()
    write(dest / "notes.txt", "mine")
    placed = _unpack_and_place(archive, dest, "notes.txt", "file", "notes.txt")
    assert placed.name == "notes-1.txt" and placed.read_bytes() == b"v1"
    assert (dest / "notes.txt").read_text() == "mine"
    write(tmp_path / "b.tar", _tar(("x/../../evil", b"x")))
    with pytest.raises(Exception) as caught:
        _unpack_and_place(tmp_path / "b.tar", dest, "d", "directory", "d")
    assert getattr(caught.value, "status", None) == 400
    assert sorted(p.name for p in dest.iterdir()) == ["notes-1.txt", "notes.txt"]


def test_client_maps_an_unreachable_service_to_502(tmp_path):
    client = HubSharing(f"http://127.0.0.1:{free_port()}/services/x/", "t", tmp_path, timeout=5)
    with pytest.raises(UpstreamError):
        asyncio.run(client.list("with-me"))


def test_console_script_is_declared():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    scripts = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^eo-jlab-share-service = "eo_jlab.sharing.service:main"$', scripts, re.M)
    from eo_jlab.sharing import service

    assert callable(service.main)


# -- two users through their own servers ---------------------------------------------------


def test_alice_shares_a_notebook_with_bob_only(hub, users):  # noqa: F811
    alice_home, bob_home = hub.home_of("alice"), hub.home_of("bob")
    content = json.dumps(NOTEBOOK).encode()
    write(alice_home / "notebooks" / "ndvi.ipynb", content)
    status, config = rest(hub, "bob", "GET", "config")
    assert status == 200 and config["sharing"] == {"enabled": True, "mode": "hub"}
    assert config["user"]["name"] == "bob"

    made = share(hub, "alice", "notebooks/ndvi.ipynb", users=["bob"], message="have a look")
    assert made["owner"] == "alice" and made["kind"] == "file" and made["version"] == 1
    assert made["files"] == ["ndvi.ipynb"] and made["message"] == "have a look"
    sid = made["id"]
    assert sid in ids(hub, "alice", "by-me") and sid not in ids(hub, "alice")

    # bob lists, reads and copies it
    assert sid in ids(hub, "bob")
    status, got = rest(hub, "bob", "GET", f"shares/{sid}")
    assert status == 200 and got["owner"] == "alice"
    status, read = rest(hub, "bob", "GET", f"shares/{sid}/files/ndvi.ipynb", raw=True)
    assert status == 200 and json.loads(read) == NOTEBOOK
    status, copied = rest(hub, "bob", "POST", f"shares/{sid}/copy", json={})
    assert status == 200 and copied == {"path": "ndvi.ipynb"}
    assert (bob_home / "ndvi.ipynb").read_bytes() == content
    into = {"destination": "in/x.ipynb"}
    status, again = rest(hub, "bob", "POST", f"shares/{sid}/copy", json=into)
    assert status == 200 and again == {"path": "in/x.ipynb"}
    status, third = rest(hub, "bob", "POST", f"shares/{sid}/copy", json={})
    assert status == 200 and third == {"path": "ndvi-1.ipynb"}

    # carol cannot see it
    assert sid not in ids(hub, "carol") | ids(hub, "carol", "public")
    for path in (f"shares/{sid}", f"shares/{sid}/files/ndvi.ipynb"):
        status, body = rest(hub, "carol", "GET", path)
        assert status == 404 and "error" in body
    status, _ = rest(hub, "carol", "POST", f"shares/{sid}/copy", json={})
    assert status == 404
    assert not (hub.home_of("carol") / "ndvi.ipynb").exists()

    # bob cannot unshare it nor add a version
    status, body = rest(hub, "bob", "DELETE", f"shares/{sid}")
    assert status == 403 and "alice" in body["error"]
    status, _ = rest(hub, "bob", "POST", f"shares/{sid}/versions", json={})
    assert status == 403
    assert sid in ids(hub, "bob")


def test_a_folder_shared_with_the_class_group(hub, users):  # noqa: F811
    folder = hub.home_of("alice") / "course"
    write(folder / "week1" / "intro.ipynb", json.dumps(NOTEBOOK))
    write(folder / "data.csv", "lon,lat\n6.6,46.5\n")
    write(folder / ".env", "TOKEN=secret")
    (folder / "bob-home").symlink_to(hub.home_of("bob"))
    made = share(hub, "alice", "course", groups=["class"])
    assert made["kind"] == "directory"
    assert made["files"] == ["data.csv", "week1/intro.ipynb"]
    assert made["id"] in ids(hub, "bob")
    assert made["id"] not in ids(hub, "carol")
    status, copied = rest(hub, "bob", "POST", f"shares/{made['id']}/copy", json={})
    assert status == 200 and copied == {"path": "course"}
    out = hub.home_of("bob") / "course"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "data.csv", "week1", "week1/intro.ipynb"]  # fmt: skip
    status, csv = rest(hub, "bob", "GET", f"shares/{made['id']}/files/data.csv", raw=True)
    assert status == 200 and csv == b"lon,lat\n6.6,46.5\n"


def test_a_public_share_is_seen_by_everyone(hub, users):  # noqa: F811
    write(hub.home_of("alice") / "README.md", "# Public notes\n")
    made = share(hub, "alice", "README.md", public=True)
    assert made["id"] in ids(hub, "carol", "public")
    status, body = rest(hub, "carol", "GET", f"shares/{made['id']}/files/README.md", raw=True)
    assert status == 200 and body == b"# Public notes\n"


def test_update_then_unshare(hub, users):  # noqa: F811
    source = write(hub.home_of("alice") / "results" / "summary.txt", "version one\n")
    made = share(hub, "alice", "results/summary.txt", users=["bob"])
    sid = made["id"]
    status, copied = rest(hub, "bob", "POST", f"shares/{sid}/copy", json={})
    assert status == 200
    earlier = hub.home_of("bob") / copied["path"]
    assert earlier.read_text() == "version one\n"

    source.write_text("version two\n")
    status, updated = rest(
        hub, "alice", "POST", f"shares/{sid}/versions", json={"message": "fixed"}
    )
    assert status == 201 and updated["version"] == 2 and updated["message"] == "fixed"
    status, seen = rest(hub, "bob", "GET", f"shares/{sid}")
    assert status == 200 and seen["version"] == 2
    status, body = rest(hub, "bob", "GET", f"shares/{sid}/files/summary.txt", raw=True)
    assert body == b"version two\n"
    assert earlier.read_text() == "version one\n"  # bob's copy is his own

    status, _ = rest(hub, "alice", "DELETE", f"shares/{sid}")
    assert status == 204
    assert sid not in ids(hub, "bob")
    status, _ = rest(hub, "bob", "GET", f"shares/{sid}")
    assert status == 404
    assert earlier.read_text() == "version one\n"


def test_paths_stay_inside_the_workspace(hub, users):  # noqa: F811
    write(hub.home_of("bob") / "private.txt", "bob's")
    (hub.home_of("alice") / "to-bob").symlink_to(hub.home_of("bob"))
    for path in ("../bob/private.txt", "to-bob/private.txt", "/etc/passwd", ".bashrc"):
        status, body = rest(hub, "alice", "POST", "shares", json={"path": path})
        assert status == 400, (path, body)
    status, _ = rest(hub, "alice", "POST", "shares", json={"path": "missing.txt"})
    assert status == 404
    write(hub.home_of("alice") / "ok.txt", "fine")
    made = share(hub, "alice", "ok.txt", users=["bob"])
    for destination in ("../alice/x.txt", "to-nowhere/../../x", ".hidden/x"):
        status, _ = rest(
            hub, "bob", "POST", f"shares/{made['id']}/copy", json={"destination": destination}
        )
        assert status == 400, destination
    assert not any(p.name.startswith(".ok") for p in hub.home_of("bob").iterdir())
    assert os.listdir(hub.store / ".incoming") == []


def test_demo_hub_writes_a_password_protected_hub(tmp_path, monkeypatch, capsys):
    from eo_jlab.sharing import demo_hub

    chp = write(tmp_path / "chp", "#!/bin/sh\n")
    ran = []
    monkeypatch.setattr(demo_hub.os, "execv", lambda path, argv: ran.append(argv))
    monkeypatch.chdir(tmp_path)
    demo_hub.main(["--workspace", str(tmp_path / "demo"), "--proxy", str(chp)])
    printed = capsys.readouterr().out
    password = printed.split("with the password ", 1)[1].split(" ", 1)[0]
    config = (tmp_path / "demo" / "jupyterhub_config.py").read_text()
    assert ran and ran[0][-1] == str(tmp_path / "demo" / "jupyterhub_config.py")
    namespace = {"get_config": _FakeConfig}
    exec(compile(config, "jupyterhub_config.py", "exec"), namespace)
    c = namespace["c"]
    assert c["JupyterHub"]["authenticator_class"] == "shared-password"
    assert c["SharedPasswordAuthenticator"]["user_password"] == password
    assert c["JupyterHub"]["port"] not in (8000, 8888)
    assert c["JupyterHub"]["services"][0]["name"] == "eo-jlab-share"
    assert any("share_service_url" in a for a in c["Spawner"]["args"])


class _Section(dict):
    def __setattr__(self, name, value):
        self[name] = value

    def __getattr__(self, name):
        return self[name]


class _FakeConfig(dict):
    """Just enough of traitlets' config object: c.Section.option = value."""

    def __getattr__(self, name):
        return self.setdefault(name, _Section())


def test_a_large_file_streams_both_ways(hub, users):  # noqa: F811
    data = os.urandom(3 << 20) + bytes(2 << 20)  # 5 MiB: several pieces, a run of zeros
    write(hub.home_of("alice") / "big" / "scene.tif", data)
    made = share(hub, "alice", "big/scene.tif", users=["bob"])
    assert made["size"] == len(data)
    status, copied = rest(hub, "bob", "POST", f"shares/{made['id']}/copy", json={})
    assert status == 200
    assert (hub.home_of("bob") / copied["path"]).read_bytes() == data
    status, body = rest(hub, "bob", "GET", f"shares/{made['id']}/files/scene.tif", raw=True)
    assert status == 200 and body == data


def test_group_membership_comes_from_the_hub(hub, users):  # noqa: F811
    write(hub.home_of("alice") / "lesson2" / "exercise.ipynb", json.dumps(NOTEBOOK))
    made = share(hub, "alice", "lesson2", groups=["class"])
    assert made["id"] not in ids(hub, "carol")
    added = hub.admin("POST", "groups/class/users", json={"users": ["carol"]})
    assert added.status_code == 200, added.text
    try:
        deadline = time.monotonic() + 10  # the service keeps the hub's answers 1 s here
        while made["id"] not in ids(hub, "carol"):
            assert time.monotonic() < deadline, "carol never saw the class share"
            time.sleep(0.3)
    finally:
        removed = hub.admin("DELETE", "groups/class/users", json={"users": ["carol"]})
        assert removed.status_code == 200, removed.text


def test_the_recipient_picker_lists_names_through_the_user_server(hub, users):  # noqa: F811
    status, body = rest(hub, "bob", "GET", "shares/users")
    assert status == 200 and body == {"users": ["alice", "bob", "carol"]}, body
    status, body = rest(hub, "bob", "GET", "shares/groups")
    assert status == 200 and "class" in body["groups"], body
