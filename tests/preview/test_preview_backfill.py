"""QBBackfillController in the preview: starting, cancelling and resolving go to the middleware's
/api (a stand-in served over real HTTP, answering as docs/operating.md says), the jobs and the
open match reviews are read from the Salesforce emulator as the admin; the match rules are saved
with the object mapping and refused for a target they do not fit (QBMatchRules)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from flask import Flask, jsonify, request

from qbsync_preview.app import create_preview_app, serve_in_thread

from .conftest import CLIENT_ID, CLIENT_SECRET, COMPANY, PreviewStack

API_KEY = "preview-test-api-key"
REALM = COMPANY["Realm_Id__c"]


@dataclass
class FakeMiddleware:
    url: str = ""
    calls: list[tuple[str, str, dict | None]] = field(default_factory=list)


@pytest.fixture(scope="module")
def middleware() -> Iterator[FakeMiddleware]:
    fake = FakeMiddleware()
    app = Flask(__name__)

    @app.before_request
    def record():
        fake.calls.append((request.method, request.path, request.get_json(silent=True)))
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return jsonify({"error": "invalid API key", "status": 401}), 401
        return None

    @app.post("/api/backfills")
    def start():
        objects = request.get_json()["objects"]
        if "Bill" in objects:
            return jsonify({"error": "Bill is not mapped for this company", "status": 400}), 400
        jobs = [{"id": f"job-{o}", "qbObject": o, "state": "Queued"} for o in objects]
        return jsonify({"jobs": jobs}), 202

    @app.post("/api/backfills/<key>/cancel")
    def cancel(key: str):
        if key == "job-done":
            return jsonify({"error": "the job has finished", "status": 409}), 409
        return jsonify({"id": key, "state": "Cancelled"})

    @app.post("/api/match-reviews/<review_id>")
    def resolve(review_id: str):
        body = request.get_json()
        status = {"link": "Linked", "create": "Created", "skip": "Skipped"}[body["action"]]
        return jsonify({"status": status, "recordId": body.get("recordId")})

    server, fake.url = serve_in_thread(app)
    yield fake
    server.shutdown()


@pytest.fixture(scope="module")
def preview_url(preview_stack: PreviewStack, middleware: FakeMiddleware) -> Iterator[str]:
    app = create_preview_app(
        preview_stack.salesforce_url,
        preview_stack.ca_path,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        middleware_url=middleware.url,
        middleware_api_key=API_KEY,
    )
    server, url = serve_in_thread(app)
    yield url
    server.shutdown()


def _call(url: str, method: str, params: dict | None = None) -> requests.Response:
    return requests.post(f"{url}/apex/QBBackfillController/{method}", json=params or {}, timeout=10)


def test_start_backfill_sends_the_objects_and_the_date(preview_url, middleware, company_id):
    started = _call(
        preview_url,
        "startBackfill",
        {"realmId": REALM, "qbObjects": ["Customer", "Invoice"], "since": "2026-01-01"},
    )
    assert started.status_code == 200, started.text
    assert [job["id"] for job in started.json()] == ["job-Customer", "job-Invoice"]
    assert middleware.calls[-1] == (
        "POST",
        "/api/backfills",
        {"realmId": REALM, "objects": ["Customer", "Invoice"], "since": "2026-01-01"},
    )
    without_date = _call(preview_url, "startBackfill", {"realmId": REALM, "qbObjects": ["Item"]})
    assert without_date.status_code == 200
    assert middleware.calls[-1][2] == {"realmId": REALM, "objects": ["Item"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"realmId": REALM, "qbObjects": []}, "Choose at least one QuickBooks object to sync."),
        (
            {"realmId": REALM, "qbObjects": ["Customer"], "since": "1 Jan"},
            'Not a date: "1 Jan". Use YYYY-MM-DD.',
        ),
        ({"realmId": "../x", "qbObjects": ["Customer"]}, 'Not a QuickBooks realm id: "../x".'),
        (
            {"realmId": REALM, "qbObjects": ["Bill"]},
            "The sync middleware answered HTTP 400: Bill is not mapped for this company",
        ),
    ],
)
def test_start_backfill_refusals(preview_url, company_id, params, message):
    refused = _call(preview_url, "startBackfill", params)
    assert refused.status_code == 400
    assert refused.json()["message"] == message


def test_cancel_backfill(preview_url, middleware, company_id):
    cancelled = _call(preview_url, "cancelBackfill", {"jobKey": "job-Customer"})
    assert cancelled.json() == {"id": "job-Customer", "qbObject": None, "state": "Cancelled"}
    assert middleware.calls[-1][:2] == ("POST", "/api/backfills/job-Customer/cancel")
    finished = _call(preview_url, "cancelBackfill", {"jobKey": "job-done"})
    assert (
        finished.json()["message"] == "The sync middleware answered HTTP 409: the job has finished"
    )
    bad = _call(preview_url, "cancelBackfill", {"jobKey": "a/b"})
    assert bad.json()["message"] == 'Not a sync job key: "a/b".'


def _job(preview_stack: PreviewStack, company_id: str, **values) -> str:
    record = {
        "Company__c": company_id,
        "Job_Key__c": "job-1",
        "QB_Object__c": "Customer",
        "Salesforce_Object__c": "Account",
        "State__c": "Running",
        "Total__c": 200,
        "Processed__c": 50,
    } | values
    return preview_stack.seed("QB_Sync_Job__c", record)[0]


def test_list_jobs_reads_the_company_jobs(preview_stack, preview_url, company_id):
    _job(preview_stack, company_id)
    other = preview_stack.seed("QB_Company__c", {"Name": "Other", "Realm_Id__c": "42"})[0]
    _job(preview_stack, other, Job_Key__c="job-2")
    jobs = _call(preview_url, "listJobs", {"realmId": REALM}).json()
    assert [(j["Job_Key__c"], j["State__c"], j["Processed__c"]) for j in jobs] == [
        ("job-1", "Running", 50.0)
    ]
    assert "Message__c" not in jobs[0]  # null fields are left out, as Apex serialises records


def test_list_match_reviews_names_the_candidates(preview_stack, preview_url, company_id):
    job_id = _job(preview_stack, company_id)
    twins = preview_stack.seed("Account", [{"Name": "Acme Corp"}, {"Name": "Acme Corp."}])
    review = {
        "Sync_Job__c": job_id,
        "Company__c": company_id,
        "QB_Object__c": "Customer",
        "QB_Record_Id__c": "58",
        "QB_Record_Name__c": "Acme Corp",
        "Salesforce_Object__c": "Account",
        "Matched_By__c": "Name",
        "Candidate_Ids__c": ",".join([*twins, "not-an-id"]),
    }
    review_id = preview_stack.seed(
        "QB_Match_Review__c", [review, review | {"Status__c": "Skipped"}]
    )[0]
    reviews = _call(preview_url, "listMatchReviews", {"realmId": REALM}).json()
    assert len(reviews) == 1
    assert reviews[0]["id"] == review_id
    assert reviews[0]["qbRecordName"] == "Acme Corp"
    assert reviews[0]["candidates"] == [
        {"id": twins[0], "name": "Acme Corp"},
        {"id": twins[1], "name": "Acme Corp."},
    ]


def test_resolve_match_review(preview_url, middleware, company_id):
    review_id, account_id = "a05000000000001AAA", "001000000000001AAA"
    linked = _call(
        preview_url,
        "resolveMatchReview",
        {"reviewId": review_id, "action": "link", "recordId": account_id},
    )
    assert linked.json() == {"status": "Linked", "recordId": account_id}
    assert middleware.calls[-1] == (
        "POST",
        f"/api/match-reviews/{review_id}",
        {"action": "link", "recordId": account_id},
    )
    skipped = _call(preview_url, "resolveMatchReview", {"reviewId": review_id, "action": "skip"})
    assert skipped.json() == {"status": "Skipped", "recordId": None}
    assert middleware.calls[-1][2] == {"action": "skip"}
    for params, message in (
        ({"reviewId": review_id, "action": "link"}, "Choose the Salesforce record to link."),
        (
            {"reviewId": review_id, "action": "merge"},
            'Not a way to resolve a match: "merge". Use link, create or skip.',
        ),
    ):
        assert _call(preview_url, "resolveMatchReview", params).json()["message"] == message


def test_match_rules_are_saved_with_the_mapping_and_must_fit_the_target(preview_stack, company_id):
    created = preview_stack.apex(
        "saveObjectMapping",
        {
            "mapping": {
                "Company__c": company_id,
                "QB_Object__c": "Customer",
                "Salesforce_Object__c": "Account",
                "External_Id_Field__c": "QB_External_Id__c",
            }
        },
    ).json()
    saved = preview_stack.apex(
        "saveObjectMapping", {"mapping": {"Id": created["Id"], "Match_Rules__c": "Phone;Name"}}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["Match_Rules__c"] == "Name;Phone"
    listed = preview_stack.apex("getObjectMappings", {"companyId": company_id}).json()
    assert listed[0]["Match_Rules__c"] == "Name;Phone"
    refused = preview_stack.apex(
        "saveObjectMapping", {"mapping": {"Id": created["Id"], "Match_Rules__c": "SKU"}}
    )
    assert refused.json()["message"] == (
        "SKU is not a match rule for Account: choose from Name, EmailDomain, Phone."
    )
