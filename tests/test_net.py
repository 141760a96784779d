"""net.py against real loopback servers (acceptance 4), directly and through the REST API."""

from __future__ import annotations

import time

import pytest

from eo_jlab.errors import BadRequest, Forbidden, UpstreamError, UpstreamTimeout
from eo_jlab.models import CatalogueEndpoint
from eo_jlab.net import HostPolicy, HostRule, HttpClient, UnsafeXML, parse_xml, refused_address

from .servers import free_port
from .upstream import BILLION_LAUGHS, Upstream, xxe_payload

SECRET = "eo-jlab-test-secret-7f3a9c"
CAP = 1_000_000


@pytest.fixture
def other():
    """A second loopback server that no endpoint names: redirects there must be refused."""
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def eo_config(upstream, other, secret_file):
    upstream.xxe_path = str(secret_file)
    upstream.stall_seconds = 6
    u = upstream.url

    def stac(eid, url):
        return {"id": eid, "protocol": "stac", "url": url}

    return {
        "catalogues": [
            stac("ok", u("/stac")),
            stac("redirect-out", u("/redirect?to=" + other.url("/stac"))),
            stac("redirect-in", u("/redirect?to=" + u("/stac"))),
            stac("redirect-meta", u("/redirect?to=http://169.254.169.254/latest/meta-data/")),
            stac("meta", "http://169.254.169.254/latest/meta-data/"),
            stac("meta-decimal", "http://2852039166/latest/meta-data/"),
            stac("meta-v6", "http://[::ffff:169.254.169.254]/latest/"),
            stac("big", u("/big?mb=200")),
            stac("big-declared", u("/big-declared")),
            stac("stall", u("/stall")),
            stac("stall-headers", u("/stall-headers")),
            stac("echo", u("/echo")),
            stac("garbled", u("/garbled")),
            stac("html", u("/html")),
            stac("error500", u("/status?code=500")),
            stac("closed", f"http://127.0.0.1:{free_port()}/stac"),
            {"id": "xxe", "protocol": "csw", "url": u("/xxe")},
            {"id": "laughs", "protocol": "csw", "url": u("/laughs")},
        ],
        "processing": [{"id": "wps", "protocol": "wps", "url": u("/wps")}],
        "request_timeout": 2.0,
        "max_response_bytes": CAP,
    }


# --- through the REST API ----------------------------------------------------------------


async def test_probe_reads_titles(eo_get):
    status, body = await eo_get("endpoints", "ok", "probe")
    assert status == 200
    assert body["ok"] is True and body["status"] == 200 and body["title"] == "Loopback STAC"
    status, body = await eo_get("endpoints", "wps", "probe")
    assert (status, body["title"]) == (200, "Loopback WPS")


async def test_probe_unknown_endpoint_404(eo_get):
    status, body = await eo_get("endpoints", "nope", "probe")
    assert status == 404
    assert body["error"] == "No endpoint is configured with the id 'nope'."


async def test_redirect_to_host_not_allowed_is_502(eo_get, other):
    status, body = await eo_get("endpoints", "redirect-out", "probe")
    assert status == 502
    assert f"redirected to 127.0.0.1:{other.port}, which eo-jlab refuses" in body["error"]
    assert other.requests == []  # the refused host was never contacted


async def test_redirect_to_allowed_host_is_followed(eo_get):
    status, body = await eo_get("endpoints", "redirect-in", "probe")
    assert (status, body["title"]) == (200, "Loopback STAC")


async def test_redirect_to_metadata_address_is_502(eo_get):
    status, body = await eo_get("endpoints", "redirect-meta", "probe")
    assert status == 502
    assert "169.254.169.254" in body["error"] and "refuses" in body["error"]


@pytest.mark.parametrize("eid", ["meta", "meta-decimal", "meta-v6"])
async def test_metadata_endpoint_is_refused(eo_get, eid):
    started = time.monotonic()
    status, body = await eo_get("endpoints", eid, "probe")
    assert status == 403
    assert "link-local and cloud metadata" in body["error"] or "metadata address" in body["error"]
    assert time.monotonic() - started < 1.5  # refused before any connection attempt


async def test_body_over_cap_is_502_without_reading_it_all(eo_get, upstream):
    status, body = await eo_get("endpoints", "big", "probe")
    assert status == 502
    assert "larger than the limit of 1,000,000 bytes" in body["error"]
    # The server meant to send 200 MB; the client hung up after about the cap (plus buffers).
    deadline = time.monotonic() + 5
    sent = upstream.big_bytes_sent
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if upstream.big_bytes_sent == sent:
            break
        sent = upstream.big_bytes_sent
    assert sent < 30_000_000, sent


async def test_declared_length_over_cap_is_refused_at_once(eo_get):
    started = time.monotonic()
    status, body = await eo_get("endpoints", "big-declared", "probe")
    assert status == 502 and "larger than the limit" in body["error"]
    assert time.monotonic() - started < 1.9  # did not wait for the body (timeout is 2 s)


@pytest.mark.parametrize("eid", ["stall", "stall-headers"])
async def test_stall_past_timeout_is_504(eo_get, eid):
    status, body = await eo_get("endpoints", eid, "probe")
    assert status == 504
    assert body["error"].endswith("did not answer within 2 seconds.")
    assert body["details"]["timeout"] == 2.0


async def test_xxe_is_502_and_file_content_appears_nowhere(eo_get, jp_serverapp, caplog):
    status, body = await eo_get("endpoints", "xxe", "probe")
    assert status == 502
    assert "sent XML that was refused" in body["error"]
    assert SECRET not in str(body)
    assert SECRET not in caplog.text


async def test_billion_laughs_is_502(eo_get):
    started = time.monotonic()
    status, body = await eo_get("endpoints", "laughs", "probe")
    assert status == 502 and "declares XML entities" in body["error"]
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("eid", "message"),
    [
        ("garbled", "did not answer with JSON"),
        ("html", "did not answer with JSON"),
        ("error500", "answered HTTP 500 Internal Server Error."),
        ("closed", "connection refused"),
    ],
)
async def test_upstream_misbehaviour_is_a_clean_502(eo_get, eid, message):
    status, body = await eo_get("endpoints", eid, "probe")
    assert status == 502
    assert message in body["error"]
    assert "Traceback" not in str(body)


async def test_jupyter_credentials_never_forwarded(jp_fetch, upstream, jp_serverapp):
    token = jp_serverapp.identity_provider.token
    response = await jp_fetch(
        "eo-jlab",
        "endpoints",
        "echo",
        "probe",
        headers={
            "Cookie": "_xsrf=abc; username-127-0-0-1-8888=secret-cookie",
            "X-XSRFToken": "abc",
        },
    )
    assert response.code == 200
    sent = [r for r in upstream.requests if r["path"] == "/echo"]
    assert len(sent) == 1
    headers = {k.lower(): v for k, v in sent[0]["headers"].items()}
    assert "authorization" not in headers and "cookie" not in headers
    assert "x-xsrftoken" not in headers
    assert token not in str(sent[0]) and "secret-cookie" not in str(sent[0])
    assert headers["user-agent"].startswith("eo-jlab/")


# --- the client directly ------------------------------------------------------------------


def _client(upstream, *urls, **kwargs):
    endpoints = [
        CatalogueEndpoint(id=f"e{i}", protocol="stac", url=u, **kwargs.pop("extra", {}))
        for i, u in enumerate(urls)
    ]
    return HttpClient(
        HostPolicy(endpoints, kwargs.pop("allowed", ())),
        endpoints=endpoints,
        timeout=kwargs.pop("timeout", 2.0),
        max_bytes=kwargs.pop("max_bytes", CAP),
    )


async def test_host_not_allowed_is_forbidden(upstream, other):
    client = _client(upstream, upstream.url("/stac"))
    try:
        with pytest.raises(Forbidden, match="not a configured endpoint"):
            await client.get(other.url("/stac"))
        with pytest.raises(BadRequest, match="Only http and https"):
            await client.get("file:///etc/passwd")
        assert other.requests == []
    finally:
        await client.aclose()


async def test_allowed_hosts_extends_the_policy(upstream, other):
    client = _client(upstream, upstream.url("/stac"), allowed=[f"127.0.0.1:{other.port}"])
    try:
        response = await client.get(other.url("/stac"))
        assert response.json()["title"] == "Loopback STAC"
    finally:
        await client.aclose()


async def test_endpoint_credentials_stay_on_their_origin(upstream, other, monkeypatch):
    monkeypatch.setenv("EO_TEST_TOKEN", "endpoint-secret")
    endpoint = CatalogueEndpoint(
        id="e",
        protocol="stac",
        url=upstream.url("/stac"),
        auth={"type": "bearer", "token_env": "EO_TEST_TOKEN"},
    )
    client = HttpClient(HostPolicy([endpoint], [f"127.0.0.1:{other.port}"]), endpoints=[endpoint])
    try:
        await client.get(upstream.url("/echo"))
        await client.get(upstream.url("/redirect?to=" + other.url("/echo")))
    finally:
        await client.aclose()
    assert upstream.requests[0]["headers"]["Authorization"] == "Bearer endpoint-secret"
    assert "Authorization" not in other.requests[0]["headers"]


async def test_missing_credential_variable_is_a_clear_error(upstream, monkeypatch):
    monkeypatch.delenv("EO_TEST_MISSING", raising=False)
    endpoint = CatalogueEndpoint(
        id="e",
        protocol="stac",
        url=upstream.url("/stac"),
        auth={"type": "bearer", "token_env": "EO_TEST_MISSING"},
    )
    client = HttpClient(HostPolicy([endpoint]), endpoints=[endpoint])
    try:
        with pytest.raises(Forbidden, match="EO_TEST_MISSING is not set"):
            await client.get(upstream.url("/stac"))
    finally:
        await client.aclose()
    assert upstream.requests == []


async def test_timeout_and_cap_direct(upstream):
    upstream.stall_seconds = 4
    client = _client(upstream, upstream.url("/"), timeout=1.0)
    try:
        with pytest.raises(UpstreamTimeout):
            await client.get(upstream.url("/stall"))
        with pytest.raises(UpstreamError, match="larger than the limit"):
            await client.get(upstream.url("/big?mb=50"))
    finally:
        await client.aclose()


def test_parse_xml_refuses_entities(secret_file):
    with pytest.raises(UnsafeXML):
        parse_xml(xxe_payload(str(secret_file)))
    with pytest.raises(UnsafeXML):
        parse_xml(BILLION_LAUGHS)
    with pytest.raises(UnsafeXML):
        parse_xml(b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a>x</a>')
    root = parse_xml(b'<?xml version="1.0"?><a xmlns="urn:x"><b>text</b></a>')
    assert root.find("{urn:x}b").text == "text"


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("169.254.169.254", True),
        ("169.254.0.1", True),
        ("fe80::1", True),
        ("fe80::1%eth0", True),
        ("100.100.100.200", True),
        ("fd00:ec2::254", True),
        ("::ffff:169.254.169.254", True),
        ("64:ff9b::a9fe:a9fe", True),
        ("2002:a9fe:a9fe::", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.0.0.1", False),
        ("100.100.100.201", False),
        ("example.com", False),
    ],
)
def test_refused_addresses(address, refused):
    assert refused_address(address) is refused


def test_host_rules():
    assert HostRule.parse("*.example.com").matches("data.example.com", 443)
    assert not HostRule.parse("*.example.com").matches("example.org", 443)
    assert HostRule.parse("example.com:8080").matches("example.com", 8080)
    assert not HostRule.parse("example.com:8080").matches("example.com", 80)
    assert HostRule.parse("[::1]:9000") == HostRule("::1", 9000)
    assert HostRule.parse("https://Data.Example.com/x") == HostRule("data.example.com", 443)
