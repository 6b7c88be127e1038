"""Which QuickBooks entities the emulator knows, and how a new or changed record is completed.

Pure functions: the state module owns storage and locking, these only shape one record.
"""

from __future__ import annotations

from typing import Any

from qbsync_sandbox.emulators.quickbooks import errors, properties, transactions

# Entities Intuit's webhooks support (developer.intuit.com …/webhooks/configure-webhooks, research
# §1d) plus CompanyInfo, which every company has exactly one of. The page's Currency is the v3
# entity CompanyCurrency: the API knows no `Currency` (issue 13).
ENTITY_NAMES: tuple[str, ...] = (
    "Account", "Bill", "BillPayment", "Budget", "Class", "CreditMemo", "CompanyCurrency", "Customer",
    "Department", "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalCode",
    "JournalEntry", "Payment", "PaymentMethod", "Preferences", "Purchase", "PurchaseOrder",
    "RefundReceipt", "SalesReceipt", "TaxAgency", "Term", "TimeActivity", "Transfer", "Vendor",
    "VendorCredit", "CompanyInfo",
)  # fmt: skip
_BY_LOWER = {name.lower(): name for name in ENTITY_NAMES}

# Name-list entities cannot be deleted in QuickBooks Online: "deleting" one makes it inactive
# (Active=false). Customer, for one, has no delete operation (python-quickbooks issues #289/#294).
NAME_LIST: frozenset[str] = frozenset(
    {"Account", "Class", "Customer", "Department", "Employee", "Item", "PaymentMethod", "Term",
     "Vendor", "TaxAgency"}
)  # fmt: skip

# Customers, vendors and employees share one name space for DisplayName (Fault 6240).
SHARED_NAMES: frozenset[str] = frozenset({"Customer", "Vendor", "Employee"})

# Entities Intuit lists as mergeable (research §1d).
MERGEABLE: frozenset[str] = frozenset(
    {"Customer", "Vendor", "Account", "Item", "Class", "Employee"}
)

# Properties some entities cannot be filtered on (issue 13's review; UNCONFIRMED by a stored
# Intuit page): Budget's Active, the Id of Preferences (one record per company).
UNFILTERABLE: dict[str, tuple[str, ...]] = {"Budget": ("Active",), "Preferences": ("Id",)}

# Transactions that can be voided (webhook Void operation: Intuit blog 2017-05-11, research §1d)
# and those QuickBooks can email (`POST /<entity>/<id>/send`; webhook Emailed, catalog sources).
VOIDABLE: frozenset[str] = frozenset(
    {"BillPayment", "CreditMemo", "Invoice", "Payment", "Purchase", "RefundReceipt",
     "SalesReceipt", "Transfer"}
)  # fmt: skip
EMAILABLE: frozenset[str] = frozenset(
    {"CreditMemo", "Estimate", "Invoice", "Payment", "PurchaseOrder", "RefundReceipt",
     "SalesReceipt"}
)  # fmt: skip

# Forms QuickBooks refuses without a Line: Intuit's entity references mark Line required on each.
# The Fault (2020, "Required parameter Line is missing in the request", also for `Line: []`) is
# the one third-party integrations quote from production for an Invoice and a PurchaseOrder (no
# Intuit page gives it); for the other forms it is UNCONFIRMED and assumed to be the same.
LINES_REQUIRED: frozenset[str] = frozenset(
    {"CreditMemo", "Estimate", "Invoice", "PurchaseOrder", "RefundReceipt", "SalesReceipt"}
)

# CDC does not serve these (change-data-capture page, research §3).
NOT_IN_CDC: frozenset[str] = frozenset({"JournalCode", "TaxAgency", "TimeActivity", "CompanyInfo"})

_PERSON_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
_SYSTEM_FIELDS = properties.SYSTEM
_TRUE_FALSE = {"true": True, "false": False}


def canonical_entity(name: str) -> str | None:
    """`customer` → `Customer`; None for names QuickBooks does not have."""
    return _BY_LOWER.get(name.lower())


def display_name_of(entity: str, record: dict[str, Any]) -> str | None:
    """The name that must be unique within an entity's name space, if it has one."""
    if entity in SHARED_NAMES:
        return record.get("DisplayName")
    if entity in NAME_LIST:
        return record.get("Name")
    return None


def complete_new(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a create request and fill the defaults QuickBooks adds (no id or metadata yet)."""
    values, _ = written(entity, data, creating=True)
    return _complete(entity, values)


def complete_update(
    entity: str, current: dict[str, Any], data: dict[str, Any], *, sparse: bool
) -> dict[str, Any]:
    """The record after an update, without Id/SyncToken/MetaData.

    A sparse update changes only the properties sent (one sent empty is cleared); a full update
    replaces every writable property, so those left out are cleared. Computed properties are
    computed again, and those only a create sets (an opening Balance) are kept.
    """
    changes, cleared = written(entity, data, creating=False)
    rules = properties.of(entity)
    computed = rules.read_only if rules else frozenset()
    kept_only = rules.create_only if rules else frozenset()
    kept = {
        key: value
        for key, value in current.items()
        if key not in _SYSTEM_FIELDS
        and key not in computed
        and key not in cleared
        and (sparse or key in kept_only)
    }
    return _complete(entity, {**kept, **changes})


def written(
    entity: str, data: dict[str, Any], *, creating: bool
) -> tuple[dict[str, Any], frozenset[str]]:
    """(the values a write sets, the properties it sends empty), as QuickBooks takes them.

    System and computed properties are ignored; with an entity's rules an unknown property is
    refused (Fault 2010), a boolean or number must be one (or its text, as Intuit's JSON reader
    coerces "true" and "12.5"), and empty values (null, "", {}, []) are no values: QuickBooks
    returns only properties with values (Intuit, "Deep dive into QuickBooks Online data
    queries", 2017-02-08), which python-quickbooks relies on when it sends "" for every unset
    string.
    """
    rules = properties.of(entity)
    values: dict[str, Any] = {}
    cleared = set()
    for key, value in data.items():
        if key in _SYSTEM_FIELDS:
            continue
        if rules is not None:
            if key not in rules.known:
                raise errors.unknown_property(entity, key)
            if key in rules.read_only or (key in rules.create_only and not creating):
                continue
            value = _typed(entity, rules, key, value)
        pruned = _pruned(value)
        if pruned is None:
            cleared.add(key)
        else:
            values[key] = pruned
    return values, frozenset(cleared)


def _typed(entity: str, rules: properties.EntityProperties, key: str, value: Any) -> Any:
    if value is None or value == "":
        return value
    if key in rules.booleans:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE_FALSE:
            return _TRUE_FALSE[value.lower()]
        raise errors.invalid_value(entity, key, value, "Boolean")
    if key in rules.numbers:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise errors.invalid_value(entity, key, value, "BigDecimal") from None
            return int(number) if number.is_integer() else number
        raise errors.invalid_value(entity, key, value, "BigDecimal")
    return value


def _pruned(value: Any) -> Any:
    """`value` without its empty parts; None when nothing is left."""
    if isinstance(value, dict):
        kept = {k: p for k, v in value.items() if (p := _pruned(v)) is not None}
        return kept or None
    if isinstance(value, list):
        items = [p for v in value if (p := _pruned(v)) is not None]
        return items or None
    if value is None or value == "":
        return None
    return value


def _complete(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """Check what QuickBooks requires and fill the defaults and computed properties it adds."""
    record = dict(record)
    if entity in SHARED_NAMES:
        if not record.get("DisplayName"):
            parts = [str(record[part]) for part in _PERSON_NAME_PARTS if record.get(part)]
            if not parts:
                # Intuit requires DisplayName or one of the person-name parts.
                raise errors.required_param_missing("DisplayName")
            record["DisplayName"] = " ".join(parts)
        record.setdefault("PrintOnCheckName", record["DisplayName"])
        record.setdefault("Balance", 0)
    if entity == "Customer":
        record["FullyQualifiedName"] = record["DisplayName"]
        record.setdefault("Job", False)
        record.setdefault("BillWithParent", False)
        record["BalanceWithJobs"] = record.get("Balance", 0)
        record.setdefault("PreferredDeliveryMethod", "Print")
    elif entity == "Vendor":
        record.setdefault("Vendor1099", False)
        record.setdefault("CurrencyRef", {"value": "USD", "name": "United States Dollar"})
    elif entity == "Item":
        if not record.get("Name"):
            raise errors.required_param_missing("Name")
        record.setdefault("Type", "Service")
        if record["Type"] in ("Service", "NonInventory", "Inventory") and not _ref(
            record, "IncomeAccountRef"
        ):
            raise errors.required_param_missing("IncomeAccountRef")
        record["FullyQualifiedName"] = record["Name"]
        record.setdefault("UnitPrice", 0)
        record.setdefault("Taxable", False)
        record.setdefault("TrackQtyOnHand", False)
    elif entity == "Account":
        if not record.get("Name"):
            raise errors.required_param_missing("Name")
        record.setdefault("AccountType", "Income")
        record["FullyQualifiedName"] = record["Name"]
    elif entity in ("Class", "Department") and record.get("Name"):
        # A top-level class or location is its own fully qualified name (Class reference).
        record["FullyQualifiedName"] = record["Name"]
    elif entity in LINES_REQUIRED and not record.get("Line"):
        raise errors.required_param_missing("Line")
    if entity in NAME_LIST:
        record.setdefault("Active", True)
    return record


def references(entity: str, record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, referenced entity, id) triples the emulator checks exist."""
    refs = []
    if entity == "Item":
        for field in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
            if _ref(record, field):
                refs.append((field, "Account", _ref(record, field)))
    if entity == "Customer" and _ref(record, "ParentRef"):
        refs.append(("ParentRef", "Customer", _ref(record, "ParentRef")))
    # Any entity naming a customer or vendor at its top level (transactions): it must exist.
    for field, target in (("CustomerRef", "Customer"), ("VendorRef", "Vendor")):
        if _ref(record, field):
            refs.append((field, target, _ref(record, field)))
    return refs + transactions.line_references(entity, record)


def _ref(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    if isinstance(value, dict):
        return str(value.get("value") or "")
    return ""
