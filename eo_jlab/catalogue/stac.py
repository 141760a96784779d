"""STAC API catalogue (item search, collections, queryables), over ``net.py`` only.

* The landing page is read once per adapter (and cached): its ``conformsTo`` decides how
  free text and filters are sent, its ``search`` links whether searches go by POST or GET.
* Searches go by POST to ``{root}/search``; a server that refuses POST (405/404/501, or a
  landing page advertising GET only) is searched by GET from then on.
* ``q`` goes as STAC free text when the server conforms to it, else as a CQL2 ``like`` on
  ``title``; ``filters`` go as CQL2 JSON, else through the ``query`` extension. Contract
  names (``cloud_cover``...) are mapped back to STAC names (``eo:cloud_cover``...).
* Paging follows the server's ``next`` link (GET href or POST body, with ``merge``): the
  page token carries that link (bound to its search by ``PageToken``), nothing is kept here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote, urljoin

from ..errors import BadRequest, NotFound, UpstreamError
from ..models import CatalogueEndpoint
from ..net import HttpClient, UpstreamResponse, join_url
from .base import (
    STAC_TO_ITEM,
    Catalogue,
    PageToken,
    SearchPage,
    SearchRequest,
    item_from_stac,
    queryables_schema,
)

log = logging.getLogger(__name__)

MAX_COLLECTION_PAGES = 50
COLLECTIONS_PAGE = 100
ACCEPT = {"Accept": "application/geo+json, application/json;q=0.9"}
# Upstream statuses that mean "this server does not take POST searches".
POST_REFUSED = (404, 405, 501)
# Contract names -> STAC names (inverse of STAC_TO_ITEM; a contract name may have several).
ITEM_TO_STAC: dict[str, list[str]] = {}
for _stac_name, _item_name in STAC_TO_ITEM.items():
    ITEM_TO_STAC.setdefault(_item_name, []).append(_stac_name)
CQL2_OPS = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
QUERY_OPS = {"eq": "eq", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte"}
# Queryables that have their own search parameter.
_OWN_PARAMETER = {"geometry", "datetime", "start_datetime", "end_datetime", "collection"}


class _Service:
    """What the landing page says, read once."""

    def __init__(self, root: str, landing: dict[str, Any]):
        self.root = root
        links = [link for link in landing.get("links") or [] if isinstance(link, dict)]
        conforms = [str(c) for c in landing.get("conformsTo") or []]
        self.conforms = conforms
        searches = [link for link in links if link.get("rel") == "search" and link.get("href")]
        posts = [link for link in searches if str(link.get("method", "GET")).upper() == "POST"]
        gets = [link for link in searches if str(link.get("method", "GET")).upper() == "GET"]
        chosen = posts[0] if posts else (gets[0] if gets else None)
        self.search_url = join_url(root, chosen["href"]) if chosen else urljoin(root, "search")
        # Only GET advertised: do not try POST. Nothing advertised: try POST first.
        self.use_post = bool(posts) or not searches
        data = next(
            (link for link in links if link.get("rel") == "data" and link.get("href")), None
        )
        self.collections_url = (
            join_url(root, data["href"]) if data else urljoin(root, "collections")
        )

        def has(*parts: str) -> bool:
            return any(all(p in c for p in parts) for c in conforms)

        self.filter = has("item-search#filter") and has("cql2-json")
        self.casei = self.filter and has("case-insensitive-comparison")
        self.query = has("item-search#query")
        self.free_text = has("item-search#free-text")
        # pgstac's "conf" body member turns its count off; dropped if a server refuses it.
        self.conf = True


class StacApiCatalogue(Catalogue):
    def __init__(self, endpoint: CatalogueEndpoint, http: HttpClient):
        super().__init__(endpoint)
        self.http = http
        self.root = endpoint.url if endpoint.url.endswith("/") else endpoint.url + "/"
        self.landing_url = endpoint.url
        self._service: _Service | None = None
        self._lock = asyncio.Lock()

    # --- the landing page ---------------------------------------------------------------

    async def service(self) -> _Service:
        """The landing page's facts, fetched once (a failed fetch is retried next time)."""
        if self._service is not None:
            return self._service
        async with self._lock:
            if self._service is None:
                response = await self.http.get(self.landing_url, headers=ACCEPT)
                landing = response.json()
                if not isinstance(landing, dict) or not isinstance(landing.get("links"), list):
                    raise UpstreamError(
                        f"The catalogue {self.endpoint.id!r} did not answer with a STAC API "
                        "landing page.",
                        {"url": self.landing_url},
                    )
                self._service = _Service(self.root, landing)
            return self._service

    # --- collections and queryables -----------------------------------------------------

    async def collections(self) -> list[dict[str, Any]]:
        service = await self.service()
        url: str | None = service.collections_url
        params: dict[str, Any] | None = {"limit": COLLECTIONS_PAGE}
        found: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        for _page in range(MAX_COLLECTION_PAGES):
            if url is None or url in seen:
                break
            seen.add(url)
            body = await self._get_json(url, params=params)
            params = None  # next links carry their own query
            if not isinstance(body, dict) or not isinstance(body.get("collections"), list):
                raise UpstreamError(
                    f"The catalogue {self.endpoint.id!r} did not answer with a list of "
                    "collections.",
                    {"url": url},
                )
            for doc in body["collections"]:
                if isinstance(doc, dict) and doc.get("id") and str(doc["id"]) not in found:
                    found[str(doc["id"])] = {
                        "id": str(doc["id"]),
                        "title": str(doc.get("title") or doc["id"]),
                        "description": str(doc.get("description") or ""),
                        "extent": doc.get("extent") or {},
                    }
            nxt = _link(body, "next")
            url = join_url(url, nxt["href"]) if nxt and _method(nxt) == "GET" else None
        return list(found.values())

    async def queryables(self, collection: str) -> dict[str, Any]:
        service = await self.service()
        url = urljoin(service.collections_url.rstrip("/") + "/", _segment(collection))
        response = await self.http.get(url + "/queryables", headers=ACCEPT, expect_ok=False)
        if response.status == 404:
            # No per-collection queryables: the collection must exist, then the global ones.
            exists = await self.http.get(url, headers=ACCEPT, expect_ok=False)
            if exists.status == 404:
                raise NotFound(
                    f"The catalogue {self.endpoint.id!r} has no collection {collection!r}."
                )
            self._check(exists)
            response = await self.http.get(
                urljoin(self.root, "queryables"), headers=ACCEPT, expect_ok=False
            )
            if response.status == 404:
                return _schema(collection, {})
        self._check(response)
        schema = response.json()
        if not isinstance(schema, dict):
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} did not answer with a JSON Schema of "
                "queryables.",
                {"url": response.url},
            )
        properties: dict[str, Any] = {}
        for name, definition in (schema.get("properties") or {}).items():
            if name in _OWN_PARAMETER:
                continue
            properties.setdefault(STAC_TO_ITEM.get(name, name), definition)
        result = {k: v for k, v in schema.items() if k not in ("properties", "$id")}
        result.update(_schema(collection, properties, result))
        return result

    # --- search --------------------------------------------------------------------------

    async def search(self, request: SearchRequest) -> SearchPage:
        service = await self.service()
        state = PageToken.decode(self.endpoint.id, request)
        body = self._body(service, request)
        if state is None:
            response = await self._first_search(service, body)
        else:
            method, href, next_body = self._from_state(state, body)
            response = await self._request(method, href, body=next_body)
        self._check(response, search=True)
        page = response.json()
        if not isinstance(page, dict) or not isinstance(page.get("features"), list):
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} did not answer the search with a "
                "FeatureCollection.",
                {"url": response.url},
            )
        features = [
            self._item(feature, response.url)
            for feature in page["features"]
            if isinstance(feature, dict)
        ]
        token = None
        nxt = _link(page, "next")
        if nxt is not None and features:
            token = PageToken.encode(
                self.endpoint.id, request, self._to_state(nxt, body, response.url)
            )
        matched = None
        if request.count:
            matched = page.get("numberMatched")
            if matched is None and isinstance(page.get("context"), dict):
                matched = page["context"].get("matched")
            matched = (
                matched if isinstance(matched, int) and not isinstance(matched, bool) else None
            )
        return SearchPage(features=features, next_page_token=token, number_matched=matched)

    def _body(self, service: _Service, request: SearchRequest) -> dict[str, Any]:
        """The STAC search body (POST form) of a contract search."""
        body: dict[str, Any] = {"limit": request.limit}
        if request.collections:
            body["collections"] = request.collections
        if request.bbox is not None:
            body["bbox"] = request.bbox
        if request.intersects is not None:
            body["intersects"] = request.intersects
        if request.datetime:
            body["datetime"] = _interval(request.datetime)
        clauses: list[dict[str, Any]] = []
        if request.q and request.q.strip():
            if service.free_text:
                body["q"] = request.q.strip()
            elif service.filter:
                clauses += _text_clauses(request.q, service.casei)
            else:
                raise BadRequest(
                    f"The catalogue {self.endpoint.id!r} cannot search by text: "
                    "use an area, dates or filters instead."
                )
        if request.filters:
            if service.filter:
                clauses += _cql2_clauses(request.filters)
            elif service.query:
                if clauses:  # text went as CQL2 but filters cannot: never happens with like
                    raise BadRequest(
                        f"The catalogue {self.endpoint.id!r} cannot combine text and filters."
                    )
                body["query"] = _query(request.filters)
            else:
                raise BadRequest(
                    f"The catalogue {self.endpoint.id!r} cannot filter on item properties: "
                    "use an area, dates or collections instead."
                )
        if clauses:
            body["filter"] = clauses[0] if len(clauses) == 1 else {"op": "and", "args": clauses}
            body["filter-lang"] = "cql2-json"
        if not request.count and service.conf:
            # pgstac reads its settings from "conf": skip the (costly) count when not asked.
            body["conf"] = {"context": "off"}
        return body

    # --- paging state ----------------------------------------------------------------------

    @staticmethod
    def _to_state(link: dict[str, Any], body: dict[str, Any], base: str) -> dict[str, Any]:
        """A next link as token state; a POST body is kept as its difference from ours."""
        method = _method(link)
        state: dict[str, Any] = {"m": method, "h": join_url(base, str(link["href"]))}
        if method == "POST":
            link_body = link.get("body") if isinstance(link.get("body"), dict) else {}
            merged = {**body, **link_body} if link.get("merge") else link_body
            state["d"] = {k: v for k, v in merged.items() if body.get(k) != v}
            state["r"] = [k for k in body if k not in merged]
        return state

    @staticmethod
    def _from_state(
        state: dict[str, Any], body: dict[str, Any]
    ) -> tuple[str, str, dict[str, Any] | None]:
        method, href = state.get("m"), state.get("h")
        changed, removed = state.get("d", {}), state.get("r", [])
        if (
            method not in ("GET", "POST")
            or not isinstance(href, str)
            or not href.startswith(("http://", "https://"))
            or not isinstance(changed, dict)
            or not isinstance(removed, list)
        ):
            raise BadRequest("The page token is not one eo-jlab issued.")
        if method == "GET":
            return "GET", href, None
        next_body = {k: v for k, v in body.items() if k not in removed}
        next_body.update(changed)
        return "POST", href, next_body

    # --- items -----------------------------------------------------------------------------

    async def item(self, item_id: str, collection: str | None = None) -> dict[str, Any]:
        service = await self.service()
        where = f" in collection {collection!r}" if collection else ""
        missing = NotFound(f"The catalogue {self.endpoint.id!r} has no item {item_id!r}{where}.")
        if collection:
            url = urljoin(
                service.collections_url.rstrip("/") + "/",
                f"{_segment(collection)}/items/{_segment(item_id)}",
            )
            response = await self.http.get(url, headers=ACCEPT, expect_ok=False)
            if response.status == 404:
                raise missing
            self._check(response)
            stac = response.json()
            if not isinstance(stac, dict) or stac.get("type") != "Feature":
                raise UpstreamError(
                    f"The catalogue {self.endpoint.id!r} did not answer with a STAC item.",
                    {"url": response.url},
                )
            return self._item(stac, response.url)
        body: dict[str, Any] = {"ids": [item_id], "limit": 1}
        if service.conf:
            body["conf"] = {"context": "off"}
        response = await self._first_search(service, body)
        self._check(response, search=True)
        page = response.json()
        features = page.get("features") if isinstance(page, dict) else None
        if not isinstance(features, list):
            raise UpstreamError(
                f"The catalogue {self.endpoint.id!r} did not answer the search with a "
                "FeatureCollection.",
                {"url": response.url},
            )
        for feature in features:
            if isinstance(feature, dict) and str(feature.get("id")) == item_id:
                return self._item(feature, response.url)
        raise missing

    # --- helpers -----------------------------------------------------------------------------

    async def _first_search(self, service: _Service, body: dict[str, Any]) -> UpstreamResponse:
        """POST (or GET when the server takes no POST) the first page of a search."""
        if service.use_post:
            response = await self._request("POST", service.search_url, body=body)
            if response.status == 400 and "conf" in body:
                # A server other than pgstac may refuse the member: never send it again.
                retry = {k: v for k, v in body.items() if k != "conf"}
                second = await self._request("POST", service.search_url, body=retry)
                if second.status != 400:
                    service.conf = False
                    body.pop("conf")
                    response = second
            if response.status not in POST_REFUSED:
                return response
            log.info(
                "eo_jlab STAC catalogue %s: POST search refused (HTTP %d), searching by GET",
                self.endpoint.id,
                response.status,
            )
            service.use_post = False
        return await self._request("GET", service.search_url, params=_get_params(body))

    def _item(self, stac: dict[str, Any], base: str) -> dict[str, Any]:
        item = item_from_stac(stac, catalogue=self.endpoint.id, protocol="stac", base=base)
        self_link = next(
            (link["href"] for link in item["links"] if link.get("rel") == "self"), None
        )
        item["source"]["href"] = self_link
        return item

    async def _request(
        self,
        method: str,
        url: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> UpstreamResponse:
        if method == "POST":
            return await self.http.post(
                url,
                json_body=body,
                headers={**ACCEPT, "Content-Type": "application/json"},
                expect_ok=False,
            )
        return await self.http.get(url, params=params, headers=ACCEPT, expect_ok=False)

    async def _get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        response = await self.http.get(url, params=params, headers=ACCEPT, expect_ok=False)
        self._check(response)
        return response.json()

    def _check(self, response: UpstreamResponse, *, search: bool = False) -> None:
        """Upstream errors as contract errors, with the STAC ``description`` when given."""
        if response.status < 400:
            return
        said = _description(response)
        details = {"url": response.url, "status": response.status}
        if said:
            details["description"] = said
        if search and response.status == 400:
            raise BadRequest(
                f"The catalogue {self.endpoint.id!r} refused the search"
                + (f": {said}" if said else "."),
                details,
            )
        raise UpstreamError(
            f"The catalogue {self.endpoint.id!r} answered HTTP {response.status}"
            + (f": {said}" if said else "."),
            details,
        )


def _description(response: UpstreamResponse) -> str:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    text = body.get("description") or body.get("detail") or body.get("message") or ""
    if not isinstance(text, str):
        text = json.dumps(text)[:300]
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _link(doc: dict[str, Any], rel: str) -> dict[str, Any] | None:
    for link in doc.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == rel and link.get("href"):
            return link
    return None


def _method(link: dict[str, Any]) -> str:
    return "POST" if str(link.get("method") or "GET").upper() == "POST" else "GET"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _interval(value: str) -> str:
    """Open ends as ".."; a lone date as its whole day (as the contract reads it)."""
    parts = value.split("/")
    if len(parts) == 1:
        text = parts[0].strip()
        if len(text) == 10:
            return f"{text}T00:00:00Z/{text}T23:59:59.999Z"
        return text
    start, end = (p.strip() or ".." for p in parts)
    if len(start) == 10:
        start += "T00:00:00Z"
    if len(end) == 10:
        end += "T23:59:59.999Z"
    return f"{start}/{end}"


def _stac_names(name: str) -> list[str]:
    return ITEM_TO_STAC.get(name, [name])


def _conditions(condition: Any) -> list[tuple[str, Any]]:
    if not isinstance(condition, dict):
        return [("eq", condition)]
    pairs = []
    for op, value in condition.items():
        if op not in CQL2_OPS:
            raise BadRequest(f"Unknown filter operator {op!r}.")
        pairs.append((op, value))
    return pairs


def _cql2_clauses(filters: dict[str, Any]) -> list[dict[str, Any]]:
    clauses = []
    for name, condition in filters.items():
        for op, value in _conditions(condition):
            options = [
                {"op": CQL2_OPS[op], "args": [{"property": stac_name}, value]}
                for stac_name in _stac_names(name)
            ]
            clauses.append(options[0] if len(options) == 1 else {"op": "or", "args": options})
    return clauses


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    """The ``query`` extension form; a name with several STAC spellings uses the first."""
    query: dict[str, Any] = {}
    for name, condition in filters.items():
        target = query.setdefault(_stac_names(name)[0], {})
        for op, value in _conditions(condition):
            target[QUERY_OPS[op]] = value
    return query


def _text_clauses(text: str, casei: bool) -> list[dict[str, Any]]:
    """Every word in the title (CQL2 ``like``), case-insensitive when the server can."""
    clauses: list[dict[str, Any]] = []
    for word in text.split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if casei:
            clauses.append(
                {
                    "op": "like",
                    "args": [
                        {"op": "casei", "args": [{"property": "title"}]},
                        {"op": "casei", "args": [f"%{escaped}%"]},
                    ],
                }
            )
            continue
        # No casei: the spellings a title may use (as typed, lower, upper, capitalized).
        spellings = dict.fromkeys((escaped, escaped.lower(), escaped.upper(), escaped.title()))
        options = [
            {"op": "like", "args": [{"property": "title"}, f"%{spelling}%"]}
            for spelling in spellings
        ]
        clauses.append(options[0] if len(options) == 1 else {"op": "or", "args": options})
    return clauses


def _get_params(body: dict[str, Any]) -> dict[str, Any]:
    """The GET form of a search body."""
    params: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("collections", "ids", "bbox"):
            params[key] = ",".join(str(v) for v in value)
        elif key == "conf":  # a POST body member of pgstac only
            continue
        elif key in ("intersects", "filter", "query"):
            params[key] = json.dumps(value, separators=(",", ":"))
        else:
            params[key] = value
    return params


def _schema(
    collection: str, properties: dict[str, Any], base: dict[str, Any] | None = None
) -> dict[str, Any]:
    return queryables_schema(
        collection, properties, **{"additionalProperties": True, **(base or {})}
    )
