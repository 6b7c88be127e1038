"""What QuickBooks knows about each entity's properties: which exist, which a query may filter or
sort on, which are computed (read-only), and which hold booleans or numbers.

Sources: the Accounting API entity reference (developer.intuit.com …/api/accounting/all-entities)
as mirrored in Intuit's schema (intuit/QuickBooks-V3-Java-SDK `ipp-v3-java-data/src/main/xsd`,
whose "Filterable:" notes are incomplete for QBO) and CData's QuickBooks Online tables, which list
for each column whether QuickBooks filters on it (cdn.cdata.com/help/RNK …/pg_table-customers.htm,
pg_table-items.htm). Intuit's own Fault for a filter on any other property:
`4001 Invalid query / QueryValidationError: property 'PrimaryEmailAddr' is not queryable`
(ruckus/quickbooks-ruby issue #403, a Vendor; intuit/QuickBooks-V3-DotNET-SDK issue #163,
`AcctNum` on Customer, Vendor and Account: "The property which are mentioned as filterable are
only queryable").

The other entities' lists are data in `listed_properties.py`, with their sources; the same
checks apply to every entity (CompanyInfo, read-only here, has none).
"""

from __future__ import annotations

from dataclasses import dataclass

from qbsync_sandbox.emulators.quickbooks import listed_properties

# Every entity: "Id ... Filterable: ALL"; MetaData.CreateTime / LastUpdatedTime "Filterable: ALL,
# Sortable: ALL" (IntuitBaseTypes.xsd).
_UNIVERSAL_QUERYABLE = frozenset({"Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime"})
# Set by QuickBooks on every record; a client may send them back (python-quickbooks does), and
# they are ignored.
SYSTEM = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})

_PERSON = frozenset(
    {"Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "DisplayName",
     "PrintOnCheckName", "Active", "PrimaryPhone", "AlternatePhone", "Mobile", "Fax",
     "PrimaryEmailAddr", "WebAddr", "OtherContactInfo", "CompanyName"}
)  # fmt: skip
_PERSON_QUERYABLE = frozenset(
    {"GivenName", "MiddleName", "FamilyName", "Suffix", "DisplayName", "PrintOnCheckName",
     "CompanyName", "Active"}
)  # fmt: skip


@dataclass(frozen=True)
class EntityProperties:
    known: frozenset[str]  # top-level properties QuickBooks accepts on a write (SYSTEM aside)
    queryable: frozenset[str]  # what WHERE and ORDERBY may name (Id and MetaData times aside)
    read_only: frozenset[str] = frozenset()  # computed by QuickBooks; ignored when sent
    create_only: frozenset[str] = frozenset()  # taken on create, ignored on update
    booleans: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    # Properties `select *` leaves out: python-quickbooks 0.9.12 asks `SELECT *, Sku FROM Item`
    # because, its maintainers found against Intuit's sandbox, `*` alone does not return Sku
    # (routablehq/python-quickbooks issue #373, PR #379). Whether minor version 75 changed that is
    # not public: UNCONFIRMED, the emulator follows the client.
    not_in_star: frozenset[str] = frozenset()

    def is_queryable(self, path: str) -> bool:
        wanted = path.lower()
        return any(wanted == name.lower() for name in self.queryable | _UNIVERSAL_QUERYABLE)


_ENTITIES: dict[str, EntityProperties] = {
    "Customer": EntityProperties(
        known=_PERSON
        | {
            "FullyQualifiedName",
            "DefaultTaxCodeRef",
            "Taxable",
            "BillAddr",
            "ShipAddr",
            "Notes",
            "Job",
            "BillWithParent",
            "ParentRef",
            "Level",
            "SalesTermRef",
            "PaymentMethodRef",
            "Balance",
            "OpenBalanceDate",
            "BalanceWithJobs",
            "CurrencyRef",
            "PreferredDeliveryMethod",
            "ResaleNum",
            "ARAccountRef",
            "PrimaryTaxIdentifier",
            "SecondaryTaxIdentifier",
            "TaxExemptionReasonId",
            "BusinessNumber",
            "GSTIN",
            "GSTRegistrationType",
            "IsProject",
            "CustomerTypeRef",
            "Source",
            "TaxRegime",
            "ClientEntityId",
            "V4IDPseudonym",
        },
        # CData's Customers table: the names, FullyQualifiedName, Active, plus PrimaryEmailAddr
        # and Balance (Intuit's Customer reference marks both filterable, unlike on Vendor).
        queryable=_PERSON_QUERYABLE
        | {
            "FullyQualifiedName",
            "PrimaryEmailAddr",
            "Balance",
            "BalanceWithJobs",
            "Job",
            "ParentRef",
        },
        read_only=frozenset({"FullyQualifiedName", "Level", "BalanceWithJobs", "V4IDPseudonym"}),
        # "For the create operation, this represents the opening balance" (Customer reference).
        create_only=frozenset({"Balance", "OpenBalanceDate"}),
        booleans=frozenset({"Active", "Taxable", "Job", "BillWithParent", "IsProject"}),
        numbers=frozenset({"Balance"}),
    ),
    "Vendor": EntityProperties(
        known=_PERSON
        | {
            "BillAddr",
            "TaxIdentifier",
            "TermRef",
            "Balance",
            "AcctNum",
            "Vendor1099",
            "CurrencyRef",
            "TaxReportingBasis",
            "APAccountRef",
            "BillRate",
            "CostRate",
            "T4AEligible",
            "T5018Eligible",
            "HasTPAR",
            "BusinessNumber",
            "GSTIN",
            "GSTRegistrationType",
            "OpenBalanceDate",
            "Source",
            "VendorPaymentBankDetail",
            "V4IDPseudonym",
        },
        # ruckus/quickbooks-ruby #403 lists every Vendor property that is not filterable;
        # what remains are the names and Active.
        queryable=_PERSON_QUERYABLE,
        read_only=frozenset({"V4IDPseudonym"}),
        create_only=frozenset({"Balance", "OpenBalanceDate"}),
        booleans=frozenset({"Active", "Vendor1099", "T4AEligible", "T5018Eligible", "HasTPAR"}),
        numbers=frozenset({"Balance", "BillRate", "CostRate"}),
    ),
    "Employee": EntityProperties(
        known=_PERSON
        | {
            "EmployeeNumber",
            "SSN",
            "PrimaryAddr",
            "EmailAddress",
            "BillableTime",
            "BillRate",
            "CostRate",
            "BirthDate",
            "Gender",
            "HiredDate",
            "ReleasedDate",
            "Organization",
            "V4IDPseudonym",
        },
        queryable=_PERSON_QUERYABLE,
        read_only=frozenset({"V4IDPseudonym"}),
        booleans=frozenset({"Active", "BillableTime", "Organization"}),
        numbers=frozenset({"BillRate", "CostRate"}),
    ),
    "Item": EntityProperties(
        known=frozenset(
            {
                "Name",
                "Sku",
                "Description",
                "Active",
                "SubItem",
                "ParentRef",
                "Level",
                "FullyQualifiedName",
                "Taxable",
                "SalesTaxIncluded",
                "UnitPrice",
                "Type",
                "IncomeAccountRef",
                "PurchaseDesc",
                "PurchaseTaxIncluded",
                "PurchaseCost",
                "ExpenseAccountRef",
                "AssetAccountRef",
                "PrefVendorRef",
                "TrackQtyOnHand",
                "QtyOnHand",
                "InvStartDate",
                "ReorderPoint",
                "SalesTaxCodeRef",
                "PurchaseTaxCodeRef",
                "ClassRef",
                "AbatementRate",
                "ReverseChargeRate",
                "ServiceType",
                "ItemCategoryType",
                "Source",
                "TaxClassificationRef",
            }
        ),
        # Item reference and Item.xsd: Name, Sku ("Filterable: ALL"), Type, Active;
        # FullyQualifiedName and Description are not (CData's Items table).
        queryable=frozenset({"Name", "Sku", "Type", "Active", "UnitPrice", "QtyOnHand"}),
        read_only=frozenset({"FullyQualifiedName", "Level"}),
        booleans=frozenset(
            {
                "Active",
                "SubItem",
                "Taxable",
                "SalesTaxIncluded",
                "PurchaseTaxIncluded",
                "TrackQtyOnHand",
            }
        ),
        numbers=frozenset({"UnitPrice", "PurchaseCost", "QtyOnHand", "ReorderPoint"}),
        not_in_star=frozenset({"Sku"}),
    ),
    "Account": EntityProperties(
        known=frozenset(
            {
                "Name",
                "AcctNum",
                "FullyQualifiedName",
                "Description",
                "Classification",
                "AccountType",
                "AccountSubType",
                "Active",
                "SubAccount",
                "ParentRef",
                "CurrentBalance",
                "CurrentBalanceWithSubAccounts",
                "CurrencyRef",
                "TaxCodeRef",
                "TxnLocationType",
                "AccountAlias",
            }
        ),
        # AcctNum is not (intuit/QuickBooks-V3-DotNET-SDK #163).
        queryable=frozenset(
            {
                "Name",
                "Active",
                "Classification",
                "AccountType",
                "AccountSubType",
                "FullyQualifiedName",
                "CurrentBalance",
                "CurrentBalanceWithSubAccounts",
            }
        ),
        read_only=frozenset(
            {"FullyQualifiedName", "CurrentBalance", "CurrentBalanceWithSubAccounts"}
        ),
        booleans=frozenset({"Active", "SubAccount"}),
    ),
}


_ENTITIES.update(
    {name: EntityProperties(**rules) for name, rules in listed_properties.ENTITIES.items()}
)


def of(entity: str) -> EntityProperties | None:
    """The rules for `entity` (canonical spelling), or None for an entity without them."""
    return _ENTITIES.get(entity)
