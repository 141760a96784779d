"""Shared fixtures: a Jupyter server with eo_jlab (pytest-jupyter) and a loopback upstream."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from .upstream import Upstream

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture(scope="session", autouse=True)
def _own_jupyter_data_dir(tmp_path_factory):
    """Nothing a test starts (servers, kernels, the sandbox, ``eo-jlab demo``) writes into the
    machine's Jupyter data directory: job stores and sandbox outputs go to a directory of this
    session, removed at its end (pytest-jupyter gives each server test one of its own too)."""
    root = tmp_path_factory.mktemp("jupyter-data")
    names = ("JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["JUPYTER_DATA_DIR"] = str(root / "data")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def upstream():
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def eo_config(upstream) -> dict:
    """``c.EOJLab`` for a test; override this fixture in a module to change it."""
    return {"catalogues": [{"id": "stac", "protocol": "stac", "url": upstream.url("/stac")}]}


@pytest.fixture
def jp_server_config(eo_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"eo_jlab": True},
            # Test against a server which requires authentication on all endpoints
            "allow_unauthenticated_access": False,
        },
        "EOJLab": eo_config,
    }


@pytest.fixture
def eo_get(jp_fetch):
    """GET an eo-jlab route; return (status, JSON body) whatever the status."""

    async def get(*path: str, **kwargs):
        response = await jp_fetch("eo-jlab", *path, raise_error=False, **kwargs)
        return response.code, json.loads(response.body)

    return get
