"""The processing interface every protocol adapter implements, and the contract's models.

Adapters (wps.py, ogcapi.py, sandbox.py) turn a service's own documents into these models;
the job store and monitor (jobs.py) only ever see ``RemoteJob`` snapshots from ``submit`` and
``status``. Every upstream call goes through ``net.HttpClient``.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from ..models import ProcessingEndpoint

JobControl = Literal["sync", "async"]
JobStatus = Literal["accepted", "running", "successful", "failed", "dismissed"]
FINAL_STATUSES = ("successful", "failed", "dismissed")


_PERCENT = re.compile(r"[+-]?[0-9]{1,12}(\.[0-9]{0,12})?")


def percent(value: Any) -> int | None:
    """A job's progress as a service reported it (a number, or text such as WPS's
    ``percentCompleted``), as 0..100; None for anything that is not a finite number: NaN,
    ``1e999``, ``"abc"``, ``"²"``, a 5,000-digit string, a boolean. Never raises."""
    if isinstance(value, str):
        text = value.strip()
        if not _PERCENT.fullmatch(text):
            return None
        value = float(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(max(0, min(100, value)))


class ProcessSummary(BaseModel):
    """An entry of ``GET processing/{sid}/processes``.

    ``job_control`` empty means not yet known (a WPS list comes from the capabilities alone;
    the description says it). ``error`` is the sentence of a process the service could not
    describe; the key is left out when there is none."""

    id: str
    title: str = ""
    abstract: str = ""
    version: str | None = None
    job_control: list[JobControl] = Field(default_factory=lambda: ["sync"])
    error: str | None = None

    @model_serializer(mode="wrap")
    def _without_empty_error(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if data.get("error") is None:
            data.pop("error", None)
        return data


class Format(BaseModel):
    mime_type: str
    encoding: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    default: bool = False

    model_config = ConfigDict(populate_by_name=True)


class Range(BaseModel):
    min: float | int | str | None = None
    max: float | int | str | None = None
    step: float | int | str | None = None


class Input(BaseModel):
    """The contract's process ``Input``."""

    id: str
    title: str = ""
    abstract: str = ""
    kind: Literal["literal", "complex", "bbox"]
    data_type: str | None = None
    min_occurs: int = 1
    max_occurs: int | None = 1  # None = unbounded
    default: Any = None
    allowed_values: list[Any] = Field(default_factory=list)
    ranges: list[Range] = Field(default_factory=list)
    formats: list[Format] = Field(default_factory=list)
    crs: list[str] = Field(default_factory=list)


class Output(BaseModel):
    id: str
    title: str = ""
    abstract: str = ""
    kind: Literal["literal", "complex", "bbox"]
    formats: list[Format] = Field(default_factory=list)


class ProcessDescription(ProcessSummary):
    """``GET processing/{sid}/processes/{pid}``."""

    inputs: list[Input] = Field(default_factory=list)
    outputs: list[Output] = Field(default_factory=list)


class ExecutionRequest(BaseModel):
    """``POST processing/{sid}/processes/{pid}/execution`` body.

    An input value is a plain value, a list of values, ``{"href": url}``,
    ``{"value": .., "mime_type": ..}`` or ``{"bbox": [w, s, e, n], "crs": ..}``.
    """

    model_config = ConfigDict(extra="forbid")
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] | None = None
    mode: Literal["sync", "async", "auto"] = "auto"


class Result(BaseModel):
    """One output of a finished job: a reference (``href``) or an inline ``value``."""

    id: str
    href: str | None = None
    value: Any = None
    mime_type: str | None = None


class RemoteJob(BaseModel):
    """What an adapter knows of a job at one moment (from ``submit`` or ``status``)."""

    status: JobStatus
    progress: int | None = None
    message: str = ""
    status_url: str | None = None
    job_id: str | None = None
    results: list[Result] = Field(default_factory=list)
    error: str | None = None


class Exchange(BaseModel):
    """One raw request/response pair, for service providers (bounded by the caller)."""

    method: str
    url: str
    request_body: str | None = None
    status: int | None = None
    response_body: str | None = None


class ProcessingService(ABC):
    """One configured processing service. Adapters keep no per-job state in memory: a job's
    remote ids and URLs (in ``RemoteJob``) are all ``status``/``dismiss`` need, so jobs survive
    a server restart."""

    def __init__(self, endpoint: ProcessingEndpoint):
        self.endpoint = endpoint

    @abstractmethod
    async def processes(self) -> list[ProcessSummary]: ...

    @abstractmethod
    async def describe(self, process_id: str) -> ProcessDescription: ...

    @abstractmethod
    async def submit(
        self, process_id: str, request: ExecutionRequest, exchange: list[Exchange]
    ) -> RemoteJob:
        """Start the process. ``mode`` sync returns a final job; async (or auto on a service
        that prefers it) returns an accepted/running job with ``status_url``/``job_id``.
        Appends the raw exchange to ``exchange``."""

    @abstractmethod
    async def status(self, job: RemoteJob, exchange: list[Exchange]) -> RemoteJob:
        """The current state of a submitted job (results filled in once successful)."""

    async def dismiss(self, job: RemoteJob, exchange: list[Exchange]) -> bool:
        """Ask the service to cancel or forget the job; False when the protocol cannot."""
        return False
