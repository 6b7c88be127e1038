"""`BackfillJobs`: queued in dependency order, leased a page at a time, resumed from the last
checkpoint after a worker dies, cancelled between pages; on every backend."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from qbsync.store import Store
from qbsync.store.backfills import (
    BackfillJobs,
    Checkpoint,
    Counts,
    JobConflict,
    JobFinished,
    JobNotFound,
)
from qbsync.store.schema import backfill_jobs

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


def test_a_job_reads_back_as_it_was_written(jobs: BackfillJobs) -> None:
    """Every field the Salesforce record and the ETA are made of (`qbsync.job_record`)."""
    (queued,) = jobs.create("r1", [("Customer", "Account")], T0 - timedelta(days=3), T0)
    assert (queued.realm_id, queued.salesforce_object) == ("r1", "Account")
    job = _start(jobs, now=T0 + timedelta(seconds=1))
    point = Checkpoint(T0 - timedelta(days=1), ("7", "8"), 3)
    eta = T0 + timedelta(minutes=2)
    assert jobs.advance(
        job, "w1", counts=Counts(processed=1000), checkpoint=point, done=False, eta=eta, now=T0
    )

    read = jobs.get(job.job_key)
    assert (read.realm_id, read.salesforce_object, read.checkpoint) == ("r1", "Account", point)
    assert (read.started_at, read.eta) == (T0 + timedelta(seconds=1), eta)


def test_the_last_page_clears_the_eta(jobs: BackfillJobs) -> None:
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = _start(jobs)
    assert jobs.advance(
        job, "w1", counts=Counts(processed=1), checkpoint=Checkpoint(T0), done=True,
        eta=T0 + timedelta(minutes=2), now=T0,
    )  # fmt: skip
    done = jobs.get(job.job_key)
    assert (done.state, done.eta) == ("Done", None)


def test_only_an_active_job_of_the_same_realm_and_object_conflicts(jobs: BackfillJobs) -> None:
    (customers,) = jobs.create("r1", [("Customer", "Account")], None, T0)
    # Another object of the realm, the same object of another realm: both are queued.
    assert jobs.create("r1", [("Invoice", None)], None, T0)
    assert jobs.create("r2", [("Customer", "Account")], None, T0)

    with pytest.raises(JobConflict) as refused:
        jobs.create("r1", [("Customer", "Account")], None, T0)
    assert str(refused.value) == (
        f"a historical sync of Customer is already Queued for realm r1 (job {customers.job_key})"
    )


def test_the_list_is_newest_first_per_realm_up_to_its_limit(jobs: BackfillJobs) -> None:
    first, second = jobs.create("r1", [("Customer", "Account"), ("Invoice", None)], None, T0)
    (other,) = jobs.create("r2", [("Item", "Product2")], None, T0)

    assert [j.job_key for j in jobs.jobs()] == [other.job_key, second.job_key, first.job_key]
    assert [j.job_key for j in jobs.jobs("r1")] == [second.job_key, first.job_key]
    assert [j.job_key for j in jobs.jobs(limit=2)] == [other.job_key, second.job_key]


def test_a_page_changes_only_its_own_job(jobs: BackfillJobs) -> None:
    """One worker runs pages of two realms' jobs in turn: each page counts in its own job."""
    jobs.create("r1", [("Customer", "Account")], None, T0)
    jobs.create("r2", [("Customer", "Account")], None, T0)
    first, second = _start(jobs), _start(jobs)
    assert first.realm_id != second.realm_id

    assert jobs.advance(
        second, "w1", counts=Counts(processed=7), checkpoint=Checkpoint(T0), done=False,
        eta=None, now=T0,
    )  # fmt: skip
    assert jobs.get(first.job_key).counts.processed == 0
    assert jobs.get(second.job_key).counts.processed == 7


def test_a_pages_sync_logs_are_kept_with_its_counts_and_only_then(database) -> None:
    """`also` runs in the page's transaction (the outbox rows of `qbsync.backfill`), and not
    for a page the job no longer takes."""
    store = Store(database)
    jobs = store.backfills
    jobs.create("r1", [("Customer", "Account")], None, T0)
    job = _start(jobs)

    def keep(key: str):
        return lambda connection: store.sync_log_outbox.keep(connection, [(key, {"n": key})])

    assert jobs.advance(
        job, "w1", counts=Counts(processed=1), checkpoint=Checkpoint(T0), done=False,
        eta=None, now=T0, also=keep("written"),
    )  # fmt: skip
    jobs.cancel(job.job_key, T0, "cancelled by the admin")
    assert not jobs.advance(
        job, "w1", counts=Counts(processed=1), checkpoint=Checkpoint(T0), done=False,
        eta=None, now=T0, also=keep("refused"),
    )  # fmt: skip

    rows = store.sync_log_outbox.take("sender", 10, 60)
    assert [row.log_key for row in rows] == ["written"]


def test_a_cancel_ends_that_job_only_and_says_when(jobs: BackfillJobs) -> None:
    (customers,) = jobs.create("r1", [("Customer", "Account")], None, T0)
    (items,) = jobs.create("r2", [("Item", "Product2")], None, T0)
    job = _start(jobs)
    assert jobs.advance(
        job, "w1", counts=Counts(processed=1), checkpoint=Checkpoint(T0), done=False,
        eta=T0 + timedelta(minutes=2), now=T0,
    )  # fmt: skip

    cancelled = jobs.cancel(customers.job_key, T0 + timedelta(seconds=3), "cancelled")

    assert (cancelled.finished_at, cancelled.eta) == (T0 + timedelta(seconds=3), None)
    assert jobs.get(items.job_key).state == "Queued"
    with pytest.raises(JobFinished) as finished:
        jobs.cancel(customers.job_key, T0, "again")
    assert finished.value.job.state == "Cancelled"
    assert str(finished.value) == f"job {customers.job_key} is Cancelled already"
    with pytest.raises(JobNotFound) as missing:
        jobs.cancel("no-such-job", T0, "unknown")
    assert str(missing.value) == "no-such-job"


def test_a_cancel_committed_while_a_claim_waits_for_the_row_is_not_claimed(
    jobs: BackfillJobs, database
) -> None:
    """PostgreSQL: a claim reads the realm's head before the admin's cancel commits, then waits
    for the row the cancel holds; once it commits, the claim must see a finished job and leave
    it (SQLite runs one write transaction at a time, so there the claim comes after)."""
    if database.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL lets the claim read the row while the cancel holds it")
    (job,) = jobs.create("r1", [("Customer", "Account")], None, T0)
    with database.connect() as admin:
        cancel = admin.begin()
        admin.execute(
            update(backfill_jobs)
            .where(backfill_jobs.c.job_key == job.job_key)
            .values(state="Cancelled", finished_at=T0, updated_at=T0)
        )
        holder = admin.execute(text("select pg_backend_pid()")).scalar_one()
        claimed: list = []
        claim = threading.Thread(target=lambda: claimed.append(jobs.claim("w1", 60, T0)))
        claim.start()
        deadline = time.monotonic() + 30
        while not _blocked_by(database, holder):
            # PostgreSQL's activity view is a snapshot per transaction: each look is its own.
            assert time.monotonic() < deadline, "the claim never waited for the cancel"
            claim.join(0.01)  # the poll's pace; a claim that ended did not wait for the row
            assert claim.is_alive(), "the claim did not wait for the row"
        cancel.commit()
    claim.join(30)

    assert claimed == [None]
    assert jobs.get(job.job_key).claimed_by is None


def _blocked_by(database, holder: int) -> bool:
    """Whether a session waits for a lock that the session `holder` holds."""
    with database.connect() as observer:
        return bool(
            observer.execute(
                text(
                    "select count(*) from pg_stat_activity where :holder = any(pg_blocking_pids(pid))"
                ),
                {"holder": holder},
            ).scalar_one()
        )
