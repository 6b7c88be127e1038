"""Bulk API 2.0 ingest under `/services/data/v<version>/jobs/ingest` (Bulk API 2.0 and Bulk API
Developer Guide: "Create a Job", "Upload Job Data", "Close or Abort a Job", "Get Job Info",
"Get All Jobs", "Delete a Job", "Get Job Successful/Failed/Unprocessed Record Results").

Lifecycle: POST creates an `Open` job; one PUT of CSV to `…/batches` (201); PATCH
`{"state": "UploadComplete"}` closes it, or `"Aborted"` abandons it. Processing runs when the job
is closed, after the PATCH's answer is built: the answer says `UploadComplete`, and the next
`GET` says `JobComplete` (every record tried) or `Failed` (the data could not be read:
`errorMessage` says why, every row is in `unprocessedrecords`). A poller sees the documented
sequence Open → UploadComplete → JobComplete/Failed; the emulator never stays `InProgress`,
unless a test holds the jobs (`PUT /_admin/bulk {"hold": true}`): a job closed then reads
`InProgress` (the documented state of a job Salesforce is processing) until
`{"hold": false}` processes it, so a test can keep a client polling a job as long as it needs.

Each row is written through the org's own DML (`Org.create/update/upsert/delete`) as the job's
user, so validation rules, field-level security, object permissions and per-record errors are the
REST paths'. CSV cells are strings: an empty cell sends no value, `#N/A` sends null ("Prepare CSV
Files"); `Parent__r.Ext__c` columns set a lookup by the parent's external id ("Relationship Fields
in a Header Row"). `hardDelete` needs the "Bulk API Hard Delete" user permission
(`BulkApiHardDelete` in a permission set); the records then skip the recycle bin.

Wording marked UNCONFIRMED is the emulator's best reading of the guide's error list (InvalidJob,
InvalidJobState, InvalidBatch, FeatureNotEnabled, ClientInputError) and of messages Bulk API
users report; the codes' spelling in REST bodies is upper case, as Salesforce answers them.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, Response, jsonify, request

from qbsync_sandbox.emulators.salesforce.errors import (
    ApiError,
    DmlFailure,
    MultipleMatches,
    RecordError,
    not_found,
)
from qbsync_sandbox.emulators.salesforce.permissions import User
from qbsync_sandbox.emulators.salesforce.rest import _body, check_version, state, user
from qbsync_sandbox.emulators.salesforce.schema import ObjectDef
from qbsync_sandbox.emulators.salesforce.values import to_json

JOB_PREFIX = "750"  # AsyncApexJob / bulk job ids start with 750
MIN_VERSION = 41.0  # "This resource is available in API version 41.0 and later."
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
HARD_DELETE_PERMISSION = "BulkApiHardDelete"
NULL_CELL = "#N/A"
# Delete a job: "The job must have a state of UploadComplete, JobComplete, Aborted, or Failed."
DELETABLE = ("UploadComplete", "JobComplete", "Aborted", "Failed")
FINISHED = ("JobComplete", "Failed", "Aborted")

bulk = Blueprint("salesforce_bulk", __name__, url_prefix="/services/data")


class JobFailed(Exception):
    """The job's data cannot be processed at all: the job ends `Failed` with this message."""


@dataclass
class IngestJob:
    id: str
    operation: str
    object: str
    created_by: User
    created_at: datetime
    api_version: str
    external_id_field: str | None
    line_ending: str
    column_delimiter: str
    state: str = "Open"
    modified_at: datetime | None = None
    data: str | None = None
    error_message: str | None = None
    header: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)  # sf__Id, sf__Created, cells…
    failed: list[list[str]] = field(default_factory=list)  # sf__Id, sf__Error, cells…
    unprocessed: list[list[str]] = field(default_factory=list)

    def info(self, *, with_counts: bool = True) -> dict:
        """JobInfo as Create a Job (without counts) and Get Job Info (with them) answer it."""
        body: dict = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by.id,
            "createdDate": to_json(self.created_at),
            "systemModstamp": to_json(self.modified_at or self.created_at),
            "state": self.state,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        body |= {
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.state == "Open":
            body["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        if with_counts:
            body |= {
                "numberRecordsProcessed": len(self.successful) + len(self.failed),
                "numberRecordsFailed": len(self.failed),
                "retries": 0,
                "totalProcessingTime": 0,
                "apiActiveProcessingTime": 0,
                "apexProcessingTime": 0,
            }
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body


class IngestJobs:
    """The org's ingest jobs by id (thread-safe), and the closed ones a test holds
    `InProgress` (`hold`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, IngestJob] = {}
        self.hold = False
        self.held: list[IngestJob] = []

    def set_hold(self, hold: bool) -> None:
        """Hold the jobs closed from now on, or stop holding and process the held ones (in the
        admin request's app context: processing writes through the org)."""
        with self.lock:
            self.hold = hold
            released: list[IngestJob] = []
            if not hold:
                released, self.held = self.held, []
        for job in released:
            _process(job)


def _jobs() -> IngestJobs:
    return state().ingest_jobs


def _check_bulk_version(version: str) -> None:
    check_version(version)
    if float(version) < MIN_VERSION:
        raise not_found()


def _job(job_id: str) -> IngestJob:
    found = _jobs().jobs.get(job_id)
    if found is None:
        raise not_found()
    return found


def _invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)  # UNCONFIRMED wording


# ---------------------------------------------------------------- routes


@bulk.route("/v<version>/jobs/ingest", methods=["GET", "POST"])
@bulk.route("/v<version>/jobs/ingest/", methods=["GET", "POST"])
def jobs(version: str):
    _check_bulk_version(version)
    if request.method == "GET":
        with _jobs().lock:
            listed = [j.info() for j in _jobs().jobs.values()]
        return jsonify({"done": True, "records": listed, "nextRecordsUrl": None})
    body = _body()
    job = _new_job(version, body, user())
    with _jobs().lock:
        _jobs().jobs[job.id] = job
    return jsonify(job.info(with_counts=False)), 200


def _new_job(version: str, body: dict, owner: User) -> IngestJob:
    org = state().org
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _invalid_job(f"InvalidJob : Invalid operation: {operation}")
    name = body.get("object")
    obj = org.schema.object(name) if isinstance(name, str) else None
    if obj is None or not owner.access.object(obj).read:
        raise _invalid_job(f"InvalidJob : Unable to find object: {name}")
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        raise _invalid_job(f"InvalidJob : Invalid content type: {content_type}; only CSV")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        raise _invalid_job(f"InvalidJob : Invalid column delimiter: {delimiter}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        raise _invalid_job(f"InvalidJob : Invalid line ending: {line_ending}")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        if not external:
            raise _invalid_job(
                f"InvalidJob : External ID was blank for {obj.name}. An External ID must be "
                "specified for upsert."
            )
        definition = obj.field(external)
        if (
            definition is None
            or not (definition.external_id or definition.name == "Id")
            or not owner.access.readable(obj, definition)
        ):
            raise _invalid_job(
                f"InvalidJob : The External ID Field Name '{external}' is not valid for the "
                f"'{obj.name}' object"
            )
        external = definition.name
    else:
        external = None
    if operation == "hardDelete" and HARD_DELETE_PERMISSION not in owner.access.user_permissions:
        # The Bulk API guide's FeatureNotEnabled, with the message Bulk API reports for it.
        raise ApiError(
            400,
            "FEATURENOTENABLED",
            "hardDelete operation requires special user profile permission, please contact "
            "your system administrator",
        )
    now = org.clock()
    return IngestJob(
        id=org.new_id(JOB_PREFIX),
        operation=operation,
        object=obj.name,
        created_by=owner,
        created_at=now,
        api_version=version,
        external_id_field=external,
        line_ending=line_ending,
        column_delimiter=delimiter,
    )


@bulk.route("/v<version>/jobs/ingest/<job_id>", methods=["GET", "PATCH", "DELETE"])
@bulk.route("/v<version>/jobs/ingest/<job_id>/", methods=["GET", "PATCH", "DELETE"])
def job(version: str, job_id: str):
    _check_bulk_version(version)
    found = _job(job_id)
    if request.method == "GET":
        return jsonify(found.info())
    if request.method == "DELETE":
        with _jobs().lock:
            if found.state not in DELETABLE:
                raise ApiError(
                    400,
                    "INVALIDJOBSTATE",  # UNCONFIRMED wording
                    f"Job {job_id} is in state {found.state}; only a job in "
                    f"{', '.join(DELETABLE)} can be deleted",
                )
            del _jobs().jobs[job_id]
        return Response(status=204)
    wanted = _body().get("state")
    if wanted not in ("UploadComplete", "Aborted"):
        raise ApiError(400, "INVALIDJOBSTATE", f"Invalid job state: {wanted}")  # UNCONFIRMED
    with _jobs().lock:
        if found.state != "Open" and not (wanted == "Aborted" and found.state == "UploadComplete"):
            raise ApiError(
                409,
                "INVALIDJOBSTATE",  # UNCONFIRMED wording
                f"Job {job_id} is in state {found.state} and cannot change to {wanted}",
            )
        found.state = wanted
        found.modified_at = state().org.clock()
        if wanted == "Aborted":
            found.unprocessed = _rows_or_empty(found)
        answer = found.info(with_counts=False)
        held = wanted == "UploadComplete" and _jobs().hold
        if held:
            found.state = "InProgress"
            _jobs().held.append(found)
    if wanted == "UploadComplete" and not held:
        _process(found)
    return jsonify(answer)


@bulk.put("/v<version>/jobs/ingest/<job_id>/batches")
@bulk.put("/v<version>/jobs/ingest/<job_id>/batches/")
def upload(version: str, job_id: str):
    _check_bulk_version(version)
    found = _job(job_id)
    if request.mimetype != "text/csv":
        raise ApiError(
            415,
            "INVALIDCONTENTTYPE",  # UNCONFIRMED wording
            f"Content-Type {request.content_type or '(none)'} is not supported; send text/csv",
        )
    with _jobs().lock:
        if found.state != "Open":
            raise ApiError(
                409,
                "INVALIDJOBSTATE",  # UNCONFIRMED wording
                f"Job {job_id} is in state {found.state}; data can be uploaded to an Open job only",
            )
        if found.data is not None:
            # Bulk API 2.0 takes one upload per job (its message, as users report it).
            raise ApiError(
                409,
                "INVALIDJOBSTATE",
                f"Found multiple contents for job: <{job_id}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure you only do "
                "'PUT' once on a given Job.",
            )
        try:
            found.data = request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "INVALIDBATCH", "The CSV data is not UTF-8") from None
    return Response(status=201)


@bulk.get("/v<version>/jobs/ingest/<job_id>/successfulResults")
@bulk.get("/v<version>/jobs/ingest/<job_id>/successfulResults/")
def successful_results(version: str, job_id: str):
    found = _finished(version, job_id)
    return _csv(["sf__Id", "sf__Created", *found.header], found.successful, found)


@bulk.get("/v<version>/jobs/ingest/<job_id>/failedResults")
@bulk.get("/v<version>/jobs/ingest/<job_id>/failedResults/")
def failed_results(version: str, job_id: str):
    found = _finished(version, job_id)
    return _csv(["sf__Id", "sf__Error", *found.header], found.failed, found)


@bulk.get("/v<version>/jobs/ingest/<job_id>/unprocessedrecords")
@bulk.get("/v<version>/jobs/ingest/<job_id>/unprocessedrecords/")
@bulk.get("/v<version>/jobs/ingest/<job_id>/unprocessedRecords")
@bulk.get("/v<version>/jobs/ingest/<job_id>/unprocessedRecords/")
def unprocessed_records(version: str, job_id: str):
    found = _finished(version, job_id)
    return _csv(found.header, found.unprocessed, found)


def _finished(version: str, job_id: str) -> IngestJob:
    _check_bulk_version(version)
    found = _job(job_id)
    if found.state not in FINISHED:
        raise ApiError(
            409,
            "INVALIDJOBSTATE",  # UNCONFIRMED wording
            f"Job {job_id} is in state {found.state}; results are ready once it has finished",
        )
    return found


def _csv(header: list[str], rows: list[list[str]], job: IngestJob) -> Response:
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=DELIMITERS[job.column_delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return Response(out.getvalue(), 200, mimetype="text/csv")


# ---------------------------------------------------------------- processing


def _parse(job: IngestJob) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the uploaded CSV; JobFailed when it cannot be read as the job says."""
    text = job.data or ""
    if job.line_ending == "LF" and "\r\n" in text:
        raise JobFailed(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting "
            "is LF"
        )
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter], strict=True
    )
    try:
        parsed = [row for row in reader if row != []]
    except csv.Error as error:
        raise JobFailed(f"InvalidBatch : Failed to parse CSV: {error}") from None
    if not parsed:
        raise JobFailed("InvalidBatch : Unable to find any data to create batch")  # UNCONFIRMED
    header, rows = parsed[0], parsed[1:]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise JobFailed(
                f"ClientInputError : Wrong number of columns in row {number}: "
                f"{len(row)} for a header of {len(header)}"
            )
    return header, rows


def _check_header(job: IngestJob, obj: ObjectDef, header: list[str]) -> None:
    org = state().org
    lowered = [name.lower() for name in header]
    if job.operation in ("delete", "hardDelete"):
        if lowered != ["id"]:
            raise JobFailed(f"InvalidBatch : The '{job.operation}' batch must contain only ids")
        return
    for name in header:
        if "." in name:
            relationship, _, key = name.partition(".")
            reference = obj.parent_relationship(relationship)
            target = org.schema.object(reference.reference_to[0]) if reference else None
            definition = target.field(key) if target else None
            if definition is None or not (definition.external_id or definition.name == "Id"):
                raise JobFailed(f"InvalidBatch : Field name not found : {name}")
        elif obj.field(name) is None:
            raise JobFailed(f"InvalidBatch : Field name not found : {name}")
    if len(set(lowered)) != len(lowered):
        raise JobFailed("InvalidBatch : Duplicate field names in the header")  # UNCONFIRMED
    if job.operation == "update" and "id" not in lowered:
        raise JobFailed("InvalidBatch : Field name not provided: Id")  # UNCONFIRMED
    if job.operation == "upsert" and job.external_id_field.lower() not in lowered:
        raise JobFailed(f"InvalidBatch : Field name not provided: {job.external_id_field}")


def _record_body(header: list[str], row: list[str]) -> dict:
    """The REST-style body of a row: empty cells left out, `#N/A` null, `Rel__r.Key` nested."""
    body: dict = {}
    for name, cell in zip(header, row, strict=True):
        if cell == "":
            continue
        value = None if cell == NULL_CELL else cell
        if "." in name:
            relationship, _, key = name.partition(".")
            body[relationship] = {key: value}
        else:
            body[name] = value
    return body


def _bulk_error(errors: list[RecordError]) -> str:
    # sf__Error as Bulk API results show it: CODE:message:fields -- (UNCONFIRMED exact spacing).
    return "; ".join(f"{e.status_code}:{e.message}:{','.join(e.fields)} --" for e in errors)


def _process(job: IngestJob) -> None:
    """Write every row as the job's user; the job ends JobComplete, or Failed if unreadable."""
    org = state().org
    obj = org.object(job.object)
    try:
        header, rows = _parse(job)
        job.header = header
        _check_header(job, obj, header)
    except JobFailed as failure:
        job.state, job.error_message = "Failed", str(failure)
        job.unprocessed = _rows_or_empty(job)
        job.modified_at = org.clock()
        return
    job.state = "InProgress"
    lowered = [name.lower() for name in header]
    keys = _duplicate_keys(job, lowered, rows)
    for row in rows:
        record_id, created, errors = _write(job, obj, lowered, header, row, keys)
        if errors:
            job.failed.append([record_id or "", _bulk_error(errors), *row])
        else:
            job.successful.append([record_id, "true" if created else "false", *row])
    job.state = "JobComplete"
    job.modified_at = org.clock()


def _rows_or_empty(job: IngestJob) -> list[list[str]]:
    try:
        header, rows = _parse(job)
    except JobFailed:
        return []
    job.header = header
    return rows


def _duplicate_keys(job: IngestJob, lowered: list[str], rows: list[list[str]]) -> set[str]:
    """Upsert keys that appear on more than one row (each such row fails, as in Collections)."""
    if job.operation != "upsert":
        return set()
    column = lowered.index(job.external_id_field.lower())
    seen: dict[str, int] = {}
    for row in rows:
        key = row[column].lower()
        seen[key] = seen.get(key, 0) + 1
    return {key for key, count in seen.items() if count > 1 and key}


def _write(
    job: IngestJob,
    obj: ObjectDef,
    lowered: list[str],
    header: list[str],
    row: list[str],
    duplicate_keys: set[str],
) -> tuple[str | None, bool, list[RecordError]]:
    """(record id, created, errors) of one row, written through the org's DML."""
    org = state().org
    owner = job.created_by
    body = _record_body(header, row)
    record_id = row[lowered.index("id")] if "id" in lowered else None
    try:
        if job.operation == "insert":
            return org.create(obj.name, body, owner), True, []
        if job.operation == "update":
            fields = {k: v for k, v in body.items() if k.lower() != "id"}
            org.update(obj.name, record_id or "", fields, owner)
            return record_id, False, []
        if job.operation == "upsert":
            key = row[lowered.index(job.external_id_field.lower())]
            if not key:
                return None, False, [_missing_key(job)]
            if key.lower() in duplicate_keys:
                return None, False, [_duplicate_key(job, key)]
            upserted, created = org.upsert(obj.name, job.external_id_field, key, body, owner)
            return upserted, created, []
        found = org.locate(record_id or "")
        if found is not None and found[0].name != obj.name:
            return record_id, False, [_wrong_object(record_id)]
        org.delete(record_id or "", owner, hard=job.operation == "hardDelete")
        return record_id, False, []
    except DmlFailure as failure:
        return record_id, False, failure.errors
    except MultipleMatches as multiple:
        return None, False, [_duplicate_key(job, f"{multiple.ids}")]
    except ApiError as error:
        # A cell the field cannot take (a number that is not one, a date that is not one).
        return record_id, False, [RecordError(error.error_code, error.message, [])]


def _missing_key(job: IngestJob) -> RecordError:
    return RecordError("MISSING_ARGUMENT", f"{job.external_id_field} not specified")


def _duplicate_key(job: IngestJob, key: str) -> RecordError:
    return RecordError(
        "DUPLICATE_EXTERNAL_ID",
        f"Duplicate external id specified: {key}",
        [job.external_id_field],
    )


def _wrong_object(record_id: str | None) -> RecordError:
    return RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {record_id}")
