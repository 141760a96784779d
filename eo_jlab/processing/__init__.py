"""Processing services (OGC WPS, OGC API - Processes, the local sandbox) and their jobs."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest, NotFound
from ..models import ProcessingEndpoint
from ..net import HttpClient
from .base import Exchange, ExecutionRequest, ProcessingService
from .jobs import Job, JobStore
from .monitor import JobMonitor

__all__ = ["Jobs", "ProcessingRegistry"]

JOB_SCHEMA_ID = "https://events.eo-jlab.dev/eo_jlab/job"


class ProcessingRegistry:
    """The adapters of the configured processing services, built once per server."""

    def __init__(self, endpoints: list[ProcessingEndpoint], http: HttpClient):
        self._endpoints = {e.id: e for e in endpoints}
        self._adapters: dict[str, ProcessingService] = {}
        self.http = http

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
        raise BadRequest(
            "The local PyWPS sandbox is not available in this version of eo-jlab yet; "
            "WPS and OGC API - Processes services are."
        )


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
