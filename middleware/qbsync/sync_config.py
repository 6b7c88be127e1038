"""A realm's sync configuration, read from the Salesforce package's records.

One SOQL query per realm reads every object mapping with its field mappings and the company's
status (the brief's contract query). Each mapping is checked against the QuickBooks catalog:
an object the catalog does not know makes the mapping unusable (its events fail with the reason);
a field mapping the catalog cannot resolve is left out and named in every sync log of that object.

`SyncConfigStore` caches the result per realm and reads it again after `config_ttl_seconds`, or at
once when the configuration signal's generation moved (Salesforce called /api/config-changed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from qbsync.mapping import FieldMapping, ObjectMapping, ParentTarget
from qbsync.remotes import Salesforce
from qbsync.salesforce.schema import DELETE_BEHAVIORS, TRANSFORMS, is_api_name

CONFIG_QUERY = (
    "SELECT Id, QB_Object__c, Salesforce_Object__c, External_Id_Field__c, Realtime_Enabled__c, "
    "Delete_Behavior__c, Field_Mapping_Count__c, Company__r.Realm_Id__c, Company__r.Status__c, "
    "(SELECT Id, QB_Field__c, Salesforce_Field__c, Transform__c, Default_Value__c "
    "FROM Field_Mappings__r) "
    "FROM QB_Object_Mapping__c WHERE Company__r.Realm_Id__c = '{realm}'"
)

CONNECTED = "Connected"


@dataclass(frozen=True)
class RealmConfig:
    """Everything the worker needs to know about one realm."""

    realm_id: str
    company_status: str | None  # None when no mapping (hence no company) was found
    mappings: Mapping[str, ObjectMapping] = field(default_factory=dict)  # lower-case entity ->

    def mapping(self, entity: str) -> ObjectMapping | None:
        return self.mappings.get(entity.lower())

    @property
    def connected(self) -> bool:
        return self.company_status == CONNECTED

    def parent_targets(self) -> dict[str, ParentTarget]:
        """Salesforce target of every mapped QuickBooks object, for reference lookups."""
        return {
            m.qb_object: ParentTarget(m.salesforce_object, m.external_id_field)
            for m in self.mappings.values()
            if not m.problems
        }


class CatalogLike(Protocol):
    """What is used of `qbsync.catalog.Catalog`."""

    def entity(self, name: str) -> Any: ...

    def validate_mapping(self, qb_object: str, qb_field: str) -> str | None: ...


def soql_literal(value: str) -> str:
    """`value` escaped for use inside single quotes in SOQL."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def config_query(realm_id: str) -> str:
    return CONFIG_QUERY.format(realm=soql_literal(realm_id))


def _field_mapping(
    row: Mapping[str, Any], entity: Any, catalog: CatalogLike
) -> tuple[FieldMapping | None, str | None]:
    """A FieldMapping from one child row, or None and the reason it is left out."""
    qb_field = (row.get("QB_Field__c") or "").strip()
    sf_field = (row.get("Salesforce_Field__c") or "").strip()
    label = f"{qb_field or '?'} → {sf_field or '?'}"
    if not qb_field or not sf_field:
        return None, f"field mapping {label} is incomplete"
    transform = row.get("Transform__c") or None
    if transform is not None and transform not in TRANSFORMS:
        return None, f"field mapping {label} has unknown Transform__c {transform!r}"
    problem = catalog.validate_mapping(entity.name, qb_field)
    if problem is not None:
        return None, f"field mapping {label}: {problem}"
    # A known path: a field, the id inside a reference (`CustomerRef.value`), or a pattern that
    # picks list items (`Line[DetailType=…]…`, `CustomField[Name=…]…`).
    catalog_field = entity.match(qb_field)
    if catalog_field is None or catalog_field in entity.patterns:
        return None, (
            f"field mapping {label}: {qb_field} picks items of a list, which real-time sync "
            "does not map yet"
        )
    reference_to = None
    if catalog_field.type == "reference":
        reference_to = catalog_field.reference_to
    default = row.get("Default_Value__c")
    return (
        FieldMapping(
            qb_field=qb_field,
            salesforce_field=sf_field,
            transform=transform,
            default_value=default if default not in (None, "") else None,
            qb_type=catalog_field.type,
            reference_to=reference_to,
            id=row.get("Id"),
        ),
        None,
    )


def _child_rows(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # A parent-to-child subquery comes back as a nested query result, or null when empty.
    nested = row.get("Field_Mappings__r") or {}
    return list(nested.get("records") or ())


def parse_object_mapping(row: Mapping[str, Any], catalog: CatalogLike) -> ObjectMapping:
    """An ObjectMapping from one row of `CONFIG_QUERY`, validated against the catalog."""
    qb_object = (row.get("QB_Object__c") or "").strip()
    entity = catalog.entity(qb_object)
    problems: list[str] = []
    warnings: list[str] = []
    field_mappings: list[FieldMapping] = []
    children = _child_rows(row)
    if entity is None:
        problems.append(catalog.validate_mapping(qb_object, "Id") or "unknown QuickBooks object")
    else:
        qb_object = entity.name
        for child in children:
            fm, reason = _field_mapping(child, entity, catalog)
            if fm is None:
                warnings.append(f"{reason}; left out")
            else:
                field_mappings.append(fm)
        if children and not field_mappings:
            problems.append("no field mapping can be used: " + "; ".join(warnings))
    behavior = row.get("Delete_Behavior__c") or "Ignore"
    if behavior not in DELETE_BEHAVIORS:
        problems.append(f"unknown Delete_Behavior__c {behavior!r}")
    for name in ("Salesforce_Object__c", "External_Id_Field__c"):
        value = (row.get(name) or "").strip()
        if not value:
            problems.append(f"{name} is empty")
        elif not is_api_name(value):
            # Both go into URLs and SOQL (the delete path's lookup by external id).
            problems.append(f"{name} {value!r} is not a Salesforce API name")
    return ObjectMapping(
        qb_object=qb_object,
        salesforce_object=(row.get("Salesforce_Object__c") or "").strip(),
        external_id_field=(row.get("External_Id_Field__c") or "").strip(),
        realtime_enabled=bool(row.get("Realtime_Enabled__c")),
        delete_behavior=behavior,
        field_mappings=tuple(field_mappings),
        problems=tuple(problems),
        warnings=tuple(warnings),
        id=row.get("Id"),
    )


def parse_realm_config(
    realm_id: str, rows: Sequence[Mapping[str, Any]], catalog: CatalogLike
) -> RealmConfig:
    """RealmConfig from the rows of `config_query(realm_id)`."""
    status = None
    mappings: dict[str, ObjectMapping] = {}
    for row in rows:
        company = row.get("Company__r") or {}
        status = company.get("Status__c") or status
        mapping = parse_object_mapping(row, catalog)
        mappings[mapping.qb_object.lower()] = mapping
    return RealmConfig(realm_id=realm_id, company_status=status, mappings=mappings)


class _ConfigSignal(Protocol):
    def generation(self) -> int: ...


@dataclass
class _Cached:
    config: RealmConfig
    loaded_at: datetime
    generation: int


class SyncConfigStore:
    """Per-realm cache of `RealmConfig`, refreshed by age and by the configuration signal."""

    def __init__(
        self,
        salesforce: Salesforce,
        signal: _ConfigSignal,
        catalog: CatalogLike,
        ttl_seconds: float = 60,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._salesforce = salesforce
        self._signal = signal
        self._catalog = catalog
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, _Cached] = {}

    def get(self, realm_id: str) -> RealmConfig:
        """The realm's configuration; queries Salesforce when stale (errors propagate)."""
        now = self._clock()
        generation = self._signal.generation()
        cached = self._cache.get(realm_id)
        if (
            cached is not None
            and cached.generation == generation
            and (now - cached.loaded_at).total_seconds() < self._ttl
        ):
            return cached.config
        rows = self._salesforce.query_all(config_query(realm_id))
        config = parse_realm_config(realm_id, rows, self._catalog)
        self._cache[realm_id] = _Cached(config, now, generation)
        return config

    def invalidate(self, realm_id: str) -> None:
        """Forget the realm's cached configuration (e.g. after changing its company status)."""
        self._cache.pop(realm_id, None)
