"""The databases the store's tests run on (the `database` fixture of tests/unit/conftest.py)."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get("QBSYNC_TEST_POSTGRES_URL")

POSTGRESQL = pytest.param(
    "postgresql",
    marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(not POSTGRES_URL, reason="QBSYNC_TEST_POSTGRES_URL is not set"),
    ],
)

# The store's contract holds on both databases: SQLite always, PostgreSQL when CI provides one.
BACKENDS = ["sqlite", POSTGRESQL]

# A test of what PostgreSQL alone does (row locks, autocommit): the `database` fixture on it only.
postgres_only = pytest.mark.parametrize("database", [POSTGRESQL], indirect=True)
