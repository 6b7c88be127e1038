"""Keep idle companies connected: refresh refresh tokens before Intuit lets them expire.

Intuit's refresh tokens expire after 100 days without use, rolling, with a five-year hard cap
(research/quickbooks.md §5, "Added after a review"). A company whose enabled objects see no
change makes no API call, so its token is never refreshed and its next change would meet
`invalid_grant`. Each reconciliation pass refreshes every connected company whose refresh token
was last used `QBSYNC_TOKEN_KEEPALIVE_DAYS` ago or longer (the token row's `refreshed_at`), and
shows it on the company record: `Renewed_At__c` and the new expiry dates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from qbsync.company_record import show_on_company
from qbsync.quickbooks.errors import QuickBooksError
from qbsync.services import Services

log = logging.getLogger(__name__)


@dataclass
class KeepAliveResult:
    refreshed: list[str] = field(default_factory=list)  # realms whose tokens were refreshed
    errors: list[str] = field(default_factory=list)


class KeepAlive:
    """Refreshes the idle realms of the token vault (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._idle = timedelta(days=services.settings.token_keepalive_days)

    def run_once(self) -> KeepAliveResult:
        result = KeepAliveResult()
        vault = self._services.vault
        for realm_id in vault.realms():
            try:
                refreshed = vault.keep_alive(realm_id, self._services.oauth.refresh, self._idle)
            except QuickBooksError as error:
                # invalid_grant has already marked the realm reconnect_required in the vault.
                log.warning("Keeping realm %s connected failed: %s", realm_id, error)
                result.errors.append(f"realm {realm_id}: token refresh failed: {error}")
                self._show(
                    realm_id, {"Status__c": "Reconnect Required", "Last_Error__c": str(error)}
                )
                continue
            if not refreshed:
                continue
            connection = vault.connection(realm_id)
            log.info("Refreshed the idle QuickBooks tokens of realm %s (keep-alive)", realm_id)
            result.refreshed.append(realm_id)
            if connection is not None:
                self._show(
                    realm_id,
                    {
                        "Renewed_At__c": _iso(connection.refreshed_at),
                        "Refresh_Token_Expires_At__c": _iso(connection.refresh_expires_at),
                        "Refresh_Token_Hard_Expires_At__c": _iso(
                            connection.refresh_hard_expires_at
                        ),
                    },
                )
        return result

    def _show(self, realm_id: str, fields: dict) -> None:
        """Show the refresh on QB_Company__c (dates the vault does not know are left as they are)."""
        values = {name: value for name, value in fields.items() if value is not None}
        show_on_company(self._services.salesforce, realm_id, values)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")
