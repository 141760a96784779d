"""Attack suite, issue 18 (outside review), network part: findings 1 and 5 and the network
hardening, through the real code paths (pytest-jupyter's server, eo_jlab's handlers, adapters
and its one HTTP client) against scripted loopback services (tests/servers/hostile.py).

1. Proxied bodies get one fixed type from one allow-list (eo_jlab/proxied.py):
   a. a quicklook answered as ``image/png, text/html``, with two Content-Type headers, as
      ``text/html`` or SVG is refused with a 502 sentence; real raster types are sent with
      eo_jlab's own spelling (``image/jpg`` -> ``image/jpeg``), always ``nosniff``:
      test_quicklook_types_are_one_fixed_image_type;
   b. a job result answered with such types is an application/octet-stream attachment, never
      text/html (a guard: the result proxy already had an exact list):
      test_result_types_are_one_fixed_type.
2. Upstream values that used to escape as 500s or strand jobs:
   a. a redirect to ``http:\\\\host\\path`` (and to port 99999): quicklook 502 sentence, an OGC
      API job following it ends failed with a sentence:
      test_unparsable_redirect_is_502_and_fails_the_job;
   b. OGC API ``"progress"``: 1e999, NaN, -5, "abc"; WPS ``percentCompleted``: "²" and a
      5,000-digit number: the job runs on (progress ignored or clamped), then ends:
      test_hostile_progress_values_never_strand_a_job;
   c. a WPS ``statusLocation`` no URL parser takes ("http://[::1"): the execution is 201 and
      the job fails with a sentence (it was a 500):
      test_wps_unparsable_status_location_fails_the_job;
   d. a poll raising an error no adapter expected (a bug) fails the job after three tries
      with a sentence: test_unexpected_poll_errors_fail_the_job;
   e. catalogues: OpenSearch ``totalResults`` 1e999 and a NaN cloud cover, a STAC property
      NaN or 1e999 (answered as null: the browser's JSON has no such numbers), a CSW
      reference "http://[::1", a date-time of year 1 with a positive offset (a service's or
      a search's): answers or 400 sentences, never a 500:
      test_hostile_catalogue_values_are_answers_or_sentences.
3. Logs: a 500 on a request authenticated with ``?token=`` does not log the token
   (test_uncaught_error_does_not_log_the_token); upstream URLs' query strings (presigned
   signatures) appear in no log line (test_log_lines_carry_no_query_strings).
4. Per-host connection limits: with every slot of one hanging host taken, a request to
   another host is answered, and one more to the hanging host times out within its own
   deadline: test_one_slow_host_does_not_starve_another (HttpClient on loopback servers);
   the limit is c.EOJLab.max_connections_per_host: test_per_host_limit_is_configured.
5. A FIFO named ``x.png`` as a local catalogue's quicklook, or ``child.json`` as one of its
   documents: a 502 sentence (the document skipped) at once, and no thread left reading it:
   test_fifo_in_a_local_catalogue_is_refused_quickly.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import time
from pathlib import Path

import pytest

from eo_jlab.errors import UpstreamTimeout
from eo_jlab.net import HostPolicy, HttpClient
from eo_jlab.processing.ogcapi import OgcApiService

from .servers.faulty import wps_status
from .servers.hostile import Answer, Scripted
from .test_attacks import (  # noqa: F401 (fixtures)
    CSW_CAPABILITIES,
    call,
    hostile,
    monitor,
    opensearch_description,
    redirect_to,
    stac_landing,
    until,
    wps_route,
)

HTML = b"<html><head><meta http-equiv=refresh content='0;url=https://evil.test/'></head>" + (
    b"<body><form action=https://evil.test/><input name=password></form>"
    b"<script>window.__pwned=1</script></body></html>"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
SIGNATURE = "X-Amz-Signature=5ec2e7a7b0c0ffee"
PER_HOST = 20  # the default of c.EOJLab.max_connections_per_host


@pytest.fixture
def local_catalogue(tmp_path) -> Path:
    """A local static catalogue whose folder holds FIFOs named like an image and a child."""
    folder = tmp_path / "local-catalogue"
    folder.mkdir()
    (folder / "catalog.json").write_text(json.dumps({
        "type": "Catalog", "id": "local", "stac_version": "1.0.0", "description": "fifos",
        "links": [{"rel": "child", "href": "./child.json"}],
    }))  # fmt: skip
    os.mkfifo(folder / "x.png")
    os.mkfifo(folder / "child.json")
    os.mkfifo(folder / "root.json")  # a catalogue whose root itself is a FIFO
    return folder


@pytest.fixture
def eo_config(hostile, local_catalogue):  # noqa: F811
    h = hostile.url
    return {
        "catalogues": [
            {"id": "stac", "protocol": "stac", "url": h("/stac")},
            {"id": "local", "protocol": "static", "url": str(local_catalogue / "catalog.json")},
            {"id": "fiforoot", "protocol": "static", "url": str(local_catalogue / "root.json")},
            {"id": "os", "protocol": "opensearch", "url": h("/os.xml")},
            {"id": "csw", "protocol": "csw", "url": h("/csw")},
        ],
        "processing": [
            {"id": "ogc", "protocol": "ogcapi", "url": h("/ogc")},
            {"id": "wps", "protocol": "wps", "url": h("/wps")},
        ],
        "request_timeout": 20.0,
        "max_connections_per_host": 7,
    }


@pytest.fixture
def raw(jp_fetch):
    """GET an eo-jlab route: (status, headers, body bytes); never a 500 or a traceback."""

    async def get(*path, params=None):
        response = await jp_fetch("eo-jlab", *path, raise_error=False, params=params)
        assert response.code != 500 and b"Traceback" not in response.body, response.body
        return response.code, response.headers, response.body

    return get


def assert_sentence(body: bytes) -> str:
    parsed = json.loads(body)
    assert set(parsed) == {"error", "details"}, parsed
    error = parsed["error"]
    assert error.endswith(".") and "\n" not in error, error
    return error


async def job_ends(call, job_id: str, timeout: float = 20.0) -> dict:  # noqa: F811
    """The job once final (a short guard: a stranded job fails the test, not the run)."""

    async def final():
        status, job, text = await call("jobs", job_id)
        assert status == 200, text
        return job if job["status"] in ("successful", "failed", "dismissed") else None

    return await until(final, timeout=timeout)


HOSTILE_TYPES = {
    "list": {"content_type": "image/png, text/html"},
    "doubled": {"content_type": "image/png", "headers": {"content-type": "text/html"}},
    "html": {"content_type": "text/html"},
    "svg": {"content_type": "image/svg+xml"},
    "param-list": {"content_type": "image/png; a=b, text/html"},
    "quoted": {"content_type": 'image/png; x="a,text/html"'},
}


# --- 1. one fixed type for every proxied body ------------------------------------------------


async def test_quicklook_types_are_one_fixed_image_type(raw, hostile):  # noqa: F811
    for name, answer in HOSTILE_TYPES.items():
        hostile.answer(f"/ql/{name}", HTML, **answer)
        status, headers, body = await raw(
            "catalogues", "stac", "quicklook", params={"href": hostile.url(f"/ql/{name}")}
        )
        assert status == 502, (name, status, headers.get("Content-Type"), body[:80])
        assert "is not a raster image" in assert_sentence(body), body
    good = (("image/png", "image/png"), ("IMAGE/PNG", "image/png"),
            ("image/jpg", "image/jpeg"), ("image/webp; q=1", "image/webp"))  # fmt: skip
    for sent, expected in good:
        hostile.answer("/ql/good", PNG, content_type=sent)
        status, headers, body = await raw(
            "catalogues", "stac", "quicklook", params={"href": hostile.url("/ql/good")}
        )
        assert status == 200 and body == PNG, (sent, status, body[:80])
        assert headers["Content-Type"] == expected, sent
        assert headers["X-Content-Type-Options"] == "nosniff"


async def test_result_types_are_one_fixed_type(raw, call, hostile):  # noqa: F811
    for name, answer in HOSTILE_TYPES.items():
        hostile.answer(f"/res/{name}", HTML, **answer)
        hostile.answer(
            "/ogc/processes/count/execution",
            {"out": {"href": hostile.url(f"/res/{name}"), "type": "image/png, text/html"}},
        )
        status, job, text = await call(
            "processing", "ogc", "processes", "count", "execution", method="POST",
            body={"inputs": {}, "mode": "sync"},
        )  # fmt: skip
        assert status == 200 and job["status"] == "successful", text
        status, headers, body = await raw("jobs", job["id"], "results", "out")
        assert status == 200, (name, body[:80])
        assert headers["Content-Type"] == "application/octet-stream", (name, headers)
        assert headers["Content-Disposition"].startswith("attachment;"), name
        assert headers["X-Content-Type-Options"] == "nosniff"


# --- 2. upstream values: a sentence and a final job state ---------------------------------


async def test_unparsable_redirect_is_502_and_fails_the_job(raw, call, hostile, monitor):  # noqa: F811
    for location in ("http:\\\\127.0.0.1\\x.png", "http://127.0.0.1:99999/x.png"):
        via = redirect_to(hostile, location)
        status, _, body = await raw("catalogues", "stac", "quicklook", params={"href": via})
        assert status == 502, body
        error = assert_sentence(body)
        assert "redirected to" in error and "127.0.0.1:99999/" not in error, error

        hostile.answer("/ogc/processes/count/execution", b"null", 201, headers={"Location": via})
        status, job, text = await call(
            "processing", "ogc", "processes", "count", "execution", method="POST",
            body={"inputs": {}, "mode": "async"},
        )  # fmt: skip
        assert status == 201, text
        job = await job_ends(call, job["id"])
        assert job["status"] == "failed", job
        assert job["message"].startswith("The service stopped answering:"), job
        assert "redirected to" in job["message"] and job["message"].endswith("."), job


async def test_hostile_progress_values_never_strand_a_job(call, hostile, monitor):  # noqa: F811
    """Each job reports a hostile progress while running (it must be seen running: the poll
    did not blow up), then succeeds."""
    reports = {"1e999": None, "-1e999": None, "NaN": None, "-5": 0, '"abc"': None,
               "true": None, '"250"': 100}  # fmt: skip
    state: dict[str, str] = {}
    for i, (progress, expected) in enumerate(reports.items()):
        path = f"/ogc/jobs/p{i}"
        state[path] = "running"
        hostile.routes[path] = lambda r, progress=progress, path=path: Answer(
            f'{{"jobID": "p", "status": "{state[path]}", "progress": {progress}}}'.encode()
        )
        hostile.answer(f"{path}/results", {"out": 1})
        hostile.answer("/ogc/processes/count/execution", b"null", 201,
                       headers={"Location": "{base}" + path})  # fmt: skip
        status, job, text = await call(
            "processing", "ogc", "processes", "count", "execution", method="POST",
            body={"inputs": {}, "mode": "async"},
        )  # fmt: skip
        assert status == 201, text

        async def running(job_id=job["id"]):
            _, seen, _ = await call("jobs", job_id)
            assert seen["status"] != "failed", seen
            return seen if seen["status"] == "running" else None

        seen = await until(running, timeout=20)
        assert seen["progress"] == expected, (progress, seen)
        state[path] = "successful"
        assert (await job_ends(call, job["id"]))["status"] == "successful", progress

    # WPS percentCompleted: text that str.isdigit() takes but int() does not.
    for i, percent in enumerate(("²", "9" * 5000)):
        started = f'<wps:ProcessStarted percentCompleted="{percent}">Counting</wps:ProcessStarted>'
        done = "<wps:ProcessSucceeded>Done</wps:ProcessSucceeded>"
        status_path = f"/wps-status/p{i}.xml"
        state[status_path] = started
        hostile.routes[status_path] = lambda r, p=status_path: Answer(
            wps_status(hostile.url(p), state[p]), content_type="text/xml"
        )
        hostile.routes["/wps"] = wps_route(
            lambda r, p=status_path: Answer(
                wps_status(hostile.url(p), "<wps:ProcessAccepted>Q</wps:ProcessAccepted>"),
                content_type="text/xml",
            )
        )
        status, job, text = await call(
            "processing", "wps", "processes", "count", "execution", method="POST",
            body={"inputs": {"n": 1}, "mode": "async"},
        )  # fmt: skip
        assert status == 201, text

        async def running(job_id=job["id"]):
            _, seen, _ = await call("jobs", job_id)
            assert seen["status"] != "failed", seen
            return seen if seen["status"] == "running" else None

        seen = await until(running, timeout=20)
        assert seen["progress"] is None, seen
        state[status_path] = done
        assert (await job_ends(call, job["id"]))["status"] == "successful", percent


async def test_wps_unparsable_status_location_fails_the_job(call, hostile, monitor):  # noqa: F811
    hostile.routes["/wps"] = wps_route(
        lambda r: Answer(
            wps_status("http://[::1/status.xml", "<wps:ProcessAccepted>Q</wps:ProcessAccepted>"),
            content_type="text/xml",
        )
    )
    status, job, text = await call(
        "processing", "wps", "processes", "count", "execution", method="POST",
        body={"inputs": {"n": 1}, "mode": "async"},
    )  # fmt: skip
    assert status == 201, text
    job = await job_ends(call, job["id"])
    assert job["status"] == "failed", job
    assert job["message"].startswith("eo-jlab cannot follow this job: Not a valid URL"), job


async def test_unexpected_poll_errors_fail_the_job(call, hostile, monitor, monkeypatch):  # noqa: F811
    """A bug in an adapter (here: a status method raising ZeroDivisionError) must not leave
    the job polled for ever: the third such poll in a row fails it with a sentence."""

    async def broken(self, job, exchange):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(OgcApiService, "status", broken)
    hostile.answer("/ogc/processes/count/execution", b"null", 201,
                   headers={"Location": "{base}/ogc/jobs/bug"})  # fmt: skip
    status, job, text = await call(
        "processing", "ogc", "processes", "count", "execution", method="POST",
        body={"inputs": {}, "mode": "async"},
    )  # fmt: skip
    assert status == 201, text
    job = await job_ends(call, job["id"])
    assert job["status"] == "failed", job
    assert job["message"] == (
        "eo-jlab could not follow this job: reading the service's answer failed 3 times "
        "(ZeroDivisionError); the server log has the details."
    ), job


def strict_json(text: str):
    """JSON as a browser reads it: NaN and Infinity are not numbers there."""

    def refuse(constant):
        raise AssertionError(f"{constant} in the answer: no browser parses it")

    return json.loads(text, parse_constant=refuse)


CSW_RECORDS = (
    '<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dct="http://purl.org/dc/terms/" '
    'version="2.0.2"><csw:SearchStatus timestamp="2026-01-01T00:00:00Z"/>'
    '<csw:SearchResults numberOfRecordsMatched="1" numberOfRecordsReturned="1" nextRecord="0" '
    'elementSet="full"><csw:Record><dc:identifier>r1</dc:identifier><dc:title>T</dc:title>'
    "<dc:date>0001-01-01T00:00:00+01:00</dc:date>"
    '<dct:references scheme="thumbnail">http://[::1/x.png</dct:references></csw:Record>'
    "</csw:SearchResults></csw:GetRecordsResponse>"
)


async def test_hostile_catalogue_values_are_answers_or_sentences(call, hostile):  # noqa: F811
    hostile.answer(
        "/os.xml",
        opensearch_description("{base}/os/results?q={searchTerms?}"),
        content_type="application/opensearchdescription+xml",
    )
    hostile.answer(
        "/os/results",
        '{"type": "FeatureCollection", "properties": {"totalResults": 1e999}, "features": ['
        '{"type": "Feature", "id": "a", "geometry": null, "properties": {"title": "t", '
        '"cloudCover": NaN, "date": "0001-01-01T00:00:00+01:00"}}]}',
        content_type="application/geo+json",
    )
    status, page, text = await call("catalogues", "os", "search", method="POST", body={})
    assert status == 200 and [f["id"] for f in strict_json(text)["features"]] == ["a"], text

    hostile.answer("/stac", stac_landing())
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "nan", "collection": "c",
            "geometry": None, "bbox": None, "links": [], "assets": {},
            "properties": {"datetime": "2024-01-01T00:00:00Z", "eo:cloud_cover": "@NaN",
                           "big": "@1e999"}}  # fmt: skip
    page_text = json.dumps({"type": "FeatureCollection", "features": [item], "links": []})
    page_text = page_text.replace('"@NaN"', "NaN").replace('"@1e999"', "1e999")
    hostile.answer("/stac/search", page_text, content_type="application/geo+json")
    status, page, text = await call(
        "catalogues", "stac", "search", method="POST", body={"limit": 5}
    )
    assert status == 200, text
    properties = strict_json(text)["features"][0]["properties"]
    assert properties["cloud_cover"] is None and properties["big"] is None, properties

    def csw(request: dict) -> Answer:
        if request["query"].get("request") == "GetCapabilities":
            return Answer(CSW_CAPABILITIES, content_type="application/xml")
        return Answer(CSW_RECORDS, content_type="application/xml")

    hostile.routes["/csw"] = csw
    status, page, text = await call("catalogues", "csw", "search", method="POST", body={})
    assert status == 200, text
    assert strict_json(text)["features"][0]["thumbnail"] == "http://[::1/x.png", text

    status, body, text = await call(
        "catalogues", "stac", "search", method="POST",
        body={"datetime": "0001-01-01T00:00:00+01:00"},
    )  # fmt: skip
    assert status == 400 and "is not an RFC 3339 date-time" in body["error"], text


# --- 3. logs -------------------------------------------------------------------------------


async def test_uncaught_error_does_not_log_the_token(jp_fetch, jp_serverapp, caplog, monkeypatch):
    """A 500 (a bug, provoked here) on a request authenticated by ``?token=``: the traceback
    is logged, the token is not."""
    token = jp_serverapp.identity_provider.token
    catalogues = jp_serverapp.web_app.settings["eo_jlab_services"].catalogues

    def broken(catalogue_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr(catalogues, "get", broken)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    response = await jp_fetch(
        "eo-jlab", "catalogues", "stac", "collections", raise_error=False,
        params={"token": token, "other": "x"}, headers={"Authorization": ""},
    )  # fmt: skip
    assert response.code == 500, response.body
    assert "Traceback" not in response.body.decode()
    logged = caplog.text
    assert "RuntimeError: a bug" in logged  # the traceback is there...
    assert token not in logged, logged  # ... the credential is not


async def test_log_lines_carry_no_query_strings(call, hostile, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    hostile.answer("/ql/missing", {"description": "no"}, 404)
    hostile.answer("/ql/gone", {"description": "no"}, 410)
    hrefs = (
        hostile.url(f"/ql/missing?{SIGNATURE}"),
        redirect_to(hostile, hostile.url(f"/ql/gone?{SIGNATURE}")),
        f"http://[::1/x.png?{SIGNATURE}",
        hostile.url(f"/ql/x.png?{SIGNATURE}").replace("http://", "ftp://"),
    )
    for href in hrefs:
        status, body, text = await call("catalogues", "stac", "quicklook", params={"href": href})
        assert status in (400, 403, 502), text
    assert "eo_jlab GET" in caplog.text  # the warning lines are there...
    assert SIGNATURE.split("=")[1] not in caplog.text, caplog.text  # ... without the query


# --- 4. per-host connection limits ---------------------------------------------------------


async def test_one_slow_host_does_not_starve_another():
    """The shared pool has 100 connections: 110 requests hang on one host; a request to a
    second host is still answered while they all wait, and one more request to the hanging
    host ends with its own deadline (waiting for a slot counts)."""
    accepted: list[asyncio.StreamWriter] = []
    handlers: list[asyncio.Task] = []

    async def hang(reader, writer):
        accepted.append(writer)
        handlers.append(asyncio.current_task())
        await asyncio.sleep(3600)

    slow = await asyncio.start_server(hang, "127.0.0.1", 0, backlog=200)
    fast = Scripted().start()
    fast.answer("/ok", {"ok": True})
    client = HttpClient(HostPolicy([], ["127.0.0.1"]), timeout=60)
    slow_url = f"http://127.0.0.1:{slow.sockets[0].getsockname()[1]}/hang"
    waiting = [asyncio.ensure_future(client.get(slow_url)) for _ in range(110)]
    try:

        async def taken():
            return len(accepted) >= PER_HOST

        await until(taken, timeout=20, every=0.05)
        answer = await asyncio.wait_for(client.get(fast.url("/ok")), 15)
        assert answer.json() == {"ok": True}
        assert not any(task.done() for task in waiting)
        assert len(accepted) == PER_HOST  # the rest wait for one of its slots
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            await client.get(slow_url, timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        await client.aclose()
        for writer in accepted:
            writer.close()
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        slow.close()
        fast.stop()


async def test_per_host_limit_is_configured(jp_serverapp):
    assert jp_serverapp.web_app.settings["eo_jlab_services"].http.per_host == 7


# --- 5. local files: regular files only -----------------------------------------------------


def _no_reader(fifo: Path) -> bool:
    """True when nothing holds the FIFO open for reading (no thread is stuck on it)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        return exc.errno == errno.ENXIO
    os.close(fd)  # a reader was there: the close hands it an end of file
    return False


async def test_fifo_in_a_local_catalogue_is_refused_quickly(raw, local_catalogue):
    fifo_png = local_catalogue / "x.png"
    fifo_json = local_catalogue / "child.json"
    try:
        status, _, body = await asyncio.wait_for(
            raw("catalogues", "local", "quicklook", params={"href": str(fifo_png)}), 10
        )
        assert status == 502, body
        assert assert_sentence(body) == (
            "The quicklook is not a regular file: eo-jlab reads only regular files."
        )
        status, _, body = await asyncio.wait_for(raw("catalogues", "local", "collections"), 10)
        assert status == 200, body  # the FIFO child is skipped, the catalogue answers
        assert _no_reader(fifo_png) and _no_reader(fifo_json)
    finally:  # on failure, release a thread stuck reading (so the test run can end)
        for fifo in (fifo_png, fifo_json):
            _no_reader(fifo)


async def test_fifo_as_a_local_catalogue_root_fails_its_probe_quickly(raw, local_catalogue):
    """The endpoint probe reads a local catalogue's root by the same rule (regular files only)."""
    root = local_catalogue / "root.json"
    try:
        status, _, body = await asyncio.wait_for(raw("endpoints", "fiforoot", "probe"), 10)
        assert status == 502, body
        assert "is not a regular file" in assert_sentence(body)
        assert _no_reader(root)
    finally:  # on failure, release a thread stuck reading (so the test run can end)
        _no_reader(root)
