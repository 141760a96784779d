"""The WPS 1.0.0 adapter against a real PyWPS 4.8 (tests/servers/pywps.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
import pytest_asyncio

from eo_jlab.errors import BadRequest, NotFound, UpstreamError
from eo_jlab.models import ProcessingEndpoint
from eo_jlab.net import HostPolicy, HttpClient
from eo_jlab.processing.base import Exchange, ExecutionRequest, RemoteJob
from eo_jlab.processing.wps import WpsService

from .servers.pywps import POLYGON, pywps_url  # noqa: F401  (session fixture)

pytestmark = pytest.mark.asyncio


def _service(url: str) -> tuple[WpsService, HttpClient]:
    endpoint = ProcessingEndpoint(id="wps", protocol="wps", url=url)
    http = HttpClient(HostPolicy([endpoint]))
    return WpsService(endpoint, http), http


@pytest_asyncio.fixture
async def wps(pywps_url):  # noqa: F811
    service, http = _service(pywps_url)
    yield service
    await service.close()
    await http.aclose()


def _data_url(wps_url: str, name: str) -> str:
    return wps_url.rsplit("/wps", 1)[0] + "/data/" + name


async def _wait(wps: WpsService, job, exchange, timeout: float = 30.0):
    snapshots = [job]
    deadline = time.monotonic() + timeout
    while job.status not in ("successful", "failed"):
        assert time.monotonic() < deadline, f"job still {job.status} after {timeout} s"
        await asyncio.sleep(0.2)
        job = await wps.status(job, exchange)
        snapshots.append(job)
    return job, snapshots


async def test_processes(wps):
    processes = {p.id: p for p in await wps.processes()}
    assert set(processes) == {"echo", "buffer", "slow", "fail"}
    assert all(p.job_control == [] for p in processes.values())  # capabilities alone
    await wps.describe("echo")
    await wps.describe("slow")
    processes = {p.id: p for p in await wps.processes()}
    assert processes["echo"].job_control == ["sync"]
    assert processes["slow"].job_control == ["sync", "async"]
    assert processes["echo"].title == "Echo"
    assert processes["echo"].version == "1.0"
    assert "every kind of input" in processes["echo"].abstract


async def test_describe(wps):
    echo = await wps.describe("echo")
    inputs = {i.id: i for i in echo.inputs}
    message = inputs["message"]
    assert (message.kind, message.data_type) == ("literal", "string")
    assert message.allowed_values == ["hello", "world", "bye"]
    assert (message.min_occurs, message.max_occurs) == (1, 1)
    count = inputs["count"]
    assert count.data_type == "integer"
    assert [r.model_dump() for r in count.ranges] == [{"min": 1, "max": 10, "step": 1}]
    factor = inputs["factor"]
    assert (factor.data_type, factor.default, factor.min_occurs) == ("float", 1.5, 0)
    assert (inputs["tags"].min_occurs, inputs["tags"].max_occurs) == (0, 3)
    area = inputs["area"]
    assert area.kind == "bbox"
    assert area.crs == ["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"]
    geometry = inputs["geometry"]
    assert geometry.kind == "complex"
    assert [(f.mime_type, f.default) for f in geometry.formats] == [
        ("application/geo+json", True),
        ("application/json", False),
    ]
    outputs = {o.id: o for o in echo.outputs}
    assert outputs["summary"].kind == "literal"
    assert outputs["geometry"].kind == "complex"
    assert outputs["geometry"].formats[0].mime_type == "application/geo+json"
    assert echo.model_dump(by_alias=True)["inputs"][5]["formats"][0]["schema"] is None

    with pytest.raises(NotFound):
        await wps.describe("nope")


async def test_describe_unbounded_occurs():
    from lxml import etree

    from eo_jlab.processing.wps import _description

    doc = etree.fromstring(
        b'<ProcessDescription xmlns:ows="http://www.opengis.net/ows/1.1">'
        b"<ows:Identifier>p</ows:Identifier><DataInputs>"
        b'<Input minOccurs="0" maxOccurs="unbounded"><ows:Identifier>x</ows:Identifier>'
        b"<LiteralData><ows:AnyValue/></LiteralData></Input></DataInputs></ProcessDescription>"
    )
    description = _description(doc)
    assert (description.inputs[0].min_occurs, description.inputs[0].max_occurs) == (0, None)


@pytest.mark.parametrize(
    "crs",
    ["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", None],
)
async def test_sync_echo_every_input_kind(wps, crs):
    exchange: list[Exchange] = []
    bbox = {"bbox": [10.5, 45.25, 11.75, 46.5]}
    if crs:
        bbox["crs"] = crs
    request = ExecutionRequest(
        inputs={
            "message": "hello",
            "count": 3,
            "factor": 2.5,
            "tags": ["a", "b"],
            "area": bbox,
            "geometry": {"value": POLYGON, "mime_type": "application/geo+json"},
        },
        mode="auto",
    )
    job = await wps.submit("echo", request, exchange)
    assert job.status == "successful", job
    assert job.status_url is None
    results = {r.id: r for r in job.results}
    summary = json.loads(results["summary"].value)
    assert summary["message"] == "hello"
    assert summary["count"] == 3
    assert summary["factor"] == 2.5
    assert summary["tags"] == ["a", "b"]
    # PyWPS reads the corners in the CRS's own axis order: w, s, e, n whatever the CRS.
    assert summary["bbox"] == [10.5, 45.25, 11.75, 46.5]
    assert summary["geometry_type"] == "Polygon"
    assert results["geometry"].mime_type == "application/geo+json"
    assert results["geometry"].value == POLYGON
    # the exchange: one POST, bodies recorded
    assert len(exchange) == 1
    assert exchange[0].method == "POST" and exchange[0].status == 200
    assert "<wps:Execute" in exchange[0].request_body
    assert "storeExecuteResponse" not in exchange[0].request_body
    assert "ProcessSucceeded" in exchange[0].response_body
    if crs == "urn:ogc:def:crs:EPSG::4326":
        assert "<ows:LowerCorner>45.25 10.5</ows:LowerCorner>" in exchange[0].request_body
    else:
        assert "<ows:LowerCorner>10.5 45.25</ows:LowerCorner>" in exchange[0].request_body


async def test_sync_echo_reference_input_and_default(wps, pywps_url):  # noqa: F811
    exchange: list[Exchange] = []
    request = ExecutionRequest(
        inputs={
            "message": "bye",
            "count": 10,
            "area": {"bbox": [0, 0, 1, 1]},
            "geometry": {
                "href": _data_url(pywps_url, "polygon.geojson"),
                "mime_type": "application/geo+json",
            },
        },
        mode="sync",
    )
    job = await wps.submit("echo", request, exchange)
    assert job.status == "successful", job
    summary = json.loads(next(r for r in job.results if r.id == "summary").value)
    assert summary["factor"] == 1.5  # the default
    assert summary["tags"] == []
    assert summary["geometry_type"] == "Polygon"
    assert "wps:Reference" in exchange[0].request_body


async def test_async_slow_reports_progress(wps):
    exchange: list[Exchange] = []
    job = await wps.submit("slow", ExecutionRequest(inputs={"steps": 5}), exchange)
    assert job.status in ("accepted", "running"), job
    assert job.status_url and job.status_url.endswith(".xml")
    assert job.job_id and job.job_id in job.status_url
    assert 'storeExecuteResponse="true"' in exchange[0].request_body
    job, snapshots = await _wait(wps, job, exchange)
    assert job.status == "successful", job
    assert job.progress == 100
    assert [(r.id, r.value) for r in job.results] == [("done", "finished 5 steps")]
    progress = {s.progress for s in snapshots if s.status == "running" and s.progress}
    assert len(progress) >= 2, [(s.status, s.progress) for s in snapshots]
    assert all(e.method == "GET" and e.status == 200 for e in exchange[1:])
    assert len(exchange) >= len(snapshots)  # a half-written status document is read again


async def test_async_buffer_output_by_reference(wps, pywps_url):  # noqa: F811
    exchange: list[Exchange] = []
    request = ExecutionRequest(
        inputs={"polygon": {"value": POLYGON, "mime_type": "application/geo+json"}},
        outputs={"buffered": {"reference": True, "mime_type": "application/geo+json"}},
        mode="async",
    )
    job = await wps.submit("buffer", request, exchange)
    assert 'asReference="true"' in exchange[0].request_body
    job, _ = await _wait(wps, job, exchange)
    assert job.status == "successful", job
    (result,) = job.results
    assert result.id == "buffered" and result.href and result.value is None
    assert result.mime_type == "application/geo+json"
    answer = await wps.http.get(result.href)
    feature = answer.json()
    assert feature["type"] == "Feature"
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == pytest.approx([9.9, 44.9])
    assert ring[2] == pytest.approx([11.1, 46.1])


async def test_sync_buffer_inline_output(wps):
    job = await wps.submit(
        "buffer",
        ExecutionRequest(inputs={"polygon": POLYGON, "distance": 1.0}, mode="sync"),
        [],
    )
    assert job.status == "successful", job
    (result,) = job.results
    assert result.value["geometry"]["type"] == "Polygon"
    assert result.value["properties"]["distance"] == 1.0


async def test_fail_reports_the_process_message(wps):
    exchange: list[Exchange] = []
    job = await wps.submit("fail", ExecutionRequest(mode="async"), exchange)
    job, _ = await _wait(wps, job, exchange)
    assert job.status == "failed"
    assert "Deliberate failure" in job.error
    assert "fail process always stops here" in job.error

    sync_job = await wps.submit("fail", ExecutionRequest(mode="sync"), [])
    assert sync_job.status == "failed"
    assert "Deliberate failure" in sync_job.error


async def test_bad_input_is_a_400_sentence(wps):
    exchange: list[Exchange] = []
    with pytest.raises(BadRequest) as caught:
        await wps.submit(
            "echo",
            ExecutionRequest(inputs={"message": "hello", "count": 3}, mode="sync"),
            exchange,
        )
    assert caught.value.status == 400
    assert caught.value.message.startswith("The WPS service refused the request")
    assert "MissingParameterValue" in caught.value.message
    assert exchange and exchange[0].status == 400
    assert "ExceptionReport" in exchange[0].response_body

    with pytest.raises(BadRequest) as caught:  # not an allowed value
        await wps.submit(
            "echo",
            ExecutionRequest(
                inputs={
                    "message": "nope",
                    "count": 3,
                    "area": {"bbox": [0, 0, 1, 1]},
                    "geometry": POLYGON,
                },
                mode="sync",
            ),
            [],
        )
    assert "InvalidParameterValue" in caught.value.message

    with pytest.raises(BadRequest, match="no input 'bogus'"):
        await wps.submit("echo", ExecutionRequest(inputs={"bogus": 1}), [])
    with pytest.raises(BadRequest, match="cannot run asynchronously"):
        await wps.submit("echo", ExecutionRequest(mode="async"), [])


async def test_dismiss_is_not_supported(wps):
    job = await wps.submit("slow", ExecutionRequest(inputs={"steps": 1}, mode="async"), [])
    assert await wps.dismiss(job, []) is False


async def test_service_down_is_502():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service, http = _service(f"http://127.0.0.1:{port}/wps")
    try:
        with pytest.raises(UpstreamError) as caught:
            await service.processes()
        assert caught.value.status == 502
    finally:
        await http.aclose()


async def test_exchange_body_is_truncated(wps):
    exchange: list[Exchange] = []
    big = {"type": "Polygon", "coordinates": [[[i * 0.001, 0.0] for i in range(5000)]]}
    job = await wps.submit(
        "echo",
        ExecutionRequest(
            inputs={
                "message": "world",
                "count": 1,
                "area": {"bbox": [0, 0, 1, 1]},
                "geometry": {"value": big, "mime_type": "application/geo+json"},
            },
            mode="sync",
        ),
        exchange,
    )
    assert job.status == "successful", job
    assert len(exchange[0].request_body) == 20_000
    assert len(exchange[0].response_body) == 20_000


async def test_processes_list_in_one_request_then_describe_in_one_batch(pywps_url):  # noqa: F811
    service, http = _service(pywps_url)
    calls: list[str] = []
    original = http.get

    async def counting_get(url, **kwargs):
        calls.append((kwargs.get("params") or {}).get("request", url))
        return await original(url, **kwargs)

    http.get = counting_get
    try:
        listed = await service.processes()
        assert calls == ["GetCapabilities"]  # the list waits for nothing else
        await service._filling  # the background descriptions: the four ids in one request
        assert calls == ["GetCapabilities", "DescribeProcess"]
        await service.processes()  # cached: no more requests
        await service.describe("echo")
        await service._filling
    finally:
        await service.close()
        await http.aclose()
    assert calls == ["GetCapabilities", "DescribeProcess"]
    assert len(listed) == 4


async def test_status_rereads_a_half_written_document():
    import httpx

    from eo_jlab.net import UpstreamResponse

    started = (
        b'<wps:ExecuteResponse xmlns:wps="http://www.opengis.net/wps/1.0.0" '
        b'statusLocation="http://127.0.0.1:1/outputs/abc.xml"><wps:Status>'
        b'<wps:ProcessStarted percentCompleted="40">step 2</wps:ProcessStarted>'
        b"</wps:Status></wps:ExecuteResponse>"
    )
    bodies = [b"", b"<wps:ExecuteRes", started]

    class Stub:
        async def get(self, url, **kwargs):
            return UpstreamResponse(200, httpx.Headers(), bodies.pop(0), url, 0.0)

    endpoint = ProcessingEndpoint(id="wps", protocol="wps", url="http://127.0.0.1:1/wps")
    service = WpsService(endpoint, Stub())
    exchange: list[Exchange] = []
    job = await service.status(
        RemoteJob(status="accepted", status_url="http://127.0.0.1:1/outputs/abc.xml"), exchange
    )
    assert (job.status, job.progress, job.message, job.job_id) == ("running", 40, "step 2", "abc")
    assert len(exchange) == 3
