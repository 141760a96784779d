"""Processing services (OGC WPS, OGC API - Processes, the local sandbox) and their jobs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import BadRequest, Conflict, NotFound
from ..models import ProcessingEndpoint
from ..net import HttpClient
from .base import Exchange, ExecutionRequest, ProcessingService, Result
from .jobs import Job, JobStore
from .monitor import JobMonitor

__all__ = ["Jobs", "ProcessingRegistry", "ResultContent"]

JOB_SCHEMA_ID = "https://events.eo-jlab.dev/eo_jlab/job"


class ProcessingRegistry:
    """The adapters of the configured processing services, built once per server."""

    def __init__(
        self,
        endpoints: list[ProcessingEndpoint],
        http: HttpClient,
        *,
        sandbox_dir: str = "",
        sandbox_state: Path | None = None,
    ):
        self._endpoints = {e.id: e for e in endpoints}
        self._adapters: dict[str, ProcessingService] = {}
        self.http = http
        self.sandbox_dir = sandbox_dir
        self.sandbox_state = sandbox_state

    async def close(self) -> None:
        """Stop what adapters run (the sandbox children); at server shutdown."""
        for adapter in list(self._adapters.values()):
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()

    def get(self, service_id: str) -> ProcessingService:
        endpoint = self._endpoints.get(service_id)
        if endpoint is None:
            raise NotFound(f"No processing service is configured with the id {service_id!r}.")
        adapter = self._adapters.get(service_id)
        if adapter is None:
            adapter = self._adapters[service_id] = self._make(endpoint)
        return adapter

    def _make(self, endpoint: ProcessingEndpoint) -> ProcessingService:
        if endpoint.protocol == "wps":
            from .wps import WpsService

            return WpsService(endpoint, self.http)
        if endpoint.protocol == "ogcapi":
            from .ogcapi import OgcApiService

            return OgcApiService(endpoint, self.http)
        if endpoint.protocol == "sandbox":
            from .sandbox import SandboxService

            if not self.sandbox_dir:
                raise BadRequest(
                    "The local sandbox has no folder: an operator sets c.EOJLab.sandbox_dir to "
                    "a folder of PyWPS process files."
                )
            if self.sandbox_state is None:
                from jupyter_core.paths import jupyter_data_dir

                self.sandbox_state = Path(jupyter_data_dir()) / "eo_jlab" / "sandbox"
            return SandboxService(
                endpoint, self.http, self.sandbox_dir, self.sandbox_state / endpoint.id
            )
        raise BadRequest(f"Unknown processing protocol {endpoint.protocol!r}.")


class Jobs:
    """Submitting, listing, following and dismissing jobs: the store, the monitor, events."""

    def __init__(self, registry: ProcessingRegistry, store: JobStore, event_logger: Any = None):
        self.registry = registry
        self.store = store
        self.event_logger = event_logger
        self.monitor = JobMonitor(store, registry.get, self.announce)

    async def start(self) -> int:
        return await self.monitor.start()

    async def stop(self) -> None:
        await self.monitor.stop()
        self.store.close()

    async def execute(self, service_id: str, process_id: str, request: ExecutionRequest) -> Job:
        service = self.registry.get(service_id)
        exchange: list[Exchange] = []
        remote = await service.submit(process_id, request, exchange)
        job = await self.store.create(service_id, process_id, request.inputs, remote, exchange)
        await self.announce(job)
        self.monitor.watch(job)
        return job

    async def dismiss(self, job_id: str) -> Job:
        job = await self.store.get(job_id)
        if job.final:
            return job
        self.monitor.forget(job_id)
        exchange: list[Exchange] = []
        note = "Dismissed."
        try:
            if await self.registry.get(job.service).dismiss(job.remote_job(), exchange):
                note = "Dismissed; the service was asked to stop it."
            else:
                note = "Dismissed here; the service offers no way to stop it."
        except Exception as exc:  # best effort: the job is dismissed here whatever happens
            note = f"Dismissed here; the service could not be told ({_sentence(exc)})."
        if exchange:
            await self.store.update(job_id, job.remote_job(), exchange)
        job = await self.store.mark(job_id, "dismissed", note)
        await self.announce(job)
        return job

    async def result(self, job_id: str, output_id: str) -> ResultContent:
        """The content of one result of a successful job, for the browser to preview.

        A ``href`` result is fetched through the guarded HTTP client (allow-list, size cap,
        deadline; a sandbox job's href is first moved to the running sandbox); an inline
        ``value`` is answered as JSON. Only types a browser shows safely keep their type.
        """
        job = await self.store.get(job_id)
        if job.status != "successful":
            raise Conflict(
                f"The job is {job.status}: only a successful job has results to show.",
                {"status": job.status},
            )
        found = next((r for r in job.results if r.id == output_id), None)
        if found is None:
            raise NotFound(f"The job has no result {output_id!r}.")
        if found.href:
            href = found.href
            try:
                service = self.registry.get(job.service)
            except (NotFound, BadRequest):
                service = None
            resolve = getattr(service, "resolve_href", None)
            if resolve is not None:
                href = await resolve(href)
            response = await self.registry.http.get(href)
            declared = response.content_type
            if declared in ("", "application/octet-stream", "binary/octet-stream"):
                declared = (found.mime_type or declared).split(";")[0].strip().lower()
            return _safe_content(response.content, declared, output_id, href)
        if found.value is None:
            raise NotFound(f"The result {output_id!r} of this job has no content.")
        return ResultContent(_json_bytes(found), "application/json", output_id, False)

    async def announce(self, job: Job) -> None:
        if self.event_logger is None:
            return
        self.event_logger.emit(
            schema_id=JOB_SCHEMA_ID,
            data={
                "job_id": job.id, "service": job.service, "process": job.process,
                "status": job.status, "progress": job.progress, "message": job.message,
                "updated": job.updated,
            },
        )  # fmt: skip


def _sentence(exc: Exception) -> str:
    return getattr(exc, "message", None) or type(exc).__name__


@dataclass
class ResultContent:
    """What ``GET jobs/{jid}/results/{output_id}`` answers: bytes and the type to send."""

    body: bytes
    content_type: str
    filename: str
    attachment: bool


_INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"}
_JSON_TYPES = {"application/json", "application/geo+json", "application/vnd.geo+json"}
_XML_TYPES = {"application/xml", "text/xml", "application/gml+xml"}


def _safe_content(body: bytes, mime_type: str, output_id: str, href: str) -> ResultContent:
    """Pass through only types a browser renders harmlessly; XML as text, the rest as a
    download (never HTML, SVG or script under the Jupyter origin)."""
    name = _filename(href, output_id)
    if mime_type in _INLINE_IMAGES:
        return ResultContent(body, mime_type, name, False)
    if mime_type == "image/tiff":
        return ResultContent(body, mime_type, name, True)
    if mime_type in _JSON_TYPES:
        return ResultContent(body, mime_type, name, False)
    if mime_type == "text/plain":
        return ResultContent(body, "text/plain; charset=utf-8", name, False)
    if mime_type in _XML_TYPES or (mime_type.endswith("+xml") and mime_type != "image/svg+xml"):
        return ResultContent(body, "text/plain; charset=utf-8", name, False)
    return ResultContent(body, "application/octet-stream", name, True)


def _filename(href: str, output_id: str) -> str:
    last = unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]", "_", last or output_id).strip("._") or "result"
    return name[:100]


def _json_bytes(result: Result) -> bytes:
    value = result.value
    if isinstance(value, str) and (result.mime_type or "").split(";")[0] in _JSON_TYPES:
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return json.dumps(value).encode("utf-8")
