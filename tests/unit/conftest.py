"""Shared fixtures of the unit suites."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from qbsync.store.database import make_engine
from qbsync.store.migrate import migrate
from tests.support.backends import BACKENDS, POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A fresh database migrated to the newest revision: a temp SQLite file, or a new PostgreSQL
    schema (so parallel runs never see each other's rows), dropped afterwards."""
    with empty_database(request.param, tmp_path) as engine:
        migrate(engine)
        yield engine


@pytest.fixture(params=BACKENDS)
def blank_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """Like `database`, without any table."""
    with empty_database(request.param, tmp_path) as engine:
        yield engine


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"qbsync_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
