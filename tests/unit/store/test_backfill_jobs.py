"""`BackfillJobs`: queued in dependency order, leased a page at a time, resumed from the last
checkpoint after a worker dies, cancelled between pages; on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbsync.store.backfills import (
    BackfillJobs,
    Checkpoint,
    Counts,
    JobConflict,
    JobFinished,
    JobNotFound,
)

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


@pytest.fixture
def jobs(database) -> BackfillJobs:
    return BackfillJobs(database)


def _start(jobs: BackfillJobs, worker: str = "w1", now: datetime = T0):
    job = jobs.claim(worker, 60, now)
    assert job is not None
    assert jobs.start(
        job, worker, total=2500, write_mode="Collections", salesforce_object="Account", now=now
    )
    return job


def test_jobs_of_a_realm_run_one_at_a_time_in_the_order_given(jobs: BackfillJobs) -> None:
    first, second = jobs.create("r1", [("Customer", "Account"), ("Invoice", None)], None, T0)
    other = jobs.create("r2", [("Item", "Product2")], None, T0)[0]
    assert (first.state, first.qb_object, second.qb_object) == ("Queued", "Customer", "Invoice")

    assert jobs.claim("w1", 60, T0).job_key == first.job_key
    # The Customer job is leased; the Invoice job waits behind it, the other realm's does not.
    assert jobs.claim("w2", 60, T0).job_key == other.job_key
    assert jobs.claim("w3", 60, T0) is None


def test_a_second_job_for_the_same_object_is_refused_while_one_is_active(
    jobs: BackfillJobs,
) -> None:
    (job,) = jobs.create("r1", [("Customer", "Account")], None, T0)
    with pytest.raises(JobConflict) as refused:
        jobs.create("r1", [("Vendor", "Account"), ("Customer", "Account")], None, T0)
    assert refused.value.job.job_key == job.job_key
    assert [j.qb_object for j in jobs.jobs("r1")] == ["Customer"]  # nothing of the refused call
    jobs.cancel(job.job_key, T0, "cancelled by the admin")
    assert jobs.create("r1", [("Customer", "Account")], None, T0)


def test_pages_add_counts_and_move_the_checkpoint(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account")], T0 - timedelta(days=3), T0)
    job = _start(jobs)
    point = Checkpoint(T0 - timedelta(days=1), ("7", "8"), 0)
    assert jobs.advance(
        job,
        "w1",
        counts=Counts(processed=1000, created=990, failed=10),
        checkpoint=point,
        done=False,
        eta=T0 + timedelta(minutes=2),
        now=T0,
    )
    job = jobs.claim("w1", 60, T0)  # the lease was given back with the page
    assert job.checkpoint == point and job.pages == 1 and job.state == "Running"
    assert job.counts == Counts(processed=1000, created=990, failed=10)
    assert jobs.advance(
        job,
        "w1",
        counts=Counts(processed=500, updated=500),
        checkpoint=Checkpoint(T0, ("9",)),
        done=True,
        eta=None,
        now=T0 + timedelta(seconds=5),
    )
    (done,) = jobs.jobs("r1")
    assert done.state == "Done" and done.finished_at == T0 + timedelta(seconds=5)
    assert done.counts == Counts(processed=1500, created=990, updated=500, failed=10)
    assert done.total == 2500 and done.write_mode == "Collections" and done.since is not None
    assert jobs.claim("w1", 60, T0 + timedelta(hours=1)) is None


def test_a_dead_workers_page_is_resumed_by_another_worker_after_its_lease(
    jobs: BackfillJobs,
) -> None:
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = _start(jobs, "w1")
    assert jobs.advance(
        job, "w1", counts=Counts(processed=1000), checkpoint=Checkpoint(T0), done=False,
        eta=None, now=T0,
    )  # fmt: skip
    dying = jobs.claim("w1", 60, T0)  # w1 takes the next page and is killed
    assert jobs.claim("w2", 60, T0 + timedelta(seconds=59)) is None  # still leased
    resumed = jobs.claim("w2", 60, T0 + timedelta(seconds=60))
    assert resumed.claimed_by == "w2" and resumed.checkpoint == Checkpoint(T0)
    assert resumed.counts.processed == 1000
    # Had w1 only been slow, its late page changes nothing: the job is w2's.
    assert not jobs.advance(
        dying, "w1", counts=Counts(processed=1000), checkpoint=Checkpoint(T0 + timedelta(1)),
        done=False, eta=None, now=T0,
    )  # fmt: skip
    assert jobs.get(resumed.job_key).counts.processed == 1000


def test_a_cancel_stops_the_job_at_the_next_page(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = _start(jobs)
    cancelled = jobs.cancel(job.job_key, T0, "cancelled by the admin")
    assert cancelled.state == "Cancelled" and cancelled.message == "cancelled by the admin"
    assert not jobs.advance(
        job, "w1", counts=Counts(processed=1000), checkpoint=Checkpoint(T0), done=False,
        eta=None, now=T0,
    )  # fmt: skip
    assert jobs.get(job.job_key).counts.processed == 0
    assert jobs.claim("w1", 60, T0 + timedelta(hours=1)) is None
    with pytest.raises(JobFinished):
        jobs.cancel(job.job_key, T0, "again")
    with pytest.raises(JobNotFound):
        jobs.cancel("no-such-job", T0, "unknown")


def test_a_failed_job_keeps_its_message_and_frees_the_realm(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account"), ("Invoice", None)], None, T0)
    job = jobs.claim("w1", 60, T0)
    assert jobs.fail(job, "w1", "Customer is no longer mapped", T0)
    assert jobs.get(job.job_key).message == "Customer is no longer mapped"
    assert jobs.claim("w1", 60, T0).qb_object == "Invoice"


def test_a_waiting_job_is_left_until_then(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = jobs.claim("w1", 60, T0)
    jobs.wait(job, "w1", T0 + timedelta(seconds=90), "QuickBooks throttled the realm", T0)
    assert jobs.claim("w2", 60, T0 + timedelta(seconds=89)) is None
    assert jobs.claim("w2", 60, T0 + timedelta(seconds=90)).job_key == job.job_key


def test_a_long_page_extends_its_lease(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = jobs.claim("w1", 60, T0)
    assert jobs.extend(job, "w1", T0 + timedelta(minutes=15))
    assert jobs.claim("w2", 60, T0 + timedelta(minutes=14)) is None
    assert not jobs.extend(job, "w2", T0 + timedelta(hours=1))  # not w2's


def test_a_page_written_after_a_wait_clears_its_reason(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = _start(jobs)
    jobs.wait(job, "w1", T0 + timedelta(seconds=10), "QuickBooks throttled the realm", T0)
    assert jobs.get(job.job_key).message == "QuickBooks throttled the realm"
    job = jobs.claim("w1", 60, T0 + timedelta(seconds=10))
    assert jobs.advance(
        job, "w1", counts=Counts(processed=1), checkpoint=Checkpoint(T0), done=False, eta=None,
        now=T0,
    )  # fmt: skip
    assert jobs.get(job.job_key).message is None
