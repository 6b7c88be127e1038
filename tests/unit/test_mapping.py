"""qbsync.mapping: QuickBooks JSON → Salesforce upsert body (pure functions)."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime

import pytest

from qbsync.events import Version
from qbsync.mapping import (
    FieldMapping,
    MappingError,
    ObjectMapping,
    ParentTarget,
    SObjectDescribe,
    build_record,
    parse_qb_time,
    record_version,
)
from tests.support.builders import quickbooks_sample

REALM = "9130350000000000"

# research/quickbooks.md §6: Intuit's Customer sample (PipedreamHQ/pipedream fixture).
CUSTOMER = quickbooks_sample("customer")


def sf_field(name, type_="string", length=0, **extra):
    """One entry of a describe's `fields` array (the keys the REST describe returns)."""
    return {
        "name": name,
        "type": type_,
        "length": length,
        "scale": extra.pop("scale", 0),
        "relationshipName": extra.pop("relationshipName", None),
        "referenceTo": extra.pop("referenceTo", []),
        "createable": extra.pop("createable", True),
        "updateable": extra.pop("updateable", True),
        **extra,
    }


ACCOUNT_DESCRIBE = {
    "name": "Account",
    "fields": [
        sf_field("Id", "id", 18, createable=False, updateable=False),
        sf_field("Name", "string", 255),
        sf_field("BillingCity", "string", 40),
        sf_field("BillingPostalCode", "string", 20),
        sf_field("Phone", "phone", 40),
        sf_field("Description", "textarea", 32000),
        sf_field("AnnualRevenue", "currency", 18, scale=2),
        sf_field("NumberOfEmployees", "int", 0),
        sf_field("QB_Active__c", "boolean", 0),
        sf_field("QB_External_Id__c", "string", 255),
        sf_field("QB_Created__c", "datetime", 0),
        sf_field("QB_Since__c", "date", 0),
        sf_field("Website", "url", 255),
        sf_field("ParentId", "reference", 18, relationshipName="Parent", referenceTo=["Account"]),
        sf_field("LastModifiedDate", "datetime", 0, createable=False, updateable=False),
        sf_field("QB_Discount_Rate__c", "double", 18, scale=4),
        sf_field("QB_Email__c", "email", 80),
        sf_field("Rating", "picklist", 40),
        sf_field("QB_Terms__c", "combobox", 40),
        sf_field("QB_First_Id__c", "string", 40, createable=True, updateable=False),
        sf_field("QB_Last_Seen__c", "string", 40, createable=False, updateable=True),
        sf_field("QB_Customer__c", "string", 255),
        sf_field(
            "QB_Owner__c",
            "reference",
            18,
            relationshipName="QB_Owner__r",
            referenceTo=["Contact", "Lead"],
        ),
        sf_field("QB_Parent__c", "reference", 18, referenceTo=["Account"]),
        sf_field("QB_Logo__c", "base64", 0),
    ],
}
DESCRIBE = SObjectDescribe.from_json(ACCOUNT_DESCRIBE)
PARENTS = {"Customer": ParentTarget("Account", "QB_External_Id__c")}


def mapping(*field_mappings, qb_object="Customer"):
    return ObjectMapping(
        qb_object=qb_object,
        salesforce_object="Account",
        external_id_field="QB_External_Id__c",
        realtime_enabled=True,
        delete_behavior="Deactivate",
        field_mappings=tuple(field_mappings),
    )


def fm(qb_field, sf, **kwargs):
    return FieldMapping(qb_field=qb_field, salesforce_field=sf, **kwargs)


def test_dotted_paths_types_and_external_id():
    record = build_record(
        CUSTOMER,
        mapping(
            fm("DisplayName", "Name"),
            fm("BillAddr.City", "BillingCity"),
            fm("Balance", "AnnualRevenue", qb_type="decimal"),
            fm("Active", "QB_Active__c", qb_type="boolean"),
            fm("MetaData.CreateTime", "QB_Created__c", qb_type="datetime"),
            fm("MetaData.CreateTime", "QB_Since__c", qb_type="datetime"),
        ),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.external_id == f"{REALM}-Customer-1"
    assert record.fields == {
        "QB_External_Id__c": f"{REALM}-Customer-1",
        "Name": "Amy's Bird Sanctuary",
        "BillingCity": "Bayshore",
        "AnnualRevenue": 274,
        "QB_Active__c": True,
        # 16:48:43 at -07:00 is 23:48:43 UTC; the date keeps QuickBooks' own calendar day.
        "QB_Created__c": "2014-09-11T23:48:43.000Z",
        "QB_Since__c": "2014-09-11",
    }
    assert record.warnings == []


def test_missing_path_clears_the_field_or_takes_the_default():
    # QuickBooks leaves out properties without a value: an absent path was cleared there.
    record = build_record(
        CUSTOMER,
        mapping(
            fm("BillAddr.Country", "BillingPostalCode"),
            fm("WebAddr.URI", "Website", default_value="https://example.com"),
            fm("Notes", "Description"),
            fm("Taxable", "QB_Active__c"),
        ),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.fields["BillingPostalCode"] is None
    assert record.fields["Website"] == "https://example.com"
    assert record.fields["Description"] == "Note added via Update operation."
    assert record.fields["QB_Active__c"] is True
    without = {key: value for key, value in CUSTOMER.items() if key not in ("Taxable", "Level")}
    cleared = build_record(
        without,
        mapping(fm("Taxable", "QB_Active__c"), fm("Level", "NumberOfEmployees")),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    # A checkbox cannot hold null in Salesforce: cleared means false.
    assert cleared.fields["QB_Active__c"] is False
    assert cleared.fields["NumberOfEmployees"] is None


@pytest.mark.parametrize(
    ("transform", "qb_field", "expected"),
    [
        ("Digits Only", "PrimaryPhone.FreeFormNumber", "6505553311"),
        ("Uppercase", "BillAddr.City", "BAYSHORE"),
        ("Lowercase", "BillAddr.City", "bayshore"),
        ("Trim", "GivenName", "Amy"),
    ],
)
def test_transforms(transform, qb_field, expected):
    qb = copy.deepcopy(CUSTOMER)
    qb["GivenName"] = "  Amy \t"
    record = build_record(
        qb, mapping(fm(qb_field, "Phone", transform=transform)), DESCRIBE, REALM, PARENTS
    )
    assert record.fields["Phone"] == expected


def test_default_value_text_is_converted_to_the_field_type():
    qb = {"Id": "7"}
    record = build_record(
        qb,
        mapping(
            fm("Active", "QB_Active__c", default_value="false"),
            fm("Balance", "AnnualRevenue", default_value="12.345"),
            fm("Job", "NumberOfEmployees", default_value="40"),
        ),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    # currency has scale 2 in the describe: 12.345 is rounded half up, as Salesforce does
    assert record.fields["QB_Active__c"] is False
    assert record.fields["AnnualRevenue"] == 12.35
    assert record.fields["NumberOfEmployees"] == 40


def test_truncation_to_field_length_is_listed_as_a_warning():
    qb = copy.deepcopy(CUSTOMER)
    qb["BillAddr"]["City"] = "X" * 55
    record = build_record(qb, mapping(fm("BillAddr.City", "BillingCity")), DESCRIBE, REALM, PARENTS)
    assert record.fields["BillingCity"] == "X" * 40
    assert record.warnings == ["BillAddr.City → BillingCity: 55 characters cut to 40"]


def test_reference_becomes_a_lookup_through_the_parents_external_id():
    qb = copy.deepcopy(CUSTOMER)
    qb["ParentRef"] = {"value": "58", "name": "Parent Co"}
    for path in ("ParentRef", "ParentRef.value"):
        record = build_record(
            qb,
            mapping(fm(path, "ParentId", qb_type="reference", reference_to="Customer")),
            DESCRIBE,
            REALM,
            PARENTS,
        )
        assert record.fields["Parent"] == {"QB_External_Id__c": f"{REALM}-Customer-58"}
        assert "ParentId" not in record.fields


def test_reference_without_value_clears_the_lookup():
    record = build_record(
        CUSTOMER,
        mapping(fm("ParentRef", "ParentId", qb_type="reference", reference_to="Customer")),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert "Parent" not in record.fields
    assert record.fields["ParentId"] is None


def test_reference_to_an_unmapped_parent_is_a_mapping_error():
    qb = dict(CUSTOMER, ParentRef={"value": "58"})
    with pytest.raises(MappingError, match="Customer, which has no object mapping"):
        build_record(
            qb,
            mapping(fm("ParentRef", "ParentId", qb_type="reference", reference_to="Customer")),
            DESCRIBE,
            REALM,
            {},
        )


def test_reference_to_a_parent_mapped_to_another_object_is_a_mapping_error():
    qb = dict(CUSTOMER, ParentRef={"value": "58"})
    with pytest.raises(MappingError, match="looks up Account, but QuickBooks Customer"):
        build_record(
            qb,
            mapping(fm("ParentRef", "ParentId", qb_type="reference", reference_to="Customer")),
            DESCRIBE,
            REALM,
            {"Customer": ParentTarget("Contact", "QB_External_Id__c")},
        )


def test_reference_onto_a_text_field_carries_the_parent_key():
    qb = dict(CUSTOMER, DefaultTaxCodeRef={"value": "2"})
    record = build_record(
        qb,
        mapping(fm("DefaultTaxCodeRef", "Description", reference_to="TaxCode")),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.fields["Description"] == f"{REALM}-TaxCode-2"


@pytest.mark.parametrize(
    ("field_mapping", "message"),
    [
        (fm("DisplayName", "Nope__c"), "INVALID_FIELD: Nope__c does not exist on Account"),
        (fm("DisplayName", "LastModifiedDate"), "read-only"),
        (fm("DisplayName", "AnnualRevenue"), "cannot be written to Account.AnnualRevenue"),
        (fm("BillAddr", "BillingCity"), "a QuickBooks object or list is not a single value"),
        (fm("Balance", "NumberOfEmployees"), None),  # 274.0 is a whole number: fine
        (fm("DisplayName", "Id"), "read-only"),
    ],
)
def test_configuration_that_cannot_apply_raises_mapping_error(field_mapping, message):
    if message is None:
        record = build_record(CUSTOMER, mapping(field_mapping), DESCRIBE, REALM, PARENTS)
        assert record.fields["NumberOfEmployees"] == 274
        return
    with pytest.raises(MappingError, match=message):
        build_record(CUSTOMER, mapping(field_mapping), DESCRIBE, REALM, PARENTS)


def test_unknown_external_id_field_is_a_mapping_error():
    bad = ObjectMapping("Customer", "Account", "Ext__c", True, "Ignore", ())
    with pytest.raises(MappingError, match="External_Id_Field__c Ext__c does not exist"):
        build_record(CUSTOMER, bad, DESCRIBE, REALM, PARENTS)


def test_describe_lookup_is_case_insensitive_and_body_uses_the_api_name():
    record = build_record(CUSTOMER, mapping(fm("DisplayName", "name")), DESCRIBE, REALM, PARENTS)
    assert record.fields["Name"] == "Amy's Bird Sanctuary"


def test_parse_qb_time_is_utc():
    parsed = parse_qb_time("2015-07-01T10:14:15-07:00")
    assert parsed.isoformat() == "2015-07-01T17:14:15+00:00"
    assert parse_qb_time(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((text, True) for text in ("true", "TRUE", " 1 ", "yes", "Y", "t")),
        *((text, False) for text in ("false", "0", "no", "n", "F", "")),
    ],
)
def test_booleans_from_text(text, expected):
    record = build_record(
        {"Id": "7", "Flag": text}, mapping(fm("Flag", "QB_Active__c")), DESCRIBE, REALM, PARENTS
    )
    assert record.fields["QB_Active__c"] is expected


def test_text_that_is_not_a_boolean_is_a_mapping_error():
    with pytest.raises(MappingError, match="cannot be written to Account.QB_Active__c"):
        build_record(
            {"Id": "7", "Flag": "maybe"},
            mapping(fm("Flag", "QB_Active__c")),
            DESCRIBE,
            REALM,
            PARENTS,
        )


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN", "inf"])
def test_non_finite_numbers_never_reach_salesforce(text):
    with pytest.raises(MappingError, match="not a finite number"):
        build_record(
            {"Id": "7", "Amount": text},
            mapping(fm("Amount", "QB_Discount_Rate__c")),
            DESCRIBE,
            REALM,
            PARENTS,
        )


def test_numbers_with_thousands_separators():
    record = build_record(
        {"Id": "7", "Balance": "1,234,567.891", "Staff": "1,200"},
        mapping(fm("Balance", "AnnualRevenue"), fm("Staff", "NumberOfEmployees")),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.fields["AnnualRevenue"] == 1234567.89
    assert record.fields["NumberOfEmployees"] == 1200


def test_double_email_picklist_and_combobox_fields():
    # double is Salesforce's most common number type; the other three take text as it is.
    qb = {
        "Id": "7",
        "Rate": "0.12345",
        "Email": "Amy@Example.com",
        "Level": 2,
        "Terms": "Net 30",
    }
    record = build_record(
        qb,
        mapping(
            fm("Rate", "QB_Discount_Rate__c"),
            fm("Email", "QB_Email__c"),
            fm("Level", "Rating"),
            fm("Terms", "QB_Terms__c"),
        ),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.fields["QB_Discount_Rate__c"] == 0.1235
    assert record.fields["QB_Email__c"] == "Amy@Example.com"
    assert record.fields["Rating"] == "2"
    assert record.fields["QB_Terms__c"] == "Net 30"


def test_create_only_and_update_only_fields_can_be_mapped():
    # Salesforce applies each on the upsert that can write it (insert or update).
    record = build_record(
        CUSTOMER,
        mapping(fm("Id", "QB_First_Id__c"), fm("DisplayName", "QB_Last_Seen__c")),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.fields["QB_First_Id__c"] == "1"
    assert record.fields["QB_Last_Seen__c"] == "Amy's Bird Sanctuary"


@pytest.mark.parametrize("qb", [{"DisplayName": "No Id"}, {"Id": "", "DisplayName": "Empty"}])
def test_a_record_without_id_is_a_mapping_error(qb):
    with pytest.raises(MappingError, match="QuickBooks Customer record has no Id"):
        build_record(qb, mapping(fm("DisplayName", "Name")), DESCRIBE, REALM, PARENTS)


def test_customer_ref_value_path_names_the_reference():
    # An invoice's `CustomerRef.value` mapped onto a text field carries the customer's key.
    invoice = {"Id": "130", "CustomerRef": {"value": "58", "name": "Amy's Bird Sanctuary"}}
    record = build_record(
        invoice,
        mapping(
            fm("CustomerRef.value", "QB_Customer__c", reference_to="Customer"),
            qb_object="Invoice",
        ),
        DESCRIBE,
        REALM,
        PARENTS,
    )
    assert record.fields["QB_Customer__c"] == f"{REALM}-Customer-58"


def build(qb, *field_mappings, parents=PARENTS):
    return build_record(qb, mapping(*field_mappings), DESCRIBE, REALM, parents)


def refusal(qb, *field_mappings, parents=PARENTS):
    with pytest.raises(MappingError) as raised:
        build(qb, *field_mappings, parents=parents)
    return str(raised.value)


@pytest.mark.parametrize(
    ("qb", "field_mapping", "message"),
    [
        (
            {"Id": "7", "Flag": "maybe"},
            fm("Flag", "QB_Active__c"),
            "Flag value 'maybe' cannot be written to Account.QB_Active__c (boolean): "
            "not true/false",
        ),
        (
            {"Id": "7", "Flag": "x" * 100},
            fm("Flag", "QB_Active__c"),
            f"Flag value '{'x' * 56}... cannot be written to Account.QB_Active__c (boolean): "
            "not true/false",
        ),
        (
            {"Id": "7", "Flag": "x" * 58},
            fm("Flag", "QB_Active__c"),
            f"Flag value '{'x' * 58}' cannot be written to Account.QB_Active__c (boolean): "
            "not true/false",
        ),
        (
            {"Id": "7", "Flag": "x" * 59},
            fm("Flag", "QB_Active__c"),
            f"Flag value '{'x' * 56}... cannot be written to Account.QB_Active__c (boolean): "
            "not true/false",
        ),
        (
            {"Id": "7", "Active": True},
            fm("Active", "AnnualRevenue"),
            "Active value True cannot be written to Account.AnnualRevenue (currency): "
            "a true/false value is not a number",
        ),
        (
            {"Id": "7", "Amount": "NaN"},
            fm("Amount", "AnnualRevenue"),
            "Amount value 'NaN' cannot be written to Account.AnnualRevenue (currency): "
            "not a finite number",
        ),
        (
            {"Id": "7", "Staff": "12.5"},
            fm("Staff", "NumberOfEmployees"),
            "Staff value '12.5' cannot be written to Account.NumberOfEmployees (int): "
            "not a whole number",
        ),
        (
            {"Id": "7", "BillAddr": {"City": "Bayshore"}},
            fm("BillAddr", "BillingCity"),
            "BillAddr value {'City': 'Bayshore'} cannot be written to Account.BillingCity "
            "(string): a QuickBooks object or list is not a single value; map one of its fields",
        ),
        (
            {"Id": "7", "Logo": "iVBOR"},
            fm("Logo", "QB_Logo__c"),
            "Account.QB_Logo__c has type base64, which a QuickBooks field cannot fill "
            "(mapped from Logo)",
        ),
        (
            {"Id": "7", "Name": "Amy"},
            fm("Name", "Name", transform="Titlecase"),
            "unknown Transform__c 'Titlecase'",
        ),
        (
            {"Id": "7", "TaxRef": {"value": "2"}},
            fm("TaxRef", "NumberOfEmployees", reference_to="TaxCode"),
            f"TaxRef value '{REALM}-TaxCode-2' cannot be written to "
            "Account.NumberOfEmployees (int): ",
        ),
        (
            {"Id": "7", "ParentRef": {"value": "58"}},
            fm("ParentRef", "QB_Owner__c", reference_to="Customer"),
            "Account.QB_Owner__c looks up Contact, Lead, but QuickBooks Customer is mapped "
            "to Account",
        ),
        (
            {"Id": "7", "ParentRef": {"value": "58"}},
            fm("ParentRef", "QB_Parent__c", reference_to="Customer"),
            "Account.QB_Parent__c has no relationship name",
        ),
    ],
)
def test_the_error_says_which_value_cannot_go_where(qb, field_mapping, message):
    # The message is what the sync log shows the admin who has to fix the mapping.
    assert refusal(qb, field_mapping).startswith(message)
    if not message.endswith(": "):
        assert refusal(qb, field_mapping) == message


def test_a_string_exactly_as_long_as_the_field_is_not_cut():
    record = build({"Id": "7", "City": "X" * 40}, fm("City", "BillingCity"))
    assert record.fields["BillingCity"] == "X" * 40
    assert record.warnings == []


def test_true_and_false_into_a_text_field():
    record = build(
        {"Id": "7", "Active": True, "Taxable": False},
        fm("Active", "Name"),
        fm("Taxable", "BillingCity"),
    )
    assert (record.fields["Name"], record.fields["BillingCity"]) == ("true", "false")


def test_an_empty_reference_takes_the_default_parent_or_clears_the_lookup():
    reference = {"qb_type": "reference", "reference_to": "Customer"}
    empty = {"Id": "7", "ParentRef": {"value": ""}}
    for default in (None, ""):
        fields = build(
            empty, fm("ParentRef", "ParentId", default_value=default, **reference)
        ).fields
        assert "Parent" not in fields
        assert fields["ParentId"] is None
    for qb in (empty, {"Id": "7"}):
        record = build(qb, fm("ParentRef", "ParentId", default_value="58", **reference))
        assert record.fields["Parent"] == {"QB_External_Id__c": f"{REALM}-Customer-58"}


@pytest.fixture
def server_in_los_angeles(monkeypatch):
    """The middleware's host runs in another time zone than UTC."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_in_los_angeles")
@pytest.mark.parametrize(
    ("text", "moment", "day"),
    [
        ("2014-09-11T16:48:43-07:00", "2014-09-11T23:48:43.000Z", "2014-09-11"),
        ("2014-09-11T23:48:43Z", "2014-09-11T23:48:43.000Z", "2014-09-11"),
        ("2014-09-11T23:48:43", "2014-09-11T23:48:43.000Z", "2014-09-11"),
        ("2014-09-11", "2014-09-11T00:00:00.000Z", "2014-09-11"),
        (" 2014-09-12T01:00:00+05:00 ", "2014-09-11T20:00:00.000Z", "2014-09-12"),
    ],
)
def test_times_and_dates_whatever_the_servers_time_zone(text, moment, day):
    # A time without offset is UTC and a date is midnight UTC, not the server's local time.
    record = build(
        {"Id": "7", "When": text}, fm("When", "QB_Created__c"), fm("When", "QB_Since__c")
    )
    assert record.fields["QB_Created__c"] == moment
    assert record.fields["QB_Since__c"] == day


@pytest.mark.usefixtures("server_in_los_angeles")
def test_parse_qb_time_without_offset_is_utc_whatever_the_servers_time_zone():
    assert parse_qb_time("2015-07-01T10:14:15") == datetime(2015, 7, 1, 10, 14, 15, tzinfo=UTC)
    assert parse_qb_time("2015-07-01T10:14:15-07:00").utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("record", "version"),
    [
        (
            {"SyncToken": "3", "MetaData": {"LastUpdatedTime": "2015-07-01T10:14:15-07:00"}},
            Version(datetime(2015, 7, 1, 17, 14, 15, tzinfo=UTC), 3),
        ),
        (
            {"MetaData": {"LastUpdatedTime": "2015-07-01T17:14:15Z"}},
            Version(datetime(2015, 7, 1, 17, 14, 15, tzinfo=UTC), -1),
        ),
        (
            {"SyncToken": "abc", "MetaData": {"LastUpdatedTime": "2015-07-01T17:14:15Z"}},
            Version(datetime(2015, 7, 1, 17, 14, 15, tzinfo=UTC), -1),
        ),
        ({"SyncToken": "3"}, None),
        ({"SyncToken": "3", "MetaData": None}, None),
        ({"SyncToken": "3", "MetaData": {"CreateTime": "2015-07-01T17:14:15Z"}}, None),
    ],
)
def test_record_version_is_last_updated_time_and_sync_token(record, version):
    # A record without a token sorts before token 0 of the same second.
    assert record_version(record) == version
    if version is not None:
        assert record_version(record).sync_token == version.sync_token
