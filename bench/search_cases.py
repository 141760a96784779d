"""Measured by bench/search.py (not part of the test suite): search overhead per protocol.

For each protocol, the same search is sent N times through eo-jlab's REST API (a real
`jupyter server` child process: tornado handler, adapter, guarded client, normalization) and
N times directly to the upstream, both with the same httpx client as a browser-side caller
would; the direct requests replay exactly the upstream request(s) eo-jlab sent (recorded
once in-process). Runs alternate so drift hits both alike.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import httpx
import pytest

from bench.common import JupyterServer, percentile
from eo_jlab.demo.catalogue import write_catalogue
from eo_jlab.net import HttpClient
from tests.servers.pgstac import stac_api_url  # noqa: F401
from tests.servers.pycsw import opensearch_description, pycsw_url  # noqa: F401
from tests.servers.resto import resto_server, resto_url  # noqa: F401

RUNS = int(os.environ.get("EO_JLAB_BENCH_RUNS", "60"))
QUESTION = {
    "bbox": [12.9, 52.3, 14.4, 53.1],
    "datetime": "2025-02-01T00:00:00Z/2025-03-31T23:59:59Z",
    "limit": 20,
}
RESULTS: dict[str, dict] = {}


@pytest.fixture
def eo_config(tmp_path_factory, stac_api_url, pycsw_url, resto_server, resto_url):  # noqa: F811
    static = write_catalogue(tmp_path_factory.getbasetemp() / "synthetic-catalogue")
    return {
        "catalogues": [
            {"id": "static", "protocol": "static", "url": str(static)},
            {"id": "stac", "protocol": "stac", "url": stac_api_url},
            {"id": "csw", "protocol": "csw", "url": pycsw_url + "?version=2.0.2"},
            {"id": "opensearch", "protocol": "opensearch", "url": resto_url},
            {"id": "opensearch-wan", "protocol": "opensearch",
             "url": resto_server.base + "/wan/describe.xml"},
        ],
        "request_timeout": 30.0,
    }  # fmt: skip


@pytest.fixture
def jp_server_config(eo_config):
    return {"ServerApp": {"jpserver_extensions": {"eo_jlab": True}}, "EOJLab": eo_config}


@pytest.fixture(scope="module")
def servers():
    started: dict[str, JupyterServer] = {}
    yield started
    for server in started.values():
        server.stop()


@pytest.mark.parametrize("catalogue", ["stac", "csw", "opensearch", "opensearch-wan", "static"])
async def test_search_overhead(catalogue, jp_fetch, monkeypatch, eo_config, servers, tmp_path):
    sent: list[dict] = []
    original = HttpClient.request

    async def recording(self, method, url, **kwargs):
        sent.append({"method": method, "url": url, **kwargs})
        return await original(self, method, url, **kwargs)

    monkeypatch.setattr(HttpClient, "request", recording)
    body = json.dumps(QUESTION)

    async def record():
        response = await jp_fetch(
            "eo-jlab", "catalogues", catalogue, "search", method="POST", body=body
        )
        assert response.code == 200

    await record()  # warm up: capabilities, landing page, index
    sent.clear()
    await record()
    replay = list(sent)  # the upstream request(s) of one warm search
    monkeypatch.undo()

    if "server" not in servers:
        servers["server"] = JupyterServer(Path(tmp_path) / "server", eo_config)
    server = servers["server"]
    url = f"{server.base}eo-jlab/catalogues/{catalogue}/search"
    async with httpx.AsyncClient(timeout=30) as client:

        async def through_eo_jlab():
            response = await client.post(url, content=body, headers=server.headers)
            assert response.status_code == 200, response.text

        async def direct():
            for r in replay:
                response = await client.request(
                    r["method"],
                    r["url"],
                    params=r.get("params"),
                    headers=r.get("headers"),
                    json=r.get("json_body"),
                    content=r.get("content"),
                )
                response.raise_for_status()
                response.content  # noqa: B018

        async def status():
            response = await client.get(server.base + "api/status", headers=server.headers)
            assert response.status_code == 200

        for _ in range(5):  # warm up both ways
            await through_eo_jlab()
            if replay:
                await direct()
        ours, theirs, floor = [], [], []
        for _ in range(RUNS):
            started = time.perf_counter()
            await status()
            floor.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await through_eo_jlab()
            ours.append((time.perf_counter() - started) * 1000)
            if replay:
                started = time.perf_counter()
                await direct()
                theirs.append((time.perf_counter() - started) * 1000)
    RESULTS[catalogue] = {"ours": ours, "theirs": theirs, "upstream_requests": len(replay)}
    extra = statistics.median(ours) - (statistics.median(theirs) if theirs else 0)
    line = (
        f"BENCH {catalogue:<11} runs={RUNS} upstream_requests/search={len(replay)} "
        f"eo-jlab p50={statistics.median(ours):.2f} ms p95={percentile(ours, 95):.2f} ms"
    )
    if theirs:
        line += (
            f" | direct p50={statistics.median(theirs):.2f} ms "
            f"p95={percentile(theirs, 95):.2f} ms | ratio p50="
            f"{statistics.median(ours) / statistics.median(theirs):.2f} "
            f"p95={percentile(ours, 95) / percentile(theirs, 95):.2f}"
        )
    else:
        line += " | local files, no upstream request to compare with"
    line += (
        f" | added p50={extra:.2f} ms, of which a bare GET /api/status round trip (the"
        f" floor of any request through Jupyter) p50={statistics.median(floor):.2f} ms"
    )
    print(line)
