"""qbsync.mapping: every conversion is bounded and total (issue 15, item 1).

A value outside what the Salesforce field holds, a non-finite number, a huge exponent or an
out-of-range date ends as a `MappingError` naming the field; nothing else escapes, and no
conversion does work that grows faster than the value's text. Ranges: describe `precision`,
`scale` and `digits` (Salesforce Field Reference, "Precision", "Scale", "Digits"); dates from
1700-01-01T00:00:00Z to 4000-12-31T00:00:00Z (Data Loader guide, "Data Import Dates").
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qbsync.events import Version
from qbsync.mapping import (
    MappingError,
    SalesforceField,
    SObjectDescribe,
    apply_transform,
    convert,
    record_version,
)


def field(type_: str, **extra) -> SalesforceField:
    return SalesforceField(name="QB_Value__c", type=type_, **extra)


def refused(value, target: SalesforceField) -> str:
    with pytest.raises(MappingError) as caught:
        convert(value, target, "Account", "Notes")
    message = str(caught.value)
    assert message.startswith("Notes value ") and "Account.QB_Value__c" in message
    return message


# --- numbers ---------------------------------------------------------------------------------


def test_a_huge_exponent_is_out_of_range_not_infinity():
    # Before: float(Decimal("1e5000")) is inf, which requests refuses for the whole call.
    assert "at most 18 digits before the decimal point" in refused("1e5000", field("double"))


def test_a_huge_exponent_into_an_integer_is_refused_before_int_conversion():
    # Before: int(Decimal("1e100000")) built a 100,001-digit integer (quadratic: 1e1000000
    # held a CPU for 30 s). The exponent is read off the Decimal, so this costs nothing.
    assert "digits before the decimal point" in refused("1e100000", field("int"))
    assert "digits before the decimal point" in refused("-1E+999999999999", field("long"))


def test_text_longer_than_any_number_is_refused_before_decimal_parsing():
    message = refused("9" * 10_000, field("currency", precision=18, scale=2))
    assert "10000 characters" in message


def test_precision_and_scale_bound_a_number_field():
    target = field("currency", precision=5, scale=2)  # at most 999.99
    assert convert("999.994", target, "Account", "Notes") == 999.99
    assert "at most 3 digits" in refused("999.995", target)  # rounds up to 1000.00
    assert "at most 3 digits" in refused(1000, target)
    assert convert("-999.99", target, "Account", "Notes") == -999.99


def test_without_precision_a_number_field_holds_eighteen_digits():
    target = field("double", scale=0)
    assert convert("9" * 18, target, "Account", "Notes") == int("9" * 18)
    assert "at most 18 digits" in refused("1" + "0" * 18, target)


def test_non_finite_numbers_are_refused():
    for value in (float("nan"), float("inf"), "NaN", "-Infinity", "sNaN"):
        assert "not a finite number" in refused(value, field("double", scale=2))


def test_a_zero_with_any_exponent_is_zero():
    assert convert("0E+5000", field("double", scale=2), "Account", "Notes") == 0
    assert convert("-0e-99999", field("int"), "Account", "Notes") == 0


def test_huge_python_numbers_are_refused():
    assert "more digits" in refused(10**400, field("double"))
    assert "at most 18 digits" in refused(1e308, field("double"))


def test_int_fields_are_32_bit_and_long_fields_64_bit():
    assert convert("2147483647", field("int"), "Account", "Notes") == 2147483647
    assert "32-bit" in refused("2147483648", field("int"))
    assert "32-bit" in refused("-2147483649", field("int"))
    assert convert(str(2**63 - 1), field("long"), "Account", "Notes") == 2**63 - 1
    assert "64-bit" in refused(str(2**63), field("long"))


def test_int_fields_follow_the_describe_digits():
    target = field("int", digits=8)  # Account.NumberOfEmployees
    assert convert("99999999", target, "Account", "Notes") == 99999999
    assert "at most 8 digits" in refused("100000000", target)


def test_describe_precision_and_digits_are_read():
    describe = SObjectDescribe.from_json(
        {
            "name": "Account",
            "fields": [
                {"name": "AnnualRevenue", "type": "currency", "precision": 18, "scale": 0},
                {"name": "NumberOfEmployees", "type": "int", "digits": 8, "precision": 0},
            ],
        }
    )
    assert describe.field("annualrevenue").precision == 18
    assert describe.field("numberofemployees").digits == 8


# --- dates and times -------------------------------------------------------------------------


def test_a_time_whose_offset_runs_past_year_9999_is_refused():
    # Before: astimezone(UTC) raised OverflowError, which failed the whole batch.
    message = refused("9999-12-31T23:00:00-05:00", field("datetime"))
    assert "outside the dates Salesforce holds" in message
    assert "outside the dates" in refused("0001-01-01T01:00:00+05:00", field("datetime"))


def test_datetimes_within_salesforce_range_only():
    target = field("datetime")
    assert convert("1700-01-01T00:00:00Z", target, "A", "N") == "1700-01-01T00:00:00.000Z"
    assert convert("4000-12-31T00:00:00Z", target, "A", "N") == "4000-12-31T00:00:00.000Z"
    refused("4000-12-31T00:00:01Z", target)
    refused("1699-12-31T23:59:59Z", target)
    # The same moment in another offset: 1700-01-01T00:00Z is 1699-12-31T16:00-08:00.
    assert convert("1699-12-31T16:00:00-08:00", target, "A", "N") == "1700-01-01T00:00:00.000Z"


def test_dates_within_salesforce_range_only():
    target = field("date")
    assert convert("1700-01-01", target, "A", "N") == "1700-01-01"
    assert convert("4000-12-31", target, "A", "N") == "4000-12-31"
    assert "1700-01-01 to 4000-12-31" in refused("1699-12-31", field("date"))
    refused("4001-01-01", target)


def test_text_longer_than_any_time_is_refused_before_parsing():
    assert "longer than any date and time" in refused("2026-01-01" + " " * 100 + "x", field("date"))


# --- the rest of the conversion --------------------------------------------------------------


def test_a_transform_of_an_object_is_a_mapping_error():
    # Before: TypeError escaped build_record and failed the batch.
    with pytest.raises(MappingError, match="Transform__c Trim cannot apply"):
        apply_transform({"value": "1"}, "Trim")


def test_record_version_is_total():
    base = {"MetaData": {"LastUpdatedTime": "2026-03-02T04:00:00-08:00"}}
    moment = datetime(2026, 3, 2, 12, tzinfo=UTC)
    # '²' passes str.isdigit but int() refuses it: before, ValueError reached the batch.
    assert record_version({**base, "SyncToken": "²"}).sync_token == -1
    assert record_version({**base, "SyncToken": "9" * 5000}).sync_token == -1
    assert record_version({**base, "SyncToken": "7"}) == Version(moment, 7)
    assert record_version({"MetaData": ["x"]}) is None
    with pytest.raises(ValueError, match="out of range"):
        record_version({"MetaData": {"LastUpdatedTime": "9999-12-31T23:00:00-05:00"}})
    with pytest.raises(ValueError, match="not text"):
        record_version({"MetaData": {"LastUpdatedTime": 5}})


# --- the limits to the unit, and the reasons the sync log shows --------------------------------


def reason(value, target: SalesforceField) -> str:
    """What the sync log gives as the cause: the message after the field's type."""
    return refused(value, target).split(f"({target.type}): ", 1)[1]


def test_a_whole_float_is_written_to_a_text_field_without_a_decimal_point():
    assert convert(5.0, field("string"), "Account", "Notes") == "5"
    assert convert(2.5, field("string"), "Account", "Notes") == "2.5"


def test_the_reasons_a_number_is_refused():
    assert reason(float("nan"), field("double")) == "not a finite number"
    assert reason("-Infinity", field("double")) == "not a finite number"
    assert reason("1.5", field("int")) == "not a whole number"
    assert reason(-(2**31) - 1, field("int")) == "out of the field's range (int: 32-bit)"
    assert reason(2**63, field("long")) == "out of the field's range (long: 64-bit)"


def test_the_smallest_integers_of_int_and_long_fields_are_kept():
    assert convert(-(2**31), field("int"), "Account", "Notes") == -(2**31)
    assert convert(-(2**63), field("long"), "Account", "Notes") == -(2**63)


def test_a_long_field_without_digits_holds_nineteen_digits_before_the_point():
    assert reason("1" + "0" * 19, field("long")) == (
        "out of the field's range: at most 19 digits before the decimal point"
    )


def test_number_text_of_100_characters_is_read_and_of_101_refused():
    assert convert("0." + "0" * 97 + "1", field("double"), "Account", "Notes") == 1e-98
    assert reason("0." + "0" * 98 + "1", field("double")) == (
        "101 characters, more than a number Salesforce can hold is written with (100)"
    )


def test_a_python_integer_of_340_bits_is_read_as_text_and_of_341_refused():
    # 2**339 (340 bits) is 103 digits: refused for its length, after the cheap bit count.
    assert reason(2**339, field("double")) == (
        "103 characters, more than a number Salesforce can hold is written with (100)"
    )
    assert reason(2**340, field("double")) == "more digits than any Salesforce number field holds"


def test_time_text_of_64_characters_is_read_and_of_65_refused():
    text = "2026-01-01T00:00:00." + "1" * 38 + "+00:00"  # 64 characters
    assert convert(text, field("datetime"), "A", "N") == "2026-01-01T00:00:00.111Z"
    longer = "2026-01-01T00:00:00." + "1" * 39 + "+00:00"
    assert reason(longer, field("datetime")) == "65 characters, longer than any date and time"


def test_the_reason_a_time_is_out_of_range_gives_the_range():
    expected = "outside the dates Salesforce holds (1700-01-01T00:00:00Z to 4000-12-31T00:00:00Z)"
    assert reason("4000-12-31T00:00:01Z", field("datetime")) == expected
    assert reason("4001-01-01T00:00:00+23:59", field("datetime")) == expected
    assert reason("4001-01-01", field("date")) == (
        "outside the dates Salesforce holds (1700-01-01 to 4000-12-31)"
    )


def test_a_last_updated_time_that_is_not_text_is_quoted():
    with pytest.raises(ValueError) as raised:
        record_version({"MetaData": {"LastUpdatedTime": ["2026"]}})
    assert str(raised.value) == "MetaData.LastUpdatedTime is not text: ['2026']"


def test_a_sync_token_of_18_digits_is_read_and_a_longer_one_is_not():
    base = {"MetaData": {"LastUpdatedTime": "2026-03-02T12:00:00Z"}}
    assert record_version({**base, "SyncToken": "9" * 18}).sync_token == int("9" * 18)
    assert record_version({**base, "SyncToken": "1" + "0" * 18}).sync_token == -1
