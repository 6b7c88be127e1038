"""The sync-log reports and dashboard (issue 20, item 5): every column, grouping and filter names a
field the report type offers, the report type offers only fields its objects have, and the
dashboard shows the package's reports to whoever views it."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from qbsync_sandbox.force_app import MD, Package, load_package

from .conftest import DEFAULT, FORCE_APP
from .metadata_checks import report_problems

REPORTS = {
    "QB_Sync_Reports/QB_Sync_Volume",
    "QB_Sync_Reports/QB_Sync_Failures",
    "QB_Sync_Reports/QB_Sync_Latency",
    "QB_Sync_Reports/QB_Sync_Failures_Today",
}
LATENCY = "QB_Sync_Reports/QB_Sync_Latency.report-meta.xml"


@pytest.fixture(scope="module")
def package() -> Package:
    return load_package(FORCE_APP)


@pytest.fixture
def copy(tmp_path: pathlib.Path) -> pathlib.Path:
    destination = tmp_path / "force-app"
    shutil.copytree(FORCE_APP, destination, ignore=shutil.ignore_patterns("lwc", "node_modules"))
    return destination


def _edit(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_reports_and_dashboard_reference_what_exists(package: Package) -> None:
    assert set(package.reports) == REPORTS
    assert set(package.report_types) == {"QB_Sync_Logs_with_Company"}
    assert report_problems(package) == []


def test_the_reports_measure_what_the_brief_asks(package: Package) -> None:
    latency = package.reports["QB_Sync_Reports/QB_Sync_Latency"]
    [measured] = [
        c for c in latency.iterfind(MD + "columns") if c.find(MD + "aggregateTypes") is not None
    ]
    assert measured.findtext(MD + "field") == "QB_Sync_Log__c$Latency_Ms__c"
    assert [a.text for a in measured.iterfind(MD + "aggregateTypes")] == ["Average", "Maximum"]
    today = package.reports["QB_Sync_Reports/QB_Sync_Failures_Today"]
    assert today.findtext(f"{MD}timeFrameFilter/{MD}interval") == "INTERVAL_TODAY"
    assert today.findtext(f"{MD}filter/{MD}criteriaItems/{MD}value") == "Failed"
    volume = package.reports["QB_Sync_Reports/QB_Sync_Volume"]
    assert [g.findtext(MD + "field") for g in volume.iterfind(MD + "groupingsDown")] == [
        "QB_Sync_Log__c$Synced_At__c",
        "QB_Sync_Log__c$QB_Object__c",
        "QB_Sync_Log__c$Status__c",
    ]


def test_the_dashboard_runs_as_its_viewer_and_shows_every_report(package: Package) -> None:
    (dashboard,) = package.dashboards.values()
    assert dashboard.findtext(MD + "dashboardType") == "LoggedInUser"
    assert dashboard.find(MD + "runningUser") is None
    assert {r.text for r in dashboard.iter(MD + "report")} == REPORTS


def test_the_app_offers_reports_and_dashboards() -> None:
    app = (DEFAULT / "applications/QuickBooks_Sync.app-meta.xml").read_text()
    assert "<tabs>standard-report</tabs>" in app and "<tabs>standard-Dashboard</tabs>" in app


def test_a_report_column_the_report_type_does_not_offer_is_found(copy: pathlib.Path) -> None:
    _edit(
        copy / "main/default/reports" / LATENCY,
        "<field>QB_Sync_Log__c$Synced_At__c</field>",
        "<field>QB_Sync_Log__c$Event_Time__c2</field>",
    )
    assert report_problems(load_package(copy)) == [
        "report QB_Sync_Reports/QB_Sync_Latency: QB_Sync_Logs_with_Company__c offers no column "
        "QB_Sync_Log__c$Event_Time__c2"
    ]


def test_a_report_type_field_the_object_lacks_is_found(copy: pathlib.Path) -> None:
    (copy / "main/default/objects/QB_Company__c/fields/Environment__c.field-meta.xml").unlink()
    assert report_problems(load_package(copy)) == [
        "report type QB_Sync_Logs_with_Company: Company__c.Environment__c: QB_Company__c has no "
        "field Environment__c"
    ]


def test_a_dashboard_on_a_missing_report_or_a_named_user_is_found(copy: pathlib.Path) -> None:
    (copy / "main/default/reports" / LATENCY).unlink()
    dashboard = (
        copy / "main/default/dashboards/QB_Sync_Dashboards/QB_Sync_Health.dashboard-meta.xml"
    )
    _edit(
        dashboard,
        "<dashboardType>LoggedInUser</dashboardType>",
        "<dashboardType>SpecifiedUser</dashboardType>",
    )
    assert report_problems(load_package(copy)) == [
        "dashboard QB_Sync_Dashboards/QB_Sync_Health: runs as a named user, not LoggedInUser",
        "dashboard QB_Sync_Dashboards/QB_Sync_Health: no report QB_Sync_Reports/QB_Sync_Latency "
        "in force-app",
    ]
