"""Check that a built wheel carries the prebuilt (production) labextension and the server parts.

Usage: python .ci/check_wheel.py dist/eo_jlab-*.whl
"""

from __future__ import annotations

import re
import sys
import zipfile


def main(path: str) -> int:
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        share = next(
            (
                n.split("share/jupyter/labextensions/eo_jlab/")[0]
                for n in names
                if "share/jupyter/labextensions/eo_jlab/" in n
            ),
            None,
        )
        problems = []
        if share is None:
            problems.append("no share/jupyter/labextensions/eo_jlab/ in the wheel")
            share = ""
        ext = share + "share/jupyter/labextensions/eo_jlab/"
        required = [
            ext + "package.json",
            ext + "install.json",
            ext + "schemas/eo_jlab/plugin.json",
            ext + "static/style.js",
            share + "etc/jupyter/jupyter_server_config.d/eo_jlab.json",
            "eo_jlab/app.py",
            "eo_jlab/net.py",
        ]
        problems += [f"missing {name}" for name in required if name not in names]
        if not any(
            re.match(re.escape(ext) + r"static/remoteEntry\.[0-9a-f]+\.js$", n) for n in names
        ):
            problems.append("missing the labextension's remoteEntry bundle")
        # A development bundle carries source maps and a build log; a production one, licences.
        if (
            any(n.startswith(ext + "static/") and n.endswith(".js.map") for n in names)
            or (ext + "build_log.json" in names)
            or ext + "static/third-party-licenses.json" not in names
        ):
            problems.append("the labextension is a development build")
        entry_points = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        if (
            not entry_points
            or "eo-jlab = eo_jlab.cli:main" not in wheel.read(entry_points).decode()
        ):
            problems.append("the eo-jlab console command is not declared")
        if any(n.startswith(("tests/", "ui-tests/", ".venv/")) for n in names):
            problems.append("test or venv files leaked into the wheel")
    if problems:
        print(f"{path}: " + "; ".join(problems))
        return 1
    print(f"{path}: OK ({len(names)} files, prebuilt production labextension included)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
