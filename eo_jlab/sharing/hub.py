"""``HubSharing``: the user server's side of hub-mode sharing (``c.EOJLab.share_service_url``).

The JupyterHub share service (service.py) alone writes the store; this server calls it with
its own hub API token (``$JUPYTERHUB_API_TOKEN``, the server owner's) and moves content as tar
streams (formats in service.py):

* sharing / a new version: the owner's file or folder (an API path, confined to the
  workspace: no absolute path, no "..", no hidden part, nothing resolving outside through a
  link) is first checked against the limits the service announces (``GET`` of its root:
  content bytes, files and folders, names, with the store's own ``check_source``; a 400
  before anything is packed), then packed into a temporary tar in a worker thread (folders
  walked without following links; links, special files and hidden entries left out, as the
  local store does; a tar over the service's upload limit is refused here too) and streamed
  to ``POST shares`` / ``POST shares/{id}/versions``;
* copying: ``GET shares/{id}/archive?version=N`` is streamed to a hidden partial file next to
  the destination, extracted there (regular files and folders only, relative names, no
  "..") and renamed to the first free name ("name", "name-1", ...): never overwriting;
* reading one file: ``GET shares/{id}/files/{path}`` (at most ``max_file_bytes``).

Service errors come back as the same eo_jlab errors (400/403/404/409); an unreachable or
failing service is a 502, a slow one a 504.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import secrets
import shutil
import stat
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

import httpx

from ..errors import (
    BadRequest,
    Conflict,
    EOJLabError,
    Forbidden,
    NotFound,
    UpstreamError,
    UpstreamTimeout,
)
from .service import upload_refusal
from .store import (  # one free-name rule for both modes
    ShareLimits,
    _place_no_overwrite,
    check_source,
    clean_relative,
)

PIECE = 1 << 20
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # noqa: S105  (a variable name, not a secret)
OWNER_ENV = "JUPYTERHUB_USER"
STATUS_ERRORS: dict[int, type[EOJLabError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
}


def make_hub_sharing(config: Any, user_name: str, workspace_root: Path) -> HubSharing:
    """The factory ``make_sharing`` uses in hub mode.

    The service learns who asks from this server's token, which is its owner's: a visitor
    (an admin with access to this server) may not share in the owner's name.
    """
    owner = os.environ.get(OWNER_ENV, "")
    if owner and user_name and user_name != owner:
        raise Forbidden(
            f"Sharing on this server acts as {owner}, its owner; {user_name} cannot use it here."
        )
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise BadRequest(
            "Hub sharing needs this server's hub token ($JUPYTERHUB_API_TOKEN): "
            "is it running under JupyterHub?"
        )
    return HubSharing(
        config.share_service_url,
        token,
        workspace_root,
        timeout=getattr(config, "request_timeout", 30.0),
        max_file_bytes=getattr(config, "max_response_bytes", 50_000_000),
        user_name=owner or user_name,
    )


class HubSharing:
    """The ``Sharing`` facade over the share service's HTTP API."""

    mode = "hub"

    def __init__(
        self,
        service_url: str,
        token: str,
        workspace_root: str | Path,
        *,
        timeout: float = 30.0,
        max_file_bytes: int = 50_000_000,
        user_name: str | None = None,
    ):
        self.service_url = service_url.rstrip("/") + "/"
        self.token = token
        self.workspace = Path(workspace_root).resolve()
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.max_file_bytes = max_file_bytes
        self.user_name = user_name

    # -- plumbing ---------------------------------------------------------------------------

    async def _run(self, fn, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.service_url,
            headers={"Authorization": f"token {self.token}"},
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
        )

    @contextlib.asynccontextmanager
    async def _call(self, method: str, route: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """One streamed request; non-2xx answers raise the matching eo_jlab error."""
        try:
            async with self._client() as client:
                async with client.stream(method, route, **kwargs) as response:
                    if response.status_code >= 300:
                        await _raise_for(response)
                    yield response
        except httpx.TimeoutException:
            raise UpstreamTimeout("The share service did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"The share service cannot be reached: {type(exc).__name__}.",
                {"url": self.service_url},
            ) from None

    async def _json(self, method: str, route: str, **kwargs: Any) -> Any:
        async with self._call(method, route, **kwargs) as response:
            body = await response.aread()
        if response.status_code == 204 or not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise UpstreamError("The share service answered something that is not JSON.") from None

    @staticmethod
    def _id(share_id: str) -> str:
        return quote(str(share_id), safe="")

    # -- the facade -------------------------------------------------------------------------

    async def list(self, scope: str) -> list[dict[str, Any]]:
        data = await self._json("GET", "shares", params={"scope": scope})
        return data["shares"]

    async def create(self, path: str, recipients: dict, message: str = "") -> dict[str, Any]:
        source, name, kind = await self._run(self._source, path)
        meta = {
            "name": name,
            "kind": kind,
            "recipients": recipients or {},
            "message": message or "",
            "origin": clean_relative(path).as_posix(),
        }
        return await self._upload("shares", source, kind, name, meta)

    async def get(self, share_id: str) -> dict[str, Any]:
        return await self._json("GET", f"shares/{self._id(share_id)}")

    async def new_version(
        self, share_id: str, message: str = "", path: str | None = None
    ) -> dict[str, Any]:
        """A new version from the owner's current file(s): ``path``, by default the path the
        share was made from (``source`` in the share)."""
        share = await self.get(share_id)
        if self.user_name and share["owner"] != self.user_name:
            raise Forbidden(f"Only {share['owner']} (the owner) can add a version to this share.")
        origin = path or share.get("source") or share.get("origin")
        if not origin:
            raise BadRequest(f"The share {share['name']!r} does not record where it came from.")
        source, _, kind = await self._run(self._source, origin)
        if kind != share["kind"]:
            raise BadRequest(
                f"The share {share['name']!r} is a {share['kind']}; {origin!r} is a {kind}."
            )
        meta = {"message": message or ""}
        return await self._upload(
            f"shares/{self._id(share_id)}/versions", source, kind, share["name"], meta
        )

    async def delete(self, share_id: str) -> None:
        await self._json("DELETE", f"shares/{self._id(share_id)}")

    async def copy(self, share_id: str, destination: str | None = None) -> str:
        share = await self.get(share_id)
        parent, wanted = await self._run(self._destination, destination or share["name"])
        archive = parent / f".{wanted[:100]}.eo-jlab-download-{secrets.token_hex(4)}"
        try:
            route = f"shares/{self._id(share_id)}/archive"
            params = {"version": share["version"]}
            async with self._call("GET", route, params=params) as response:
                out = await self._run(_open_new, archive)
                try:
                    async for piece in response.aiter_bytes(PIECE):
                        await self._run(out.write, piece)
                finally:
                    await self._run(out.close)
            final = await self._run(
                _unpack_and_place, archive, parent, wanted, share["kind"], share["name"]
            )
        finally:
            await self._run(_rmtree, archive)
        return final.relative_to(self.workspace).as_posix()

    async def read_file(self, share_id: str, rel_path: str) -> tuple[bytes, str]:
        from . import content_type

        rel = clean_relative(rel_path, "file path").as_posix()
        route = f"shares/{self._id(share_id)}/files/{quote(rel, safe='/')}"
        async with self._call("GET", route) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_file_bytes:
                raise Conflict(_too_big(rel, self.max_file_bytes))
            data = bytearray()
            async for piece in response.aiter_bytes(PIECE):
                data += piece
                if len(data) > self.max_file_bytes:
                    raise Conflict(_too_big(rel, self.max_file_bytes))
        return bytes(data), content_type(PurePosixPath(rel).name)[0]

    # -- extras for the recipient picker ----------------------------------------------------

    async def users(self) -> list[str]:
        """Names of the hub's users (403 when the hub does not let the service list them)."""
        return (await self._json("GET", "users"))["users"]

    async def groups(self) -> list[str]:
        return (await self._json("GET", "groups"))["groups"]

    # -- workspace side (worker threads) ----------------------------------------------------

    def _source(self, path: str) -> tuple[Path, str, str]:
        """The confined file or folder at API path ``path``: (resolved path, name, kind)."""
        rel = clean_relative(path, "path")
        if any(part.startswith(".") for part in rel.parts):
            raise BadRequest(f"The path {path!r} has a hidden part; hidden files are not shared.")
        resolved = self.workspace.joinpath(*rel.parts).resolve()
        if not resolved.is_relative_to(self.workspace) or resolved == self.workspace:
            raise BadRequest(f"The path {path!r} leads outside your workspace.")
        try:
            st = resolved.lstat()
        except FileNotFoundError:
            raise NotFound(f"There is no file or folder {path!r} to share.") from None
        if stat.S_ISREG(st.st_mode):
            return resolved, rel.name, "file"
        if stat.S_ISDIR(st.st_mode):
            return resolved, rel.name, "directory"
        raise BadRequest(f"{rel.name!r} is neither a regular file nor a folder.")

    def _destination(self, destination: str) -> tuple[Path, str]:
        """(resolved parent folder inside the workspace, wanted name) of a copy."""
        rel = clean_relative(destination, "destination")
        if any(part.startswith(".") for part in rel.parts):
            raise BadRequest(f"The destination {destination!r} has a hidden part.")
        wanted = self.workspace.joinpath(*rel.parts)
        parent = wanted.parent
        outside = BadRequest(
            f"The destination {destination!r} is outside your workspace or not in a folder."
        )
        if not parent.resolve().is_relative_to(self.workspace):
            raise outside
        if parent.exists() and not parent.is_dir():
            raise outside
        parent.mkdir(parents=True, exist_ok=True)
        parent = parent.resolve()
        if not parent.is_relative_to(self.workspace):
            raise outside
        return parent, wanted.name

    async def _service_limits(self) -> tuple[ShareLimits | None, int | None]:
        """The limits the service announces (None from a service that announces none)."""
        data = await self._json("GET", "")
        raw = data.get("limits") if isinstance(data, dict) else None
        fields = {f.name for f in dataclasses.fields(ShareLimits)}
        limits = None
        if isinstance(raw, dict) and all(isinstance(raw.get(f), int) for f in fields):
            limits = ShareLimits(**{f: raw[f] for f in fields})
        upload = data.get("max_upload_bytes") if isinstance(data, dict) else None
        return limits, upload if isinstance(upload, int) and upload > 0 else None

    async def _upload(
        self, route: str, source: Path, kind: str, name: str, meta: dict
    ) -> dict[str, Any]:
        # Refused here, with the store's own sentences, rather than after packing and sending
        # it all (the service would cut a body over its upload limit off mid-stream).
        limits, max_upload = await self._service_limits()
        if limits is not None:
            await self._run(check_source, source, kind, limits)
        packed = await self._run(_pack, source, kind, name)
        try:
            size = await self._run(lambda: os.fstat(packed.fileno()).st_size)
            if max_upload is not None and size > max_upload:
                raise upload_refusal(size, max_upload)

            async def body() -> AsyncIterator[bytes]:
                while piece := await self._run(packed.read, PIECE):
                    yield piece

            headers = {"Content-Type": "application/x-tar", "Content-Length": str(size)}
            params = {"meta": json.dumps(meta)}
            # The service stores the upload only once it has it all: allow for that too
            # (at 20 MB/s) before calling its answer late.
            wait = self.timeout.read + size / 20e6
            timeout = httpx.Timeout(wait, connect=self.timeout.connect)
            return await self._json(
                "POST", route, params=params, content=body(), headers=headers, timeout=timeout
            )
        finally:
            await self._run(packed.close)


# -- helpers (worker threads) ------------------------------------------------------------------


async def _raise_for(response: httpx.Response) -> None:
    body = await response.aread()
    try:
        data = json.loads(body)
        message, details = data["error"], data.get("details") or {}
    except (ValueError, KeyError, TypeError):
        message, details = "", {}
    error = STATUS_ERRORS.get(response.status_code)
    if error is not None and message:
        raise error(message, details)
    if response.status_code == 504:
        raise UpstreamTimeout("The share service timed out.")
    raise UpstreamError(
        f"The share service answered {response.status_code}" + (f": {message}" if message else "."),
        {"status": response.status_code},
    )


def _too_big(rel: str, limit: int) -> str:
    return f"{rel!r} is larger than {limit} bytes: copy the share to read it."


def _pack(source: Path, kind: str, name: str) -> IO[bytes]:
    """A temporary tar of a file (one member, ``name``) or a folder's content (relative
    paths; no links, no specials, no hidden entries), rewound."""
    out = tempfile.TemporaryFile(prefix="eo-jlab-share-")
    try:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            if kind == "file":
                _add_file(tar, source, name)
            else:
                for rel, path, is_dir in _walk(source):
                    if is_dir:
                        info = tarfile.TarInfo(rel)
                        info.type, info.mode = tarfile.DIRTYPE, 0o755
                        tar.addfile(info)
                    else:
                        _add_file(tar, path, rel)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BadRequest(f"{path.name!r} is not a regular file.")
        info = tarfile.TarInfo(arcname)
        info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
        tar.addfile(info, f)


def _open_new(path: Path, mode: int = 0o600) -> IO[bytes]:
    """A new file (never an existing one, never through a link); the umask applies."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    return os.fdopen(fd, "wb")


def _rmtree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _walk(folder: Path) -> Iterator[tuple[str, Path, bool]]:
    """(relative path, path, is_dir) of a folder's entries, as the local store walks them:
    links, special files and hidden entries left out, links never followed."""
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


def _unpack_and_place(archive: Path, parent: Path, wanted: str, kind: str, name: str) -> Path:
    """Extract the service's tar next to the destination, then take the first free name."""
    tmp = parent / f".{wanted[:100]}.eo-jlab-partial-{secrets.token_hex(4)}"
    try:
        if kind == "directory":
            tmp.mkdir()
        seen = 0
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                rel = clean_relative(member.name, "member")
                if member.isdir():
                    if kind == "directory":
                        tmp.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg():
                    raise UpstreamError(f"The share service sent {member.name!r}, not a file.")
                seen += 1
                if kind == "file":
                    if seen > 1:
                        raise UpstreamError("The share service sent more than one file.")
                    target = tmp
                else:
                    target = tmp.joinpath(*rel.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(member)
                with _open_new(target, 0o666) as out:
                    shutil.copyfileobj(data, out, PIECE)
        if kind == "file" and not seen:
            raise UpstreamError(f"The share service sent no content for {name!r}.")
        return _place_no_overwrite(tmp, parent, wanted, kind == "directory")
    except BaseException:
        _rmtree(tmp)
        raise
