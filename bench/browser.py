"""Browser: 5,000 search results with footprints (list + map), map panning, bundle size.

Writes a deterministic static catalogue of 5,000 small footprints over Europe into a
temporary folder, then runs the Galata spec ``ui-tests/bench/render.bench.ts`` (its own
configuration, ``ui-tests/playwright.bench.config.js``: Debian's headless Chromium against a
fresh ``eo-jlab demo`` on port 8888, the catalogue added through ``EO_JLAB_BENCH_CATALOGUE``).
In the page, each round is a search of 500 results then 9 "Load more" (the contract caps a
page at 500), clicked back to back; for each page it times, with ``performance.now()``,
Resource Timing and ``requestAnimationFrame``, the time from the end of the search response
to the list and the map updated (the frame after the one the map drew the footprints in).
Round 1 warms up; the last round is reported. Then the 5,000 results are shown again as a
new array (list and map redo everything), and the view pans one map width and back over
2 s with every footprint in view: the gaps between animation frames and the map's own
render time per frame; then the same pan with the footprints layer hidden (the baseline).
The basemap is the configured one (by default OpenStreetMap tiles, fetched over the network
while the pages load); a first, unmeasured pan over the same path caches its tiles.

Then the size of the JavaScript bundle: ``eo_jlab/labextension/static/*.js`` as it is in
the working tree (``jlpm build`` makes a development bundle) and a production bundle built
in a temporary copy (``tsc`` + ``jupyter-builder build``, as the wheel has it; skip with
``--no-prod``): total and largest chunk, raw and gzip (level 6).

Prints the figures last.

    python bench/browser.py [--rounds 2] [--no-prod]
    EO_JLAB_BENCH_KEEP=figures.json python bench/browser.py   # keep the spec's JSON
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "ui-tests"
BIN = ROOT / ".venv" / "bin"
ITEMS = 5000


# --- the catalogue -------------------------------------------------------------------------


def bench_items(count: int = ITEMS) -> list[dict]:
    """``count`` STAC items, footprints of about 0.3 x 0.35 degrees on a grid over Europe."""
    columns = 100
    items = []
    for i in range(count):
        row, col = divmod(i, columns)
        west = round(-10 + 0.4 * col, 4)
        south = round(35 + 0.5 * (row % 50), 4)
        east, north = round(west + 0.3, 4), round(south + 0.35, 4)
        ring = [[west, south], [east, south + 0.01], [east - 0.01, north], [west + 0.02, north]]
        day, minute = divmod(i, 24 * 60)
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [],
                "id": f"BENCH_{i:05d}",
                "collection": "bench",
                "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
                "bbox": [west, south, east, north],
                "properties": {
                    "title": f"Benchmark product {i:05d} (row {row}, column {col})",
                    "datetime": f"2025-01-{1 + day:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z",
                    "platform": "sentinel-2a" if i % 2 else "sentinel-2b",
                    "eo:cloud_cover": round((i * 37) % 100 + 0.5, 1),
                },
                "assets": {},
                "links": [],
            }
        )
    return items


def write_catalogue(dest: Path, count: int = ITEMS) -> Path:
    """catalog.json -> collection.json -> 10 FeatureCollection files of the items."""
    items = bench_items(count)
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(math.ceil(count / 500)):
        name = f"items-{n:02d}.json"
        chunk = {"type": "FeatureCollection", "features": items[n * 500 : (n + 1) * 500]}
        (dest / name).write_text(json.dumps(chunk))
        files.append(name)
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": "bench",
        "title": "Benchmark footprints",
        "description": f"{count} generated items for bench/browser.py.",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [[-10, 35, 30, 60]]},
            "temporal": {"interval": [["2025-01-01T00:00:00Z", "2025-01-31T23:59:59Z"]]},
        },
        "links": [{"rel": "item", "href": f"./{f}", "type": "application/geo+json"} for f in files],
    }
    (dest / "collection.json").write_text(json.dumps(collection))
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "eo-jlab-bench",
        "description": "Benchmark catalogue",
        "links": [{"rel": "child", "href": "./collection.json", "type": "application/json"}],
    }
    root = dest / "catalog.json"
    root.write_text(json.dumps(catalog))
    return root


# --- the bundle ----------------------------------------------------------------------------


def bundle_sizes(static: Path) -> dict:
    chunks = {}
    for path in sorted(static.glob("*.js")):
        data = path.read_bytes()
        chunks[path.name] = (len(data), len(gzip.compress(data, 6)))
    largest = max(chunks, key=lambda name: chunks[name][0])
    return {
        "files": len(chunks),
        "total": sum(raw for raw, _ in chunks.values()),
        "total_gzip": sum(gz for _, gz in chunks.values()),
        "largest": largest,
        "largest_raw": chunks[largest][0],
        "largest_gzip": chunks[largest][1],
    }


def production_bundle(tmp: Path) -> Path:
    """Build the labextension in production mode in a copy of the sources."""
    copy = tmp / "prod"
    copy.mkdir()
    for name in ("package.json", "tsconfig.json", "LICENSE", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, copy / name)
    for name in ("src", "style", "schema"):
        shutil.copytree(ROOT / name, copy / name)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in (
        [str(ROOT / "node_modules" / ".bin" / "tsc")],
        [str(BIN / "jupyter-builder"), "build", "."],
    ):
        result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            output = result.stdout[-3000:] + result.stderr[-3000:]
            raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return copy / "eo_jlab" / "labextension" / "static"


# --- the run ---------------------------------------------------------------------------------


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_spec(catalogue: Path, out: Path, rounds: int) -> None:
    if port_busy(8888):
        raise SystemExit("port 8888 is in use (another Galata run?): wait for it to end")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
        "EO_JLAB_BENCH_CATALOGUE": str(catalogue),
        "EO_JLAB_BENCH_OUT": str(out),
        "EO_JLAB_BENCH_ROUNDS": str(rounds),
        "CI": "true",
    }
    command = [str(BIN / "jlpm"), "playwright", "test", "-c", "playwright.bench.config.js"]
    result = subprocess.run(command, cwd=UI, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        print(result.stdout[-6000:], result.stderr[-3000:])
        raise SystemExit("the browser benchmark failed (server log: ui-tests/demo-server.log)")


def kib(n: int) -> str:
    return f"{n / 1024:.0f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 10 pages (last kept)")
    parser.add_argument("--no-prod", action="store_true", help="skip the production build")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="eo-jlab-browser-") as name:
        tmp = Path(name)
        catalogue = write_catalogue(tmp / "catalogue")
        out = tmp / "results.json"
        started = time.monotonic()
        run_spec(catalogue, out, args.rounds)
        figures = json.loads(out.read_text())
        if os.environ.get("EO_JLAB_BENCH_KEEP"):
            shutil.copy2(out, os.environ["EO_JLAB_BENCH_KEEP"])
        spec_seconds = time.monotonic() - started
        dev = bundle_sizes(ROOT / "eo_jlab" / "labextension" / "static")
        prod = None if args.no_prod else bundle_sizes(production_bundle(tmp))

    chromium = subprocess.run(
        ["/usr/bin/chromium", "--version"], capture_output=True, text=True
    ).stdout.strip()
    print(f"spec run: {spec_seconds:.0f} s (server start, {args.rounds} rounds, panning)")
    for i, round_ in enumerate(figures["rounds"], 1):
        shown = [s["response_to_shown_ms"] for s in round_["steps"]]
        print(
            f"round {i}: total {round_['total_ms']:.0f} ms, response -> shown per page (ms): "
            + " ".join(f"{v:.0f}" for v in shown)
        )
    last = figures["rounds"][-1]
    steps = last["steps"]
    print("last round, per page (ms):")
    print("  count  response  resp->list  resp->map drawn  resp->shown  click->shown  longest task")
    for s in steps:
        print(
            f"  {s['count']:5d}  {s['response_ms']:8.0f}  {s['response_to_list_ms']:10.0f}"
            f"  {s['response_to_map_drawn_ms']:15.0f}  {s['response_to_shown_ms']:11.0f}"
            f"  {s['click_to_shown_ms']:12.0f}  {s['longest_task_ms']:12.0f}"
        )
    rerender, pan = figures["rerender"], figures["panning"]
    print(
        f"machine: {os.cpu_count()} cores, {chromium} (headless, --disable-gpu), "
        f"viewport {figures['viewport']['width']}x{figures['viewport']['height']}, "
        f"sidebar 420 px, map {pan['map_size_px'][0]}x{pan['map_size_px'][1]} px"
    )
    print(f"JS heap after 5,000 results: {last['heap_mb']:.0f} MB")
    final = steps[-1]
    print(
        f"5,000 results, last page (4,500 -> 5,000): response -> list + map shown "
        f"{final['response_to_shown_ms']:.0f} ms (list {final['response_to_list_ms']:.0f} ms,"
        f" map drawn {final['response_to_map_drawn_ms']:.0f} ms)"
    )
    print(
        f"5,000 results, total: search click -> 5,000 shown {last['total_ms']:.0f} ms "
        f"(10 requests of 500; client-side share {last['sum_response_to_shown_ms']:.0f} ms, "
        f"median page {statistics.median(s['response_to_shown_ms'] for s in steps):.0f} ms)"
    )
    print(
        f"5,000 results redrawn at once (new array): model+list {rerender['update_ms']:.0f} ms, "
        f"map drawn {rerender['map_drawn_ms']:.0f} ms, shown {rerender['shown_ms']:.0f} ms; "
        f"list rows in the DOM: {rerender['rows_in_dom']}"
    )
    base = figures["panning_without_footprints"]
    for label, p in (("panning 5,000 footprints", pan), ("same pan, footprints hidden", base)):
        print(
            f"{label} at zoom {p['zoom']:.1f} for 2 s: {p['frames']} frames "
            f"({p['frames_over_20ms']} over 20 ms), frame p50 {p['frame_p50_ms']:.1f} ms, "
            f"p95 {p['frame_p95_ms']:.1f} ms, max {p['frame_max_ms']:.1f} ms; map render "
            f"p50 {p['render_p50_ms']:.1f} ms, p95 {p['render_p95_ms']:.1f} ms, "
            f"max {p['render_max_ms']:.1f} ms ({p['map_renders']} renders)"
        )
    print(
        f"panning ratio with/without footprints: frame p95 "
        f"{pan['frame_p95_ms'] / base['frame_p95_ms']:.2f}, map render p50 "
        f"{pan['render_p50_ms'] / base['render_p50_ms']:.2f}"
    )
    for label, sizes in (("working tree (jlpm build, development)", dev), ("production", prod)):
        if sizes:
            print(
                f"bundle {label}: {sizes['files']} .js files, total {kib(sizes['total'])} "
                f"(gzip {kib(sizes['total_gzip'])}); largest {sizes['largest']} "
                f"{kib(sizes['largest_raw'])} (gzip {kib(sizes['largest_gzip'])})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
