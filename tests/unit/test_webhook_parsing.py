"""One test per fixture in tests/fixtures/webhooks/ (documented samples, research/quickbooks.md §1)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from qbsync.events import ChangeEvent
from qbsync.webhooks.parsing import (
    UnparseablePayload,
    UnsupportedEvent,
    WebhookPayloadError,
    parse,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "webhooks"
REALM = "9341455130166501"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def check_webhook(name: str, *expected: ChangeEvent) -> None:
    """The fixture parses to exactly these events, in this order."""
    assert parse(fixture(name)) == list(expected)


def check_rejected(
    name: str, error: type[WebhookPayloadError], reason: str, *kept: ChangeEvent
) -> None:
    """The fixture is refused with `error` naming `reason`; `kept` are its good events."""
    with pytest.raises(error) as raised:
        parse(fixture(name))
    assert reason in raised.value.reason
    assert raised.value.events == list(kept)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def cloud(
    entity: str, entity_id: str, operation: str, time: str, event_id: str, **extra
) -> ChangeEvent:
    return ChangeEvent(
        realm_id=extra.pop("realm_id", REALM),
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=at(time),
        event_key=f"ce:{event_id}",
        **extra,
    )


# --- legacy -------------------------------------------------------------------------------


def test_legacy_account_create() -> None:
    check_webhook(
        "legacy_account_create",
        ChangeEvent(
            realm_id="310687",
            entity="Account",
            entity_id="1234",
            operation="Create",
            occurred_at=datetime(2025, 9, 8, 20, 52, 31, 657000, tzinfo=UTC),
            event_key="legacy:310687:Account:1234:Create:2025-09-08T20:52:31.657Z",
            source="legacy",
        ),
    )


def test_legacy_customer_create() -> None:
    # "-0700" without a colon: 14:42:19 in UTC-7 is 21:42:19 UTC.
    check_webhook(
        "legacy_customer_create",
        ChangeEvent(
            realm_id="1185883450",
            entity="Customer",
            entity_id="1",
            operation="Create",
            occurred_at=datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC),
            event_key="legacy:1185883450:Customer:1:Create:2015-10-05T14:42:19-0700",
            source="legacy",
        ),
    )


def test_legacy_multi_entity() -> None:
    when = datetime(2015, 10, 5, 14, 42, 19, tzinfo=timezone(timedelta(hours=-7)))
    check_webhook(
        "legacy_multi_entity",
        ChangeEvent(
            "1185883450",
            "Customer",
            "1",
            "Create",
            when,
            "legacy:1185883450:Customer:1:Create:2015-10-05T14:42:19-0700",
            source="legacy",
        ),
        ChangeEvent(
            "1185883450",
            "Vendor",
            "1",
            "Create",
            when,
            "legacy:1185883450:Vendor:1:Create:2015-10-05T14:42:19-0700",
            source="legacy",
        ),
    )


def test_legacy_customer_merge() -> None:
    check_webhook(
        "legacy_customer_merge",
        ChangeEvent(
            "1185883450",
            "Customer",
            "58",
            "Merge",
            at("2025-09-08T20:52:31.657Z"),
            "legacy:1185883450:Customer:58:Merge:2025-09-08T20:52:31.657Z",
            deleted_id="27",
            source="legacy",
        ),
    )


def test_legacy_invoice_void_emailed() -> None:
    check_webhook(
        "legacy_invoice_void_emailed",
        ChangeEvent(
            "1185883450",
            "Invoice",
            "130",
            "Void",
            at("2025-09-08T20:52:31Z"),
            "legacy:1185883450:Invoice:130:Void:2025-09-08T20:52:31Z",
            source="legacy",
        ),
        ChangeEvent(
            "1185883450",
            "Invoice",
            "131",
            "Emailed",
            at("2025-09-08T20:53:00Z"),
            "legacy:1185883450:Invoice:131:Emailed:2025-09-08T20:53:00Z",
            source="legacy",
        ),
    )


# --- CloudEvents --------------------------------------------------------------------------


def test_cloudevents_account_created() -> None:
    # Nine fractional digits: kept to the microsecond.
    check_webhook(
        "cloudevents_account_created",
        ChangeEvent(
            realm_id="310687",
            entity="Account",
            entity_id="1234",
            operation="Create",
            occurred_at=datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC),
            event_key="ce:88cd52aa-33b6-4351-9aa4-47572edbd068",
        ),
    )


def test_cloudevents_customer_created() -> None:
    check_webhook(
        "cloudevents_customer_created",
        cloud(
            "Customer",
            "58",
            "Create",
            "2025-09-10T21:31:25.179851Z",
            "3f1c2a9e-7b4d-4c1e-9a55-0d2e6b7c8f01",
        ),
    )


def test_cloudevents_customer_updated() -> None:
    check_webhook(
        "cloudevents_customer_updated",
        cloud(
            "Customer",
            "58",
            "Update",
            "2025-12-04T15:25:05Z",
            "6a0e5d3b-2f8c-4b7a-8e19-5c4d3b2a1f00",
        ),
    )


def test_cloudevents_customer_deleted() -> None:
    check_webhook(
        "cloudevents_customer_deleted",
        cloud(
            "Customer",
            "58",
            "Delete",
            "2025-12-04T15:26:40Z",
            "b7e2c4d1-9f3a-4e6b-8c2d-1a0f9e8d7c6b",
        ),
    )


def test_cloudevents_customer_merged() -> None:
    # Intuit's documented shape: data.deletedid, an id that is not a UUID.
    check_webhook(
        "cloudevents_customer_merged",
        cloud(
            "Customer",
            "123",
            "Merge",
            "2025-12-04T15:25:05Z",
            "12345678-abcd-4ef0-9876-0123456789ab-Customer-123",
            deleted_id="27",
        ),
    )


def test_cloudevents_customer_merged_camel() -> None:
    check_webhook(
        "cloudevents_customer_merged_camel",
        cloud(
            "Customer",
            "123",
            "Merge",
            "2025-12-04T15:25:05Z",
            "c0ffee00-1234-4abc-8def-556677889900",
            deleted_id="27",
        ),
    )


def test_cloudevents_invoice_void() -> None:
    # 16:00:00.5 at -07:00 is 23:00:00.5 UTC.
    check_webhook(
        "cloudevents_invoice_void",
        cloud(
            "Invoice",
            "130",
            "Void",
            "2025-12-04T23:00:00.500Z",
            "0d9c8b7a-6f5e-4d3c-2b1a-098765432100",
        ),
    )


def test_cloudevents_invoice_emailed() -> None:
    check_webhook(
        "cloudevents_invoice_emailed",
        cloud(
            "Invoice",
            "130",
            "Emailed",
            "2025-12-04T16:05:00Z",
            "1e2d3c4b-5a69-4788-9aab-bccddeeff001",
        ),
    )


def test_cloudevents_salesreceipt_no_data() -> None:
    # No `data`, no `datacontenttype`; `salesreceipt` resolves to the catalog's SalesReceipt.
    check_webhook(
        "cloudevents_salesreceipt_no_data",
        cloud(
            "SalesReceipt",
            "150",
            "Update",
            "2026-03-17T16:19:17Z",
            "abcdef01-2345-4678-9abc-def012345678-SalesReceipt-150",
        ),
    )


def test_cloudevents_multi_realm() -> None:
    other = "4620816365229015820"
    check_webhook(
        "cloudevents_multi_realm",
        cloud(
            "Customer",
            "58",
            "Update",
            "2025-12-04T15:25:05Z",
            "5b6c7d8e-0001-4aaa-8bbb-000000000001",
        ),
        cloud(
            "Item",
            "19",
            "Create",
            "2025-12-04T15:25:06Z",
            "5b6c7d8e-0002-4aaa-8bbb-000000000002",
            realm_id=other,
        ),
        cloud(
            "Vendor",
            "7",
            "Delete",
            "2025-12-04T15:25:07Z",
            "5b6c7d8e-0003-4aaa-8bbb-000000000003",
            realm_id=other,
        ),
    )


def test_cloudevents_employee_created_alternative_ids() -> None:
    # Intuit's own sample, verbatim with its masking (developer.intuit.com/app/developer/qbo/
    # docs/develop/webhooks/data-objects, "Employee created"): `intuitentityid` is the payroll
    # id, the QuickBooks record is named in `data.alternative_ids` (after the last `:`).
    check_webhook(
        "cloudevents_employee_created_alternative_ids",
        cloud(
            "Employee",
            "400000011",
            "Create",
            "2026-02-24T15:28:19.91Z",
            "*-*********-***************-PayrollEmployee-000000011",
            realm_id="9341455*********",
        ),
    )


@pytest.mark.parametrize(
    ("alternatives", "reason"),
    [
        ("{}", "data.alternative_ids is not a JSON array"),
        ('["x"]', "data.alternative_ids item 1 is not an object"),
        ('[{"namespace": "Intuit.a.b"}]', "data.alternative_ids item 1 id is missing or not text"),
        ('[{"id": "abc:"}]', "data.alternative_ids item 1 id 'abc:' names no record"),
    ],
)
def test_malformed_alternative_ids_are_refused(alternatives: str, reason: str) -> None:
    body = (
        '[{"specversion": "1.0", "id": "e1", "source": "intuit.x", "type": '
        '"qbo.employee.updated.v1", "time": "2026-02-24T15:28:19Z", "intuitentityid": '
        f'"000000011", "intuitaccountid": "{REALM}", "data": {{"alternative_ids": {alternatives}}}}}]'
    ).encode()
    with pytest.raises(UnparseablePayload) as raised:
        parse(body)
    assert raised.value.reason == f"event 1 (id e1): {reason}"


def test_empty_alternative_ids_keep_the_entity_id() -> None:
    body = (
        '[{"specversion": "1.0", "id": "e2", "source": "intuit.x", "type": '
        '"qbo.employee.updated.v1", "time": "2026-02-24T15:28:19Z", "intuitentityid": "55", '
        f'"intuitaccountid": "{REALM}", "data": {{"alternative_ids": []}}}}]'
    ).encode()
    assert [event.entity_id for event in parse(body)] == ["55"]


def test_cloudevents_invoice_voided() -> None:
    # Intuit does not document the word; third-party clients send `voided` as well as `void`.
    check_webhook(
        "cloudevents_invoice_voided",
        cloud(
            "Invoice",
            "131",
            "Void",
            "2025-12-04T16:05:00Z",
            "1e2d3c4b-5a69-4788-9766-554433221100",
        ),
    )


def test_legacy_last_updated_in_epoch_milliseconds() -> None:
    # Intuit's 2025 webhooks webinar Q&A (IntuitDeveloper/SampleApp-Webhooks-Java-Cloudevents,
    # webinar-qa/2025-02-05-webhooks-webinar.md): legacy lastUpdated can be epoch milliseconds.
    check_webhook(
        "legacy_customer_update_epoch_millis",
        ChangeEvent(
            "310687",
            "Customer",
            "1234",
            "Update",
            at("2025-09-08T20:52:31.657Z"),
            "legacy:310687:Customer:1234:Update:1757364751657",
            source="legacy",
        ),
    )


@pytest.mark.parametrize("value", ['"1757364751657"', "1757364751657"])
def test_epoch_milliseconds_as_text_or_number(value: str) -> None:
    body = (
        '{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{"id": "2", '
        f'"operation": "Update", "name": "Customer", "lastUpdated": {value}}}]}}}}]}}'
    ).encode()
    assert parse(body)[0].occurred_at == at("2025-09-08T20:52:31.657Z")


def test_epoch_milliseconds_out_of_range_are_refused() -> None:
    body = (
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{"id": "2", '
        b'"operation": "Update", "name": "Customer", "lastUpdated": 99999999999999999999}]}}]}'
    )
    with pytest.raises(UnparseablePayload) as raised:
        parse(body)
    assert "is not a time in epoch milliseconds" in raised.value.reason


def test_cloudevents_single_event_object() -> None:
    check_webhook(
        "cloudevents_single_event_object",
        cloud(
            "Customer",
            "58",
            "Update",
            "2025-12-04T15:25:05Z",
            "7f7f7f7f-1111-4222-8333-444455556666",
        ),
    )


def test_cloudevents_mixed_unknown_entity() -> None:
    check_rejected(
        "cloudevents_mixed_unknown_entity",
        UnsupportedEvent,
        "event 2 (id aa000002-0000-4000-8000-000000000002): unknown entity 'spaceship'",
        cloud(
            "Customer",
            "58",
            "Update",
            "2025-12-04T15:25:05Z",
            "aa000001-0000-4000-8000-000000000001",
        ),
    )


def test_cloudevents_unknown_operation() -> None:
    check_rejected(
        "cloudevents_unknown_operation", UnsupportedEvent, "unknown operation 'archived'"
    )


def test_cloudevents_missing_entity_id() -> None:
    check_rejected("cloudevents_missing_entity_id", UnparseablePayload, "intuitentityid is missing")


# --- bodies that are not notifications ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the body is empty"),
        (b"not json", "the body is not JSON"),
        (b"\xff\xfe\x00garbage", "the body is not JSON"),
        (b'{"hello": "world"}', "neither a legacy eventNotifications object nor a CloudEvents"),
        (b'{"eventNotifications": {}}', "eventNotifications is not a JSON array"),
        (b"[42]", "event 1 is not a JSON object"),
        (b'{"eventNotifications": [{"realmId": "1"}]}', "dataChangeEvent.entities is not"),
    ],
)
def test_unparseable_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(UnparseablePayload) as raised:
        parse(body)
    assert reason in raised.value.reason
    assert raised.value.events == []


def test_bad_timestamp_is_named() -> None:
    body = (
        b'[{"id": "x1", "type": "qbo.customer.updated.v1", "intuitaccountid": "1",'
        b' "intuitentityid": "2", "time": "yesterday"}]'
    )
    with pytest.raises(UnparseablePayload, match="event 1 \\(id x1\\): time 'yesterday'"):
        parse(body)


def test_unknown_type_version_is_unsupported() -> None:
    body = b'[{"id": "x1", "type": "qbo.customer.updated.v2", "intuitaccountid": "1", "intuitentityid": "2"}]'
    with pytest.raises(UnsupportedEvent, match="type version 'v2'"):
        parse(body)


def test_empty_cloudevents_batch_has_no_events() -> None:
    assert parse(b"[]") == []


# --- legacy operations and the limits of ids ------------------------------------------------


def legacy_body(*entities: dict) -> bytes:
    notification = {"realmId": "310687", "dataChangeEvent": {"entities": list(entities)}}
    return json.dumps({"eventNotifications": [notification]}).encode()


def test_legacy_update_and_delete() -> None:
    # A customer edited then deleted in QuickBooks: both reach the ledger as Update and Delete.
    stamp = "2025-09-08T20:52:31Z"
    body = legacy_body(
        {"name": "Customer", "id": "7", "operation": "Update", "lastUpdated": stamp},
        {"name": "Customer", "id": "7", "operation": "Delete", "lastUpdated": stamp},
    )
    assert [(event.operation, event.event_key) for event in parse(body)] == [
        ("Update", f"legacy:310687:Customer:7:Update:{stamp}"),
        ("Delete", f"legacy:310687:Customer:7:Delete:{stamp}"),
    ]


def cloud_body(event_id: str, entity_id: str, **extra: object) -> bytes:
    event = {
        "id": event_id,
        "type": "qbo.customer.updated.v1",
        "intuitaccountid": "1",
        "intuitentityid": entity_id,
        **extra,
    }
    return json.dumps([event]).encode()


def test_ids_at_the_length_limits_are_kept() -> None:
    # The ledger's columns hold 64-character entity ids and 200-character event ids.
    (event,) = parse(cloud_body("e" * 200, "7" * 64))
    assert event.entity_id == "7" * 64
    assert event.event_key == "ce:" + "e" * 200


@pytest.mark.parametrize(
    ("event_id", "entity_id", "reason"),
    [
        ("e" * 201, "7", "id is longer than 200 characters"),
        ("e1", "7" * 65, "intuitentityid is longer than 64 characters"),
    ],
)
def test_ids_past_the_length_limits_are_refused(event_id: str, entity_id: str, reason: str) -> None:
    with pytest.raises(UnparseablePayload, match=reason):
        parse(cloud_body(event_id, entity_id))


@pytest.mark.parametrize("data", [[], "deleted", 42])
def test_data_that_is_not_an_object_is_refused(data: object) -> None:
    # Quarantined with a reason, not a crash of the webhook endpoint.
    with pytest.raises(UnparseablePayload, match="data is not a JSON object"):
        parse(cloud_body("e1", "7", data=data))


# --- the quarantine reason names the place and the problem ----------------------------------


def reason_of(body: bytes) -> str:
    with pytest.raises(WebhookPayloadError) as raised:
        parse(body)
    return raised.value.reason


def cloud_event(**fields: object) -> dict:
    return {
        "id": "x1",
        "type": "qbo.customer.updated.v1",
        "intuitaccountid": "1",
        "intuitentityid": "2",
        **fields,
    }


def legacy_entity(**fields: object) -> dict:
    return {"name": "Customer", "id": "7", "operation": "Update", **fields}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b" \n", "the body is empty"),
        (
            b'{"hello": "world"}',
            "the body is neither a legacy eventNotifications object nor a CloudEvents array",
        ),
        (b'{"eventNotifications": {}}', "eventNotifications is not a JSON array"),
        (
            json.dumps([cloud_event(type=None)]).encode(),
            "event 1 (id x1): type is missing or not text",
        ),
        (
            json.dumps([cloud_event(intuitaccountid=True)]).encode(),
            "event 1 (id x1): intuitaccountid is missing or not text",
        ),
        (
            json.dumps([cloud_event(intuitentityid=" ")]).encode(),
            "event 1 (id x1): intuitentityid is empty",
        ),
        (
            json.dumps([cloud_event(intuitentityid="7\x00")]).encode(),
            "event 1 (id x1): intuitentityid contains control characters",
        ),
        (
            json.dumps([cloud_event(type="com.customer.updated.v1")]).encode(),
            "event 1 (id x1): type 'com.customer.updated.v1' is not qbo.<entity>.<operation>.v1",
        ),
        (
            json.dumps([cloud_event(type="qbo.customer.v1")]).encode(),
            "event 1 (id x1): type 'qbo.customer.v1' is not qbo.<entity>.<operation>.v1",
        ),
        (
            json.dumps([cloud_event(type="x" * 60)]).encode(),
            f"event 1 (id x1): type '{'x' * 60}' is not qbo.<entity>.<operation>.v1",
        ),
        (
            json.dumps([cloud_event(type="qbo.customer.updated.v" + "9" * 30)]).encode(),
            f"event 1 (id x1): type version 'v{'9' * 19}' is not supported",
        ),
        (
            json.dumps([cloud_event(type="qbo.customer.frobbed.v1")]).encode(),
            "event 1 (id x1): unknown operation 'frobbed'",
        ),
        (
            json.dumps([cloud_event(data={"deletedId": "9" * 65})]).encode(),
            "event 1 (id x1): deletedId is longer than 64 characters",
        ),
        (
            legacy_body(legacy_entity(), legacy_entity(name=None)),
            "notification 1 entity 2: name is missing or not text",
        ),
        (
            legacy_body(legacy_entity(id=[])),
            "notification 1 entity 1: id is missing or not text",
        ),
        (
            legacy_body(legacy_entity(operation=7.5)),
            "notification 1 entity 1: operation is missing or not text",
        ),
        (
            legacy_body(legacy_entity(lastUpdated=1757364751.5)),
            "notification 1 entity 1: lastUpdated is not a timestamp",
        ),
        (
            # Seconds, not milliseconds: 1970 would be read; refused instead.
            legacy_body(legacy_entity(lastUpdated=1757364751)),
            "notification 1 entity 1: lastUpdated 1757364751 is not a time in epoch milliseconds",
        ),
        (
            legacy_body(legacy_entity(lastUpdated="y" * 50)),
            f"notification 1 entity 1: lastUpdated '{'y' * 40}' is not a timestamp",
        ),
        (
            legacy_body(legacy_entity(name="Z" * 60)),
            f"notification 1 entity 1: unknown entity '{'Z' * 60}'",
        ),
        (
            legacy_body(legacy_entity(operation="W" * 50)),
            f"notification 1 entity 1: unknown operation '{'W' * 40}'",
        ),
        (
            legacy_body(legacy_entity(deletedId="9" * 65)),
            "notification 1 entity 1: deletedId is longer than 64 characters",
        ),
        (legacy_body(42), "notification 1 entity 1 is not a JSON object"),
        (
            json.dumps({"eventNotifications": [{"realmId": None}]}).encode(),
            "notification 1: realmId is missing or not text",
        ),
    ],
)
def test_the_reason_names_the_place_and_the_problem(body: bytes, reason: str) -> None:
    # The reason is what an operator reads on the quarantined body: it must point at the field.
    assert reason_of(body) == reason


def test_a_bad_notification_does_not_hide_the_next_ones() -> None:
    good = {"realmId": "310687", "dataChangeEvent": {"entities": [legacy_entity()]}}
    body = json.dumps({"eventNotifications": [42, good, good]}).encode()
    with pytest.raises(UnparseablePayload) as raised:
        parse(body)
    assert raised.value.reason == "notification 1 is not a JSON object"
    assert [event.entity_id for event in raised.value.events] == ["7", "7"]


def test_a_malformed_event_keeps_the_good_ones_of_the_body() -> None:
    body = json.dumps([cloud_event(), 42, cloud_event(id="x3", type="qbo.widget.created.v1")])
    with pytest.raises(UnparseablePayload) as raised:
        parse(body.encode())
    assert raised.value.reason == (
        "event 2 is not a JSON object; event 3 (id x3): unknown entity 'widget'"
    )
    assert [event.event_key for event in raised.value.events] == ["ce:x1"]


@pytest.mark.parametrize("count", [10, 11, 13])
def test_the_reason_lists_ten_problems_and_counts_the_rest(count: int) -> None:
    reason = reason_of(json.dumps(list(range(count))).encode())
    listed = "; ".join(f"event {n} is not a JSON object" for n in range(1, 11))
    assert reason == (listed if count == 10 else f"{listed}; and {count - 10} more")


def test_legacy_entity_without_a_time() -> None:
    # No lastUpdated (or an empty one): no time, and the dedupe key ends with an empty field.
    for entity in (legacy_entity(), legacy_entity(lastUpdated="")):
        (event,) = parse(legacy_body(entity))
        assert event.occurred_at is None
        assert event.event_key == "legacy:310687:Customer:7:Update:"


def test_a_time_without_offset_is_utc() -> None:
    (event,) = parse(legacy_body(legacy_entity(lastUpdated="2025-09-08T20:52:31")))
    assert event.occurred_at == datetime(2025, 9, 8, 20, 52, 31, tzinfo=UTC)


def test_an_empty_deleted_id_is_no_merge() -> None:
    (event,) = parse(legacy_body(legacy_entity(deletedId="")))
    assert event.deleted_id is None


def test_times_are_utc_whatever_the_servers_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ledger orders and shows change times in UTC, also on a host set to another zone.
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        (event,) = parse(legacy_body(legacy_entity(lastUpdated="2025-09-08T13:52:31-0700")))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert event.occurred_at.isoformat() == "2025-09-08T20:52:31+00:00"


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{"id": "2", '
        b'"operation": "Update", "name": "Currency", "lastUpdated": "2025-09-08T20:52:31Z"}]}}]}',
        b'[{"specversion": "1.0", "id": "e3", "source": "intuit.x", "type": '
        b'"qbo.companycurrency.updated.v1", "time": "2025-09-08T20:52:31Z", '
        b'"intuitentityid": "2", "intuitaccountid": "1"}]',
    ],
)
def test_currency_events_name_the_v3_entity_company_currency(body: bytes) -> None:
    # Intuit's webhooks page lists Currency; the Accounting API entity is CompanyCurrency.
    assert [event.entity for event in parse(body)] == ["CompanyCurrency"]


# --- the edges of legacy epoch times and of Intuit's alternative ids ----------------------------


@pytest.mark.parametrize("value", ["946684800000", 946684800000])
def test_epoch_milliseconds_from_the_first_instant_of_2000_are_kept(value: object) -> None:
    # QuickBooks Online is younger than 2000: its first instant is the earliest time taken.
    (event,) = parse(legacy_body(legacy_entity(lastUpdated=value)))
    assert event.occurred_at == at("2000-01-01T00:00:00Z")


@pytest.mark.parametrize("value", ["946684799999", 946684799999])
def test_epoch_milliseconds_before_2000_name_the_field(value: object) -> None:
    assert reason_of(legacy_body(legacy_entity(lastUpdated=value))) == (
        "notification 1 entity 1: lastUpdated 946684799999 is not a time in epoch milliseconds"
    )


def employee_body(*alternatives: dict) -> bytes:
    event = cloud_event(
        type="qbo.employee.updated.v1",
        intuitentityid="000000011",
        data={"alternative_ids": list(alternatives)},
    )
    return json.dumps([event]).encode()


def test_the_accounting_id_is_after_the_last_colon_of_an_alternative_id() -> None:
    (event,) = parse(employee_body({"id": "Intuit:payroll:400000011", "namespace": "Intuit.a"}))
    assert event.entity_id == "400000011"


def test_an_alternative_id_of_200_characters_is_read_and_of_201_refused() -> None:
    (event,) = parse(employee_body({"id": "x" * 190 + ":400000011"}))
    assert event.entity_id == "400000011"
    assert reason_of(employee_body({"id": "x" * 191 + ":400000011"})) == (
        "event 1 (id x1): data.alternative_ids item 1 id is longer than 200 characters"
    )


def test_an_alternative_id_naming_no_record_is_quoted_up_to_80_characters() -> None:
    raw = "x" * 80 + "y" * 119 + ":"
    assert reason_of(employee_body({"id": raw})) == (
        f"event 1 (id x1): data.alternative_ids item 1 id {'x' * 80!r} names no record"
    )


def test_an_accounting_id_too_long_for_the_ledger_names_the_alternative_id() -> None:
    assert reason_of(employee_body({"id": "Intuit:" + "4" * 65})) == (
        "event 1 (id x1): data.alternative_ids item 1 id is longer than 64 characters"
    )
