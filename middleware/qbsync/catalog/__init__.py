"""The QuickBooks Online object catalog: the entities Intuit's webhooks report and their fields.

`qbo_catalog.json` next to this module is the one source of truth for both halves:
`scripts/sync-catalog` copies its bytes into the Salesforce package as the static resource
`QBSync_Catalog`, which Apex serves to the QB Setup components (QBCatalogController) and checks
field mappings against (QBMappingService), and the middleware validates the mappings it reads
from Salesforce against it (`Catalog.validate_mapping`). Besides its fields, an entity may list path
patterns (`qbsync.catalog.paths`) for list items such as custom fields, and collections: the
lists (transaction lines) whose items line mappings map to a child object, each with the fields of
one item (`Catalog.validate_line_mapping`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from importlib import resources
from typing import Any

from qbsync.catalog.paths import is_path, path_matches

__all__ = [
    "FIELD_TYPES",
    "Catalog",
    "CatalogError",
    "Collection",
    "Entity",
    "Field",
    "RecommendedField",
    "RecommendedLines",
    "RecommendedMapping",
    "is_path",
    "load_catalog",
    "parse_catalog",
    "path_matches",
]

CATALOG_FILE = "qbo_catalog.json"

# A reference field holds {"value": <QuickBooks id>, "name": ...}; the worker maps its `.value`.
FIELD_TYPES = frozenset(
    {"string", "boolean", "decimal", "integer", "date", "datetime", "reference"}
)
# The id inside a reference: `CustomerRef.value` names the same reference as `CustomerRef`.
REFERENCE_ID = ".value"
OPERATIONS = frozenset({"Create", "Update", "Delete", "Merge", "Void", "Emailed"})
DELETE_BEHAVIORS = frozenset({"Delete", "Deactivate", "Ignore"})


class CatalogError(ValueError):
    """The catalog document does not have the documented shape; the message says where."""


@dataclass(frozen=True)
class Field:
    """One mappable QuickBooks field, addressed by its dotted path (`BillAddr.City`).

    An entity's path patterns are Fields too: their `path` is the pattern
    (`CustomField[Name=*].StringValue`) and describes every path it matches.
    """

    path: str
    label: str
    type: str
    max_length: int | None = None
    reference_to: str | None = None  # the catalog entity a `reference` field points at

    @property
    def is_reference(self) -> bool:
        return self.type == "reference"


def _match(by_path: Mapping[str, Field], patterns: tuple[Field, ...], path: str) -> Field | None:
    """A field by exact path, else the first pattern matching it, else (for `XRef.value`) the
    reference `XRef` whose id it is."""

    def field_or_pattern(candidate: str) -> Field | None:
        return by_path.get(candidate) or next(
            (p for p in patterns if path_matches(p.path, candidate)), None
        )

    entry = field_or_pattern(path)
    if entry is None and path.endswith(REFERENCE_ID):
        base = field_or_pattern(path[: -len(REFERENCE_ID)])
        entry = base if base is not None and base.is_reference else None
    return entry


def _property(path: str) -> str:
    """The record property a path starts in: `Line[DetailType=X].Amount` → `Line`."""
    return path.split(".", 1)[0].split("[", 1)[0]


@dataclass(frozen=True)
class Collection:
    """A list of a record whose items a line mapping maps, one Salesforce record per item.

    `path` names the list and may select its items (`Line[DetailType=SalesItemLineDetail]`);
    the fields' paths are relative to one item (`Amount`, `SalesItemLineDetail.ItemRef`).
    """

    path: str
    label: str
    fields: tuple[Field, ...]
    patterns: tuple[Field, ...] = ()
    _by_path: dict[str, Field] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_path", {f.path: f for f in self.fields})

    def match(self, path: str) -> Field | None:
        """The entry a path relative to one item names, as `Entity.match` does for records."""
        return _match(self._by_path, self.patterns, path)


@dataclass(frozen=True)
class Entity:
    """A QuickBooks entity, the webhook operations Intuit reports for it, and its fields."""

    name: str
    label: str
    operations: tuple[str, ...]
    cdc: bool
    fields: tuple[Field, ...]
    patterns: tuple[Field, ...] = ()
    collections: tuple[Collection, ...] = ()
    _by_path: dict[str, Field] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_path", {f.path: f for f in self.fields})

    def field(self, path: str) -> Field | None:
        """The field at `path`, matched exactly: QuickBooks JSON keys are case-sensitive."""
        return self._by_path.get(path)

    def match(self, path: str) -> Field | None:
        """The catalog entry `path` names: a field, else the first pattern matching it, else (for
        `XRef.value`) the reference `XRef` whose id it is, as the worker reads references."""
        return _match(self._by_path, self.patterns, path)

    def collection(self, path: str) -> Collection | None:
        """The collection listed at `path` (`Line[DetailType=SalesItemLineDetail]`), exactly."""
        return next((c for c in self.collections if c.path == path), None)

    def in_collection(self, path: str) -> Collection | None:
        """The collection whose items `path` reaches into (`Line[DetailType=X].Amount`), if any:
        such a path is mapped by a line mapping, not as a field of the record."""
        return next((c for c in self.collections if _property(c.path) == _property(path)), None)

    @property
    def deletes_by_deactivating(self) -> bool:
        """A name-list entity (it has a boolean `Active`): QuickBooks "deletes" its records by
        making them inactive, and a plain query leaves inactive ones out (Intuit blog,
        2017-02-08, deep-dive-sql-queries)."""
        active = self.field("Active")
        return active is not None and active.type == "boolean"


@dataclass(frozen=True)
class RecommendedField:
    qb_field: str
    salesforce_field: str


@dataclass(frozen=True)
class RecommendedLines:
    """A default line mapping: the items of `collection_path` as records of `salesforce_object`,
    each referring to the parent record through `parent_field`."""

    collection_path: str
    salesforce_object: str
    external_id_field: str
    parent_field: str
    fields: tuple[RecommendedField, ...]


@dataclass(frozen=True)
class RecommendedMapping:
    """A default object mapping the QB Setup app offers under "Use recommended mappings"."""

    qb_object: str
    salesforce_object: str
    external_id_field: str
    delete_behavior: str
    fields: tuple[RecommendedField, ...]
    lines: tuple[RecommendedLines, ...] = ()


@dataclass(frozen=True)
class Catalog:
    version: int
    entities: tuple[Entity, ...]
    recommended: tuple[RecommendedMapping, ...]
    _by_name: dict[str, Entity] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {e.name.lower(): e for e in self.entities})

    @property
    def entity_names(self) -> tuple[str, ...]:
        """Canonical entity names, in catalog order."""
        return tuple(e.name for e in self.entities)

    def entity(self, name: str) -> Entity | None:
        """The entity called `name`, ignoring case (CloudEvents types say `salesreceipt`)."""
        return self._by_name.get(name.strip().lower()) if name else None

    def validate_object(self, qb_object: str) -> str | None:
        """None when `qb_object` names a catalog entity (any case), else why not."""
        if self.entity(qb_object or "") is not None:
            return None
        return (
            f"Unknown QuickBooks object '{qb_object or ''}'; "
            f"expected one of: {', '.join(self.entity_names)}."
        )

    def validate_mapping(self, qb_object: str, qb_field: str) -> str | None:
        """None when `qb_field` is a path the catalog knows on entity `qb_object`, else why not.

        QBCatalog.validateMapping (Apex) gives the same answers, word for word: both pass the
        cases of tests/fixtures/catalog/path_cases.json.
        """
        problem = self.validate_object(qb_object)
        entity = self.entity(qb_object or "")
        if entity is None:
            return problem
        return _field_problem(
            entity,
            qb_field,
            where=entity.name,
            mapping="a mapping",
            unknown_on=f"QuickBooks object {entity.name}",
        )

    def validate_collection(self, qb_object: str, collection_path: str) -> str | None:
        """None when `collection_path` is a collection the catalog lists on `qb_object`."""
        problem = self.validate_object(qb_object)
        entity = self.entity(qb_object or "")
        if entity is None:
            return problem
        if entity.collection(collection_path or "") is not None:
            return None
        known = ", ".join(c.path for c in entity.collections) or "none"
        return (
            f"Unknown collection '{collection_path or ''}' on QuickBooks object {entity.name}; "
            f"its collections: {known}."
        )

    def validate_line_mapping(
        self, qb_object: str, collection_path: str, qb_field: str
    ) -> str | None:
        """None when `qb_field`, relative to one item of the collection, is a path the catalog
        knows, else why not (the line mapping's counterpart of `validate_mapping`)."""
        problem = self.validate_collection(qb_object, collection_path)
        if problem is not None:
            return problem
        collection = self.entity(qb_object).collection(collection_path)
        where = f"{collection_path} of {self.entity(qb_object).name}"
        return _field_problem(
            collection,
            qb_field,
            where=where,
            mapping="a line mapping",
            unknown_on=f"the items of {where}",
        )


def _field_problem(
    owner: Entity | Collection, qb_field: str, *, where: str, mapping: str, unknown_on: str
) -> str | None:
    """None when `owner` (an entity, or a collection for line mappings) knows `qb_field`, else
    why not, in the words the Apex QBCatalog uses too."""
    if not qb_field or not qb_field.strip():
        return f"QuickBooks field is empty in {mapping} for {where}."
    if not is_path(qb_field):
        return (
            f"QuickBooks field '{qb_field}' on {where} is not a field path: names "
            "joined by dots, each optionally selecting list items by [Member=Value]."
        )
    if owner.match(qb_field) is not None:
        return None
    return f"Unknown field '{qb_field}' on {unknown_on}" + (_hint(owner.fields, qb_field) or ".")


def _hint(fields: tuple[Field, ...], qb_field: str) -> str:
    """A suggestion for the mistake we expect most: the right field in the wrong case."""
    folded = qb_field.lower()
    for candidate in fields:
        if candidate.path.lower() == folded:
            return f"; did you mean '{candidate.path}'?"
    return ""


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key) if isinstance(data, Mapping) else None
    # bool is an int subclass: a `true` version or maxLength is a mistake, not a number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CatalogError(f"{where}: {key!r} is missing or not a {_kind_name(kind)}.")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _parse_field(raw: Mapping[str, Any], where: str, key: str = "path") -> Field:
    path = _require(raw, key, str, where)
    where = f"{where} {'field' if key == 'path' else key} {path!r}"
    if not is_path(path):
        raise CatalogError(f"{where}: not a path in the documented syntax.")
    type_ = _require(raw, "type", str, where)
    if type_ not in FIELD_TYPES:
        raise CatalogError(f"{where}: type {type_!r} is not one of {sorted(FIELD_TYPES)}.")
    max_length = raw.get("maxLength")
    if max_length is not None:
        max_length = _require(raw, "maxLength", int, where)
    reference_to = raw.get("referenceTo")
    if (type_ == "reference") != (reference_to is not None):
        raise CatalogError(f"{where}: 'referenceTo' is required for, and only for, references.")
    return Field(path, _require(raw, "label", str, where), type_, max_length, reference_to)


def _parse_entity(raw: Mapping[str, Any]) -> Entity:
    name = _require(raw, "name", str, "entity")
    where = f"entity {name!r}"
    operations = tuple(_require(raw, "operations", list, where))
    unknown_ops = set(operations) - OPERATIONS
    if unknown_ops:
        raise CatalogError(f"{where}: unknown operations {sorted(unknown_ops)}.")
    fields = tuple(_parse_field(f, where) for f in _require(raw, "fields", list, where))
    if len({f.path for f in fields}) != len(fields):
        raise CatalogError(f"{where}: a field path is listed twice.")
    # Optional: most entities have no list items to describe.
    raw_patterns = _require(raw, "patterns", list, where) if "patterns" in raw else []
    patterns = tuple(_parse_field(p, where, key="pattern") for p in raw_patterns)
    if len({p.path for p in patterns}) != len(patterns):
        raise CatalogError(f"{where}: a pattern is listed twice.")
    for pattern in patterns:
        shadowed = [f.path for f in fields if path_matches(pattern.path, f.path)]
        if shadowed:
            # Fields are looked up first: the pattern's label and type would never apply.
            raise CatalogError(f"{where}: pattern {pattern.path!r} matches field {shadowed[0]!r}.")
    raw_collections = _require(raw, "collections", list, where) if "collections" in raw else []
    collections = tuple(_parse_collection(c, where) for c in raw_collections)
    if len({c.path for c in collections}) != len(collections):
        raise CatalogError(f"{where}: a collection is listed twice.")
    return Entity(
        name=name,
        label=_require(raw, "label", str, where),
        operations=operations,
        cdc=_require(raw, "cdc", bool, where),
        fields=fields,
        patterns=patterns,
        collections=collections,
    )


def _parse_collection(raw: Mapping[str, Any], where: str) -> Collection:
    path = _require(raw, "path", str, f"{where} collection")
    where = f"{where} collection {path!r}"
    if not is_path(path):
        raise CatalogError(f"{where}: not a path in the documented syntax.")
    fields = tuple(_parse_field(f, where) for f in _require(raw, "fields", list, where))
    if len({f.path for f in fields}) != len(fields):
        raise CatalogError(f"{where}: a field path is listed twice.")
    raw_patterns = _require(raw, "patterns", list, where) if "patterns" in raw else []
    patterns = tuple(_parse_field(p, where, key="pattern") for p in raw_patterns)
    return Collection(path, _require(raw, "label", str, where), fields, patterns)


def _parse_recommended(
    raw: Mapping[str, Any], catalog_entities: dict[str, Entity]
) -> RecommendedMapping:
    qb_object = _require(raw, "qbObject", str, "recommended mapping")
    where = f"recommended mapping for {qb_object!r}"
    entity = catalog_entities.get(qb_object)
    if entity is None:
        raise CatalogError(f"{where}: {qb_object!r} is not a catalog entity.")
    delete_behavior = _require(raw, "deleteBehavior", str, where)
    if delete_behavior not in DELETE_BEHAVIORS:
        raise CatalogError(f"{where}: deleteBehavior {delete_behavior!r} is not allowed.")
    fields = []
    for item in _require(raw, "fields", list, where):
        qb_field = _require(item, "qbField", str, where)
        if entity.field(qb_field) is None:
            raise CatalogError(f"{where}: {qb_field!r} is not a field of {qb_object}.")
        fields.append(RecommendedField(qb_field, _require(item, "salesforceField", str, where)))
    raw_lines = _require(raw, "lines", list, where) if "lines" in raw else []
    return RecommendedMapping(
        qb_object=qb_object,
        salesforce_object=_require(raw, "salesforceObject", str, where),
        external_id_field=_require(raw, "externalIdField", str, where),
        delete_behavior=delete_behavior,
        fields=tuple(fields),
        lines=tuple(_parse_recommended_lines(item, entity, where) for item in raw_lines),
    )


def _parse_recommended_lines(
    raw: Mapping[str, Any], entity: Entity, where: str
) -> RecommendedLines:
    path = _require(raw, "collectionPath", str, f"{where} lines")
    collection = entity.collection(path)
    if collection is None:
        raise CatalogError(f"{where}: {path!r} is not a collection of {entity.name}.")
    where = f"{where} lines {path!r}"
    fields = []
    for item in _require(raw, "fields", list, where):
        qb_field = _require(item, "qbField", str, where)
        if collection.match(qb_field) is None:
            raise CatalogError(f"{where}: {qb_field!r} is not a field of its items.")
        fields.append(RecommendedField(qb_field, _require(item, "salesforceField", str, where)))
    return RecommendedLines(
        collection_path=path,
        salesforce_object=_require(raw, "salesforceObject", str, where),
        external_id_field=_require(raw, "externalIdField", str, where),
        parent_field=_require(raw, "parentField", str, where),
        fields=tuple(fields),
    )


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build a `Catalog` from the JSON document, rejecting anything off the documented shape."""
    version = _require(data, "version", int, "catalog")
    entities = tuple(_parse_entity(e) for e in _require(data, "entities", list, "catalog"))
    by_name = {e.name: e for e in entities}
    if len({name.lower() for name in by_name}) != len(entities):
        raise CatalogError("catalog: an entity name is listed twice (names are case-insensitive).")
    for entity in entities:
        described = entity.fields + entity.patterns
        for collection in entity.collections:
            described += collection.fields + collection.patterns
        for f in described:
            if f.reference_to is not None and f.reference_to not in by_name:
                raise CatalogError(
                    f"entity {entity.name!r} field {f.path!r}: "
                    f"referenceTo {f.reference_to!r} is not a catalog entity."
                )
    recommended = tuple(
        _parse_recommended(r, by_name) for r in _require(data, "recommended", list, "catalog")
    )
    return Catalog(version=version, entities=entities, recommended=recommended)


@cache
def load_catalog() -> Catalog:
    """The packaged catalog, parsed once per process."""
    text = resources.files(__name__).joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
