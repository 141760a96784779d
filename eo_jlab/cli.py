"""The ``eo-jlab`` console command."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from pathlib import Path

from . import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eo-jlab", description="eo_jlab: Earth Observation tools for JupyterLab."
    )
    parser.add_argument("--version", action="version", version=f"eo-jlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="start JupyterLab with the embedded demo services (works offline)",
        description="Write a demo configuration into a workspace folder and start JupyterLab "
        "on it. The demo keeps its jobs and sandbox outputs in the workspace (.eo-jlab-data, "
        "its Jupyter data directory). Arguments after '--' go to JupyterLab unchanged.",
    )
    demo.add_argument(
        "--workspace", default="eo-jlab-demo", help="demo workspace folder (default: %(default)s)"
    )
    demo.add_argument("--port", type=int, default=8888, help="port (default: %(default)s)")
    demo.add_argument(
        "--ip", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    demo.add_argument(
        "--token",
        default=None,
        help="access token (default: a new random one; '' turns token auth off, for "
        "browser tests on loopback only)",
    )
    args, extra = parser.parse_known_args(argv)
    if extra and extra[0] == "--":
        extra = extra[1:]
    if args.command == "demo":
        return run_demo(Path(args.workspace), args.ip, args.port, args.token, extra)
    return 2


def run_demo(workspace: Path, ip: str, port: int, token: str | None, extra: list[str]) -> int:
    from .demo import demo_environment, write_demo

    write_demo(workspace)
    if token is None:
        token = secrets.token_hex(24)
    env = demo_environment(workspace, dict(os.environ))
    host = f"[{ip}]" if ":" in ip else ip
    query = f"?token={token}" if token else ""
    print(
        f"eo-jlab demo: workspace {workspace.resolve()}\n"
        f"eo-jlab demo: open http://{host}:{port}/lab{query}\n",
        flush=True,
    )
    jupyter = shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) or "jupyter-lab"
    cmd = [
        jupyter,
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        *extra,
    ]
    os.execvpe(cmd[0], cmd, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
