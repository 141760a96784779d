"""Every eo-jlab route answers 403 JSON to an unauthenticated request (acceptance 3).

The test walks the extension's handler table, so a route added later is covered without
anyone remembering to add it here.
"""

from __future__ import annotations

import json
import re

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from eo_jlab.handlers import HANDLERS

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def jp_server_config(eo_config):
    # jupyter-server's default (unauthenticated access allowed unless a handler says
    # otherwise): the 403s below come from eo_jlab's own decorators, not from a server-wide
    # setting. The template's check_auth.py covers the strict setting.
    return {"ServerApp": {"jpserver_extensions": {"eo_jlab": True}}, "EOJLab": eo_config}


def _concrete(pattern: str) -> str:
    """A request path matching a route pattern: every group becomes a plain segment."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "some-id", pattern)
    path = re.sub(r"\([^)]*\)", "anything", path)
    return path.lstrip("/")


def _routes():
    for pattern, handler in HANDLERS:
        verbs = [
            v
            for v in VERBS
            if v.lower() in vars(handler)
            or any(
                v.lower() in vars(base)
                for base in handler.__mro__[1:]
                if base.__module__.startswith("eo_jlab")
            )
        ]
        for verb in verbs:
            yield pytest.param(verb, _concrete(pattern), id=f"{verb} {pattern}")


def test_table_is_not_empty():
    assert len(list(_routes())) >= 5


@pytest.mark.parametrize(("verb", "path"), list(_routes()))
async def test_unauthenticated_request_is_refused(
    verb, path, jp_serverapp, http_server_client, jp_base_url, jp_http_port, upstream
):
    body = b"{}" if verb in ("POST", "PUT", "PATCH") else None
    request = HTTPRequest(
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}{path}",
        method=verb,
        body=body,
        headers={"Content-Type": "application/json"},
    )
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    assert response.code == 403, (verb, path, response.code)
    payload = json.loads(response.body)
    assert payload["error"] == "Authentication is required: log in to Jupyter or send a token."
    assert payload["details"] == {}
    assert "Traceback" not in response.body.decode()
    # Nothing reached the upstream on behalf of an anonymous caller.
    assert upstream.requests == []


async def test_wrong_token_is_refused(jp_serverapp, http_server_client, jp_base_url):
    response = await http_server_client.fetch(
        f"{jp_base_url}eo-jlab/config",
        headers={"Authorization": "token not-the-token"},
        raise_error=False,
    )
    assert response.code == 403
    assert json.loads(response.body)["error"].startswith("Authentication is required")


async def test_unknown_route_is_contract_404(eo_get):
    status, body = await eo_get("no", "such", "route")
    assert status == 404
    assert body == {
        "error": "There is no eo-jlab route '/a%40b/eo-jlab/no/such/route'.",
        "details": {},
    }
