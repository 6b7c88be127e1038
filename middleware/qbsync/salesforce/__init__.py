"""Salesforce: login (JWT bearer or client credentials), the REST client, its errors, and
calls over many records 200 at a time."""

from qbsync.salesforce.auth import SalesforceLogin, login
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.client import RecordResult, SalesforceClient
from qbsync.salesforce.errors import SalesforceAuthError, SalesforceError, SalesforceTransient

__all__ = [
    "RecordResult",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceLogin",
    "SalesforceTransient",
    "call_in_chunks",
    "login",
]
