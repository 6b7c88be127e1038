"""QuickBooks Online: the API client, Intuit OAuth and the encrypted token vault."""

from qbsync.quickbooks.client import QuickBooksClient
from qbsync.quickbooks.errors import (
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksFault,
    QuickBooksThrottled,
    QuickBooksTransient,
)
from qbsync.quickbooks.oauth import IntuitOAuth
from qbsync.quickbooks.tokens import Connection, TokenSet, TokenVault, TokenVaultError

__all__ = [
    "Connection",
    "IntuitOAuth",
    "QuickBooksAuthError",
    "QuickBooksClient",
    "QuickBooksError",
    "QuickBooksFault",
    "QuickBooksThrottled",
    "QuickBooksTransient",
    "TokenSet",
    "TokenVault",
    "TokenVaultError",
]
