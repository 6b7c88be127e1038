"""The engine and transaction helper of qbsync.store.database: what counts as an outage, and the
WAL set-up of a new SQLite ledger that another process is setting up at the same moment."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from qbsync.store.database import make_engine, transaction
from qbsync.store.schema import config_signal


def test_a_broken_constraint_is_a_bug_not_an_outage(database: Engine) -> None:
    # A duplicate key is an error of the code that wrote it: reporting it as "the database is
    # unavailable" would make the worker and the web retry it forever behind a 503.
    row = {"id": 1, "generation": 0, "changed_at": datetime(2026, 1, 5, 12, 0, tzinfo=UTC)}
    with transaction(database) as connection:
        connection.execute(insert(config_signal).values(**row))
    with pytest.raises(IntegrityError), transaction(database) as connection:
        connection.execute(insert(config_signal).values(**row))


class _RacedCursor:
    """A real SQLite cursor whose first switch to WAL fails as SQLite fails it while another
    process is switching the same new file: "database is locked", at once."""

    def __init__(self, cursor: sqlite3.Cursor, races: list[str]) -> None:
        self._cursor = cursor
        self._races = races

    def execute(self, statement: str, *parameters: object) -> sqlite3.Cursor:
        if "journal_mode" in statement.lower() and not self._races:
            self._races.append(statement)
            raise sqlite3.OperationalError("database is locked")
        return self._cursor.execute(statement, *parameters)

    def __getattr__(self, name: str) -> object:
        return getattr(self._cursor, name)


def test_a_new_ledger_another_process_is_switching_to_wal_ends_in_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    races: list[str] = []

    class RacedConnection(sqlite3.Connection):
        def cursor(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return _RacedCursor(super().cursor(*args, **kwargs), races)

    # SQLAlchemy opens SQLite connections through sqlite3.dbapi2.connect.
    real_connect = sqlite3.dbapi2.connect
    monkeypatch.setattr(
        sqlite3.dbapi2,
        "connect",
        lambda *args, **kwargs: real_connect(*args, factory=RacedConnection, **kwargs),
    )
    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    with transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    monkeypatch.undo()

    assert races, "the engine never switched the file to WAL"
    check = sqlite3.connect(path)
    try:
        # The file is in WAL mode for every later process, and the write went through.
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert check.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        check.close()
