"""qbsync.services: one process's parts, built once and on first use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from qbsync.catalog import load_catalog
from qbsync.config import Settings
from qbsync.quickbooks.client import QuickBooksClient
from qbsync.reconcile import Reconciler
from qbsync.salesforce.chunks import UPSERTS_IN_FLIGHT
from qbsync.salesforce.client import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.worker import Worker
from qbsync.write_lanes import SPARE_LANES


def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'qbsync.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        salesforce_login_url="https://login.example.com",
    )


def test_parts_are_built_on_first_use_and_then_kept(tmp_path: Path) -> None:
    services = Services(settings(tmp_path))
    assert not (tmp_path / "qbsync.db").exists()  # nothing opened yet

    assert services.vault.realms() == []

    assert (tmp_path / "qbsync.db").exists()  # the store was opened (and migrated) for it
    assert services.store is services.store
    assert isinstance(services.quickbooks, QuickBooksClient)
    assert isinstance(services.salesforce, SalesforceClient)
    assert services.configs is services.configs
    services.close()


def test_the_worker_and_the_reconciler_of_a_process_share_its_parts(tmp_path: Path) -> None:
    services = Services(settings(tmp_path))
    worker, reconciler = Worker(services), Reconciler(services)

    assert worker.ledger is reconciler.store.events is services.store.events
    assert worker.quickbooks is reconciler.quickbooks is services.quickbooks
    assert worker.configs is reconciler.config_store is services.configs
    services.close()


def test_given_parts_are_used_as_they_are(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'given.db'}")
    catalog = load_catalog()

    def clock() -> datetime:
        return datetime(2026, 3, 2, tzinfo=UTC)

    services = Services(settings(tmp_path), store=store, catalog=catalog, clock=clock)

    assert services.store is store and services.catalog is catalog
    assert services.vault.realms() == []
    assert not (tmp_path / "qbsync.db").exists()  # the configured database was never opened
    assert Worker(services).clock is clock
    services.close()


def test_the_clients_keep_a_connection_per_thread_that_may_call_at_once(tmp_path: Path) -> None:
    services = Services(settings(tmp_path).with_overrides(worker_write_lanes=8))
    for client in (services.salesforce, services.quickbooks):
        adapter = client._session.get_adapter("https://example.my.salesforce.com")
        # 8 write lanes and the spares for quiet realms (each with its batch's upserts in
        # flight together), the claiming loop's reads, the sync-log sender, the periodic threads.
        assert adapter._pool_maxsize == (8 + SPARE_LANES) * UPSERTS_IN_FLIGHT + 6
