"""Fresh-clone set-up: `make install build` (everything `make test` and `make demo` set up
before they run anything) twice in a new clone of HEAD; the second run finds its stamps and
skips the work. Prints both durations and their ratio last. Takes a few minutes: pip and yarn
caches of the machine are used, as on any developer's machine after a first clone.

    python bench/setup_time.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_setup(clone: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["CI"] = "true"
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    started = time.monotonic()
    result = subprocess.run(
        ["make", "install", "build"], cwd=clone, env=env, capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-2000:])
        raise SystemExit(f"make install build failed in {clone}")
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "eo_jlab"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        first = run_setup(clone)
        second = run_setup(clone)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"make install build in a fresh clone: {first:.1f} s")
    print(f"make install build again (stamps found, nothing to do): {second:.1f} s")
    print(f"second/first ratio: {second / first:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
