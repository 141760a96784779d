"""OpenSearch catalogues through the REST API: pycsw's Atom and a Resto-style GeoJSON fixture.

The same questions asked of a static catalogue of the same synthetic products must give the
same ids; Resto quirks and upstream failures are checked too.
"""
# ruff: noqa: F811  (pytest fixtures imported from other modules are parameters here)

from __future__ import annotations

import json

import pytest

from eo_jlab.demo.catalogue import S1, S2, products

from .servers.pycsw import opensearch_description, pycsw_url  # noqa: F401
from .servers.resto import resto_server, resto_url  # noqa: F401
from .test_csw_catalogue import (  # noqa: F401  (fixtures shared with the CSW tests)
    TOULOUSE,
    _closed_port,
    all_pages,
    demo_catalogue,
    search,
)

OS = ["resto", "pycsw-os"]


@pytest.fixture
def eo_config(demo_catalogue, pycsw_url, resto_url, resto_server, upstream):  # noqa: F811
    bad = {
        "closed": f"http://127.0.0.1:{_closed_port()}/describe.xml",
        "error500": upstream.url("/status?code=500"),
        "garbled": upstream.url("/garbled"),
        "xxe": upstream.url("/xxe"),
        "slow": upstream.url("/slow?s=6"),
    }
    return {
        "request_timeout": 3.0,
        "catalogues": [
            {"id": "demo", "protocol": "static", "url": str(demo_catalogue)},
            {"id": "resto", "protocol": "opensearch", "url": resto_url},
            {"id": "quirks", "protocol": "opensearch",
             "url": resto_server.base + "/quirks/describe.xml"},
            {"id": "pycsw-os", "protocol": "opensearch",
             "url": opensearch_description(pycsw_url)},
            *({"id": k, "protocol": "opensearch", "url": v} for k, v in bad.items()),
        ],
    }  # fmt: skip


async def test_collections_and_queryables(eo_get):
    status, body = await eo_get("catalogues", "resto", "collections")
    assert status == 200 and {c["id"] for c in body["collections"]} == {S1, S2}
    status, body = await eo_get("catalogues", "pycsw-os", "collections")
    assert status == 200 and [c["id"] for c in body["collections"]] == ["pycsw-os"]
    status, schema = await eo_get("catalogues", "resto", "collections", S2, "queryables")
    assert status == 200 and set(schema["properties"]) == {"cloud_cover", "platform"}
    status, body = await eo_get("catalogues", "resto", "collections", "nope", "queryables")
    assert status == 404


@pytest.mark.parametrize(
    ("cid", "body"),
    [
        ("resto", {"collections": [S2], "bbox": TOULOUSE, "datetime": "2025-01-01/2025-01-31"}),
        ("resto", {"collections": [S1], "q": "Berlin", "datetime": "2025-03-01/2025-04-30"}),
        ("resto", {"q": "31TCJ 2025-03"}),
        ("resto", {"collections": [S2], "filters": {"cloud_cover": {"gt": 20, "lte": 40}}}),
        ("resto", {"filters": {"platform": "sentinel-2b"}, "datetime": "2025-06-01/.."}),
        ("pycsw-os", {"bbox": TOULOUSE, "datetime": "2025-01-01T00:00:00Z/2025-01-31"}),
        ("pycsw-os", {"q": "Berlin", "datetime": "2025-03-01/2025-04-30"}),
        ("pycsw-os", {"datetime": "2025-06-25T00:00:00Z/.."}),
    ],
)  # fmt: skip
async def test_same_ids_as_static(search, cid, body):
    want, _ = await all_pages(search, "demo", {**body, "limit": 100})
    got, totals = await all_pages(search, cid, {**body, "limit": 4})
    assert want and sorted(f["id"] for f in got) == sorted(f["id"] for f in want)
    assert set(totals) == {len(want)}


@pytest.mark.parametrize("cid", OS)
async def test_paging_covers_everything_once(search, cid):
    got, _ = await all_pages(search, cid, {"limit": 100})
    ids = [f["id"] for f in got]
    assert len(ids) == len(set(ids)) == sum(len(v) for v in products().values())


async def test_items_are_normalized(search, eo_get):
    status, page = await search("resto", {"collections": [S2], "q": "Berlin", "limit": 1})
    item = page["features"][0]
    west, south, east, north = item["bbox"]
    assert 12 < west < east < 15 and 52 < south < north < 54
    props = item["properties"]
    assert props["collection"] == S2 and props["platform"].startswith("sentinel-2")
    assert isinstance(props["cloud_cover"], float) and props["datetime"].endswith("Z")
    assert item["thumbnail"].endswith(".png") and item["assets"]["data"]["href"]
    status, again = await eo_get("catalogues", "resto", "items", item["id"])
    assert status == 200 and again["id"] == item["id"]
    status, body = await eo_get("catalogues", "resto", "items", "nope")
    assert status == 404
    # pycsw Atom: gml:Envelope footprints in lat/lon order become lon/lat.
    status, page = await search("pycsw-os", {"q": "Berlin", "limit": 1})
    item = page["features"][0]
    west, south, east, north = item["bbox"]
    assert 12 < west < east < 15 and 52 < south < north < 54
    assert item["thumbnail"].endswith("thumbnail.png")
    status, again = await eo_get("catalogues", "pycsw-os", "items", item["id"])
    assert status == 200 and again["id"] == item["id"]


async def test_resto_quirks(search):
    status, page = await search("quirks", {"q": "Rome", "limit": 3})
    assert status == 200 and len(page["features"]) == 3
    for feature in page["features"]:
        assert feature["geometry"] is None and feature["bbox"] is None
        assert feature["properties"]["cloud_cover"] is None


async def test_bad_requests_and_token_binding(search):
    status, page = await search("resto", {"q": "Rome", "limit": 2})
    token = page["next_page_token"]
    status, answer = await search("resto", {"q": "Lisbon", "limit": 2, "page_token": token})
    assert status == 400 and "belongs to another search" in answer["error"]
    status, answer = await search("resto", {"filters": {"snow": 3}})
    assert status == 400 and "cannot filter on 'snow'" in answer["error"]
    status, answer = await search("resto", {"collections": [S1, "nope"]})
    assert status == 400 and "has no collection 'nope'" in answer["error"]


@pytest.mark.parametrize(
    ("cid", "code"),
    [("closed", 502), ("error500", 502), ("garbled", 502), ("xxe", 502), ("slow", 504)],
)
async def test_upstream_failures(search, cid, code, upstream, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    upstream.xxe_path = str(secret)
    status, body = await search(cid, {"q": "x"})
    assert status == code, body
    assert "Traceback" not in json.dumps(body) and "TOP-SECRET" not in json.dumps(body)
