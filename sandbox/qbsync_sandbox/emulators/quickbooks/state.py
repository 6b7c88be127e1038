"""The emulator's in-memory companies (realms) and their records; thread-safe.

Every change is announced to subscribers as a `Change` (the webhook deliverer listens) and kept
for CDC. Records are stored and returned as deep copies, so callers never share mutable state.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from qbsync_sandbox.emulators.quickbooks import entities, errors, transactions
from qbsync_sandbox.emulators.quickbooks.clock import COMPANY_TZ, Clock, metadata_time, utc_now

Record = dict[str, Any]

DEFAULT_COMPANY_NAME = "Sandbox Company_US_1"
# Seed accounts, so an Item has an IncomeAccountRef to point at ("1" is the usual income account).
_SEED_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
)


@dataclass(frozen=True)
class Change:
    """One change of one record, as QuickBooks reports it in webhooks."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str  # Create | Update | Delete | Merge | Void | Emailed
    occurred_at: datetime  # aware, microsecond precision (MetaData only keeps seconds)
    deleted_id: str | None = None  # Merge: the record merged away


@dataclass
class _Company:
    realm_id: str
    company_name: str
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, Record]] = field(default_factory=dict)  # hard-deleted
    changed_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)


class UnknownRealm(errors.AdminError):
    def __init__(self, realm_id: str) -> None:
        super().__init__(404, f"no company with realmId {realm_id!r}")


class QboState:
    """All emulated companies. Safe to share between the server threads and the deliverer."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._companies: dict[str, _Company] = {}
        self._listeners: list[Callable[[Change], None]] = []
        self._last_tick: datetime | None = None
        self._realm_numbers = itertools.count(9341455130166501)

    # -- companies ---------------------------------------------------------------------------

    def create_company(
        self, realm_id: str | None = None, company_name: str = DEFAULT_COMPANY_NAME
    ) -> str:
        """Create a company with its CompanyInfo and a few accounts; returns its realmId."""
        with self._lock:
            if realm_id is None:
                realm_id = str(next(self._realm_numbers))
                while realm_id in self._companies:
                    realm_id = str(next(self._realm_numbers))
            if not realm_id.isdigit():
                raise errors.AdminError(400, f"realmId must be digits, got {realm_id!r}")
            if realm_id in self._companies:
                raise errors.AdminError(409, f"company {realm_id} already exists")
            company = _Company(realm_id, company_name)
            self._companies[realm_id] = company
            now = self._tick()
            self._store_new(company, "CompanyInfo", _company_info(company_name), now, notify=False)
            for name, account_type, sub_type in _SEED_ACCOUNTS:
                account = {"Name": name, "AccountType": account_type, "AccountSubType": sub_type}
                self._store_new(
                    company, "Account", entities.complete_new("Account", account), now, notify=False
                )
            return realm_id

    def realm_ids(self) -> list[str]:
        with self._lock:
            return list(self._companies)

    def has_company(self, realm_id: str) -> bool:
        with self._lock:
            return realm_id in self._companies

    def company_name(self, realm_id: str) -> str:
        with self._lock:
            return self._company(realm_id).company_name

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        """Call `listener` with every change, in order, while the change is being made."""
        with self._lock:
            self._listeners.append(listener)

    def now(self) -> datetime:
        return self._clock()

    # -- writes ------------------------------------------------------------------------------

    def create(self, realm_id: str, entity: str, data: Record) -> Record:
        """Create a record the way the Accounting API does; returns it with Id, SyncToken, MetaData."""
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            record = self._computed(company, name, entities.complete_new(name, data), None)
            self._check_integrity(company, name, record, own_id=None)
            _place_under_parent(company, name, record)
            stored = self._store_new(company, name, record, self._tick())
            self._follow_payment(company, name, None, stored)
            return copy.deepcopy(stored)

    def create_many(
        self,
        realm_id: str,
        entity: str,
        records: list[Record],
        *,
        notify: bool = True,
        created_at: datetime | None = None,
    ) -> list[str]:
        """Create records as `create` does, all or none; their ids. Without `notify`, no webhook
        is sent for them (CDC still lists them): records a company had before it was connected,
        for a historical sync. `created_at` (past) stamps them instead of now, one microsecond
        apart so their order stays total. Names are checked against one set, not record by
        record."""
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            taken = self._taken_names(company, name)
            ready = []
            for data in records:
                record = self._computed(company, name, entities.complete_new(name, data), None)
                self._check_integrity(company, name, record, own_id=None, taken=taken)
                display = entities.display_name_of(name, record)
                if display is not None and record.get("Active") is not False:
                    taken.add(display)
                ready.append(record)
            ids = []
            for n, record in enumerate(ready):
                _place_under_parent(company, name, record)
                at = self._tick() if created_at is None else created_at + timedelta(microseconds=n)
                stored = self._store_new(company, name, record, at, notify=notify)
                ids.append(stored["Id"])
            return ids

    def update(
        self, realm_id: str, entity: str, entity_id: str, data: Record, *, sparse: bool = True
    ) -> Record:
        """Update a record. A SyncToken in `data` must be the current one (else Fault 5010)."""
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            current = self._current(company, name, entity_id)
            _check_sync_token(name, current, data)
            record = entities.complete_update(name, current, data, sparse=sparse)
            record = self._computed(company, name, record, current)
            self._check_integrity(company, name, record, own_id=entity_id)
            _place_under_parent(company, name, record)
            # Making a name-list record inactive is how QuickBooks deletes it, and is reported so.
            deactivated = current.get("Active") is not False and record.get("Active") is False
            operation = "Delete" if name in entities.NAME_LIST and deactivated else "Update"
            stored = self._store_change(company, name, current, record, operation)
            self._follow_payment(company, name, current, stored)
            return copy.deepcopy(stored)

    def delete(
        self, realm_id: str, entity: str, entity_id: str, data: Record | None = None
    ) -> Record:
        """Delete a record. Name-list entities (Customer, Vendor, Item, …) only become inactive."""
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            current = self._current(company, name, entity_id)
            _check_sync_token(name, current, data or {})
            if name in entities.NAME_LIST:
                record = {**current, "Active": False}
                return copy.deepcopy(self._store_change(company, name, current, record, "Delete"))
            now = self._tick()
            del company.records[name][entity_id]
            tombstone = {
                "domain": "QBO",
                "status": "Deleted",
                "Id": entity_id,
                "MetaData": {"LastUpdatedTime": metadata_time(now)},
            }
            company.tombstones.setdefault(name, {})[entity_id] = tombstone
            company.changed_at[(name, entity_id)] = now
            self._notify(Change(realm_id, name, entity_id, "Delete", now))
            self._follow_payment(company, name, current, None)
            return copy.deepcopy(tombstone)

    def void(self, realm_id: str, entity: str, entity_id: str, data: Record) -> Record:
        """Void a transaction: it stays, with a zero amount (`?operation=void`).

        UNCONFIRMED beyond Intuit's reference: which amounts become zero (here TotalAmt,
        Balance and line amounts) and the "Voided" private note.
        """
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            if name not in entities.VOIDABLE:
                # Code and wording of this refusal are UNCONFIRMED (modelled on Delete's).
                raise errors.operation_not_supported("Void", name)
            current = self._current(company, name, entity_id)
            _check_sync_token(name, current, data)
            record = {key: value for key, value in current.items()}
            for key in ("TotalAmt", "Balance", "UnappliedAmt"):
                if key in record:
                    record[key] = 0
            if isinstance(record.get("Line"), list):
                record["Line"] = [
                    {**line, "Amount": 0} if isinstance(line, dict) else line
                    for line in record["Line"]
                ]
            record["PrivateNote"] = "Voided"
            stored = self._store_change(company, name, current, record, "Void")
            self._follow_payment(company, name, current, stored)
            return copy.deepcopy(stored)

    def send(self, realm_id: str, entity: str, entity_id: str, address: str | None) -> Record:
        """Email a sales or purchase form (`POST /<entity>/<id>/send[?sendTo=]`)."""
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            if name not in entities.EMAILABLE:
                # Code and wording of this refusal are UNCONFIRMED, as is the 2020 Fault for a
                # form without BillEmail and no sendTo below.
                raise errors.operation_not_supported("Send", name)
            current = self._current(company, name, entity_id)
            address = address or (current.get("BillEmail") or {}).get("Address")
            if not address:
                raise errors.required_param_missing("BillEmail.Address")
            now = self._tick()
            record = {
                **current,
                "BillEmail": {"Address": address},
                "EmailStatus": "EmailSent",
                "DeliveryInfo": {"DeliveryType": "Email", "DeliveryTime": metadata_time(now)},
            }
            return copy.deepcopy(self._store_change(company, name, current, record, "Emailed", now))

    def merge(self, realm_id: str, entity: str, from_id: str, into_id: str) -> Record:
        """Merge `from_id` into `into_id`: the source becomes inactive, the target survives."""
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            if name not in entities.MERGEABLE:
                raise errors.AdminError(400, f"QuickBooks cannot merge {name} records")
            if from_id == into_id:
                raise errors.AdminError(400, "cannot merge a record into itself")
            source = self._current(company, name, from_id)
            target = self._current(company, name, into_id)
            merged_target = dict(target)
            if "Balance" in source and "Balance" in target:
                merged_target["Balance"] = target["Balance"] + source["Balance"]
            now = self._tick()
            self._store_change(company, name, source, {**source, "Active": False}, None, now)
            result = self._store_change(company, name, target, merged_target, None, now)
            self._move_transactions(company, name, from_id, into_id, now)
            self._notify(Change(realm_id, name, into_id, "Merge", now, deleted_id=from_id))
            return copy.deepcopy(result)

    def _move_transactions(
        self, company: _Company, entity: str, from_id: str, into_id: str, now: datetime
    ) -> None:
        """A merged customer's or vendor's transactions move to the record that survives.

        "Any transactions in the account being merged will be moved to the remaining account"
        (community.intuit.com/articles/1145424, on merging accounts, customers and vendors).
        Whether QuickBooks sends a webhook for each moved transaction is not documented
        (UNCONFIRMED): they move in CDC (SyncToken, LastUpdatedTime), without events.
        """
        field_name = transactions.PARTY_OF.get(entity)
        if field_name is None:
            return
        for kind in sorted(company.records):
            for record in list(company.records[kind].values()):
                moved = transactions.moved_to(record, field_name, from_id, into_id)
                if moved is not None:
                    self._store_change(company, kind, record, moved, None, now)

    # -- reads -------------------------------------------------------------------------------

    def get(self, realm_id: str, entity: str, entity_id: str) -> Record:
        """One record by id, inactive ones included; Fault 610 when there is none."""
        with self._lock:
            return copy.deepcopy(self._current(self._company(realm_id), _entity(entity), entity_id))

    def records(self, realm_id: str, entity: str) -> list[Record]:
        """Every stored record of an entity (inactive included), in id order."""
        with self._lock:
            stored = self._company(realm_id).records.get(_entity(entity), {})
            return [copy.deepcopy(stored[key]) for key in sorted(stored, key=_id_order)]

    def select(
        self,
        realm_id: str,
        entity: str,
        choose: Callable[[list[Record]], tuple[list[Record], int]],
    ) -> tuple[list[Record], int]:
        """`choose` (a query's filter, order and page) run over the stored records in id order,
        under the lock and without copying them; only the page it returns is copied. A query of
        1,000 of 50,000 records copied all 50,000 before (`records`)."""
        with self._lock:
            stored = self._company(realm_id).records.get(_entity(entity), {})
            page, total = choose([stored[key] for key in sorted(stored, key=_id_order)])
            return [copy.deepcopy(record) for record in page], total

    def changed_since(
        self, realm_id: str, entity: str, since: datetime
    ) -> list[tuple[datetime, Record]]:
        """(change time, record) of every record changed at or after `since`, deletions included.

        `since` is compared at whole seconds, the resolution of MetaData.LastUpdatedTime.
        """
        floor = since.replace(microsecond=0)
        with self._lock:
            company = self._company(realm_id)
            name = _entity(entity)
            found = []
            for bucket in (company.records.get(name, {}), company.tombstones.get(name, {})):
                for entity_id, record in bucket.items():
                    changed = company.changed_at[(name, entity_id)]
                    if changed >= floor:
                        found.append((changed, copy.deepcopy(record)))
            found.sort(key=lambda pair: pair[0])
            return found

    # -- internals ---------------------------------------------------------------------------

    def _company(self, realm_id: str) -> _Company:
        company = self._companies.get(realm_id)
        if company is None:
            raise UnknownRealm(realm_id)
        return company

    def _current(self, company: _Company, entity: str, entity_id: str) -> Record:
        record = company.records.get(entity, {}).get(str(entity_id))
        if record is None:
            raise errors.object_not_found(entity, str(entity_id))
        return record

    def _tick(self) -> datetime:
        """Now, strictly after the previous change, so change order is total."""
        now = self._clock()
        if self._last_tick is not None and now <= self._last_tick:
            now = self._last_tick + timedelta(microseconds=1)
        self._last_tick = now
        return now

    def _computed(
        self, company: _Company, entity: str, record: Record, current: Record | None
    ) -> Record:
        """A sales form or payment with what QuickBooks computes (transactions.py)."""
        if entity not in transactions.COMPUTED:
            return record
        today = self._clock().astimezone(COMPANY_TZ).date()
        payments = company.records.get("Payment", {}).values() if entity == "Invoice" else ()
        own_id = current["Id"] if current else None
        return transactions.complete(entity, record, current, today, payments, own_id)

    def _follow_payment(
        self, company: _Company, entity: str, before: Record | None, after: Record | None
    ) -> None:
        """After a payment changes (created, updated, voided, deleted), the invoices it paid or
        pays get their Balance and LinkedTxn again.

        Whether QuickBooks sends an Update webhook for an invoice a payment changes is not
        documented (UNCONFIRMED): the invoice's SyncToken and LastUpdatedTime move (CDC sees it)
        and no webhook is sent for it; the payment's own event is.
        """
        if entity != "Payment":
            return
        payments = company.records.get("Payment", {}).values()
        touched = transactions.invoices_paid_by(before) | transactions.invoices_paid_by(after)
        for invoice_id in sorted(touched, key=_id_order):
            invoice = company.records.get("Invoice", {}).get(invoice_id)
            if invoice is None:
                continue
            followed = transactions.with_payments(invoice, invoice_id, payments)
            if followed != invoice:
                self._store_change(company, "Invoice", invoice, followed, None)

    def _check_integrity(
        self,
        company: _Company,
        entity: str,
        record: Record,
        own_id: str | None,
        *,
        taken: set[str] | None = None,
    ) -> None:
        """Its references exist and its name is free (in `taken`, when given: the names of the
        active records of its name space, `_taken_names`)."""
        for field_name, target, target_id in entities.references(entity, record):
            if target_id not in company.records.get(target, {}):
                raise errors.invalid_reference(field_name, target_id)
        name = entities.display_name_of(entity, record)
        if name is None or record.get("Active") is False:
            return
        if taken is not None:
            if name in taken:
                raise errors.duplicate_name(name)
            return
        space = entities.SHARED_NAMES if entity in entities.SHARED_NAMES else {entity}
        for other_entity in space:
            for other_id, other in company.records.get(other_entity, {}).items():
                if (other_entity, other_id) == (entity, own_id) or other.get("Active") is False:
                    continue
                if entities.display_name_of(other_entity, other) == name:
                    raise errors.duplicate_name(name)

    def _taken_names(self, company: _Company, entity: str) -> set[str]:
        space = entities.SHARED_NAMES if entity in entities.SHARED_NAMES else {entity}
        return {
            name
            for other_entity in space
            for other in company.records.get(other_entity, {}).values()
            if other.get("Active") is not False
            and (name := entities.display_name_of(other_entity, other)) is not None
        }

    def _store_new(
        self, company: _Company, entity: str, record: Record, now: datetime, *, notify: bool = True
    ) -> Record:
        number = company.next_id.get(entity, 1)
        company.next_id[entity] = number + 1
        entity_id = str(number)
        stamp = metadata_time(now)
        stored = {
            **record,
            "domain": "QBO",
            "sparse": False,
            "Id": entity_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        company.records.setdefault(entity, {})[entity_id] = stored
        company.changed_at[(entity, entity_id)] = now
        if notify:
            self._notify(Change(company.realm_id, entity, entity_id, "Create", now))
        return stored

    def _store_change(
        self,
        company: _Company,
        entity: str,
        current: Record,
        record: Record,
        operation: str | None,
        now: datetime | None = None,
    ) -> Record:
        now = now or self._tick()
        entity_id = current["Id"]
        stored = {
            **record,
            "domain": "QBO",
            "sparse": False,
            "Id": entity_id,
            "SyncToken": str(int(current["SyncToken"]) + 1),
            "MetaData": {**current["MetaData"], "LastUpdatedTime": metadata_time(now)},
        }
        company.records[entity][entity_id] = stored
        company.changed_at[(entity, entity_id)] = now
        if operation is not None:
            self._notify(Change(company.realm_id, entity, entity_id, operation, now))
        return stored

    def _notify(self, change: Change) -> None:
        for listener in self._listeners:
            listener(change)


def _entity(name: str) -> str:
    canonical = entities.canonical_entity(name)
    if canonical is None:
        raise errors.AdminError(400, f"unknown QuickBooks entity {name!r}")
    return canonical


def _place_under_parent(company: _Company, entity: str, record: Record) -> None:
    """A sub-customer (job) is computed from its parent: Job, Level, FullyQualifiedName.

    Intuit's Customer reference: Job is true for a sub-customer, Level counts the parents above
    it, and FullyQualifiedName is "the topmost parent element followed by each subelement and
    separated by colons" (Parent:Customer). The parent was checked to exist before.
    """
    parent_id = (record.get("ParentRef") or {}).get("value") if entity == "Customer" else None
    if not parent_id:
        return
    parent = company.records["Customer"][str(parent_id)]
    record["Job"] = True
    record["Level"] = int(parent.get("Level", 0)) + 1
    record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{record['DisplayName']}"


def _check_sync_token(entity: str, current: Record, data: Record) -> None:
    sent = data.get("SyncToken")
    if sent is not None and str(sent) != current["SyncToken"]:
        raise errors.stale_object(entity, current["Id"])


def _id_order(entity_id: str) -> tuple[int, str]:
    return (int(entity_id), "") if entity_id.isdigit() else (0, entity_id)


def _company_info(company_name: str) -> Record:
    return {
        "CompanyName": company_name,
        "LegalName": company_name,
        "CompanyAddr": {
            "Line1": "123 Sierra Way",
            "City": "San Pablo",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "87999",
        },
        "Country": "US",
        "Email": {"Address": "noreply@quickbooks.example"},
        "SupportedLanguages": "en",
        "FiscalYearStartMonth": "January",
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
    }
