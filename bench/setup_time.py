"""Fresh-clone set-up: `make test` twice in a new clone of HEAD; the second run skips set-up.

Prints both durations and their ratio last. Takes a few minutes (two full test runs).

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


def run_make_test(clone: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["CI"] = "true"
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    started = time.monotonic()
    result = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-2000:])
        raise SystemExit(f"make test failed in {clone}")
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "eo_jlab"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        first = run_make_test(clone)
        second = run_make_test(clone)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"make test in a fresh clone (set-up + every suite): {first:.1f} s")
    print(f"make test again (set-up skipped): {second:.1f} s")
    print(f"second/first ratio: {second / first:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
