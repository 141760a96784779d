"""Generated snippets, EXECUTED: python and R in real kernels (the venv's ipykernel, IRkernel),
shell with bash. Targets: the demo's static catalogue on disk, the same served over HTTP, and a
catalogue of hostile ids/titles/paths (quotes, backslashes, newlines, $(...), backticks, R and
Python string breakouts, unicode) whose code must print them exactly and run none of them.

Expected ids come from the catalogue adapter's own search (what the browser would drag)."""

from __future__ import annotations

import asyncio
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eo_jlab.app import EOJLab, Services
from eo_jlab.catalogue import SearchRequest
from eo_jlab.demo.catalogue import S1, S2, write_catalogue
from eo_jlab.snippets import SnippetRequest, generate

from .kernels import Kernel, has_kernel, run_bash

pytestmark = pytest.mark.timeout(600)

CANARY = "pwned"
HOSTILE_IDS = [
    "a'b\"c\\d\ne$(touch pwned)`touch pwned`",
    '"); system("touch pwned"); ("\'\'\'; __import__("os").system("touch pwned"); \'\'\'',
    "\\\"\\'\\n\t é ✓ 😀 ${HOME} '\\'' %s {x} \\u00e9 <b>",
]
HOSTILE_COLLECTION = "col'\"$(touch pwned)\\ é"
HOSTILE_DIR = "d'q\"b\\s $(touch pwned) `touch pwned` é"
TOULOUSE = [0.9, 43.5, 1.5, 43.9]
DEMO_SEARCH = {
    "collections": [S2],
    "bbox": TOULOUSE,
    "datetime": "2025-03-01/2025-03-31",
    "filters": {"cloud_cover": {"lt": 50}},
    "limit": 50,
}


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The kernels' and bash's working folder: a hostile snippet would create the canary here."""
    return tmp_path_factory.mktemp("snippet-work")


@pytest.fixture(autouse=True)
def _no_canary(work):
    # Also where the Jupyter server runs: generating code must not run any of it.
    places = [work / CANARY, Path.cwd() / CANARY]
    before = [p.exists() for p in places]
    yield
    assert [p.exists() for p in places] == before, "a command from a hostile value ran"


@pytest.fixture(scope="module")
def python_kernel(work):
    kernel = Kernel("python3", work)
    yield kernel
    kernel.stop()


@pytest.fixture(scope="module")
def r_kernel(work):
    if not has_kernel("ir"):
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    kernel = Kernel("ir", work)
    yield kernel
    kernel.stop()


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    return write_catalogue(tmp_path_factory.mktemp("demo") / "catalogue")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def demo_url(demo_root):
    """The same catalogue behind a real loopback HTTP server."""
    handler = partial(_QuietHandler, directory=str(demo_root.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/catalog.json"
    server.shutdown()
    server.server_close()


def _write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory) -> Path:
    """A static catalogue whose ids, titles, asset keys, collection and one folder are hostile."""
    root = tmp_path_factory.mktemp("hostile") / "catalogue"
    item_links = []
    for index, item_id in enumerate(HOSTILE_IDS):
        folder = HOSTILE_DIR if index == 0 else f"item{index}"
        west = 10.0 + index
        _write(
            root / "col" / folder / "item.json",
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": HOSTILE_COLLECTION,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[west, 40], [west + 0.5, 40], [west + 0.5, 41], [west, 41], [west, 40]]
                    ],
                },
                "bbox": [west, 40, west + 0.5, 41],
                "properties": {
                    "title": f"{item_id} title\"'`$(touch pwned)`",
                    "datetime": f"2025-02-0{index + 1}T10:00:00Z",
                    "eo:cloud_cover": 10.0 * index,
                },
                "assets": {
                    "data": {"href": "./data.tif", "type": "image/tiff"},
                    f"k'ey\"$(touch {CANARY})": {"href": "./other file.png"},
                },
                "links": [{"rel": "self", "href": "./item.json"}],
            },
        )
        item_links.append({"rel": "item", "href": f"./{folder}/item.json"})
    _write(
        root / "col" / "collection.json",
        {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": HOSTILE_COLLECTION,
            "description": "hostile",
            "license": "other",
            "extent": {
                "spatial": {"bbox": [[10, 40, 13, 41]]},
                "temporal": {"interval": [[None, None]]},
            },
            "links": item_links,
        },
    )
    _write(
        root / "catalog.json",
        {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "hostile",
            "description": "hostile values",
            "links": [{"rel": "child", "href": "./col/collection.json"}],
        },
    )
    return root / "catalog.json"


@pytest.fixture(scope="module")
def catalogues(demo_root, demo_url, hostile_root) -> dict[str, str]:
    return {"disk": str(demo_root), "http": demo_url, "hostile": str(hostile_root)}


def _services(catalogues: dict[str, str]) -> Services:
    config = EOJLab(
        catalogues=[
            {"id": cid, "title": cid, "protocol": "static", "url": url}
            for cid, url in catalogues.items()
        ]
    )
    return Services(config)


def search_items(catalogues: dict[str, str], cid: str, body: dict) -> list[dict]:
    """The items the eo-jlab search returns (what the browser drags), through the adapter."""

    async def run():
        services = _services(catalogues)
        try:
            page = await services.catalogues.get(cid).search(SearchRequest.model_validate(body))
        finally:
            await services.close()
        return page.features

    return asyncio.run(run())


def snippet(catalogues, target: dict, language: str, flavour: str = "portable"):
    request = SnippetRequest.model_validate(
        {"target": target, "language": language, "flavour": flavour}
    )
    return generate(request, _services(catalogues))


def execute(snippet_, language: str, kernels: dict, work: Path):
    if language == "shell":
        return run_bash(snippet_.code, work).check(snippet_.code)
    return kernels[language].run(snippet_.code).check(snippet_.code)


@pytest.fixture(scope="module")
def kernels(python_kernel, r_kernel):
    return {"python": python_kernel, "r": r_kernel}


def printed_ids(stdout: str, candidates: list[str]) -> set[str]:
    return {c for c in candidates if f"{c}\n" in stdout}


SEARCHES = {
    "disk": DEMO_SEARCH,
    "http": DEMO_SEARCH,
    "hostile": {
        "collections": [HOSTILE_COLLECTION],
        "q": "$(touch pwned)",
        "datetime": "2025-02-01/2025-02-02",
        "bbox": [9, 39, 20, 42],
        "filters": {"cloud_cover": {"lte": 10}},
    },
}
CASES = [
    (source, language, flavour)
    for source in ("disk", "http", "hostile")
    for language, flavour in (
        ("python", "portable"),
        ("r", "portable"),
        ("shell", "portable"),
        ("python", "widgets"),
    )
]


# --- executed snippets ---------------------------------------------------------------------


@pytest.mark.parametrize(("source", "language", "flavour"), CASES)
def test_item_snippet_runs_and_prints_the_item(
    catalogues, kernels, work, source, language, flavour
):
    body = SEARCHES[source] if source != "hostile" else {"limit": 10}
    items = search_items(catalogues, source, body)
    assert items
    chosen = items if source == "hostile" else items[:1]
    for item in chosen:
        made = snippet(
            catalogues, {"kind": "item", "catalogue": source, "item": item}, language, flavour
        )
        run = execute(made, language, kernels, work)
        assert f"{item['id']}\n" in run.stdout, (run.stdout, made.code)
        for key, asset in item["assets"].items():
            assert f"  {key}: {asset['href']}\n" in run.stdout, (run.stdout, made.code)
        if flavour == "widgets":
            assert any("application/vnd.jupyter.widget-view+json" in d for d in run.displays)
            assert "eo_jlab" in made.requires


@pytest.mark.parametrize(("source", "language", "flavour"), CASES)
def test_search_snippet_runs_the_same_search(catalogues, kernels, work, source, language, flavour):
    body = SEARCHES[source]
    expected = [item["id"] for item in search_items(catalogues, source, body)]
    assert expected
    made = snippet(
        catalogues, {"kind": "search", "catalogue": source, "request": body}, language, flavour
    )
    run = execute(made, language, kernels, work)
    everything = [i["id"] for i in search_items(catalogues, source, {"limit": 500})]
    assert printed_ids(run.stdout, everything) == set(expected), (run.stdout, made.code)
    assert f"{len(expected)} items match" in run.stdout


def test_search_snippet_keeps_the_limit_and_order(catalogues, kernels, work):
    body = {"collections": [S1], "limit": 3}
    expected = [item["id"] for item in search_items(catalogues, "disk", body)]
    for language in ("python", "r", "shell"):
        made = snippet(
            catalogues, {"kind": "search", "catalogue": "disk", "request": body}, language
        )
        run = execute(made, language, kernels, work)
        lines = [line for line in run.stdout.splitlines() if line.startswith("S1")]
        assert lines == expected, (language, run.stdout)


def test_item_without_links_is_printed_from_its_values(catalogues, kernels, work):
    item = {
        "type": "Feature",
        "id": HOSTILE_IDS[0],
        "assets": {"a'\"": {"href": "https://example.invalid/x'$(touch pwned).tif"}},
        "links": [],
        "source": {"catalogue": "gone", "protocol": "csw", "href": None},
    }
    for language in ("python", "r", "shell"):
        made = snippet(catalogues, {"kind": "item", "catalogue": "gone", "item": item}, language)
        run = execute(made, language, kernels, work)
        assert f"{item['id']}\n" in run.stdout
        assert "  a'\": https://example.invalid/x'$(touch pwned).tif\n" in run.stdout


# --- generation rules ----------------------------------------------------------------------


def test_requires_lists_the_libraries(catalogues):
    item = search_items(catalogues, "http", DEMO_SEARCH)[0]
    target = {"kind": "item", "catalogue": "http", "item": item}
    assert snippet(catalogues, target, "python").requires == ["pystac"]
    assert snippet(catalogues, target, "r").requires == ["jsonlite"]
    assert snippet(catalogues, target, "shell").requires == ["bash", "curl", "jq"]
    for language in ("python", "r", "shell"):
        made = snippet(catalogues, target, language)
        assert "eo_jlab" not in made.code and made.language == language


def test_item_cells_are_short_and_repeat_no_helpers(catalogues):
    """Issue 19 friction 12: each inserted product repeated ~30 lines of helpers. A product's
    cell now defines no function, and the Python one is a library call of a few lines."""
    for source in ("disk", "http"):
        item = search_items(catalogues, source, DEMO_SEARCH)[0]
        target = {"kind": "item", "catalogue": source, "item": item}
        for language, definition in (("python", "def "), ("r", "function("), ("shell", "() {")):
            code = snippet(catalogues, target, language).code
            assert definition not in code, (source, language, code)
            assert len(code.strip().splitlines()) <= (10 if language == "python" else 12), code


def test_opensearch_items_use_their_link(catalogues):
    item = {
        "type": "Feature",
        "id": "S2A'x",
        "assets": {},
        "links": [{"rel": "alternate", "href": "https://example.invalid/rec?id=S2A%27x"}],
        "source": {"catalogue": "os", "protocol": "opensearch", "href": None},
    }
    made = snippet(catalogues, {"kind": "item", "catalogue": "os", "item": item}, "python")
    assert "requests.get('https://example.invalid/rec?id=S2A%27x'" in made.code
    assert made.requires == ["requests"]


# --- show_items ----------------------------------------------------------------------------


def test_show_items_accepts_every_input_type(catalogues):
    import pystac

    from eo_jlab.widgets import _describe, features_of, show_items

    contract = search_items(catalogues, "disk", DEMO_SEARCH)
    stac = [
        pystac.Item.from_dict(json.loads(Path(i["source"]["href"]).read_text())) for i in contract
    ]
    collection = pystac.ItemCollection(stac)
    inputs = {
        "contract items": contract,
        "pystac items": stac,
        "one pystac item": stac[0],
        "item collection": collection,
        "feature collection": collection.to_dict(transform_hrefs=False),
        "features": [item.to_dict(transform_hrefs=False) for item in stac],
    }
    for name, value in inputs.items():
        count = 1 if name == "one pystac item" else len(contract)
        m = show_items(value)
        features = m.eo_layer.data["features"]
        assert len(features) == count, name
        assert [f["id"] for f in features] == [i["id"] for i in contract][:count], name
        assert m.eo_layer in m.layers
        west, south, east, north = m.eo_bounds
        assert 0.4 <= west < east <= 1.9 and 43.2 <= south < north <= 44.3, name
        if count > 1:
            assert west <= 0.9 and east >= 1.5 and south <= 43.5 and north >= 43.9, name
        assert features[0]["properties"]["cloud_cover"] is not None
    assert len(features_of(contract[0])) == 1
    html = _describe({"id": "<script>", "title": "<b>x</b>", "datetime": None, "cloud_cover": 5})
    assert "<script>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
