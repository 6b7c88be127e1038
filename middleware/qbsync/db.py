"""Database engine shared by the event ledger and the token vault.

SQLite (WAL, embedded) by default; PostgreSQL when several machines share the work.
Both run the same SQLAlchemy Core statements.
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, create_engine, event

metadata = MetaData()


def make_engine(url: str) -> Engine:
    """Create an engine for `url` and make sure every table exists."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            # WAL lets the web process append while the worker reads; a busy timeout
            # waits out the other process's short write transactions instead of failing.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # Let SQLAlchemy issue BEGIN itself so `BEGIN IMMEDIATE` can take the write lock.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def create_tables(engine: Engine) -> None:
    # Importing the modules registers their tables on `metadata`.
    from qbsync import ledger, oauth_state, reconcile  # noqa: F401
    from qbsync.quickbooks import tokens  # noqa: F401

    metadata.create_all(engine)
