"""Schema migrations, on SQLite and PostgreSQL.

- a ledger written before migrations existed (tests/fixtures/store: today's `create_all` schema
  and rows) is adopted: every row survives and is usable;
- a later revision that changes the schema keeps the data (a throwaway revision on top);
- the migrated schema is exactly `qbsync.store.schema.metadata`;
- two processes opening the store at once migrate it once.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from qbsync.events import ChangeEvent, Version
from qbsync.quickbooks.tokens import TokenVault
from qbsync.store import Store
from qbsync.store.database import make_engine
from qbsync.store.migrate import _ADVISORY_LOCK_KEY, alembic_config, current_revision, migrate
from qbsync.store.schema import metadata
from qbsync.store.watermarks import Watermark
from qbsync.store.write_lock import lock_path, write_lock
from tests.support.paths import FIXTURES

STORE_FIXTURES = FIXTURES / "store"
# The key the fixture's token secrets are encrypted with (a test key, nothing else uses it).
FIXTURE_KEY = "Qmyq0pX0S3L9y8CmWwJ3iJm1kmfRmFYt4RZ9lO9oVY0="
REALM = "9341455130166501"
T = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # the fixture's clock
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
TABLES = {
    "events",
    "quarantine",
    "applied_versions",
    "reconcile_watermarks",
    "config_signal",
    "qb_tokens",
    "qb_oauth_states",
    "qb_revocations",
    "qb_alerts",
    "backfill_jobs",
    "qb_realm_pacing",
    "periodic_leases",
    "claim_turns",
    "sync_log_outbox",
}


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def load_legacy(engine: Engine) -> None:
    """The fixture of the engine's backend, run as the script it is."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            raw.driver_connection.executescript((STORE_FIXTURES / "legacy_sqlite.sql").read_text())
        finally:
            raw.close()
        return
    with engine.begin() as connection:
        connection.exec_driver_sql((STORE_FIXTURES / "legacy_postgresql.sql").read_text())


def revision(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            for table in sorted(TABLES & set(inspect(engine).get_table_names()))
        }


def describe(difference) -> str:
    """`compare_metadata` gives column changes as a list of one tuple, the others as a tuple."""
    kind, _schema, table, column, *_ = difference[0] if isinstance(difference, list) else difference
    name = column if isinstance(column, str) else getattr(column, "name", column)
    return f"{kind} {table}.{name}"


def differences(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


# --- a ledger made before migrations ----------------------------------------------------------


def test_a_ledger_made_before_migrations_is_adopted_with_every_row(blank_database: Engine) -> None:
    load_legacy(blank_database)
    before = row_counts(blank_database)
    assert before == {
        "applied_versions": 1,
        "config_signal": 1,
        "events": 3,
        "qb_oauth_states": 1,
        "qb_tokens": 2,
        "quarantine": 1,
        "reconcile_watermarks": 1,
    }

    migrate(blank_database)

    assert revision(blank_database) == [HEAD]
    # Every row kept; the tables of later revisions are there, empty.
    later = (
        "qb_revocations",
        "qb_alerts",
        "backfill_jobs",
        "qb_realm_pacing",
        "periodic_leases",
        "claim_turns",
        "sync_log_outbox",
    )
    assert row_counts(blank_database) == {**before, **dict.fromkeys(later, 0)}
    assert differences(blank_database) == []
    store = Store(blank_database)
    # Events: the pending one is claimed, the settled ones keep their outcome, new ones follow.
    (claimed,) = store.events.claim("w1", limit=10, lease_seconds=60, now=T)
    assert (claimed.event_key, claimed.operation, claimed.attempts) == ("ce:legacy-3", "Create", 1)
    assert claimed.occurred_at == T + timedelta(seconds=3)
    (failed,) = store.events.events(state="failed")
    assert failed.last_error == "REQUIRED_FIELD_MISSING: Name"
    assert store.events.add([ChangeEvent(REALM, "Customer", "4", "Update", T, "ce:new")]) == 1
    assert [e.id for e in store.events.events()] == [1, 2, 3, 4]
    (body,) = store.events.quarantined()
    assert body.body == b'[{"type": "qbo.spaceship.updated.v1"}]\xff'
    # Tokens decrypt with the key they were written with; dates come back aware.
    vault = TokenVault(store.tokens, [FIXTURE_KEY])
    tokens = vault.get(REALM)
    assert (tokens.access_token, tokens.refresh_token) == ("legacy-access", "legacy-refresh")
    assert tokens.access_expires_at == T + timedelta(hours=1)
    assert vault.connection("4620816365251234567").status == "reconnect_required"
    assert vault.rotate() == 2
    # The small tables.
    assert store.versions.applied_many(REALM, "Customer", ["1"]) == {"1": Version(T, 3)}
    assert store.config_signal.generation() == 2
    store.config_signal.changed(REALM)
    assert store.config_signal.generation() == 3
    assert store.watermarks.all() == [
        Watermark(REALM, "Customer", T, T - timedelta(minutes=5)),
    ]
    assert store.oauth_states.use(
        "legacy-nonce-0001", T + timedelta(minutes=1), timedelta(minutes=10)
    )

    migrate(blank_database)  # the next start changes nothing
    assert revision(blank_database) == [HEAD]


def test_a_database_missing_some_tables_gets_them_and_keeps_the_others(database: Engine) -> None:
    # Older releases' `create_all` made only some of today's tables.
    with database.begin() as connection:
        for table in TABLES - {"qb_tokens"}:
            connection.execute(text(f"DROP TABLE {table}"))
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO qb_tokens (realm_id, environment, secret, access_expires_at, status)"
                " VALUES ('1', 'sandbox', 'opaque', '2026-03-02 10:30:00', 'connected')"
            )
        )

    migrate(database)

    assert set(inspect(database).get_table_names()) == TABLES | {"alembic_version"}
    assert differences(database) == []
    assert [row.realm_id for row in Store(database).tokens.all()] == ["1"]


# --- the next release's schema change -------------------------------------------------------------

THROWAWAY = '''
"""A throwaway revision on top of the packaged ones: a column, a data migration, a type change."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot change a column's type: it copies the table into a new one, the riskiest
    # path for the data. PostgreSQL alters the table in place.
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("note", sa.Text()))
        batch.alter_column("claimed_by", type_=sa.String(200), existing_type=sa.String(128))
    op.execute("UPDATE events SET note = 'was ' || state")
    {extra}


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("note")
        batch.alter_column("claimed_by", type_=sa.String(128), existing_type=sa.String(200))
'''


def throwaway_versions(tmp_path: Path, extra: str = "") -> Path:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "9001_throwaway.py").write_text(THROWAWAY.format(head=HEAD, extra=extra))
    return versions


def test_data_survives_a_revision_that_changes_the_schema(database: Engine, tmp_path: Path) -> None:
    store = Store(database)
    store.events.add(
        [ChangeEvent(REALM, "Customer", str(n), "Update", T, f"ce:{n}") for n in range(5)]
    )
    done = store.events.claim("w1", limit=2, lease_seconds=60, now=T)
    store.events.mark_done([e.id for e in done], "updated")
    store.versions.record_many(REALM, "Customer", {"0": Version(T, 4)})
    before = store.events.events()

    migrate(database, alembic_config(throwaway_versions(tmp_path)))

    assert revision(database) == ["9001"]
    with database.connect() as connection:
        notes = dict(connection.execute(text("SELECT event_key, note FROM events")).all())
    assert notes == {f"ce:{n}": "was done" if n < 2 else "was pending" for n in range(5)}
    assert store.events.events() == before
    # Still usable: the unique key, the claim order and new ids work on the copied table.
    assert store.events.add([ChangeEvent(REALM, "Customer", "0", "Update", T, "ce:0")]) == 0
    assert [e.entity_id for e in store.events.claim("w2", limit=10, lease_seconds=60, now=T)] == [
        "2",
        "3",
        "4",
    ]
    assert store.events.add([ChangeEvent(REALM, "Customer", "9", "Update", T, "ce:9")]) == 1
    assert store.events.events()[-1].id > before[-1].id
    assert store.versions.applied_many(REALM, "Customer", ["0"]) == {"0": Version(T, 4)}
    # The schema differs from the metadata by exactly what the revision did: indexes and the
    # unique key came through the copy.
    assert sorted(describe(d) for d in differences(database)) == [
        "modify_type events.claimed_by",
        "remove_column events.note",
    ]


# --- the migrated schema is the metadata ------------------------------------------------------------


def test_the_migrated_schema_is_the_metadata(database: Engine) -> None:
    assert revision(database) == [HEAD]
    assert differences(database) == []


def test_a_schema_that_differs_from_the_metadata_is_found(database: Engine) -> None:
    # The comparison above can fail: an index the metadata does not know is reported.
    with database.begin() as connection:
        connection.execute(text("CREATE INDEX ix_extra ON events (entity_id)"))
    assert [d[0] for d in differences(database)] == ["remove_index"]
    assert differences(database)[0][1].name == "ix_extra"


# --- two processes starting at once -------------------------------------------------------------


def _waiting_for_the_lock(engine: Engine) -> Callable[[], bool]:
    """Whether another connection waits for the migration lock (PostgreSQL's view of locks)."""
    high, low = _ADVISORY_LOCK_KEY >> 32, _ADVISORY_LOCK_KEY & 0xFFFFFFFF

    def waiting() -> bool:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND classid = :high AND objid = :low AND NOT granted"
                    ),
                    {"high": high, "low": low},
                ).scalar_one()
            )

    return waiting


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_second_process_waits_for_the_first_and_finds_the_schema_current(
    blank_database: Engine, tmp_path: Path
) -> None:
    """The first migration holds the lock, mid-revision, until the second waits for it; the
    second then finds the database at head and runs nothing again."""
    inside, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def pause() -> None:
        runs.append(threading.current_thread().name)
        inside.set()
        assert release.wait(30), "the second migration never started waiting"

    versions = throwaway_versions(tmp_path, extra='op.get_context().config.attributes["pause"]()')
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        config = alembic_config(versions)
        config.attributes["pause"] = pause
        try:
            migrate(engine, config)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)
            inside.set()

    second_engine = make_engine(url_of(blank_database))
    first = threading.Thread(target=run, args=(blank_database,), name="first")
    second = threading.Thread(target=run, args=(second_engine,), name="second")
    try:
        first.start()
        assert inside.wait(30) and not errors, errors
        second.start()
        if blank_database.dialect.name == "postgresql":
            wait_for(_waiting_for_the_lock(blank_database), "the second to wait for the lock")
        else:
            # SQLite's writers take turns (qbsync.store.write_lock): the second waits for its
            # turn before it begins its transaction.
            turn = write_lock(lock_path(blank_database.url.database))
            wait_for(lambda: turn.waiting == 1, "the second to wait for its turn")
        release.set()
        first.join(30)
        second.join(30)
    finally:
        release.set()
        second_engine.dispose()

    assert errors == []
    assert runs == ["first"]
    assert revision(blank_database) == ["9001"]


def _open_store(url: str, barrier, results) -> None:
    try:
        barrier.wait(timeout=60)
        Store.open(url).close()
        results.put("ok")
    except Exception as error:  # reported to the test, which fails on it
        results.put(repr(error))


def test_two_processes_opening_a_new_database_at_once_both_start(blank_database: Engine) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(target=_open_store, args=(url_of(blank_database), barrier, results))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert outcomes == ["ok", "ok"]
    assert revision(blank_database) == [HEAD]
    assert differences(blank_database) == []


def test_the_current_revision_is_none_before_migrating_and_the_newest_after(
    blank_database: Engine,
) -> None:
    # What `qbsync` reports as the schema's revision (the health page, the migrate command).
    newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(blank_database) is None
    migrate(blank_database)
    assert newest is not None
    assert current_revision(blank_database) == newest
