"""The pure parts of sync-log retention: a company's settings and the queries of a pass."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qbsync.log_retention import (
    COMPANIES_PER_QUERY,
    LogRetention,
    log_queries,
    old_logs_query,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({}, LogRetention(14, 90)),
        ({"Log_Retention_Success_Days__c": 7.0, "Log_Retention_Failure_Days__c": 30.0},
         LogRetention(7, 30)),
        ({"Log_Retention_Success_Days__c": None, "Log_Retention_Failure_Days__c": 365},
         LogRetention(14, 365)),
        ({"Log_Retention_Success_Days__c": 0, "Log_Retention_Failure_Days__c": "30"},
         LogRetention(14, 90)),
        ({"Log_Retention_Success_Days__c": True}, LogRetention(14, 90)),
    ],
)  # fmt: skip
def test_a_companys_settings_fall_back_to_the_defaults(row, expected):
    assert LogRetention.of_company(row) == expected


def test_the_query_cuts_off_each_outcome_at_its_own_age():
    query = old_logs_query(["a00'x"], LogRetention(7, 30), NOW, 500)
    assert "Company__c IN ('a00\\'x')" in query  # escaped, never closes the literal
    assert (
        "(Status__c IN ('Success', 'Skipped') AND (Synced_At__c < 2026-11-29T12:00:00Z OR "
        "(Synced_At__c = null AND CreatedDate < 2026-11-29T12:00:00Z)))"
    ) in query
    assert "(Status__c NOT IN ('Success', 'Skipped') AND (Synced_At__c < 2026-11-06T12:00:00Z" in (
        query
    )
    assert query.endswith(" LIMIT 500")
    assert "Company__c = null" in old_logs_query(None, LogRetention(), NOW, 1)


def test_companies_with_the_same_settings_share_a_query():
    rows = [{"Id": f"a00{n:015d}"} for n in range(COMPANIES_PER_QUERY + 1)]
    rows.append({"Id": "a00other", "Log_Retention_Success_Days__c": 3})
    queries = log_queries(rows, NOW, 100)
    # the defaults' companies in two chunks, the other setting, the company-less logs
    assert len(queries) == 4
    assert queries[-1].startswith("SELECT Id FROM QB_Sync_Log__c WHERE Company__c = null")
