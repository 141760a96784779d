"""The one HTTP client every eo_jlab adapter uses, and the safe XML parser.

Guard rails (DESIGN.md, "Guard rails"):

* every request has a total deadline (``request_timeout``), not just per-read timeouts;
* a response body is capped (``max_response_bytes``); a larger one is refused from its
  ``Content-Length`` or cut off while streaming, never read whole;
* only hosts of configured endpoints and ``allowed_hosts`` are fetched from; every redirect
  hop is checked again; names are resolved once and the connection is pinned to the checked
  address, so a DNS answer cannot change between the check and the connection;
* link-local and cloud metadata addresses are refused always, whatever the allow-list says;
* at most ``per_host`` requests to one origin (scheme, host, port) are under way at once
  (``c.EOJLab.max_connections_per_host``, below the pool of ``MAX_CONNECTIONS``), so one slow
  service cannot take every connection; waiting for a slot counts against the deadline;
* a redirect's ``Location`` that no URL parser takes is the service's fault (502), like
  every other value an upstream sends;
* the client builds its own headers: Jupyter cookies, tokens and XSRF values of the browser
  are never forwarded; endpoint credentials go only to that endpoint's own origin;
* XML is parsed with no DTD loading, no network, no entity expansion, and a document that
  declares entities is refused outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree

from . import __version__
from .errors import BadRequest, EOJLabError, Forbidden, UpstreamError, UpstreamTimeout
from .models import Endpoint

log = logging.getLogger(__name__)
USER_AGENT = f"eo-jlab/{__version__} (+https://github.com/eo-jlab/eo_jlab)"
MAX_REDIRECTS = 5
MAX_CONNECTIONS = 100  # the shared pool; one origin gets at most ``per_host`` of it
PER_HOST = 20
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Never forwarded, whoever asks: these belong to the user's Jupyter session or to endpoint auth.
_SESSION_HEADERS = {"cookie", "authorization", "proxy-authorization", "x-xsrftoken", "x-csrftoken"}
_REFUSED_NETWORKS = [
    ipaddress.ip_network("169.254.0.0/16"),  # IPv4 link-local, incl. 169.254.169.254 metadata
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
]


_timeout = getattr(asyncio, "timeout", None)


@functools.lru_cache(maxsize=1024)
def refused_address(address: str) -> bool:
    """True for link-local and cloud metadata addresses, in any of their IPv6 spellings."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            candidates.append(ip.ipv4_mapped)
        if ip.sixtofour:
            candidates.append(ip.sixtofour)
        # NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address in the last 32 bits
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return any(
        c in net for c in candidates for net in _REFUSED_NETWORKS if c.version == net.version
    )


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return (url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme, 0))


@dataclass(frozen=True)
class HostRule:
    """One allow-list entry: ``host``, ``host:port``, ``*.domain`` or ``[v6]:port``."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostRule:
        text = text.strip().lower()
        if "://" in text:
            url = httpx.URL(text)
            if not url.host:
                raise ValueError(f"not a host name: {text!r}")
            return cls(url.host, url.port or _DEFAULT_PORTS.get(url.scheme))
        parts = urlsplit("//" + text)
        if not parts.hostname:
            raise ValueError(f"not a host name: {text!r}")
        host = parts.hostname
        if text.startswith("*."):
            host = "*." + host.removeprefix("*.")
        return cls(host, parts.port)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


class HostPolicy:
    """Which hosts eo_jlab may fetch from: configured endpoints plus ``allowed_hosts``."""

    def __init__(self, endpoints: Iterable[Endpoint], allowed_hosts: Iterable[str] = ()):
        self.rules: list[HostRule] = []
        for endpoint in endpoints:
            if endpoint.is_remote:
                url = httpx.URL(endpoint.url)
                self.rules.append(HostRule(url.host.lower(), _origin(url)[2]))
        for entry in allowed_hosts:
            self.rules.append(HostRule.parse(entry))

    def allows(self, url: httpx.URL) -> bool:
        _, host, port = _origin(url)
        return any(rule.matches(host, port) for rule in self.rules)


class AddressRefused(Forbidden):
    """The URL points at a link-local or metadata address."""


class HostNotAllowed(Forbidden):
    """The URL's host is neither a configured endpoint nor in ``allowed_hosts``."""


class UnusableURL(BadRequest):
    """Not a URL eo-jlab can fetch: unparsable, not http(s), no host."""


@dataclass
class UpstreamResponse:
    """A fully read (and size-capped) upstream answer."""

    status: int
    headers: httpx.Headers
    content: bytes
    url: str
    elapsed: float
    history: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.headers) or "utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamError(
                f"The service at {_host_of(self.url)} did not answer with JSON.",
                {"url": self.url, "content_type": self.content_type, "excerpt": self.excerpt()},
            ) from None

    def xml(self) -> etree._Element:
        try:
            return parse_xml(self.content)
        except UnsafeXML as exc:
            raise UpstreamError(
                f"The service at {_host_of(self.url)} sent XML that was refused: {exc}.",
                {"url": self.url},
            ) from None
        except etree.XMLSyntaxError:
            raise UpstreamError(
                f"The service at {_host_of(self.url)} did not answer with well-formed XML.",
                {"url": self.url, "content_type": self.content_type, "excerpt": self.excerpt()},
            ) from None

    def excerpt(self, limit: int = 300) -> str:
        return self.text[:limit]


def _charset(headers: httpx.Headers) -> str | None:
    for part in headers.get("content-type", "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _host_of(url: str | httpx.URL) -> str:
    try:
        u = httpx.URL(str(url))
        if not u.host:  # file:, data: ... (said in a sentence: never an empty name)
            return f"a {u.scheme or 'relative'} URL"
        return f"{u.host}:{u.port}" if u.port else u.host
    except Exception:
        return "an unparsable address"


class _NoCookies(DefaultCookiePolicy):
    """Upstream cookies are never stored, so nothing is ever replayed to any service."""

    def set_ok(self, cookie, request):  # noqa: D102
        return False

    def return_ok(self, cookie, request):  # noqa: D102
        return False


class HttpClient:
    """Async HTTP client with the guard rails above. One instance per server."""

    def __init__(
        self,
        policy: HostPolicy,
        *,
        timeout: float = 30.0,
        max_bytes: int = 50_000_000,
        endpoints: Iterable[Endpoint] = (),
        per_host: int = PER_HOST,
    ):
        self.policy = policy
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.per_host = per_host
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._holders: dict[tuple[str, str, int], int] = {}
        self._auth_by_origin = {
            _origin(httpx.URL(e.url)): e.auth for e in endpoints if e.is_remote and e.auth
        }
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            cookies=CookieJar(policy=_NoCookies()),
            # The total deadline is enforced around each request; these only bound each phase.
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=20),
        )

    @contextlib.asynccontextmanager
    async def _host_slot(self, url: httpx.URL) -> AsyncIterator[None]:
        """One of the ``per_host`` slots of the URL's origin, held until its answer is read."""
        key = _origin(url)
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(self.per_host)
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with slots:
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:  # nobody holds or waits: forget the origin
                del self._holders[key], self._slots[key]

    async def aclose(self) -> None:
        await self._client.aclose()

    def set_credentials(self, url: str, auth: Any | None) -> None:
        """From now on send ``auth.headers()`` to ``url``'s origin, under the same rules as
        configured endpoints' credentials (that origin only, never across a redirect); None
        stops. For services known only at run time (the local sandbox's per-start token)."""
        origin = _origin(httpx.URL(url))
        if auth is None:
            self._auth_by_origin.pop(origin, None)
        else:
            self._auth_by_origin[origin] = auth

    async def get(self, url: str, **kwargs: Any) -> UpstreamResponse:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> UpstreamResponse:
        return await self.request("POST", url, **kwargs)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        expect_ok: bool = True,
    ) -> UpstreamResponse:
        """Send one request (following allowed redirects) and read its capped body.

        Raises ``Forbidden`` for a URL the policy refuses, ``UpstreamError`` (502) when the
        service cannot be reached, redirects somewhere refused, sends too much or answers
        with an error status (when ``expect_ok``), ``UpstreamTimeout`` (504) past the deadline.
        """
        deadline = self.timeout if timeout is None else timeout
        started = time.monotonic()
        sending = self._send(
            method,
            url,
            params=params,
            headers=headers,
            json_body=json_body,
            content=content,
            max_bytes=self.max_bytes if max_bytes is None else max_bytes,
            expect_ok=expect_ok,
            started=started,
        )
        try:
            if _timeout is not None:  # Python 3.11+: no task per request, unlike wait_for
                async with _timeout(deadline):
                    return await sending
            return await asyncio.wait_for(sending, deadline)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise UpstreamTimeout(
                f"The service at {_host_of(url)} did not answer within {deadline:g} seconds.",
                {"url": redact_url(url), "timeout": deadline},
            ) from None
        except EOJLabError:
            raise
        except Exception as exc:  # whatever else an answer provokes is still the service's
            log.warning("eo_jlab: unexpected error talking to %s", redact_url(url), exc_info=True)
            raise UpstreamError(
                f"Could not talk to the service at {_host_of(url)} ({redact_urls(_reason(exc))}).",
                {"url": redact_url(url)},
            ) from None

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        json_body: Any,
        content: bytes | str | None,
        max_bytes: int,
        expect_ok: bool,
        started: float,
    ) -> UpstreamResponse:
        try:
            target = httpx.URL(url, params=params) if params else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise UnusableURL(f"Not a valid URL: {url[:200]!r}.") from None
        history: list[str] = []
        first_origin = _origin(target)
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                address = await self._check(target)
            except EOJLabError as exc:
                if not history:
                    raise
                raise UpstreamError(
                    f"The service at {_host_of(history[0])} redirected to {_host_of(target)}, "
                    f"which eo-jlab refuses: {exc.message}",
                    {"url": redact_url(history[0]), "redirect": redact_url(str(target))},
                ) from None
            request_headers = self._headers(
                target, headers, same_origin=_origin(target) == first_origin
            )
            async with self._host_slot(target):
                response = await self._open(
                    method, target, address, request_headers, json_body, content
                )
                try:
                    if response.is_redirect and "location" in response.headers:
                        history.append(str(target))
                        target = _redirect(target, response.headers["location"])
                        if response.status_code in (301, 302, 303) and method != "HEAD":
                            method, json_body, content = "GET", None, None
                        continue
                    body = await self._read_capped(response, target, max_bytes)
                finally:
                    await response.aclose()
            result = UpstreamResponse(
                status=response.status_code,
                headers=response.headers,
                content=body,
                url=str(target),
                elapsed=time.monotonic() - started,
                history=history,
            )
            if expect_ok and response.status_code >= 400:
                raise UpstreamError(
                    f"The service at {_host_of(target)} answered HTTP {response.status_code}"
                    f" {response.reason_phrase}.".replace(" .", "."),
                    {
                        "url": redact_url(str(target)),
                        "status": response.status_code,
                        "excerpt": result.excerpt(),
                    },
                )
            return result
        raise UpstreamError(
            f"The service at {_host_of(url)} redirected more than {MAX_REDIRECTS} times.",
            {"url": redact_url(url)},
        )

    async def _check(self, url: httpx.URL) -> str:
        """Refuse what the policy refuses; return the checked IP address to connect to."""
        if url.scheme not in _DEFAULT_PORTS:
            raise UnusableURL(f"Only http and https URLs can be fetched, not {url.scheme!r}.")
        host = url.host
        if not host:
            raise UnusableURL("The URL has no host.")
        if refused_address(host):
            raise AddressRefused(
                f"eo-jlab never fetches from {host}: "
                "link-local and cloud metadata addresses are refused."
            )
        if not self.policy.allows(url):
            raise HostNotAllowed(
                f"eo-jlab may not fetch from {_host_of(url)}: it is not a configured endpoint. "
                "An operator can add it to c.EOJLab.allowed_hosts.",
                {"host": host},
            )
        port = _origin(url)[2]
        if not 0 < port < 65536:
            raise UnusableURL(f"The URL's port {port} is not a port number.")
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):  # UnicodeError: a label IDNA refuses (too long...)
            raise UpstreamError(
                f"The host name {host} could not be resolved.", {"host": host}
            ) from None
        addresses = [info[4][0] for info in infos]
        bad = [a for a in addresses if refused_address(a)]
        if bad:
            raise AddressRefused(
                f"eo-jlab never fetches from {host}: it resolves to {bad[0]}, a link-local or "
                "cloud metadata address."
            )
        return addresses[0]

    def _headers(
        self, url: httpx.URL, extra: dict[str, str] | None, *, same_origin: bool
    ) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        for key, value in (extra or {}).items():
            if key.lower() not in _SESSION_HEADERS and key.lower() != "host":
                headers[key] = value
        auth = self._auth_by_origin.get(_origin(url))
        # Credentials go only to the origin they were configured for, never across a redirect.
        if auth is not None and same_origin:
            headers.update(auth.headers())
        return headers

    async def _open(
        self,
        method: str,
        url: httpx.URL,
        address: str,
        headers: dict[str, str],
        json_body: Any,
        content: bytes | str | None,
    ) -> httpx.Response:
        # Connect to the address that was checked; Host and TLS SNI keep the original name.
        pinned = url.copy_with(host=address)
        headers = {**headers, "Host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        request = self._client.build_request(
            method, pinned, headers=headers, json=json_body, content=content, extensions=extensions
        )
        try:
            return await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise
        except httpx.InvalidURL:  # httpx reads a redirect's Location even when not following
            raise UpstreamError(
                f"The service at {_host_of(url)} redirected to an address that is not a valid URL.",
                {"url": redact_url(url)},
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"Could not connect to the service at {_host_of(url)} ({_reason(exc)}).",
                {"url": redact_url(str(url))},
            ) from None

    async def _read_capped(self, response: httpx.Response, url: httpx.URL, max_bytes: int) -> bytes:
        declared = response.headers.get("content-length")

        def too_big() -> UpstreamError:  # built only when needed: this runs for every answer
            return UpstreamError(
                f"The answer of the service at {_host_of(url)} is larger than the limit of "
                f"{max_bytes:,} bytes (c.EOJLab.max_response_bytes).",
                {"url": redact_url(str(url)), "limit": max_bytes},
            )

        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise too_big()
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise too_big()
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"The connection to the service at {_host_of(url)} broke while reading its answer"
                f" ({_reason(exc)}).",
                {"url": redact_url(str(url))},
            ) from None
        return b"".join(chunks)


def _redirect(url: httpx.URL, location: str) -> httpx.URL:
    """Where a redirect leads: a ``Location`` no URL parser takes (``http:\\\\host\\path``)
    is the service's fault, a 502 sentence."""
    try:
        return url.join(location)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UpstreamError(
            f"The service at {_host_of(url)} redirected to an address that is not a valid URL.",
            {"url": redact_url(url)},
        ) from None


def _reason(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or "[Errno 111]" in str(cause):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    return (str(exc).strip() or type(exc).__name__)[:200]


def join_url(base: str, href: str) -> str:
    """``urljoin`` for a link an upstream sent: one no URL parser takes (``http://[::1``) is
    the upstream's fault, a 502 sentence, never an internal error."""
    try:
        return urljoin(base, href)
    except ValueError:
        raise UpstreamError(
            f"The service at {_host_of(base)} sent a malformed link: {href[:200]!r}.",
            {"url": redact_url(base), "href": href[:200]},
        ) from None


def redact_url(url: str | httpx.URL) -> str:
    """Drop credentials, the query (which may carry API keys or presigned signatures) and the
    fragment from a URL shown to users or written to a log; "" when it is no URL."""
    try:
        u = httpx.URL(str(url))
        return str(u.copy_with(userinfo=b"", query=None, fragment=None))
    except Exception:
        return ""


_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_urls(text: str) -> str:
    """``text`` (a log line, a sentence) with every URL in it passed through ``redact_url``."""

    def redact(match: re.Match[str]) -> str:
        url = match.group(0)
        return redact_url(url) or re.split(r"[?#]", url, maxsplit=1)[0]

    return _URL_IN_TEXT.sub(redact, text)


class _RedactedRecords(logging.Filter):
    """httpx logs every request's URL (INFO) and httpcore its headers (DEBUG): their lines
    carry no query string or credentials either (a record is only built when its level is
    on, so this costs nothing otherwise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(a) if isinstance(a, httpx.URL) else redact_urls(a) if isinstance(a, str)
                else a
                for a in record.args
            )  # fmt: skip
        if isinstance(record.msg, str):
            record.msg = redact_urls(record.msg)
        return True


for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
              "httpcore.proxy", "httpcore.socks"):  # fmt: skip
    logging.getLogger(_name).addFilter(_RedactedRecords())


# --- XML -------------------------------------------------------------------------------


class UnsafeXML(ValueError):
    """The document declares entities or otherwise asks for what safe parsing refuses."""


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse untrusted XML: no DTD loading, no network, no entity expansion.

    A document whose DTD declares any entity is refused with ``UnsafeXML``: no OGC or
    OpenSearch response needs one, and it is how XXE and "billion laughs" payloads start.
    Raises ``lxml.etree.XMLSyntaxError`` for malformed input.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    # A new parser per call: lxml parser objects must not be shared across threads.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2 stops entity-amplification attacks itself, even when nothing is expanded.
        if "entit" in str(exc).lower() or "amplification" in str(exc).lower():
            raise UnsafeXML("the document declares XML entities") from None
        raise
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise UnsafeXML("the document declares XML entities")
    if docinfo.system_url:
        raise UnsafeXML("the document refers to an external DTD")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise UnsafeXML("the document uses undeclared entities")
    return root


async def parse_xml_async(data: bytes) -> etree._Element:
    """``parse_xml`` off the event loop for large documents."""
    if len(data) < 256_000:
        return parse_xml(data)
    return await asyncio.get_running_loop().run_in_executor(None, parse_xml, data)
