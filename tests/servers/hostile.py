"""A scripted loopback HTTP server for the attack suite (tests/test_attacks.py).

A test says what each path answers (``answer(path, body, ...)``, or a function of the request)
and reads back every request received (``requests``). Unscripted paths answer ``default``
(404 unless given). ``Scripted(default=...)`` with a secret body plays a loopback service no
endpoint names: the attack tests prove it is never contacted.

Bodies: ``bytes``/``str`` as they are, ``dict``/``list`` as JSON; a ``{base}`` in a ``str``
body is replaced by the server's own ``http://127.0.0.1:PORT`` (links back to itself).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    body: Any = b""
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class Scripted:
    """``Scripted().start()``; ``answer(path, ...)``; ``url(path)``; ``requests``; ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, default: Answer | None = None):
        self.routes: dict[str, Answer | Callable[[dict], Answer]] = {}
        self.requests: list[dict] = []
        self.default = default or Answer({"description": "not scripted"}, 404)
        self._lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("content-length") or 0)
                scripted._dispatch(self, self.rfile.read(length) if length else b"")

            do_GET = do_POST = do_DELETE = do_PUT = _serve  # noqa: N815

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"

    def start(self) -> Scripted:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def answer(
        self,
        path: str,
        body: Any = b"",
        status: int = 200,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.routes[path] = Answer(body, status, content_type, headers or {})

    def hits(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def _dispatch(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(h.path)
        request = {
            "method": h.command,
            "path": parts.path,
            "query": {k: v[-1] for k, v in parse_qs(parts.query).items()},
            "headers": dict(h.headers),
            "body": body,
        }
        with self._lock:
            self.requests.append(request)
        route = self.routes.get(parts.path, self.default)
        answer = route(request) if callable(route) else route
        content = answer.body
        if isinstance(content, (dict, list)):
            content = json.dumps(content)
        if isinstance(content, str):
            content = content.replace("{base}", self.base).encode("utf-8")
        try:
            h.send_response(answer.status)
            h.send_header("Content-Type", answer.content_type)
            h.send_header("Content-Length", str(len(content)))
            for key, value in answer.headers.items():
                h.send_header(key, value.replace("{base}", self.base))
            h.end_headers()
            h.wfile.write(content)
        except OSError:
            pass  # the client went away
