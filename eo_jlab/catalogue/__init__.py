"""Data catalogues: one adapter per protocol behind the ``Catalogue`` interface."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..models import CatalogueEndpoint
from ..net import HttpClient
from .base import Catalogue, SearchPage, SearchRequest

__all__ = ["Catalogue", "CatalogueRegistry", "SearchPage", "SearchRequest"]


class CatalogueRegistry:
    """The adapters of the configured catalogues, built once per server."""

    def __init__(
        self, endpoints: list[CatalogueEndpoint], http: HttpClient, *, static_limits: Any = None
    ):
        self._endpoints = {e.id: e for e in endpoints}
        self._adapters: dict[str, Catalogue] = {}
        self.http = http
        self.static_limits = static_limits  # static.IndexLimits; None: its defaults

    def get(self, catalogue_id: str) -> Catalogue:
        endpoint = self._endpoints.get(catalogue_id)
        if endpoint is None:
            raise NotFound(f"No catalogue is configured with the id {catalogue_id!r}.")
        adapter = self._adapters.get(catalogue_id)
        if adapter is None:
            adapter = self._adapters[catalogue_id] = self._make(endpoint)
        return adapter

    def note(self, catalogue_id: str) -> str | None:
        """What a catalogue in use says of its state (a static one indexed partially), or None."""
        return getattr(self._adapters.get(catalogue_id), "index_note", None)

    def _make(self, endpoint: CatalogueEndpoint) -> Catalogue:
        if endpoint.protocol == "static":
            from .static import StaticCatalogue

            return StaticCatalogue(endpoint, self.http, self.static_limits)
        if endpoint.protocol == "stac":
            from .stac import StacApiCatalogue as adapter
        elif endpoint.protocol == "opensearch":
            from .opensearch import OpenSearchCatalogue as adapter
        else:
            from .csw import CswCatalogue as adapter
        return adapter(endpoint, self.http)
