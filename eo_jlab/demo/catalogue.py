"""A synthetic Sentinel-like static STAC catalogue for the demo and the tests.

Deterministic (same files every time): six areas, January to June 2025, a Sentinel-2 L2A-like
collection (a product every 5 days per area, cloud cover, MGRS tile ids) and a Sentinel-1
GRD-like one (every 12 days). Every item carries small cloud-optimised GeoTIFFs in the UTM
zone of its tile (Sentinel-2: B02, B03, B04, B08 and SCL; Sentinel-1: VV and VH; see
``rasters.py``), its projection (``proj:*``), a 64 px thumbnail and a 128 px quicklook drawn
from those pixels; its footprint is the rasters' extent. The same products are what the
catalogue tests load into every server they start, so one question asked of each protocol
has one expected answer.

    python -m eo_jlab.demo.catalogue DEST      # writes DEST/catalog.json and the rest
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import struct
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import rasters
from .rasters import (
    COG_TYPE,
    GENERATOR_VERSION,
    PROJECTION_EXT,
    RASTER_EXT,
    S1_BANDS,
    S2_BANDS,
    SAR_EXT,
    area_grid,
)

STAC_VERSION = "1.0.0"
S2 = "sentinel-2-l2a-demo"
S1 = "sentinel-1-grd-demo"
START = datetime(2025, 1, 2, tzinfo=timezone.utc)
END = datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone.utc)

# name, MGRS tile, relative orbit, west, south, east, north (the rasters are centred on this
# box), (R, G, B) land tint (unused since the quicklooks are drawn from the rasters)
AREAS = [
    ("Toulouse", "31TCJ", 51, 0.50, 43.25, 1.88, 44.24, (120, 140, 80)),
    ("Rome", "33TTG", 22, 11.86, 41.45, 13.19, 42.44, (140, 130, 90)),
    ("Berlin", "33UUU", 122, 12.82, 52.22, 14.47, 53.21, (90, 120, 70)),
    ("Nairobi", "37MBU", 92, 36.30, -1.81, 37.29, -0.82, (150, 120, 80)),
    ("Po Valley", "32TNR", 108, 8.99, 45.04, 10.41, 46.04, (100, 130, 75)),
    ("Lisbon", "29SMC", 80, -9.55, 38.34, -8.39, 39.33, (160, 140, 100)),
]


def _png(rgb) -> bytes:
    """A PNG file from an RGB uint8 array (height, width, 3)."""
    import numpy as np

    height, width = rgb.shape[:2]
    raw = np.concatenate([np.zeros((height, 1), "uint8"), rgb.reshape(height, width * 3)], axis=1)

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
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def _grids(tile: str, west: float, south: float, east: float, north: float):
    """The Sentinel-2 and Sentinel-1 grids of an area (centred on its box)."""
    lon, lat = (west + east) / 2, (south + north) / 2
    return (
        area_grid(tile, lon, lat, rasters.S2_PIXEL, rasters.S2_SIZE),
        area_grid(tile, lon, lat, rasters.S1_PIXEL, rasters.S1_SIZE),
    )


def _first_col(k: int) -> int:
    """First column with data of the k-th Sentinel-2 product of an area: some are cut."""
    return round(rasters.S2_SIZE * 0.3) if k % 7 == 3 else 0


def _projection(grid: rasters.Grid) -> dict[str, Any]:
    return {
        "proj:epsg": grid.epsg,
        "proj:shape": [grid.height, grid.width],
        "proj:transform": grid.transform,
    }


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
        s2_grid, s1_grid = _grids(tile, west, south, east, north)
        s1_footprint, s1_bbox = s1_grid.footprint()
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
            footprint, bbox = s2_grid.footprint(_first_col(k))
            s2.append(
                {
                    "type": "Feature",
                    "stac_version": STAC_VERSION,
                    "stac_extensions": [
                        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                        "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
                        PROJECTION_EXT,
                        RASTER_EXT,
                    ],
                    "id": pid,
                    "collection": S2,
                    "geometry": footprint,
                    "bbox": bbox,
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
                        **_projection(s2_grid),
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
                    "stac_extensions": [SAR_EXT, PROJECTION_EXT, RASTER_EXT],
                    "id": pid,
                    "collection": S1,
                    "geometry": s1_footprint,
                    "bbox": s1_bbox,
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
                        **_projection(s1_grid),
                        "area": name,
                        "_seed": 50000 + area_index * 1000 + k,
                    },
                }
            )
            day += timedelta(days=12)
            k += 1
    return {S2: s2, S1: s1}


# The catalogue this process wrote last, by generator version: its folder and its files'
# sizes. A second destination is a copy of those files (the same bytes), never of anything
# else that folder holds by then.
_WRITTEN: dict[str, tuple[Path, dict[str, int]]] = {}


def write_catalogue(dest: Path) -> Path:
    """Write the catalogue under ``dest``; return the path of ``catalog.json``.

    Skipped when ``dest`` holds a complete catalogue of this generator version; copied from
    the catalogue this process wrote last when its files are still there unchanged in size.
    """
    dest = Path(dest)
    root = dest / "catalog.json"
    marker = dest / ".complete"
    if _complete(dest):
        return root
    dest.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    if not _copy_written(dest):
        _generate(dest)
        files = {
            str(path.relative_to(dest)): path.stat().st_size
            for path in dest.rglob("*")
            if path.is_file() and path != marker
        }
        _WRITTEN[GENERATOR_VERSION] = (dest, files)
    _write(marker, GENERATOR_VERSION.encode())
    return root


def _copy_written(dest: Path) -> bool:
    """Copy the files of the catalogue written before to ``dest``; False when there is none or
    one of its files is gone, changed size or is not a regular file."""
    source, files = _WRITTEN.get(GENERATOR_VERSION, (None, {}))
    if source is None or source.resolve() == dest.resolve() or not _complete(source):
        return False
    for name, size in files.items():
        try:
            info = (source / name).lstat()
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return False
    for name in files:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, dest / name)
    return True


def _complete(dest: Path) -> bool:
    try:
        return (dest / ".complete").read_bytes() == GENERATOR_VERSION.encode() and (
            dest / "catalog.json"
        ).is_file()
    except OSError:
        return False


def _generate(dest: Path) -> None:
    try:
        import numpy  # noqa: F401
        import rasterio  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            f"The demo catalogue's rasters need numpy and rasterio ({error}): "
            'pip install "eo_jlab[sandbox]".'
        ) from None
    groups = products()
    titles = {
        S2: (
            "Sentinel-2 L2A (demo)",
            "Synthetic Sentinel-2 Level-2A-like products over six areas, January to June "
            "2025: cloud cover, MGRS tiles, quicklooks, and B02, B03, B04, B08 and SCL as "
            "cloud-optimised GeoTIFFs (600 m pixels, UTM).",
        ),
        S1: (
            "Sentinel-1 GRD (demo)",
            "Synthetic Sentinel-1 IW GRD-like products over the same areas, every 12 days: "
            "VV and VH backscatter as cloud-optimised GeoTIFFs (1200 m pixels, UTM).",
        ),
    }
    grids = {a[0]: _grids(*a[1:2], *a[3:7]) for a in AREAS}
    for cid, items in groups.items():
        folder = dest / cid
        for stac in items:
            props = stac["properties"]
            seed = props.pop("_seed")
            area_index = next(i for i, a in enumerate(AREAS) if a[0] == props["area"])
            month = int(props["datetime"][5:7])
            item_dir = folder / stac["id"]
            item_dir.mkdir(parents=True, exist_ok=True)
            s2_grid, s1_grid = grids[props["area"]]
            if cid == S2:
                arrays = rasters.sentinel2(
                    s2_grid,
                    area_index,
                    stac["id"],
                    month,
                    props["eo:cloud_cover"],
                    _first_col(seed % 1000),
                )
                _write_s2(item_dir, arrays, s2_grid)
                rgb = _true_colour(arrays)
            else:
                arrays = rasters.sentinel1(s1_grid, area_index, stac["id"], month)
                _write_s1(item_dir, arrays, s1_grid)
                rgb = _radar_grey(arrays["VV"])
            for name, size in (("thumbnail.png", 64), ("visual.png", 128)):
                _write(item_dir / name, _png(_resample(rgb, size)))
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
                    "title": "True colour quicklook" if cid == S2 else "VV backscatter",
                    "roles": ["visual", "overview"],
                },
                **(_s2_assets(s2_grid) if cid == S2 else _s1_assets(s1_grid)),
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
    _write(dest / "catalog.json", json.dumps(catalog, indent=1).encode())


def _write_s2(item_dir: Path, arrays: dict[str, Any], grid: rasters.Grid) -> None:
    for key, *_ in S2_BANDS:
        rasters.write_cog(
            item_dir / f"{key}.tif", arrays[key], grid, 0, rasters.S2_BLOCK, "AVERAGE"
        )
    rasters.write_cog(item_dir / "SCL.tif", arrays["SCL"], grid, 0, rasters.S2_BLOCK, "NEAREST")


def _write_s1(item_dir: Path, arrays: dict[str, Any], grid: rasters.Grid) -> None:
    for key in S1_BANDS:
        rasters.write_cog(
            item_dir / f"{key}.tif", arrays[key], grid, 0, rasters.S1_BLOCK, "AVERAGE"
        )


def _s2_assets(grid: rasters.Grid) -> dict[str, Any]:
    assets: dict[str, Any] = {}
    for key, common, centre, width in S2_BANDS:
        assets[key] = {
            "href": f"./{key}.tif",
            "type": COG_TYPE,
            "title": f"{common.capitalize()} ({key}), surface reflectance",
            "roles": ["data"],
            "gsd": grid.pixel,
            "eo:bands": [
                {
                    "name": key,
                    "common_name": common,
                    "center_wavelength": centre,
                    "full_width_half_max": width,
                }
            ],
            "raster:bands": [
                {
                    "data_type": "uint16",
                    "nodata": 0,
                    "scale": 0.0001,
                    "offset": 0,
                    "spatial_resolution": grid.pixel,
                }
            ],
        }
    assets["SCL"] = {
        "href": "./SCL.tif",
        "type": COG_TYPE,
        "title": "Scene classification (SCL)",
        "roles": ["data"],
        "gsd": grid.pixel,
        "raster:bands": [{"data_type": "uint8", "nodata": 0, "spatial_resolution": grid.pixel}],
    }
    return assets


def _s1_assets(grid: rasters.Grid) -> dict[str, Any]:
    return {
        key: {
            "href": f"./{key}.tif",
            "type": COG_TYPE,
            "title": f"{key} backscatter (linear)",
            "roles": ["data"],
            "gsd": grid.pixel,
            "sar:polarizations": [key],
            "raster:bands": [
                {"data_type": "float32", "nodata": 0, "spatial_resolution": grid.pixel}
            ],
        }
        for key in S1_BANDS
    }


def _true_colour(arrays: dict[str, Any]):
    import numpy as np

    rgb = np.stack([arrays["B04"], arrays["B03"], arrays["B02"]], axis=-1).astype("float32")
    return np.clip(np.sqrt(rgb / 4000) * 255, 0, 255).astype("uint8")


def _radar_grey(vv):
    import numpy as np

    db = 10 * np.log10(np.maximum(vv, 1e-5))
    grey = np.clip((db + 25) / 25 * 255, 0, 255).astype("uint8")
    return np.stack([grey, grey, grey], axis=-1)


def _resample(rgb, size: int):
    """Nearest-neighbour resampling of an RGB array to size x size."""
    import numpy as np

    rows = (np.arange(size) * rgb.shape[0] // size).astype(int)
    cols = (np.arange(size) * rgb.shape[1] // size).astype(int)
    return rgb[rows][:, cols]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


if __name__ == "__main__":
    print(write_catalogue(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-catalogue")))
