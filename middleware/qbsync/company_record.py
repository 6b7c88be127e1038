"""What the connection card shows of a company: the middleware's updates of its QB_Company__c.

The worker (last event, Reconnect Required) and the keep-alive (renewed tokens) write here. An
update is a side note to work already done, so Salesforce refusing it is logged, never raised:
the event or the refresh stands either way.
"""

from __future__ import annotations

import logging

from qbsync.remotes import Salesforce
from qbsync.salesforce.errors import SalesforceError

log = logging.getLogger(__name__)


def show_on_company(salesforce: Salesforce, realm_id: str, fields: dict) -> None:
    """Upsert `fields` onto the realm's QB_Company__c (by Realm_Id__c); log a failure."""
    try:
        (result,) = salesforce.upsert_collection(
            "QB_Company__c", "Realm_Id__c", [{"Realm_Id__c": realm_id, **fields}]
        )
    except SalesforceError as error:
        log.warning("Could not update QB_Company__c of realm %s: %s", realm_id, error)
        return
    if not result.success:
        log.warning("Salesforce refused QB_Company__c of realm %s: %s", realm_id, result.message)
