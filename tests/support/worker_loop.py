"""Running `Worker.run_forever` in a thread, and knowing when it has nothing left to do."""

from __future__ import annotations

import threading

from qbsync.worker import Worker

# A guard against a hang, not a timing assertion: tests wait for outcomes.
TIMEOUT = 30.0


def run_until_idle(
    worker: Worker, stop: threading.Event | None = None
) -> tuple[threading.Event, threading.Thread]:
    """Run `worker` in a thread; return once a claim found nothing (the worker goes idle; its
    write lanes may still be writing, and `stop_worker` lets them finish). From then on only a
    wake-up, or the safety poll, makes it claim again."""
    idle = threading.Event()
    wait = worker._idle  # the loop calls it when a claim found nothing to do

    def idle_wait(stop: threading.Event) -> None:
        idle.set()
        wait(stop)

    worker._idle = idle_wait
    stop = stop or threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    assert idle.wait(TIMEOUT), "the worker never found the ledger empty"
    return stop, thread


def stop_worker(stop: threading.Event, thread: threading.Thread) -> None:
    """Set `stop` and wait for the loop to end: the stop ends an idle wait at once."""
    stop.set()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "setting stop did not end the worker's wait"
