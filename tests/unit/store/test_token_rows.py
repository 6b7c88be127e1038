"""The `qb_tokens` table as rows (`qbsync.store.tokens.TokenRows`), on every backend: what the
health page, the metrics and the company list read. The vault's locking, refreshing and
encryption are tested in tests/unit/test_token_vault.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbsync.store.tokens import TokenRows

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def rows(database) -> TokenRows:
    return TokenRows(database)


def save(rows: TokenRows, realm_id: str, status: str) -> None:
    rows.save(
        realm_id,
        {
            "environment": "sandbox",
            "secret": f"sealed-{realm_id}",
            "access_expires_at": NOW + timedelta(hours=1),
            "status": status,
        },
    )


def test_companies_are_counted_per_connection_status(rows: TokenRows) -> None:
    assert rows.count_by_status() == {}
    save(rows, "r1", "connected")
    save(rows, "r2", "connected")
    save(rows, "r3", "disconnected")

    assert rows.count_by_status() == {"connected": 2, "disconnected": 1}


def test_saving_a_known_realm_again_overwrites_its_row(rows: TokenRows) -> None:
    save(rows, "r1", "connected")
    save(rows, "r2", "connected")

    save(rows, "r1", "error")

    assert [(row.realm_id, row.status) for row in rows.all()] == [
        ("r1", "error"),
        ("r2", "connected"),
    ]


def test_rows_and_realms_are_listed_by_realm_whatever_the_order_of_writes(
    rows: TokenRows,
) -> None:
    for realm_id in ("9341455130166501", "123146096291789", "4620816365263384"):
        save(rows, realm_id, "connected")
    rows.update("123146096291789", status="error")  # a changed row keeps its place

    expected = ["123146096291789", "4620816365263384", "9341455130166501"]
    assert rows.realm_ids() == expected
    assert [row.realm_id for row in rows.all()] == expected
