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

Limits (``ShareLimits``; 0 turns one off), checked while content is copied or extracted, so a
refused share stops at the limit and leaves nothing behind:

* one version of a share holds at most ``share_bytes`` bytes of content (uncompressed: counted
  as it is written, and from the sizes tar headers announce before anything is extracted)
  and ``share_files`` files and folders (every tar member counts, hidden ones too);
* a share's ``manifest.json`` (its file lists and checksums, every version) is at most
  ``manifest_bytes`` bytes;
* a user owns at most ``shares_per_user`` shares;
* a user's shares, every version, take at most ``quota_bytes``, each file counting its bytes
  plus ``FILE_COST`` (4 KiB: an empty file is not free).

A local folder is measured (sizes, counts, names) before anything is copied; tar uploads are
inflated here (gzip, bzip2, xz) a bounded piece at a time, with extended headers of at most
1 MiB. ``check_source`` measures a file or folder against limits without a store (hub mode's
user servers, before they pack and send it).

Share names and the names inside a shared folder: 1-255 UTF-8 bytes, no leading "." (hidden),
no leading or trailing space, no "/" or "\\", no control, format (bidi overrides, zero-width),
line/paragraph separator or surrogate characters (Unicode categories Cc, Cf, Zl, Zp, Cs); a
path inside a share is at most 2048 bytes. Lists (``list``) leave out ``files``,
``checksums`` and ``versions``: ``get`` has them. List entries are cached per manifest file
(inode, mtime, size), so a list reads only the manifests that changed.
"""

from __future__ import annotations

import bz2
import contextlib
import dataclasses
import errno
import hashlib
import io
import json
import lzma
import os
import re
import secrets
import shutil
import stat
import tarfile
import threading
import time
import unicodedata
import zlib
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
NAME_BYTES = 255  # a name is a file name in the store (v<N>/<name>)
PATH_BYTES = 2048  # a path inside a share (well under PATH_MAX with the store's own prefix)
REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}  # controls, bidi/format, separators
FILE_COST = 4096  # quota bytes a file costs besides its content (a block and an inode)
LISTED_OUT = ("files", "checksums", "versions")  # in GET shares/{id}, not in lists
SCOPES = ("with-me", "by-me", "public")
STALE_SECONDS = 3600
WORKERS = min(4, os.cpu_count() or 1)  # files of one folder hashed and copied in parallel


@dataclass(frozen=True)
class ShareLimits:
    """What one share and one user may take (see the module docstring); 0 = no limit.

    Defaults for an EO platform: a share is a notebook, a course or a handful of scenes
    (2 GiB, 10,000 files and folders), bulk data belongs in object storage; 10 GiB and 200
    shares per user; 16 MiB of manifest holds the file list and checksums of several
    versions of a 10,000-file folder."""

    share_bytes: int = 2 << 30
    share_files: int = 10_000
    manifest_bytes: int = 16 << 20
    shares_per_user: int = 200
    quota_bytes: int = 10 << 30


@dataclass(frozen=True)
class Caller:
    """Who asks: a user name, the groups it belongs to, and whether it is a platform admin."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    admin: bool = False


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def check_name(name: Any, what: str = "share name") -> str:
    """``name`` if it is a fine name for a share or a file inside one (module docstring)."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise BadRequest(f"{name!r} is not a valid {what}.", {"name": str(name)[:300]})
    shown = repr(name[:120])  # escapes every unprintable character: nothing spoofs it
    if len(name.encode("utf-8", "surrogatepass")) > NAME_BYTES:
        raise BadRequest(f"The {what} {shown}... is longer than {NAME_BYTES} bytes.")
    if name.startswith("."):
        raise BadRequest(
            f"The {what} {shown} starts with '.': hidden files and folders are not shared."
        )
    if name != name.strip():
        raise BadRequest(f"The {what} {shown} starts or ends with a space: rename it first.")
    for char in name:
        if char in "/\\" or unicodedata.category(char) in REFUSED_CATEGORIES:
            raise BadRequest(
                f"The {what} {shown} holds the character U+{ord(char):04X}, which is not "
                "allowed in shared names (path separators, control and bidirectional-text "
                "characters): rename it first.",
                {"character": f"U+{ord(char):04X}"},
            )
    return name


def check_path(rel: str) -> str:
    """A path inside a share: each part a valid name, at most ``PATH_BYTES`` bytes."""
    if len(rel.encode("utf-8", "surrogatepass")) > PATH_BYTES:
        raise BadRequest(f"The path {rel[:120]!r}... is longer than {PATH_BYTES} bytes.")
    for part in rel.split("/"):
        check_name(part, "file name")
    return rel


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


class _Budget:
    """What a share or version being made may still take: its own limits (content bytes,
    files and folders) and the owner's quota, checked as content is announced and written."""

    REFRESH = 64 << 20  # re-read the owner's usage every 64 MiB charged

    def __init__(self, store: ShareStore | None, owner: str, limits: ShareLimits | None = None):
        """``store`` None: the share's own limits only (``limits``), no quota."""
        self.store, self.owner = store, owner
        self.limits = limits or store.limits
        self.count = 0  # bytes charged to the quota (content + FILE_COST per file)
        self.written = 0  # content bytes written
        self.declared = 0  # content bytes announced (file sizes, tar member sizes)
        self.entries = 0  # files and folders (tar members)
        self.used: int | None = None
        self.checked_at = 0
        self.lock = threading.Lock()  # several files of one share are copied in parallel

    def entry(self, is_file: bool) -> None:
        """One more file or folder; a file costs ``FILE_COST`` of the quota at once."""
        limit = self.limits.share_files
        with self.lock:
            self.entries += 1
            if limit and self.entries > limit:
                raise BadRequest(
                    f"A share may hold at most {limit:,} files and folders; this one has more.",
                    {"limit": "share_files", "value": limit},
                )
            if is_file:
                self._charge(FILE_COST)

    def declare(self, n: int) -> None:
        """Content announced before it is copied (so a refusal comes before the work)."""
        with self.lock:
            self.declared += max(n, 0)
            self._check_bytes(self.declared)

    def add(self, n: int) -> None:
        if n <= 0:
            return
        with self.lock:
            self.written += n
            self._check_bytes(self.written)
            self._charge(n)

    def _check_bytes(self, n: int) -> None:
        limit = self.limits.share_bytes
        if limit and n > limit:
            raise BadRequest(
                f"A share may hold at most {human_size(limit)} (uncompressed); this one holds "
                "more.",
                {"limit": "share_bytes", "value": limit},
            )

    def _charge(self, n: int) -> None:
        self.count += n
        if self.store is not None:
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

    def __init__(
        self, root: Path, quota_bytes: int | None = None, limits: ShareLimits | None = None
    ):
        """``quota_bytes``, when given, overrides ``limits.quota_bytes``."""
        self.root = Path(root)
        self.shares = self.root / "shares"
        limits = limits or ShareLimits()
        if quota_bytes is not None:
            limits = dataclasses.replace(limits, quota_bytes=quota_bytes)
        self.limits = limits
        self._lock = threading.Lock()
        self._share_locks: dict[str, threading.Lock] = {}
        self._owner_locks: dict[str, threading.Lock] = {}
        self._reserved: dict[str, int] = {}
        # share id -> (manifest file key, list entry, quota bytes charged)
        self._index: dict[str, tuple[tuple[int, int, int], dict, int]] = {}
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
        name = check_name(name or source.name)
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
        name = check_name(name)
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
        """The shares of ``scope``, newest update first, without ``LISTED_OUT`` (``get``
        has them): a list stays small however many files the shares hold."""
        if scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}.")
        out = []
        for entry, _ in self._entries():
            if scope == "by-me":
                keep = entry["owner"] == caller.name
            elif scope == "public":
                keep = entry["recipients"]["public"]
            else:
                keep = entry["owner"] != caller.name and _named(entry, caller)
            if keep:
                out.append(dict(entry))
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
        """Quota bytes of every version of ``owner``'s shares (content + ``FILE_COST`` a file)."""
        return sum(charged for entry, charged in self._entries() if entry["owner"] == owner)

    def share_count(self, owner: str) -> int:
        return sum(1 for entry, _ in self._entries() if entry["owner"] == owner)

    # -- internals --------------------------------------------------------------------------

    def _create(self, caller, kind, name, recipients, message, origin, fill) -> dict:
        recipients = _recipients(recipients)
        message = _message(message)
        self._check_share_count(caller.name)  # before any work; again before committing
        share_id = secrets.token_urlsafe(12)
        staging = self.shares / f".tmp-{share_id}"
        budget = _Budget(self, caller.name)
        try:
            staging.mkdir()
            files, size, checksums = fill(staging / "v1", budget)
            budget.check()
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
            _write_json_atomic(staging / "manifest.json", self._manifest_text(manifest, 1))
            with self._owner_lock(caller.name):  # the count and the rename as one step
                self._check_share_count(caller.name)
                os.rename(staging, self.shares / share_id)
        except BaseException as exc:
            _rmtree(staging)
            _raise_if_full(exc, "nothing was shared")
            raise
        finally:
            budget.release()
        return _public(manifest)

    def _add_version(self, caller, share_id, message, fill) -> dict:
        message = _message(message)
        staging = self.shares / share_id / f".tmp-v-{secrets.token_hex(6)}"
        budget = _Budget(self, caller.name)
        placed: Path | None = None  # v<N>, until the manifest that names it is written
        try:
            try:
                files, size, checksums = fill(staging, budget)
            except FileNotFoundError:
                if not (self.shares / share_id).is_dir():
                    raise NotFound(f"There is no share {share_id!r}.") from None
                raise
            budget.check()
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
                text = self._manifest_text(manifest, number)
                _write_json_atomic(self.shares / share_id / "manifest.json", text)
                placed = None
        except BaseException as exc:
            _rmtree(staging)
            if placed is not None:  # the manifest was not rewritten: v<N> is not a version
                _rmtree(placed)
            _raise_if_full(exc, "the share keeps its earlier versions")
            raise
        finally:
            budget.release()
        return _public(manifest)

    @property
    def quota_bytes(self) -> int:
        return self.limits.quota_bytes

    def _reserve(self, budget: _Budget, n: int) -> None:
        quota = self.limits.quota_bytes
        if not quota:
            return
        owner = budget.owner
        with self._lock:
            self._reserved[owner] = self._reserved.get(owner, 0) + n
            in_flight = self._reserved[owner]
        if budget.used is None or budget.count - budget.checked_at >= budget.REFRESH:
            budget.used, budget.checked_at = self.usage(owner), budget.count
        if budget.used + in_flight > quota:
            raise Conflict(
                f"Sharing this would exceed {owner}'s share quota of {human_size(quota)}: "
                f"{human_size(budget.used)} already shared, {human_size(budget.count)} or more "
                f"in this one (each file counts {FILE_COST // 1024} KiB more than its size).",
                {"limit": "quota_bytes", "quota": quota, "used": budget.used},
            )

    def _check_share_count(self, owner: str) -> None:
        limit = self.limits.shares_per_user
        if limit and self.share_count(owner) >= limit:
            raise Conflict(
                f"{owner} already owns {limit:,} shares, the most one user may have: remove "
                "some before sharing more.",
                {"limit": "shares_per_user", "value": limit},
            )

    def _manifest_text(self, manifest: dict, version: int) -> str:
        """The manifest as written, refused when over ``manifest_bytes``."""
        text = json.dumps(manifest, indent=1, sort_keys=True)  # ASCII: len() is bytes
        limit = self.limits.manifest_bytes
        if limit and len(text) > limit:
            advice = (
                "share fewer files, or with shorter paths"
                if version == 1
                else "share the current files as a new share instead of a new version"
            )
            raise BadRequest(
                f"The list of this share's files and checksums would take "
                f"{human_size(len(text))}, more than the {human_size(limit)} one share's "
                f"record may take: {advice}.",
                {"limit": "manifest_bytes", "value": limit},
            )
        return text

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

    def _owner_lock(self, owner: str) -> threading.Lock:
        with self._lock:
            return self._owner_locks.setdefault(owner, threading.Lock())

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

    def _entries(self) -> list[tuple[dict, int]]:
        """(list entry, quota bytes charged) of every readable share; a manifest is parsed
        again only when its file changed (manifests are replaced, never rewritten in place)."""
        with os.scandir(self.shares) as entries:
            names = [
                e.name
                for e in entries
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            ]
        with self._lock:
            known = dict(self._index)
        index, out = {}, []
        for name in names:
            try:
                st = os.stat(self.shares / name / "manifest.json")
            except OSError:
                continue
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            cached = known.get(name)
            if cached is None or cached[0] != key:
                manifest = self._read_manifest(name)
                if manifest is None:
                    continue
                cached = (key, _listed(manifest), _charged(manifest))
            index[name] = cached
            out.append(cached[1:])
        with self._lock:
            self._index = index
        return out

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


def _listed(manifest: dict) -> dict:
    """A share as lists give it: without its file lists, checksums and versions."""
    return {k: v for k, v in manifest.items() if k not in LISTED_OUT}


def _charged(manifest: dict) -> int:
    """Quota bytes of a share: every version's content plus ``FILE_COST`` per file."""
    return sum(v["size"] + FILE_COST * len(v.get("files") or ()) for v in manifest["versions"])


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
    """Write ``data`` (or a text already serialised) as ``path``, atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            if isinstance(data, str):
                out.write(data)
            else:
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


def _write_stream(read, target: Path, budget: _Budget | None, digest: Any | None, mode: int) -> int:
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
            if budget is not None:
                budget.add(n)
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


def _copy_file(src: Path, dst: Path, budget: _Budget | None, mode: int = 0o444) -> tuple[int, str]:
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise BadRequest(f"{src.name!r} is not a regular file.")
        digest = hashlib.sha256()
        size = _write_stream(f.read, dst, budget, digest, mode)
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


def _measured(source: Path, kind: str, budget: _Budget) -> list[tuple[str, Path, bool]]:
    """The entries of a file or folder to share (as ``_walk`` gives them; a file: one entry,
    ""), counted against ``budget`` and their names checked, before anything is copied."""
    if kind == "file":
        budget.entry(is_file=True)
        budget.declare(source.lstat().st_size)
        return [("", source, False)]
    entries = []
    for rel, path, is_dir in _walk(source):
        budget.entry(is_file=not is_dir)
        check_path(rel)
        if not is_dir:
            budget.declare(path.lstat().st_size)
        entries.append((rel, path, is_dir))
    return entries


def check_source(source: Path, kind: str, limits: ShareLimits) -> None:
    """Refuse (400) a file or folder that cannot be one share under ``limits`` (content
    bytes, files and folders, names), without copying anything: hub mode checks this on the
    user's server before packing and sending it (the quota is the service's to check)."""
    _measured(Path(source), kind, _Budget(None, "", limits))


def _snapshot(source: Path, kind: str, name: str, dest: Path, budget: _Budget):
    dest.mkdir()
    entries = _measured(source, kind, budget)
    if kind == "file":
        size, digest = _copy_file(source, dest / name, budget)
        return [name], size, {name: digest}
    for rel, _path, is_dir in entries:  # parents come before their content
        if is_dir:
            (dest / rel).mkdir()
    regular = [(rel, path) for rel, path, is_dir in entries if not is_dir]
    done: dict[str, tuple[int, str]] = {}
    if WORKERS > 1 and len(regular) > 1:
        # sha256 and the copies release the GIL: hash several files at once
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="eo-jlab-share") as pool:
            futures = {
                pool.submit(_copy_file, path, dest / rel, budget): rel for rel, path in regular
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
            done[rel] = _copy_file(path, dest / rel, budget)
    files = sorted(done)
    return files, sum(done[f][0] for f in files), {f: done[f][1] for f in files}


HEADER_BYTES = 1 << 20  # the most a tar's extended header (pax, GNU long name) may take


class _BoundedTarInfo(tarfile.TarInfo):
    """Tar headers whose extended parts (read whole into memory by tarfile) are bounded."""

    def _proc_member(self, tarfile_):
        extended = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
                    tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)  # fmt: skip
        if self.type in extended and self.size > HEADER_BYTES:
            raise BadRequest(
                f"The tar stream has an extended header of {human_size(self.size)}; at most "
                f"{human_size(HEADER_BYTES)} is accepted."
            )
        return super()._proc_member(tarfile_)


class _Inflated(io.RawIOBase):
    """An upload's tar stream, decompressed here (gzip, bzip2, xz, or none) a bounded piece
    at a time: tarfile's own stream mode inflates a whole input block at once, which a small
    bzip2 block can turn into gigabytes in memory."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.pending = raw.read(6)
        head = self.pending
        self.gzip = head[:2] == b"\x1f\x8b"
        if self.gzip:
            self.inflater: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif head[:3] == b"BZh":
            self.inflater = bz2.BZ2Decompressor()
        elif head[:6] == b"\xfd7zXZ\x00":
            self.inflater = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        else:
            self.inflater = None

    def readable(self) -> bool:
        return True

    def _input(self) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self.raw.read(1 << 16)

    def _inflate(self, n: int) -> bytes:
        """Up to ``n`` inflated bytes (b"" at the end of the compressed stream)."""
        inflater = self.inflater
        while not inflater.eof:
            if self.gzip:  # zlib keeps the input it did not use in unconsumed_tail
                data = inflater.unconsumed_tail or self._input()
                exhausted = not data
            else:  # bz2 and lzma keep it inside, and say when they need more
                data = self._input() if inflater.needs_input else b""
                exhausted = inflater.needs_input and not data
            try:
                out = inflater.decompress(data, n)
            except (zlib.error, lzma.LZMAError, OSError, EOFError):
                raise BadRequest("The content is not readable compressed data.") from None
            if out:
                return out
            if exhausted and not inflater.eof:
                raise BadRequest("The compressed content ends early: the upload is incomplete.")
        return b""

    def readinto(self, buffer) -> int:
        n = len(buffer)
        if self.inflater is not None:
            data = self._inflate(n)
        elif self.pending:
            data, self.pending = self.pending[:n], self.pending[n:]
        else:
            data = self.raw.read(n)
        buffer[: len(data)] = data
        return len(data)


def _extract(fileobj: IO[bytes], kind: str, name: str, dest: Path, budget: _Budget):
    """Extract a tar stream (plain, gzip, bzip2 or xz), confined: only regular files and
    folders, relative names; every member counts against the limits before it is written."""
    dest.mkdir()
    files, checksums, total = [], {}, 0
    try:
        tar = tarfile.open(fileobj=_Inflated(fileobj), mode="r|", tarinfo=_BoundedTarInfo)
    except tarfile.TarError:
        raise BadRequest("The content is not a readable tar stream.") from None
    with tar:
        try:
            for member in tar:
                regular = member.isreg()
                budget.entry(is_file=regular)
                if regular:
                    budget.declare(member.size)  # before a byte of it is inflated
                rel = clean_relative(member.name, "member")
                if any(p.startswith(".") for p in rel.parts) and kind == "directory":
                    continue
                if kind == "directory":
                    check_path(rel.as_posix())
                if member.isdir():
                    if kind == "directory":
                        dest.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
                    continue
                if not regular:
                    raise BadRequest(
                        f"The tar member {member.name!r} is not a regular file or folder."
                    )
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
                size = _write_stream(data.read, target, budget, digest, 0o444)
                files.append(rel.as_posix())
                checksums[rel.as_posix()] = digest.hexdigest()
                total += size
        except tarfile.TarError:
            raise BadRequest("The tar stream is damaged or ends early.") from None
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
