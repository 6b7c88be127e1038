"""The middleware's database: every table, its migrations, and one small class per kind of row.

`schema` holds the tables, `database` the engine and the one transaction helper (a locked or
unreachable database raises `StoreUnavailable` from every class), `migrate` the Alembic
upgrade every process runs when it opens the store.
"""

from __future__ import annotations

from sqlalchemy import Engine

from qbsync.store.alerts import AlertRows
from qbsync.store.backfills import BackfillJobs
from qbsync.store.config_signal import ConfigSignal
from qbsync.store.database import StoreUnavailable, make_engine
from qbsync.store.leases import LeaseRows
from qbsync.store.ledger import EventLedger
from qbsync.store.migrate import migrate
from qbsync.store.oauth_states import OAuthStates
from qbsync.store.pacing import RealmPacingRows
from qbsync.store.revocations import Revocations
from qbsync.store.sync_log_outbox import SyncLogOutbox
from qbsync.store.tokens import TokenRows
from qbsync.store.versions import AppliedVersions
from qbsync.store.watermarks import Watermarks

__all__ = ["Store", "StoreUnavailable"]


class Store:
    """The store classes on one engine."""

    def __init__(self, engine: Engine) -> None:
        """Use `engine` as it is; `Store.open` also brings its schema up to date."""
        self.engine = engine
        self.events = EventLedger(engine)
        self.versions = AppliedVersions(engine)
        self.watermarks = Watermarks(engine)
        self.config_signal = ConfigSignal(engine)
        self.tokens = TokenRows(engine)
        self.oauth_states = OAuthStates(engine)
        self.revocations = Revocations(engine)
        self.alerts = AlertRows(engine)
        self.backfills = BackfillJobs(engine)
        self.pacing = RealmPacingRows(engine)
        self.leases = LeaseRows(engine)
        self.sync_log_outbox = SyncLogOutbox(engine)

    @classmethod
    def open(cls, url: str) -> Store:
        """The store at a `QBSYNC_DATABASE_URL`, its schema upgraded to the newest revision."""
        engine = make_engine(url)
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Close the engine's pooled connections."""
        self.engine.dispose()
