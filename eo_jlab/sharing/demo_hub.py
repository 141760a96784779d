"""A local JupyterHub with the eo-jlab share service: ``make demo-hub`` and the hub tests.

``hub_config(settings)`` is the JupyterHub configuration both use (tests/servers/hub.py adds
an api-token service for its driver); ``main`` writes it into a workspace folder and runs
JupyterHub in the foreground on 127.0.0.1:

* SharedPasswordAuthenticator: users alice, bob and carol, one random password (printed);
  a group ``class`` holding bob;
* SimpleLocalProcessSpawner: each user's home is ``<workspace>/users/<name>``, the server is
  this venv's ``jupyterhub-singleuser`` with ``c.EOJLab.share_service_url`` set;
* the share service (``eo-jlab-share-service``) as a managed service, its store in
  ``<workspace>/store``; the roles it needs (``read:users``, ``list:users``, ``read:groups``,
  ``list:groups``), users' access to it, and the servers' tokens' access scope to it.

Not for production (everything as the current Unix user, dummy passwords): see
docs/deployment.md for a platform.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

SERVICE = "eo-jlab-share"
USERS = ("alice", "bob", "carol")

CONFIG = """# Written by eo_jlab.sharing.demo_hub: a local JupyterHub with the eo-jlab share service
c = get_config()  # noqa: F821
settings = {settings!r}
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["proxy_port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{{settings['proxy_api_port']}}"
c.ConfigurableHTTPProxy.command = [settings["chp"]]
c.JupyterHub.db_url = f"sqlite:///{{settings['home']}}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{{settings['home']}}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{{settings['home']}}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.Authenticator.allowed_users = set(settings["users"])
if settings.get("password"):
    c.JupyterHub.authenticator_class = "shared-password"  # JupyterHub >= 5.3
    c.SharedPasswordAuthenticator.user_password = settings["password"]
else:  # tests: nobody logs in through the browser
    c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.load_groups = {{"class": {{"users": ["bob"]}}}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = settings["home"] + "/users/{{username}}"
c.Spawner.cmd = [settings["singleuser"]]
c.Spawner.args = settings["singleuser_args"] + [
    f"--EOJLab.share_service_url={{settings['service_url']}}",
]
c.Spawner.environment = settings["environment"]
# The server's own token ($JUPYTERHUB_API_TOKEN) must carry access to the share service.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    f"access:services!service={{settings['service']}}",
]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.services = [
    {{
        "name": settings["service"],
        "url": f"http://127.0.0.1:{{settings['service_port']}}",
        "command": settings["service_command"],
        "environment": settings["environment"],
        "oauth_no_confirm": True,
    }},
] + [
    {{"name": name, "api_token": token}} for name, token in settings["api_services"].items()
]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", f"access:services!service={{settings['service']}}"]}},
    {{
        "name": "eo-jlab-share-service",
        "scopes": ["list:users", "read:users", "list:groups", "read:groups"],
        "services": [settings["service"]],
    }},
] + settings["extra_roles"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    while True:
        ports = [free_port() for _ in range(n)]
        if len(set(ports)) == n and not {8000, 8888} & set(ports):
            return ports


def hub_settings(
    home: Path,
    chp: str | Path,
    *,
    users: tuple[str, ...] = USERS,
    password: str = "",
    proxy_port: int | None = None,
    environment: dict[str, str] | None = None,
    api_services: dict[str, str] | None = None,
    extra_roles: list[dict[str, Any]] | None = None,
    cache_max_age: int = 30,
) -> dict[str, Any]:
    """The values ``hub_config`` needs; ports not given are free loopback ports."""
    home = Path(home).resolve()
    bindir = Path(sys.executable).parent
    hub_port, api_port, service_port, public = free_ports(4)
    singleuser_args = ["--HubOAuth.cache_max_age=1"] if cache_max_age <= 1 else []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        singleuser_args.insert(0, "--allow-root")
    return {
        "home": str(home),
        "proxy_port": proxy_port or public,
        "proxy_api_port": api_port,
        "hub_port": hub_port,
        "service_port": service_port,
        "service": SERVICE,
        "service_url": f"http://127.0.0.1:{service_port}/services/{SERVICE}/",
        "service_command": [
            sys.executable,
            "-m",
            "eo_jlab.sharing.service",
            "--store",
            str(home / "store"),
            "--cache-max-age",
            str(cache_max_age),
        ],  # fmt: skip
        "chp": str(chp),
        "singleuser": str(bindir / "jupyterhub-singleuser"),
        "singleuser_args": singleuser_args,
        "users": list(users),
        "password": password,
        "environment": dict(environment or {}),
        "api_services": dict(api_services or {}),
        "extra_roles": list(extra_roles or []),
    }


def hub_config(settings: dict[str, Any]) -> str:
    """The text of a ``jupyterhub_config.py`` for ``settings`` (see ``hub_settings``)."""
    return CONFIG.format(settings=settings)


def write_hub(settings: dict[str, Any]) -> Path:
    home = Path(settings["home"])
    (home / "users").mkdir(parents=True, exist_ok=True)
    (home / "store").mkdir(exist_ok=True)
    config = home / "jupyterhub_config.py"
    config.write_text(hub_config(settings), encoding="utf-8")
    return config


def _find_proxy(given: str | None) -> str:
    for candidate in (given, shutil.which("configurable-http-proxy"),
                      ".servers/chp/node_modules/.bin/configurable-http-proxy"):  # fmt: skip
        if candidate and Path(candidate).exists():
            return str(Path(candidate).resolve())
    raise SystemExit(
        "demo-hub: configurable-http-proxy not found; `make .make/hub` installs it under "
        ".servers/chp, or give --proxy."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eo_jlab.sharing.demo_hub",
        description="Run a local JupyterHub (alice, bob, carol) with the eo-jlab share service.",
    )
    parser.add_argument("--workspace", default="eo-jlab-demo-hub", help="folder for the hub")
    parser.add_argument("--port", type=int, default=0, help="public port (default: a free one)")
    parser.add_argument("--proxy", default=None, help="path of configurable-http-proxy")
    args = parser.parse_args(argv)
    password = secrets.token_urlsafe(9)
    settings = hub_settings(
        Path(args.workspace), _find_proxy(args.proxy), password=password,
        proxy_port=args.port or None,
    )  # fmt: skip
    config = write_hub(settings)
    url = f"http://127.0.0.1:{settings['proxy_port']}/"
    print(
        f"eo-jlab demo-hub: open {url} and log in as alice, bob or carol with the password "
        f"{password} (bob is in the group 'class'). Homes: {settings['home']}/users/. "
        "Stop with Ctrl-C.",
        flush=True,
    )
    jupyterhub = str(Path(sys.executable).parent / "jupyterhub")
    os.chdir(settings["home"])
    os.execv(jupyterhub, [jupyterhub, "-f", str(config)])
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
