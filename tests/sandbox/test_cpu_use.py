"""The benchmark's CPU figures (`qbsync_sandbox.scenarios.cpu_use`): a process that spins is
charged its CPU seconds, one that sleeps is not, and the machine was busy meanwhile."""

from __future__ import annotations

import subprocess
import sys

from qbsync_sandbox.scenarios.cpu_use import CpuUse, process_cpu_seconds
from qbsync_sandbox.stack import wait_until

# Spins for 0.3 s of CPU once told to (a line on its input), then sleeps.
SPIN = (
    "import sys, time\nsys.stdin.readline()\n"
    "end = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(60)\n"
)


def test_a_spinning_process_is_charged_its_cpu_and_a_sleeping_one_nothing():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    spinner = subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.PIPE, text=True)
    try:
        used = CpuUse({"spinner": [spinner.pid], "sleeper": [sleeper.pid]}).start()
        spinner.stdin.write("go\n")
        spinner.stdin.flush()
        wait_until(
            lambda: process_cpu_seconds(spinner.pid) >= 0.3, timeout=30, what="the spin to end"
        )
        figures = used.stop()
    finally:
        for process in (sleeper, spinner):
            process.kill()
            process.wait()
        spinner.stdin.close()
    assert figures["cpu_s"]["spinner"] >= 0.25
    assert figures["cpu_s"]["sleeper"] <= 0.05
    assert 0 < figures["machine_busy_pct"] <= 100
    assert figures["cores"] >= 1 and figures["wall_s"] > 0
