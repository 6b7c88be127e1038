"""Sync-log retention: old `QB_Sync_Log__c` records deleted in bulk, per company's settings.

Every event writes one sync log (about 2 KB of data storage each), so the logs are purged: a log
that says Success or Skipped goes once older than the company's `Log_Retention_Success_Days__c`
(default 14), any other (Failed, a Retrying that never settled) once older than
`Log_Retention_Failure_Days__c` (default 90); a blank setting means its default. Logs of no
company (its record was deleted) follow the defaults. Age is `Synced_At__c`, the moment the
middleware wrote the outcome, or `CreatedDate` for a log without one.

A pass costs a bounded number of API calls, whatever the number of logs: one query of the
companies, one query per distinct pair of settings (a page per 2,000 logs), and one Bulk API 2.0
delete job (create, upload, close, a few polls, the failed rows if any). It runs from the worker's
purge thread, on the ledger purge's schedule, and from `qbsync purge-logs`. Why the middleware and
not Batch Apex: docs/operating.md, "Sync-log retention".
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from qbsync.remotes import Salesforce
from qbsync.sync_config import soql_literal

log = logging.getLogger(__name__)

DEFAULT_SUCCESS_DAYS = 14  # the fields' defaultValue in force-app
DEFAULT_FAILURE_DAYS = 90
SHORT_LIVED_STATUSES = ("Success", "Skipped")
# Logs deleted in one pass at most (one delete job); a larger backlog goes over the next passes.
MAX_LOGS_PER_PASS = 100_000
# Company ids per query (`Company__c IN (…)`), well inside SOQL's 100,000-character statement.
COMPANIES_PER_QUERY = 200

COMPANIES_QUERY = (
    "SELECT Id, Log_Retention_Success_Days__c, Log_Retention_Failure_Days__c FROM QB_Company__c"
)


@dataclass(frozen=True)
class LogRetention:
    """Days a company's sync logs are kept, by outcome."""

    success_days: int = DEFAULT_SUCCESS_DAYS
    failure_days: int = DEFAULT_FAILURE_DAYS

    @classmethod
    def of_company(cls, row: Mapping) -> LogRetention:
        """The settings of a QB_Company__c row; blank (or not a positive number) → the default.
        The package's validation rule keeps them within 1-3650 days; this only guards a read."""
        return cls(
            success_days=_days(row.get("Log_Retention_Success_Days__c"), DEFAULT_SUCCESS_DAYS),
            failure_days=_days(row.get("Log_Retention_Failure_Days__c"), DEFAULT_FAILURE_DAYS),
        )


def _days(value: object, default: int) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
        return int(value)
    return default


def _soql_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _older_than(cutoff: datetime) -> str:
    stamp = _soql_datetime(cutoff)
    return f"(Synced_At__c < {stamp} OR (Synced_At__c = null AND CreatedDate < {stamp}))"


def old_logs_query(
    company_ids: Sequence[str] | None, retention: LogRetention, now: datetime, limit: int
) -> str:
    """SOQL for the ids of the logs `retention` lets go, of these companies (None: of none)."""
    if company_ids is None:
        companies = "Company__c = null"
    else:
        companies = "Company__c IN ({})".format(
            ", ".join(f"'{soql_literal(i)}'" for i in company_ids)
        )
    short = ", ".join(f"'{s}'" for s in SHORT_LIVED_STATUSES)
    success_cutoff = now - timedelta(days=retention.success_days)
    failure_cutoff = now - timedelta(days=retention.failure_days)
    # SOQL of our own literals and dates; the ids are escaped by soql_literal.
    return (
        f"SELECT Id FROM QB_Sync_Log__c WHERE {companies} AND ("  # noqa: S608
        f"(Status__c IN ({short}) AND {_older_than(success_cutoff)}) OR "
        f"(Status__c NOT IN ({short}) AND {_older_than(failure_cutoff)})"
        f") LIMIT {limit}"
    )


def log_queries(companies: Sequence[Mapping], now: datetime, limit: int) -> list[str]:
    """The queries of one pass: companies grouped by their settings, then the company-less logs."""
    groups: dict[LogRetention, list[str]] = defaultdict(list)
    for row in companies:
        groups[LogRetention.of_company(row)].append(row["Id"])
    queries = [
        old_logs_query(ids[start : start + COMPANIES_PER_QUERY], retention, now, limit)
        for retention, ids in groups.items()
        for start in range(0, len(ids), COMPANIES_PER_QUERY)
    ]
    queries.append(old_logs_query(None, LogRetention(), now, limit))
    return queries


def purge_logs(
    salesforce: Salesforce, now: datetime, max_logs: int = MAX_LOGS_PER_PASS
) -> dict[str, int]:
    """Delete the sync logs past their company's retention; the counts of the pass."""
    companies = salesforce.query_all(COMPANIES_QUERY)
    ids: list[str] = []
    for query in log_queries(companies, now, max_logs):
        if len(ids) >= max_logs:
            break
        ids += [row["Id"] for row in salesforce.query_all(query)][: max_logs - len(ids)]
    result = salesforce.bulk_delete("QB_Sync_Log__c", ids)
    if result.errors:
        record_id, error = result.errors[0]
        log.warning(
            "Sync-log purge: %d of %d logs not deleted, e.g. %s: %s",
            result.failed,
            result.processed,
            record_id,
            error,
        )
    return {"companies": len(companies), "deleted": result.succeeded, "failed": result.failed}
