"""Server configuration for the Galata tests, loaded on top of `eo-jlab demo`.

!! Never use this configuration in production: it turns off authentication and exposes
JupyterLab's JavaScript objects through the global window variable.
"""

import os
import socket
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HOSTILE_PAGE = (
    b"<!doctype html><html><head><meta http-equiv=refresh content='0;url=about:blank#refreshed'>"
    b"</head><body><form action=https://evil.test/><input name=password></form>"
    b"<script>window.__pwned=6</script></body></html>"
)


def _serve_hostile_quicklook(workspace: Path) -> None:
    """A loopback image service whose quicklook answers ``Content-Type: image/png, text/html``
    with an HTML body (tests/hostile.spec.ts, issue 18). Its URL is written to
    ``<workspace>/.eo-jlab-hostile-quicklook`` for the spec; its host is allowed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/png, text/html")
            self.send_header("Content-Length", str(len(HOSTILE_PAGE)))
            self.end_headers()
            self.wfile.write(HOSTILE_PAGE)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"127.0.0.1:{server.server_address[1]}"
    c.EOJLab.allowed_hosts = [base]  # noqa: F821
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / ".eo-jlab-hostile-quicklook").write_text(f"http://{base}/quicklook.png")


# Two endpoints besides the demo's own catalogue: one that answers (a local static
# catalogue) and one that does not (nothing listens there), so the sidebar shows both
# health states.
if os.environ.get("EO_JLAB_GALATA_ENDPOINTS", "1") == "1":
    here = Path(__file__).parent
    workspace = Path(os.environ["JUPYTERLAB_GALATA_ROOT_DIR"])
    c.EOJLab.catalogues = [  # noqa: F821
        {
            "id": "demo",
            "title": "Demo catalogue (offline, synthetic Sentinel-1/2)",
            "protocol": "static",
            "url": str(workspace / "demo-data" / "catalogue" / "catalog.json"),
        },
        {
            "id": "fixture",
            "title": "Fixture catalogue",
            "protocol": "static",
            "url": str(here / "fixtures" / "catalog.json"),
        },
        {
            "id": "offline",
            "title": "Unreachable STAC <b>API</b>",
            "protocol": "stac",
            "url": f"http://127.0.0.1:{_closed_port()}/stac",
        },
        # Every text of this catalogue is markup or script (tests/hostile.spec.ts). Last, so
        # the catalogue chosen by default stays the demo's.
        {
            "id": "hostile",
            "title": 'Hostile <img src=x onerror="window.__pwned=5"> catalogue',
            "protocol": "static",
            "url": str(here / "fixtures" / "hostile" / "catalog.json"),
        },
    ]
    _serve_hostile_quicklook(workspace)

# The browser benchmark (bench/browser.py) adds its generated 5,000-item static catalogue.
if os.environ.get("EO_JLAB_BENCH_CATALOGUE"):
    c.EOJLab.catalogues = [  # noqa: F821
        *(c.EOJLab.catalogues if "catalogues" in c.EOJLab else []),  # noqa: F821
        {
            "id": "bench",
            "title": "Benchmark catalogue (5,000 generated items)",
            "protocol": "static",
            "url": os.environ["EO_JLAB_BENCH_CATALOGUE"],
        },
    ]

# `--config` replaces the demo's JSON configuration: name the demo's sandbox and share store
# here too.
c.EOJLab.processing = [  # noqa: F821
    {"id": "sandbox", "title": "Local sandbox", "protocol": "sandbox"},
]
c.EOJLab.sandbox_dir = str(Path(os.environ["JUPYTERLAB_GALATA_ROOT_DIR"]) / "sandbox")  # noqa: F821
c.EOJLab.shared_root = str(  # noqa: F821
    Path(os.environ["JUPYTERLAB_GALATA_ROOT_DIR"]) / ".eo-jlab-shares"
)
