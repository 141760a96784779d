"""Processing services (OGC WPS, OGC API - Processes, the local sandbox) and their jobs."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import BadRequest, Conflict, EOJLabError, NotFound, UpstreamError
from ..models import ProcessingEndpoint
from ..net import HttpClient
from ..proxied import JSON_TYPES, OCTET_TYPES, header_media_type, media_type, result_type
from .base import Exchange, ExecutionRequest, ProcessingService, Result
from .jobs import Job, JobStore
from .monitor import JobMonitor

__all__ = ["Jobs", "ProcessingRegistry", "ResultContent"]

JOB_SCHEMA_ID = "https://events.eo-jlab.dev/eo_jlab/job"
log = logging.getLogger(__name__)


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
        try:
            remote = await service.submit(process_id, request, exchange)
        except EOJLabError:
            raise
        except Exception as exc:  # what an answer provoked that no adapter expected
            log.exception("eo_jlab %s: unexpected error while submitting", service_id)
            raise UpstreamError(
                f"eo-jlab could not read the answer of the service {service_id!r} "
                f"({type(exc).__name__}); the server log has the details.",
                {"service": service_id},
            ) from None
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
        deadline); a sandbox job's result is read from the sandbox's outputs folder instead
        (``SandboxService.read_output``: a GET starts no sandbox). An inline ``value`` is
        answered as JSON. Only types a browser shows safely keep their type.
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
            try:
                service = self.registry.get(job.service)
            except (NotFound, BadRequest):
                service = None
            read_output = getattr(service, "read_output", None)
            local = None
            if read_output is not None:
                local = await read_output(found.href, self.registry.http.max_bytes)
            if local is not None:
                body, declared = local
            else:
                response = await self.registry.http.get(found.href)
                body = response.content
                declared = header_media_type(response.headers.get_list("content-type"))
            if declared in OCTET_TYPES:  # no type said: the one the job's document gave
                declared = media_type(found.mime_type) or declared
            return _safe_content(body, declared, output_id, found.href)
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


def _safe_content(body: bytes, mime_type: str | None, output_id: str, href: str) -> ResultContent:
    """Sent with the fixed type ``proxied.result_type`` chooses (never HTML, SVG or script
    under the Jupyter origin; ``mime_type`` None is an unreadable type: a download)."""
    served = result_type(mime_type)
    return ResultContent(body, served.content_type, _filename(href, output_id), served.attachment)


def _filename(href: str, output_id: str) -> str:
    last = unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]", "_", last or output_id).strip("._") or "result"
    return name[:100]


def _json_bytes(result: Result) -> bytes:
    value = result.value
    if isinstance(value, str) and media_type(result.mime_type) in JSON_TYPES:
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return json.dumps(value).encode("utf-8")
