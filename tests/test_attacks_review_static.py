"""Outside review, finding 4: a remote static catalogue too big to index (issue 18).

A loopback HTTP server generates a static STAC catalogue on the fly, never stored: a root
catalogue with 1,000 child catalogues of 400 items each (400,000 items), or one
FeatureCollection of 20,000 features. The old walk read up to 100,000 documents and kept
them all, and the server's event loop stalled while it did.

Cases:
- ``test_document_bound_stops_the_walk_and_the_probe_says_so``: through the REST API with
  ``c.EOJLab.static_index_max_documents = 1500``: the first search answers from a partial index
  of at most 1,500 documents (the upstream served no more), the event loop kept turning
  during the walk (a heartbeat task: no stall over 1 s, many turns), the endpoint probe's
  ``detail`` says the catalogue was indexed partially and names the bound, and searches and
  items by id answer from what was indexed.
- ``test_bytes_bound_stops_the_walk``: ``static_index_max_bytes`` stops the walk; the note
  names it; what was read is searchable.
- ``test_time_bound_stops_the_walk``: a slow upstream and ``static_index_max_seconds = 1``:
  the walk ends after about a second, the note names the bound.
- ``test_big_feature_collection_is_bounded_and_yields``: one 20,000-feature document is
  parsed off the loop and indexed in batches, up to the documents bound.
- ``test_reindexing_runs_in_the_background``: when a remote index is due for its periodic
  rebuild, searches answer at once from the current index while the new walk runs in the
  background, and the loop does not stall.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from eo_jlab.catalogue.base import SearchRequest
from eo_jlab.catalogue.static import StaticCatalogue
from eo_jlab.models import CatalogueEndpoint
from eo_jlab.net import HostPolicy, HttpClient

pytestmark = pytest.mark.timeout(240)

CHILDREN = 1000
ITEMS = 400
FEATURES = 20_000
DOCUMENT_BOUND = 1500


def _item(child: int, number: int) -> dict:
    west, south = -180 + (child % 360), -60 + (number % 120)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": f"huge-{child}-{number}",
        "collection": "huge",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [west, south],
                    [west + 1, south],
                    [west + 1, south + 1],
                    [west, south + 1],
                    [west, south],
                ]
            ],
        },  # fmt: skip
        "bbox": [west, south, west + 1, south + 1],
        "properties": {
            "datetime": f"2025-{1 + number % 12:02d}-{1 + child % 28:02d}T10:00:00Z",
            "platform": "sentinel-2a",
            "eo:cloud_cover": number % 100,
            "title": f"Generated item {child}/{number}",
        },
        "assets": {
            "B04": {"href": f"B04-{number}.tif", "type": "image/tiff; application=geotiff"},
            "thumbnail": {"href": f"t{number}.png", "type": "image/png", "roles": ["thumbnail"]},
        },
        "links": [],
    }


class HugeCatalogue:
    """``/catalog.json`` -> ``/c{i}/catalog.json`` -> ``/c{i}/i{j}.json``, and ``/fc.json``."""

    def __init__(self):
        self.served = 0
        self.bytes = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        features = [_item(n // ITEMS, n % ITEMS) for n in range(FEATURES)]
        self.feature_collection = json.dumps(
            {"type": "FeatureCollection", "features": features}
        ).encode()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                # Made before the test starts: this server shares the tests' interpreter.
                body = owner.feature_collection if self.path == "/fc.json" else None
                doc = owner.document(self.path) if body is None else {}
                if doc is None:
                    self.send_error(404)
                    return
                if owner.delay:
                    time.sleep(owner.delay)
                body = body or json.dumps(doc).encode()
                with owner.lock:
                    owner.served += 1
                    owner.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def document(self, path: str) -> dict | None:
        if path == "/catalog.json":
            return {
                "type": "Catalog",
                "stac_version": "1.0.0",
                "id": "huge",
                "title": "A huge generated catalogue",
                "description": "generated",
                "links": [{"rel": "child", "href": f"c{i}/catalog.json"} for i in range(CHILDREN)],
            }
        if found := re.fullmatch(r"/c(\d+)/catalog\.json", path):
            return {
                "type": "Catalog",
                "stac_version": "1.0.0",
                "id": f"c{found[1]}",
                "description": "generated",
                "links": [{"rel": "item", "href": f"i{j}.json"} for j in range(ITEMS)],
            }
        if found := re.fullmatch(r"/c(\d+)/i(\d+)\.json", path):
            return _item(int(found[1]), int(found[2]))
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Heartbeat:
    """A task that sleeps 5 ms in a loop and records how late it wakes (the loop's stalls)."""

    def __init__(self):
        self.turns = 0
        self.worst = 0.0
        self._task = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.monotonic() - before - 0.005)
            self.turns += 1

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def check(self) -> None:
        assert self.worst < 1.0, f"the event loop stalled {self.worst:.2f} s"
        assert self.turns >= 20, f"the event loop turned only {self.turns} times"


@pytest.fixture
def huge():
    server = HugeCatalogue()
    yield server
    server.stop()


@pytest.fixture
def eo_config(huge):
    return {
        "catalogues": [
            {"id": "huge", "protocol": "static", "url": huge.url("/catalog.json")},
        ],
        "static_index_max_documents": DOCUMENT_BOUND,
    }


async def _post_search(jp_fetch, body: dict):
    response = await jp_fetch(
        "eo-jlab", "catalogues", "huge", "search", method="POST", body=json.dumps(body),
        raise_error=False,
    )  # fmt: skip
    return response.code, json.loads(response.body)


async def test_document_bound_stops_the_walk_and_the_probe_says_so(jp_fetch, eo_get, huge):
    heartbeat = Heartbeat()
    try:
        # Bounded: the old walk went on to 100,000 documents.
        status, page = await asyncio.wait_for(_post_search(jp_fetch, {"limit": 5}), 120)
    finally:
        await heartbeat.stop()
    assert status == 200, page
    assert huge.served <= DOCUMENT_BOUND
    assert 0 < page["number_matched"] <= DOCUMENT_BOUND
    heartbeat.check()

    status, probe = await eo_get("endpoints", "huge", "probe")
    assert status == 200 and probe["ok"], probe
    assert probe["title"] == "A huge generated catalogue"
    assert "Indexed partially" in probe["detail"], probe
    assert "1,500 documents (c.EOJLab.static_index_max_documents)" in probe["detail"]
    assert f"the {page['number_matched']:,} items indexed" in probe["detail"]

    found = page["features"][0]
    status, again = await _post_search(jp_fetch, {"q": found["id"], "limit": 5})
    assert status == 200 and [f["id"] for f in again["features"]] == [found["id"]], again
    status, item = await eo_get("catalogues", "huge", "items", found["id"])
    assert status == 200 and item["id"] == found["id"]
    assert item["thumbnail"].startswith(huge.url("/c")), item["thumbnail"]


def _limits(**bounds):
    from eo_jlab.catalogue.static import IndexLimits  # here: the old code had none

    return IndexLimits(**bounds)


async def _catalogue(huge: HugeCatalogue, path: str, limits):
    endpoint = CatalogueEndpoint(id="huge", protocol="static", url=huge.url(path))
    client = HttpClient(HostPolicy([endpoint]))
    return StaticCatalogue(endpoint, client, limits), client


async def test_bytes_bound_stops_the_walk(huge):
    catalogue, client = await _catalogue(huge, "/catalog.json", _limits(bytes=400_000))
    try:
        index = await catalogue.index()
        page = await catalogue.search(SearchRequest(q="huge", limit=3))
    finally:
        await client.aclose()
    assert index.stopped_by == "bytes"
    assert 400_000 <= index.bytes < 400_000 + 8 * 20_000  # what was in flight when it stopped
    assert huge.served == index.documents < 1000 and index.entries
    assert "400,000 bytes read (c.EOJLab.static_index_max_bytes)" in catalogue.index_note
    assert page.number_matched == len(index.entries) and len(page.features) == 3


async def test_time_bound_stops_the_walk(huge):
    huge.delay = 0.02
    catalogue, client = await _catalogue(huge, "/catalog.json", _limits(seconds=1.0))
    started = time.monotonic()
    try:
        index = await catalogue.index()
    finally:
        await client.aclose()
    assert time.monotonic() - started < 10
    assert index.stopped_by == "seconds"
    assert "1 seconds (c.EOJLab.static_index_max_seconds)" in catalogue.index_note
    assert huge.served < 1000


async def test_big_feature_collection_is_bounded_and_yields(huge):
    catalogue, client = await _catalogue(huge, "/fc.json", _limits(documents=5_000))
    heartbeat = Heartbeat()
    try:
        index = await catalogue.index()
    finally:
        await heartbeat.stop()
        await client.aclose()
    assert len(index.entries) == 5_000 and index.stopped_by == "documents"
    assert "5,000 documents" in catalogue.index_note
    heartbeat.check()


async def test_reindexing_runs_in_the_background(huge):
    catalogue, client = await _catalogue(huge, "/catalog.json", _limits(documents=600))
    try:
        first = await catalogue.index()
        catalogue.refresh_after = 0.0  # due for its periodic rebuild now
        huge.delay = 0.01  # and the rebuild is slow
        served = huge.served
        heartbeat = Heartbeat()
        page = await catalogue.search(SearchRequest(limit=2))
        rebuilding = catalogue._refresh
        assert rebuilding is not None and not rebuilding.done()  # answered before it ended
        assert page.number_matched == len(first.entries)
        await rebuilding
        await heartbeat.stop()
        heartbeat.check()
        assert catalogue._index is not first and huge.served > served
    finally:
        await client.aclose()
