"""Salesforce: login (JWT bearer or client credentials), the REST client and its errors."""

from qbsync.salesforce.auth import SalesforceLogin, login
from qbsync.salesforce.client import RecordResult, SalesforceClient
from qbsync.salesforce.errors import SalesforceAuthError, SalesforceError, SalesforceTransient

__all__ = [
    "RecordResult",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceLogin",
    "SalesforceTransient",
    "login",
]
