"""Alerts to the admins: a custom notification (desktop and mobile) and an email when a company
needs reconnecting, when its refresh token nears its hard expiry, or when failures in the last
hour reach a threshold.

The middleware knows each fact first: it marks a company Reconnect Required (the token vault),
holds the token dates and records every outcome (the ledger). So the worker checks them every
`QBSYNC_ALERT_INTERVAL_SECONDS` and sends through Salesforce's standard invocable actions over
REST, `customNotificationAction` and `emailSimple` (API Actions guide), to the users assigned
the QuickBooks_Sync_Admin permission set. `qb_alerts` holds the conditions alerted on: one alert
per company and condition while it holds, none while it goes on holding, a new one when it
clears and comes back. A worker reserves the row before it sends, so several workers sharing a
database send one alert between them; an alert it could not deliver gives the row back, so the
next pass tries again (a worker that dies between the two loses that alert). Texts name the
company and what to do, never a token or a raw error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from qbsync.periodic import LEASE_POLL_SECONDS, always
from qbsync.quickbooks.tokens import CONNECTED, RECONNECT_REQUIRED, Connection
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import ADMIN_PERMISSION_SET, ALERT_NOTIFICATION_TYPE
from qbsync.services import Services
from qbsync.store import StoreUnavailable

log = logging.getLogger(__name__)

RECONNECT = "reconnect_required"
TOKEN_EXPIRY = "token_expiry"  # noqa: S105 - a condition's name, not a secret
FAILURES = "failures"
FAILURE_WINDOW = timedelta(hours=1)

# Both statements name only the package's own constants.
_ADMINS_SOQL = (
    "SELECT AssigneeId, Assignee.Email FROM PermissionSetAssignment "  # noqa: S608
    f"WHERE PermissionSet.Name = '{ADMIN_PERMISSION_SET}' AND Assignee.IsActive = true"
)
_TYPE_SOQL = (
    f"SELECT Id FROM CustomNotificationType WHERE DeveloperName = '{ALERT_NOTIFICATION_TYPE}'"  # noqa: S608
)
_COMPANIES_SOQL = "SELECT Id, Name, Realm_Id__c FROM QB_Company__c"


@dataclass(frozen=True)
class Condition:
    """A condition that holds for one company now, with what the alert says about it."""

    realm_id: str
    kind: str  # RECONNECT | TOKEN_EXPIRY | FAILURES
    detail: str  # the fact in a few words, e.g. "expires on 2031-05-02"

    @property
    def key(self) -> tuple[str, str]:
        return (self.realm_id, self.kind)


def conditions(
    connections: Iterable[Connection],
    failures: Mapping[str, int],
    now: datetime,
    *,
    expiry_days: int,
    failure_threshold: int,
) -> list[Condition]:
    """Every condition that holds now (pure): a company Reconnect Required; a connected
    company's refresh token within `expiry_days` of its hard expiry; `failure_threshold` or more
    failures in the last hour (`failures`, by realm)."""
    found = []
    for connection in connections:
        hard = connection.refresh_hard_expires_at
        if connection.status == RECONNECT_REQUIRED:
            found.append(Condition(connection.realm_id, RECONNECT, "needs reconnecting"))
        elif (
            connection.status == CONNECTED
            and hard is not None
            and hard - now <= timedelta(days=expiry_days)
        ):
            found.append(
                Condition(
                    connection.realm_id, TOKEN_EXPIRY, f"expires on {hard.date().isoformat()}"
                )
            )
    for realm_id, count in sorted(failures.items()):
        if count >= failure_threshold:
            found.append(Condition(realm_id, FAILURES, f"{count} failures in the last hour"))
    return found


def texts(condition: Condition, company: str) -> tuple[str, str]:
    """The (title, body) of the alert on `condition` for the company named `company`."""
    who = f"{company} (realm {condition.realm_id})"
    if condition.kind == RECONNECT:
        return (
            f"QuickBooks company {company} needs reconnecting",
            f"Intuit no longer accepts the connection to {who}, so its changes are not synced. "
            "Open QB Setup and click Reconnect.",
        )
    if condition.kind == TOKEN_EXPIRY:
        return (
            f"QuickBooks connection of {company} {condition.detail}",
            f"The connection to {who} {condition.detail}, when Intuit ends it whatever its use. "
            "Open QB Setup and click Reconnect before then to keep the sync running.",
        )
    return (
        f"QuickBooks sync of {company}: {condition.detail}",
        f"{condition.detail.capitalize()} while syncing {who}. Open the Sync Logs tab or the "
        "Sync Failures by Object and Reason report for the reasons.",
    )


@dataclass
class AlertPass:
    """What one pass did: alerts sent and cleared, as (realm_id, condition) pairs."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    cleared: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Alerts:
    """Checks the conditions and alerts the admins (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._type_id: str | None = None

    def run_once(self) -> AlertPass:
        services, settings = self._services, self._services.settings
        now = services.clock()
        holding = conditions(
            services.vault.connections(),
            services.store.events.failures_since(now - FAILURE_WINDOW),
            now,
            expiry_days=settings.alert_token_expiry_days,
            failure_threshold=settings.alert_failures_per_hour,
        )
        raised = services.store.alerts.raised()
        result = AlertPass()
        for key in sorted(raised - {c.key for c in holding}):
            services.store.alerts.clear(*key)
            result.cleared.append(key)
        new = [c for c in holding if c.key not in raised]
        if new:
            try:
                self._send(new, now, result)
            except SalesforceError as error:
                log.warning("Alerts could not reach Salesforce; next pass tries again: %s", error)
                result.errors.append(str(error))
        return result

    def _send(self, new: list[Condition], now: datetime, result: AlertPass) -> None:
        salesforce = self._services.salesforce
        admins = salesforce.query_all(_ADMINS_SOQL)
        if not admins:
            log.warning(
                "No active user is assigned %s: %d alerts wait for one",
                ADMIN_PERMISSION_SET,
                len(new),
            )
            result.errors.append(f"no active user is assigned {ADMIN_PERMISSION_SET}")
            return
        recipients = sorted({row["AssigneeId"] for row in admins})
        addresses = sorted(
            {email for row in admins if (email := (row.get("Assignee") or {}).get("Email"))}
        )
        type_id = self._notification_type()
        companies = {row["Realm_Id__c"]: row for row in salesforce.query_all(_COMPANIES_SOQL)}
        rows = self._services.store.alerts
        for condition in new:
            if not rows.reserve(*condition.key, now):
                continue  # another worker is alerting on it
            company = companies.get(condition.realm_id) or {}
            title, body = texts(condition, company.get("Name") or "(no company record)")
            try:
                delivered = self._notify(type_id, recipients, title, body, company.get("Id"))
                delivered += self._email(addresses, title, body)
            except SalesforceError:
                rows.clear(*condition.key)
                raise
            if delivered:
                result.sent.append(condition.key)
                log.info("Alerted the admins: %s for realm %s", condition.kind, condition.realm_id)
            else:
                rows.clear(*condition.key)
                result.errors.append(
                    f"{condition.kind} of realm {condition.realm_id}: not delivered"
                )

    def _notify(
        self, type_id: str, recipients: list[str], title: str, body: str, target: str | None
    ) -> int:
        """Send the custom notification; 1 when Salesforce took it, else 0 (logged)."""
        if target is None:
            log.warning("No QB_Company__c to point a notification at; the email goes alone")
            return 0
        inputs = {"customNotifTypeId": type_id, "recipientIds": recipients, "title": title,
                  "body": body, "targetId": target}  # fmt: skip
        (outcome,) = self._services.salesforce.invoke_action("customNotificationAction", [inputs])
        if not outcome.success:
            log.warning("Salesforce refused the alert's notification: %s", outcome.message)
        return int(outcome.success)

    def _email(self, addresses: list[str], title: str, body: str) -> int:
        """Email each admin (one input each); the number Salesforce took."""
        if not addresses:
            return 0
        inputs = [{"emailAddresses": address, "emailSubject": title, "emailBody": body}
                  for address in addresses]  # fmt: skip
        outcomes = self._services.salesforce.invoke_action("emailSimple", inputs)
        for outcome in outcomes:
            if not outcome.success:
                log.warning("Salesforce refused an alert's email: %s", outcome.message)
        return sum(outcome.success for outcome in outcomes)

    def _notification_type(self) -> str:
        if self._type_id is None:
            found = self._services.salesforce.query_all(_TYPE_SOQL)
            if not found:
                raise SalesforceError(
                    f"the org has no custom notification type {ALERT_NOTIFICATION_TYPE} "
                    "(deploy the package)"
                )
            self._type_id = found[0]["Id"]
        return self._type_id


def alert_periodically(
    alerts: Alerts,
    stop_event: threading.Event,
    interval: float,
    held: Callable[[], bool] = always,
) -> None:
    """Check at once, then every `interval` seconds until `stop_event` is set (a worker thread),
    while `held()` (the deployment's lease, `qbsync.periodic`).

    A database that is locked or unreachable is waited out until the next interval; any other
    error is logged and the loop goes on.
    """
    while not stop_event.is_set():
        if not held():
            stop_event.wait(LEASE_POLL_SECONDS)
            continue
        try:
            result = alerts.run_once()
            if result.sent or result.cleared:
                log.info("Alerts pass: sent %s, cleared %s", result.sent, result.cleared)
        except StoreUnavailable as error:
            log.warning("Alerts wait for the database: %s", error)
        except Exception:
            log.exception("Alerts pass failed")
        stop_event.wait(interval)
