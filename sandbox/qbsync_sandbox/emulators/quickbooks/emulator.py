"""The emulator's parts in one object, reachable from views as `emulator()`."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from qbsync_sandbox.emulators.quickbooks.delivery import Deliverer
from qbsync_sandbox.emulators.quickbooks.injection import FaultInjector
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.quickbooks.tokens import TokenStore

EXTENSION_KEY = "qbo_emulator"


@dataclass
class ConsentSettings:
    """What the auto-consent page does: which company it connects, or whether it refuses."""

    realm_id: str | None = None  # None: the first company
    deny: bool = False


@dataclass
class QboEmulator:
    state: QboState
    tokens: TokenStore
    faults: FaultInjector
    deliverer: Deliverer
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] | None  # None: any http(s) redirect URI is accepted
    consent: ConsentSettings = field(default_factory=ConsentSettings)

    def close(self) -> None:
        """Stop the webhook deliverer thread."""
        self.deliverer.stop()


def emulator() -> QboEmulator:
    return current_app.extensions[EXTENSION_KEY]
