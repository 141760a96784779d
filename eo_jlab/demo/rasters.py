"""The demo catalogue's rasters: small georeferenced cloud-optimised GeoTIFFs, synthetic.

Each Sentinel-2-like item carries B02, B03, B04, B08 (uint16 surface reflectance x 10000,
nodata 0) and SCL (uint8 scene classes, nodata 0), 183 x 183 pixels of 600 m (the 109.8 km
of a Sentinel-2 tile) in the UTM zone of its MGRS tile; each Sentinel-1-like item carries VV
and VH (float32 linear backscatter, nodata 0), 128 x 128 pixels of 1200 m in the same zone.
Every file is a COG written by GDAL's COG driver: tiles of 128 (Sentinel-2) or 64
(Sentinel-1) pixels, one overview, deflate.

The landscape of an area is a function of metres from the area's centre, the same for both
sensors and every date: farm fields (their greenness follows the season), woods, a river,
a town, and two landmarks the tests read: ``LAKE`` (water) and ``FOREST`` (dense
vegetation), discs at fixed offsets from the centre. Clouds and their shadows change per
item and cover about the item's ``eo:cloud_cover`` of its valid pixels. Values are seeded
from the item id: the same bytes every run (no time in any tag).

The geometry helpers (a UTM projection in pure Python) need no numpy, so ``products()`` can
give footprints without the raster libraries; writing needs numpy and rasterio (the
``sandbox`` extra).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Bumped whenever the written bytes change: a catalogue written by another version is rewritten.
GENERATOR_VERSION = "2"

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
PROJECTION_EXT = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
RASTER_EXT = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
SAR_EXT = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"

S2_PIXEL, S2_SIZE, S2_BLOCK = 600.0, 183, 128
S1_PIXEL, S1_SIZE, S1_BLOCK = 1200.0, 128, 64
# key, common name, centre wavelength and full width at half maximum (micrometres)
S2_BANDS = [
    ("B02", "blue", 0.49, 0.098),
    ("B03", "green", 0.56, 0.045),
    ("B04", "red", 0.665, 0.038),
    ("B08", "nir", 0.842, 0.145),
]
S1_BANDS = ["VV", "VH"]
# Sentinel-2 scene classification values used here.
SCL_NODATA, SCL_SHADOW, SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER = 0, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH = 8, 9
# Landmarks: (east, north) offset from the area's centre and radius, metres.
LAKE = (20000.0, -15000.0, 3000.0)
FOREST = (-10000.0, 22000.0, 4500.0)

# Land classes of the synthetic landscape.
WATER, CROP, WOOD, BARE, URBAN = 0, 1, 2, 3, 4

# --- UTM (Krüger series, WGS 84; millimetre accuracy inside a zone) -------------------------
_A, _F, _K0 = 6378137.0, 1 / 298.257223563, 0.9996
_N = _F / (2 - _F)
_AA = _A / (1 + _N) * (1 + _N**2 / 4 + _N**4 / 64)
_ALPHA = (
    _N / 2 - 2 * _N**2 / 3 + 5 * _N**3 / 16,
    13 * _N**2 / 48 - 3 * _N**3 / 5,
    61 * _N**3 / 240,
)
_BETA = (
    _N / 2 - 2 * _N**2 / 3 + 37 * _N**3 / 96,
    _N**2 / 48 + _N**3 / 15,
    17 * _N**3 / 480,
)
_DELTA = (
    2 * _N - 2 * _N**2 / 3 - 2 * _N**3,
    7 * _N**2 / 3 - 8 * _N**3 / 5,
    56 * _N**3 / 15,
)
_E = 2 * math.sqrt(_N) / (1 + _N)


def utm_epsg(tile: str) -> int:
    """EPSG code of the UTM zone of an MGRS tile ('31TCJ' -> 32631; bands C..M are south)."""
    return (32700 if tile[2].upper() < "N" else 32600) + int(tile[:2])


def utm_forward(lon: float, lat: float, epsg: int) -> tuple[float, float]:
    zone, south = epsg % 100, epsg >= 32700
    phi, lam = math.radians(lat), math.radians(lon - (zone * 6 - 183))
    t = math.sinh(math.atanh(math.sin(phi)) - _E * math.atanh(_E * math.sin(phi)))
    xi, eta = math.atan2(t, math.cos(lam)), math.atanh(math.sin(lam) / math.sqrt(1 + t * t))
    x = eta + sum(
        a * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, a in enumerate(_ALPHA, 1)
    )
    y = xi + sum(a * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, a in enumerate(_ALPHA, 1))
    return 500000 + _K0 * _AA * x, (10000000 if south else 0) + _K0 * _AA * y


def utm_inverse(x: float, y: float, epsg: int) -> tuple[float, float]:
    zone, south = epsg % 100, epsg >= 32700
    xi = (y - (10000000 if south else 0)) / (_K0 * _AA)
    eta = (x - 500000) / (_K0 * _AA)
    xi1 = xi - sum(
        b * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, b in enumerate(_BETA, 1)
    )
    eta1 = eta - sum(
        b * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, b in enumerate(_BETA, 1)
    )
    chi = math.asin(math.sin(xi1) / math.cosh(eta1))
    phi = chi + sum(d * math.sin(2 * j * chi) for j, d in enumerate(_DELTA, 1))
    lam = math.atan2(math.sinh(eta1), math.cos(xi1))
    return math.degrees(lam) + zone * 6 - 183, math.degrees(phi)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: EPSG code, top-left corner (metres), pixel size, shape."""

    epsg: int
    x0: float
    y0: float
    pixel: float
    width: int
    height: int
    centre: tuple[float, float]  # the area's centre, metres: the landscape's origin

    @property
    def transform(self) -> list[float]:
        return [self.pixel, 0.0, self.x0, 0.0, -self.pixel, self.y0]

    def footprint(self, first_col: int = 0) -> tuple[dict[str, Any], list[float]]:
        """GeoJSON polygon (lon/lat, 4 points an edge) of the columns from ``first_col``, and
        its bbox (from 32 points an edge: a projected edge bulges between the polygon's)."""
        x0, x1 = self.x0 + first_col * self.pixel, self.x0 + self.width * self.pixel
        y1, y0 = self.y0 - self.height * self.pixel, self.y0

        def ring(points: int) -> list[list[float]]:
            steps = [i / points for i in range(points)]
            corners = (
                [(x0 + (x1 - x0) * s, y1) for s in steps]  # south edge, west to east
                + [(x1, y1 + (y0 - y1) * s) for s in steps]  # east edge, northwards
                + [(x1 - (x1 - x0) * s, y0) for s in steps]  # north edge, westwards
                + [(x0, y0 - (y0 - y1) * s) for s in steps]  # west edge, southwards
            )
            return [[round(v, 6) for v in utm_inverse(x, y, self.epsg)] for x, y in corners]

        polygon, dense = ring(4), ring(32)
        polygon.append(polygon[0])
        lons, lats = [p[0] for p in dense], [p[1] for p in dense]
        bbox = [min(lons), min(lats), max(lons), max(lats)]
        return {"type": "Polygon", "coordinates": [polygon]}, bbox


def area_grid(tile: str, lon: float, lat: float, pixel: float, size: int) -> Grid:
    """A size x size grid of ``pixel`` metres centred on lon/lat, corners on whole metres."""
    epsg = utm_epsg(tile)
    cx, cy = utm_forward(lon, lat, epsg)
    half = size * pixel / 2
    x0, y0 = round(cx - half), round(cy + half)
    return Grid(epsg, float(x0), float(y0), pixel, size, size, (round(cx), round(cy)))


def landmark(grid: Grid, which: tuple[float, float, float]) -> tuple[float, float]:
    """Lon/lat of a landmark's centre (``LAKE`` or ``FOREST``) on an area's grid."""
    return utm_inverse(grid.centre[0] + which[0], grid.centre[1] + which[1], grid.epsg)


# --- Pixels (numpy) ---------------------------------------------------------------------------


def _seed(text: str) -> int:
    return zlib.crc32(text.encode())


def _offsets(grid: Grid):
    """East and north offsets (metres) of every pixel centre from the area's centre."""
    import numpy as np

    cols = grid.x0 + (np.arange(grid.width) + 0.5) * grid.pixel - grid.centre[0]
    rows = grid.y0 - (np.arange(grid.height) + 0.5) * grid.pixel - grid.centre[1]
    return np.meshgrid(cols, rows)


def landscape(grid: Grid, area_seed: int):
    """Land class and per-field brightness factor of every pixel (the same for all dates)."""
    import numpy as np

    rng = np.random.default_rng(area_seed)
    dx, dy = _offsets(grid)
    table = rng.choice(
        [CROP, WOOD, BARE, CROP, CROP, URBAN], size=(64, 64), p=[0.3, 0.2, 0.15, 0.15, 0.15, 0.05]
    )
    factor = rng.uniform(0.85, 1.15, size=(64, 64))
    bx = (np.floor(dx / 2400).astype(int)) % 64
    by = (np.floor(dy / 2400).astype(int)) % 64
    land, bright = table[by, bx], factor[by, bx]
    phase, offset = rng.uniform(0, 2 * np.pi), rng.uniform(-30000, -20000)
    river = np.abs(dy - offset - 6000 * np.sin(dx / 14000 + phase)) < 500
    town = np.hypot(dx - 8000, dy - 5000) < 6000
    land = np.where(town, URBAN, land)
    land = np.where(np.hypot(dx - FOREST[0], dy - FOREST[1]) < FOREST[2], WOOD, land)
    land = np.where(river | (np.hypot(dx - LAKE[0], dy - LAKE[1]) < LAKE[2]), WATER, land)
    return land, bright


def _smooth(rng, shape: tuple[int, int], cells: int):
    """Smooth noise in 0..1: a random coarse grid, bilinearly interpolated."""
    import numpy as np

    coarse = rng.random((cells + 1, cells + 1))
    v = np.linspace(0, cells, shape[0], endpoint=False)
    u = np.linspace(0, cells, shape[1], endpoint=False)
    i, j = np.floor(v).astype(int), np.floor(u).astype(int)
    fv, fu = (v - i)[:, None], (u - j)[None, :]
    a, b = coarse[i][:, j], coarse[i][:, j + 1]
    c, d = coarse[i + 1][:, j], coarse[i + 1][:, j + 1]
    return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv


def sentinel2(
    grid: Grid, area_seed: int, item_id: str, month: int, cloud_cover: float, first_col: int
) -> dict[str, Any]:
    """The arrays of a Sentinel-2-like item: B02, B03, B04, B08 (uint16) and SCL (uint8)."""
    import numpy as np

    land, bright = landscape(grid, area_seed)
    rng = np.random.default_rng(_seed(item_id))
    shape = land.shape
    # Crops green up from March to June; bare fields and woods stay as they are.
    green = min(1.0, max(0.1, (month - 1.5) / 4.5))
    bare = np.array([1000, 1300, 1600, 2300], dtype="float32")
    crop = bare * (1 - green) + np.array([300, 600, 350, 4200], dtype="float32") * green
    table = np.stack(
        [
            np.array([700, 600, 400, 200], dtype="float32"),  # water: NIR below red
            crop,
            np.array([250, 450, 250, 3200], dtype="float32"),  # woods
            bare,
            np.array([1200, 1250, 1300, 1700], dtype="float32"),  # town
        ]
    )
    surface = table[land] * np.where(land == WATER, 1.0, bright)[..., None]
    surface *= rng.normal(1.0, 0.02, size=(*shape, 1)).astype("float32")
    valid = np.zeros(shape, dtype=bool)
    valid[:, first_col:] = True
    scl = np.where(
        land == WATER,
        SCL_WATER,
        np.where(
            (surface[..., 3] - surface[..., 2]) > 0.35 * (surface[..., 3] + surface[..., 2]),
            SCL_VEGETATION,
            SCL_NOT_VEGETATED,
        ),
    ).astype("uint8")
    cloudy = np.zeros(shape, dtype=bool)
    if cloud_cover > 0:
        field = _smooth(rng, shape, 6) * 0.7 + _smooth(rng, shape, 18) * 0.3
        threshold = np.quantile(field[valid], 1 - cloud_cover / 100)
        cloudy = field >= threshold if cloud_cover < 100 else np.ones(shape, dtype=bool)
        opacity = np.clip((field - threshold) / 0.08, 0, 1)
        shadow = np.roll(cloudy, (5, -4), axis=(0, 1)) & ~cloudy
        surface[shadow] *= 0.45
        scl[shadow] = SCL_SHADOW
        alpha = np.where(cloudy, 0.55 + 0.45 * opacity, 0.0)[..., None]
        cloud = np.array([6500, 6300, 6200, 6400], dtype="float32")
        surface = surface * (1 - alpha) + cloud * alpha
        scl[cloudy] = np.where(opacity[cloudy] >= 0.5, SCL_CLOUD_HIGH, SCL_CLOUD_MEDIUM)
    bands = np.clip(np.rint(surface), 1, 10000).astype("uint16")
    bands[~valid] = 0
    scl[~valid] = SCL_NODATA
    out = {key: bands[..., i] for i, (key, *_) in enumerate(S2_BANDS)}
    out["SCL"] = scl
    return out


def sentinel1(grid: Grid, area_seed: int, item_id: str, month: int) -> dict[str, Any]:
    """The arrays of a Sentinel-1-like item: VV and VH, float32 linear backscatter."""
    import numpy as np

    land, bright = landscape(grid, area_seed)
    rng = np.random.default_rng(_seed(item_id))
    green = min(1.0, max(0.1, (month - 1.5) / 4.5))
    vv = np.array([0.004, 0.04 + 0.05 * green, 0.10, 0.04, 0.5], dtype="float32")[land]
    vh = np.array([0.0008, 0.006 + 0.012 * green, 0.025, 0.006, 0.06], dtype="float32")[land]
    speckle = rng.gamma(4.0, 0.25, size=(2, *land.shape)).astype("float32")
    bright = bright.astype("float32")
    return {"VV": vv * bright * speckle[0], "VH": vh * bright * speckle[1]}


def write_cog(path: Path, array, grid: Grid, nodata: float, block: int, resampling: str) -> None:
    """One band as a cloud-optimised GeoTIFF (tiled, one overview, deflate), atomically."""
    import os

    import rasterio
    from rasterio.transform import Affine

    tmp = path.with_name(f".{path.name}.tmp")
    with rasterio.open(
        tmp,
        "w",
        driver="COG",
        width=grid.width,
        height=grid.height,
        count=1,
        dtype=str(array.dtype),
        crs=rasterio.crs.CRS.from_epsg(grid.epsg),
        transform=Affine(*grid.transform),
        nodata=nodata,
        BLOCKSIZE=block,
        COMPRESS="DEFLATE",
        PREDICTOR="2" if array.dtype.kind in "ui" else "3",
        OVERVIEW_RESAMPLING=resampling,
        NUM_THREADS=1,
    ) as dst:
        dst.write(array, 1)
    os.replace(tmp, path)
