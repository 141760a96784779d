"""GET eo-jlab/config and the EOJLab configuration (acceptance 3, second half)."""

from __future__ import annotations

import pytest
from traitlets import TraitError
from traitlets.config import Config

from eo_jlab.app import EOJLab

ONE_OF_EACH = {
    "catalogues": [
        {
            "id": "cdse",
            "title": "Copernicus Data Space",
            "protocol": "stac",
            "url": "https://stac.example.eu/v1",
            "auth": {"type": "bearer", "token_env": "CDSE_TOKEN"},
        },
        {
            "id": "creodias",
            "title": "CREODIAS",
            "protocol": "opensearch",
            "url": "https://opensearch.example.eu/describe.xml",
        },
        {"id": "pycsw", "protocol": "csw", "url": "http://127.0.0.1:9/csw"},
        {
            "id": "demo",
            "title": "Demo catalogue",
            "protocol": "static",
            "url": "/srv/demo/catalog.json",
        },
    ],
    "processing": [
        {"id": "wps", "title": "PyWPS", "protocol": "wps", "url": "http://127.0.0.1:9/wps"},
        {
            "id": "ades",
            "title": "ADES",
            "protocol": "ogcapi",
            "url": "https://ades.example.eu/",
            "auth": {"type": "basic", "username": "eo", "password_env": "ADES_PASSWORD"},
        },
        {"id": "sandbox", "title": "My sandbox", "protocol": "sandbox"},
    ],
    "shared_root": "/srv/shares",
}


@pytest.fixture
def eo_config():
    return ONE_OF_EACH


async def test_config_matches_contract(eo_get):
    status, body = await eo_get("config")
    assert status == 200
    assert set(body) == {"user", "catalogues", "processing", "sharing"}
    assert set(body["user"]) == {"name"} and isinstance(body["user"]["name"], str)
    assert body["user"]["name"]
    assert body["catalogues"] == [
        {
            "id": "cdse",
            "title": "Copernicus Data Space",
            "protocol": "stac",
            "url": "https://stac.example.eu/v1",
        },
        {
            "id": "creodias",
            "title": "CREODIAS",
            "protocol": "opensearch",
            "url": "https://opensearch.example.eu/describe.xml",
        },
        {"id": "pycsw", "title": "pycsw", "protocol": "csw", "url": "http://127.0.0.1:9/csw"},
        {
            "id": "demo",
            "title": "Demo catalogue",
            "protocol": "static",
            "url": "/srv/demo/catalog.json",
        },
    ]
    assert body["processing"] == [
        {"id": "wps", "title": "PyWPS", "protocol": "wps", "url": "http://127.0.0.1:9/wps"},
        {"id": "ades", "title": "ADES", "protocol": "ogcapi", "url": "https://ades.example.eu/"},
        {"id": "sandbox", "title": "My sandbox", "protocol": "sandbox", "url": ""},
    ]
    assert body["sharing"] == {"enabled": True, "mode": "local"}
    # Endpoint credentials never reach the browser.
    assert "auth" not in str(body) and "token_env" not in str(body)


async def test_catalogue_and_processing_lists(eo_get):
    status, body = await eo_get("catalogues")
    assert status == 200
    assert [c["protocol"] for c in body["catalogues"]] == ["stac", "opensearch", "csw", "static"]
    status, body = await eo_get("processing")
    assert status == 200
    assert [s["protocol"] for s in body["services"]] == ["wps", "ogcapi", "sandbox"]


@pytest.mark.parametrize(
    ("traits", "sharing"),
    [
        ({}, {"enabled": False, "mode": "local"}),
        ({"shared_root": "/srv/shares"}, {"enabled": True, "mode": "local"}),
        (
            {"share_service_url": "http://hub:8081/services/eo-jlab-share/"},
            {"enabled": True, "mode": "hub"},
        ),
        (
            {"shared_root": "/x", "share_service_url": "http://hub/services/share/"},
            {"enabled": True, "mode": "hub"},
        ),
    ],
)
def test_sharing_mode(traits, sharing):
    assert EOJLab(config=Config({"EOJLab": traits})).sharing == sharing


@pytest.mark.parametrize(
    ("traits", "message"),
    [
        (
            {"catalogues": [{"id": "x", "protocol": "wms", "url": "http://h/"}]},
            "catalogue protocol must be one of stac, opensearch, csw, static",
        ),
        (
            {"processing": [{"id": "x", "protocol": "stac", "url": "http://h/"}]},
            "processing protocol must be one of wps, ogcapi, sandbox",
        ),
        (
            {
                "catalogues": [
                    {"id": "a", "protocol": "stac", "url": "http://h/"},
                    {"id": "a", "protocol": "csw", "url": "http://h/csw"},
                ]
            },
            "endpoint ids must be unique",
        ),
        ({"catalogues": [{"id": "a", "protocol": "stac"}]}, "needs a 'url'"),
        (
            {"catalogues": [{"id": "a", "protocol": "stac", "url": "file:///etc"}]},
            "must start with http:// or https://",
        ),
        ({"catalogues": [{"id": "a b", "protocol": "stac", "url": "http://h/"}]}, "catalogues[0]"),
        (
            {
                "processing": [
                    {
                        "id": "a",
                        "protocol": "wps",
                        "url": "http://h/",
                        "auth": {"type": "bearer", "token": "inline-secret"},
                    }
                ]
            },
            "processing[0]",
        ),
        ({"request_timeout": 0}, "request_timeout"),
        ({"max_response_bytes": 10}, "max_response_bytes"),
        ({"allowed_hosts": ["http://"]}, "allowed_hosts"),
    ],
)
def test_invalid_configuration_is_a_clear_startup_error(traits, message):
    with pytest.raises(TraitError, match=None) as info:
        EOJLab(config=Config({"EOJLab": traits}))
    assert message in str(info.value)


def test_endpoint_ids_unique_across_catalogues_and_processing():
    from eo_jlab.app import Services

    config = EOJLab(
        config=Config(
            {
                "EOJLab": {
                    "catalogues": [{"id": "same", "protocol": "stac", "url": "http://h/"}],
                    "processing": [{"id": "same", "protocol": "wps", "url": "http://h/wps"}],
                }
            }
        )
    )
    with pytest.raises(ValueError, match="configured twice"):
        Services(config)
