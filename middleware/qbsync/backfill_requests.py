"""Starting and cancelling historical sync jobs, as `POST /api/backfills` and `qbsync backfill` ask:
the request checked (realm, objects, date), the jobs queued in dependency order, their
QB_Sync_Job__c records written. Typed errors say what was wrong; the API maps them to 400/404/409,
the CLI to one message."""

from __future__ import annotations

from datetime import UTC, date, datetime

from qbsync import metrics
from qbsync.job_record import show_jobs
from qbsync.salesforce.errors import SalesforceError
from qbsync.services import Services
from qbsync.store.backfills import BackfillJob

CANCEL_MESSAGE = "cancelled by the admin"
# What a job reads before others of the same request (the records that others refer to must be in
# Salesforce first): the chart of accounts (items refer to accounts), the other name lists
# (customers, vendors, items), the transactions, and last the transactions that apply to other
# transactions (a payment refers to the invoices it pays). The writer also syncs a missing
# referenced record itself (qbsync.references); this order saves those extra rounds.
_FIRST = ("Account",)
_LAST = ("Payment", "BillPayment")


class BadRequest(Exception):
    """The request names no object, an unknown or unmapped one, or a date that is not one."""


class UnknownRealm(Exception):
    """No company with this realm is connected to the middleware."""


class ConfigUnavailable(Exception):
    """Salesforce could not be asked for the company's mappings."""


def parse_since(value: object) -> datetime | None:
    """`since` as given: an ISO 8601 date (midnight UTC) or date-time (UTC without a zone)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"since must be an ISO 8601 date such as 2026-01-01, got {value!r}")
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"since {text!r} is not an ISO 8601 date or date-time (e.g. 2026-01-01)"
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rank(services: Services, entity: str) -> int:
    if entity in _FIRST:
        return 0
    if entity in _LAST:
        return 3
    described = services.catalog.entity(entity)
    return 1 if described is not None and described.deletes_by_deactivating else 2


# A job's QB_Sync_Job__c records (and the mappings read to check the request) are the historical
# sync's own cost (`qbsync.metrics`).
@metrics.counted_as(metrics.BACKFILL)
def start_backfills(
    services: Services, realm_id: object, objects: object, since: object
) -> list[BackfillJob]:
    """Queue one job per object of `realm_id`, in dependency order. Raises `BadRequest`,
    `UnknownRealm`, `ConfigUnavailable` or `qbsync.store.backfills.JobConflict`."""
    if not isinstance(realm_id, str) or not realm_id.strip():
        raise BadRequest("realmId must be the QuickBooks company's realm id")
    if not isinstance(objects, list | tuple) or not objects:
        raise BadRequest(
            'objects must be a non-empty list of QuickBooks objects, e.g. ["Customer"]'
        )
    start = parse_since(since)
    if start is not None and start > services.clock():
        raise BadRequest(f"since {start.date().isoformat()} is in the future")
    names: list[str] = []
    for name in objects:
        entity = services.catalog.entity(name) if isinstance(name, str) else None
        if entity is None:
            raise BadRequest(
                f"{name!r} is not a QuickBooks object; one of: "
                f"{', '.join(services.catalog.entity_names)}"
            )
        if entity.name not in names:
            names.append(entity.name)
    if services.vault.connection(realm_id) is None:
        raise UnknownRealm(f"no QuickBooks company with realm {realm_id} is connected")
    try:
        config = services.configs.get(realm_id)
    except SalesforceError as error:
        raise ConfigUnavailable(
            f"the object mappings could not be read from Salesforce: {error}"
        ) from None
    targets: list[tuple[str, str | None]] = []
    for entity in sorted(names, key=lambda n: _rank(services, n)):
        mapping = config.mapping(entity)
        if mapping is None:
            raise BadRequest(f"{entity} is not mapped for company {realm_id}: map it first")
        if mapping.problems:
            raise BadRequest(f"the {entity} mapping cannot be used: {'; '.join(mapping.problems)}")
        if not mapping.field_mappings:
            raise BadRequest(f"{entity} has no field mappings: add them first")
        targets.append((entity, mapping.salesforce_object))
    jobs = services.store.backfills.create(realm_id, targets, start, services.clock())
    show_jobs(services.salesforce, jobs)
    return jobs


@metrics.counted_as(metrics.BACKFILL)
def cancel_backfill(services: Services, job_key: str) -> BackfillJob:
    """Cancel a Queued or Running job (it stops before its next page); raises
    `JobNotFound` or `JobFinished` (qbsync.store.backfills)."""
    job = services.store.backfills.cancel(job_key, services.clock(), CANCEL_MESSAGE)
    show_jobs(services.salesforce, [job])
    return job
