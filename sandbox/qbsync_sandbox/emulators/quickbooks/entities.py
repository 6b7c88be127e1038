"""Which QuickBooks entities the emulator knows, and how a new or changed record is completed.

Pure functions: the state module owns storage and locking, these only shape one record.
"""

from __future__ import annotations

from typing import Any

from qbsync_sandbox.emulators.quickbooks import errors

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

# CDC does not serve these (change-data-capture page, research §3).
NOT_IN_CDC: frozenset[str] = frozenset({"JournalCode", "TaxAgency", "TimeActivity", "CompanyInfo"})

_PERSON_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
_SYSTEM_FIELDS = ("Id", "SyncToken", "MetaData", "domain", "sparse")


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
    record = {key: value for key, value in data.items() if key not in _SYSTEM_FIELDS}
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
        record.setdefault("FullyQualifiedName", record["DisplayName"])
        record.setdefault("Job", False)
        record.setdefault("BillWithParent", False)
        record.setdefault("BalanceWithJobs", 0)
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
        record.setdefault("FullyQualifiedName", record["Name"])
        record.setdefault("UnitPrice", 0)
        record.setdefault("Taxable", False)
        record.setdefault("TrackQtyOnHand", False)
    elif entity == "Account":
        if not record.get("Name"):
            raise errors.required_param_missing("Name")
        record.setdefault("AccountType", "Income")
        record.setdefault("FullyQualifiedName", record["Name"])
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
    return refs


def _ref(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    if isinstance(value, dict):
        return str(value.get("value") or "")
    return ""


def apply_update(current: dict[str, Any], data: dict[str, Any], *, sparse: bool) -> dict[str, Any]:
    """The writable fields after an update, without Id/SyncToken/MetaData.

    A sparse update changes only the fields sent; a full update replaces every writable field, so
    fields left out are cleared (and then completed again like a new record).
    """
    changes = {key: value for key, value in data.items() if key not in _SYSTEM_FIELDS}
    if not sparse:
        return changes
    kept = {key: value for key, value in current.items() if key not in _SYSTEM_FIELDS}
    return {**kept, **changes}
