"""Alembic's environment: runs on the connection `qbsync.store.migrate` hands over, inside its
transaction (which holds the migration lock), so Alembic neither connects nor commits itself."""

from alembic import context

from qbsync.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "qbsync's migrations run on a connection: use qbsync.store.migrate.migrate(engine)"
    )
# Batch mode: SQLite alters a table by copying it, so generated scripts work on both backends.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
