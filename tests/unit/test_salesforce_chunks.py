"""qbsync.salesforce.chunks: Salesforce calls over many records, 200 at a time.

The real SalesforceClient sends sObject Collections upserts to an org kept by `Org` at the
transport (responses: unmatched requests fail). The tests assert on what the org holds and on
each record's pairing with its result or its chunk's typed error.
"""

from __future__ import annotations

import json
import threading

import pytest
import responses

from qbsync import metrics
from qbsync.config import Settings
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.chunks import COLLECTION_LIMIT, UPSERTS_IN_FLIGHT, call_in_chunks
from qbsync.salesforce.client import RecordResult, SalesforceClient
from qbsync.salesforce.errors import SalesforceError, SalesforceTransient

INSTANCE = "https://example.my.salesforce.com"
UPSERT = f"{INSTANCE}/services/data/v66.0/composite/sobjects/Account/QB_External_Id__c"


class Org:
    """Accounts by external id. A request holding a key of `refuse` fails as a whole with that
    key's HTTP status, the way a call fails (5xx: a server error; 400: a malformed request)."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.accounts: dict[str, dict] = {}
        self.refuse: dict[str, int] = {}
        self.calls = 0
        rsps.add_callback(responses.PATCH, UPSERT, callback=self._upsert)

    def _upsert(self, request) -> tuple[int, dict, str]:
        self.calls += 1
        records = json.loads(request.body)["records"]
        assert len(records) <= COLLECTION_LIMIT  # what Salesforce allows in one call
        for record in records:
            status = self.refuse.get(record["QB_External_Id__c"])
            if status is not None:
                error = {"errorCode": "SERVER_ERROR" if status >= 500 else "INVALID_TYPE"}
                return status, {}, json.dumps([{**error, "message": "refused"}])
        results = []
        for n, record in enumerate(records):
            key = record["QB_External_Id__c"]
            created = key not in self.accounts
            self.accounts[key] = {k: v for k, v in record.items() if k != "attributes"}
            results.append(
                {"id": f"001{n:015d}", "success": True, "errors": [], "created": created}
            )
        return 200, {}, json.dumps(results)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def org(rsps) -> Org:
    return Org(rsps)


@pytest.fixture
def client() -> SalesforceClient:
    settings = Settings(salesforce_login_url="https://login.example.com")
    return SalesforceClient(
        settings, login_with=lambda s, session: SalesforceLogin(INSTANCE, "sf-session")
    )


def accounts(count: int) -> list[dict]:
    return [
        {"QB_External_Id__c": f"9130-Customer-{n}", "Name": f"Customer {n}"} for n in range(count)
    ]


def upsert(client: SalesforceClient, records: list[dict], in_flight: int = 1):
    return call_in_chunks(
        records,
        lambda chunk: client.upsert_collection("Account", "QB_External_Id__c", chunk),
        in_flight=in_flight,
    )


@pytest.mark.parametrize(("count", "calls"), [(0, 0), (199, 1), (200, 1), (201, 2), (401, 3)])
def test_every_record_reaches_salesforce_in_calls_of_at_most_200(client, org, count, calls):
    records = accounts(count)

    paired = upsert(client, records)

    assert org.calls == calls
    assert [record for record, _ in paired] == records  # each record once, in order
    assert all(isinstance(result, RecordResult) and result.success for _, result in paired)
    assert org.accounts == {r["QB_External_Id__c"]: r for r in records}


@pytest.mark.parametrize("in_flight", [1, UPSERTS_IN_FLIGHT])
@pytest.mark.parametrize(
    ("status", "error_class"), [(503, SalesforceTransient), (400, SalesforceError)]
)
def test_a_failed_chunk_in_the_middle_costs_only_its_own_records(
    client, org, status, error_class, in_flight
):
    records = accounts(450)
    org.refuse[records[300]["QB_External_Id__c"]] = status  # in the second chunk, 200..399

    paired = upsert(client, records, in_flight)

    assert org.calls == 3
    assert [record for record, _ in paired] == records
    refused = [result for _, result in paired[200:400]]
    assert all(type(error) is error_class and error.status == status for error in refused)
    assert len({id(error) for error in refused}) == 1  # the one error of the one call
    written = paired[:200] + paired[400:]
    assert all(isinstance(result, RecordResult) and result.success for _, result in written)
    assert set(org.accounts) == {r["QB_External_Id__c"] for r in records[:200] + records[400:]}


def test_errors_other_than_salesforce_ones_are_not_swallowed():
    def broken(chunk: list[int]) -> list[int]:
        raise KeyError("a bug, not a Salesforce failure")

    with pytest.raises(KeyError):
        call_in_chunks([1, 2, 3], broken)


def test_a_call_must_answer_every_item_of_its_chunk():
    with pytest.raises(ValueError):
        call_in_chunks([1, 2, 3], lambda chunk: chunk[:-1])


def test_chunks_in_flight_are_called_together_and_answered_in_order():
    # Each call waits until three are in flight: called one after another, the first would
    # wait alone until the barrier's timeout and break it.
    together = threading.Barrier(3, timeout=10)

    def call(chunk: list[int]) -> list[int]:
        together.wait()
        return [n * 10 for n in chunk]

    paired = call_in_chunks(list(range(6)), call, size=2, in_flight=3)

    assert paired == [(n, n * 10) for n in range(6)]


def test_calls_in_flight_are_metered_as_the_work_that_made_them():
    # A historical sync's upserts go out three at a time from a pool's threads: they still count
    # as the backfill's calls, not as real time's (what the operator reads the job's cost from).
    seen: list[str] = []

    def call(chunk: list[int]) -> list[int]:
        seen.append(metrics.current_work())
        return chunk

    with metrics.counted_as(metrics.BACKFILL):
        call_in_chunks(list(range(6)), call, size=2, in_flight=3)

    assert seen == [metrics.BACKFILL] * 3


def test_in_flight_is_at_least_one():
    with pytest.raises(ValueError, match="in_flight must be at least 1"):
        call_in_chunks([1], lambda chunk: chunk, in_flight=0)


def test_chunk_size_is_at_least_one():
    with pytest.raises(ValueError, match="size must be at least 1"):
        call_in_chunks([1], lambda chunk: chunk, size=0)


def test_a_smaller_chunk_size_is_honoured():
    sizes: list[int] = []

    def call(chunk: list[int]) -> list[int]:
        sizes.append(len(chunk))
        return [n * 10 for n in chunk]

    assert call_in_chunks([1, 2, 3, 4, 5], call, size=2) == [
        (1, 10),
        (2, 20),
        (3, 30),
        (4, 40),
        (5, 50),
    ]
    assert sizes == [2, 2, 1]
