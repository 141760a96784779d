"""OGC WPS 1.0.0 processing services (tested against PyWPS 4.8).

Choices (see also DESIGN.md, "Processing and jobs"):

* **Processes**: the list is GetCapabilities alone (KVP GET, one request, asked once and
  cached per adapter): id, title, abstract, version. A process offers ``async`` when its
  DescribeProcess says ``storeSupported`` and ``statusSupported``; the capabilities do not
  say, so a listed ``job_control`` is empty until the process is described. After a list,
  the processes not yet described are described in the background, ``DESCRIBE_BATCH`` ids
  per DescribeProcess, one request at a time (one by one when the service refuses a
  batch); a later list carries their job control, or the ``error`` sentence of a process
  the service could not describe. ``describe()`` (a process opened) asks at once. Both
  caches hold at most ``MAX_DESCRIPTIONS`` processes (least recently used dropped).
* **Descriptions**: elements are matched by local name (WPS 1.0.0 leaves ``DataInputs``,
  ``Input``, ``LiteralData``... unqualified, some servers qualify them). ``ows:AllowedValues``
  gives ``allowed_values`` (``ows:Value``) and ``ranges`` (``ows:Range`` min/max/spacing);
  ``maxOccurs="unbounded"`` is ``None``.
* **Execute**: a POST XML document. Literal inputs (a list repeats the input), complex inputs
  by reference (``{"href"}`` -> ``wps:Reference``) or inline (``{"value", "mime_type"}``, a
  non-string value is sent as JSON), bounding boxes (``{"bbox": [w, s, e, n], "crs"}`` ->
  ``wps:BoundingBoxData``): corners in the axis order the CRS defines, that is lat/lon for
  the EPSG:4326 URN/URL forms, lon/lat for CRS84 and the plain ``EPSG:4326`` code; without a
  ``crs`` the input's default CRS of the description (else CRS84) is used.
* **Mode**: ``async`` (or ``auto`` on a process that supports it) asks for
  ``storeExecuteResponse`` and ``status``; the answer's ``statusLocation`` is the job's
  ``status_url`` and its file name the ``job_id``. ``sync`` asks for a plain response document.
  Outputs are listed only when the request names some (``reference: true`` -> ``asReference``).
* **Errors**: an ``ows:ExceptionReport`` anywhere becomes one sentence with the server's own
  text: 400 for the codes that blame the request (``MissingParameterValue``,
  ``InvalidParameterValue``, ``OptionNotSupported``, ...), else 502.
* **Dismiss**: WPS 1.0.0 has no dismiss operation: ``dismiss`` answers False.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from ..errors import BadRequest, EOJLabError, NotFound, UpstreamError
from ..models import ProcessingEndpoint
from ..net import HttpClient, UpstreamResponse, parse_xml
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

WPS = "http://www.opengis.net/wps/1.0.0"
OWS = "http://www.opengis.net/ows/1.1"
XLINK = "http://www.w3.org/1999/xlink"
NSMAP = {"wps": WPS, "ows": OWS, "xlink": XLINK}
MAX_EXCHANGE_BODY = 20_000
DESCRIBE_BATCH = 10  # process ids per background DescribeProcess
MAX_DESCRIPTIONS = 500  # descriptions (and description failures) kept per service
log = logging.getLogger(__name__)
_STATUS_ATTEMPTS = 3  # reads of a status document caught half written
CRS84 = "urn:ogc:def:crs:OGC:1.3:CRS84"
# CRS spellings whose axis order is latitude first (EPSG:4326 as the EPSG database defines it).
_LATLON = (
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326",
    "urn:x-ogc:def:crs:epsg:4326",
    "http://www.opengis.net/def/crs/epsg/0/4326",
    "http://www.opengis.net/gml/srs/epsg.xml#4326",
)
# Exception codes that blame the request rather than the service.
_CLIENT_CODES = {
    "MissingParameterValue",
    "InvalidParameterValue",
    "OptionNotSupported",
    "VersionNegotiationFailed",
    "InvalidUpdateSequence",
    "NotEnoughStorage",
    "FileSizeExceeded",
    "StorageNotSupported",
}
_JSON_TYPES = ("application/json", "application/geo+json", "application/vnd.geo+json")


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if _local(c) == name]


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    found = _children(element, name)
    return found[0] if found else None


def _text(element: etree._Element | None, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _descendants(element: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in element.iter() if _local(e) == name]


def _attr(element: etree._Element, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (``processVersion`` is qualified)."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname == name:
            return value
    return None


def _number(text: str | None, data_type: str | None = None) -> Any:
    """A literal as the data type says (integers, floats, booleans), else the text."""
    if text is None:
        return None
    kind = (data_type or "").lower().rsplit("#", 1)[-1].rsplit(":", 1)[-1]
    try:
        if kind in ("integer", "int", "long", "short", "nonnegativeinteger", "positiveinteger"):
            return int(text)
        if kind in ("float", "double", "decimal"):
            number = float(text)
            return number if math.isfinite(number) else text  # JSON has no inf or NaN
        if kind == "boolean":
            return text.strip().lower() in ("true", "1")
    except ValueError:
        return text
    return text


def _truncate(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text[:MAX_EXCHANGE_BODY]


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def latlon_crs(crs: str) -> bool:
    """True when the CRS puts latitude first (EPSG:4326 in its URN and URL spellings)."""
    return crs.strip().lower() in _LATLON


class WpsService(ProcessingService):
    """One WPS 1.0.0 service (``protocol: wps``)."""

    def __init__(self, endpoint: ProcessingEndpoint, http: HttpClient):
        super().__init__(endpoint)
        self.http = http
        self.url = endpoint.url.split("?", 1)[0]
        self._summaries: list[ProcessSummary] | None = None
        self._descriptions: OrderedDict[str, ProcessDescription] = OrderedDict()
        self._failures: OrderedDict[str, str] = OrderedDict()  # id -> why it is undescribable
        self._filling: asyncio.Task | None = None

    async def close(self) -> None:
        """Stop describing in the background (server shutdown, sandbox reload)."""
        task, self._filling = self._filling, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- documents -------------------------------------------------------------------------

    async def _get(self, params: dict[str, str]) -> etree._Element:
        response = await self.http.get(
            self.url, params={"service": "WPS", "version": "1.0.0", **params}, expect_ok=False
        )
        return self._document(response)

    def _document(self, response: UpstreamResponse) -> etree._Element:
        """The XML answer, or the readable error an exception report (or a bad status) means."""
        try:
            root = response.xml()
        except UpstreamError:
            if response.status >= 400:
                raise UpstreamError(
                    f"The WPS service at {_host(response.url)} answered with HTTP "
                    f"{response.status}.",
                    {"url": response.url, "excerpt": response.excerpt()},
                ) from None
            raise
        if _local(root) == "ExceptionReport":
            raise self._exception(root, response.url)
        if response.status >= 400:
            raise UpstreamError(
                f"The WPS service at {_host(response.url)} answered with HTTP {response.status}.",
                {"url": response.url, "excerpt": response.excerpt()},
            )
        return root

    def _exception(self, report: etree._Element, url: str) -> Exception:
        exceptions = _descendants(report, "Exception")
        code = exceptions[0].get("exceptionCode", "") if exceptions else ""
        locator = exceptions[0].get("locator") if exceptions else None
        text = _exception_text(report)
        where = f" ({code}" + (f" for {locator!r}" if locator else "") + ")" if code else ""
        details = {"url": url, "code": code, "locator": locator}
        if code in _CLIENT_CODES:
            return BadRequest(f"The WPS service refused the request: {text}{where}.", details)
        return UpstreamError(
            f"The WPS service at {_host(url)} reported an error: {text}{where}.", details
        )

    # -- processes -------------------------------------------------------------------------

    async def _capabilities(self) -> list[ProcessSummary]:
        if self._summaries is None:
            root = await self._get({"request": "GetCapabilities"})
            if _local(root) != "Capabilities":
                raise UpstreamError(
                    f"The service at {_host(self.url)} did not answer with WPS capabilities.",
                    {"url": self.url, "root": _local(root)},
                )
            summaries = []
            for offering in _descendants(root, "ProcessOfferings")[:1]:
                for process in _children(offering, "Process"):
                    identifier = _text(process, "Identifier")
                    if not identifier:
                        continue
                    summaries.append(
                        ProcessSummary(
                            id=identifier,
                            title=_text(process, "Title") or identifier,
                            abstract=_text(process, "Abstract") or "",
                            version=_attr(process, "processVersion"),
                        )
                    )
            self._summaries = summaries
        return self._summaries

    async def processes(self) -> list[ProcessSummary]:
        """The capabilities' processes (one request), with what descriptions already said."""
        listed = []
        for summary in await self._capabilities():
            description = self._descriptions.get(summary.id)
            failure = self._failures.get(summary.id)
            listed.append(
                summary.model_copy(
                    update={
                        "job_control": list(description.job_control) if description else [],
                        "error": failure if description is None else None,
                    }
                )
            )
        if self._filling is None or self._filling.done():
            self._filling = asyncio.create_task(self._fill())
        return listed

    async def _fill(self) -> None:
        """Describe the listed processes not yet described, a batch at a time (background)."""
        tried: set[str] = set()
        try:
            while self._summaries is not None:
                pending = [
                    s.id
                    for s in self._summaries
                    if s.id not in tried
                    and s.id not in self._descriptions
                    and s.id not in self._failures
                ][:DESCRIBE_BATCH]
                if not pending:
                    return
                tried.update(pending)
                try:
                    await self._describe_batch(pending)
                except EOJLabError as exc:
                    if not _about_the_request(exc):
                        return  # not answering (down, slow): the next list tries again
                    for process_id in pending:  # the service refuses a batch: one by one
                        if process_id not in self._descriptions:
                            try:
                                await self._describe_one(process_id)
                            except EOJLabError as one:
                                if not _about_the_request(one):
                                    return
                                # else recorded in _failures by _describe_one
        except asyncio.CancelledError:
            raise
        except Exception:  # never an unretrieved task error; the list stays usable
            log.exception("eo_jlab: describing the processes of %s failed", self.url)

    async def _describe_batch(self, process_ids: list[str]) -> None:
        root = await self._get({"request": "DescribeProcess", "identifier": ",".join(process_ids)})
        for element in _descendants(root, "ProcessDescription"):
            description = _description(element)
            if description.id in process_ids:
                self._remember(description)
        missing = [p for p in process_ids if p not in self._descriptions]
        if missing:
            raise UpstreamError(f"Not described: {', '.join(missing)}.", {"missing": missing})

    def _remember(self, description: ProcessDescription) -> None:
        self._descriptions[description.id] = description
        self._descriptions.move_to_end(description.id)
        self._failures.pop(description.id, None)
        while len(self._descriptions) > MAX_DESCRIPTIONS:
            self._descriptions.popitem(last=False)

    def _failed(self, process_id: str, sentence: str) -> None:
        self._failures[process_id] = sentence
        self._failures.move_to_end(process_id)
        while len(self._failures) > MAX_DESCRIPTIONS:
            self._failures.popitem(last=False)

    async def describe(self, process_id: str) -> ProcessDescription:
        description = self._descriptions.get(process_id)
        if description is not None:
            self._descriptions.move_to_end(process_id)
            return description
        known = {s.id for s in await self._capabilities()}
        if process_id not in known:
            raise NotFound(f"The WPS service has no process {process_id!r}.")
        return await self._describe_one(process_id)

    async def _describe_one(self, process_id: str) -> ProcessDescription:
        """DescribeProcess of one listed process; a failure is remembered for the list and
        raised as a 502 sentence (the service lists the process: the request is not wrong)."""
        try:
            root = await self._get({"request": "DescribeProcess", "identifier": process_id})
        except (BadRequest, UpstreamError) as exc:
            sentence = (
                f"The WPS service lists the process {process_id!r} but could not describe it: "
                f"{_reason(exc.message)}"
            )
            if _about_the_request(exc):  # an outage says nothing about this process
                self._failed(process_id, sentence)
            raise UpstreamError(sentence, exc.details) from None
        for element in _descendants(root, "ProcessDescription"):
            if _text(element, "Identifier") == process_id:
                description = _description(element)
                self._remember(description)
                return description
        sentence = f"The WPS service at {_host(self.url)} did not describe process {process_id!r}."
        self._failed(process_id, sentence)
        raise UpstreamError(sentence, {"url": self.url})

    # -- execution -------------------------------------------------------------------------

    async def submit(
        self, process_id: str, request: ExecutionRequest, exchange: list[Exchange]
    ) -> RemoteJob:
        description = await self.describe(process_id)
        if request.mode == "async" and "async" not in description.job_control:
            raise BadRequest(f"The process {process_id!r} cannot run asynchronously.")
        use_async = request.mode == "async" or (
            request.mode == "auto" and "async" in description.job_control
        )
        body = self._execute_document(description, request, use_async)
        record = Exchange(method="POST", url=self.url, request_body=_truncate(body))
        exchange.append(record)
        response = await self.http.post(
            self.url,
            content=body.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            expect_ok=False,
        )
        record.status = response.status
        record.response_body = _truncate(response.text)
        return _job(self._document(response), response.url)

    async def status(self, job: RemoteJob, exchange: list[Exchange]) -> RemoteJob:
        if not job.status_url:
            raise BadRequest("This WPS job ran synchronously: it has no status to ask for.")
        for attempt in range(_STATUS_ATTEMPTS):
            record = Exchange(method="GET", url=job.status_url)
            exchange.append(record)
            response = await self.http.get(job.status_url, expect_ok=False)
            record.status = response.status
            record.response_body = _truncate(response.text)
            try:
                root = self._document(response)
                break
            except UpstreamError:
                # PyWPS rewrites the status document in place: a read can catch it empty or
                # half written. Ask again shortly before calling the answer broken.
                if response.status >= 400 or attempt == _STATUS_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        snapshot = _job(root, response.url)
        if not snapshot.status_url:
            snapshot.status_url = job.status_url
        if not snapshot.job_id:
            snapshot.job_id = job.job_id
        return snapshot

    async def dismiss(self, job: RemoteJob, exchange: list[Exchange]) -> bool:
        return False  # WPS 1.0.0 has no dismiss operation

    def _execute_document(
        self, description: ProcessDescription, request: ExecutionRequest, use_async: bool
    ) -> str:
        inputs = {i.id: i for i in description.inputs}
        outputs = {o.id: o for o in description.outputs}
        root = etree.Element(f"{{{WPS}}}Execute", nsmap=NSMAP, service="WPS", version="1.0.0")
        etree.SubElement(root, f"{{{OWS}}}Identifier").text = description.id
        data_inputs = etree.SubElement(root, f"{{{WPS}}}DataInputs")
        for name, given in request.inputs.items():
            spec = inputs.get(name)
            if spec is None:
                raise BadRequest(f"The process {description.id!r} has no input {name!r}.")
            values = given if isinstance(given, list) else [given]
            if spec.max_occurs is not None and len(values) > spec.max_occurs:
                raise BadRequest(
                    f"The input {name!r} takes at most {spec.max_occurs} value(s), "
                    f"not {len(values)}."
                )
            for value in values:
                if value is None:
                    continue
                element = etree.SubElement(data_inputs, f"{{{WPS}}}Input")
                etree.SubElement(element, f"{{{OWS}}}Identifier").text = name
                _input_value(element, spec, value)
        form = etree.SubElement(root, f"{{{WPS}}}ResponseForm")
        document = etree.SubElement(form, f"{{{WPS}}}ResponseDocument")
        if use_async:
            document.set("storeExecuteResponse", "true")
            document.set("status", "true")
        for name, options in (request.outputs or {}).items():
            if name not in outputs:
                raise BadRequest(f"The process {description.id!r} has no output {name!r}.")
            options = options or {}
            output = etree.SubElement(document, f"{{{WPS}}}Output")
            if options.get("reference"):
                output.set("asReference", "true")
            if options.get("mime_type"):
                output.set("mimeType", str(options["mime_type"]))
            etree.SubElement(output, f"{{{OWS}}}Identifier").text = name
        if not len(data_inputs):
            root.remove(data_inputs)
        return etree.tostring(root, encoding="unicode", xml_declaration=False)


def _input_value(element: etree._Element, spec: Input, value: Any) -> None:
    if isinstance(value, dict) and "href" in value:
        reference = etree.SubElement(element, f"{{{WPS}}}Reference")
        reference.set(f"{{{XLINK}}}href", str(value["href"]))
        if value.get("mime_type"):
            reference.set("mimeType", str(value["mime_type"]))
        return
    data = etree.SubElement(element, f"{{{WPS}}}Data")
    if spec.kind == "bbox" or (isinstance(value, dict) and "bbox" in value):
        bbox = value.get("bbox") if isinstance(value, dict) else value
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
            raise BadRequest(f"The input {spec.id!r} needs a bbox [west, south, east, north].")
        try:
            west, south, east, north = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise BadRequest(f"The bbox of input {spec.id!r} must be four numbers.") from None
        crs = (value.get("crs") if isinstance(value, dict) else None) or (
            spec.crs[0] if spec.crs else CRS84
        )
        box = etree.SubElement(data, f"{{{WPS}}}BoundingBoxData", crs=crs, dimensions="2")
        if latlon_crs(crs):
            lower, upper = f"{south} {west}", f"{north} {east}"
        else:
            lower, upper = f"{west} {south}", f"{east} {north}"
        etree.SubElement(box, f"{{{OWS}}}LowerCorner").text = lower
        etree.SubElement(box, f"{{{OWS}}}UpperCorner").text = upper
        return
    if spec.kind == "complex":
        if isinstance(value, dict) and "value" in value:
            content, mime_type = value["value"], value.get("mime_type")
        else:
            content, mime_type = value, None
        if not mime_type:
            chosen = next((f for f in spec.formats if f.default), None) or next(
                iter(spec.formats), None
            )
            mime_type = chosen.mime_type if chosen else None
        complex_data = etree.SubElement(data, f"{{{WPS}}}ComplexData")
        if mime_type:
            complex_data.set("mimeType", mime_type)
        if isinstance(value, dict) and value.get("encoding"):
            complex_data.set("encoding", str(value["encoding"]))
        if isinstance(value, dict) and value.get("schema"):
            complex_data.set("schema", str(value["schema"]))
        if not isinstance(content, str):
            content = json.dumps(content)
        if mime_type and "xml" in mime_type and content.lstrip().startswith("<"):
            try:
                complex_data.append(parse_xml(content.encode("utf-8")))
            except (ValueError, etree.XMLSyntaxError):  # not well-formed: send it as text
                complex_data.text = content
            return
        complex_data.text = etree.CDATA(content) if "]]>" not in content else content
        return
    if isinstance(value, dict):
        value = value.get("value", value)
    literal = etree.SubElement(data, f"{{{WPS}}}LiteralData")
    if spec.data_type:
        literal.set("dataType", spec.data_type)
    literal.text = _literal_text(value)


# -- parsing ---------------------------------------------------------------------------------


def _formats(element: etree._Element | None) -> list[Format]:
    if element is None:
        return []
    default = _child(_child(element, "Default"), "Format")
    key = None
    if default is not None:
        key = (_text(default, "MimeType"), _text(default, "Encoding"), _text(default, "Schema"))
    formats: list[Format] = []
    seen = set()
    supported = _child(element, "Supported")
    candidates = ([default] if default is not None else []) + (
        _children(supported, "Format") if supported is not None else []
    )
    for fmt in candidates:
        mime_type = _text(fmt, "MimeType")
        if not mime_type:
            continue
        this = (mime_type, _text(fmt, "Encoding"), _text(fmt, "Schema"))
        if this in seen:
            continue
        seen.add(this)
        formats.append(
            Format(mime_type=this[0], encoding=this[1], schema=this[2], default=this == key)
        )
    return formats


def _crss(element: etree._Element) -> list[str]:
    found: list[str] = []
    for crs in _descendants(element, "CRS"):
        if crs.text and crs.text.strip() not in found:
            found.append(crs.text.strip())
    return found


def _literal_domain(literal: etree._Element) -> tuple[str | None, list[Any], list[Range], Any]:
    data_type = _text(literal, "DataType")
    allowed: list[Any] = []
    ranges: list[Range] = []
    for values in _children(literal, "AllowedValues"):
        for entry in values:
            if _local(entry) == "Value" and entry.text is not None:
                allowed.append(_number(entry.text.strip(), data_type))
            elif _local(entry) == "Range":
                ranges.append(
                    Range(
                        min=_number(_text(entry, "MinimumValue"), data_type),
                        max=_number(_text(entry, "MaximumValue"), data_type),
                        step=_number(_text(entry, "Spacing"), data_type),
                    )
                )
    default = _number(_text(literal, "DefaultValue"), data_type)
    return data_type, allowed, ranges, default


def _occurs(text: str | None, fallback: int | None) -> int | None:
    if text is None:
        return fallback
    if text.strip().lower() == "unbounded":
        return None
    try:
        return int(text)
    except ValueError:
        return fallback


def _description(element: etree._Element) -> ProcessDescription:
    identifier = _text(element, "Identifier") or ""
    store = (element.get("storeSupported") or "").lower() == "true"
    status = (element.get("statusSupported") or "").lower() == "true"
    inputs: list[Input] = []
    for container in _children(element, "DataInputs"):
        for item in _children(container, "Input"):
            common = {
                "id": _text(item, "Identifier") or "",
                "title": _text(item, "Title") or "",
                "abstract": _text(item, "Abstract") or "",
                "min_occurs": _occurs(item.get("minOccurs"), 1) or 0,
                "max_occurs": _occurs(item.get("maxOccurs"), 1),
            }
            literal = _child(item, "LiteralData")
            complex_data = _child(item, "ComplexData")
            bbox = _child(item, "BoundingBoxData")
            if literal is not None:
                data_type, allowed, ranges, default = _literal_domain(literal)
                inputs.append(
                    Input(
                        **common,
                        kind="literal",
                        data_type=data_type,
                        allowed_values=allowed,
                        ranges=ranges,
                        default=default,
                    )
                )
            elif complex_data is not None:
                inputs.append(Input(**common, kind="complex", formats=_formats(complex_data)))
            elif bbox is not None:
                inputs.append(Input(**common, kind="bbox", crs=_crss(bbox)))
    outputs: list[Output] = []
    for container in _children(element, "ProcessOutputs"):
        for item in _children(container, "Output"):
            common = {
                "id": _text(item, "Identifier") or "",
                "title": _text(item, "Title") or "",
                "abstract": _text(item, "Abstract") or "",
            }
            if _child(item, "ComplexOutput") is not None:
                outputs.append(
                    Output(
                        **common, kind="complex", formats=_formats(_child(item, "ComplexOutput"))
                    )
                )
            elif _child(item, "BoundingBoxOutput") is not None:
                outputs.append(Output(**common, kind="bbox"))
            else:
                outputs.append(Output(**common, kind="literal"))
    return ProcessDescription(
        id=identifier,
        title=_text(element, "Title") or identifier,
        abstract=_text(element, "Abstract") or "",
        version=_attr(element, "processVersion"),
        job_control=["sync", "async"] if store and status else ["sync"],
        inputs=inputs,
        outputs=outputs,
    )


def _about_the_request(exc: EOJLabError) -> bool:
    """The service answered about what was asked (an exception report, processes it did not
    describe), as opposed to not answering: refused connections, timeouts, HTTP errors
    without a report say nothing about a process and are not remembered against it."""
    return isinstance(exc, BadRequest) or "code" in exc.details or "missing" in exc.details


def _reason(message: str) -> str:
    """An adapter sentence as the reason inside another one (its own lead-in dropped)."""
    for lead in ("The WPS service refused the request: ",):
        if message.startswith(lead):
            return message[len(lead) :]
    return message


def _exception_text(report: etree._Element) -> str:
    texts = [" ".join(t.text.split()) for t in _descendants(report, "ExceptionText") if t.text]
    return "; ".join(t for t in texts if t).rstrip(".") or "no reason given"


def _job(root: etree._Element, url: str) -> RemoteJob:
    """An ``ExecuteResponse`` as a job snapshot."""
    if _local(root) != "ExecuteResponse":
        raise UpstreamError(
            f"The WPS service at {_host(url)} did not answer with an execute response.",
            {"url": url, "root": _local(root)},
        )
    status_url = root.get("statusLocation") or None
    job_id = None
    if status_url:
        try:
            job_id = urlsplit(status_url).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")
        except ValueError:  # "http://[::1": the status is asked for there, and refused then
            job_id = None
    status = _child(root, "Status")
    if status is None:
        raise UpstreamError(
            f"The WPS service at {_host(url)} sent an execute response without a status.",
            {"url": url},
        )
    state = next((c for c in status if isinstance(c.tag, str)), None)
    if state is None:
        raise UpstreamError(f"The WPS service at {_host(url)} sent an empty status.", {"url": url})
    name = _local(state)
    message = " ".join((state.text or "").split())
    job = RemoteJob(status="accepted", status_url=status_url, job_id=job_id, message=message)
    if name == "ProcessAccepted":
        job.status, job.progress = "accepted", 0
    elif name in ("ProcessStarted", "ProcessPaused"):
        job.status = "running"
        job.progress = percent(state.get("percentCompleted"))
    elif name == "ProcessSucceeded":
        job.status, job.progress = "successful", 100
        job.results = _results(root)
    elif name == "ProcessFailed":
        job.status = "failed"
        job.error = _exception_text(state)
        job.message = job.error
    else:
        raise UpstreamError(
            f"The WPS service at {_host(url)} sent an unknown status {name!r}.", {"url": url}
        )
    return job


def _results(root: etree._Element) -> list[Result]:
    results: list[Result] = []
    for container in _children(root, "ProcessOutputs"):
        for output in _children(container, "Output"):
            identifier = _text(output, "Identifier") or ""
            reference = _child(output, "Reference")
            if reference is not None:
                results.append(
                    Result(
                        id=identifier,
                        href=reference.get("href") or reference.get(f"{{{XLINK}}}href"),
                        mime_type=reference.get("mimeType"),
                    )
                )
                continue
            data = _child(output, "Data")
            if data is None:
                results.append(Result(id=identifier))
                continue
            literal = _child(data, "LiteralData")
            complex_data = _child(data, "ComplexData")
            bbox = _child(data, "BoundingBoxData")
            if literal is not None:
                results.append(
                    Result(id=identifier, value=_number(literal.text, literal.get("dataType")))
                )
            elif complex_data is not None:
                mime_type = complex_data.get("mimeType")
                elements = [c for c in complex_data if isinstance(c.tag, str)]
                if elements:
                    value: Any = etree.tostring(elements[0], encoding="unicode")
                else:
                    value = complex_data.text or ""
                    if mime_type in _JSON_TYPES or mime_type is None:
                        try:
                            value = json.loads(value)
                        except ValueError:
                            pass
                results.append(Result(id=identifier, value=value, mime_type=mime_type))
            elif bbox is not None:
                results.append(Result(id=identifier, value=_bbox_value(bbox)))
    return results


def _bbox_value(bbox: etree._Element) -> dict[str, Any]:
    crs = bbox.get("crs") or CRS84
    try:
        lower = [float(v) for v in (_text(bbox, "LowerCorner") or "").split()]
        upper = [float(v) for v in (_text(bbox, "UpperCorner") or "").split()]
    except ValueError:
        return {"bbox": None, "crs": crs}
    if len(lower) < 2 or len(upper) < 2:
        return {"bbox": None, "crs": crs}
    if latlon_crs(crs):
        return {"bbox": [lower[1], lower[0], upper[1], upper[0]], "crs": crs}
    return {"bbox": [lower[0], lower[1], upper[0], upper[1]], "crs": crs}
