"""An admin's answer to an ambiguous match: `POST /api/match-reviews/<QB_Match_Review__c Id>`.

A historical sync does not guess when several Salesforce records match one QuickBooks record: it
lists them as an Open QB_Match_Review__c (`qbsync.match_reviews`). QB Setup's review list sends
the admin's choice here, through the QBSync_Middleware Named Credential (same API key as every
/api call):

- `{"action": "link", "recordId": "001…"}`: the chosen candidate gets the record's external id,
  then the normal write (`RecordWriter`) updates it by that id with the mapped fields, as a
  backfill's link does; a candidate that has meanwhile been linked to another record is refused;
- `{"action": "create"}`: the record is written by its external id (created, or updated when it
  reached Salesforce since, e.g. by a real-time change);
- `{"action": "skip"}`: nothing is written.

The QuickBooks record is read again (its current version is what is written). The review then
gets Status__c Linked/Created/Skipped and Resolved_Record_Id__c. 400: a bad action or a record
that is not among the candidates; 404: no such review; 409: already resolved, or what it needs is
gone (the mapping, the QuickBooks record, the candidate); 502: QuickBooks or Salesforce failed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import Blueprint, abort, jsonify, request

from qbsync.api_guard import require_api_key
from qbsync.describes import Describes
from qbsync.follow_ups import FollowUps
from qbsync.mapping import ObjectMapping, record_version
from qbsync.outcomes import Done, Fail
from qbsync.quickbooks.errors import QuickBooksError
from qbsync.record_writer import RecordWriter
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import external_id
from qbsync.services import Services, current_services
from qbsync.upsert_bodies import Write

log = logging.getLogger(__name__)

blueprint = Blueprint("match_reviews", __name__)

REVIEW_OBJECT = "QB_Match_Review__c"
OPEN = "Open"
STATUS_BY_ACTION = {"link": "Linked", "create": "Created", "skip": "Skipped"}
# A Salesforce record id: 15 case-sensitive characters, or 18 with the case-safe suffix.
_RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


class ResolutionError(Exception):
    """Why a review cannot be resolved as asked; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Review:
    id: str
    status: str
    realm_id: str
    qb_object: str
    qb_record_id: str
    candidates: tuple[str, ...]

    @classmethod
    def from_row(cls, row: dict) -> Review:
        company = row.get("Company__r") or {}
        return cls(
            id=row["Id"],
            status=row.get("Status__c") or "",
            realm_id=company.get("Realm_Id__c") or "",
            qb_object=row.get("QB_Object__c") or "",
            qb_record_id=row.get("QB_Record_Id__c") or "",
            candidates=tuple(
                c.strip() for c in (row.get("Candidate_Ids__c") or "").split(",") if c.strip()
            ),
        )

    def candidate(self, record_id: str) -> str | None:
        """The candidate `record_id` names (15 or 18 characters), else None."""
        return next((c for c in self.candidates if c[:15] == record_id[:15]), None)


@blueprint.post("/api/match-reviews/<review_id>")
@require_api_key
def resolve_review(review_id: str):
    """Link, create or skip the record of an Open review; see the module docstring."""
    action, record_id = _parse_body(request.get_json(silent=True))
    try:
        status, resolved = resolve(current_services(), review_id, action, record_id)
    except ResolutionError as error:
        return jsonify(error=error.message, status=error.status), error.status
    log.info("match review resolved", extra={"review": review_id, "status": status})
    return jsonify(status=status, recordId=resolved)


def _parse_body(body: object) -> tuple[str, str | None]:
    usage = '{"action": "link", "recordId": "001…"}, {"action": "create"} or {"action": "skip"}'
    if not isinstance(body, dict):
        abort(400, f"the body must be a JSON object: {usage}")
    action = body.get("action")
    if action not in STATUS_BY_ACTION:
        abort(400, f"action must be link, create or skip: {usage}")
    record_id = body.get("recordId")
    if action == "link" and not (isinstance(record_id, str) and _RECORD_ID.fullmatch(record_id)):
        abort(400, "link needs recordId, the Salesforce id of one of the review's candidates")
    return action, record_id if action == "link" else None


def resolve(
    services: Services, review_id: str, action: str, record_id: str | None
) -> tuple[str, str | None]:
    """(Status__c, Resolved_Record_Id__c) after resolving the review as `action` asks."""
    review = _read_review(services, review_id)
    if review.status != OPEN:
        raise ResolutionError(409, f"the review is already resolved ({review.status})")
    chosen = None
    if action == "link":
        chosen = review.candidate(record_id or "")
        if chosen is None:
            raise ResolutionError(
                400,
                f"{record_id} is not among the review's candidates: {', '.join(review.candidates)}",
            )
    resolved = None
    if action != "skip":
        resolved = _write(services, review, chosen)
    status = STATUS_BY_ACTION[action]
    _salesforce_call(
        lambda: _check_saved(
            services.salesforce.update_collection(
                [{"Id": review.id, "Status__c": status, "Resolved_Record_Id__c": resolved}],
                REVIEW_OBJECT,
            ),
            "the review",
        )
    )
    return status, resolved


def _read_review(services: Services, review_id: str) -> Review:
    if not _RECORD_ID.fullmatch(review_id):
        raise ResolutionError(404, f"no match review {review_id!r}")
    # The id is 15 or 18 letters and digits (checked above): nothing to escape.
    soql = (
        "SELECT Id, Status__c, QB_Object__c, QB_Record_Id__c, Candidate_Ids__c, "  # noqa: S608
        f"Company__r.Realm_Id__c FROM {REVIEW_OBJECT} WHERE Id = '{review_id}'"
    )
    rows = _salesforce_call(lambda: services.salesforce.query_all(soql))
    if not rows:
        raise ResolutionError(404, f"no match review {review_id!r}")
    return Review.from_row(rows[0])


def _mapping(services: Services, review: Review):
    config = _salesforce_call(lambda: services.configs.get(review.realm_id))
    mapping = config.mapping(review.qb_object)
    if mapping is None or mapping.problems or not mapping.field_mappings:
        raise ResolutionError(
            409,
            f"QuickBooks {review.qb_object} has no usable object mapping for realm "
            f"{review.realm_id} any more",
        )
    return config, mapping


def _write(services: Services, review: Review, chosen: str | None) -> str:
    """Write the review's QuickBooks record (linked to `chosen`, or by its external id); the id
    of the Salesforce record written."""
    config, mapping = _mapping(services, review)
    try:
        found = services.quickbooks.query_by_ids(
            review.realm_id, mapping.qb_object, [review.qb_record_id]
        )
    except QuickBooksError as error:
        raise ResolutionError(502, f"QuickBooks could not be read: {error}") from None
    record = found.get(review.qb_record_id)
    if record is None:
        raise ResolutionError(
            409, f"QuickBooks {mapping.qb_object} {review.qb_record_id} no longer exists"
        )
    if chosen is not None:
        _link(services, review, mapping, chosen)
    describe = Describes(services.salesforce, services.store.config_signal)
    writer = RecordWriter(
        services.salesforce,
        services.quickbooks,
        services.store.versions,
        describe,
        FollowUps(services.salesforce, describe),
    )
    try:
        version = record_version(record)
    except ValueError:
        version = None
    write = _salesforce_call(
        lambda: Write(review.realm_id, config, mapping, describe(mapping.salesforce_object))
    )
    outcome = writer.write(write, {review.qb_record_id: (record, version)}, 0)[review.qb_record_id]
    if not isinstance(outcome, Done) or not outcome.salesforce_id:
        # Refused for good (a validation rule): the admin's data must change; else try again.
        status = 409 if isinstance(outcome, Fail) else 502
        raise ResolutionError(status, f"Salesforce did not take the record: {outcome.message}")
    return outcome.salesforce_id


def _link(services: Services, review: Review, mapping: ObjectMapping, chosen: str) -> None:
    """Give `chosen` the record's external id, unless it is linked to another record already."""
    ext = mapping.external_id_field
    key = external_id(review.realm_id, mapping.qb_object, review.qb_record_id)
    soql = f"SELECT Id, {ext} FROM {mapping.salesforce_object} WHERE Id = '{chosen}'"  # noqa: S608
    rows = _salesforce_call(lambda: services.salesforce.query_all(soql))
    if not rows:
        raise ResolutionError(409, f"the candidate {chosen} no longer exists")
    current = rows[0].get(ext)
    if current and current != key:
        raise ResolutionError(409, f"the candidate {chosen} is linked to {current} already")
    _salesforce_call(
        lambda: _check_saved(
            services.salesforce.update_collection(
                [{"Id": chosen, ext: key}], mapping.salesforce_object
            ),
            f"linking {chosen}",
        )
    )


def _check_saved(results, what: str) -> None:
    (result,) = results
    if not result.success:
        raise ResolutionError(409, f"Salesforce refused {what}: {result.message}")


def _salesforce_call(call):
    try:
        return call()
    except SalesforceError as error:
        raise ResolutionError(502, f"Salesforce failed: {error.message}") from None
