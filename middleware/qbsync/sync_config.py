"""A realm's sync configuration, read from the Salesforce package's records.

One SOQL query per realm reads every object mapping with its field mappings and the company's
status (the brief's contract query). Each mapping is checked against the QuickBooks catalog:
an object the catalog does not know makes the mapping unusable (its events fail with the reason);
a field mapping the catalog cannot resolve is left out and named in every sync log of that object.
A line mapping (a row with Parent_Mapping__c, contract-10) is linked to its parent by that id and
checked against the catalog's collection; one that cannot be used is left out and named the same way.

`SyncConfigStore` caches the result per realm and reads it again after `config_ttl_seconds`, or at
once when the configuration signal's generation moved (Salesforce called /api/config-changed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from qbsync.mapping import FieldMapping, LineMapping, ObjectMapping, ParentTarget
from qbsync.matching import parse_match_rules
from qbsync.remotes import Salesforce
from qbsync.salesforce.schema import DELETE_BEHAVIORS, TRANSFORMS, is_api_name

CONFIG_QUERY = (
    "SELECT Id, QB_Object__c, Salesforce_Object__c, External_Id_Field__c, Realtime_Enabled__c, "
    "Delete_Behavior__c, Field_Mapping_Count__c, Parent_Mapping__c, Collection_Path__c, "
    "Parent_Field__c, Match_Rules__c, Company__r.Realm_Id__c, Company__r.Status__c, "
    "(SELECT Id, QB_Field__c, Salesforce_Field__c, Transform__c, Default_Value__c "
    "FROM Field_Mappings__r) "
    "FROM QB_Object_Mapping__c WHERE Company__r.Realm_Id__c = '{realm}'"
)

CONNECTED = "Connected"
# A record's lines are mapped by line mappings, never as fields of the record: a header path into
# them would pick one line out of many.
LINES_PROPERTY = "Line"


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

    def skip_reason(self, entity: str) -> str | None:
        """Why the events of `entity` are not synced (None: they are): not mapped, no field
        mappings, or not real-time enabled. The worker's batches and its claims (which settle
        such events at once, `qbsync.store.ledger.SkipRules`) ask the same question here."""
        mapping = self.mapping(entity)
        if mapping is None:
            return f"not mapped: QuickBooks {entity} has no object mapping"
        if not mapping.field_mappings and not mapping.problems:
            return f"no field mappings: QuickBooks {entity} has no field mappings"
        if not mapping.realtime_enabled:
            return f"not real-time enabled: QuickBooks {entity} is not enabled"
        return None

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

    def validate_collection(self, qb_object: str, collection_path: str) -> str | None: ...

    def validate_line_mapping(
        self, qb_object: str, collection_path: str, qb_field: str
    ) -> str | None: ...


def soql_literal(value: str) -> str:
    """`value` escaped for use inside single quotes in SOQL."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def config_query(realm_id: str) -> str:
    return CONFIG_QUERY.format(realm=soql_literal(realm_id))


def _field_mapping(
    row: Mapping[str, Any], entity: Any, catalog: CatalogLike, collection: Any = None
) -> tuple[FieldMapping | None, str | None]:
    """A FieldMapping from one child row, or None and the reason it is left out.

    With `collection` (a line mapping's), the path is relative to one item of it.
    """
    qb_field = (row.get("QB_Field__c") or "").strip()
    sf_field = (row.get("Salesforce_Field__c") or "").strip()
    label = f"{qb_field or '?'} → {sf_field or '?'}"
    if not qb_field or not sf_field:
        return None, f"field mapping {label} is incomplete"
    transform = row.get("Transform__c") or None
    if transform is not None and transform not in TRANSFORMS:
        return None, f"field mapping {label} has unknown Transform__c {transform!r}"
    if collection is None:
        problem = catalog.validate_mapping(entity.name, qb_field)
        known = entity
    else:
        problem = catalog.validate_line_mapping(entity.name, collection.path, qb_field)
        known = collection
    if problem is not None:
        return None, f"field mapping {label}: {problem}"
    # A known path: a field, the id inside a reference (`CustomerRef.value`), or a pattern
    # (`CustomField[Name=…]…`: the first item with that name).
    catalog_field = known.match(qb_field)
    if collection is None and _is_lines_path(entity, qb_field):
        return None, (
            f"field mapping {label}: {qb_field} picks one of the record's lines; map lines "
            "with a line mapping"
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


def _is_lines_path(entity: Any, qb_field: str) -> bool:
    return (
        entity.in_collection(qb_field) is not None
        or qb_field.split(".", 1)[0].split("[", 1)[0] == LINES_PROPERTY
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
    problems.extend(_api_name_problems(row, ("Salesforce_Object__c", "External_Id_Field__c")))
    match_rules, unknown_rules = parse_match_rules(row.get("Match_Rules__c"))
    warnings.extend(unknown_rules)
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
        match_rules=match_rules,
    )


def _api_name_problems(row: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    problems = []
    for name in names:
        value = (row.get(name) or "").strip()
        if not value:
            problems.append(f"{name} is empty")
        elif not is_api_name(value):
            # They go into URLs and SOQL (the worker's queries for existing lines).
            problems.append(f"{name} {value!r} is not a Salesforce API name")
    return problems


def parse_line_mapping(
    row: Mapping[str, Any], parent: ObjectMapping, catalog: CatalogLike
) -> tuple[LineMapping | None, list[str]]:
    """A LineMapping from one row of `CONFIG_QUERY` whose Parent_Mapping__c is `parent`'s, and
    what is wrong with it: it is None when it cannot be used; else the messages name the
    field mappings left out."""
    path = (row.get("Collection_Path__c") or "").strip()
    entity = catalog.entity(parent.qb_object)
    problem = catalog.validate_collection(parent.qb_object, path)
    if entity is None or problem is not None:
        return None, [problem or "unknown QuickBooks object"]
    collection = entity.collection(path)
    problems = _api_name_problems(
        row, ("Salesforce_Object__c", "External_Id_Field__c", "Parent_Field__c")
    )
    field_mappings, warnings = [], []
    for child in _child_rows(row):
        fm, reason = _field_mapping(child, entity, catalog, collection)
        if fm is None:
            warnings.append(f"{reason}; left out")
        else:
            field_mappings.append(fm)
    if warnings and not field_mappings:
        problems.append("no field mapping can be used: " + "; ".join(warnings))
    if problems:
        return None, problems
    lines = LineMapping(
        collection_path=path,
        salesforce_object=row["Salesforce_Object__c"].strip(),
        external_id_field=row["External_Id_Field__c"].strip(),
        parent_field=row["Parent_Field__c"].strip(),
        field_mappings=tuple(field_mappings),
        id=row.get("Id"),
    )
    return lines, warnings


def _with_lines(
    parent: ObjectMapping, rows: Sequence[Mapping[str, Any]], catalog: CatalogLike
) -> ObjectMapping:
    """`parent` with its usable line mappings; the others named in its warnings."""
    lines, warnings = [], list(parent.warnings)
    for row in rows:
        line_mapping, messages = parse_line_mapping(row, parent, catalog)
        label = f"line mapping {(row.get('Collection_Path__c') or '?').strip()}"
        if line_mapping is None:
            warnings.append(f"{label} cannot be used: {'; '.join(messages)}; left out")
            continue
        lines.append(line_mapping)
        warnings.extend(f"{label}: {message}" for message in messages)
    return replace(parent, line_mappings=tuple(lines), warnings=tuple(warnings))


def parse_realm_config(
    realm_id: str, rows: Sequence[Mapping[str, Any]], catalog: CatalogLike
) -> RealmConfig:
    """RealmConfig from the rows of `config_query(realm_id)`: top-level mappings by entity, each
    with the line mappings whose Parent_Mapping__c is its Id."""
    status = None
    mappings: dict[str, ObjectMapping] = {}
    line_rows: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        company = row.get("Company__r") or {}
        status = company.get("Status__c") or status
        parent_id = row.get("Parent_Mapping__c")
        if parent_id:
            line_rows.setdefault(parent_id, []).append(row)
            continue
        mapping = parse_object_mapping(row, catalog)
        mappings[mapping.qb_object.lower()] = mapping
    for key, mapping in mappings.items():
        children = line_rows.get(mapping.id or "")
        if children and not mapping.problems:
            mappings[key] = _with_lines(mapping, children, catalog)
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
        self._generation = 0  # the signal's generation at the last `get`

    def get(self, realm_id: str) -> RealmConfig:
        """The realm's configuration; queries Salesforce when stale (errors propagate)."""
        now = self._clock()
        generation = self._generation = self._signal.generation()
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

    def fresh(self) -> tuple[int, dict[str, RealmConfig]]:
        """The cached configurations `get` would return without a query, as long as the signal
        is still at the generation this returns (the caller checks it: no read here)."""
        now = self._clock()
        return self._generation, {
            realm_id: cached.config
            # A copy: the lanes' `get` may add a realm meanwhile.
            for realm_id, cached in list(self._cache.items())
            if cached.generation == self._generation
            and (now - cached.loaded_at).total_seconds() < self._ttl
        }

    def invalidate(self, realm_id: str) -> None:
        """Forget the realm's cached configuration (e.g. after changing its company status)."""
        self._cache.pop(realm_id, None)
