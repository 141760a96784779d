"""What a process or job snippet does, independent of the language.

A **process** snippet runs the same execution eo-jlab runs for ``POST processing/{sid}/
processes/{pid}/execution``, against the configured endpoint directly:

* WPS 1.0.0: the Execute document is the one the WPS adapter itself builds
  (``WpsService._execute_document``) from the request and the process description (which input
  is literal / complex / bbox, default formats and CRS, whether ``auto`` runs asynchronously).
  The description is the adapter's own (cached once the process was described, as the execution
  form does), so the snippet holds no guess. R and shell post that document; Python builds the
  same request with OWSLib inputs read back from it.
* OGC API - Processes: the JSON body of the adapter's ``execute_body``; ``auto`` is resolved by
  the snippet at run time the way the adapter does it (the process's first job control option).

A **job** snippet follows an existing job from the remote URLs the job store keeps (the WPS
status document, the OGC API job URL); a job that ran synchronously has no record upstream, so
its results are the ones eo-jlab received.

Endpoint credentials reach the code only as environment variable names.

Code for the **local sandbox** names no address and no token: its port and token change at
each start, so the code reads them at run time from the sandbox's connection file (its path
is the plan's ``sandbox``; ``~/`` when under the home folder, so a notebook moved to another
account finds that account's sandbox). A sandbox result by reference becomes the path of its
file in the sandbox's ``outputs`` folder beside that file (outputs outlive the sandbox).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml import etree

from ..errors import BadRequest, NotFound
from ..models import BasicAuth, BearerAuth, ProcessingEndpoint

if TYPE_CHECKING:
    from ..processing.base import ExecutionRequest, ProcessDescription
    from ..processing.jobs import Job

WPS_NS = "http://www.opengis.net/wps/1.0.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Sandbox:
    """The local sandbox seen as the WPS it runs: its endpoint at the current address, the
    WPS adapter on it, and how to move a stored sandbox URL to that address."""

    endpoint: ProcessingEndpoint
    wps: Any
    local_url: Callable[[str | None], str | None]
    connection: str  # the connection file, as generated code names it (connection_path)


def sandbox_path(href: str) -> str:
    """A sandbox result's link without the address it had (``/outputs/...``), else ``href``."""
    parts = urlsplit(href)
    if parts.hostname in ("127.0.0.1", "localhost") and parts.path.startswith("/outputs/"):
        return parts.path
    return href


def connection_path(path: Path) -> str:
    """``path`` as generated code names it: ``~/...`` under the home folder, else absolute."""
    try:
        return "~/" + path.absolute().relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):
        return path.absolute().as_posix()


@dataclass
class Auth:
    """Where the endpoint's credentials come from (environment variable names only)."""

    kind: str  # "bearer" | "basic"
    origin: str  # scheme://host[:port] the credentials are sent to, and nowhere else
    token_env: str | None = None
    username: str | None = None
    username_env: str | None = None
    password_env: str | None = None


@dataclass
class WpsInput:
    """One ``wps:Input`` of the Execute document, as OWSLib builds it."""

    id: str
    kind: str  # "literal" | "reference" | "complex" | "bbox"
    value: str | None = None  # literal text, reference href, complex content
    mime_type: str | None = None
    encoding: str | None = None
    schema: str | None = None
    xml: bool = False  # complex content embedded as XML (not as text)
    corners: list[float] = field(default_factory=list)  # bbox: lower then upper corner
    crs: str | None = None
    dimensions: int = 2


@dataclass
class WpsOutput:
    id: str
    reference: bool | None  # True: asReference="true"; None: the service's default
    mime_type: str | None


@dataclass
class ProcessPlan:
    protocol: str  # "wps" | "ogcapi"
    service: str
    process: str
    url: str  # WPS: the service URL posted to; OGC API: the landing page
    auth: Auth | None = None
    # WPS
    document: str = ""  # the Execute document (indented where whitespace means nothing)
    use_async: bool = False
    inputs: list[WpsInput] = field(default_factory=list)
    outputs: list[WpsOutput] = field(default_factory=list)
    # OGC API
    execution_url: str = ""
    process_url: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    mode: str = "auto"  # "sync" | "async" | "auto" (resolved by the snippet, as the adapter)
    requested: list[str] = field(default_factory=list)  # outputs named by the request
    sandbox: str | None = None  # the local sandbox's connection file (url and token at run time)


@dataclass
class JobPlan:
    protocol: str  # "wps" | "ogcapi"
    job_id: str  # eo-jlab's job id
    service: str
    process: str
    status: str  # as eo-jlab last saw it
    url: str  # the endpoint's URL
    status_url: str | None  # WPS status document / OGC API job URL; None: ran synchronously
    results: list[dict[str, Any]] = field(default_factory=list)  # as eo-jlab received them
    error: str | None = None
    auth: Auth | None = None
    sandbox: str | None = None  # the local sandbox's connection file (url and token at run time)


def endpoint_of(services: Any, service_id: str) -> ProcessingEndpoint:
    endpoint = next((e for e in services.endpoints.processing if e.id == service_id), None)
    if endpoint is None:
        raise NotFound(f"No processing service is configured with the id {service_id!r}.")
    if endpoint.protocol == "sandbox":
        raise BadRequest("The local sandbox's address is only known while it runs.")
    return endpoint


def auth_of(endpoint: ProcessingEndpoint) -> Auth | None:
    auth = endpoint.auth
    if auth is None:
        return None
    names = [
        n
        for n in (
            getattr(auth, "token_env", None),
            getattr(auth, "username_env", None),
            getattr(auth, "password_env", None),
        )
        if n
    ]
    for name in names:
        if not ENV_NAME.match(name):
            raise BadRequest(
                f"The credentials of service {endpoint.id!r} come from an environment variable "
                "whose name is not a plain identifier; generated code cannot read it portably."
            )
    parts = urlsplit(endpoint.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if isinstance(auth, BearerAuth):
        return Auth(kind="bearer", origin=origin, token_env=auth.token_env)
    assert isinstance(auth, BasicAuth)
    return Auth(
        kind="basic",
        origin=origin,
        username=auth.username,
        username_env=auth.username_env,
        password_env=auth.password_env,
    )


def wps_plan(
    endpoint: ProcessingEndpoint,
    adapter: Any,
    description: ProcessDescription,
    request: ExecutionRequest,
) -> ProcessPlan:
    # As WpsService.submit decides it.
    if request.mode == "async" and "async" not in description.job_control:
        raise BadRequest(f"The process {description.id!r} cannot run asynchronously.")
    use_async = request.mode == "async" or (
        request.mode == "auto" and "async" in description.job_control
    )
    document = adapter._execute_document(description, request, use_async)
    root = etree.fromstring(document.encode("utf-8"))
    plan = ProcessPlan(
        protocol="wps",
        service=endpoint.id,
        process=description.id,
        url=adapter.url,
        auth=auth_of(endpoint),
        use_async=use_async,
    )
    for element in root.iter(f"{{{WPS_NS}}}Input"):
        plan.inputs.append(_wps_input(element))
    for element in root.iter(f"{{{WPS_NS}}}Output"):
        reference = element.get("asReference")
        plan.outputs.append(
            WpsOutput(
                id=_identifier(element),
                reference=True if reference == "true" else None,
                mime_type=element.get("mimeType"),
            )
        )
    plan.document = _indented(root)
    return plan


def _identifier(element: etree._Element) -> str:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == "Identifier":
            return child.text or ""
    return ""


def _wps_input(element: etree._Element) -> WpsInput:
    found = WpsInput(id=_identifier(element), kind="literal")
    reference = element.find(f"{{{WPS_NS}}}Reference")
    if reference is not None:
        found.kind = "reference"
        found.value = reference.get(f"{{{XLINK_NS}}}href")
        found.mime_type = reference.get("mimeType")
        found.encoding = reference.get("encoding")
        found.schema = reference.get("schema")
        return found
    data = element.find(f"{{{WPS_NS}}}Data")
    assert data is not None
    literal = data.find(f"{{{WPS_NS}}}LiteralData")
    if literal is not None:
        found.value = literal.text or ""
        return found
    complex_data = data.find(f"{{{WPS_NS}}}ComplexData")
    if complex_data is not None:
        found.kind = "complex"
        found.mime_type = complex_data.get("mimeType")
        found.encoding = complex_data.get("encoding")
        found.schema = complex_data.get("schema")
        children = [c for c in complex_data if isinstance(c.tag, str)]
        if children:
            found.xml = True
            found.value = etree.tostring(children[0], encoding="unicode", with_tail=False)
        else:
            found.value = complex_data.text or ""
        return found
    box = data.find(f"{{{WPS_NS}}}BoundingBoxData")
    assert box is not None
    found.kind = "bbox"
    found.crs = box.get("crs")
    found.dimensions = int(box.get("dimensions") or 2)
    for corner in box:
        if isinstance(corner.tag, str):
            found.corners += [float(v) for v in (corner.text or "").split()]
    return found


def _indented(root: etree._Element) -> str:
    """The document with one element per line, where whitespace means nothing: the content of
    ``wps:ComplexData`` and of text-bearing elements is left exactly as the adapter wrote it."""

    def indent(element: etree._Element, level: int) -> None:
        if etree.QName(element).localname == "ComplexData":
            return
        children = [c for c in element if isinstance(c.tag, str)]
        if not children or (element.text or "").strip():
            return
        element.text = "\n" + "  " * (level + 1)
        for child in children:
            indent(child, level + 1)
            child.tail = "\n" + "  " * (level + 1)
        children[-1].tail = "\n" + "  " * level

    indent(root, 0)
    return etree.tostring(root, encoding="unicode")


def _httpx_url(url: str) -> str:
    """The URL as eo-jlab's HTTP client sends it (httpx normalises and percent-encodes)."""
    import httpx

    try:
        return str(httpx.URL(url))
    except httpx.InvalidURL:
        raise BadRequest(
            "The process id cannot be part of a URL (it holds a control character)."
        ) from None


def ogcapi_plan(
    endpoint: ProcessingEndpoint, process_id: str, request: ExecutionRequest
) -> ProcessPlan:
    from ..processing.ogcapi import execute_body, process_segment

    base = endpoint.url.rstrip("/")
    segment = process_segment(process_id)
    if segment is None:
        raise NotFound(f"The service {endpoint.id} has no process {process_id!r}.")
    return ProcessPlan(
        protocol="ogcapi",
        service=endpoint.id,
        process=process_id,
        url=base,
        auth=auth_of(endpoint),
        # As OgcApiService joins them: the id as one path segment (process_segment).
        execution_url=_httpx_url("/".join([base, "processes", segment, "execution"])),
        process_url=_httpx_url("/".join([base, "processes", segment])),
        body=execute_body(request),
        mode=request.mode,
        requested=list(request.outputs or {}),
    )


def job_plan(services: Any, job: Job, sandbox: Sandbox | None = None) -> JobPlan:
    endpoint = next((e for e in services.endpoints.processing if e.id == job.service), None)
    if endpoint is None:
        raise NotFound(
            f"The service {job.service!r} of job {job.id!r} is no longer configured: no code "
            "can be written for it."
        )
    if sandbox is not None:
        endpoint = sandbox.endpoint
    elif endpoint.protocol == "sandbox":
        raise BadRequest("The local sandbox's address is only known while it runs.")
    status_url = job.remote.get("status_url") or None
    if sandbox is not None:
        status_url = sandbox.local_url(status_url)
    job_id = job.remote.get("job_id") or None
    if endpoint.protocol == "ogcapi" and not status_url and job_id:
        # As OgcApiService.status finds the job without a stored URL.
        status_url = "/".join([endpoint.url.rstrip("/"), "jobs", str(job_id)])
    return JobPlan(
        protocol=endpoint.protocol,
        job_id=job.id,
        service=job.service,
        process=job.process,
        status=job.status,
        url=endpoint.url,
        status_url=status_url,
        results=[_result(r, sandbox) for r in job.results],
        error=job.error,
        auth=auth_of(endpoint),
        sandbox=sandbox.connection if sandbox is not None else None,
    )


def _result(result: Any, sandbox: Sandbox | None) -> dict[str, Any]:
    data = result.model_dump(mode="json", exclude_none=True)
    if sandbox is not None and data.get("href"):
        data["href"] = sandbox.local_url(data["href"])
    return data
