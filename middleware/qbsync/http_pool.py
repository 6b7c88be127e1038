"""HTTP sessions whose connection pools fit the worker's concurrency.

Each remote system gets one `requests.Session` per process, so TLS connections are reused from
call to call instead of a handshake each time. urllib3 keeps `pool_maxsize` connections per
host; a request beyond that opens a connection it then throws away. The worker has up to
`QBSYNC_WORKER_WRITE_LANES` lanes calling each system (a lane's batch may have
`UPSERTS_IN_FLIGHT` Salesforce upserts in flight at once), plus the sync-log sender and the
periodic threads (reconciliation, purge, alerts, revocations, historical syncs).
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from qbsync.config import Settings
from qbsync.salesforce.chunks import UPSERTS_IN_FLIGHT
from qbsync.write_lanes import SPARE_LANES

# Threads besides the lanes that may call the same host at once: the claiming loop (historical
# sync pages), the sync-log sender, and the periodic threads.
OTHER_CALLERS = 6


def pooled_session(settings: Settings) -> requests.Session:
    """A session keeping enough connections per host for every thread of the process."""
    session = requests.Session()
    lanes = (settings.worker_write_lanes + SPARE_LANES) * UPSERTS_IN_FLIGHT
    adapter = HTTPAdapter(pool_maxsize=lanes + OTHER_CALLERS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
