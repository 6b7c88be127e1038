"""The store's small tables on every backend: the configuration signal, reconciliation
watermarks and OAuth state nonces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbsync.store.config_signal import ConfigSignal
from qbsync.store.oauth_states import ConnectRequest, OAuthStates
from qbsync.store.watermarks import Watermark, Watermarks

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_config_generation_increments(database) -> None:
    signal = ConfigSignal(database)
    assert signal.generation() == 0
    signal.changed("9341455130166501")
    assert signal.generation() == 1
    signal.changed()
    signal.changed("r2")
    assert signal.generation() == 3


def test_watermarks_are_saved_per_realm_and_entity(database) -> None:
    marks = Watermarks(database)
    assert marks.all() == []
    first = Watermark("r1", "Customer", NOW, NOW - timedelta(hours=1))
    marks.save(first, NOW)
    marks.save(Watermark("r1", "Vendor", NOW, NOW), NOW)
    marks.save(Watermark("r2", "Customer", NOW, NOW), NOW)
    moved = Watermark("r1", "Customer", NOW + timedelta(minutes=15), NOW)
    marks.save(moved, NOW + timedelta(minutes=15))

    assert marks.all("r1") == [moved, Watermark("r1", "Vendor", NOW, NOW)]
    assert [(m.realm_id, m.entity) for m in marks.all()] == [
        ("r1", "Customer"),
        ("r1", "Vendor"),
        ("r2", "Customer"),
    ]
    assert marks.all("r1")[0].scanned_through.tzinfo == UTC


def test_an_oauth_nonce_is_used_once_within_its_lifetime(database) -> None:
    states = OAuthStates(database)
    ttl = timedelta(minutes=10)
    states.add("fresh", NOW)
    states.add("old", NOW - ttl)

    assert states.use("fresh", NOW + timedelta(minutes=1), ttl) == ConnectRequest(None, None)
    assert states.use("fresh", NOW + timedelta(minutes=2), ttl) is None  # a replay
    assert states.use("old", NOW, ttl) is None  # expired
    assert states.use("unknown", NOW, ttl) is None


def test_an_oauth_nonce_remembers_the_realm_and_origin_of_its_request(database) -> None:
    states = OAuthStates(database)
    ttl = timedelta(minutes=10)
    states.add(
        "reconnect", NOW, realm_id="9341455130166501", origin="https://acme.lightning.force.com"
    )
    states.add("connect", NOW, origin="https://acme.lightning.force.com")

    assert states.use("reconnect", NOW, ttl) == ConnectRequest(
        "9341455130166501", "https://acme.lightning.force.com"
    )
    assert states.use("connect", NOW, ttl) == ConnectRequest(
        None, "https://acme.lightning.force.com"
    )


def test_watermarks_are_listed_in_entity_order(database) -> None:
    # Saved in any order, listed by realm then entity (the reconcile status reads them so).
    marks = Watermarks(database)
    for entity in ("Vendor", "Invoice", "Customer"):
        marks.save(Watermark("r1", entity, NOW, NOW), NOW)
    assert [m.entity for m in marks.all()] == ["Customer", "Invoice", "Vendor"]
    assert [m.entity for m in marks.all("r1")] == ["Customer", "Invoice", "Vendor"]


def test_using_one_oauth_nonce_leaves_the_others_usable(database) -> None:
    # Two admins connecting at once: the first callback must not spend the second's state.
    states = OAuthStates(database)
    ttl = timedelta(minutes=10)
    states.add("first", NOW)
    states.add("second", NOW)
    assert states.use("first", NOW, ttl) is not None
    assert states.use("second", NOW, ttl) is not None
