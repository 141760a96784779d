"""A Resto-style OpenSearch service (as CDSE/CREODIAS serve) built from the synthetic products.

``resto_url`` (session) is the URL of its description document. The GeoJSON search endpoint
honours ``collection``, ``q``, ``box``, ``startDate``, ``completionDate``, ``cloudCover``
(OGC 13-026 interval notation), ``platform``, ``identifier``, ``maxRecords`` and ``page`` the
way Resto does, newest first, with totals in the top-level ``properties``.
``/quirks/describe.xml`` serves a search whose every product has Resto's quirks:
``"geometry": []`` and ``cloudCover`` -1 (unknown).
``/wan/describe.xml`` is the plain service answering each search ``WAN_DELAY`` s late, like a
catalogue across a network (bench/search.py).

Recorded answers of real Resto services (``tests/fixtures/opensearch/``, see its README):

* ``/recorded/describe.xml``: the recorded Sentinel-1 description document (CREODIAS /
  CDSE Resto), served as recorded but for its GeoJSON template, which points at
  ``/recorded/search.json``. That answers the recorded unfiltered search, ``maxRecords=10``,
  page 1 (``exactCount=1``) and 2 (without) by ``page`` or ``index`` (the recorded bytes),
  and ``identifier`` lookups among the recorded features (a FeatureCollection built around
  them).
* ``/recorded/sara/describe.xml``: a description document written here in Resto's style for
  the recorded SARA (NCI, Australia) answer; ``/recorded/sara/search.json`` answers the
  recorded query (Sentinel-2 S2MSI1C, 2020-08-08..16, a box over the Mariana Islands,
  ``maxRecords=2``, page 1) and ``identifier`` lookups.

Any other query of a recorded endpoint is a 400 naming what was not recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from shapely.geometry import box, shape

from eo_jlab.demo.catalogue import products

DESCRIPTION = """<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/"
  xmlns:geo="http://a9.com/-/opensearch/extensions/geo/1.0/"
  xmlns:time="http://a9.com/-/opensearch/extensions/time/1.0/"
  xmlns:eo="http://a9.com/-/opensearch/extensions/eo/1.0/"
  xmlns:parameters="http://a9.com/-/spec/opensearch/extensions/parameters/1.0/">
  <ShortName>Resto (fixture)</ShortName>
  <Description>Resto-style search over eo_jlab's synthetic products</Description>
  <Url type="application/json" rel="results" pageOffset="1" indexOffset="1"
    template="{base}/search.json?collection={{eo:parentIdentifier?}}&amp;q={{searchTerms?}}&amp;box={{geo:box?}}&amp;startDate={{time:start?}}&amp;completionDate={{time:end?}}&amp;cloudCover={{eo:cloudCover?}}&amp;platform={{eo:platform?}}&amp;identifier={{geo:uid?}}&amp;maxRecords={{count?}}&amp;page={{startPage?}}&amp;lang={{language?}}">
    <parameters:Parameter name="collection" value="{{eo:parentIdentifier}}">
      <parameters:Option value="sentinel-1-grd-demo"/>
      <parameters:Option value="sentinel-2-l2a-demo"/>
    </parameters:Parameter>
  </Url>
</OpenSearchDescription>"""


WAN_DELAY = 0.05
RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "opensearch"
# The recorded description's GeoJSON template, replaced by the fixture's own search URL.
CDSE_SEARCH = "https://finder.creodias.eu/resto/api/collections/Sentinel1/search.json"
CDSE_PAGE_SIZE = 10
# The query the SARA recording answers (its ``properties.query.searchFilters``).
SARA_BOX = (137.7729, 13.1342, 153.7491, 23.8860)

# Written for the SARA recording (not recorded): Resto 2's description, reduced to the
# parameters a search of it can use. Resto maps maxRecords -> count and page -> startPage.
SARA_DESCRIPTION = """<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xml:lang="en" xmlns="http://a9.com/-/spec/opensearch/1.1/"
  xmlns:time="http://a9.com/-/opensearch/extensions/time/1.0/"
  xmlns:geo="http://a9.com/-/opensearch/extensions/geo/1.0/"
  xmlns:eo="http://a9.com/-/opensearch/extensions/eo/1.0/"
  xmlns:parameters="http://a9.com/-/spec/opensearch/extensions/parameters/1.0/"
  xmlns:resto="http://mapshup.info/-/resto/2.0/">
 <ShortName>S2</ShortName>
 <Description>Sentinel-2 (SARA, recorded)</Description>
 <Url type="application/json" rel="results"
  template="{base}/search.json?q={{searchTerms?}}&amp;maxRecords={{count?}}&amp;page={{startPage?}}&amp;lang={{language?}}&amp;identifier={{geo:uid?}}&amp;geometry={{geo:geometry?}}&amp;box={{geo:box?}}&amp;startDate={{time:start?}}&amp;completionDate={{time:end?}}&amp;productType={{eo:productType?}}&amp;platform={{eo:platform?}}&amp;cloudCover={{eo:cloudCover?}}&amp;sortParam={{resto:sortParam?}}&amp;sortOrder={{resto:sortOrder?}}">
  <parameters:Parameter name="maxRecords" value="{{count}}" minInclusive="1" maxInclusive="500"/>
  <parameters:Parameter name="page" value="{{startPage}}" minInclusive="1"/>
  <parameters:Parameter name="productType" value="{{eo:productType}}">
   <parameters:Option value="S2MSI1C"/>
   <parameters:Option value="S2MSI2A"/>
  </parameters:Parameter>
  <parameters:Parameter name="cloudCover" value="{{eo:cloudCover}}"
   pattern="^(\\[|\\]|[0-9])?[0-9]+$|^[0-9]+?(\\[|\\])$|^(\\[|\\])[0-9]+,[0-9]+(\\[|\\])$"/>
 </Url>
</OpenSearchDescription>"""


class NotRecorded(ValueError):
    pass


class Recordings:
    """The vendored answers, served as their bytes."""

    def __init__(self) -> None:
        self.cdse_description = (RECORDINGS / "cdse_sentinel1_describe.xml").read_text("utf-8")
        assert self.cdse_description.count(CDSE_SEARCH) == 1
        self.cdse_pages = {
            n: (RECORDINGS / f"cdse_sentinel1_page_{n}.json").read_bytes() for n in (1, 2)
        }
        self.sara = (RECORDINGS / "sara_search.json").read_bytes()

    def describe(self, sara: bool, base: str) -> bytes:
        if sara:
            return SARA_DESCRIPTION.format(base=base + "/recorded/sara").encode()
        text = self.cdse_description.replace(CDSE_SEARCH, base + "/recorded/search.json")
        return text.encode()

    def search(self, q: dict, sara: bool) -> bytes:
        pages = [self.sara] if sara else list(self.cdse_pages.values())
        if q.get("identifier"):
            return _lookup(pages, q["identifier"])
        return self._sara(q) if sara else self._cdse(q)

    def _cdse(self, q: dict) -> bytes:
        _only(q, {"maxRecords", "index", "page", "exactCount"})
        if q.get("maxRecords") != str(CDSE_PAGE_SIZE):
            raise NotRecorded(f"only maxRecords={CDSE_PAGE_SIZE} was recorded")
        if "index" in q:
            index = int(q["index"])
            if index < 1 or (index - 1) % CDSE_PAGE_SIZE:
                raise NotRecorded(f"index={index} starts no recorded page")
            page = (index - 1) // CDSE_PAGE_SIZE + 1
        else:
            page = int(q.get("page", "1"))
        if page not in self.cdse_pages:
            raise NotRecorded(f"page {page} was not recorded")
        # Page 1 was recorded with exactCount=1 (a total), page 2 without (a null total).
        if (q.get("exactCount", "0") == "1") != (page == 1):
            raise NotRecorded(f"page {page} was recorded with exactCount={int(page == 1)}")
        return self.cdse_pages[page]

    def _sara(self, q: dict) -> bytes:
        _only(q, {"maxRecords", "page", "box", "startDate", "completionDate", "productType"})
        box_ok = [float(v) for v in q.get("box", "").split(",") if v] == list(SARA_BOX)
        if not (
            q.get("maxRecords") == "2"
            and q.get("page", "1") == "1"
            and box_ok
            and q.get("startDate", "").startswith("2020-08-08")
            and q.get("completionDate", "").startswith("2020-08-16")
            and q.get("productType") == "S2MSI1C"
        ):
            raise NotRecorded(f"this query was not recorded: {q}")
        return self.sara


def _only(q: dict, names: set[str]) -> None:
    extra = sorted(set(q) - names - {"lang"})
    if extra:
        raise NotRecorded(f"no recording answers the parameters {', '.join(extra)}")


def _lookup(pages: list[bytes], identifier: str) -> bytes:
    """Resto's ``identifier`` search (its id or productIdentifier) among recorded features."""
    docs = [json.loads(page) for page in pages]
    found = [
        f
        for doc in docs
        for f in doc["features"]
        if identifier in (f["id"], f["properties"].get("productIdentifier"))
    ]
    top = {**docs[0]["properties"], "totalResults": len(found), "startIndex": 1}
    top["itemsPerPage"] = len(found)
    return json.dumps({"type": "FeatureCollection", "properties": top, "features": found}).encode()


def _features():
    out = []
    for collection, items in products().items():
        for item in items:
            props = item["properties"]
            text = " ".join(
                [item["id"], props["title"], collection, props["platform"], props["area"]]
            ).lower()
            out.append((item, text))
    out.sort(key=lambda pair: (pair[0]["properties"]["datetime"], pair[0]["id"]), reverse=True)
    return out


def _interval(text: str):
    m = re.fullmatch(r"([\[\]])?\s*([-\d.]+)?\s*,?\s*([-\d.]+)?\s*([\[\]])?", text)
    if not m:
        return None
    if "," not in text:
        if text.startswith(("[", "]")):
            return float(text[1:]), None, text[0] == "]", False
        if text.endswith(("[", "]")):
            return None, float(text[:-1]), False, text[-1] == "["
        return float(text), float(text), False, False
    low, high = text[1:-1].split(",")
    return float(low), float(high), text[0] == "]", text[-1] == "["


def resto_feature(item: dict, base: str, *, quirks: bool = False) -> dict:
    props = item["properties"]
    cloud = props.get("eo:cloud_cover", -1)
    return {
        "type": "Feature",
        "id": item["id"],
        "geometry": [] if quirks else item["geometry"],
        "properties": {
            "collection": item["collection"],
            "title": props["title"],
            "startDate": props["datetime"],
            "completionDate": props["datetime"],
            "productType": props.get("s2:product_type") or props.get("product:type"),
            "platform": props["platform"],
            "instrument": props["instruments"][0].upper(),
            "cloudCover": -1 if quirks else cloud,
            "thumbnail": f"{base}/thumbnails/{item['id']}.png",
            "services": {
                "download": {"url": f"{base}/download/{item['id']}", "mimeType": "application/zip"}
            },
            "links": [{"rel": "self", "type": "application/json",
                       "href": f"{base}/collections/{item['collection']}/{item['id']}.json"}],
        },
    }  # fmt: skip


class RestoServer:
    def __init__(self) -> None:
        self.features = _features()
        self.recordings = Recordings()
        self.requests: list[dict] = []
        resto = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle and the
            # client's delayed ACK add 40 ms to every answer on a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                resto.dispatch(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.requests.append({"path": parts.path, "query": query})
        prefix = parts.path.rsplit("/", 1)[0]
        if prefix in ("/recorded", "/recorded/sara"):
            return self.recorded(h, parts.path, query, sara=prefix == "/recorded/sara")
        if parts.path.endswith("/describe.xml"):
            body = DESCRIPTION.format(base=self.base + prefix).encode()
            return self.send(h, 200, body, "application/opensearchdescription+xml")
        if parts.path.endswith("/search.json"):
            if prefix == "/wan":  # a catalogue across a network (bench/search.py)
                time.sleep(WAN_DELAY)
            try:
                doc = self.search(query, quirks=prefix == "/quirks")
            except ValueError as exc:
                return self.send(h, 400, json.dumps({"ErrorMessage": str(exc)}).encode())
            return self.send(h, 200, json.dumps(doc).encode())
        self.send(h, 404, b'{"ErrorMessage": "Not Found"}')

    def recorded(self, h, path: str, query: dict, *, sara: bool) -> None:
        if path.endswith("/describe.xml"):
            body = self.recordings.describe(sara, self.base)
            return self.send(h, 200, body, "application/opensearchdescription+xml")
        if path.endswith("/search.json"):
            try:
                body = self.recordings.search(query, sara)
            except (NotRecorded, ValueError) as exc:
                error = {"ErrorCode": 400, "ErrorMessage": f"Not recorded: {exc}"}
                return self.send(h, 400, json.dumps(error).encode())
            return self.send(h, 200, body)
        self.send(h, 404, b'{"ErrorMessage": "Not Found"}')

    @staticmethod
    def send(h, status: int, body: bytes, kind: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def search(self, q: dict, *, quirks: bool) -> dict:
        limit = int(q.get("maxRecords", "20"))
        page = int(q.get("page", "1"))
        if not 1 <= limit <= 500 or page < 1:
            raise ValueError("Invalid maxRecords or page")
        area = None
        if q.get("box"):
            w, s, e, n = (float(v) for v in q["box"].split(","))
            area = box(w, s, e, n) if w <= e else box(w, s, 180, n).union(box(-180, s, e, n))
        words = q.get("q", "").lower().split()
        cloud = _interval(q["cloudCover"]) if q.get("cloudCover") else None
        matched = []
        for item, text in self.features:
            props = item["properties"]
            if q.get("collection") and item["collection"] != q["collection"]:
                continue
            if q.get("identifier") and item["id"] != q["identifier"]:
                continue
            if area is not None and not shape(item["geometry"]).intersects(area):
                continue
            if q.get("startDate") and props["datetime"] < _norm(q["startDate"]):
                continue
            if q.get("completionDate") and props["datetime"] > _norm(q["completionDate"]):
                continue
            if words and not all(w in text for w in words):
                continue
            if q.get("platform") and props["platform"] != q["platform"]:
                continue
            if cloud is not None:
                value = props.get("eo:cloud_cover")
                low, high, low_open, high_open = cloud
                if value is None:
                    continue
                if low is not None and (value < low or (low_open and value == low)):
                    continue
                if high is not None and (value > high or (high_open and value == high)):
                    continue
            matched.append(item)
        page_items = matched[(page - 1) * limit : page * limit]
        return {
            "type": "FeatureCollection",
            "properties": {
                "id": "fixture",
                "totalResults": len(matched),
                "exactCount": True,
                "startIndex": (page - 1) * limit + 1,
                "itemsPerPage": len(page_items),
                "query": {"originalFilters": q},
            },
            "features": [resto_feature(i, self.base, quirks=quirks) for i in page_items],
        }


def _norm(stamp: str) -> str:
    """Compare as the products' ``...T10:20:31.000Z`` strings do."""
    from eo_jlab.catalogue.base import parse_instant

    return parse_instant(stamp).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture(scope="session")
def resto_server():
    server = RestoServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(scope="session")
def resto_url(resto_server) -> str:
    return resto_server.base + "/resto/describe.xml"
