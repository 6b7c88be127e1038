"""Alembic's environment and the revisions of the schema (see `qbsync.store.migrate`)."""
