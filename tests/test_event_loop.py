"""The tornado event loop stays free while upstream requests wait (acceptance 5).

Functional, not a timing assertion: 20 requests wait on a loopback service that answers
after 3 s, and the Jupyter server keeps answering ``GET /api/status`` meanwhile. The
latency figures are measured by bench/event_loop.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import AsyncHTTPClient

N = 20


@pytest.fixture
def eo_config(upstream):
    return {
        "catalogues": [{"id": "slow", "protocol": "stac", "url": upstream.url("/slow?s=3")}],
        "request_timeout": 30.0,
    }


async def test_status_answers_while_20_requests_wait(
    jp_serverapp, http_server_client, jp_base_url, jp_http_port, jp_auth_header, upstream
):
    # A client of its own with room for every request at once (tornado's default is 10).
    client = AsyncHTTPClient(force_instance=True, max_clients=N + 10)
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"

    def fetch(path):
        return client.fetch(
            base + path, headers=jp_auth_header, raise_error=False, request_timeout=60
        )

    try:
        probes = [asyncio.ensure_future(fetch("eo-jlab/endpoints/slow/probe")) for _ in range(N)]
        answered_while_waiting = 0
        while not all(p.done() for p in probes):
            status = await fetch("api/status")
            assert status.code == 200
            assert "started" in json.loads(status.body)
            if upstream.slow_in_flight == N and not any(p.done() for p in probes):
                answered_while_waiting += 1
            await asyncio.sleep(0.05)
        results = [p.result() for p in probes]
    finally:
        client.close()

    assert [r.code for r in results] == [200] * N
    assert all(json.loads(r.body)["title"] == "Loopback STAC" for r in results)
    # All 20 were waiting upstream at the same time, and status answered during that wait.
    assert upstream.slow_max_in_flight == N
    assert answered_while_waiting >= 3, answered_while_waiting
