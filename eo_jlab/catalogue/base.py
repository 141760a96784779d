"""The catalogue interface every protocol adapter implements, and what they share.

* ``SearchRequest``: the contract's search body, validated (bbox order and ranges, GeoJSON
  geometry, RFC 3339 interval, filter operators, limit).
* ``PageToken``: the opaque token that carries everything the next page needs, bound to the
  search it came from, so handlers keep no per-search state and two tabs never interfere.
* ``item_from_stac``: a STAC Item (dict) as the contract's normalized ``Item``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import BadRequest, NotFound, UpstreamError
from ..models import CatalogueEndpoint
from ..net import _host_of
from ..proxied import header_media_type, quicklook_type

OPERATORS = ("lt", "lte", "gt", "gte", "eq")
QUICKLOOK_MAX_BYTES = 5_000_000
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
FilterValue = str | int | float | bool | dict[Literal["lt", "lte", "gt", "gte", "eq"], Any]

# STAC property names -> the contract's normalized names (the rest pass through unchanged).
STAC_TO_ITEM = {
    "eo:cloud_cover": "cloud_cover",
    "s2:product_type": "product_type",
    "product:type": "product_type",
    "sat:relative_orbit": "relative_orbit",
}


def parse_instant(text: str, *, end: bool = False) -> datetime:
    """An RFC 3339 date-time (or a plain date) as an aware UTC datetime."""
    value = text.strip()
    try:
        if len(value) == 10:  # a date alone: the whole day
            day = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
            return day.replace(hour=23, minute=59, second=59, microsecond=999999) if end else day
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        raise ValueError(f"{text!r} is not an RFC 3339 date-time") from None


def format_instant(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Interval(BaseModel):
    start: datetime | None = None
    end: datetime | None = None

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        if start is None and end is None:
            return False
        start = start or end
        end = end or start
        return (self.start is None or end >= self.start) and (self.end is None or start <= self.end)


class SearchRequest(BaseModel):
    """``POST catalogues/{cid}/search`` (DESIGN.md)."""

    model_config = ConfigDict(extra="forbid")
    collections: list[str] | None = Field(default=None, max_length=100)
    bbox: list[float] | None = None
    intersects: dict[str, Any] | None = None
    datetime: str | None = Field(default=None, max_length=100)
    q: str | None = Field(default=None, max_length=500)
    filters: dict[str, FilterValue] | None = None
    limit: int = Field(default=20, ge=1, le=500)
    page_token: str | None = Field(default=None, max_length=20_000)
    count: bool = False

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if len(value) != 4:
            raise ValueError("bbox must be [west, south, east, north]")
        west, south, east, north = value
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise ValueError("bbox longitudes must be between -180 and 180")
        if not (-90 <= south <= 90 and -90 <= north <= 90):
            raise ValueError("bbox latitudes must be between -90 and 90")
        if south > north:
            raise ValueError("bbox south must not be greater than north (lon/lat order)")
        return value

    @field_validator("intersects")
    @classmethod
    def _geometry(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from shapely.geometry import shape

        try:
            geometry = shape(value)
        except Exception:
            raise ValueError("intersects must be a GeoJSON geometry") from None
        if geometry.is_empty:
            raise ValueError("intersects is an empty geometry")
        west, south, east, north = geometry.bounds
        if west < -180 or east > 180 or south < -90 or north > 90:
            raise ValueError("intersects must be in longitude/latitude (WGS84) order and range")
        return value

    @field_validator("datetime")
    @classmethod
    def _datetime(cls, value: str | None) -> str | None:
        if value is None or value.strip() in ("", "../.."):
            return None
        parts = value.split("/")
        if len(parts) > 2:
            raise ValueError("datetime must be an instant or 'start/end'")
        instants = [None if p in ("", "..") else parse_instant(p) for p in parts]
        if len(instants) == 2 and None not in instants and instants[0] > instants[1]:
            raise ValueError("datetime start is after its end")
        return value

    @field_validator("filters")
    @classmethod
    def _filters(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for name, condition in (value or {}).items():
            if not name or len(name) > 100:
                raise ValueError("filter property names must be 1 to 100 characters")
            if isinstance(condition, dict) and not condition:
                raise ValueError(f"filter {name!r} has no operator")
        return value

    @model_validator(mode="after")
    def _one_area(self) -> SearchRequest:
        if self.bbox is not None and self.intersects is not None:
            raise ValueError("give either bbox or intersects, not both")
        return self

    @property
    def interval(self) -> Interval | None:
        if self.datetime is None:
            return None
        parts = self.datetime.split("/")
        if len(parts) == 1:  # an instant, or a whole day when only a date is given
            return Interval(start=parse_instant(parts[0]), end=parse_instant(parts[0], end=True))
        start = None if parts[0] in ("", "..") else parse_instant(parts[0])
        end = None if parts[1] in ("", "..") else parse_instant(parts[1], end=True)
        return Interval(start=start, end=end)

    def fingerprint(self) -> str:
        """What makes two requests the same search (everything but paging)."""
        body = self.model_dump(exclude={"page_token", "count"}, mode="json")
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class PageToken:
    """Opaque, URL-safe token: the adapter's paging state plus the search it belongs to."""

    @staticmethod
    def encode(catalogue_id: str, request: SearchRequest, state: dict[str, Any]) -> str:
        payload = {"v": 1, "c": catalogue_id, "f": request.fingerprint(), "s": state}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(catalogue_id: str, request: SearchRequest) -> dict[str, Any] | None:
        token = request.page_token
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            valid = isinstance(payload, dict) and payload.get("v") == 1
            state = payload.get("s") if valid else None
        except (ValueError, TypeError):
            valid, state = False, None
        if not valid or not isinstance(state, dict):
            raise BadRequest("The page token is not one eo-jlab issued.")
        if payload.get("c") != catalogue_id or payload.get("f") != request.fingerprint():
            raise BadRequest(
                "The page token belongs to another search: send the same search body with it."
            )
        return state


class SearchPage(BaseModel):
    """The contract's search response."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]
    next_page_token: str | None = None
    number_matched: int | None = None


class Catalogue(ABC):
    """One configured catalogue. Adapters keep no per-search state."""

    def __init__(self, endpoint: CatalogueEndpoint):
        self.endpoint = endpoint

    @abstractmethod
    async def collections(self) -> list[dict[str, Any]]:
        """``[{"id", "title", "description", "extent"}]``."""

    @abstractmethod
    async def queryables(self, collection: str) -> dict[str, Any]:
        """A JSON Schema of the properties ``filters`` may name for this collection."""

    @abstractmethod
    async def search(self, request: SearchRequest) -> SearchPage: ...

    @abstractmethod
    async def item(self, item_id: str, collection: str | None = None) -> dict[str, Any]: ...

    async def quicklook(self, href: str, http: Any) -> tuple[bytes, str]:
        """An item's thumbnail or overview for the browser: ``(bytes, image mime type)``.

        Remote images come through the guarded client (allow-list, size cap, timeout);
        anything that is not an image is refused.
        """
        if not href.startswith(("http://", "https://")):
            raise BadRequest("Only http(s) quicklooks can be fetched from this catalogue.")
        response = await http.get(
            href, headers={"Accept": "image/*"}, max_bytes=QUICKLOOK_MAX_BYTES
        )
        declared = header_media_type(response.headers.get_list("content-type"))
        kind = quicklook_type(declared)
        if kind is None:
            said = "an unreadable type" if declared is None else declared or "no type"
            raise UpstreamError(
                f"The quicklook at {_host_of(href)} is not a raster image ({said[:100]})."
            )
        return response.content, kind


def read_regular_file(path: str | Path, max_bytes: int, name: str) -> bytes:
    """The bytes of a local file a catalogue points at (call it in an executor).

    Opened without blocking and checked on the open descriptor: a FIFO, a device or a
    socket given an innocent name (``x.png``) would hold a worker thread for ever, so
    anything but a regular file is refused (502 sentence), as is one over ``max_bytes``.
    ``name`` says what the file is in the sentences. Missing: ``FileNotFoundError``.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UpstreamError(
                f"The {name} is not a regular file: eo-jlab reads only regular files."
            )
        if info.st_size > max_bytes:
            raise UpstreamError(f"The {name} is larger than the limit of {max_bytes:,} bytes.")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # it grew after the check
                raise UpstreamError(f"The {name} is larger than the limit of {max_bytes:,} bytes.")
        return b"".join(chunks)
    finally:
        os.close(fd)


def local_quicklook(folder: Path, href: str) -> tuple[bytes, str]:
    """A quicklook of a local static catalogue (in an executor): a regular file inside
    ``folder`` named as an image, at most ``QUICKLOOK_MAX_BYTES``."""
    target = Path(href).resolve()
    kind = IMAGE_TYPES.get(target.suffix.lower())
    if folder not in target.parents or kind is None:
        raise NotFound("No such quicklook in this catalogue.")
    try:
        return read_regular_file(target, QUICKLOOK_MAX_BYTES, "quicklook"), kind
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound("No such quicklook in this catalogue.") from None
    except OSError as exc:
        raise UpstreamError(
            f"The quicklook file could not be read ({exc.strerror or type(exc).__name__})."
        ) from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _absolute(href: str, base: str) -> str:
    if not href or not base:
        return href
    if "://" in href or href.startswith("/"):
        return href
    if "://" in base:
        try:
            return urljoin(base, href)
        except ValueError:  # a malformed base (self link): the href as it was given
            return href
    from pathlib import Path

    return str((Path(base).parent / href).resolve())


def item_from_stac(
    stac: dict[str, Any], *, catalogue: str, protocol: str, base: str = ""
) -> dict[str, Any]:
    """A STAC Item as the contract's ``Item``; relative hrefs made absolute against ``base``."""
    properties = dict(stac.get("properties") or {})
    normalized: dict[str, Any] = {}
    for key, value in properties.items():
        normalized[STAC_TO_ITEM.get(key, key)] = value
    instruments = properties.get("instruments")
    normalized.update(
        {
            "title": _text(properties.get("title")) or str(stac.get("id")),
            "datetime": properties.get("datetime"),
            "start_datetime": properties.get("start_datetime"),
            "end_datetime": properties.get("end_datetime"),
            "collection": stac.get("collection"),
            "platform": properties.get("platform"),
            "instrument": ", ".join(instruments) if isinstance(instruments, list) else instruments,
            "product_type": normalized.get("product_type"),
            "cloud_cover": normalized.get("cloud_cover"),
        }
    )
    self_href = next(
        (link.get("href") for link in stac.get("links") or [] if link.get("rel") == "self"), None
    )
    base = _absolute(self_href, base) if self_href else base
    assets = {}
    thumbnail = None
    for key, asset in (stac.get("assets") or {}).items():
        if not isinstance(asset, dict) or not asset.get("href"):
            continue
        href = _absolute(str(asset["href"]), base)
        roles = asset.get("roles") or []
        assets[key] = {
            "href": href,
            "type": asset.get("type"),
            "title": _text(asset.get("title")) or key,
            "roles": roles,
        }
        if thumbnail is None and ("thumbnail" in roles or key == "thumbnail"):
            thumbnail = href
    links = [
        {
            "rel": link.get("rel"),
            "href": _absolute(str(link.get("href")), base),
            "type": link.get("type"),
        }
        for link in stac.get("links") or []
        if isinstance(link, dict) and link.get("href")
    ]
    return {
        "type": "Feature",
        "id": str(stac.get("id")),
        "geometry": stac.get("geometry"),
        "bbox": stac.get("bbox") or geometry_bounds(stac.get("geometry")),
        "properties": normalized,
        "assets": assets,
        "links": links,
        "thumbnail": thumbnail,
        "source": {"catalogue": catalogue, "protocol": protocol, "href": base or None},
    }


_POSITION_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def geometry_bounds(geometry: Any) -> list[float] | None:
    """``[west, south, east, north]`` of a GeoJSON geometry, or None when it is not one.

    Plain loops over the coordinates: this runs for every result of every search, and
    building a shapely geometry only to read its bounds cost ~25 us per footprint.
    """
    if not isinstance(geometry, dict):
        return None
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        parts = [geometry_bounds(g) for g in geometry.get("geometries") or ()]
        if not parts or None in parts:
            return None
        return [min(p[0] for p in parts), min(p[1] for p in parts),  # type: ignore[index]
                max(p[2] for p in parts), max(p[3] for p in parts)]  # type: ignore[index]  # fmt: skip
    depth = _POSITION_DEPTH.get(kind)  # type: ignore[arg-type]
    if depth is None:
        return None
    level = [geometry.get("coordinates")]
    for _ in range(depth):
        if not all(isinstance(part, (list, tuple)) for part in level):
            return None
        level = [item for part in level for item in part]
    west = south = math.inf
    east = north = -math.inf
    for position in level:
        if not isinstance(position, (list, tuple)) or len(position) < 2:
            return None
        x, y = position[0], position[1]
        if type(x) not in (int, float) or type(y) not in (int, float):
            return None
        west, east = min(west, x), max(east, x)
        south, north = min(south, y), max(north, y)
    if west == math.inf or not all(math.isfinite(v) for v in (west, south, east, north)):
        return None
    return [float(west), float(south), float(east), float(north)]


def queryables_schema(collection: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The JSON Schema document every adapter answers ``queryables`` with."""
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
        "title": f"Queryables of {collection}",
        "additionalProperties": False,
        **extra,
        "properties": properties,
    }


def infer_queryables(
    property_sets: Iterable[dict[str, Any]], skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """JSON Schema properties from items' scalar values: booleans, numbers with their range,
    strings (with an ``enum`` when there are at most 25 distinct values)."""
    values: dict[str, list[Any]] = {}
    for properties in property_sets:
        for key, value in properties.items():
            if key in skip or value is None or isinstance(value, (dict, list)):
                continue
            values.setdefault(key, []).append(value)
    schemas: dict[str, Any] = {}
    for key, seen in sorted(values.items()):
        if all(isinstance(v, bool) for v in seen):
            schemas[key] = {"type": "boolean", "title": key}
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
            kind = "integer" if all(isinstance(v, int) for v in seen) else "number"
            schemas[key] = {"type": kind, "title": key, "minimum": min(seen),
                            "maximum": max(seen)}  # fmt: skip
        elif all(isinstance(v, str) for v in seen):
            schema: dict[str, Any] = {"type": "string", "title": key}
            distinct = sorted(set(seen))
            if len(distinct) <= 25:
                schema["enum"] = distinct
            schemas[key] = schema
    return schemas


def matches_filters(properties: dict[str, Any], filters: dict[str, Any] | None) -> bool:
    """The contract's filter semantics on normalized Item properties."""
    for name, condition in (filters or {}).items():
        value = properties.get(name)
        if not isinstance(condition, dict):
            condition = {"eq": condition}
        for op, expected in condition.items():
            if op not in OPERATORS:
                raise BadRequest(f"Unknown filter operator {op!r} for {name!r}.")
            if value is None:
                return False
            try:
                if op == "eq" and not (value == expected or str(value) == str(expected)):
                    return False
                if op == "lt" and not value < expected:
                    return False
                if op == "lte" and not value <= expected:
                    return False
                if op == "gt" and not value > expected:
                    return False
                if op == "gte" and not value >= expected:
                    return False
            except TypeError:
                raise BadRequest(
                    f"Filter {name!r} compares {type(value).__name__} values with "
                    f"{type(expected).__name__}."
                ) from None
    return True
