"""Standard invocable actions over REST: Send Custom Notification and Send Email (simple).

`POST /services/data/vXX.X/actions/standard/<action>` with `{"inputs": [{…}, …]}` answers one
result per input, `{"actionName", "errors", "isSuccess", "outputValues"}`, where each error is
`{"statusCode", "message", "fields"}` (REST API Developer Guide, "Invoke Actions"; API Actions
guide, "Custom Notification Actions" and "Simple Email Actions"). What an action sent is kept on
the org (`Org.notifications`, `Org.emails`) and listed by `/_admin/notifications` and
`/_admin/emails`, so tests and the preview can read it; nothing leaves this machine.

UNCONFIRMED (not in the stored documentation, chosen to be plausible and said here): the HTTP
status is 400 when an input failed (200 when all succeeded); the status codes and wording of the
errors; the custom notification's `outputValues`.
"""

from __future__ import annotations

import re

from flask import Blueprint, jsonify

from qbsync_sandbox.emulators.salesforce.errors import ApiError, RecordError, not_found
from qbsync_sandbox.emulators.salesforce.permissions import SEND_CUSTOM_NOTIFICATIONS
from qbsync_sandbox.emulators.salesforce.rest import _body, check_version, state, user

actions = Blueprint("salesforce_actions", __name__, url_prefix="/services/data")

# "The number of email recipients must be five or less" (Simple Email Actions, emailAddresses).
MAX_EMAIL_RECIPIENTS = 5
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_NOTIFICATION_SENT = "Your custom notification is processed successfully."


class _InputError(Exception):
    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.error = RecordError(status_code, message, fields or [])


def _required(inputs: dict, name: str) -> object:
    value = inputs.get(name)
    if value in (None, "", []):
        raise _InputError("REQUIRED_FIELD_MISSING", f"Missing required input parameter: {name}")
    return value


def _text(inputs: dict, name: str) -> str:
    value = _required(inputs, name)
    if not isinstance(value, str):
        raise _InputError("INVALID_TYPE", f"Invalid type for input parameter: {name}", [name])
    return value


def _send_notification(inputs: dict) -> dict:
    org, sender = state().org, user()
    if SEND_CUSTOM_NOTIFICATIONS not in sender.access.user_permissions:
        raise _InputError(
            "INSUFFICIENT_ACCESS",
            "You don't have permission to send custom notifications (Send Custom Notifications)",
        )
    type_id = _text(inputs, "customNotifTypeId")
    recipients = _required(inputs, "recipientIds")
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise _InputError(
            "INVALID_TYPE", "Invalid type for input parameter: recipientIds", ["recipientIds"]
        )
    title, body = _text(inputs, "title"), _text(inputs, "body")
    target = inputs.get("targetId")
    if not target and not inputs.get("targetPageRef"):
        raise _InputError("REQUIRED_FIELD_MISSING", "Missing required input parameter: targetId")
    with org.lock:
        kind = _record("CustomNotificationType", type_id)
        if kind is None:
            raise _InputError(
                "INVALID_ID_FIELD",
                f"Invalid parameter value for: customNotifTypeId ({type_id})",
                ["customNotifTypeId"],
            )
        users = []
        for recipient in recipients:
            found = _record("User", recipient)
            if found is None or not found.get("IsActive"):
                raise _InputError(
                    "INVALID_ID_FIELD",
                    f"Invalid parameter value for: recipientIds ({recipient}): not an active user",
                    ["recipientIds"],
                )
            users.append(found["Id"])
        if target and org.locate(str(target)) is None:
            raise _InputError(
                "INVALID_ID_FIELD",
                f"Invalid parameter value for: targetId ({target})",
                ["targetId"],
            )
        org.notifications.append(
            {
                "customNotifTypeId": kind["Id"],
                "notificationType": kind["DeveloperName"],
                "recipientIds": users,
                "title": title,
                "body": body,
                "targetId": target,
                "senderId": inputs.get("senderId") or sender.id,
                "sentBy": sender.username,
                "sentAt": org.clock().isoformat(timespec="milliseconds"),
            }
        )
    return {"SuccessMessage": _NOTIFICATION_SENT}


def _send_email(inputs: dict) -> None:
    org, sender = state().org, user()
    addresses: list[str] = []
    listed = inputs.get("emailAddresses")
    if isinstance(listed, str):
        addresses += [a.strip() for a in listed.split(",") if a.strip()]
    array = inputs.get("emailAddressesArray")
    if isinstance(array, list):
        addresses += [a.strip() for a in array if isinstance(a, str) and a.strip()]
    if not addresses:
        raise _InputError(
            "REQUIRED_FIELD_MISSING", "Missing required input parameter: emailAddresses"
        )
    if len(addresses) > MAX_EMAIL_RECIPIENTS:
        raise _InputError(
            "LIMIT_EXCEEDED",
            f"The number of email recipients must be {MAX_EMAIL_RECIPIENTS} or less, "
            f"got {len(addresses)}",
            ["emailAddresses"],
        )
    invalid = [a for a in addresses if not _EMAIL.match(a)]
    if invalid:
        raise _InputError(
            "INVALID_EMAIL_ADDRESS", f"Invalid email address: {invalid[0]}", ["emailAddresses"]
        )
    subject, body = _text(inputs, "emailSubject"), _text(inputs, "emailBody")
    with org.lock:
        org.emails.append(
            {
                "to": addresses,
                "subject": subject,
                "body": body,
                "senderType": inputs.get("senderType") or "CurrentUser",
                "sentBy": sender.username,
                "sentAt": org.clock().isoformat(timespec="milliseconds"),
            }
        )


def _record(sobject: str, record_id: str) -> dict | None:
    """The live `sobject` record with this id, or None."""
    found = state().org.locate(record_id)
    return None if found is None or found[0].name != sobject else found[1]


_ACTIONS = {"customNotificationAction": _send_notification, "emailSimple": _send_email}


@actions.post("/v<version>/actions/standard/<action>")
def invoke(version: str, action: str):
    check_version(version)
    perform = _ACTIONS.get(action)
    if perform is None:
        raise not_found()
    inputs = _body().get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, dict) for i in inputs):
        raise ApiError(
            400, "JSON_PARSER_ERROR", 'The request body needs "inputs": a list of objects'
        )
    results = []
    for item in inputs:
        try:
            outputs = perform(item)
        except _InputError as failure:
            results.append(
                {
                    "actionName": action,
                    "errors": [failure.error.as_collection_item()],
                    "isSuccess": False,
                    "outputValues": None,
                }
            )
            continue
        results.append(
            {"actionName": action, "errors": None, "isSuccess": True, "outputValues": outputs}
        )
    status = 200 if all(r["isSuccess"] for r in results) else 400
    return jsonify(results), status
