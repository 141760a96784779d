"""OGC API – Processes (Part 1, 1.0) adapter.

The endpoint URL is the landing page; processes live under ``/processes``, jobs under
``/jobs``. Process descriptions describe their inputs and outputs with JSON schemas, which
are mapped to the contract's literal / complex / bbox inputs here. Asynchronous jobs are
followed through the job URL the service returns in ``Location`` (the body may be ``null``,
as pygeoapi answers); no per-job state is kept in memory.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from ..errors import BadRequest, EOJLabError, NotFound, UpstreamError
from ..models import ProcessingEndpoint
from ..net import HttpClient, UpstreamResponse, _host_of, join_url
from .base import (
    Exchange,
    ExecutionRequest,
    Format,
    Input,
    Output,
    ProcessDescription,
    ProcessingService,
    ProcessSummary,
    Range,
    RemoteJob,
    Result,
    percent,
)

MAX_PAGES = 20
MAX_EXCHANGE_BODY = 20_000
JSON_HEADERS = {"Accept": "application/json"}
LITERAL_TYPES = {"string", "number", "integer", "boolean"}
_STATUS = {
    "accepted": "accepted",
    "running": "running",
    "successful": "successful",
    "succeeded": "successful",
    "failed": "failed",
    "dismissed": "dismissed",
}
_RESULTS_REL = ("http://www.opengis.net/def/rel/ogc/1.0/results", "results")
_MONITOR_REL = ("monitor", "status", "http://www.opengis.net/def/rel/ogc/1.0/job")


def _truncate(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= MAX_EXCHANGE_BODY else text[:MAX_EXCHANGE_BODY] + "…"


def _text(value: Any) -> str:
    """A title or description: plain, or localised as ``{"en": ..}`` (pygeoapi)."""
    if isinstance(value, dict):
        value = value.get("en") or next(iter(value.values()), "")
    return "" if value is None else str(value)


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())[:300]
    return text if text.endswith((".", "!", "?")) else text + "."


def problem_text(response: UpstreamResponse) -> str:
    """A readable sentence from an OGC exception (``{"type", "title", "detail"}``, or
    pygeoapi's ``{"code", "description"}``), else an excerpt of the body."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        for key in ("detail", "description", "title", "message"):
            if isinstance(body.get(key), str) and body[key].strip():
                return _sentence(body[key])
        if isinstance(body.get("type"), str):
            return _sentence(body["type"].rsplit("/", 1)[-1])
    excerpt = response.text.strip()
    if response.content_type in ("text/html", "application/xhtml+xml") or excerpt.startswith("<"):
        excerpt = _markup_text(excerpt)  # a proxy's error page: its words, not its tags
    return _sentence(excerpt[:200]) if excerpt else "No details were given."


def _markup_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", markup[:20_000])
    text = re.sub(r"(?s)<!--.*?-->|<[^>]*>?", " ", text)
    return " ".join(html.unescape(text).split())


def _job_control(options: Any) -> list[str]:
    found = []
    for option in options or []:
        mode = {"sync-execute": "sync", "async-execute": "async"}.get(str(option))
        if mode and mode not in found:
            found.append(mode)
    return found or ["sync"]


# --- schemas -> contract -------------------------------------------------------------


def _alternatives(schema: dict) -> list[dict]:
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            return [s for s in schema[key] if isinstance(s, dict)]
    return [schema]


def _is_bbox(schema: dict) -> bool:
    if schema.get("format") == "ogc-bbox":
        return True
    props = schema.get("properties")
    return isinstance(props, dict) and "bbox" in props


def _is_reference(schema: dict) -> bool:
    props = schema.get("properties")
    return isinstance(props, dict) and "href" in props


def _is_complex(schema: dict) -> bool:
    return (
        "contentMediaType" in schema
        or "contentEncoding" in schema
        or _is_reference(schema)
        or schema.get("format") in ("binary", "byte")
        or schema.get("type") == "object"
        or (schema.get("type") == "array" and isinstance(schema.get("items"), dict)
            and schema["items"].get("type") == "object")
    )  # fmt: skip


def _formats(alternatives: list[dict]) -> list[Format]:
    formats: list[Format] = []
    seen = set()
    for alt in alternatives:
        mime = alt.get("contentMediaType")
        if not mime and alt.get("type") == "object" and not _is_reference(alt):
            mime = "application/json"
        if not mime or mime in seen:
            continue
        seen.add(mime)
        schema = alt.get("contentSchema")
        formats.append(
            Format(
                mime_type=mime,
                encoding=alt.get("contentEncoding"),
                schema=schema if isinstance(schema, str) else None,
                default=not formats,
            )
        )
    return formats


def _kind(schema: dict) -> tuple[str, list[dict]]:
    alternatives = _alternatives(schema)
    if any(_is_bbox(a) for a in alternatives):
        return "bbox", alternatives
    if any(_is_complex(a) for a in alternatives):
        return "complex", alternatives
    return "literal", alternatives


def _crs(alternatives: list[dict]) -> list[str]:
    found: list[str] = []
    for alt in alternatives:
        crs = (alt.get("properties") or {}).get("crs")
        if not isinstance(crs, dict):
            continue
        values = list(crs.get("enum") or [])
        for item in crs.get("anyOf") or crs.get("oneOf") or []:
            if isinstance(item, dict):
                values.extend(item.get("enum") or [])
        if crs.get("default") and crs["default"] not in values:
            values.insert(0, crs["default"])
        found.extend(str(v) for v in values if str(v) not in found)
    return found or ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]


def _occurs(value: Any, default: int | None) -> int | None:
    if value == "unbounded" or value is None and default is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _input(input_id: str, doc: dict) -> Input:
    schema = doc.get("schema") if isinstance(doc.get("schema"), dict) else {}
    kind, alternatives = _kind(schema)
    fields: dict[str, Any] = {
        "id": input_id,
        "title": _text(doc.get("title")),
        "abstract": _text(doc.get("description")),
        "kind": kind,
        "min_occurs": _occurs(doc.get("minOccurs", 1), 1) or 0,
        "max_occurs": _occurs(doc.get("maxOccurs", 1), 1),
    }
    if kind == "bbox":
        fields["crs"] = _crs(alternatives)
    elif kind == "complex":
        fields["formats"] = _formats(alternatives)
    else:
        literal = alternatives[0]
        if literal.get("type") == "array" and isinstance(literal.get("items"), dict):
            literal = literal["items"]
            if fields["max_occurs"] == 1:
                fields["max_occurs"] = _occurs(schema.get("maxItems"), None)
        data_type = literal.get("type")
        fields["data_type"] = data_type if data_type in LITERAL_TYPES else None
        fields["allowed_values"] = list(literal.get("enum") or [])
        low = literal.get("minimum", literal.get("exclusiveMinimum"))
        high = literal.get("maximum", literal.get("exclusiveMaximum"))
        if isinstance(low, bool) or isinstance(high, bool):  # draft-4 style exclusive flags
            low, high = literal.get("minimum"), literal.get("maximum")
        if low is not None or high is not None:
            fields["ranges"] = [Range(min=low, max=high, step=literal.get("multipleOf"))]
    if "default" in schema or "default" in alternatives[0]:
        fields["default"] = schema.get("default", alternatives[0].get("default"))
    return Input(**fields)


def _output(output_id: str, doc: dict) -> Output:
    schema = doc.get("schema") if isinstance(doc.get("schema"), dict) else {}
    kind, alternatives = _kind(schema)
    return Output(
        id=output_id,
        title=_text(doc.get("title")),
        abstract=_text(doc.get("description")),
        kind=kind,
        formats=_formats(alternatives) if kind == "complex" else [],
    )


def _named(items: Any) -> list[tuple[str, dict]]:
    """Inputs/outputs as a map (1.0) or a list with ``id`` (older drafts)."""
    if isinstance(items, dict):
        return [(str(k), v) for k, v in items.items() if isinstance(v, dict)]
    if isinstance(items, list):
        return [(str(v["id"]), v) for v in items if isinstance(v, dict) and "id" in v]
    return []


# --- contract -> execute request -----------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, list):
        return [_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "href" in value:
        out = {"href": value["href"]}
        if value.get("mime_type"):
            out["type"] = value["mime_type"]
        return out
    if "bbox" in value:
        out = {"bbox": list(value["bbox"])}
        if value.get("crs"):
            out["crs"] = value["crs"]
        return out
    if "value" in value and set(value) <= {"value", "mime_type", "encoding", "schema"}:
        if not value.get("mime_type"):
            return value["value"]
        out = {"value": value["value"], "mediaType": value["mime_type"]}
        if value.get("encoding"):
            out["encoding"] = value["encoding"]
        return out
    return value


def execute_body(request: ExecutionRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"inputs": {k: _value(v) for k, v in request.inputs.items()}}
    if request.outputs:
        outputs = {}
        for output_id, wanted in request.outputs.items():
            out: dict[str, Any] = {}
            if wanted.get("mime_type"):
                out["format"] = {"mediaType": wanted["mime_type"]}
            if "reference" in wanted:
                out["transmissionMode"] = "reference" if wanted["reference"] else "value"
            outputs[output_id] = out
        body["outputs"] = outputs
    return body


# --- results -------------------------------------------------------------------------


def _mime(*candidates: Any) -> str | None:
    """The first type the service gave as text (a number or an object there is ignored)."""
    return next((c for c in candidates if isinstance(c, str) and c), None)


def _result(output_id: str, value: Any, mime_type: str | None = None) -> Result:
    if isinstance(value, dict):
        if "href" in value:
            return Result(
                id=output_id, href=str(value["href"]), mime_type=_mime(value.get("type"), mime_type)
            )
        if "value" in value:
            fmt = value.get("format") if isinstance(value.get("format"), dict) else {}
            mime = _mime(value.get("mediaType"), value.get("mimeType"), fmt.get("mediaType"))
            return Result(id=output_id, value=value["value"], mime_type=mime or mime_type)
    return Result(id=output_id, value=value, mime_type=mime_type)


def parse_results(response: UpstreamResponse, requested: list[str] | None = None) -> list[Result]:
    """Results from a raw or document response, or from ``/jobs/{id}/results``."""
    mime = response.content_type or None
    fallback = requested[0] if requested and len(requested) == 1 else "result"
    if mime is None or not (mime == "application/json" or mime.endswith("+json")):
        if mime and (mime.startswith("text/") or mime.endswith("xml")):
            return [Result(id=fallback, value=response.text, mime_type=mime)]
        return [Result(id=fallback, value=None, mime_type=mime)]
    body = response.json()
    if isinstance(body, dict):
        outputs = body.get("outputs")
        if isinstance(outputs, list):  # pygeoapi's document: [{"id", "value"}]
            return [
                _result(str(o.get("id", fallback)), o)
                for o in outputs
                if isinstance(o, dict)
            ]  # fmt: skip
        if isinstance(outputs, dict):
            return [_result(k, v) for k, v in outputs.items()]
        if isinstance(body.get("id"), str) and ("value" in body or "href" in body):
            return [_result(body["id"], body)]  # a single output (pygeoapi raw)
        if requested and set(body) <= set(requested) or not requested and body:
            return [_result(str(k), v) for k, v in body.items()]  # 1.0 results document
    return [Result(id=fallback, value=body, mime_type=mime)]


# --- the service ---------------------------------------------------------------------


def process_segment(process_id: str) -> str | None:
    """A process id as one path segment of ``/processes/{id}``: "/", "?", "#" and "%"
    escaped, so an id never reaches another resource of the service (``../jobs``, a query);
    None for "." and "..", which no escaping keeps in place. Control characters are left
    for the URL parser to refuse (a 400 sentence)."""
    if process_id in (".", ".."):
        return None
    for char, escaped in (("%", "%25"), ("/", "%2F"), ("?", "%3F"), ("#", "%23")):
        process_id = process_id.replace(char, escaped)
    return process_id


class OgcApiService(ProcessingService):
    def __init__(self, endpoint: ProcessingEndpoint, http: HttpClient):
        super().__init__(endpoint)
        self.http = http
        self.base = endpoint.url.rstrip("/")

    def _url(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    async def _call(
        self,
        method: str,
        url: str,
        exchange: list[Exchange] | None,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> UpstreamResponse:
        record = Exchange(
            method=method,
            url=url,
            request_body=_truncate(json.dumps(json_body)) if json_body is not None else None,
        )
        if exchange is not None:
            exchange.append(record)
        try:
            response = await self.http.request(
                method,
                url,
                headers={**JSON_HEADERS, **(headers or {})},
                json_body=json_body,
                expect_ok=False,
            )
        except EOJLabError as exc:
            record.response_body = _truncate(exc.message)
            raise
        record.status = response.status
        record.response_body = _truncate(response.text)
        return response

    def _failed(self, response: UpstreamResponse, doing: str) -> UpstreamError:
        return UpstreamError(
            f"The service at {_host_of(response.url)} answered HTTP {response.status} "
            f"{doing}: {problem_text(response)}",
            {"url": response.url, "status": response.status},
        )

    async def processes(self) -> list[ProcessSummary]:
        url: str | None = self._url("processes")
        found: dict[str, ProcessSummary] = {}
        for _page in range(MAX_PAGES):
            if url is None:
                break
            response = await self._call("GET", url, None)
            if response.status >= 400:
                raise self._failed(response, "to the list of processes")
            body = response.json()
            if not isinstance(body, dict) or not isinstance(body.get("processes"), list):
                raise UpstreamError(
                    f"The service at {_host_of(url)} did not answer with a list of processes.",
                    {"url": url},
                )
            for doc in body["processes"]:
                if isinstance(doc, dict) and doc.get("id") and str(doc["id"]) not in found:
                    found[str(doc["id"])] = self._summary(doc)
            url = self._link(body, ("next",), response.url)
        return list(found.values())

    @staticmethod
    def _link(body: Any, rels: tuple[str, ...], base: str) -> str | None:
        if not isinstance(body, dict):
            return None
        for link in body.get("links") or []:
            if isinstance(link, dict) and link.get("rel") in rels and link.get("href"):
                if link.get("type") not in (None, "application/json") and "json" not in str(
                    link.get("type")
                ):
                    continue
                return join_url(base, str(link["href"]))
        return None

    @staticmethod
    def _summary(doc: dict) -> ProcessSummary:
        version = doc.get("version")
        return ProcessSummary(
            id=str(doc["id"]),
            title=_text(doc.get("title")),
            abstract=_text(doc.get("description")),
            version=None if version is None else str(version),
            job_control=_job_control(doc.get("jobControlOptions")),
        )

    async def describe(
        self, process_id: str, exchange: list[Exchange] | None = None
    ) -> ProcessDescription:
        segment = process_segment(process_id)
        if segment is None:
            raise NotFound(f"The service {self.endpoint.id} has no process {process_id!r}.")
        response = await self._call("GET", self._url("processes", segment), exchange)
        if response.status == 404:
            raise NotFound(f"The service {self.endpoint.id} has no process {process_id!r}.")
        if response.status >= 400:
            raise self._failed(response, f"to the description of {process_id}")
        doc = response.json()
        if not isinstance(doc, dict):
            raise UpstreamError(
                f"The service at {_host_of(response.url)} sent no process description.",
                {"url": response.url},
            )
        summary = self._summary({"id": process_id, **doc})
        return ProcessDescription(
            **summary.model_dump(),
            inputs=[_input(k, v) for k, v in _named(doc.get("inputs"))],
            outputs=[_output(k, v) for k, v in _named(doc.get("outputs"))],
        )

    async def submit(
        self, process_id: str, request: ExecutionRequest, exchange: list[Exchange]
    ) -> RemoteJob:
        mode = request.mode
        if mode == "auto":
            description = await self.describe(process_id, exchange)
            # The first job control option is the one the process prefers.
            mode = description.job_control[0]
        headers = {"Prefer": "respond-async"} if mode == "async" else {}
        segment = process_segment(process_id)
        if segment is None:
            raise NotFound(f"The service {self.endpoint.id} has no process {process_id!r}.")
        url = self._url("processes", segment, "execution")
        response = await self._call(
            "POST", url, exchange, json_body=execute_body(request), headers=headers
        )
        if response.status == 404:
            raise NotFound(f"The service {self.endpoint.id} has no process {process_id!r}.")
        if 400 <= response.status < 500:
            raise BadRequest(
                f"The service refused to run {process_id}: {problem_text(response)}",
                {"url": url, "status": response.status},
            )
        if response.status >= 400:
            raise self._failed(response, f"to the execution of {process_id}")
        body = _json_or_none(response)
        asynchronous = response.status in (201, 202) or (
            isinstance(body, dict) and "jobID" in body and "status" in body
        )
        if asynchronous:
            return self._accepted(response, body)
        requested = list(request.outputs or {}) or None
        return RemoteJob(
            status="successful",
            progress=100,
            message="Finished.",
            status_url=self._location(response),
            job_id=_last_segment(self._location(response)),
            results=parse_results(response, requested),
        )

    @staticmethod
    def _location(response: UpstreamResponse) -> str | None:
        location = response.headers.get("location")
        return join_url(response.url, location) if location else None

    def _accepted(self, response: UpstreamResponse, body: Any) -> RemoteJob:
        status_url = self._location(response) or self._link(body, _MONITOR_REL, response.url)
        job_id = body.get("jobID") if isinstance(body, dict) else None
        if not status_url and job_id:
            status_url = self._url("jobs", str(job_id))
        if not status_url:
            raise UpstreamError(
                f"The service at {_host_of(response.url)} accepted the job but did not say "
                "where to follow it (no Location header, no job id).",
                {"url": response.url},
            )
        job = _job_from(body) if isinstance(body, dict) and body.get("status") else None
        return RemoteJob(
            status=job.status if job else "accepted",
            progress=job.progress if job else None,
            message=job.message if job else "Accepted.",
            status_url=status_url,
            job_id=str(job_id) if job_id else _last_segment(status_url),
        )

    async def status(self, job: RemoteJob, exchange: list[Exchange]) -> RemoteJob:
        url = job.status_url or (self._url("jobs", job.job_id) if job.job_id else None)
        if not url:
            raise BadRequest("This job has no job URL to ask the service about.")
        response = await self._call("GET", url, exchange)
        if response.status in (404, 410):
            return job.model_copy(
                update={
                    "status": "dismissed",
                    "message": "The service no longer knows this job (dismissed or expired).",
                }
            )
        if response.status >= 400:
            raise self._failed(response, "to the job status request")
        body = response.json()
        if not isinstance(body, dict) or "status" not in body:
            raise UpstreamError(
                f"The service at {_host_of(url)} did not answer with a job status.", {"url": url}
            )
        current = _job_from(body)
        update: dict[str, Any] = {
            "status": current.status,
            "progress": current.progress,
            "message": current.message,
            "status_url": url,
        }
        if current.status == "failed":
            update["error"] = current.message or "The job failed."
        if current.status == "successful":
            update["progress"] = 100
            results_url = self._link(body, _RESULTS_REL, url) or url.rstrip("/") + "/results"
            answer = await self._call("GET", results_url, exchange)
            if answer.status >= 400:
                raise self._failed(answer, "to the job results request")
            update["results"] = parse_results(answer)
        return job.model_copy(update=update)

    async def dismiss(self, job: RemoteJob, exchange: list[Exchange]) -> bool:
        url = job.status_url or (self._url("jobs", job.job_id) if job.job_id else None)
        if not url:
            return False
        response = await self._call("DELETE", url, exchange)
        if response.status in (404, 405, 501):
            return False
        if response.status >= 400:
            raise self._failed(response, "to the dismiss request")
        return True


def _json_or_none(response: UpstreamResponse) -> Any:
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _last_segment(url: str | None) -> str | None:
    if not url:
        return None
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


def _job_from(body: dict) -> RemoteJob:
    status = _STATUS.get(str(body.get("status", "")).lower())
    if status is None:
        raise UpstreamError(f"The service reported an unknown job status {body.get('status')!r}.")
    return RemoteJob(
        status=status, progress=percent(body.get("progress")), message=_text(body.get("message"))
    )
