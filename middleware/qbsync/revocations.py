"""Revoking QuickBooks tokens at Intuit, and trying again in the background when Intuit fails.

A Disconnect, and a connect whose new tokens are not kept, revoke at once. When Intuit cannot be
reached or answers 5xx/429, the token is kept encrypted in `qb_revocations` and the worker tries
again with a doubling wait (1 minute up to 6 hours) until Intuit answers. An OAuth error answer
(400/401, e.g. a token Intuit no longer knows) is final: there is nothing left to revoke.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from qbsync.periodic import LEASE_POLL_SECONDS, always
from qbsync.quickbooks.errors import QuickBooksAuthError, QuickBooksError
from qbsync.quickbooks.tokens import TokenVaultError
from qbsync.services import Services
from qbsync.store import StoreUnavailable

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
RETRY_POLL_SECONDS = 60.0


class Revoker:
    """Revokes tokens now, or keeps them for a later try (`retry_due`)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def revoke(self, realm_id: str, token: str) -> bool:
        """Revoke `token` at Intuit; True when Intuit confirmed (or no longer knows it).

        False: Intuit failed, the token waits in `qb_revocations` for the worker.
        """
        try:
            self._services.oauth.revoke(token)
        except QuickBooksAuthError as error:
            log.warning("Intuit no longer accepts a token of realm %s: %s", realm_id, error)
        except QuickBooksError as error:
            log.warning(
                "Intuit did not confirm the revocation for realm %s (tried again later): %s",
                realm_id,
                error,
            )
            self._services.store.revocations.add(
                realm_id,
                self._services.vault.seal(token),
                str(error),
                self._services.clock() + FIRST_RETRY,
            )
            return False
        return True

    def retry_due(self) -> int:
        """Try every revocation that is due; returns how many Intuit confirmed."""
        revocations = self._services.store.revocations
        now = self._services.clock()
        confirmed = 0
        for pending in revocations.due(now):
            try:
                token = self._services.vault.unseal(pending.secret, pending.realm_id)
                self._services.oauth.revoke(token)
            except TokenVaultError as error:
                log.error("A pending revocation is dropped: %s", error)
                revocations.done(pending.id)
                continue
            except QuickBooksAuthError as error:
                log.warning(
                    "Intuit no longer accepts a token of realm %s: %s", pending.realm_id, error
                )
            except QuickBooksError as error:
                wait = min(FIRST_RETRY * 2**pending.attempts, LONGEST_RETRY)
                revocations.failed(pending.id, str(error), now + wait)
                continue
            log.info("Intuit confirmed a pending revocation for realm %s", pending.realm_id)
            revocations.done(pending.id)
            confirmed += 1
        return confirmed


def retry_revocations_periodically(
    revoker: Revoker,
    stop_event: threading.Event,
    poll: float = RETRY_POLL_SECONDS,
    held: Callable[[], bool] = always,
) -> None:
    """Retry due revocations every `poll` seconds until `stop_event` is set (a worker thread),
    while `held()` (the deployment's lease, `qbsync.periodic`)."""
    while not stop_event.is_set():
        if not held():
            stop_event.wait(min(poll, LEASE_POLL_SECONDS))
            continue
        try:
            revoker.retry_due()
        except StoreUnavailable as error:
            log.warning("Pending revocations wait for the database: %s", error)
        except Exception:
            log.exception("Retrying pending revocations failed; trying again later")
        stop_event.wait(poll)
