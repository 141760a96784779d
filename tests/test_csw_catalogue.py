"""CSW catalogues (pycsw 2.6, CSW 3.0 and 2.0.2) through the REST API.

The same questions asked of a static catalogue of the same synthetic products must give the
same ids; failures of the upstream service map to 502/504 sentences.
"""

from __future__ import annotations

import json
import socket

import pytest

from eo_jlab.demo.catalogue import S1, S2, write_catalogue

from .servers.pycsw import pycsw_url  # noqa: F401  (session fixture)

TOULOUSE = [0.9, 43.5, 1.5, 43.9]
CSW = ["csw", "csw2"]  # CSW 3.0 (the server's highest) and CSW 2.0.2 (pinned in the URL)


@pytest.fixture(scope="session")
def demo_catalogue(tmp_path_factory):
    return write_catalogue(tmp_path_factory.mktemp("demo") / "catalogue")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def eo_config(demo_catalogue, pycsw_url, upstream):  # noqa: F811
    bad = {
        "closed": f"http://127.0.0.1:{_closed_port()}/csw",
        "error500": upstream.url("/status?code=500"),
        "garbled": upstream.url("/html"),
        "xxe": upstream.url("/xxe"),
        "slow": upstream.url("/slow?s=6"),
    }
    return {
        "request_timeout": 3.0,
        "catalogues": [
            {"id": "demo", "protocol": "static", "url": str(demo_catalogue)},
            {"id": "csw", "protocol": "csw", "url": pycsw_url},
            {"id": "csw2", "protocol": "csw", "url": pycsw_url + "?version=2.0.2"},
            *({"id": k, "protocol": "csw", "url": v} for k, v in bad.items()),
        ],
    }


@pytest.fixture
def search(jp_fetch):
    async def post(catalogue: str, body: dict):
        response = await jp_fetch(
            "eo-jlab", "catalogues", catalogue, "search",
            method="POST", body=json.dumps(body), raise_error=False,
        )  # fmt: skip
        return response.code, json.loads(response.body)

    return post


async def all_pages(search, catalogue: str, body: dict):
    features, totals, token = [], [], None
    while True:
        status, page = await search(catalogue, {**body, **({"page_token": token} if token else {})})
        assert status == 200, page
        features += page["features"]
        totals.append(page["number_matched"])
        token = page["next_page_token"]
        if token is None:
            return features, totals


@pytest.mark.parametrize("cid", CSW)
async def test_collections_and_queryables(eo_get, cid):
    status, body = await eo_get("catalogues", cid, "collections")
    assert status == 200, body
    assert {c["id"] for c in body["collections"]} == {S1, S2}
    status, schema = await eo_get("catalogues", cid, "collections", S2, "queryables")
    assert status == 200 and "title" in schema["properties"]
    status, body = await eo_get("catalogues", cid, "collections", "nope", "queryables")
    assert status == 404


@pytest.mark.parametrize("cid", CSW)
@pytest.mark.parametrize(
    "body",
    [
        {"collections": [S2], "bbox": TOULOUSE, "datetime": "2025-01-01T00:00:00Z/2025-01-31"},
        {"collections": [S1], "q": "Berlin", "datetime": "2025-03-01/2025-04-30"},
        {"q": "31TCJ 2025-03"},
        {"intersects": {"type": "Point", "coordinates": [36.8, -1.3]}, "datetime": "2025-06-01/.."},
    ],
)
async def test_same_ids_as_static(search, cid, body):
    want, _ = await all_pages(search, "demo", {**body, "limit": 100})
    got, totals = await all_pages(search, cid, {**body, "limit": 4})
    assert want and sorted(f["id"] for f in got) == sorted(f["id"] for f in want)
    assert set(totals) == {len(want)}
    if body.get("collections"):
        assert {f["properties"]["collection"] for f in got} == set(body["collections"])


@pytest.mark.parametrize("cid", CSW)
async def test_paging_covers_everything_once(search, cid):
    want, _ = await all_pages(search, "demo", {"limit": 500})
    got, totals = await all_pages(search, cid, {"limit": 60})
    ids = [f["id"] for f in got]
    assert len(ids) == len(set(ids)) == len(want)
    assert set(ids) == {f["id"] for f in want}
    dates = [f["properties"]["datetime"] for f in got]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("cid", CSW)
async def test_item_and_normalized_record(search, eo_get, cid):
    status, page = await search(cid, {"collections": [S2], "q": "Berlin", "limit": 1})
    item = page["features"][0]
    west, south, east, north = item["bbox"]
    assert 12 < west < east < 15 and 52 < south < north < 54  # lon/lat order
    assert item["geometry"]["coordinates"][0][0] == [west, south]
    assert item["properties"]["datetime"].endswith("Z")
    assert item["properties"]["title"].startswith("Sentinel-2 L2A Berlin")
    assert item["thumbnail"].endswith("/thumbnail.png")
    assert item["assets"]["data"]["href"].endswith(".zip")
    assert "request=GetRecordById" in item["source"]["href"]
    status, again = await eo_get("catalogues", cid, "items", item["id"], params={"collection": S2})
    assert status == 200 and again["id"] == item["id"] and again["bbox"] == item["bbox"]
    status, body = await eo_get("catalogues", cid, "items", "nope")
    assert status == 404 and "has no item 'nope'" in body["error"]


async def test_bad_requests_and_token_binding(search):
    status, page = await search("csw", {"q": "Rome", "limit": 2})
    token = page["next_page_token"]
    status, answer = await search("csw", {"q": "Lisbon", "limit": 2, "page_token": token})
    assert status == 400 and "belongs to another search" in answer["error"]
    status, answer = await search("csw2", {"q": "Rome", "limit": 2, "page_token": token})
    assert status == 400
    status, answer = await search("csw", {"filters": {"cloud_cover": {"lt": 10}}})
    assert status == 400 and "cannot filter on 'cloud_cover'" in answer["error"]
    status, answer = await search("csw", {"collections": ["nope"]})
    assert status == 400 and "has no collection 'nope'" in answer["error"]


@pytest.mark.parametrize(
    ("cid", "code"),
    [("closed", 502), ("error500", 502), ("garbled", 502), ("xxe", 502), ("slow", 504)],
)
async def test_upstream_failures(search, eo_get, cid, code, upstream, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    upstream.xxe_path = str(secret)
    status, body = await search(cid, {"q": "x"})
    assert status == code, body
    assert "Traceback" not in json.dumps(body) and "TOP-SECRET" not in json.dumps(body)
    assert body["error"].endswith(".") or body["error"]
