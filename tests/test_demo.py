"""`eo-jlab demo` starts JupyterLab with the extension, offline (acceptance 2, server half).

The Galata suite (ui-tests/) opens the sidebar of the same command in Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eo_jlab.cli import main as cli_main
from eo_jlab.demo import write_demo

HERE = Path(__file__).parent


def _offline_prefix() -> list[str]:
    """`unshare -n`: a network namespace with only loopback, when this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def _demo_check(workspace: Path, env: dict, *args: str, prefix: tuple[str, ...] = ()) -> dict:
    """Run tests/demo_check.py (``eo-jlab demo`` on ``workspace``); return its findings."""
    result = subprocess.run(
        [*prefix, sys.executable, str(HERE / "demo_check.py"), str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("FINDINGS ")]
    assert lines, result.stdout + result.stderr
    return json.loads(lines[-1].removeprefix("FINDINGS "))


def _seed_jobs(data_dir: Path) -> None:
    """Jobs as a test suite (or another demo) leaves them in a Jupyter data directory."""
    import asyncio

    from eo_jlab.processing.base import RemoteJob, Result
    from eo_jlab.processing.jobs import JobStore

    store = JobStore(data_dir / "eo_jlab" / "jobs.sqlite")
    try:
        for process in ("hostile_xss", "ndvi"):
            remote = RemoteJob(status="successful", results=[Result(id="x", value=1)])
            asyncio.run(store.create("sandbox", process, {"title": "<img src=x>"}, remote, []))
    finally:
        store.close()


def test_demo_starts_with_its_own_job_store(tmp_path):
    """Issue 19 bug 3: the demo listed the jobs of the test suite (they shared the machine's
    Jupyter data directory). Jobs left in the data directory the demo is started with stay
    out of its Jobs list; its own jobs live in its workspace, and come back on a restart."""
    machine = tmp_path / "machine-data"  # the data directory tests and other runs used
    _seed_jobs(machine)
    env = {**os.environ, "JUPYTER_DATA_DIR": str(machine)}
    findings = _demo_check(tmp_path / "ws", env, "--only-jobs")
    assert findings["jobs_status"] == 200, findings["log_tail"]
    assert findings["jobs"] == {"jobs": []}, findings["jobs"]
    # The demo's own store: in its workspace, where the next start of this demo finds it.
    _seed_jobs(tmp_path / "ws" / ".eo-jlab-data")
    findings = _demo_check(tmp_path / "ws", env, "--only-jobs")
    assert sorted(j["process"] for j in findings["jobs"]["jobs"]) == ["hostile_xss", "ndvi"]


def test_demo_serves_jupyterlab_with_the_extension_offline(tmp_path):
    prefix = _offline_prefix()
    if not prefix and os.environ.get("CI"):
        pytest.fail("unshare -n is needed to prove the demo works offline")
    env = {
        **os.environ,
        "EO_JLAB_SET_LO_UP": "1" if prefix else "",
        "JUPYTER_DATA_DIR": str(tmp_path / "machine-data"),
    }
    findings = _demo_check(tmp_path / "ws", env, prefix=tuple(prefix))
    log = findings["log_tail"]
    assert findings["token_printed"], log
    assert findings["lab_status"] == 200, log
    assert findings["labextension_listed"], log
    assert findings["static_bundle"] == 200, log
    assert findings["config_status"] == 200, log
    assert findings["config"]["sharing"] == {"enabled": True, "mode": "local"}
    assert findings["config_without_token"] == 403
    assert [c["id"] for c in findings["config"]["catalogues"]] == ["demo"]
    assert findings["probe"]["ok"] is True
    assert findings["probe"]["title"] == "eo_jlab demo catalogue"
    assert findings["search_status"] == 200, findings["search"]
    page = findings["search"]
    assert len(page["features"]) == 5 and page["number_matched"] > 5
    assert all(
        "T31TCJ" in f["id"] or "Toulouse" in f["properties"]["title"] for f in page["features"]
    )
    assert findings["sandbox_start_status"] == 200
    assert sorted(findings["sandbox_processes"]) == ["area_buffer", "ndvi", "slow_progress"]
    assert findings["ndvi_status"] == 200, findings["ndvi"]
    assert findings["ndvi"]["status"] == "successful", findings["ndvi"]
    assert findings["ndvi_png"] == ["image/png", "89504e470d0a1a0a"]
    # The demo's jobs stay in its workspace, not in the data directory it was started with.
    assert (tmp_path / "ws" / ".eo-jlab-data" / "eo_jlab" / "jobs.sqlite").is_file()
    assert not (tmp_path / "machine-data" / "eo_jlab").exists()
    # Up to the stop signal (which also interrupts helpers jupyter-lsp may be running).
    running = log.split("received signal", 1)[0]
    assert "eo_jlab" in running and "Traceback" not in running


def test_demo_workspace_is_written_and_refreshed(tmp_path):
    workspace = tmp_path / "demo"
    config_dir = write_demo(workspace)
    config = json.loads((config_dir / "jupyter_server_config.json").read_text())
    assert config["ServerApp"]["root_dir"] == str(workspace.resolve())
    assert config["ServerApp"]["open_browser"] is False
    assert config["LabApp"]["news_url"] is None
    assert "EOJLab" in config
    catalogue = Path(config["EOJLab"]["catalogues"][0]["url"])
    assert catalogue.is_file() and catalogue.is_relative_to(workspace.resolve())
    page_config = json.loads((config_dir / "labconfig" / "page_config.json").read_text())
    assert page_config["disabledExtensions"]["@jupyterlab/apputils-extension:announcements"]
    (workspace / "README.md").write_text("my notes")
    write_demo(workspace)  # again: the user's files stay, the config is rewritten whole
    assert (workspace / "README.md").read_text() == "my notes"
    assert not list(config_dir.glob(".*.tmp"))


def test_cli_help_and_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("eo-jlab ")
    with pytest.raises(SystemExit):
        cli_main(["demo", "--help"])
    assert "--workspace" in capsys.readouterr().out


UI_FILES = [*sorted((HERE.parent / "src" / "components").glob("*.tsx")),
            *sorted((HERE.parent / "src" / "widgets").glob("*.tsx"))]  # fmt: skip


def _ui_words() -> tuple[set[str], set[str]]:
    """(section titles, every text the panel shows: titles, tabs, buttons) from src/."""
    import re

    texts: set[str] = set()
    sections: set[str] = set()
    for path in UI_FILES:
        source = path.read_text(encoding="utf-8")
        texts |= {m[1] for m in re.finditer(r"trans\.__\(\s*'((?:[^'\\]|\\.)*)'", source)}
        texts |= {m[1] for m in re.finditer(r'trans\.__\(\s*"((?:[^"\\]|\\.)*)"', source)}
        sections |= {
            m[1]
            for m in re.finditer(
                r"(?:title\.label\s*=\s*|section\(\s*'\w+',\s*)trans\.__\(\s*'([^']*)'", source
            )
        }
    return sections, texts


def _demo_texts() -> dict[str, str]:
    from eo_jlab.demo import WELCOME
    from eo_jlab.demo.shares import notebook

    texts = {"README.md of the demo workspace": WELCOME}
    for number, cell in enumerate(notebook()["cells"]):
        texts[f"cell {number} of the example notebook"] = cell["source"]
    return texts


def test_the_demo_names_only_sections_and_buttons_the_panel_has():
    """Issue 19 bug 6: the example notebook said "Sharing → Public → Copy"; the section is
    "Shared" and the button "Copy to my workspace". Every UI name the demo's texts give, in
    bold, in a "A → B → C" path or as "the X section", is a text of the panel (src/)."""
    import re

    sections, texts = _ui_words()
    assert {"Search", "Processes", "Jobs", "Shared"} <= sections, sections
    named = 0
    for where, text in _demo_texts().items():
        flat = " ".join(text.split())
        for path in re.findall(r"\(([^()]*→[^()]*)\)", flat):
            for step in path.split("→"):
                name = re.sub(r"\s+section\b.*$", "", step.strip()).strip("* ")
                known = sections if re.search(r"\ssection\b", step) else texts
                assert name in known, f"{where}: {name!r} (in {path!r}) is not in the panel"
                named += 1
        assert "→" not in re.sub(r"\([^()]*\)", "", flat), f"{where}: write UI paths in (...)"
        for name in re.findall(r"\*\*([^*]+)\*\*\s+section", flat):
            assert name in sections, f"{where}: no section {name!r} in the panel"
            named += 1
        for name in re.findall(r"\b(?:the|The)\s+([A-Z]\w+)\s+section", flat):
            assert name in sections, f"{where}: no section {name!r} in the panel"
            named += 1
        for name in re.findall(r"press\s+\*\*([^*]+)\*\*", flat):
            assert name in texts, f"{where}: no button {name!r} in the panel"
            named += 1
    assert named >= 5  # the texts do name the panel's parts
