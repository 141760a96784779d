"""What a snippet does, independent of the language: where an item is loaded from, or which
catalogue is searched with which criteria (normalized once here for every language)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalogue.base import STAC_TO_ITEM, SearchRequest, format_instant
from ..errors import BadRequest
from ..models import CatalogueEndpoint

# The contract's property names as STAC API ``query`` names.
ITEM_TO_STAC = {
    "cloud_cover": "eo:cloud_cover",
    "product_type": "product:type",
    "relative_orbit": "sat:relative_orbit",
}


@dataclass
class ItemPlan:
    id: str
    # "stac": a STAC Item JSON at ``href`` (a URL or a local path); "document": another
    # metadata document at ``href`` (OpenSearch, CSW); "inline": no link, values only.
    loader: str
    href: str | None
    assets: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)  # for the widgets flavour


@dataclass
class Filter:
    name: str
    keys: list[str]  # property names to look the value up under, in order
    ops: list[tuple[str, Any]]


@dataclass
class SearchPlan:
    # "static" (walk a catalog.json), "stac" (STAC API /search), "opensearch" (``url`` is the
    # description document) or "csw" (``url`` is where GetRecords is posted)
    protocol: str
    url: str
    collections: list[str]
    bbox: list[float] | None  # the area as given (STAC API)
    boxes: list[list[float]]  # the area as bounding boxes (static walk; antimeridian split)
    intersects: dict[str, Any] | None
    start: str | None  # RFC 3339 UTC instants (open ends: None)
    end: str | None
    q: str | None
    words: list[str]
    filters: list[Filter]
    limit: int
    # OpenSearch: the template's values as (namespace URI, local name, value), paging aside.
    parameters: list[tuple[str, str, str]] = field(default_factory=list)
    # CSW: the GetCapabilities URL and the GetRecords requests eo-jlab would make, keyed by
    # "<version> iso" / "<version> dc" (ISO or Dublin Core time queryables): ("POST", XML) or
    # ("GET", URL), tried in order until one is not refused.
    capabilities: str | None = None
    attempts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def datetime(self) -> str | None:
        if self.start is None and self.end is None:
            return None
        return f"{self.start or '..'}/{self.end or '..'}"

    def stac_query(self) -> dict[str, dict[str, Any]]:
        query: dict[str, dict[str, Any]] = {}
        for f in self.filters:
            query.setdefault(ITEM_TO_STAC.get(f.name, f.name), {}).update(dict(f.ops))
        return query

    def stac_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"limit": self.limit}
        if self.collections:
            body["collections"] = self.collections
        if self.bbox is not None:
            body["bbox"] = self.bbox
        if self.intersects is not None:
            body["intersects"] = self.intersects
        if self.datetime is not None:
            body["datetime"] = self.datetime
        if self.filters:
            body["query"] = self.stac_query()
        if self.q:
            body["q"] = self.q
        return body


def _link(item: dict[str, Any], rel: str) -> str | None:
    for link in item.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(link.get("href"), str):
            return link["href"]
    return None


def _loadable(href: str | None) -> bool:
    return bool(href) and (href.startswith(("http://", "https://")) or href.startswith("/"))


def item_plan(item: dict[str, Any]) -> ItemPlan:
    source = item.get("source") if isinstance(item.get("source"), dict) else {}
    protocol = source.get("protocol")
    assets = {
        str(key): asset["href"]
        for key, asset in (item.get("assets") or {}).items()
        if isinstance(asset, dict) and isinstance(asset.get("href"), str)
    }
    plan = ItemPlan(id=item["id"], loader="inline", href=None, assets=assets, items=[item])
    if protocol in ("static", "stac"):
        for href in (_link(item, "self"), source.get("href")):
            if _loadable(href):
                plan.loader, plan.href = "stac", href
                return plan
    for href in (_link(item, "self"), _link(item, "alternate"), source.get("href")):
        if isinstance(href, str) and href.startswith(("http://", "https://")):
            plan.loader, plan.href = "document", href
            return plan
    return plan


def search_plan(endpoint: CatalogueEndpoint, request: SearchRequest) -> SearchPlan:
    url = str(endpoint.url)
    if endpoint.protocol == "static" and not url.startswith(("http://", "https://")):
        from pathlib import Path

        url = str(Path(url).expanduser().resolve())
    boxes: list[list[float]] = []
    if request.bbox is not None:
        west, south, east, north = request.bbox
        boxes = (
            [[west, south, east, north]]
            if west <= east
            else [[west, south, 180.0, north], [-180.0, south, east, north]]
        )
    elif request.intersects is not None:
        from shapely.geometry import shape

        boxes = [list(shape(request.intersects).bounds)]
    interval = request.interval
    filters = []
    for name, condition in (request.filters or {}).items():
        if not isinstance(condition, dict):
            condition = {"eq": condition}
        for op in condition:
            if op not in ("lt", "lte", "gt", "gte", "eq"):
                raise BadRequest(f"Unknown filter operator {op!r} for {name!r}.")
        keys = [name] + [stac for stac, mine in STAC_TO_ITEM.items() if mine == name]
        filters.append(Filter(name=name, keys=keys, ops=list(condition.items())))
    plan = SearchPlan(
        protocol=endpoint.protocol,
        url=url,
        collections=list(request.collections or []),
        bbox=request.bbox,
        boxes=boxes,
        intersects=request.intersects,
        start=format_instant(interval.start) if interval and interval.start else None,
        end=format_instant(interval.end) if interval and interval.end else None,
        q=request.q,
        words=(request.q or "").lower().split(),
        filters=filters,
        limit=request.limit,
    )
    if endpoint.protocol == "opensearch":
        plan.parameters = _opensearch_parameters(endpoint, request)
    elif endpoint.protocol == "csw":
        _csw(plan, endpoint, request)
    return plan


def _opensearch_parameters(
    endpoint: CatalogueEndpoint, request: SearchRequest
) -> list[tuple[str, str, str]]:
    """The values eo-jlab's OpenSearch adapter fills the template with (its ``_values``); the
    snippet reads the description document itself and fills the template the same way."""
    from ..catalogue.opensearch import EO, EO_FILTERS, GEO, OS, TIME, _eo_value, _number

    values: list[tuple[str, str, str]] = []
    collections = [c for c in request.collections or [] if c != endpoint.id]
    if len(collections) > 1:
        raise BadRequest(
            f"The OpenSearch catalogue {endpoint.id!r} searches one collection at a time."
        )
    if collections:
        values.append((EO, "parentIdentifier", collections[0]))
    if request.q:
        values.append((OS, "searchTerms", request.q))
    area = request.bbox
    if area is None and request.intersects is not None:
        from shapely.geometry import shape

        area = list(shape(request.intersects).bounds)
    if area is not None:
        values.append((GEO, "box", ",".join(_number(v) for v in area)))
    interval = request.interval
    if interval is not None and interval.start is not None:
        values.append((TIME, "start", format_instant(interval.start)))
    if interval is not None and interval.end is not None:
        values.append((TIME, "end", format_instant(interval.end)))
    for name, condition in (request.filters or {}).items():
        local, interval_ok = EO_FILTERS.get(name, (None, False))
        if local is None:
            raise BadRequest(f"The OpenSearch catalogue {endpoint.id!r} cannot filter on {name!r}.")
        values.append((EO, local, _eo_value(name, condition, interval_ok)))
    return values


def _csw(plan: SearchPlan, endpoint: CatalogueEndpoint, request: SearchRequest) -> None:
    """The GetRecords documents eo-jlab's CSW adapter posts, built by the adapter itself for
    each version and time queryables the server may have; the snippet asks GetCapabilities
    which one applies. Nothing is fetched here."""
    from urllib.parse import urlencode

    from ..catalogue.csw import V2, V3, CswCatalogue

    catalogue = CswCatalogue(endpoint, http=None)  # type: ignore[arg-type]
    plan.url = catalogue.base
    params = {"service": "CSW", "request": "GetCapabilities"}
    if catalogue.pinned:
        params.update({"acceptversions": catalogue.pinned, "version": catalogue.pinned})
    plan.capabilities = catalogue.base + ("&" if "?" in catalogue.base else "?") + urlencode(params)
    collections = list(request.collections or [])
    if endpoint.id in collections:
        collections = []  # the pseudo collection is everything
    versions = [V2] if catalogue.pinned and catalogue.pinned.startswith("2") else [V3, V2]
    separator = "&" if "?" in catalogue.base else "?"
    for version in versions:
        v3 = version == V3
        for iso in (True, False):
            caps = {"version": version, "iso_time": iso}
            key = f"{version} {'iso' if iso else 'dc'}"
            # The adapter's ways (CswCatalogue._get_records): POST XML; GET with a filter in
            # the version's encoding; for CSW 3, GET with a FES 1.1 filter (pycsw 2.6).
            attempts = [
                (
                    "POST",
                    catalogue._get_records_xml(
                        caps, catalogue._clauses(request, caps, collections, v3), 1, request.limit
                    ),
                )
            ]
            for fes2 in [True, False] if v3 else [False]:
                clauses = catalogue._clauses(request, caps, collections, fes2)
                params = catalogue.get_records_params(caps, clauses, fes2, 1, request.limit)
                attempts.append(("GET", catalogue.base + separator + urlencode(params)))
            plan.attempts[key] = attempts
