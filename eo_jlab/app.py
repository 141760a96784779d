"""``EOJLabApp``: the jupyter-server extension, its ``EOJLab`` configuration and handler table."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from pydantic import ValidationError
from tornado.ioloop import IOLoop
from traitlets import Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from . import __version__, handlers
from .catalogue import CatalogueRegistry
from .catalogue.static import IndexLimits
from .endpoints import EndpointRegistry
from .models import CatalogueEndpoint, ProcessingEndpoint, describe_validation_error
from .net import HostPolicy, HostRule, HttpClient
from .processing import Jobs, ProcessingRegistry
from .processing.jobs import JobStore
from .sharing import QUOTA_ENV
from .sharing.store import ShareLimits

FREEZE_AFTER = 3.0  # seconds after the server started: the other extensions' start-up tasks ran
JOB_EVENT_SCHEMA = Path(__file__).parent / "events" / "job.yaml"


class EOJLab(Configurable):
    """Operator configuration of eo_jlab (``c.EOJLab.*``). See docs/configuration.md."""

    catalogues = List(
        help="""Data catalogues shown in the Search section: a list of
        {"id", "title", "protocol": "stac"|"opensearch"|"csw"|"static", "url", "auth"?}.
        For opensearch the url is the description document; for static, a path or URL of a
        STAC catalog.json.""",
    ).tag(config=True)

    processing = List(
        help="""Processing services shown in the Processes section: a list of
        {"id", "title", "protocol": "wps"|"ogcapi"|"sandbox", "url", "auth"?}.""",
    ).tag(config=True)

    allowed_hosts = List(
        Unicode(),
        help="""Extra hosts the server may fetch from besides the configured endpoints (status
        documents, result links, assets): "host", "host:port", "*.domain.tld". Link-local and
        cloud metadata addresses are refused whatever this says.""",
    ).tag(config=True)

    request_timeout = Float(
        30.0, help="Seconds one upstream request may take, from connecting to its last byte."
    ).tag(config=True)

    max_response_bytes = Int(
        50_000_000, help="Largest upstream answer eo_jlab reads, in bytes; larger ones are refused."
    ).tag(config=True)

    max_connections_per_host = Int(
        20,
        help="""Upstream requests under way at once to one origin (scheme, host, port), out of
        a shared pool of 100 connections: one slow service cannot take them all. A request
        waiting for a slot counts against its request_timeout. 1 to 100.""",
    ).tag(config=True)

    @validate("max_connections_per_host")
    def _valid_per_host(self, proposal: dict[str, Any]) -> int:
        if not 1 <= proposal["value"] <= 100:
            raise TraitError("EOJLab.max_connections_per_host must be between 1 and 100")
        return proposal["value"]

    shared_root = Unicode(
        "",
        help="""Folder of the local share store (single-user servers and the demo). Empty:
        sharing is off unless share_service_url is set.""",
    ).tag(config=True)

    share_service_url = Unicode(
        "",
        help="""URL of the eo-jlab share service registered with JupyterHub (hub mode). When set,
        it takes precedence over shared_root.""",
    ).tag(config=True)

    share_quota_bytes = Int(
        help=f"""Local sharing: bytes one user's shares may take over all their versions, each
        file counting its size plus 4 KiB (so empty files are not free). 0: no limit. Default
        10 GiB, or ${QUOTA_ENV} when set. Over it: 409. (Hub mode: the share service's
        --quota-bytes.)""",
    ).tag(config=True)

    share_max_bytes = Int(
        ShareLimits.share_bytes,
        help="""Local sharing: bytes of content one share (one version) may hold, uncompressed.
        0: no limit. Default 2 GiB. Over it: 400. (Hub mode: --share-max-bytes.)""",
    ).tag(config=True)

    share_max_files = Int(
        ShareLimits.share_files,
        help="""Local sharing: files and folders one share (one version) may hold. 0: no limit.
        Default 10,000. Over it: 400. (Hub mode: --share-max-files.)""",
    ).tag(config=True)

    share_max_manifest_bytes = Int(
        ShareLimits.manifest_bytes,
        help="""Local sharing: bytes of one share's manifest.json (its files' paths and
        checksums, every version). 0: no limit. Default 16 MiB. Over it: 400. (Hub mode:
        --share-max-manifest-bytes.)""",
    ).tag(config=True)

    share_max_per_user = Int(
        ShareLimits.shares_per_user,
        help="""Local sharing: shares one user may own. 0: no limit. Default 200. Over it: 409.
        (Hub mode: --share-max-per-user.)""",
    ).tag(config=True)

    @default("share_quota_bytes")
    def _default_quota(self) -> int:
        raw = os.environ.get(QUOTA_ENV, "").strip()
        return int(raw) if raw.isdigit() else ShareLimits.quota_bytes

    @validate(
        "share_quota_bytes", "share_max_bytes", "share_max_files", "share_max_manifest_bytes",
        "share_max_per_user",
    )  # fmt: skip
    def _valid_share_limit(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 0:
            raise TraitError(f"EOJLab.{proposal['trait'].name} must be 0 (no limit) or more")
        return proposal["value"]

    @property
    def share_limits(self) -> ShareLimits:
        return ShareLimits(
            share_bytes=self.share_max_bytes,
            share_files=self.share_max_files,
            manifest_bytes=self.share_max_manifest_bytes,
            shares_per_user=self.share_max_per_user,
            quota_bytes=self.share_quota_bytes,
        )

    sandbox_dir = Unicode(
        "",
        help="""Folder of the user's PyWPS process files served by the local sandbox (processing
        endpoints with protocol "sandbox"; needs eo-jlab[sandbox]). Each *.py file not starting
        with "_" offers a module-level `processes` list of pywps.Process instances, or
        pywps.Process subclasses that take no arguments.""",
    ).tag(config=True)

    static_index_max_documents = Int(
        IndexLimits.documents,
        help="""Static catalogues: documents one walk of a catalogue reads (catalogues,
        collections, items; each feature of a FeatureCollection counts as one). Past it the
        walk stops, searches answer from what was indexed and the endpoint probe says so.""",
    ).tag(config=True)

    static_index_max_bytes = Int(
        IndexLimits.bytes,
        help="""Static catalogues: bytes of documents one walk of a catalogue reads. Past it
        the walk stops, searches answer from what was indexed and the endpoint probe says so.""",
    ).tag(config=True)

    static_index_max_seconds = Float(
        IndexLimits.seconds,
        help="""Static catalogues: seconds one walk of a catalogue may take (the first search
        waits for it; later re-indexing of a remote catalogue runs in the background). Past it
        the walk stops, searches answer from what was indexed and the endpoint probe says so.""",
    ).tag(config=True)

    @validate("static_index_max_documents", "static_index_max_bytes", "static_index_max_seconds")
    def _valid_index_limit(self, proposal: dict[str, Any]) -> int | float:
        if not proposal["value"] > 0:
            raise TraitError(f"EOJLab.{proposal['trait'].name} must be more than 0")
        return proposal["value"]

    @property
    def static_index_limits(self) -> IndexLimits:
        return IndexLimits(
            documents=self.static_index_max_documents,
            bytes=self.static_index_max_bytes,
            seconds=self.static_index_max_seconds,
        )

    @validate("catalogues")
    def _valid_catalogues(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        return _validated(proposal["value"], CatalogueEndpoint, "catalogues")

    @validate("processing")
    def _valid_processing(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        return _validated(proposal["value"], ProcessingEndpoint, "processing")

    @validate("allowed_hosts")
    def _valid_hosts(self, proposal: dict[str, Any]) -> list[str]:
        for entry in proposal["value"]:
            try:
                HostRule.parse(entry)
            except ValueError as exc:
                raise TraitError(f"EOJLab.allowed_hosts: {exc}") from None
        return proposal["value"]

    @validate("request_timeout")
    def _valid_timeout(self, proposal: dict[str, Any]) -> float:
        if not 0 < proposal["value"] <= 3600:
            raise TraitError("EOJLab.request_timeout must be between 0 and 3600 seconds")
        return proposal["value"]

    @validate("max_response_bytes")
    def _valid_max_bytes(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 1024:
            raise TraitError("EOJLab.max_response_bytes must be at least 1024")
        return proposal["value"]

    @property
    def sharing(self) -> dict[str, Any]:
        if self.share_service_url:
            return {"enabled": True, "mode": "hub"}
        return {"enabled": bool(self.shared_root), "mode": "local"}


def _validated(value: list, model: type, trait: str) -> list[dict[str, Any]]:
    out = []
    for index, entry in enumerate(value):
        try:
            out.append(model.model_validate(entry).model_dump(exclude_none=True))
        except ValidationError as exc:
            raise TraitError(f"EOJLab.{trait}[{index}]: {describe_validation_error(exc)}") from None
    ids = [e["id"] for e in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise TraitError(f"EOJLab.{trait}: endpoint ids must be unique, {dupes} repeat")
    return out


class Services:
    """What handlers use: built once per server from the configuration."""

    def __init__(self, config: EOJLab, event_logger: Any = None):
        self.config = config
        self.endpoints = EndpointRegistry(
            [CatalogueEndpoint.model_validate(e) for e in config.catalogues],
            [ProcessingEndpoint.model_validate(e) for e in config.processing],
            sandbox_dir=config.sandbox_dir,
        )
        self.http = HttpClient(
            HostPolicy(self.endpoints.all(), config.allowed_hosts),
            timeout=config.request_timeout,
            max_bytes=config.max_response_bytes,
            endpoints=self.endpoints.all(),
            per_host=config.max_connections_per_host,
        )
        self.catalogues = CatalogueRegistry(
            self.endpoints.catalogues, self.http, static_limits=config.static_index_limits
        )
        self.processing = ProcessingRegistry(
            self.endpoints.processing, self.http, sandbox_dir=config.sandbox_dir,
            sandbox_state=Path(jupyter_data_dir()) / "eo_jlab" / "sandbox",
        )  # fmt: skip
        self.jobs = Jobs(
            self.processing, JobStore(Path(jupyter_data_dir()) / "eo_jlab" / "jobs.sqlite"),
            event_logger,
        )  # fmt: skip

    async def close(self) -> None:
        await self.jobs.stop()
        await self.processing.close()  # stops the sandbox children
        await self.http.aclose()


class EOJLabApp(ExtensionApp):
    """The eo_jlab server extension."""

    name = "eo_jlab"
    version = __version__
    description = "Earth Observation catalogues, processing services and sharing for JupyterLab"
    load_other_extensions = True
    classes = [EOJLab]
    handlers = handlers.HANDLERS

    def initialize_settings(self) -> None:
        config = EOJLab(parent=self)
        event_logger = self.serverapp.event_logger
        event_logger.register_event_schema(JOB_EVENT_SCHEMA)
        self.services = Services(config, event_logger)
        self.settings.update({"eo_jlab_services": self.services})
        # jupyter-server's access log scrubs ?token= and friends; a quicklook's ?href= may be
        # a presigned URL (its signature in the query): scrubbed too.
        scrubbed = list(self.settings.get("extra_log_scrub_param_keys") or [])
        self.settings["extra_log_scrub_param_keys"] = [*scrubbed, "href"]
        endpoints = ", ".join(f"{e.id} ({e.protocol})" for e in self.services.endpoints.all())
        self.log.info("eo_jlab %s: endpoints: %s", __version__, endpoints or "none configured")
        if config.share_service_url:
            self.log.info("eo_jlab: sharing through the hub service %s", config.share_service_url)
        elif config.shared_root:
            # The store itself is made on first use (eo_jlab.sharing.local_store).
            self.log.info("eo_jlab: sharing with the local store in %s", config.shared_root)
        # Unfinished jobs of earlier runs are followed again as soon as the loop runs.
        IOLoop.current().add_callback(self._resume_jobs)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Once the server has started, its start-up heap is frozen (gc.freeze): the objects
        # every extension built while loading stay alive for the server's whole life, and
        # the garbage collector's full passes, which bursts of search pages trigger, would
        # otherwise walk all of them with the event loop stopped (bench/event_loop.py:
        # ~120 ms per pass, busy/idle p99 of GET /api/status 21-40 without it).
        # EO_JLAB_GC_FREEZE=0 leaves the collector alone.
        if os.environ.get("EO_JLAB_GC_FREEZE", "1") != "0":
            IOLoop.current().call_later(FREEZE_AFTER, self._freeze_startup_heap)

    def _freeze_startup_heap(self) -> None:
        gc.collect()
        gc.freeze()
        self.log.info("eo_jlab: start-up heap frozen for the garbage collector (%d objects)",
                      gc.get_freeze_count())  # fmt: skip

    async def _resume_jobs(self) -> None:
        count = await self.services.jobs.start()
        if count:
            self.log.info("eo_jlab: following %d unfinished job(s) again", count)

    async def stop_extension(self) -> None:
        await self.services.close()
