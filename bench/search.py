"""Search overhead per protocol: (search through eo-jlab) / (same upstream request with httpx).

Starts the real servers of the test suite (stac-fastapi-pgstac, pycsw, the Resto-style
OpenSearch server, the static catalogue), sends one search RUNS times each way (default 60,
EO_JLAB_BENCH_RUNS to change) and prints p50/p95 and their ratios per protocol, last.

    python bench/search.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "bench" / "search_cases.py"), "-q", "-s",
         "-p", "no:cacheprovider", "-p", "pytest_jupyter.jupyter_server", "-W", "ignore"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    lines = [line.split("BENCH ", 1)[1] for line in result.stdout.splitlines() if "BENCH " in line]
    if result.returncode != 0 or not lines:
        print(result.stdout[-4000:], result.stderr[-2000:])
        return 1
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
