"""One wiring: the objects the web app, the worker, the reconciler, verify and the CLI work with,
built once per process from `Settings`.

Every part is made on first use: a web process that only takes webhooks never logs in to
Salesforce, `qbsync events` never builds a client. One process holds one `Services`, so the
worker and its reconcile thread share one store (one engine), one token vault and one client per
remote system. Tests hand in the parts they replace (a store on a temp database, a Salesforce
client with a fake login, a fixed clock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from qbsync.config import Settings

if TYPE_CHECKING:
    from qbsync.catalog import Catalog
    from qbsync.oauth_state import StateSigner
    from qbsync.quickbooks.oauth import IntuitOAuth
    from qbsync.quickbooks.tokens import TokenVault
    from qbsync.remotes import QuickBooks, Salesforce
    from qbsync.store import Store
    from qbsync.sync_config import SyncConfigStore

# The key of the Services in a Flask app's `extensions`.
EXTENSION = "qbsync"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Services:
    """The parts of one process; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        vault: TokenVault | None = None,
        oauth: IntuitOAuth | None = None,
        quickbooks: QuickBooks | None = None,
        salesforce: Salesforce | None = None,
        configs: SyncConfigStore | None = None,
        catalog: Catalog | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """Parts given here are used as they are; the others are built on first use."""
        self.settings = settings
        self.clock = clock
        given = {
            "store": store,
            "vault": vault,
            "oauth": oauth,
            "quickbooks": quickbooks,
            "salesforce": salesforce,
            "configs": configs,
            "catalog": catalog,
        }
        # An instance attribute takes the place of the cached property of the same name.
        self.__dict__.update({name: part for name, part in given.items() if part is not None})

    @cached_property
    def store(self) -> Store:
        """The database at QBSYNC_DATABASE_URL, its schema upgraded on opening."""
        from qbsync.store import Store

        return Store.open(self.settings.database_url)

    @cached_property
    def catalog(self) -> Catalog:
        from qbsync.catalog import load_catalog

        return load_catalog()

    @cached_property
    def vault(self) -> TokenVault:
        from qbsync.quickbooks.tokens import TokenVault

        return TokenVault(self.store.tokens, self.settings.encryption_keys)

    @cached_property
    def oauth(self) -> IntuitOAuth:
        from qbsync.quickbooks.oauth import IntuitOAuth

        return IntuitOAuth(self.settings)

    @cached_property
    def quickbooks(self) -> QuickBooks:
        from qbsync.http_pool import pooled_session
        from qbsync.quickbooks.client import QuickBooksClient
        from qbsync.quickbooks.pacing import SharedRealmPacer

        # Intuit's per-realm limits, shared with every process on this database.
        pacer = SharedRealmPacer(
            self.store.pacing,
            clock=lambda: self.clock().timestamp(),
            hold_seconds=self.settings.realm_wait_seconds,
        )
        session = pooled_session(self.settings)
        return QuickBooksClient(self.settings, self.vault, session, oauth=self.oauth, pacer=pacer)

    @cached_property
    def salesforce(self) -> Salesforce:
        from qbsync.http_pool import pooled_session
        from qbsync.salesforce.client import SalesforceClient

        return SalesforceClient(self.settings, pooled_session(self.settings))

    @cached_property
    def configs(self) -> SyncConfigStore:
        """Each realm's sync configuration from Salesforce, cached until it changes."""
        from qbsync.sync_config import SyncConfigStore

        return SyncConfigStore(
            self.salesforce,
            self.store.config_signal,
            self.catalog,
            self.settings.config_ttl_seconds,
            self.clock,
        )

    @cached_property
    def states(self) -> StateSigner:
        """The OAuth `state` of connect requests."""
        from qbsync.oauth_state import StateSigner

        return StateSigner(self.store.oauth_states, self.settings.encryption_keys[0])

    def close(self) -> None:
        """Close the store's connections, when it was opened."""
        if "store" in self.__dict__:
            self.store.close()


def current_services() -> Services:
    """The Services of the Flask app handling the current request."""
    from flask import current_app

    return current_app.extensions[EXTENSION]
