"""Standard objects and system fields, with the lengths Salesforce documents.

Sources: Object Reference for Account, Contact, Product2 and User
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/);
compound-address parts: Street TextArea(255), City 40, State 80, PostalCode 20, Country 80.
"""

from __future__ import annotations

from qbsync_sandbox.emulators.salesforce.schema import FieldDef, ObjectDef

ORG_ID_PREFIX = "00D"
USER_PREFIX = "005"
PERMISSION_SET_PREFIX = "0PS"
ASSIGNMENT_PREFIX = "0Pa"
# The Apex reference's ActionableNotification example: withNotificationTypeId('0MLXXXXXXXXXXXX4AC').
NOTIFICATION_TYPE_PREFIX = "0ML"


def _system_fields(obj: ObjectDef, *, owner: bool = True) -> None:
    obj.add(FieldDef("Id", f"{obj.label} ID", "Id", length=18, system=True))
    obj.add(FieldDef("IsDeleted", "Deleted", "Checkbox", system=True, default=False))
    for name, label in (
        ("CreatedDate", "Created Date"),
        ("LastModifiedDate", "Last Modified Date"),
    ):
        obj.add(FieldDef(name, label, "DateTime", system=True))
    obj.add(FieldDef("SystemModstamp", "System Modstamp", "DateTime", system=True))
    for name, label, rel in (
        ("CreatedById", "Created By ID", "CreatedBy"),
        ("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
    ):
        obj.add(
            FieldDef(
                name, label, "Lookup", reference_to=["User"], relationship_name=rel, system=True
            )
        )
    if owner:
        obj.add(
            FieldDef(
                "OwnerId",
                "Owner ID",
                "Lookup",
                reference_to=["User"],
                relationship_name="Owner",
                defaulted_on_create=True,
            )
        )


# Compound address parts and the keys of the compound value (SOAP API guide, "Address Compound
# Fields"): Street, City, State, PostalCode, Country, Latitude, Longitude, GeocodeAccuracy.
ADDRESS_PARTS = {
    "Street": "street",
    "City": "city",
    "State": "state",
    "PostalCode": "postalCode",
    "Country": "country",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "GeocodeAccuracy": "geocodeAccuracy",
}
_GEOCODE_ACCURACY = [
    "Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood", "City",
    "County", "State", "Unknown",
]  # fmt: skip


def _address(obj: ObjectDef, prefix: str, label: str) -> None:
    compound = f"{prefix}Address"
    parts = [
        FieldDef(f"{prefix}Street", f"{label} Street", "TextArea", length=255),
        FieldDef(f"{prefix}City", f"{label} City", "Text", length=40),
        FieldDef(f"{prefix}State", f"{label} State/Province", "Text", length=80),
        FieldDef(f"{prefix}PostalCode", f"{label} Zip/Postal Code", "Text", length=20),
        FieldDef(f"{prefix}Country", f"{label} Country", "Text", length=80),
        FieldDef(f"{prefix}Latitude", f"{label} Latitude", "Number", precision=18, scale=15),
        FieldDef(f"{prefix}Longitude", f"{label} Longitude", "Number", precision=18, scale=15),
        FieldDef(
            f"{prefix}GeocodeAccuracy",
            f"{label} Geocode Accuracy",
            "Picklist",
            length=40,
            picklist_values=_GEOCODE_ACCURACY,
            restricted=True,
        ),
    ]
    for part in parts:
        part.compound_field_name = compound
        obj.add(part)
    obj.add(FieldDef(compound, f"{label} Address", "Address"))


def _account() -> ObjectDef:
    obj = ObjectDef("Account", "Account", "Accounts", "001", custom=False)
    _system_fields(obj)
    obj.add(FieldDef("Name", "Account Name", "Text", length=255, required=True))
    obj.add(FieldDef("AccountNumber", "Account Number", "Text", length=40))
    obj.add(FieldDef("Site", "Account Site", "Text", length=80))
    obj.add(FieldDef("Phone", "Account Phone", "Phone", length=40))
    obj.add(FieldDef("Fax", "Account Fax", "Phone", length=40))
    obj.add(FieldDef("Website", "Website", "Url", length=255))
    obj.add(FieldDef("Description", "Account Description", "LongTextArea", length=32000))
    obj.add(FieldDef("Sic", "SIC Code", "Text", length=20))
    obj.add(FieldDef("TickerSymbol", "Ticker Symbol", "Text", length=20))
    obj.add(FieldDef("AnnualRevenue", "Annual Revenue", "Currency", precision=18, scale=0))
    obj.add(FieldDef("NumberOfEmployees", "Employees", "Number", precision=8, scale=0))
    _address(obj, "Billing", "Billing")
    _address(obj, "Shipping", "Shipping")
    obj.add(
        FieldDef(
            "ParentId",
            "Parent Account ID",
            "Lookup",
            reference_to=["Account"],
            relationship_name="Parent",
            child_relationship_name="ChildAccounts",
        )
    )
    obj.add(
        FieldDef(
            "Type",
            "Account Type",
            "Picklist",
            length=255,
            picklist_values=[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ],
        )
    )
    obj.add(
        FieldDef(
            "Industry",
            "Industry",
            "Picklist",
            length=255,
            picklist_values=[
                "Agriculture",
                "Apparel",
                "Banking",
                "Construction",
                "Consulting",
                "Education",
                "Electronics",
                "Finance",
                "Healthcare",
                "Manufacturing",
                "Retail",
                "Technology",
                "Other",
            ],
        )
    )
    return obj


def _contact() -> ObjectDef:
    obj = ObjectDef("Contact", "Contact", "Contacts", "003", custom=False)
    _system_fields(obj)
    obj.add(FieldDef("LastName", "Last Name", "Text", length=80, required=True))
    obj.add(FieldDef("FirstName", "First Name", "Text", length=40))
    obj.add(
        FieldDef(
            "Salutation",
            "Salutation",
            "Picklist",
            length=255,
            picklist_values=["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."],
        )
    )
    # Name is compound and read-only: FirstName + LastName.
    obj.add(
        FieldDef(
            "Name", "Full Name", "Formula", length=121, formula="TRIM(FirstName & ' ' & LastName)"
        )
    )
    obj.add(FieldDef("Email", "Email", "Email", length=80))
    obj.add(FieldDef("Phone", "Business Phone", "Phone", length=40))
    obj.add(FieldDef("MobilePhone", "Mobile Phone", "Phone", length=40))
    obj.add(FieldDef("Fax", "Business Fax", "Phone", length=40))
    obj.add(FieldDef("Title", "Title", "Text", length=128))
    obj.add(FieldDef("Department", "Department", "Text", length=80))
    obj.add(FieldDef("Birthdate", "Birthdate", "Date"))
    obj.add(FieldDef("Description", "Contact Description", "LongTextArea", length=32000))
    obj.add(
        FieldDef(
            "AccountId",
            "Account ID",
            "Lookup",
            reference_to=["Account"],
            relationship_name="Account",
            child_relationship_name="Contacts",
        )
    )
    _address(obj, "Mailing", "Mailing")
    _address(obj, "Other", "Other")
    return obj


def _product() -> ObjectDef:
    obj = ObjectDef("Product2", "Product", "Products", "01t", custom=False)
    _system_fields(obj, owner=False)
    obj.add(FieldDef("Name", "Product Name", "Text", length=255, required=True))
    obj.add(FieldDef("ProductCode", "Product Code", "Text", length=255))
    obj.add(FieldDef("Description", "Product Description", "TextArea", length=4000))
    obj.add(FieldDef("IsActive", "Active", "Checkbox", default=False, defaulted_on_create=True))
    obj.add(FieldDef("Family", "Product Family", "Picklist", length=255, picklist_values=["None"]))
    obj.add(FieldDef("StockKeepingUnit", "Product SKU", "Text", length=180))
    obj.add(FieldDef("ExternalId", "External ID", "Text", length=255))
    obj.add(
        FieldDef(
            "QuantityUnitOfMeasure",
            "Quantity Unit Of Measure",
            "Picklist",
            length=255,
            picklist_values=["Each"],
        )
    )
    return obj


def _user() -> ObjectDef:
    obj = ObjectDef("User", "User", "Users", USER_PREFIX, custom=False)
    _system_fields(obj, owner=False)
    obj.add(FieldDef("Username", "Username", "Text", length=80, required=True, unique=True))
    obj.add(FieldDef("LastName", "Last Name", "Text", length=80, required=True))
    obj.add(FieldDef("FirstName", "First Name", "Text", length=40))
    obj.add(
        FieldDef(
            "Name", "Full Name", "Formula", length=121, formula="TRIM(FirstName & ' ' & LastName)"
        )
    )
    obj.add(FieldDef("Email", "Email", "Email", length=128, required=True))
    obj.add(FieldDef("IsActive", "Active", "Checkbox", default=True))
    return obj


def _organization() -> ObjectDef:
    """The org itself: one record, read-only here (Object Reference, "Organization"); the
    Salesforce CLI reads Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix and
    OrganizationType after a login (@salesforce/core org/determineOrg.js)."""
    obj = ObjectDef("Organization", "Organization", "Organizations", ORG_ID_PREFIX, custom=False)
    _system_fields(obj, owner=False)
    for definition in (
        FieldDef("Name", "Name", "Text", length=80),
        FieldDef("Division", "Division", "Text", length=80),
        FieldDef("InstanceName", "Instance Name", "Text", length=5),
        FieldDef("IsSandbox", "Is Sandbox", "Checkbox", default=False),
        FieldDef(
            "OrganizationType",
            "Edition",
            "Picklist",
            length=40,
            picklist_values=["Developer Edition", "Enterprise Edition", "Unlimited Edition"],
        ),
        FieldDef("NamespacePrefix", "Namespace Prefix", "Text", length=15),
        FieldDef("TrialExpirationDate", "Trial Expiration Date", "DateTime"),
        FieldDef("LanguageLocaleKey", "Language", "Text", length=40),
        FieldDef("DefaultLocaleSidKey", "Locale", "Text", length=40),
        FieldDef("TimeZoneSidKey", "Time Zone", "Text", length=40),
    ):
        definition.system = True  # nothing in the org is writable through this emulator
        obj.add(definition)
    return obj


def _permission_set() -> ObjectDef:
    """The org's permission sets: the emulator's come from force-app (Object Reference,
    "PermissionSet": Name is the API name, NamespacePrefix empty outside a managed package).
    Read-only here: permission sets change only with the package."""
    obj = ObjectDef("PermissionSet", "Permission Set", "Permission Sets", PERMISSION_SET_PREFIX,
                    custom=False)  # fmt: skip
    _system_fields(obj, owner=False)
    for definition in (
        FieldDef("Name", "Name", "Text", length=80),
        FieldDef("Label", "Label", "Text", length=80),
        FieldDef("NamespacePrefix", "Namespace Prefix", "Text", length=15),
        FieldDef("IsOwnedByProfile", "Is Owned By Profile", "Checkbox", default=False),
    ):
        definition.system = True
        obj.add(definition)
    return obj


def _permission_set_assignment() -> ObjectDef:
    """Which user has which permission set (Object Reference, "PermissionSetAssignment"): the
    `sf org assign permset` command inserts one; deleting it removes the grant."""
    obj = ObjectDef("PermissionSetAssignment", "Permission Set Assignment",
                    "Permission Set Assignments", ASSIGNMENT_PREFIX, custom=False)  # fmt: skip
    _system_fields(obj, owner=False)
    obj.add(FieldDef("AssigneeId", "Assignee ID", "Lookup", required=True,
                     reference_to=["User"], relationship_name="Assignee"))  # fmt: skip
    obj.add(FieldDef("PermissionSetId", "Permission Set ID", "Lookup", required=True,
                     reference_to=["PermissionSet"], relationship_name="PermissionSet"))  # fmt: skip
    return obj


def _custom_notification_type() -> ObjectDef:
    """The org's custom notification types: the emulator's come from force-app's
    `notificationtypes/` (Object Reference, "CustomNotificationType": the Send Custom Notification
    action names one by its Id). Read-only here: they change only with the package."""
    obj = ObjectDef("CustomNotificationType", "Custom Notification Type",
                    "Custom Notification Types", NOTIFICATION_TYPE_PREFIX, custom=False)  # fmt: skip
    _system_fields(obj, owner=False)
    for definition in (
        FieldDef("DeveloperName", "Custom Notification Type Name", "Text", length=80),
        FieldDef("MasterLabel", "Label", "Text", length=80),
        FieldDef("CustomNotifTypeName", "Custom Notification Type Name", "Text", length=80),
        FieldDef("Description", "Description", "Text", length=255),
        FieldDef("Desktop", "Desktop", "Checkbox", default=False),
        FieldDef("Mobile", "Mobile", "Checkbox", default=False),
        FieldDef("NamespacePrefix", "Namespace Prefix", "Text", length=15),
    ):
        definition.system = True
        obj.add(definition)
    return obj


# Objects whose describe says createable/deletable false: the API cannot insert or delete them.
NOT_CREATEABLE = frozenset({"User", "Organization", "PermissionSet", "CustomNotificationType"})


def standard_objects() -> list[ObjectDef]:
    """Fresh definitions (callers add the package's custom fields to them)."""
    return [
        _account(),
        _contact(),
        _product(),
        _user(),
        _organization(),
        _permission_set(),
        _permission_set_assignment(),
        _custom_notification_type(),
    ]


def custom_object(name: str, index: int) -> ObjectDef:
    """A custom object with its standard fields; key prefixes a00, a01, … in name order."""
    label = name[:-3].replace("_", " ")
    obj = ObjectDef(name, label, label + "s", f"a{index:02X}", custom=True)
    _system_fields(obj)
    obj.add(FieldDef("Name", f"{label} Name", "Text", length=80, defaulted_on_create=True))
    return obj
