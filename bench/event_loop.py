"""Event-loop freedom: p99 latency of GET /api/status idle and while the server is busy.

Starts, each in its own process: a slow loopback STAC API (it answers every search after
``--delay`` seconds, 2-4 s at random by default, with a page of real-sized Sentinel-2 L2A
items), the loopback OGC API - Processes service of bench/jobs.py (imported, not copied:
jobs whose status changes over time; here each status answer is held back ``--status-delay``
seconds, 0.3-1.2 s by default), and a real Jupyter server with eo_jlab configured with both
(token auth, fresh job store). Then, in one run:

* idle: ``--samples`` requests of ``GET /api/status``, one after the other, ``--spacing``
  seconds apart, with nothing else going on;
* busy: ``--jobs`` async jobs submitted through ``POST eo-jlab/processing/bench/processes/
  count/execution`` and monitored by the server (each lives 60-85 % of ``--job-life``,
  changing state and progress meanwhile), and ``--searches`` searches (``POST eo-jlab/
  catalogues/slow/search``, 20 results a page, the panel's default) kept in flight
  continuously by a load process of their own: when one answers, the next one starts. Once
  every job is submitted and the searches have run a few seconds, the same status samples.

The searches come from their own process so that the measuring client does not share an
event loop (or the GIL) with them. Prints what was in flight, p50 / p95 / p99 of each phase
and the busy/idle ratios last. Figures vary between machines and runs (this is a 2-core
machine: the server, both services and both clients share it); the ratios, measured in one
run, are what to compare. Takes about a minute and a half.

    python bench/event_loop.py [--searches 50] [--jobs 500] [--samples 600] [--spacing 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import JupyterServer, percentile, split_cpus  # noqa: E402
from bench.jobs import (  # noqa: E402  (the processes service, reused)
    PROCESS,
    SERVICE,
    HttpService,
    Upstream,
    processing_config,
    serve,
    spawn,
)

CATALOGUE, COLLECTION = "slow", "sentinel-2-l2a"
PAGE = 20  # results per search: the panel's default page size
SEARCH = {
    "collections": [COLLECTION],
    "bbox": [12.9, 52.3, 14.4, 53.1],
    "datetime": "2025-02-01T00:00:00Z/2025-03-31T23:59:59Z",
    "limit": PAGE,
}

# --- the slow STAC API (run as `event_loop.py --stac`) ---------------------------------------

BANDS = {  # Sentinel-2 L2A assets as Earth Search v1 lists them: key -> (title, gsd, band)
    "coastal": ("Coastal aerosol (band 1) - 60m", 60, "B01"),
    "blue": ("Blue (band 2) - 10m", 10, "B02"),
    "green": ("Green (band 3) - 10m", 10, "B03"),
    "red": ("Red (band 4) - 10m", 10, "B04"),
    "rededge1": ("Red edge 1 (band 5) - 20m", 20, "B05"),
    "rededge2": ("Red edge 2 (band 6) - 20m", 20, "B06"),
    "rededge3": ("Red edge 3 (band 7) - 20m", 20, "B07"),
    "nir": ("NIR 1 (band 8) - 10m", 10, "B08"),
    "nir08": ("NIR 2 (band 8A) - 20m", 20, "B8A"),
    "nir09": ("NIR 3 (band 9) - 60m", 60, "B09"),
    "swir16": ("SWIR 1 (band 11) - 20m", 20, "B11"),
    "swir22": ("SWIR 2 (band 12) - 20m", 20, "B12"),
}


def stac_item(base: str, n: int) -> dict:
    """One Sentinel-2 L2A item shaped and sized like Earth Search's (about 20 KB of JSON:
    a footprint of 30 vertices, 17 COG assets and their 17 JPEG 2000 twins, each with
    projection and raster metadata)."""
    rng = random.Random(n)
    tile = f"33U{'UVWX'[n % 4]}{'ABCDEFGH'[n % 8]}{'UVW'[n % 3]}"
    day = 1 + n % 28
    item_id = f"S2B_{tile}_202502{day:02d}_0_L2A"
    west, south = 12.9 + (n % 5) * 0.3, 52.3 + (n % 3) * 0.25
    ring = [
        [round(west + 1.4 * (0.5 + 0.5 * (i / 29)), 6), round(south + 0.9 * rng.random(), 6)]
        for i in range(29)
    ]
    ring.append(ring[0])
    href = f"https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/33/U/{tile}"
    proj = {"proj:epsg": 32633, "proj:shape": [10980, 10980],
            "proj:transform": [10, 0, 399960, 0, -10, 5900040]}  # fmt: skip
    assets: dict[str, dict] = {}
    for key, (title, gsd, band) in BANDS.items():
        side = 109800 // gsd
        common = {"title": title, "gsd": gsd, "proj:shape": [side, side],
                  "proj:transform": [gsd, 0, 399960, 0, -gsd, 5900040],
                  "eo:bands": [{"name": band, "common_name": key, "description": title,
                                "center_wavelength": round(0.4 + rng.random(), 3),
                                "full_width_half_max": round(0.02 + rng.random() / 10, 3)}],
                  "raster:bands": [{"nodata": 0, "data_type": "uint16", "bits_per_sample": 15,
                                    "spatial_resolution": gsd, "scale": 0.0001,
                                    "offset": -0.1}],
                  "file:size": rng.randrange(10_000_000, 250_000_000),
                  "roles": ["data", "reflectance"]}  # fmt: skip
        assets[key] = {
            "href": f"{href}/{item_id}/{band}.tif",
            **common,
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        }
        assets[f"{key}-jp2"] = {"href": f"s3://sentinel-s2-l2a/tiles/33/U/{tile}/R{gsd}m/"
                                f"{band}.jp2", **common, "type": "image/jp2"}  # fmt: skip
    for key, title in (("aot", "Aerosol optical thickness"), ("scl", "Scene classification"),
                       ("wvp", "Water vapour"), ("visual", "True color image")):  # fmt: skip
        assets[key] = {"href": f"{href}/{item_id}/{key.upper()}.tif", "title": title,
                       "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                       "roles": ["data"], **proj}  # fmt: skip
    assets["thumbnail"] = {"href": f"{href}/{item_id}/thumbnail.jpg", "type": "image/jpeg",
                           "title": "Thumbnail image", "roles": ["thumbnail"]}  # fmt: skip
    assets["granule_metadata"] = {
        "href": f"{href}/{item_id}/granule_metadata.xml",
        "type": "application/xml",
        "roles": ["metadata"],
    }
    assets["tileinfo_metadata"] = {
        "href": f"{href}/{item_id}/tileinfo_metadata.json",
        "type": "application/json",
        "roles": ["metadata"],
    }
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/file/v2.1.0/schema.json",
            "https://stac-extensions.github.io/view/v1.0.0/schema.json",
            "https://stac-extensions.github.io/grid/v1.0.0/schema.json",
            "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
            "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
        ],
        "id": item_id,
        "collection": COLLECTION,
        "bbox": [west, south, west + 1.4, south + 0.9],
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "created": "2025-02-21T18:45:44.123Z",
            "updated": "2025-02-21T18:45:44.123Z",
            "platform": "sentinel-2b",
            "constellation": "sentinel-2",
            "instruments": ["msi"],
            "eo:cloud_cover": round(rng.random() * 100, 4),
            "proj:epsg": 32633,
            "mgrs:utm_zone": 33,
            "mgrs:latitude_band": "U",
            "mgrs:grid_square": tile[3:],
            "grid:code": f"MGRS-{tile}",
            "view:sun_azimuth": round(150 + rng.random() * 20, 6),
            "view:sun_elevation": round(20 + rng.random() * 10, 6),
            "s2:degraded_msi_data_percentage": 0,
            "s2:nodata_pixel_percentage": 12.3,
            "s2:saturated_defective_pixel_percentage": 0,
            "s2:dark_features_percentage": 1.2,
            "s2:cloud_shadow_percentage": 2.1,
            "s2:vegetation_percentage": 30.4,
            "s2:not_vegetated_percentage": 20.1,
            "s2:water_percentage": 3.3,
            "s2:unclassified_percentage": 0.4,
            "s2:medium_proba_clouds_percentage": 10.2,
            "s2:high_proba_clouds_percentage": 15.7,
            "s2:thin_cirrus_percentage": 4.4,
            "s2:snow_ice_percentage": 0.1,
            "s2:product_type": "S2MSI2A",
            "s2:processing_baseline": "05.11",
            "s2:product_uri": f"S2B_MSIL2A_202502{day:02d}T101109_N0511_R022_T{tile}.SAFE",
            "s2:generation_time": f"2025-02-{day:02d}T11:25:41.000000Z",
            "s2:datatake_id": f"GS2B_202502{day:02d}T101109_041234_N05.11",
            "s2:datatake_type": "INS-NOBS",
            "s2:datastrip_id": f"S2B_OPER_MSI_L2A_DS_{n}",
            "s2:granule_id": f"S2B_OPER_MSI_L2A_TL_2BPS_{n}_A041234_T{tile}_N05.11",
            "s2:reflectance_conversion_factor": 1.0306,
            "datetime": f"2025-02-{day:02d}T10:17:{n % 60:02d}.024000Z",
            "s2:sequence": "0",
            "earthsearch:s3_path": f"s3://sentinel-cogs/{tile}/{item_id}",
            "earthsearch:payload_id": f"roda-sentinel2/workflow-sentinel2-to-stac/{n:032x}",
            "earthsearch:boa_offset_applied": True,
            "processing:software": {"sentinel2-to-stac": "0.1.1"},
        },  # fmt: skip
        "links": [
            {
                "rel": "self",
                "type": "application/geo+json",
                "href": f"{base}/collections/{COLLECTION}/items/{item_id}",
            },
            {
                "rel": "canonical",
                "type": "application/json",
                "href": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/{tile}/{item_id}.json",
            },
            {
                "rel": "license",
                "href": "https://sentinel.esa.int/documents/247904/690755/"
                "Sentinel_Data_Legal_Notice",
            },
            {
                "rel": "parent",
                "type": "application/json",
                "href": f"{base}/collections/{COLLECTION}",
            },
            {
                "rel": "collection",
                "type": "application/json",
                "href": f"{base}/collections/{COLLECTION}",
            },
            {"rel": "root", "type": "application/json", "href": f"{base}/"},
            {
                "rel": "thumbnail",
                "href": f"{base}/collections/{COLLECTION}/items/{item_id}/thumbnail",
            },
        ],  # fmt: skip
        "assets": assets,
    }


class StacService(HttpService):
    """A STAC API whose searches answer after ``delay`` (low, high) seconds at random, always
    with the same page of real-sized items and a ``next`` link; counts searches in flight."""

    def __init__(self, port: int, delay: tuple[float, float], seed: int = 1):
        self.base = f"http://127.0.0.1:{port}"
        self.low, self.high = delay
        self.rng = random.Random(seed)
        self.in_flight = self.answered = 0
        page = {
            "type": "FeatureCollection",
            "features": [stac_item(self.base, n) for n in range(PAGE)],
            "numberMatched": 1234,
            "numberReturned": PAGE,
            "links": [{"rel": "next", "href": f"{self.base}/search", "method": "POST",
                       "type": "application/geo+json", "body": {"token": "next:page2"},
                       "merge": True}],
        }  # fmt: skip
        self.page = json.dumps(page).encode()

    def delay(self, method: str, path: str) -> float:
        if method == "POST" and path.startswith("/search"):
            self.in_flight += 1  # from here until its answer (``route``)
            return self.rng.uniform(self.low, self.high)
        return 0.0

    def route(self, method: str, path: str, body: bytes):
        if method == "POST" and path.startswith("/search"):
            self.in_flight -= 1
            self.answered += 1
            return 200, self.page, {}
        if method == "GET" and path.startswith("/_bench/counts"):
            return 200, {"answered": self.answered, "in_flight": self.in_flight}, {}
        if method == "GET" and path in ("/", ""):
            return 200, {
                "type": "Catalog", "id": "slow", "stac_version": "1.0.0",
                "description": "Slow loopback STAC API",
                "conformsTo": ["https://api.stacspec.org/v1.0.0/core",
                               "https://api.stacspec.org/v1.0.0/item-search"],
                "links": [{"rel": "search", "href": f"{self.base}/search", "method": "POST",
                           "type": "application/geo+json"},
                          {"rel": "data", "href": f"{self.base}/collections"}],
            }, {}  # fmt: skip
        return 404, {"code": "NotFound", "description": f"Nothing at {path}."}, {}


# --- the search load (run as `event_loop.py --searcher`) -------------------------------------


async def search_load(base: str, count: int) -> dict:
    """``count`` search loops until a line arrives on stdin; then the counts, as JSON."""
    headers = {"Authorization": f"token {os.environ['EO_JLAB_BENCH_TOKEN']}"}
    limits = httpx.Limits(max_connections=count + 4, max_keepalive_connections=count + 4)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(
        target=lambda: (sys.stdin.readline(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    codes: dict[int, int] = {}
    sizes: list[int] = []
    in_flight = [0]
    url = f"{base}eo-jlab/catalogues/{CATALOGUE}/search"
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=120) as client:

        async def one_loop() -> None:
            while not stop.is_set():
                in_flight[0] += 1
                try:
                    answer = await client.post(url, json=SEARCH)
                finally:
                    in_flight[0] -= 1
                codes[answer.status_code] = codes.get(answer.status_code, 0) + 1
                sizes.append(len(answer.content))

        loops = [asyncio.ensure_future(one_loop()) for _ in range(count)]
        await stop.wait()
        still = in_flight[0]
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    return {"codes": codes, "answered": sum(codes.values()), "in_flight_at_stop": still,
            "mean_bytes": statistics.mean(sizes) if sizes else 0}  # fmt: skip


# --- the measurement ------------------------------------------------------------------------


async def sample_status(client: httpx.AsyncClient, url: str, count: int, spacing: float):
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        await asyncio.sleep(spacing)
    return latencies


async def watch_stac(stac_url: str) -> list[int]:
    """The searches in flight at the STAC API, once a second, until cancelled."""
    seen: list[int] = []
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            while True:
                seen.append((await client.get(f"{stac_url}/_bench/counts")).json()["in_flight"])
                await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            return seen


async def measure(server: JupyterServer, jobs_service: Upstream, stac_url: str, args) -> dict:
    status_url = f"{server.base}api/status"
    limits = httpx.Limits(max_connections=24)
    async with httpx.AsyncClient(headers=server.headers, limits=limits, timeout=120) as client:
        await sample_status(client, status_url, 50, args.spacing)  # warm up
        idle = await sample_status(client, status_url, args.samples, args.spacing)

        # Busy: the jobs first (the server follows each from its first second) ...
        execution = f"{server.base}eo-jlab/processing/{SERVICE}/processes/{PROCESS}/execution"
        slots = asyncio.Semaphore(16)

        async def submit(n: int) -> None:
            async with slots:
                answer = await client.post(execution, json={"inputs": {"n": n}, "mode": "async"})
            if answer.status_code != 201:
                raise SystemExit(f"submission {n}: HTTP {answer.status_code} {answer.text}")

        submit_from = time.monotonic()
        await asyncio.gather(*(submit(n) for n in range(args.jobs)))
        submitted = time.monotonic() - submit_from

        # ... then the searches, from their own process, kept in flight.
        searcher = subprocess.Popen(
            [sys.executable, __file__, "--searcher", server.base, f"--searches={args.searches}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "EO_JLAB_BENCH_TOKEN": server.token},
        )  # fmt: skip
        try:
            await asyncio.sleep(args.delay[1] + 1.0)  # every loop has had one answer or more
            polls_from = jobs_service.get("/_bench/counts")
            cpu_from, busy_from = server.cpu(), time.monotonic()
            watching = asyncio.ensure_future(watch_stac(stac_url))
            busy = await sample_status(client, status_url, args.samples, args.spacing)
            busy_s = time.monotonic() - busy_from
            watching.cancel()
            in_flight = await watching
            cpu = (server.cpu() - cpu_from) / busy_s
            polls_to = jobs_service.get("/_bench/counts")
            unfinished = len(
                (await client.get(f"{server.base}eo-jlab/jobs?status=running")).json()["jobs"]
            ) + len((await client.get(f"{server.base}eo-jlab/jobs?status=accepted")).json()["jobs"])
        finally:
            out, _ = searcher.communicate("stop\n", timeout=120)
        searches = json.loads(out)
    return {
        "idle": idle,
        "busy": busy,
        "busy_s": busy_s,
        "cpu": cpu,
        "submitted": submitted,
        "polls": (polls_to["status"] - polls_from["status"]) / busy_s,
        "unfinished": unfinished,
        "searches": searches,
        "in_flight": in_flight,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--spacing", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--delay", default="2,4", help="search answer delay, low,high (s)")
    parser.add_argument("--status-delay", default="0.3,1.2", help="job status delay (s)")
    parser.add_argument("--job-life", type=float, default=200.0)
    parser.add_argument("--stac", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--searcher", metavar="BASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.delay = tuple(float(x) for x in args.delay.split(","))
    status_delay = tuple(float(x) for x in args.status_delay.split(","))
    if args.stac:
        asyncio.run(serve(lambda port: StacService(port, args.delay)))
        return 0
    if args.searcher:
        print(json.dumps(asyncio.run(search_load(args.searcher, args.searches))))
        return 0

    cpus = split_cpus()
    if cpus:  # the load generators, the fake upstreams and the sampler stay off the server's
        os.sched_setaffinity(0, cpus[1])
    stac, stac_url = spawn([__file__, "--stac", f"--delay={args.delay[0]},{args.delay[1]}"])
    jobs_service = Upstream(args.job_life, seed=1, status_delay=status_delay)
    tmp = tempfile.TemporaryDirectory()
    eo_config = {
        **processing_config(jobs_service.url),
        "catalogues": [{"id": CATALOGUE, "title": "Slow", "protocol": "stac", "url": stac_url}],
        "request_timeout": args.delay[1] + 30,
    }
    started, load = time.monotonic(), os.getloadavg()[0]
    try:
        server = JupyterServer(Path(tmp.name), eo_config, cpus=cpus[0] if cpus else None)
        try:
            figures = asyncio.run(measure(server, jobs_service, stac_url, args))
        finally:
            server.stop()
    finally:
        jobs_service.stop()
        os.killpg(stac.pid, signal.SIGTERM)
        stac.wait(timeout=30)
        tmp.cleanup()

    idle, busy, searches = figures["idle"], figures["busy"], figures["searches"]
    in_flight = figures["in_flight"]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load average "
          f"at the start {load:.2f}, at the end {os.getloadavg()[0]:.2f}; "
          f"run {time.monotonic() - started:.0f} s")  # fmt: skip
    print(f"searches: {args.searches} kept in flight from their own process against a STAC API "
          f"answering after {args.delay[0]:g}-{args.delay[1]:g} s with {PAGE} Sentinel-2 L2A "
          f"items ({searches['mean_bytes'] / 1024:.0f} KiB out of eo-jlab per search); "
          f"{searches['answered']} answered, status codes {searches['codes']}, "
          f"{searches['in_flight_at_stop']} in flight at the end; in flight at the STAC API "
          f"while busy (once a second): min {min(in_flight)}, mean "
          f"{statistics.mean(in_flight):.1f}")  # fmt: skip
    print(f"jobs: {args.jobs} submitted in {figures['submitted']:.1f} s, monitored by the server "
          f"(status answers held back {status_delay[0]:g}-{status_delay[1]:g} s): "
          f"{figures['polls']:.1f} polls/s while busy, {figures['unfinished']} still unfinished "
          f"at the end; server CPU while busy {figures['cpu'] * 100:.0f} % of a core")  # fmt: skip
    print(f"status samples {args.spacing * 1000:g} ms apart; busy phase {figures['busy_s']:.0f} s"
          + (f"; server pinned to CPU {sorted(cpus[0])}, everything else to {sorted(cpus[1])}"
             if cpus else "; one CPU: server and load share it"))  # fmt: skip
    print(f"{'':6}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in (("idle", idle), ("busy", busy)):
        print(f"{name:6}{len(values):>6}{percentile(values, 50):>10.2f}"
              f"{percentile(values, 95):>10.2f}{percentile(values, 99):>10.2f}"
              f"{max(values):>10.2f}")  # fmt: skip
    for q in (50, 95, 99):
        print(f"busy/idle ratio p{q}: {percentile(busy, q) / percentile(idle, q):.2f}")
    print(f"busy/idle ratio mean: {statistics.mean(busy) / statistics.mean(idle):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
