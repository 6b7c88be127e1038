"""`AppliedVersions`: the newest applied QuickBooks version per record, read and written in
batches, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbsync.events import Version
from qbsync.store.versions import AppliedVersions

SECOND = datetime(2026, 11, 24, 18, 26, 52, tzinfo=UTC)


@pytest.fixture
def versions(database) -> AppliedVersions:
    return AppliedVersions(database)


def test_unknown_records_have_no_version(versions: AppliedVersions) -> None:
    assert versions.applied_many("r1", "Customer", ["1", "2"]) == {}
    assert versions.applied_many("r1", "Customer", []) == {}


def test_a_batch_is_read_and_written_at_once(versions: AppliedVersions) -> None:
    versions.record_many(
        "r1", "Customer", {"1": Version(SECOND, 3), "2": Version(SECOND - timedelta(days=1))}
    )
    versions.record_many("r1", "Vendor", {"1": Version(SECOND + timedelta(hours=1), 0)})
    versions.record_many("r2", "Customer", {"1": Version(SECOND, 9)})
    versions.record_many("r1", "Customer", {})

    assert versions.applied_many("r1", "Customer", ["1", "2", "3", "1"]) == {
        "1": Version(SECOND, 3),
        "2": Version(SECOND - timedelta(days=1), -1),
    }
    assert versions.applied_many("r1", "Vendor", ["1"]) == {
        "1": Version(SECOND + timedelta(hours=1), 0)
    }
    assert versions.applied_many("r1", "Customer", ["1"])["1"].last_updated.tzinfo == UTC


def test_an_older_version_never_replaces_a_newer_one(versions: AppliedVersions) -> None:
    newer = SECOND
    versions.record_many("r1", "Customer", {"1": Version(newer), "2": Version(newer)})
    # An out-of-order event (1) and a newer one (2), written in one batch.
    versions.record_many(
        "r1",
        "Customer",
        {"1": Version(newer - timedelta(minutes=5)), "2": Version(newer + timedelta(seconds=1))},
    )
    assert versions.applied_many("r1", "Customer", ["1", "2"]) == {
        "1": Version(newer),
        "2": Version(newer + timedelta(seconds=1)),
    }


def test_two_changes_in_one_second_are_ordered_by_sync_token(versions: AppliedVersions) -> None:
    # LastUpdatedTime has whole seconds; SyncToken tells the two versions apart.
    versions.record_many("r1", "Customer", {"1": Version(SECOND, 0)})
    versions.record_many("r1", "Customer", {"1": Version(SECOND, 1)})
    assert versions.applied_many("r1", "Customer", ["1"]) == {"1": Version(SECOND, 1)}
    versions.record_many("r1", "Customer", {"1": Version(SECOND, 0)})  # the older one, late
    assert versions.applied_many("r1", "Customer", ["1"]) == {"1": Version(SECOND, 1)}
    assert Version(SECOND, 1) > Version(SECOND, 0)
    assert Version(SECOND + timedelta(seconds=1), 0) > Version(SECOND, 7)


def test_versions_compare_instants_not_offsets(versions: AppliedVersions) -> None:
    pacific = datetime.fromisoformat("2025-12-04T08:00:00-08:00")  # 16:00 UTC
    versions.record_many("r1", "Customer", {"1": Version(pacific)})
    versions.record_many("r1", "Customer", {"1": Version(datetime(2025, 12, 4, 15, 0, tzinfo=UTC))})
    assert versions.applied_many("r1", "Customer", ["1"])["1"].last_updated == pacific


def test_more_ids_than_one_query_takes(versions: AppliedVersions) -> None:
    many = {str(n): Version(SECOND, n) for n in range(1, 1201)}
    versions.record_many("r1", "Customer", many)
    assert versions.applied_many("r1", "Customer", [str(n) for n in range(0, 1300)]) == many


def test_an_older_change_with_a_higher_sync_token_is_not_applied(
    versions: AppliedVersions,
) -> None:
    # The SyncToken only orders two changes of the same second: a late event of an older
    # LastUpdatedTime never overwrites the newer version, whatever its token says.
    versions.record_many("r1", "Customer", {"1": Version(SECOND, 2)})
    versions.record_many("r1", "Customer", {"1": Version(SECOND - timedelta(minutes=1), 9)})
    assert versions.applied_many("r1", "Customer", ["1"]) == {"1": Version(SECOND, 2)}


def test_only_the_records_asked_for_are_returned(versions: AppliedVersions) -> None:
    versions.record_many("r1", "Customer", {"1": Version(SECOND), "2": Version(SECOND, 4)})
    assert versions.applied_many("r1", "Customer", ["2", "9"]) == {"2": Version(SECOND, 4)}


def test_applied_ids_are_the_sorted_ids_of_one_realms_entity(versions: AppliedVersions) -> None:
    when = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    versions.record_many("r1", "Customer", {"20": Version(when, 1), "3": Version(when, 1)})
    versions.record_many("r1", "Vendor", {"4": Version(when, 1)})
    versions.record_many("r2", "Customer", {"5": Version(when, 1)})

    assert versions.applied_ids("r1", "Customer") == ["20", "3"]
    assert versions.applied_ids("r1", "Invoice") == []
