"""The share store: immutable, versioned snapshots of a file or folder under one root.

Layout under ``root``::

    shares/<id>/manifest.json     the share (owner, recipients, versions, checksums), written
                                  atomically (temporary file, fsync, os.replace)
    shares/<id>/v<N>/...          the content of version N, never changed once written
                                  (files are made read-only, but nothing relies on modes)
    shares/.tmp-*                 a share being made (renamed to <id> once complete)
    shares/<id>/.tmp-*            a version being made (renamed to v<N> once complete)

A file share keeps its one file as ``v<N>/<name>``; a folder share keeps the folder's content
as ``v<N>/...``. ``files`` lists paths relative to ``v<N>``.

Everything here is synchronous and thread-safe: callers run it in an executor. Content is
copied in 1 MiB chunks (runs of zeros become holes, so sparse files stay sparse), hashed
(sha256) on the way, and counted against the owner's quota while it is copied; a refused or
failed share or version leaves nothing behind. Shares without a readable manifest are skipped.

Rules: the owner, the users and groups it names, everyone for a public share, and an admin see a
share (anyone else gets 404, so existence is not revealed); only the owner adds versions; the
owner or an admin deletes. Folders are walked without following links: symbolic links, special
files and hidden entries (names starting with ".") inside a shared folder are left out.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..errors import BadRequest, Conflict, Forbidden, NotFound

CHUNK = 1 << 20
_ZEROS = bytes(CHUNK)
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
NAME_RE = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
SCOPES = ("with-me", "by-me", "public")
STALE_SECONDS = 3600
WORKERS = min(4, os.cpu_count() or 1)  # files of one folder hashed and copied in parallel


@dataclass(frozen=True)
class Caller:
    """Who asks: a user name, the groups it belongs to, and whether it is a platform admin."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    admin: bool = False


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def human_size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def clean_relative(rel: str, what: str = "path") -> PurePosixPath:
    """A relative POSIX path with no empty, '.', '..' parts and no absolute or drive form."""
    if not isinstance(rel, str) or not rel.strip() or "\x00" in rel or "\\" in rel:
        raise BadRequest(f"The {what} {rel!r} is not a valid relative path.")
    if rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        raise BadRequest(f"The {what} {rel!r} must be relative, not absolute.")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise BadRequest(f"The {what} {rel!r} may not go up with '..'.")
    return PurePosixPath(*parts)


def _recipients(raw: Any) -> dict[str, Any]:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise BadRequest("recipients must be an object with users, groups and public.")
    out: dict[str, Any] = {"users": [], "groups": [], "public": bool(raw.get("public", False))}
    for key in ("users", "groups"):
        values = raw.get(key) or []
        if not isinstance(values, list) or not all(
            isinstance(v, str) and 0 < len(v.strip()) <= 200 for v in values
        ):
            raise BadRequest(f"recipients.{key} must be a list of non-empty names.")
        out[key] = sorted({v.strip() for v in values})
    return out


class _Quota:
    """Bytes in flight per owner, checked against the quota as they are written."""

    REFRESH = 64 << 20  # re-read the owner's usage every 64 MiB written

    def __init__(self, store: ShareStore, owner: str):
        self.store, self.owner, self.count = store, owner, 0
        self.used: int | None = None
        self.checked_at = 0
        self.lock = threading.Lock()  # several files of one share are copied in parallel

    def add(self, n: int) -> None:
        if n <= 0:
            return
        with self.lock:
            self.count += n
            self.store._reserve(self, n)

    def check(self) -> None:
        """The final check before a share or version is committed (usage re-read)."""
        self.used = None
        self.store._reserve(self, 0)

    def release(self) -> None:
        self.store._release(self.owner, self.count)
        self.count = 0


class ShareStore:
    """Synchronous, thread-safe share store (see the module docstring)."""

    def __init__(self, root: Path, quota_bytes: int | None = None):
        self.root = Path(root)
        self.shares = self.root / "shares"
        self.quota_bytes = quota_bytes
        self._lock = threading.Lock()
        self._share_locks: dict[str, threading.Lock] = {}
        self._reserved: dict[str, int] = {}
        self.shares.mkdir(parents=True, exist_ok=True)
        self._clean_stale()

    # -- public API -------------------------------------------------------------------------

    def create(
        self,
        caller: Caller,
        source: Path,
        recipients: dict,
        message: str = "",
        name: str | None = None,
        *,
        origin: str | None = None,
    ) -> dict:
        """Share ``source`` as version 1. ``origin``: where it came from, as the owner's API
        path (recorded as ``source`` so a new version can be taken from the same place)."""
        source = Path(source)
        kind = self._source_kind(source)
        name = self._valid_name(name or source.name)
        return self._create(
            caller,
            kind,
            name,
            recipients,
            message,
            origin,
            lambda d, q: _snapshot(source, kind, name, d, q),
        )

    def create_from_tar(
        self,
        caller: Caller,
        fileobj: IO[bytes],
        kind: str,
        name: str,
        recipients: dict,
        message: str = "",
        *,
        origin: str | None = None,
    ) -> dict:
        if kind not in ("file", "directory"):
            raise BadRequest("kind must be 'file' or 'directory'.")
        name = self._valid_name(name)
        return self._create(
            caller,
            kind,
            name,
            recipients,
            message,
            origin,
            lambda d, q: _extract(fileobj, kind, name, d, q),
        )

    def new_version(self, caller: Caller, share_id: str, source: Path, message: str = "") -> dict:
        source = Path(source)
        manifest = self._owned(caller, share_id)
        kind = self._source_kind(source)
        if kind != manifest["kind"]:
            raise BadRequest(
                f"The share {manifest['name']!r} is a {manifest['kind']}; "
                f"{source.name!r} is a {kind}."
            )
        return self._add_version(
            caller, share_id, message, lambda d, q: _snapshot(source, kind, manifest["name"], d, q)
        )

    def new_version_from_tar(
        self, caller: Caller, share_id: str, fileobj: IO[bytes], message: str = ""
    ) -> dict:
        manifest = self._owned(caller, share_id)
        kind, name = manifest["kind"], manifest["name"]
        return self._add_version(
            caller, share_id, message, lambda d, q: _extract(fileobj, kind, name, d, q)
        )

    def list(self, caller: Caller, scope: str = "with-me") -> list[dict]:
        if scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}.")
        out = []
        for manifest in self._manifests():
            if scope == "by-me":
                keep = manifest["owner"] == caller.name
            elif scope == "public":
                keep = manifest["recipients"]["public"]
            else:
                keep = manifest["owner"] != caller.name and _named(manifest, caller)
            if keep:
                out.append(_public(manifest))
        out.sort(key=lambda s: s["updated"], reverse=True)
        return out

    def get(self, caller: Caller, share_id: str) -> dict:
        return _public(self._visible(caller, share_id))

    def delete(self, caller: Caller, share_id: str) -> None:
        manifest = self._visible(caller, share_id)
        if manifest["owner"] != caller.name and not caller.admin:
            raise Forbidden(
                f"Only {manifest['owner']} (the owner) or an admin can remove this share."
            )
        with self._share_lock(share_id):
            trash = self.shares / f".trash-{share_id}-{secrets.token_hex(4)}"
            try:
                os.rename(self.shares / share_id, trash)
            except FileNotFoundError:
                raise NotFound(f"There is no share {share_id!r}.") from None
        _rmtree(trash)

    def file_path(
        self, caller: Caller, share_id: str, rel_path: str, version: int | None = None
    ) -> Path:
        manifest = self._visible(caller, share_id)
        folder = self._version_dir(manifest, version)
        rel = clean_relative(rel_path, "file path")
        target = folder.joinpath(*rel.parts)
        resolved = target.resolve()
        if (
            not resolved.is_relative_to(folder.resolve())
            or not resolved.is_file()
            or target.is_symlink()
        ):
            raise NotFound(f"The share {manifest['name']!r} has no file {rel_path!r}.")
        return resolved

    def copy_out(
        self, caller: Caller, share_id: str, dest_root: Path, destination: str | None = None
    ) -> str:
        """Copy the latest version into ``dest_root``; never overwrite: "name", then "name-1",
        "name-2", ... ("stem-1.ext" for files). Returns the path relative to ``dest_root``."""
        manifest = self._visible(caller, share_id)
        folder = self._version_dir(manifest, None)
        root = Path(dest_root).resolve()
        rel = clean_relative(destination or manifest["name"], "destination")
        wanted = root.joinpath(*rel.parts)
        parent = wanted.parent
        if not parent.resolve().is_relative_to(root) or (parent.exists() and not parent.is_dir()):
            raise BadRequest(
                f"The destination {destination!r} is outside your workspace or not in a folder."
            )
        parent.mkdir(parents=True, exist_ok=True)
        if not parent.resolve().is_relative_to(root):
            raise BadRequest(f"The destination {destination!r} is outside your workspace.")
        parent = parent.resolve()
        tmp = parent / f".{wanted.name[:100]}.eo-jlab-partial-{secrets.token_hex(4)}"
        try:
            if manifest["kind"] == "file":
                _copy_plain(folder / manifest["name"], tmp)
            else:
                _copy_tree(folder, tmp)
            final = _place_no_overwrite(tmp, parent, wanted.name, manifest["kind"] == "directory")
        except BaseException:
            _rmtree(tmp)
            raise
        return final.relative_to(root).as_posix()

    def tar_stream(
        self, caller: Caller, share_id: str, version: int | None = None
    ) -> Iterator[bytes]:
        """The version's files as an uncompressed tar stream (paths as in ``files``)."""
        manifest = self._visible(caller, share_id)
        folder = self._version_dir(manifest, version)
        entry = self._version_entry(manifest, version)
        return _tar_chunks(folder, entry["files"])

    def usage(self, owner: str) -> int:
        """Bytes of every version of ``owner``'s shares."""
        return sum(
            sum(v["size"] for v in m["versions"]) for m in self._manifests() if m["owner"] == owner
        )

    # -- internals --------------------------------------------------------------------------

    def _create(self, caller, kind, name, recipients, message, origin, fill) -> dict:
        recipients = _recipients(recipients)
        message = _message(message)
        share_id = secrets.token_urlsafe(12)
        staging = self.shares / f".tmp-{share_id}"
        quota = _Quota(self, caller.name)
        try:
            staging.mkdir()
            files, size, checksums = fill(staging / "v1", quota)
            quota.check()
            now = _now()
            manifest = {
                "id": share_id,
                "owner": caller.name,
                "name": name,
                "kind": kind,
                "version": 1,
                "created": now,
                "updated": now,
                "message": message,
                "recipients": recipients,
                "source": origin or "",
                "size": size,
                "files": files,
                "checksums": checksums,
                "versions": [
                    {"version": 1, "created": now, "size": size, "message": message,
                     "files": files, "checksums": checksums}
                ],
            }  # fmt: skip
            _write_json_atomic(staging / "manifest.json", manifest)
            os.rename(staging, self.shares / share_id)
        except BaseException as exc:
            _rmtree(staging)
            _raise_if_full(exc, "nothing was shared")
            raise
        finally:
            quota.release()
        return _public(manifest)

    def _add_version(self, caller, share_id, message, fill) -> dict:
        message = _message(message)
        staging = self.shares / share_id / f".tmp-v-{secrets.token_hex(6)}"
        quota = _Quota(self, caller.name)
        placed: Path | None = None  # v<N>, until the manifest that names it is written
        try:
            try:
                files, size, checksums = fill(staging, quota)
            except FileNotFoundError:
                if not (self.shares / share_id).is_dir():
                    raise NotFound(f"There is no share {share_id!r}.") from None
                raise
            quota.check()
            with self._share_lock(share_id):
                manifest = self._read_manifest(share_id)
                if manifest is None:
                    raise NotFound(f"There is no share {share_id!r}.")
                number = manifest["version"] + 1
                os.rename(staging, self.shares / share_id / f"v{number}")
                placed = self.shares / share_id / f"v{number}"
                now = _now()
                manifest["versions"].append(
                    {"version": number, "created": now, "size": size, "message": message,
                     "files": files, "checksums": checksums}
                )  # fmt: skip
                manifest.update(version=number, updated=now, message=message, size=size,
                                files=files, checksums=checksums)  # fmt: skip
                _write_json_atomic(self.shares / share_id / "manifest.json", manifest)
                placed = None
        except BaseException as exc:
            _rmtree(staging)
            if placed is not None:  # the manifest was not rewritten: v<N> is not a version
                _rmtree(placed)
            _raise_if_full(exc, "the share keeps its earlier versions")
            raise
        finally:
            quota.release()
        return _public(manifest)

    def _reserve(self, quota: _Quota, n: int) -> None:
        if self.quota_bytes is None:
            return
        owner = quota.owner
        with self._lock:
            self._reserved[owner] = self._reserved.get(owner, 0) + n
            in_flight = self._reserved[owner]
        if quota.used is None or quota.count - quota.checked_at >= quota.REFRESH:
            quota.used, quota.checked_at = self.usage(owner), quota.count
        if quota.used + in_flight > self.quota_bytes:
            raise Conflict(
                f"Sharing this would exceed {owner}'s share quota of "
                f"{human_size(self.quota_bytes)}: {human_size(quota.used)} already shared, "
                f"{human_size(quota.count)} or more in this one.",
                {"quota": self.quota_bytes, "used": quota.used},
            )

    def _release(self, owner: str, n: int) -> None:
        with self._lock:
            left = self._reserved.get(owner, 0) - n
            if left > 0:
                self._reserved[owner] = left
            else:
                self._reserved.pop(owner, None)

    def _share_lock(self, share_id: str) -> threading.Lock:
        with self._lock:
            return self._share_locks.setdefault(share_id, threading.Lock())

    def _read_manifest(self, share_id: str) -> dict | None:
        if not ID_RE.match(share_id or ""):
            return None
        try:
            data = json.loads(
                (self.shares / share_id / "manifest.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("id") == share_id else None

    def _manifests(self) -> Iterator[dict]:
        with os.scandir(self.shares) as entries:
            names = [
                e.name
                for e in entries
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            ]
        for name in names:
            manifest = self._read_manifest(name)
            if manifest is not None:
                yield manifest

    def _visible(self, caller: Caller, share_id: str) -> dict:
        manifest = self._read_manifest(share_id)
        if manifest is None or not (
            caller.admin
            or manifest["owner"] == caller.name
            or manifest["recipients"]["public"]
            or _named(manifest, caller)
        ):
            raise NotFound(f"There is no share {share_id!r} you can see.")
        return manifest

    def _owned(self, caller: Caller, share_id: str) -> dict:
        manifest = self._visible(caller, share_id)
        if manifest["owner"] != caller.name:
            raise Forbidden(
                f"Only {manifest['owner']} (the owner) can add a version to this share."
            )
        return manifest

    def _version_entry(self, manifest: dict, version: int | None) -> dict:
        number = manifest["version"] if version is None else version
        for entry in manifest["versions"]:
            if entry["version"] == number:
                return entry
        raise NotFound(f"The share {manifest['name']!r} has no version {version}.")

    def _version_dir(self, manifest: dict, version: int | None) -> Path:
        entry = self._version_entry(manifest, version)
        return self.shares / manifest["id"] / f"v{entry['version']}"

    @staticmethod
    def _valid_name(name: str) -> str:
        if not isinstance(name, str) or not NAME_RE.match(name) or name in (".", ".."):
            raise BadRequest(f"{name!r} is not a valid share name.")
        return name

    @staticmethod
    def _source_kind(source: Path) -> str:
        try:
            st = source.lstat()
        except FileNotFoundError:
            raise NotFound(f"There is no file or folder {source.name!r} to share.") from None
        if stat.S_ISREG(st.st_mode):
            return "file"
        if stat.S_ISDIR(st.st_mode):
            return "directory"
        raise BadRequest(
            f"{source.name!r} is neither a regular file nor a folder (links are not shared)."
        )

    def _clean_stale(self) -> None:
        cutoff = time.time() - STALE_SECONDS
        for path in list(self.shares.glob(".t*-*")) + list(self.shares.glob("*/.tmp-v-*")):
            with contextlib.suppress(OSError):
                if path.lstat().st_mtime < cutoff:
                    _rmtree(path)


# -- helpers ---------------------------------------------------------------------------------


def _named(manifest: dict, caller: Caller) -> bool:
    r = manifest["recipients"]
    return caller.name in r["users"] or bool(caller.groups & set(r["groups"]))


def _public(manifest: dict) -> dict:
    out = {k: v for k, v in manifest.items() if k != "versions"}
    out["versions"] = [
        {k: v[k] for k in ("version", "created", "size", "message")} for v in manifest["versions"]
    ]
    return out


def _raise_if_full(exc: BaseException, outcome: str) -> None:
    """A full disk (or file system quota) as a sentence, not an OSError with a path."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise Conflict(
            f"The share store has no space left on its disk: {outcome}. "
            "Free some space (or ask an operator to) and try again.",
            {"reason": "no space left on the share store's disk"},
        ) from None


def _message(message: Any) -> str:
    if message is None:
        return ""
    if not isinstance(message, str) or len(message) > 2000:
        raise BadRequest("message must be text of at most 2000 characters.")
    return message


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _rmtree(path: Path) -> None:
    if not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink():

        def _writable(func, p, _exc):
            with contextlib.suppress(OSError):
                os.chmod(os.path.dirname(p), 0o700)
                os.chmod(p, 0o600)
                func(p)

        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(dirpath, d), 0o700)
        shutil.rmtree(path, onerror=_writable)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _write_stream(read, target: Path, quota: _Quota | None, digest: Any | None, mode: int) -> int:
    """Copy from ``read(n)`` into a new file; zero chunks become holes. Returns the size."""
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        hole = False
        while True:
            chunk = read(CHUNK)
            if not chunk:
                break
            n = len(chunk)
            if quota is not None:
                quota.add(n)
            if digest is not None:
                digest.update(chunk)
            if n == CHUNK and chunk == _ZEROS:
                out.seek(n, os.SEEK_CUR)
                hole = True
            else:
                out.write(chunk)
                hole = False
            size += n
        if hole:
            out.truncate(size)
    os.chmod(target, mode)
    return size


def _copy_file(src: Path, dst: Path, quota: _Quota | None, mode: int = 0o444) -> tuple[int, str]:
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise BadRequest(f"{src.name!r} is not a regular file.")
        digest = hashlib.sha256()
        size = _write_stream(f.read, dst, quota, digest, mode)
    return size, digest.hexdigest()


def _copy_plain(src: Path, dst: Path) -> None:
    """Copy a file out of the store: its data extents in the kernel (copy_file_range), its
    holes left as holes; a new file, mode 0o666 less the umask (the kernel applies it)."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        try:
            pos = 0
            while pos < size:
                try:
                    start = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError as exc:
                    if exc.errno == errno.ENXIO:  # only a hole is left
                        break
                    start = pos  # no SEEK_DATA here: copy everything
                    end = size
                else:
                    end = os.lseek(fd, start, os.SEEK_HOLE)
                _copy_range(fd, out, start, min(end, size) - start)
                pos = end
            os.ftruncate(out, size)
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _copy_range(fd: int, out: int, offset: int, count: int) -> None:
    while count > 0:
        try:
            n = os.copy_file_range(fd, out, min(count, 1 << 30), offset, offset)
        except (OSError, AttributeError):
            n = 0
            data = os.pread(fd, min(count, CHUNK), offset)
            if data:
                n = os.pwrite(out, data, offset)
        if n <= 0:
            raise OSError(f"the shared file shrank while being copied (offset {offset})")
        offset += n
        count -= n


def _walk(folder: Path) -> Iterator[tuple[str, Path, bool]]:
    """(relative path, path, is_dir) of a folder's entries: no links, no hidden, no specials."""
    stack = [(folder, "")]
    while stack:
        current, prefix = stack.pop()
        with os.scandir(current) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                yield rel, Path(entry.path), True
                stack.append((Path(entry.path), rel + "/"))
            elif entry.is_file(follow_symlinks=False):
                yield rel, Path(entry.path), False


def _snapshot(source: Path, kind: str, name: str, dest: Path, quota: _Quota):
    dest.mkdir()
    if kind == "file":
        size, digest = _copy_file(source, dest / name, quota)
        return [name], size, {name: digest}
    entries = list(_walk(source))
    for rel, _path, is_dir in entries:  # parents come before their content
        if is_dir:
            (dest / rel).mkdir()
    regular = [(rel, path) for rel, path, is_dir in entries if not is_dir]
    done: dict[str, tuple[int, str]] = {}
    if WORKERS > 1 and len(regular) > 1:
        # sha256 and the copies release the GIL: hash several files at once
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="eo-jlab-share") as pool:
            futures = {
                pool.submit(_copy_file, path, dest / rel, quota): rel for rel, path in regular
            }
            try:
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    else:
        for rel, path in regular:
            done[rel] = _copy_file(path, dest / rel, quota)
    files = sorted(done)
    return files, sum(done[f][0] for f in files), {f: done[f][1] for f in files}


def _extract(fileobj: IO[bytes], kind: str, name: str, dest: Path, quota: _Quota):
    """Extract a tar stream, confined: only regular files and folders, relative names."""
    dest.mkdir()
    files, checksums, total = [], {}, 0
    try:
        tar = tarfile.open(fileobj=fileobj, mode="r|*")
    except tarfile.TarError:
        raise BadRequest("The content is not a readable tar stream.") from None
    with tar:
        for member in tar:
            rel = clean_relative(member.name, "member")
            if any(p.startswith(".") for p in rel.parts) and kind == "directory":
                continue
            if member.isdir():
                if kind == "directory":
                    dest.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
                continue
            if not member.isreg():
                raise BadRequest(f"The tar member {member.name!r} is not a regular file or folder.")
            if kind == "file":
                if files:
                    raise BadRequest("A file share takes exactly one file.")
                rel = PurePosixPath(name)
            target = dest.joinpath(*rel.parts)
            if rel.as_posix() in checksums:
                raise BadRequest(f"The tar stream holds {member.name!r} twice.")
            target.parent.mkdir(parents=True, exist_ok=True)
            data = tar.extractfile(member)
            digest = hashlib.sha256()
            size = _write_stream(data.read, target, quota, digest, 0o444)
            files.append(rel.as_posix())
            checksums[rel.as_posix()] = digest.hexdigest()
            total += size
    if kind == "file" and not files:
        raise BadRequest("A file share takes exactly one file; the tar stream had none.")
    files.sort()
    return files, total, checksums


def _copy_tree(src: Path, dst: Path) -> None:
    dst.mkdir()
    for rel, path, is_dir in _walk(src):
        target = dst / rel
        if is_dir:
            target.mkdir()
        else:
            _copy_plain(path, target)


def _candidates(name: str, is_dir: bool) -> Iterator[str]:
    yield name
    stem, suffix = (name, "") if is_dir or "." not in name[1:] else name.rsplit(".", 1)
    suffix = f".{suffix}" if suffix else ""
    for n in range(1, 10_000):
        yield f"{stem}-{n}{suffix}"
    raise Conflict(f"No free name for {name!r}: remove some earlier copies.")


def _place_no_overwrite(tmp: Path, parent: Path, name: str, is_dir: bool) -> Path:
    """Rename ``tmp`` to the first free candidate name, atomically never overwriting."""
    for candidate in _candidates(name, is_dir):
        final = parent / candidate
        if is_dir:
            try:
                final.mkdir()  # claims the name; rename over an empty folder is atomic
            except FileExistsError:
                continue
            try:
                os.rename(tmp, final)
            except OSError:
                with contextlib.suppress(OSError):
                    final.rmdir()
                continue
            return final
        try:
            os.link(tmp, final)  # fails if the name exists
        except FileExistsError:
            continue
        tmp.unlink()
        return final
    raise Conflict(f"No free name for {name!r}.")  # pragma: no cover


def _tar_chunks(folder: Path, files: list[str]) -> Iterator[bytes]:
    for rel in files:
        path = folder / rel
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            info = tarfile.TarInfo(rel)
            info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
            yield info.tobuf(format=tarfile.PAX_FORMAT)
            sent = 0
            while sent < info.size:
                chunk = f.read(min(CHUNK, info.size - sent))
                if not chunk:
                    raise OSError(f"{rel} shrank while being read")
                sent += len(chunk)
                yield chunk
            if info.size % tarfile.BLOCKSIZE:
                yield bytes(tarfile.BLOCKSIZE - info.size % tarfile.BLOCKSIZE)
    yield bytes(tarfile.BLOCKSIZE * 2)
