"""STAC API catalogue search through the REST API, on a real stac-fastapi-pgstac server.

The server holds the demo's synthetic products (tests/servers/pgstac.py); a static catalogue
of the same products is configured beside it, and every question is asked of both: the STAC
adapter must give the same item ids. A small loopback proxy in front of the same server plays
a catalogue that takes no POST searches (the GET fallback) or fails with a STAC description.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eo_jlab.demo.catalogue import S1, S2, products

from .servers.pgstac import stac_api_factory, stac_api_url, synthetic_catalogue  # noqa: F401

TOULOUSE = [0.9, 43.5, 1.5, 43.9]
QUERY_ONLY = "query,sort,fields,pagination"  # stac-fastapi-pgstac without CQL2 filter


class StacProxy:
    """A loopback proxy to the STAC API playing a server variant.

    ``mode``: "get-only" (the landing page advertises GET search only), "no-post" (POST
    advertised but answered 405), "fail" (searches answer 500 with a STAC description).
    """

    def __init__(self, target: str, mode: str):
        self.target = target.rstrip("/")
        self.mode = mode
        self.methods: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                proxy.handle(self, "GET")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                self.body = self.rfile.read(length) if length else b""
                proxy.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def send(h, status: int, body: bytes, kind: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h, method: str) -> None:
        path = h.path.split("?")[0]
        self.methods.append((method, path))
        if path == "/search" and self.mode == "no-post" and method == "POST":
            self.send(h, 405, b'{"code": "MethodNotAllowed", "description": "Use GET."}')
            return
        if path == "/search" and self.mode == "fail":
            description = "Statement timeout: the database gave up on this query " + "x" * 400
            body = {"code": "InternalServerError", "description": description}
            self.send(h, 500, json.dumps(body).encode())
            return
        request = urllib.request.Request(
            self.target + h.path,
            data=getattr(h, "body", None) if method == "POST" else None,
            method=method,
            # The API builds its links from Host: they then point at this proxy.
            headers={"Host": self.url.split("/")[2], "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        if path == "/" and self.mode == "get-only":
            landing = json.loads(body)
            landing["links"] = [
                link
                for link in landing["links"]
                if not (link["rel"] == "search" and link.get("method") == "POST")
            ]
            body = json.dumps(landing).encode()
        self.send(h, status, body)


@pytest.fixture(scope="module")
def proxies(stac_api_url):  # noqa: F811
    made = {mode: StacProxy(stac_api_url, mode) for mode in ("get-only", "no-post", "fail")}
    yield made
    for proxy in made.values():
        proxy.stop()


@pytest.fixture(scope="module")
def query_only_url(stac_api_factory):  # noqa: F811
    return stac_api_factory(QUERY_ONLY)


@pytest.fixture
def eo_config(synthetic_catalogue, stac_api_url, proxies, query_only_url, upstream):  # noqa: F811
    def stac(cid: str, url: str) -> dict:
        return {"id": cid, "title": cid, "protocol": "stac", "url": url}

    return {
        "request_timeout": 3.0,
        "catalogues": [
            {"id": "demo", "protocol": "static", "url": str(synthetic_catalogue)},
            stac("stac", stac_api_url),
            stac("get-only", proxies["get-only"].url),
            stac("no-post", proxies["no-post"].url),
            stac("fail", proxies["fail"].url),
            stac("query-only", query_only_url),
            stac("down", "http://127.0.0.1:9/"),
            stac("broken", upstream.url("/status?code=500")),
            stac("garbled", upstream.url("/garbled")),
            stac("slow", upstream.url("/slow?s=8")),
            stac("not-stac", upstream.url("/stac")),
        ],
    }


@pytest.fixture
def search(jp_fetch):
    async def post(body: dict, catalogue: str = "stac"):
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


async def _all_pages(search, body: dict, catalogue: str = "stac"):
    features, totals, token = [], [], None
    for _ in range(100):
        status, page = await search({**body, **({"page_token": token} if token else {})}, catalogue)
        assert status == 200, page
        features += page["features"]
        totals.append(page["number_matched"])
        token = page["next_page_token"]
        if token is None:
            return features, totals
    raise AssertionError("paging did not end")


async def _same_answer(search, body: dict, catalogue: str = "stac") -> list[dict]:
    """All pages from the STAC catalogue; the same ids as the static one (no duplicates)."""
    features, _ = await _all_pages(search, body, catalogue)
    reference, _ = await _all_pages(search, {**body, "limit": 500}, "demo")
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)), body
    assert set(ids) == {f["id"] for f in reference}, body
    return features


QUESTIONS = [
    {"collections": [S2], "bbox": TOULOUSE, "datetime": "2025-01-01T00:00:00Z/2025-01-31"},
    {"q": "berlin"},
    {"q": "31TCJ 2025-03"},
    {"filters": {"cloud_cover": {"lte": 10}}},
    {"filters": {"cloud_cover": {"gt": 20, "lt": 40}}, "collections": [S2]},
    {"filters": {"platform": "sentinel-2b"}},
    {"filters": {"product_type": "GRD"}, "bbox": TOULOUSE},
    {"intersects": {"type": "Point", "coordinates": [36.8, -1.3]}},
    {
        "intersects": {
            "type": "Polygon",
            "coordinates": [[[12, 41.5], [12.5, 41.5], [12.5, 42], [12, 42], [12, 41.5]]],
        },
        "datetime": "2025-03-01/2025-04-15",
    },
    {"datetime": "2025-06-01"},
    {"datetime": "2025-06-25T00:00:00Z/.."},
    {"datetime": "../2025-01-10", "q": "Rome"},
]


@pytest.mark.parametrize("body", QUESTIONS, ids=lambda b: json.dumps(b)[:60])
async def test_same_answers_as_the_static_catalogue(search, body):
    features = await _same_answer(search, {**body, "limit": 40})
    assert features, body
    for feature in features:
        assert feature["source"] == {
            "catalogue": "stac",
            "protocol": "stac",
            "href": feature["source"]["href"],
        }
        assert feature["source"]["href"].endswith(f"/items/{feature['id']}")


async def test_area_dates_collection_with_counts(search):
    want = {
        p["id"]
        for p in products()[S2]
        if p["properties"]["area"] == "Toulouse" and p["properties"]["datetime"] < "2025-02"
    }
    body = {
        "collections": [S2],
        "bbox": TOULOUSE,
        "datetime": "2025-01-01T00:00:00Z/2025-01-31",
        "limit": 3,
        "count": True,
    }
    features, totals = await _all_pages(search, body)
    assert {f["id"] for f in features} == want and len(features) == len(want) >= 5
    assert set(totals) == {len(want)}
    features, totals = await _all_pages(search, {**body, "count": False})
    assert {f["id"] for f in features} == want and set(totals) == {None}


async def test_paging_covers_everything_once(search):
    everything = products()
    total = len(everything[S1]) + len(everything[S2])
    features, totals = await _all_pages(search, {"limit": 37, "count": True})
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == total
    assert set(totals) == {total}
    dates = [f["properties"]["datetime"] for f in features]
    assert dates == sorted(dates, reverse=True)  # newest first, as the static one


async def test_item_is_normalized(search, eo_get):
    status, page = await search({"collections": [S2], "q": "Berlin", "limit": 1})
    assert status == 200 and page["number_matched"] is None
    item = page["features"][0]
    west, south, east, north = item["bbox"]
    assert 12 < west < east < 15 and 52 < south < north < 54
    props = item["properties"]
    assert props["title"].startswith("Sentinel-2 L2A Berlin") and props["collection"] == S2
    assert props["instrument"] == "msi" and props["product_type"] == "S2MSI2A"
    assert isinstance(props["cloud_cover"], float) and "eo:cloud_cover" not in props
    assert Path(item["thumbnail"]).is_file()
    assert item["assets"]["visual"]["roles"] == ["visual", "overview"]
    assert item["source"]["href"].startswith("http://127.0.0.1")
    status, same = await eo_get("catalogues", "demo", "items", item["id"])
    assert {k: v for k, v in same["properties"].items()} == props


async def test_item_by_id(eo_get):
    wanted = products()[S1][5]["id"]
    status, item = await eo_get("catalogues", "stac", "items", wanted, params={"collection": S1})
    assert status == 200 and item["id"] == wanted and item["properties"]["collection"] == S1
    assert item["source"]["href"].endswith(f"/collections/{S1}/items/{wanted}")
    status, item = await eo_get("catalogues", "stac", "items", wanted)
    assert status == 200 and item["id"] == wanted and item["properties"]["collection"] == S1
    status, body = await eo_get("catalogues", "stac", "items", "nope")
    assert status == 404 and "has no item 'nope'" in body["error"]
    status, body = await eo_get("catalogues", "stac", "items", wanted, params={"collection": S2})
    assert status == 404 and "in collection" in body["error"]


async def test_collections(eo_get):
    status, body = await eo_get("catalogues", "stac", "collections")
    assert status == 200
    status, reference = await eo_get("catalogues", "demo", "collections")
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == {c["id"] for c in reference["collections"]} == {S1, S2}
    for expected in reference["collections"]:
        got = by_id[expected["id"]]
        assert got["title"] == expected["title"]
        assert got["description"] == expected["description"]
        assert got["extent"]["spatial"]["bbox"] == expected["extent"]["spatial"]["bbox"]
        assert got["extent"]["temporal"]["interval"][0][0].startswith("2025-01-0")


async def test_queryables(eo_get):
    status, schema = await eo_get("catalogues", "stac", "collections", S2, "queryables")
    assert status == 200, schema
    props = schema["properties"]
    status, reference = await eo_get("catalogues", "demo", "collections", S2, "queryables")
    for name in ("cloud_cover", "platform", "product_type", "s2:mgrs_tile", "relative_orbit"):
        assert props[name]["type"] == reference["properties"][name]["type"], name
    assert "eo:cloud_cover" not in props and "geometry" not in props
    cloud = reference["properties"]["cloud_cover"]
    assert props["cloud_cover"]["minimum"] == cloud["minimum"]
    assert props["cloud_cover"]["maximum"] == cloud["maximum"]
    assert props["platform"]["enum"] == ["sentinel-2a", "sentinel-2b"]
    status, schema = await eo_get("catalogues", "stac", "collections", S1, "queryables")
    assert "cloud_cover" not in schema["properties"]
    assert schema["properties"]["product_type"]["enum"] == ["GRD"]
    status, body = await eo_get("catalogues", "stac", "collections", "nope", "queryables")
    assert status == 404 and "has no collection 'nope'" in body["error"]


async def test_page_token_is_bound_to_its_search(search):
    status, page = await search({"q": "Rome", "limit": 2})
    token = page["next_page_token"]
    assert status == 200 and token
    status, answer = await search({"q": "Lisbon", "limit": 2, "page_token": token})
    assert status == 400 and "belongs to another search" in answer["error"]
    status, answer = await search({"q": "Rome", "limit": 2, "page_token": token}, "demo")
    assert status == 400 and "belongs to another search" in answer["error"]
    status, answer = await search({"q": "Rome", "limit": 2, "page_token": "not-a-token"})
    assert status == 400 and "not one eo-jlab issued" in answer["error"]
    status, other = await search({"q": "Berlin", "limit": 2})
    status, rome2 = await search({"q": "Rome", "limit": 2, "page_token": token})
    assert status == 200 and all("Rome" in f["properties"]["title"] for f in rome2["features"])
    assert {f["id"] for f in rome2["features"]}.isdisjoint({f["id"] for f in page["features"]})


@pytest.mark.parametrize("catalogue", ["get-only", "no-post"])
async def test_get_fallback(search, eo_get, proxies, catalogue):
    proxy = proxies[catalogue]
    proxy.methods.clear()
    body = {
        "intersects": {
            "type": "Polygon",
            "coordinates": [[[0.8, 43.4], [1.6, 43.4], [1.6, 44], [0.8, 44], [0.8, 43.4]]],
        },
        "filters": {"cloud_cover": {"lt": 50}},
        "q": "toulouse",
        "datetime": "2025-02-01/2025-05-31",
        "collections": [S2],
        "limit": 4,
    }
    features = await _same_answer(search, body, catalogue)
    assert len(features) > 8  # several pages
    _, totals = await _all_pages(search, {**body, "count": True}, catalogue)
    assert set(totals) == {len(features)}
    searches = [method for method, path in proxy.methods if path == "/search"]
    if catalogue == "get-only":
        assert set(searches) == {"GET"}
    else:  # one refused POST, then GET only
        assert searches[0] == "POST" and set(searches[1:]) == {"GET"}
    wanted = products()[S2][3]["id"]
    status, item = await eo_get("catalogues", catalogue, "items", wanted)
    assert status == 200 and item["id"] == wanted and item["source"]["href"].startswith(proxy.url)


async def test_query_extension_when_no_cql2(search):
    for body in QUESTIONS:
        # Text needs CQL2; the query extension cannot OR product_type's two STAC spellings.
        if "q" not in body and "product_type" not in body.get("filters", {}):
            await _same_answer(search, {**body, "limit": 50}, "query-only")
    status, answer = await search({"q": "berlin"}, "query-only")
    assert status == 400 and "cannot search by text" in answer["error"]


async def test_upstream_description_in_the_sentence(search):
    status, answer = await search({"q": "berlin"}, "fail")
    assert status == 502
    assert "Statement timeout: the database gave up" in answer["error"]
    assert len(answer["error"]) < 300 and "Traceback" not in str(answer)


@pytest.mark.parametrize(
    ("catalogue", "code", "words"),
    [
        ("down", 502, "Could not connect"),
        ("broken", 502, "HTTP 500"),
        ("garbled", 502, "did not answer with JSON"),
        ("slow", 504, "did not answer within 3 seconds"),
        ("not-stac", 502, "did not answer the search with a FeatureCollection"),
    ],
)
async def test_upstream_failures(search, eo_get, catalogue, code, words):
    status, answer = await search({"limit": 5}, catalogue)
    assert status == code, answer
    assert words in answer["error"], answer
    assert "Traceback" not in str(answer)
    if catalogue != "not-stac":
        status, answer = await eo_get("catalogues", catalogue, "collections")
        assert status == code and words in answer["error"], answer
