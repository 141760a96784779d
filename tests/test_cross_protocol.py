"""One question asked of every protocol gets the same products (issue 3).

The same synthetic products are loaded into a STAC API (pgstac), pycsw (CSW 2.0.2, CSW 3.0
and its OpenSearch Atom), a Resto-style OpenSearch GeoJSON server, and the static catalogue.
Each is asked for the same area, dates and text through eo-jlab's REST API, all pages
followed.
"""

from __future__ import annotations

import json

import pytest

from eo_jlab.demo.catalogue import S2, products, write_catalogue

from .servers.pgstac import stac_api_url  # noqa: F401
from .servers.pycsw import opensearch_description, pycsw_url  # noqa: F401
from .servers.resto import resto_server, resto_url  # noqa: F401

# No collection: pycsw's OpenSearch has none. The words keep Sentinel-1 products out.
QUESTION = {
    "bbox": [12.9, 52.3, 14.4, 53.1],  # Berlin, tile 33UUU
    "datetime": "2025-02-01T00:00:00Z/2025-03-31T23:59:59Z",
    "q": "L2A Berlin",
    "limit": 4,
}


@pytest.fixture
def eo_config(tmp_path_factory, stac_api_url, pycsw_url, resto_url):  # noqa: F811
    static = write_catalogue(tmp_path_factory.getbasetemp() / "synthetic-catalogue")
    return {
        "catalogues": [
            {"id": "static", "protocol": "static", "url": str(static)},
            {"id": "stac", "protocol": "stac", "url": stac_api_url},
            {"id": "csw2", "protocol": "csw", "url": pycsw_url + "?version=2.0.2"},
            {"id": "csw3", "protocol": "csw", "url": pycsw_url},
            {"id": "opensearch-atom", "protocol": "opensearch",
             "url": opensearch_description(pycsw_url)},
            {"id": "opensearch-geojson", "protocol": "opensearch", "url": resto_url},
        ],
        "request_timeout": 20.0,
    }  # fmt: skip


async def _ids(jp_fetch, catalogue: str) -> list[str]:
    ids, token = [], None
    for _ in range(50):
        body = {**QUESTION, **({"page_token": token} if token else {})}
        response = await jp_fetch(
            "eo-jlab",
            "catalogues",
            catalogue,
            "search",
            method="POST",
            body=json.dumps(body),
            raise_error=False,
        )
        page = json.loads(response.body)
        assert response.code == 200, (catalogue, page)
        ids += [f["id"] for f in page["features"]]
        token = page["next_page_token"]
        if token is None:
            return ids
    raise AssertionError(f"{catalogue}: more than 50 pages")


async def test_every_protocol_answers_the_same_products(jp_fetch):
    expected = sorted(
        p["id"]
        for p in products()[S2]
        if p["properties"]["area"] == "Berlin"
        and "2025-02" <= p["properties"]["datetime"] < "2025-04"
    )
    assert len(expected) >= 8
    answers = {}
    for catalogue in ("static", "stac", "csw2", "csw3", "opensearch-atom", "opensearch-geojson"):
        ids = await _ids(jp_fetch, catalogue)
        assert len(ids) == len(set(ids)), catalogue  # no product twice across pages
        answers[catalogue] = sorted(ids)
    assert answers == {catalogue: expected for catalogue in answers}
