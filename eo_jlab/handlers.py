"""Thin REST handlers: parse the request, call one service, map domain errors to HTTP.

Every route lives in ``HANDLERS``; every verb is ``@tornado.web.authenticated`` so an
unauthenticated request gets a 403 JSON body (a test walks this table).

Additions to the REST contract of DESIGN.md (all under ``{base_url}eo-jlab/``):

* ``GET jobs/{jid}/results/{output_id}``: the content of one result of a successful job (the
  browser cannot reach a loopback sandbox, remote services may lack CORS): a ``href`` result
  fetched through the guarded client with its type when a browser shows it safely (images,
  JSON/GeoJSON, text; XML as text/plain; anything else application/octet-stream as an
  attachment), always with ``X-Content-Type-Options: nosniff``; an inline ``value`` as JSON.
  A sandbox job's result (a link under the sandbox's ``/outputs/``) is read from the
  sandbox's outputs folder instead, running or not, with the same type rule (the type its
  file name gives, else the job's): a link leading out of that folder (``..``, a symlink
  out) or to anything but a regular file is 403, a missing file 404.
  404 for an unknown job or output, 409 when the job is not successful.
* For ``sandbox`` services (400 for any other): ``POST processing/{sid}/reload`` restarts the
  sandbox -> ``{"processes": [ProcessSummary], "errors": [{"file", "line", "message"}]}``;
  ``GET processing/{sid}/log?tail=N`` -> ``{"log": text}`` (last N lines, default 200, at most
  5000); ``GET processing/{sid}/sandbox`` -> ``{"dir", "running", "processes", "errors"}``
  reports only (a stopped sandbox: ``running: false``, no processes, ``errors`` saying why
  its last start failed); ``POST processing/{sid}/sandbox/start`` starts it when it is not
  running -> the same body. No GET route starts the sandbox (no side effect behind a GET):
  ``GET processing/{sid}/processes`` and ``.../processes/{pid}`` of a stopped sandbox are
  409 "The local sandbox is not running: start it from the Processes section (POST
  processing/{sid}/sandbox/start)." Only POST routes (``sandbox/start``, ``reload``,
  executions, snippets) and the server's job monitor (the status of an unfinished job)
  start it when it is not running.
  ``GET processing/{sid}/processes`` of a sandbox also carries ``"errors"``.
* Sharing (``shares``...), when neither ``shared_root`` nor ``share_service_url`` is set: 400
  "Sharing is off: ...". ``POST shares`` -> 201 ``Share`` with ``Location``; ``POST
  shares/{sid}/versions`` (body ``{"message"?, "path"?}``, path defaulting to the share's
  ``source``) -> 201 ``Share``; ``DELETE shares/{sid}`` -> 204; ``POST shares/{sid}/copy`` ->
  200 ``{"path"}``, a free name chosen ("name", "name-1", ... ; "stem-1.ext" for a file).
  A share the caller may not see is 404; seen but not theirs to change is 403. In hub mode,
  a visitor of the server (an admin, a user the server is shared with) gets 403 on every
  sharing route: the share service would take them for the server's owner.
  ``GET shares/{sid}/files/{path}`` streams the file: .ipynb/.json as application/json, text
  as text/plain, png/jpeg/gif/webp as such, anything else as an application/octet-stream
  attachment; always ``nosniff`` and a ``sandbox`` CSP.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import math
import os
import re
from typing import TYPE_CHECKING, Any, get_args

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from pydantic import BaseModel, ValidationError
from tornado.log import app_log

from .catalogue import SearchRequest
from .errors import BadRequest, EOJLabError
from .models import describe_validation_error
from .net import redact_urls
from .processing.base import ExecutionRequest, JobStatus
from .processing.sandbox import SandboxService
from .sharing import (
    CopyRequest,
    CreateShareRequest,
    NewVersionRequest,
    Sharing,
    content_type,
    make_sharing,
    sharing_off,
)

if TYPE_CHECKING:
    from .app import Services

ID = r"(?P<endpoint_id>[^/]+)"
CID = r"(?P<catalogue_id>[^/]+)"
SID = r"(?P<service_id>[^/]+)"
PID = r"(?P<process_id>[^/]+)"
JID = r"(?P<job_id>[^/]+)"
SHID = r"(?P<share_id>[^/]+)"
JOB_STATUSES = get_args(JobStatus)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite number as None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class EOJLabHandler(ExtensionHandlerMixin, APIHandler):
    """Base handler: contract error bodies and JSON helpers."""

    @property
    def services(self) -> Services:
        return self.settings["eo_jlab_services"]

    def user_name(self) -> str:
        """Who is asking (config, sharing): JUPYTERHUB_USER on a hub, else the server's user.
        jupyter-server's default token login makes up a random "Anonymous <moon>" user per
        browser session; such a caller is this server's account (getpass.getuser()), so
        shares keep their owner across sessions and the browser knows which are its own."""
        if os.environ.get("JUPYTERHUB_USER"):
            return os.environ["JUPYTERHUB_USER"]
        user = self.current_user
        username = getattr(user, "username", None) or str(user)
        if re.fullmatch(r"[0-9a-f]{32}", username) and str(getattr(user, "name", "")).startswith(
            "Anonymous "
        ):
            return getpass.getuser()
        return username

    def write_json(self, data: Any, status: int = 200) -> None:
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        self.set_status(status)
        try:
            text = json.dumps(data, allow_nan=False)
        except ValueError:  # NaN or 1e999 a service sent: JSON has no such number (null)
            text = json.dumps(_finite(data), allow_nan=False)
        self.finish(text)

    def parse_body(self, model: type[BaseModel]) -> Any:
        try:
            raw = json.loads(self.request.body or b"{}")
        except ValueError:
            raise BadRequest("The request body is not valid JSON.") from None
        if not isinstance(raw, dict):
            raise BadRequest("The request body must be a JSON object.")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise BadRequest(f"Invalid request: {describe_validation_error(exc)}.") from None

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, EOJLabError):
            # An expected outcome (bad input, upstream down): one log line, no traceback.
            self.log.warning(
                "eo_jlab %s %s -> %s: %s",
                self.request.method,
                self.request.path,
                e.status,
                redact_urls(e.message),
            )
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    # The request's query may hold the user's token (?token=) or a presigned URL (?href=):
    # tornado's own lines (the uncaught-exception one also prints the whole request) never
    # carry it; the path says which route failed.
    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)  # one line, with the summary above
            return
        app_log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, EOJLabError):
            body = exc.to_json()
        elif isinstance(exc, tornado.web.HTTPError):
            body = {"error": self._http_error_sentence(exc), "details": {}}
        elif exc is not None:
            body = {
                "error": "eo-jlab hit an internal error; the server log has the details.",
                "details": {},
            }
        else:
            body = {"error": self._reason or "Error", "details": {}}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def _http_error_sentence(self, exc: tornado.web.HTTPError) -> str:
        message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
        if exc.status_code == 403:
            if not getattr(self, "_jupyter_current_user", None):
                return "Authentication is required: log in to Jupyter or send a token."
            if message and "xsrf" in message.lower():
                return "The request lacks a valid XSRF token."
        return message or exc.reason or self._reason or "Error"


class ConfigHandler(EOJLabHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        endpoints = self.services.endpoints
        self.write_json(
            {
                "user": {"name": self.user_name()},
                "catalogues": [e.public() for e in endpoints.catalogues],
                "processing": [e.public() for e in endpoints.processing],
                "sharing": self.services.config.sharing,
            }
        )


class CataloguesHandler(EOJLabHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.write_json({"catalogues": [e.public() for e in self.services.endpoints.catalogues]})


class ProcessingServicesHandler(EOJLabHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.write_json({"services": [e.public() for e in self.services.endpoints.processing]})


class EndpointProbeHandler(EOJLabHandler):
    """``GET endpoints/{id}/probe``: is this configured service answering, and what is it called
    (``detail``: a sentence on its state, e.g. a static catalogue indexed partially)."""

    @tornado.web.authenticated
    async def get(self, endpoint_id: str) -> None:
        result = await self.services.endpoints.probe(endpoint_id, self.services.http)
        result.detail = self.services.catalogues.note(endpoint_id)
        self.write_json(result)


class CollectionsHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, catalogue_id: str) -> None:
        collections = await self.services.catalogues.get(catalogue_id).collections()
        self.write_json({"collections": collections})


class QueryablesHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, catalogue_id: str, collection: str) -> None:
        catalogue = self.services.catalogues.get(catalogue_id)
        self.write_json(await catalogue.queryables(collection))


class SearchHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def post(self, catalogue_id: str) -> None:
        catalogue = self.services.catalogues.get(catalogue_id)
        request = self.parse_body(SearchRequest)
        self.write_json(await catalogue.search(request))


class ItemHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, catalogue_id: str, item_id: str) -> None:
        catalogue = self.services.catalogues.get(catalogue_id)
        collection = self.get_query_argument("collection", None) or None
        self.write_json(await catalogue.item(item_id, collection))


class QuicklookHandler(EOJLabHandler):
    """``GET catalogues/{cid}/quicklook?href=``: an item's thumbnail, for the browser.

    Local files of static catalogues cannot be loaded by the browser, and remote ones may
    need the endpoint's credentials: both come through here, images only.
    """

    @tornado.web.authenticated
    async def get(self, catalogue_id: str) -> None:
        href = self.get_query_argument("href", "")
        if not href or len(href) > 4000:
            raise BadRequest("Give the quicklook's address as ?href=.")
        catalogue = self.services.catalogues.get(catalogue_id)
        data, kind = await catalogue.quicklook(href, self.services.http)
        self.set_header("Cache-Control", "private, max-age=3600")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(data, set_content_type=kind)


class SnippetsHandler(EOJLabHandler):
    """``POST snippets``: code for an item, a search, a process execution or a job."""

    @tornado.web.authenticated
    async def post(self) -> None:
        from .snippets import SnippetRequest, prepare_and_generate

        request = self.parse_body(SnippetRequest)
        self.write_json(await prepare_and_generate(request, self.services))


class ProcessesHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, service_id: str) -> None:
        service = self.services.processing.get(service_id)
        processes = await service.processes()
        body: dict[str, Any] = {"processes": [p.model_dump(mode="json") for p in processes]}
        if isinstance(service, SandboxService):
            body["errors"] = service.errors  # files of the sandbox that could not be loaded
        self.write_json(body)


class ProcessHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, service_id: str, process_id: str) -> None:
        description = await self.services.processing.get(service_id).describe(process_id)
        self.write_json(description.model_dump(mode="json", by_alias=True))


class ExecutionHandler(EOJLabHandler):
    """``POST processing/{sid}/processes/{pid}/execution``: 200 with a finished job, or 201
    with ``Location`` when it runs on (followed by the job monitor)."""

    @tornado.web.authenticated
    async def post(self, service_id: str, process_id: str) -> None:
        request = self.parse_body(ExecutionRequest)
        job = await self.services.jobs.execute(service_id, process_id, request)
        if not job.final:
            self.set_header("Location", url_path_join(self.base_url, "eo-jlab", "jobs", job.id))
        self.write_json(job, 200 if job.final else 201)


class JobsHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        status = self.get_query_argument("status", None) or None
        if status and status not in JOB_STATUSES:
            raise BadRequest(f"status must be one of {', '.join(JOB_STATUSES)}.")
        jobs = await self.services.jobs.store.list(status)
        self.write_json({"jobs": [j.model_dump(mode="json") for j in jobs]})


class JobHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        self.write_json(await self.services.jobs.store.get(job_id))

    @tornado.web.authenticated
    async def delete(self, job_id: str) -> None:
        self.write_json(await self.services.jobs.dismiss(job_id))


class JobExchangeHandler(EOJLabHandler):
    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        self.write_json({"exchange": await self.services.jobs.store.exchange(job_id)})


class JobResultHandler(EOJLabHandler):
    """``GET jobs/{jid}/results/{output_id}``: one result's content, for previews."""

    @tornado.web.authenticated
    async def get(self, job_id: str, output_id: str) -> None:
        content = await self.services.jobs.result(job_id, output_id)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=300")
        disposition = "attachment" if content.attachment else "inline"
        self.set_header("Content-Disposition", f'{disposition}; filename="{content.filename}"')
        self.finish(content.body, set_content_type=content.content_type)


class SandboxHandler(EOJLabHandler):
    """Base of the sandbox routes: the service must be a local sandbox."""

    def sandbox(self, service_id: str) -> SandboxService:
        service = self.services.processing.get(service_id)
        if not isinstance(service, SandboxService):
            raise BadRequest(
                f"The processing service {service_id!r} is not a local sandbox "
                f"(its protocol is {service.endpoint.protocol})."
            )
        return service


class SandboxStatusHandler(SandboxHandler):
    """``GET processing/{sid}/sandbox``: folder, running, processes, load errors."""

    @tornado.web.authenticated
    async def get(self, service_id: str) -> None:
        info = await self.sandbox(service_id).info()
        info["processes"] = [p.model_dump(mode="json") for p in info["processes"]]
        self.write_json(info)


class SandboxStartHandler(SandboxHandler):
    """``POST processing/{sid}/sandbox/start``: start the sandbox if it is not running."""

    @tornado.web.authenticated
    async def post(self, service_id: str) -> None:
        info = await self.sandbox(service_id).start()
        info["processes"] = [p.model_dump(mode="json") for p in info["processes"]]
        self.write_json(info)


class SandboxReloadHandler(SandboxHandler):
    """``POST processing/{sid}/reload``: restart the sandbox, pick up changed files."""

    @tornado.web.authenticated
    async def post(self, service_id: str) -> None:
        answer = await self.sandbox(service_id).reload()
        answer["processes"] = [p.model_dump(mode="json") for p in answer["processes"]]
        self.write_json(answer)


class SandboxLogHandler(SandboxHandler):
    """``GET processing/{sid}/log?tail=N``: the end of the sandbox log."""

    @tornado.web.authenticated
    async def get(self, service_id: str) -> None:
        text = self.get_query_argument("tail", "200")
        if not text.isdigit() or int(text) < 1:
            raise BadRequest("tail must be a positive number of lines.")
        self.write_json({"log": await self.sandbox(service_id).log(int(text))})


class SharingHandler(EOJLabHandler):
    """Base of the sharing routes: the caller's ``Sharing`` (400 when sharing is off)."""

    def sharing(self) -> Sharing:
        name = self.user_name()
        if self.services.config.share_service_url and os.environ.get("JUPYTERHUB_USER"):
            # The share service acts as this server's owner (its token is the owner's): give
            # the factory who is really asking, so that a visitor (an admin, a user the
            # server is shared with) is refused instead of acting in the owner's name.
            name = getattr(self.current_user, "username", None) or name
        sharing = make_sharing(self.services.config, name, self.contents_manager.root_dir)
        if sharing is None:
            raise sharing_off()
        return sharing


class SharesHandler(SharingHandler):
    """``GET shares?scope=with-me|by-me|public``; ``POST shares`` -> 201 Share."""

    @tornado.web.authenticated
    async def get(self) -> None:
        scope = self.get_query_argument("scope", "with-me")
        self.write_json({"shares": await self.sharing().list(scope)})

    @tornado.web.authenticated
    async def post(self) -> None:
        sharing = self.sharing()
        request = self.parse_body(CreateShareRequest)
        share = await sharing.create(request.path, request.recipients.model_dump(), request.message)
        self.set_header("Location", url_path_join(self.base_url, "eo-jlab", "shares", share["id"]))
        self.write_json(share, 201)


class ShareNamesHandler(SharingHandler):
    """``GET shares/users`` and ``GET shares/groups`` (addition): names for the recipient
    picker, in hub mode when the hub lets the share service list them (403 otherwise); a
    single server has no directory of users (400)."""

    @tornado.web.authenticated
    async def get(self, what: str) -> None:
        sharing = self.sharing()
        lister = getattr(sharing, what, None)
        if lister is None:
            raise BadRequest(
                "This server shares through its local store: it has no list of users or "
                "groups; type the names."
            )
        self.write_json({what: sorted(await lister())})


class ShareHandler(SharingHandler):
    @tornado.web.authenticated
    async def get(self, share_id: str) -> None:
        self.write_json(await self.sharing().get(share_id))

    @tornado.web.authenticated
    async def delete(self, share_id: str) -> None:
        await self.sharing().delete(share_id)
        self.set_status(204)
        self.finish()


class ShareVersionsHandler(SharingHandler):
    @tornado.web.authenticated
    async def post(self, share_id: str) -> None:
        sharing = self.sharing()
        request = self.parse_body(NewVersionRequest)
        self.write_json(
            await sharing.new_version(share_id, request.message, path=request.path), 201
        )


class ShareCopyHandler(SharingHandler):
    @tornado.web.authenticated
    async def post(self, share_id: str) -> None:
        sharing = self.sharing()
        request = self.parse_body(CopyRequest)
        self.write_json({"path": await sharing.copy(share_id, request.destination)})


class ShareFileHandler(SharingHandler):
    """``GET shares/{sid}/files/{path}``: one shared file, read-only, streamed."""

    @tornado.web.authenticated
    async def get(self, share_id: str, file_path: str) -> None:
        content, _ = await self.sharing().read_file(share_id, file_path)
        name = file_path.rsplit("/", 1)[-1]
        kind, attachment = content_type(name)
        safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in name)[:200] or "file"
        self.set_header("Content-Type", kind)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox")
        self.set_header("Cache-Control", "private, no-cache")
        disposition = "attachment" if attachment else "inline"
        self.set_header("Content-Disposition", f'{disposition}; filename="{safe}"')
        if isinstance(content, bytes):
            self.finish(content, set_content_type=kind)  # APIHandler.finish would say JSON
            return
        loop = asyncio.get_running_loop()
        with await loop.run_in_executor(None, open, content, "rb") as f:
            while chunk := await loop.run_in_executor(None, f.read, 1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type=kind)


class UnknownRouteHandler(EOJLabHandler):
    """Any other path under eo-jlab/: a contract-shaped 404 instead of an HTML page."""

    def _not_found(self, *args: Any) -> None:
        self.write_json(
            {"error": f"There is no eo-jlab route {self.request.path!r}.", "details": {}}, 404
        )

    @tornado.web.authenticated
    def get(self, *args: Any) -> None:
        self._not_found()

    @tornado.web.authenticated
    def post(self, *args: Any) -> None:
        self._not_found()

    @tornado.web.authenticated
    def put(self, *args: Any) -> None:
        self._not_found()

    @tornado.web.authenticated
    def patch(self, *args: Any) -> None:
        self._not_found()

    @tornado.web.authenticated
    def delete(self, *args: Any) -> None:
        self._not_found()


# (pattern under base_url, handler). Keep UnknownRouteHandler last.
HANDLERS = [
    (r"/eo-jlab/config", ConfigHandler),
    (r"/eo-jlab/catalogues", CataloguesHandler),
    (r"/eo-jlab/processing", ProcessingServicesHandler),
    (rf"/eo-jlab/endpoints/{ID}/probe", EndpointProbeHandler),
    (rf"/eo-jlab/catalogues/{CID}/collections", CollectionsHandler),
    (rf"/eo-jlab/catalogues/{CID}/collections/(?P<collection>[^/]+)/queryables", QueryablesHandler),
    (rf"/eo-jlab/catalogues/{CID}/search", SearchHandler),
    (rf"/eo-jlab/catalogues/{CID}/items/(?P<item_id>[^/]+)", ItemHandler),
    (rf"/eo-jlab/catalogues/{CID}/quicklook", QuicklookHandler),
    (r"/eo-jlab/snippets", SnippetsHandler),
    (rf"/eo-jlab/processing/{SID}/processes", ProcessesHandler),
    (rf"/eo-jlab/processing/{SID}/processes/{PID}", ProcessHandler),
    (rf"/eo-jlab/processing/{SID}/processes/{PID}/execution", ExecutionHandler),
    (rf"/eo-jlab/processing/{SID}/sandbox", SandboxStatusHandler),
    (rf"/eo-jlab/processing/{SID}/sandbox/start", SandboxStartHandler),
    (rf"/eo-jlab/processing/{SID}/reload", SandboxReloadHandler),
    (rf"/eo-jlab/processing/{SID}/log", SandboxLogHandler),
    (r"/eo-jlab/jobs", JobsHandler),
    (rf"/eo-jlab/jobs/{JID}", JobHandler),
    (rf"/eo-jlab/jobs/{JID}/exchange", JobExchangeHandler),
    (rf"/eo-jlab/jobs/{JID}/results/(?P<output_id>[^/]+)", JobResultHandler),
    (r"/eo-jlab/shares", SharesHandler),
    (r"/eo-jlab/shares/(?P<what>users|groups)", ShareNamesHandler),
    (rf"/eo-jlab/shares/{SHID}", ShareHandler),
    (rf"/eo-jlab/shares/{SHID}/versions", ShareVersionsHandler),
    (rf"/eo-jlab/shares/{SHID}/copy", ShareCopyHandler),
    (rf"/eo-jlab/shares/{SHID}/files/(?P<file_path>.+)", ShareFileHandler),
    (r"/eo-jlab/(.*)", UnknownRouteHandler),
]
