"""Historical sync jobs (issue 17): created by `POST /api/backfills` or `qbsync backfill`, run a
page at a time by any worker (`qbsync.backfill`), cancelled between pages.

States: Queued → Running → Done | Failed | Cancelled (the values of QB_Sync_Job__c.State__c).
A worker leases a job for one page; the page's counts and the next checkpoint are written in one
transaction, and only by the worker still holding the lease of a job still Running. So a worker
killed mid-page (even `kill -9`) leaves the job at its last checkpoint: the lease runs out and
any worker resumes it; a cancel between two pages makes the next `advance` find nothing to do.
The jobs of one realm run one at a time in the order they were created (dependency order:
customers and items before the transactions that refer to them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from qbsync.store.database import transaction
from qbsync.store.schema import backfill_jobs

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "Queued", "Running", "Done", "Failed", "Cancelled"
ACTIVE_STATES = (QUEUED, RUNNING)
FINISHED_STATES = (DONE, FAILED, CANCELLED)


class JobConflict(Exception):
    """A job for the same realm and object is already Queued or Running."""

    def __init__(self, job: BackfillJob) -> None:
        super().__init__(
            f"a historical sync of {job.qb_object} is already {job.state} for realm "
            f"{job.realm_id} (job {job.job_key})"
        )
        self.job = job


class JobNotFound(Exception):
    """No job has this key."""


class JobFinished(Exception):
    """The job is Done, Failed or Cancelled already."""

    def __init__(self, job: BackfillJob) -> None:
        super().__init__(f"job {job.job_key} is {job.state} already")
        self.job = job


@dataclass(frozen=True)
class Checkpoint:
    """Where the next page starts: records changed at or after `time`, without the `ids` read
    at exactly `time` already, from position `offset` (0 unless a whole page shared `time`)."""

    time: datetime | None = None
    ids: tuple[str, ...] = ()
    offset: int = 0


@dataclass(frozen=True)
class Counts:
    """What one page (or a whole job) did."""

    processed: int = 0
    created: int = 0
    updated: int = 0
    matched: int = 0
    ambiguous: int = 0
    failed: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def values(self) -> tuple[int, ...]:
        return (
            self.processed,
            self.created,
            self.updated,
            self.matched,
            self.ambiguous,
            self.failed,
        )

    def as_dict(self) -> dict[str, int]:
        return dict(zip(_COUNT_COLUMNS, self.values(), strict=True))


_COUNT_COLUMNS = ("processed", "created", "updated", "matched", "ambiguous", "failed")


@dataclass(frozen=True)
class BackfillJob:
    """One row of `backfill_jobs`."""

    id: int
    job_key: str
    realm_id: str
    qb_object: str
    salesforce_object: str | None
    since: datetime | None
    state: str
    write_mode: str | None
    total: int | None
    counts: Counts
    checkpoint: Checkpoint
    pages: int
    message: str | None
    lease_until: datetime | None
    claimed_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    eta: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


def _job(row: Any) -> BackfillJob:
    m = row._mapping
    return BackfillJob(
        id=m["id"],
        job_key=m["job_key"],
        realm_id=m["realm_id"],
        qb_object=m["qb_object"],
        salesforce_object=m["salesforce_object"],
        since=m["since"],
        state=m["state"],
        write_mode=m["write_mode"],
        total=m["total"],
        counts=Counts(*(m[name] for name in _COUNT_COLUMNS)),
        checkpoint=Checkpoint(
            m["checkpoint_time"], tuple(m["checkpoint_ids"] or ()), m["checkpoint_offset"]
        ),
        pages=m["pages"],
        message=m["message"],
        lease_until=m["lease_until"],
        claimed_by=m["claimed_by"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        eta=m["eta"],
    )


class BackfillJobs:
    """The `backfill_jobs` table (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        realm_id: str,
        objects: Sequence[tuple[str, str | None]],
        since: datetime | None,
        now: datetime,
    ) -> list[BackfillJob]:
        """Queue one job per (QuickBooks object, Salesforce object), in the order given; none
        when one of the objects has a job Queued or Running already (`JobConflict`)."""
        c = backfill_jobs.c
        with transaction(self.engine) as connection:
            active = connection.execute(
                select(backfill_jobs).where(
                    c.realm_id == realm_id,
                    c.state.in_(ACTIVE_STATES),
                    c.qb_object.in_([qb_object for qb_object, _ in objects]),
                )
            ).first()
            if active is not None:
                raise JobConflict(_job(active))
            keys = []
            for qb_object, salesforce_object in objects:
                key = uuid.uuid4().hex
                keys.append(key)
                connection.execute(
                    backfill_jobs.insert().values(
                        job_key=key,
                        realm_id=realm_id,
                        qb_object=qb_object,
                        salesforce_object=salesforce_object,
                        since=since,
                        state=QUEUED,
                        created_at=now,
                        updated_at=now,
                    )
                )
            rows = connection.execute(
                select(backfill_jobs).where(c.job_key.in_(keys)).order_by(c.id)
            )
            return [_job(row) for row in rows]

    def get(self, job_key: str) -> BackfillJob | None:
        with transaction(self.engine) as connection:
            row = connection.execute(
                select(backfill_jobs).where(backfill_jobs.c.job_key == job_key)
            ).first()
            return _job(row) if row is not None else None

    def jobs(self, realm_id: str | None = None, limit: int = 100) -> list[BackfillJob]:
        """Jobs newest first, of one realm or all."""
        c = backfill_jobs.c
        statement = select(backfill_jobs).order_by(c.id.desc()).limit(limit)
        if realm_id is not None:
            statement = statement.where(c.realm_id == realm_id)
        with transaction(self.engine) as connection:
            return [_job(row) for row in connection.execute(statement)]

    def claim(self, worker: str, lease_seconds: int, now: datetime) -> BackfillJob | None:
        """Lease the next page of a job: the oldest active job of each realm is the realm's
        next (dependency order); one whose lease is free or ran out is taken, oldest first.
        The conditional update makes two workers never hold the same job."""
        c = backfill_jobs.c
        free = or_(c.lease_until.is_(None), c.lease_until <= now)
        with transaction(self.engine) as connection:
            # Each realm's oldest active job, oldest first: a realm enters the dict with its
            # lowest id, and the rows come in id order.
            heads: dict[str, Any] = {}
            for row in connection.execute(
                select(c.id, c.realm_id).where(c.state.in_(ACTIVE_STATES)).order_by(c.id)
            ):
                heads.setdefault(row.realm_id, row)
            for head in heads.values():
                claimed = connection.execute(
                    update(backfill_jobs)
                    .where(c.id == head.id, c.state.in_(ACTIVE_STATES), free)
                    .values(
                        claimed_by=worker,
                        lease_until=now + timedelta(seconds=lease_seconds),
                        updated_at=now,
                    )
                )
                if claimed.rowcount:
                    row = connection.execute(select(backfill_jobs).where(c.id == head.id)).one()
                    return _job(row)
        return None

    def _update_mine(
        self,
        job: BackfillJob,
        worker: str,
        states: Sequence[str],
        values: dict[str, Any],
        also: Callable[[Connection], None] | None = None,
    ) -> bool:
        """Update the job only while `worker` holds it in one of `states` (a cancel or another
        worker's takeover in between leaves it alone); `also` runs in the same transaction
        when it did. Whether it did."""
        c = backfill_jobs.c
        mine = and_(c.id == job.id, c.claimed_by == worker, c.state.in_(list(states)))
        with transaction(self.engine) as connection:
            result = connection.execute(update(backfill_jobs).where(mine).values(**values))
            if result.rowcount and also is not None:
                also(connection)
            return bool(result.rowcount)

    def start(
        self,
        job: BackfillJob,
        worker: str,
        *,
        total: int,
        write_mode: str,
        salesforce_object: str,
        now: datetime,
    ) -> bool:
        """The job's first page begins: Running, with its total and write mode. False when
        the job was cancelled or another worker took it meanwhile."""
        return self._update_mine(
            job,
            worker,
            (QUEUED,),
            {
                "state": RUNNING,
                "total": total,
                "write_mode": write_mode,
                "salesforce_object": salesforce_object,
                "started_at": now,
                "updated_at": now,
            },
        )

    def advance(
        self,
        job: BackfillJob,
        worker: str,
        *,
        counts: Counts,
        checkpoint: Checkpoint,
        done: bool,
        eta: datetime | None,
        now: datetime,
        also: Callable[[Connection], None] | None = None,
    ) -> bool:
        """One page written: its counts added, the next checkpoint, the lease given back (any
        worker may take the next page); Done when it was the last; `also` run in the same
        transaction (the page's sync-log rows kept in the outbox). False, and nothing
        changed, when the job was cancelled or another worker holds it now."""
        c = backfill_jobs.c
        values: dict[str, Any] = {
            name: getattr(c, name) + amount for name, amount in counts.as_dict().items()
        }
        values.update(
            checkpoint_time=checkpoint.time,
            checkpoint_ids=list(checkpoint.ids),
            checkpoint_offset=checkpoint.offset,
            pages=c.pages + 1,
            eta=eta,
            message=None,  # a wait's reason is over once a page is written
            lease_until=None,
            updated_at=now,
        )
        if done:
            values.update(state=DONE, finished_at=now, eta=None)
        return self._update_mine(job, worker, (RUNNING,), values, also)

    def fail(self, job: BackfillJob, worker: str, message: str, now: datetime) -> bool:
        """The job cannot go on (its mapping is gone, QuickBooks refuses the query)."""
        return self._update_mine(
            job,
            worker,
            ACTIVE_STATES,
            {
                "state": FAILED,
                "message": message,
                "finished_at": now,
                "eta": None,
                "lease_until": None,
                "updated_at": now,
            },
        )

    def wait(
        self, job: BackfillJob, worker: str, until: datetime, message: str, now: datetime
    ) -> None:
        """The realm must wait (throttled, not connected): the job is left until `until`."""
        self._update_mine(
            job,
            worker,
            ACTIVE_STATES,
            {"lease_until": until, "message": message, "updated_at": now},
        )

    def extend(self, job: BackfillJob, worker: str, until: datetime) -> bool:
        """Hold the job's lease until `until` (a page that takes longer: a Bulk API job)."""
        return self._update_mine(job, worker, ACTIVE_STATES, {"lease_until": until})

    def cancel(self, job_key: str, now: datetime, message: str) -> BackfillJob:
        """Cancel a Queued or Running job; a page being written ends as it is, no other starts.
        `JobNotFound`, or `JobFinished` when it ended already."""
        c = backfill_jobs.c
        with transaction(self.engine) as connection:
            result = connection.execute(
                update(backfill_jobs)
                .where(c.job_key == job_key, c.state.in_(ACTIVE_STATES))
                .values(
                    state=CANCELLED,
                    message=message,
                    finished_at=now,
                    eta=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
            row = connection.execute(select(backfill_jobs).where(c.job_key == job_key)).first()
        if row is None:
            raise JobNotFound(job_key)
        job = _job(row)
        if not result.rowcount:
            raise JobFinished(job)
        return job
