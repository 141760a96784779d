"""The configured endpoints and a per-protocol reachability probe.

The probe asks each service for its cheapest self-description (STAC / OGC API landing page,
OpenSearch description document, CSW / WPS GetCapabilities, static ``catalog.json``) and
reads its title, so the sidebar and operators can see at a glance which services answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from .catalogue.base import read_regular_file
from .errors import NotFound, UpstreamError
from .models import CatalogueEndpoint, Endpoint, ProbeResult, ProcessingEndpoint
from .net import HttpClient, UpstreamResponse

_OWS_NS = "http://www.opengis.net/ows"


class EndpointRegistry:
    """Catalogue and processing endpoints by id (ids are unique across both lists)."""

    def __init__(
        self,
        catalogues: list[CatalogueEndpoint],
        processing: list[ProcessingEndpoint],
        *,
        sandbox_dir: str = "",
    ):
        self.catalogues = catalogues
        self.processing = processing
        self.sandbox_dir = sandbox_dir
        self._by_id: dict[str, Endpoint] = {}
        for endpoint in [*catalogues, *processing]:
            if endpoint.id in self._by_id:
                raise ValueError(f"endpoint id {endpoint.id!r} is configured twice")
            self._by_id[endpoint.id] = endpoint

    def all(self) -> list[Endpoint]:
        return [*self.catalogues, *self.processing]

    def get(self, endpoint_id: str) -> Endpoint:
        try:
            return self._by_id[endpoint_id]
        except KeyError:
            raise NotFound(f"No endpoint is configured with the id {endpoint_id!r}.") from None

    async def probe(self, endpoint_id: str, client: HttpClient) -> ProbeResult:
        endpoint = self.get(endpoint_id)
        started = time.monotonic()
        status: int | None = None
        if endpoint.protocol == "sandbox":
            title = await asyncio.get_running_loop().run_in_executor(None, self._sandbox_title)
        elif endpoint.protocol == "static" and not endpoint.is_remote:
            title = await asyncio.get_running_loop().run_in_executor(
                None, _static_title, endpoint.url, client.max_bytes
            )
        else:
            url, options = _probe_request(endpoint)
            response = await client.get(url, **options)
            status = response.status
            title = _title_of(endpoint, response)
        return ProbeResult(
            id=endpoint.id,
            ok=True,
            status=status,
            title=title,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )

    def _sandbox_title(self) -> str:
        folder = Path(self.sandbox_dir).expanduser() if self.sandbox_dir else None
        if folder is None or not folder.is_dir():
            raise NotFound(
                "The local sandbox has no folder: set c.EOJLab.sandbox_dir to a folder of PyWPS "
                "process files."
            )
        count = sum(1 for p in folder.glob("*.py") if not p.name.startswith("_"))
        return f"Local sandbox ({count} process file{'s' if count != 1 else ''})"


def _probe_request(endpoint: Endpoint) -> tuple[str, dict]:
    if endpoint.protocol == "wps":
        params = {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "1.0.0"}
        return endpoint.url, {"params": params, "headers": {"Accept": "application/xml"}}
    if endpoint.protocol == "csw":
        return endpoint.url, {
            "params": {"service": "CSW", "request": "GetCapabilities"},
            "headers": {"Accept": "application/xml"},
        }
    if endpoint.protocol == "opensearch":
        return endpoint.url, {"headers": {"Accept": "application/opensearchdescription+xml, */*"}}
    return endpoint.url, {"headers": {"Accept": "application/json"}}


def _title_of(endpoint: Endpoint, response: UpstreamResponse) -> str | None:
    if endpoint.protocol in ("stac", "ogcapi", "static"):
        doc = response.json()
        if not isinstance(doc, dict) or (
            endpoint.protocol == "stac" and not isinstance(doc.get("links"), list)
        ):
            raise UpstreamError(
                f"The answer of {endpoint.id!r} is JSON but not a "
                f"{'STAC landing page' if endpoint.protocol == 'stac' else 'landing page'}.",
                {"url": response.url},
            )
        return _text(doc.get("title") or doc.get("id"))
    root = response.xml()
    local = root.tag.rsplit("}", 1)[-1] if isinstance(root.tag, str) else ""
    if endpoint.protocol == "opensearch":
        if local != "OpenSearchDescription":
            raise UpstreamError(
                f"The answer of {endpoint.id!r} is not an OpenSearch description document.",
                {"url": response.url, "root": local},
            )
        for name in ("LongName", "ShortName"):
            found = root.find(f"{{*}}{name}")
            if found is not None and found.text:
                return _text(found.text)
        return None
    if local == "ExceptionReport":
        raise UpstreamError(
            f"The service {endpoint.id!r} answered GetCapabilities with an exception report.",
            {"url": response.url, "excerpt": response.excerpt()},
        )
    if local != "Capabilities":
        raise UpstreamError(
            f"The answer of {endpoint.id!r} is not a capabilities document.",
            {"url": response.url, "root": local},
        )
    found = root.find("{*}ServiceIdentification/{*}Title")
    return _text(found.text) if found is not None and found.text else None


def _static_title(path: str, max_bytes: int) -> str | None:
    file = Path(path).expanduser()
    try:
        # Regular files only, within the size limit: a FIFO would hold this thread for ever.
        doc = json.loads(read_regular_file(file, max_bytes, f"static catalogue {path}"))
    except FileNotFoundError:
        raise NotFound(f"The static catalogue file {path} does not exist.") from None
    except (OSError, ValueError):
        raise UpstreamError(f"The static catalogue file {path} is not readable JSON.") from None
    if not isinstance(doc, dict):
        raise UpstreamError(f"The static catalogue file {path} is not a STAC catalogue.")
    return _text(doc.get("title") or doc.get("id"))


def _text(value: object) -> str | None:
    return " ".join(str(value).split())[:200] if value is not None else None
