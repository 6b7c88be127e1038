"""A one-minute soak (`qbsync_sandbox.scenarios.soak`): two companies, steady load, faults and kills.

The seed is random and printed in the failure message, so a failing run can be repeated with
`scripts/soak --minutes 1 --no-slow-faults --seed N`. The slow faults (429: 60 s realm wait;
30 s / 60 s read timeouts) are left out here; the fault matrix covers them and the 10-minute
soak in docs/reliability.md includes them.
"""

import pytest

from qbsync_sandbox.scenarios.soak import SOAK_ENV, Soak, SoakConfig
from qbsync_sandbox.stack import Stack

pytestmark = pytest.mark.e2e


def test_one_minute_soak_loses_and_duplicates_nothing(tmp_path):
    config = SoakConfig(minutes=1.0, rate=4.0, fault_every=4.0, kill_every=12.0, slow_faults=False)
    lines: list[str] = []
    with Stack(tmp_path, extra_env=SOAK_ENV) as stack:
        soak = Soak(stack, config, log=lines.append)
        soak.setup()
        report = soak.run()
    context = f"seed {report.seed}\n{report.table()}\n" + "\n".join(lines + report.verify)

    assert report.lost == 0, context
    assert report.duplicate_records == 0, context
    assert report.drain_seconds is not None, context
    assert sum(report.changes.values()) >= 200, context  # the load really ran
    assert report.applied > 0, context
    assert sum(report.faults_injected.values()) > 0, context
    assert sum(report.kills.values()) > 0, context
    assert report.webhooks_dropped == 0 or report.events_from_cdc > 0, context
