"""The preview's QBHealthController twin and its CometD endpoint (lightning/empApi), against the
Salesforce emulator: health from the sync logs, the feed's logs, Test connection without a
middleware, and change events of a sync log reaching a Bayeux client through the preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from .conftest import PreviewStack

CHANNEL = "/data/QB_Sync_Log__ChangeEvent"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def health_apex(stack: PreviewStack, method: str, params: dict) -> requests.Response:
    return requests.post(
        f"{stack.preview_url}/apex/QBHealthController/{method}", json=params, timeout=10
    )


def seed_logs(stack: PreviewStack, company_id: str) -> datetime:
    """Four logs; returns when the successful one was synced."""
    now = datetime.now(UTC).replace(microsecond=0)
    stack.seed(
        "QB_Sync_Log__c",
        [
            {"Company__c": company_id, "QB_Object__c": "Customer", "Status__c": "Success",
             "Record_Name__c": "Amy", "Synced_At__c": iso(now - timedelta(minutes=5))},
            {"Company__c": company_id, "QB_Object__c": "Customer", "Status__c": "Failed",
             "Record_Name__c": "Bill", "Synced_At__c": iso(now - timedelta(minutes=2))},
            {"Company__c": company_id, "QB_Object__c": "Invoice", "Status__c": "Skipped",
             "Synced_At__c": iso(now - timedelta(minutes=1))},
            # Older than 24 hours: the last success may be it, the counts leave it out.
            {"Company__c": company_id, "QB_Object__c": "Item", "Status__c": "Failed",
             "Synced_At__c": iso(now - timedelta(days=3))},
        ],
    )  # fmt: skip
    return now - timedelta(minutes=5)


def test_health_counts_the_last_24_hours_per_object(preview_stack, company_id) -> None:
    success_at = seed_logs(preview_stack, company_id)
    response = health_apex(preview_stack, "getHealth", {"companyId": company_id})
    assert response.status_code == 200, response.text
    health = response.json()
    assert health["failuresLast24h"] == 1
    assert health["lastSuccessAt"] == iso(success_at)
    assert health["objects"] == [
        {"qbObject": "Customer", "succeeded": 1, "failed": 1, "other": 0},
        {"qbObject": "Invoice", "succeeded": 0, "failed": 0, "other": 1},
    ]
    # The preview has no middleware: the backlog is unknown and says why.
    assert "backlog" not in health
    assert "could not be reached" in health["backlogError"]


def test_recent_logs_newest_first_and_a_missing_company(preview_stack, company_id) -> None:
    seed_logs(preview_stack, company_id)
    response = health_apex(preview_stack, "getRecentLogs", {"companyId": company_id, "size": 2})
    assert response.status_code == 200, response.text
    logs = response.json()
    assert len(logs) == 2 and all("attributes" not in log for log in logs)
    assert logs[0]["QB_Object__c"] == "Item"  # the last written
    missing = health_apex(preview_stack, "getRecentLogs", {"companyId": "a00000000000000AAA"})
    assert missing.status_code == 400
    assert "does not exist or you cannot see it" in missing.json()["message"]


def test_test_connection_without_a_middleware_says_so(preview_stack, company_id) -> None:
    response = health_apex(preview_stack, "testConnection", {"companyId": company_id})
    assert response.status_code == 400
    assert "The sync middleware could not be reached" in response.json()["message"]


def test_a_sync_log_reaches_a_cometd_client_through_the_preview(preview_stack, company_id):
    url = f"{preview_stack.preview_url}/cometd/66.0"
    (handshake,) = requests.post(
        url, json=[{"channel": "/meta/handshake", "version": "1.0"}], timeout=10
    ).json()
    client = handshake["clientId"]
    (subscribed,) = requests.post(
        url,
        json=[{"channel": "/meta/subscribe", "clientId": client, "subscription": CHANNEL,
               "ext": {"replay": {CHANNEL: -1}}}],
        timeout=10,
    ).json()  # fmt: skip
    assert subscribed["successful"] is True, subscribed
    connect = [{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling"}]
    first = requests.post(url, json=connect, timeout=10).json()
    assert [m["channel"] for m in first] == ["/meta/connect"]
    (log_id,) = preview_stack.seed(
        "QB_Sync_Log__c", {"Company__c": company_id, "Status__c": "Success"}
    )
    replies = requests.post(url, json=connect, timeout=30).json()
    event = replies[0]
    assert event["channel"] == CHANNEL
    assert event["data"]["payload"]["ChangeEventHeader"]["recordIds"] == [log_id]
    assert replies[-1]["channel"] == "/meta/connect" and replies[-1]["successful"]
    assert (
        requests.post(f"{preview_stack.preview_url}/cometd/6x", json=[], timeout=10).status_code
        == 404
    )
