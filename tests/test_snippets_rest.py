"""``POST eo-jlab/snippets`` through the REST API: answers and 400 sentences."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def eo_config(tmp_path):
    root = tmp_path / "catalog.json"  # never read: snippets only need the configuration
    return {
        "catalogues": [
            {"id": "demo", "title": "Demo", "protocol": "static", "url": str(root)},
            {"id": "os", "protocol": "opensearch", "url": "http://127.0.0.1:9/osdd.xml"},
        ]
    }


@pytest.fixture
def post(jp_fetch):
    async def send(body: dict):
        response = await jp_fetch(
            "eo-jlab", "snippets", method="POST", body=json.dumps(body), raise_error=False
        )
        return response.code, json.loads(response.body)

    return send


ITEM = {
    "type": "Feature",
    "id": "x'\\\"y",
    "assets": {},
    "links": [{"rel": "self", "href": "http://127.0.0.1:9/x.json"}],
    "source": {"catalogue": "demo", "protocol": "static", "href": None},
}


async def test_item_and_search_snippets(post):
    for language in ("python", "r", "shell"):
        status, body = await post(
            {"target": {"kind": "item", "catalogue": "demo", "item": ITEM}, "language": language}
        )
        assert status == 200, body
        assert set(body) == {"code", "language", "requires"} and body["language"] == language
    status, body = await post(
        {
            "target": {"kind": "search", "catalogue": "demo", "request": {"bbox": [0, 40, 2, 45]}},
            "language": "python",
            "flavour": "widgets",
        }
    )
    assert status == 200, body
    assert "show_items" in body["code"] and "eo_jlab" in body["requires"]


def req(target: dict, language: str = "python", flavour: str = "portable") -> dict:
    return {"target": target, "language": language, "flavour": flavour}


ITEM_TARGET = {"kind": "item", "catalogue": "demo", "item": ITEM}
NUL_TARGET = {"kind": "item", "catalogue": "demo", "item": {**ITEM, "id": "a\x00", "links": []}}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (req(ITEM_TARGET, "julia"), "language"),
        (req(ITEM_TARGET, "python", "x"), "flavour"),
        (req({"kind": "bogus"}), "target kind"),
        (req({"kind": "job"}), "target.job"),
        (
            req({"kind": "process", "service": "x", "process": "p", "request": {"mode": "x"}}),
            "mode",
        ),
        (req(ITEM_TARGET, "r", "widgets"), "widgets flavour"),
        (req({"kind": "search", "catalogue": "demo", "request": {"bbox": [1]}}, "r"), "bbox"),
        (req(NUL_TARGET, "shell"), "NUL"),
    ],
)
async def test_bad_requests_are_400_sentences(post, body, words):
    status, answer = await post(body)
    assert status == 400, answer
    assert words in answer["error"] and "Traceback" not in answer["error"]


async def test_unknown_catalogue_is_404(post):
    status, answer = await post(
        {"target": {"kind": "search", "catalogue": "nope", "request": {}}, "language": "python"}
    )
    assert status == 404, answer
