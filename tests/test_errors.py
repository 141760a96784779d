"""Domain errors become the contract's JSON bodies; unexpected ones never leak internals."""

from __future__ import annotations

import pytest

from eo_jlab import errors
from eo_jlab.endpoints import EndpointRegistry


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.BadRequest, 400),
        (errors.Forbidden, 403),
        (errors.NotFound, 404),
        (errors.Conflict, 409),
        (errors.UpstreamError, 502),
        (errors.UpstreamTimeout, 504),
    ],
)
async def test_domain_error_maps_to_contract(eo_get, monkeypatch, error, status):
    async def failing_probe(self, endpoint_id, client):
        raise error("A sentence for people.", {"hint": "details survive"})

    monkeypatch.setattr(EndpointRegistry, "probe", failing_probe)
    code, body = await eo_get("endpoints", "stac", "probe")
    assert code == status
    assert body == {"error": "A sentence for people.", "details": {"hint": "details survive"}}


async def test_unexpected_error_is_500_without_internals(eo_get, monkeypatch):
    async def broken_probe(self, endpoint_id, client):
        raise RuntimeError("internal state /srv/secret/path")

    monkeypatch.setattr(EndpointRegistry, "probe", broken_probe)
    code, body = await eo_get("endpoints", "stac", "probe")
    assert code == 500
    assert body == {
        "error": "eo-jlab hit an internal error; the server log has the details.",
        "details": {},
    }
