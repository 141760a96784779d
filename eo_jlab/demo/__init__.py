"""The embedded demo: a workspace folder and the configuration that points eo_jlab at it.

``eo-jlab demo`` calls ``write_demo`` and starts JupyterLab with the folder's
``.jupyter`` directory on ``JUPYTER_CONFIG_PATH`` and its own Jupyter data directory,
``.eo-jlab-data`` (``demo_environment``): the demo's jobs and sandbox outputs stay in its
workspace, and a demo never lists the jobs of another run, of another workspace or of a test
suite. Everything here works with no network:
JupyterLab's news and update checks are off and every service the demo configures runs
on this machine. The catalogue, processing and sharing features add their embedded
services to ``demo_config``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

DEMO_CATALOGUE = "demo-data/catalogue"
DEMO_SANDBOX = "sandbox"
SANDBOX_EXAMPLES = Path(__file__).with_name("sandbox")
SANDBOX_MANIFEST = ".eo_jlab_examples.json"
DEMO_SHARES = ".eo-jlab-shares"  # the local share store (hidden from the file browser)
DEMO_DATA = ".eo-jlab-data"  # the demo's Jupyter data directory: job store, sandbox outputs
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"

WELCOME = """# eo_jlab demo workspace

This folder is the workspace of the eo_jlab demo (`make demo`). Open the Earth
Observation panel (the globe icon in the left sidebar): it lists the catalogues and
processing services configured in `.jupyter/jupyter_server_config.json`, and shows
whether each one answers.

`demo-data/catalogue/` is the demo's static STAC catalogue: synthetic Sentinel-2 L2A-like
and Sentinel-1 GRD-like products over six areas (Toulouse, Rome, Berlin, Nairobi, the Po
Valley, Lisbon), January to June 2025, with quicklooks and small cloud-optimised GeoTIFFs
(Sentinel-2: B02, B03, B04, B08 and SCL at 600 m; Sentinel-1: VV and VH at 1200 m; UTM).
The NDVI example takes the absolute path of a Sentinel-2 item's JSON file as its `item`.

`sandbox/` holds the PyWPS processes of the "Local sandbox" processing service: three
examples (NDVI of a small scene, buffer and area of a polygon, a slow job that reports its
progress). Add your own process files there and press **Reload** in the **Processes** section.

The **Shared** section lists under **Public** a share, "examples", published by "operator":
an EO example notebook (search, footprints, NDVI). Press **Copy to my workspace** to run it.

The demo's jobs and the sandbox's outputs are kept in `.eo-jlab-data/`, the demo's own
Jupyter data directory: the Jobs section lists the jobs of this workspace only.

See docs/configuration.md for every `c.EOJLab` setting.
"""


def demo_config(workspace: Path) -> dict[str, Any]:
    """The Jupyter configuration of the demo (written as JSON)."""
    config: dict[str, Any] = {
        "ServerApp": {
            "root_dir": str(workspace),
            "open_browser": False,
            "jpserver_extensions": {"eo_jlab": True},
        },
        # Offline: no news feed, no update check.
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
        "EOJLab": {
            "catalogues": [
                {
                    "id": "demo",
                    "title": "Demo catalogue (offline, synthetic Sentinel-1/2)",
                    "protocol": "static",
                    "url": str(workspace / DEMO_CATALOGUE / "catalog.json"),
                }
            ],
            "processing": [{"id": "sandbox", "title": "Local sandbox", "protocol": "sandbox"}],
            "sandbox_dir": str(workspace / DEMO_SANDBOX),
            "request_timeout": 20.0,
            "shared_root": str(workspace / DEMO_SHARES),
        },
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        config["ServerApp"]["allow_root"] = True
    return config


def demo_environment(workspace: Path, environ: dict[str, str]) -> dict[str, str]:
    """The environment of the demo's server: its own Jupyter data directory in the workspace
    (the kernels and extensions of the user's data directory stay found through
    ``JUPYTER_PATH``) and the workspace's ``.jupyter`` first on ``JUPYTER_CONFIG_PATH``."""
    from jupyter_core.paths import jupyter_data_dir, jupyter_runtime_dir

    workspace = workspace.resolve()
    env = dict(environ)
    user_data = jupyter_data_dir()  # as ``environ`` names it: read before it is replaced
    if "JUPYTER_DATA_DIR" in environ:
        user_data = environ["JUPYTER_DATA_DIR"]
    data = workspace / DEMO_DATA
    data.mkdir(parents=True, exist_ok=True)
    env["JUPYTER_DATA_DIR"] = str(data)
    # The runtime folder (server info with its token, kernel connection files) would follow
    # the data folder into the workspace: it stays where `jupyter server list` looks.
    env["JUPYTER_RUNTIME_DIR"] = environ.get("JUPYTER_RUNTIME_DIR") or jupyter_runtime_dir()
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (user_data, environ.get("JUPYTER_PATH", "")) if p and p != str(data)
    )
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(workspace / ".jupyter"), environ.get("JUPYTER_CONFIG_PATH", "")) if p
    )
    return env


def write_demo(workspace: Path) -> Path:
    """Create (or refresh) the demo workspace; return its Jupyter config directory."""
    from .catalogue import write_catalogue
    from .shares import seed_examples

    workspace = workspace.resolve()
    write_catalogue(workspace / DEMO_CATALOGUE)
    write_sandbox(workspace / DEMO_SANDBOX)
    seed_examples(workspace / DEMO_SHARES)
    config_dir = workspace / ".jupyter"
    config_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(
        config_dir / "jupyter_server_config.json",
        json.dumps(demo_config(workspace), indent=2) + "\n",
    )
    # Offline: no "get notified about Jupyter news?" prompt (it could never fetch anything).
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(exist_ok=True)
    _write_atomic(
        labconfig / "page_config.json",
        json.dumps({"disabledExtensions": {ANNOUNCEMENTS: True}}, indent=2) + "\n",
    )
    welcome = workspace / "README.md"
    if not welcome.exists():
        _write_atomic(welcome, WELCOME)
    return config_dir


def write_sandbox(folder: Path) -> list[str]:
    """Copy the example sandbox processes into ``folder``; return the names written.

    Idempotent, and the user's work wins: a manifest remembers the digest of each file as
    written here, so an example is updated only while the user has not changed it, and
    never written back once the user deleted it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / SANDBOX_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            manifest = {}
    except (OSError, ValueError):
        manifest = {}
    written = []
    for source in sorted(SANDBOX_EXAMPLES.iterdir()):
        if not source.is_file() or source.name.startswith((".", "__")):
            continue
        data = source.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        target = folder / source.name
        recorded = manifest.get(source.name)
        if target.exists():
            current = hashlib.sha256(target.read_bytes()).hexdigest()
            if current == digest:
                manifest[source.name] = digest
                continue
            if current != recorded:
                continue  # changed by the user: theirs now
        elif recorded is not None:
            continue  # deleted by the user: not brought back
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        manifest[source.name] = digest
        written.append(source.name)
    _write_atomic(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return written


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
