"""qbsync.failure_text: the sync log's Message__c says what failed, which record, which mapping
row to change and what to do; the technical text goes to Detail__c."""

from __future__ import annotations

import pytest

from qbsync.failure_text import LogText, explain, record_label
from qbsync.mapping import MappingError, SalesforceField, ValueNotWritable, convert


def unwritable(value, kind: str, qb_field: str = "NumberOfEmployees") -> ValueNotWritable:
    with pytest.raises(ValueNotWritable) as raised:
        convert(value, SalesforceField("NumberOfEmployees", kind), "Account", qb_field)
    return raised.value


def test_a_value_a_number_field_cannot_hold_reads_as_what_to_change():
    error = unwritable("ten", "double")

    text = explain(str(error), error, "Customer", "2", "Acme Ltd")

    assert text.message == (
        "Customer \u201cAcme Ltd\u201d (QuickBooks 2): the value 'ten' of NumberOfEmployees "
        "cannot be written to Account.NumberOfEmployees (a number). Change the field mapping "
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
    assert explain(str(plain), plain, "Customer", "2", "Acme") == LogText(str(plain))


def test_a_builtin_exception_is_named_without_its_module():
    error = unwritable("maybe", "boolean")

    assert explain(str(error), error, "Customer", "2", None).detail.startswith(
        "ValueError: not true/false\n"
    )
