"""A throwaway PostgreSQL database for a sandbox run with several workers (issue 19's scale-out
test and benchmark): made on the server of a given URL, dropped afterwards, so runs never share
rows with each other or with the unit suites' schemas."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(server_url: str, prefix: str = "qbsync_sandbox") -> Iterator[str]:
    """Create a new database on the server of `server_url` (any database there: it is only
    connected to, to create and drop the new one); yields the new database's URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                # The sandbox's processes may still hold connections while they stop.
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
