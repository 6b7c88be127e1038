"""Periodic threads run their passes only while the worker holds the deployment's lease
(`qbsync.periodic`): the loops of the alerts, the purges, the revocations and reconciliation."""

from __future__ import annotations

import threading

import pytest

from qbsync.alerts import alert_periodically
from qbsync.reconcile import reconcile_periodically
from qbsync.revocations import retry_revocations_periodically
from qbsync.store.purge import Retention, purge_periodically
from tests.support.worker_loop import TIMEOUT


class Lease:
    """Held once asked more than `after` times."""

    def __init__(self, after: int) -> None:
        self.asked = 0
        self.after = after

    def held(self) -> bool:
        self.asked += 1
        return self.asked > self.after


class Pass:
    def __init__(self, stop: threading.Event, lease: Lease) -> None:
        self.calls: list[int] = []
        self.stop = stop
        self.lease = lease

    def __call__(self, *_args: object) -> object:
        # Record how many times the lease had been asked when the pass ran, then end the loop.
        self.calls.append(self.lease.asked)
        self.stop.set()
        return _Result()


class _Result:
    sent: list = []
    cleared: list = []

    def as_dict(self) -> dict:
        return {}


class FakeStop(threading.Event):
    """An event whose waits return at once (the loops' polls), so the test never sleeps."""

    def wait(self, timeout: float | None = None) -> bool:
        return self.is_set()


def _run(loop) -> Pass:
    stop = FakeStop()
    lease = Lease(after=3)
    work = Pass(stop, lease)
    loop(stop, lease.held, work)
    return work


LOOPS = pytest.mark.parametrize(
    "loop",
    [
        lambda stop, held, work: alert_periodically(
            type("A", (), {"run_once": work})(), stop, 60, held
        ),
        lambda stop, held, work: retry_revocations_periodically(
            type("R", (), {"retry_due": work})(), stop, 5, held
        ),
        lambda stop, held, work: purge_periodically(
            None, Retention(), stop, 3600, lambda: None, work, held
        ),
    ],
    ids=["alerts", "revocations", "purge"],
)


@LOOPS
def test_a_pass_waits_for_the_lease(loop, monkeypatch) -> None:
    import qbsync.store.purge as purge_module

    monkeypatch.setattr(purge_module, "purge", lambda *_: {})
    work = _run(loop)
    assert work.calls == [4]  # three questions answered no, the pass on the fourth


@LOOPS
def test_a_standby_runs_the_pass_once_it_holds_the_lease_without_being_stopped(
    loop, monkeypatch
) -> None:
    """A real stop event this time: while another worker holds the lease, the loop asks again
    after a short poll, so the pass starts once the lease is held, never only at shutdown."""
    import qbsync.alerts as alerts_module
    import qbsync.revocations as revocations_module
    import qbsync.store.purge as purge_module

    monkeypatch.setattr(purge_module, "purge", lambda *_: {})
    for module in (alerts_module, revocations_module, purge_module):
        monkeypatch.setattr(module, "LEASE_POLL_SECONDS", 0.01)
    stop = threading.Event()
    lease = Lease(after=1)
    work = Pass(stop, lease)
    thread = threading.Thread(target=loop, args=(stop, lease.held, work), daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    stopped_by_the_pass = not thread.is_alive()
    stop.set()
    assert stopped_by_the_pass, "the loop waited for the stop instead of asking the lease again"
    assert work.calls == [2]


def test_reconciliation_waits_for_the_lease() -> None:
    stop = FakeStop()
    lease = Lease(after=3)
    work = Pass(stop, lease)
    signal = type("S", (), {"generation": lambda self: 1})()
    reconciler = type(
        "Rc", (), {"run_once": work, "store": type("St", (), {"config_signal": signal})()}
    )()
    reconcile_periodically(reconciler, stop, 900, held=lease.held)
    assert work.calls == [4]
