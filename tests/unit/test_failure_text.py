"""qbsync.failure_text: the sync log's Message__c says what failed, which record, which mapping
row to change and what to do; the technical text goes to Detail__c, the kind of failure to
Reason__c (what reports group by)."""

from __future__ import annotations

import pytest

from qbsync.failure_text import LogText, explain, record_label
from qbsync.mapping import (
    FieldMapping,
    MappingError,
    ObjectMapping,
    SalesforceField,
    ValueNotWritable,
    convert,
)
from qbsync.quickbooks.errors import QuickBooksTransient
from qbsync.salesforce.client import RecordResult


def unwritable(
    value, kind: str, qb_field: str = "NumberOfEmployees", label: str = ""
) -> ValueNotWritable:
    target = SalesforceField("NumberOfEmployees", kind, label=label)
    with pytest.raises(ValueNotWritable) as raised:
        convert(value, target, "Account", qb_field)
    return raised.value


def test_a_value_a_number_field_cannot_hold_reads_as_what_to_change():
    error = unwritable("ten", "double", label="Number of Employees")

    text = explain(str(error), error, "Customer", "2", "Acme Ltd")

    # The field by the label the admin sees in Setup; the mapping row by API names.
    assert text.message == (
        "Customer \u201cAcme Ltd\u201d (QuickBooks 2): the value 'ten' of NumberOfEmployees "
        "cannot be written to Account.Number of Employees (a number). Change the field mapping "
        "NumberOfEmployees \u2192 NumberOfEmployees or the value in QuickBooks."
    )
    # The technical side, for support: the Python exception and the ledger's text.
    assert text.detail.startswith("decimal.InvalidOperation: ")
    assert "ConversionSyntax" in text.detail
    assert str(error) in text.detail
    assert "<class" not in text.message


@pytest.mark.parametrize(
    ("kind", "words"),
    [("int", "a whole number"), ("currency", "an amount"), ("date", "a date")],
)
def test_the_field_type_is_named_in_words(kind, words):
    error = unwritable("soon", kind, qb_field="Notes")

    text = explain(str(error), error, "Customer", "7", None)

    assert f"Account.NumberOfEmployees ({words})" in text.message
    assert "Change the field mapping Notes \u2192 NumberOfEmployees" in text.message


def test_a_record_without_a_name_is_named_by_its_id():
    assert record_label("Invoice", "130", None) == "Invoice 130 (QuickBooks)"
    assert record_label("Invoice", "130", "1037") == "Invoice \u201c1037\u201d (QuickBooks 130)"


def test_other_failures_keep_their_message_and_have_no_detail():
    plain = MappingError("Account.Name has type base64, which a QuickBooks field cannot fill")

    assert explain("will retry: timeout", None, "Customer", "2", "Acme") == LogText(
        "will retry: timeout"
    )
    assert explain(str(plain), plain, "Customer", "2", "Acme") == LogText(
        str(plain), reason="Mapping error"
    )


def test_a_builtin_exception_is_named_without_its_module():
    error = unwritable("maybe", "boolean")

    assert explain(str(error), error, "Customer", "2", None).detail.startswith(
        "ValueError: not true/false\n"
    )


MAPPING = ObjectMapping(
    qb_object="Customer",
    salesforce_object="Account",
    external_id_field="QB_External_Id__c",
    field_mappings=(
        FieldMapping("CompanyName", "Name"),
        FieldMapping("PrimaryPhone.FreeFormNumber", "Phone"),
    ),
)


def refused(code: str, message: str, fields: list[str]) -> RecordResult:
    return RecordResult(
        id=None, success=False, errors=[{"statusCode": code, "message": message, "fields": fields}]
    )


def test_a_required_field_left_empty_names_the_mapping_row():
    result = refused("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])

    text = explain(result.message, result, "Customer", "5", "Bob's Bakery", MAPPING)

    assert text.message == (
        "Customer \u201cBob's Bakery\u201d (QuickBooks 5): Salesforce requires Account.Name, and "
        "the mapping gave it no value. Map a QuickBooks field that is filled to it (or give the "
        "field mapping CompanyName \u2192 Name a default value), or fill the field in QuickBooks."
    )
    assert text.detail.endswith(
        "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] [Name]"
    )
    assert text.reason == "Salesforce REQUIRED_FIELD_MISSING"


def test_a_validation_rule_is_quoted():
    result = refused("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone must have 10 digits", ["Phone"])

    text = explain(result.message, result, "Customer", "5", None, MAPPING)

    assert (
        "a validation rule of Account refused the record: \u201cPhone must have 10 digits\u201d"
        in (text.message)
    )
    assert "PrimaryPhone.FreeFormNumber \u2192 Phone" in text.message
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in text.detail
    assert text.reason == "Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION"


def test_a_missing_permission_says_which_permission_set():
    result = refused(
        "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Phone", ["Phone"]
    )

    text = explain(result.message, result, "Customer", "5", "Bob", MAPPING)

    assert "the sync user may not write Account.Phone" in text.message
    assert "QuickBooks Sync Integration permission set" in text.message
    assert "remove the field mapping PrimaryPhone.FreeFormNumber \u2192 Phone" in text.message


def test_a_reference_to_a_record_not_in_salesforce():
    result = refused(
        "INVALID_FIELD",
        "Foreign key external ID: 9130:Customer:58 not found for field QB_External_Id__c in "
        "entity Account",
        [],
    )

    text = explain("will retry: " + result.message, result, "Invoice", "130", "1037", None)

    assert text.message.startswith(
        "Invoice \u201c1037\u201d (QuickBooks 130): it refers to a QuickBooks record that is "
        "not in Salesforce yet"
    )
    assert text.detail.startswith("will retry: INVALID_FIELD")


def test_quickbooks_unreachable_needs_no_change():
    error = QuickBooksTransient("QuickBooks timed out after 30 s")

    text = explain("will retry: " + str(error), error, "Customer", "5", None)

    assert text.message == (
        "Customer 5 (QuickBooks): QuickBooks could not be reached, so the record was not read. "
        "The sync tries again by itself; nothing needs changing unless this keeps happening."
    )
    assert text.detail == "QuickBooksTransient: QuickBooks timed out after 30 s"
    assert text.reason == "QuickBooks unreachable"


def test_a_salesforce_error_without_an_explanation_keeps_its_message():
    result = refused("DUPLICATE_VALUE", "duplicate value found", ["QB_External_Id__c"])

    assert explain(result.message, result, "Customer", "5", None, MAPPING) == LogText(
        result.message, reason="Salesforce DUPLICATE_VALUE"
    )


def test_every_failure_of_one_kind_has_the_same_short_reason():
    # Reports group failures by Reason__c (Text 80): it must not vary with the record or value.
    reasons = {
        explain("x", unwritable(value, "double"), "Customer", record_id, name).reason
        for value, record_id, name in (("ten", "1", "Acme"), ("n/a", "2", None))
    }
    assert reasons == {"Value does not fit the field"}
    long_code = refused("X" * 200, "odd", [])
    assert len(explain(long_code.message, long_code, "Customer", "5", None).reason) == 80


def test_a_value_on_a_transaction_line_names_the_line():
    error = unwritable("lots", "currency", qb_field="Amount").on_line("Line", "3")

    text = explain(str(error), error, "Invoice", "130", "1037")

    assert text.message.startswith(
        "Invoice \u201c1037\u201d (QuickBooks 130), line 3 of Line: the value 'lots' of Amount "
        "cannot be written to Account.NumberOfEmployees (an amount)."
    )
    # The ledger's text is the one lines always had.
    assert str(error).startswith("Line line 3: Amount value 'lots' cannot be written to")
    assert str(error) in text.detail
