"""Attack suite, outside review (issue 18, finding 3 and share names): the share store's limits.

Local mode goes through the REST routes of a real Jupyter server (pytest-jupyter, the
``api`` fixture of test_sharing_rest.py, limits set per test with ``c.EOJLab.share_*``); hub
mode through the real JupyterHub of tests/servers/hub.py: its share service with the default
limits, and a second share service process (``small_service``) that authenticates against the
same hub with small limits. Each refusal leaves nothing in the store (no share folder, no
manifest, no temporary folder, nothing in the service's ``.incoming``).

1. Uncompressed bytes: a 2.2 MB gzip tar that inflates to 2.2 GiB, uploaded to the hub's share
   service (default limit 2 GiB), is refused from its header before anything is extracted:
   test_hub_gzip_bomb_is_refused_before_extraction; the xz tar of the review (256 MiB of
   zeros) against a 128 KiB limit: test_hub_xz_bomb_is_refused_at_the_limit; the store inflates
   a piece at a time (bounded memory whatever the compression ratio):
   test_inflating_a_tar_takes_bounded_memory; local mode, a 2 MiB (sparse) file over a 1 MiB
   limit: test_local_share_over_the_byte_limit_is_refused. The service refuses a body over
   its --max-upload-bytes (by default what the limits need) from its Content-Length:
   test_hub_upload_over_the_body_limit_is_refused_from_its_length; a user server checks a
   share against the limits the service announces before packing and sending it (400 with
   the limit's sentence, not a cut connection):
   test_hub_client_checks_the_services_limits_before_sending.
   Tar extended headers (read whole by tarfile) are at most 1 MiB:
   test_hub_huge_tar_headers_are_refused.
2. Defaults: EOJLab, the local store and the service all have a quota (10 GiB) and the other
   limits without any configuration: test_limits_have_defaults.
3. Every file counts against the quota (4 KiB besides its bytes): 20,000 empty files under a
   1 MiB quota, local: test_local_empty_files_count_against_the_quota; hub (a 256 KiB quota,
   20,000 empty files in a small xz tar): test_hub_empty_files_count_against_the_quota.
4. Files and folders per share: local (100 files): test_local_too_many_files_are_refused;
   hub, a tar of 20,000 folders against 100: test_hub_too_many_files_are_refused.
5. Shares per user: local (2): test_local_shares_per_user_are_limited; hub (2):
   test_hub_shares_per_user_are_limited.
6. Manifest size (a share's files and checksums): test_local_manifest_size_is_limited.
7. Lists stay small: three public shares of 3,000 files each, the public list is under 8 KB
   and GET shares/{sid} still has every file: test_local_public_list_stays_small; hub, through
   the users' own servers: test_hub_lists_leave_out_file_lists.
8. Share names: hidden names (".bashrc"), U+202E (right-to-left override), other format and
   control characters, path separators, over-long names, and the same inside a shared folder:
   local test_local_hostile_names_are_refused; hub, straight to the service and through a
   user server: test_hub_hostile_names_are_refused.
"""

from __future__ import annotations

import asyncio
import io
import json
import lzma
import os
import signal
import subprocess
import sys
import tarfile
import time
import tracemalloc
import zlib
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from eo_jlab.app import EOJLab
from eo_jlab.errors import BadRequest
from eo_jlab.sharing import local_store
from eo_jlab.sharing.hub import HubSharing
from eo_jlab.sharing.service import _parser
from eo_jlab.sharing.store import Caller, ShareStore

from .servers import fail, free_port
from .servers.hub import (
    MARKER_ENV,
    hub,  # noqa: F401  (session fixture)
)
from .test_sharing_hub import rest, write
from .test_sharing_rest import api, users, workspace  # noqa: F401  (fixtures)

GIB = 1 << 30
MIB = 1 << 20


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def share_root(tmp_path) -> Path:
    return tmp_path / "share-store"


@pytest.fixture
def limits() -> dict:
    """``c.EOJLab`` share limits of a test (parametrized per test)."""
    return {}


@pytest.fixture
def eo_config(share_root, limits):
    return {"shared_root": str(share_root), **limits}


def store_entries(root: Path) -> list[str]:
    """Everything under a store's shares/ folder (hidden leftovers included)."""
    shares = root / "shares"
    if not shares.exists():
        return []
    return sorted(p.relative_to(shares).as_posix() for p in shares.rglob("*"))


def tar_of(members, compression: str = "") -> bytes:
    """A tar of (name, bytes | None for a folder) members, optionally gz/xz compressed."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w" + (f":{compression}" if compression else "")) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzip_bomb(name: str, size: int) -> bytes:
    """A gzip'd tar of one file of ``size`` zero bytes (a whole number of MiB), built without
    compressing ``size`` bytes: after a full flush, deflate writes the same block for every
    MiB of zeros."""
    info = tarfile.TarInfo(name)
    info.size = size
    header = info.tobuf(format=tarfile.USTAR_FORMAT)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(MIB)) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.compress(bytes(2 * tarfile.BLOCKSIZE)) + deflate.flush()
    crc, zeros = zlib.crc32(header), bytes(MIB)
    for _ in range(size // MIB):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(2 * tarfile.BLOCKSIZE), crc)
    total = len(header) + size + 2 * tarfile.BLOCKSIZE
    gz_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little")
    return gz_header + head + block * (size // MIB) + tail + trailer


def xz_tar_of_zeros(name: str, size: int) -> bytes:
    out = io.BytesIO()
    with lzma.open(out, "wb", preset=1) as xz, tarfile.open(fileobj=xz, mode="w|") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    return out.getvalue()


def empty_files_tar(count: int, prefix: str = "f") -> bytes:
    return tar_of([(f"{prefix}{i:05d}.txt", b"") for i in range(count)], "xz")


def upload(hub, token: str, meta: dict, body: bytes, base: str | None = None):  # noqa: F811
    url = (base or hub.service_url) + "shares?meta=" + quote(json.dumps(meta))
    return hub.client.post(
        url, content=body, headers={"Authorization": f"token {token}"}, timeout=120
    )


HOSTILE_NAMES = [
    ".bashrc",
    "invoice\u202efdp.exe",  # RIGHT-TO-LEFT OVERRIDE: shows as "invoiceexe.pdf"
    "a\u2066b",  # LEFT-TO-RIGHT ISOLATE
    "zero\u200bwidth",  # ZERO WIDTH SPACE (Cf)
    "bell\x07",
    "del\x7f",
    "line\u2028sep",
    "back\\slash",
    " padded",
    "x" * 256,
]


# -- 1. uncompressed bytes -----------------------------------------------------------------


def test_hub_gzip_bomb_is_refused_before_extraction(hub):  # noqa: F811
    bomb = gzip_bomb("scene.tif", 2200 * MIB)
    assert len(bomb) < 3 * MIB
    before = store_entries(hub.store)
    t0 = time.monotonic()
    answer = upload(hub, hub.token("alice"), {"name": "bomb", "kind": "directory"}, bomb)
    elapsed = time.monotonic() - t0
    assert answer.status_code == 400, answer.text[:500]
    body = answer.json()
    assert "2.0 GiB" in body["error"] and "uncompressed" in body["error"], body
    assert body["details"] == {"limit": "share_bytes", "value": 2 * GIB}
    assert store_entries(hub.store) == before
    assert os.listdir(hub.store / ".incoming") == []
    assert elapsed < 20, f"the refusal took {elapsed:.1f} s: the bomb was inflated"


@pytest.fixture(scope="module")
def small_service(hub, tmp_path_factory):  # noqa: F811
    """A second share service process with small limits, authenticating users against the
    test hub (the driver's token reads users; users' tokens carry the service's scope)."""
    store = tmp_path_factory.mktemp("small-store")
    port = free_port()
    prefix = "/services/eo-jlab-share/"
    env = {
        **os.environ,
        "JUPYTERHUB_API_URL": hub.api.rstrip("/"),
        "JUPYTERHUB_API_TOKEN": hub.admin_token,
        MARKER_ENV: hub.marker,  # the hub fixture's teardown kills it if this one does not
    }
    command = [
        sys.executable, "-m", "eo_jlab.sharing.service", "--store", str(store),
        "--url", f"http://127.0.0.1:{port}", "--prefix", prefix, "--name", "eo-jlab-share",
        "--cache-max-age", "1", "--share-max-bytes", str(128 << 10), "--share-max-files", "100",
        "--share-max-per-user", "2", "--quota-bytes", str(256 << 10),
    ]  # fmt: skip
    log = (store / "service.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}{prefix}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            fail("small share service did not start: " + (store / "service.log").read_text())
        time.sleep(0.1)
    yield base, store
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def test_hub_xz_bomb_is_refused_at_the_limit(hub, small_service):  # noqa: F811
    base, store = small_service
    bomb = xz_tar_of_zeros("zeros.bin", 256 * MIB)  # the review's 39 KB
    assert len(bomb) < 64 << 10
    # A member that lies about nothing but is too big: refused from its header.
    answer = upload(hub, hub.token("alice"), {"name": "xz", "kind": "file"}, bomb, base)
    assert answer.status_code == 400 and "128.0 KiB" in answer.json()["error"], answer.text
    # Small members adding up past the limit: refused while extracting, at the limit.
    parts = tar_of([(f"p{i}.bin", bytes(40 << 10)) for i in range(5)], "xz")
    answer = upload(hub, hub.token("alice"), {"name": "parts", "kind": "directory"}, parts, base)
    assert answer.status_code == 400 and "uncompressed" in answer.json()["error"], answer.text
    assert store_entries(store) == []
    assert os.listdir(store / ".incoming") == []


def test_hub_upload_over_the_body_limit_is_refused_from_its_length(hub, small_service):  # noqa: F811
    base, store = small_service  # 128 KiB + 100 x 8 KiB + 1 MiB: 1.9 MiB
    body = os.urandom(3 * MIB)
    answer = upload(hub, hub.token("alice"), {"name": "big", "kind": "file"}, body, base)
    assert answer.status_code == 400, answer.text
    assert "3.0 MiB" in answer.json()["error"] and "at most 1.9 MiB" in answer.json()["error"]
    assert store_entries(store) == [] and os.listdir(store / ".incoming") == []


def test_hub_client_checks_the_services_limits_before_sending(hub, small_service, tmp_path):  # noqa: F811
    """A user server sharing more than the service takes: the user gets the limit's sentence
    (400) before anything is packed or sent, not a connection the service cut (502)."""
    base, store = small_service
    with open(tmp_path / "scene.tif", "wb") as f:
        f.write(b"GeoTIFF")
        f.truncate(64 * MIB)
    client = HubSharing(base, hub.token("alice"), tmp_path, timeout=30)
    with pytest.raises(BadRequest) as refused:
        asyncio.run(client.create("scene.tif", {"public": True}))
    assert "at most 128.0 KiB (uncompressed)" in refused.value.message
    write(tmp_path / "odd" / "a\u202eb.txt", "x")
    with pytest.raises(BadRequest) as refused:
        asyncio.run(client.create("odd", {"public": True}))
    assert "U+202E" in refused.value.message
    assert store_entries(store) == [] and os.listdir(store / ".incoming") == []


def test_hub_huge_tar_headers_are_refused(hub):  # noqa: F811
    """tarfile reads an extended header whole into memory: one over 1 MiB is refused from its
    size, before it is read (tarfile builds big ones slowly: 2 MiB here, 64 MiB would do)."""
    out = io.BytesIO()
    with lzma.open(out, "wb", preset=1) as xz:
        with tarfile.open(fileobj=xz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("notes.txt")
            info.size = 2
            info.pax_headers = {"comment": "x" * (2 * MIB)}
            tar.addfile(info, io.BytesIO(b"hi"))
    before = store_entries(hub.store)
    meta = {"name": "headers", "kind": "directory"}
    answer = upload(hub, hub.token("alice"), meta, out.getvalue())
    assert answer.status_code == 400 and "extended header" in answer.json()["error"], answer.text
    assert store_entries(hub.store) == before


def test_inflating_a_tar_takes_bounded_memory(tmp_path):
    from eo_jlab.sharing.store import ShareLimits

    bomb = xz_tar_of_zeros("zeros.bin", 128 * MIB)
    store = ShareStore(tmp_path / "store", limits=ShareLimits(share_bytes=256 * MIB))
    tracemalloc.start()
    try:
        made = store.create_from_tar(Caller("alice"), io.BytesIO(bomb), "file", "z.bin", {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert made["size"] == 128 * MIB
    assert peak < 16 * MIB, f"extracting took {peak / MIB:.0f} MiB of memory at its peak"


@pytest.mark.parametrize("limits", [{"share_max_bytes": MIB}])
async def test_local_share_over_the_byte_limit_is_refused(api, workspace, share_root):  # noqa: F811
    with open(workspace / "big.bin", "wb") as f:
        f.write(b"data")
        f.truncate(2 * MIB)
    status, body, _ = await api("POST", "shares", body={"path": "big.bin"})
    assert status == 400 and "1.0 MiB" in body["error"], body
    assert body["details"] == {"limit": "share_bytes", "value": MIB}
    assert store_entries(share_root) == []


# -- 2. defaults ---------------------------------------------------------------------------


async def test_limits_have_defaults(api, workspace, share_root, monkeypatch):  # noqa: F811
    from eo_jlab.sharing.store import ShareLimits

    monkeypatch.delenv("EO_JLAB_SHARE_QUOTA_BYTES", raising=False)
    wanted = ShareLimits(2 * GIB, 10_000, 16 * MIB, 200, 10 * GIB)
    assert EOJLab().share_limits == wanted
    assert ShareStore(share_root / "x").limits == wanted
    args = _parser().parse_args(["--store", "x"])
    assert (args.quota_bytes, args.share_max_bytes, args.share_max_files) == (
        10 * GIB, 2 * GIB, 10_000,
    )  # fmt: skip
    assert (args.share_max_manifest_bytes, args.share_max_per_user) == (16 * MIB, 200)
    status, _, _ = await api("POST", "shares", body={"path": "notebooks/ndvi.ipynb"})
    assert status == 201
    assert local_store(share_root).limits == wanted  # the store the server itself uses


# -- 3. every file counts against the quota ------------------------------------------------


@pytest.mark.parametrize("limits", [{"share_quota_bytes": MIB, "share_max_files": 0}])
async def test_local_empty_files_count_against_the_quota(api, workspace, share_root):  # noqa: F811
    folder = workspace / "empties"
    folder.mkdir()
    for i in range(20_000):
        (folder / f"e{i:05d}").touch()
    status, body, _ = await api("POST", "shares", body={"path": "empties"})
    assert status == 409 and "quota of 1.0 MiB" in body["error"], body
    assert "4 KiB" in body["error"]
    assert store_entries(share_root) == []


def test_hub_empty_files_count_against_the_quota(hub, small_service):  # noqa: F811
    base, store = small_service
    body = empty_files_tar(20_000)
    assert len(body) < 200 << 10
    answer = upload(hub, hub.token("carol"), {"name": "empties", "kind": "directory"}, body, base)
    assert answer.status_code == 409 and "quota of 256.0 KiB" in answer.json()["error"], answer.text
    assert store_entries(store) == []


# -- 4. files per share ---------------------------------------------------------------------


@pytest.mark.parametrize("limits", [{"share_max_files": 100}])
async def test_local_too_many_files_are_refused(api, workspace, share_root):  # noqa: F811
    folder = workspace / "many"
    folder.mkdir()
    for i in range(101):
        (folder / f"f{i:03d}.txt").write_text("x")
    status, body, _ = await api("POST", "shares", body={"path": "many"})
    assert status == 400 and "at most 100 files and folders" in body["error"], body
    assert body["details"] == {"limit": "share_files", "value": 100}
    assert store_entries(share_root) == []
    (folder / "f100.txt").unlink()
    status, body, _ = await api("POST", "shares", body={"path": "many"})
    assert status == 201 and len(body["files"]) == 100, body


def test_hub_too_many_files_are_refused(hub, small_service):  # noqa: F811
    base, store = small_service
    # Folders (which cost no quota) count as well: a tar of nothing but 20,000 folders.
    folders = tar_of([(f"d{i:05d}", None) for i in range(20_000)], "xz")
    answer = upload(hub, hub.token("bob"), {"name": "dirs", "kind": "directory"}, folders, base)
    assert answer.status_code == 400, answer.text
    assert "at most 100 files and folders" in answer.json()["error"]
    assert store_entries(store) == []


# -- 5. shares per user ---------------------------------------------------------------------


@pytest.mark.parametrize("limits", [{"share_max_per_user": 2}])
async def test_local_shares_per_user_are_limited(api, workspace, share_root):  # noqa: F811
    for _ in range(2):
        status, body, _ = await api("POST", "shares", body={"path": "notebooks/ndvi.ipynb"})
        assert status == 201, body
    before = store_entries(share_root)
    status, body, _ = await api("POST", "shares", body={"path": "notebooks/ndvi.ipynb"})
    assert status == 409 and "2 shares" in body["error"], body
    assert body["details"] == {"limit": "shares_per_user", "value": 2}
    assert store_entries(share_root) == before
    status, body, _ = await api("POST", "shares", body={"path": "course"}, user="bob")
    assert status == 201, body  # per user


def test_hub_shares_per_user_are_limited(hub, small_service):  # noqa: F811
    base, store = small_service
    token = hub.token("alice")
    for i in range(2):
        answer = upload(hub, token, {"name": f"n{i}.txt", "kind": "file"},
                        tar_of([("n", b"note")]), base)  # fmt: skip
        assert answer.status_code == 201, answer.text
    before = store_entries(store)
    answer = upload(hub, token, {"name": "n3.txt", "kind": "file"}, tar_of([("n", b"x")]), base)
    assert answer.status_code == 409 and "2 shares" in answer.json()["error"], answer.text
    assert store_entries(store) == before


# -- 6. manifest size -----------------------------------------------------------------------


@pytest.mark.parametrize("limits", [{"share_max_manifest_bytes": 32 << 10}])
async def test_local_manifest_size_is_limited(api, workspace, share_root):  # noqa: F811
    folder = workspace / "long"
    folder.mkdir()
    for i in range(100):
        (folder / f"{i:03d}-{'n' * 150}.txt").write_text("x")
    status, body, _ = await api("POST", "shares", body={"path": "long"})
    assert status == 400 and "32.0 KiB" in body["error"], body
    assert body["details"] == {"limit": "manifest_bytes", "value": 32 << 10}
    assert store_entries(share_root) == []


# -- 7. lists stay small --------------------------------------------------------------------


async def test_local_public_list_stays_small(api, workspace, share_root):  # noqa: F811
    folder = workspace / "tiles"
    folder.mkdir()
    for i in range(3000):
        (folder / f"S2B_MSIL2A_20240601T103629_N0510_R008_T31TCJ_{i:05d}.txt").touch()
    ids = []
    for _ in range(3):
        status, made, _ = await api("POST", "shares", body={"path": "tiles",
                                    "recipients": {"public": True}})  # fmt: skip
        assert status == 201 and len(made["files"]) == 3000
        ids.append(made["id"])
    response_size = 0
    for scope in ("public", "by-me"):
        status, listed, headers = await api("GET", "shares", params={"scope": scope}, user="bob")
        response_size = max(response_size, len(json.dumps(listed)))
        assert status == 200
    assert response_size < 8000, f"a list of three shares takes {response_size} bytes"
    status, listed, _ = await api("GET", "shares", params={"scope": "public"}, user="bob")
    assert {s["id"] for s in listed["shares"]} == set(ids)
    assert all("files" not in s and "checksums" not in s for s in listed["shares"])
    status, one, _ = await api("GET", "shares", ids[0], user="bob")
    assert status == 200 and len(one["files"]) == 3000 and len(one["checksums"]) == 3000


@pytest.fixture(scope="module")
def hub_servers(hub):  # noqa: F811
    """alice's and carol's servers for this module (stopped after it, as other modules
    configure servers before starting them)."""
    hub.start_servers("alice", "carol")
    yield hub
    hub.stop_servers()


def test_hub_lists_leave_out_file_lists(hub, hub_servers):  # noqa: F811
    folder = hub.home_of("alice") / "granules"
    for i in range(500):
        write(folder / f"granule-{i:04d}.json", "{}")
    status, made = rest(hub, "alice", "POST", "shares", json={
        "path": "granules", "recipients": {"public": True}})  # fmt: skip
    assert status == 201 and len(made["files"]) == 500, made
    status, listed = rest(hub, "carol", "GET", "shares?scope=public")
    assert status == 200
    entry = next(s for s in listed["shares"] if s["id"] == made["id"])
    assert "files" not in entry and "checksums" not in entry and entry["size"] == 1000
    assert len(json.dumps(listed)) < 2000 * max(1, len(listed["shares"]))
    status, one = rest(hub, "carol", "GET", f"shares/{made['id']}")
    assert status == 200 and len(one["files"]) == 500


# -- 8. share names -------------------------------------------------------------------------


async def test_local_hostile_names_are_refused(api, workspace, share_root):  # noqa: F811
    for name in HOSTILE_NAMES:
        if name.startswith(".") or len(name) > 255:
            continue  # a hidden path is refused before it is a name; no disk holds the other
        (workspace / name).write_text("payload")
        status, body, _ = await api("POST", "shares", body={"path": name})
        assert status == 400, (name, body)
        assert "error" in body and "Traceback" not in json.dumps(body)
    spoof = workspace / "report"
    spoof.mkdir()
    (spoof / "invoice\u202efdp.exe").write_text("x")
    status, body, _ = await api("POST", "shares", body={"path": "report"})
    assert status == 400 and "U+202E" in body["error"], body
    assert "\u202e" not in body["error"]  # the sentence shows it escaped
    assert store_entries(share_root) == []


def test_hub_hostile_names_are_refused(hub, hub_servers):  # noqa: F811
    token = hub.token("alice")
    before = store_entries(hub.store)
    for name in HOSTILE_NAMES:
        answer = upload(hub, token, {"name": name, "kind": "file"}, tar_of([("x", b"x")]))
        assert answer.status_code == 400, (name, answer.text)
    # Inside a shared folder too.
    for member, code in (("docs/a\u202eb.txt", "U+202E"), ("a\x01b.txt", "U+0001")):
        answer = upload(hub, token, {"name": "folder", "kind": "directory"},
                        tar_of([(member, b"x")]))  # fmt: skip
        assert answer.status_code == 400 and code in answer.json()["error"], answer.text
    assert store_entries(hub.store) == before
    # Through alice's own server: the folder name comes from her workspace.
    write(hub.home_of("alice") / "results\u202efdp.exe" / "a.txt", "x")
    status, body = rest(hub, "alice", "POST", "shares", json={"path": "results\u202efdp.exe"})
    assert status == 400 and "U+202E" in body["error"], body
    assert store_entries(hub.store) == before


def test_check_name_accepts_ordinary_names():
    from eo_jlab.sharing.store import check_name

    for name in ("NDVI Toulouse 2024.ipynb", "données_été.csv", "S2B_MSIL2A.SAFE", "日本語.txt",
                 "a" * 255):  # fmt: skip
        assert check_name(name) == name
    with pytest.raises(BadRequest):
        check_name("é" * 200)  # 400 UTF-8 bytes
