"""``eo_jlab.widgets.JobProgress`` against a real job store file (the server's ``JobStore``)
whose rows change while the widget polls it from its thread."""

from __future__ import annotations

import asyncio
import time

import pytest

from eo_jlab.processing.base import RemoteJob, Result
from eo_jlab.processing.jobs import JobStore
from eo_jlab.widgets import JobProgress, job_store_path


def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the widget did not follow the store"
        time.sleep(0.02)


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "eo_jlab" / "jobs.sqlite")
    yield store
    store.close()


def create(store: JobStore, remote: RemoteJob, process: str = "slow") -> str:
    job = asyncio.run(store.create("wps", process, {"steps": 3}, remote, []))
    return job.id


def test_the_widget_follows_the_store_and_stops_at_the_end(store):
    job_id = create(store, RemoteJob(status="accepted", status_url="http://x/s.xml", progress=0))
    progress = JobProgress(job_id, store=store.path, interval=0.05)
    assert progress.status == "accepted" and progress.polling
    assert "slow" in progress.title.value and "wps" in progress.title.value
    assert progress.bar.description == "accepted" and progress.bar.value == 0

    asyncio.run(
        store.update(job_id, RemoteJob(status="running", progress=40, message="step 2"), [])
    )
    until(lambda: progress.bar.value == 40)
    assert progress.bar.description == "running"
    assert "step 2" in progress.state.value and "40%" in progress.state.value
    assert progress.elapsed.value.startswith("Elapsed 0:00:")
    assert progress.output.value == "" and progress.polling

    results = [
        Result(id="map", href="https://example.org/out/map.tif", mime_type="image/tiff"),
        Result(id="count", value={"n": 3, "note": "<script>alert(1)</script>"}),
        Result(id="evil", href="javascript:alert(1)"),
    ]
    done = RemoteJob(status="successful", progress=100, message="done", results=results)
    asyncio.run(store.update(job_id, done, []))
    assert progress.wait(10) and not progress.polling  # the poller stopped by itself
    assert progress.status == "successful" and progress.bar.value == 100
    assert progress.bar.bar_style == "success"
    assert [r["id"] for r in progress.results] == ["map", "count", "evil"]
    html = progress.output.value
    assert 'href="https://example.org/out/map.tif"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and "javascript:alert(1)" in html
    shown = progress.elapsed.value
    time.sleep(1.2)
    progress.refresh()
    assert progress.elapsed.value == shown  # a finished job's time no longer runs


def test_a_failed_job_shows_its_error(store):
    job_id = create(store, RemoteJob(status="running", status_url="http://x/s.xml"))
    progress = JobProgress(job_id, store=store.path, interval=0.05)
    failed = RemoteJob(status="failed", message="failed", error="Deliberate failure <b>")
    asyncio.run(store.update(job_id, failed, []))
    assert progress.wait(10) and progress.status == "failed"
    assert progress.bar.bar_style == "danger"
    assert "Deliberate failure &lt;b&gt;" in progress.state.value
    assert "No results" in progress.output.value


def test_a_final_job_is_shown_without_a_poller(store):
    job_id = create(store, RemoteJob(status="successful", results=[Result(id="a", value=1)]))
    progress = JobProgress(job_id, store=store.path)
    assert progress.done and not progress.polling
    assert "<b>a</b>: <code>1</code>" in progress.output.value


def test_unknown_jobs_and_missing_stores_are_said(store, tmp_path):
    create(store, RemoteJob(status="running"))
    progress = JobProgress("nope", store=store.path)
    assert progress.done and not progress.polling and progress.status is None
    assert "no job 'nope'" in progress.problem and "no job" in progress.state.value
    missing = JobProgress("x", store=tmp_path / "none.sqlite")
    assert "no eo-jlab job store" in missing.problem and not missing.polling


def test_stop_ends_the_poller(store):
    job_id = create(store, RemoteJob(status="running"))
    progress = JobProgress(job_id, store=store.path, interval=0.05)
    assert progress.polling
    progress.stop()
    progress.wait(5)
    assert not progress.polling and progress.status == "running"


def test_default_store_is_in_the_jupyter_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    assert job_store_path() == tmp_path / "eo_jlab" / "jobs.sqlite"
