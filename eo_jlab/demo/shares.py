"""The demo's seeded share: a public "examples" share owned by "operator".

It holds ``eo-example.ipynb``: search the demo's static STAC catalogue with pystac, show the
footprints with ``eo_jlab.widgets.show_items``, and run the sandbox's NDVI process with OWSLib.
Seeding is idempotent: nothing happens while the share's latest version holds the same
notebook; a changed notebook (a newer eo_jlab) becomes a new version.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from ..sharing.store import Caller, ShareStore

SHARES_DIR = ".eo-jlab-shares"  # in the demo workspace; hidden from the file browser
OPERATOR = Caller("operator", admin=True)
SHARE_NAME = "examples"
NOTEBOOK = "eo-example.ipynb"


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}


def _code(text: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": text.strip("\n"),
    }


CELLS = [
    _md("""
# Earth Observation in the eo_jlab demo

Three steps, all offline: **search** the demo's static STAC catalogue with `pystac`, **look**
at the footprints on a map, and **process** a scene with the sandbox's NDVI process over
OGC WPS (`OWSLib`). Copy this share into your workspace (Shared section of the Earth
Observation panel → Public → Copy to my workspace) and run the cells from there.
"""),
    _code("""
from datetime import datetime, timezone
from pathlib import Path

import pystac

# The demo workspace holds the catalogue in demo-data/catalogue/ (look upwards from here).
here = Path.cwd()
root = next(
    p for p in (here, *here.parents) if (p / "demo-data" / "catalogue" / "catalog.json").exists()
)
catalog = pystac.Catalog.from_file(str(root / "demo-data" / "catalogue" / "catalog.json"))
print("collections:", [c.id for c in catalog.get_children()])
"""),
    _md("""
## Search: Sentinel-2 over Toulouse, spring 2025, at most 30 % cloud

A static catalogue has no search API: walk its items and filter by bounding box, date and
cloud cover.
"""),
    _code("""
TOULOUSE = (1.20, 43.45, 1.70, 43.95)  # west, south, east, north (lon/lat)
START = datetime(2025, 3, 1, tzinfo=timezone.utc)
END = datetime(2025, 6, 1, tzinfo=timezone.utc)


def overlaps(bbox, area):
    w, s, e, n = bbox
    west, south, east, north = area
    return w <= east and e >= west and s <= north and n >= south


items = [
    item
    for item in catalog.get_items(recursive=True)
    if item.collection_id == "sentinel-2-l2a-demo"
    and item.bbox is not None
    and overlaps(item.bbox, TOULOUSE)
    and item.datetime is not None
    and START <= item.datetime < END
    and item.properties.get("eo:cloud_cover", 100) <= 30
]
items.sort(key=lambda item: item.datetime)
for item in items:
    print(item.id, item.datetime.date(), f"{item.properties['eo:cloud_cover']:.0f} % cloud")
"""),
    _md("## Footprints on a map (hover for title, date and cloud cover)"),
    _code("""
from eo_jlab.widgets import show_items

show_items(items)
"""),
    _md("""
## NDVI with the local sandbox (OGC WPS 1.0.0)

The demo's "Local sandbox" processing service runs PyWPS on a loopback port, with an access
token, both chosen when it starts: open the Processes section of the Earth Observation panel
once so it runs, then run the cell. (Elsewhere, set `SANDBOX_URL` to any WPS offering an
`ndvi` process.)
"""),
    _code("""
import json

from jupyter_core.paths import jupyter_data_dir
from owslib.wps import BoundingBoxDataInput, WebProcessingService, monitorExecution

SANDBOX_URL = None  # e.g. "http://127.0.0.1:5000/wps"
HEADERS = {}
if SANDBOX_URL is None:
    # The sandbox writes its address and access token here each time it starts.
    running = sorted(
        Path(jupyter_data_dir(), "eo_jlab", "sandbox").glob("*/connection.json"),
        key=lambda p: p.stat().st_mtime,
    )
    if not running:
        raise RuntimeError("The sandbox is not running: open the Processes section first.")
    sandbox = json.loads(running[-1].read_text())
    SANDBOX_URL, HEADERS = sandbox["wps"], {"Authorization": "Bearer " + sandbox["token"]}

wps = WebProcessingService(SANDBOX_URL, headers=HEADERS)
print([p.identifier for p in wps.processes])
inputs = [
    ("bbox", BoundingBoxDataInput([1.35, 43.55, 1.50, 43.65], crs="EPSG:4326", dimensions=2)),
    ("threshold", "0.3"),
]
execution = wps.execute(
    "ndvi", inputs, output=[("mean_ndvi", False), ("vegetation_fraction", False)]
)
monitorExecution(execution, sleepSecs=1)
results = {o.identifier: o.data for o in execution.processOutputs}
print("mean NDVI:", results["mean_ndvi"][0])
print("vegetation fraction (NDVI >= 0.3):", results["vegetation_fraction"][0])
"""),
]


def notebook() -> dict:
    return {
        "cells": CELLS,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_bytes() -> bytes:
    return (json.dumps(notebook(), indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def seed_examples(store_root: Path) -> dict:
    """Make sure the public "examples" share of "operator" holds the current notebook."""
    store = ShareStore(store_root)
    data = notebook_bytes()
    digest = hashlib.sha256(data).hexdigest()
    listed = [s for s in store.list(OPERATOR, "by-me") if s["name"] == SHARE_NAME]
    existing = [store.get(OPERATOR, listed[0]["id"])] if listed else []  # lists omit checksums
    if existing and existing[0].get("checksums", {}).get(NOTEBOOK) == digest:
        return existing[0]
    message = "eo_jlab demo: search, footprints and NDVI"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / SHARE_NAME
        folder.mkdir()
        (folder / NOTEBOOK).write_bytes(data)
        if existing:
            return store.new_version(OPERATOR, existing[0]["id"], folder, message)
        return store.create(OPERATOR, folder, {"public": True}, message, name=SHARE_NAME)
