"""Fidelity of the Salesforce emulator's Bulk API 2.0 ingest, over real HTTPS.

The expectations are the Bulk API 2.0 Developer Guide's: a job is created `Open` with a
`contentUrl`, takes one CSV upload (201), is closed with `UploadComplete` and then reads
`JobComplete` with numberRecordsProcessed/Failed; successfulResults carry `sf__Id, sf__Created`
and the uploaded columns, failedResults `sf__Id, sf__Error` and the columns, unprocessedrecords the
columns. Rows are written with the REST paths' rules: validation rules, field-level security and
object permissions of the job's user. hardDelete needs the "Bulk API Hard Delete" permission.
"""

from __future__ import annotations

import csv
import io

import pytest
import requests

from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from tests.support.paths import FORCE_APP

V = "66.0"
INTEGRATION = "integration@qbsync.example"
ADMIN = "admin@qbsync.example"
SYSADMIN = "sysadmin@qbsync.example"
JOBS = f"/services/data/v{V}/jobs/ingest"


class Bulk:
    """Bulk API 2.0 calls to a running emulator as one user."""

    def __init__(self, base_url: str, ca_path, username: str) -> None:
        self.base_url, self.verify = base_url, str(ca_path)
        self.http = requests.Session()
        session = self.http.post(
            f"{base_url}/_admin/session", params={"username": username}, verify=self.verify
        ).json()
        self.http.headers["Authorization"] = f"Bearer {session['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.base_url + path, verify=self.verify, **kwargs)

    def create(self, **body) -> requests.Response:
        return self.call("POST", JOBS, json={"contentType": "CSV", **body})

    def upload(self, job_id: str, data: str, content_type: str = "text/csv") -> requests.Response:
        return self.call(
            "PUT",
            f"{JOBS}/{job_id}/batches",
            data=data.encode(),
            headers={"Content-Type": content_type},
        )

    def close(self, job_id: str, state: str = "UploadComplete") -> requests.Response:
        return self.call("PATCH", f"{JOBS}/{job_id}", json={"state": state})

    def info(self, job_id: str) -> dict:
        response = self.call("GET", f"{JOBS}/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def results(self, job_id: str, kind: str) -> list[dict]:
        response = self.call("GET", f"{JOBS}/{job_id}/{kind}/")
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))

    def run(self, data: str, **job) -> dict:
        """Create, upload, close; the job's info once it has finished (the state is polled)."""
        created = self.create(**job)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
        assert self.upload(job_id, data).status_code == 201
        assert self.close(job_id).json()["state"] == "UploadComplete"
        info = self.info(job_id)
        while info["state"] in ("UploadComplete", "InProgress"):
            info = self.info(job_id)
        return info


@pytest.fixture
def emulator(tmp_path):
    org = Org(load_schema(FORCE_APP), username=INTEGRATION)
    app = create_salesforce_app(org, client_id="3MVG9-bulk", client_secret="bulk-secret")
    server, base_url, ca_path = run_in_thread(app, tmp_path / "tls")
    yield org, base_url, ca_path
    server.shutdown()
    server.server_close()


def _bulk(emulator, username: str = SYSADMIN) -> Bulk:
    _org, base_url, ca_path = emulator
    return Bulk(base_url, ca_path, username)


def test_create_job_answers_open_job_info_with_its_upload_url(emulator):
    bulk = _bulk(emulator)
    response = bulk.create(object="Account", operation="insert", lineEnding="LF")
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("750") and len(body["id"]) == 18
    assert body["state"] == "Open"
    assert body["object"] == "Account" and body["operation"] == "insert"
    assert body["contentType"] == "CSV" and body["jobType"] == "V2Ingest"
    assert body["columnDelimiter"] == "COMMA" and body["lineEnding"] == "LF"
    assert body["apiVersion"] == 66.0
    assert body["contentUrl"] == f"services/data/v{V}/jobs/ingest/{body['id']}/batches"
    listed = bulk.call("GET", JOBS).json()
    assert listed["done"] is True
    assert [j["id"] for j in listed["records"]] == [body["id"]]


def test_insert_writes_records_and_reports_each_row(emulator):
    org, *_ = emulator
    bulk = _bulk(emulator)
    data = "Name,Phone\nAcme,555-0100\n,555-0101\nGlobex,#N/A\n"
    info = bulk.run(data, object="Account", operation="insert")
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    successful = bulk.results(info["id"], "successfulResults")
    assert [(r["Name"], r["sf__Created"]) for r in successful] == [
        ("Acme", "true"),
        ("Globex", "true"),
    ]
    for row in successful:
        assert org.locate(row["sf__Id"])[1]["Name"] == row["Name"]
    (failed,) = bulk.results(info["id"], "failedResults")
    assert failed["sf__Id"] == "" and failed["Phone"] == "555-0101"
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:Required fields are missing")
    assert bulk.results(info["id"], "unprocessedrecords") == []


def test_upsert_on_an_external_id_creates_then_updates(emulator):
    org, *_ = emulator
    bulk = _bulk(emulator)
    first = bulk.run(
        "QB_External_Id__c,Name\nC-1,Amy\nC-2,Bill\n",
        object="Account",
        operation="upsert",
        externalIdFieldName="QB_External_Id__c",
    )
    created = {r["QB_External_Id__c"]: r for r in bulk.results(first["id"], "successfulResults")}
    assert {k: r["sf__Created"] for k, r in created.items()} == {"C-1": "true", "C-2": "true"}
    second = bulk.run(
        "QB_External_Id__c,Name\nC-1,Amy Renamed\nC-3,Cleo\nC-3,Cleo again\n",
        object="Account",
        operation="upsert",
        externalIdFieldName="QB_External_Id__c",
    )
    assert (second["numberRecordsProcessed"], second["numberRecordsFailed"]) == (3, 2)
    (updated,) = bulk.results(second["id"], "successfulResults")
    assert (updated["sf__Id"], updated["sf__Created"]) == (created["C-1"]["sf__Id"], "false")
    assert org.locate(updated["sf__Id"])[1]["Name"] == "Amy Renamed"
    failed = bulk.results(second["id"], "failedResults")
    assert {r["sf__Error"].split(":")[0] for r in failed} == {"DUPLICATE_EXTERNAL_ID"}


def test_update_and_delete_by_id(emulator):
    org, *_ = emulator
    bulk = _bulk(emulator)
    ids = [org.create("Account", {"Name": name}) for name in ("One", "Two")]
    updated = bulk.run(f"Id,Name\n{ids[0]},Uno\n", object="Account", operation="update")
    assert updated["numberRecordsFailed"] == 0
    assert org.locate(ids[0])[1]["Name"] == "Uno"
    deleted = bulk.run(f"Id\n{ids[0]}\n{ids[1]}\n001Hs00000zzzzzAAA\n", object="Account",
                       operation="delete")  # fmt: skip
    assert (deleted["numberRecordsProcessed"], deleted["numberRecordsFailed"]) == (3, 1)
    assert org.locate(ids[0]) is None and org.is_deleted(ids[0])  # in the recycle bin
    (failed,) = bulk.results(deleted["id"], "failedResults")
    assert failed["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY")


def test_rows_run_the_save_rules_and_permissions_of_the_jobs_user(emulator):
    org, *_ = emulator
    # A validation rule of the package (QB_Company__c.Log_Retention_Bounds) fails its row only.
    info = _bulk(emulator).run(
        "Realm_Id__c,Name,Log_Retention_Success_Days__c\nR-1,Ok,30\nR-2,Too long,5000\n",
        object="QB_Company__c",
        operation="upsert",
        externalIdFieldName="Realm_Id__c",
    )
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    (failed,) = _bulk(emulator).results(info["id"], "failedResults")
    assert failed["sf__Error"].startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION:Keep sync logs")
    # The admin may read sync logs but not delete them (object permission).
    log_id = org.create("QB_Sync_Log__c", {"Status__c": "Success"})
    refused = _bulk(emulator, ADMIN).run(f"Id\n{log_id}\n", object="QB_Sync_Log__c",
                                         operation="delete")  # fmt: skip
    (failed,) = _bulk(emulator, ADMIN).results(refused["id"], "failedResults")
    assert failed["sf__Error"].startswith("INSUFFICIENT_ACCESS_OR_READONLY")
    assert org.locate(log_id) is not None
    # A field the integration user may read but not edit (field-level security).
    fls = _bulk(emulator, INTEGRATION).run(
        "Realm_Id__c,Log_Retention_Success_Days__c\nR-1,20\n",
        object="QB_Company__c",
        operation="upsert",
        externalIdFieldName="Realm_Id__c",
    )
    (failed,) = _bulk(emulator, INTEGRATION).results(fls["id"], "failedResults")
    assert failed["sf__Error"].startswith("INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update")


def test_hard_delete_needs_the_bulk_api_hard_delete_permission(emulator, tmp_path):
    refused = _bulk(emulator, INTEGRATION).create(object="QB_Sync_Log__c", operation="hardDelete")
    assert refused.status_code == 400
    (error,) = refused.json()
    assert error["errorCode"] == "FEATURENOTENABLED"
    assert "hardDelete operation requires special user profile permission" in error["message"]
    # The package grants the permission to nobody; an org whose integration user holds it:
    schema = load_schema(FORCE_APP)
    schema.permission_sets["QuickBooks_Sync_Integration"].user_permissions.add("BulkApiHardDelete")
    org = Org(schema, username=INTEGRATION)
    log_id = org.create("QB_Sync_Log__c", {"Status__c": "Success"})
    server, base_url, ca_path = run_in_thread(
        create_salesforce_app(org, client_id="3MVG9-bulk", client_secret="bulk-secret"),
        tmp_path / "tls-hard",
    )
    try:
        info = Bulk(base_url, ca_path, INTEGRATION).run(
            f"Id\n{log_id}\n", object="QB_Sync_Log__c", operation="hardDelete"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0)
    assert org.locate(log_id) is None
    assert not org.is_deleted(log_id)  # not in the recycle bin either


def test_unknown_column_fails_the_job_and_leaves_every_row_unprocessed(emulator):
    bulk = _bulk(emulator)
    info = bulk.run("Name,Nope__c\nAcme,1\nGlobex,2\n", object="Account", operation="insert")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    assert info["numberRecordsProcessed"] == 0
    assert [r["Name"] for r in bulk.results(info["id"], "unprocessedrecords")] == [
        "Acme",
        "Globex",
    ]


def test_line_ending_and_delete_columns_are_checked(emulator):
    bulk = _bulk(emulator)
    crlf = bulk.run("Name\r\nAcme\r\n", object="Account", operation="insert", lineEnding="LF")
    assert crlf["state"] == "Failed"
    assert crlf["errorMessage"].startswith("ClientInputError : LineEnding is invalid")
    ok = bulk.run("Name\r\nAcme\r\n", object="Account", operation="insert", lineEnding="CRLF")
    assert (ok["state"], ok["numberRecordsFailed"]) == ("JobComplete", 0)
    extra = bulk.run("Id,Name\n001Hs00000zzzzzAAA,x\n", object="Account", operation="delete")
    assert extra["errorMessage"] == "InvalidBatch : The 'delete' batch must contain only ids"


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"object": "Nope__c", "operation": "insert"}, "INVALIDJOB", "Unable to find object"),
        ({"object": "Account", "operation": "merge"}, "INVALIDJOB", "Invalid operation"),
        ({"object": "Account", "operation": "upsert"}, "INVALIDJOB", "External ID was blank"),
        (
            {"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
            "INVALIDJOB",
            "is not valid for the 'Account' object",
        ),
        ({"object": "Account", "operation": "insert", "contentType": "JSON"}, "INVALIDJOB", "CSV"),
    ],
)
def test_bad_job_requests_are_refused_with_a_rest_error_body(emulator, body, code, fragment):
    response = _bulk(emulator).call("POST", JOBS, json=body)
    assert response.status_code == 400
    (error,) = response.json()
    assert error["errorCode"] == code and fragment in error["message"]


def test_upload_rules_content_type_one_upload_and_open_jobs_only(emulator):
    bulk = _bulk(emulator)
    job_id = bulk.create(object="Account", operation="insert").json()["id"]
    wrong = bulk.upload(job_id, "Name\nAcme\n", content_type="application/json")
    assert wrong.status_code == 415 and wrong.json()[0]["errorCode"] == "INVALIDCONTENTTYPE"
    assert bulk.upload(job_id, "Name\nAcme\n").status_code == 201
    again = bulk.upload(job_id, "Name\nGlobex\n")
    assert again.status_code == 409 and "Found multiple contents" in again.json()[0]["message"]
    bulk.close(job_id)
    closed = bulk.upload(job_id, "Name\nGlobex\n")
    assert closed.status_code == 409 and closed.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    missing = bulk.call("GET", f"{JOBS}/750Hs00000zzzzzAAA")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"


def test_abort_and_delete_a_job(emulator):
    org, *_ = emulator
    bulk = _bulk(emulator)
    job_id = bulk.create(object="Account", operation="insert").json()["id"]
    refused = bulk.call("DELETE", f"{JOBS}/{job_id}")
    assert refused.status_code == 400  # an Open job cannot be deleted
    assert bulk.upload(job_id, "Name\nAcme\n").status_code == 201
    aborted = bulk.close(job_id, "Aborted")
    assert aborted.json()["state"] == "Aborted"
    assert org.query("SELECT Id FROM Account")[0] == 0  # nothing written
    assert [r["Name"] for r in bulk.results(job_id, "unprocessedrecords")] == ["Acme"]
    assert bulk.close(job_id).status_code == 409  # an aborted job stays aborted
    assert bulk.call("DELETE", f"{JOBS}/{job_id}").status_code == 204
    assert bulk.call("GET", f"{JOBS}/{job_id}").status_code == 404


def test_a_held_job_stays_in_progress_until_released(emulator):
    """The test hook (`PUT /_admin/bulk`): a job closed while jobs are held reads InProgress,
    writes nothing and has no results yet; releasing processes it."""
    org, *_ = emulator
    bulk = _bulk(emulator)
    assert bulk.call("PUT", "/_admin/bulk", json={"hold": "yes"}).status_code == 400
    assert bulk.call("PUT", "/_admin/bulk", json={"hold": True}).json() == {
        "hold": True,
        "held": [],
    }
    job_id = bulk.create(object="Account", operation="insert").json()["id"]
    assert bulk.upload(job_id, "Name\nAcme\n").status_code == 201
    assert bulk.close(job_id).json()["state"] == "UploadComplete"
    assert bulk.info(job_id)["state"] == "InProgress"
    assert bulk.call("GET", "/_admin/bulk").json() == {"hold": True, "held": [job_id]}
    early = bulk.call("GET", f"{JOBS}/{job_id}/successfulResults/")
    assert early.status_code == 409 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert org.rows("Account") == []

    released = bulk.call("PUT", "/_admin/bulk", json={"hold": False}).json()
    assert released == {"hold": False, "held": []}
    info = bulk.info(job_id)
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 1)
    assert [row["Name"] for row in org.rows("Account")] == ["Acme"]
