"""`/query?q=…&columns=true`: the columns a query selects, without running it.

UNCONFIRMED: the REST API guide does not document `columns=true`. The shape follows the client that
depends on it, the Salesforce CLI: `sf data query` asks it for any non-empty result and reads
`columnMetadata[]` with `columnName`, `displayName`, `aggregate` and `joinColumns` (parent
relationships nest their fields in `joinColumns`; a child sub-query is an `aggregate` column whose
`joinColumns` are the sub-query's; an aggregate function is an `aggregate` column without
`joinColumns`, named by its alias or `exprN`), as `retrieveColumns` in
@salesforce/plugin-data lib/commands/data/query.js does.
"""

from __future__ import annotations

from qbsync_sandbox.emulators.salesforce import soql
from qbsync_sandbox.emulators.salesforce.describe import describe_field
from qbsync_sandbox.emulators.salesforce.schema import FieldDef, ObjectDef


def _leaf(definition: FieldDef) -> dict:
    described = describe_field(definition)
    kind = described["type"]
    return {
        "aggregate": False,
        "apexType": described["soapType"].split(":")[-1],
        "booleanType": kind == "boolean",
        "columnName": definition.name,
        "custom": definition.custom,
        "displayName": definition.name,
        "foreignKeyName": None,
        "insertable": definition.createable,
        "joinColumns": [],
        "numberType": kind in {"double", "currency", "percent", "int"},
        "textType": described["soapType"] == "xsd:string",
        "updatable": definition.updateable,
    }


def _join(name: str, aggregate: bool) -> dict:
    return {
        "aggregate": aggregate,
        "apexType": None,
        "booleanType": False,
        "columnName": name,
        "custom": name.endswith("__r"),
        "displayName": name,
        "foreignKeyName": None,
        "insertable": False,
        "joinColumns": [],
        "numberType": False,
        "textType": False,
        "updatable": False,
    }


def _columns(executor: soql.Executor, obj: ObjectDef, query: soql.Query) -> list[dict]:
    executor.expand(obj, query)
    columns: list[dict] = []
    unnamed = 0
    for item in query.fields:
        if isinstance(item, soql.Query):
            relationship, child = executor.child_object(obj, item)
            column = _join(relationship.name, aggregate=True)
            column["joinColumns"] = _columns(executor, child, item)
            columns.append(column)
        elif isinstance(item, soql.Aggregate):
            executor.resolve(obj, item.path)
            name = item.alias
            if name is None:
                name, unnamed = f"expr{unnamed}", unnamed + 1
            column = _join(name, aggregate=True)
            column["displayName"] = f"COUNT({item.path.path})"
            columns.append(column)
        elif isinstance(item, soql.FieldPath):
            steps = executor.resolve(obj, item)
            level = columns
            for _step_obj, reference in steps[:-1]:
                name = reference.relationship_name
                join = next((c for c in level if c["columnName"] == name), None)
                if join is None:
                    join = _join(name, aggregate=False)
                    level.append(join)
                level = join["joinColumns"]
            level.append(_leaf(steps[-1][1]))
    return columns


def column_metadata(executor: soql.Executor, query: soql.Query) -> dict:
    """The columns answer for a parsed top-level query (ApiError as the query itself would)."""
    obj = executor.root(query)
    columns = [] if query.count_only else _columns(executor, obj, query)
    return {
        "columnMetadata": columns,
        "entityName": obj.name,
        "groupBy": False,
        "idSelected": any(c["columnName"] == "Id" and not c["joinColumns"] for c in columns),
        "keyPrefix": obj.key_prefix,
    }
