"""simple-salesforce's Bulk API 2.0 client (`sf.bulk2`), which we did not write, against the
emulator: insert, upsert on an external id, delete, and the result CSVs it reads back."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

V = "66.0"


@pytest.fixture
def sf(salesforce_emulator) -> Salesforce:
    http = requests.Session()
    http.verify = str(salesforce_emulator.ca_path)
    http.trust_env = False  # else requests prefers REQUESTS_CA_BUNDLE over `verify`
    session = http.post(
        f"{salesforce_emulator.base_url}/_admin/session",
        params={"username": salesforce_emulator.sysadmin},
    ).json()
    return Salesforce(
        instance_url=salesforce_emulator.base_url,
        session_id=session["access_token"],
        version=V,
        session=http,
    )


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_upsert_delete_and_results(sf, salesforce_emulator):
    org = salesforce_emulator.org
    # wait=0: the client's first poll comes at once (it sleeps `wait` seconds before polling).
    (inserted,) = sf.bulk2.Account.insert(
        records=[{"Name": "Acme"}, {"Name": "Globex"}, {"Name": ""}], wait=0
    )
    assert (inserted["numberRecordsProcessed"], inserted["numberRecordsFailed"]) == (3, 1)
    assert inserted["numberRecordsTotal"] == 3
    successful = _rows(sf.bulk2.Account.get_successful_records(inserted["job_id"]))
    assert sorted(r["Name"] for r in successful) == ["Acme", "Globex"]
    assert {r["sf__Created"] for r in successful} == {"true"}
    (failed,) = _rows(sf.bulk2.Account.get_failed_records(inserted["job_id"]))
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING")

    (upserted,) = sf.bulk2.Account.upsert(
        records=[
            {"QB_External_Id__c": "C-1", "Name": "Amy"},
            {"QB_External_Id__c": "C-2", "Name": "Bill"},
        ],
        external_id_field="QB_External_Id__c",
        wait=0,
    )
    assert upserted["numberRecordsFailed"] == 0
    (again,) = sf.bulk2.Account.upsert(
        records=[{"QB_External_Id__c": "C-1", "Name": "Amy B."}],
        external_id_field="QB_External_Id__c",
        wait=0,
    )
    (row,) = _rows(sf.bulk2.Account.get_successful_records(again["job_id"]))
    assert row["sf__Created"] == "false"
    assert org.locate(row["sf__Id"])[1]["Name"] == "Amy B."

    ids = [r["sf__Id"] for r in successful]
    (deleted,) = sf.bulk2.Account.delete(records=[{"Id": i} for i in ids], wait=0)
    assert (deleted["numberRecordsProcessed"], deleted["numberRecordsFailed"]) == (2, 0)
    assert all(org.locate(i) is None for i in ids)
    every = sf.bulk2.Account.get_all_ingest_records(deleted["job_id"])
    assert len(every["successfulRecords"]) == 2 and every["unprocessedRecords"] == []


def test_a_failed_job_raises_with_its_error_message(sf):
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Account.insert(records=[{"Name": "Acme", "Nope__c": "x"}], wait=0)
