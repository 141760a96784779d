"""The eo-jlab share service: a JupyterHub service that alone writes the share store.

Each user server calls it (``eo_jlab.sharing.hub.HubSharing``) with its own hub API token
(``$JUPYTERHUB_API_TOKEN``) in an ``Authorization: token ...`` header. The service asks the
hub who that token belongs to (``jupyterhub.services.auth.HubAuth``, cached for
``--cache-max-age`` seconds), requires the token to carry the service's access scope
(``access:services!service=<name>``), then reads the user's groups and admin flag with its own
token (it needs ``read:users``; ``list:users`` / ``list:groups`` + ``read:groups`` for the
recipient picker lists). Owner / recipient / group / public rules are the store's.

Routes, under ``$JUPYTERHUB_SERVICE_PREFIX`` (e.g. ``/services/eo-jlab-share/``), JSON unless
said otherwise, errors ``{"error", "details"}`` with the contract's statuses:

* ``GET  ``                                -> ``{"service", "version", "limits":
  {"share_bytes", "share_files", "manifest_bytes", "shares_per_user", "quota_bytes"},
  "max_upload_bytes"}`` (no auth: readiness; user servers check a share against the limits
  before packing and sending it)
* ``GET  shares?scope=with-me|by-me|public`` -> ``{"shares": [Share]}``
* ``POST shares?meta=<JSON>``, body a tar stream (``application/x-tar``) -> ``201 Share``.
  ``meta`` = ``{"name", "kind": "file"|"directory", "recipients": {"users", "groups",
  "public"}, "message"?}``. A file share's tar holds exactly one regular file (its member
  name does not matter, the share takes ``name``); a folder share's tar holds the folder's
  content with paths relative to the folder. Only regular files and folders; hidden entries
  of folders are dropped; nothing absolute and no ``..``.
* ``GET  shares/{id}``                     -> ``Share``
* ``DELETE shares/{id}``                   -> ``204`` (owner or hub admin)
* ``POST shares/{id}/versions?meta=<JSON>`` (``{"message"?}``), body a tar stream as above
  -> ``201 Share`` (owner only)
* ``GET  shares/{id}/archive?version=N``   -> the version's files as an uncompressed tar
  stream (paths as in ``files``; latest version without ``version``)
* ``GET  shares/{id}/files/{path}?version=N`` -> the bytes of one file
  (``application/octet-stream``)
* ``GET  users`` / ``GET groups``          -> ``{"users": [names]}`` / ``{"groups": [names]}``
  (403 when the hub does not let the service list them)

Uploads are streamed to an unlinked temporary file on the store's volume (``<store>/.incoming``)
and extracted by the store in a worker thread; downloads are streamed in 1 MiB pieces read in
worker threads. An upload may be a plain, gzip, bzip2 or xz tar: the store inflates it a piece
at a time and counts the uncompressed content against its limits while extracting (a bomb stops
at the limit, nothing of it stays). An upload larger than ``--max-upload-bytes`` is refused
from its ``Content-Length`` (400) before a byte is stored. Lists (``GET shares``) leave out
``files``, ``checksums`` and ``versions``; ``GET shares/{id}`` has them.

Start it with ``eo-jlab-share-service --store /srv/eo-jlab-shares`` as a
JupyterHub managed service (see docs/deployment.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import tornado.web
from tornado.httpserver import HTTPServer

from .. import __version__
from ..errors import BadRequest, EOJLabError, Forbidden, UpstreamError
from .store import Caller, ShareLimits, ShareStore, clean_relative, human_size

log = logging.getLogger("eo_jlab.share_service")

SERVICE_NAME = "eo-jlab-share"
PIECE = 1 << 20  # bytes per streamed piece (download) and per buffered write (upload)
MAX_LISTED = 10_000  # names returned by GET users / groups at most
MEMBER_ALLOWANCE = 8 << 10  # tar bytes a member may take besides its content (headers, padding)


def default_max_upload(limits: ShareLimits) -> int:
    """The largest upload a share within ``limits`` needs (uncompressed tar); 10 GiB when
    bytes or files are unlimited."""
    if not limits.share_bytes or not limits.share_files:
        return 10 << 30
    return limits.share_bytes + limits.share_files * MEMBER_ALLOWANCE + (1 << 20)


class HubIdentity:
    """Turns a user server's hub token into a store ``Caller`` (hub answers cached)."""

    def __init__(
        self,
        api_url: str,
        api_token: str,
        access_scopes: set[str] | None = None,
        cache_max_age: int = 30,
        timeout: float = 10.0,
    ):
        from jupyterhub.services.auth import HubAuth

        self.api_url = api_url.rstrip("/") + "/"
        self.hub_auth = HubAuth(api_url=api_url, api_token=api_token, cache_max_age=cache_max_age)
        if access_scopes:
            self.hub_auth.access_scopes = set(access_scopes)
        if not self.hub_auth.access_scopes:  # never accept any token of any scope
            self.hub_auth.access_scopes = {f"access:services!service={SERVICE_NAME}"}
        self.max_age = cache_max_age
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"token {api_token}"}, timeout=timeout, trust_env=False
        )
        self._users: dict[str, tuple[float, frozenset[str], bool]] = {}
        self._lists: dict[str, tuple[float, list[str]]] = {}

    async def caller(self, token: str) -> Caller:
        if not token:
            raise Forbidden("The share service needs a hub API token (Authorization: token ...).")
        try:
            model = await self.hub_auth.user_for_token(token, sync=False)
        except tornado.web.HTTPError as exc:
            raise UpstreamError("The share service could not check the token with the hub.", {
                "status": exc.status_code}) from None  # fmt: skip
        if not model:
            raise Forbidden("The hub does not recognise this token.")
        if model.get("kind", "user") != "user":
            raise Forbidden("Only user tokens may use the share service.")
        scopes = self.hub_auth.access_scopes
        if not self.hub_auth.check_scopes(scopes, model):
            raise Forbidden(
                "This token lacks access to the share service "
                f"({', '.join(sorted(scopes))}); see docs/deployment.md."
            )
        name = model["name"]
        groups, admin = await self._user_info(name, model)
        return Caller(name, groups, admin)

    async def _user_info(self, name: str, model: dict) -> tuple[frozenset[str], bool]:
        cached = self._users.get(name)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        try:
            response = await self.http.get(self.api_url + "users/" + quote(name, safe=""))
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The share service could not reach the hub: {exc}.") from None
        if response.status_code == 200:
            info = response.json()
        else:
            # Without read:users the service falls back on what the token's model says.
            log.warning(
                "hub answered %s to GET users/%s: grant the service read:users",
                response.status_code,
                name,
            )
            info = model
        groups = frozenset(g for g in info.get("groups") or [] if isinstance(g, str))
        admin = bool(info.get("admin", False))
        self._users[name] = (time.monotonic() + self.max_age, groups, admin)
        return groups, admin

    async def names(self, kind: str) -> list[str]:
        """Names of every hub user (``kind="users"``) or group (``"groups"``)."""
        cached = self._lists.get(kind)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        names: list[str] = []
        offset = 0
        while len(names) < MAX_LISTED:
            try:
                response = await self.http.get(
                    self.api_url + kind,
                    params={"offset": offset, "limit": 200},
                    headers={"Accept": "application/jupyterhub-pagination+json"},
                )
            except httpx.HTTPError as exc:
                raise UpstreamError(f"The share service could not reach the hub: {exc}.") from None
            if response.status_code in (401, 403, 404):
                raise Forbidden(f"The hub does not let the share service list {kind}.")
            if response.status_code != 200:
                raise UpstreamError(f"The hub answered {response.status_code} listing {kind}.")
            data = response.json()
            items = data.get("items", []) if isinstance(data, dict) else data
            names.extend(i["name"] for i in items if isinstance(i, dict) and "name" in i)
            following = data.get("_pagination", {}).get("next") if isinstance(data, dict) else None
            if not following or not items:
                break
            offset = following.get("offset", offset + len(items))
        names = sorted(set(names))[:MAX_LISTED]
        self._lists[kind] = (time.monotonic() + self.max_age, names)
        return names

    async def aclose(self) -> None:
        await self.http.aclose()


class ShareService:
    """What the handlers use: the store, the identity checker and the worker threads."""

    def __init__(
        self,
        store: ShareStore,
        identity: HubIdentity,
        *,
        max_upload_bytes: int | None = None,
        workers: int = 8,
    ):
        self.store = store
        self.identity = identity
        self.max_upload_bytes = max_upload_bytes or default_max_upload(store.limits)
        self.incoming = store.root / ".incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eo-jlab-share")

    async def run(self, func, *args, **kwargs) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, partial(func, *args, **kwargs))

    async def close(self) -> None:
        await self.identity.aclose()
        self.pool.shutdown(wait=False, cancel_futures=True)


def upload_refusal(size: int, limit: int) -> BadRequest:
    """The answer to an upload over ``--max-upload-bytes`` (user servers give it too)."""
    return BadRequest(
        f"The upload is {human_size(size)}; the share service takes at most {human_size(limit)}.",
        {"limit": "max_upload_bytes", "value": limit},
    )


def _next_piece(chunks) -> bytes:
    """Up to ~1 MiB from a byte-chunk iterator (b"" at the end); runs in a worker thread."""
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) >= PIECE:
            break
    return bytes(out)


def _origin(raw: Any) -> str | None:
    """The owner's API path the share came from (kept so a new version can be taken from it)."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or len(raw) > 4096:
        raise BadRequest("meta.origin must be the API path the share was made from.")
    return clean_relative(raw, "origin").as_posix()


def _read_piece(f) -> bytes:
    return f.read(PIECE)


class ServiceHandler(tornado.web.RequestHandler):
    """Token authentication in ``prepare``, contract error bodies, JSON helpers."""

    caller: Caller

    def initialize(self, service: ShareService) -> None:
        self.service = service

    async def prepare(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            token = ""
        self.caller = await self.service.identity.caller(token.strip())

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def meta(self) -> dict:
        raw = self.get_query_argument("meta", "{}")
        try:
            meta = json.loads(raw)
        except ValueError:
            raise BadRequest("The meta query parameter is not valid JSON.") from None
        if not isinstance(meta, dict):
            raise BadRequest("The meta query parameter must be a JSON object.")
        return meta

    def version(self) -> int | None:
        raw = self.get_query_argument("version", None)
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except ValueError:
            raise BadRequest("version must be a whole number.") from None

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, EOJLabError):
            log.info("%s %s -> %s: %s", self.request.method, self.request.path, e.status, e.message)
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, EOJLabError):
            body = exc.to_json()
        elif isinstance(exc, tornado.web.HTTPError):
            body = {"error": exc.log_message or exc.reason or self._reason, "details": {}}
        elif exc is not None:
            body = {"error": "The share service hit an internal error; see its log.", "details": {}}
        else:
            body = {"error": self._reason or "Error", "details": {}}
        if self._headers_written:
            return  # a stream was cut: nothing more can be said
        if getattr(type(self), "_stream_request_body", False):
            # Answered before the body was read: tornado drops the connection afterwards, so
            # tell the client not to reuse it.
            self.set_header("Connection", "close")
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def stream(self, chunks) -> None:
        """Send a byte-chunk iterator (pulled in worker threads) as the response body."""
        iterator = iter(chunks)
        while True:
            piece = await self.service.run(_next_piece, iterator)
            if not piece:
                break
            self.write(piece)
            await self.flush()
        self.finish()


class UploadMixin:
    """A streamed request body, spooled to an unlinked file on the store's volume."""

    upload: Any = None
    _buffer: bytearray

    async def start_upload(self) -> None:
        limit = self.service.max_upload_bytes
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise upload_refusal(int(declared), limit)
        self.request.connection.set_max_body_size(limit)
        self._buffer = bytearray()
        self.upload = await self.service.run(
            tempfile.TemporaryFile, dir=self.service.incoming, prefix="upload-"
        )

    async def data_received(self, chunk: bytes) -> None:
        if self.upload is None:
            return
        self._buffer += chunk
        if len(self._buffer) >= PIECE:
            data, self._buffer = bytes(self._buffer), bytearray()
            await self.service.run(self.upload.write, data)

    async def finish_upload(self):
        if self._buffer:
            await self.service.run(self.upload.write, bytes(self._buffer))
            self._buffer = bytearray()
        await self.service.run(self.upload.seek, 0)
        return self.upload

    def on_finish(self) -> None:
        self._close_upload()

    def on_connection_close(self) -> None:
        self._close_upload()
        super().on_connection_close()

    def _close_upload(self) -> None:
        if self.upload is not None:
            with contextlib.suppress(OSError):
                self.upload.close()
            self.upload = None


class RootHandler(ServiceHandler):
    async def prepare(self) -> None:  # readiness probe: no authentication
        pass

    def get(self) -> None:
        self.write_json({
            "service": SERVICE_NAME,
            "version": __version__,
            "limits": dataclasses.asdict(self.service.store.limits),
            "max_upload_bytes": self.service.max_upload_bytes,
        })  # fmt: skip


@tornado.web.stream_request_body
class SharesHandler(UploadMixin, ServiceHandler):
    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method == "POST":
            await self.start_upload()

    async def get(self) -> None:
        scope = self.get_query_argument("scope", "with-me")
        shares = await self.service.run(self.service.store.list, self.caller, scope)
        self.write_json({"shares": shares})

    async def post(self) -> None:
        meta = self.meta()
        body = await self.finish_upload()
        share = await self.service.run(
            self.service.store.create_from_tar,
            self.caller,
            body,
            meta.get("kind"),
            meta.get("name"),
            meta.get("recipients") or {},
            meta.get("message") or "",
            origin=_origin(meta.get("origin")),
        )
        log.info(
            "%s shared %s %r as %s", self.caller.name, share["kind"], share["name"], share["id"]
        )
        self.write_json(share, 201)


class ShareHandler(ServiceHandler):
    async def get(self, share_id: str) -> None:
        self.write_json(await self.service.run(self.service.store.get, self.caller, share_id))

    async def delete(self, share_id: str) -> None:
        await self.service.run(self.service.store.delete, self.caller, share_id)
        log.info("%s removed share %s", self.caller.name, share_id)
        self.set_status(204)
        self.finish()


@tornado.web.stream_request_body
class VersionsHandler(UploadMixin, ServiceHandler):
    async def prepare(self) -> None:
        await super().prepare()
        await self.start_upload()

    async def post(self, share_id: str) -> None:
        meta = self.meta()
        body = await self.finish_upload()
        share = await self.service.run(
            self.service.store.new_version_from_tar,
            self.caller,
            share_id,
            body,
            meta.get("message") or "",
        )
        self.write_json(share, 201)


class ArchiveHandler(ServiceHandler):
    async def get(self, share_id: str) -> None:
        version = self.version()
        share = await self.service.run(self.service.store.get, self.caller, share_id)
        chunks = await self.service.run(
            self.service.store.tar_stream, self.caller, share_id, version
        )
        self.set_header("Content-Type", "application/x-tar")
        self.set_header("X-EO-JLab-Share-Version", str(version or share["version"]))
        await self.stream(chunks)


class FileHandler(ServiceHandler):
    async def get(self, share_id: str, rel_path: str) -> None:
        path = await self.service.run(
            self.service.store.file_path, self.caller, share_id, rel_path, self.version()
        )
        f = await self.service.run(open, path, "rb")
        try:
            size = await self.service.run(lambda: os.fstat(f.fileno()).st_size)
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Length", str(size))
            while True:
                piece = await self.service.run(_read_piece, f)
                if not piece:
                    break
                self.write(piece)
                await self.flush()
        finally:
            await self.service.run(f.close)
        self.finish()


class NamesHandler(ServiceHandler):
    def initialize(self, service: ShareService, kind: str) -> None:
        super().initialize(service)
        self.kind = kind

    async def get(self) -> None:
        self.write_json({self.kind: await self.service.identity.names(self.kind)})


class NotFoundHandler(ServiceHandler):
    async def prepare(self) -> None:
        raise tornado.web.HTTPError(404, "There is no such share service route.")


def make_app(service: ShareService, prefix: str = "/") -> tornado.web.Application:
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    sid = r"(?P<share_id>[^/]+)"
    args = {"service": service}
    routes = [
        (prefix, RootHandler, args),
        (prefix + "shares", SharesHandler, args),
        (prefix + f"shares/{sid}", ShareHandler, args),
        (prefix + f"shares/{sid}/versions", VersionsHandler, args),
        (prefix + f"shares/{sid}/archive", ArchiveHandler, args),
        (prefix + f"shares/{sid}/files/(?P<rel_path>.+)", FileHandler, args),
        (prefix + "users", NamesHandler, {**args, "kind": "users"}),
        (prefix + "groups", NamesHandler, {**args, "kind": "groups"}),
        (prefix + ".*", NotFoundHandler, args),
    ]
    return tornado.web.Application(routes, default_handler_class=NotFoundHandler,
                                   default_handler_args=args)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eo-jlab-share-service",
        description="The eo-jlab share service (run it as a JupyterHub managed service).",
    )
    parser.add_argument(
        "--store",
        default=os.environ.get("EO_JLAB_SHARE_ROOT", ""),
        help="folder of the share store (default: $EO_JLAB_SHARE_ROOT); only this service "
        "writes it",
    )
    limits = ShareLimits()
    parser.add_argument(
        "--quota-bytes",
        type=int,
        default=limits.quota_bytes,
        help="bytes each user's shares may take over all versions, each file counting its size "
        "plus 4 KiB; 0: no limit (default 10 GiB)",
    )
    parser.add_argument(
        "--share-max-bytes",
        type=int,
        default=limits.share_bytes,
        help="uncompressed bytes of content one share (one version) may hold; 0: no limit "
        "(default 2 GiB)",
    )
    parser.add_argument(
        "--share-max-files",
        type=int,
        default=limits.share_files,
        help="files and folders one share (one version) may hold; 0: no limit (default 10000)",
    )
    parser.add_argument(
        "--share-max-manifest-bytes",
        type=int,
        default=limits.manifest_bytes,
        help="bytes of one share's manifest (paths and checksums of every version); 0: no "
        "limit (default 16 MiB)",
    )
    parser.add_argument(
        "--share-max-per-user",
        type=int,
        default=limits.shares_per_user,
        help="shares one user may own; 0: no limit (default 200)",
    )
    parser.add_argument(
        "--max-upload-bytes",
        type=int,
        default=None,
        help="largest upload body (default: what the share limits need, --share-max-bytes + "
        "8 KiB per --share-max-files + 1 MiB; 10 GiB when either is 0)",
    )
    parser.add_argument(
        "--cache-max-age", type=int, default=30, help="seconds hub answers about a token are kept"
    )
    parser.add_argument("--workers", type=int, default=8, help="worker threads for disk work")
    parser.add_argument(
        "--url",
        default=os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"),
        help="where to listen (default: $JUPYTERHUB_SERVICE_URL)",
    )
    parser.add_argument(
        "--prefix",
        default=os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/"),
        help="URL prefix of the routes (default: $JUPYTERHUB_SERVICE_PREFIX)",
    )
    parser.add_argument(
        "--name",
        default=os.environ.get("JUPYTERHUB_SERVICE_NAME", SERVICE_NAME),
        help="the service's name in the hub; tokens need access:services!service=NAME "
        "(default: $JUPYTERHUB_SERVICE_NAME or %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


async def serve(args: argparse.Namespace) -> None:
    api_url = os.environ.get("JUPYTERHUB_API_URL", "")
    api_token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not api_url or not api_token:
        raise SystemExit(
            "eo-jlab-share-service: JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN must be set "
            "(JupyterHub sets them for a managed service)."
        )
    if not args.store:
        raise SystemExit("eo-jlab-share-service: give the store folder with --store.")
    for option in ("quota_bytes", "share_max_bytes", "share_max_files",
                   "share_max_manifest_bytes", "share_max_per_user"):  # fmt: skip
        if getattr(args, option) < 0:
            raise SystemExit(f"eo-jlab-share-service: --{option.replace('_', '-')} must be >= 0.")
    limits = ShareLimits(
        share_bytes=args.share_max_bytes,
        share_files=args.share_max_files,
        manifest_bytes=args.share_max_manifest_bytes,
        shares_per_user=args.share_max_per_user,
        quota_bytes=args.quota_bytes,
    )
    if args.max_upload_bytes is None:
        args.max_upload_bytes = default_max_upload(limits)
    store = ShareStore(Path(args.store), limits=limits)
    # Always check the access scope, also when the hub did not say which (external service).
    scopes = os.environ.get("JUPYTERHUB_OAUTH_ACCESS_SCOPES", "")
    access = set(json.loads(scopes)) if scopes else {f"access:services!service={args.name}"}
    identity = HubIdentity(api_url, api_token, access, cache_max_age=args.cache_max_age)
    service = ShareService(
        store, identity, max_upload_bytes=args.max_upload_bytes, workers=args.workers
    )
    app = make_app(service, args.prefix)
    url = urlparse(args.url)
    server = HTTPServer(app, max_body_size=args.max_upload_bytes, idle_connection_timeout=300)
    server.listen(url.port or (443 if url.scheme == "https" else 80), url.hostname or "")
    log.info(
        "eo-jlab share service %s on %s%s, store %s", __version__, args.url.rstrip("/"),
        args.prefix, store.root,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("eo-jlab share service stopping")
    server.stop()
    await service.close()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s",
    )
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
