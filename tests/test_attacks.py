"""Attack suite (issue 6), network and protocol part: every attack below is proved harmless
through the real code paths (the Jupyter server of pytest-jupyter, eo_jlab's handlers and
adapters, its one HTTP client), against loopback servers only: tests/servers/hostile.py, a
scripted service that sends hostile links and documents, and a second loopback service that
holds a secret and that no endpoint names. Every answer is checked for stack traces, the
secret and a 500 (the ``call`` fixture); ``assert_no_leak`` also searches the job list, every
job's exchange, the data folder (job store) and the whole log.

1. SSRF. Targets (``forbidden_targets``): the secret loopback port, 169.254.169.254,
   [fd00:ec2::254], [::ffff:169.254.169.254], metadata.google.internal and allowed names that
   resolve (in-process fake DNS) to the metadata address or to a list holding it, [::1],
   [::ffff:127.0.0.1], [::ffff:7f00:1], 127.1, 2130706433, 0x7f000001, 0177.0.0.1, 0.0.0.0,
   localhost, file:. Expected 403 (400 for what no URL parser takes), 502 via a redirect.
   a. User-supplied URLs: quicklook ``?href=``, forged page tokens, complex inputs by reference
      (written into the WPS/OGC request, never fetched here):
      test_user_supplied_urls_are_refused. Configured endpoints on metadata addresses:
      test_net.py::test_metadata_endpoint_is_refused, test_host_not_allowed_is_forbidden.
   b. Upstream-controlled URLs:
      - STAC ``next`` links (GET and POST), item asset hrefs (passed on, never fetched):
        test_stac_next_links_to_forbidden_targets_are_refused;
      - STAC collection paging, landing ``search``/``data`` links:
        test_stac_collection_paging_and_landing_links_are_refused;
      - OpenSearch description template URLs (search and item):
        test_opensearch_template_urls_are_refused; OpenSearch and CSW paging carry numbers
        only (startIndex/startPage, startPosition), never a URL, and CSW capabilities' DCP
        URLs are not used (requests go to the configured URL);
      - static catalogue child links: test_static_catalogue_child_links_are_not_followed;
      - OGC API processes ``next`` link, job ``Location`` header, ``monitor`` link, status
        ``results`` link (the job ends failed with a sentence):
        test_ogcapi_links_to_forbidden_targets_are_refused;
      - WPS ``statusLocation`` in the Execute response and moved by a later status document:
        test_wps_status_locations_to_forbidden_targets_fail_the_job;
      - result hrefs (OGC API and WPS references) fetched by GET jobs/{jid}/results/{output}:
        test_result_hrefs_to_forbidden_targets_are_refused;
      - redirects (3xx) on each of these: test_redirects_of_allowed_services_to_forbidden_
        targets_are_502 (+ the redirect variants in the result and WPS status tests;
        landing/probe redirects: test_net.py::test_redirect_to_host_not_allowed_is_502,
        test_redirect_to_metadata_address_is_502);
      - malformed links ("http://[::1", a non-numeric indexOffset): 502, not 500:
        test_malformed_upstream_links_are_502.
   c. DNS: every request resolves and checks again, and connects to the checked address
      (rebinding to a twin on 127.0.0.2 or to the metadata address):
      test_dns_answers_are_checked_per_request_and_connections_pinned. Address spellings:
      test_net.py::test_refused_addresses. Credentials never forwarded:
      test_net.py::test_jupyter_credentials_never_forwarded,
      test_endpoint_credentials_stay_on_their_origin.
2. XXE and entity expansion (external entity on a local secret file, billion laughs, external
   DTD and parameter entity on the secret server) in the OpenSearch description and Atom
   results, CSW capabilities, GetRecords, GetRecordById, GetDomain and exception reports, WPS
   GetCapabilities, DescribeProcess, Execute response, exception reports and status documents
   (the job ends failed with a sentence); the server answers afterwards:
   test_hostile_xml_is_refused_everywhere. Also test_net.py::test_xxe_is_502_and_file_content_
   appears_nowhere, test_billion_laughs_is_502, test_parse_xml_refuses_entities.
3. Requests without auth or XSRF: without a token, every route:
   test_auth.py::test_unauthenticated_request_is_refused, test_wrong_token_is_refused. With the
   browser's login cookie but no (or a wrong) XSRF token, every non-GET route of HANDLERS is
   403, and not refused for XSRF with the page's token:
   test_cookie_requests_without_xsrf_are_refused. Another Origin (even with the XSRF value),
   a wrong token in the URL: test_cross_origin_requests_are_refused. (A right token in the URL
   is a full credential in jupyter-server: no Origin check by design.)
4. Hostile ids and values: ids in URL paths (``..``, %2F, NUL, CR/LF, control characters,
   invalid UTF-8, ``?``/``#``, 5000 characters) on every id-carrying route are 400/404
   sentences, and an OGC API process id stays one path segment upstream:
   test_hostile_ids_in_paths_are_sentences. Share paths: test_sharing_rest.py::test_traversal_
   and_symlink_escapes_refused, test_sharing_store.py::test_file_path_is_confined,
   test_copy_out_destination_is_confined. Hostile values executed in real kernels: static
   catalogue ids/titles/asset keys/collection (test_snippets.py::test_item_snippet_runs_and_
   prints_the_item, test_search_snippet_runs_the_same_search), search text on CSW/OpenSearch
   (test_snippets_search_ogc.py::test_hostile_search_text_runs_as_text), process inputs and ids
   (test_snippets_processing.py::test_hostile_values_travel_as_data,
   test_hostile_process_ids_never_run), and STAC API / OpenSearch collection ids, item ids,
   titles and asset keys in search and item snippets, python, R and shell:
   test_hostile_catalogue_values_in_snippets_run_as_data.
5. What an outside review of the running demo found (issue 18); each module's docstring lists
   its cases in detail, and each case failed on the code before its fix:
   a. Proxied bodies: one allow-list and a fixed type (eo_jlab/proxied.py) for quicklooks, job
      results and shared files; ``image/png, text/html`` and doubled Content-Type headers:
      test_attacks_review_net.py::test_quicklook_types_are_one_fixed_image_type,
      test_result_types_are_one_fixed_type; in a real browser (the meta refresh of such a
      quicklook never runs): ui-tests/tests/hostile.spec.ts "Hostile upstream bodies are never
      pages".
   b. Upstream values that escaped as 500s or stranded jobs (a redirect to a backslashed ``http:``
      URL or to port 99999, ``progress`` 1e999/NaN/text, WPS ``percentCompleted`` "²", an unparsable
      ``statusLocation``, an unexpected poll error, catalogue numbers and dates out of range):
      test_attacks_review_net.py::test_unparsable_redirect_is_502_and_fails_the_job,
      test_hostile_progress_values_never_strand_a_job,
      test_wps_unparsable_status_location_fails_the_job,
      test_unexpected_poll_errors_fail_the_job,
      test_hostile_catalogue_values_are_answers_or_sentences.
   c. Logs: no ``?token=`` in the uncaught-exception line, no query string of an upstream URL
      in any line: test_attacks_review_net.py::test_uncaught_error_does_not_log_the_token,
      test_log_lines_carry_no_query_strings.
   d. One slow host cannot take the shared connection pool (c.EOJLab.max_connections_per_host):
      test_attacks_review_net.py::test_one_slow_host_does_not_starve_another,
      test_per_host_limit_is_configured. A FIFO named ``*.png`` or ``*.json`` in a local
      catalogue: test_fifo_in_a_local_catalogue_is_refused_quickly.
   e. The local sandbox answers its token holder only (per-start token, Host and Origin
      checked), and no GET starts it (status, process list, descriptions; results read from
      its outputs folder, confined): tests/test_attacks_review_sandbox.py (11 cases), with
      generated job code that survives a sandbox restart on another port (issue 19 bug 2).
   f. Share limits on uncompressed bytes (gzip and xz bombs refused before or while
      extracting), files per share, manifest size, shares per user and a default quota that
      counts every file; lists without file lists; hidden and bidi/control share names:
      tests/test_attacks_review_shares.py (local and hub mode, 20 cases).
   g. Remote static catalogues indexed within bounds of documents, bytes and time, reported in
      the endpoint probe, without stalling the event loop (a generated 400,000-item
      catalogue): tests/test_attacks_review_static.py.
   h. Generated code for every code point (R refused controls next to accents; bash words
      carried invisible and bidi characters raw): tests/test_snippets_quoting.py, executed in
      real IR, Python and bash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import time
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest

from eo_jlab.catalogue.base import PageToken, SearchRequest

from .servers.faulty import WPS_CAPABILITIES, WPS_DESCRIBE, wps_status
from .servers.hostile import Answer, Scripted
from .upstream import BILLION_LAUGHS, xxe_payload

SECRET = "eo-jlab-attack-secret-5b1e0d"
SECRET_DOC = {"type": "Catalog", "id": SECRET, "title": SECRET, "description": SECRET,
              "links": [], "features": [], "collections": [], "status": "successful"}  # fmt: skip
FINAL = ("successful", "failed", "dismissed")
SEARCH = {"collections": ["c"], "limit": 5}
STAC_CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
]
# Names the fake resolver answers (every other name goes to the real one).
METADATA_NAMES = {
    "metadata.google.internal": ["169.254.169.254"],
    "evil.test": ["169.254.169.254"],
    "multi.test": ["127.0.0.1", "169.254.169.254"],
}


# --- servers, configuration, helpers -------------------------------------------------------


@pytest.fixture
def secret():
    """A loopback service no endpoint names, holding a secret: it must never be contacted."""
    server = Scripted(default=Answer(SECRET_DOC)).start()
    yield server
    server.stop()


@pytest.fixture
def hostile():
    """The configured (allowed) upstream, scripted by each test to send hostile links."""
    server = Scripted().start()
    server.routes["/redir"] = lambda r: Answer(
        b"", 302, "text/plain", {"Location": r["query"]["to"]}
    )
    yield server
    server.stop()


def forbidden_targets(secret: Scripted) -> dict[str, str]:
    """Addresses eo-jlab must never fetch from, whoever names them."""
    s = secret.port
    return {
        "loopback port of no endpoint": f"http://127.0.0.1:{s}/secret",
        "metadata IPv4": "http://169.254.169.254/latest/meta-data/",
        "metadata IPv6": "http://[fd00:ec2::254]/latest/meta-data/",
        "metadata IPv4-mapped IPv6": "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "metadata by name": "http://metadata.google.internal/computeMetadata/v1/",
        "allowed name resolving to metadata": f"http://evil.test:{s}/latest/",
        "allowed name with one metadata address": f"http://multi.test:{s}/latest/",
        "[::1]": f"http://[::1]:{s}/secret",
        "[::ffff:127.0.0.1]": f"http://[::ffff:127.0.0.1]:{s}/secret",
        "[::ffff:7f00:1]": f"http://[::ffff:7f00:1]:{s}/secret",
        "127.1": f"http://127.1:{s}/secret",
        "2130706433": f"http://2130706433:{s}/secret",
        "0x7f000001": f"http://0x7f000001:{s}/secret",
        "0177.0.0.1": f"http://0177.0.0.1:{s}/secret",
        "0.0.0.0": f"http://0.0.0.0:{s}/secret",
        "localhost": f"http://localhost:{s}/secret",
        "file URL": "file:///etc/passwd",
    }


# Several endpoints read a document once and cache it (STAC landing page, OpenSearch
# description): one endpoint per forbidden target, numbered in forbidden_targets() order.
TARGET_COUNT = 17


@pytest.fixture
def eo_config(hostile, secret, tmp_path):
    h = hostile.url
    catalogues = [
        {"id": "stac", "protocol": "stac", "url": h("/stac")},
        {"id": "static", "protocol": "static", "url": h("/static/catalog.json")},
        {"id": "snip-stac", "protocol": "stac", "url": h("/snip/stac")},
        {"id": "snip-os", "protocol": "opensearch", "url": h("/snip/os.xml")},
        {"id": "rebind", "protocol": "stac", "url": f"http://rebind.test:{hostile.port}/stac"},
    ]
    catalogues += [
        {"id": f"x-{name}", "protocol": protocol, "url": h(f"/x/{name}")}
        for name, protocol in (("os-desc", "opensearch"), ("os-atom", "opensearch"),
                               ("csw-caps", "csw"), ("csw-rec", "csw"), ("csw-exc", "csw"))
    ]  # fmt: skip
    for i in range(TARGET_COUNT):
        catalogues += [
            {"id": f"os-{i}", "protocol": "opensearch", "url": h(f"/os/{i}.xml")},
            {"id": f"land-{i}", "protocol": "stac", "url": h(f"/land/{i}")},
            {"id": f"os-redir-{i}", "protocol": "opensearch", "url": h(f"/os-redir/{i}.xml")},
        ]
    return {
        "catalogues": catalogues,
        "processing": [
            {"id": "ogc", "protocol": "ogcapi", "url": h("/ogc")},
            {"id": "wps", "protocol": "wps", "url": h("/wps")},
            *(
                {"id": f"x-{name}", "protocol": "wps", "url": h(f"/x/{name}")}
                for name in ("wps-caps", "wps-desc", "wps-exec", "wps-status", "wps-exc")
            ),
        ],
        "allowed_hosts": list(METADATA_NAMES),
        "request_timeout": 20.0,
    }


@pytest.fixture
def fake_dns(monkeypatch):
    """In-process DNS: ``names[name]`` is a list of addresses or a function returning one."""
    real = socket.getaddrinfo
    names: dict = dict(METADATA_NAMES)
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in names:
            return real(host, port, family, type, proto, flags)
        asked.append(name)
        found = names[name]
        addresses = found() if callable(found) else found
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)))
            for a in addresses
        ]  # fmt: skip

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    names["asked"] = asked  # type: ignore[assignment]
    return names


@pytest.fixture
def call(jp_fetch):
    """Any eo-jlab route: (status, JSON body or None, text). Every answer is checked for
    stack traces and the secret."""

    async def request(*path, method="GET", body=None, params=None, headers=None):
        response = await jp_fetch(
            "eo-jlab", *path, method=method, raise_error=False, params=params,
            body=json.dumps(body) if body is not None else None, headers=headers or {},
        )  # fmt: skip
        text = response.body.decode("utf-8", "replace")
        assert "Traceback" not in text and SECRET not in text, text
        assert response.code != 500, text
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return response.code, parsed, text

    return request


@pytest.fixture
def monitor(jp_serverapp):
    """The server's job monitor, polling often and giving up on a failing job quickly."""
    jobs_monitor = jp_serverapp.web_app.settings["eo_jlab_services"].jobs.monitor
    jobs_monitor.min_interval, jobs_monitor.max_interval = 0.1, 0.3
    jobs_monitor.give_up_after = 0.5
    return jobs_monitor


@pytest.fixture
def log_text(caplog):
    """Everything logged while the test ran (every logger, DEBUG and up)."""
    caplog.set_level(logging.DEBUG)
    return lambda: caplog.text


def assert_refused(status: int, body: dict | None, text: str, *, redirect: bool = False) -> None:
    """A refusal: 403 (400 for an address no URL parser takes), or 502 when a redirect of
    an allowed service led there; one sentence; never the forbidden target's content."""
    assert body is not None and set(body) == {"error", "details"}, text
    error = body["error"]
    assert isinstance(error, str) and error.endswith(".") and "\n" not in error, error
    if redirect:
        assert status == 502, text
        # httpx itself refuses a Location no URL parser takes (0177.0.0.1).
        assert "which eo-jlab refuses" in error or "Invalid URL in location" in error, error
    else:
        assert status in (400, 403), text
        assert any(
            words in error
            for words in ("may not fetch from", "never fetches from", "Not a valid URL",
                          "Only http and https", "page token is not one eo-jlab issued")
        ), error  # fmt: skip


async def until(check, timeout: float = 60.0, every: float = 0.1):
    """Wait until ``await check()`` is truthy (a guard against hanging, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last value: {value!r}"
        await asyncio.sleep(every)


async def final_jobs(call, ids: list[str]) -> list[dict]:
    async def all_final():
        status, listed, text = await call("jobs")
        assert status == 200, text
        jobs = {j["id"]: j for j in listed["jobs"] if j["id"] in ids}
        return [jobs[i] for i in ids] if all(jobs[i]["status"] in FINAL for i in ids) else None

    return await until(all_final)


async def assert_no_leak(call, jp_data_dir: Path, log_text, *servers: Scripted) -> None:
    """The secret is nowhere: jobs, exchanges, the data folder, the log; and the forbidden
    servers were never contacted."""
    status, listed, text = await call("jobs")
    assert status == 200 and SECRET not in text
    for job in listed["jobs"]:
        _, _, exchange = await call("jobs", job["id"], "exchange")
        assert SECRET not in exchange
    for path in jp_data_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in log_text()
    for server in servers:
        assert server.requests == [], server.requests


def stac_landing(search: str = "{base}/stac/search", data: str = "{base}/stac/collections"):
    return {
        "type": "Catalog", "id": "hostile", "title": "Hostile STAC", "description": "links",
        "stac_version": "1.0.0", "conformsTo": STAC_CONFORMS,
        "links": [{"rel": "self", "href": "{base}/stac"},
                  {"rel": "search", "href": search, "method": "POST",
                   "type": "application/geo+json"},
                  {"rel": "data", "href": data}],
    }  # fmt: skip


def stac_item(asset_href: str = "{base}/data.tif") -> dict:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": "S2_ONE", "collection": "c",
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}, "bbox": [1.0, 2.0, 1.0, 2.0],
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "assets": {"data": {"href": asset_href, "type": "image/tiff"},
                   "thumbnail": {"href": asset_href, "type": "image/png"}},
        "links": [],
    }  # fmt: skip


def stac_page(next_link: dict | None, asset_href: str = "{base}/data.tif") -> dict:
    return {
        "type": "FeatureCollection",
        "features": [stac_item(asset_href)],
        "links": [next_link] if next_link else [],
    }


def opensearch_description(template: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">'
        "<ShortName>Hostile</ShortName>"
        f'<Url type="application/geo+json" rel="results" template="{template}"/>'
        "</OpenSearchDescription>"
    ).replace("&", "&amp;")


def redirect_to(hostile: Scripted, target: str) -> str:
    return hostile.url("/redir?to=" + quote(target, safe=""))


def wps_route(execute):
    """The WPS at /wps: capabilities and description of ``count``; POST -> ``execute``."""

    def route(request: dict) -> Answer:
        if request["method"] == "POST":
            return execute(request)
        kind = request["query"].get("request", "").lower()
        if kind == "getcapabilities":
            return Answer(WPS_CAPABILITIES, content_type="text/xml")
        if kind == "describeprocess":
            return Answer(WPS_DESCRIBE, content_type="text/xml")
        return Answer(b"unknown request", 400, "text/plain")

    return route


def wps_reference_result(href: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<wps:ExecuteResponse xmlns:wps="http://www.opengis.net/wps/1.0.0" '
        'xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'service="WPS" version="1.0.0">'
        "<wps:Process><ows:Identifier>count</ows:Identifier></wps:Process>"
        '<wps:Status creationTime="2026-01-01T00:00:00Z">'
        "<wps:ProcessSucceeded>Done</wps:ProcessSucceeded></wps:Status>"
        "<wps:ProcessOutputs><wps:Output><ows:Identifier>count</ows:Identifier>"
        f'<wps:Reference xlink:href="{href.replace("&", "&amp;")}" mimeType="image/png"/>'
        "</wps:Output></wps:ProcessOutputs></wps:ExecuteResponse>"
    ).encode()


# --- 1. SSRF: links an upstream sends -------------------------------------------------------


async def test_stac_next_links_to_forbidden_targets_are_refused(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    hostile.answer("/stac", stac_landing())
    for name, target in forbidden_targets(secret).items():
        for method in ("GET", "POST"):
            link = {"rel": "next", "href": target, "method": method}
            if method == "POST":
                link["body"] = {"token": "page-2"}
            # Item assets point there too: they are passed on, never fetched.
            hostile.answer(
                "/stac/search", stac_page(link, target), content_type="application/geo+json"
            )
            status, page, text = await call(
                "catalogues", "stac", "search", method="POST", body=SEARCH
            )
            assert status == 200 and page["next_page_token"], (name, text)
            assert page["features"][0]["assets"]["data"]["href"] == target
            status, body, text = await call(
                "catalogues", "stac", "search", method="POST",
                body={**SEARCH, "page_token": page["next_page_token"]},
            )  # fmt: skip
            assert_refused(status, body, text)
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_stac_collection_paging_and_landing_links_are_refused(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    hostile.answer("/stac", stac_landing())
    for i, target in enumerate(forbidden_targets(secret).values()):
        hostile.answer(
            "/stac/collections",
            {"collections": [{"id": "c"}], "links": [{"rel": "next", "href": target}]},
        )
        status, body, text = await call("catalogues", "stac", "collections")
        assert_refused(status, body, text)
        # A landing page whose search and data links point there.
        hostile.answer(f"/land/{i}", stac_landing(search=target, data=target))
        status, body, text = await call(
            "catalogues", f"land-{i}", "search", method="POST", body=SEARCH
        )
        assert_refused(status, body, text)
        status, body, text = await call("catalogues", f"land-{i}", "collections")
        assert_refused(status, body, text)
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_opensearch_template_urls_are_refused(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    for i, target in enumerate(forbidden_targets(secret).values()):
        hostile.answer(
            f"/os/{i}.xml",
            opensearch_description(target + "?q={searchTerms?}"),
            content_type="application/opensearchdescription+xml",
        )
        status, body, text = await call("catalogues", f"os-{i}", "search", method="POST", body={})
        assert_refused(status, body, text)
        status, body, text = await call("catalogues", f"os-{i}", "items", "x")
        assert_refused(status, body, text)
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_user_supplied_urls_are_refused(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    """What a request body or query carries: quicklook hrefs, forged page tokens; complex
    inputs by reference go to the processing service, never fetched here."""
    hostile.answer("/stac", stac_landing())
    request = SearchRequest.model_validate(SEARCH)
    for target in forbidden_targets(secret).values():
        status, body, text = await call("catalogues", "stac", "quicklook", params={"href": target})
        if target.startswith("file:"):
            assert status == 400 and "Only http(s) quicklooks" in body["error"], text
        else:
            assert_refused(status, body, text)
        token = PageToken.encode("stac", request, {"m": "GET", "h": target})
        status, body, text = await call(
            "catalogues", "stac", "search", method="POST", body={**SEARCH, "page_token": token}
        )
        if target.startswith("file:"):
            assert status == 400 and "page token" in body["error"], text
        else:
            assert_refused(status, body, text)

    # Inputs by reference: written into the request to the service, never fetched by eo-jlab.
    target = forbidden_targets(secret)["loopback port of no endpoint"]
    hostile.answer("/ogc/processes/count/execution", {"count": {"value": 1}})
    status, job, text = await call(
        "processing", "ogc", "processes", "count", "execution", method="POST",
        body={"inputs": {"source": {"href": target}}, "mode": "sync"},
    )  # fmt: skip
    assert status == 200 and job["status"] == "successful", text
    sent = json.loads(hostile.hits("/ogc/processes/count/execution")[0]["body"])
    assert sent["inputs"]["source"] == {"href": target}

    hostile.routes["/wps"] = wps_route(
        lambda r: Answer(wps_status("", "<wps:ProcessSucceeded>Done</wps:ProcessSucceeded>", 1),
                         content_type="text/xml")
    )  # fmt: skip
    status, job, text = await call(
        "processing", "wps", "processes", "count", "execution", method="POST",
        body={"inputs": {"n": {"href": target}}, "mode": "sync"},
    )  # fmt: skip
    assert status == 200 and job["status"] == "successful", text
    posted = [r for r in hostile.hits("/wps") if r["method"] == "POST"][0]["body"].decode()
    assert "wps:Reference" in posted and target.replace("&", "&amp;") in posted
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_static_catalogue_child_links_are_not_followed(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    links = [{"rel": "child", "href": t} for t in forbidden_targets(secret).values()]
    links.append({"rel": "item", "href": "{base}/static/item.json"})
    hostile.answer("/static/catalog.json", {
        "type": "Catalog", "id": "remote", "stac_version": "1.0.0", "description": "d",
        "links": links,
    })  # fmt: skip
    hostile.answer("/static/item.json", stac_item())
    status, page, text = await call("catalogues", "static", "search", method="POST", body={})
    assert status == 200 and [f["id"] for f in page["features"]] == ["S2_ONE"], text
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_ogcapi_links_to_forbidden_targets_are_refused(
    call, hostile, secret, fake_dns, monitor, jp_data_dir, log_text
):
    targets = list(forbidden_targets(secret).values())
    hostile.answer("/ogc/processes/count", {"id": "count", "jobControlOptions": ["async-execute"]})
    jobs: list[str] = []
    for i, target in enumerate(targets):
        # Paging of the process list.
        hostile.answer(
            "/ogc/processes",
            {"processes": [{"id": "count"}], "links": [{"rel": "next", "href": target}]},
        )
        status, body, text = await call("processing", "ogc", "processes")
        assert_refused(status, body, text)

        # Where to follow a job: the Location header, or the monitor link of the body.
        for answer in (
            Answer(b"null", 201, headers={"Location": target}),
            Answer(
                {
                    "jobID": f"j{i}",
                    "status": "accepted",
                    "links": [{"rel": "monitor", "href": target}],
                },
                201,
            ),  # fmt: skip
        ):
            hostile.routes["/ogc/processes/count/execution"] = answer
            status, job, text = await call(
                "processing", "ogc", "processes", "count", "execution", method="POST",
                body={"inputs": {"n": 1}, "mode": "async"},
            )  # fmt: skip
            assert status == 201 and job["remote"]["status_url"] == target, text
            jobs.append(job["id"])

        # The results link of a finished job's status.
        hostile.answer("/ogc/processes/count/execution", b"null", 201,
                       headers={"Location": f"{{base}}/ogc/jobs/r{i}"})  # fmt: skip
        hostile.answer(f"/ogc/jobs/r{i}", {
            "jobID": f"r{i}", "status": "successful",
            "links": [{"rel": "results", "href": target, "type": "application/json"}],
        })  # fmt: skip
        status, job, text = await call(
            "processing", "ogc", "processes", "count", "execution", method="POST",
            body={"inputs": {"n": 1}, "mode": "async"},
        )  # fmt: skip
        assert status == 201, text
        jobs.append(job["id"])

    for job in await final_jobs(call, jobs):
        assert job["status"] == "failed", job
        message = job["message"]
        assert message.startswith(
            ("The service stopped answering:", "eo-jlab cannot follow this job:")
        ), job
        assert message.endswith("."), job
        assert any(w in message for w in ("may not fetch", "never fetches", "Not a valid URL",
                                          "Only http")), message  # fmt: skip
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_result_hrefs_to_forbidden_targets_are_refused(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    for target in forbidden_targets(secret).values():
        for via_redirect in (False, True):
            href = redirect_to(hostile, target) if via_redirect else target
            hostile.answer(
                "/ogc/processes/count/execution", {"out": {"href": href, "type": "image/png"}}
            )
            status, job, text = await call(
                "processing", "ogc", "processes", "count", "execution", method="POST",
                body={"inputs": {}, "mode": "sync"},
            )  # fmt: skip
            assert status == 200 and job["results"][0]["href"] == href, text
            status, body, text = await call("jobs", job["id"], "results", "out")
            assert_refused(status, body, text, redirect=via_redirect)

            hostile.routes["/wps"] = wps_route(lambda r, href=href: Answer(
                wps_reference_result(href), content_type="text/xml"))  # fmt: skip
            status, job, text = await call(
                "processing", "wps", "processes", "count", "execution", method="POST",
                body={"inputs": {}, "mode": "sync"},
            )  # fmt: skip
            assert status == 200 and job["results"][0]["href"] == href, text
            status, body, text = await call("jobs", job["id"], "results", "count")
            assert_refused(status, body, text, redirect=via_redirect)
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_wps_status_locations_to_forbidden_targets_fail_the_job(
    call, hostile, secret, fake_dns, monitor, jp_data_dir, log_text
):
    jobs: list[str] = []
    refused_by_policy: dict[str, bool] = {}
    for i, target in enumerate(forbidden_targets(secret).values()):
        accepted = "<wps:ProcessAccepted>Queued</wps:ProcessAccepted>"
        started = '<wps:ProcessStarted percentCompleted="10">Counting</wps:ProcessStarted>'
        # Straight from the Execute response; from a later status document (the first
        # poll is legitimate, then the service moves the job there); through a redirect.
        hostile.answer(
            f"/wps-status/moved-{i}.xml", wps_status(target, started), content_type="text/xml"
        )
        for location in (
            target,
            hostile.url(f"/wps-status/moved-{i}.xml"),
            redirect_to(hostile, target),
        ):
            hostile.routes["/wps"] = wps_route(
                lambda r, location=location, accepted=accepted: Answer(
                    wps_status(location, accepted), content_type="text/xml"
                )
            )
            status, job, text = await call(
                "processing", "wps", "processes", "count", "execution", method="POST",
                body={"inputs": {"n": 1}, "mode": "async"},
            )  # fmt: skip
            assert status == 201, text
            jobs.append(job["id"])
            # A status link the policy refuses fails the job at the first poll, with no
            # retry (the monitor's give-up time is not what ends it).
            refused_by_policy[job["id"]] = location == target
    for job in await final_jobs(call, jobs):
        assert job["status"] == "failed", job
        message = job["message"]
        if refused_by_policy[job["id"]]:
            assert message.startswith("eo-jlab cannot follow this job:"), job
        else:
            assert message.startswith(
                ("The service stopped answering:", "eo-jlab cannot follow this job:")
            ), job
        assert message.endswith("."), job
        words = ("may not fetch", "never fetches", "Not a valid URL", "Only http", "refuses",
                 "Invalid URL in location")  # fmt: skip
        assert any(w in message for w in words), message
    await assert_no_leak(call, jp_data_dir, log_text, secret)


async def test_redirects_of_allowed_services_to_forbidden_targets_are_502(
    call, hostile, secret, fake_dns, monitor, jp_data_dir, log_text
):
    hostile.answer("/stac", stac_landing())
    jobs = []
    for i, target in enumerate(forbidden_targets(secret).values()):
        via = redirect_to(hostile, target)
        hostile.answer(
            "/stac/search",
            stac_page({"rel": "next", "href": via}),
            content_type="application/geo+json",
        )
        status, page, text = await call("catalogues", "stac", "search", method="POST", body=SEARCH)
        assert status == 200, text
        status, body, text = await call(
            "catalogues", "stac", "search", method="POST",
            body={**SEARCH, "page_token": page["next_page_token"]},
        )  # fmt: skip
        assert_refused(status, body, text, redirect=True)
        status, body, text = await call("catalogues", "stac", "quicklook", params={"href": via})
        assert status == 502, text
        hostile.answer(
            f"/os-redir/{i}.xml",
            opensearch_description(via + "&q={searchTerms?}"),
            content_type="application/opensearchdescription+xml",
        )
        status, body, text = await call(
            "catalogues", f"os-redir-{i}", "search", method="POST", body={}
        )
        assert status == 502, text
        hostile.answer("/ogc/processes/count/execution", b"null", 201, headers={"Location": via})
        status, job, text = await call(
            "processing", "ogc", "processes", "count", "execution", method="POST",
            body={"inputs": {"n": 1}, "mode": "async"},
        )  # fmt: skip
        assert status == 201, text
        jobs.append(job["id"])
    for job in await final_jobs(call, jobs):
        assert job["status"] == "failed" and "stopped answering" in job["message"], job
    await assert_no_leak(call, jp_data_dir, log_text, secret)


# --- 1b. DNS: resolution checked on every request, connection pinned to the checked address --


async def test_dns_answers_are_checked_per_request_and_connections_pinned(
    call, hostile, secret, fake_dns, jp_data_dir, log_text
):
    """``rebind.test`` (an endpoint's host) first resolves to the service; any later answer
    points elsewhere: to a twin holding the secret on 127.0.0.2 (same port), then to the
    metadata address. The connection goes where the check looked; the next request checks
    again."""
    twin = Scripted(host="127.0.0.2", port=hostile.port, default=secret.default).start()
    try:
        answers = iter([["127.0.0.1"]])
        fake_dns["rebind.test"] = lambda: next(answers, ["127.0.0.2"])
        hostile.answer("/stac", stac_landing())
        status, body, text = await call("endpoints", "rebind", "probe")
        assert status == 200 and body["title"] == "Hostile STAC", text
        assert fake_dns["asked"].count("rebind.test") == 1  # resolved once, then pinned
        assert hostile.hits("/stac")[-1]["headers"]["Host"] == f"rebind.test:{hostile.port}"
        assert twin.requests == []

        fake_dns["rebind.test"] = ["169.254.169.254"]  # rebound to the metadata address
        for path in (("endpoints", "rebind", "probe"), ("catalogues", "rebind", "collections")):
            status, body, text = await call(*path)
            assert status == 403, text
            assert "resolves to 169.254.169.254" in body["error"], text
        assert len(hostile.hits("/stac")) == 1
        await assert_no_leak(call, jp_data_dir, log_text, secret, twin)
    finally:
        twin.stop()


async def test_malformed_upstream_links_are_502(call, hostile):
    """Links no URL parser takes ("http://[::1", a port "x"), numbers that are not: the
    upstream's fault, a 502 sentence (never a 500)."""
    bad = "http://[::1/x"
    hostile.answer("/stac", stac_landing())
    hostile.answer(
        "/stac/search",
        stac_page({"rel": "next", "href": bad}),
        content_type="application/geo+json",
    )
    status, body, text = await call("catalogues", "stac", "search", method="POST", body=SEARCH)
    assert status == 502, text
    hostile.answer(
        "/stac/collections", {"collections": [{"id": "c"}], "links": [{"rel": "next", "href": bad}]}
    )
    status, body, text = await call("catalogues", "stac", "collections")
    assert status == 502, text
    item = stac_item("relative.tif")
    item["links"] = [{"rel": "self", "href": bad}]
    hostile.answer("/stac/search", {"type": "FeatureCollection", "features": [item], "links": []},
                   content_type="application/geo+json")  # fmt: skip
    status, page, text = await call(
        "catalogues", "stac", "search", method="POST", body={**SEARCH, "limit": 6}
    )
    assert status == 200 and page["features"][0]["assets"]["data"]["href"] == "relative.tif", text
    hostile.answer("/land/0", stac_landing(search=bad, data=bad))
    status, body, text = await call("catalogues", "land-0", "search", method="POST", body=SEARCH)
    assert status == 502, text
    hostile.answer(
        "/os/0.xml",
        opensearch_description("{base}/os/results?q={searchTerms?}&i={startIndex?}").replace(
            'rel="results"', 'rel="results" indexOffset="first"'
        ),
        content_type="application/opensearchdescription+xml",
    )
    status, body, text = await call("catalogues", "os-0", "search", method="POST", body={})
    assert status == 502, text
    hostile.answer(
        "/ogc/processes", {"processes": [{"id": "count"}], "links": [{"rel": "next", "href": bad}]}
    )
    status, body, text = await call("processing", "ogc", "processes")
    assert status == 502, text
    hostile.answer("/ogc/processes/count/execution", b"null", 201, headers={"Location": bad})
    status, body, text = await call(
        "processing", "ogc", "processes", "count", "execution", method="POST",
        body={"inputs": {"n": 1}, "mode": "async"},
    )  # fmt: skip
    assert status == 502, text


# --- 2. XXE and entity expansion in every XML eo-jlab parses -------------------------------

CSW_CAPABILITIES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
    'xmlns:ows="http://www.opengis.net/ows" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'version="2.0.2"><ows:ServiceIdentification><ows:Title>Hostile CSW</ows:Title>'
    "</ows:ServiceIdentification><ows:OperationsMetadata>"
    '<ows:Operation name="GetRecords"><ows:DCP><ows:HTTP><ows:Get xlink:href="{base}/x"/>'
    '<ows:Post xlink:href="{base}/x"/></ows:HTTP></ows:DCP></ows:Operation>'
    '<ows:Operation name="GetDomain"/></ows:OperationsMetadata></csw:Capabilities>'
)


def hostile_xml(kind: str, secret_file: Path, secret: Scripted, root: str) -> bytes:
    """A document of ``root`` (prefix ows/wps/csw...) asking for the secret file, a remote
    DTD on the secret server, or a billion laughs."""
    body = (
        f'<{root} xmlns:ows="http://www.opengis.net/ows/1.1" '
        'xmlns:wps="http://www.opengis.net/wps/1.0.0" '
        'xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
        'xmlns="http://a9.com/-/spec/opensearch/1.1/">'
        "<ows:Exception><ows:ExceptionText>{ref}</ows:ExceptionText></ows:Exception>"
        f"<ShortName>{{ref}}</ShortName></{root}>"
    )
    if kind == "laughs":
        doctype = BILLION_LAUGHS.decode().split("]>")[0] + "]>"
        return (
            '<?xml version="1.0"?>' + doctype.split("?>", 1)[1] + body.format(ref="&lol9;")
        ).encode()
    if kind == "file":
        return (
            xxe_payload(str(secret_file)).split(b"<ows:Capabilities")[0]
            + body.format(ref="&secret;").encode()
        )
    if kind == "remote-dtd":
        return (
            f'<?xml version="1.0"?><!DOCTYPE x SYSTEM "{secret.url("/evil.dtd")}">'
            + body.format(ref="x")
        ).encode()
    assert kind == "parameter-entity"
    return (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "{secret.url("/p.dtd")}"> %p;]>'
        + body.format(ref="x")
    ).encode()


@pytest.mark.parametrize("kind", ["file", "laughs", "remote-dtd", "parameter-entity"])
async def test_hostile_xml_is_refused_everywhere(
    call, hostile, secret, monitor, jp_data_dir, log_text, tmp_path, kind
):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)

    def bad(root: str, status: int = 200) -> Answer:
        return Answer(hostile_xml(kind, secret_file, secret, root), status, "application/xml")

    good_wps = {"getcapabilities": WPS_CAPABILITIES, "describeprocess": WPS_DESCRIBE}

    def wps(hostile_step: str):
        def route(r: dict) -> Answer:
            step = "execute" if r["method"] == "POST" else r["query"].get("request", "").lower()
            if step == hostile_step:
                return bad("wps:ExecuteResponse" if step == "execute" else "wps:Capabilities")
            if step == "execute":  # accepted, its status document hostile
                location = hostile.url("/x/status.xml")
                return Answer(wps_status(location, "<wps:ProcessAccepted>Q</wps:ProcessAccepted>"),
                              content_type="text/xml")  # fmt: skip
            return Answer(good_wps[step], content_type="text/xml")

        return route

    def csw(r: dict) -> Answer:
        if r["query"].get("request") == "GetCapabilities":
            return Answer(CSW_CAPABILITIES, content_type="application/xml")
        return bad("csw:GetRecordsResponse")  # GetRecords (POST, GET), GetRecordById, GetDomain

    hostile.routes.update({
        "/x/os-desc": bad("OpenSearchDescription"),
        "/x/os-atom": Answer(opensearch_description("{base}/x/atom?q={searchTerms?}").replace(
            "application/geo+json", "application/atom+xml"), content_type="application/xml"),
        "/x/atom": bad("feed"),
        "/x/csw-caps": bad("csw:Capabilities"),
        "/x/csw-rec": csw,
        "/x/csw-exc": bad("ows:ExceptionReport", 400),
        "/x/wps-caps": wps("getcapabilities"),
        "/x/wps-desc": wps("describeprocess"),
        "/x/wps-exec": wps("execute"),
        "/x/wps-status": wps("none"),
        "/x/status.xml": bad("wps:ExecuteResponse"),
        "/x/wps-exc": bad("ows:ExceptionReport"),  # an exception report, HTTP 200
    })  # fmt: skip

    refused = [
        ("catalogues", "x-os-desc", "collections"),
        ("catalogues", "x-os-atom", "search", {}),
        ("catalogues", "x-csw-caps", "collections"),
        ("catalogues", "x-csw-rec", "search", {}),
        ("catalogues", "x-csw-rec", "items", "some-record"),
        ("catalogues", "x-csw-exc", "collections"),
        ("processing", "x-wps-caps", "processes"),
        ("processing", "x-wps-desc", "processes", "count"),
        ("processing", "x-wps-exec", "processes", "count", "execution", {"inputs": {"n": 1}}),
        ("processing", "x-wps-exc", "processes"),
    ]
    for path in refused:
        body = path[-1] if isinstance(path[-1], dict) else None
        path = path[:-1] if body is not None else path
        status, answer, text = await call(*path, method="POST" if body is not None else "GET",
                                          body=body)  # fmt: skip
        assert status == 502, (path, text)
        error = answer["error"]
        assert error.endswith(".") and "\n" not in error, error
        # An exception report (HTTP 400) is read as an error status, its XML never parsed.
        assert "sent XML that was refused" in error or re.search("answered (with )?HTTP 400", error)

    # GetDomain (collections of a CSW) is optional: a refused answer means "no collections".
    status, answer, text = await call("catalogues", "x-csw-rec", "collections")
    assert status == 200 and [c["id"] for c in answer["collections"]] == ["x-csw-rec"], text

    # A job whose status documents are hostile ends failed with a sentence.
    status, job, text = await call(
        "processing", "x-wps-status", "processes", "count", "execution", method="POST",
        body={"inputs": {"n": 1}, "mode": "async"},
    )  # fmt: skip
    assert status == 201, text
    [job] = await final_jobs(call, [job["id"]])
    assert job["status"] == "failed", job
    assert job["message"].startswith("The service stopped answering: The service at"), job
    assert "sent XML that was refused" in job["message"], job

    await assert_no_leak(call, jp_data_dir, log_text, secret)
    status, answer, text = await call("config")  # still answering
    assert status == 200 and answer["processing"], text


# --- 3. cookie-authenticated requests without XSRF ------------------------------------------


def _state_changing_routes():
    from .test_auth import _routes

    for param in _routes():
        verb, path = param.values
        if verb != "GET":
            yield verb, path


async def _browser_cookies(http_server_client, jp_base_url, token: str) -> dict[str, str]:
    """Log in as a browser does (the token once, in the URL): the login cookie, then the
    ``_xsrf`` cookie a page load sets."""
    cookies: dict[str, str] = {}

    def keep(response):
        for header in response.headers.get_list("Set-Cookie"):
            name, _, rest = header.partition("=")
            cookies[name] = rest.split(";", 1)[0]

    keep(await http_server_client.fetch(f"{jp_base_url}eo-jlab/config?token={token}"))
    page = await http_server_client.fetch(
        f"{jp_base_url}lab", headers={"Cookie": _cookie_header(cookies)}, raise_error=False
    )
    keep(page)
    return cookies


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def test_cookie_requests_without_xsrf_are_refused(
    jp_serverapp, http_server_client, jp_base_url, hostile
):
    token = jp_serverapp.identity_provider.token
    cookies = await _browser_cookies(http_server_client, jp_base_url, token)
    login = {k: v for k, v in cookies.items() if k.startswith("username-")}
    assert login and "_xsrf" in cookies, cookies
    routes = list(_state_changing_routes())
    assert len(routes) >= 10
    for verb, path in routes:
        body = b"{}" if verb in ("POST", "PUT", "PATCH") else None
        url = f"{jp_base_url}{path}"
        # The browser's cookie alone (what a cross-site form or fetch would carry): refused.
        response = await http_server_client.fetch(
            url, method=verb, body=body, raise_error=False,
            headers={"Cookie": _cookie_header(login), "Content-Type": "application/json"},
        )  # fmt: skip
        text = response.body.decode()
        assert response.code == 403, (verb, path, text)
        assert json.loads(text) == {"error": "The request lacks a valid XSRF token.", "details": {}}
        # A wrong token in the header: refused as well.
        response = await http_server_client.fetch(
            url, method=verb, body=body, raise_error=False,
            headers={"Cookie": _cookie_header(cookies), "X-XSRFToken": "not-the-token",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        assert response.code == 403 and "XSRF" in response.body.decode(), (verb, path)
        # With the page's token (same-origin JavaScript): not refused for XSRF.
        response = await http_server_client.fetch(
            url, method=verb, body=body, raise_error=False,
            headers={"Cookie": _cookie_header(cookies), "X-XSRFToken": cookies["_xsrf"],
                     "Content-Type": "application/json"},
        )  # fmt: skip
        text = response.body.decode()
        assert "XSRF" not in text and "Authentication is required" not in text, (verb, path, text)
        assert response.code != 500 and "Traceback" not in text, (verb, path, text)
    assert hostile.requests == []  # no upstream was asked on behalf of a refused request


async def test_cross_origin_requests_are_refused(
    jp_serverapp, http_server_client, jp_base_url, hostile
):
    token = jp_serverapp.identity_provider.token
    cookies = await _browser_cookies(http_server_client, jp_base_url, token)
    evil = {"Origin": "http://evil.example", "Cookie": _cookie_header(cookies),
            "X-XSRFToken": cookies["_xsrf"], "Content-Type": "application/json"}  # fmt: skip
    # Even with a stolen XSRF value, a page of another origin is refused (GET and POST).
    for verb, path, body in (("GET", "eo-jlab/config", None),
                             ("POST", "eo-jlab/catalogues/stac/search", b"{}"),
                             ("DELETE", "eo-jlab/jobs/some-id", None)):  # fmt: skip
        response = await http_server_client.fetch(
            f"{jp_base_url}{path}", method=verb, body=body, headers=evil, raise_error=False
        )
        assert response.code in (403, 404), (verb, path, response.code)
        assert "Traceback" not in response.body.decode()
        assert b'"catalogues"' not in response.body
    # A wrong token in the URL with a foreign Origin: refused too.
    response = await http_server_client.fetch(
        f"{jp_base_url}eo-jlab/config?token=not-the-token",
        headers={"Origin": "http://evil.example"}, raise_error=False,
    )  # fmt: skip
    assert response.code in (403, 404)
    assert hostile.requests == []


# --- 4. hostile ids in URL paths --------------------------------------------------------------

HOSTILE_SEGMENTS = {
    "dot-dot": "..",
    "encoded traversal": "..%2F..%2F..%2Fetc%2Fpasswd",
    "encoded slash": "a%2Fb",
    "NUL": "a%00b",
    "newline": "a%0Ab",
    "CRLF header injection": "a%0D%0ASet-Cookie%3A%20x%3D1",
    "control char": "a%1Fb%7F",
    "query and fragment": "a%3Fx%3D1%23frag",
    "invalid UTF-8": "%C0%AE%C0%AE",
    "percent": "%25",
    "very long": "x" * 5000,
}
ID_ROUTES = [
    ("GET", "endpoints/{}/probe"),
    ("GET", "catalogues/{}/collections"),
    ("GET", "catalogues/stac/collections/{}/queryables"),
    ("POST", "catalogues/{}/search"),
    ("GET", "catalogues/stac/items/{}"),
    ("GET", "catalogues/{}/quicklook?href=http://x/"),
    ("GET", "processing/{}/processes"),
    ("GET", "processing/ogc/processes/{}"),
    ("POST", "processing/ogc/processes/{}/execution"),
    ("GET", "processing/wps/processes/{}"),
    ("POST", "processing/wps/processes/{}/execution"),
    ("GET", "processing/{}/sandbox"),
    ("GET", "jobs/{}"),
    ("DELETE", "jobs/{}"),
    ("GET", "jobs/{}/exchange"),
    ("GET", "jobs/{}/results/out"),
    ("GET", "shares/{}"),
]


async def test_hostile_ids_in_paths_are_sentences(
    jp_serverapp, http_server_client, jp_base_url, hostile
):
    token = jp_serverapp.identity_provider.token
    hostile.answer("/stac", stac_landing())
    hostile.answer("/stac/search", stac_page(None), content_type="application/geo+json")
    hostile.routes["/wps"] = wps_route(lambda r: Answer(b"", 500))
    for verb, route in ID_ROUTES:
        for name, segment in HOSTILE_SEGMENTS.items():
            response = await http_server_client.fetch(
                f"{jp_base_url}eo-jlab/" + route.format(segment), method=verb,
                body=b'{"inputs": {}}' if verb == "POST" else None, raise_error=False,
                headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            text = response.body.decode("utf-8", "replace")
            where = (verb, route, name, response.code, text[:300])
            assert response.code in (400, 404), where
            assert "Traceback" not in text, where
            error = json.loads(text)["error"]
            assert isinstance(error, str) and error and "\n" not in error, where
            assert "Set-Cookie" not in response.headers or "x=1" not in str(
                response.headers.get_list("Set-Cookie")
            ), where
    paths = {r["path"] for r in hostile.requests}
    assert "/ogc/processes/..%2F..%2F..%2Fetc%2Fpasswd" in paths, paths  # one segment
    # What reached the upstream: process ids stay inside the process path (no traversal to
    # another resource of the service, no query smuggled in).
    for request in hostile.requests:
        if request["path"].startswith("/ogc"):
            assert request["path"].startswith("/ogc/processes/"), request["path"]
            assert request["query"] == {}, request


# --- 4b. hostile catalogue values in search and item snippets, executed ---------------------

CANARY = "attack-canary"
EVIL_IDS = [
    f"a'b\"c\\d\ne$(touch {CANARY})`touch {CANARY}`",
    f'"); system("touch {CANARY}"); ("\'\'\'; __import__("os").system("touch {CANARY}"); \'\'\'',
    "\\\"\\'\\n\t é ✓ 😀 ${HOME} '\\'' %s {x} \\u00e9 <b>",
]
EVIL_COLLECTION = f"col'\"$(touch {CANARY})\\ é`touch {CANARY}`"


def _evil_features(protocol: str) -> list[dict]:
    features = []
    for index, item_id in enumerate(EVIL_IDS):
        west = 10.0 + index
        feature = {
            "type": "Feature", "id": item_id,
            "geometry": {"type": "Point", "coordinates": [west, 40.0]},
            "bbox": [west, 40.0, west, 40.0],
            "properties": {"title": f"{item_id} title\"'`$(touch {CANARY})`",
                           "datetime": f"2025-02-0{index + 1}T10:00:00Z"},
        }  # fmt: skip
        if protocol == "stac":
            feature.update({
                "stac_version": "1.0.0", "collection": EVIL_COLLECTION,
                "assets": {f"k'ey\"$(touch {CANARY})": {"href": "{base}/data/a'b.tif"}},
                "links": [{"rel": "self",
                           "href": "{base}/snip/stac/items/" + quote(item_id, safe="")}],
            })  # fmt: skip
        else:
            feature["properties"].update(
                {"parentIdentifier": EVIL_COLLECTION, "thumbnail": "{base}/q/x'y.png"}
            )
        features.append(feature)
    return features


def _snippet_routes(hostile: Scripted) -> None:
    stac = _evil_features("stac")

    def search(request: dict) -> Answer:
        body = json.loads(request["body"] or b"{}") if request["method"] == "POST" else {}
        asked = body.get("collections") or request["query"].get("collections", "").split(",")
        features = stac if asked == [EVIL_COLLECTION] else []
        return Answer({"type": "FeatureCollection", "features": features, "links": []},
                      content_type="application/geo+json")  # fmt: skip

    def item(request: dict) -> Answer:
        wanted = [
            f for f in stac if "/snip/stac/items/" + quote(f["id"], safe="") == request["path"]
        ]
        return Answer(wanted[0]) if wanted else Answer({"description": "no"}, 404)

    landing = stac_landing(search="{base}/snip/stac/search", data="{base}/snip/stac/collections")
    hostile.answer("/snip/stac", landing)
    hostile.routes["/snip/stac/search"] = search
    for feature in stac:
        hostile.routes["/snip/stac/items/" + quote(feature["id"], safe="")] = item
    hostile.answer(
        "/snip/stac/collections", {"collections": [{"id": EVIL_COLLECTION}], "links": []}
    )

    template = ("{base}/snip/os/search?q={searchTerms?}&parent={eo:parentIdentifier?}"
                "&count={count?}&start={startIndex?}")  # fmt: skip
    description = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:eo="http://a9.com/-/opensearch/extensions/eo/1.0/" '
        'xmlns:param="http://a9.com/-/spec/opensearch/extensions/parameters/1.0/">'
        "<ShortName>Hostile</ShortName>"
        f'<Url type="application/geo+json" rel="results" template="{escape(template)}">'
        '<param:Parameter name="parent" value="{eo:parentIdentifier}">'
        f'<param:Option value="{escape(EVIL_COLLECTION, {chr(34): "&quot;"})}"/>'
        '<param:Option value="plain"/></param:Parameter></Url></OpenSearchDescription>'
    )
    hostile.answer(
        "/snip/os.xml", description, content_type="application/opensearchdescription+xml"
    )
    opensearch = _evil_features("opensearch")

    def os_search(request: dict) -> Answer:
        features = opensearch if request["query"].get("parent") == EVIL_COLLECTION else []
        return Answer({"type": "FeatureCollection", "features": features,
                       "properties": {"totalResults": len(features)}},
                      content_type="application/geo+json")  # fmt: skip

    hostile.routes["/snip/os/search"] = os_search


@pytest.fixture(scope="module")
def snippet_work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("attack-snippets")


@pytest.fixture(scope="module")
def kernels(snippet_work):
    from .kernels import Kernel, has_kernel

    if not has_kernel("ir"):
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    started = {"python": Kernel("python3", snippet_work), "r": Kernel("ir", snippet_work)}
    yield started
    for kernel in started.values():
        kernel.stop()


@pytest.mark.timeout(600)
async def test_hostile_catalogue_values_in_snippets_run_as_data(
    call, hostile, kernels, snippet_work
):
    """STAC API and OpenSearch catalogues whose collection id, item ids, titles and asset
    keys break out of strings: the search and item snippets (python, R, shell) send the
    collection exactly as given and print the ids exactly, running none of them."""
    from .kernels import run_bash

    _snippet_routes(hostile)
    canaries = [snippet_work / CANARY, Path.cwd() / CANARY]
    assert not any(p.exists() for p in canaries)

    def execute(language: str, code: str) -> str:
        run = (run_bash(code, snippet_work, timeout=120) if language == "shell"
               else kernels[language].run(code, timeout=120))  # fmt: skip
        return run.check(code).stdout

    for catalogue in ("snip-stac", "snip-os"):
        status, collections, text = await call("catalogues", catalogue, "collections")
        assert (
            status == 200 and [c["id"] for c in collections["collections"]][0] == EVIL_COLLECTION
        ), text
        request = {"collections": [EVIL_COLLECTION], "limit": 10}
        status, page, text = await call(
            "catalogues", catalogue, "search", method="POST", body=request
        )
        assert status == 200 and [f["id"] for f in page["features"]] == EVIL_IDS, text
        for language in ("python", "r", "shell"):
            target = {"kind": "search", "catalogue": catalogue, "request": request}
            status, made, text = await call(
                "snippets", method="POST", body={"target": target, "language": language}
            )
            assert status == 200, text
            stdout = execute(language, made["code"])
            for item_id in EVIL_IDS:  # found only when the collection travelled intact
                assert f"{item_id}\n" in stdout, (catalogue, language, stdout, made["code"])
            for item in page["features"]:
                target = {"kind": "item", "catalogue": catalogue, "item": item}
                status, made, text = await call(
                    "snippets", method="POST", body={"target": target, "language": language}
                )
                assert status == 200, text
                stdout = execute(language, made["code"])
                assert f"{item['id']}\n" in stdout, (catalogue, language, stdout, made["code"])
    assert not any(p.exists() for p in canaries), "a command from a catalogue value ran"
