"""Records QuickBooks deleted (or merged away) in Salesforce, as the mapping's
Delete_Behavior__c says: deleted, deactivated or left alone."""

from __future__ import annotations

from qbsync.batch import Batch
from qbsync.mapping import ObjectMapping, SObjectDescribe
from qbsync.outcomes import Done, Fail, from_salesforce
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import external_id
from qbsync.sync_config import soql_literal

# Record-level errors that mean "gone already": a delete that finds nothing to delete is done.
ALREADY_DELETED_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


def apply_deletes(
    salesforce: Salesforce,
    batch: Batch,
    mapping: ObjectMapping,
    describe: SObjectDescribe,
    ids: list[str],
) -> None:
    """Apply Delete_Behavior__c to records QuickBooks deleted (or merged away)."""
    if not ids:
        return
    behavior = mapping.delete_behavior
    if behavior == "Ignore":
        for entity_id in ids:
            batch.settle(entity_id, Done("delete ignored (Delete_Behavior__c)"))
        return
    active = None
    if behavior == "Deactivate":
        active = describe.field(mapping.active_field() or "")
        if active is None:
            reason = (
                "Delete_Behavior__c is Deactivate, but no field mapping from QuickBooks "
                f"Active names a field of {describe.name} to clear"
            )
            for entity_id in ids:
                batch.settle(entity_id, Fail(reason))
            return
    found = _find_in_salesforce(salesforce, batch, mapping, ids)
    if active is None:
        _delete_found(salesforce, batch, found)
    else:
        _deactivate_found(salesforce, batch, mapping, active.name, found)


def _find_in_salesforce(
    salesforce: Salesforce, batch: Batch, mapping: ObjectMapping, ids: list[str]
) -> dict[str, str]:
    """Salesforce Id → QuickBooks id of the records that exist (one SOQL per 200).

    Looking up first means a delete of a record that was never synced changes nothing,
    instead of creating a bare record through an upsert.
    """
    obj, ext = mapping.salesforce_object, mapping.external_id_field
    keys = {external_id(batch.realm_id, mapping.qb_object, i): i for i in ids}

    def salesforce_ids(chunk: list[str]) -> list[str | None]:
        in_list = ", ".join(f"'{soql_literal(k)}'" for k in chunk)
        soql = f"SELECT Id, {ext} FROM {obj} WHERE {ext} IN ({in_list})"  # noqa: S608
        by_key = {row.get(ext): row["Id"] for row in salesforce.query_all(soql)}
        return [by_key.get(key) for key in chunk]

    found: dict[str, str] = {}
    for key, result in call_in_chunks(list(keys), salesforce_ids):
        if isinstance(result, SalesforceError):
            batch.settle(keys[key], from_salesforce(result, "finding the record: "))
        elif result is None:
            batch.settle(keys[key], Done("not in Salesforce; nothing to do"))
        else:
            found[result] = keys[key]
    return {sf_id: qb_id for sf_id, qb_id in found.items() if qb_id not in batch.records}


def _delete_found(salesforce: Salesforce, batch: Batch, found: dict[str, str]) -> None:
    for sf_id, result in call_in_chunks(list(found), salesforce.delete_collection):
        if isinstance(result, SalesforceError):
            outcome = from_salesforce(result)
        elif result.success or {e.get("statusCode") for e in result.errors} & ALREADY_DELETED_CODES:
            outcome = Done("deleted", sf_id)
        else:
            outcome = from_salesforce(result)
        batch.settle(found[sf_id], outcome)


def _deactivate_found(
    salesforce: Salesforce,
    batch: Batch,
    mapping: ObjectMapping,
    field_name: str,
    found: dict[str, str],
) -> None:
    records = [{"Id": sf_id, field_name: False} for sf_id in found]
    for record, result in call_in_chunks(
        records,
        lambda chunk: salesforce.update_collection(chunk, mapping.salesforce_object),
    ):
        if isinstance(result, SalesforceError) or not result.success:
            outcome = from_salesforce(result)
        else:
            outcome = Done("deactivated", record["Id"])
        batch.settle(found[record["Id"]], outcome)
