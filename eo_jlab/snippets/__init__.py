"""Code snippets for a catalogue item or search, a process execution or a job, per language
(python, r, shell) and flavour.

``portable`` snippets use only well-known libraries (pystac / pystac-client / OWSLib / requests;
httr + jsonlite + xml2; curl + jq + xmllint) and never eo_jlab, so a notebook runs on any
platform. ``widgets`` (python only) adds a map of the footprints through
``eo_jlab.widgets.show_items`` (items, searches), a progress bar (process executions) or follows
an eo-jlab job live with ``eo_jlab.widgets.JobProgress`` (jobs).

Process and job targets need what only the server has at hand (the WPS process description, the
job store's record): ``prepare_and_generate`` fetches them (asynchronously) and calls
``generate``.

Every value from the item or the request reaches the code through ``quoting`` (the language's
own string escaping), never through comments or code text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..catalogue.base import SearchRequest
from ..errors import BadRequest, NotFound
from ..processing.base import ExecutionRequest
from .plan import ItemPlan, SearchPlan, item_plan, search_plan
from .processing import (
    ProcessPlan,
    Sandbox,
    connection_path,
    endpoint_of,
    job_plan,
    ogcapi_plan,
    wps_plan,
)

if TYPE_CHECKING:
    from ..app import Services
    from ..processing.base import ProcessDescription
    from ..processing.jobs import Job

LANGUAGES = ("python", "r", "shell")
FLAVOURS = ("portable", "widgets")
TARGET_KINDS = ("item", "search", "process", "job")

__all__ = [
    "LANGUAGES",
    "FLAVOURS",
    "Snippet",
    "SnippetRequest",
    "generate",
    "prepare_and_generate",
]


class ItemTarget(BaseModel):
    kind: str
    catalogue: str = Field(min_length=1, max_length=200)
    item: dict[str, Any]

    @field_validator("item")
    @classmethod
    def _item(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("id"), str) or not value["id"]:
            raise ValueError("the item must have a non-empty string id")
        return value


class SearchTarget(BaseModel):
    kind: str
    catalogue: str = Field(min_length=1, max_length=200)
    request: SearchRequest = Field(default_factory=SearchRequest)


class ProcessTarget(BaseModel):
    kind: str
    service: str = Field(min_length=1, max_length=200)
    process: str = Field(min_length=1, max_length=1000)
    request: ExecutionRequest = Field(default_factory=ExecutionRequest)


class JobTarget(BaseModel):
    kind: str
    job: str = Field(min_length=1, max_length=200)


class SnippetRequest(BaseModel):
    """``POST snippets`` (DESIGN.md)."""

    model_config = ConfigDict(extra="forbid")
    target: ItemTarget | SearchTarget | ProcessTarget | JobTarget
    language: str
    flavour: str = "portable"

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("target must be an object with a 'kind'")
        kind = value.get("kind")
        if kind == "item":
            return ItemTarget.model_validate(value)
        if kind == "search":
            return SearchTarget.model_validate(value)
        if kind == "process":
            return ProcessTarget.model_validate(value)
        if kind == "job":
            return JobTarget.model_validate(value)
        raise ValueError(f"target kind must be one of {', '.join(TARGET_KINDS)}, not {kind!r}")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {value!r}")
        return value

    @field_validator("flavour")
    @classmethod
    def _flavour(cls, value: str) -> str:
        if value not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, not {value!r}")
        return value


class Snippet(BaseModel):
    code: str
    language: str
    requires: list[str]


def _module(language: str):
    if language == "python":
        from . import python as module
    elif language == "r":
        from . import r as module
    else:
        from . import shell as module
    return module


def _processing_module(language: str):
    if language == "python":
        from . import processing_python as module
    elif language == "r":
        from . import processing_r as module
    else:
        from . import processing_shell as module
    return module


def generate(
    request: SnippetRequest,
    services: Services | None = None,
    *,
    description: ProcessDescription | None = None,
    job: Job | None = None,
    sandbox: Sandbox | None = None,
) -> Snippet:
    """The code for ``request``. Search, process and job targets need ``services`` (the
    endpoints' configuration); a WPS process target also the process ``description`` and a job
    target the ``job`` record (``prepare_and_generate`` fetches both). Nothing is fetched here."""
    if request.flavour == "widgets" and request.language != "python":
        raise BadRequest(
            "The widgets flavour exists for python only; use the portable flavour for "
            f"{request.language}."
        )
    widgets = request.flavour == "widgets"
    target = request.target
    if isinstance(target, (ProcessTarget, JobTarget)):
        if services is None:
            raise BadRequest("Process and job snippets need the processing configuration.")
        module = _processing_module(request.language)
        if isinstance(target, JobTarget):
            if job is None or job.id != target.job:
                raise BadRequest("Job snippets need the job's record from the job store.")
            code, requires = module.render_job(job_plan(services, job, sandbox), widgets)
        else:
            code, requires = module.render_process(
                _process_plan(target, services, description, sandbox), widgets
            )
        return Snippet(code=code, language=request.language, requires=requires)
    plan: ItemPlan | SearchPlan
    if isinstance(target, ItemTarget):
        plan = item_plan(target.item)
    else:
        if services is None:
            raise BadRequest("Search snippets need the catalogue configuration.")
        # The endpoint's configuration only: no adapter is built, nothing is fetched.
        endpoint = next(
            (e for e in services.endpoints.catalogues if e.id == target.catalogue), None
        )
        if endpoint is None:
            raise NotFound(f"No catalogue is configured with the id {target.catalogue!r}.")
        plan = search_plan(endpoint, target.request)
    code, requires = _module(request.language).render(plan, widgets=widgets)
    return Snippet(code=code, language=request.language, requires=requires)


def _process_plan(
    target: ProcessTarget,
    services: Services,
    description: ProcessDescription | None,
    sandbox: Sandbox | None = None,
) -> ProcessPlan:
    endpoint = sandbox.endpoint if sandbox else endpoint_of(services, target.service)
    if endpoint.protocol == "ogcapi":
        return ogcapi_plan(endpoint, target.process, target.request)
    if description is None or description.id != target.process:
        raise BadRequest("WPS process snippets need the process description.")
    adapter = sandbox.wps if sandbox else services.processing.get(target.service)
    plan = wps_plan(endpoint, adapter, description, target.request)
    plan.sandbox = sandbox.connection if sandbox else None
    return plan


async def prepare_and_generate(request: SnippetRequest, services: Services) -> Snippet:
    """``POST snippets``: what a target needs from the server, then ``generate``. A job target
    reads the job store; a WPS process target asks the adapter for the process description
    (the one its execution would use: cached once described, as the execution form does)."""
    target = request.target
    if isinstance(target, JobTarget):
        job = await services.jobs.store.get(target.job)
        sandbox = await _sandbox(services, job.service)
        return generate(request, services, job=job, sandbox=sandbox)
    if isinstance(target, ProcessTarget):
        sandbox = await _sandbox(services, target.service)
        if sandbox is not None:
            description = await sandbox.wps.describe(target.process)
            return generate(request, services, description=description, sandbox=sandbox)
        endpoint = endpoint_of(services, target.service)
        if endpoint.protocol == "wps":
            adapter = services.processing.get(target.service)
            description = await adapter.describe(target.process)
            return generate(request, services, description=description)
    return generate(request, services)


async def _sandbox(services: Services, service_id: str) -> Sandbox | None:
    """For the local sandbox: its PyWPS as a plain WPS endpoint at the address it serves now,
    and its connection file (generated code reads the address and token there), else None."""
    endpoint = next((e for e in services.endpoints.processing if e.id == service_id), None)
    if endpoint is None or endpoint.protocol != "sandbox":
        return None
    adapter = services.processing.get(service_id)
    wps, url = await adapter.wps()
    return Sandbox(
        endpoint=endpoint.model_copy(update={"protocol": "wps", "url": url}),
        wps=wps,
        local_url=lambda href: adapter.local_url(href, url.rsplit("/", 1)[0]),
        connection=connection_path(adapter.connection_path),
    )
