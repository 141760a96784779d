"""The share store (eo_jlab/sharing/store.py) called directly, as several callers."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
from pathlib import Path

import pytest

from eo_jlab.errors import BadRequest, Conflict, Forbidden, NotFound
from eo_jlab.sharing.store import FILE_COST, Caller, ShareStore

ALICE = Caller("alice")
BOB = Caller("bob")
CAROL = Caller("carol", frozenset({"course-1"}))
EVE = Caller("eve", frozenset({"other"}))
ADMIN = Caller("root", admin=True)
NOBODY = {"users": [], "groups": [], "public": False}


@pytest.fixture
def store(tmp_path) -> ShareStore:
    return ShareStore(tmp_path / "store")


@pytest.fixture
def work(tmp_path) -> Path:
    folder = tmp_path / "work"
    (folder / "project" / "sub").mkdir(parents=True)
    (folder / "project" / "a.txt").write_text("alpha")
    (folder / "project" / "sub" / "b.ipynb").write_text('{"cells": []}')
    (folder / "project" / ".hidden").write_text("secret")
    (folder / "note.ipynb").write_text('{"cells": [1]}')
    return folder


def _leftovers(store: ShareStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if ".tmp" in p.name)


def test_file_share_manifest_and_checksums(store, work):
    share = store.create(ALICE, work / "note.ipynb", {"users": ["bob"]}, "first")
    assert share["kind"] == "file" and share["name"] == "note.ipynb"
    assert share["version"] == 1 and share["files"] == ["note.ipynb"]
    assert share["recipients"] == {"users": ["bob"], "groups": [], "public": False}
    assert share["size"] == len('{"cells": [1]}')
    manifest = json.loads((store.shares / share["id"] / "manifest.json").read_text())
    assert manifest["checksums"]["note.ipynb"] == (
        __import__("hashlib").sha256(b'{"cells": [1]}').hexdigest()
    )
    stored = store.shares / share["id"] / "v1" / "note.ipynb"
    assert stored.stat().st_mode & 0o777 == 0o444
    assert _leftovers(store) == []


def test_folder_share_leaves_out_hidden_and_links(store, work, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    (work / "project" / "link.txt").symlink_to(outside)
    (work / "project" / "linkdir").symlink_to(tmp_path)
    share = store.create(ALICE, work / "project", NOBODY)
    assert share["kind"] == "directory"
    assert share["files"] == ["a.txt", "sub/b.ipynb"]
    assert share["size"] == 5 + len('{"cells": []}')


def test_visibility_rules(store, work):
    direct = store.create(ALICE, work / "note.ipynb", {"users": ["bob"]})
    group = store.create(ALICE, work / "project", {"groups": ["course-1"]})
    public = store.create(ALICE, work / "project", {"public": True}, name="pub")
    private = store.create(ALICE, work / "note.ipynb", NOBODY, name="mine.ipynb")
    ids = lambda shares: {s["id"] for s in shares}  # noqa: E731
    assert ids(store.list(BOB, "with-me")) == {direct["id"]}
    assert ids(store.list(CAROL, "with-me")) == {group["id"]}
    assert ids(store.list(EVE, "with-me")) == set()
    assert ids(store.list(EVE, "public")) == {public["id"]}
    by_me = store.list(ALICE, "by-me")
    assert ids(by_me) == {direct["id"], group["id"], public["id"], private["id"]}
    assert [s["updated"] for s in by_me] == sorted((s["updated"] for s in by_me), reverse=True)
    assert store.get(BOB, direct["id"])["id"] == direct["id"]
    assert store.get(CAROL, group["id"])["id"] == group["id"]
    assert store.get(EVE, public["id"])["id"] == public["id"]
    assert store.get(ADMIN, private["id"])["id"] == private["id"]
    for caller, share in [(BOB, group), (CAROL, direct), (EVE, private), (BOB, private)]:
        with pytest.raises(NotFound):
            store.get(caller, share["id"])
        with pytest.raises(NotFound):
            store.file_path(caller, share["id"], share["files"][0])
    with pytest.raises(BadRequest):
        store.list(BOB, "everything")


def test_only_owner_updates_owner_or_admin_deletes(store, work):
    share = store.create(ALICE, work / "note.ipynb", {"users": ["bob"], "public": False})
    with pytest.raises(Forbidden):
        store.new_version(BOB, share["id"], work / "note.ipynb")
    with pytest.raises(Forbidden):
        store.delete(BOB, share["id"])
    with pytest.raises(NotFound):
        store.new_version(EVE, share["id"], work / "note.ipynb")
    with pytest.raises(NotFound):
        store.delete(EVE, share["id"])
    (work / "note.ipynb").write_text('{"cells": [2]}')
    v2 = store.new_version(ALICE, share["id"], work / "note.ipynb", "second")
    assert v2["version"] == 2 and v2["message"] == "second"
    assert [v["version"] for v in v2["versions"]] == [1, 2]
    assert store.file_path(BOB, share["id"], "note.ipynb").read_text() == '{"cells": [2]}'
    old = store.file_path(BOB, share["id"], "note.ipynb", version=1)
    assert old.read_text() == '{"cells": [1]}'
    with pytest.raises(BadRequest):
        store.new_version(ALICE, share["id"], work / "project")  # kind changes
    store.delete(ALICE, share["id"])
    with pytest.raises(NotFound):
        store.get(ALICE, share["id"])
    other = store.create(ALICE, work / "note.ipynb", NOBODY)
    store.delete(ADMIN, other["id"])
    assert store.list(ALICE, "by-me") == []
    assert list(store.shares.iterdir()) == []


def test_file_path_is_confined(store, work, tmp_path):
    share = store.create(ALICE, work / "project", {"public": True})
    assert store.file_path(EVE, share["id"], "sub/b.ipynb").name == "b.ipynb"
    # A link planted in the version folder is not followed out of it.
    planted = store.shares / share["id"] / "v1" / "evil"
    planted.symlink_to(tmp_path / "work" / "note.ipynb")
    for bad in ["../manifest.json", "/etc/passwd", "sub/../../manifest.json", "", "evil", "sub"]:
        with pytest.raises((BadRequest, NotFound)):
            store.file_path(EVE, share["id"], bad)
    with pytest.raises(NotFound):
        store.get(EVE, "../../etc")


def test_copy_out_never_overwrites(store, work, tmp_path):
    file_share = store.create(ALICE, work / "note.ipynb", {"users": ["bob"]})
    folder_share = store.create(ALICE, work / "project", {"users": ["bob"]})
    home = tmp_path / "bob"
    home.mkdir()
    (home / "note.ipynb").write_text("bob's own")
    assert store.copy_out(BOB, file_share["id"], home) == "note-1.ipynb"
    assert store.copy_out(BOB, file_share["id"], home) == "note-2.ipynb"
    assert (home / "note.ipynb").read_text() == "bob's own"
    assert (home / "note-1.ipynb").read_text() == '{"cells": [1]}'
    assert os.access(home / "note-1.ipynb", os.W_OK)
    assert store.copy_out(BOB, folder_share["id"], home) == "project"
    assert store.copy_out(BOB, folder_share["id"], home) == "project-1"
    assert sorted(p.relative_to(home / "project-1").as_posix() for p in
                  (home / "project-1").rglob("*")) == ["a.txt", "sub", "sub/b.ipynb"]  # fmt: skip
    assert store.copy_out(BOB, folder_share["id"], home, "course/week1") == "course/week1"
    assert not [p for p in home.rglob("*") if "partial" in p.name]
    with pytest.raises(NotFound):
        store.copy_out(EVE, folder_share["id"], home)


def test_copy_out_destination_is_confined(store, work, tmp_path):
    share = store.create(ALICE, work / "note.ipynb", {"public": True})
    home = tmp_path / "eve"
    home.mkdir()
    (home / "escape").symlink_to(tmp_path)
    for bad in ["../x.ipynb", "/tmp/x.ipynb", "a/../../x.ipynb", "escape/x.ipynb"]:
        with pytest.raises(BadRequest):
            store.copy_out(EVE, share["id"], home, bad)
    assert not (tmp_path / "x.ipynb").exists()


def test_quota_exceeded_leaves_nothing(tmp_path):
    store = ShareStore(tmp_path / "store", quota_bytes=5 << 19)  # 2.5 MiB
    src = tmp_path / "big"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.bin").write_bytes(os.urandom(1 << 20))
    first = store.create(ALICE, src / "f0.bin", NOBODY)
    with pytest.raises(Conflict) as err:
        store.create(ALICE, src, NOBODY)
    assert "quota of 2.5 MiB" in err.value.message and "1.0 MiB already shared" in err.value.message
    assert [p.name for p in store.shares.iterdir()] == [first["id"]]
    store.new_version(ALICE, first["id"], src / "f1.bin")
    with pytest.raises(Conflict):
        store.new_version(ALICE, first["id"], src / "f2.bin")
    assert sorted(p.name for p in (store.shares / first["id"]).iterdir()) == [
        "manifest.json", "v1", "v2",
    ]  # fmt: skip
    assert store.usage(ALICE.name) == (2 << 20) + 2 * FILE_COST  # each file costs 4 KiB more
    assert store.create(BOB, src / "f2.bin", NOBODY)["size"] == 1 << 20  # per user
    assert _leftovers(store) == []


def test_tar_round_trip_and_confinement(store, work):
    share = store.create(ALICE, work / "project", {"public": True})
    data = b"".join(store.tar_stream(EVE, share["id"]))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert sorted(tar.getnames()) == ["a.txt", "sub/b.ipynb"]
    copy = store.create_from_tar(BOB, io.BytesIO(data), "directory", "copy", NOBODY)
    assert copy["files"] == ["a.txt", "sub/b.ipynb"]
    assert copy["checksums"] == share["checksums"]
    v2 = store.new_version_from_tar(BOB, copy["id"], io.BytesIO(data), "again")
    assert v2["version"] == 2

    def tar_of(*members: tarfile.TarInfo) -> io.BytesIO:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for m in members:
                tar.addfile(m, io.BytesIO(b"x" * m.size) if m.isreg() else None)
        buf.seek(0)
        return buf

    def info(name: str, kind=tarfile.REGTYPE, size=1, link="") -> tarfile.TarInfo:
        m = tarfile.TarInfo(name)
        m.type, m.size, m.linkname = kind, size if kind == tarfile.REGTYPE else 0, link
        return m

    before = sorted(p.name for p in store.shares.iterdir())
    for bad in [
        info("../evil"),
        info("/etc/evil"),
        info("a/../../evil"),
        info("link", tarfile.SYMTYPE, link="/etc/passwd"),
        info("hard", tarfile.LNKTYPE, link="a.txt"),
        info("dev", tarfile.CHRTYPE),
    ]:
        with pytest.raises(BadRequest):
            store.create_from_tar(BOB, tar_of(bad), "directory", "bad", NOBODY)
    with pytest.raises(BadRequest):
        store.create_from_tar(BOB, tar_of(info("a"), info("b")), "file", "two", NOBODY)
    with pytest.raises(BadRequest):
        store.create_from_tar(BOB, io.BytesIO(b"not a tar at all" * 100), "file", "x", NOBODY)
    assert sorted(p.name for p in store.shares.iterdir()) == before
    with pytest.raises(Forbidden):
        store.new_version_from_tar(EVE, share["id"], tar_of(info("a.txt")))


def test_concurrent_creates_and_versions_keep_manifests_valid(store, work):
    shares = [store.create(ALICE, work / "project", NOBODY, name=f"s{i}") for i in range(3)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for j in range(5):
                if (n + j) % 2:
                    store.create(ALICE, work / "note.ipynb", NOBODY, f"{n}-{j}")
                else:
                    store.new_version(ALICE, shares[n % 3]["id"], work / "project", f"{n}-{j}")
                store.list(ALICE, "by-me")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total_versions = 0
    for folder in store.shares.iterdir():
        manifest = json.loads((folder / "manifest.json").read_text())
        numbers = [v["version"] for v in manifest["versions"]]
        assert numbers == list(range(1, manifest["version"] + 1))
        on_disk = sorted(int(p.name[1:]) for p in folder.iterdir() if p.name.startswith("v"))
        assert on_disk == numbers
        total_versions += len(numbers)
    assert total_versions == 3 + 12 * 5
    assert len(store.list(ALICE, "by-me")) == 3 + 30
    assert _leftovers(store) == []


def test_half_made_shares_are_skipped(store, work):
    share = store.create(ALICE, work / "note.ipynb", {"public": True})
    (store.shares / "AAAAAAAAAAAA").mkdir()  # no manifest
    (store.shares / "BBBBBBBBBBBB").mkdir()
    (store.shares / "BBBBBBBBBBBB" / "manifest.json").write_text("{broken")
    (store.shares / ".tmp-CCCCCCCCCCCC").mkdir()
    assert [s["id"] for s in store.list(EVE, "public")] == [share["id"]]
    with pytest.raises(NotFound):
        store.get(ADMIN, "AAAAAAAAAAAA")


def test_demo_seeds_public_examples_once(tmp_path):
    from eo_jlab.demo.shares import NOTEBOOK, seed_examples

    first = seed_examples(tmp_path / "shares")
    again = seed_examples(tmp_path / "shares")
    assert again["id"] == first["id"] and again["version"] == 1
    assert (first["owner"], first["name"], first["kind"]) == ("operator", "examples", "directory")
    assert first["recipients"]["public"] is True and first["files"] == [NOTEBOOK]
    store = ShareStore(tmp_path / "shares")
    assert [s["id"] for s in store.list(EVE, "public")] == [first["id"]]
    notebook = json.loads(store.file_path(EVE, first["id"], NOTEBOOK).read_text())
    assert notebook["nbformat"] == 4
    code = "\n".join(c["source"] for c in notebook["cells"] if c["cell_type"] == "code")
    assert "pystac" in code and "show_items" in code and "WebProcessingService" in code


def test_demo_notebook_search_and_map_run(tmp_path):
    """The notebook's search and map cells run against the demo catalogue (the NDVI cell
    needs the running sandbox: tests/test_sandbox.py covers that process)."""
    import subprocess
    import sys

    from eo_jlab.demo import DEMO_CATALOGUE
    from eo_jlab.demo.catalogue import write_catalogue
    from eo_jlab.demo.shares import notebook

    write_catalogue(tmp_path / DEMO_CATALOGUE)
    (tmp_path / "examples").mkdir()
    cells = [c["source"] for c in notebook()["cells"] if c["cell_type"] == "code"]
    script = "\n\n".join(cells[:-1]) + "\n\nm = show_items(items)\nprint('MAP', len(items))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path / "examples",
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    count = int(result.stdout.rsplit("MAP", 1)[1])
    assert count > 0, result.stdout
