"""python-quickbooks and intuit-oauth, clients written by others, against the QuickBooks emulator.

Real HTTP on 127.0.0.1; the clients are used as their documentation shows, adapted only by
`tests.conformance.quickbooks.clients`. What each check expects is what QuickBooks does (sources in the
emulator's modules) and what the client makes of it (its exceptions, its objects).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.batch import BatchManager
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    SevereException,
    UnsupportedException,
    ValidationException,
)
from quickbooks.objects import (
    Account,
    CompanyInfo,
    Customer,
    Employee,
    Estimate,
    Invoice,
    Item,
    Preferences,
    Term,
    Vendor,
)
from quickbooks.objects.base import Address, EmailAddress, Ref
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.trackingclass import Class

from tests.conformance.quickbooks import clients as intuit_clients
from tests.conformance.quickbooks.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT,
)


def customer(qb: QuickBooks, name: str, **fields: object) -> Customer:
    record = Customer()
    record.DisplayName = name
    for key, value in fields.items():
        setattr(record, key, value)
    return record.save(qb=qb)


def raw(qb: QuickBooks, entity: str, entity_id: str) -> dict:
    """The record as QuickBooks sent it (python-quickbooks objects default unset fields to "")."""
    return qb.get_single_object(entity, entity_id)[entity]


def admin(emulator, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{emulator.base}/_admin{path}", timeout=10, **kw)


# -- OAuth (intuit-oauth) -------------------------------------------------------------------------


def test_auth_client_reads_the_discovery_document(emulator):
    client = intuit_clients.auth_client(emulator.base, CLIENT_ID, CLIENT_SECRET, REDIRECT)
    assert client.token_endpoint == f"{emulator.base}/oauth2/v1/tokens/bearer"
    assert client.revoke_endpoint == f"{emulator.base}/v2/oauth2/tokens/revoke"
    assert client.auth_endpoint == f"{emulator.base}/connect/oauth2"
    assert requests.get(client.jwks_uri, timeout=10).json() == {"keys": []}


def test_code_exchange_gives_tokens_and_the_realm(emulator):
    client = intuit_clients.auth_client(emulator.base, CLIENT_ID, CLIENT_SECRET, REDIRECT)
    back = intuit_clients.consent(client)
    assert back["state"] == client.state_token
    assert back["realmId"] == emulator.realm
    client.get_bearer_token(back["code"], realm_id=back["realmId"])
    assert client.access_token and client.refresh_token
    assert client.expires_in == 3600
    assert 100 * 24 * 3600 - 5 <= client.x_refresh_token_expires_in <= 100 * 24 * 3600
    assert client.realm_id == emulator.realm


def test_a_code_works_once(emulator):
    client = intuit_clients.auth_client(emulator.base, CLIENT_ID, CLIENT_SECRET, REDIRECT)
    code = intuit_clients.consent(client)["code"]
    client.get_bearer_token(code)
    with pytest.raises(AuthClientError) as refused:
        client.get_bearer_token(code)
    assert refused.value.status_code == 400
    assert refused.value.content == b'{"error":"invalid_grant"}\n'


def test_a_wrong_client_secret_is_refused(emulator):
    client = intuit_clients.auth_client(emulator.base, CLIENT_ID, "not-the-secret", REDIRECT)
    code = intuit_clients.consent(client)["code"]
    with pytest.raises(AuthClientError) as refused:
        client.get_bearer_token(code)
    assert refused.value.status_code == 401
    assert b"invalid_client" in refused.value.content


def test_refresh_rotates_the_refresh_token(auth):
    first_access, first_refresh = auth.access_token, auth.refresh_token
    auth.refresh()
    assert auth.refresh_token != first_refresh
    assert auth.access_token != first_access
    with pytest.raises(AuthClientError) as refused:
        auth.refresh(refresh_token=first_refresh)
    assert refused.value.status_code == 400


def test_revoke_disconnects_the_company(auth, qb):
    customer(qb, "Before Revoke")
    assert auth.revoke() is True
    with pytest.raises(AuthorizationException) as refused:
        Customer.all(qb=qb)
    assert refused.value.error_code == 401
    assert '"code": "3200"' in refused.value.detail.replace('":"', '": "')


def test_quickbooks_with_only_a_refresh_token_refreshes_first(emulator, auth):
    # python-quickbooks' README flow: a stored refresh token, no access token yet.
    later = intuit_clients.auth_client(emulator.base, CLIENT_ID, CLIENT_SECRET, REDIRECT)
    qb = intuit_clients.quickbooks(
        emulator.base, later, emulator.realm, refresh_token=auth.refresh_token
    )
    assert later.access_token and later.refresh_token != auth.refresh_token
    assert qb.refresh_token == later.refresh_token
    assert Customer.all(qb=qb) == []


def test_userinfo_needs_the_openid_scope(auth):
    with pytest.raises(AuthClientError) as refused:
        auth.get_user_info()
    assert refused.value.status_code == 403


# -- queries --------------------------------------------------------------------------------------


def test_all_filter_where_choose_and_count(qb):
    amy = customer(qb, "Amy's Bird Sanctuary", CompanyName="Amy's")
    bill = customer(qb, "Bill's Windsurf Shop")
    customer(qb, "Cool Cars")
    assert {c.DisplayName for c in Customer.all(qb=qb)} == {
        "Amy's Bird Sanctuary",
        "Bill's Windsurf Shop",
        "Cool Cars",
    }
    (found,) = Customer.filter(DisplayName="Amy's Bird Sanctuary", qb=qb)
    assert found.Id == amy.Id
    assert [c.Id for c in Customer.where("DisplayName LIKE 'Bill%'", qb=qb)] == [bill.Id]
    assert {c.Id for c in Customer.choose([amy.Id, bill.Id], qb=qb)} == {amy.Id, bill.Id}
    assert Customer.count(qb=qb) == 3
    # Quotes inside a literal are escaped with a backslash (Intuit's query docs).
    assert Customer.count("CompanyName = 'Amy\\'s'", qb=qb) == 1


def test_paging_with_startposition_and_maxresults(qb):
    ids = [customer(qb, f"Page {n}").Id for n in range(5)]
    first = Customer.where("", start_position=1, max_results=2, order_by="Id", qb=qb)
    second = Customer.where("", start_position=3, max_results=2, order_by="Id", qb=qb)
    last = Customer.where("", start_position=5, max_results=2, order_by="Id", qb=qb)
    assert [c.Id for c in first + second + last] == ids


def test_order_by_in_one_word_and_in_two(qb):
    for name in ("Beta", "Alpha", "Gamma"):
        customer(qb, name)
    # `where` sends ORDERBY, `all` sends ORDER BY (two words, as singer's tap does too).
    assert [c.DisplayName for c in Customer.where("", order_by="DisplayName", qb=qb)] == [
        "Alpha",
        "Beta",
        "Gamma",
    ]
    assert [c.DisplayName for c in Customer.all(order_by="DisplayName DESC", qb=qb)] == [
        "Gamma",
        "Beta",
        "Alpha",
    ]


def test_item_all_asks_for_sku_and_gets_it(qb):
    item = Item()
    item.Name = "Rock Fountain"
    item.Sku = "RF-1"
    item.Type = "NonInventory"
    item.IncomeAccountRef = Ref()
    item.IncomeAccountRef.value = "1"
    saved = item.save(qb=qb)
    assert saved.Sku == "RF-1"
    (listed,) = Item.all(qb=qb)  # SELECT *, Sku FROM Item
    assert listed.Sku == "RF-1"
    # `select *` alone leaves Sku out: why python-quickbooks asks for it (UNCONFIRMED at v75).
    (plain,) = Item.where("Name = 'Rock Fountain'", qb=qb)
    assert plain.Sku is None


def test_inactive_records_only_when_asked(qb):
    gone = customer(qb, "Gone Away")
    gone.Active = False
    gone.save(qb=qb)
    assert Customer.all(qb=qb) == []
    (inactive,) = Customer.where("Active = false", qb=qb)
    assert inactive.Id == gone.Id


def test_a_filter_on_an_unknown_property_is_a_4001(qb):
    with pytest.raises(ValidationException) as refused:
        Customer.where("NoSuchField = 'x'", qb=qb)
    assert refused.value.error_code == 4001
    assert refused.value.message == "Invalid query"
    assert refused.value.detail == "QueryValidationError: property 'NoSuchField' is not queryable"


def test_a_filter_on_a_property_that_is_not_filterable_is_a_4001(qb):
    with pytest.raises(ValidationException) as refused:
        Vendor.where("PrimaryEmailAddr = 'a@example.com'", qb=qb)
    assert refused.value.error_code == 4001
    assert "property 'PrimaryEmailAddr' is not queryable" in refused.value.detail
    with pytest.raises(ValidationException):
        Account.where("AcctNum = '100'", qb=qb)


def test_transactions_refuse_filters_quickbooks_refuses(qb):
    with pytest.raises(ValidationException) as refused:
        Invoice.filter(PrivateNote="x", qb=qb)
    assert refused.value.error_code == 4001
    assert refused.value.detail == "QueryValidationError: property 'PrivateNote' is not queryable"
    with pytest.raises(ValidationException):
        Estimate.where("TxnStatus = 'Pending'", qb=qb)
    assert Invoice.filter(DocNumber="1001", qb=qb) == []


def test_bad_syntax_is_a_4000(qb):
    with pytest.raises(ValidationException) as refused:
        Customer.query("SELECT * FROM Customer WHERE", qb=qb)
    assert refused.value.error_code == 4000


# -- reads ----------------------------------------------------------------------------------------


def test_get_by_id(qb):
    saved = customer(qb, "Read Me", Notes="hello")
    read = Customer.get(saved.Id, qb=qb)
    assert (read.DisplayName, read.Notes, read.SyncToken) == ("Read Me", "hello", "0")


def test_get_of_a_missing_id_is_object_not_found(qb):
    with pytest.raises(ObjectNotFoundException) as refused:
        Customer.get(999, qb=qb)
    assert refused.value.error_code == 610


def test_company_info_and_preferences(qb, emulator):
    info = CompanyInfo.get(emulator.realm, qb=qb)
    assert info.CompanyName == "Conformance Company"
    preferences = Preferences.get(qb=qb)
    assert preferences.CurrencyPrefs.HomeCurrency.value == "USD"
    assert preferences.ProductAndServicesPrefs.ForSales is True


# -- writes ---------------------------------------------------------------------------------------


def test_create_returns_only_properties_with_values(qb):
    saved = customer(qb, "Sparse Co")
    sent = raw(qb, "Customer", saved.Id)
    # python-quickbooks sent "" for every unset string; QuickBooks keeps none of them.
    assert "" not in sent.values()
    assert "Notes" not in sent and "CompanyName" not in sent
    assert sent["FullyQualifiedName"] == "Sparse Co"
    assert sent["Active"] is True and sent["Taxable"] is True


def test_update_with_the_sync_token(qb):
    saved = customer(qb, "Old Name")
    saved.DisplayName = "New Name"
    updated = saved.save(qb=qb)
    assert updated.SyncToken == "1"
    assert raw(qb, "Customer", saved.Id)["FullyQualifiedName"] == "New Name"


def test_a_stale_sync_token_is_refused(qb):
    saved = customer(qb, "Twice Edited")
    fresh = Customer.get(saved.Id, qb=qb)
    fresh.Notes = "first"
    fresh.save(qb=qb)
    saved.Notes = "second"
    with pytest.raises(QuickbooksException) as refused:
        saved.save(qb=qb)
    # 5010 lies outside the library's code ranges: the base exception, not a validation one.
    assert type(refused.value) is QuickbooksException
    assert refused.value.error_code == 5010


def test_sparse_update_clears_what_it_sends_empty(qb):
    saved = customer(qb, "Clear Me", Notes="to be cleared", CompanyName="Kept Inc")
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True, "Notes": ""}
    qb.update_object("Customer", __import__("json").dumps(body))
    after = raw(qb, "Customer", saved.Id)
    assert "Notes" not in after
    assert after["CompanyName"] == "Kept Inc"


def test_an_unknown_property_is_a_2010(qb):
    record = Customer()
    record.DisplayName = "Typo Inc"
    record.DisplayNmae = "oops"
    with pytest.raises(ValidationException) as refused:
        record.save(qb=qb)
    assert refused.value.error_code == 2010
    assert 'Unrecognized field "DisplayNmae"' in refused.value.detail
    assert Customer.all(qb=qb) == []


def test_a_boolean_must_be_a_boolean(qb):
    with pytest.raises(ValidationException) as refused:
        customer(qb, "Yes Man", Active="yes")
    assert refused.value.error_code == 2010
    saved = customer(qb, "Text Bool", Taxable="false")  # the JSON reader's coercion
    assert raw(qb, "Customer", saved.Id)["Taxable"] is False


def test_read_only_properties_are_ignored(qb):
    saved = customer(qb, "Computed", FullyQualifiedName="Something Else", Level=7)
    sent = raw(qb, "Customer", saved.Id)
    assert sent["FullyQualifiedName"] == "Computed"
    assert "Level" not in sent


def test_a_reference_to_a_missing_record_is_a_2500(qb):
    item = Item()
    item.Name = "Orphan"
    item.Type = "Service"
    item.IncomeAccountRef = Ref()
    item.IncomeAccountRef.value = "999"
    with pytest.raises(ValidationException) as refused:
        item.save(qb=qb)
    assert refused.value.error_code == 2500

    invoice = Invoice()
    invoice.CustomerRef = Ref()
    invoice.CustomerRef.value = "999"
    line = SalesItemLine()
    line.Amount = 10
    line.SalesItemLineDetail = SalesItemLineDetail()
    invoice.Line.append(line)
    with pytest.raises(ValidationException) as refused:
        invoice.save(qb=qb)
    assert refused.value.error_code == 2500
    assert "CustomerRef" in refused.value.detail


def test_an_invoice_without_a_line_is_a_2020(qb):
    invoice = Invoice()
    invoice.CustomerRef = customer(qb, "Lineless").to_ref()
    with pytest.raises(ValidationException) as refused:
        invoice.save(qb=qb)
    assert refused.value.error_code == 2020
    assert refused.value.detail == "Required parameter Line is missing in the request"
    assert Invoice.count(qb=qb) == 0


def test_a_repeated_request_id_replays_the_first_response(qb):
    first = Customer()
    first.DisplayName = "Once Only"
    created = first.save(qb=qb, request_id="req-0001")
    again = Customer()
    again.DisplayName = "Once Only"
    replayed = again.save(qb=qb, request_id="req-0001")  # not a 6240 duplicate: a replay
    assert replayed.Id == created.Id
    assert Customer.count(qb=qb) == 1


def test_a_sub_customer_is_computed_from_its_parent(qb):
    parent = customer(qb, "Parent Co")
    child = Customer()
    child.DisplayName = "Job One"
    child.ParentRef = parent.to_ref()
    saved = child.save(qb=qb)
    sent = raw(qb, "Customer", saved.Id)
    assert (sent["Job"], sent["Level"]) == (True, 1)
    assert sent["FullyQualifiedName"] == "Parent Co:Job One"


def test_an_update_keeps_the_opening_balance(qb):
    saved = customer(qb, "Owes Money", Balance=100)
    assert raw(qb, "Customer", saved.Id)["Balance"] == 100
    saved.Notes = "called them"
    saved.Balance = 0  # an update cannot set it: QuickBooks computes it from transactions
    saved.save(qb=qb)
    assert raw(qb, "Customer", saved.Id)["Balance"] == 100


def test_vendor_account_and_employee_round_trip(qb):
    vendor = Vendor()
    vendor.DisplayName = "Bob's Burger Joint"
    vendor.PrimaryEmailAddr = EmailAddress()
    vendor.PrimaryEmailAddr.Address = "bob@example.com"
    vendor.BillAddr = Address()
    vendor.BillAddr.City = "Bayshore"
    saved_vendor = vendor.save(qb=qb)
    read = Vendor.get(saved_vendor.Id, qb=qb)
    assert (read.PrimaryEmailAddr.Address, read.BillAddr.City) == ("bob@example.com", "Bayshore")
    assert read.Vendor1099 is False

    account = Account()
    account.Name = "Petty Cash"
    account.AccountType = "Bank"
    saved_account = account.save(qb=qb)
    (found,) = Account.filter(Name="Petty Cash", qb=qb)
    assert found.Id == saved_account.Id
    assert found.FullyQualifiedName == "Petty Cash"

    employee = Employee()
    employee.GivenName, employee.FamilyName = "Emily", "Platt"
    saved_employee = employee.save(qb=qb)
    assert Employee.get(saved_employee.Id, qb=qb).DisplayName == "Emily Platt"


def test_term_class_and_estimate_round_trip(qb):
    term = Term()
    term.Name, term.DueDays = "Net 15", 15
    saved_term = term.save(qb=qb)
    (found,) = Term.filter(Name="Net 15", qb=qb)
    assert (found.Id, found.DueDays, found.Active) == (saved_term.Id, 15, True)

    east = Class()
    east.Name = "East"
    east.FullyQualifiedName = "Not:Mine"  # computed by QuickBooks, ignored when sent
    saved_class = east.save(qb=qb)
    assert Class.get(saved_class.Id, qb=qb).FullyQualifiedName == "East"

    estimate = Estimate()
    estimate.DocNumber = "E-100"
    estimate.CustomerRef = customer(qb, "Quoted Customer").to_ref()
    line = SalesItemLine()
    line.Amount = 40
    line.SalesItemLineDetail = SalesItemLineDetail()
    estimate.Line.append(line)
    saved_estimate = estimate.save(qb=qb)
    (quoted,) = Estimate.filter(DocNumber="E-100", qb=qb)
    assert (quoted.Id, quoted.CustomerRef.value) == (saved_estimate.Id, estimate.CustomerRef.value)
    assert [line.Amount for line in quoted.Line if line.DetailType == "SalesItemLineDetail"] == [40]


def test_an_invoice_is_computed_and_a_payment_pays_it(qb):
    invoice = Invoice()
    invoice.CustomerRef = customer(qb, "Pays Later").to_ref()
    for amount in (100, 25):
        line = SalesItemLine()
        line.Amount = amount
        line.SalesItemLineDetail = SalesItemLineDetail()
        invoice.Line.append(line)
    saved = invoice.save(qb=qb)  # the library sends TotalAmt 0 and Balance 0: ignored
    assert (saved.TotalAmt, saved.Balance) == (125, 125)
    assert [(line.Id, line.LineNum) for line in saved.Line][:2] == [("1", 1), ("2", 2)]
    assert saved.Line[2].DetailType == "SubTotalLineDetail"

    payment = Payment()
    payment.CustomerRef = invoice.CustomerRef
    payment.TotalAmt = 100
    applied = PaymentLine()
    applied.Amount = 100
    applied.LinkedTxn.append(saved.to_linked_txn())
    payment.Line.append(applied)
    paid = payment.save(qb=qb)
    assert paid.UnappliedAmt == 0
    after = Invoice.get(saved.Id, qb=qb)
    assert after.Balance == 25
    assert [(link.TxnId, link.TxnType) for link in after.LinkedTxn] == [(paid.Id, "Payment")]

    paid.delete(qb=qb)
    assert Invoice.get(saved.Id, qb=qb).Balance == 125


def test_batch_update(qb):
    first, second = customer(qb, "Batch A"), customer(qb, "Batch B")
    first.Notes, second.Notes = "one", "two"
    result = BatchManager("update").save([first, second], qb=qb)
    assert result.faults == []
    assert sorted(c.SyncToken for c in result.successes) == ["1", "1"]
    assert raw(qb, "Customer", second.Id)["Notes"] == "two"


def test_a_customer_cannot_be_deleted(qb):
    saved = customer(qb, "Undeletable")
    with pytest.raises(UnsupportedException):
        qb.delete_object("Customer", f'{{"Id": "{saved.Id}", "SyncToken": "0"}}')


# -- CDC and batch --------------------------------------------------------------------------------


def test_change_data_capture(qb):
    since = datetime.now(UTC) - timedelta(minutes=5)
    saved = customer(qb, "Changed Lately")
    response = change_data_capture([Customer, Vendor], since.isoformat(), qb=qb)
    assert [c.Id for c in response.Customer] == [saved.Id]
    assert not hasattr(response, "Vendor")


def test_batch_create_reports_each_item(qb):
    customer(qb, "Taken Name")
    ok, clash = Customer(), Customer()
    ok.DisplayName = "Batch One"
    clash.DisplayName = "Taken Name"
    result = BatchManager("create").save([ok, clash], qb=qb)
    assert [c.DisplayName for c in result.successes] == ["Batch One"]
    (fault,) = result.faults
    assert fault.Error[0].code == "6240"


# -- faults the client maps -----------------------------------------------------------------------


def test_an_expired_token_is_an_authorization_exception(qb, emulator):
    admin(emulator, "POST", "/oauth/expire", json={})
    with pytest.raises(AuthorizationException) as refused:
        Customer.all(qb=qb)
    assert refused.value.error_code == 401


def test_a_server_error_is_a_severe_exception(qb, emulator):
    admin(emulator, "POST", "/faults", json={"family": "query", "kind": "error", "count": 1})
    with pytest.raises(SevereException) as refused:
        Customer.all(qb=qb)
    assert refused.value.error_code == 10000
