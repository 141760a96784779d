"""Search and item snippets against a real STAC API (stac-fastapi-pgstac with the synthetic
products loaded, from tests/servers/pgstac.py), executed in real kernels and bash."""

from __future__ import annotations

import pytest

from eo_jlab.catalogue.base import item_from_stac
from eo_jlab.demo.catalogue import S2, products
from eo_jlab.snippets import SnippetRequest, generate

from .kernels import Kernel, has_kernel, run_bash
from .servers.pgstac import stac_api_url  # noqa: F401

pytestmark = pytest.mark.timeout(600)

TOULOUSE = [0.9, 43.5, 1.5, 43.9]
SEARCH = {
    "collections": [S2],
    "bbox": TOULOUSE,
    "datetime": "2025-03-01/2025-03-31",
    "filters": {"cloud_cover": {"lt": 50}},
    "limit": 50,
}


def _expected() -> set[str]:
    """By plain reasoning on the generator's products: Toulouse tiles, March, cloud < 50."""
    return {
        p["id"]
        for p in products()[S2]
        if p["properties"]["area"] == "Toulouse"
        and p["properties"]["datetime"].startswith("2025-03")
        and p["properties"]["eo:cloud_cover"] < 50
    }


class _Services:
    """Just what ``generate`` reads: the configured catalogue endpoints."""

    def __init__(self, url: str):
        from eo_jlab.models import CatalogueEndpoint

        endpoint = CatalogueEndpoint.model_validate({"id": "stac", "protocol": "stac", "url": url})
        self.endpoints = type("Endpoints", (), {"catalogues": [endpoint]})()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("stac-snippets")


@pytest.fixture(scope="module")
def kernels(work):
    started = {"python": Kernel("python3", work)}
    if has_kernel("ir"):
        started["r"] = Kernel("ir", work)
    yield started
    for kernel in started.values():
        kernel.stop()


def _run(code: str, language: str, kernels, work):
    if language == "shell":
        return run_bash(code, work).check(code)
    if language not in kernels:
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    return kernels[language].run(code).check(code)


@pytest.mark.parametrize(
    ("language", "flavour"),
    [("python", "portable"), ("r", "portable"), ("shell", "portable"), ("python", "widgets")],
)
def test_stac_search_snippet(stac_api_url, kernels, work, language, flavour):  # noqa: F811
    expected = _expected()
    assert expected
    request = SnippetRequest.model_validate(
        {
            "target": {"kind": "search", "catalogue": "stac", "request": SEARCH},
            "language": language,
            "flavour": flavour,
        }
    )
    made = generate(request, _Services(stac_api_url))
    run = _run(made.code, language, kernels, work)
    every = {p["id"] for group in products().values() for p in group}
    printed = {i for i in every if f"{i}\n" in run.stdout}
    assert printed == expected, (run.stdout, made.code)


@pytest.mark.parametrize("language", ["python", "r", "shell"])
def test_stac_item_snippet(stac_api_url, kernels, work, language):  # noqa: F811
    import httpx

    product = sorted(_expected())[0]
    url = f"{stac_api_url.rstrip('/')}/collections/{S2}/items/{product}"
    stac = httpx.get(url, timeout=30).json()
    item = item_from_stac(stac, catalogue="stac", protocol="stac", base=url)
    request = SnippetRequest.model_validate(
        {"target": {"kind": "item", "catalogue": "stac", "item": item}, "language": language}
    )
    made = generate(request, None)
    run = _run(made.code, language, kernels, work)
    assert f"{product}\n" in run.stdout, (run.stdout, made.code)
