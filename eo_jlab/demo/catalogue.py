"""A synthetic Sentinel-like static STAC catalogue for the demo and the tests.

Deterministic (same files every time): six areas, January to June 2025, a Sentinel-2 L2A-like
collection (a product every 5 days per area, cloud cover, MGRS tile ids, 64 px thumbnails
and 128 px visual quicklooks as PNG) and a Sentinel-1 GRD-like one (every 12 days). The
same products are what the catalogue tests load into every server they start, so one
question asked of each protocol has one expected answer.

    python -m eo_jlab.demo.catalogue DEST      # writes DEST/catalog.json and the rest
"""

from __future__ import annotations

import json
import math
import os
import random
import struct
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

STAC_VERSION = "1.0.0"
S2 = "sentinel-2-l2a-demo"
S1 = "sentinel-1-grd-demo"
START = datetime(2025, 1, 2, tzinfo=timezone.utc)
END = datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone.utc)

# name, MGRS tile, relative orbit, west, south, east, north, (R, G, B) land tint
AREAS = [
    ("Toulouse", "31TCJ", 51, 0.50, 43.25, 1.88, 44.24, (120, 140, 80)),
    ("Rome", "33TTG", 22, 11.86, 41.45, 13.19, 42.44, (140, 130, 90)),
    ("Berlin", "33UUU", 122, 12.82, 52.22, 14.47, 53.21, (90, 120, 70)),
    ("Nairobi", "37MBU", 92, 36.30, -1.81, 37.29, -0.82, (150, 120, 80)),
    ("Po Valley", "32TNR", 108, 8.99, 45.04, 10.41, 46.04, (100, 130, 75)),
    ("Lisbon", "29SMC", 80, -9.55, 38.34, -8.39, 39.33, (160, 140, 100)),
]


def _png(width: int, height: int, pixels: bytes) -> bytes:
    """A PNG file from RGB rows (no image library needed)."""
    raw = b"".join(b"\x00" + pixels[y * width * 3 : (y + 1) * width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _scene(size: int, seed: int, tint: tuple[int, int, int], cloud: float, radar: bool) -> bytes:
    """Smooth fields and roads, with cloud blobs covering about ``cloud`` % of the scene."""
    rng = random.Random(seed)
    blobs = [
        (rng.random(), rng.random(), 0.08 + 0.25 * rng.random())
        for _ in range(int(cloud / 8) + (1 if cloud > 2 else 0))
    ]
    fx, fy, phase = rng.uniform(3, 7), rng.uniform(3, 7), rng.uniform(0, 6.28)
    sx = [math.sin(fx * x / size * 6.28 + phase) for x in range(size)]
    cy = [math.cos(fy * y / size * 6.28) for y in range(size)]
    # Cloud whiteness per pixel, accumulated over each blob's own square only.
    white = [0.0] * (size * size)
    for bx, by, br in blobs:
        x0, x1 = max(0, int((bx - br) * size)), min(size, int((bx + br) * size) + 1)
        y0, y1 = max(0, int((by - br) * size)), min(size, int((by + br) * size) + 1)
        for y in range(y0, y1):
            dy = y / size - by
            row = y * size
            for x in range(x0, x1):
                w = 1 - math.hypot(x / size - bx, dy) / br
                if w > 0:
                    white[row + x] += w
    out = bytearray()
    for y in range(size):
        v = y / size
        road_row = abs(v - 0.55) < 0.008
        for x in range(size):
            field = 0.5 + 0.25 * sx[x] * cy[y]
            if radar:
                g = int(255 * min(1.0, max(0.0, field * 0.7 + rng.random() * 0.3)))
                out += bytes((g, g, g))
                continue
            if road_row or abs(x / size - v * 0.8 - 0.1) < 0.01:
                r, g, b = 200, 200, 190  # roads
            else:
                r, g, b = (int(c * (0.6 + 0.8 * field)) for c in tint)
            k = min(1.0, white[y * size + x] * 1.6)
            if k:
                r, g, b = (min(255, int(c * (1 - k) + 245 * k)) for c in (r, g, b))
            out += bytes((r, g, b))
    return bytes(out)


def _footprint(west: float, south: float, east: float, north: float, sliver: float):
    """A slightly skewed tile (as orbits cut them); ``sliver`` > 0 cuts the west edge."""
    w = west + (east - west) * sliver
    ring = [[w, south], [east, south + 0.01], [east - 0.01, north], [w + 0.02, north], [w, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}


def _collection(cid: str, title: str, description: str, items: list[dict]) -> dict[str, Any]:
    boxes = [i["bbox"] for i in items]
    dates = sorted(i["properties"]["datetime"] for i in items)
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": cid,
        "title": title,
        "description": description,
        "license": "CC-BY-4.0",
        "keywords": ["demo", "synthetic", "eo_jlab"],
        "providers": [{"name": "eo_jlab demo (synthetic data)", "roles": ["producer", "host"]}],
        "extent": {
            "spatial": {
                "bbox": [
                    [
                        min(b[0] for b in boxes),
                        min(b[1] for b in boxes),
                        max(b[2] for b in boxes),
                        max(b[3] for b in boxes),
                    ]
                ]
            },
            "temporal": {"interval": [[dates[0], dates[-1]]]},
        },
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ]
        + [
            {"rel": "item", "href": f"./{i['id']}/{i['id']}.json", "type": "application/geo+json"}
            for i in items
        ],
    }


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def products() -> dict[str, list[dict[str, Any]]]:
    """Every synthetic item (STAC dicts without links or files), by collection."""
    s2: list[dict[str, Any]] = []
    s1: list[dict[str, Any]] = []
    for area_index, (name, tile, orbit, west, south, east, north, _) in enumerate(AREAS):
        rng = random.Random(1000 + area_index)
        day = START + timedelta(days=area_index % 5)
        k = 0
        while day <= END:
            sensed = day.replace(hour=10, minute=20 + area_index * 3, second=31)
            platform = "sentinel-2a" if k % 2 == 0 else "sentinel-2b"
            winter = 1.0 if sensed.month in (1, 2, 12) else 0.6
            cloud = round(min(100.0, max(0.0, rng.betavariate(0.6, 1.2) * 100 * winter)), 2)
            pid = (
                f"S2{platform[-1].upper()}_MSIL2A_{sensed:%Y%m%dT%H%M%S}_N0511_R{orbit:03d}"
                f"_T{tile}_{sensed + timedelta(hours=2):%Y%m%dT%H%M%S}"
            )
            s2.append(
                {
                    "type": "Feature",
                    "stac_version": STAC_VERSION,
                    "stac_extensions": [
                        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                        "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
                    ],
                    "id": pid,
                    "collection": S2,
                    "geometry": _footprint(west, south, east, north, 0.3 if k % 7 == 3 else 0.0),
                    "bbox": [west, south, east, north],
                    "properties": {
                        "title": f"Sentinel-2 L2A {name} {sensed:%Y-%m-%d} (tile {tile})",
                        "datetime": _stamp(sensed),
                        "platform": platform,
                        "constellation": "sentinel-2",
                        "instruments": ["msi"],
                        "eo:cloud_cover": cloud,
                        "s2:product_type": "S2MSI2A",
                        "processing:level": "L2A",
                        "sat:relative_orbit": orbit,
                        "mgrs:utm_zone": int(tile[:2]),
                        "mgrs:latitude_band": tile[2],
                        "mgrs:grid_square": tile[3:],
                        "s2:mgrs_tile": tile,
                        "area": name,
                        "_seed": area_index * 1000 + k,
                    },
                }
            )
            day += timedelta(days=5)
            k += 1
        day, k = START + timedelta(days=3 + area_index % 4), 0
        while day <= END:
            sensed = day.replace(hour=17, minute=40 + area_index, second=12)
            pid = (
                f"S1A_IW_GRDH_1SDV_{sensed:%Y%m%dT%H%M%S}_"
                f"{sensed + timedelta(seconds=25):%Y%m%dT%H%M%S}_0{57000 + area_index * 97 + k}"
            )
            s1.append(
                {
                    "type": "Feature",
                    "stac_version": STAC_VERSION,
                    "stac_extensions": [],
                    "id": pid,
                    "collection": S1,
                    "geometry": _footprint(west - 0.3, south - 0.2, east + 0.4, north + 0.3, 0.0),
                    "bbox": [
                        round(west - 0.3, 5),
                        round(south - 0.2, 5),
                        round(east + 0.4, 5),
                        round(north + 0.3, 5),
                    ],
                    "properties": {
                        "title": f"Sentinel-1 IW GRD {name} {sensed:%Y-%m-%d}",
                        "datetime": _stamp(sensed),
                        "platform": "sentinel-1a",
                        "constellation": "sentinel-1",
                        "instruments": ["c-sar"],
                        "sar:instrument_mode": "IW",
                        "sar:polarizations": ["VV", "VH"],
                        "product:type": "GRD",
                        "sat:relative_orbit": orbit + 30,
                        "sat:orbit_state": "ascending",
                        "area": name,
                        "_seed": 50000 + area_index * 1000 + k,
                    },
                }
            )
            day += timedelta(days=12)
            k += 1
    return {S2: s2, S1: s1}


def write_catalogue(dest: Path) -> Path:
    """Write the catalogue under ``dest`` (idempotent); return the path of ``catalog.json``."""
    dest = Path(dest)
    root = dest / "catalog.json"
    marker = dest / ".complete"
    if marker.exists() and root.exists():
        return root
    dest.mkdir(parents=True, exist_ok=True)
    groups = products()
    titles = {
        S2: (
            "Sentinel-2 L2A (demo)",
            "Synthetic Sentinel-2 Level-2A-like products over six areas, January to June "
            "2025: cloud cover, MGRS tiles, quicklooks.",
        ),
        S1: (
            "Sentinel-1 GRD (demo)",
            "Synthetic Sentinel-1 IW GRD-like products over the same areas, every 12 days.",
        ),
    }
    for cid, items in groups.items():
        folder = dest / cid
        for stac in items:
            props = stac["properties"]
            seed = props.pop("_seed")
            area = next(a for a in AREAS if a[0] == props["area"])
            radar = cid == S1
            cloud = props.get("eo:cloud_cover", 0.0)
            item_dir = folder / stac["id"]
            item_dir.mkdir(parents=True, exist_ok=True)
            for name, size in (("thumbnail.png", 64), ("visual.png", 128)):
                _write(item_dir / name, _png(size, size, _scene(size, seed, area[7], cloud, radar)))
            stac["assets"] = {
                "thumbnail": {
                    "href": "./thumbnail.png",
                    "type": "image/png",
                    "title": "Thumbnail",
                    "roles": ["thumbnail"],
                },
                "visual": {
                    "href": "./visual.png",
                    "type": "image/png",
                    "title": "True colour quicklook" if not radar else "VV backscatter",
                    "roles": ["visual", "overview"],
                },
            }
            stac["links"] = [
                {"rel": "self", "href": f"./{stac['id']}.json", "type": "application/geo+json"},
                {"rel": "parent", "href": "../collection.json", "type": "application/json"},
                {"rel": "collection", "href": "../collection.json", "type": "application/json"},
                {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
            ]
            _write(item_dir / f"{stac['id']}.json", json.dumps(stac, indent=1).encode())
        _write(
            folder / "collection.json",
            json.dumps(_collection(cid, *titles[cid], items), indent=1).encode(),
        )
    catalog = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "eo-jlab-demo",
        "title": "eo_jlab demo catalogue",
        "description": "Synthetic Sentinel-like products for trying eo_jlab offline.",
        "links": [
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            {"rel": "self", "href": "./catalog.json", "type": "application/json"},
        ]
        + [
            {
                "rel": "child",
                "href": f"./{cid}/collection.json",
                "type": "application/json",
                "title": titles[cid][0],
            }
            for cid in groups
        ],
    }
    _write(root, json.dumps(catalog, indent=1).encode())
    _write(marker, b"")
    return root


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


if __name__ == "__main__":
    print(write_catalogue(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-catalogue")))
