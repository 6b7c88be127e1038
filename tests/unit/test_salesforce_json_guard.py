"""A body requests cannot serialise fails its own sObject Collections call as a SalesforceError,
so `call_in_chunks` pairs it with that chunk's records and the other chunks go on (issue 15,
item 1). HTTP is mocked at the transport with `responses`; results in the documented shape
(research salesforce.md §1.3)."""

from __future__ import annotations

import json

import responses

from qbsync.config import Settings
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.client import RecordResult, SalesforceClient
from qbsync.salesforce.errors import SalesforceError

INSTANCE = "https://example.my.salesforce.com"
UPSERT = f"{INSTANCE}/services/data/v66.0/composite/sobjects/Account/QB_External_Id__c"


@responses.activate
def test_a_chunk_whose_body_is_not_json_fails_alone():
    def accept(request):
        records = json.loads(request.body)["records"]
        return 200, {}, json.dumps([{"id": "001", "success": True, "errors": []}] * len(records))

    responses.add_callback(responses.PATCH, UPSERT, callback=accept)
    client = SalesforceClient(
        Settings(salesforce_login_url="https://login.example.com"),
        login_with=lambda settings, session: SalesforceLogin(INSTANCE, "session"),
    )
    records = [{"QB_External_Id__c": "a", "Amount__c": float("nan")}, {"QB_External_Id__c": "b"}]

    paired = call_in_chunks(
        records,
        lambda chunk: client.upsert_collection("Account", "QB_External_Id__c", chunk),
        size=1,
    )

    (first, error), (second, result) = paired
    assert isinstance(error, SalesforceError)
    assert str(error).startswith("the request body is not valid JSON: ")
    assert isinstance(result, RecordResult) and result.success
    assert len(responses.calls) == 1  # the bad body never left the machine
