"""Processing and jobs through the REST API, on real PyWPS and pygeoapi servers: execution,
the job monitor inside the Jupyter server, events on the event bus, dismissal, exchange."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from eo_jlab.processing import JOB_SCHEMA_ID

from .servers.pygeoapi import pygeoapi_url  # noqa: F401
from .servers.pywps import pywps_url  # noqa: F401


@pytest.fixture
def eo_config(pygeoapi_url, pywps_url):  # noqa: F811
    return {
        "processing": [
            {"id": "ades", "title": "pygeoapi", "protocol": "ogcapi", "url": pygeoapi_url},
            {"id": "wps", "title": "PyWPS", "protocol": "wps", "url": pywps_url},
            {"id": "sandbox", "protocol": "sandbox"},
        ],
    }


@pytest.fixture
def events(jp_serverapp):
    seen: list[dict] = []

    async def listener(logger, schema_id, data):
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=JOB_SCHEMA_ID, listener=listener)
    return seen


@pytest.fixture
def call(jp_fetch):
    async def request(*path, method="GET", body=None, **kwargs):
        response = await jp_fetch(
            "eo-jlab", *path, method=method, raise_error=False,
            body=json.dumps(body) if body is not None else None, **kwargs,
        )  # fmt: skip
        return response.code, json.loads(response.body), response.headers

    return request


async def _until_final(call, job_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        status, job, _ = await call("jobs", job_id)
        assert status == 200
        if job["status"] in ("successful", "failed", "dismissed"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


async def test_processes_and_descriptions(call):
    status, body, _ = await call("processing", "ades", "processes")
    assert status == 200 and "hello-world" in {p["id"] for p in body["processes"]}
    status, body, _ = await call("processing", "wps", "processes", "echo")
    assert status == 200
    inputs = {i["id"]: i for i in body["inputs"]}
    assert inputs["count"]["ranges"] and inputs["area"]["kind"] == "bbox"
    status, body, _ = await call("processing", "nope", "processes")
    assert status == 404
    status, body, _ = await call("processing", "sandbox", "processes")
    assert status == 400 and "sandbox" in body["error"]


async def test_sync_execution_is_200_with_a_finished_job(call):
    status, job, headers = await call(
        "processing", "ades", "processes", "hello-world", "execution", method="POST",
        body={"inputs": {"name": "Ada"}, "mode": "sync"},
    )  # fmt: skip
    assert status == 200 and job["status"] == "successful" and "Location" not in headers
    assert job["results"] and "Ada" in json.dumps(job["results"])
    status, listed, _ = await call("jobs", params={"status": "successful"})
    assert job["id"] in [j["id"] for j in listed["jobs"]]


@pytest.mark.parametrize(("service", "inputs"), [("ades", {"steps": 6}), ("wps", {"steps": 5})])
async def test_async_job_followed_by_the_server_with_events(call, events, service, inputs):
    status, job, headers = await call(
        "processing", service, "processes", "slow", "execution", method="POST",
        body={"inputs": inputs, "mode": "async"},
    )  # fmt: skip
    assert status == 201, job
    assert headers["Location"].endswith(f"/eo-jlab/jobs/{job['id']}")
    assert job["status"] in ("accepted", "running") and job["remote"]["status_url"]
    final = await _until_final(call, job["id"])
    assert final["status"] == "successful" and final["finished"] and final["results"]
    mine = [e for e in events if e["job_id"] == job["id"]]
    progress = {e["progress"] for e in mine if e["status"] == "running"}
    assert len(progress) >= 2, mine  # seen moving, pushed by the monitor, not polled by us
    assert mine[-1]["status"] == "successful"
    status, exchange, _ = await call("jobs", job["id"], "exchange")
    assert status == 200 and len(exchange["exchange"]) >= 2
    assert exchange["exchange"][0]["method"] == "POST"


async def test_dismiss(call, events):
    status, job, _ = await call(
        "processing", "ades", "processes", "slow", "execution", method="POST",
        body={"inputs": {"steps": 20}, "mode": "async"},
    )  # fmt: skip
    assert status == 201
    status, dismissed, _ = await call("jobs", job["id"], method="DELETE")
    assert status == 200 and dismissed["status"] == "dismissed"
    assert "service was asked to stop it" in dismissed["message"]
    await asyncio.sleep(1.0)
    status, again, _ = await call("jobs", job["id"])
    assert again["status"] == "dismissed"  # the monitor no longer moves it
    assert any(e["job_id"] == job["id"] and e["status"] == "dismissed" for e in events)


async def test_failures_and_bad_input(call):
    status, job, _ = await call(
        "processing", "wps", "processes", "fail", "execution", method="POST",
        body={"inputs": {}, "mode": "async"},
    )  # fmt: skip
    if status == 201:
        job = await _until_final(call, job["id"])
    assert job["status"] == "failed" and job["message"] + (job["error"] or "")
    status, body, _ = await call(
        "processing", "wps", "processes", "echo", "execution", method="POST",
        body={"inputs": {"nope": 1}, "mode": "sync"},
    )  # fmt: skip
    assert status == 400 and body["error"]
    status, body, _ = await call(
        "processing", "wps", "processes", "echo", "execution", method="POST",
        body={"inputs": {}, "mode": "whenever"},
    )  # fmt: skip
    assert status == 400 and "mode" in body["error"]
    status, body, _ = await call("jobs", params={"status": "finished"})
    assert status == 400
    status, body, _ = await call("jobs", "0" * 32)
    assert status == 404
