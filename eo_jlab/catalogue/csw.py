"""OGC CSW 2.0.2 and 3.0 catalogues (Dublin Core records), searched with GetRecords.

Choices (see also DESIGN.md):

* **Version**: the highest of 3.0.0 / 2.0.2 the server accepts, from GetCapabilities (asked
  once, cached per adapter). An operator pins one by putting ``version=2.0.2`` (or
  ``acceptversions=...``) in the endpoint URL's query; that parameter is not sent elsewhere.
* **Requests**: GetRecords as a POST XML document (``csw:Record``/``csw30:Record``, element set
  ``full``, Dublin Core output). A server that refuses POST (HTTP 405/501, or the operation
  is not offered for POST in its capabilities) is asked with GET and a FILTER constraint.
* **Area**: ``ogc:BBOX``/``fes:BBOX`` on ``ows:BoundingBox`` with an envelope in
  ``urn:ogc:def:crs:EPSG::4326``, that is in lat/lon axis order as the CRS defines it (what
  every CSW reads correctly; a bare envelope is read lat/lon by most). A bbox crossing the
  antimeridian is sent as two boxes ORed; ``intersects`` is sent as its bounding box.
  Answers: ``ows:BoundingBox`` corners are read lat/lon for the EPSG:4326 URN/URL forms and
  lon/lat for CRS84, plain ``EPSG:4326`` and ``ows:WGS84BoundingBox``; Items are lon/lat.
* **Time**: overlap of the record's temporal extent with the interval, on
  ``apiso:TempExtent_begin``/``apiso:TempExtent_end`` when the server lists the ISO queryables
  (pycsw does, also for Dublin Core records whose ``dct:temporal`` it indexes), else on
  ``dc:date``. Records are sorted newest first on the same property.
* **Text**: every word of ``q`` as ``csw:AnyText`` PropertyIsLike ``%word%`` (all words).
* **Collections**: a collection is a parent identifier. ``collections`` filter on
  ``apiso:ParentIdentifier`` (ORed); ``collections()`` lists the values of GetDomain on
  ``apiso:ParentIdentifier``. When the server cannot list them (no GetDomain, no values), the
  catalogue is one pseudo collection named after the endpoint id, which filters nothing.
  An Item's ``collection`` is its ``dct:isPartOf`` or the one collection searched.
* **Filters**: the Dublin Core properties every CSW can filter on (``title``, ``keywords``,
  ``type``, ``format``, ``modified``); others get a 400 sentence.
* **Paging**: ``startPosition`` from ``nextRecord`` kept in the page token;
  ``numberOfRecordsMatched`` is ``number_matched``.
* **Item**: GetRecordById, whose URL is the Item's ``source.href``.
"""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from ..errors import BadRequest, NotFound, UpstreamError
from ..models import CatalogueEndpoint
from ..net import HttpClient, UpstreamResponse
from .base import (
    Catalogue,
    PageToken,
    SearchPage,
    SearchRequest,
    format_instant,
    parse_instant,
    queryables_schema,
)

NS = {
    "csw": "http://www.opengis.net/cat/csw/2.0.2",
    "csw30": "http://www.opengis.net/cat/csw/3.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dct": "http://purl.org/dc/terms/",
    "ows": "http://www.opengis.net/ows",
    "ows11": "http://www.opengis.net/ows/1.1",
    "ows20": "http://www.opengis.net/ows/2.0",
    "ogc": "http://www.opengis.net/ogc",
    "fes": "http://www.opengis.net/fes/2.0",
    "gml": "http://www.opengis.net/gml",
    "gml32": "http://www.opengis.net/gml/3.2",
}
V2, V3 = "2.0.2", "3.0.0"
LATLON = "urn:ogc:def:crs:EPSG::4326"
# Contract property -> Dublin Core queryable.
FILTERABLE = {
    "title": ("dc:title", "string"),
    "keywords": ("dc:subject", "string"),
    "type": ("dc:type", "string"),
    "format": ("dc:format", "string"),
    "modified": ("dct:modified", "string"),
}
_COMPARISONS = {
    "eq": "PropertyIsEqualTo",
    "lt": "PropertyIsLessThan",
    "lte": "PropertyIsLessThanOrEqualTo",
    "gt": "PropertyIsGreaterThan",
    "gte": "PropertyIsGreaterThanOrEqualTo",
}


def _local(element: etree._Element) -> str:
    # "{namespace}name" -> "name"; comments and processing instructions have no str tag.
    # String slicing, not etree.QName: this runs for every child of every record.
    tag = element.tag
    return tag[tag.find("}") + 1 :] if isinstance(tag, str) else ""


def _children(element: etree._Element, *names: str) -> list[etree._Element]:
    return [c for c in element if _local(c) in names]


def _child_text(element: etree._Element, *names: str) -> str | None:
    for child in _children(element, *names):
        if child.text and child.text.strip():
            return child.text.strip()
    return None


class CswCatalogue(Catalogue):
    def __init__(self, endpoint: CatalogueEndpoint, http: HttpClient):
        super().__init__(endpoint)
        self.http = http
        parts = urlsplit(endpoint.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        pinned = [v for k, v in query if k.lower() in ("version", "acceptversions")]
        self.pinned = pinned[0] if pinned else None
        kept = [
            (k, v)
            for k, v in query
            if k.lower() not in ("version", "acceptversions", "service", "request")
        ]
        self.base = urlunsplit(parts._replace(query=urlencode(kept)))
        self._caps: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._mode: str | None = None

    # --- capabilities --------------------------------------------------------------

    async def capabilities(self) -> dict[str, Any]:
        async with self._lock:
            if self._caps is None:
                # Without a pin, the server answers in its highest version (some, like
                # pycsw 2.6, refuse a list in AcceptVersions).
                params = {"service": "CSW", "request": "GetCapabilities"}
                if self.pinned:
                    params.update({"acceptversions": self.pinned, "version": self.pinned})
                response = await self.http.get(
                    self.base, params=params, headers={"Accept": "application/xml"}
                )
                root = response.xml()
                self._check_exception(root, response)
                if _local(root) != "Capabilities":
                    raise UpstreamError(
                        f"The catalogue {self.endpoint.id!r} did not answer with CSW capabilities."
                    )
                version = root.get("version") or V2
                if self.pinned and self.pinned.startswith("2"):
                    version = V2
                version = V3 if version.startswith("3") else V2
                text = etree.tostring(root, encoding="unicode")
                operations = {
                    op.get("name"): op
                    for op in root.iter()
                    if _local(op) == "Operation" and op.get("name")
                }
                get_records = operations.get("GetRecords")
                post = get_records is None or any(_local(e) == "Post" for e in get_records.iter())
                self._caps = {
                    "version": version,
                    "iso_time": "TempExtent_begin" in text,
                    "parent": "ParentIdentifier" in text,
                    "domain": "GetDomain" in operations,
                    "post": post,
                    "title": _first_text(root, "Title") or self.endpoint.title,
                    "abstract": _first_text(root, "Abstract") or "",
                }
            return self._caps

    def _check_exception(self, root: etree._Element, response: UpstreamResponse) -> None:
        if _local(root) == "ExceptionReport":
            text = " ".join(
                (e.text or "").strip() for e in root.iter() if _local(e) == "ExceptionText"
            ).strip()
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} refused the request: "
                f"{(text or 'no reason given')[:200]}",
                {"url": response.url.split("?")[0]},
            )

    # --- the interface --------------------------------------------------------------

    async def collections(self) -> list[dict[str, Any]]:
        caps = await self.capabilities()
        values = await self._parent_ids(caps)
        if not values:
            return [self._pseudo(caps)]
        return [
            {"id": v, "title": v, "description": f"Records whose parent identifier is {v}.",
             "extent": _world()}
            for v in values
        ]  # fmt: skip

    async def _parent_ids(self, caps: dict[str, Any]) -> list[str]:
        if not caps["domain"]:
            return []
        version = caps["version"]
        try:
            response = await self.http.get(
                self.base,
                params={
                    "service": "CSW",
                    "version": version,
                    "request": "GetDomain",
                    ("valueReference" if version == V3 else "propertyname"): (
                        "apiso:ParentIdentifier"
                    ),
                },
            )
            root = response.xml()
        except UpstreamError:
            return []
        if _local(root) == "ExceptionReport":
            return []
        return sorted(
            {
                e.text.strip()
                for e in root.iter()
                if _local(e) == "Value" and e.text and e.text.strip()
            }
        )

    def _pseudo(self, caps: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.endpoint.id,
            "title": caps["title"] or self.endpoint.id,
            "description": caps["abstract"] or "Every record of this CSW catalogue.",
            "extent": _world(),
        }

    async def queryables(self, collection: str) -> dict[str, Any]:
        await self._known_collections([collection], not_found=True)
        return queryables_schema(
            collection,
            {
                name: {"type": kind, "title": name, "x-csw-queryable": queryable}
                for name, (queryable, kind) in FILTERABLE.items()
            },
        )

    async def _known_collections(self, wanted: list[str], *, not_found: bool = False) -> bool:
        """True when ``wanted`` are real parent identifiers; False for the pseudo collection."""
        caps = await self.capabilities()
        if wanted == [self.endpoint.id]:
            return False
        values = await self._parent_ids(caps)
        unknown = [c for c in wanted if c not in values]
        if unknown:
            message = f"The catalogue {self.endpoint.id!r} has no collection {unknown[0]!r}."
            raise NotFound(message) if not_found else BadRequest(message)
        return True

    async def search(self, request: SearchRequest) -> SearchPage:
        state = PageToken.decode(self.endpoint.id, request) or {}
        start = state.get("start", 1)
        if not isinstance(start, int) or start < 1:
            raise BadRequest("The page token is not one eo-jlab issued.")
        caps = await self.capabilities()
        collections = list(request.collections or [])
        if collections and self.endpoint.id in collections:
            collections = []  # the pseudo collection is everything
        if collections:
            await self._known_collections(collections)
        self._clauses(request, caps, collections, False)  # validates the filters first
        root, _ = await self._get_records(
            caps, lambda fes2: self._clauses(request, caps, collections, fes2), start, request.limit
        )
        results = next((e for e in root.iter() if _local(e) == "SearchResults"), None)
        if results is None:
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} answered without search results."
            )
        records = [r for r in results if _local(r) in ("Record", "SummaryRecord", "BriefRecord")]
        one = collections[0] if len(collections) == 1 else None
        features = [self._item(r, caps, one) for r in records]
        matched = _int(results.get("numberOfRecordsMatched"))
        following = _int(results.get("nextRecord"))
        if following is None or following <= start:
            following = 0
        if matched is not None and following > matched:
            following = 0
        if not records:
            following = 0
        token = (
            PageToken.encode(self.endpoint.id, request, {"start": following}) if following else None
        )
        return SearchPage(features=features, next_page_token=token, number_matched=matched)

    async def item(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        caps = await self.capabilities()
        response = await self.http.get(self._record_url(caps, item_id), expect_ok=False)
        where = f" in collection {collection!r}" if collection else ""
        missing = NotFound(f"The catalogue {self.endpoint.id!r} has no item {item_id!r}{where}.")
        if response.status == 404:  # pycsw answers an unknown id so
            raise missing
        if response.status >= 400:
            self._records_root(response)  # the exception text, or the HTTP status
        root = response.xml()
        self._check_exception(root, response)
        records = [
            r for r in root.iter() if _local(r) in ("Record", "SummaryRecord", "BriefRecord")
        ]
        if not records:
            raise missing
        item = self._item(records[0], caps, collection)
        if collection and item["properties"]["collection"] not in (None, collection):
            raise NotFound(
                f"The catalogue {self.endpoint.id!r} has no item {item_id!r} "
                f"in collection {collection!r}."
            )
        if collection and item["properties"]["collection"] is None:
            item["properties"]["collection"] = collection
        return item

    # --- requests -------------------------------------------------------------------

    def _record_url(self, caps: dict[str, Any], item_id: str) -> str:
        version = caps["version"]
        params = {
            "service": "CSW",
            "version": version,
            "request": "GetRecordById",
            "id": item_id,
            "elementsetname": "full",
            "outputschema": NS["csw30"] if version == V3 else NS["csw"],
        }
        separator = "&" if urlsplit(self.base).query else "?"
        return self.base + separator + urlencode(params)

    def _clauses(
        self, request: SearchRequest, caps: dict[str, Any], collections: list[str], fes2: bool
    ) -> list[str]:
        v3 = fes2
        f = "fes" if v3 else "ogc"
        ref = "ValueReference" if v3 else "PropertyName"

        def compare(op: str, prop: str, value: str) -> str:
            return (
                f"<{f}:{op}><{f}:{ref}>{prop}</{f}:{ref}>"
                f"<{f}:Literal>{escape(value)}</{f}:Literal></{f}:{op}>"
            )

        def any_of(parts: list[str]) -> str:
            return parts[0] if len(parts) == 1 else f"<{f}:Or>{''.join(parts)}</{f}:Or>"

        clauses: list[str] = []
        boxes: list[tuple[float, float, float, float]] = []
        if request.bbox is not None:
            west, south, east, north = request.bbox
            boxes = (
                [(west, south, east, north)]
                if west <= east
                else [(west, south, 180.0, north), (-180.0, south, east, north)]
            )
        elif request.intersects is not None:
            from shapely.geometry import shape

            boxes = [tuple(shape(request.intersects).bounds)]  # type: ignore[list-item]
        if boxes:
            gml = "gml32" if v3 else "gml"
            clauses.append(
                any_of(
                    [
                        f"<{f}:BBOX><{f}:{ref}>ows:BoundingBox</{f}:{ref}>"
                        f'<{gml}:Envelope srsName="{LATLON}">'
                        f"<{gml}:lowerCorner>{s} {w}</{gml}:lowerCorner>"
                        f"<{gml}:upperCorner>{n} {e}</{gml}:upperCorner>"
                        f"</{gml}:Envelope></{f}:BBOX>"
                        for w, s, e, n in boxes
                    ]
                )
            )
        interval = request.interval
        if interval is not None:
            begin, end = (
                ("apiso:TempExtent_begin", "apiso:TempExtent_end")
                if caps["iso_time"]
                else ("dc:date", "dc:date")
            )
            if interval.start is not None:
                clauses.append(
                    compare("PropertyIsGreaterThanOrEqualTo", end, _seconds(interval.start))
                )
            if interval.end is not None:
                clauses.append(
                    compare("PropertyIsLessThanOrEqualTo", begin, _seconds(interval.end))
                )
        for word in (request.q or "").split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(
                f'<{f}:PropertyIsLike wildCard="%" singleChar="_" escapeChar="\\"'
                f' matchCase="false"><{f}:{ref}>csw:AnyText</{f}:{ref}>'
                f"<{f}:Literal>{escape(pattern)}%</{f}:Literal></{f}:PropertyIsLike>"
            )
        if collections:
            clauses.append(
                any_of(
                    [compare("PropertyIsEqualTo", "apiso:ParentIdentifier", c) for c in collections]
                )
            )
        for name, condition in (request.filters or {}).items():
            if name not in FILTERABLE:
                raise BadRequest(
                    f"The CSW catalogue {self.endpoint.id!r} cannot filter on {name!r}; "
                    f"it can filter on {', '.join(sorted(FILTERABLE))}."
                )
            queryable = FILTERABLE[name][0]
            if not isinstance(condition, dict):
                condition = {"eq": condition}
            for op, value in condition.items():
                if op not in _COMPARISONS:
                    raise BadRequest(f"Unknown filter operator {op!r} for {name!r}.")
                clauses.append(compare(_COMPARISONS[op], queryable, str(value)))
        return clauses

    def _sort_property(self, caps: dict[str, Any]) -> str:
        return "apiso:TempExtent_begin" if caps["iso_time"] else "dc:date"

    def _filter(self, clauses: list[str], fes2: bool) -> str:
        f = "fes" if fes2 else "ogc"
        body = clauses[0] if len(clauses) == 1 else f"<{f}:And>{''.join(clauses)}</{f}:And>"
        return (
            f'<{f}:Filter xmlns:{f}="{NS[f]}" xmlns:gml="{NS["gml"]}" xmlns:gml32="{NS["gml32"]}"'
            f' xmlns:ows="{NS["ows"]}" xmlns:csw="{NS["csw"]}" xmlns:dc="{NS["dc"]}"'
            f' xmlns:dct="{NS["dct"]}" xmlns:apiso="http://www.opengis.net/cat/csw/apiso/1.0">'
            f"{body}</{f}:Filter>"
        )

    def _get_records_xml(
        self, caps: dict[str, Any], clauses: list[str], start: int, limit: int
    ) -> str:
        v3 = caps["version"] == V3
        csw, f = ("csw30", "fes") if v3 else ("csw", "ogc")
        ref = "ValueReference" if v3 else "PropertyName"
        constraint = (
            f'<{csw}:Constraint version="{"2.0.0" if v3 else "1.1.0"}">'
            f"{self._filter(clauses, v3)}</{csw}:Constraint>"
            if clauses
            else ""
        )
        sort = (
            f'<{f}:SortBy xmlns:{f}="{NS[f]}"><{f}:SortProperty>'
            f"<{f}:{ref}>{self._sort_property(caps)}</{f}:{ref}>"
            f"<{f}:SortOrder>DESC</{f}:SortOrder></{f}:SortProperty></{f}:SortBy>"
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<{csw}:GetRecords xmlns:{csw}="{NS[csw]}"'
            + (f' xmlns:csw="{NS["csw"]}"' if csw != "csw" else "")
            + f' xmlns:apiso="http://www.opengis.net/cat/csw/apiso/1.0"'
            f' service="CSW" version="{caps["version"]}" resultType="results"'
            f' startPosition="{start}" maxRecords="{limit}"'
            f" outputSchema={quoteattr(NS[csw])}>"
            f'<{csw}:Query typeNames="{csw}:Record">'
            f"<{csw}:ElementSetName>full</{csw}:ElementSetName>{constraint}{sort}"
            f"</{csw}:Query></{csw}:GetRecords>"
        )

    async def _get_records(
        self, caps: dict[str, Any], clauses: Any, start: int, limit: int
    ) -> tuple[etree._Element, UpstreamResponse]:
        """GetRecords by the first way the server accepts, remembered for the next searches.

        Ways: POST XML; GET with a FILTER constraint in the version's encoding (FES 2.0 for
        CSW 3); for CSW 3, GET with a FES 1.1 filter (pycsw 2.6 takes only that one).
        """
        v3 = caps["version"] == V3
        ways = []
        if caps["post"]:
            ways.append("post")
        ways.append("kvp")
        if v3:
            ways.append("kvp-fes1")
        if self._mode in ways:
            ways = [self._mode]
        error: UpstreamError | None = None
        for way in ways:
            try:
                if way == "post":
                    xml = self._get_records_xml(caps, clauses(v3), start, limit)
                    response = await self.http.post(
                        self.base,
                        content=xml.encode(),
                        headers={"Content-Type": "application/xml", "Accept": "application/xml"},
                        expect_ok=False,
                    )
                else:
                    fes2 = v3 and way == "kvp"
                    response = await self._get_records_kvp(caps, clauses(fes2), fes2, start, limit)
                root = self._records_root(response)
            except UpstreamError as exc:
                if not exc.details.pop("refused", False):
                    raise
                error = exc
                continue
            self._mode = way
            return root, response
        assert error is not None
        raise error

    async def _get_records_kvp(
        self, caps: dict[str, Any], clauses: list[str], fes2: bool, start: int, limit: int
    ) -> UpstreamResponse:
        params = self.get_records_params(caps, clauses, fes2, start, limit)
        return await self.http.get(self.base, params=params, expect_ok=False)

    def get_records_params(
        self, caps: dict[str, Any], clauses: list[str], fes2: bool, start: int, limit: int
    ) -> dict[str, str]:
        """The GetRecords query (KVP) eo-jlab sends; generated code sends the same."""
        v3 = caps["version"] == V3
        params = {
            "service": "CSW",
            "version": caps["version"],
            "request": "GetRecords",
            "typenames": "csw30:Record" if v3 else "csw:Record",
            "elementsetname": "full",
            "resulttype": "results",
            "outputschema": NS["csw30"] if v3 else NS["csw"],
            "startposition": str(start),
            "maxrecords": str(limit),
            "sortby": f"{self._sort_property(caps)}:D",
        }
        if clauses:
            params.update(
                {
                    "constraintlanguage": "FILTER",
                    "constraint_language_version": "2.0.0" if fes2 else "1.1.0",
                    "constraint": self._filter(clauses, fes2),
                }
            )
        return params

    def _records_root(self, response: UpstreamResponse) -> etree._Element:
        if response.status in (405, 501):  # this way of asking is not offered
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} refused the request (HTTP {response.status}).",
                {"url": response.url.split("?")[0], "status": response.status, "refused": True},
            )
        if response.status >= 400 and not response.content.lstrip().startswith(b"<"):
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} answered HTTP {response.status}.",
                {"url": response.url.split("?")[0], "status": response.status},
            )
        root = response.xml()
        try:
            self._check_exception(root, response)
        except UpstreamError as exc:
            exc.details["refused"] = True  # an OGC exception: another way may be accepted
            raise
        if response.status >= 400:
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} answered HTTP {response.status}.",
                {"url": response.url.split("?")[0], "status": response.status},
            )
        return root

    # --- records -> Items ---------------------------------------------------------------

    def _item(
        self, record: etree._Element, caps: dict[str, Any], collection: str | None
    ) -> dict[str, Any]:
        identifier = _child_text(record, "identifier") or ""
        title = _child_text(record, "title") or identifier
        keywords = [
            c.text.strip() for c in _children(record, "subject") if c.text and c.text.strip()
        ]
        start = end = instant = None
        temporal = _child_text(record, "temporal")
        extent = next(iter(_children(record, "TemporalExtent")), None)
        if extent is not None:
            start = _instant(_child_text(extent, "begin", "beginPosition"))
            end = _instant(_child_text(extent, "end", "endPosition"), end=True)
        elif temporal:
            first, _, last = temporal.partition("/")
            start = _instant(first)
            end = _instant(last, end=True) if last else start
        instant = _instant(_child_text(record, "date")) or start
        if start == end:
            start = end = None
        bbox = _bbox(record)
        geometry = None
        if bbox is not None:
            w, s, e, n = bbox
            geometry = {
                "type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
            }
        assets: dict[str, dict[str, Any]] = {}
        links: list[dict[str, Any]] = []
        thumbnail = None
        for ref in _children(record, "references", "URI"):
            href = (ref.text or "").strip()
            if not href.startswith(("http://", "https://")):
                continue
            scheme = ref.get("scheme") or ref.get("protocol") or ""
            try:
                kind = mimetypes.guess_type(urlsplit(href).path)[0]
            except ValueError:  # "http://[::1": passed on as it is, never fetched here
                kind = None
            lowered = (scheme + " " + href.rsplit("/", 1)[-1]).lower()
            if "thumbnail" in lowered or "quicklook" in lowered or "browse" in lowered:
                key, roles = "thumbnail", ["thumbnail"]
                thumbnail = thumbnail or href
            elif "download" in lowered:
                key, roles = "data", ["data"]
            else:
                key, roles = f"link-{len(assets) + 1}", ["metadata"]
            while key in assets:
                key = f"{key}-{len(assets) + 1}"
            assets[key] = {"href": href, "type": kind, "title": scheme or key, "roles": roles}
            links.append({"rel": "related", "href": href, "type": kind})
        source = self._record_url(caps, identifier)
        links.append({"rel": "via", "href": source, "type": "application/xml"})
        properties = {
            "title": title,
            "description": _child_text(record, "abstract"),
            "datetime": format_instant(instant) if instant else None,
            "start_datetime": format_instant(start) if start else None,
            "end_datetime": format_instant(end) if end else None,
            "collection": _child_text(record, "isPartOf") or collection,
            "platform": None,
            "instrument": None,
            "product_type": None,
            "cloud_cover": None,
            "keywords": keywords,
            "type": _child_text(record, "type"),
            "format": _child_text(record, "format"),
            "modified": _child_text(record, "modified"),
        }
        return {
            "type": "Feature",
            "id": identifier,
            "geometry": geometry,
            "bbox": bbox,
            "properties": properties,
            "assets": assets,
            "links": links,
            "thumbnail": thumbnail,
            "source": {"catalogue": self.endpoint.id, "protocol": "csw", "href": source},
        }


def _first_text(root: etree._Element, name: str) -> str | None:
    for element in root.iter():
        if _local(element) == name and element.text and element.text.strip():
            return element.text.strip()
    return None


def _world() -> dict[str, Any]:
    return {
        "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
        "temporal": {"interval": [[None, None]]},
    }


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except (ValueError, OverflowError):
        return None


def _seconds(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(text: str | None, *, end: bool = False):
    if not text:
        return None
    try:
        return parse_instant(text, end=end)
    except ValueError:
        return None


def _bbox(record: etree._Element) -> list[float] | None:
    """lon/lat bbox from ``ows:BoundingBox`` (minding EPSG:4326 axis order) or WGS84BoundingBox."""
    for box in _children(record, "BoundingBox", "WGS84BoundingBox"):
        try:
            lower = [float(v) for v in (_child_text(box, "LowerCorner") or "").split()]
            upper = [float(v) for v in (_child_text(box, "UpperCorner") or "").split()]
        except ValueError:
            continue
        if len(lower) != 2 or len(upper) != 2:
            continue
        crs = (box.get("crs") or "").lower()
        latlon = _local(box) == "BoundingBox" and (
            ("epsg" in crs and crs.rstrip("/").endswith("4326") and ("urn" in crs or "://" in crs))
            or crs == ""
        )
        if latlon:
            (s, w), (n, e) = lower, upper
        else:
            (w, s), (e, n) = lower, upper
        if abs(s) > 90 or abs(n) > 90:  # clearly the other order
            w, s, e, n = s, w, n, e
        return [w, s, e, n]
    return None
