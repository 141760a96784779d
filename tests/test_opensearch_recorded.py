"""The OpenSearch adapter on recorded answers of real Resto services, through the REST API.

``tests/fixtures/opensearch/`` holds a CDSE/CREODIAS Sentinel-1 description document and two
of its result pages (CDSETool) and one SARA Sentinel-2 page (eodag); ``tests/servers/resto.py``
serves them. Expected values are read from the recordings, not from the adapter.
"""
# ruff: noqa: F811  (pytest fixtures imported from other modules are parameters here)

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from .servers.resto import RECORDINGS, SARA_BOX, resto_server  # noqa: F401
from .test_csw_catalogue import search  # noqa: F401

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _recorded(name: str) -> dict:
    return json.loads((RECORDINGS / name).read_text("utf-8"))


CDSE_1 = _recorded("cdse_sentinel1_page_1.json")
CDSE_2 = _recorded("cdse_sentinel1_page_2.json")
SARA = _recorded("sara_search.json")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sent(server, since: int, path: str) -> list[dict]:
    return [r["query"] for r in server.requests[since:] if r["path"] == path]


@pytest.fixture
def eo_config(resto_server):  # noqa: F811
    base = resto_server.base
    return {
        "request_timeout": 5.0,
        "catalogues": [
            {"id": "cdse", "protocol": "opensearch", "url": base + "/recorded/describe.xml"},
            {"id": "sara", "protocol": "opensearch", "url": base + "/recorded/sara/describe.xml"},
        ],
    }


def _check_against_recording(item: dict, recorded: dict) -> None:
    """What every Item must carry over from its recorded Resto feature."""
    p = recorded["properties"]
    assert item["id"] == recorded["id"]
    props = item["properties"]
    assert props["title"] == p["title"]
    assert RFC3339.match(props["datetime"]) and _instant(props["datetime"]) == _instant(
        p["startDate"]
    )
    if p["completionDate"] != p["startDate"]:
        assert _instant(props["start_datetime"]) == _instant(p["startDate"])
        assert _instant(props["end_datetime"]) == _instant(p["completionDate"])
        assert RFC3339.match(props["end_datetime"])
    else:
        assert props["start_datetime"] is None and props["end_datetime"] is None
    assert props["collection"] == p["collection"]
    assert props["platform"] == p["platform"] and props["product_type"] == p["productType"]
    if recorded["geometry"] == []:
        assert item["geometry"] is None and item["bbox"] is None
    else:
        assert item["geometry"] == recorded["geometry"]
    download = p["services"]["download"]
    assert item["assets"]["data"]["href"] == download["url"]
    assert item["assets"]["data"]["type"] == download["mimeType"]
    assert item["source"]["protocol"] == "opensearch"


async def test_cdse_pages(search, resto_server):
    # What the recordings say, independently of the adapter.
    assert CDSE_1["properties"]["totalResults"] == 48
    assert CDSE_2["properties"]["totalResults"] is None  # recorded with exactCount=0
    assert len(CDSE_1["features"]) == len(CDSE_2["features"]) == 10

    since = len(resto_server.requests)
    status, page = await search("cdse", {"limit": 10})
    assert status == 200, page
    assert [f["id"] for f in page["features"]] == [f["id"] for f in CDSE_1["features"]]
    assert page["number_matched"] == 48
    for item, recorded in zip(page["features"], CDSE_1["features"], strict=True):
        _check_against_recording(item, recorded)
    first = page["features"][0]
    assert first["id"] == "171fd093-b1bc-4528-910b-73156cd0b5d3"
    props = first["properties"]
    assert props["title"] == (
        "S1A_OPER_AUX_GNSSRD_POD__20171211T101148_V20140628T235949_20140629T235939"
    )
    assert _instant(props["datetime"]) == _instant("2014-06-29T00:00:05Z")
    assert _instant(props["end_datetime"]) == _instant("2014-06-29T23:59:55Z")
    assert props["collection"] == "SENTINEL-1" and props["instrument"] == "SAR"
    assert props["product_type"] == "AUX_GNSSRD"
    assert props["cloud_cover"] == 0  # recorded 0, a known value (unknown is -1)
    assert first["geometry"] is None and first["bbox"] is None  # recorded "geometry": []
    assert first["thumbnail"] is None and "thumbnail" not in first["assets"]  # recorded null
    assert first["assets"]["data"]["href"] == (
        "https://catalogue.dataspace.copernicus.eu/download/171fd093-b1bc-4528-910b-73156cd0b5d3"
    )
    assert first["source"]["href"] == (
        "https://catalogue.dataspace.copernicus.eu/resto/collections/SENTINEL-1/"
        "171fd093-b1bc-4528-910b-73156cd0b5d3.json"
    )
    # The description offers index and page: the adapter pages by index, and asks Resto to
    # count (it answers "totalResults": null otherwise) on the first page only.
    assert _sent(resto_server, since, "/recorded/search.json") == [
        {"maxRecords": "10", "index": "1", "exactCount": "1"}
    ]

    token = page["next_page_token"]
    assert token
    since = len(resto_server.requests)
    status, page = await search("cdse", {"limit": 10, "page_token": token})
    assert status == 200, page
    assert [f["id"] for f in page["features"]] == [f["id"] for f in CDSE_2["features"]]
    for item, recorded in zip(page["features"], CDSE_2["features"], strict=True):
        _check_against_recording(item, recorded)
    assert page["number_matched"] == 48  # carried from page 1
    assert _sent(resto_server, since, "/recorded/search.json") == [
        {"maxRecords": "10", "index": "11"}
    ]

    # 20 of 48 seen: there is a third page, which was not recorded (the fixture says 400).
    token = page["next_page_token"]
    assert token
    since = len(resto_server.requests)
    status, answer = await search("cdse", {"limit": 10, "page_token": token})
    assert status == 502 and "400" in answer["error"]
    assert _sent(resto_server, since, "/recorded/search.json") == [
        {"maxRecords": "10", "index": "21"}
    ]


async def test_cdse_description_and_item(eo_get):
    status, body = await eo_get("catalogues", "cdse", "collections")
    # parentIdentifier has no options in the recorded description: one pseudo collection,
    # titled with its ShortName.
    assert status == 200 and [(c["id"], c["title"]) for c in body["collections"]] == [
        ("cdse", "Sentinel-1")
    ]
    status, schema = await eo_get("catalogues", "cdse", "collections", "cdse", "queryables")
    assert status == 200
    assert schema["properties"]["product_type"]["enum"] == [
        "CARD-BS", "CARD-COH6", "CARD-COH12", "GRD", "GRD-COG", "OCN", "RAW", "SLC",
    ]  # fmt: skip
    assert schema["properties"]["platform"]["enum"] == ["S1A"]
    assert schema["properties"]["orbit_direction"]["enum"] == ["ASCENDING", "DESCENDING"]
    assert "cloud_cover" not in schema["properties"]  # no {eo:cloudCover} in the template

    recorded = CDSE_2["features"][3]
    status, item = await eo_get("catalogues", "cdse", "items", recorded["id"])
    assert status == 200, item
    _check_against_recording(item, recorded)
    assert item["id"] == "f01b4f7e-7dff-4b33-8760-546e2144b32e"
    assert item["properties"]["title"] == (
        "S1A_OPER_AUX_GNSSRD_POD__20171211T095233_V20140609T235949_20140610T235939"
    )
    status, body = await eo_get("catalogues", "cdse", "items", "no-such-product")
    assert status == 404


async def test_sara_page(search, resto_server):
    assert SARA["properties"]["totalResults"] == 47
    assert len(SARA["features"]) == 2

    since = len(resto_server.requests)
    body = {
        "bbox": list(SARA_BOX),
        "datetime": "2020-08-08/2020-08-16",
        "filters": {"product_type": "S2MSI1C"},
        "limit": 2,
    }
    status, page = await search("sara", body)
    assert status == 200, page
    assert page["number_matched"] == 47
    assert [f["id"] for f in page["features"]] == [
        "01f888ef-3368-59ff-a639-52242d159d7c",
        "0cc0ca6e-52a0-559e-a987-a3dc7f0b9f31",
    ]
    for item, recorded in zip(page["features"], SARA["features"], strict=True):
        _check_against_recording(item, recorded)
        quicklook = recorded["properties"]["quicklook"]
        assert recorded["properties"]["thumbnail"] is None and quicklook.endswith(".jpg")
        assert item["thumbnail"] == quicklook
        assert item["assets"]["thumbnail"]["href"] == quicklook
        assert item["assets"]["thumbnail"]["type"] == "image/jpeg"
        assert "thumbnail" in item["assets"]["thumbnail"]["roles"]
        ring = recorded["geometry"]["coordinates"][0][0]
        assert item["bbox"] == [
            min(x for x, _ in ring),
            min(y for _, y in ring),
            max(x for x, _ in ring),
            max(y for _, y in ring),
        ]
    first, second = page["features"]
    assert first["geometry"]["type"] == "MultiPolygon"
    assert first["properties"]["cloud_cover"] == 20.5218
    assert second["properties"]["cloud_cover"] == 2.6607
    assert first["properties"]["title"] == (
        "S2A_MSIL1C_20200815T005251_N0209_R002_T55PDR_20200815T023440"
    )
    assert _instant(first["properties"]["datetime"]) == _instant("2020-08-15T00:52:51.024Z")
    assert first["properties"]["collection"] == "S2ST"
    assert first["properties"]["platform"] == "S2A"
    assert first["properties"]["instrument"] == "MSI"
    assert first["assets"]["data"]["href"] == (
        "https://copernicus.nci.org.au/resto/collections/S2ST/"
        "01f888ef-3368-59ff-a639-52242d159d7c/download"
    )
    (sent,) = _sent(resto_server, since, "/recorded/sara/search.json")
    assert sent["maxRecords"] == "2" and sent["page"] == "1"
    assert sent["productType"] == "S2MSI1C"
    assert [float(v) for v in sent["box"].split(",")] == list(SARA_BOX)

    # 2 of 47: a next page, asked by page number (the description has no startIndex).
    token = page["next_page_token"]
    assert token
    since = len(resto_server.requests)
    status, answer = await search("sara", {**body, "page_token": token})
    assert status == 502  # page 2 was not recorded
    (sent,) = _sent(resto_server, since, "/recorded/sara/search.json")
    assert sent["page"] == "2" and sent["maxRecords"] == "2"
