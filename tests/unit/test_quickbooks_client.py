"""QuickBooksClient against documented QuickBooks response shapes (HTTP mocked with responses)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from cryptography.fernet import Fernet
from responses import matchers

from qbsync.config import Settings
from qbsync.quickbooks import (
    QuickBooksAuthError,
    QuickBooksClient,
    QuickBooksFault,
    QuickBooksThrottled,
    QuickBooksTransient,
    TokenVault,
)
from qbsync.quickbooks.client import query_text
from qbsync.store.database import make_engine
from qbsync.store.migrate import migrate
from qbsync.store.tokens import TokenRows
from tests.support import builders

FIXTURES = Path(__file__).parent.parent / "fixtures" / "quickbooks"
REALM = "9130354"
API = "https://qbo.example.test"
TOKEN_URL = "https://oauth.example.test/oauth2/v1/tokens/bearer"
QUERY_URL = f"{API}/v3/company/{REALM}/query"
ACCESS = "access-token-AAAA-1111"
REFRESH = "refresh-token-RRRR-2222"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def settings() -> Settings:
    return Settings(
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret-SSSS",
        intuit_api_base_url=API,
        intuit_token_url=TOKEN_URL,
    )


@pytest.fixture
def vault(tmp_path: Path) -> TokenVault:
    engine = make_engine(f"sqlite:///{tmp_path / 'vault.db'}")
    migrate(engine)
    vault = TokenVault(TokenRows(engine), [Fernet.generate_key().decode()])
    vault.save(
        builders.tokens(
            REALM,
            access=ACCESS,
            refresh=REFRESH,
            refresh_expires_at=datetime.now(UTC) + timedelta(days=100),
        )
    )
    return vault


@pytest.fixture
def client(settings: Settings, vault: TokenVault) -> QuickBooksClient:
    return QuickBooksClient(settings, vault)


def assert_no_tokens(exc: BaseException, *tokens: str) -> None:
    text = f"{exc} {exc!r} {getattr(exc, 'url', '')}"
    for token in (ACCESS, REFRESH, "client-secret-SSSS", *tokens):
        assert token not in text


@responses.activate
def test_query_by_ids_posts_one_query_with_minor_version(client: QuickBooksClient) -> None:
    responses.add(
        responses.POST,
        QUERY_URL,
        json=fixture("query_customer.json"),
        match=[
            matchers.query_param_matcher({"minorversion": "75"}),
            matchers.header_matcher(
                {"Content-Type": "application/text", "Authorization": f"Bearer {ACCESS}"}
            ),
        ],
    )

    records = client.query_by_ids(REALM, "Customer", ["1", "2", "1"])

    assert list(records) == ["1"]
    assert records["1"]["DisplayName"] == "Amy's Bird Sanctuary"
    assert len(responses.calls) == 1
    assert responses.calls[0].request.body == (
        b"select * from Customer where Id in ('1', '2') and Active in (true, false) MAXRESULTS 1000"
    )


@responses.activate
def test_query_by_ids_sends_one_call_per_thousand_ids(client: QuickBooksClient) -> None:
    responses.add(responses.POST, QUERY_URL, json={"QueryResponse": {}, "time": "x"})

    assert client.query_by_ids(REALM, "Customer", [str(i) for i in range(2500)]) == {}

    bodies = [call.request.body.decode() for call in responses.calls]
    assert len(bodies) == 3
    assert bodies[0].count("'") == 2 * 1000 and bodies[2].count("'") == 2 * 500
    assert "'0'" in bodies[0] and "'2499'" in bodies[2]


def test_query_text_escapes_quotes_and_rejects_odd_entity_names() -> None:
    assert query_text("Customer", ["1' or Id > '0"]) == (
        "select * from Customer where Id in ('1\\' or Id > \\'0') and Active in (true, false) MAXRESULTS 1000"
    )
    with pytest.raises(ValueError, match="entity name"):
        query_text("Customer where 1=1 --", ["1"])


@responses.activate
def test_fault_with_http_200_is_a_fault(client: QuickBooksClient) -> None:
    responses.add(responses.POST, QUERY_URL, json=fixture("fault_validation.json"), status=200)

    with pytest.raises(QuickBooksFault) as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert caught.value.fault_code == "6240"
    assert caught.value.status == 200
    assert "Duplicate Name Exists Error" in str(caught.value)
    assert_no_tokens(caught.value)


@responses.activate
def test_throttled_realm_waits_sixty_seconds(client: QuickBooksClient) -> None:
    throttle = {
        "Fault": {
            "Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429"}],
            "type": "SERVICE",
        }
    }
    # The throttle fault's code 003001 would read as a validation code; the status wins.
    throttle["Fault"]["Error"][0]["code"] = "003001"
    responses.add(responses.POST, QUERY_URL, json=throttle, status=429)

    with pytest.raises(QuickBooksThrottled) as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert caught.value.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_server_errors_are_transient(client: QuickBooksClient, status: int) -> None:
    responses.add(responses.POST, QUERY_URL, body="<html>gateway</html>", status=status)

    with pytest.raises(QuickBooksTransient) as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert caught.value.status == status


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ConnectTimeout(), requests.exceptions.ReadTimeout()]
)
@responses.activate
def test_timeouts_are_transient(client: QuickBooksClient, failure: Exception) -> None:
    responses.add(responses.POST, QUERY_URL, body=failure)

    with pytest.raises(QuickBooksTransient, match="unreachable") as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert_no_tokens(caught.value)


@responses.activate
def test_client_asks_for_timeouts(client: QuickBooksClient) -> None:
    seen = {}

    def callback(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        seen["timeout"] = request.req_kwargs["timeout"]
        return 200, {}, json.dumps(fixture("company_info.json"))

    responses.add_callback(
        responses.GET, f"{API}/v3/company/{REALM}/companyinfo/{REALM}", callback=callback
    )
    client.company_info(REALM)
    assert seen["timeout"] == (5, 30)


@responses.activate
def test_validation_fault_with_400_is_permanent(client: QuickBooksClient) -> None:
    responses.add(responses.POST, QUERY_URL, json=fixture("fault_validation.json"), status=400)

    with pytest.raises(QuickBooksFault):
        client.query_by_ids(REALM, "Customer", ["1"])


@responses.activate
def test_401_refreshes_once_then_retries(
    client: QuickBooksClient, vault: TokenVault, settings: Settings
) -> None:
    refreshed = fixture("token_refresh.json")
    responses.add(responses.POST, QUERY_URL, status=401, body="Unauthorized")
    responses.add(
        responses.POST,
        TOKEN_URL,
        json=refreshed,
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": REFRESH}
            ),
            matchers.header_matcher({"x-include-refresh-token-hard-expires-in": "true"}),
        ],
    )
    responses.add(responses.POST, QUERY_URL, json=fixture("query_customer.json"))

    records = client.query_by_ids(REALM, "Customer", ["1"])

    assert records["1"]["Id"] == "1"
    query_calls = [c for c in responses.calls if c.request.url.startswith(QUERY_URL)]
    assert [c.request.headers["Authorization"] for c in query_calls] == [
        f"Bearer {ACCESS}",
        f"Bearer {refreshed['access_token']}",
    ]
    token_call = next(c for c in responses.calls if c.request.url == TOKEN_URL)
    assert token_call.request.headers["Authorization"].startswith("Basic ")
    stored = vault.get(REALM)
    assert stored.refresh_token == refreshed["refresh_token"]
    assert stored.access_token == refreshed["access_token"]


@responses.activate
def test_second_401_is_an_auth_error_without_tokens_and_holds_the_realm(
    client: QuickBooksClient, vault: TokenVault
) -> None:
    refreshed = fixture("token_refresh.json")
    responses.add(responses.POST, QUERY_URL, status=401, body="Unauthorized")
    responses.add(responses.POST, TOKEN_URL, json=refreshed)

    with pytest.raises(QuickBooksAuthError) as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert len([c for c in responses.calls if c.request.url.startswith(QUERY_URL)]) == 2
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 1
    assert_no_tokens(caught.value, refreshed["access_token"], refreshed["refresh_token"])
    # A new token refused too means the consent is gone: the realm is held for a Reconnect.
    connection = vault.connection(REALM)
    assert connection.status == "reconnect_required"
    assert "refreshed access token (401)" in connection.last_error
    calls_before = len(responses.calls)
    with pytest.raises(QuickBooksAuthError, match="Reconnect"):
        client.query_by_ids(REALM, "Customer", ["1"])
    assert len(responses.calls) == calls_before


@responses.activate
def test_invalid_grant_on_401_is_an_auth_error_and_holds_the_realm(
    client: QuickBooksClient, vault: TokenVault
) -> None:
    responses.add(responses.POST, QUERY_URL, status=401, body="Unauthorized")
    responses.add(responses.POST, TOKEN_URL, json=fixture("token_invalid_grant.json"), status=400)

    with pytest.raises(QuickBooksAuthError) as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert caught.value.fault_code == "invalid_grant"
    assert_no_tokens(caught.value)
    assert vault.connection(REALM).status == "reconnect_required"
    # Held: the next call does not reach QuickBooks or Intuit at all.
    calls_before = len(responses.calls)
    with pytest.raises(QuickBooksAuthError, match="Reconnect"):
        client.query_by_ids(REALM, "Customer", ["1"])
    assert len(responses.calls) == calls_before


@responses.activate
def test_cdc_returns_records_per_entity_including_deleted(client: QuickBooksClient) -> None:
    since = datetime(2016, 1, 1, 8, 0, tzinfo=UTC)
    responses.add(
        responses.GET,
        f"{API}/v3/company/{REALM}/cdc",
        json=fixture("cdc.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "entities": "Customer,Invoice,Item",
                    "changedSince": "2016-01-01T08:00:00+00:00",
                    "minorversion": "75",
                }
            )
        ],
    )

    changes = client.cdc(REALM, ["Customer", "Invoice", "Item"], since)

    assert [r["Id"] for r in changes["Customer"]] == ["1", "7"]
    assert changes["Customer"][1]["status"] == "Deleted"
    assert changes["Invoice"][0]["DocNumber"] == "12344"
    assert changes["Item"] == []


def test_cdc_needs_an_aware_datetime(client: QuickBooksClient) -> None:
    with pytest.raises(ValueError, match="timezone"):
        client.cdc(REALM, ["Customer"], datetime(2016, 1, 1))  # noqa: DTZ001


@responses.activate
def test_company_info(client: QuickBooksClient) -> None:
    responses.add(
        responses.GET,
        f"{API}/v3/company/{REALM}/companyinfo/{REALM}",
        json=fixture("company_info.json"),
        match=[matchers.query_param_matcher({"minorversion": "75"})],
    )

    assert client.company_info(REALM)["CompanyName"] == "Sandbox Company_US_1"


@responses.activate
def test_unknown_realm_is_an_auth_error_without_http(client: QuickBooksClient) -> None:
    with pytest.raises(QuickBooksAuthError, match="connect the company"):
        client.query_by_ids("999", "Customer", ["1"])
    assert len(responses.calls) == 0


@responses.activate
def test_a_401_detail_quoting_the_token_is_scrubbed(
    client: QuickBooksClient, vault: TokenVault
) -> None:
    refreshed = fixture("token_refresh.json")
    quoting = {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; statusCode=401",
                    "detail": "Token expired: {token}",
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        }
    }

    def rejected(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        body = json.dumps(quoting).replace("{token}", token)
        return 401, {}, body

    responses.add_callback(responses.POST, QUERY_URL, callback=rejected)
    responses.add(responses.POST, TOKEN_URL, json=refreshed)

    with pytest.raises(QuickBooksAuthError, match="Token expired: \\*\\*\\*") as caught:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert caught.value.fault_code == "3200"
    assert_no_tokens(caught.value, refreshed["access_token"])


def test_query_text_includes_inactive_name_list_records_only() -> None:
    # Name-list entities answer only active records unless the query asks for both.
    assert "Active in (true, false)" in query_text("Vendor", ["1"])
    assert query_text("Invoice", ["7"]) == "select * from Invoice where Id in ('7') MAXRESULTS 1000"


def test_item_queries_ask_for_the_sku_by_name() -> None:
    # `select *` leaves Sku out (python-quickbooks #373); the recommended mapping needs it.
    assert query_text("Item", ["3"]).startswith("select *, Sku from Item where Id in ('3')")


@responses.activate
def test_query_all_pages_by_startposition_and_includes_inactive(client: QuickBooksClient) -> None:
    page = [{"Id": str(n), "Active": n % 2 == 0} for n in range(1, 1001)]
    responses.post(
        QUERY_URL,
        json={"QueryResponse": {"Customer": page, "startPosition": 1, "maxResults": 1000}},
    )
    responses.post(
        QUERY_URL,
        json={"QueryResponse": {"Customer": [{"Id": "1001"}], "startPosition": 1001}},
    )

    records = client.query_all(REALM, "Customer")

    assert [r["Id"] for r in records] == [str(n) for n in range(1, 1002)]
    assert [call.request.body for call in responses.calls] == [
        # Pages of a query are only stable in a fixed order (issue 13, item 8): ORDERBY Id.
        b"select * from Customer where Active in (true, false) ORDERBY Id "
        b"STARTPOSITION 1 MAXRESULTS 1000",
        b"select * from Customer where Active in (true, false) ORDERBY Id "
        b"STARTPOSITION 1001 MAXRESULTS 1000",
    ]


@responses.activate
def test_an_error_keeps_intuits_request_id(client: QuickBooksClient) -> None:
    # `intuit_tid`: the response header Intuit's support asks for (research, "Added after a
    # review"; intuit/oauth-pythonclient reads the same header into its errors).
    responses.add(
        responses.POST,
        QUERY_URL,
        json=fixture("fault_validation.json"),
        status=400,
        headers={"intuit_tid": "1-65f0a9c2-8d4e2b7f"},
    )

    with pytest.raises(QuickBooksFault) as raised:
        client.query_by_ids(REALM, "Customer", ["1"])

    assert raised.value.intuit_tid == "1-65f0a9c2-8d4e2b7f"
    assert str(raised.value).endswith(", intuit_tid 1-65f0a9c2-8d4e2b7f)")
