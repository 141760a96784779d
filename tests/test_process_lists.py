"""WPS process lists from the capabilities alone (issue 13), on a real PyWPS with 50 processes
and one it lists but cannot describe (tests/servers/pywps_many.py). The adapter tests run on
pytest-asyncio's loop; the REST test on the Jupyter server's (no asyncio mark there)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio

from eo_jlab.errors import UpstreamError
from eo_jlab.models import ProcessingEndpoint
from eo_jlab.net import HostPolicy, HttpClient
from eo_jlab.processing.ogcapi import OgcApiService
from eo_jlab.processing.wps import WpsService

from .servers.pygeoapi import pygeoapi_url  # noqa: F401  (session fixture)
from .servers.pywps_many import COUNT, RETIRED, pywps_many  # noqa: F401  (session fixture)

IDS = {f"p{i:02d}" for i in range(COUNT)} | {RETIRED}


@pytest_asyncio.fixture
async def many(pywps_many):  # noqa: F811
    pywps_many.reset()
    endpoint = ProcessingEndpoint(id="many", protocol="wps", url=pywps_many.url)
    http = HttpClient(HostPolicy([endpoint]))
    service = WpsService(endpoint, http)
    yield service
    pywps_many.release_descriptions()
    await service.close()
    await http.aclose()


async def _filled(service: WpsService, timeout: float = 30.0) -> dict:
    """The list once the background descriptions are in (every process known or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = {p.id: p for p in await service.processes()}
        if all(p.job_control or p.error for p in listed.values()):
            return listed
        assert time.monotonic() < deadline, "descriptions still missing"
        await asyncio.sleep(0.1)


@pytest.mark.asyncio
async def test_fifty_processes_list_in_one_request(many, pywps_many):  # noqa: F811
    pywps_many.hold_descriptions()  # a list that waited for any description would hang here
    listed = await asyncio.wait_for(many.processes(), 10)
    assert {p.id for p in listed} == IDS
    assert pywps_many.stats()["getcapabilities"] == 1  # the one request the list waited for
    first = next(p for p in listed if p.id == "p07")
    assert (first.title, first.abstract, first.version) == (
        "Process 07",
        "Test process number 7",
        "2.1",
    )
    assert all(p.job_control == [] and p.error is None for p in listed)
    pywps_many.release_descriptions()
    filled = await _filled(many)
    assert filled["p00"].job_control == ["sync", "async"]
    assert filled["p01"].job_control == ["sync"]
    stats = pywps_many.stats()
    assert stats["getcapabilities"] == 1
    # five batches of ten, the batch with ``retired`` refused, then ``retired`` alone
    assert stats["describeprocess"] <= 7, stats


@pytest.mark.asyncio
async def test_a_process_that_cannot_be_described_leaves_the_others(many):
    listed = {p.id: p for p in await many.processes()}
    assert set(listed) == IDS
    with pytest.raises(UpstreamError) as caught:
        await many.describe(RETIRED)
    assert f"lists the process {RETIRED!r} but could not describe it" in caught.value.message
    assert "Unknown process retired" in caught.value.message
    described = await many.describe("p03")
    assert described.inputs[0].id == "value" and described.job_control == ["sync"]
    filled = await _filled(many)
    assert "could not describe it" in (filled[RETIRED].error or "")
    assert filled[RETIRED].job_control == []
    assert all(p.error is None for i, p in filled.items() if i != RETIRED)


@pytest.fixture
def eo_config(pywps_many):  # noqa: F811
    return {"processing": [{"id": "many", "protocol": "wps", "url": pywps_many.url}]}


async def test_rest_lists_all_and_opening_the_broken_one_is_a_502_sentence(jp_fetch, pywps_many):  # noqa: F811
    pywps_many.reset()

    async def get(*path):
        response = await jp_fetch("eo-jlab", *path, raise_error=False)
        return response.code, json.loads(response.body)

    status, body = await get("processing", "many", "processes")
    assert status == 200 and {p["id"] for p in body["processes"]} == IDS
    assert all("error" not in p for p in body["processes"])
    assert pywps_many.stats()["getcapabilities"] == 1
    status, body = await get("processing", "many", "processes", RETIRED)
    assert status == 502
    assert body["error"].startswith(f"The WPS service lists the process {RETIRED!r}")
    status, body = await get("processing", "many", "processes", "p10")
    assert status == 200 and body["job_control"] == ["sync", "async"]
    deadline = time.monotonic() + 30
    while True:
        status, body = await get("processing", "many", "processes")
        entries = {p["id"]: p for p in body["processes"]}
        if all(p["job_control"] or p.get("error") for p in entries.values()):
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert "could not describe it" in entries[RETIRED]["error"]
    assert entries["p10"]["job_control"] == ["sync", "async"]


@pytest.mark.asyncio
async def test_probe_asks_wps_for_the_one_version_the_adapter_speaks(pywps_many):  # noqa: F811
    """A WPS 2.0-only server must not look fine in the probe: the adapter speaks 1.0.0 only."""
    from eo_jlab.endpoints import _probe_request

    endpoint = ProcessingEndpoint(id="many", protocol="wps", url=pywps_many.url)
    url, options = _probe_request(endpoint)
    assert options["params"]["AcceptVersions"] == "1.0.0"
    http = HttpClient(HostPolicy([endpoint]))
    try:
        response = await http.get(url, **options)
    finally:
        await http.aclose()
    assert response.xml().get("version") == "1.0.0"


@pytest.fixture
def paged_pygeoapi(pygeoapi_url):  # noqa: F811
    """The real pygeoapi behind a loopback proxy that serves its ``/processes`` one process per
    page with ``next`` links (pygeoapi itself does not page that list) and counts requests."""
    hits: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            path, _, query = self.path.partition("?")
            hits.append(path)
            if path != "/processes":
                return self._send(404, {"description": "only the list is proxied"})
            with urllib.request.urlopen(f"{pygeoapi_url}/processes?f=json", timeout=10) as up:
                processes = json.loads(up.read())["processes"]
            page = int(dict(parse_qsl(query)).get("page", "1"))
            body = {"processes": processes[page - 1 : page], "links": []}
            if page < len(processes):
                body["links"].append(
                    {"rel": "next", "type": "application/json", "href": f"?page={page + 1}"}
                )
            return self._send(200, body)

        def _send(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.asyncio
async def test_ogcapi_list_follows_pages_and_describes_nothing(paged_pygeoapi):
    url, hits = paged_pygeoapi
    endpoint = ProcessingEndpoint(id="ades", protocol="ogcapi", url=url)
    http = HttpClient(HostPolicy([endpoint]))
    try:
        listed = {p.id: p for p in await OgcApiService(endpoint, http).processes()}
    finally:
        await http.aclose()
    assert {"hello-world", "slow", "fail"} <= set(listed)
    assert set(listed["hello-world"].job_control) == {"sync", "async"}
    assert hits == ["/processes"] * len(listed)  # one request per page, no description


@pytest_asyncio.fixture
async def flaky(pywps_many):  # noqa: F811
    """The 50-process PyWPS behind a loopback proxy whose DescribeProcess answers 503 with no
    report while ``down`` is set (an outage), and forwards every request otherwise."""
    pywps_many.reset()
    state = {"down": True, "refused": 0}

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            query = dict(parse_qsl(self.path.partition("?")[2]))
            if state["down"] and query.get("request") == "DescribeProcess":
                state["refused"] += 1
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            upstream = pywps_many.url + "?" + self.path.partition("?")[2]
            try:
                with urllib.request.urlopen(upstream, timeout=10) as up:
                    status, data = up.status, up.read()
            except urllib.error.HTTPError as error:  # exception reports pass through as sent
                status, data = error.code, error.read()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = ProcessingEndpoint(
        id="flaky", protocol="wps", url=f"http://127.0.0.1:{server.server_address[1]}/wps"
    )
    http = HttpClient(HostPolicy([endpoint]))
    service = WpsService(endpoint, http)
    try:
        yield service, state
    finally:
        await service.close()
        await http.aclose()
        server.shutdown()
        server.server_close()


@pytest.mark.asyncio
async def test_an_outage_while_describing_marks_no_process(flaky):
    """Descriptions that fail because the service does not answer are not remembered against
    the processes: the list shows no error, and once the service is back they fill in."""
    service, state = flaky
    await service.processes()
    deadline = time.monotonic() + 10
    while state["refused"] == 0:  # the background describing met the outage
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    listed = await service.processes()
    assert all(p.error is None for p in listed), [p.error for p in listed if p.error][:2]
    assert state["refused"] == 1  # it stopped at the first unanswered batch
    state["down"] = False
    filled = await _filled(service)
    assert all(p.job_control for i, p in filled.items() if i != RETIRED)
    assert all(p.error is None for i, p in filled.items() if i != RETIRED)
