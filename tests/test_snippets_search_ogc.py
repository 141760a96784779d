"""Search snippets for OpenSearch and CSW, EXECUTED: python and R in real kernels, shell with bash.

Asked through ``POST eo-jlab/snippets`` for pycsw (CSW 2.0.2, CSW 3.0, its OpenSearch Atom) and
the Resto-style GeoJSON OpenSearch, each snippet must print the products the question selects
(the same question as tests/test_cross_protocol.py, one page large enough for all of them). A
search text full of quotes, newlines, ``$(...)`` and backticks must run as text, never as code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eo_jlab.demo.catalogue import S2, products

from .kernels import Kernel, has_kernel, run_bash
from .servers.pycsw import opensearch_description, pycsw_url  # noqa: F401
from .servers.resto import resto_server, resto_url  # noqa: F401

pytestmark = pytest.mark.timeout(600)

CANARY = "canary"
QUESTION = {
    "bbox": [12.9, 52.3, 14.4, 53.1],  # Berlin, tile 33UUU
    "datetime": "2025-02-01T00:00:00Z/2025-03-31T23:59:59Z",
    "q": "L2A Berlin",
    "limit": 200,
}
# Words stay few: pycsw 2.6 takes CSW 3 filters only in the URL (a GET), limited to 4 KiB.
HOSTILE_Q = (
    'a\'b"c\\d\ne$(touch${IFS}canary)`touch${IFS}canary` ");system("touch${IFS}canary");("'
    "'''+__import__('os').system('touch${IFS}canary')+''' é"
)
CATALOGUES = ("csw2", "csw3", "opensearch-atom", "opensearch-geojson")
LANGUAGES = ("python", "r", "shell")


@pytest.fixture
def eo_config(pycsw_url, resto_url):  # noqa: F811
    return {
        "catalogues": [
            {"id": "csw2", "protocol": "csw", "url": pycsw_url + "?version=2.0.2"},
            {"id": "csw3", "protocol": "csw", "url": pycsw_url},
            {"id": "opensearch-atom", "protocol": "opensearch",
             "url": opensearch_description(pycsw_url)},
            {"id": "opensearch-geojson", "protocol": "opensearch", "url": resto_url},
        ],
        "request_timeout": 20.0,
    }  # fmt: skip


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Where the code runs: a hostile snippet would create the canary here."""
    return tmp_path_factory.mktemp("ogc-snippet-work")


@pytest.fixture(autouse=True)
def _no_canary(work):
    # Also where the Jupyter server and the test servers run: generating code must not run it.
    places = [work / CANARY, Path.cwd() / CANARY]
    before = [p.exists() for p in places]
    yield
    assert [p.exists() for p in places] == before, "a command from the search text ran"


@pytest.fixture(scope="module")
def kernels(work):
    if not has_kernel("ir"):
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    started = {"python": Kernel("python3", work), "r": Kernel("ir", work)}
    yield started
    for kernel in started.values():
        kernel.stop()


@pytest.fixture
def snippet(jp_fetch):
    async def get(catalogue: str, request: dict, language: str) -> str:
        body = {
            "target": {"kind": "search", "catalogue": catalogue, "request": request},
            "language": language,
        }
        response = await jp_fetch(
            "eo-jlab", "snippets", method="POST", body=json.dumps(body), raise_error=False
        )
        answer = json.loads(response.body)
        assert response.code == 200, answer
        assert answer["language"] == language
        return answer["code"]

    return get


def execute(kernels, work: Path, language: str, code: str) -> list[str]:
    """The ids the code printed (lines that are not indented asset/link lines)."""
    if language == "shell":
        run = run_bash(code, work, timeout=120)
    else:
        run = kernels[language].run(code, timeout=120)
    run.check(code)
    return [line for line in run.stdout.splitlines() if line and not line[0].isspace()]


def expected_ids() -> set[str]:
    ids = {
        p["id"]
        for p in products()[S2]
        if p["properties"]["area"] == "Berlin"
        and "2025-02" <= p["properties"]["datetime"] < "2025-04"
    }
    assert len(ids) >= 8
    return ids


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("catalogue", CATALOGUES)
async def test_search_snippet_prints_the_products(snippet, kernels, work, catalogue, language):
    code = await snippet(catalogue, QUESTION, language)
    ids = execute(kernels, work, language, code)
    assert len(ids) == len(set(ids)), ids
    assert set(ids) == expected_ids(), code


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("catalogue", CATALOGUES)
async def test_hostile_search_text_runs_as_text(snippet, kernels, work, catalogue, language):
    code = await snippet(catalogue, {**QUESTION, "q": HOSTILE_Q}, language)
    assert execute(kernels, work, language, code) == []
