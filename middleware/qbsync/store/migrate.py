"""Schema migrations (Alembic): opening the store upgrades its database to the newest revision.

The scripts ship inside the package (`migrations/versions/`) and Alembic is configured here, so
no alembic.ini is needed at run time. The web process and the worker may start at the same
moment: the upgrade runs in one transaction that first takes a lock (PostgreSQL: an advisory
lock held until commit; SQLite: `make_engine` begins every transaction IMMEDIATE, which holds the
write lock), so the second process waits, then finds the schema current and changes nothing.

A database made before migrations existed (`create_all`, no `alembic_version` table) is adopted
by the first revision: its tables are kept as they are and the database is recorded at that
revision; later revisions upgrade it like any other.

To add a revision after changing `qbsync.store.schema`, generate it against a database at head::

    from alembic import command
    from qbsync.store.database import make_engine, transaction
    from qbsync.store.migrate import alembic_config, migrate

    engine = make_engine("sqlite:///scratch.db")
    migrate(engine)
    config = alembic_config()
    with transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.revision(config, "what changes", autogenerate=True)

then read and edit the generated script (data migrations are written by hand).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from qbsync.store.database import transaction

MIGRATIONS = Path(__file__).parent / "migrations"
# Any number every qbsync process agrees on: the key of the PostgreSQL advisory lock.
_ADVISORY_LOCK_KEY = 7_161_827_455_339  # "qbsync" as a number, roughly

__all__ = ["MIGRATIONS", "alembic_config", "current_revision", "migrate"]


def alembic_config(*extra_versions: Path) -> Config:
    """Alembic's configuration for the packaged scripts (plus `extra_versions` directories)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    locations = [MIGRATIONS / "versions", *extra_versions]
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    return config


def migrate(engine: Engine, config: Config | None = None) -> None:
    """Upgrade `engine`'s database to the newest revision, one process at a time.

    Raises `StoreUnavailable` when the database cannot be reached or stays locked.
    """
    config = config or alembic_config()
    with transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before any migration ran)."""
    from alembic.runtime.migration import MigrationContext

    with transaction(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()
