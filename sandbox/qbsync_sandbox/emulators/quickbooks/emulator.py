"""The emulator's parts in one object, reachable from views as `emulator()`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from flask import current_app

from qbsync_sandbox.emulators.quickbooks.delivery import Deliverer
from qbsync_sandbox.emulators.quickbooks.injection import FaultInjector
from qbsync_sandbox.emulators.quickbooks.requestids import RequestReplay
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.quickbooks.throttle import RealmLimits
from qbsync_sandbox.emulators.quickbooks.tokens import TokenStore

EXTENSION_KEY = "qbo_emulator"


@dataclass
class ConsentSettings:
    """What the auto-consent page does: which company it connects, or whether it refuses."""

    realm_id: str | None = None  # None: the first company
    deny: bool = False


CDC_TRUNCATIONS = ("oldest", "newest", "random")


@dataclass
class CdcSettings:
    """Which 1,000 objects a CDC response keeps when more changed.

    Intuit documents "a maximum of 1,000 objects" per response but not which ones
    (UNCONFIRMED, research §3 and issue 13): `oldest` (the default), `newest` or `random`
    (seeded) let tests check that a client loses nothing whichever set QuickBooks returns.
    """

    truncation: str = "oldest"
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def configure(self, truncation: object, seed: object = None) -> None:
        if truncation not in CDC_TRUNCATIONS:
            raise ValueError(f"truncation must be one of {', '.join(CDC_TRUNCATIONS)}")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("seed must be an integer")
        self.truncation, self.seed = str(truncation), seed
        self.rng = random.Random(seed)  # noqa: S311 - test data, not security


@dataclass
class QboEmulator:
    state: QboState
    tokens: TokenStore
    faults: FaultInjector
    limits: RealmLimits
    deliverer: Deliverer
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] | None  # None: any http(s) redirect URI is accepted
    consent: ConsentSettings = field(default_factory=ConsentSettings)
    cdc: CdcSettings = field(default_factory=CdcSettings)
    replay: RequestReplay = field(default_factory=RequestReplay)

    def close(self) -> None:
        """Stop the webhook deliverer thread."""
        self.deliverer.stop()


def emulator() -> QboEmulator:
    return current_app.extensions[EXTENSION_KEY]
