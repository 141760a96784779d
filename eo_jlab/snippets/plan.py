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
    protocol: str  # "static" (walk a catalog.json) or "stac" (STAC API /search)
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
    if endpoint.protocol not in ("static", "stac"):
        raise BadRequest(
            f"Search snippets for {endpoint.protocol} catalogues are not available yet; "
            "drag single items instead."
        )
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
    return SearchPlan(
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
