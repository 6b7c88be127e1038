"""`kill <bench|soak|demo>` stops the sandbox it started: SIGTERM unwinds the command's `with
Stack(...)` like Ctrl-C (`qbsync_sandbox.stack.exit_on_sigterm`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

# A command shaped like the benchmarks': the handler set first, then work inside a context
# manager whose exit is what `Stack.__exit__` does (here: leave a mark).
COMMAND = textwrap.dedent(
    """
    import sys, time
    from contextlib import contextmanager
    from qbsync_sandbox.stack import exit_on_sigterm

    @contextmanager
    def sandbox(mark):
        try:
            yield
        finally:
            open(mark, "w").write("stopped")

    exit_on_sigterm()
    with sandbox(sys.argv[1]):
        print("ready", flush=True)
        time.sleep(60)
    """
)


def test_sigterm_runs_the_stack_cleanup_and_exits_143(tmp_path: Path) -> None:
    mark = tmp_path / "stopped"
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", COMMAND, str(mark)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        process.kill()
    assert mark.read_text() == "stopped"
