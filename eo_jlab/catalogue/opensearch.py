"""OpenSearch catalogues (OGC 10-032 Geo/Time, OGC 13-026 EO), Atom or Resto-style GeoJSON.

Choices:

* The endpoint URL is the description document, read once and cached. The results ``Url``
  is GeoJSON (``application/geo+json`` or ``application/json``) when offered, else Atom.
* Template parameters are matched by their qualified names (namespace URI + local name, the
  prefix as the document binds it): ``{searchTerms}``, ``{count}``, ``{startIndex}`` /
  ``{startPage}``, ``{geo:box}``, ``{geo:uid}``, ``{time:start}``, ``{time:end}``, and EO ones
  (``{eo:cloudCover}``, ``{eo:platform}``, ...). Optional parameters left empty are dropped
  from the query (servers such as pycsw 2.6 fail on empty ``eo:*`` ones); a required one the
  adapter cannot fill is a 400 sentence.
* Filters map to EO parameters (``cloud_cover`` -> ``{eo:cloudCover}`` in interval notation
  ``[a,b]``, ``platform`` -> ``{eo:platform}``, ...) when the template has them, else 400.
* Collections: the options of the parameter bound to ``{eo:parentIdentifier}`` (Parameters
  extension) when the description lists them; else one pseudo collection named after the
  endpoint id that filters nothing. One collection per search (several -> 400 unless they are
  all of them).
* Paging state (next index or page) is kept in the page token; ``number_matched`` is
  ``os:totalResults`` (Atom) or the top-level ``properties.totalResults`` (Resto).
* Resto quirks: ``"geometry": []`` is no geometry, ``cloudCover`` -1 is unknown (null).
  Resto (CDSE, CREODIAS) answers ``"totalResults": null`` unless asked for
  ``{resto:exactCount}``, and counting is slow: the first page asks for it, and the count
  travels in the page token to later pages.
* Atom entries: ``georss:polygon``/``box``/``where`` (GML polygons and envelopes, lat/lon),
  ``media:thumbnail``/``media:content``, EO elements matched by local name in any namespace.
* ``item()``: a search by ``{geo:uid}`` when offered, else by the id as search terms, keeping
  the exact id match.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from lxml import etree

from ..errors import BadRequest, NotFound, UpstreamError
from ..models import CatalogueEndpoint
from ..net import HttpClient
from .base import (
    Catalogue,
    PageToken,
    SearchPage,
    SearchRequest,
    format_instant,
    geometry_bounds,
    parse_instant,
    queryables_schema,
)

OS = "http://a9.com/-/spec/opensearch/1.1/"
GEO = "http://a9.com/-/opensearch/extensions/geo/1.0/"
TIME = "http://a9.com/-/opensearch/extensions/time/1.0/"
EO = "http://a9.com/-/opensearch/extensions/eo/1.0/"
PARAMS = "http://a9.com/-/spec/opensearch/extensions/parameters/1.0/"
RESTO = "http://mapshup.info/-/resto/2.0/"
ATOM = "http://www.w3.org/2005/Atom"
JSON_TYPES = ("application/geo+json", "application/json", "application/vnd.geo+json")
_TOKEN = re.compile(r"\{([^{}?]+)(\??)\}")
# Contract filter -> EO parameter (local name) and whether it takes intervals.
EO_FILTERS = {
    "cloud_cover": ("cloudCover", True),
    "platform": ("platform", False),
    "instrument": ("instrument", False),
    "product_type": ("productType", False),
    "orbit_direction": ("orbitDirection", False),
    "sensor_mode": ("sensorMode", False),
    "relative_orbit": ("orbitNumber", True),
    "processing_level": ("processingLevel", False),
    "snow_cover": ("snowCover", True),
}


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


class _Template:
    """A parsed ``Url`` template: its query pairs and the parameters each one carries."""

    def __init__(self, element: etree._Element):
        self.type = (element.get("type") or "").split(";")[0].strip().lower()
        self.template = element.get("template") or ""
        index_offset, page_offset = (
            _int(element.get("indexOffset")),
            _int(element.get("pageOffset")),
        )
        self.index_offset = 1 if index_offset is None else index_offset  # not a number: the default
        self.page_offset = 1 if page_offset is None else page_offset
        nsmap = dict(element.nsmap)
        base, _, query = self.template.partition("?")
        self.base = base
        self.pairs: list[tuple[str, str]] = parse_qsl(query, keep_blank_values=True)
        self.params: dict[tuple[str, str], tuple[str, bool]] = {}  # (ns, local) -> name, optional
        self.resolved: list[tuple[str, str, list[tuple[str, bool, tuple[str, str]]]]] = []
        for name, value in self.pairs:
            tokens = []
            for token, optional in _TOKEN.findall(value):
                prefix, _, local = token.rpartition(":")
                ns = nsmap.get(prefix, prefix) if prefix else OS
                self.params.setdefault((ns, local), (name, optional == "?"))
                tokens.append((token, optional == "?", (ns, local)))
            self.resolved.append((name, value, tokens))
        self.options: dict[str, list[str]] = {}
        for p in element:
            if _local(p) == "Parameter" and p.get("name"):
                values = [o.get("value") for o in p if _local(o) == "Option" and o.get("value")]
                self.options[p.get("name")] = values

    def has(self, ns: str, local: str) -> bool:
        return (ns, local) in self.params

    def fill(self, values: dict[tuple[str, str], str], catalogue: str) -> str:
        out: list[tuple[str, str]] = []
        for name, value, tokens in self.resolved:
            if not tokens:
                out.append((name, value))
                continue
            filled, given = value, False
            for token, optional, key in tokens:
                text = values.get(key, "")
                if text:
                    given = True
                elif not optional:
                    raise BadRequest(
                        f"The OpenSearch catalogue {catalogue!r} requires the parameter "
                        f"{token!r}, which eo-jlab cannot fill."
                    )
                filled = filled.replace("{" + token + ("?" if optional else "") + "}", text)
            if given:  # optional parameters left empty are dropped
                out.append((name, filled))
        query = urlencode(out, safe=":,/[]")
        return f"{self.base}?{query}" if query else self.base


class OpenSearchCatalogue(Catalogue):
    def __init__(self, endpoint: CatalogueEndpoint, http: HttpClient):
        super().__init__(endpoint)
        self.http = http
        self._description: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    async def description(self) -> dict[str, Any]:
        async with self._lock:
            if self._description is None:
                response = await self.http.get(
                    self.endpoint.url, headers={"Accept": "application/opensearchdescription+xml"}
                )
                root = response.xml()
                if _local(root) != "OpenSearchDescription":
                    raise UpstreamError(
                        f"The catalogue {self.endpoint.id!r} did not answer with an OpenSearch "
                        "description document."
                    )
                templates = [
                    _Template(u)
                    for u in root
                    if _local(u) == "Url" and (u.get("rel") or "results") == "results"
                ]
                chosen = next((t for t in templates if t.type in JSON_TYPES), None) or next(
                    (t for t in templates if "atom" in t.type), None
                )
                if chosen is None:
                    raise UpstreamError(
                        f"The OpenSearch catalogue {self.endpoint.id!r} offers neither GeoJSON "
                        "nor Atom results."
                    )
                short = next((e.text for e in root if _local(e) == "ShortName"), None)
                text = next((e.text for e in root if _local(e) == "Description"), None)
                self._description = {
                    "template": chosen,
                    "title": (short or self.endpoint.title or self.endpoint.id).strip(),
                    "description": (text or "").strip(),
                }
            return self._description

    # --- collections and queryables -----------------------------------------------------

    async def _collection_ids(self) -> list[str]:
        template: _Template = (await self.description())["template"]
        bound = template.params.get((EO, "parentIdentifier"))
        if bound is None:
            return []
        return list(template.options.get(bound[0], []))

    async def collections(self) -> list[dict[str, Any]]:
        desc = await self.description()
        ids = await self._collection_ids()
        world = {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[None, None]]},
        }
        if not ids:
            return [
                {
                    "id": self.endpoint.id,
                    "title": desc["title"],
                    "description": desc["description"],
                    "extent": world,
                }
            ]
        return [{"id": c, "title": c, "description": "", "extent": world} for c in ids]

    async def _check_collection(self, collection: str, error=BadRequest) -> None:
        ids = await self._collection_ids()
        if collection != self.endpoint.id and collection not in ids:
            raise error(f"The catalogue {self.endpoint.id!r} has no collection {collection!r}.")

    async def queryables(self, collection: str) -> dict[str, Any]:
        await self._check_collection(collection, NotFound)
        template: _Template = (await self.description())["template"]
        properties = {}
        for name, (local, interval) in EO_FILTERS.items():
            if template.has(EO, local):
                schema: dict[str, Any] = {"type": "number" if interval else "string", "title": name}
                options = template.options.get(template.params[(EO, local)][0])
                if options:
                    schema["enum"] = options
                properties[name] = schema
        return queryables_schema(collection, properties)

    # --- search ---------------------------------------------------------------------------

    async def search(self, request: SearchRequest) -> SearchPage:
        state = PageToken.decode(self.endpoint.id, request) or {}
        position = state.get("n", 0)
        if not isinstance(position, int) or position < 0:
            raise BadRequest("The page token is not one eo-jlab issued.")
        template: _Template = (await self.description())["template"]
        values = await self._values(request, template)
        # Position counts items from 0; pages are whole multiples of the limit.
        if template.has(OS, "startIndex"):
            values[(OS, "startIndex")] = str(position + template.index_offset)
        elif template.has(OS, "startPage"):
            values[(OS, "startPage")] = str(position // request.limit + template.page_offset)
        elif position:
            raise BadRequest("This OpenSearch catalogue cannot page.")
        if template.has(OS, "count"):
            values[(OS, "count")] = str(request.limit)
        if template.has(RESTO, "exactCount") and not position:
            values[(RESTO, "exactCount")] = "1"
        features, total = await self._fetch(template.fill(values, self.endpoint.id), template)
        if total is None and isinstance(state.get("m"), int):
            total = state["m"]
        features = features[: request.limit]
        collection = values.get((EO, "parentIdentifier"))
        for feature in features:
            if collection and not feature["properties"].get("collection"):
                feature["properties"]["collection"] = collection
        following = position + len(features)
        more = (following < total) if total is not None else len(features) == request.limit
        carried = {"n": following} if total is None else {"n": following, "m": total}
        token = PageToken.encode(self.endpoint.id, request, carried) if more and features else None
        return SearchPage(features=features, next_page_token=token, number_matched=total)

    async def _values(
        self, request: SearchRequest, template: _Template
    ) -> dict[tuple[str, str], str]:
        values: dict[tuple[str, str], str] = {}
        collections = [c for c in request.collections or [] if c != self.endpoint.id]
        for c in collections:
            await self._check_collection(c)
        ids = await self._collection_ids()
        if collections and set(collections) != set(ids):
            if len(collections) > 1:
                raise BadRequest(
                    f"The OpenSearch catalogue {self.endpoint.id!r} searches one collection at "
                    "a time."
                )
            values[(EO, "parentIdentifier")] = collections[0]
        if request.q:
            if not template.has(OS, "searchTerms"):
                raise BadRequest(f"The catalogue {self.endpoint.id!r} has no text search.")
            values[(OS, "searchTerms")] = request.q
        area = request.bbox
        if area is None and request.intersects is not None:
            from shapely.geometry import shape

            area = list(shape(request.intersects).bounds)
        if area is not None:
            if not template.has(GEO, "box"):
                raise BadRequest(f"The catalogue {self.endpoint.id!r} cannot search by area.")
            values[(GEO, "box")] = ",".join(_number(v) for v in area)
        interval = request.interval
        if interval is not None:
            if interval.start is not None:
                values[(TIME, "start")] = format_instant(interval.start)
            if interval.end is not None:
                values[(TIME, "end")] = format_instant(interval.end)
            if not (template.has(TIME, "start") or template.has(TIME, "end")):
                raise BadRequest(f"The catalogue {self.endpoint.id!r} cannot search by date.")
        for name, condition in (request.filters or {}).items():
            local, interval_ok = EO_FILTERS.get(name, (None, False))
            if local is None or not template.has(EO, local):
                offered = [n for n, (loc, _) in EO_FILTERS.items() if template.has(EO, loc)]
                raise BadRequest(
                    f"The OpenSearch catalogue {self.endpoint.id!r} cannot filter on {name!r}"
                    + (f"; it can filter on {', '.join(offered)}." if offered else ".")
                )
            values[(EO, local)] = _eo_value(name, condition, interval_ok)
        return values

    async def _fetch(self, url: str, template: _Template) -> tuple[list[dict], int | None]:
        json_wanted = template.type in JSON_TYPES
        response = await self.http.get(
            url, headers={"Accept": template.type or "application/atom+xml"}
        )
        if json_wanted:
            return self._from_geojson(response.json(), response.url)
        return self._from_atom(response.xml(), response.url)

    async def item(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        template: _Template = (await self.description())["template"]
        values: dict[tuple[str, str], str] = {}
        if template.has(GEO, "uid"):
            values[(GEO, "uid")] = item_id
        elif template.has(OS, "searchTerms"):
            values[(OS, "searchTerms")] = item_id
        if collection and collection != self.endpoint.id:
            await self._check_collection(collection, NotFound)
            if template.has(EO, "parentIdentifier"):
                values[(EO, "parentIdentifier")] = collection
        if template.has(OS, "count"):
            values[(OS, "count")] = "50"
        if values:
            features, _ = await self._fetch(template.fill(values, self.endpoint.id), template)
            for feature in features:
                if feature["id"] == item_id:
                    return feature
        where = f" in collection {collection!r}" if collection else ""
        raise NotFound(f"The catalogue {self.endpoint.id!r} has no item {item_id!r}{where}.")

    # --- answers -> Items -------------------------------------------------------------------

    def _base_item(self, item_id: str, href: str) -> dict[str, Any]:
        return {
            "type": "Feature",
            "id": item_id,
            "geometry": None,
            "bbox": None,
            "properties": {},
            "assets": {},
            "links": [],
            "thumbnail": None,
            "source": {"catalogue": self.endpoint.id, "protocol": "opensearch", "href": href},
        }

    def _from_geojson(self, doc: Any, url: str) -> tuple[list[dict], int | None]:
        if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} did not answer with a GeoJSON "
                "FeatureCollection."
            )
        top = doc.get("properties") if isinstance(doc.get("properties"), dict) else {}
        total = _int(top.get("totalResults", doc.get("totalResults", doc.get("numberMatched"))))
        items = []
        for feature in doc["features"]:
            if not isinstance(feature, dict) or feature.get("id") is None:
                continue
            p = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
            self_link = next(
                (
                    link.get("href")
                    for link in p.get("links") or feature.get("links") or []
                    if isinstance(link, dict) and link.get("rel") == "self"
                ),
                None,
            )
            item = self._base_item(str(feature["id"]), self_link or url)
            geometry = feature.get("geometry")
            item["geometry"] = geometry if isinstance(geometry, dict) and geometry else None
            item["bbox"] = geometry_bounds(item["geometry"])
            cloud = p.get("cloudCover", p.get("cloud_cover"))
            cloud = cloud if isinstance(cloud, (int, float)) and cloud >= 0 else None
            start = _rfc3339(p.get("startDate") or p.get("start_datetime") or p.get("datetime"))
            end = _rfc3339(p.get("completionDate") or p.get("end_datetime"))
            item["properties"] = {
                "title": str(p.get("title") or feature["id"]),
                "datetime": start,
                "start_datetime": start if end and end != start else None,
                "end_datetime": end if end and end != start else None,
                "collection": p.get("collection") or p.get("parentIdentifier"),
                "platform": p.get("platform"),
                "instrument": p.get("instrument"),
                "product_type": p.get("productType"),
                "cloud_cover": cloud,
                "description": p.get("description"),
                "keywords": p.get("keywords") if isinstance(p.get("keywords"), list) else None,
            }
            thumb = p.get("thumbnail") or p.get("quicklook")
            if isinstance(thumb, str) and thumb:
                item["thumbnail"] = thumb
                item["assets"]["thumbnail"] = {
                    "href": thumb,
                    "type": "image/png" if thumb.endswith(".png") else "image/jpeg",
                    "title": "Thumbnail",
                    "roles": ["thumbnail"],
                }
            download = (
                ((p.get("services") or {}).get("download") or {})
                if isinstance(p.get("services"), dict)
                else {}
            )
            if isinstance(download, dict) and download.get("url"):
                item["assets"]["data"] = {
                    "href": download["url"],
                    "type": download.get("mimeType"),
                    "title": "Download",
                    "roles": ["data"],
                }
            for link in p.get("links") or []:
                if isinstance(link, dict) and link.get("href"):
                    item["links"].append(
                        {"rel": link.get("rel"), "href": link["href"], "type": link.get("type")}
                    )
            items.append(item)
        return items, total

    def _from_atom(self, root: etree._Element, url: str) -> tuple[list[dict], int | None]:
        if _local(root) != "feed":
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} did not answer with an Atom feed."
            )
        total = _int(next((e.text for e in root if _local(e) == "totalResults"), None))
        items = []
        for entry in root:
            if _local(entry) != "entry":
                continue
            by_name: dict[str, list[etree._Element]] = {}
            for child in entry:
                by_name.setdefault(_local(child), []).append(child)

            def text(*names: str, by_name=by_name) -> str | None:
                for n in names:
                    for e in by_name.get(n, []):
                        if e.text and e.text.strip():
                            return e.text.strip()
                return None

            item_id = text("identifier") or text("id") or ""
            item = self._base_item(item_id, url)
            item["geometry"] = _atom_geometry(entry)
            item["bbox"] = geometry_bounds(item["geometry"])
            dates = text("date")
            start = end = None
            if dates and "/" in dates:
                first, _, last = dates.partition("/")
                start, end = _rfc3339(first), _rfc3339(last)
            instant = start or _rfc3339(dates) or _rfc3339(text("beginPosition"))
            instant = instant or _rfc3339(text("published", "updated"))
            cloud = _float(text("cloudCoverPercentage", "cloudCover"))
            item["properties"] = {
                "title": text("title") or item_id,
                "datetime": instant,
                "start_datetime": start if start != end else None,
                "end_datetime": end if start != end else None,
                "collection": text("parentIdentifier"),
                "platform": text("shortName", "platform"),
                "instrument": text("instrument"),
                "product_type": text("productType"),
                "cloud_cover": cloud if cloud is not None and cloud >= 0 else None,
                "description": text("summary", "content"),
                "keywords": [c.get("term") for c in by_name.get("category", []) if c.get("term")],
            }
            for e in entry.iter():
                if _local(e) in ("thumbnail",) and e.get("url"):
                    item["thumbnail"] = item["thumbnail"] or e.get("url")
            for link in by_name.get("link", []):
                href = link.get("href")
                if not href:
                    continue
                rel = link.get("rel") or "alternate"
                kind = link.get("type")
                item["links"].append({"rel": rel, "href": href, "type": kind})
                marker = f"{rel} {kind or ''} {href.rsplit('/', 1)[-1]}".lower()
                if rel == "icon" or "thumbnail" in marker or "quicklook" in marker:
                    item["thumbnail"] = item["thumbnail"] or href
                elif rel == "enclosure" or "download" in marker:
                    item["assets"].setdefault(
                        "data",
                        {"href": href, "type": None, "title": "Download", "roles": ["data"]},
                    )
                elif "GetRepositoryItem" in href or "GetRecordById" in href:
                    item["source"]["href"] = href
            if item["thumbnail"]:
                item["assets"]["thumbnail"] = {
                    "href": item["thumbnail"],
                    "type": None,
                    "title": "Thumbnail",
                    "roles": ["thumbnail"],
                }
            items.append(item)
        return items, total


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _eo_value(name: str, condition: Any, interval_ok: bool) -> str:
    """A filter as an EO parameter value (OGC 13-026 interval notation for numbers)."""
    if not isinstance(condition, dict):
        return str(condition)
    if set(condition) == {"eq"}:
        return str(condition["eq"])
    if not interval_ok:
        raise BadRequest(f"Filter {name!r} can only be compared for equality here.")
    low = high = None
    low_open = high_open = False
    for op, value in condition.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise BadRequest(f"Filter {name!r} compares numbers, not {type(value).__name__}.")
        if op in ("gt", "gte"):
            low, low_open = value, op == "gt"
        elif op in ("lt", "lte"):
            high, high_open = value, op == "lt"
        else:
            raise BadRequest(f"Unknown filter operator {op!r} for {name!r}.")
    if low is not None and high is not None:
        return f"{']' if low_open else '['}{low},{high}{'[' if high_open else ']'}"
    if low is not None:
        return f"{']' if low_open else '['}{low}"
    return f"{high}{'[' if high_open else ']'}"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 in JSON
        return None


def _float(value: Any) -> float | None:
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return number if number is None or math.isfinite(number) else None  # JSON has no inf/NaN


def _rfc3339(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return format_instant(parse_instant(value))
    except ValueError:
        return None


def _pairs(text: str, *, latlon: bool = True) -> list[list[float]]:
    numbers = [float(v) for v in text.replace(",", " ").split()]
    if not all(math.isfinite(n) for n in numbers):
        raise ValueError("not a finite coordinate")
    points = [numbers[i : i + 2] for i in range(0, len(numbers) - 1, 2)]
    return [[p[1], p[0]] if latlon else p for p in points]


def _box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _atom_geometry(entry: etree._Element) -> dict[str, Any] | None:
    """GeoRSS simple (lat lon) and GML (EPSG:4326 lat/lon, CRS84 lon/lat) footprints."""
    try:
        for e in entry.iter():
            name = _local(e)
            if name == "polygon" and e.text:
                return {"type": "Polygon", "coordinates": [_pairs(e.text)]}
            if name == "box" and e.text:
                (s, w), (n, east) = [[p[1], p[0]] for p in _pairs(e.text)][:2]
                return _box(w, s, east, n)
            if name == "point" and e.text:
                return {"type": "Point", "coordinates": _pairs(e.text)[0]}
        for e in entry.iter():
            name = _local(e)
            srs = (e.get("srsName") or "").lower()
            latlon = "crs84" not in srs
            if name == "Envelope":
                lower = _pairs(_child(e, "lowerCorner"), latlon=latlon)[0]
                upper = _pairs(_child(e, "upperCorner"), latlon=latlon)[0]
                return _box(lower[0], lower[1], upper[0], upper[1])
            if name == "Polygon":
                ring = next((x for x in e.iter() if _local(x) == "posList" and x.text), None)
                if ring is not None:
                    return {"type": "Polygon", "coordinates": [_pairs(ring.text, latlon=latlon)]}
    except (ValueError, IndexError):
        return None
    return None


def _child(element: etree._Element, name: str) -> str:
    for c in element:
        if _local(c) == name and c.text:
            return c.text
    return ""
