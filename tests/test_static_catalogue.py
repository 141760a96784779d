"""Static STAC catalogue search through the REST API, on the demo's synthetic catalogue.

Expected answers come from the generator's product list (eo_jlab.demo.catalogue.products),
by plain reasoning on areas and dates, not from the adapter's own matching code.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eo_jlab.demo.catalogue import S1, S2, products, write_catalogue

TOULOUSE = [0.9, 43.5, 1.5, 43.9]  # inside tile 31TCJ only


@pytest.fixture(scope="session")
def demo_catalogue(tmp_path_factory) -> Path:
    # The same folder as tests/servers/pgstac.py uses: written once per session.
    return write_catalogue(tmp_path_factory.getbasetemp() / "synthetic-catalogue")


@pytest.fixture(scope="session")
def expected():
    return products()


@pytest.fixture
def served_catalogue(demo_catalogue):
    """The same catalogue behind a real loopback HTTP server."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(demo_catalogue.parent))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/catalog.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def eo_config(demo_catalogue, upstream):
    return {
        "catalogues": [
            {"id": "demo", "title": "Demo", "protocol": "static", "url": str(demo_catalogue)},
            {"id": "stac", "protocol": "stac", "url": upstream.url("/stac")},
        ]
    }


@pytest.fixture
def search(jp_fetch):
    async def post(body: dict, catalogue: str = "demo"):
        response = await jp_fetch(
            "eo-jlab",
            "catalogues",
            catalogue,
            "search",
            method="POST",
            body=json.dumps(body),
            raise_error=False,
        )
        return response.code, json.loads(response.body)

    return post


async def _all_pages(search, body: dict) -> tuple[list[dict], list[int | None]]:
    features, totals, token = [], [], None
    while True:
        status, page = await search({**body, **({"page_token": token} if token else {})})
        assert status == 200, page
        features += page["features"]
        totals.append(page["number_matched"])
        token = page["next_page_token"]
        if token is None:
            return features, totals


async def test_collections(eo_get, expected):
    status, body = await eo_get("catalogues", "demo", "collections")
    assert status == 200
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == {S1, S2}
    assert by_id[S2]["title"] == "Sentinel-2 L2A (demo)"
    assert by_id[S2]["extent"]["temporal"]["interval"][0][0].startswith("2025-01-0")
    assert len(by_id[S2]["extent"]["spatial"]["bbox"][0]) == 4


async def test_queryables_follow_the_collection(eo_get):
    status, schema = await eo_get("catalogues", "demo", "collections", S2, "queryables")
    assert status == 200
    props = schema["properties"]
    assert props["cloud_cover"]["type"] == "number"
    assert 0 <= props["cloud_cover"]["minimum"] <= props["cloud_cover"]["maximum"] <= 100
    assert props["platform"]["enum"] == ["sentinel-2a", "sentinel-2b"]
    assert len(props["s2:mgrs_tile"]["enum"]) == 6
    status, schema = await eo_get("catalogues", "demo", "collections", S1, "queryables")
    assert "cloud_cover" not in schema["properties"]  # radar: only what the collection has
    status, body = await eo_get("catalogues", "demo", "collections", "nope", "queryables")
    assert status == 404


async def test_area_dates_collection(search, expected):
    want = {
        p["id"]
        for p in expected[S2]
        if p["properties"]["area"] == "Toulouse" and p["properties"]["datetime"] < "2025-02"
    }
    features, totals = await _all_pages(
        search,
        {
            "collections": [S2],
            "bbox": TOULOUSE,
            "datetime": "2025-01-01T00:00:00Z/2025-01-31",
            "limit": 3,
        },
    )
    assert {f["id"] for f in features} == want and len(features) == len(want) >= 5
    assert set(totals) == {len(want)}
    for feature in features:
        assert feature["properties"]["collection"] == S2
        assert "T31TCJ" in feature["id"]


async def test_paging_covers_everything_once(search, expected):
    features, totals = await _all_pages(search, {"limit": 37})
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == len(expected[S1]) + len(expected[S2])
    # Newest first.
    dates = [f["properties"]["datetime"] for f in features]
    assert dates == sorted(dates, reverse=True)


async def test_item_is_normalized(search, demo_catalogue):
    status, page = await search({"collections": [S2], "q": "Berlin", "limit": 1})
    item = page["features"][0]
    assert item["type"] == "Feature"
    west, south, east, north = item["bbox"]
    assert 12 < west < east < 15 and 52 < south < north < 54  # lon/lat order
    props = item["properties"]
    assert props["datetime"].endswith("Z") and props["title"].startswith("Sentinel-2 L2A Berlin")
    assert props["platform"] in ("sentinel-2a", "sentinel-2b")
    assert props["instrument"] == "msi" and props["product_type"] == "S2MSI2A"
    assert isinstance(props["cloud_cover"], float)
    assert Path(item["thumbnail"]).is_file()
    assert Path(item["assets"]["visual"]["href"]).is_file()
    assert item["assets"]["visual"]["roles"] == ["visual", "overview"]
    assert item["source"]["catalogue"] == "demo" and item["source"]["protocol"] == "static"
    assert Path(item["source"]["href"]).is_file()


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ({"q": "berlin"}, lambda f: f["properties"]["area"] == "Berlin"),
        (
            {"q": "31TCJ 2025-03"},
            lambda f: "T31TCJ" in f["id"] and "2025-03" in f["properties"]["title"],
        ),
        ({"filters": {"cloud_cover": {"lte": 10}}}, lambda f: f["properties"]["cloud_cover"] <= 10),
        (
            {"filters": {"platform": "sentinel-2b"}},
            lambda f: f["properties"]["platform"] == "sentinel-2b",
        ),
        (
            {"filters": {"cloud_cover": {"gt": 20, "lt": 40}}},
            lambda f: 20 < f["properties"]["cloud_cover"] < 40,
        ),
        (
            {"intersects": {"type": "Point", "coordinates": [36.8, -1.3]}},
            lambda f: f["properties"]["area"] == "Nairobi",
        ),
        (
            {"datetime": "2025-06-01"},
            lambda f: f["properties"]["datetime"].startswith("2025-06-01"),
        ),
        (
            {"datetime": "2025-06-25T00:00:00Z/.."},
            lambda f: f["properties"]["datetime"] >= "2025-06-25",
        ),
    ],
)
async def test_search_criteria(search, body, check):
    features, _ = await _all_pages(search, {**body, "limit": 100})
    assert features, body
    assert all(check(f) for f in features), body


async def test_antimeridian_bbox_and_empty_results(search):
    status, page = await search({"bbox": [170, -20, -170, 20]})
    assert status == 200 and page["features"] == [] and page["number_matched"] == 0
    assert page["next_page_token"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"bbox": [0.9, 43.9, 1.5, 43.5]}, "south must not be greater than north"),
        ({"bbox": [43.5, 0.9, 43.9, 1.5, 3]}, "bbox must be [west, south, east, north]"),
        ({"bbox": [200, 0, 210, 1]}, "longitudes must be between -180 and 180"),
        (
            {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}},
            "either bbox or intersects",
        ),
        ({"intersects": {"type": "Polygon", "coordinates": "nope"}}, "GeoJSON geometry"),
        ({"datetime": "last tuesday"}, "not an RFC 3339 date-time"),
        ({"datetime": "2025-03-01/2025-02-01"}, "start is after its end"),
        ({"limit": 1000}, "limit"),
        ({"colections": [S2]}, "colections"),
        ({"collections": ["nope"]}, "has no collection 'nope'"),
        ({"filters": {"cloud_cover": {"about": 3}}}, "filters"),
        ({"filters": {"cloud_cover": {"lt": "cloudy"}}}, "compares float values with str"),
        ({"page_token": "not-a-token"}, "not one eo-jlab issued"),
    ],
)
async def test_bad_searches_are_400_with_a_sentence(search, body, message):
    status, answer = await search(body)
    assert status == 400, answer
    assert message in answer["error"], answer
    assert "Traceback" not in str(answer)


async def test_page_token_is_bound_to_its_search(search):
    status, page = await search({"q": "Rome", "limit": 2})
    token = page["next_page_token"]
    status, answer = await search({"q": "Lisbon", "limit": 2, "page_token": token})
    assert status == 400 and "belongs to another search" in answer["error"]
    # Two interleaved searches (two tabs) each page on undisturbed.
    status, other = await search({"q": "Berlin", "limit": 2})
    status, rome2 = await search({"q": "Rome", "limit": 2, "page_token": token})
    assert status == 200 and all(f["properties"]["area"] == "Rome" for f in rome2["features"])
    assert {f["id"] for f in rome2["features"]}.isdisjoint({f["id"] for f in page["features"]})


async def test_malformed_body(jp_fetch):
    response = await jp_fetch(
        "eo-jlab",
        "catalogues",
        "demo",
        "search",
        method="POST",
        body="{not json",
        raise_error=False,
    )
    assert response.code == 400
    assert json.loads(response.body)["error"] == "The request body is not valid JSON."


async def test_item_by_id(eo_get, expected):
    wanted = expected[S1][5]["id"]
    status, item = await eo_get("catalogues", "demo", "items", wanted, params={"collection": S1})
    assert status == 200 and item["id"] == wanted and item["properties"]["collection"] == S1
    status, item = await eo_get("catalogues", "demo", "items", wanted)
    assert status == 200 and item["id"] == wanted
    status, body = await eo_get("catalogues", "demo", "items", "nope")
    assert status == 404 and "has no item 'nope'" in body["error"]


async def test_unknown_catalogue_and_missing_file(eo_get, tmp_path):
    status, body = await eo_get("catalogues", "nope", "collections")
    assert status == 404 and body["error"] == "No catalogue is configured with the id 'nope'."


async def test_links_leaving_the_catalogue_folder_are_not_followed(tmp_path, jp_fetch, eo_get):
    outside = tmp_path / "outside.json"
    outside.write_text(
        json.dumps(
            {
                "type": "Feature",
                "id": "escaped",
                "geometry": None,
                "properties": {"datetime": "2025-01-01T00:00:00Z"},
            }
        )
    )
    inner = tmp_path / "cat"
    inner.mkdir()
    (inner / "catalog.json").write_text(
        json.dumps(
            {
                "type": "Catalog",
                "id": "c",
                "description": "",
                "stac_version": "1.0.0",
                "links": [
                    {"rel": "item", "href": "../outside.json"},
                    {"rel": "item", "href": "/etc/passwd"},
                    {"rel": "item", "href": "./inside.json"},
                ],
            }
        )
    )
    (inner / "inside.json").write_text(
        json.dumps({"type": "Feature", "id": "inside", "geometry": None, "properties": {}})
    )
    from eo_jlab.catalogue.static import StaticCatalogue
    from eo_jlab.models import CatalogueEndpoint
    from eo_jlab.net import HostPolicy, HttpClient

    endpoint = CatalogueEndpoint(id="c", protocol="static", url=str(inner / "catalog.json"))
    client = HttpClient(HostPolicy([endpoint]))
    try:
        index = await StaticCatalogue(endpoint, client).index()
    finally:
        await client.aclose()
    assert [e.item["id"] for e in index.entries] == ["inside"]


async def test_remote_static_catalogue_gives_the_same_answers(served_catalogue, demo_catalogue):
    from eo_jlab.catalogue.base import SearchRequest
    from eo_jlab.catalogue.static import StaticCatalogue
    from eo_jlab.models import CatalogueEndpoint
    from eo_jlab.net import HostPolicy, HttpClient

    remote = CatalogueEndpoint(id="r", protocol="static", url=served_catalogue)
    local = CatalogueEndpoint(id="r", protocol="static", url=str(demo_catalogue))
    client = HttpClient(HostPolicy([remote]))
    try:
        request = SearchRequest(bbox=TOULOUSE, datetime="2025-04-01/2025-04-30", limit=100)
        remote_page = await StaticCatalogue(remote, client).search(request)
        local_page = await StaticCatalogue(local, client).search(request)
    finally:
        await client.aclose()
    assert [f["id"] for f in remote_page.features] == [f["id"] for f in local_page.features]
    assert remote_page.features and remote_page.features[0]["thumbnail"].startswith(
        "http://127.0.0.1"
    )


async def test_quicklook_serves_catalogue_images_only(jp_fetch, search, demo_catalogue, tmp_path):
    status, page = await search({"q": "Rome", "limit": 1})
    item = page["features"][0]
    response = await jp_fetch(
        "eo-jlab", "catalogues", "demo", "quicklook", params={"href": item["thumbnail"]}
    )
    assert response.code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.body.startswith(b"\x89PNG\r\n\x1a\n")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not in the catalogue")
    for href in (str(secret), item["source"]["href"], str(demo_catalogue.parent / "../x.png")):
        response = await jp_fetch(
            "eo-jlab",
            "catalogues",
            "demo",
            "quicklook",
            params={"href": href},
            raise_error=False,
        )
        assert response.code == 404, href
        assert json.loads(response.body)["error"] == "No such quicklook in this catalogue."
    response = await jp_fetch("eo-jlab", "catalogues", "demo", "quicklook", raise_error=False)
    assert response.code == 400
