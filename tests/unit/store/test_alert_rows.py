"""The alerts sent and not cleared (`qbsync.store.alerts.AlertRows`), on every backend: one row
per company and condition, so `qbsync.alerts` sends one alert while the condition holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from qbsync.store.alerts import AlertRows
from qbsync.store.schema import qb_alerts

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def alerts(database) -> AlertRows:
    return AlertRows(database)


def test_no_alert_is_raised_at_first(alerts: AlertRows) -> None:
    assert alerts.raised() == set()


def test_a_raised_alert_is_kept_with_its_time_until_cleared(alerts: AlertRows) -> None:
    alerts.reserve("r1", "failures", NOW)
    alerts.reserve("r1", "backlog", NOW)
    alerts.reserve("r2", "failures", NOW)

    assert alerts.raised() == {("r1", "failures"), ("r1", "backlog"), ("r2", "failures")}
    with alerts.engine.begin() as connection:
        assert set(connection.execute(select(qb_alerts.c.raised_at)).scalars()) == {NOW}


def test_clearing_one_condition_of_one_company_leaves_the_others(alerts: AlertRows) -> None:
    alerts.reserve("r1", "failures", NOW)
    alerts.reserve("r1", "backlog", NOW)
    alerts.reserve("r2", "failures", NOW)

    alerts.clear("r1", "failures")

    assert alerts.raised() == {("r1", "backlog"), ("r2", "failures")}
    alerts.clear("r1", "failures")  # clearing what is not raised is harmless
    assert alerts.raised() == {("r1", "backlog"), ("r2", "failures")}


def test_only_one_caller_reserves_an_alert(alerts: AlertRows) -> None:
    # Two workers that see the same new condition: the second finds the row taken, and may take
    # it again once the first gave it back (an alert it could not deliver).
    other = AlertRows(alerts.engine)
    assert alerts.reserve("r1", "failures", NOW)
    assert not other.reserve("r1", "failures", NOW)
    assert alerts.raised() == {("r1", "failures")}
    alerts.clear("r1", "failures")
    assert other.reserve("r1", "failures", NOW)
