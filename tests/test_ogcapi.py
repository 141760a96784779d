"""The OGC API – Processes adapter against a real pygeoapi 0.21 (tests/servers/pygeoapi.py).

Progress: pygeoapi itself only reports ``accepted`` (5 %) until the process returns, then 95 %
and 100 %. The ``slow`` test process writes its own progress into its job record, so the
intermediate ``running`` states seen here come from the server's job documents.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
import pytest_asyncio

from eo_jlab.errors import BadRequest, NotFound, UpstreamError
from eo_jlab.models import ProcessingEndpoint
from eo_jlab.net import HostPolicy, HttpClient, UpstreamResponse
from eo_jlab.processing.base import ExecutionRequest, RemoteJob
from eo_jlab.processing.ogcapi import OgcApiService, execute_body, parse_results

from .servers.pygeoapi import pygeoapi_url  # noqa: F401  (session fixture)


def _service(url: str) -> OgcApiService:
    endpoint = ProcessingEndpoint(id="ades", protocol="ogcapi", url=url)
    return OgcApiService(endpoint, HttpClient(HostPolicy([endpoint])))


@pytest_asyncio.fixture
async def ades(pygeoapi_url):  # noqa: F811
    service = _service(pygeoapi_url)
    yield service
    await service.http.aclose()


async def _until_final(service, job: RemoteJob, exchange, timeout=30.0):
    seen = []
    deadline = time.monotonic() + timeout
    while job.status not in ("successful", "failed", "dismissed"):
        assert time.monotonic() < deadline, f"job still {job.status} after {timeout} s"
        await asyncio.sleep(0.2)
        job = await service.status(job, exchange)
        seen.append((job.status, job.progress, job.message))
    return job, seen


@pytest.mark.asyncio
async def test_processes(ades):
    found = {p.id: p for p in await ades.processes()}
    assert {"hello-world", "slow", "fail"} <= set(found)
    hello = found["hello-world"]
    assert hello.title == "Hello World"
    assert hello.version == "0.2.0"
    assert "echoes" in hello.abstract
    assert set(hello.job_control) == {"sync", "async"}


@pytest.mark.asyncio
async def test_describe_hello_world(ades):
    d = await ades.describe("hello-world")
    inputs = {i.id: i for i in d.inputs}
    assert inputs["name"].kind == "literal"
    assert inputs["name"].data_type == "string"
    assert (inputs["name"].min_occurs, inputs["name"].max_occurs) == (1, 1)
    assert inputs["message"].min_occurs == 0
    [echo] = d.outputs
    assert echo.id == "echo" and echo.kind == "complex"
    assert [f.mime_type for f in echo.formats] == ["application/json"]


@pytest.mark.asyncio
async def test_describe_schemas(ades):
    d = await ades.describe("slow")
    inputs = {i.id: i for i in d.inputs}
    steps = inputs["steps"]
    assert (steps.kind, steps.data_type, steps.default) == ("literal", "integer", 6)
    assert [(r.min, r.max) for r in steps.ranges] == [(1, 20)]
    assert inputs["colour"].allowed_values == ["red", "green", "blue"]
    assert inputs["tags"].max_occurs is None
    area = inputs["area"]
    assert area.kind == "bbox"
    assert area.crs == [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
    ]
    data = inputs["data"]
    assert data.kind == "complex"
    assert [(f.mime_type, f.default) for f in data.formats] == [("application/geo+json", True)]
    with pytest.raises(NotFound):
        await ades.describe("no-such-process")


@pytest.mark.asyncio
async def test_sync_execute_and_exchange(ades):
    exchange = []
    request = ExecutionRequest(inputs={"name": "Ada", "message": "hi"}, mode="sync")
    job = await ades.submit("hello-world", request, exchange)
    assert job.status == "successful"
    [result] = job.results
    assert (result.id, result.value) == ("echo", "Hello Ada! hi")
    [post] = exchange
    assert post.method == "POST" and post.url.endswith("/processes/hello-world/execution")
    assert json.loads(post.request_body) == {"inputs": {"name": "Ada", "message": "hi"}}
    assert post.status == 200 and "Hello Ada!" in post.response_body


@pytest.mark.asyncio
async def test_auto_mode_follows_the_process_preference(ades):
    exchange = []
    job = await ades.submit("hello-world", ExecutionRequest(inputs={"name": "Bo"}), exchange)
    # pygeoapi lists sync-execute first: auto runs synchronously after reading the description.
    assert [e.method for e in exchange] == ["GET", "POST"]
    assert job.status == "successful" and job.results[0].value == "Hello Bo!"


@pytest.mark.asyncio
async def test_async_execute_with_progress(ades):
    exchange = []
    request = ExecutionRequest(inputs={"steps": 6}, mode="async")
    job = await ades.submit("slow", request, exchange)
    assert job.status in ("accepted", "running")
    assert job.status_url and job.status_url.endswith(f"/jobs/{job.job_id}")
    post = exchange[0]
    assert post.status == 201 and post.response_body == "null"  # the job URL is in Location
    job, seen = await _until_final(ades, job, exchange)
    assert job.status == "successful", seen
    running = {p for s, p, _ in seen if s == "running" and p is not None and p < 100}
    assert len(running) >= 2, seen
    assert any("step" in m for _, _, m in seen)
    assert [(r.id, r.value) for r in job.results] == [("count", 6)]
    assert "/results" in exchange[-1].url and exchange[-1].status == 200


@pytest.mark.asyncio
async def test_async_failure_carries_the_process_message(ades):
    exchange = []
    request = ExecutionRequest(inputs={"reason": "the river is dry"}, mode="async")
    job = await ades.submit("fail", request, exchange)
    job, _ = await _until_final(ades, job, exchange)
    assert job.status == "failed"
    assert "the river is dry" in job.message and "the river is dry" in job.error


@pytest.mark.asyncio
async def test_dismiss(ades):
    exchange = []
    job = await ades.submit("slow", ExecutionRequest(inputs={"steps": 4}, mode="async"), exchange)
    assert await ades.dismiss(job, exchange) is True
    assert exchange[-1].method == "DELETE" and exchange[-1].status == 200
    # pygeoapi forgets a dismissed job (its worker still runs to the end).
    job = await ades.status(job, exchange)
    assert job.status == "dismissed"


@pytest.mark.asyncio
async def test_bad_input_is_a_400_sentence(ades):
    with pytest.raises(BadRequest) as caught:
        await ades.submit("hello-world", ExecutionRequest(inputs={}, mode="sync"), [])
    assert caught.value.status == 400
    assert caught.value.message == (
        "The service refused to run hello-world: "
        "Error executing process: Cannot process without a name."
    )


@pytest.mark.asyncio
async def test_service_down_is_502():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = _service(f"http://127.0.0.1:{port}")
    exchange = []
    try:
        with pytest.raises(UpstreamError) as caught:
            await service.processes()
        assert caught.value.status == 502 and "connection refused" in caught.value.message
        with pytest.raises(UpstreamError):
            await service.submit("x", ExecutionRequest(mode="sync"), exchange)
        assert exchange[0].status is None and "refused" in exchange[0].response_body
    finally:
        await service.http.aclose()


def test_execute_body_maps_the_contract_forms():
    request = ExecutionRequest(
        inputs={
            "plain": 3,
            "many": ["a", "b"],
            "ref": {"href": "https://example.org/a.tif", "mime_type": "image/tiff"},
            "inline": {"value": {"type": "Point"}, "mime_type": "application/geo+json"},
            "bare": {"value": "x"},
            "box": {"bbox": [1, 2, 3, 4], "crs": "EPSG:4326"},
            "refs": [{"href": "https://example.org/1"}, {"href": "https://example.org/2"}],
        },
        outputs={"out": {"mime_type": "image/png", "reference": True}},
    )
    assert execute_body(request) == {
        "inputs": {
            "plain": 3,
            "many": ["a", "b"],
            "ref": {"href": "https://example.org/a.tif", "type": "image/tiff"},
            "inline": {"value": {"type": "Point"}, "mediaType": "application/geo+json"},
            "bare": "x",
            "box": {"bbox": [1, 2, 3, 4], "crs": "EPSG:4326"},
            "refs": [{"href": "https://example.org/1"}, {"href": "https://example.org/2"}],
        },
        "outputs": {"out": {"format": {"mediaType": "image/png"}, "transmissionMode": "reference"}},
    }


def _response(body, content_type="application/json") -> UpstreamResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return UpstreamResponse(
        200, httpx.Headers({"content-type": content_type}), content, "http://x/", 0.0
    )


def test_results_documents():
    doc = {
        "a": {"href": "https://example.org/a.tif", "type": "image/tiff"},
        "b": {"value": 5, "mediaType": "application/json"},
        "c": "plain",
    }
    assert [(r.id, r.href, r.value, r.mime_type) for r in parse_results(_response(doc))] == [
        ("a", "https://example.org/a.tif", None, "image/tiff"),
        ("b", None, 5, "application/json"),
        ("c", None, "plain", None),
    ]
    pygeoapi_doc = {"outputs": [{"id": "echo", "value": "hi"}]}
    assert [(r.id, r.value) for r in parse_results(_response(pygeoapi_doc))] == [("echo", "hi")]
    raw = parse_results(_response(b"<x/>", "application/xml"), ["out"])
    assert [(r.id, r.value, r.mime_type) for r in raw] == [("out", "<x/>", "application/xml")]


class FakeHttp:
    """Answers from a dict ``{(method, url): (status, body)}`` (pygeoapi never pages)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    async def request(self, method, url, **kwargs):
        self.calls.append((method, url))
        status, body = self.answers[(method, url)]
        content = json.dumps(body).encode()
        headers = httpx.Headers({"content-type": "application/json"})
        return UpstreamResponse(status, headers, content, url, 0.0)


def _fake(answers) -> OgcApiService:
    endpoint = ProcessingEndpoint(id="ades", protocol="ogcapi", url="http://ades.test/")
    return OgcApiService(endpoint, FakeHttp(answers))


@pytest.mark.asyncio
async def test_processes_follow_next_links_bounded():
    base = "http://ades.test/processes"
    page = {"id": "p1", "jobControlOptions": ["async-execute"]}
    service = _fake(
        {
            ("GET", base): (200, {"processes": [page], "links": [{"rel": "next", "href": "?p=2"}]}),
            ("GET", base + "?p=2"): (
                200,
                {
                    "processes": [{"id": "p2", "title": "Two"}],
                    # a server that links a page to itself must not loop forever
                    "links": [{"rel": "next", "href": base + "?p=2", "type": "application/json"}],
                },
            ),
        }
    )
    found = await service.processes()
    assert [(p.id, p.job_control) for p in found] == [("p1", ["async"]), ("p2", ["sync"])]
    assert len(service.http.calls) == 20  # MAX_PAGES


@pytest.mark.asyncio
async def test_ogc_exceptions_become_sentences():
    url = "http://ades.test/processes/p/execution"
    problem = {"type": "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/x"}
    service = _fake(
        {
            ("POST", url): (
                400,
                {"type": "InvalidParameterValue", "title": "Bad", "detail": "bbox is inverted"},
            ),
            ("GET", "http://ades.test/jobs/j"): (500, problem),
        }
    )
    exchange = []
    with pytest.raises(BadRequest) as caught:
        await service.submit("p", ExecutionRequest(inputs={"x": 1}, mode="async"), exchange)
    assert caught.value.message == "The service refused to run p: bbox is inverted."
    assert exchange[0].status == 400 and "inverted" in exchange[0].response_body
    with pytest.raises(UpstreamError) as caught:
        await service.status(RemoteJob(status="accepted", job_id="j"), exchange)
    assert caught.value.status == 502
    assert caught.value.message == (
        "The service at ades.test answered HTTP 500 to the job status request: x."
    )


@pytest.mark.asyncio
async def test_exchange_bodies_are_truncated():
    url = "http://ades.test/jobs/j"
    service = _fake({("GET", url): (200, {"status": "running", "message": "x" * 50_000})})
    exchange = []
    job = await service.status(RemoteJob(status="accepted", status_url=url), exchange)
    assert job.status == "running" and len(job.message) == 50_000
    assert len(exchange[0].response_body) == 20_001  # 20,000 characters and an ellipsis
