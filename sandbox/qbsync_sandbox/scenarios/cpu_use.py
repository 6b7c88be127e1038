"""CPU used during a benchmark phase, read from Linux's /proc: how busy the machine's cores were
and how many CPU seconds each group of the sandbox's processes took.

Issue 19 asks, for a missed target, for the profile that shows why. Whether more worker
processes can drain a burst faster depends first on whether the cores were already busy: these
figures say so per run, and what took them (the workers, the web, each emulator, and the rest:
PostgreSQL, the benchmark itself and anything else on the machine).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot: `/proc/stat`'s first line."""
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    values = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of one live process (fields 14 and 15 of /proc/PID/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()  # the command, in parentheses, may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuUse:
    """Between `start` and `stop`: the share of the cores' time that was busy, and the CPU
    seconds of each named group of processes (their pids must stay alive until `stop`)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self._groups = groups

    def _seconds(self) -> dict[str, float]:
        return {
            name: sum(process_cpu_seconds(pid) for pid in pids)
            for name, pids in self._groups.items()
        }

    def start(self) -> CpuUse:
        self._started = time.perf_counter()
        self._ticks = _machine_ticks()
        self._before = self._seconds()
        return self

    def stop(self) -> dict:
        after = self._seconds()
        busy, every = (now - then for now, then in zip(_machine_ticks(), self._ticks, strict=True))
        wall = time.perf_counter() - self._started
        cpu = {name: round(after[name] - self._before[name], 2) for name in after}
        busy_seconds = busy / CLOCK_TICKS
        return {
            "wall_s": round(wall, 2),
            "cores": os.cpu_count(),
            "machine_busy_pct": round(100 * busy / every, 1) if every else 0.0,
            "cpu_s": {**cpu, "other": round(max(0.0, busy_seconds - sum(cpu.values())), 2)},
        }
