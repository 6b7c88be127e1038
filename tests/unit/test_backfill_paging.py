"""qbsync.backfill's pure parts: where the next page starts (keyset on LastUpdatedTime with the
ids already read at the last second), and the ETA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbsync.backfill import PAGE_SIZE, estimate_eta, next_checkpoint
from qbsync.store.backfills import BackfillJob, Checkpoint, Counts

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def record(id_: int, second: int) -> dict:
    stamp = (T0 + timedelta(seconds=second)).isoformat()
    return {"Id": str(id_), "SyncToken": "0", "MetaData": {"LastUpdatedTime": stamp}}


def at(second: int) -> datetime:
    return T0 + timedelta(seconds=second)


def test_the_next_page_starts_at_the_last_second_without_the_ids_read_there() -> None:
    page = [record(1, 0), record(2, 1), record(3, 2), record(4, 2)]
    new, point = next_checkpoint(Checkpoint(), page)
    assert new == page
    assert point == Checkpoint(at(2), ("3", "4"), 0)

    # The next page repeats second 2 (`>=`): 3 and 4 are left out, 5 is new.
    new, point = next_checkpoint(point, [record(3, 2), record(4, 2), record(5, 2), record(6, 3)])
    assert [r["Id"] for r in new] == ["5", "6"]
    assert point == Checkpoint(at(3), ("6",), 0)


def test_a_record_changed_after_it_was_read_comes_again_and_is_new() -> None:
    point = Checkpoint(at(2), ("3", "4"), 0)
    # 3 changed at second 9: it is no longer at second 2, and a newer version to write.
    new, point = next_checkpoint(point, [record(4, 2), record(5, 4), record(3, 9)])
    assert [r["Id"] for r in new] == ["5", "3"]
    assert point == Checkpoint(at(9), ("3",), 0)


def test_a_full_page_within_one_second_moves_the_offset() -> None:
    page = [record(n, 5) for n in range(PAGE_SIZE)]
    new, point = next_checkpoint(Checkpoint(at(5), (), 0), page)
    assert len(new) == PAGE_SIZE
    assert point.time == at(5) and point.offset == PAGE_SIZE and len(point.ids) == PAGE_SIZE
    rest = [record(n, 5) for n in range(PAGE_SIZE, PAGE_SIZE + 10)] + [record(9999, 6)]
    new, point = next_checkpoint(point, rest)
    assert len(new) == 11 and point == Checkpoint(at(6), ("9999",), 0)


def test_an_empty_page_keeps_the_checkpoint() -> None:
    point = Checkpoint(at(2), ("3",), 0)
    assert next_checkpoint(point, []) == ([], point)


def job(total: int | None, started: datetime | None) -> BackfillJob:
    return BackfillJob(
        id=1, job_key="k", realm_id="r", qb_object="Customer", salesforce_object="Account",
        since=None, state="Running", write_mode="Collections", total=total, counts=Counts(),
        checkpoint=Checkpoint(), pages=0, message=None, lease_until=None, claimed_by="w",
        created_at=T0, started_at=started, finished_at=None, eta=None,
    )  # fmt: skip


def test_the_eta_follows_the_rate_since_the_start() -> None:
    now = T0 + timedelta(seconds=30)
    assert estimate_eta(job(4000, T0), 1000, now) == now + timedelta(seconds=90)
    assert estimate_eta(job(None, T0), 1000, now) is None
    assert estimate_eta(job(4000, None), 1000, now) is None
    assert estimate_eta(job(4000, T0), 0, now) is None
