"""The Salesforce emulator's invocable actions (Send Custom Notification, Send Email) and the
CustomNotificationType records it loads from force-app, as the middleware's alerts use them.

Shapes: API Actions guide, "Custom Notification Actions" and "Simple Email Actions"; REST API
Developer Guide, "Invoke Actions". What the emulator assumes beyond them is listed in
`emulators/salesforce/actions.py`.
"""

from __future__ import annotations

import pytest

from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from tests.support.grants import force_app_without_user_permission
from tests.support.paths import FORCE_APP

INTEGRATION = "integration@qbsync.example"
ADMIN = "admin@qbsync.example"
ACTIONS = "/services/data/v66.0/actions/standard"


class Client:
    """The emulator app called in-process, as one of its users."""

    def __init__(self, force_app=FORCE_APP) -> None:
        self.org = Org(load_schema(force_app), username=INTEGRATION, admin_username=ADMIN)
        self.http = create_salesforce_app(
            self.org, client_id="3MVG9-actions", client_secret="actions-test-secret"
        ).test_client()

    def headers(self, username: str) -> dict:
        session = self.http.post(f"/_admin/session?username={username}").get_json()
        return {"Authorization": f"Bearer {session['access_token']}"}

    def query(self, soql: str, username: str = INTEGRATION):
        return self.http.get(
            "/services/data/v66.0/query", query_string={"q": soql}, headers=self.headers(username)
        )

    def invoke(self, action: str, inputs: list, username: str = INTEGRATION):
        return self.http.post(
            f"{ACTIONS}/{action}", json={"inputs": inputs}, headers=self.headers(username)
        )

    def ids(self) -> tuple[str, str, str]:
        """The notification type's id, the admin's user id and a company's id."""
        (kind,) = self.query(
            "SELECT Id FROM CustomNotificationType WHERE DeveloperName = 'QBSync_Alert'"
        ).get_json()["records"]
        admin = self.org.user(ADMIN)
        company = self.org.create("QB_Company__c", {"Name": "Acme", "Realm_Id__c": "1"})
        return kind["Id"], admin.id, company


@pytest.fixture
def sf() -> Client:
    return Client()


def test_the_package_notification_type_is_a_queryable_record(sf):
    response = sf.query(
        "SELECT Id, DeveloperName, MasterLabel, Desktop, Mobile FROM CustomNotificationType"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (record,) = response.get_json()["records"]
    assert record["Id"].startswith("0ML")
    assert (record["DeveloperName"], record["MasterLabel"]) == (
        "QBSync_Alert",
        "QuickBooks Sync Alert",
    )
    assert (record["Desktop"], record["Mobile"]) == (True, True)


def test_a_notification_reaches_the_recipients_and_is_recorded(sf):
    kind, admin, company = sf.ids()
    inputs = {"customNotifTypeId": kind, "recipientIds": [admin], "title": "T", "body": "B",
              "targetId": company}  # fmt: skip
    response = sf.invoke("customNotificationAction", [inputs])
    assert response.status_code == 200, response.get_data(as_text=True)
    (result,) = response.get_json()
    assert result["actionName"] == "customNotificationAction"
    assert (result["isSuccess"], result["errors"]) == (True, None)
    (sent,) = sf.http.get("/_admin/notifications").get_json()["records"]
    assert sent["recipientIds"] == [admin]
    assert (sent["notificationType"], sent["title"], sent["body"], sent["targetId"]) == (
        "QBSync_Alert", "T", "B", company
    )  # fmt: skip
    assert sent["sentBy"] == INTEGRATION


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"customNotifTypeId": "0ML000000000000AAA"}, "INVALID_ID_FIELD", "customNotifTypeId"),
        ({"recipientIds": ["005000000000000AAA"]}, "INVALID_ID_FIELD", "recipientIds"),
        ({"title": None}, "REQUIRED_FIELD_MISSING", None),
        ({"targetId": None}, "REQUIRED_FIELD_MISSING", None),
    ],
    ids=["unknown-type", "unknown-recipient", "no-title", "no-target"],
)
def test_a_bad_notification_is_refused_and_nothing_is_sent(sf, change, code, field):
    kind, admin, company = sf.ids()
    inputs = {"customNotifTypeId": kind, "recipientIds": [admin], "title": "T", "body": "B",
              "targetId": company} | change  # fmt: skip
    response = sf.invoke("customNotificationAction", [inputs])
    assert response.status_code == 400
    (result,) = response.get_json()
    assert result["isSuccess"] is False
    (error,) = result["errors"]
    assert error["statusCode"] == code
    assert field is None or error["fields"] == [field]
    assert sf.org.notifications == []


def test_sending_notifications_needs_the_user_permission(tmp_path):
    sf = Client(
        force_app_without_user_permission(
            tmp_path / "force-app", "QuickBooks_Sync_Integration", "SendCustomNotifications"
        )
    )
    kind, admin, company = sf.ids()
    inputs = {"customNotifTypeId": kind, "recipientIds": [admin], "title": "T", "body": "B",
              "targetId": company}  # fmt: skip
    (result,) = sf.invoke("customNotificationAction", [inputs]).get_json()
    assert result["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS"
    assert sf.org.notifications == []


def test_an_email_is_recorded_and_more_than_five_recipients_are_refused(sf):
    email = {"emailAddresses": "a@example.com, b@example.com", "emailSubject": "S",
             "emailBody": "B"}  # fmt: skip
    response = sf.invoke("emailSimple", [email])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()[0]["isSuccess"] is True
    six = ",".join(f"user{n}@example.com" for n in range(6))
    refused = sf.invoke("emailSimple", [email | {"emailAddresses": six}])
    assert refused.status_code == 400
    assert refused.get_json()[0]["errors"][0]["statusCode"] == "LIMIT_EXCEEDED"
    (sent,) = sf.http.get("/_admin/emails").get_json()["records"]
    assert (sent["to"], sent["subject"], sent["body"]) == (
        ["a@example.com", "b@example.com"], "S", "B"
    )  # fmt: skip


def test_reading_permission_set_assignments_needs_view_setup(sf, tmp_path):
    soql = (
        "SELECT AssigneeId FROM PermissionSetAssignment "
        "WHERE PermissionSet.Name = 'QuickBooks_Sync_Admin'"
    )
    response = sf.query(soql)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["records"]) == 1
    assert sf.query(soql, username=ADMIN).get_json()[0]["errorCode"] == "INVALID_TYPE"
    without = Client(
        force_app_without_user_permission(
            tmp_path / "force-app", "QuickBooks_Sync_Integration", "ViewSetup"
        )
    )
    assert without.query(soql).get_json()[0]["errorCode"] == "INVALID_TYPE"


def test_an_unknown_action_is_not_found(sf):
    assert sf.invoke("noSuchAction", [{}]).status_code == 404
