"""/api/backfills and `qbsync backfill`: starting, listing and cancelling historical sync jobs,
on a real temp SQLite store; Salesforce is a recording fake (the job records it is sent)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from qbsync import cli, metrics
from qbsync.app import create_app
from qbsync.catalog import load_catalog
from qbsync.cli import main
from qbsync.quickbooks import TokenVault
from qbsync.salesforce.client import RecordResult
from qbsync.salesforce.errors import SalesforceTransient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.backfills import Checkpoint, Counts
from qbsync.sync_config import parse_realm_config
from tests.support import builders
from tests.support.fakes import Clock

REALM = "9341455130166501"
NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
CATALOG = load_catalog()
AUTH = {"Authorization": f"Bearer {builders.API_KEY}"}


def mapping_row(qb_object: str, target: str, fields=(("DisplayName", "Name"),)) -> dict:
    return {
        "Id": f"a01{qb_object}",
        "QB_Object__c": qb_object,
        "Salesforce_Object__c": target,
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": False,
        "Delete_Behavior__c": "Ignore",
        "Field_Mapping_Count__c": len(fields),
        "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
        "Field_Mappings__r": {
            "records": [
                {"Id": f"a02{n}", "QB_Field__c": qb, "Salesforce_Field__c": sf}
                for n, (qb, sf) in enumerate(fields)
            ]
        }
        if fields
        else None,
    }


class Configs:
    fail = False

    def get(self, realm_id: str):
        if self.fail:
            raise SalesforceTransient("Salesforce unreachable: ConnectTimeout")
        rows = [
            mapping_row("Invoice", "QB_Transaction__c", (("DocNumber", "Name"),)),
            mapping_row("Customer", "Account"),
            mapping_row("Item", "Product2", (("Name", "Name"),)),
            mapping_row("Vendor", "Account", ()),
        ]
        return parse_realm_config(realm_id, rows, CATALOG)


class FakeSalesforce:
    def __init__(self) -> None:
        self.jobs: dict[str, dict] = {}
        self.counted_as: list[str] = []  # the work each call would be metered as

    def upsert_collection(self, sobject, external_id_field, records):
        assert (sobject, external_id_field) == ("QB_Sync_Job__c", "Job_Key__c")
        self.counted_as.append(metrics.current_work())
        for record in records:
            self.jobs[record["Job_Key__c"]] = record
        return [RecordResult("a0J", True, True) for _ in records]


@pytest.fixture
def services(tmp_path) -> Services:
    settings = builders.settings(database_url=f"sqlite:///{tmp_path / 'store.db'}")
    store = Store.open(settings.database_url)
    vault = TokenVault(store.tokens, settings.encryption_keys)
    vault.save(builders.tokens(REALM))
    return Services(
        settings,
        store=store,
        vault=vault,
        salesforce=FakeSalesforce(),
        configs=Configs(),
        catalog=CATALOG,
        clock=Clock(NOW),
    )


@pytest.fixture
def client(services):
    return create_app(services=services).test_client()


def post(client, body, **kwargs):
    return client.post("/api/backfills", json=body, headers=AUTH, **kwargs)


def test_jobs_are_queued_in_dependency_order_and_shown_in_salesforce(client, services) -> None:
    answer = post(
        client,
        {"realmId": REALM, "objects": ["Invoice", "customer", "Item"], "since": "2026-01-01"},
    )
    assert answer.status_code == 202
    jobs = answer.get_json()["jobs"]
    # Customers and items before the invoices that refer to them.
    assert [j["qbObject"] for j in jobs] == ["Customer", "Item", "Invoice"]
    assert {j["state"] for j in jobs} == {"Queued"}
    records = services.salesforce.jobs
    assert set(records) == {j["id"] for j in jobs}
    first = records[jobs[0]["id"]]
    assert first["State__c"] == "Queued" and first["Salesforce_Object__c"] == "Account"
    assert first["Company__r"] == {"Realm_Id__c": REALM}
    assert first["Since__c"] == "2026-01-01T00:00:00Z"


def test_the_list_is_newest_first_with_counts(client, services) -> None:
    post(client, {"realmId": REALM, "objects": ["Customer"]})
    post(client, {"realmId": REALM, "objects": ["Item"]})
    job = services.store.backfills.claim("w1", 60, NOW)
    services.store.backfills.start(
        job, "w1", total=10, write_mode="Collections", salesforce_object="Account", now=NOW
    )
    services.store.backfills.advance(
        job, "w1", counts=Counts(processed=4, created=3, failed=1), checkpoint=Checkpoint(NOW),
        done=False, eta=NOW, now=NOW,
    )  # fmt: skip
    answer = client.get(f"/api/backfills?realmId={REALM}", headers=AUTH)
    assert answer.status_code == 200
    item, customer = answer.get_json()["jobs"]
    assert (item["qbObject"], item["state"], item["processed"]) == ("Item", "Queued", 0)
    assert customer["qbObject"] == "Customer" and customer["state"] == "Running"
    assert (customer["total"], customer["processed"], customer["created"]) == (10, 4, 3)
    assert customer["failed"] == 1 and customer["writeMode"] == "Collections"
    assert customer["startedAt"] == "2026-12-06T06:00:00Z" and customer["eta"]
    assert client.get("/api/backfills?realmId=other", headers=AUTH).get_json() == {"jobs": []}
    assert client.get("/api/backfills", headers=AUTH).status_code == 400


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"realmId": REALM, "objects": []}, "non-empty list"),
        ({"realmId": REALM}, "non-empty list"),
        ({"realmId": REALM, "objects": "Customer"}, "non-empty list"),
        ({"realmId": REALM, "objects": ["Spaceship"]}, "'Spaceship' is not a QuickBooks object"),
        ({"realmId": REALM, "objects": [7]}, "7 is not a QuickBooks object"),
        ({"realmId": REALM, "objects": ["Bill"]}, "Bill is not mapped for company"),
        ({"realmId": REALM, "objects": ["Vendor"]}, "Vendor has no field mappings"),
        ({"realmId": REALM, "objects": ["Customer"], "since": "last week"}, "not an ISO 8601"),
        ({"realmId": REALM, "objects": ["Customer"], "since": "2026-02-30"}, "not an ISO 8601"),
        ({"realmId": REALM, "objects": ["Customer"], "since": 2026}, "since must be"),
        ({"realmId": REALM, "objects": ["Customer"], "since": "2027-01-01"}, "in the future"),
        ({"objects": ["Customer"]}, "realmId must be"),
        (["Customer"], "must be a JSON object"),
    ],
)
def test_a_bad_request_is_refused_naming_the_problem(client, services, body, names) -> None:
    answer = post(client, body)
    assert answer.status_code == 400
    assert names in answer.get_json()["error"]
    assert services.store.backfills.jobs() == []


def test_an_unknown_realm_is_404_and_salesforce_unreachable_is_502(client, services) -> None:
    answer = post(client, {"realmId": "123", "objects": ["Customer"]})
    assert answer.status_code == 404 and "no QuickBooks company with realm 123" in answer.text
    services.configs.fail = True
    answer = post(client, {"realmId": REALM, "objects": ["Customer"]})
    assert answer.status_code == 502 and "could not be read from Salesforce" in answer.text


def test_a_second_job_for_an_active_object_is_409(client, services) -> None:
    (first,) = post(client, {"realmId": REALM, "objects": ["Customer"]}).get_json()["jobs"]
    answer = post(client, {"realmId": REALM, "objects": ["Item", "Customer"]})
    assert answer.status_code == 409
    assert answer.get_json()["id"] == first["id"] and "already Queued" in answer.text
    assert len(services.store.backfills.jobs()) == 1


def test_cancel_answers_200_then_409_and_404_for_an_unknown_job(client, services) -> None:
    (job,) = post(client, {"realmId": REALM, "objects": ["Customer"]}).get_json()["jobs"]
    answer = client.post(f"/api/backfills/{job['id']}/cancel", headers=AUTH)
    assert answer.status_code == 200
    assert answer.get_json() == {"id": job["id"], "state": "Cancelled"}
    assert services.salesforce.jobs[job["id"]]["State__c"] == "Cancelled"
    again = client.post(f"/api/backfills/{job['id']}/cancel", headers=AUTH)
    assert again.status_code == 409 and again.get_json()["state"] == "Cancelled"
    assert client.post("/api/backfills/nope/cancel", headers=AUTH).status_code == 404


def test_a_jobs_records_are_metered_as_the_backfills_own_calls(client, services) -> None:
    """Starting and cancelling write the job's QB_Sync_Job__c record: the historical sync's
    cost, not real time's (`qbsync.metrics`)."""
    (job,) = post(client, {"realmId": REALM, "objects": ["Customer"]}).get_json()["jobs"]
    client.post(f"/api/backfills/{job['id']}/cancel", headers=AUTH)

    assert services.salesforce.counted_as == ["backfill", "backfill"]
    assert metrics.current_work() == "realtime"  # only while they ran


def test_every_route_wants_the_api_key(client) -> None:
    assert client.post("/api/backfills", json={}).status_code == 401
    assert client.get(f"/api/backfills?realmId={REALM}").status_code == 401
    assert client.post("/api/backfills/x/cancel").status_code == 401


def test_the_cli_starts_follows_and_cancels(services, monkeypatch) -> None:
    def a_page_passes(seconds: float) -> None:
        # Instead of waiting for the worker: the job moves one page.
        jobs = services.store.backfills
        job = jobs.claim("w1", 60, NOW)
        if job.state == "Queued":
            jobs.start(
                job, "w1", total=1500, write_mode="Collections", salesforce_object="Account",
                now=NOW,
            )  # fmt: skip
            job = jobs.get(job.job_key)
        jobs.advance(
            job, "w1", counts=Counts(processed=1000, created=1000),
            checkpoint=Checkpoint(NOW), done=job.pages == 1, eta=None, now=NOW,
        )  # fmt: skip

    monkeypatch.setattr(cli, "_follow_wait", a_page_passes)
    runner = CliRunner()
    result = runner.invoke(
        main, ["backfill", "--realm", REALM, "--object", "Customer"], obj=services
    )
    assert result.exit_code == 0, result.output
    assert "Customer: Done; processed 2000, created 2000" in result.output

    result = runner.invoke(
        main, ["backfill", "--realm", REALM, "--object", "Item", "--detach"], obj=services
    )
    key = result.output.split()[0]
    assert result.exit_code == 0 and "Item: Queued" in result.output
    result = runner.invoke(main, ["backfill", "--cancel", key], obj=services)
    assert result.exit_code == 0 and f"{key} Item: Cancelled" in result.output
    result = runner.invoke(main, ["backfill", "--cancel", key], obj=services)
    assert result.exit_code == 1 and "Cancelled already" in result.output
    result = runner.invoke(main, ["backfill", "--realm", REALM, "--object", "Bill"], obj=services)
    assert result.exit_code == 1 and "Bill is not mapped" in result.output
    result = runner.invoke(main, ["backfill", "--realm", REALM], obj=services)
    assert result.exit_code == 2
