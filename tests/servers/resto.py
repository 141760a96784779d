"""A Resto-style OpenSearch service (as CDSE/CREODIAS serve) built from the synthetic products.

``resto_url`` (session) is the URL of its description document. The GeoJSON search endpoint
honours ``collection``, ``q``, ``box``, ``startDate``, ``completionDate``, ``cloudCover``
(OGC 13-026 interval notation), ``platform``, ``identifier``, ``maxRecords`` and ``page`` the
way Resto does, newest first, with totals in the top-level ``properties``.
``/quirks/describe.xml`` serves a search whose every product has Resto's quirks:
``"geometry": []`` and ``cloudCover`` -1 (unknown). No recorded pages are vendored.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
        if parts.path.endswith("/describe.xml"):
            body = DESCRIPTION.format(base=self.base + prefix).encode()
            return self.send(h, 200, body, "application/opensearchdescription+xml")
        if parts.path.endswith("/search.json"):
            try:
                doc = self.search(query, quirks=prefix == "/quirks")
            except ValueError as exc:
                return self.send(h, 400, json.dumps({"ErrorMessage": str(exc)}).encode())
            return self.send(h, 200, json.dumps(doc).encode())
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
