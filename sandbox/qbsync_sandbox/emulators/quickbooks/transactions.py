"""What QuickBooks computes on the sales forms (Invoice, SalesReceipt, CreditMemo, Estimate) and on
a Payment, and what a Payment does to the invoices it pays (issue 10).

Pure functions: `state.py` finds the records (the form's previous version, the payments) and stores
what these return. The shapes follow Intuit's sample bodies (research §6): the Invoice sample
(Id 239: a SalesItemLineDetail line with "Id": "1", "LineNum": 1, then
`{"DetailType": "SubTotalLineDetail", "Amount": 150.0, "SubTotalLineDetail": {}}` without Id or
LineNum; "TotalAmt": 150.0, "Balance": 150.0, "Deposit": 0, "TxnTaxDetail": {"TotalTax": 0}, a
DueDate 30 days after TxnDate), the SalesReceipt sample (Id 11: "Balance": 0) and the Payment
sample (Id 163: TotalAmt 65.0, UnappliedAmt 10.0, `Line[].LinkedTxn` to Invoice 70, lines without
Id).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from qbsync_sandbox.emulators.quickbooks import errors

Record = dict[str, Any]

SALES_FORMS: frozenset[str] = frozenset({"Invoice", "SalesReceipt", "CreditMemo", "Estimate"})
COMPUTED: frozenset[str] = SALES_FORMS | {"Payment"}

_SUBTOTAL = "SubTotalLineDetail"
# Lines the subtotal adds up; a discount line is taken off after it.
_SUBTOTALLED = frozenset({"SalesItemLineDetail", "GroupLineDetail"})
_DISCOUNT = "DiscountLineDetail"
# The Invoice sample's DueDate is its TxnDate plus 30 days: the sample company's default term (Net
# 30). An invoice sent without DueDate gets the same whatever its SalesTermRef: terms are not
# modelled (UNCONFIRMED).
DEFAULT_DUE = timedelta(days=30)


def complete(
    entity: str,
    record: Record,
    previous: Record | None,
    today: date,
    payments: Iterable[Record] = (),
    own_id: str | None = None,
) -> Record:
    """`record` as QuickBooks stores it: lines numbered, totals and balance computed.

    `previous` is the stored version (None on create): a line sent with the Id of one of its lines
    keeps that Id, any other line gets the next one. `payments` are the company's payments, which
    an invoice's Balance and LinkedTxn follow.
    """
    record = dict(record)
    _check_shape(entity, record)
    if not _ref(record, "CustomerRef"):
        # python-quickbooks issue #24: an Invoice without CustomerRef is "Required param missing".
        raise errors.required_param_missing("CustomerRef")
    record["TxnDate"] = _date(entity, record.get("TxnDate", today.isoformat())).isoformat()
    if entity == "Payment":
        return _payment(record)
    return _sales_form(entity, record, previous, payments, own_id)


def _sales_form(
    entity: str,
    record: Record,
    previous: Record | None,
    payments: Iterable[Record],
    own_id: str | None,
) -> Record:
    lines = _numbered(
        entity,
        [line for line in record["Line"] if line.get("DetailType") != _SUBTOTAL],
        previous.get("Line", []) if previous else [],
    )
    subtotal = _money(
        sum(_amount(line) for line in lines if line.get("DetailType") in _SUBTOTALLED)
    )
    discount = 0.0
    for line in lines:
        if line.get("DetailType") == _DISCOUNT:
            detail = line.get(_DISCOUNT) or {}
            if detail.get("PercentBased") is True and "DiscountPercent" in detail:
                percent = _number(detail["DiscountPercent"], entity, "Line.DiscountLineDetail")
                line["Amount"] = _money(subtotal * percent / 100)
            discount += _amount(line)
    tax_detail = dict(record.get("TxnTaxDetail") or {})
    tax_detail["TotalTax"] = _number(tax_detail.get("TotalTax", 0), entity, "TxnTaxDetail")
    record["TxnTaxDetail"] = tax_detail
    record["Line"] = [*lines, {"DetailType": _SUBTOTAL, "Amount": subtotal, _SUBTOTAL: {}}]
    record["TotalAmt"] = _money(subtotal - discount + tax_detail["TotalTax"])
    if entity == "Invoice":
        record.setdefault("Deposit", 0)
        if not record.get("DueDate"):
            due = date.fromisoformat(record["TxnDate"]) + DEFAULT_DUE
            record["DueDate"] = due.isoformat()
        return with_payments(record, own_id, payments)
    if entity == "SalesReceipt":
        record["Balance"] = 0.0  # paid when made
    elif entity == "CreditMemo":
        # Nothing in the emulator applies a credit memo: all of it remains (UNCONFIRMED).
        record["Balance"] = record["RemainingCredit"] = record["TotalAmt"]
    elif entity == "Estimate":
        record.setdefault("TxnStatus", "Pending")
    return record


def _payment(record: Record) -> Record:
    if "TotalAmt" not in record:
        # Intuit's Payment reference marks TotalAmt required; the Fault is modelled on Line's.
        raise errors.required_param_missing("TotalAmt")
    total = _number(record["TotalAmt"], "Payment", "TotalAmt")
    lines = [dict(line) for line in record.get("Line", [])]
    for line in lines:
        line["Amount"] = _number(line.get("Amount", 0), "Payment", "Line")
    if lines:
        record["Line"] = lines
    record["TotalAmt"] = total
    record["UnappliedAmt"] = _money(total - sum(line["Amount"] for line in lines))
    return record


def with_payments(invoice: Record, invoice_id: str | None, payments: Iterable[Record]) -> Record:
    """The invoice with Balance = TotalAmt − Deposit − what payments apply to it, and a LinkedTxn
    to each of those payments (other links, such as an Estimate's, are kept)."""
    applied = 0.0
    links = []
    for payment in payments if invoice_id else ():
        amounts = [
            _amount(line)
            for line in payment.get("Line", [])
            if any(_links_to(link, "Invoice", invoice_id) for link in line.get("LinkedTxn", []))
        ]
        if amounts:
            applied += sum(amounts)
            links.append({"TxnId": payment["Id"], "TxnType": "Payment"})
    kept = [link for link in invoice.get("LinkedTxn", []) if link.get("TxnType") != "Payment"]
    record = {key: value for key, value in invoice.items() if key != "LinkedTxn"}
    if kept or links:
        record["LinkedTxn"] = kept + links
    record["Balance"] = _money(invoice["TotalAmt"] - _amount(invoice, "Deposit") - applied)
    return record


def invoices_paid_by(payment: Record | None) -> set[str]:
    """The ids of the invoices a payment's lines link to."""
    return {
        str(link["TxnId"])
        for line in (payment or {}).get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") == "Invoice" and link.get("TxnId")
    }


def line_references(entity: str, record: Record) -> list[tuple[str, str, str]]:
    """(element, referenced entity, id) of the records a form's or payment's lines name.

    Elements as Intuit's Fault names them: `Line.SalesItemLineDetail.ItemRef` (a 2500 third parties
    quote, intuit/QuickBooks-V3-PHP-SDK issue #102); `Line.LinkedTxn.TxnId` is UNCONFIRMED.
    """
    found = []
    for line in record.get("Line") or []:
        item = _ref(line.get("SalesItemLineDetail") or {}, "ItemRef")
        if entity in SALES_FORMS and item:
            found.append(("Line.SalesItemLineDetail.ItemRef", "Item", item))
        if entity == "Payment":
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Invoice" and link.get("TxnId"):
                    found.append(("Line.LinkedTxn.TxnId", "Invoice", str(link["TxnId"])))
    return found


# The reference naming a transaction's party, by the party's entity.
PARTY_OF: dict[str, str] = {"Customer": "CustomerRef", "Vendor": "VendorRef"}


def moved_to(record: Record, field: str, from_id: str, into_id: str) -> Record | None:
    """`record` with its `field` naming `into_id` if it named `from_id`, else None."""
    if _ref(record, field) != str(from_id):
        return None
    ref = {key: value for key, value in record[field].items() if key != "name"}
    return {**record, field: {**ref, "value": str(into_id)}}


def _check_shape(entity: str, record: Record) -> None:
    """Refuse (2010) lists and objects of the wrong JSON type before anything reads them."""
    _expect(entity, "Line", record.get("Line", []), list)
    _expect(entity, "LinkedTxn", record.get("LinkedTxn", []), list)
    _expect(entity, "TxnTaxDetail", record.get("TxnTaxDetail", {}), dict)
    for link in record.get("LinkedTxn", []):
        _expect(entity, "LinkedTxn", link, dict)
    for line in record.get("Line", []):
        _expect(entity, "Line", line, dict)
        _expect(entity, "Line.LinkedTxn", line.get("LinkedTxn", []), list)
        for link in line.get("LinkedTxn", []):
            _expect(entity, "Line.LinkedTxn", link, dict)
        for detail in ("SalesItemLineDetail", _DISCOUNT):
            _expect(entity, f"Line.{detail}", line.get(detail, {}), dict)


def _expect(entity: str, element: str, value: Any, kind: type) -> None:
    if not isinstance(value, kind):
        java_type = "util.ArrayList" if kind is list else "Object"
        raise errors.invalid_value(entity, element, value, java_type)


def _numbered(entity: str, lines: list[Record], previous: list[Record]) -> list[Record]:
    """Ids and LineNum: a line keeps an Id its form already had; new lines get the next ones."""
    known = {str(line["Id"]) for line in previous if "Id" in line}
    numbers = [int(line_id) for line_id in known if line_id.isdigit()]
    next_id = max(numbers, default=0) + 1
    taken: set[str] = set()
    numbered = []
    for position, line in enumerate(lines, start=1):
        line = dict(line)
        line_id = str(line.get("Id", ""))
        if line_id not in known or line_id in taken:
            line_id, next_id = str(next_id), next_id + 1
        taken.add(line_id)
        amount = line.get("Amount")
        detail = line.get("SalesItemLineDetail") or {}
        if amount is None and "Qty" in detail and "UnitPrice" in detail:
            element = "Line.SalesItemLineDetail"
            amount = _number(detail["Qty"], entity, element) * _number(
                detail["UnitPrice"], entity, element
            )
        if amount is not None:
            line["Amount"] = _number(amount, entity, "Line")
        numbered.append({**line, "Id": line_id, "LineNum": position})
    return numbered


def _links_to(link: Record, txn_type: str, txn_id: str | None) -> bool:
    return link.get("TxnType") == txn_type and str(link.get("TxnId")) == str(txn_id)


def _amount(record: Record, key: str = "Amount") -> float:
    return float(record.get(key) or 0)


def _number(value: Any, entity: str, element: str) -> float:
    if isinstance(value, bool):
        raise errors.invalid_value(entity, element, value, "BigDecimal")
    try:
        return _money(float(value))
    except (TypeError, ValueError):
        raise errors.invalid_value(entity, element, value, "BigDecimal") from None


def _date(entity: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        # Refused like any value of the wrong type (the Fault for a bad date is UNCONFIRMED).
        raise errors.invalid_value(entity, "TxnDate", value, "Date") from None


def _money(value: float) -> float:
    return round(float(value), 2)


def _ref(record: Record, field: str) -> str:
    value = record.get(field)
    return str(value.get("value") or "") if isinstance(value, dict) else ""
