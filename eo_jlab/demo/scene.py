"""The demo's red/near-infrared raster: a synthetic Sentinel-2-like scene around Toulouse.

Deterministic (a fixed seed; ``python -m eo_jlab.demo.scene DEST.tif`` writes the same pixels
every time). It is what the sandbox's ``ndvi`` example process reads: a two-band GeoTIFF
(band 1 red ~B04, band 2 near infrared ~B08, surface reflectance x 10000 as uint16,
zlib-compressed), 250 x 250 pixels of 0.002 degrees over EXTENT (EPSG:4326, about
40 x 55 km), written with tifffile. Nothing in it is measured: it is drawn to look plausible
at a glance:

* farmland everywhere, as parcels (Voronoi cells of a jittered grid) each with its own crop
  state: bare or ploughed soil, young crops, meadows, dense crops;
* woods: the Bouconne forest west of the city, smaller woods from smooth noise, and
  riparian woods along the rivers;
* the Garonne crossing from the south (Muret) through Toulouse to the north-west, the
  Ariege joining it south of the city, and gravel-pit lakes along the valley;
* built-up areas: the city and its suburbs, a few towns, the Blagnac airport runways.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

EXTENT = (1.20, 43.45, 1.70, 43.95)  # west, south, east, north (degrees, EPSG:4326)
SIZE = 250  # pixels per side
PIXEL = (EXTENT[2] - EXTENT[0]) / SIZE  # 0.002 degrees
SEED = 20250415
FILE_NAME = "toulouse_red_nir.tif"
DESCRIPTION = {
    "title": "Synthetic Sentinel-2-like scene around Toulouse (eo_jlab demo)",
    "bands": ["red (B04-like)", "nir (B08-like)"],
    "scale": 0.0001,
    "extent": list(EXTENT),
    "crs": "EPSG:4326",
    "synthetic": True,
}

GARONNE = [
    (1.318, 43.450), (1.325, 43.480), (1.352, 43.510), (1.392, 43.540), (1.418, 43.568),
    (1.436, 43.592), (1.432, 43.612), (1.417, 43.640), (1.392, 43.668), (1.360, 43.700),
    (1.330, 43.735), (1.300, 43.770), (1.268, 43.810), (1.238, 43.852), (1.200, 43.900),
]  # fmt: skip
ARIEGE = [(1.470, 43.450), (1.452, 43.480), (1.430, 43.510), (1.405, 43.538)]
LAKES = [  # lon, lat, radius (degrees)
    (1.372, 43.530, 0.005), (1.345, 43.505, 0.004), (1.318, 43.752, 0.006),
    (1.287, 43.792, 0.004), (1.372, 43.575, 0.003), (1.420, 43.520, 0.0035),
]  # fmt: skip
TOWNS = [  # lon, lat, radius (degrees): the city first
    (1.444, 43.604, 0.050), (1.335, 43.611, 0.016), (1.392, 43.640, 0.014),
    (1.500, 43.611, 0.013), (1.482, 43.660, 0.012), (1.327, 43.462, 0.013),
    (1.500, 43.520, 0.011), (1.290, 43.772, 0.010), (1.607, 43.700, 0.009),
    (1.405, 43.700, 0.010), (1.235, 43.560, 0.008), (1.560, 43.560, 0.010),
]  # fmt: skip
RUNWAYS = [((1.352, 43.648), (1.382, 43.620)), ((1.358, 43.652), (1.388, 43.624))]


def _smooth_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Noise in [0, 1] varying smoothly over the scene (bilinear from a coarse grid)."""
    coarse = rng.random((cells + 1, cells + 1))
    position = np.linspace(0, cells, SIZE)
    i0 = np.minimum(position.astype(int), cells - 1)
    t = position - i0
    rows = coarse[i0] * (1 - t)[:, None] + coarse[i0 + 1] * t[:, None]
    return rows[:, i0] * (1 - t) + rows[:, i0 + 1] * t


def _distance_to_line(lon: np.ndarray, lat: np.ndarray, line: list) -> np.ndarray:
    """Distance (degrees, longitudes scaled by cos(latitude)) to a polyline."""
    scale = np.cos(np.radians(43.7))
    best = np.full(lon.shape, np.inf)
    for (x0, y0), (x1, y1) in zip(line[:-1], line[1:], strict=True):
        dx, dy = (x1 - x0) * scale, y1 - y0
        px, py = (lon - x0) * scale, lat - y0
        t = np.clip((px * dx + py * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(px - t * dx, py - t * dy))
    return best


def _meander(line: list, rng: np.random.Generator, amplitude: float) -> list:
    """A polyline densified with a gentle sideways wiggle (rivers are not straight)."""
    points = []
    for (x0, y0), (x1, y1) in zip(line[:-1], line[1:], strict=True):
        length = np.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        phase = rng.random() * 2 * np.pi
        for t in np.linspace(0, 1, 12, endpoint=False):
            wiggle = amplitude * np.sin(2 * np.pi * 1.5 * t + phase) * np.sin(np.pi * t)
            points.append((x0 + t * (x1 - x0) + wiggle * nx, y0 + t * (y1 - y0) + wiggle * ny))
    points.append(line[-1])
    return points


def _parcels(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A parcel id per pixel: nearest seed of a jittered grid (fields ~1 x 0.6 km)."""
    step_x, step_y = 0.012, 0.008
    nx = int((EXTENT[2] - EXTENT[0]) / step_x) + 3
    ny = int((EXTENT[3] - EXTENT[1]) / step_y) + 3
    seeds_x = EXTENT[0] + (np.arange(nx)[None, :] - 1 + rng.random((ny, nx))) * step_x
    seeds_y = EXTENT[1] + (np.arange(ny)[:, None] - 1 + rng.random((ny, nx))) * step_y
    cx = ((lon - EXTENT[0]) / step_x).astype(int) + 1
    cy = ((lat - EXTENT[1]) / step_y).astype(int) + 1
    best = np.full(lon.shape, np.inf)
    ids = np.zeros(lon.shape, dtype=np.int64)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            iy, ix = np.clip(cy + di, 0, ny - 1), np.clip(cx + dj, 0, nx - 1)
            d = ((lon - seeds_x[iy, ix]) / step_x) ** 2 + ((lat - seeds_y[iy, ix]) / step_y) ** 2
            closer = d < best
            best[closer], ids[closer] = d[closer], (iy * nx + ix)[closer]
    return ids


def make_scene() -> np.ndarray:
    """The scene as uint16 reflectance x 10000, shape (2, SIZE, SIZE): red, nir; row 0 north."""
    rng = np.random.default_rng(SEED)
    lon = EXTENT[0] + (np.arange(SIZE) + 0.5) * PIXEL
    lat = EXTENT[3] - (np.arange(SIZE) + 0.5) * PIXEL
    lon, lat = np.meshgrid(lon, lat)

    # Farmland: per parcel a vegetation cover fraction and a soil brightness.
    parcels = _parcels(rng, lon, lat)
    count = int(parcels.max()) + 1
    kind = rng.choice(4, size=count, p=[0.22, 0.26, 0.22, 0.30])  # bare, young, meadow, dense
    low = np.array([0.00, 0.20, 0.50, 0.75])[kind]
    high = np.array([0.10, 0.45, 0.70, 0.95])[kind]
    cover = (low + (high - low) * rng.random(count))[parcels]
    soil = (0.75 + 0.5 * rng.random(count))[parcels]
    red = cover * 0.035 + (1 - cover) * 0.14 * soil
    nir = cover * 0.42 + (1 - cover) * 0.22 * soil

    # Woods: Bouconne, smooth-noise woods, riparian strips.
    bouconne = np.hypot((lon - 1.235) / 0.030, (lat - 43.655) / 0.022)
    noise = _smooth_noise(rng, 14)
    woods = (bouconne + 0.35 * noise < 1.0) | (noise > 0.86)
    garonne = _meander(GARONNE, rng, 0.004)
    ariege = _meander(ARIEGE, rng, 0.003)
    river_distance = np.minimum(
        _distance_to_line(lon, lat, garonne), _distance_to_line(lon, lat, ariege)
    )
    woods |= river_distance < 0.0035
    red = np.where(woods, 0.028, red)
    nir = np.where(woods, 0.30 + 0.05 * noise, nir)

    # Built-up areas: a density falling off from each town centre, parks left green.
    density = np.zeros_like(lon)
    for x, y, radius in TOWNS:
        d = np.hypot((lon - x) * np.cos(np.radians(y)), lat - y) / radius
        density = np.maximum(density, np.exp(-(d**2)))
    texture = 0.6 * _smooth_noise(rng, 40) + 0.4 * rng.random(lon.shape)
    urban = density + 0.45 * (texture - 0.5) > 0.42
    park = _smooth_noise(rng, 60) > 0.78
    built = urban & ~park
    red = np.where(built, 0.12 + 0.04 * density, red)
    nir = np.where(built, 0.16 + 0.03 * density, nir)
    for start, end in RUNWAYS:
        runway = _distance_to_line(lon, lat, [start, end]) < 0.0009
        red = np.where(runway, 0.19, red)
        nir = np.where(runway, 0.22, nir)

    # Water: rivers (turbid) and gravel-pit lakes (clear).
    river = (_distance_to_line(lon, lat, garonne) < 0.0011) | (
        _distance_to_line(lon, lat, ariege) < 0.0007
    )
    lake = np.zeros_like(river)
    for x, y, radius in LAKES:
        lake |= np.hypot((lon - x) * np.cos(np.radians(y)), lat - y) < radius
    red = np.where(river, 0.055, np.where(lake, 0.030, red))
    nir = np.where(river, 0.040, np.where(lake, 0.018, nir))

    # Sensor noise, then reflectance x 10000.
    red = red * (1 + 0.02 * rng.standard_normal(red.shape))
    nir = nir * (1 + 0.02 * rng.standard_normal(nir.shape))
    bands = np.stack([red, nir]) * 10000
    return np.clip(np.round(bands), 1, 10000).astype(np.uint16)


def geotiff_tags(extent: tuple[float, float, float, float], pixel: float) -> list[tuple]:
    """tifffile ``extratags`` of a north-up EPSG:4326 GeoTIFF (pixel-is-area)."""
    return [
        (33550, "d", 3, (pixel, pixel, 0.0), True),  # ModelPixelScale
        (33922, "d", 6, (0.0, 0.0, 0.0, extent[0], extent[3], 0.0), True),  # ModelTiepoint
        # GeoKeyDirectory: geographic model, pixel is area, WGS 84 (EPSG:4326), degrees.
        (34735, "H", 20, (1, 1, 0, 4, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326,
                          2054, 0, 1, 9102), True),
    ]  # fmt: skip


def write_scene(path: Path) -> Path:
    import tifffile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        path,
        make_scene(),
        photometric="minisblack",
        planarconfig="separate",
        compression="zlib",
        predictor=True,
        description=json.dumps(DESCRIPTION),
        metadata=None,
        software=False,
        extratags=geotiff_tags(EXTENT, PIXEL),
    )
    return path


if __name__ == "__main__":
    target = write_scene(Path(sys.argv[1] if len(sys.argv) > 1 else FILE_NAME))
    print(f"{target}: {target.stat().st_size:,} bytes")
