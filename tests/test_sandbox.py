"""The local PyWPS sandbox (``protocol: sandbox``) through the REST API, with the real child
server running the demo's example processes from a temporary sandbox folder; and the job
results proxy, on the sandbox and on the real PyWPS test server."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import io
import json
import math
import os
import socket
import struct
import time
from pathlib import Path

import pytest
import tifffile

from eo_jlab.demo import SANDBOX_EXAMPLES, demo_config, write_demo, write_sandbox
from eo_jlab.demo.scene import EXTENT, FILE_NAME, PIXEL, SIZE, make_scene
from eo_jlab.processing.sandbox import SandboxService, pywps_missing
from eo_jlab.processing.sandbox_server import RESTARTED

from .helpers import start_sandbox
from .servers.pywps import POLYGON, pywps_url  # noqa: F401
from .test_jobs_restart import JupyterServer

FINAL = ("successful", "failed", "dismissed")
WGS84_A, WGS84_F = 6378137.0, 1 / 298.257223563


@pytest.fixture
def sandbox_dir(tmp_path):
    folder = tmp_path / "sandbox"
    write_sandbox(folder)
    return folder


@pytest.fixture
def eo_config(sandbox_dir, pywps_url):  # noqa: F811
    return {
        "processing": [
            {"id": "sandbox", "title": "Local sandbox", "protocol": "sandbox"},
            {"id": "wps", "title": "PyWPS", "protocol": "wps", "url": pywps_url},
        ],
        "sandbox_dir": str(sandbox_dir),
    }


@pytest.fixture
def call(jp_fetch):
    async def request(*path, method="GET", body=None, raw=False, **kwargs):
        response = await jp_fetch(
            "eo-jlab", *path, method=method, raise_error=False,
            body=json.dumps(body) if body is not None else None, **kwargs,
        )  # fmt: skip
        if raw:
            return response.code, response.body, response.headers
        return response.code, json.loads(response.body), response.headers

    return request


@pytest.fixture
def sandbox_service(jp_serverapp):
    def get():
        return jp_serverapp.web_app.settings["eo_jlab_services"].processing.get("sandbox")

    return get


async def _execute(call, process, inputs, mode="sync", outputs=None, service="sandbox"):
    body = {"inputs": inputs, "mode": mode}
    if outputs is not None:
        body["outputs"] = outputs
    return await call(
        "processing", service, "processes", process, "execution", method="POST", body=body
    )


async def _until_final(call, job_id, timeout=60.0, seen=None):
    deadline = time.monotonic() + timeout
    while True:
        status, job, _ = await call("jobs", job_id)
        assert status == 200
        if seen is not None:
            seen.append(job)
        if job["status"] in FINAL:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


def _results(job):
    return {r["id"]: r for r in job["results"]}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _pids_in_group(pgid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process whose process group is ``pgid`` (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            found.append((int(entry.name), fields[0]))
    return found


# -- processes and descriptions ------------------------------------------------------------------


async def test_lists_and_describes_the_example_processes(call, sandbox_dir):
    await start_sandbox(call)
    status, body, _ = await call("processing", "sandbox", "processes")
    assert status == 200, body
    processes = {p["id"]: p for p in body["processes"]}
    assert set(processes) == {"ndvi", "area_buffer", "slow_progress"}
    assert body["errors"] == []
    # from the capabilities alone: job control is known once a process is described
    assert all(p["job_control"] in ([], ["sync", "async"]) for p in processes.values())
    assert processes["ndvi"]["title"] == "NDVI of the demo scene"
    assert "Toulouse" in processes["ndvi"]["abstract"]

    status, ndvi, _ = await call("processing", "sandbox", "processes", "ndvi")
    assert status == 200 and ndvi["job_control"] == ["sync", "async"]
    inputs = {i["id"]: i for i in ndvi["inputs"]}
    assert inputs["bbox"]["kind"] == "bbox" and inputs["bbox"]["min_occurs"] == 0
    assert "urn:ogc:def:crs:OGC:1.3:CRS84" in inputs["bbox"]["crs"]
    assert inputs["threshold"]["ranges"] == [{"min": -1.0, "max": 1.0, "step": None}]
    outputs = {o["id"]: o for o in ndvi["outputs"]}
    assert outputs["ndvi_png"]["formats"][0]["mime_type"] == "image/png"
    assert (outputs["extent"]["kind"], outputs["mean_ndvi"]["kind"]) == ("bbox", "literal")

    status, buffer, _ = await call("processing", "sandbox", "processes", "area_buffer")
    inputs = {i["id"]: i for i in buffer["inputs"]}
    assert inputs["polygon"]["formats"][0]["mime_type"] == "application/geo+json"
    assert inputs["buffer_m"]["default"] == 1000.0
    assert inputs["buffer_m"]["ranges"][0]["max"] == 100000.0

    status, info, _ = await call("processing", "sandbox", "sandbox")
    assert status == 200
    assert info["dir"] == str(sandbox_dir) and info["running"] is True and info["errors"] == []
    assert {p["id"] for p in info["processes"]} == set(processes)

    status, body, _ = await call("processing", "sandbox", "processes", "nope")
    assert status == 404 and "nope" in body["error"]


# -- execution -------------------------------------------------------------------------------


async def test_ndvi_sync_and_async_with_results_through_the_proxy(call):
    bbox = [1.30, 43.55, 1.50, 43.70]
    status, job, _ = await _execute(call, "ndvi", {"bbox": {"bbox": bbox}, "threshold": 0.4})
    assert status == 200 and job["status"] == "successful", job
    results = _results(job)
    assert set(results) == {"ndvi_png", "ndvi_tiff", "extent", "mean_ndvi", "vegetation_fraction"}
    extent = results["extent"]["value"]["bbox"]
    assert all(abs(a - b) <= PIXEL + 1e-9 for a, b in zip(extent, bbox, strict=True)), extent
    assert -1 < results["mean_ndvi"]["value"] < 1
    assert 0 < results["vegetation_fraction"]["value"] < 1

    status, png, headers = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    width, height = _png_size(png)
    assert (width, height) == (
        round((extent[2] - extent[0]) / PIXEL),
        round((extent[3] - extent[1]) / PIXEL),
    )

    status, tiff, headers = await call("jobs", job["id"], "results", "ndvi_tiff", raw=True)
    assert status == 200 and headers["Content-Type"] == "image/tiff"
    assert headers["Content-Disposition"].startswith("attachment")
    values = tifffile.imread(io.BytesIO(tiff))
    assert values.dtype.name == "float32" and values.shape == (height, width)
    assert abs(float(values.mean()) - results["mean_ndvi"]["value"]) < 1e-3

    status, value, headers = await call("jobs", job["id"], "results", "mean_ndvi", raw=True)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(value) == results["mean_ndvi"]["value"]

    status, job, headers = await _execute(call, "ndvi", {}, mode="async")
    assert status == 201 and headers["Location"].endswith(job["id"])
    job = await _until_final(call, job["id"])
    assert job["status"] == "successful", job
    assert _results(job)["extent"]["value"]["bbox"] == pytest.approx(list(EXTENT), abs=1e-6)
    status, png, _ = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200 and _png_size(png) == (SIZE, SIZE)

    # A bbox away from the scene: a readable failure.
    status, job, _ = await _execute(call, "ndvi", {"bbox": {"bbox": [10, 45, 11, 46]}})
    assert job["status"] == "failed"
    assert "does not intersect the scene" in job["message"], job
    status, body, _ = await call("jobs", job["id"], "results", "ndvi_png")
    assert status == 409 and "failed" in body["error"]


def _rectangle_area_km2(west, south, east, north):
    """Exact area of a longitude/latitude rectangle on the WGS 84 ellipsoid."""
    e = math.sqrt(WGS84_F * (2 - WGS84_F))
    b = WGS84_A * (1 - WGS84_F)

    def q(lat):
        s = math.sin(math.radians(lat))
        return s / (1 - e * e * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e)

    return math.radians(east - west) * b * b / 2 * (q(north) - q(south)) / 1e6


async def test_area_buffer_sync_async_and_by_reference(call, pywps_url):  # noqa: F811
    exact = _rectangle_area_km2(10, 45, 11, 46)
    status, job, _ = await _execute(
        call, "area_buffer", {"polygon": {"value": POLYGON, "mime_type": "application/geo+json"},
                              "buffer_m": 0},
    )  # fmt: skip
    assert status == 200 and job["status"] == "successful", job
    area = _results(job)["area_km2"]["value"]
    assert abs(area - exact) / exact < 0.01, (area, exact)

    # Async, the polygon by reference (the PyWPS test server serves it), the default buffer.
    reference = pywps_url.rsplit("/wps", 1)[0] + "/data/polygon.geojson"
    status, job, _ = await _execute(
        call, "area_buffer", {"polygon": {"href": reference}}, mode="async"
    )
    assert status == 201, job
    job = await _until_final(call, job["id"])
    assert job["status"] == "successful", job
    results = _results(job)
    # 1 km around a 1 x 1 degree cell: its area plus perimeter x 1 km plus pi km2.
    perimeter = _perimeter_km(10, 45, 11, 46)
    expected = exact + perimeter * 1.0 + math.pi
    assert abs(results["area_km2"]["value"] - expected) / expected < 0.01
    status, feature, headers = await call("jobs", job["id"], "results", "buffered", raw=True)
    assert status == 200 and headers["Content-Type"].startswith("application/")
    feature = json.loads(feature)
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    west = min(c[0] for c in feature["geometry"]["coordinates"][0])
    assert 9.98 < west < 9.99  # 1 km west of 10 E at 45..46 N is ~0.0127 degrees

    status, job, _ = await _execute(call, "area_buffer", {"polygon": {"value": "not json"}})
    assert job["status"] == "failed" and "not valid JSON" in job["message"], job


def _perimeter_km(west, south, east, north):
    """Perimeter of a lon/lat rectangle on WGS 84 (meridian arcs + parallels), km."""
    e2 = WGS84_F * (2 - WGS84_F)

    def parallel(lat):
        s = math.sin(math.radians(lat))
        return WGS84_A * math.cos(math.radians(lat)) / math.sqrt(1 - e2 * s * s)

    lat = (south + north) / 2
    s = math.sin(math.radians(lat))
    meridional = WGS84_A * (1 - e2) / (1 - e2 * s * s) ** 1.5
    dlon = math.radians(east - west)
    return (
        dlon * (parallel(south) + parallel(north)) + 2 * meridional * math.radians(north - south)
    ) / 1000


@pytest.mark.parametrize("lat", [0.0, 43.6, 60.0, 75.0])
def test_area_buffer_geometry_is_accurate(lat):
    """The example's local equal-area projection, against exact ellipsoidal areas."""
    module = _example_module("area_buffer")
    for size in (0.01, 0.5, 3.0):
        box = {
            "type": "Polygon",
            "coordinates": [[[5, lat], [5 + size, lat], [5 + size, lat + size],
                             [5, lat + size], [5, lat]]],
        }  # fmt: skip
        polygon = module.polygon_from_geojson(json.dumps(box))
        _, area = module.buffer_and_area(polygon, 0)
        exact = _rectangle_area_km2(5, lat, 5 + size, lat + size)
        assert abs(area - exact) / exact < 0.001, (lat, size, area, exact)
    # A buffer of a point-like square approaches a disc of the buffer's radius.
    tiny = module.polygon_from_geojson(json.dumps(_square(5, lat, 1e-6)))
    grown, area = module.buffer_and_area(tiny, 5000)
    assert abs(area - math.pi * 25) / (math.pi * 25) < 0.005
    assert grown.geom_type == "Polygon"


def _square(lon, lat, size):
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _example_module(name):
    spec = importlib.util.spec_from_file_location(
        f"eo_jlab_example_{name}", SANDBOX_EXAMPLES / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_slow_progress_is_seen_moving(call):
    status, job, _ = await _execute(call, "slow_progress", {"seconds": 1, "steps": 2})
    assert status == 200 and job["status"] == "successful"
    assert "Ran 2 steps" in _results(job)["summary"]["value"]

    status, job, _ = await _execute(call, "slow_progress", {"seconds": 6, "steps": 6}, mode="async")
    assert status == 201, job
    seen: list[dict] = []
    final = await _until_final(call, job["id"], seen=seen)
    assert final["status"] == "successful", final
    moving = {j["progress"] for j in seen if j["status"] == "running"}
    assert len(moving) >= 2, [(j["status"], j["progress"]) for j in seen]
    assert any(j["message"].startswith("Step ") for j in seen)
    assert "Ran 6 steps" in _results(final)["summary"]["value"]


# -- files, reload, log -----------------------------------------------------------------------


async def test_broken_files_are_reported_and_the_others_still_served(call, sandbox_dir):
    (sandbox_dir / "broken_syntax.py").write_text(
        "from pywps import Process\n\n\ndef handler(request, response:\n    return response\n"
    )
    (sandbox_dir / "broken_import.py").write_text(
        "import json\n\nSETTINGS = {}\nLIMIT = SETTINGS['limit']\n"
    )
    (sandbox_dir / "nothing_here.py").write_text("VALUE = 1\n")
    (sandbox_dir / "_helper.py").write_text("raise RuntimeError('helpers are not loaded')\n")
    status, body, _ = await call("processing", "sandbox", "reload", method="POST", body={})
    assert status == 200, body
    assert {p["id"] for p in body["processes"]} == {"ndvi", "area_buffer", "slow_progress"}
    errors = {e["file"]: e for e in body["errors"]}
    assert set(errors) == {"broken_syntax.py", "broken_import.py", "nothing_here.py"}
    assert errors["broken_syntax.py"]["line"] == 4
    assert "SyntaxError" in errors["broken_syntax.py"]["message"]
    assert errors["broken_import.py"]["line"] == 4
    assert errors["broken_import.py"]["message"] == "KeyError: 'limit'"
    assert errors["nothing_here.py"]["line"] is None
    assert "defines no process" in errors["nothing_here.py"]["message"]

    status, listed, _ = await call("processing", "sandbox", "processes")
    assert {e["file"] for e in listed["errors"]} == set(errors)
    status, info, _ = await call("processing", "sandbox", "sandbox")
    assert info["errors"] == body["errors"]
    status, log, _ = await call("processing", "sandbox", "log", params={"tail": 400})
    assert "broken_import.py" in log["log"] and "KeyError" in log["log"]


async def test_a_sandbox_that_cannot_start_says_why(call, sandbox_dir, sandbox_service):
    (sandbox_dir / "exits.py").write_text("import os\n\nprint('leaving now')\nos._exit(7)\n")
    status, body, _ = await call("processing", "sandbox", "reload", method="POST", body={})
    assert status == 502, body
    assert body["error"] == "The local sandbox stopped while starting (exit code 7: leaving now)."
    assert "leaving now" in body["details"]["log"]
    status, info, _ = await call("processing", "sandbox", "sandbox")
    assert status == 200 and info["running"] is False and info["processes"] == []
    assert "exit code 7" in info["errors"][-1]["message"]

    (sandbox_dir / "exits.py").write_text("import time\n\ntime.sleep(60)\n")
    service = sandbox_service()
    service.start_timeout = 2.0
    status, body, _ = await call("processing", "sandbox", "reload", method="POST", body={})
    assert status == 504, body
    assert body["error"].startswith("The local sandbox did not start within 2 seconds")
    assert not service.running and service.pid is None

    (sandbox_dir / "exits.py").unlink()
    service.start_timeout = SandboxService.start_timeout  # 2 s is short on a busy machine
    status, body, _ = await call("processing", "sandbox", "processes")
    assert status == 409 and "start it from the Processes section" in body["error"], body
    info = await start_sandbox(call)  # started again by a POST
    status, body, _ = await call("processing", "sandbox", "processes")
    assert status == 200 and len(body["processes"]) == 3 == len(info["processes"])


HELLO = """from pywps import LiteralInput, LiteralOutput, Process


def _hello(request, response):
    response.outputs["greeting"].data = "Hello " + request.inputs["name"][0].data
    return response


processes = [
    Process(_hello, identifier="hello", title="Hello",
            inputs=[LiteralInput("name", "Name", data_type="string")],
            outputs=[LiteralOutput("greeting", "Greeting", data_type="string")]),
]
"""


async def test_reload_picks_up_new_files_and_drops_deleted_ones(call, sandbox_dir):
    await start_sandbox(call)
    status, before, _ = await call("processing", "sandbox", "processes")
    assert "hello" not in {p["id"] for p in before["processes"]}
    (sandbox_dir / "hello.py").write_text(HELLO)
    (sandbox_dir / "slow_progress.py").unlink()
    status, body, _ = await call("processing", "sandbox", "reload", method="POST", body={})
    assert status == 200, body
    ids = {p["id"] for p in body["processes"]}
    assert ids == {"ndvi", "area_buffer", "hello"} and body["errors"] == []
    hello = next(p for p in body["processes"] if p["id"] == "hello")
    assert hello["job_control"] == []  # a list is the capabilities alone: not yet described
    status, hello, _ = await call("processing", "sandbox", "processes", "hello")
    assert status == 200 and hello["job_control"] == ["sync"]  # no store/status declared
    status, job, _ = await _execute(call, "hello", {"name": "Ada"})
    assert job["status"] == "successful" and _results(job)["greeting"]["value"] == "Hello Ada"
    status, body, _ = await call("processing", "sandbox", "processes", "slow_progress")
    assert status == 404


async def test_log_route_shows_the_pywps_log(call):
    await _execute(call, "slow_progress", {"seconds": 1, "steps": 1})
    status, body, _ = await call("processing", "sandbox", "log", params={"tail": 30})
    assert status == 200
    lines = body["log"].splitlines()
    assert 0 < len(lines) <= 30
    assert any("PYWPS" in line for line in lines), body["log"]
    status, body, _ = await call("processing", "sandbox", "log")
    assert "sandbox: serving 3 process(es)" in body["log"]  # the default tail reaches it
    status, body, _ = await call("processing", "sandbox", "log", params={"tail": "lots"})
    assert status == 400 and "tail" in body["error"]


async def test_a_job_running_while_the_sandbox_restarts_fails_with_a_sentence(
    call, sandbox_service
):
    status, job, _ = await _execute(
        call, "slow_progress", {"seconds": 60, "steps": 60}, mode="async"
    )
    assert status == 201
    deadline = time.monotonic() + 30
    while True:
        status, current, _ = await call("jobs", job["id"])
        if current["status"] == "running":
            break
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.1)
    old_pid = sandbox_service().pid
    status, body, _ = await call("processing", "sandbox", "reload", method="POST", body={})
    assert status == 200 and sandbox_service().pid != old_pid
    final = await _until_final(call, job["id"], timeout=40)
    assert final["status"] == "failed", final
    assert final["message"] == RESTARTED
    status, body, _ = await call("jobs", job["id"], "results", "summary")
    assert status == 409


async def test_dismiss_stops_the_job_process(call, sandbox_service):
    status, job, _ = await _execute(
        call, "slow_progress", {"seconds": 60, "steps": 60}, mode="async"
    )
    assert status == 201
    pid = sandbox_service().pid
    deadline = time.monotonic() + 20
    while True:
        status, current, _ = await call("jobs", job["id"])
        if current["status"] == "running" and len(_pids_in_group(pid)) >= 2:
            break
        assert time.monotonic() < deadline, (current, _pids_in_group(pid))
        await asyncio.sleep(0.1)
    status, dismissed, _ = await call("jobs", job["id"], method="DELETE")
    assert status == 200 and dismissed["status"] == "dismissed"
    assert dismissed["message"] == "Dismissed; the service was asked to stop it."
    assert [p for p, _ in _pids_in_group(pid)] == [pid]  # the job's process is gone
    status, exchange, _ = await call("jobs", job["id"], "exchange")
    assert "/eo-jlab-sandbox/dismiss/" in exchange["exchange"][-1]["url"]


async def test_dismiss_stops_a_job_that_waited_in_the_queue(call, sandbox_service):
    """PyWPS runs 4 jobs at once; a fifth waits and is then started by the process of a job
    that ended, not by the sandbox server itself: dismiss must stop it all the same."""
    short = []
    for _ in range(4):
        status, job, _ = await _execute(
            call, "slow_progress", {"seconds": 2, "steps": 2}, mode="async"
        )
        assert status == 201
        short.append(job["id"])
    status, queued, _ = await _execute(
        call, "slow_progress", {"seconds": 60, "steps": 60}, mode="async"
    )
    assert status == 201
    for job_id in short:
        assert (await _until_final(call, job_id, timeout=40))["status"] == "successful"
    deadline = time.monotonic() + 20
    while True:
        status, current, _ = await call("jobs", queued["id"])
        if current["status"] == "running":
            break
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.1)
    status, dismissed, _ = await call("jobs", queued["id"], method="DELETE")
    assert status == 200 and dismissed["status"] == "dismissed"
    assert dismissed["message"] == "Dismissed; the service was asked to stop it."
    pid = sandbox_service().pid
    deadline = time.monotonic() + 10
    while [p for p, state in _pids_in_group(pid) if state != "Z"] != [pid]:
        assert time.monotonic() < deadline, _pids_in_group(pid)  # the job's process goes
        await asyncio.sleep(0.1)


async def test_a_queued_job_starts_when_the_jobs_ahead_are_dismissed(call, sandbox_service):
    """PyWPS starts a queued job from the process of a job that ends normally; dismissed
    (stopped) jobs never get there. The sandbox's queue check starts it instead (before it,
    the job stayed accepted for ever: tests/test_load.py)."""
    long = []
    for _ in range(4):  # every parallel slot taken
        status, job, _ = await _execute(
            call, "slow_progress", {"seconds": 60, "steps": 60}, mode="async"
        )
        assert status == 201
        long.append(job["id"])
    status, queued, _ = await _execute(
        call, "slow_progress", {"seconds": 1, "steps": 1}, mode="async"
    )
    assert status == 201
    for job_id in long:
        status, dismissed, _ = await call("jobs", job_id, method="DELETE")
        assert status == 200 and dismissed["status"] == "dismissed", dismissed
    assert (await _until_final(call, queued["id"], timeout=40))["status"] == "successful"


async def test_finished_results_stay_readable_after_a_restart(call, sandbox_service):
    status, job, _ = await _execute(call, "ndvi", {"bbox": {"bbox": [1.4, 43.6, 1.45, 43.65]}})
    assert job["status"] == "successful"
    href = _results(job)["ndvi_png"]["href"]
    service = sandbox_service()
    old_pid = service.pid
    await service.close()  # stopped: results are read from its outputs folder
    status, png, _ = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200 and _png_size(png) == (25, 25)
    assert not service.running
    await start_sandbox(call)  # started again: on another port, the same outputs
    assert service.pid not in (None, old_pid)
    assert service.local_url(href, service._base).startswith(service._base + "/outputs/")
    status, again, _ = await call("jobs", job["id"], "results", "ndvi_png", raw=True)
    assert status == 200 and again == png


async def test_the_child_stops_with_the_server(call, jp_serverapp, sandbox_service):
    status, job, _ = await _execute(
        call, "slow_progress", {"seconds": 60, "steps": 60}, mode="async"
    )
    assert status == 201
    pid = sandbox_service().pid
    assert pid
    deadline = time.monotonic() + 20
    while len(_pids_in_group(pid)) < 2:  # the server and the job's process
        assert time.monotonic() < deadline, _pids_in_group(pid)
        await asyncio.sleep(0.1)
    await jp_serverapp.extension_manager.stop_all_extensions()
    assert _pids_in_group(pid) == []  # none left, not even a zombie


async def test_sandbox_routes_refuse_other_services(call):
    for path, method in (("reload", "POST"), ("log", "GET"), ("sandbox", "GET")):
        status, body, _ = await call(
            "processing", "wps", path, method=method, body={} if method == "POST" else None
        )
        assert status == 400, (path, body)
        assert "not a local sandbox" in body["error"] and body["details"] == {}
    status, body, _ = await call("processing", "nope", "sandbox")
    assert status == 404


# -- the results proxy on the PyWPS test server ------------------------------------------------


async def test_results_proxy_on_a_remote_wps(call):
    status, job, _ = await _execute(
        call, "buffer", {"polygon": {"value": POLYGON}, "distance": 0.5},
        outputs={"buffered": {"reference": True}}, service="wps",
    )  # fmt: skip
    assert status == 200 and job["status"] == "successful", job
    assert _results(job)["buffered"]["href"].startswith("http://127.0.0.1:")
    status, data, headers = await call("jobs", job["id"], "results", "buffered", raw=True)
    assert status == 200, data
    assert headers["Content-Type"] == "application/geo+json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(data)["geometry"]["coordinates"][0][0] == [9.5, 44.5]

    status, job, _ = await _execute(
        call, "echo",
        {"message": "hello", "count": 2, "area": {"bbox": [10, 45, 11, 46]},
         "geometry": {"value": POLYGON, "mime_type": "application/geo+json"}},
        service="wps",
    )  # fmt: skip
    assert job["status"] == "successful", job
    status, data, headers = await call("jobs", job["id"], "results", "geometry", raw=True)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(data) == POLYGON
    status, data, _ = await call("jobs", job["id"], "results", "summary", raw=True)
    assert json.loads(json.loads(data))["count"] == 2  # a literal string holding JSON

    status, body, _ = await call("jobs", job["id"], "results", "nope")
    assert status == 404 and "nope" in body["error"]
    status, body, _ = await call("jobs", "0" * 32, "results", "summary")
    assert status == 404


@pytest.mark.parametrize(
    ("upstream", "sent", "attachment"),
    [
        ("image/png", "image/png", False),
        ("application/geo+json", "application/geo+json", False),
        ("text/plain", "text/plain; charset=utf-8", False),
        ("application/xml", "text/plain; charset=utf-8", False),
        ("application/gml+xml", "text/plain; charset=utf-8", False),
        ("image/tiff", "image/tiff", True),
        ("image/svg+xml", "application/octet-stream", True),
        ("text/html", "application/octet-stream", True),
        ("application/javascript", "application/octet-stream", True),
        ("application/x-netcdf", "application/octet-stream", True),
    ],
)
def test_results_proxy_passes_only_safe_types(upstream, sent, attachment):
    from eo_jlab.processing import _safe_content

    content = _safe_content(b"x", upstream, "out", 'http://h/outputs/a/b%20c"x.html')
    assert (content.content_type, content.attachment) == (sent, attachment)
    assert content.filename == "b_c_x.html"  # no quote or space reaches the header


# -- demo files, scene, set-up ---------------------------------------------------------------


def test_the_scene_is_small_and_reproducible():
    shipped = SANDBOX_EXAMPLES / FILE_NAME
    assert shipped.stat().st_size <= 200_000
    with tifffile.TiffFile(shipped) as tif:
        page = tif.pages[0]
        assert page.tags["ModelPixelScaleTag"].value[:2] == (PIXEL, PIXEL)
        assert page.tags["ModelTiepointTag"].value[3:5] == (EXTENT[0], EXTENT[3])
        assert 4326 in page.tags["GeoKeyDirectoryTag"].value
        pixels = tif.series[0].asarray()
    assert (pixels == make_scene()).all()
    red, nir = pixels.astype(float)
    ndvi = (nir - red) / (nir + red)
    assert (ndvi < 0).mean() > 0.003  # water
    assert (ndvi > 0.6).mean() > 0.2  # dense vegetation
    assert ((ndvi > 0) & (ndvi < 0.25)).mean() > 0.05  # bare soil and built-up areas


def test_write_sandbox_keeps_the_users_changes(tmp_path):
    folder = tmp_path / "sandbox"
    assert set(write_sandbox(folder)) >= {"ndvi.py", "area_buffer.py", "slow_progress.py"}
    assert write_sandbox(folder) == []  # idempotent
    (folder / "ndvi.py").write_text("# mine\n")
    (folder / "slow_progress.py").unlink()
    assert write_sandbox(folder) == []
    assert (folder / "ndvi.py").read_text() == "# mine\n"
    assert not (folder / "slow_progress.py").exists()  # deleted by the user: stays deleted


def test_write_sandbox_updates_an_unchanged_example(tmp_path):
    folder = tmp_path / "sandbox"
    write_sandbox(folder)
    old = "# the previous version of the example\n"
    (folder / "area_buffer.py").write_text(old)
    manifest_path = folder / ".eo_jlab_examples.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["area_buffer.py"] = hashlib.sha256(old.encode()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    assert write_sandbox(folder) == ["area_buffer.py"]
    shipped = (SANDBOX_EXAMPLES / "area_buffer.py").read_bytes()
    assert (folder / "area_buffer.py").read_bytes() == shipped


def test_demo_configures_the_sandbox(tmp_path):
    workspace = tmp_path / "demo"
    config_dir = write_demo(workspace)
    config = json.loads((config_dir / "jupyter_server_config.json").read_text())
    assert config["EOJLab"]["processing"] == [
        {"id": "sandbox", "title": "Local sandbox", "protocol": "sandbox"}
    ]
    folder = Path(config["EOJLab"]["sandbox_dir"])
    assert folder == workspace.resolve() / "sandbox"
    assert {"ndvi.py", "area_buffer.py", "slow_progress.py", FILE_NAME} <= {
        p.name for p in folder.iterdir()
    }
    assert [c["id"] for c in config["EOJLab"]["catalogues"]] == ["demo"]
    assert demo_config(workspace)["EOJLab"]["sandbox_dir"] == str(workspace / "sandbox")


def test_the_log_is_trimmed_to_its_newest_lines(tmp_path):
    from eo_jlab.processing.sandbox_server import _trim

    path = tmp_path / "sandbox.log"
    path.write_text("".join(f"line {i}\n" for i in range(20000)))
    fd = os.open(path, os.O_RDWR | os.O_APPEND)  # as the Jupyter server opens it
    try:
        _trim(fd, 50_000)
        os.write(fd, b"after\n")  # appending still works after the cut
    finally:
        os.close(fd)
    lines = path.read_text().splitlines()
    assert path.stat().st_size < 26_000
    assert lines[0].endswith("(older log lines dropped)")
    assert lines[1].startswith("line ") and lines[-2:] == ["line 19999", "after"]


def test_missing_pywps_is_a_sentence():
    assert pywps_missing() is None
    sentence = pywps_missing("eo_jlab_no_such_module")
    assert sentence and "eo-jlab[sandbox]" in sentence


# -- a real server restart -------------------------------------------------------------------


class SandboxServer(JupyterServer):
    def __init__(self, home: Path, sandbox_dir: Path):
        super().__init__(home, "http://127.0.0.1:9/unused")
        config = json.loads(self.config.read_text())
        config["EOJLab"] = {
            "processing": [{"id": "sandbox", "protocol": "sandbox"}],
            "sandbox_dir": str(sandbox_dir),
        }
        self.config.write_text(json.dumps(config))


def test_a_job_running_when_the_server_stops_fails_after_the_restart(tmp_path, sandbox_dir):
    server = SandboxServer(tmp_path, sandbox_dir)
    server.start()
    try:
        answer = server.post(
            "eo-jlab/processing/sandbox/processes/slow_progress/execution",
            {"inputs": {"seconds": 120, "steps": 60}, "mode": "async"},
        )
        assert answer.status_code == 201, answer.text
        job_id = answer.json()["id"]
        info = json.loads((tmp_path / "data/eo_jlab/sandbox/sandbox/ready.json").read_text())
        child = info["pid"]
        deadline = time.monotonic() + 30
        while server.get(f"eo-jlab/jobs/{job_id}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        server.stop()
    assert _pids_in_group(child) == [], server.log()  # the sandbox went with the server

    server.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            job = server.get(f"eo-jlab/jobs/{job_id}").json()
            if job["status"] in FINAL:
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.3)
        assert job["status"] == "failed" and job["message"] == RESTARTED, job
    finally:
        server.stop()


# --- generated code for sandbox processes and jobs ------------------------------------------


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """Started before the per-test Jupyter environment hides the installed kernelspecs."""
    from .kernels import Kernel, has_kernel

    if not has_kernel("ir"):
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    work = tmp_path_factory.mktemp("sandbox-snippets")
    started = {"python": Kernel("python3", work), "r": Kernel("ir", work), "work": work}
    yield started
    started["python"].stop()
    started["r"].stop()


async def test_sandbox_snippets_run_in_real_kernels_and_match_rest(call, sandbox_service, kernels):
    """Code for a sandbox process (python OWSLib, R httr/xml2, shell curl) and for finished
    sandbox jobs (async and sync, python, R and shell) runs against the sandbox's PyWPS and
    prints what the REST execution gave, after the sandbox restarted on another port with a new
    token: the code names neither, it reads them from the sandbox's connection file; results
    by reference come out as the sandbox's files."""
    inputs = {"polygon": {"value": POLYGON, "mime_type": "application/geo+json"}, "buffer_m": 0}
    status, job, _ = await _execute(call, "area_buffer", inputs, mode="async")
    assert status == 201, job
    job = await _until_final(call, job["id"])
    assert job["status"] == "successful", job
    area = float(_results(job)["area_km2"]["value"])

    target = {
        "kind": "process", "service": "sandbox", "process": "area_buffer",
        "request": {"inputs": inputs, "mode": "async"},
    }  # fmt: skip
    codes = {}
    for language in ("python", "r", "shell"):
        status, made, _ = await call(
            "snippets", method="POST",
            body={"target": target, "language": language, "flavour": "portable"},
        )  # fmt: skip
        assert status == 200, made
        codes[language] = made["code"]
    status, ndvi, _ = await _execute(call, "ndvi", {"bbox": {"bbox": [1.4, 43.6, 1.45, 43.65]}})
    assert ndvi["status"] == "successful" and _results(ndvi)["ndvi_png"]["href"], ndvi
    for name, job_id, language in (
        ("job", job["id"], "python"),
        ("job-r", job["id"], "r"),
        ("job-shell", job["id"], "shell"),
        ("ndvi", ndvi["id"], "python"),
        ("ndvi-r", ndvi["id"], "r"),
        ("ndvi-shell", ndvi["id"], "shell"),
    ):
        status, made, _ = await call(
            "snippets", method="POST",
            body={"target": {"kind": "job", "job": job_id}, "language": language},
        )  # fmt: skip
        assert status == 200, made
        codes[name] = made["code"]
    service = sandbox_service()
    old_base = service._base
    old_token = json.loads(service.connection_path.read_text())["token"]
    for code in codes.values():  # neither the address nor the token of this start
        assert ":" + old_base.rsplit(":", 1)[1] not in code and old_token not in code

    # The sandbox restarts on another port (its old one is taken) with a new token.
    await service.close()
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (its old connections linger)
    taken.bind(("127.0.0.1", int(old_base.rsplit(":", 1)[1])))
    taken.listen()
    try:
        status, _, _ = await call(
            "processing", "sandbox", "sandbox", "start", method="POST", body={}
        )
        assert status == 200
    finally:
        taken.close()  # code that still names the old port finds nothing there
    assert service._base != old_base
    assert json.loads(service.connection_path.read_text())["token"] != old_token
    await _run_the_codes(codes, area, kernels)


async def _run_the_codes(codes, area, kernels):
    from .kernels import run_bash

    def printed_area(stdout: str) -> float:
        lines = [line for line in stdout.splitlines() if line.startswith("area_km2: ")]
        assert lines, stdout
        return float(lines[-1].split(": ", 1)[1])

    def printed_file(stdout: str) -> Path:
        lines = [line for line in stdout.splitlines() if line.startswith("ndvi_png: ")]
        assert lines, stdout
        return Path(lines[-1].split(": ", 1)[1])

    loop = asyncio.get_running_loop()
    python, r = kernels["python"], kernels["r"]
    runners = {
        "python": lambda code: python.run(code, timeout=120),
        "r": lambda code: r.run(code, timeout=120),
        "shell": lambda code: run_bash(code, kernels["work"], timeout=120),
    }
    for name in codes:
        language = {"job": "python", "ndvi": "python"}.get(name, name.split("-")[-1])
        run = runners[language]
        result = await loop.run_in_executor(None, run, codes[name])
        result.check(codes[name])
        if name.startswith("ndvi"):
            png = printed_file(result.stdout)
            assert png.is_file() and _png_size(png.read_bytes()) == (25, 25), (name, png)
        else:
            assert printed_area(result.stdout) == pytest.approx(area, rel=1e-9), name


async def test_ndvi_code_prints_every_output_kind_as_rest_gives_it(call, kernels):
    """The demo's NDVI process answers every output kind (PNG and GeoTIFF by reference, a
    bounding box, literal numbers): its process and job code in python, R and shell print each
    one as the REST job has it: the bbox as {"bbox": [w, s, e, n], "crs"} (issue 19 bug 1:
    python raised a TypeError on it, R and shell printed its lower corner only)."""
    import urllib.request

    from .kernels import run_bash

    request = {"inputs": {"bbox": {"bbox": [1.30, 43.55, 1.50, 43.70]}, "threshold": 0.4},
               "mode": "async"}  # fmt: skip
    status, job, _ = await _execute(call, "ndvi", **request)
    assert status == 201, job
    job = await _until_final(call, job["id"])
    assert job["status"] == "successful", job
    expected = _results(job)
    assert expected["extent"]["value"]["bbox"] == pytest.approx([1.3, 43.55, 1.5, 43.7], abs=0.01)
    content = {}
    for name in ("ndvi_png", "ndvi_tiff"):
        status, content[name], _ = await call("jobs", job["id"], "results", name, raw=True)
        assert status == 200

    def read(text: str) -> bytes:
        """The bytes of a result the code printed by reference (a link or a file)."""
        if text.startswith(("http://", "https://")):
            with urllib.request.urlopen(text, timeout=30) as answer:
                return answer.read()
        return Path(text).expanduser().read_bytes()

    targets = {
        "process": {"kind": "process", "service": "sandbox", "process": "ndvi", "request": request},
        "job": {"kind": "job", "job": job["id"]},
    }
    loop = asyncio.get_running_loop()
    for kind, target in targets.items():
        for language in ("python", "r", "shell"):
            status, made, _ = await call(
                "snippets", method="POST", body={"target": target, "language": language}
            )
            assert status == 200, made
            code = made["code"]
            if language == "shell":
                run = await loop.run_in_executor(None, run_bash, code, kernels["work"], 120)
            else:
                run = await loop.run_in_executor(None, kernels[language].run, code, 120)
            run.check(code)
            printed = dict(line.split(": ", 1) for line in run.stdout.splitlines() if ": " in line)
            where = (kind, language, run.stdout)
            assert json.loads(printed["extent"]) == expected["extent"]["value"], where
            for name in ("mean_ndvi", "vegetation_fraction"):
                assert float(printed[name]) == expected[name]["value"], where
            for name in ("ndvi_png", "ndvi_tiff"):
                data = await loop.run_in_executor(None, read, printed[name])
                assert data == content[name], where
