"""Change Data Capture in the Salesforce emulator: change events of the objects force-app selects
(PlatformEventChannelMember), delivered over the Streaming API's CometD endpoint as a Bayeux
client meets them: handshake, subscribe with the replay extension, connect (long polling),
unsubscribe, disconnect.

Shapes: Change Data Capture Developer Guide (ChangeEventHeader fields, event body fields,
required permissions); Streaming API Developer Guide (Bayeux protocol, how the client connects,
message durability).
"""

from __future__ import annotations

import pytest

from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce.deploy import plan_deploy
from tests.support.paths import FORCE_APP

INTEGRATION = "integration@qbsync.example"
ADMIN = "admin@qbsync.example"
CHANNEL = "/data/QB_Sync_Log__ChangeEvent"
COMETD = "/cometd/66.0"
SOBJECTS = "/services/data/v66.0/sobjects"


class Streaming:
    """The emulator in-process, with a Bayeux client's requests."""

    def __init__(self) -> None:
        self.org = Org(load_schema(FORCE_APP), username=INTEGRATION, admin_username=ADMIN)
        self.http = create_salesforce_app(
            self.org,
            client_id="3MVG9-cdc",
            client_secret="cdc-test-secret",
            # A connect without events answers after this; tests that expect events never wait.
            cometd_hold_seconds=0.05,
        ).test_client()
        self.company = self.org.create("QB_Company__c", {"Name": "Acme", "Realm_Id__c": "1"})

    def headers(self, username: str) -> dict:
        session = self.http.post(f"/_admin/session?username={username}").get_json()
        return {"Authorization": f"Bearer {session['access_token']}"}

    def bayeux(self, messages: list, username: str = ADMIN):
        return self.http.post(COMETD, json=messages, headers=self.headers(username))

    def handshake(self, username: str = ADMIN) -> str:
        response = self.bayeux(
            [
                {
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "supportedConnectionTypes": ["long-polling"],
                    "ext": {"replay": True},
                    "id": "1",
                }
            ],
            username,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        (reply,) = response.get_json()
        assert reply["successful"] is True
        return reply["clientId"]

    def subscribe(self, client_id: str, replay: int = -1, channel: str = CHANNEL, user=ADMIN):
        (reply,) = self.bayeux(
            [
                {
                    "channel": "/meta/subscribe",
                    "clientId": client_id,
                    "subscription": channel,
                    "ext": {"replay": {channel: replay}},
                    "id": "2",
                }
            ],
            user,
        ).get_json()
        return reply

    def connect(self, client_id: str, user: str = ADMIN) -> list[dict]:
        return self.bayeux(
            [{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}],
            user,
        ).get_json()

    def events(self, client_id: str) -> list[dict]:
        replies = self.connect(client_id)
        assert replies[-1]["channel"] == "/meta/connect" and replies[-1]["successful"], replies
        return replies[:-1]

    def write_log(self, **values) -> str:
        body = {"Company__c": self.company, "Status__c": "Success", "QB_Object__c": "Customer"}
        response = self.http.post(
            f"{SOBJECTS}/QB_Sync_Log__c", json=body | values, headers=self.headers(INTEGRATION)
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["id"]


@pytest.fixture
def sf() -> Streaming:
    return Streaming()


def test_force_app_selects_the_sync_log_for_change_data_capture(sf):
    assert sf.org.schema.change_events == {"QB_Sync_Log__c"}


def test_handshake_answers_a_client_id_long_polling_and_advice(sf):
    (reply,) = sf.bayeux(
        [
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "id": "7",
                "supportedConnectionTypes": ["long-polling"],
            }
        ]  # fmt: skip
    ).get_json()
    assert reply["channel"] == "/meta/handshake" and reply["id"] == "7"
    assert reply["successful"] is True and reply["clientId"]
    assert reply["supportedConnectionTypes"] == ["long-polling"]
    assert reply["advice"] == {"reconnect": "retry", "interval": 0, "timeout": 110000}
    assert reply["ext"]["replay"] is True


def test_a_created_sync_log_is_a_create_event_with_the_documented_header(sf):
    client = sf.handshake()
    assert sf.subscribe(client)["successful"] is True
    assert sf.events(client) == []  # the first connect answers at once
    log_id = sf.write_log(Record_Name__c="Amy's Bird Sanctuary", Latency_Ms__c=420)
    (message,) = sf.events(client)
    assert message["channel"] == CHANNEL
    assert message["data"]["event"]["replayId"] >= 1
    payload = message["data"]["payload"]
    header = payload["ChangeEventHeader"]
    assert header["entityName"] == "QB_Sync_Log__c"
    assert header["recordIds"] == [log_id]
    assert header["changeType"] == "CREATE"
    assert header["changedFields"] == [] and header["nulledFields"] == []
    assert header["changeOrigin"] == "com/salesforce/api/rest/66.0"
    assert header["commitUser"] == sf.org.user(INTEGRATION).id
    assert isinstance(header["commitTimestamp"], int) and header["sequenceNumber"] == 1
    assert header["transactionKey"] and isinstance(header["commitNumber"], int)
    assert payload["Record_Name__c"] == "Amy's Bird Sanctuary"
    assert payload["Status__c"] == "Success" and payload["Company__c"] == sf.company
    assert payload["Name"]
    # Not in a change event: the id (in recordIds), formulas, SystemModstamp.
    assert "Id" not in payload and "Salesforce_Record__c" not in payload
    assert "SystemModstamp" not in payload


def test_an_update_carries_the_changed_fields_and_a_delete_only_the_header(sf):
    log_id = sf.write_log(Message__c="first")
    client = sf.handshake()
    sf.subscribe(client)
    sf.events(client)
    headers = sf.headers(INTEGRATION)
    response = sf.http.patch(
        f"{SOBJECTS}/QB_Sync_Log__c/{log_id}",
        json={"Status__c": "Failed", "Message__c": None},
        headers=headers,
    )
    assert response.status_code == 204
    (update,) = sf.events(client)
    payload = update["data"]["payload"]
    assert payload["ChangeEventHeader"]["changeType"] == "UPDATE"
    assert set(payload["ChangeEventHeader"]["changedFields"]) == {
        "Status__c",
        "Message__c",
        "LastModifiedDate",
    }
    assert payload["Status__c"] == "Failed" and payload["Message__c"] is None
    assert "Record_Name__c" not in payload
    assert sf.http.delete(f"{SOBJECTS}/QB_Sync_Log__c/{log_id}", headers=headers).status_code == 204
    (delete,) = sf.events(client)
    assert delete["data"]["payload"] == {
        "ChangeEventHeader": delete["data"]["payload"]["ChangeEventHeader"]
    }
    assert delete["data"]["payload"]["ChangeEventHeader"]["changeType"] == "DELETE"
    assert delete["data"]["event"]["replayId"] > update["data"]["event"]["replayId"]


def test_objects_without_change_data_capture_send_no_events(sf):
    client = sf.handshake()
    sf.subscribe(client, channel="/data/ChangeEvents")
    sf.events(client)
    sf.org.create("Account", {"Name": "Not captured"})
    sf.write_log()
    (message,) = sf.events(client)
    assert message["channel"] == "/data/ChangeEvents"
    assert message["data"]["payload"]["ChangeEventHeader"]["entityName"] == "QB_Sync_Log__c"
    reply = sf.subscribe(client, channel="/data/AccountChangeEvent")
    assert reply["successful"] is False and reply["error"].startswith("400::")


def test_replay_all_retained_events_or_only_new_ones_or_after_a_replay_id(sf):
    first, second = sf.write_log(), sf.write_log()
    client = sf.handshake()
    sf.subscribe(client, replay=-2)
    replayed = sf.events(client)
    assert [m["data"]["payload"]["ChangeEventHeader"]["recordIds"] for m in replayed] == [
        [first],
        [second],
    ]
    after_first = replayed[0]["data"]["event"]["replayId"]
    other = sf.handshake()
    sf.subscribe(other, replay=after_first)
    (only_second,) = sf.events(other)
    assert only_second["data"]["payload"]["ChangeEventHeader"]["recordIds"] == [second]
    new_only = sf.handshake()
    sf.subscribe(new_only, replay=-1)
    assert sf.events(new_only) == []


def test_an_invalid_replay_id_is_refused_with_the_documented_message(sf):
    sf.write_log()
    client = sf.handshake()
    reply = sf.subscribe(client, replay=-7)
    assert reply["successful"] is False
    assert reply["error"].startswith("400::The replayId {-7} you provided was invalid")


def test_a_rolled_back_transaction_sends_no_event(sf):
    client = sf.handshake()
    sf.subscribe(client)
    sf.events(client)
    response = sf.http.post(
        "/services/data/v66.0/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "QB_Sync_Log__c"}, "Company__c": sf.company},
                {"attributes": {"type": "QB_Sync_Log__c"}, "Status__c": "Not a status"},
            ],
        },
        headers=sf.headers(INTEGRATION),
    )
    assert response.status_code == 200
    assert sf.events(client) == []
    sf.write_log()
    (message,) = sf.events(client)
    assert message["data"]["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"


def test_events_of_one_transaction_share_its_key_in_sequence(sf):
    client = sf.handshake()
    sf.subscribe(client)
    sf.events(client)
    response = sf.http.post(
        "/services/data/v66.0/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "QB_Sync_Log__c"}, "Company__c": sf.company},
                {"attributes": {"type": "QB_Sync_Log__c"}, "Company__c": sf.company},
            ],
        },
        headers=sf.headers(INTEGRATION),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    headers = [m["data"]["payload"]["ChangeEventHeader"] for m in sf.events(client)]
    assert [h["sequenceNumber"] for h in headers] == [1, 2]
    assert headers[0]["transactionKey"] == headers[1]["transactionKey"]


def test_without_view_all_records_the_subscription_is_refused(sf):
    # The integration user reads and writes sync logs but has no View All Records on them.
    client = sf.handshake(INTEGRATION)
    reply = sf.subscribe(client, user=INTEGRATION)
    assert reply["successful"] is False and reply["error"].startswith("403::")


def test_an_unknown_or_disconnected_client_is_told_to_handshake_again(sf):
    (reply,) = sf.connect("no-such-client")
    assert reply["successful"] is False and reply["error"] == "403::Unknown client"
    assert reply["advice"] == {"reconnect": "handshake"}
    client = sf.handshake()
    (bye,) = sf.bayeux([{"channel": "/meta/disconnect", "clientId": client}]).get_json()
    assert bye["successful"] is True
    assert sf.connect(client)[0]["error"] == "403::Unknown client"


def test_unsubscribed_channels_deliver_nothing(sf):
    client = sf.handshake()
    sf.subscribe(client)
    sf.events(client)
    (reply,) = sf.bayeux(
        [{"channel": "/meta/unsubscribe", "clientId": client, "subscription": CHANNEL}]
    ).get_json()
    assert reply["successful"] is True
    sf.write_log()
    assert sf.events(client) == []


def test_without_a_session_the_handshake_is_denied(sf):
    response = sf.http.post(COMETD, json=[{"channel": "/meta/handshake", "version": "1.0"}])
    assert response.status_code == 401
    (reply,) = response.get_json()
    assert reply["successful"] is False
    assert reply["ext"]["sfdc"]["failureReason"] == "401::Authentication invalid"


def test_a_deployed_channel_member_turns_change_data_capture_on(sf):
    member = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<PlatformEventChannelMember xmlns="http://soap.sforce.com/2006/04/metadata">'
        b"<eventChannel>ChangeEvents</eventChannel>"
        b"<selectedEntity>QB_Company__ChangeEvent</selectedEntity>"
        b"</PlatformEventChannelMember>"
    )
    manifest = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Package xmlns="http://soap.sforce.com/2006/04/metadata"><types>'
        b"<members>ChangeEvents_QB_Company_ChangeEvent</members>"
        b"<name>PlatformEventChannelMember</name></types><version>66.0</version></Package>"
    )
    files = {
        "package.xml": manifest,
        "platformEventChannelMembers/ChangeEvents_QB_Company_ChangeEvent"
        ".platformEventChannelMember": member,
    }
    plan = plan_deploy(sf.org.schema, files, {})
    assert all(m.success for m in plan.messages), [m.problem for m in plan.messages]
    assert plan.schema.change_events == {"QB_Sync_Log__c", "QB_Company__c"}
    unknown = {
        **files,
        "platformEventChannelMembers/ChangeEvents_QB_Company_ChangeEvent"
        ".platformEventChannelMember": member.replace(b"QB_Company__", b"Nothing__"),
    }
    (message,) = plan_deploy(sf.org.schema, unknown, {}).messages
    assert not message.success and "Nothing__ChangeEvent" in message.problem
