"""One module per schema revision, oldest first (see `qbsync.store.migrate`)."""
