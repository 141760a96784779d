"""Static STAC catalogue (a ``catalog.json`` on disk or behind a URL), walked once and searched.

The walk follows ``child`` and ``item`` links (relative or absolute), reads local files in an
executor and remote ones through ``net.py``, confines local links to the catalogue's folder,
and stops at bounded depth and at the operator's bounds (``IndexLimits``: documents, bytes
read, seconds). A walk a bound stopped leaves a usable index of what it read, and a sentence
saying so (``index_note``, shown by the endpoint probe).

The event loop is never held for long: a few fetchers walk a queue (never one task per link),
documents over 256 KB are checked in an executor and then read element by element
(``_LazyDocument``), items are indexed in small batches with an await between them, and the
final sort runs in an executor. An entry keeps its item as compact
JSON bytes and its footprint as WKB, not as Python objects. The index is rebuilt when the
root file changes (local), or after ``REMOTE_TTL`` seconds (URL) in the background while
searches go on answering from the current one. Searches match in an executor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
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
REMOTE_TTL = 600.0
FETCH_CONCURRENCY = 8
PARSE_OFF_LOOP_BYTES = 256 * 1024  # larger ones are checked in an executor, then streamed
BATCH = 100  # items or links handled between two awaits of the walk
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


@dataclass(frozen=True)
class IndexLimits:
    """Bounds of one walk of a static catalogue (``c.EOJLab.static_index_max_*``)."""

    documents: int = 50_000  # documents read; each feature of a FeatureCollection counts
    bytes: int = 500_000_000  # bytes of the documents read
    seconds: float = 300.0  # wall time of the walk

    def sentence(self, bound: str) -> str:
        if bound == "documents":
            return f"{self.documents:,} documents (c.EOJLab.static_index_max_documents)"
        if bound == "bytes":
            return f"{self.bytes:,} bytes read (c.EOJLab.static_index_max_bytes)"
        return f"{self.seconds:g} seconds (c.EOJLab.static_index_max_seconds)"


@dataclass(slots=True)
class _Entry:
    item_id: str
    blob: bytes  # the Item as compact JSON, its properties left out
    properties: dict[str, Any]
    collection: str | None
    bounds: tuple[float, float, float, float] | None
    footprint: bytes | None  # WKB of the geometry; None when there is none
    start: datetime | None
    end: datetime | None
    text: str

    @property
    def item(self) -> dict[str, Any]:
        """The Item as the contract gives it (the properties dict is shared, as it was)."""
        item = json.loads(self.blob)
        item["properties"] = self.properties
        return item


@dataclass
class _Index:
    entries: list[_Entry]
    collections: dict[str, dict[str, Any]]
    by_id: dict[tuple[str | None, str], _Entry]
    built: float
    stamp: Any
    skipped: int = 0
    stopped_by: str | None = None  # the bound that ended the walk: documents|bytes|seconds
    documents: int = 0
    bytes: int = 0


class StaticCatalogue(Catalogue):
    def __init__(
        self, endpoint: CatalogueEndpoint, http: HttpClient, limits: IndexLimits | None = None
    ):
        super().__init__(endpoint)
        self.http = http
        self.limits = limits or IndexLimits()
        self.remote = endpoint.is_remote
        self.root = endpoint.url if self.remote else str(Path(endpoint.url).expanduser().resolve())
        self.refresh_after = REMOTE_TTL
        self._index: _Index | None = None
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task | None = None

    # --- index ---------------------------------------------------------------------

    async def index(self) -> _Index:
        current = self._index
        if current is not None and self.remote:
            # Stale: rebuilt in the background; searches keep the current index meanwhile.
            if time.monotonic() - current.built >= self.refresh_after and self._refresh is None:
                self._refresh = asyncio.create_task(self._rebuild_in_background())
            return current
        async with self._lock:
            stamp = await self._stamp()
            if self._index is None or (not self.remote and self._index.stamp != stamp):
                self._index = await self._build_logged(stamp)
            return self._index

    @property
    def index_note(self) -> str | None:
        """A sentence when the last walk was stopped by a bound (None otherwise)."""
        index = self._index
        if index is None or index.stopped_by is None:
            return None
        return (
            f"Indexed partially: the walk of this static catalogue stopped at the bound of "
            f"{self.limits.sentence(index.stopped_by)} after reading {index.documents:,} "
            f"documents ({index.bytes:,} bytes); searches answer from the "
            f"{len(index.entries):,} items indexed."
        )

    async def _rebuild_in_background(self) -> None:
        try:
            async with self._lock:
                self._index = await self._build_logged(None)
        except Exception as exc:  # the current index stays, tried again after refresh_after
            log.warning(
                "eo_jlab static catalogue %s: re-indexing failed (%s); the previous index stays",
                self.endpoint.id,
                exc,
            )
            if self._index is not None:
                self._index.built = time.monotonic()
        finally:
            self._refresh = None

    async def _build_logged(self, stamp: Any) -> _Index:
        started = time.monotonic()
        index = await self._build(stamp)
        log.info(
            "eo_jlab static catalogue %s: %d items in %d collections indexed in %.2f s%s",
            self.endpoint.id,
            len(index.entries),
            len(index.collections),
            time.monotonic() - started,
            f" (stopped by the {index.stopped_by} bound)" if index.stopped_by else "",
        )
        return index

    async def _stamp(self) -> Any:
        if self.remote:
            return None
        loop = asyncio.get_running_loop()
        try:
            stat = await loop.run_in_executor(None, os.stat, self.root)
        except FileNotFoundError:
            raise NotFound(f"The static catalogue file {self.root} does not exist.") from None
        return (stat.st_mtime_ns, stat.st_size)

    async def _read(self, href: str) -> tuple[Any, int]:
        """The parsed document at ``href`` and its size in bytes."""
        if self.remote or "://" in href:
            response = await self.http.get(href, headers={"Accept": "application/json"})
            size = len(response.content)
            if size <= PARSE_OFF_LOOP_BYTES:
                return response.json(), size
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(None, _parse, response.content), size
            except ValueError:
                raise UpstreamError(f"{redact_url(href)} is not valid JSON.") from None
        return await asyncio.get_running_loop().run_in_executor(None, self._read_local, href)

    def _read_local(self, path: str) -> tuple[Any, int]:
        data = read_regular_file(path, self.http.max_bytes, f"file {path}")
        try:
            return _parse(data), len(data)
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
        # shapely's first import takes ~1 s: in an executor, not in the walk on the loop.
        await asyncio.get_running_loop().run_in_executor(None, import_module, "shapely.geometry")
        walk = _Walk(self, stamp)
        root, walk.bytes = await self._read(self.root)  # its failure is the catalogue's
        if not isinstance(root, dict | _LazyDocument):
            raise UpstreamError(f"{self.root} is not a STAC catalogue.")
        await walk.take(root, self.root, 0, None)
        queue = walk.queue
        wake = asyncio.Event()
        busy = 0

        async def fetcher() -> None:
            nonlocal busy
            while True:
                while not queue or walk.halted:
                    if busy == 0 or walk.halted:
                        wake.set()
                        return
                    wake.clear()
                    await wake.wait()
                if walk.bytes >= self.limits.bytes:  # something is left to read: partial
                    walk.stop("bytes")
                    continue
                # Last in, first out: items soon after their catalogue, so a walk a bound
                # stops has indexed items, not only the catalogues above them.
                href, depth, collection = queue.pop()
                busy += 1
                try:
                    doc, size = await self._read(href)
                    walk.bytes += size
                    if not isinstance(doc, dict | _LazyDocument):
                        raise UpstreamError(f"{href} is not a STAC document.")
                    await walk.take(doc, href, depth, collection)
                except Exception:  # one bad child must not hide the rest
                    walk.skip(href)
                finally:
                    busy -= 1
                    wake.set()

        fetchers = [asyncio.create_task(fetcher()) for _ in range(FETCH_CONCURRENCY)]
        remaining = self.limits.seconds - (time.monotonic() - walk.started)
        _, pending = await asyncio.wait(fetchers, timeout=max(remaining, 0.0))
        if pending:
            walk.stop("seconds")
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if walk.skipped:
            log.warning(
                "eo_jlab static catalogue %s: skipped %d links or documents, e.g. %s",
                self.endpoint.id,
                walk.skipped,
                [redact_url(href) for href in walk.skipped_examples],
            )
        return await asyncio.get_running_loop().run_in_executor(None, walk.index)

    # --- the interface -----------------------------------------------------------------

    async def collections(self) -> list[dict[str, Any]]:
        index = await self.index()
        return await asyncio.get_running_loop().run_in_executor(None, _collection_summaries, index)

    async def queryables(self, collection: str) -> dict[str, Any]:
        index = await self.index()
        if collection not in index.collections:
            raise NotFound(f"The catalogue {self.endpoint.id!r} has no collection {collection!r}.")
        return await asyncio.get_running_loop().run_in_executor(
            None, _queryables, collection, index.entries
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


class _Walk:
    """The state of one walk: the queue of links to read, the bounds, the index being filled."""

    def __init__(self, catalogue: StaticCatalogue, stamp: Any):
        self.catalogue_id = catalogue.endpoint.id
        self.resolve = catalogue._resolve
        self.limits = catalogue.limits
        self.stamp = stamp
        self.started = time.monotonic()
        self.queue: deque[tuple[str, int, str | None]] = deque()
        self.seen: set[str] = {catalogue.root}
        self.reserved = 1  # documents read or queued, against the documents bound
        self.documents = 0  # documents read (each feature of a FeatureCollection counts)
        self.bytes = 0
        self.bound: str | None = None  # the first bound that ended the walk
        self.halted = False  # no further document is read (bytes, seconds)
        self.skipped = 0
        self.skipped_examples: list[str] = []
        self.collections: dict[str, dict[str, Any]] = {}
        self.entries: list[_Entry] = []
        self.by_id: dict[tuple[str | None, str], _Entry] = {}

    def stop(self, bound: str) -> None:
        self.bound = self.bound or bound
        self.halted = self.halted or bound != "documents"  # the queued ones are still read

    def skip(self, href: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 3:
            self.skipped_examples.append(href)

    async def take(self, doc: dict[str, Any], href: str, depth: int, parent: str | None) -> None:
        """Index one document: its items, or its links to follow (awaits between batches)."""
        self.documents += 1
        kind = doc.get("type")
        collection_id = parent
        if kind == "Collection" and doc.get("id"):
            collection_id = str(doc["id"])
            self.collections[collection_id] = {
                key: doc[key] for key in ("title", "description", "extent") if key in doc
            }
        if kind == "Feature":
            self.add(doc, href, parent)
            return
        if kind == "FeatureCollection":
            features = doc.get("features")
            for n, feature in enumerate(features if isinstance(features, list | Iterator) else []):
                if n:  # the first one is the document itself
                    if self.reserved >= self.limits.documents:
                        self.stop("documents")
                        return
                    self.reserved += 1
                    self.documents += 1
                if isinstance(feature, dict):
                    self.add(feature, href, parent)
                if n % BATCH == BATCH - 1:
                    await asyncio.sleep(0)
            return
        links = doc.get("links")
        if depth >= MAX_DEPTH or self.halted or not isinstance(links, list | Iterator):
            return
        for n, link in enumerate(links):
            if n % BATCH == BATCH - 1:
                await asyncio.sleep(0)
            if not isinstance(link, dict) or link.get("rel") not in ("child", "item"):
                continue
            target = self.resolve(str(link.get("href") or ""), href)
            if target is None:
                self.skip(str(link.get("href")))
            elif target not in self.seen:
                if self.reserved >= self.limits.documents:
                    self.stop("documents")
                    return
                self.seen.add(target)
                self.reserved += 1
                self.queue.append((target, depth + 1, collection_id))

    def add(self, stac: dict[str, Any], href: str, parent: str | None) -> None:
        from shapely.geometry import shape

        try:
            if parent and not stac.get("collection"):
                stac = {**stac, "collection": parent}
            item = item_from_stac(stac, catalogue=self.catalogue_id, protocol="static", base=href)
            props = item.pop("properties")
            footprint, bounds = None, None
            if item.get("geometry"):
                try:
                    geometry = shape(item["geometry"])
                    footprint, bounds = geometry.wkb, geometry.bounds
                except Exception:  # not a geometry shapely reads: matched by its bbox
                    footprint = None
            if item.get("bbox") and len(item["bbox"]) == 4:
                bounds = tuple(float(v) for v in item["bbox"])
            start, end = _item_interval(props)
            keywords = props.get("keywords")
            words = (
                item["id"],
                props.get("title"),
                props.get("collection"),
                props.get("platform"),
                props.get("description"),
                " ".join(map(str, keywords)) if isinstance(keywords, list) else None,
            )
            blob = json.dumps(item, separators=(",", ":")).encode()
        except Exception:  # an item the adapter cannot read is skipped like a bad link
            self.skip(f"{href} (item {str(stac.get('id'))[:80]!r})")
            return
        entry = _Entry(
            item["id"],
            blob,
            props,
            props.get("collection"),
            bounds,
            footprint,
            start,
            end,
            " ".join(str(v) for v in words if v).lower(),
        )
        self.entries.append(entry)
        self.by_id[(entry.collection, entry.item_id)] = entry
        self.by_id.setdefault((None, entry.item_id), entry)

    def index(self) -> _Index:
        """The finished index (run in an executor: sorting a large one takes a while)."""
        self.entries.sort(
            key=lambda e: (e.start.timestamp() if e.start else 0.0, e.item_id), reverse=True
        )
        for entry in self.entries:
            if entry.collection and entry.collection not in self.collections:
                self.collections[entry.collection] = {}
        return _Index(
            self.entries,
            self.collections,
            self.by_id,
            time.monotonic(),
            self.stamp,
            skipped=self.skipped,
            stopped_by=self.bound,
            documents=self.documents,
            bytes=self.bytes,
        )


_SPACE = re.compile(r"[ \t\n\r]*")
_STREAMED = ("features", "links")  # the arrays that make a document big


class _LazyDocument:
    """A big JSON object read without building it whole.

    Its top-level members are decoded, except the ``features`` and ``links`` arrays, whose
    elements are decoded one at a time when iterated. As Python objects, a 10 MB document is
    a graph of a million containers, and each pass of the garbage collector over it held the
    event loop for a second; decoded element by element, only small short-lived ones exist.
    The constructor checks the whole text (run it in an executor).
    """

    def __init__(self, text: str):
        self._text = text
        self._head: dict[str, Any] = {}
        self._arrays: dict[str, int] = {}
        decoder = json.JSONDecoder()
        pos = self._expect(0, "{")
        if text[pos] == "}":
            pos += 1
        else:
            while True:
                key, pos = decoder.raw_decode(text, pos)
                if not isinstance(key, str):
                    raise ValueError("a member name is not a string")
                pos = self._expect(pos, ":")
                if key in _STREAMED and text[pos] == "[":
                    self._head.pop(key, None)
                    self._arrays[key], pos = pos, self._array_end(pos)
                else:
                    self._arrays.pop(key, None)
                    self._head[key], pos = decoder.raw_decode(text, pos)
                pos = _SPACE.match(text, pos).end()
                if text[pos] == "}":
                    pos += 1
                    break
                pos = self._expect(pos, ",")
        if _SPACE.match(text, pos).end() != len(text):
            raise ValueError("text after the document")

    def _expect(self, pos: int, char: str) -> int:
        pos = _SPACE.match(self._text, pos).end()
        if self._text[pos] != char:
            raise ValueError(f"{char!r} expected at {pos}")
        return _SPACE.match(self._text, pos + 1).end()

    def _array_end(self, start: int) -> int:
        """The position after the array at ``start``, every element checked on the way."""
        end = self._expect(start, "[")
        if self._text[end] == "]":
            return end + 1
        for _, end in self._elements(start):  # noqa: B007
            pass
        return end

    def _elements(self, start: int) -> Iterator[tuple[Any, int]]:
        """Each element of the array at ``start``, and the position after it."""
        decoder = json.JSONDecoder()
        pos = self._expect(start, "[")
        if self._text[pos] == "]":
            return
        while True:
            value, pos = decoder.raw_decode(self._text, pos)
            pos = _SPACE.match(self._text, pos).end()
            if self._text[pos] == "]":
                yield value, pos + 1
                return
            pos = self._expect(pos, ",")
            yield value, pos

    @property
    def streamed(self) -> bool:
        return bool(self._arrays)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._arrays:
            return (value for value, _ in self._elements(self._arrays[key]))
        return self._head.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._head[key]

    def __contains__(self, key: str) -> bool:
        return key in self._head or key in self._arrays


def _parse(data: bytes) -> Any:
    """A document from its bytes: big STAC catalogues and item collections as ``_LazyDocument``.

    Raises ``ValueError`` when the bytes are not JSON.
    """
    if len(data) <= PARSE_OFF_LOOP_BYTES:
        return json.loads(data)
    text = data.decode("utf-8")
    try:
        doc = _LazyDocument(text)
    except IndexError:
        raise ValueError("the document ends early") from None
    if doc.get("type") in ("Feature", None) or not doc.streamed:
        return json.loads(text)  # one item, or nothing to stream: as a whole
    return doc


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
    from shapely import from_wkb
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
            footprint = from_wkb(entry.footprint) if entry.footprint else box(*entry.bounds)
            if not footprint.intersects(area):
                continue
        if interval is not None and not interval.overlaps(entry.start, entry.end):
            continue
        if words and not all(word in entry.text for word in words):
            continue
        if request.filters and not matches_filters(entry.properties, request.filters):
            continue
        matched.append(entry)
    return matched


def _collection_summaries(index: _Index) -> list[dict[str, Any]]:
    by_collection: dict[str, list[_Entry]] = {}
    for entry in index.entries:
        if entry.collection is not None:
            by_collection.setdefault(entry.collection, []).append(entry)
    return [
        _collection_summary(cid, doc, by_collection.get(cid, []))
        for cid, doc in index.collections.items()
    ]


def _collection_summary(cid: str, doc: dict[str, Any], entries: list[_Entry]) -> dict[str, Any]:
    extent = doc.get("extent")
    if not extent:
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
    properties = infer_queryables(
        (e.properties for e in entries if e.collection == collection), _NOT_QUERYABLE
    )
    return queryables_schema(collection, properties)
