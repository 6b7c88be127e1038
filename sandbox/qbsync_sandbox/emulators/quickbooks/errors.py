"""Typed errors of the QuickBooks emulator, each rendered in the body shape Intuit uses.

Accounting API errors are Fault bodies (ruckus/quickbooks-ruby
`spec/fixtures/json/tax_service_error_dup.json`); OAuth errors follow RFC 6749 (`{"error": ...}`);
a 401 from the Accounting API is not Fault-shaped (python-quickbooks comment; a real sandbox probe
recorded `fault.error[0].code == "3200"` with lower-case keys, see research notes §4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qbsync_sandbox.emulators.quickbooks.clock import intuit_time


class QboFault(Exception):
    """An Accounting API failure, rendered as `{"Fault": {...}, "time": ...}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        *,
        fault_type: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.fault_type = fault_type
        self.element = element

    def body(self, now: datetime) -> dict[str, Any]:
        error = {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }
        return {"Fault": {"Error": [error], "type": self.fault_type}, "time": intuit_time(now)}


def object_not_found(entity: str, entity_id: str) -> QboFault:
    # Intuit answers a read of a missing id with HTTP 400, code 610 (python-quickbooks maps 610 to
    # ObjectNotFoundException); the Detail text is the one QuickBooks shows for it.
    return QboFault(
        400,
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. Check the "
        f"fields with accounts, customers, items, vendors or employees. ({entity} {entity_id})",
    )


def stale_object(entity: str, entity_id: str) -> QboFault:
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same thing. The other "
        f"user finished before you did, so your work was not saved. ({entity} {entity_id})",
    )


def required_param_missing(name: str) -> QboFault:
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        element=name,
    )


def invalid_reference(name: str, value: str) -> QboFault:
    return QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {name} assigned is not valid: {value}",
        element=name,
    )


def unknown_property(entity: str, name: str) -> QboFault:
    # Code 2010 (Intuit's error-code list: "Request has invalid or unsupported property"); the
    # Detail is the JSON reader's text third parties quote, UNCONFIRMED word for word.
    return QboFault(
        400,
        "2010",
        "Request has invalid or unsupported property",
        f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.{entity}), '
        f"not marked as ignorable specified is unsupported or invalid",
        element=name,
    )


def invalid_value(entity: str, name: str, value: object, java_type: str) -> QboFault:
    # A value of the wrong type is refused with the same code as an unknown property.
    return QboFault(
        400,
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:Can not construct instance of java.lang.{java_type} from "
        f"{type(value).__name__} value {value!r} for {entity}.{name} specified is unsupported or "
        f"invalid",
        element=name,
    )


def duplicate_name(name: str) -> QboFault:
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another customer, vendor or employee is already "
        f"using this name. Please use a different name. ({name})",
    )


def unsupported_operation(path: str) -> QboFault:
    # Unknown resource segments (e.g. `/v3/company/1/widget/1`): code 500 "Unsupported Operation",
    # inside python-quickbooks' 500–599 "unsupported" range.
    return QboFault(
        400,
        "500",
        "Unsupported Operation",
        f"Operation Could not find resource for relative : {path} is not supported.",
    )


def operation_not_supported(operation: str, entity: str, hint: str = "") -> QboFault:
    # Delete of a name-list entity, Void or Send of an entity without them: the same code 500
    # "Unsupported Operation" as an unknown resource; the Detail wording is UNCONFIRMED.
    detail = f"Operation {operation} is not supported for {entity}"
    return QboFault(400, "500", "Unsupported Operation", f"{detail}; {hint}" if hint else detail)


def query_parser_error(detail: str) -> QboFault:
    return QboFault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation_error(detail: str) -> QboFault:
    return QboFault(400, "4001", "Invalid query", f"QueryValidationError: {detail}")


def invalid_request(detail: str, element: str = "") -> QboFault:
    return QboFault(
        400, "2010", "Request has invalid or unsupported property", detail, element=element
    )


def throttled() -> QboFault:
    # 429 body is UNCONFIRMED (research §4); the message text is the one third parties report.
    return QboFault(
        429,
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.",
        fault_type="ThrottleExceeded",
    )


def server_error(status: int) -> QboFault:
    # Codes ≥ 10000 are "severe" in python-quickbooks' ranges.
    return QboFault(
        status,
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: the emulator injected this failure",
        fault_type="SystemFault",
    )


def forbidden_realm(realm_id: str) -> QboFault:
    return QboFault(
        403,
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        f"The access token does not grant access to company {realm_id}",
        fault_type="AuthorizationFault",
    )


def authentication_failed_body(detail: str, now: datetime) -> dict[str, Any]:
    """The 401 body of the Accounting API: lower-case `fault`, not a Fault envelope."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(now.timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }


class OAuthError(Exception):
    """A token/revoke endpoint failure: `{"error": code}` (RFC 6749 §5.2) with its HTTP status."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class AdminError(Exception):
    """A bad request to the emulator's own admin API (not an Intuit endpoint)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
