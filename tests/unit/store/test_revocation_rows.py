"""The table of tokens waiting for Intuit to confirm their revocation
(`qbsync.store.revocations.Revocations`), run on every backend (`database` fixture).

The service that encrypts the tokens and calls Intuit is tested in tests/unit/test_revocations.py;
here: which rows are due when, what a failed or a confirmed try leaves, and key rotation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbsync.store.revocations import PendingRevocation, Revocations

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def revocations(database) -> Revocations:
    return Revocations(database)


def summary(rows: list[PendingRevocation]) -> list[tuple[str, str, int, str | None]]:
    return [(row.realm_id, row.secret, row.attempts, row.last_error) for row in rows]


def test_a_new_revocation_is_due_at_once_with_its_first_error(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "Intuit answered 503", NOW)

    assert revocations.due(NOW - timedelta(seconds=1)) == []
    assert summary(revocations.due(NOW)) == [("r1", "token-1", 1, "Intuit answered 503")]


def test_due_revocations_come_oldest_first_and_up_to_the_limit(revocations: Revocations) -> None:
    for n in range(3):
        revocations.add(f"r{n}", f"token-{n}", "timeout", NOW)

    assert [row.realm_id for row in revocations.due(NOW)] == ["r0", "r1", "r2"]
    assert [row.realm_id for row in revocations.due(NOW, limit=2)] == ["r0", "r1"]


def test_a_hundred_due_revocations_are_tried_per_pass_by_default(revocations: Revocations) -> None:
    for n in range(101):
        revocations.add("r1", f"token-{n}", "timeout", NOW)

    due = revocations.due(NOW)

    assert len(due) == 100
    assert due[-1].secret == "token-99"


def test_a_failed_try_counts_an_attempt_and_waits(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "timeout", NOW)
    revocations.add("r2", "token-2", "timeout", NOW)
    first, _ = revocations.due(NOW)
    later = NOW + timedelta(minutes=5)

    revocations.failed(first.id, "Intuit answered 502", later)

    assert summary(revocations.due(NOW)) == [("r2", "token-2", 1, "timeout")]
    assert summary(revocations.due(later)) == [
        ("r1", "token-1", 2, "Intuit answered 502"),
        ("r2", "token-2", 1, "timeout"),
    ]


def test_a_confirmed_revocation_is_gone_and_only_it(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "timeout", NOW)
    revocations.add("r2", "token-2", "timeout", NOW)
    first, second = revocations.pending()

    revocations.done(first.id)

    assert revocations.pending() == [second]


def test_pending_lists_every_realm_or_one(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "timeout", NOW)
    revocations.add("r2", "token-2", "timeout", NOW + timedelta(days=1))
    revocations.add("r1", "token-3", "timeout", NOW + timedelta(days=2))
    first = revocations.pending()[0]
    revocations.failed(first.id, "Intuit answered 502", NOW)  # a changed row keeps its place

    assert [row.secret for row in revocations.pending()] == ["token-1", "token-2", "token-3"]
    assert [row.secret for row in revocations.pending("r1")] == ["token-1", "token-3"]
    assert revocations.pending("r3") == []


def test_the_secret_stays_out_of_a_pending_revocations_repr(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "timeout", NOW)

    (row,) = revocations.pending()

    assert "token-1" not in repr(row)


def test_key_rotation_rewrites_each_secret_from_its_own_row(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "timeout", NOW)
    revocations.add("r2", "token-2", "timeout", NOW)

    count = revocations.rewrite_secrets(lambda row: f"{row.realm_id}:{row.secret}:rotated")

    assert count == 2
    assert [row.secret for row in revocations.pending()] == [
        "r1:token-1:rotated",
        "r2:token-2:rotated",
    ]
    assert summary(revocations.due(NOW))[0][2:] == (1, "timeout")


def test_key_rotation_is_all_or_nothing(revocations: Revocations) -> None:
    revocations.add("r1", "token-1", "timeout", NOW)
    revocations.add("r2", "token-2", "timeout", NOW)

    def rewrite(row: PendingRevocation) -> str:
        if row.realm_id == "r2":
            raise ValueError("no key decrypts this token")
        return "rotated"

    with pytest.raises(ValueError, match="no key decrypts"):
        revocations.rewrite_secrets(rewrite)

    assert [row.secret for row in revocations.pending()] == ["token-1", "token-2"]
