"""The SQLite job store and the event feed: transitions, crash recovery, exactly-once bookkeeping."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from daemon.store import EventBus, JobStore


def _spec(name: str = "a.wav") -> dict[str, object]:
    return {"kind": "clean", "inputs": [f"/tmp/{name}"], "out_dir": "/tmp/out", "preset": None, "options": {}}


def test_jobs_move_through_states_and_survive_reopening(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    first = store.create(_spec("1.wav"), origin="api")
    second = store.create(_spec("2.wav"), origin="cli", reaper={"item": "{GUID}"})
    assert first.state == "queued" and second.reaper == {"item": "{GUID}"}

    claimed = store.claim_next()
    assert claimed is not None and claimed.id == first.id  # oldest first
    assert claimed.state == "running" and claimed.attempts == 1 and claimed.started_at is not None
    store.set_progress(first.id, 0.5, "half")
    store.finish(first.id, "done", message="ok", outcome={"outputs": [], "summary": {"n": 1}})
    store.close()

    reopened = JobStore(tmp_path / "jobs.sqlite3")
    done = reopened.get(first.id)
    assert done is not None and done.state == "done" and done.progress == 1.0
    assert done.outcome == {"outputs": [], "summary": {"n": 1}} and done.finished_at is not None
    assert reopened.counts() == {"queued": 1, "running": 0, "done": 1, "failed": 0, "cancelled": 0}
    assert [job.id for job in reopened.list_jobs()] == [second.id, first.id]  # newest first
    assert [job.id for job in reopened.list_jobs(state="queued")] == [second.id]
    assert done.to_json()["spec"] == _spec("1.wav") and done.to_json()["origin"] == "api"
    reopened.close()


def test_interrupted_jobs_are_requeued_then_given_up(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.create(_spec(), origin="api")
    for attempt in (1, 2):
        assert store.claim_next() is not None
        # simulate a crash: the row stays "running"; a new daemon recovers it
        recovered = store.recover_interrupted(max_attempts=2)
        expected = "queued" if attempt == 1 else "failed"
        assert [r.state for r in recovered] == [expected]
    failed = store.get(job.id)
    assert failed is not None and failed.error_type == "InterruptedJob" and "2 times" in (failed.error or "")
    store.close()


def test_only_queued_jobs_can_be_cancelled_directly(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    running = store.create(_spec("r.wav"), origin="api")
    queued = store.create(_spec("q.wav"), origin="api")
    assert store.claim_next() == store.get(running.id)
    assert store.cancel_queued(queued.id)
    assert not store.cancel_queued(running.id)  # a running job stops through its cancel token instead
    states = {job.id: job.state for job in store.list_jobs()}
    assert states == {running.id: "running", queued.id: "cancelled"}
    assert store.claim_next() is None
    store.close()


def test_concurrent_claims_never_hand_out_a_job_twice(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = {store.create(_spec(f"{i}.wav"), origin="api").id for i in range(60)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all() -> None:
        while (record := store.claim_next()) is not None:
            with lock:
                claimed.append(record.id)

    threads = [threading.Thread(target=claim_all) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)
    store.close()


def test_a_hot_file_maps_to_one_job_until_it_is_filed(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    source = tmp_path / "hot" / "take.wav"
    first = store.create_hot(_spec(), job_id="job-1", source=source, preset="p")
    assert first is not None and first.origin == "hot"
    assert store.create_hot(_spec(), job_id="job-2", source=source, preset="p") is None
    assert store.get("job-2") is None  # the refused job left no row behind
    store.set_hot_destination("job-1", tmp_path / "done")
    entry = store.hot_entry(source)
    assert entry is not None and entry.job_id == "job-1" and entry.dest_dir == tmp_path / "done"
    store.mark_filed("job-1")
    assert store.hot_entry(source) is None and store.unfiled_hot_entries() == []
    again = store.create_hot(_spec(), job_id="job-3", source=source, preset="p")  # a new drop, same name
    assert again is not None
    store.close()


def test_event_bus_long_poll_wakes_on_publish_and_filters_by_job() -> None:
    bus = EventBus()
    head = bus.after(None, timeout_s=0).last_seq
    publisher = threading.Timer(0.1, lambda: (bus.publish("other", "running", 0.1, "x"),
                                              bus.publish("mine", "running", 0.5, "half")))
    started = time.monotonic()
    publisher.start()
    page = bus.after(head, timeout_s=5.0, job_id="mine")
    publisher.join()
    assert time.monotonic() - started < 2.0
    assert [(e.job_id, e.progress) for e in page.events] == [("mine", 0.5)]
    assert page.last_seq == bus.last_seq
    assert bus.after(page.last_seq, timeout_s=0.05).events == ()
    # a later bus (daemon restart) numbers events above every earlier one
    assert EventBus().last_seq > page.last_seq - 1000


def test_store_publishes_every_change(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    head = store.events.last_seq
    job = store.create(_spec(), origin="api")
    store.claim_next()
    store.set_progress(job.id, 0.25, "quarter")
    store.finish(job.id, "failed", message="failed", error="boom", error_type="AudioFileError")
    page = store.events.after(head, timeout_s=0)
    assert [e.state for e in page.events] == ["queued", "running", "running", "failed"]
    store.close()
