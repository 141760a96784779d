"""The one rule for bodies eo_jlab serves but did not make: a catalogue's quicklook, a job's
result, a shared file. They are untrusted, and they are served on the Jupyter origin, where a
body a browser takes for HTML, SVG or script runs as the user.

* An upstream's ``Content-Type`` is read strictly (``media_type``): exactly one header holding
  exactly one ``type/subtype`` (token characters, optional ``; name=value`` parameters). A list
  (``image/png, text/html``), two headers (httpx joins them with ", "), quotes, or stray
  characters make it unreadable: it counts as no allowed type at all.
* The type sent is always one of the fixed strings below, chosen by eo_jlab from an exact
  allow-list, never the upstream's string; every answer also carries
  ``X-Content-Type-Options: nosniff`` (the handlers set it).
* Quicklooks: raster images only (``QUICKLOOK_TYPES``), anything else is refused.
  Job results and shared files: images a browser shows safely inline, JSON as JSON, text and
  XML as text/plain; everything else (HTML, SVG, script, unknown) as an
  application/octet-stream attachment.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = [
    "QUICKLOOK_TYPES",
    "Served",
    "file_type",
    "header_media_type",
    "media_type",
    "quicklook_type",
    "result_type",
]

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"  # noqa: S105 (an RFC 9110 token, not a secret)
_MEDIA_TYPE = re.compile(rf"({_TOKEN})/({_TOKEN})")
_PARAMETER = re.compile(rf"{_TOKEN}={_TOKEN}")

TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"
# Images every browser shows in <img> and never runs: (upstream type -> the type sent).
INLINE_IMAGES = {
    "image/png": "image/png",
    "image/x-png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "image/bmp": "image/bmp",
    "image/avif": "image/avif",
}
QUICKLOOK_TYPES = {**INLINE_IMAGES, "image/tiff": "image/tiff"}
JSON_TYPES = {
    "application/json": "application/json",
    "application/geo+json": "application/geo+json",
    "application/vnd.geo+json": "application/geo+json",
}
XML_TYPES = {"application/xml", "text/xml", "application/gml+xml"}
OCTET_TYPES = {"", OCTETS, "binary/octet-stream"}  # "no type said": a result's own type applies
# Shared files, by name (no upstream type): text types shown as text/plain (HTML included).
TEXT_SUFFIXES = {
    ".txt", ".md", ".py", ".r", ".csv", ".tsv", ".yaml", ".yml", ".toml", ".cfg", ".ini",
    ".sh", ".xml", ".html", ".htm", ".js", ".ts", ".css", ".log", ".sql", ".rst", ".tex",
}  # fmt: skip
JSON_SUFFIXES = {".ipynb", ".json", ".geojson"}
FILE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class Served:
    """What eo_jlab sends: one of the fixed types above, inline or as an attachment."""

    content_type: str
    attachment: bool


def media_type(value: str | None) -> str | None:
    """The ``type/subtype`` of one Content-Type value, lower case; ``""`` when there is none;
    None when it is not exactly one well-formed media type."""
    if value is None or not value.strip():
        return ""
    if "," in value or '"' in value:
        return None
    kind, *parameters = value.split(";")
    match = _MEDIA_TYPE.fullmatch(kind.strip())
    if match is None:
        return None
    if any(p.strip() and not _PARAMETER.fullmatch(p.strip()) for p in parameters):
        return None
    return kind.strip().lower()


def header_media_type(values: Iterable[str]) -> str | None:
    """``media_type`` of an answer's Content-Type headers (``headers.get_list(...)``): two
    or more headers are unreadable (None), none is ``""``."""
    values = list(values)
    if len(values) > 1:
        return None
    return media_type(values[0] if values else None)


def quicklook_type(kind: str | None) -> str | None:
    """The type to send a quicklook with, or None when it is not an allowed raster image."""
    return QUICKLOOK_TYPES.get(kind or "")


def result_type(kind: str | None) -> Served:
    """How a job result of media type ``kind`` (from ``media_type``) is sent."""
    if kind is None:
        return Served(OCTETS, True)
    if kind in INLINE_IMAGES:
        return Served(INLINE_IMAGES[kind], False)
    if kind == "image/tiff":
        return Served("image/tiff", True)
    if kind in JSON_TYPES:
        return Served(JSON_TYPES[kind], False)
    if kind == "text/plain" or kind in XML_TYPES:
        return Served(TEXT, False)
    if kind.endswith("+xml") and kind != "image/svg+xml" and _MEDIA_TYPE.fullmatch(kind):
        return Served(TEXT, False)
    return Served(OCTETS, True)


def file_type(name: str) -> Served:
    """How a shared file is sent, by its name."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in JSON_SUFFIXES:
        return Served("application/json", False)
    if suffix in TEXT_SUFFIXES:
        return Served(TEXT, False)
    guessed = mimetypes.guess_type(name)[0]
    if guessed in FILE_IMAGES:
        return Served(INLINE_IMAGES[guessed], False)
    return Served(OCTETS, True)
