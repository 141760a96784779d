"""Static STAC catalogue (a ``catalog.json`` on disk or behind a URL), walked once and searched.

The walk follows ``child`` and ``item`` links (relative or absolute), reads local files in an
executor and remote ones through ``net.py``, confines local links to the catalogue's folder,
and stops at bounded depth and document counts. The index is rebuilt when the root file
changes (local) or after ``REMOTE_TTL`` seconds (URL). Searches match in an executor, so a
large index never holds the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..errors import BadRequest, NotFound, UpstreamError
from ..models import CatalogueEndpoint
from ..net import HttpClient, redact_url
from .base import (
    Catalogue,
    PageToken,
    SearchPage,
    SearchRequest,
    format_instant,
    infer_queryables,
    item_from_stac,
    local_quicklook,
    matches_filters,
    parse_instant,
    queryables_schema,
    read_regular_file,
)

log = logging.getLogger(__name__)

MAX_DEPTH = 16
MAX_DOCUMENTS = 100_000
REMOTE_TTL = 600.0
FETCH_CONCURRENCY = 8
# Item properties that have their own search parameter, or are free text.
_NOT_QUERYABLE = {
    "title",
    "datetime",
    "start_datetime",
    "end_datetime",
    "collection",
    "created",
    "updated",
    "description",
}


@dataclass
class _Entry:
    item: dict[str, Any]
    collection: str | None
    bounds: tuple[float, float, float, float] | None
    geometry: Any
    start: datetime | None
    end: datetime | None
    text: str


@dataclass
class _Index:
    entries: list[_Entry]
    collections: dict[str, dict[str, Any]]
    by_id: dict[tuple[str | None, str], _Entry]
    built: float
    stamp: Any
    skipped: list[str] = field(default_factory=list)


class StaticCatalogue(Catalogue):
    def __init__(self, endpoint: CatalogueEndpoint, http: HttpClient):
        super().__init__(endpoint)
        self.http = http
        self.remote = endpoint.is_remote
        self.root = endpoint.url if self.remote else str(Path(endpoint.url).expanduser().resolve())
        self._index: _Index | None = None
        self._lock = asyncio.Lock()

    # --- index ---------------------------------------------------------------------

    async def index(self) -> _Index:
        async with self._lock:
            stamp = await self._stamp()
            fresh = self._index is not None and (
                (not self.remote and self._index.stamp == stamp)
                or (self.remote and time.monotonic() - self._index.built < REMOTE_TTL)
            )
            if not fresh:
                started = time.monotonic()
                self._index = await self._build(stamp)
                log.info(
                    "eo_jlab static catalogue %s: %d items in %d collections indexed in %.2f s",
                    self.endpoint.id,
                    len(self._index.entries),
                    len(self._index.collections),
                    time.monotonic() - started,
                )
            return self._index

    async def _stamp(self) -> Any:
        if self.remote:
            return None
        loop = asyncio.get_running_loop()
        try:
            stat = await loop.run_in_executor(None, os.stat, self.root)
        except FileNotFoundError:
            raise NotFound(f"The static catalogue file {self.root} does not exist.") from None
        return (stat.st_mtime_ns, stat.st_size)

    async def _read(self, href: str) -> dict[str, Any]:
        if self.remote or "://" in href:
            return (await self.http.get(href, headers={"Accept": "application/json"})).json()
        return await asyncio.get_running_loop().run_in_executor(None, self._read_local, href)

    def _read_local(self, path: str) -> dict[str, Any]:
        data = read_regular_file(path, self.http.max_bytes, f"file {path}")
        try:
            return json.loads(data)
        except ValueError:
            raise UpstreamError(f"{path} is not valid JSON.") from None

    def _resolve(self, href: str, parent: str) -> str | None:
        """Absolute location of a link; None when a local link leaves the catalogue folder."""
        if "://" in href:
            return href if self.remote else None
        if self.remote:
            try:
                return urljoin(parent, href)
            except ValueError:  # malformed ("//[::1"): skipped like a link that leaves
                return None
        target = (Path(parent).parent / href).resolve()
        folder = Path(self.root).parent
        return str(target) if target == folder or folder in target.parents else None

    async def _build(self, stamp: Any) -> _Index:
        collections: dict[str, dict[str, Any]] = {}
        stac_items: list[tuple[dict[str, Any], str, str | None]] = []
        skipped: list[str] = []
        seen: set[str] = {self.root}
        frontier: list[tuple[str, int, str | None]] = [(self.root, 0, None)]
        semaphore = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch(href: str) -> dict[str, Any] | Exception:
            async with semaphore:
                try:
                    return await self._read(href)
                except Exception as exc:  # one bad child must not hide the rest
                    return exc

        first = True
        while frontier:
            documents = await asyncio.gather(*(fetch(href) for href, _, _ in frontier))
            next_frontier: list[tuple[str, int, str | None]] = []
            for (href, depth, parent_collection), doc in zip(frontier, documents, strict=True):
                if isinstance(doc, Exception) or not isinstance(doc, dict):
                    if first:
                        if isinstance(doc, Exception):
                            raise doc
                        raise UpstreamError(f"{href} is not a STAC catalogue.")
                    skipped.append(href)
                    continue
                kind = doc.get("type")
                collection_id = parent_collection
                if kind == "Collection" and doc.get("id"):
                    collection_id = str(doc["id"])
                    collections[collection_id] = doc
                if kind == "Feature":
                    stac_items.append((doc, href, parent_collection))
                    continue
                if kind == "FeatureCollection":
                    for feature in doc.get("features") or []:
                        if isinstance(feature, dict):
                            stac_items.append((feature, href, parent_collection))
                    continue
                if depth >= MAX_DEPTH:
                    continue
                for link in doc.get("links") or []:
                    if not isinstance(link, dict) or link.get("rel") not in ("child", "item"):
                        continue
                    target = self._resolve(str(link.get("href") or ""), href)
                    if target is None:
                        skipped.append(str(link.get("href")))
                    elif target not in seen and len(seen) < MAX_DOCUMENTS:
                        seen.add(target)
                        next_frontier.append((target, depth + 1, collection_id))
            frontier = next_frontier
            first = False
        if skipped:
            log.warning(
                "eo_jlab static catalogue %s: skipped %d links or documents, e.g. %s",
                self.endpoint.id,
                len(skipped),
                [redact_url(href) for href in skipped[:3]],
            )
        return await asyncio.get_running_loop().run_in_executor(
            None, self._make_index, collections, stac_items, stamp, skipped
        )

    def _make_index(self, collections, stac_items, stamp, skipped) -> _Index:
        from shapely.geometry import shape

        entries: list[_Entry] = []
        by_id: dict[tuple[str | None, str], _Entry] = {}
        for stac, href, parent_collection in stac_items:
            if parent_collection and not stac.get("collection"):
                stac = {**stac, "collection": parent_collection}
            item = item_from_stac(stac, catalogue=self.endpoint.id, protocol="static", base=href)
            props = item["properties"]
            try:
                geometry = shape(item["geometry"]) if item.get("geometry") else None
            except Exception:
                geometry = None
            bounds = tuple(item["bbox"]) if item.get("bbox") and len(item["bbox"]) == 4 else None
            if bounds is None and geometry is not None:
                bounds = geometry.bounds
            start, end = _item_interval(props)
            text = " ".join(
                str(v)
                for v in (
                    item["id"],
                    props.get("title"),
                    props.get("collection"),
                    props.get("platform"),
                    props.get("description"),
                    " ".join(props.get("keywords") or []),
                )
                if v
            ).lower()
            entry = _Entry(item, props.get("collection"), bounds, geometry, start, end, text)
            entries.append(entry)
            by_id[(entry.collection, item["id"])] = entry
            by_id.setdefault((None, item["id"]), entry)
        entries.sort(
            key=lambda e: (e.start.timestamp() if e.start else 0.0, e.item["id"]), reverse=True
        )
        for entry in entries:
            if entry.collection and entry.collection not in collections:
                collections[entry.collection] = {"id": entry.collection}
        return _Index(entries, collections, by_id, time.monotonic(), stamp, skipped)

    # --- the interface -----------------------------------------------------------------

    async def collections(self) -> list[dict[str, Any]]:
        index = await self.index()
        return [_collection_summary(cid, doc, index) for cid, doc in index.collections.items()]

    async def queryables(self, collection: str) -> dict[str, Any]:
        index = await self.index()
        if collection not in index.collections:
            raise NotFound(f"The catalogue {self.endpoint.id!r} has no collection {collection!r}.")
        entries = [e for e in index.entries if e.collection == collection]
        return await asyncio.get_running_loop().run_in_executor(
            None, _queryables, collection, entries
        )

    async def search(self, request: SearchRequest) -> SearchPage:
        index = await self.index()
        state = PageToken.decode(self.endpoint.id, request) or {}
        offset = state.get("offset", 0)
        if not isinstance(offset, int) or offset < 0:
            raise BadRequest("The page token is not one eo-jlab issued.")
        unknown = [c for c in request.collections or [] if c not in index.collections]
        if unknown:
            raise BadRequest(
                f"The catalogue {self.endpoint.id!r} has no collection {unknown[0]!r}."
            )
        matched = await asyncio.get_running_loop().run_in_executor(None, _match, index, request)
        page = matched[offset : offset + request.limit]
        following = offset + len(page)
        token = (
            PageToken.encode(self.endpoint.id, request, {"offset": following})
            if following < len(matched)
            else None
        )
        # Counting is free here, so the total is always given.
        return SearchPage(
            features=[e.item for e in page], next_page_token=token, number_matched=len(matched)
        )

    async def item(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        index = await self.index()
        entry = index.by_id.get((collection, item_id))
        if entry is None:
            where = f" in collection {collection!r}" if collection else ""
            raise NotFound(f"The catalogue {self.endpoint.id!r} has no item {item_id!r}{where}.")
        return entry.item

    async def quicklook(self, href: str, http: Any) -> tuple[bytes, str]:
        if self.remote or "://" in href:
            return await super().quicklook(href, http)
        return await asyncio.get_running_loop().run_in_executor(None, self._local_image, href)

    def _local_image(self, href: str) -> tuple[bytes, str]:
        return local_quicklook(Path(self.root).parent, href)


def _item_interval(props: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    def instant(key: str) -> datetime | None:
        value = props.get(key)
        try:
            return parse_instant(value) if isinstance(value, str) else None
        except ValueError:
            return None

    start = instant("start_datetime") or instant("datetime")
    end = instant("end_datetime") or instant("datetime")
    return start, end


def _match(index: _Index, request: SearchRequest) -> list[_Entry]:
    from shapely.geometry import box, shape

    area = None
    if request.bbox is not None:
        west, south, east, north = request.bbox
        if west <= east:
            area = box(west, south, east, north)
        else:  # crosses the antimeridian
            area = box(west, south, 180, north).union(box(-180, south, east, north))
    elif request.intersects is not None:
        area = shape(request.intersects)
    area_bounds = area.bounds if area is not None else None
    interval = request.interval
    words = (request.q or "").lower().split()
    collections = set(request.collections or [])
    matched = []
    for entry in index.entries:
        if collections and entry.collection not in collections:
            continue
        if area is not None:
            if entry.bounds is None:
                continue
            w, s, e, n = entry.bounds
            if w > area_bounds[2] or e < area_bounds[0] or s > area_bounds[3] or n < area_bounds[1]:
                continue
            footprint = entry.geometry if entry.geometry is not None else box(*entry.bounds)
            if not footprint.intersects(area):
                continue
        if interval is not None and not interval.overlaps(entry.start, entry.end):
            continue
        if words and not all(word in entry.text for word in words):
            continue
        if request.filters and not matches_filters(entry.item["properties"], request.filters):
            continue
        matched.append(entry)
    return matched


def _collection_summary(cid: str, doc: dict[str, Any], index: _Index) -> dict[str, Any]:
    extent = doc.get("extent")
    if not extent:
        entries = [e for e in index.entries if e.collection == cid]
        boxes = [e.bounds for e in entries if e.bounds]
        starts = [e.start for e in entries if e.start]
        ends = [e.end for e in entries if e.end]
        extent = {
            "spatial": {
                "bbox": [
                    [
                        min(b[0] for b in boxes),
                        min(b[1] for b in boxes),
                        max(b[2] for b in boxes),
                        max(b[3] for b in boxes),
                    ]
                ]
                if boxes
                else []
            },
            "temporal": {
                "interval": [
                    [
                        format_instant(min(starts)) if starts else None,
                        format_instant(max(ends)) if ends else None,
                    ]
                ]
            },
        }
    return {
        "id": cid,
        "title": str(doc.get("title") or cid),
        "description": str(doc.get("description") or ""),
        "extent": extent,
    }


def _queryables(collection: str, entries: list[_Entry]) -> dict[str, Any]:
    properties = infer_queryables((e.item["properties"] for e in entries), _NOT_QUERYABLE)
    return queryables_schema(collection, properties)
